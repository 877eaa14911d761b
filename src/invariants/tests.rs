//! Each invariant fails on a hand-built trace that breaks it, and holds on one that does not.

use super::*;
use crate::protocol::PacketSummary as P;
use crate::trace::{BrokerEvent, Fault, TraceEvent as E};

fn connected(client: &str, clean: bool, sp: bool) -> E {
    E::Connected { ms: 0, client: client.into(), client_id: client.into(), clean, session_present: sp, will: None }
}
fn accepted(client_id: &str, clean: bool, sp: bool) -> E {
    E::Broker {
        ms: 0,
        event: BrokerEvent::SessionConnected { client_id: client_id.into(), clean, session_present: sp },
    }
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

/// `client` sends a 5.0 CONNECT (with Clean Start 0): its `$share/...` filters are shared.
fn v5(client: &str) -> E {
    E::Send {
        ms: 0,
        host: client.into(),
        peer: crate::trace::BROKER.into(),
        packet: P::Connect {
            client_id: client.into(),
            clean_session: false,
            keep_alive: 0,
            will: None,
            username: None,
            v5: true,
            props: None,
        },
    }
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
fn a_message_its_publisher_re_sent_may_come_after_a_later_one() {
    // Found by exploration (mixed case 962): "1" and "2" published at QoS 1, then both re-sent
    // with DUP=1 after a lost connection; the broker routes each re-send as a new publication.
    // Client `s` gets the first "1" and loses the session to `s2` (same client id), which gets
    // "2" (first copy) then "1" (the second publication's).
    let send = |payload: &str, dup: bool| {
        let pkid = payload.parse().ok();
        wire("p", "broker", P::publish_for_test(pkid, 1, dup, false, "t/a", payload))
    };
    let taken_over = |resent: &[&str]| {
        let mut t = base();
        t.extend(publish("p", "t/a", "1", 1, false));
        t.extend(publish("p", "t/a", "2", 1, false));
        t.extend(send("1", false));
        t.extend(send("2", false));
        for m in resent {
            t.extend(send(m, true));
        }
        t.push(deliver("s", "t/a", "1", 1, false));
        let s2 = E::Connected {
            ms: 0,
            client: "s2".into(),
            client_id: "s".into(),
            clean: false,
            session_present: true,
            will: None,
        };
        t.push(s2);
        t.push(deliver("s2", "t/a", "2", 1, false));
        t.push(deliver("s2", "t/a", "1", 1, false));
        names(&check(&t))
    };
    assert_eq!(taken_over(&["1", "2"]), Vec::<&str>::new());
    assert_eq!(taken_over(&["2"]), vec!["order-per-publisher"], "without the re-send of 1, the order is wrong");
}

#[test]
fn copies_at_two_qos_keep_each_their_own_order() {
    // Found by exploration (mixed case 600): `s` has t/a at QoS 0 and a shared subscription at
    // QoS 1 whose copy of "1" went to another member; "2" comes through both, the QoS 1 copy
    // (re-sent after a reconnect) first. The QoS 0 copies are in order.
    let mut t = vec![v5("s"), connected("s", false, false), subscribed("s", "t/a", 0)];
    t.push(subscribed("s", "$share/g/t/a", 1));
    t.push(connected("p", true, false));
    t.extend(publish("p", "t/a", "1", 1, false));
    t.extend(publish("p", "t/a", "2", 1, false));
    t.push(deliver("s", "t/a", "2", 1, false));
    t.push(deliver("s", "t/a", "1", 0, false));
    t.push(deliver("s", "t/a", "2", 0, false));
    assert_eq!(check(&t), vec![]);
    // At one QoS, out of order is caught.
    let n = t.len();
    t.swap(n - 1, n - 2);
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
    let crash = E::Fault { ms: 0, fault: Fault::CrashBroker };
    let t = vec![accepted("s", false, false), crash, accepted("s", false, false)];
    assert_eq!(check(&t), vec![]);
    let discard = E::Broker { ms: 0, event: BrokerEvent::SessionDiscarded { client_id: "s".into() } };
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
    t.push(E::Broker {
        ms: 0,
        event: BrokerEvent::Dropped {
            client_id: "s".into(),
            topic: "t/a".into(),
            qos: 1,
            reason: crate::broker::DropReason::QueueFull,
        },
    });
    t.push(E::Published { ms: 0, client: "p".into(), topic: "t/a".into(), payload: "1".into(), qos: 1 });
    assert_eq!(check(&t), vec![]);
    // Not owed to a clean session, nor at QoS 0.
    let mut t = vec![connected("s", true, false), subscribed("s", "t/#", 1), connected("p", true, false)];
    t.extend(publish("p", "t/a", "1", 1, false));
    assert_eq!(check(&t), vec![]);
}

#[test]
fn a_shared_subscriptions_message_is_owed_to_one_member_not_each() {
    let mut t = vec![
        v5("a"),
        connected("a", false, false),
        subscribed("a", "$share/g/t/#", 1),
        v5("b"),
        connected("b", false, false),
        subscribed("b", "$share/g/t/#", 1),
        connected("p", true, false),
    ];
    t.extend(publish("p", "t/a", "1", 1, false));
    t.push(deliver("b", "t/a", "1", 1, false));
    assert_eq!(check(&t), vec![], "section 4.8.2: one member of the group gets it");
    // An ordinary subscription of the same member is still owed its copy.
    t.insert(3, subscribed("a", "t/#", 1));
    assert_eq!(names(&check(&t)), vec!["at-least-once"]);
    // At QoS 0 there, its copy comes at QoS 0: the group's QoS 1 copy went to b.
    t[3] = subscribed("a", "t/#", 0);
    t.push(deliver("a", "t/a", "1", 0, false));
    assert_eq!(check(&t), vec![], "section 4.8.2: the QoS 1 is the group's, not a's to get");
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

#[test]
fn a_delivery_routed_before_a_broker_crash_is_judged_when_it_arrives_after_it() {
    // Granted QoS 1, published at QoS 2, delivered at QoS 2 after the crash: it was routed before
    // the crash, with the subscription it had then [MQTT-3.8.4-6].
    let crash = E::Fault { ms: 0, fault: crate::trace::Fault::CrashBroker };
    let mut t = vec![connected("s", false, false), subscribed("s", "t", 1), connected("p", true, false)];
    t.extend(publish("p", "t", "1", 2, false));
    t.push(crash.clone());
    t.push(deliver("s", "t", "1", 2, false));
    assert_eq!(names(&check(&t)), vec!["delivered-qos"]);
    // Unless the publisher sent it again after the crash: then it was routed anew.
    let mut t = vec![connected("s", false, false), subscribed("s", "t", 1), connected("p", true, false)];
    t.extend(publish("p", "t", "1", 2, false));
    t.push(crash);
    t.extend(wire("p", "broker", P::publish_for_test(Some(1), 2, true, false, "t", "1")));
    t.push(deliver("s", "t", "1", 2, false));
    assert!(!names(&check(&t)).contains(&"delivered-qos"));
}

#[test]
fn further_copies_for_overlapping_subscriptions_are_allowed() {
    // [MQTT-3.3.5-1]: a copy at the highest QoS, and one more per other matching subscription.
    let mut t = vec![connected("s", false, false), subscribed("s", "t/a", 0), subscribed("s", "t/#", 2)];
    t.push(connected("p", true, false));
    t.extend(publish("p", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 0, false));
    t.push(deliver("s", "t/a", "1", 2, false));
    assert_eq!(names(&check(&t)), Vec::<&str>::new());
    t.push(deliver("s", "t/a", "1", 2, false));
    assert_eq!(names(&check(&t)), vec!["qos2-exactly-once"], "one copy per subscription, no more");
}

#[test]
fn two_qos2_subscriptions_may_each_get_a_qos2_copy() {
    let mut t = vec![connected("s", false, false), subscribed("s", "t/+", 2), subscribed("s", "t/#", 2)];
    t.push(connected("p", true, false));
    t.extend(publish("p", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 2, false));
    assert_eq!(names(&check(&t)), Vec::<&str>::new());
    t.push(deliver("s", "t/a", "1", 2, false));
    assert_eq!(names(&check(&t)), vec!["qos2-exactly-once"]);
}

fn wire(from: &str, to: &str, packet: P) -> Vec<E> {
    vec![
        E::Send { ms: 0, host: from.into(), peer: to.into(), packet: packet.clone() },
        E::Recv { ms: 0, host: to.into(), peer: from.into(), packet },
    ]
}

/// `s` connects with clean session 0 to the broker and is sent PUBLISH id=1, which it does not
/// acknowledge; then it reconnects and the broker resumes the session.
fn unacknowledged_then_resumed(resend: P) -> Vec<E> {
    let mut t = wire("s", "broker", P::connect_for_test("s", false));
    t.push(accepted("s", false, false));
    t.push(connected("s", false, false));
    t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, false, false, "t/a", "1")));
    t.extend(wire("s", "broker", P::connect_for_test("s", false)));
    t.push(accepted("s", false, true));
    t.push(connected("s", false, true));
    t.extend(wire("broker", "s", resend));
    t
}

