//! QoS 0, 1 and 2 in both directions on one connection: what is sent and handed over, exactly
//! once for QoS 2, and the order of acknowledgements.

use super::*;

#[test]
fn qos0_publish_is_sent_once_with_no_id_and_dup_0_and_completes_nothing() {
    let mut h = Harness::connected(false);
    let got = h.session.publish("t", Bytes::from_static(b"x"), Q0, true, h.now);
    assert_eq!(got, Ok(None));
    assert_eq!(
        h.actions(),
        vec![send(publish("t", "x", Q0, 0).retain())],
        "[MQTT-4.3.1-1] [MQTT-3.3.1-2] sent once at QoS 0 with DUP 0, [MQTT-2.3.1-5] no packet id"
    );
    assert_eq!(h.events(), vec![]);
    assert_eq!(h.unacknowledged(), vec![]);
}

#[test]
fn qos1_publish_is_unacknowledged_until_puback_then_published() {
    let mut h = Harness::connected(false);
    let got = h.session.publish("t", Bytes::from_static(b"a"), Q1, true, h.now);
    assert_eq!(got, Ok(Some(pid(1))));
    assert_eq!(h.actions(), vec![send(publish("t", "a", Q1, 1).retain())]);
    assert_eq!(h.unacknowledged(), vec![(1, "t".into())], "[MQTT-4.3.2-1] unacknowledged until PUBACK");
    // Acks for other ids, or of the wrong kind, do not complete it.
    assert_eq!(h.feed(puback(2)), vec![]);
    assert_eq!(h.feed(pubcomp(1)), vec![]);
    assert_eq!(h.feed(pubrec(1)), vec![]);
    h.assert_quiet();
    assert_eq!(h.feed(puback(1)), vec![]);
    assert_eq!(h.events(), vec![published(1)], "[MQTT-4.3.2-1] [MQTT-2.3.1-6] its PUBACK, with its id, completes it");
    assert_eq!(h.unacknowledged(), vec![]);
    // A repeated PUBACK completes nothing twice.
    assert_eq!(h.feed(puback(1)), vec![]);
    h.assert_quiet();
}

#[test]
fn qos2_publish_pubrec_pubrel_pubcomp_then_published() {
    let mut h = Harness::connected(false);
    h.publish_ok("t", "a", Q2, 1);
    // PUBACK and PUBCOMP do not answer a PUBLISH still awaiting PUBREC.
    assert_eq!(h.feed(puback(1)), vec![]);
    assert_eq!(h.feed(pubcomp(1)), vec![]);
    h.assert_quiet();
    assert_eq!(h.feed(pubrec(1)), vec![send(pubrel(1))], "[MQTT-4.3.3-1] PUBREL [MQTT-2.3.1-6] with the id");
    assert_eq!(h.events(), vec![], "not complete before PUBCOMP");
    assert_eq!(h.unacknowledged(), vec![(1, "t".into())]);
    assert_eq!(h.feed(pubcomp(1)), vec![]);
    assert_eq!(h.events(), vec![published(1)]);
    assert_eq!(h.unacknowledged(), vec![]);
    assert_eq!(h.feed(pubcomp(1)), vec![]);
    h.assert_quiet();
}

#[test]
fn after_pubrec_only_pubrel_is_sent_never_the_publish_again() {
    let mut h = Harness::connected(false);
    h.publish_ok("t", "a", Q2, 1);
    assert_eq!(h.feed(pubrec(1)), vec![send(pubrel(1))]);
    assert_eq!(h.feed(pubrec(1)), vec![send(pubrel(1))], "[MQTT-4.3.3-1] a repeated PUBREC: PUBREL again");
    h.lose();
    h.events();
    assert_eq!(h.connect(true), vec![send(pubrel(1))], "[MQTT-4.3.3-1] after a reconnect: PUBREL, not PUBLISH");
    assert_eq!(h.feed(pubrec(1)), vec![send(pubrel(1))]);
    assert_eq!(h.feed(pubcomp(1)), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: true }, published(1)]);
}

#[test]
fn incoming_qos0_is_handed_over_and_not_answered() {
    let mut h = Harness::connected(false);
    assert_eq!(h.feed(publish("t", "x", Q0, 0).retain()), vec![], "[MQTT-3.3.4-1] [MQTT-4.5.0-2] no answer to QoS 0");
    assert_eq!(h.events(), vec![message("t", "x", Q0, true, false)]);
}

#[test]
fn incoming_qos1_is_handed_over_and_acknowledged_every_time() {
    let mut h = Harness::connected(false);
    assert_eq!(
        h.feed(publish("t", "x", Q1, 9)),
        vec![send(puback(9))],
        "[MQTT-4.5.0-2] [MQTT-3.3.4-1] PUBACK [MQTT-2.3.1-6] with the PUBLISH's id"
    );
    assert_eq!(h.events(), vec![message("t", "x", Q1, false, false)]);
    assert_eq!(h.feed(publish("t", "x", Q1, 9).dup()), vec![send(puback(9))]);
    assert_eq!(
        h.events(),
        vec![message("t", "x", Q1, false, true)],
        "[MQTT-4.3.2-2] after its PUBACK the same id is a new publication: handed over again (at least once)"
    );
}

