//! Unit tests of the broker state machine on a virtual clock: no sockets and no real time. Each
//! test drives a [`Broker`] through a [`Harness`] and asserts the exact packets the broker asks the
//! driver to send (type, packet id, DUP, QoS, RETAIN, topic, payload, order), the connections it
//! closes and why, its events, and its `inspect()` view. Every test names the normative statements
//! of MQTT 3.1.1 it checks, or says which mosquitto 2.0 behaviour it pins where the spec leaves a
//! choice.
//!
//! One file per concern: `connect` (CONNECT/CONNACK rules and connection limits), `session`
//! (clean session, session present, takeover), `qos` (QoS 1/2 flows in both directions, packet
//! ids, downgrade), `queue` (offline queue, re-sends on reconnect, inflight window, queue limits),
//! `subscribe` (SUBACK/UNSUBACK, matching, fan-out, PINGREQ), `retained`, `will_keepalive`,
//! `determinism`, `backlog` (slow readers), `timers` (the timer set under connection churn), and
//! `incoming_qos2` (QoS 2 messages awaiting PUBREL: their window).

mod backlog;
mod connect;
mod determinism;
mod incoming_qos2;
pub(crate) mod persist;
mod qos;
mod queue;
mod retained;
mod server_choices;
mod session;
mod subscribe;
mod timers;
mod topic_depth;
mod v5;
mod v5_messages;
mod v5_subscriptions;
mod will_keepalive;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use super::{
    Action, Broker, BrokerView, CloseReason, Config, ConnId, DropReason, Event, MessageView, OutState, Qos2Delivery,
    RetainedView, SessionView,
};
use crate::protocol::{
    Connack, Connect, ConnectReturnCode, DecodeError, LastWill, Packet, PacketId, Protocol, Publish, QoS, Suback,
    SubackCode, Subscribe, SubscribeFilter, Unsubscribe,
};
use crate::time::Time;

pub(super) const Q0: QoS = QoS::AtMostOnce;
pub(super) const Q1: QoS = QoS::AtLeastOnce;
pub(super) const Q2: QoS = QoS::ExactlyOnce;

/// A broker and the virtual time its inputs carry.
pub(super) struct Harness {
    pub broker: Broker,
    pub now: Time,
    /// Packet ids for PUBLISH/SUBSCRIBE/UNSUBSCRIBE sent by the helpers below.
    client_pkid: u16,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Harness {
        Harness { broker: Broker::new(config), now: Time::ZERO, client_pkid: 0 }
    }

    /// A new transport connection.
    pub fn open(&mut self) -> ConnId {
        self.broker.handle_connection_opened(self.now)
    }

    /// Sends a 3.1.1 CONNECT without will on `conn`; returns the actions it caused.
    pub fn connect(&mut self, conn: ConnId, client_id: &str, clean: bool, keep_alive: u16) -> Vec<Action> {
        self.send(conn, Packet::Connect(Connect::new(client_id, clean, keep_alive)))
    }

    /// Opens a connection and connects `client_id` (keep alive 0), checking that it was accepted.
    /// Drains every action and event this caused, so the test starts from a quiet broker.
    pub fn client(&mut self, client_id: &str, clean: bool) -> ConnId {
        self.client_with(Connect::new(client_id, clean, 0))
    }

    /// As [`Harness::client`], with a CONNECT of the caller's making (a will, another keep alive).
    pub fn client_with(&mut self, connect: Connect) -> ConnId {
        let conn = self.open();
        let actions = self.send(conn, Packet::Connect(connect));
        assert!(
            matches!(actions.first(), Some(Action::Send { packet: Packet::Connack(Connack { code, .. }), .. }) if code.is_success()),
            "CONNECT was not accepted: {actions:?}"
        );
        self.drain_events();
        conn
    }

    /// Feeds one packet from `conn`; returns the actions it caused.
    pub fn send(&mut self, conn: ConnId, packet: Packet) -> Vec<Action> {
        self.broker.handle_packet(conn, packet, self.now);
        self.drain_actions()
    }

