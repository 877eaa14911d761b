//! `no-local`: with No Local set on a subscription, the server does not forward a client's own
//! publications to it [MQTT5-3.8.3-3]: a PUBLISH the broker writes to a connection of client
//! id X, carrying a message only X published, needs a subscription of X matching it that may
//! have existed while the message was routed (from the broker's first read of it to the copy)
//! and does not have No Local: an ordinary one, or a shared one (where No Local is not allowed
//! [MQTT5-3.8.3-4]). Where X had no matching subscription at all, `no-unsubscribed-delivery`
//! speaks. A retained copy (RETAIN=1 of a message published retained) is not judged: the spec
//! does not say whether a retained message sent for a new subscription is "forwarded".

use super::subs::Subs;
use super::wire::{Receipts, Seen};
use crate::invariants::Violation;

pub fn check(seen: &[Seen], receipts: &Receipts, subs: &Subs, out: &mut Vec<Violation>) {
    for s in seen {
        let Seen::Wire(w) = s else { continue };
        let (true, Some(p), Some(id), Some(topic)) = (w.by_broker, w.publish(), &w.client_id, &w.topic) else {
            continue;
        };
        let key = (topic.clone(), p.payload.clone());
        let Some(rs) = receipts.get(&key).filter(|rs| !rs.is_empty()) else { continue };
        let own = rs.iter().all(|r| r.client_id.as_ref() == Some(id));
        if !own || (p.retain && rs.iter().any(|r| r.retain)) {
            continue;
        }
        let mut possible = subs.matching(id, topic).filter(|s| s.possible(rs[0].line, w.line)).peekable();
        if possible.peek().is_none() {
            continue;
        }
        if possible.all(|s| s.no_local && s.shared.is_none()) {
            out.push(Violation {
                invariant: "no-local",
                message: format!(
                    "the broker sent {id:?} its own publication {topic:?} {:?}, although every subscription of its matching it had No Local [MQTT5-3.8.3-3]",
                    p.payload
                ),
                lines: vec![rs[0].line, w.line],
            });
        }
    }
}