#[test]
fn incoming_qos2_is_handed_over_once_until_pubrel() {
    let mut h = Harness::connected(false);
    assert_eq!(
        h.feed(publish("t", "x", Q2, 7).retain()),
        vec![send(pubrec(7))],
        "[MQTT-4.5.0-2] [MQTT-3.3.4-1] PUBREC [MQTT-2.3.1-6] with the PUBLISH's id"
    );
    assert_eq!(h.events(), vec![message("t", "x", Q2, true, false)]);
    // The server did not see our PUBREC and re-sends: same message, answered again, not handed over.
    assert_eq!(h.feed(publish("t", "x", Q2, 7).retain().dup()), vec![send(pubrec(7))], "[MQTT-4.3.3-2]");
    assert_eq!(h.events(), vec![], "[MQTT-4.3.3-2] not handed over twice");
    // Another message with a different id is independent.
    assert_eq!(h.feed(publish("t", "y", Q2, 8)), vec![send(pubrec(8))]);
    assert_eq!(h.events(), vec![message("t", "y", Q2, false, false)]);
    assert_eq!(h.feed(pubrel(7)), vec![send(pubcomp(7))]);
    assert_eq!(h.feed(pubrel(7)), vec![send(pubcomp(7))], "a repeated PUBREL is answered too");
    h.assert_quiet();
    // After PUBREL the id is free on the server's side: the same id is a new message.
    assert_eq!(h.feed(publish("t", "z", Q2, 7)), vec![send(pubrec(7))]);
    assert_eq!(h.events(), vec![message("t", "z", Q2, false, false)]);
    // Message 8 is still held until its PUBREL.
    assert_eq!(h.feed(publish("t", "y", Q2, 8).dup()), vec![send(pubrec(8))]);
    assert_eq!(h.events(), vec![]);
}

#[test]
fn pubrel_for_an_unknown_id_is_answered_with_pubcomp() {
    // [MQTT-4.3.3-2]: the PUBREL may repeat one answered before a reconnect; PUBCOMP lets the
    // server finish its flow.
    let mut h = Harness::connected(false);
    assert_eq!(h.feed(pubrel(42)), vec![send(pubcomp(42))]);
    h.assert_quiet();
}

#[test]
fn acknowledgements_leave_in_receive_order_for_a_mixed_burst() {
    let mut h = Harness::connected(false);
    let burst = [
        publish("a", "1", Q1, 1),
        publish("b", "2", Q2, 2),
        publish("c", "3", Q0, 0),
        publish("d", "4", Q1, 3),
        publish("e", "5", Q2, 4),
        publish("f", "6", Q2, 5),
        publish("g", "7", Q1, 6),
    ];
    let mut sent = Vec::new();
    for p in burst {
        sent.extend(h.feed(p));
    }
    assert_eq!(
        sent,
        vec![send(puback(1)), send(pubrec(2)), send(puback(3)), send(pubrec(4)), send(pubrec(5)), send(puback(6))],
        "[MQTT-4.5.0-2] each acknowledged, [MQTT-4.6.0-2] PUBACKs and [MQTT-4.6.0-3] PUBRECs in receive order"
    );
    assert_eq!(
        h.events(),
        vec![
            message("a", "1", Q1, false, false),
            message("b", "2", Q2, false, false),
            message("c", "3", Q0, false, false),
            message("d", "4", Q1, false, false),
            message("e", "5", Q2, false, false),
            message("f", "6", Q2, false, false),
            message("g", "7", Q1, false, false),
        ]
    );
    // PUBCOMPs answer PUBRELs as they come.
    let mut sent = h.feed(pubrel(5));
    sent.extend(h.feed(pubrel(2)));
    sent.extend(h.feed(pubrel(4)));
    assert_eq!(sent, vec![send(pubcomp(5)), send(pubcomp(2)), send(pubcomp(4))]);
}

#[test]
fn pubrels_leave_in_the_order_pubrecs_arrive() {
    let mut h = Harness::connected(false);
    for (i, payload) in ["a", "b", "c"].into_iter().enumerate() {
        h.publish_ok("t", payload, Q2, i as u16 + 1);
    }
    let mut sent = h.feed(pubrec(3));
    sent.extend(h.feed(pubrec(1)));
    sent.extend(h.feed(pubrec(2)));
    assert_eq!(sent, vec![send(pubrel(3)), send(pubrel(1)), send(pubrel(2))], "[MQTT-4.6.0-4]");
    // Completions are reported as they arrive.
    h.feed(pubcomp(2));
    h.feed(pubcomp(3));
    h.feed(pubcomp(1));
    assert_eq!(h.events(), vec![published(2), published(3), published(1)]);
}

#[test]
fn concurrent_flows_of_mixed_qos_complete_independently() {
    let mut h = Harness::connected(false);
    h.publish_ok("t", "a", Q1, 1);
    h.publish_ok("t", "b", Q2, 2);
    h.publish_ok("t", "c", Q1, 3);
    h.publish_ok("t", "d", Q2, 4);
    assert_eq!(h.feed(puback(3)), vec![]);
    assert_eq!(h.feed(pubrec(4)), vec![send(pubrel(4))], "[MQTT-4.3.3-1]");
    assert_eq!(h.feed(pubrec(2)), vec![send(pubrel(2))], "[MQTT-4.3.3-1]");
    assert_eq!(h.feed(pubcomp(4)), vec![]);
    assert_eq!(h.events(), vec![published(3), published(4)]);
    assert_eq!(
        h.unacknowledged(),
        vec![(1, "t".into()), (2, "t".into())],
        "[MQTT-4.3.2-1] unacknowledged until its own PUBACK"
    );
    h.feed(puback(1));
    h.feed(pubcomp(2));
    assert_eq!(h.events(), vec![published(1), published(2)]);
    assert_eq!(h.unacknowledged(), vec![]);
}
