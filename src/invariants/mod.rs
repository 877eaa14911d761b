//! Delivery invariants, checked on every run (simulated, or against a real broker over TCP) from
//! its trace alone: what applications
//! asked to publish, what the broker acknowledged, what each application received, who was
//! subscribed, who connected with which session, and the faults. Each violation names the
//! invariant, the message and the trace lines that show it.
//!
//! Messages are identified by (topic, payload). Where a run publishes the same (topic, payload)
//! twice the invariants that need identity skip that message rather than guess.

mod closes;
mod flags;
mod qos2_flow;
#[cfg(test)]
mod tests;
mod timeline;
mod v5;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::topic;
use crate::trace::TraceEvent;

use timeline::Timeline;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's name, as listed in `INVARIANTS`.
    pub invariant: &'static str,
    pub message: String,
    /// Indices into the trace of the events that show it.
    pub lines: Vec<usize>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invariant `{}` violated: {} (trace lines {:?})", self.invariant, self.message, self.lines)
    }
}

/// The invariants, with the rule each stands for.
pub const INVARIANTS: &[(&str, &str)] = &[
    ("qos2-exactly-once", "a QoS 2 message reaches each application at most once [MQTT-4.3.3-2], or once per matching subscription where they overlap [MQTT-3.3.5-1]"),
    ("no-phantom-messages", "every delivered message was published, or is a will"),
    ("no-unsubscribed-delivery", "a client receives only messages matching one of its subscriptions [MQTT-3.3.2-3]"),
    ("qos-not-upgraded", "a message is never delivered at a higher QoS than it was published with [MQTT-3.8.4-6]"),
    ("delivered-qos", "delivered at min(published QoS, highest granted QoS of the matching subscriptions), further copies for overlapping subscriptions at their own [MQTT-3.3.5-1] [MQTT-3.8.4-6]"),
    ("order-per-publisher", "per publisher, topic and QoS, messages arrive in publish order [MQTT-4.6.0-6]"),
    ("retain-only-for-new-subscriptions", "RETAIN=1 only on messages sent for a new subscription [MQTT-3.3.1-8] [MQTT-3.3.1-9]"),
    ("retain-on-new-subscription", "a retained message sent for a new subscription has RETAIN=1 [MQTT-3.3.1-8]"),
    ("dup-on-redelivery", "a PUBLISH re-sent while its packet id is unacknowledged has DUP=1, from the broker and from the client [MQTT-3.3.1-1]"),
    ("dup-only-on-redelivery", "a first send has DUP=0, whatever the publisher's DUP was [MQTT-3.3.1-3], and so has every QoS 0 message [MQTT-3.3.1-2]"),
    ("no-publish-after-pubrel", "a QoS 2 sender that has sent PUBREL never sends that PUBLISH again, it re-sends the PUBREL [MQTT-4.3.3-1] [MQTT-4.4.0-1]"),
    ("no-unprovoked-close", "the broker closes a connection only after a cause the trace shows (DISCONNECT or the client's own close, a refused CONNECT, a takeover, a PUBLISH it refuses, bytes that are not MQTT, a crash), or for keep alive, and then not before one keep alive without a packet [MQTT-3.1.2-24]"),
    ("session-present", "session present is 1 exactly when a persistent session was stored [MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3]"),
    ("at-least-once", "an acknowledged QoS 1/2 message for a matching persistent subscription is delivered, unless the trace says why not (in durable mode a crash after the acknowledgement is no reason) [MQTT-3.1.2-5] [MQTT-4.5.0-1]"),
    ("no-expired-delivery", "a message whose Message Expiry Interval had passed (counted from when the broker read it, one second of tolerance) before the broker started its onward delivery to a subscriber is not sent to it [MQTT5-3.3.2-5]; a delivery already started may be re-sent later [MQTT5-4.3.3-7]"),
    ("expiry-reduced", "a PUBLISH to a 5.0 client carries the Message Expiry Interval received less the time the message waited in the broker, within one second [MQTT5-3.3.2-6]"),
    ("receive-maximum", "no more QoS 1/2 PUBLISH packets unacknowledged (no PUBACK, PUBCOMP or PUBREC of 0x80 or more) on a 5.0 connection than the receiver's Receive Maximum: the broker's toward the client's CONNECT [MQTT5-3.3.4-9], a client's toward the CONNACK [MQTT5-3.3.4-7]"),
    ("session-expiry", "a session ends its Session Expiry Interval (the CONNECT's or CONNACK's, as the client's DISCONNECT last set it; 0 or absent: none) after the broker closed its last connection, within a second [MQTT5-4.1.0-2]: a CONNECT with Clean Start 0 after that gets session present 0 [MQTT5-3.2.2-3]"),
    ("new-session-empty", "after a CONNACK with session present 0 on a 5.0 connection (or for an expired session) the session has no old subscriptions or queued messages: what the broker sends it that an old subscription matches needs a new one, and unless a retained copy was routed after that [MQTT5-3.1.2-4] [MQTT5-3.1.2-6]"),
    ("shared-once", "a message matching a shared subscription (one `$share/{name}/{filter}`: the same name with another filter is another) goes to one session of it per publication; a re-send to the same session is the same delivery, and another member may get it only where a QoS 1 copy's connection was lost unacknowledged, never after a QoS 2 copy [MQTT5-4.8.2-4] [MQTT5-4.8.2-5] or a reason code of 0x80 or more [MQTT5-4.8.2-6]"),
    ("no-local", "a client's own publication is not sent to it when every subscription of its that matches has No Local [MQTT5-3.8.3-3]; a shared or ordinary one without it may deliver it"),
    ("subscription-ids", "a PUBLISH to a 5.0 client carries the Subscription Identifiers of the subscriptions it is sent for and no others: a single copy all of the matching ones, separate copies each their own [MQTT5-3.3.4-3] [MQTT5-3.3.4-4] [MQTT5-3.3.4-5]"),
];

