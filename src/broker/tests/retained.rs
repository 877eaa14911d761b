//! Retained messages: storing, replacing and clearing them, the RETAIN flag on what subscribers
//! receive, re-subscription, persistent sessions that were offline, and the store's lifetime.

use super::*;

/// A harness with a clean publisher `pub`.
fn publisher() -> (Harness, ConnId) {
    let mut h = Harness::new();
    let p = h.client("pub", true);
    (h, p)
}

fn retained(topic: &str, payload: &str, qos: QoS) -> RetainedView {
    RetainedView { topic: topic.to_owned(), payload: Bytes::copy_from_slice(payload.as_bytes()), qos, expires_in: None }
}

#[test]
fn new_subscription_gets_the_retained_message_after_suback_with_retain_1() {
    let (mut h, p) = publisher();
    h.publish_retained(p, "r/a", "x", Q1);
    h.publish_retained(p, "r/b", "y", Q2);
    h.publish_retained(p, "other", "z", Q0);
    assert_eq!(
        h.view().retained,
        vec![retained("other", "z", Q0), retained("r/a", "x", Q1), retained("r/b", "y", Q2)],
        "[MQTT-3.3.1-5] each stored with its QoS"
    );
    let s = h.client("s", true);
    // In topic order.
    assert_eq!(
        h.send(s, subscribe(3, &[("r/#", Q1)])),
        vec![
            tx(s, suback(3, &[Q1])),
            tx(s, publish("r/a", "x", Q1, 1).retain()),
            tx(s, publish("r/b", "y", Q1, 2).retain()),
        ],
        "[MQTT-3.3.1-6] the retained message of each matching topic, [MQTT-3.3.1-8] with RETAIN 1, \
         [MQTT-3.8.4-6] at min(retained QoS, granted QoS)"
    );
}

#[test]
fn established_subscription_receives_retain_0() {
    let (mut h, p) = publisher();
    let s = h.client("s", true);
    h.subscribe(s, "r", Q1);
    assert_eq!(h.publish_retained(p, "r", "x", Q1), vec![tx(s, publish("r", "x", Q1, 1))], "[MQTT-3.3.1-9]");
    assert_eq!(h.view().retained, vec![retained("r", "x", Q1)]);
}

#[test]
fn a_retained_publish_replaces_the_previous_one_even_at_qos_0() {
    let (mut h, p) = publisher();
    h.publish_retained(p, "r", "first", Q2);
    h.publish_retained(p, "r", "second", Q0);
    assert_eq!(h.view().retained, vec![retained("r", "second", Q0)], "[MQTT-3.3.1-5] [MQTT-3.3.1-7]");
    let s = h.client("s", true);
    assert_eq!(
        h.send(s, subscribe(1, &[("r", Q2)])),
        vec![tx(s, suback(1, &[Q2])), tx(s, publish("r", "second", Q0, 0).retain())]
    );
}

#[test]
fn empty_retained_payload_clears_the_topic_and_is_still_delivered() {
    let (mut h, p) = publisher();
    let live = h.client("live", true);
    h.subscribe(live, "r", Q1);
    h.publish_retained(p, "r", "x", Q1);
    assert_eq!(
        h.publish_retained(p, "r", "", Q1),
        vec![tx(live, publish("r", "", Q1, 2))],
        "[MQTT-3.3.1-10] still delivered"
    );
    assert_eq!(h.view().retained, vec![], "[MQTT-3.3.1-10] the retained message is cleared");
    let s = h.client("s", true);
    assert_eq!(h.send(s, subscribe(1, &[("r", Q1)])), vec![tx(s, suback(1, &[Q1]))]);
    // An empty retained payload on a topic with nothing retained stores nothing either.
    h.publish_retained(p, "empty", "", Q0);
    assert_eq!(h.view().retained, vec![], "[MQTT-3.3.1-11] a zero-byte retained message is never stored");
}

#[test]
fn retain_0_neither_stores_nor_clears() {
    let (mut h, p) = publisher();
    h.publish_retained(p, "r", "kept", Q1);
    h.publish(p, "r", "not retained", Q1);
    h.publish(p, "r", "", Q1);
    h.publish(p, "fresh", "not retained", Q1);
    assert_eq!(h.view().retained, vec![retained("r", "kept", Q1)], "[MQTT-3.3.1-12]");
}

#[test]
fn retained_qos2_publish_is_stored_when_released() {
    // Routed on PUBREL [MQTT-4.3.3-2], so stored then.
    let (mut h, p) = publisher();
    assert_eq!(h.send(p, publish("r", "x", Q2, 4).retain()), vec![tx(p, pubrec(4))]);
    assert_eq!(h.view().retained, vec![]);
    h.send(p, pubrel(4));
    assert_eq!(h.view().retained, vec![retained("r", "x", Q2)], "[MQTT-3.3.1-5]");
}

