//! The choices the spec leaves to the server, as options: `allow_duplicate_messages` (one copy
//! per matching subscription where a client's subscriptions overlap, [MQTT-3.3.5-1]) and
//! `qos2_delivery on_publish` (method B of the spec's Figure 4.3: a QoS 2 message passed on when
//! it arrives, its packet id held until PUBREL, [MQTT-4.3.3-2]). The defaults are in qos.rs.

use super::*;

#[test]
fn allow_duplicate_messages_sends_one_copy_per_matching_subscription_at_its_qos() {
    let mut h = Harness::with_config(Config { allow_duplicate_messages: true, ..Config::default() });
    let s = h.client("s", true);
    h.send(s, subscribe(1, &[("a/b", Q0), ("a/#", Q2), ("+/b", Q1)]));
    let publisher = h.client("pub", true);
    // In the trie's order: at each level `#`, then `+`, then the literal level (+/b, a/#, a/b).
    assert_eq!(
        h.publish(publisher, "a/b", "x", Q2),
        vec![tx(s, publish("a/b", "x", Q1, 1)), tx(s, publish("a/b", "x", Q2, 2)), tx(s, publish("a/b", "x", Q0, 0))],
        "[MQTT-3.3.5-1] a copy for each subscription, at min(published, granted) [MQTT-3.8.4-6]"
    );
    assert_eq!(
        h.publish(publisher, "c/b", "z", Q2),
        vec![tx(s, publish("c/b", "z", Q1, 3))],
        "a topic matching one filter gets one copy"
    );
}

#[test]
fn qos2_delivery_on_publish_passes_the_message_on_at_once_and_holds_only_its_id() {
    let mut h = Harness::with_config(Config { qos2_delivery: Qos2Delivery::OnPublish, ..Config::default() });
    let s = h.client("s", false);
    h.subscribe(s, "t", Q2);
    let publisher = h.client("pub", true);
    assert_eq!(
        h.send(publisher, publish("t", "x", Q2, 5)),
        vec![tx(s, publish("t", "x", Q2, 1)), tx(publisher, pubrec(5))],
        "[MQTT-4.3.3-2] method B: passed on, then PUBREC"
    );
    // A re-send before PUBREL is acknowledged again and not passed on twice.
    assert_eq!(h.send(publisher, publish("t", "x", Q2, 5).dup()), vec![tx(publisher, pubrec(5))], "[MQTT-4.3.3-2]");
    assert_eq!(h.send(publisher, pubrel(5)), vec![tx(publisher, pubcomp(5))], "PUBREL only frees the id");
    assert_eq!(h.session("pub").inflight_in, vec![]);
    // After PUBCOMP the id is free: the same id is a new message, passed on at once.
    assert_eq!(
        h.send(publisher, publish("t", "y", Q2, 5)),
        vec![tx(s, publish("t", "y", Q2, 2)), tx(publisher, pubrec(5))]
    );
}
