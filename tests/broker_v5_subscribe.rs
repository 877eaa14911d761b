//! MQTT 5.0 conformance of the broker's SUBSCRIBE and UNSUBSCRIBE handling (spec sections 3.8
//! to 3.11) and of shared subscriptions when a member goes away or refuses (section 4.8.2),
//! driven sans-IO with 5.0 clients. Each assertion cites the statement it observes as
//! `[MQTT5-x]`.

mod sans_io_v5;

use mqtt_sim::protocol::{Packet, Property, Publish, ReasonCode, Suback, Unsuback};
use sans_io_v5::*;

fn suback_of(packets: &[Packet]) -> Suback {
    match packets.first() {
        Some(Packet::Suback(s)) => s.clone(),
        other => panic!("SUBACK first: {other:?}"),
    }
}

fn unsuback_of(packets: &[Packet]) -> Unsuback {
    match packets {
        [Packet::Unsuback(u)] => u.clone(),
        other => panic!("one UNSUBACK: {other:?}"),
    }
}

/// A filter of more levels than this broker accepts (`topic::MAX_LEVELS`, as mosquitto).
fn too_deep() -> String {
    vec!["l"; mqtt_sim::topic::MAX_LEVELS + 1].join("/")
}

#[test]
fn subscribe_is_answered_by_one_suback_with_its_id_and_a_code_per_filter_in_order() {
    let mut b = BrokerBench::new();
    let s = b.client("s");
    let deep = too_deep();
    let filters = vec![filter("a", Q2), filter("b/+", Q0), filter(&deep, Q1), filter("c/#", Q1)];
    let actions = b.send(s, subscribe(42, filters));
    let packets = to(&actions, s);
    assert_eq!(packets.len(), 1, "[MQTT5-3.8.4-1] [MQTT5-3.8.4-5] one SUBACK for the whole SUBSCRIBE: {packets:?}");
    let suback = suback_of(&packets);
    assert_eq!(suback.pkid, pid(42), "[MQTT5-3.8.4-2] [MQTT5-2.2.1-6] the SUBSCRIBE's packet id");
    let codes: Vec<u8> = suback.codes.iter().map(|c| c.as_u8()).collect();
    assert_eq!(codes.len(), 4, "[MQTT5-3.8.4-6] a reason code per filter");
    assert_eq!(codes, [0x02, 0x00, 0x80, 0x01], "[MQTT5-3.9.3-1] [MQTT5-3.8.4-7] granted QoS or a failure, in order");
    // Handled as a sequence: the failure stands alone, the others are in force.
    let p = b.client("p");
    for topic in ["a", "b/x", "c/y/z"] {
        assert_eq!(payloads(&b.publish(p, publish(topic, "m", Q0, 0)), s), ["m"], "[MQTT5-3.8.4-5] {topic}");
    }
    let subscriptions = b.broker.inspect().session("s").unwrap().subscriptions.clone();
    assert_eq!(subscriptions.len(), 3, "[MQTT5-3.8.4-5] {subscriptions:?}");
}

#[test]
fn the_delivered_qos_is_the_lower_of_published_and_granted() {
    let mut b = BrokerBench::new();
    let s = b.client("s");
    b.subscribed(s, 1, vec![filter("q0", Q0), filter("q1", Q1), filter("q2", Q2)]);
    let p = b.client("p");
    let mut n = 0;
    for (topic, granted) in [("q0", Q0), ("q1", Q1), ("q2", Q2)] {
        for published in [Q0, Q1, Q2] {
            n += 1;
            let mut got = publishes(&b.publish(p, publish(topic, "m", published, n)), s);
            if published == Q2 {
                got.extend(publishes(&b.send(p, pubrel(n)), s));
            }
            for d in &got {
                if let Some(id) = d.pkid {
                    b.send(s, if d.qos == Q1 { Packet::puback(id) } else { Packet::pubrec(id) });
                }
            }
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].qos, published.min(granted), "[MQTT5-3.8.4-8] {topic} published at {published:?}");
        }
    }
}