#[test]
fn a_redelivery_without_dup() {
    let t = unacknowledged_then_resumed(P::publish_for_test(Some(1), 1, true, false, "t/a", "1"));
    assert_eq!(check(&t), vec![]);
    let t = unacknowledged_then_resumed(P::publish_for_test(Some(1), 1, false, false, "t/a", "1"));
    assert_eq!(names(&check(&t)), vec!["dup-on-redelivery"]);
    // Once acknowledged, the id is free: a new message with it is a first send, DUP=0.
    let mut t = unacknowledged_then_resumed(P::publish_for_test(Some(1), 1, true, false, "t/a", "1"));
    t.extend(wire("s", "broker", P::Puback { pkid: 1, reason: 0 }));
    t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, false, false, "t/a", "2")));
    assert_eq!(check(&t), vec![]);
    // A new session (session present 0) owes nothing: DUP=0 is right.
    let mut t = wire("s", "broker", P::connect_for_test("s", false));
    t.extend(wire("broker", "s", P::Connack { session_present: false, return_code: 0, props: None }));
    t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, false, false, "t/a", "1")));
    t.extend(wire("s", "broker", P::connect_for_test("s", true)));
    t.extend(wire("broker", "s", P::Connack { session_present: false, return_code: 0, props: None }));
    t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, false, false, "t/a", "2")));
    assert_eq!(check(&t), vec![]);
}

