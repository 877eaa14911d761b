//! The PUBLISH header flags a trace can judge: DUP=1 on every re-delivery, by the broker and by
//! the client [MQTT-3.3.1-1], and DUP=0 on every first send, whatever DUP the publisher's PUBLISH
//! had [MQTT-3.3.1-3], and on every QoS 0 message [MQTT-3.3.1-2]; and RETAIN=1 on a retained message sent because of a new
//! subscription [MQTT-3.3.1-8]. The first reads the packets each side wrote (the packet summaries of
//! the trace's tapped `Send`/`Recv` events); the second the application's view.

use std::collections::BTreeMap;

use super::timeline::Timeline;
use super::Violation;
use crate::protocol::{PacketSummary, PublishSummary};
use crate::trace::{BrokerEvent, Fault, TraceEvent, BROKER};

/// A sender's QoS 1/2 PUBLISH packet ids in use: id -> the line of the first send, and whether
/// an acknowledgement (PUBACK or PUBREC) was seen for it. An acknowledgement seen is not proof
/// the sender processed it: over real TCP the proxy records it when it reaches the sender's
/// socket, and a connection taken over right then loses it. So after one the id may be re-sent
/// (DUP=1) or reused for a new message (DUP=0), and neither is a violation.
type Outstanding = BTreeMap<u16, (usize, bool)>;