/// The invariants that need the broker's own events (sessions connected and discarded, drops):
/// they hold vacuously, or cannot be judged, on a trace of a real broker's clients alone.
pub const BROKER_SIDE: &[&str] = &["session-present", "at-least-once"];

/// The rule an invariant stands for, by name.
pub fn rule(invariant: &str) -> Option<&'static str> {
    INVARIANTS.iter().find(|(name, _)| *name == invariant).map(|(_, rule)| *rule)
}

/// Checks every invariant against a trace.
pub fn check(events: &[TraceEvent]) -> Vec<Violation> {
    let t = Timeline::build(events);
    let mut out = Vec::new();
    qos2_exactly_once(&t, &mut out);
    phantoms_qos_and_subscriptions(&t, &mut out);
    delivered_qos(&t, &mut out);
    order_per_publisher(&t, &mut out);
    retain_flag(&t, &mut out);
    flags::retain_on_new_subscription(events, &t, &mut out);
    flags::dup_on_redelivery(events, &mut out);
    qos2_flow::no_publish_after_pubrel(events, &mut out);
    closes::no_unprovoked_close(events, &mut out);
    session_present(&t, &mut out);
    at_least_once(&t, &mut out);
    v5::check(events, &mut out);
    out
}

/// How many copies of the message published as `p` `client` may be sent at `qos` by the
/// delivery at `line`: where subscriptions overlap, one per matching subscription that gives
/// that QoS (the further copies [MQTT-3.3.5-1] allows), else one (also where its subscriptions
/// are not known). The subscriptions are those that may have routed it: in force at its
/// publication, granted before the delivery (a QoS 2 message is routed at PUBREL), and asked for
/// with the SUBACK lost, which may give any QoS.
fn copies_allowed(t: &Timeline, client: &str, p: &timeline::Pub, qos: u8, line: usize) -> usize {
    let Some(conn) = t.connect_before(client, p.line) else { return 1 };
    let mut keys = t.subscriptions.get(&conn.client_id).map(|s| s.matching_between(&p.topic, p.line, line));
    let keys = keys.get_or_insert_with(Default::default);
    for key in t.unanswered_keys_before(&conn.client_id, &p.topic, line) {
        keys.entry(key).or_default().push(qos);
    }
    if keys.len() < 2 {
        return 1;
    }
    keys.values().filter(|qs| qs.iter().any(|g| (*g).min(p.qos) == qos)).count().max(1)
}