#[test]
fn a_qos2_publish_after_its_pubrel_is_caught_and_the_pubrel_resent_is_not() {
    // [MQTT-4.3.3-1]: the broker had PUBREC for id 1 and sent PUBREL; after the reconnect it
    // must re-send the PUBREL, never the PUBLISH.
    let flow = |resend: P| {
        let mut t = wire("s", "broker", P::connect_for_test("s", false));
        t.push(accepted("s", false, false));
        t.extend(wire("broker", "s", P::publish_for_test(Some(1), 2, false, false, "t/a", "1")));
        t.extend(wire("s", "broker", P::Pubrec { pkid: 1, reason: 0 }));
        t.extend(wire("broker", "s", P::Pubrel { pkid: 1, reason: 0 }));
        t.extend(wire("s", "broker", P::connect_for_test("s", false)));
        t.push(accepted("s", false, true));
        t.extend(wire("broker", "s", resend));
        t
    };
    assert_eq!(names(&check(&flow(P::Pubrel { pkid: 1, reason: 0 }))), Vec::<&str>::new());
    let again = flow(P::publish_for_test(Some(1), 2, true, false, "t/a", "1"));
    assert_eq!(names(&check(&again)), vec!["no-publish-after-pubrel"]);
    // After PUBCOMP the id is free: the same id for a new message is a first send.
    let mut t = flow(P::Pubrel { pkid: 1, reason: 0 });
    t.extend(wire("s", "broker", P::Pubcomp { pkid: 1, reason: 0 }));
    t.extend(wire("broker", "s", P::publish_for_test(Some(1), 2, false, false, "t/a", "2")));
    assert_eq!(names(&check(&t)), Vec::<&str>::new());
}

#[test]
fn a_redelivery_without_dup_seen_from_the_clients_of_a_real_broker() {
    // `mqtt-sim check` taps only the clients' ends: the broker's packets are what they read.
    let client_side = |t: Vec<E>| -> Vec<E> {
        t.into_iter()
            .filter(|e| !matches!(e, E::Send { host, .. } | E::Recv { host, .. } if host == "broker"))
            .collect()
    };
    let t = client_side(unacknowledged_then_resumed(P::publish_for_test(Some(1), 1, false, false, "t/a", "1")));
    assert_eq!(names(&check(&t)), vec!["dup-on-redelivery"]);
    let t = client_side(unacknowledged_then_resumed(P::publish_for_test(Some(1), 1, true, false, "t/a", "1")));
    assert_eq!(check(&t), vec![]);
}