#[test]
fn offline_persistent_session_gets_every_retained_publication_queued_with_retain_0() {
    // Each publication is a message for the session, not only the last one retained; they were not
    // sent because of a new subscription, so RETAIN is 0.
    let (mut h, p) = publisher();
    let s = h.client("s", false);
    h.subscribe(s, "r", Q1);
    h.lost(s);
    for payload in ["1", "2", "3"] {
        h.publish_retained(p, "r", payload, Q1);
    }
    assert_eq!(
        h.session("s").queued,
        vec![msg("r", "1", Q1, false), msg("r", "2", Q1, false), msg("r", "3", Q1, false)],
        "[MQTT-3.1.2-5] each stored for the offline session"
    );
    assert_eq!(h.view().retained, vec![retained("r", "3", Q1)]);
    let c = h.open();
    assert_eq!(
        h.connect(c, "s", false, 0),
        vec![
            tx(c, connack(true)),
            tx(c, publish("r", "1", Q1, 1)),
            tx(c, publish("r", "2", Q1, 2)),
            tx(c, publish("r", "3", Q1, 3)),
        ],
        "[MQTT-3.3.1-9] with RETAIN 0"
    );
}

#[test]
fn resubscribing_to_an_identical_filter_resends_retained_and_keeps_one_subscription() {
    // [MQTT-3.8.4-3]: the subscription is replaced, retained messages are re-sent, and the flow
    // of messages already under way is not interrupted.
    let (mut h, p) = publisher();
    h.publish_retained(p, "r", "x", Q1);
    let s = h.client("s", true);
    assert_eq!(
        h.send(s, subscribe(1, &[("r", Q1)])),
        vec![tx(s, suback(1, &[Q1])), tx(s, publish("r", "x", Q1, 1).retain())]
    );
    assert_eq!(
        h.send(s, subscribe(2, &[("r", Q2)])),
        vec![tx(s, suback(2, &[Q2])), tx(s, publish("r", "x", Q1, 2).retain())],
        "[MQTT-3.8.4-3] retained messages re-sent"
    );
    let view = h.session("s");
    assert_eq!(view.subscriptions, vec![("r".to_owned(), Q2)], "[MQTT-3.8.4-3] the subscription replaced");
    let ids: Vec<u16> = view.inflight_out.iter().map(|f| f.pkid).collect();
    assert_eq!(ids, vec![1, 2], "[MQTT-3.8.4-3] the flow under way is not interrupted");
    // One copy of a live message, at the new QoS.
    assert_eq!(h.publish(p, "r", "y", Q2), vec![tx(s, publish("r", "y", Q2, 3))]);
}

#[test]
fn retained_messages_survive_the_end_of_the_publishing_session() {
    let (mut h, p) = publisher();
    h.publish_retained(p, "r", "x", Q1);
    h.send(p, Packet::disconnect());
    assert!(h.view().session("pub").is_none());
    let s = h.client("s", true);
    assert_eq!(
        h.send(s, subscribe(1, &[("#", Q2)])),
        vec![tx(s, suback(1, &[Q2])), tx(s, publish("r", "x", Q1, 1).retain())],
        "[MQTT-3.1.2-7]"
    );
}

#[test]
fn retained_dollar_topics_are_not_sent_to_wildcard_first_filters() {
    let (mut h, p) = publisher();
    h.publish_retained(p, "$SYS/uptime", "42", Q0);
    h.publish_retained(p, "a", "1", Q0);
    let s = h.client("s", true);
    assert_eq!(
        h.send(s, subscribe(1, &[("#", Q0)])),
        vec![tx(s, suback(1, &[Q0])), tx(s, publish("a", "1", Q0, 0).retain())],
        "[MQTT-4.7.2-1] `#` gets no retained `$` topic"
    );
    assert_eq!(
        h.send(s, subscribe(2, &[("$SYS/+", Q0)])),
        vec![tx(s, suback(2, &[Q0])), tx(s, publish("$SYS/uptime", "42", Q0, 0).retain())],
        "[MQTT-3.3.1-6]"
    );
}

#[test]
fn retained_messages_for_a_full_window_wait_in_the_queue() {
    let mut h = Harness::with_config(Config { max_inflight_messages: 1, ..Config::default() });
    let p = h.client("pub", true);
    h.publish_retained(p, "r/1", "a", Q1);
    h.publish_retained(p, "r/2", "b", Q1);
    let s = h.client("s", false);
    assert_eq!(
        h.send(s, subscribe(1, &[("r/+", Q1)])),
        vec![tx(s, suback(1, &[Q1])), tx(s, publish("r/1", "a", Q1, 1).retain())]
    );
    assert_eq!(h.session("s").queued, vec![msg("r/2", "b", Q1, true)]);
    assert_eq!(h.send(s, puback(1)), vec![tx(s, publish("r/2", "b", Q1, 2).retain())]);
}