fn qos2_exactly_once(t: &Timeline, out: &mut Vec<Violation>) {
    for (client, deliveries) in &t.deliveries {
        // A crashed client process forgets what it was handed; count per incarnation. Where
        // subscriptions overlap, one copy per matching subscription at QoS 2 is allowed.
        let mut seen: BTreeMap<(usize, usize, &str, &str), Vec<usize>> = BTreeMap::new();
        // A retained copy sent for a new or repeated subscription (RETAIN=1) is a new send of
        // the retained message [MQTT-3.8.4-3], not a duplicate of the live delivery.
        for d in deliveries.iter().filter(|d| d.qos == 2 && !d.retain) {
            let key = (d.topic.as_str(), d.payload.as_str());
            if t.publish_count(key) != 1 {
                continue;
            }
            // A broker restored from an autosave may have rolled back past a completed QoS 2
            // delivery (what came after the last save is lost, its completion too) and send it
            // again: count per restore then. In durable mode a restore holds every completion.
            let epoch = if t.durable {
                0
            } else {
                let id = t.connect_before(client, d.line).map(|c| c.client_id.as_str());
                t.restores.iter().filter(|(l, c)| *l < d.line && Some(c.as_str()) == id).count()
            };
            let lines = seen.entry((d.incarnation, epoch, key.0, key.1)).or_default();
            lines.push(d.line);
            let allowed = t.unique_publish(key).map_or(1, |p| copies_allowed(t, client, p, 2, d.line));
            if lines.len() == allowed + 1 {
                out.push(Violation {
                    invariant: "qos2-exactly-once",
                    message: format!(
                        "{client} received {:?} {:?} at QoS 2 {} times [MQTT-4.3.3-2]",
                        d.topic,
                        d.payload,
                        lines.len()
                    ),
                    lines: lines.clone(),
                });
            }
        }
    }
}

fn phantoms_qos_and_subscriptions(t: &Timeline, out: &mut Vec<Violation>) {
    for (client, deliveries) in &t.deliveries {
        for d in deliveries {
            let key = (d.topic.as_str(), d.payload.as_str());
            let published = t.max_published_qos(key);
            let is_will = t.wills.contains(&(d.topic.clone(), d.payload.clone()));
            match published {
                None if !is_will => out.push(Violation {
                    invariant: "no-phantom-messages",
                    message: format!("{client} received {:?} {:?}, which nobody published", d.topic, d.payload),
                    lines: vec![d.line],
                }),
                Some(q) if d.qos > q && !is_will => out.push(Violation {
                    invariant: "qos-not-upgraded",
                    message: format!(
                        "{client} received {:?} {:?} at QoS {}, published at QoS {q}",
                        d.topic, d.payload, d.qos
                    ),
                    lines: vec![d.line],
                }),
                _ => {}
            }
            if !t.ever_subscribed(client, &d.topic, d.line) {
                out.push(Violation {
                    invariant: "no-unsubscribed-delivery",
                    message: format!("{client} received {:?} without any subscription matching it", d.topic),
                    lines: vec![d.line],
                });
            }
        }
    }
}

fn delivered_qos(t: &Timeline, out: &mut Vec<Violation>) {
    for (client, deliveries) in &t.deliveries {
        // Messages sent for a new subscription (RETAIN=1) take that subscription's QoS instead.
        for d in deliveries.iter().filter(|d| !d.retain) {
            let Some(p) = t.unique_publish((d.topic.as_str(), d.payload.as_str())) else { continue };
            let Some(conn) = t.connect_before(client, d.line) else { continue };
            let Some(subs) = t.subscriptions.get(&conn.client_id) else { continue };
            // Only where the subscriptions stood still from publication to delivery (a QoS 2
            // message is routed at PUBREL, after a SUBSCRIBE asked for in between, say), and
            // are known: a SUBSCRIBE whose SUBACK was lost may have changed the granted QoS. A
            // broker crash or discarded session in between does not hide a delivery that was
            // on its way, routed before it: only one the publisher sent again after it.
            if subs.changed_between(p.line, d.line)
                || (subs.reset_between(p.line, d.line) && t.resent_after(&p.client, &p.topic, p.line))
                || t.subscribe_requested_between(&conn.client_id, p.line, d.line)
                || t.unanswered_subscribe_before(&conn.client_id, &d.topic, d.line)
            {
                continue;
            }
            let Some(granted) = subs.granted_at(&d.topic, p.line) else { continue };
            let expected = p.qos.min(granted);
            // Where subscriptions overlap, a further copy may come at another matching
            // subscription's QoS, besides the one at the highest [MQTT-3.3.5-1].
            let each = subs.granted_each_at(&d.topic, p.line);
            let further_copy = each.len() > 1
                && each.iter().any(|g| (*g).min(p.qos) == d.qos)
                && deliveries
                    .iter()
                    .any(|o| !o.retain && o.topic == d.topic && o.payload == d.payload && o.qos == expected);
            // A shared subscription's copy goes to one member of its group, maybe another: this
            // copy may be the ordinary subscription's alone, or the group's (section 4.8.2).
            let shared_copy = subs.shared_match_at(&d.topic, p.line) && each.iter().any(|g| (*g).min(p.qos) == d.qos);
            if d.qos != expected && !further_copy && !shared_copy {
                out.push(Violation {
                    invariant: "delivered-qos",
                    message: format!(
                        "{client} received {:?} {:?} at QoS {}, expected {expected} (published at {}, granted up to {granted}) [{}]",
                        d.topic,
                        d.payload,
                        d.qos,
                        p.qos,
                        if each.len() > 1 { "MQTT-3.3.5-1" } else { "MQTT-3.8.4-6" }
                    ),
                    lines: vec![p.line, d.line],
                });
            }
        }
    }
}

