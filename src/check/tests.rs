//! Each invariant fails on a hand-built trace that breaks it, and holds on one that does not.

use super::*;
use crate::sim::TraceEvent as E;

fn connected(client: &str, clean: bool, sp: bool) -> E {
    E::Connected { ms: 0, client: client.into(), client_id: client.into(), clean, session_present: sp, will: None }
}
fn accepted(client_id: &str, clean: bool, sp: bool) -> E {
    E::SessionConnected { ms: 0, client_id: client_id.into(), clean, session_present: sp }
}
fn subscribed(client: &str, filter: &str, q: u8) -> E {
    E::Subscribed { ms: 0, client: client.into(), granted: vec![(filter.into(), q)] }
}
fn subscribe(client: &str, filter: &str) -> E {
    E::Subscribe { ms: 0, client: client.into(), filters: vec![filter.into()] }
}
fn publish(client: &str, topic: &str, payload: &str, qos: u8, retain: bool) -> Vec<E> {
    vec![
        E::Publish { ms: 0, client: client.into(), topic: topic.into(), payload: payload.into(), qos, retain },
        E::Published { ms: 0, client: client.into(), topic: topic.into(), payload: payload.into(), qos },
    ]
}
fn deliver(client: &str, topic: &str, payload: &str, qos: u8, retain: bool) -> E {
    E::Deliver { ms: 0, client: client.into(), topic: topic.into(), payload: payload.into(), qos, retain, dup: false }
}

fn names(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(|v| v.invariant).collect()
}

fn base() -> Vec<E> {
    vec![connected("s", false, false), subscribed("s", "t/#", 2), connected("p", true, false)]
}

#[test]
fn a_correct_trace_has_no_violation() {
    let mut t = base();
    t.extend(publish("p", "t/a", "1", 2, false));
    t.extend(publish("p", "t/a", "2", 1, false));
    t.push(deliver("s", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "2", 1, false));
    assert_eq!(check(&t), vec![]);
}

#[test]
fn qos2_twice() {
    let mut t = base();
    t.extend(publish("p", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 2, false));
    assert_eq!(names(&check(&t)), vec!["qos2-exactly-once"]);
}

#[test]
fn phantom_and_upgrade_and_unsubscribed() {
    let mut t = base();
    t.push(deliver("s", "t/a", "never published", 0, false));
    assert_eq!(names(&check(&t)), vec!["no-phantom-messages"]);
    let mut t = base();
    t.extend(publish("p", "t/a", "1", 0, false));
    t.push(deliver("s", "t/a", "1", 1, false));
    // An upgrade is also not the QoS the subscription asks for.
    assert_eq!(names(&check(&t)), vec!["qos-not-upgraded", "delivered-qos"]);
    let mut t = base();
    t.extend(publish("p", "x/a", "1", 0, false));
    t.push(deliver("s", "x/a", "1", 0, false));
    assert_eq!(names(&check(&t)), vec!["no-unsubscribed-delivery"]);
}

#[test]
fn out_of_order() {
    let mut t = base();
    t.extend(publish("p", "t/a", "1", 1, false));
    t.extend(publish("p", "t/a", "2", 1, false));
    t.push(deliver("s", "t/a", "2", 1, false));
    t.push(deliver("s", "t/a", "1", 1, false));
    assert_eq!(names(&check(&t)), vec!["order-per-publisher"]);
}

#[test]
fn retain_on_a_live_delivery() {
    // RETAIN=1 on a message that was never published retained.
    let mut t = base();
    t.extend(publish("p", "t/a", "1", 1, false));
    t.push(deliver("s", "t/a", "1", 1, true));
    assert_eq!(names(&check(&t)), vec!["retain-only-for-new-subscriptions"]);
    // Retained before the subscription: RETAIN=1 is right.
    let mut t = vec![connected("p", true, false)];
    t.extend(publish("p", "t/a", "1", 1, true));
    t.extend([
        connected("s", true, false),
        subscribe("s", "t/#"),
        deliver("s", "t/a", "1", 1, true),
        subscribed("s", "t/#", 1),
    ]);
    assert_eq!(check(&t), vec![]);
}

#[test]
fn session_present_wrong() {
    let t = vec![accepted("s", false, true)];
    assert_eq!(names(&check(&t)), vec!["session-present"]);
    let t = vec![accepted("s", false, false), accepted("s", false, false)];
    assert_eq!(names(&check(&t)), vec!["session-present"]);
    let t = vec![accepted("s", false, false), accepted("s", true, true)];
    assert_eq!(names(&check(&t)), vec!["session-present"]);
    let crash = E::Fault { ms: 0, fault: "broker crashes (state in memory is lost)".into() };
    let t = vec![accepted("s", false, false), crash, accepted("s", false, false)];
    assert_eq!(check(&t), vec![]);
    let discard = E::SessionDiscarded { ms: 0, client_id: "s".into() };
    let t = vec![accepted("s", false, false), discard, accepted("s", false, false)];
    assert_eq!(check(&t), vec![]);
}

#[test]
fn acknowledged_message_never_delivered() {
    let mut t = base();
    t.extend(publish("p", "t/a", "1", 1, false));
    assert_eq!(names(&check(&t)), vec!["at-least-once"]);
    // Excused by a drop recorded for the subscriber's session.
    let mut t = base();
    t.push(E::Publish { ms: 0, client: "p".into(), topic: "t/a".into(), payload: "1".into(), qos: 1, retain: false });
    t.push(E::Drop { ms: 0, client_id: "s".into(), topic: "t/a".into(), qos: 1, reason: "queue_full".into() });
    t.push(E::Published { ms: 0, client: "p".into(), topic: "t/a".into(), payload: "1".into(), qos: 1 });
    assert_eq!(check(&t), vec![]);
    // Not owed to a clean session, nor at QoS 0.
    let mut t = vec![connected("s", true, false), subscribed("s", "t/#", 1), connected("p", true, false)];
    t.extend(publish("p", "t/a", "1", 1, false));
    assert_eq!(check(&t), vec![]);
}

#[test]
fn delivered_below_the_highest_granted_qos() {
    // [MQTT-3.3.5-1]: overlapping subscriptions at QoS 0 and 2 get a QoS 2 message at QoS 2.
    let mut t = vec![connected("s", false, false), subscribed("s", "t/a", 0), subscribed("s", "t/#", 2)];
    t.push(connected("p", true, false));
    t.extend(publish("p", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 0, false));
    assert_eq!(names(&check(&t)), vec!["delivered-qos"]);
}
