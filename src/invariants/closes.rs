//! When, and after what, the broker may close a client's connection. Every close the trace
//! records (`BrokerEvent::ClosedConnection`: the broker's end of the stream closed, seen by the
//! simulation's tap or by the fault proxy of `mqtt-sim check`) must follow a cause the trace
//! shows on that connection:
//! - the client sent DISCONNECT, closed the connection itself (after a connect that failed, too),
//!   lost it or crashed;
//! - the broker refused the CONNECT [MQTT-3.2.2-5], or closed before any CONNACK [MQTT-3.2.2-6];
//! - another connection CONNECTed with the same client id: a takeover [MQTT-3.1.4-2];
//! - the keep alive ran out [MQTT-3.1.2-24]: the spec asks for the close after 1.5 keep alives
//!   without a packet; one that comes earlier than one keep alive after the last packet the
//!   broker received (the client's own deadline [MQTT-3.1.2-23]) has no cause. The lower bound
//!   is one keep alive, not 1.5, because brokers keep time in whole seconds (mosquitto), and a
//!   verdict must not flap with the phase of their clock;
//! - a PUBLISH the broker did not acknowledge: closing is how a 3.1.1 server refuses one
//!   [MQTT-3.3.5-2];
//! - bytes from the client that are not MQTT [MQTT-4.8.0-1];
//! - the broker crashed or restarted;
//! - a server limit that our broker reports as its reason (a transient error [MQTT-4.8.0-2]:
//!   too many connections, a full incoming QoS 2 window, a topic too deep, no CONNECT in time).
//!
//! A close without a cause that comes after a packet the broker owes an answer to (PUBREL,
//! PUBREC, SUBSCRIBE, UNSUBSCRIBE, PINGREQ) breaks the statement that requires the answer;
//! any other breaks [MQTT-3.1.2-24], the one statement that says when a server disconnects an
//! idle client. The trace does not say which of a client's connections a close ends: the oldest
//! still open with a cause is taken, else one whose CONNECT the client wrote and the broker never
//! read (it may close that for want of a CONNECT in time), else the oldest.
//!
//! Over TCP, the fault proxy also tells whether a close came after it delivered the client's own
//! close (its FIN) to the broker (`after_client_close`): such a close answers the client's, and
//! is never unprovoked. The client's note of its close (`Disconnected`...) is written by a task
//! of its own, so it may land in the trace after the close it caused; when no connection has a
//! cause yet, the note is applied at the close, as if it had come first, and skipped when it
//! comes: the verdict is the same in either order.

use std::collections::{BTreeMap, BTreeSet};

use super::flags::broker_view;
use super::Violation;
use crate::broker::CloseReason;
use crate::protocol::{PacketSummary, PublishSummary};
use crate::trace::{BrokerEvent, ClientNote, Fault, TraceEvent, BROKER};

/// One connection of a client, as the broker sees it.
struct Conn {
    /// The trace line of its CONNECT.
    line: usize,
    client_id: String,
    keep_alive: u16,
    /// When the broker last read a packet on it, and the trace line.
    last_in: u64,
    last_in_line: usize,
    /// Whether the broker has answered its CONNECT.
    connack: bool,
    /// The PUBLISH the broker read last, while it is unacknowledged: (packet id, QoS).
    unacknowledged: Option<(Option<u16>, u8)>,
    /// The first cause for a close the trace showed.
    cause: Option<&'static str>,
    /// The last packet the broker read that owes an answer it has not written yet: the packet's
    /// name, the answer's, and the statement that requires it.
    unanswered: Option<(&'static str, &'static str, &'static str)>,
}

impl Conn {
    fn justify(&mut self, cause: &'static str) {
        self.cause.get_or_insert(cause);
    }