#[test]
fn dup_on_a_first_send() {
    // The broker forwards the publisher's DUP=1: its first send to `s` has DUP=1 [MQTT-3.3.1-3].
    let mut t = wire("s", "broker", P::connect_for_test("s", false));
    t.extend(wire("p", "broker", P::publish_for_test(Some(7), 1, true, false, "t/a", "1")));
    t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, true, false, "t/a", "1")));
    assert_eq!(names(&check(&t)), vec!["dup-only-on-redelivery", "dup-only-on-redelivery"], "{:#?}", check(&t));
    // QoS 0 never has DUP=1 [MQTT-3.3.1-2].
    let mut t = wire("s", "broker", P::connect_for_test("s", true));
    t.extend(wire("broker", "s", P::publish_for_test(None, 0, true, false, "t/a", "1")));
    assert_eq!(names(&check(&t)), vec!["dup-only-on-redelivery"]);
    // A client that never read the first copy sees the re-send first: from its end alone, no verdict.
    let client_side: Vec<E> = unacknowledged_then_resumed(P::publish_for_test(Some(1), 1, true, false, "t/a", "1"))
        .into_iter()
        .filter(|e| !matches!(e, E::Send { host, .. } | E::Recv { host, .. } if host == "broker"))
        .filter(|e| !matches!(e, E::Recv { packet: P::Publish(p), .. } if !p.dup))
        .collect();
    assert_eq!(check(&client_side), vec![]);
}

#[test]
fn a_publish_routed_onto_a_lost_connection_may_first_be_seen_with_dup() {
    // Found by exploration (mixed case 1870, and possible in 3.1.1): the broker reads "1" from
    // `p` while `s`'s connection is already lost, routes it to `s` (taking it as sent) and closes
    // that connection before the bytes are written; the re-send on the next connection is the
    // first the tap sees, with DUP=1.
    let connack = |sp| P::Connack { session_present: sp, return_code: 0, props: None };
    let closed =
        E::Broker { ms: 0, event: BrokerEvent::ClosedConnection { client: "s".into(), after_client_close: false } };
    let resumed = |read_while_open: bool| {
        let mut t = wire("s", "broker", P::connect_for_test("s", false));
        t.extend(wire("broker", "s", connack(false)));
        let read = wire("p", "broker", P::publish_for_test(Some(7), 1, false, false, "t/a", "1"));
        if read_while_open {
            t.extend(read.clone());
        }
        t.push(E::Fault { ms: 0, fault: Fault::LoseConnection { client: "s".into() } });
        t.push(closed.clone());
        if !read_while_open {
            t.extend(read);
        }
        t.extend(wire("s", "broker", P::connect_for_test("s", false)));
        t.extend(wire("broker", "s", connack(true)));
        t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, true, false, "t/a", "1")));
        names(&check(&t))
    };
    assert_eq!(resumed(true), Vec::<&str>::new());
    // Read while the session was offline, it was queued, never sent: DUP=1 is wrong.
    assert_eq!(resumed(false), vec!["dup-only-on-redelivery"]);
}

#[test]
fn a_client_redelivery_without_dup() {
    let mut t = wire("p", "broker", P::connect_for_test("p", false));
    t.extend(wire("p", "broker", P::publish_for_test(Some(4), 2, false, false, "t/a", "1")));
    t.extend(wire("p", "broker", P::publish_for_test(Some(4), 2, false, false, "t/a", "1")));
    assert_eq!(names(&check(&t)), vec!["dup-on-redelivery"]);
    // After PUBREC only PUBREL follows; after a crash of the client it has nothing to re-send.
    let mut t = wire("p", "broker", P::publish_for_test(Some(4), 2, false, false, "t/a", "1"));
    t.push(E::Fault { ms: 0, fault: Fault::CrashClient { client: "p".into() } });
    t.extend(wire("p", "broker", P::publish_for_test(Some(4), 2, false, false, "t/a", "2")));
    t.extend(wire("broker", "p", P::Pubrec { pkid: 4, reason: 0 }));
    t.extend(wire("p", "broker", P::publish_for_test(Some(4), 1, false, false, "t/a", "3")));
    assert_eq!(check(&t), vec![]);
}