    /// Subscribes `conn` to one filter, checks the SUBACK grants `qos`, and returns what followed
    /// it (retained messages).
    pub fn subscribe(&mut self, conn: ConnId, filter: &str, qos: QoS) -> Vec<Action> {
        let pkid = self.next_client_pkid();
        let mut actions = self.send(conn, subscribe(pkid, &[(filter, qos)]));
        assert_eq!(actions.first(), Some(&tx(conn, suback(pkid, &[qos]))), "SUBACK first");
        actions.remove(0);
        actions
    }

    /// Publishes from `conn` with RETAIN 0 and completes the QoS flow (PUBACK, or PUBREC then
    /// PUBREL then PUBCOMP), checking that the publisher's acknowledgement comes after the
    /// routing. Returns the other actions, that is what the message caused to be sent elsewhere.
    pub fn publish(&mut self, conn: ConnId, topic: &str, payload: &str, qos: QoS) -> Vec<Action> {
        self.publish_flow(conn, topic, payload, qos, false)
    }

    /// As [`Harness::publish`], with RETAIN 1.
    pub fn publish_retained(&mut self, conn: ConnId, topic: &str, payload: &str, qos: QoS) -> Vec<Action> {
        self.publish_flow(conn, topic, payload, qos, true)
    }

    fn publish_flow(&mut self, conn: ConnId, topic: &str, payload: &str, qos: QoS, retain: bool) -> Vec<Action> {
        let pkid = match qos {
            QoS::AtMostOnce => None,
            _ => Some(pid(self.next_client_pkid())),
        };
        let payload = Bytes::copy_from_slice(payload.as_bytes());
        let packet = Packet::Publish(Publish::new(topic, qos, payload, retain, pkid));
        let mut out = self.send(conn, packet);
        match (qos, pkid) {
            (QoS::AtMostOnce, _) => {}
            (QoS::AtLeastOnce, Some(pkid)) => {
                assert_eq!(out.pop(), Some(tx(conn, Packet::puback(pkid))), "PUBACK after routing");
            }
            (QoS::ExactlyOnce, Some(pkid)) => {
                // Stored, not routed, until PUBREL [MQTT-4.3.3-2].
                assert_eq!(out, vec![tx(conn, Packet::pubrec(pkid))], "only PUBREC before PUBREL");
                out = self.send(conn, Packet::pubrel(pkid));
                assert_eq!(out.pop(), Some(tx(conn, Packet::pubcomp(pkid))), "PUBCOMP after routing");
            }
            _ => unreachable!(),
        }
        out
    }

    /// The transport of `conn` closed without a DISCONNECT.
    pub fn lost(&mut self, conn: ConnId) -> Vec<Action> {
        self.broker.handle_connection_lost(conn, self.now);
        self.drain_actions()
    }

    /// Bytes on `conn` did not decode.
    pub fn decode_error(&mut self, conn: ConnId, err: DecodeError) -> Vec<Action> {
        self.broker.handle_decode_error(conn, err, self.now);
        self.drain_actions()
    }

    /// Moves the clock forward by `by`, calling `handle_timeout` at every deadline `poll_timeout`
    /// names on the way, exactly when it falls due, as a driver's timer would. Actions stay queued
    /// for `drain_actions`.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(at) = self.broker.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.broker.handle_timeout(self.now);
        }
        self.now = target;
    }

    /// Every action queued so far; also checks the broker's invariants, so every unit test
    /// checks them after each input it feeds.
    pub fn drain_actions(&mut self) -> Vec<Action> {
        if let Err(e) = self.broker.check_invariants() {
            panic!("broker invariant broken: {e}");
        }
        std::iter::from_fn(|| self.broker.poll_action()).collect()
    }

    pub fn drain_events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.broker.poll_event()).collect()
    }

    pub fn view(&self) -> BrokerView {
        self.broker.inspect()
    }

    /// The view of one session; panics if there is none.
    pub fn session(&self, client_id: &str) -> SessionView {
        self.view().session(client_id).cloned().unwrap_or_else(|| panic!("no session {client_id:?}"))
    }

    fn next_client_pkid(&mut self) -> u16 {
        self.client_pkid = self.client_pkid.checked_add(1).unwrap_or(1);
        self.client_pkid
    }
}

// Packet and action builders, so expected values read like the wire.

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

pub(super) fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