    /// The cause of a close at `ms`, if there is one.
    fn cause_at(&self, ms: u64) -> Option<&'static str> {
        self.cause
            .or_else(|| (!self.connack).then_some("closed before any CONNACK [MQTT-3.2.2-6]"))
            .or_else(|| self.unacknowledged.map(|_| "a PUBLISH it did not acknowledge [MQTT-3.3.5-2]"))
            .or_else(|| {
                (self.keep_alive > 0 && ms.saturating_sub(self.last_in) >= u64::from(self.keep_alive) * 1000)
                    .then_some("keep alive [MQTT-3.1.2-24]")
            })
    }
}

/// Reasons our broker reports for closing on a server limit, which the trace cannot otherwise
/// show.
fn server_limit(reason: &CloseReason) -> bool {
    matches!(
        reason,
        CloseReason::TooManyConnections
            | CloseReason::IncomingWindowFull { .. }
            | CloseReason::TopicTooDeep { .. }
            | CloseReason::ConnectTimeout
    )
}

pub fn no_unprovoked_close(events: &[TraceEvent], out: &mut Vec<Violation>) {
    let tapped = events.iter().any(|e| matches!(e, TraceEvent::Send { host, .. } if host == BROKER));
    // Each client host's connections still open at the broker, oldest first.
    let mut open: BTreeMap<&str, Vec<Conn>> = BTreeMap::new();
    // Per client host: CONNECTs it wrote that the broker has not read (held or lost on the
    // way). Each is a connection the broker may close with no packet read on it: for want of
    // a CONNECT in time, or because the client gave up on it.
    let mut unread: BTreeMap<&str, usize> = BTreeMap::new();
    // Client hosts whose note of their last close was applied early, at the broker's close that
    // answered it: the note is skipped when it comes (before the client's next CONNECT, which
    // its agent writes only once the note is recorded).
    let mut noted_early: BTreeSet<&str> = BTreeSet::new();
    for (line, e) in events.iter().enumerate() {
        if let Some((client, by_broker, packet)) = broker_view(e, tapped) {
            if let (false, PacketSummary::Connect { .. }) = (by_broker, packet) {
                if let Some(n) = unread.get_mut(client) {
                    *n = n.saturating_sub(1);
                }
            }
            read_or_written(&mut open, client, by_broker, packet, line, e.ms());
        }
        if let TraceEvent::Send { host, peer, packet: PacketSummary::Connect { .. }, .. } = e {
            if peer == BROKER {
                *unread.entry(host).or_default() += 1;
                // A note owed from an earlier connection that never came must not be taken for
                // this one's.
                noted_early.remove(host.as_str());
            }
        }
        match e {
            // Bytes the broker read that are not MQTT (`host` is the reader of a malformed
            // stream, whichever end's tap saw it); bytes the broker wrote excuse nothing.
            TraceEvent::Malformed { host, peer, .. } if host == BROKER => {
                newest(&mut open, peer, |c| c.justify("bytes that are not MQTT [MQTT-4.8.0-1]"));
            }
            // The client's application saw its connection end, or its connect fail (no CONNACK
            // in time): the client closed it, or found it closed.
            TraceEvent::Disconnected { client, .. }
            | TraceEvent::Client {
                client,
                event: ClientNote::ConnectFailed { .. } | ClientNote::ConnectRefused { .. },
                ..
            } => {
                // Unless it was applied already, at the close that answered it.
                let applied = noted_early.remove(client.as_str());
                if !applied {
                    newest(&mut open, client, |c| c.justify(CLIENT_CLOSED));
                }
            }
            TraceEvent::Fault { fault: Fault::LoseConnection { client } | Fault::CrashClient { client }, .. } => {
                for c in open.get_mut(client.as_str()).into_iter().flatten() {
                    c.justify("its client dropped the connection");
                }
            }
            TraceEvent::Fault { fault: Fault::CrashBroker | Fault::RestartBroker, .. } => {
                for c in open.values_mut().flatten() {
                    c.justify("the broker crashed");
                }
            }
            TraceEvent::Broker { event: BrokerEvent::SessionOffline { client_id, reason }, .. }
                if server_limit(reason) =>
            {
                let conns = open.values_mut().flatten().filter(|c| c.client_id == *client_id);
                if let Some(c) = conns.last() {
                    c.justify("a server limit [MQTT-4.8.0-2]");
                }
            }
            TraceEvent::Broker { ms, event: BrokerEvent::ClosedConnection { client, after_client_close } } => {
                if *after_client_close && note_early(&mut open, client, *ms) {
                    noted_early.insert(client);
                }
                let unread = unread.get_mut(client.as_str());
                if let Some(v) = close(&mut open, client, line, *ms, unread) {
                    out.push(v);
                }
            }
            _ => {}
        }
    }
}

