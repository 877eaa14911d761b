//! Message expiry, judged from the packets at the broker's end (section 3.3.2.3.3). A message's
//! Message Expiry Interval counts from when the broker read the PUBLISH that carried it:
//! - `no-expired-delivery`: a copy whose interval had passed before the broker started its
//!   onward delivery to a subscriber is deleted, not sent [MQTT5-3.3.2-5]. Once started, a
//!   delivery is no longer subject to expiry: a re-send of it (the same packet id, before the
//!   flow ended) may come later [MQTT5-4.3.3-7] [MQTT5-4.3.3-13].
//! - `expiry-reduced`: the PUBLISH sent to a 5.0 client carries the received interval less the
//!   time the message waited in the broker [MQTT5-3.3.2-6], re-sends included.
//!
//! A message is known by (topic, payload). Where the broker read it more than once (published
//! twice, or re-sent by its publisher) the verdict is the kindest any of those copies allows.
//! Messages the broker did not read (wills) are not judged.
//!
//! Tolerances, both ways, in milliseconds: intervals are whole seconds, and a server may keep
//! time in whole seconds (mosquitto 2.0 does), so a message may outlive its interval by up to a
//! second and a forwarded interval may be one second off the exact time left (our broker rounds
//! the time left up). A real-time trace stamps a packet the broker wrote when the proxy reads it
//! and one it read when the proxy hands it over, so a measured wait is never shorter than the
//! real one, and longer by the proxy's scheduling delay, allowed for by `STAMP_MS`.

use std::collections::BTreeMap;

use super::wire::{ends_flow, Seen};
use super::{STAMP_MS, WHOLE_SECOND_MS};
use crate::invariants::Violation;
use crate::protocol::PacketSummary;
use crate::trace::{BrokerEvent, Fault, TraceEvent};

/// One PUBLISH the broker read: when (ms), where (line), and its Message Expiry Interval.
struct Receipt {
    ms: u64,
    line: usize,
    expiry: Option<u32>,
}

pub fn check(seen: &[Seen], out: &mut Vec<Violation>) {
    let mut receipts: BTreeMap<(String, String), Vec<Receipt>> = BTreeMap::new();
    // Per client id, the deliveries started and not yet ended: packet id -> (topic, payload).
    let mut started: BTreeMap<String, BTreeMap<u16, (String, String)>> = BTreeMap::new();
    for s in seen {
        let w = match s {
            Seen::Wire(w) => w,
            Seen::Event(_, TraceEvent::Broker { event: BrokerEvent::SessionDiscarded { client_id }, .. }) => {
                started.remove(client_id);
                continue;
            }
            Seen::Event(_, TraceEvent::Fault { fault: Fault::CrashBroker, .. }) => {
                started.clear();
                continue;
            }
            Seen::Event(..) => continue,
        };
        let Some(id) = w.client_id.as_deref() else { continue };
        if !w.by_broker {
            if let (Some(p), Some(topic)) = (w.publish(), &w.topic) {
                let expiry = p.props.as_ref().and_then(|props| props.message_expiry);
                let r = Receipt { ms: w.ms, line: w.line, expiry };
                receipts.entry((topic.clone(), p.payload.clone())).or_default().push(r);
            } else if let Some(pkid) = ends_flow(w.packet) {
                started.entry(id.to_owned()).or_default().remove(&pkid);
            }
            continue;
        }
        if let PacketSummary::Connack { session_present: false, return_code: 0, .. } = w.packet {
            started.remove(id);
            continue;
        }
        let (Some(p), Some(topic)) = (w.publish(), &w.topic) else { continue };
        let key = (topic.clone(), p.payload.clone());
        let Some(copies) = receipts.get(&key) else { continue };
        let resend = p.pkid.is_some_and(|pkid| started.get(id).and_then(|s| s.get(&pkid)) == Some(&key));
        if let (Some(pkid), false) = (p.pkid, resend) {
            started.entry(id.to_owned()).or_default().insert(pkid, key.clone());
        }
        let waited = |r: &Receipt| w.ms.saturating_sub(r.ms);
        // Expired if every copy the broker read had expired (a copy without an expiry never does).
        let limit = |r: &Receipt| r.expiry.map(|e| u64::from(e) * 1000 + WHOLE_SECOND_MS + STAMP_MS);
        if !resend && copies.iter().all(|r| limit(r).is_some_and(|l| waited(r) > l)) {
            let r = copies.last().expect("a message has a receipt");
            out.push(Violation {
                invariant: "no-expired-delivery",
                message: format!(
                    "the broker started delivering {:?} {:?} to {} {} ms after it read it, past its Message Expiry Interval of {} s [MQTT5-3.3.2-5]",
                    key.0,
                    key.1,
                    w.host,
                    waited(r),
                    r.expiry.unwrap_or_default()
                ),
                lines: vec![r.line, w.line],
            });
        }
        if !w.v5 || copies.iter().all(|r| r.expiry.is_none()) {
            continue;
        }
        let forwarded = p.props.as_ref().and_then(|props| props.message_expiry);
        // What the copy read as `r` should carry: no more than received, and within a second
        // of the exact time left (0 once none is left), plus the stamps' delay, which only makes
        // the wait look longer.
        let fits = |r: &Receipt| match (r.expiry, forwarded) {
            (Some(received), Some(sent)) => {
                let (received, sent) = (u64::from(received) * 1000, u64::from(sent) * 1000);
                sent <= received
                    && sent <= (received + WHOLE_SECOND_MS + STAMP_MS).saturating_sub(waited(r))
                    && sent + waited(r) + WHOLE_SECOND_MS >= received
            }
            (None, _) => true,
            (Some(_), None) => false,
        };
        if !copies.iter().any(fits) {
            let r = copies.iter().rev().find(|r| r.expiry.is_some()).expect("one has an expiry");
            let received = r.expiry.unwrap_or_default();
            let sent = forwarded.map_or_else(|| "none".to_owned(), |s| format!("{s} s"));
            out.push(Violation {
                invariant: "expiry-reduced",
                message: format!(
                    "the broker sent {:?} {:?} to {} with Message Expiry Interval {sent}, {} ms after it read it with {received} s: expected {received} s less the time it waited [MQTT5-3.3.2-6]",
                    key.0,
                    key.1,
                    w.host,
                    waited(r)
                ),
                lines: vec![r.line, w.line],
            });
        }
    }
}