#[test]
fn an_identical_filter_replaces_the_subscription_resends_retained_and_loses_nothing() {
    let mut b = BrokerBench::new();
    let p = b.client("p");
    b.publish(p, Publish { retain: true, ..publish("t", "retained", Q1, 1) });
    let mut connect = connect5("s", true, 0);
    connect.properties.push(Property::ReceiveMaximum(1));
    let s = b.client_with(connect);
    let first = b.subscribed(s, 1, vec![filter("t", Q1)]);
    let retained = publishes(&first, s);
    assert_eq!(retained.len(), 1);
    // One delivery in flight (Receive Maximum 1) and one waiting behind it.
    b.publish(p, publish("t", "waiting", Q1, 2));

    let actions = b.subscribed(s, 2, vec![filter("t", Q2)]);
    let subs = b.broker.inspect().session("s").unwrap().subscriptions.clone();
    assert_eq!(subs, vec![("t".to_owned(), Q2)], "[MQTT5-3.8.4-3] one subscription, with the new options");
    // Retain Handling 0: the retained message is sent again, behind what the window holds.
    let mut all = payloads(&actions, s);
    let mut next = retained[0].pkid;
    while let Some(id) = next {
        let after = b.send(s, Packet::puback(id));
        all.extend(payloads(&after, s));
        next = publishes(&after, s).first().and_then(|p| p.pkid);
    }
    assert!(all.contains(&"retained".to_owned()), "[MQTT5-3.8.4-4] the retained message re-sent: {all:?}");
    assert!(all.contains(&"waiting".to_owned()), "[MQTT5-3.8.4-4] no message lost by the replacement: {all:?}");
    // And one copy per message from now on: the subscription was replaced, not added.
    let got = publishes(&b.publish(p, publish("t", "after", Q0, 0)), s);
    assert_eq!(got.len(), 1, "[MQTT5-3.8.4-3] {got:?}");
}

#[test]
fn unsubscribe_deletes_the_exact_filter_only_and_always_gets_an_unsuback() {
    let mut b = BrokerBench::new();
    let s = b.client("s");
    b.subscribed(s, 1, vec![filter("a/+", Q0), filter("a/b", Q0)]);
    let actions = b.send(s, unsubscribe(7, &["a/#", "A/+", "a/b", "a/b/"]));
    let unsuback = unsuback_of(&to(&actions, s));
    assert_eq!(unsuback.pkid, pid(7), "[MQTT5-3.10.4-4] [MQTT5-3.10.4-5] [MQTT5-2.2.1-6] answered with its id");
    assert_eq!(
        unsuback.reasons,
        [
            ReasonCode::NO_SUBSCRIPTION_EXISTED,
            ReasonCode::NO_SUBSCRIPTION_EXISTED,
            ReasonCode::SUCCESS,
            ReasonCode::NO_SUBSCRIPTION_EXISTED
        ],
        "[MQTT5-3.10.4-1] compared character by character; [MQTT5-3.10.4-6] one UNSUBACK for the sequence"
    );
    let subs = b.broker.inspect().session("s").unwrap().subscriptions.clone();
    assert_eq!(subs, vec![("a/+".to_owned(), Q0)], "[MQTT5-3.10.4-1] only the exact match deleted");
    // Nothing to delete: still answered.
    let actions = b.send(s, unsubscribe(8, &["nothing"]));
    let unsuback = unsuback_of(&to(&actions, s));
    assert_eq!(unsuback.pkid, pid(8), "[MQTT5-3.10.4-5] sent even when nothing was deleted");
    // Several filters: each deleted, one UNSUBACK.
    b.subscribed(s, 2, vec![filter("x", Q0), filter("y", Q0)]);
    let actions = b.send(s, unsubscribe(9, &["x", "a/+", "y"]));
    let unsuback = unsuback_of(&to(&actions, s));
    assert_eq!(unsuback.reasons, [ReasonCode::SUCCESS; 3], "[MQTT5-3.10.4-6] all three, in one UNSUBACK");
    assert!(b.broker.inspect().session("s").unwrap().subscriptions.is_empty(), "[MQTT5-3.10.4-6]");
}

#[test]
fn after_unsubscribe_no_new_messages_come_and_started_deliveries_complete() {
    let mut b = BrokerBench::new();
    let s = b.client_with(connect5("s", true, 0));
    b.subscribed(s, 1, vec![filter("t", Q2)]);
    let p = b.client("p");
    b.publish(p, publish("t", "q2", Q2, 1));
    let started = publishes(&b.send(p, pubrel(1)), s);
    let started_q1 = publishes(&b.publish(p, publish("t", "q1", Q1, 2)), s);
    assert_eq!((started.len(), started_q1.len()), (1, 1));

    b.send(s, unsubscribe(2, &["t"]));
    let actions = b.publish(p, publish("t", "new", Q1, 3));
    assert!(publishes(&actions, s).is_empty(), "[MQTT5-3.10.4-2] no new message after UNSUBSCRIBE");
    let id = started[0].pkid.unwrap();
    assert_eq!(to(&b.send(s, Packet::pubrec(id)), s), [Packet::pubrel(id)], "[MQTT5-3.10.4-3] the QoS 2 flow goes on");
    b.send(s, Packet::pubcomp(id));
    b.send(s, Packet::puback(started_q1[0].pkid.unwrap()));
    let view = b.broker.inspect();
    assert!(view.session("s").unwrap().inflight_out.is_empty(), "[MQTT5-3.10.4-3] both completed");
}

