//! QoS 0, 1 and 2 in both directions: acknowledgements, packet identifiers, DUP, the QoS 2
//! receiver storing until PUBREL, the QoS 2 sender never re-sending PUBLISH after PUBREC, the
//! QoS a subscriber receives, and overlapping subscriptions.

use super::*;

/// A harness with a subscriber `s` on `t` at `granted` and a clean publisher `pub`.
fn pair(granted: QoS) -> (Harness, ConnId, ConnId) {
    let mut h = Harness::new();
    let s = h.client("s", false);
    h.subscribe(s, "t", granted);
    let publisher = h.client("pub", true);
    (h, s, publisher)
}

#[test]
fn qos0_publish_is_forwarded_with_no_packet_id_and_no_answer() {
    let (mut h, s, publisher) = pair(Q2);
    assert_eq!(
        h.send(publisher, publish("t", "x", Q0, 0)),
        vec![tx(s, publish("t", "x", Q0, 0))],
        "[MQTT-4.3.1-1] [MQTT-3.3.1-2] [MQTT-2.3.1-5] sent at QoS 0, DUP 0, no packet id; [MQTT-3.3.4-1] no answer"
    );
    assert_eq!(h.session("s").inflight_out, vec![]);
}

#[test]
fn qos1_publish_is_routed_then_acknowledged_with_its_packet_id() {
    let (mut h, s, publisher) = pair(Q1);
    assert_eq!(
        h.send(publisher, publish("t", "x", Q1, 7)),
        vec![tx(s, publish("t", "x", Q1, 1)), tx(publisher, puback(7))],
        "[MQTT-4.3.2-2] [MQTT-3.3.4-1] PUBACK [MQTT-2.3.1-6] with the PUBLISH's id; \
         [MQTT-2.3.1-4] the broker's own PUBLISH has a non-zero id of its own"
    );
    // With no subscriber it is still acknowledged.
    assert_eq!(h.send(publisher, publish("nobody", "x", Q1, 8)), vec![tx(publisher, puback(8))]);
}

#[test]
fn qos1_same_packet_id_after_puback_is_a_new_publication() {
    // QoS 1 duplicates are not detected (at least once).
    let (mut h, s, publisher) = pair(Q1);
    h.send(publisher, publish("t", "a", Q1, 7));
    assert_eq!(
        h.send(publisher, publish("t", "a", Q1, 7).dup()),
        vec![tx(s, publish("t", "a", Q1, 2)), tx(publisher, puback(7))],
        "[MQTT-4.3.2-2] the same id after PUBACK is a new publication"
    );
}

#[test]
fn outgoing_dup_does_not_copy_the_incoming_dup() {
    let (mut h, s, publisher) = pair(Q2);
    assert_eq!(
        h.send(publisher, publish("t", "x", Q1, 3).dup()),
        vec![tx(s, publish("t", "x", Q1, 1)), tx(publisher, puback(3))],
        "[MQTT-3.3.1-3] DUP 1 in, DUP 0 out"
    );
}

#[test]
fn qos1_delivery_is_unacknowledged_until_puback() {
    let (mut h, s, publisher) = pair(Q1);
    h.publish(publisher, "t", "x", Q1);
    let inflight = h.session("s").inflight_out;
    assert_eq!(inflight.len(), 1);
    assert_eq!(
        (inflight[0].pkid, inflight[0].state),
        (1, OutState::AwaitPuback),
        "[MQTT-4.3.2-1] unacknowledged until PUBACK"
    );
    assert_eq!(inflight[0].message, msg("t", "x", Q1, false));
    // A PUBACK for another id, or a PUBCOMP for this one, changes nothing.
    assert_eq!(h.send(s, puback(9)), vec![]);
    assert_eq!(h.send(s, pubcomp(1)), vec![]);
    assert_eq!(h.session("s").inflight_out.len(), 1, "[MQTT-4.3.2-1] only its PUBACK acknowledges it");
    assert_eq!(h.send(s, puback(1)), vec![]);
    assert_eq!(h.session("s").inflight_out, vec![]);
}