/// A PUBLISH written with this packet id while an earlier PUBLISH with the same id to the same
/// session is unacknowledged (no PUBACK or PUBREC yet) is a re-delivery, and must carry DUP=1
/// (`dup-on-redelivery`); any other is a first send, and must carry DUP=0
/// (`dup-only-on-redelivery`). The broker's first sends are judged only where its end of the
/// connection is tapped: a client that never read the first copy (lost in a partition) sees the
/// re-send first.
///
/// Broker to client: per client id; a new session (CONNACK with session present 0), a discarded
/// session or a broker crash forgets what was outstanding, except for a session the restarted
/// broker restored from its persistence file (`SessionRestored`). In durable mode what it
/// restored is what it had sent (it syncs before it sends), so its in-flight messages are re-sent,
/// with DUP=1, as the re-deliveries they are. With an autosave, the file may be older than the
/// last sends: the broker re-sends what was in flight at the save with DUP=1 and may reuse the ids
/// of later sends for new messages with DUP=0, and the trace cannot tell which; so the first send
/// of each packet id to such a session after the restore is not judged. Client to broker: per
/// client process; a clean CONNECT or a crash of the client forgets it.
///
/// A PUBLISH the broker routed to a session while reading from a connection that was already
/// lost may never reach the wire: the broker took it as sent (and re-sends it with DUP=1 on the
/// next connection), but the tap only sees bytes written. So a first seen send with DUP=1 is
/// not judged where the broker read that message before the session's last connection closed:
/// while it was open, or before, with the message queued and moved into flight on it (a PUBACK
/// read on it freeing a slot of the client's Receive Maximum, found by exploration). The same holds for a client: a message its application published
/// as its connection was being lost may never reach the wire, and its re-send on the next
/// connection (DUP=1) is the first the tap sees; so a client's first seen send with DUP=1 is not
/// judged where the client lost a connection after its application published that message.
pub fn dup_on_redelivery(events: &[TraceEvent], out: &mut Vec<Violation>) {
    // Where the broker's end of each connection is tapped (the simulation) the broker is judged
    // by what it wrote and read; against a real broker (`mqtt-sim check`) by what its clients
    // read from it and wrote to it.
    let tapped = events.iter().any(|e| matches!(e, TraceEvent::Send { host, .. } if host == BROKER));
    let mut id_of_host: BTreeMap<&str, &str> = BTreeMap::new();
    let mut from_broker: BTreeMap<&str, Outstanding> = BTreeMap::new();
    // What was outstanding when the broker crashed, for the sessions it may restore.
    let mut before_crash: BTreeMap<&str, Outstanding> = BTreeMap::new();
    // Whether the running broker is in durable mode (it says so when it starts).
    let mut durable = false;
    // Sessions restored from an autosave: the packet ids sent to each since, and whose first
    // send since is not judged.
    let mut from_save: BTreeMap<&str, std::collections::BTreeSet<u16>> = BTreeMap::new();
    let mut from_client: BTreeMap<&str, Outstanding> = BTreeMap::new();
    // By client id: the host and line of the CONNACK of the connection open now, and the lines
    // from that CONNACK to the close of the last one that closed.
    let mut open: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    let mut last_open: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    // The broker's reads of PUBLISH packets: (line, topic, payload).
    let mut reads: Vec<(usize, &str, &str)> = Vec::new();
    // Per client host: its application's publications (topic, payload) not yet seen on the
    // wire, and those of them a lost connection may have swallowed.
    let mut asked: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    let mut swallowed: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (line, e) in events.iter().enumerate() {
        if let TraceEvent::Broker { event: BrokerEvent::ClosedConnection { client, .. }, .. } = e {
            if let Some(&id) = id_of_host.get(client.as_str()) {
                if let Some((_, since)) = open.remove(id).filter(|(host, _)| host == client) {
                    last_open.insert(id, (since, line));
                }
            }
        }
        if let Some((client, by_broker, packet)) = broker_view(e, tapped) {
            if !by_broker {
                match packet {
                    PacketSummary::Connect { client_id, .. } => {
                        id_of_host.insert(client, client_id);
                    }
                    PacketSummary::Publish(p) => reads.push((line, &p.topic, &p.payload)),
                    PacketSummary::Puback { pkid, .. } | PacketSummary::Pubrec { pkid, .. } => {
                        if let Some(o) = id_of_host.get(client).and_then(|id| from_broker.get_mut(id)) {
                            acknowledged(o, *pkid);
                        }
                    }
                    _ => {}
                }
            } else if let Some(&id) = id_of_host.get(client).filter(|id| !id.is_empty()) {
                match packet {
                    PacketSummary::Connack { session_present, return_code: 0, .. } => {
                        if !session_present {
                            from_broker.remove(id);
                            before_crash.remove(id);
                            from_save.remove(id);
                        }
                        open.insert(id, (client, line));
                    }
                    PacketSummary::Publish(PublishSummary { pkid: Some(pkid), dup, topic, payload, .. }) => {
                        let o = from_broker.entry(id).or_default();
                        let what = || format!("the broker sent PUBLISH id={pkid} to {client}");
                        let maybe_unwritten = *dup
                            && last_open.get(id).is_some_and(|&(_, to)| {
                                reads.iter().any(|&(l, t, m)| l < to && t == topic && m == payload)
                            });
                        // After a restore from an autosave, each id's first send is not judged.
                        let after_save = from_save.get_mut(id).is_some_and(|seen| seen.insert(*pkid));
                        check_send(o, *pkid, *dup, tapped && !maybe_unwritten && !after_save, line, what, out);
                    }
                    PacketSummary::Publish(PublishSummary { pkid: None, dup: true, .. }) => {
                        out.push(qos0_dup(line, format!("the broker sent a QoS 0 PUBLISH to {client}")));
                    }
                    _ => {}
                }
            }
        }
        match e {
            TraceEvent::Send { host, peer, packet, .. } if peer == BROKER => match packet {
                PacketSummary::Connect { clean_session: true, .. } => {
                    from_client.remove(host.as_str());
                }
                PacketSummary::Publish(PublishSummary { pkid: Some(pkid), dup, topic, payload, .. }) => {
                    let message = (topic.as_str(), payload.as_str());
                    asked.entry(host).or_default().retain(|m| *m != message);
                    let lost = swallowed.get_mut(host.as_str()).and_then(|s| {
                        let i = s.iter().position(|m| *m == message)?;
                        Some(s.remove(i))
                    });
                    let o = from_client.entry(host).or_default();
                    let first_sends_seen = !(*dup && lost.is_some());
                    check_send(
                        o,
                        *pkid,
                        *dup,
                        first_sends_seen,
                        line,
                        || format!("{host} sent PUBLISH id={pkid}"),
                        out,
                    );
                }
                PacketSummary::Publish(PublishSummary { pkid: None, dup: true, .. }) => {
                    out.push(qos0_dup(line, format!("{host} sent a QoS 0 PUBLISH")));
                }
                _ => {}
            },
            TraceEvent::Recv {
                host,
                peer,
                packet: PacketSummary::Puback { pkid, .. } | PacketSummary::Pubrec { pkid, .. },
                ..
            } if peer == BROKER => {
                if let Some(o) = from_client.get_mut(host.as_str()) {
                    acknowledged(o, *pkid);
                }
            }
            TraceEvent::Broker { event: BrokerEvent::SessionDiscarded { client_id }, .. } => {
                from_broker.remove(client_id.as_str());
                before_crash.remove(client_id.as_str());
                from_save.remove(client_id.as_str());
            }
            // A crash can come before the restarted broker reports what it restored (a crash
            // loop): what an earlier crash left stays until a restore or a new session takes it.
            TraceEvent::Fault { fault: Fault::CrashBroker, .. } => {
                before_crash.append(&mut from_broker);
                durable = false;
            }
            TraceEvent::Broker { event: BrokerEvent::Durable, .. } => durable = true,
            TraceEvent::Broker { event: BrokerEvent::SessionRestored { client_id, .. }, .. } => {
                match (before_crash.remove_entry(client_id.as_str()), durable) {
                    (Some((id, o)), true) => {
                        from_broker.insert(id, o);
                    }
                    (None, true) => {}
                    (_, false) => {
                        from_save.insert(client_id.as_str(), Default::default());
                    }
                }
            }
            TraceEvent::Fault { fault: Fault::CrashClient { client }, .. } => {
                from_client.remove(client.as_str());
            }
            TraceEvent::Publish { client, topic, payload, qos: 1.., .. } => {
                asked.entry(client).or_default().push((topic, payload));
            }
            TraceEvent::Disconnected { client, .. } => {
                let pending = asked.remove(client.as_str()).unwrap_or_default();
                swallowed.entry(client).or_default().extend(pending);
            }
            _ => {}
        }
    }
}