#[test]
fn a_retained_copy_for_a_new_subscription_without_retain() {
    let make = |retain_flag: bool| {
        let mut t = vec![connected("p", true, false)];
        t.extend(publish("p", "t/a", "1", 1, true));
        t.push(connected("s", true, false));
        t.push(subscribe("s", "t/#"));
        t.push(subscribed("s", "t/#", 1));
        t.push(deliver("s", "t/a", "1", 1, retain_flag));
        t
    };
    assert_eq!(check(&make(true)), vec![]);
    assert_eq!(names(&check(&make(false))), vec!["retain-on-new-subscription"]);
    // At QoS 0 "complete" only means sent: the broker may take the SUBSCRIBE first.
    let mut t = vec![connected("p", true, false)];
    t.extend(publish("p", "t/a", "0", 0, true));
    t.extend([connected("s", true, false), subscribe("s", "t/#"), subscribed("s", "t/#", 0)]);
    t.push(deliver("s", "t/a", "0", 0, false));
    assert_eq!(check(&t), vec![]);
    // Subscribed before the publication was acknowledged: a live delivery, RETAIN=0 is right.
    let mut t = vec![connected("p", true, false), connected("s", true, false), subscribe("s", "t/#")];
    t.extend(publish("p", "t/a", "1", 1, true));
    t.push(subscribed("s", "t/#", 1));
    t.push(deliver("s", "t/a", "1", 1, false));
    assert_eq!(check(&t), vec![]);
}

#[test]
fn a_retained_copy_is_not_ordered_against_live_messages() {
    // Found by exploration: a retained copy of "2" for a new subscription, then the publisher's
    // QoS 1 re-sends of "1" and "2" forwarded live, in order.
    let mut t = vec![connected("p", false, false)];
    t.extend(publish("p", "t/a", "1", 1, true));
    t.extend(publish("p", "t/a", "2", 1, true));
    t.push(connected("s", false, false));
    t.push(subscribe("s", "t/a"));
    t.push(subscribed("s", "t/a", 1));
    t.push(deliver("s", "t/a", "2", 1, true));
    let before_resends = t.clone();
    // The first sends, unacknowledged, then the re-sends.
    t.extend(wire("p", "broker", P::publish_for_test(Some(1), 1, false, true, "t/a", "1")));
    t.extend(wire("p", "broker", P::publish_for_test(Some(2), 1, false, true, "t/a", "2")));
    t.extend(wire("p", "broker", P::publish_for_test(Some(1), 1, true, true, "t/a", "1")));
    t.extend(wire("p", "broker", P::publish_for_test(Some(2), 1, true, true, "t/a", "2")));
    let mut right = t.clone();
    right.push(deliver("s", "t/a", "1", 1, false));
    right.push(deliver("s", "t/a", "2", 1, false));
    assert_eq!(check(&right), vec![]);
    // Live messages out of order are still caught.
    let mut wrong = t.clone();
    wrong.push(deliver("s", "t/a", "2", 1, false));
    wrong.push(deliver("s", "t/a", "1", 1, false));
    assert_eq!(names(&check(&wrong)), vec!["order-per-publisher"]);
    // Without the publisher's re-sends, a live copy for the new subscriber would be wrong.
    let mut no_resend = before_resends;
    no_resend.push(deliver("s", "t/a", "1", 1, false));
    assert_eq!(names(&check(&no_resend)), vec!["retain-on-new-subscription"]);
}

#[test]
fn a_subscribe_whose_suback_was_lost_may_have_changed_the_delivered_qos() {
    // Found by exploration: "t/#" granted at QoS 1; the client asks again at QoS 0 and loses the
    // connection before the SUBACK; the broker replaced the subscription [MQTT-3.8.4-3].
    let mut t = base();
    t.push(subscribe("s", "t/#"));
    t.extend(publish("p", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 0, false));
    assert_eq!(check(&t), vec![]);
    // Answered, the granted QoS is known again and a wrong QoS is caught.
    let mut t = base();
    t.push(subscribe("s", "t/#"));
    t.push(subscribed("s", "t/#", 1));
    t.extend(publish("p", "t/a", "1", 2, false));
    t.push(deliver("s", "t/a", "1", 0, false));
    assert_eq!(names(&check(&t)), vec!["delivered-qos"]);
}