#[test]
fn qos2_publish_is_stored_until_pubrel_and_routed_once() {
    let (mut h, s, publisher) = pair(Q2);
    assert_eq!(
        h.send(publisher, publish("t", "x", Q2, 5)),
        vec![tx(publisher, pubrec(5))],
        "[MQTT-4.3.3-2] [MQTT-3.3.4-1] PUBREC [MQTT-2.3.1-6] with the PUBLISH's id, and not routed yet"
    );
    assert_eq!(h.session("pub").inflight_in, vec![(5, msg("t", "x", Q2, false))]);
    // The re-sent PUBLISH (DUP or not) is acknowledged again and not routed twice.
    assert_eq!(h.send(publisher, publish("t", "x", Q2, 5).dup()), vec![tx(publisher, pubrec(5))], "[MQTT-4.3.3-2]");
    assert_eq!(h.send(publisher, publish("t", "x", Q2, 5)), vec![tx(publisher, pubrec(5))], "[MQTT-4.3.3-2]");
    assert_eq!(
        h.send(publisher, pubrel(5)),
        vec![tx(s, publish("t", "x", Q2, 1)), tx(publisher, pubcomp(5))],
        "[MQTT-4.3.3-2] routed once, at PUBREL"
    );
    assert_eq!(h.session("pub").inflight_in, vec![]);
    // A repeated PUBREL is answered but routes nothing.
    assert_eq!(h.send(publisher, pubrel(5)), vec![tx(publisher, pubcomp(5))]);
    // After PUBCOMP the id is free: the same id is a new message.
    assert_eq!(h.send(publisher, publish("t", "y", Q2, 5)), vec![tx(publisher, pubrec(5))]);
    assert_eq!(h.send(publisher, pubrel(5)), vec![tx(s, publish("t", "y", Q2, 2)), tx(publisher, pubcomp(5))]);
}

#[test]
fn pubrel_for_an_unknown_packet_id_still_gets_pubcomp() {
    // It may repeat a PUBREL answered before a reconnect (mosquitto does the same).
    let (mut h, _s, publisher) = pair(Q2);
    assert_eq!(h.send(publisher, pubrel(42)), vec![tx(publisher, pubcomp(42))]);
}

#[test]
fn incoming_qos2_state_survives_a_reconnect_with_clean_session_0() {
    let mut h = Harness::new();
    let s = h.client("s", true);
    h.subscribe(s, "t", Q2);
    let p = h.client("p", false);
    assert_eq!(h.send(p, publish("t", "x", Q2, 9)), vec![tx(p, pubrec(9))]);
    h.lost(p);
    let p2 = h.open();
    assert_eq!(h.connect(p2, "p", false, 0), vec![tx(p2, connack(true))], "nothing is re-sent to it");
    // The client re-sends the PUBLISH with DUP: acknowledged, not routed.
    assert_eq!(
        h.send(p2, publish("t", "x", Q2, 9).dup()),
        vec![tx(p2, pubrec(9))],
        "[MQTT-3.1.2-4] [MQTT-4.1.0-1] the resumed session still holds the message: [MQTT-4.3.3-2] not routed twice"
    );
    assert_eq!(h.send(p2, pubrel(9)), vec![tx(s, publish("t", "x", Q2, 1)), tx(p2, pubcomp(9))]);
}

#[test]
fn incoming_qos2_state_is_discarded_by_clean_session_1() {
    let mut h = Harness::new();
    let s = h.client("s", true);
    h.subscribe(s, "t", Q2);
    let p = h.client("p", false);
    h.send(p, publish("t", "x", Q2, 9));
    h.lost(p);
    let p2 = h.open();
    assert_eq!(h.connect(p2, "p", true, 0), vec![tx(p2, connack(false))]);
    assert_eq!(
        h.send(p2, pubrel(9)),
        vec![tx(p2, pubcomp(9))],
        "[MQTT-3.1.2-6] the held message went with the session"
    );
}