/// A packet between the broker and a client, from the broker's end where it is `tapped`, else
/// from the client's: (client host, whether the broker wrote it, packet).
pub(super) fn broker_view(e: &TraceEvent, tapped: bool) -> Option<(&str, bool, &PacketSummary)> {
    match e {
        TraceEvent::Send { host, peer, packet, .. } if tapped && host == BROKER => Some((peer, true, packet)),
        TraceEvent::Recv { host, peer, packet, .. } if tapped && host == BROKER => Some((peer, false, packet)),
        TraceEvent::Recv { host, peer, packet, .. } if !tapped && peer == BROKER => Some((host, true, packet)),
        TraceEvent::Send { host, peer, packet, .. } if !tapped && peer == BROKER => Some((host, false, packet)),
        _ => None,
    }
}

/// Judges a QoS 1/2 PUBLISH against what is `outstanding` with its sender; a first send is
/// judged only where `first_sends_seen`.
fn check_send(
    outstanding: &mut Outstanding,
    pkid: u16,
    dup: bool,
    first_sends_seen: bool,
    line: usize,
    what: impl FnOnce() -> String,
    out: &mut Vec<Violation>,
) {
    match outstanding.get(&pkid) {
        Some(&(first, false)) if !dup => out.push(Violation {
            invariant: "dup-on-redelivery",
            message: format!("{} again with DUP=0 although it was unacknowledged since line {first}", what()),
            lines: vec![first, line],
        }),
        // Re-sent, or re-sent after an acknowledgement the sender may not have processed.
        Some(_) if dup => {}
        // A new message with an acknowledged id.
        Some(_) => {
            outstanding.insert(pkid, (line, false));
        }
        None => {
            if dup && first_sends_seen {
                out.push(Violation {
                    invariant: "dup-only-on-redelivery",
                    message: format!("{} with DUP=1 on its first send [MQTT-3.3.1-3]", what()),
                    lines: vec![line],
                });
            }
            outstanding.insert(pkid, (line, false));
        }
    }
}

fn acknowledged(outstanding: &mut Outstanding, pkid: u16) {
    if let Some(entry) = outstanding.get_mut(&pkid) {
        entry.1 = true;
    }
}

fn qos0_dup(line: usize, what: String) -> Violation {
    Violation {
        invariant: "dup-only-on-redelivery",
        message: format!("{what} with DUP=1 [MQTT-3.3.1-2]"),
        lines: vec![line],
    }
}

/// A client that had asked for no subscription matching a retained message's topic until after
/// the message was published and acknowledged can only receive it as the retained copy sent for
/// its new subscription, which must carry RETAIN=1 — unless the publisher sent the PUBLISH again
/// (DUP=1, after a reconnect), which the broker may forward as a new message [MQTT-4.3.2-2].
pub fn retain_on_new_subscription(events: &[TraceEvent], t: &Timeline, out: &mut Vec<Violation>) {
    for (client, deliveries) in &t.deliveries {
        for d in deliveries.iter().filter(|d| !d.retain) {
            let Some(p) = t.unique_publish((&d.topic, &d.payload)) else { continue };
            let Some(acked) = p.acked_line.filter(|&a| p.retain && p.qos > 0 && a < d.line) else { continue };
            let Some(id) = t.connect_before(client, d.line).map(|c| c.client_id.as_str()) else { continue };
            if t.subscribe_requested_before(id, &d.topic, acked)
                || t.ever_subscribed(client, &d.topic, acked)
                || resent_after(events, &p.client, &p.topic, p.line)
            {
                continue;
            }
            out.push(Violation {
                invariant: "retain-on-new-subscription",
                message: format!(
                    "{client} subscribed after {:?} {:?} was retained and acknowledged, yet received it with RETAIN=0",
                    d.topic, d.payload
                ),
                lines: vec![acked, d.line],
            });
        }
    }
}

/// Whether `client` wrote a PUBLISH with DUP=1 on `topic` after `line`.
fn resent_after(events: &[TraceEvent], client: &str, topic: &str, line: usize) -> bool {
    events.iter().skip(line + 1).any(|e| match e {
        TraceEvent::Send { host, peer, packet: PacketSummary::Publish(p), .. } if host == client && peer == BROKER => {
            p.pkid.is_some() && p.dup && p.topic == topic
        }
        _ => false,
    })
}