/// The cause a client's note of its close gives.
const CLIENT_CLOSED: &str = "its client closed the connection";

/// A close of `client`'s connection at `ms` that came after the client's own close reached the
/// broker answers it, even if the client's note of that close is not in the trace yet: if no
/// connection of `client` has a cause, the note is applied now, to the newest connection as a
/// note is, and `close` then ends that one. Returns whether the note was applied.
fn note_early(open: &mut BTreeMap<&str, Vec<Conn>>, client: &str, ms: u64) -> bool {
    let Some(conns) = open.get_mut(client) else {
        return false;
    };
    if conns.iter().any(|c| c.cause_at(ms).is_some()) {
        return false;
    }
    match conns.last_mut() {
        Some(c) => {
            c.justify(CLIENT_CLOSED);
            true
        }
        None => false,
    }
}

/// Follows a packet the broker read from (`by_broker` false) or wrote to `client`.
fn read_or_written<'a>(
    open: &mut BTreeMap<&'a str, Vec<Conn>>,
    client: &'a str,
    by_broker: bool,
    packet: &PacketSummary,
    line: usize,
    ms: u64,
) {
    if let (false, PacketSummary::Connect { client_id, keep_alive, .. }) = (by_broker, packet) {
        if !client_id.is_empty() {
            for c in open.values_mut().flatten().filter(|c| c.client_id == *client_id) {
                c.justify("taken over by a new connection with its client id [MQTT-3.1.4-2]");
            }
        }
        let conn = Conn {
            line,
            client_id: client_id.clone(),
            keep_alive: *keep_alive,
            last_in: ms,
            last_in_line: line,
            connack: false,
            unacknowledged: None,
            cause: None,
            unanswered: None,
        };
        open.entry(client).or_default().push(conn);
        return;
    }
    newest(open, client, |c| {
        if by_broker {
            if c.unanswered.is_some_and(|(_, answer, _)| answer == packet_name(packet)) {
                c.unanswered = None;
            }
            match packet {
                PacketSummary::Connack { return_code, props, .. } => {
                    c.connack = true;
                    if *return_code != 0 {
                        c.justify("it refused the CONNECT [MQTT-3.2.2-5]");
                    }
                    // A 5.0 Server Keep Alive replaces the client's [MQTT5-3.1.2-21].
                    if let Some(seconds) = props.as_ref().and_then(|p| p.server_keep_alive) {
                        c.keep_alive = seconds;
                    }
                }
                PacketSummary::Puback { pkid, .. } | PacketSummary::Pubrec { pkid, .. }
                    if c.unacknowledged.is_some_and(|(id, _)| id == Some(*pkid)) =>
                {
                    c.unacknowledged = None;
                }
                _ => {}
            }
            return;
        }
        (c.last_in, c.last_in_line) = (ms, line);
        c.unanswered = answer_owed(packet);
        match packet {
            PacketSummary::Disconnect { .. } => c.justify("its client sent DISCONNECT"),
            PacketSummary::Publish(PublishSummary { pkid, qos, .. }) => c.unacknowledged = Some((*pkid, *qos)),
            // Anything else the client sends after a QoS 0 PUBLISH shows the broker went on.
            _ if c.unacknowledged.is_some_and(|(_, qos)| qos == 0) => c.unacknowledged = None,
            _ => {}
        }
    });
}

