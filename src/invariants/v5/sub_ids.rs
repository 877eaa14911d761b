//! `subscription-ids`: a PUBLISH the broker writes to a 5.0 connection carries the Subscription
//! Identifiers of the subscriptions it is sent for, and no others (section 3.3.4). Which
//! subscriptions of the session matched while the message was routed (from the broker's first
//! read of it to the copy) the trace knows up to a window (`subs.rs`), so:
//! - every identifier carried belongs to a subscription of the session matching the topic that
//!   may have existed then [MQTT5-3.3.4-4] [MQTT5-3.3.4-5];
//! - a copy that carries none, where every subscription that may have matched had one, is
//!   missing its subscription's [MQTT5-3.3.4-3] [MQTT5-3.3.4-5];
//! - a single copy for overlapping subscriptions carries the identifiers of all that surely
//!   matched (non-shared ones: a shared one matched only if the session was chosen)
//!   [MQTT5-3.3.4-3] [MQTT5-3.3.4-4]: a copy with two or more identifiers is such a copy; with
//!   one, it is when the session got no other copy of the message (else they are separate
//!   copies, each with its own [MQTT5-3.3.4-5]).
//!
//! Retained copies (RETAIN=1) and messages the broker did not read (wills) are judged only on
//! the first rule: a retained copy is sent for one new subscription, a will routed at a moment
//! the trace does not show.

use std::collections::{BTreeMap, BTreeSet};

use super::subs::Subs;
use super::wire::{Message, Receipts, Seen};
use crate::invariants::Violation;

/// The copies of one message to one session carrying one identifier while more were required:
/// the identifiers they carried, those required, the lines.
type Single = (BTreeSet<u32>, BTreeSet<u32>, Vec<usize>);

pub fn check(seen: &[Seen], receipts: &Receipts, subs: &Subs, out: &mut Vec<Violation>) {
    let mut singles: BTreeMap<(String, Message), Single> = BTreeMap::new();
    // First sends (DUP=0, RETAIN=0) of each message to each session.
    let mut copies: BTreeMap<(String, Message), usize> = BTreeMap::new();
    for s in seen {
        let Seen::Wire(w) = s else { continue };
        let (true, true, Some(p), Some(id), Some(topic)) = (w.by_broker, w.v5, w.publish(), &w.client_id, &w.topic)
        else {
            continue;
        };
        let key = (topic.clone(), p.payload.clone());
        let rs = receipts.get(&key).filter(|rs| !rs.is_empty());
        let from = rs.map_or(0, |rs| rs[0].line);
        let possible: Vec<_> = subs.matching(id, topic).filter(|s| s.possible(from, w.line)).collect();
        if possible.is_empty() {
            continue;
        }
        let carried: BTreeSet<u32> = p.props.iter().flat_map(|p| p.subscription_ids.iter().copied()).collect();
        let mut violation = |message: String| {
            out.push(Violation { invariant: "subscription-ids", message, lines: vec![from, w.line] });
        };
        let foreign: Vec<u32> =
            carried.iter().copied().filter(|n| !possible.iter().any(|s| s.id == Some(*n))).collect();
        if !foreign.is_empty() {
            violation(format!(
                "the broker sent {topic:?} {:?} to {id:?} with Subscription Identifiers {foreign:?}, which no subscription of it matching the topic had [MQTT5-3.3.4-4] [MQTT5-3.3.4-5]",
                p.payload
            ));
            continue;
        }
        if rs.is_none() || p.retain {
            continue;
        }
        *copies.entry((id.clone(), key.clone())).or_default() += usize::from(!p.dup);
        let required: BTreeSet<u32> = subs
            .matching(id, topic)
            .filter(|s| s.shared.is_none() && s.certain(from, w.line))
            .filter_map(|s| s.id)
            .collect();
        if carried.is_empty() && !required.is_empty() && possible.iter().all(|s| s.id.is_some()) {
            violation(format!(
                "the broker sent {topic:?} {:?} to {id:?} without a Subscription Identifier, though every subscription it can have been sent for had one ({required:?}) [MQTT5-3.3.4-3] [MQTT5-3.3.4-5]",
                p.payload
            ));
        } else if carried.len() >= 2 && !required.is_subset(&carried) {
            violation(format!(
                "the broker sent {topic:?} {:?} to {id:?} as one copy with Subscription Identifiers {carried:?}, not all of those matching ({required:?}) [MQTT5-3.3.4-3] [MQTT5-3.3.4-4]",
                p.payload
            ));
        } else if carried.len() == 1 && !required.is_subset(&carried) {
            let single = singles.entry((id.clone(), key)).or_default();
            single.0.extend(carried);
            single.1.extend(required);
            single.2.extend([from, w.line]);
        }
    }
    for (session, (carried, required, mut lines)) in singles {
        if copies.get(&session) == Some(&1) && !required.is_subset(&carried) {
            let (id, (topic, payload)) = session;
            lines.dedup();
            out.push(Violation {
                invariant: "subscription-ids",
                message: format!(
                    "the broker sent {topic:?} {payload:?} to {id:?} once, with Subscription Identifier {carried:?}, not all of those matching ({required:?}) [MQTT5-3.3.4-3] [MQTT5-3.3.4-4]"
                ),
                lines,
            });
        }
    }
}