#[test]
fn a_shared_subscribe_is_not_answered_by_an_ordinary_suback_for_the_same_filter() {
    // Found by exploration (mixed case 1311): a 5.0 client asks for "$share/g/t" at QoS 2 and
    // loses the connection before the SUBACK, then subscribes to "t" at QoS 1. The broker may
    // have made the shared subscription: a QoS 2 copy for the group is then right.
    let mut t = vec![v5("s"), connected("s", false, false), subscribe("s", "$share/g/t"), subscribed("s", "t", 1)];
    t.push(connected("p", true, false));
    t.extend(publish("p", "t", "1", 2, false));
    t.push(deliver("s", "t", "1", 1, false));
    t.push(deliver("s", "t", "1", 2, false));
    assert_eq!(check(&t), vec![]);
    // The ordinary subscribe alone answered: a QoS 2 copy is wrong.
    let mut alone = t.clone();
    alone.remove(2);
    assert_eq!(names(&check(&alone)), vec!["delivered-qos"]);
    // Case 852: granted QoS 2 there, the group's copy and the ordinary one may both come at QoS
    // 2 [MQTT-3.3.5-1], a third may not [MQTT-4.3.3-2].
    t[3] = subscribed("s", "t", 2);
    t.retain(|e| !matches!(e, E::Deliver { .. }));
    t.push(deliver("s", "t", "1", 2, false));
    t.push(deliver("s", "t", "1", 2, false));
    assert_eq!(check(&t), vec![]);
    t.push(deliver("s", "t", "1", 2, false));
    assert_eq!(names(&check(&t)), vec!["qos2-exactly-once"]);
    // As in case 852, the ordinary subscription granted after the publication and before the
    // deliveries (a QoS 2 message is routed at PUBREL) may have routed one of them.
    t.pop();
    let mut late = t.clone();
    let ordinary = late.remove(3);
    late.insert(late.len() - 2, ordinary);
    assert_eq!(check(&late), vec![]);
    t.remove(2);
    assert_eq!(names(&check(&t)), vec!["qos2-exactly-once"], "without the shared subscribe, one copy");
}

#[test]
fn a_5_0_session_is_stored_after_clean_start_1_until_the_broker_discards_it() {
    let read_connect = |v5: bool| E::Recv {
        ms: 0,
        host: crate::trace::BROKER.into(),
        peer: "s".into(),
        packet: P::Connect {
            client_id: "s".into(),
            clean_session: true,
            keep_alive: 0,
            will: None,
            username: None,
            v5,
            props: None,
        },
    };
    let run = |v5: bool, discarded: bool| {
        let mut t = vec![read_connect(v5), accepted("s", true, false)];
        if discarded {
            t.push(E::Broker { ms: 0, event: BrokerEvent::SessionDiscarded { client_id: "s".into() } });
        }
        t.extend([read_connect(v5), accepted("s", false, true)]);
        names(&check(&t))
    };
    assert_eq!(run(true, false), Vec::<&str>::new(), "[MQTT5-3.1.2-23] kept by its Session Expiry Interval");
    assert_eq!(run(true, true), vec!["session-present"], "discarded, so present must be 0");
    assert_eq!(run(false, false), vec!["session-present"], "[MQTT-3.2.2-1] 3.1.1 clean session 1 keeps nothing");
}

#[test]
fn a_clients_own_message_is_not_owed_to_it_on_a_no_local_subscription() {
    let run = |no_local: bool| {
        let options = vec![crate::protocol::FilterOptions { no_local, retain_as_published: false, retain_handling: 0 }];
        let mut t = vec![
            connected("s", false, false),
            E::Send {
                ms: 0,
                host: "s".into(),
                peer: crate::trace::BROKER.into(),
                packet: P::Subscribe { pkid: 1, filters: vec![("t/#".into(), 1)], options, props: None },
            },
            subscribed("s", "t/#", 1),
        ];
        t.extend(publish("s", "t/a", "1", 1, false));
        names(&check(&t))
    };
    assert_eq!(run(true), Vec::<&str>::new(), "[MQTT5-3.8.3-3] not sent back to its publisher");
    assert_eq!(run(false), vec!["at-least-once"]);
}

mod crashes;