#[test]
fn qos2_delivery_pubrec_gets_pubrel_and_publish_is_never_sent_again() {
    let (mut h, s, publisher) = pair(Q2);
    assert_eq!(h.publish(publisher, "t", "x", Q2), vec![tx(s, publish("t", "x", Q2, 1))]);
    assert_eq!(h.session("s").inflight_out[0].state, OutState::AwaitPubrec);
    assert_eq!(h.send(s, puback(1)), vec![]); // the wrong acknowledgement changes nothing
    assert_eq!(h.send(s, pubcomp(1)), vec![]);
    assert_eq!(h.session("s").inflight_out[0].state, OutState::AwaitPubrec);
    assert_eq!(h.send(s, pubrec(1)), vec![tx(s, pubrel(1))], "[MQTT-4.3.3-1] PUBREL [MQTT-2.3.1-6] with the id");
    assert_eq!(h.session("s").inflight_out[0].state, OutState::AwaitPubcomp);
    assert_eq!(h.send(s, pubrec(1)), vec![tx(s, pubrel(1))], "[MQTT-4.3.3-1] a repeated PUBREC: PUBREL, never PUBLISH");
    // So does a reconnect.
    h.lost(s);
    let s2 = h.open();
    assert_eq!(
        h.connect(s2, "s", false, 0),
        vec![tx(s2, connack(true)), tx(s2, pubrel(1))],
        "[MQTT-4.3.3-1] after a reconnect: PUBREL, never PUBLISH"
    );
    assert_eq!(h.send(s2, pubcomp(1)), vec![]);
    assert_eq!(h.session("s").inflight_out, vec![]);
    // PUBREC for an id not in flight is ignored.
    assert_eq!(h.send(s2, pubrec(1)), vec![]);
}

#[test]
fn delivered_qos_is_the_minimum_of_published_and_granted() {
    for granted in [Q0, Q1, Q2] {
        for published in [Q0, Q1, Q2] {
            let (mut h, s, publisher) = pair(granted);
            let delivered = published.min(granted);
            assert_eq!(
                h.publish(publisher, "t", "x", published),
                vec![tx(s, publish("t", "x", delivered, 1))],
                "[MQTT-3.8.4-6] [MQTT-2.3.1-5] published {published}, granted {granted}"
            );
        }
    }
}

#[test]
fn overlapping_subscriptions_deliver_one_copy_at_the_highest_granted_qos() {
    // mosquitto 2.0 instead uses the most specific filter's QoS (a/b at QoS 0 here); we follow the
    // spec.
    let mut h = Harness::new();
    let s = h.client("s", true);
    assert_eq!(
        h.send(s, subscribe(1, &[("a/b", Q0), ("a/#", Q2), ("+/b", Q1)])),
        vec![tx(s, suback(1, &[Q0, Q2, Q1]))]
    );
    let publisher = h.client("pub", true);
    assert_eq!(
        h.publish(publisher, "a/b", "x", Q2),
        vec![tx(s, publish("a/b", "x", Q2, 1))],
        "[MQTT-3.3.5-1] one copy at the highest granted QoS"
    );
    assert_eq!(
        h.publish(publisher, "a/b", "y", Q1),
        vec![tx(s, publish("a/b", "y", Q1, 2))],
        "[MQTT-3.8.4-6] but never above the published QoS"
    );
    assert_eq!(
        h.publish(publisher, "c/b", "z", Q2),
        vec![tx(s, publish("c/b", "z", Q1, 3))],
        "[MQTT-3.3.5-1] the highest of the filters that match"
    );
}

#[test]
fn outgoing_packet_ids_count_up_wrap_and_skip_ids_still_in_flight() {
    let (mut h, s, publisher) = pair(Q1);
    assert_eq!(h.publish(publisher, "t", "held", Q1), vec![tx(s, publish("t", "held", Q1, 1))]);
    for id in 2..=u16::MAX {
        assert_eq!(h.publish(publisher, "t", "m", Q1), vec![tx(s, publish("t", "m", Q1, id))]);
        assert_eq!(h.send(s, puback(id)), vec![]);
    }
    assert_eq!(
        h.publish(publisher, "t", "wrapped", Q1),
        vec![tx(s, publish("t", "wrapped", Q1, 2))],
        "[MQTT-2.3.1-1] [MQTT-2.3.1-4] past 65535 the id wraps to 1, never 0, and skips 1, still unacknowledged"
    );
    let ids: Vec<u16> = h.session("s").inflight_out.iter().map(|f| f.pkid).collect();
    assert_eq!(ids, vec![1, 2]);
}