#[test]
fn an_interrupted_shared_qos_2_delivery_is_completed_to_the_same_member() {
    let mut b = BrokerBench::new();
    let m1 = b.client_with(connect5("m1", true, 300));
    b.subscribed(m1, 1, vec![filter("$share/g/t", Q2)]);
    let m2 = b.client_with(connect5("m2", true, 300));
    b.subscribed(m2, 1, vec![filter("$share/g/t", Q2)]);
    let p = b.client("p");
    b.publish(p, publish("t", "m", Q2, 1));
    let actions = b.send(p, pubrel(1));
    let first = if publishes(&actions, m1).is_empty() { m2 } else { m1 };
    let first_id = if first == m1 { "m1" } else { "m2" };
    let sent = publishes(&actions, first);
    assert_eq!(sent.len(), 1, "one member gets it");
    b.lost(first);
    let (back, actions) = b.connect(connect5(first_id, false, 300));
    let again = publishes(&actions, back);
    assert_eq!(again.len(), 1, "[MQTT5-4.8.2-4] the delivery is completed on reconnect");
    assert_eq!((again[0].pkid, again[0].dup), (sent[0].pkid, true), "[MQTT5-4.8.2-4] the same delivery");
    assert!(b.broker.inspect().session(if first == m1 { "m2" } else { "m1" }).unwrap().inflight_out.is_empty());
}

#[test]
fn a_shared_delivery_whose_session_ends_is_not_sent_to_another_member() {
    let mut b = BrokerBench::new();
    // m1 keeps no session; m2 does.
    let m1 = b.client_with(connect5("m1", true, 0));
    b.subscribed(m1, 1, vec![filter("$share/g/t", Q1)]);
    let m2 = b.client_with(connect5("m2", true, 300));
    b.subscribed(m2, 1, vec![filter("$share/g/t", Q1)]);
    let p = b.client("p");
    // Turns go in subscription order: m1 gets the first.
    let actions = b.publish(p, publish("t", "first", Q1, 1));
    assert_eq!(payloads(&actions, m1), ["first"]);
    let actions = b.lost(m1);
    assert!(publishes(&actions, m2).is_empty(), "[MQTT5-4.8.2-5] not redirected when m1's session ends");
    let actions = b.advance(secs(10));
    assert!(publishes(&actions, m2).is_empty(), "[MQTT5-4.8.2-5] nor later");
    assert!(b.broker.inspect().session("m2").unwrap().queued.is_empty(), "[MQTT5-4.8.2-5]");
}

#[test]
fn a_shared_delivery_refused_with_a_failure_code_is_discarded_not_redirected() {
    for (ack, qos) in [(Packet::Puback as fn(_) -> Packet, Q1), (Packet::Pubrec, Q2)] {
        let mut b = BrokerBench::new();
        let m1 = b.client_with(connect5("m1", true, 300));
        b.subscribed(m1, 1, vec![filter("$share/g/t", qos)]);
        let m2 = b.client_with(connect5("m2", true, 300));
        b.subscribed(m2, 1, vec![filter("$share/g/t", qos)]);
        let p = b.client("p");
        let mut actions = b.publish(p, publish("t", "refused", qos, 1));
        if qos == Q2 {
            actions = b.send(p, pubrel(1));
        }
        let got = publishes(&actions, m1);
        assert_eq!(got.len(), 1, "m1's turn");
        let actions = b.send(m1, ack_with(ack, got[0].pkid.unwrap().get(), ReasonCode::UNSPECIFIED_ERROR));
        assert!(publishes(&actions, m2).is_empty(), "[MQTT5-4.8.2-6] not sent to another member ({qos:?})");
        assert!(to(&actions, m1).is_empty(), "[MQTT5-4.8.2-6] discarded: no PUBREL, no re-send ({qos:?})");
        let view = b.broker.inspect();
        assert!(view.session("m1").unwrap().inflight_out.is_empty(), "[MQTT5-4.8.2-6] discarded ({qos:?})");
        assert!(view.session("m2").unwrap().queued.is_empty(), "[MQTT5-4.8.2-6] ({qos:?})");
        b.lost(m1);
        let (m1, actions) = b.connect(connect5("m1", false, 300));
        assert!(publishes(&actions, m1).is_empty(), "[MQTT5-4.8.2-6] nor re-sent on reconnect ({qos:?})");
    }
}
