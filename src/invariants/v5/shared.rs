//! `shared-once`: a message that matches a shared subscription `$share/{group}/{filter}` is
//! sent to one of the group's sessions (section 4.8.2), once per time it was published. The
//! group is that whole Topic Filter: `$share/g/a/#` and `$share/g/a/b` are two shared
//! subscriptions, each sending its own copy. A
//! session counts as reached through the group when every subscription of it that may have
//! matched while the message was routed is in that group (one also reached otherwise, through
//! an ordinary subscription or another group, is not counted). Another session of the group
//! may get the message only as the spec allows:
//! - a re-send to the same session (after a reconnect, say) is the same delivery;
//! - a QoS 1 copy whose session lost its connection before acknowledging it may go to another
//!   member (section 4.8.2: the server MAY, as soon as the connection is lost);
//! - never after the first member answered with a reason code of 0x80 or more
//!   [MQTT5-4.8.2-6], nor after a QoS 2 copy: that delivery is completed to its session when it
//!   reconnects [MQTT5-4.8.2-4], and not sent to another if the session ends first
//!   [MQTT5-4.8.2-5]; nor a QoS 0 copy, which is never re-sent.
//!
//! The times a message was published are the broker's reads of it, a QoS 2 PUBLISH re-sent
//! with the same packet id counting once (unless the broker crashed in between). Copies with
//! RETAIN=1 are not counted (retained messages are not sent for shared subscriptions).

use std::collections::BTreeMap;

use super::subs::Subs;
use super::wire::{Message, Receipt, Receipts, Seen};
use crate::invariants::Violation;
use crate::protocol::PacketSummary;
use crate::trace::{BrokerEvent, Fault, TraceEvent};

/// One delivery of a message through a group: the session holding it, where and how it was
/// sent, and what became of it.
struct Slot {
    holder: String,
    host: String,
    pkid: Option<u16>,
    qos: u8,
    line: usize,
    acked: bool,
    failed: bool,
    lost: bool,
    /// Sessions it was taken from, lost unacknowledged.
    past: Vec<String>,
}

/// How many times the broker was given the message: each read, but a QoS 2 PUBLISH re-sent
/// with a packet id already read from that client (since the last crash) only once.
fn publications(rs: &[Receipt], crashes: &[usize]) -> usize {
    rs.iter()
        .enumerate()
        .filter(|(i, r)| {
            r.qos < 2
                || !rs[..*i].iter().any(|e| {
                    e.client_id == r.client_id && e.pkid == r.pkid && !crashes.iter().any(|&c| e.line < c && c < r.line)
                })
        })
        .count()
}

pub fn check(seen: &[Seen], receipts: &Receipts, subs: &Subs, out: &mut Vec<Violation>) {
    let crashes: Vec<usize> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Event(line, TraceEvent::Fault { fault: Fault::CrashBroker, .. }) => Some(*line),
            _ => None,
        })
        .collect();
    let mut slots: BTreeMap<(Message, String), Vec<Slot>> = BTreeMap::new();
    for s in seen {
        let w = match s {
            Seen::Wire(w) => w,
            Seen::Event(_, TraceEvent::Broker { event: BrokerEvent::ClosedConnection { client, .. }, .. }) => {
                slots.values_mut().flatten().filter(|s| s.host == *client && !s.acked).for_each(|s| s.lost = true);
                continue;
            }
            Seen::Event(_, TraceEvent::Fault { fault: Fault::CrashBroker, .. }) => {
                slots.values_mut().flatten().filter(|s| !s.acked).for_each(|s| s.lost = true);
                continue;
            }
            Seen::Event(..) => continue,
        };
        if !w.by_broker {
            let (pkid, reason) = match w.packet {
                PacketSummary::Puback { pkid, reason } | PacketSummary::Pubrec { pkid, reason } => (*pkid, *reason),
                _ => continue,
            };
            let answered = |s: &&mut Slot| s.host == w.host && s.pkid == Some(pkid) && !s.acked && !s.lost;
            for s in slots.values_mut().flatten().filter(answered) {
                s.acked = true;
                s.failed = reason >= 0x80;
            }
            continue;
        }
        let (Some(p), Some(id), Some(topic)) = (w.publish(), &w.client_id, &w.topic) else { continue };
        let key = (topic.clone(), p.payload.clone());
        let Some(rs) = receipts.get(&key).filter(|rs| !rs.is_empty() && !p.retain) else { continue };
        let mut groups = subs.matching(id, topic).filter(|s| s.possible(rs[0].line, w.line)).map(|s| s.shared.as_ref());
        let Some(Some(group)) = groups.next() else { continue };
        if !groups.all(|g| g == Some(group)) {
            continue;
        }
        let list = slots.entry((key.clone(), group.clone())).or_default();
        let sent = |s: &mut Slot| {
            s.host = w.host.to_owned();
            s.pkid = p.pkid;
            s.qos = p.qos;
            s.line = w.line;
            s.acked = false;
            s.failed = false;
            s.lost = false;
        };
        if let Some(slot) = list.iter_mut().find(|s| s.holder == *id || s.past.contains(id)) {
            if slot.holder == *id {
                sent(slot);
            }
            continue;
        }
        if let Some(slot) = list.iter_mut().find(|s| s.qos == 1 && s.lost && !s.acked && !s.failed) {
            let before = std::mem::replace(&mut slot.holder, id.clone());
            slot.past.push(before);
            sent(slot);
            continue;
        }
        if list.len() < publications(rs, &crashes) {
            let holder = id.clone();
            let (host, past) = (w.host.to_owned(), Vec::new());
            let slot = Slot {
                holder,
                host,
                pkid: p.pkid,
                qos: p.qos,
                line: w.line,
                acked: false,
                failed: false,
                lost: false,
                past,
            };
            list.push(slot);
            continue;
        }
        let first = &list[0];
        let why = if list.iter().any(|s| s.failed) {
            "which answered it with a reason code of 0x80 or more [MQTT5-4.8.2-6]"
        } else if list.iter().any(|s| s.qos == 2) {
            "at QoS 2, a delivery to be completed to that session [MQTT5-4.8.2-4] [MQTT5-4.8.2-5]"
        } else if list.iter().any(|s| s.acked) {
            "which acknowledged it (section 4.8.2)"
        } else {
            "whose connection was not lost before (section 4.8.2)"
        };
        out.push(Violation {
            invariant: "shared-once",
            message: format!(
                "the broker sent {topic:?} {:?}, published {} time(s), to {id:?} through the shared subscription {group:?} after sending it to {:?}, {why}",
                p.payload,
                publications(rs, &crashes),
                first.holder
            ),
            lines: vec![rs[0].line, first.line, w.line],
        });
    }
}