/// The answer the broker owes for a packet it read: (the packet, the answer, the statement).
fn answer_owed(packet: &PacketSummary) -> Option<(&'static str, &'static str, &'static str)> {
    match packet {
        PacketSummary::Pubrel { .. } => Some(("PUBREL", "PUBCOMP", "MQTT-4.3.3-2")),
        PacketSummary::Pubrec { .. } => Some(("PUBREC", "PUBREL", "MQTT-4.3.3-1")),
        PacketSummary::Subscribe { .. } => Some(("SUBSCRIBE", "SUBACK", "MQTT-3.8.4-1")),
        PacketSummary::Unsubscribe { .. } => Some(("UNSUBSCRIBE", "UNSUBACK", "MQTT-3.10.4-4")),
        PacketSummary::Pingreq => Some(("PINGREQ", "PINGRESP", "MQTT-3.12.4-1")),
        _ => None,
    }
}

/// A packet's name, as `answer_owed` names answers.
fn packet_name(packet: &PacketSummary) -> &'static str {
    match packet {
        PacketSummary::Pubcomp { .. } => "PUBCOMP",
        PacketSummary::Pubrel { .. } => "PUBREL",
        PacketSummary::Suback { .. } => "SUBACK",
        PacketSummary::Unsuback { .. } => "UNSUBACK",
        PacketSummary::Pingresp => "PINGRESP",
        _ => "",
    }
}

/// Applies `f` to the newest open connection of `client`, if any.
fn newest(open: &mut BTreeMap<&str, Vec<Conn>>, client: &str, f: impl FnOnce(&mut Conn)) {
    if let Some(c) = open.get_mut(client).and_then(|conns| conns.last_mut()) {
        f(c);
    }
}