pub(super) fn pid(n: u16) -> PacketId {
    PacketId::new(n).expect("test packet ids are non-zero")
}

/// A PUBLISH with DUP 0 and RETAIN 0; `pkid` is ignored for QoS 0.
pub(super) fn publish(topic: &str, payload: &str, qos: QoS, pkid: u16) -> Packet {
    let pkid = if qos == QoS::AtMostOnce { None } else { Some(pid(pkid)) };
    Packet::Publish(Publish::new(topic, qos, Bytes::copy_from_slice(payload.as_bytes()), false, pkid))
}

/// Flag setters for a PUBLISH built by [`publish`].
pub(super) trait PublishFlags {
    fn dup(self) -> Packet;
    fn retain(self) -> Packet;
}

impl PublishFlags for Packet {
    fn dup(self) -> Packet {
        match self {
            Packet::Publish(p) => Packet::Publish(Publish { dup: true, ..p }),
            other => panic!("dup() on {other:?}"),
        }
    }

    fn retain(self) -> Packet {
        match self {
            Packet::Publish(p) => Packet::Publish(Publish { retain: true, ..p }),
            other => panic!("retain() on {other:?}"),
        }
    }
}

pub(super) fn puback(n: u16) -> Packet {
    Packet::puback(pid(n))
}

pub(super) fn pubrec(n: u16) -> Packet {
    Packet::pubrec(pid(n))
}

pub(super) fn pubrel(n: u16) -> Packet {
    Packet::pubrel(pid(n))
}

pub(super) fn pubcomp(n: u16) -> Packet {
    Packet::pubcomp(pid(n))
}

pub(super) fn subscribe(pkid: u16, filters: &[(&str, QoS)]) -> Packet {
    Packet::Subscribe(Subscribe {
        pkid: pid(pkid),
        filters: filters.iter().map(|&(f, qos)| SubscribeFilter::new(f.to_owned(), qos)).collect(),
        properties: Default::default(),
    })
}

pub(super) fn unsubscribe(pkid: u16, filters: &[&str]) -> Packet {
    Packet::Unsubscribe(Unsubscribe {
        pkid: pid(pkid),
        filters: filters.iter().map(|f| (*f).to_owned()).collect(),
        properties: Default::default(),
    })
}

/// A SUBACK granting these QoS, in order.
pub(super) fn suback(pkid: u16, granted: &[QoS]) -> Packet {
    Packet::Suback(Suback::new(pid(pkid), granted.iter().map(|&q| SubackCode::Granted(q)).collect()))
}

pub(super) fn connack(session_present: bool) -> Packet {
    Packet::Connack(Connack::accepted(session_present))
}

/// A refusing CONNACK: session present is always 0 [MQTT-3.2.2-4].
pub(super) fn refused(code: ConnectReturnCode) -> Packet {
    Packet::Connack(Connack::refused(code))
}

/// A 3.1.1 CONNECT carrying a will.
pub(super) fn with_will(mut connect: Connect, topic: &str, message: &str, qos: QoS, retain: bool) -> Connect {
    connect.will = Some(LastWill {
        topic: topic.to_owned(),
        message: Bytes::copy_from_slice(message.as_bytes()),
        qos,
        retain,
        properties: Default::default(),
    });
    connect
}

pub(super) fn tx(conn: ConnId, packet: Packet) -> Action {
    Action::Send { conn, packet }
}

pub(super) fn closed(conn: ConnId, reason: CloseReason) -> Action {
    Action::Close { conn, reason }
}

pub(super) fn violation(what: &'static str) -> CloseReason {
    CloseReason::ProtocolViolation(what)
}

/// How a queued or inflight message looks in the view.
pub(super) fn msg(topic: &str, payload: &str, qos: QoS, retain: bool) -> MessageView {
    MessageView {
        topic: topic.to_owned(),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
        qos,
        retain,
        expires_in: None,
    }
}

/// The payloads of the PUBLISH packets among `actions`, in order, as text.
pub(super) fn payloads(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { packet: Packet::Publish(p), .. } => Some(String::from_utf8_lossy(&p.payload).into_owned()),
            _ => None,
        })
        .collect()
}

/// `prefix1` .. `prefixN` for a range of N.
pub(super) fn numbered(prefix: &str, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}