fn order_per_publisher(t: &Timeline, out: &mut Vec<Violation>) {
    for (client, deliveries) in &t.deliveries {
        // Publish order of each message, by (publisher, topic, published QoS, delivered QoS),
        // for messages published once: the order holds among PUBLISH packets of the same topic
        // and QoS (section 4.6), and where overlapping subscriptions (an ordinary and a shared
        // one, say) send copies at two QoS, each copy keeps its own subscription's order.
        let mut last: BTreeMap<(&str, &str, u8, u8), (usize, usize)> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        // A retained copy (RETAIN=1) is sent because of a subscription, when it is made
        // [MQTT-3.3.1-6], not forwarded in publication order: it is not ordered against the
        // publisher's live messages.
        for d in deliveries.iter().filter(|d| !d.retain) {
            let key = (d.topic.as_str(), d.payload.as_str());
            if !seen.insert((key, d.qos)) {
                continue; // a re-delivery (QoS 1 DUP): only first arrivals are ordered
            }
            let Some(p) = t.unique_publish(key) else { continue };
            let stream = (p.client.as_str(), p.topic.as_str(), p.qos, d.qos);
            if let Some(&(prev_seq, prev_line)) = last.get(&stream) {
                // Re-sent by its publisher after the later message was published, it was
                // published again after that one: this copy may be the second publication's,
                // where the first went to another client that took the session over.
                let republished = t.republished_between(p, t.publishes[prev_seq].line, d.line)
                    && t.delivered_to_session_elsewhere(client, key, d.line);
                if p.seq < prev_seq && !republished {
                    out.push(Violation {
                        invariant: "order-per-publisher",
                        message: format!(
                            "{client} received {:?} {:?} from {} after a message that was published later",
                            d.topic, d.payload, p.client
                        ),
                        lines: vec![prev_line, d.line],
                    });
                }
            }
            last.insert(stream, (p.seq, d.line));
        }
    }
}

fn retain_flag(t: &Timeline, out: &mut Vec<Violation>) {
    for (client, deliveries) in &t.deliveries {
        for d in deliveries.iter().filter(|d| d.retain) {
            // RETAIN=1 is only for a retained message sent because of a subscription: it must
            // have been published with RETAIN, and a matching subscription asked for, before it
            // arrived. (Which of the two the broker processed first the trace does not say, so a
            // live delivery wrongly flagged RETAIN=1 after a retained publish is not caught.)
            let key = (d.topic.as_str(), d.payload.as_str());
            let retained_before =
                t.last_subscribe_before(client, &d.topic, d.line).is_some() && t.retained_publish_before(key, d.line);
            if !retained_before {
                out.push(Violation {
                    invariant: "retain-only-for-new-subscriptions",
                    message: format!(
                        "{client} received {:?} {:?} with RETAIN=1, but not because of a new subscription",
                        d.topic, d.payload
                    ),
                    lines: vec![d.line],
                });
            }
        }
    }
}