/// Judges the broker's close of one of `client`'s connections at `line`.
fn close(
    open: &mut BTreeMap<&str, Vec<Conn>>,
    client: &str,
    line: usize,
    ms: u64,
    unread: Option<&mut usize>,
) -> Option<Violation> {
    let conns = open.get_mut(client)?;
    if conns.is_empty() {
        return None;
    }
    if let Some(i) = conns.iter().position(|c| c.cause_at(ms).is_some()) {
        conns.remove(i);
        return None;
    }
    // No connection with a CONNECT read has a cause: the close may be of one whose CONNECT the
    // broker never read.
    if let Some(n) = unread.filter(|n| **n > 0) {
        *n -= 1;
        return None;
    }
    let c = conns.remove(0);
    let idle = ms.saturating_sub(c.last_in);
    if let Some((read, answer, statement)) = c.unanswered {
        // The close answered a packet that is owed another answer: that statement is broken.
        return Some(Violation {
            invariant: "no-unprovoked-close",
            message: format!(
                "the broker closed {client}'s connection {idle} ms after reading {read}, instead of the {answer} it \
                 owes [{statement}], and nothing in the trace gave it a cause"
            ),
            lines: vec![c.last_in_line, line],
        });
    }
    let why = if c.keep_alive > 0 {
        format!("{idle} ms after the last packet it read, before even one keep alive ({} s) had passed", c.keep_alive)
    } else {
        format!("{idle} ms after the last packet it read, with keep alive 0 (no inactivity close)")
    };
    Some(Violation {
        invariant: "no-unprovoked-close",
        message: format!(
            "the broker closed {client}'s connection {why}, and nothing in the trace gave it a cause [MQTT-3.1.2-24]"
        ),
        lines: vec![c.line, c.last_in_line, line],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PacketSummary as P;
    use crate::trace::TraceEvent as E;

    /// The broker read `packet` from `client` at `ms`.
    fn read(ms: u64, client: &str, packet: P) -> E {
        E::Recv { ms, host: BROKER.into(), peer: client.into(), packet }
    }
    /// The broker wrote `packet` to `client` at `ms`.
    fn wrote(ms: u64, client: &str, packet: P) -> E {
        E::Send { ms, host: BROKER.into(), peer: client.into(), packet }
    }
    /// A 3.1.1 CONNECT with clean session 1.
    fn connect_packet(id: &str, keep_alive: u16) -> P {
        P::Connect {
            client_id: id.into(),
            clean_session: true,
            keep_alive,
            will: None,
            username: None,
            v5: false,
            props: None,
        }
    }
    fn connect(ms: u64, client: &str, id: &str, keep_alive: u16) -> Vec<E> {
        let connect = connect_packet(id, keep_alive);
        vec![
            read(ms, client, connect),
            wrote(ms, client, P::Connack { session_present: false, return_code: 0, props: None }),
        ]
    }
    fn closed(ms: u64, client: &str) -> E {
        E::Broker { ms, event: BrokerEvent::ClosedConnection { client: client.into(), after_client_close: false } }
    }
    /// The broker closed its end after the proxy had delivered the client's FIN.
    fn closed_after_client(ms: u64, client: &str) -> E {
        E::Broker { ms, event: BrokerEvent::ClosedConnection { client: client.into(), after_client_close: true } }
    }
    /// The client's application saw its connection end (here, closed by the client itself).
    fn disconnected(ms: u64, client: &str) -> E {
        E::Disconnected { ms, client: client.into(), cause: crate::trace::EndCause(None) }
    }
    fn publish(qos: u8) -> P {
        P::Publish(PublishSummary {
            pkid: (qos > 0).then_some(1),
            qos,
            dup: false,
            retain: false,
            topic: "t".into(),
            payload: "1".into(),
            payload_len: 1,
            props: None,
        })
    }
    fn judge(events: &[E]) -> Vec<String> {
        let mut out = Vec::new();
        no_unprovoked_close(events, &mut out);
        out.into_iter().map(|v| v.message).collect()
    }

    #[test]
    fn a_close_before_one_keep_alive_without_a_cause_is_a_violation() {
        let mut t = connect(0, "c", "c", 2);
        t.push(read(500, "c", P::Puback { pkid: 1, reason: 0 }));
        t.push(closed(1500, "c"));
        let found = judge(&t);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("1000 ms after the last packet it read, before even one keep alive (2 s)"),
            "{found:?}"
        );
        assert!(found[0].contains("[MQTT-3.1.2-24]"));
    }

    #[test]
    fn a_close_may_be_of_a_connection_whose_connect_the_broker_never_read() {
        // Found over TCP (regressions/resubscribe_with_lost_suback...): c's link held, it
        // connects again on a new connection whose CONNECT is held; c's earlier connection is
        // read from; the broker closes the connection that never sent it a CONNECT (its connect
        // timeout), which the trace names only by client.
        let held = E::Send { ms: 100, host: "c".into(), peer: BROKER.into(), packet: connect_packet("c", 2) };
        let mut t = connect(0, "c", "c", 2);
        t.push(held.clone());
        t.push(read(500, "c", P::Pingreq));
        t.push(closed(1500, "c"));
        assert_eq!(judge(&t), Vec::<String>::new());
        // Once that CONNECT is read, the close is judged against the connections as before.
        let mut t = connect(0, "c", "c", 2);
        t.push(held);
        t.extend(connect(200, "c", "other", 2));
        t.push(read(500, "c", P::Pingreq));
        t.push(closed(1500, "c"));
        assert_eq!(judge(&t).len(), 1);
    }

    #[test]
    fn a_close_after_a_keep_alive_without_a_packet_has_its_cause() {
        let mut t = connect(0, "c", "c", 2);
        t.push(read(500, "c", P::Pingreq));
        t.push(closed(2500, "c"));
        assert_eq!(judge(&t), Vec::<String>::new());
    }

    #[test]
    fn a_close_instead_of_an_owed_answer_breaks_the_statement_requiring_it() {
        let mut t = connect(0, "c", "c", 60);
        t.push(read(10, "c", P::Pubrel { pkid: 4, reason: 0 }));
        t.push(closed(11, "c"));
        let found = judge(&t);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("after reading PUBREL, instead of the PUBCOMP it owes [MQTT-4.3.3-2]"), "{found:?}");
    }

    #[test]
    fn a_server_keep_alive_replaces_the_clients() {
        let mut t = connect(0, "c", "c", 60);
        let props = crate::protocol::V5Props { server_keep_alive: Some(10), ..Default::default() };
        t[1] = wrote(0, "c", P::Connack { session_present: false, return_code: 0, props: Some(Box::new(props)) });
        t.push(closed(15_000, "c"));
        assert_eq!(judge(&t), Vec::<String>::new(), "[MQTT5-3.1.2-22] 1.5 times the server's 10 s");
        t.pop();
        t.push(closed(9_000, "c"));
        let found = judge(&t);
        assert!(found.len() == 1 && found[0].contains("keep alive (10 s)"), "{found:?}");
    }

    #[test]
    fn with_keep_alive_0_a_close_needs_another_cause() {
        let mut t = connect(0, "c", "c", 0);
        t.push(closed(60_000, "c"));
        let found = judge(&t);
        assert!(found.len() == 1 && found[0].contains("keep alive 0"), "{found:?}");
    }

    #[test]
    fn disconnect_refusal_takeover_and_crash_are_causes() {
        let mut t = connect(0, "a", "a", 0);
        t.push(read(10, "a", P::Disconnect { reason: 0, props: None }));
        t.push(closed(10, "a"));
        // A refused CONNECT [MQTT-3.2.2-5].
        let refused = P::Connect {
            client_id: "b".into(),
            clean_session: true,
            keep_alive: 0,
            will: None,
            username: None,
            v5: false,
            props: None,
        };
        t.push(read(20, "b", refused));
        t.push(wrote(20, "b", P::Connack { session_present: false, return_code: 5, props: None }));
        t.push(closed(20, "b"));
        // A takeover by another host with the same client id [MQTT-3.1.4-2].
        t.extend(connect(30, "c1", "same", 0));
        t.extend(connect(40, "c2", "same", 0));
        t.push(closed(40, "c1"));
        t.extend(connect(50, "d", "d", 0));
        t.push(E::Fault { ms: 60, fault: Fault::CrashBroker });
        t.push(closed(60, "d"));
        t.push(closed(60, "c2"));
        assert_eq!(judge(&t), Vec::<String>::new());
    }

    #[test]
    fn an_unacknowledged_publish_may_be_refused_by_a_close_an_acknowledged_one_not() {
        let mut t = connect(0, "c", "c", 0);
        t.push(read(10, "c", publish(1)));
        t.push(closed(10, "c"));
        assert_eq!(judge(&t), Vec::<String>::new());

        let mut t = connect(0, "c", "c", 0);
        t.push(read(10, "c", publish(1)));
        t.push(wrote(10, "c", P::Puback { pkid: 1, reason: 0 }));
        t.push(closed(20, "c"));
        assert_eq!(judge(&t).len(), 1);
    }

    #[test]
    fn the_client_closing_first_is_a_cause() {
        let mut t = connect(0, "c", "c", 0);
        t.push(E::Fault { ms: 5, fault: Fault::LoseConnection { client: "c".into() } });
        t.push(closed(6, "c"));
        assert_eq!(judge(&t), Vec::<String>::new());

        // A connect whose CONNACK was lost: the client gives up and closes, the broker follows.
        let connect = connect_packet("d", 2);
        let mut t = vec![
            read(0, "d", connect),
            wrote(0, "d", P::Connack { session_present: false, return_code: 0, props: None }),
        ];
        let error = "connection closed: ConnackTimeout".to_owned();
        t.push(E::Client { ms: 1990, client: "d".into(), event: ClientNote::ConnectFailed { error } });
        t.push(closed(1991, "d"));
        assert_eq!(judge(&t), Vec::<String>::new());
    }

    #[test]
    fn a_close_ends_the_connection_with_a_cause_when_a_client_has_several() {
        // The client gave up on its first connection (a partition) and connected again; the
        // broker closes the first for keep alive, then the second with no cause.
        let mut t = connect(0, "c", "c", 2);
        t.extend(connect(2000, "c", "", 2));
        t.push(closed(3100, "c"));
        t.push(closed(3200, "c"));
        let found = judge(&t);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("1200 ms after the last packet"), "{found:?}");
    }

    /// The order CI saw over TCP (regressions/resubscribe_with_lost_suback...): a `connect` step
    /// drops c's connection, the proxy delivers its FIN, the broker closes its end, and the
    /// client's `Disconnected`, written by its agent's own task, lands after that close.
    fn answered_close_before_its_note(after_client_close: bool) -> Vec<E> {
        let mut t = connect(35_248, "c", "c", 2);
        t.push(read(41_257, "c", P::Pingreq));
        t.push(wrote(41_257, "c", P::Pingresp));
        t.push(if after_client_close { closed_after_client(42_250, "c") } else { closed(42_250, "c") });
        t.push(disconnected(42_251, "c"));
        t
    }

    #[test]
    fn a_close_after_the_clients_delivered_fin_answers_it_though_its_note_comes_later() {
        assert_eq!(judge(&answered_close_before_its_note(true)), Vec::<String>::new());
    }

    #[test]
    fn without_the_clients_fin_delivered_the_same_close_is_unprovoked() {
        // The close before any cause the trace shows, the broker not having had the client's
        // FIN: what a broker closing on its own looks like.
        let found = judge(&answered_close_before_its_note(false));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("993 ms after the last packet it read"), "{found:?}");
    }

    #[test]
    fn the_late_note_of_an_answered_close_excuses_nothing_after_it() {
        // The note of the closed connection was applied at its close: it gives the client's
        // next connection no cause, and an unprovoked close of that one is still reported.
        let mut t = answered_close_before_its_note(true);
        t.extend(connect(42_260, "c", "c", 2));
        t.push(read(42_300, "c", P::Pingreq));
        t.push(wrote(42_300, "c", P::Pingresp));
        t.push(closed(43_300, "c"));
        let found = judge(&t);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("1000 ms after the last packet it read"), "{found:?}");
        // Nor does it give a cause to an older connection still open (its FIN lost, say).
        let mut t = connect(0, "c", "c", 2);
        t.extend(connect(1000, "c", "", 2));
        t.push(closed_after_client(1500, "c"));
        t.push(disconnected(1501, "c"));
        t.push(closed(1600, "c"));
        let found = judge(&t);
        assert!(found.len() == 1 && found[0].contains("1600 ms after the last packet"), "{found:?}");
    }

    #[test]
    fn a_note_owed_to_an_answered_close_is_not_taken_for_the_next_connections() {
        // The note of an answered close never came (the run ended, say): the client's next
        // connection's own note is not skipped in its place.
        let mut t = answered_close_before_its_note(true);
        t.pop();
        t.push(E::Send { ms: 42_260, host: "c".into(), peer: BROKER.into(), packet: connect_packet("c", 2) });
        t.extend(connect(42_261, "c", "c", 2));
        t.push(disconnected(42_500, "c"));
        t.push(closed(42_501, "c"));
        assert_eq!(judge(&t), Vec::<String>::new());
    }

    #[test]
    fn an_answered_close_is_judged_alike_before_and_after_the_clients_note() {
        // c has an older connection the broker has a cause to close (keep alive), and closes
        // its newer one; the broker's two closes are judged the same whichever of the close and
        // the note comes first.
        let mut before = connect(0, "c", "c", 2);
        before.extend(connect(2500, "c", "", 2));
        let mut after = before.clone();
        before.push(disconnected(2600, "c"));
        before.push(closed_after_client(2601, "c"));
        after.push(closed_after_client(2600, "c"));
        after.push(disconnected(2601, "c"));
        for t in [&mut before, &mut after] {
            t.push(closed(3000, "c"));
            assert_eq!(judge(t), Vec::<String>::new());
        }
    }
}