fn session_present(t: &Timeline, out: &mut Vec<Violation>) {
    // Replayed from the broker's side: a CONNECT the client never saw answered (its CONNACK
    // lost) still created the session. A persistent session is stored after a clean-0 connect,
    // until a clean-1 connect, a discard or a broker crash (and again once the broker restores it
    // from its persistence file). A 5.0 session outlives its connection
    // by its Session Expiry Interval, whatever Clean Start said [MQTT5-3.1.2-23], so after a 5.0
    // connect it is stored until the broker discards it (`session-expiry` judges when).
    let mut stored: BTreeMap<&str, bool> = BTreeMap::new();
    let mut events: Vec<(usize, Option<&timeline::BrokerConnect>)> =
        t.broker_connects.iter().map(|c| (c.0, Some(c))).collect();
    events.extend(t.broker_crashes.iter().map(|&l| (l, None)));
    events.extend(t.discards.iter().map(|(l, _)| (*l, None)));
    events.extend(t.restores.iter().map(|(l, _)| (*l, None)));
    events.sort_by_key(|(l, _)| *l);
    for (line, connect) in events {
        let Some((_, id, clean, present, v5)) = connect else {
            if t.broker_crashes.contains(&line) {
                stored.clear();
            } else if let Some((_, id)) = t.restores.iter().find(|(l, _)| *l == line) {
                // Restored from the persistence file after a crash.
                stored.insert(id.as_str(), true);
            } else if let Some((_, id)) = t.discards.iter().find(|(l, _)| *l == line) {
                stored.insert(id.as_str(), false);
            }
            continue;
        };
        let expected = !clean && stored.get(id.as_str()).copied().unwrap_or(false);
        if *present != expected {
            out.push(Violation {
                invariant: "session-present",
                message: format!(
                    "{id:?} connected with clean session {} and got session present {}, expected {}",
                    *clean as u8, *present as u8, expected as u8
                ),
                lines: vec![line],
            });
        }
        stored.insert(id.as_str(), !clean || *v5);
    }
}

fn at_least_once(t: &Timeline, out: &mut Vec<Violation>) {
    let clients: BTreeSet<&str> = t.connects.iter().map(|c| c.client.as_str()).collect();
    for p in t.publishes.iter().filter(|p| p.qos > 0) {
        let Some(acked) = p.acked_line else { continue };
        let key = (p.topic.as_str(), p.payload.as_str());
        if t.publish_count(key) != 1 {
            continue;
        }
        for &client in &clients {
            // Owed only to a subscription whose SUBACK arrived before the application even asked
            // to publish: then the broker certainly had it when it routed the message.
            let Some(conn) = t.connect_before(client, p.line) else { continue };
            if conn.clean {
                continue;
            }
            // A shared subscription's message is owed to its group, not to this member.
            // Nor is a client's own message owed to it on a No Local subscription [MQTT5-3.8.3-3].
            let own = t.connect_before(&p.client, p.line).is_some_and(|c| c.client_id == conn.client_id);
            let owed = |f: &str| !(own && t.no_local.contains(&(conn.client_id.clone(), f.to_owned())));
            let granted =
                t.subscriptions.get(&conn.client_id).and_then(|s| s.granted_unshared_where(&p.topic, p.line, owed));
            if granted.is_none_or(|q| q == 0) {
                continue;
            }
            // Whoever holds the session at the end receives it: any client using the same id.
            let holders = t.clients_with_id(&conn.client_id);
            let excused =
                t.excused(&conn.client_id, &p.topic, p.line, acked) || !holders.iter().any(|c| t.connected_at_end(c));
            let delivered = holders.iter().any(|c| {
                t.deliveries.get(*c).is_some_and(|ds| ds.iter().any(|d| (d.topic.as_str(), d.payload.as_str()) == key))
            });
            if !excused && !delivered {
                out.push(Violation {
                    invariant: "at-least-once",
                    message: format!(
                        "{client} (persistent session {:?}) never received {:?} {:?}, acknowledged to {} at QoS {}",
                        conn.client_id, p.topic, p.payload, p.client, p.qos
                    ),
                    lines: vec![acked],
                });
            }
        }
    }
}

/// Whether `filter` matches `name`; shared by the timeline.
fn matches(filter: &str, name: &str) -> bool {
    topic::matches(filter, name)
}
