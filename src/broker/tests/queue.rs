//! Messages that cannot go out at once: the offline queue of a persistent session, the re-sends a
//! resumed session is owed, the inflight window (`max_inflight_messages`) and the queue limits
//! (`max_queued_messages`, `max_queued_bytes`, `queue_qos0_messages`).

use super::*;

/// A harness with `config`, a clean publisher `pub` and a persistent subscriber `s` on `t` at
/// `granted`.
fn setup(config: Config, granted: QoS) -> (Harness, ConnId, ConnId) {
    let mut h = Harness::with_config(config);
    let publisher = h.client("pub", true);
    let s = h.client("s", false);
    h.subscribe(s, "t", granted);
    (h, publisher, s)
}

/// Reconnects `s` with clean session 0; returns the new connection and what it was sent.
fn resume(h: &mut Harness) -> (ConnId, Vec<Action>) {
    let c = h.open();
    let actions = h.connect(c, "s", false, 0);
    (c, actions)
}

#[test]
fn offline_session_queues_qos1_and_qos2_and_drops_qos0() {
    let (mut h, publisher, s) = setup(Config::default(), Q2);
    assert_eq!(h.lost(s), vec![]);
    h.drain_events();
    assert_eq!(h.publish(publisher, "t", "a", Q1), vec![]);
    assert_eq!(h.publish(publisher, "t", "b", Q0), vec![]);
    assert_eq!(h.publish(publisher, "t", "c", Q2), vec![]);
    assert_eq!(
        h.drain_events(),
        vec![Event::Dropped { client_id: "s".into(), topic: "t".into(), qos: Q0, reason: DropReason::Qos0Offline }]
    );
    let view = h.session("s");
    assert_eq!(
        view.queued,
        vec![msg("t", "a", Q1, false), msg("t", "c", Q2, false)],
        "[MQTT-3.1.2-5] QoS 1 and 2 stored for the offline session"
    );
    assert_eq!(view.drops, [(DropReason::Qos0Offline, 1)].into());
    assert_eq!(DropReason::Qos0Offline.as_str(), "qos0_offline");

    let (c, actions) = resume(&mut h);
    assert_eq!(
        actions,
        vec![tx(c, connack(true)), tx(c, publish("t", "a", Q1, 1)), tx(c, publish("t", "c", Q2, 2))],
        "[MQTT-3.1.2-5] delivered on resume"
    );
    assert_eq!(h.session("s").queued, vec![]);
}

#[test]
fn queue_qos0_messages_keeps_qos0_for_offline_sessions_in_order() {
    let (mut h, publisher, s) = setup(Config { queue_qos0_messages: true, ..Config::default() }, Q2);
    h.lost(s);
    h.publish(publisher, "t", "a", Q1);
    h.publish(publisher, "t", "b", Q0);
    h.publish(publisher, "t", "c", Q2);
    assert_eq!(
        h.session("s").queued,
        vec![msg("t", "a", Q1, false), msg("t", "b", Q0, false), msg("t", "c", Q2, false)]
    );
    let (c, actions) = resume(&mut h);
    assert_eq!(
        actions,
        vec![
            tx(c, connack(true)),
            tx(c, publish("t", "a", Q1, 1)),
            tx(c, publish("t", "b", Q0, 0)),
            tx(c, publish("t", "c", Q2, 2)),
        ]
    );
    // QoS 0 takes no packet id and no window slot.
    let ids: Vec<u16> = h.session("s").inflight_out.iter().map(|f| f.pkid).collect();
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn reconnect_resends_inflight_with_dup_and_same_ids_in_original_order_then_the_queue() {
    let (mut h, publisher, s) = setup(Config::default(), Q2);
    assert_eq!(h.publish(publisher, "t", "m1", Q2), vec![tx(s, publish("t", "m1", Q2, 1))]);
    assert_eq!(h.send(s, pubrec(1)), vec![tx(s, pubrel(1))]);
    assert_eq!(h.publish(publisher, "t", "m2", Q1), vec![tx(s, publish("t", "m2", Q1, 2))]);
    assert_eq!(h.publish(publisher, "t", "m3", Q2), vec![tx(s, publish("t", "m3", Q2, 3))]);
    h.lost(s);
    assert_eq!(h.publish(publisher, "t", "m4", Q1), vec![]);
    let view = h.session("s");
    let states: Vec<(u16, OutState)> = view.inflight_out.iter().map(|f| (f.pkid, f.state)).collect();
    assert_eq!(states, vec![(1, OutState::AwaitPubcomp), (2, OutState::AwaitPuback), (3, OutState::AwaitPubrec)]);
    assert_eq!(view.queued, vec![msg("t", "m4", Q1, false)]);

    // PUBREL (not PUBLISH) for the message past PUBREC, the PUBLISHes again with DUP=1 and their
    // ids, interleaved in their original order, then the queue with DUP=0 and a new id.
    let (c, actions) = resume(&mut h);
    assert_eq!(
        actions,
        vec![
            tx(c, connack(true)),
            tx(c, pubrel(1)),
            tx(c, publish("t", "m2", Q1, 2).dup()),
            tx(c, publish("t", "m3", Q2, 3).dup()),
            tx(c, publish("t", "m4", Q1, 4)),
        ],
        "[MQTT-4.4.0-1] [MQTT-4.3.3-1] PUBREL, not PUBLISH, past PUBREC; [MQTT-3.3.1-1] DUP=1 [MQTT-2.3.1-3] with \
         the same ids [MQTT-4.6.0-1] in the original order"
    );
    assert_eq!(h.send(c, pubcomp(1)), vec![]);
    assert_eq!(h.send(c, puback(2)), vec![]);
    assert_eq!(h.send(c, pubrec(3)), vec![tx(c, pubrel(3))]);
    assert_eq!(h.send(c, pubcomp(3)), vec![]);
    assert_eq!(h.send(c, puback(4)), vec![]);
    assert_eq!(h.session("s").inflight_out, vec![]);
}

#[test]
fn a_second_reconnect_resends_the_same_packets_again() {
    let (mut h, publisher, s) = setup(Config::default(), Q1);
    h.publish(publisher, "t", "m1", Q1);
    h.lost(s);
    let (c, _) = resume(&mut h);
    h.lost(c);
    let (c2, actions) = resume(&mut h);
    assert_eq!(
        actions,
        vec![tx(c2, connack(true)), tx(c2, publish("t", "m1", Q1, 1).dup())],
        "[MQTT-4.4.0-1] an unacknowledged re-send is owed again, with the same id"
    );
}

#[test]
fn inflight_window_queues_the_21st_message_and_sends_it_when_an_ack_frees_a_slot() {
    // max_inflight_messages 20 (mosquitto's default); order kept.
    let (mut h, publisher, s) = setup(Config::default(), Q1);
    let mut sent = Vec::new();
    for i in 1..=25 {
        sent.extend(h.publish(publisher, "t", &format!("m{i}"), Q1));
    }
    let expected: Vec<Action> = (1..=20).map(|i| tx(s, publish("t", &format!("m{i}"), Q1, i))).collect();
    assert_eq!(sent, expected);
    assert_eq!(payloads_of(&h.session("s").queued), numbered("m", 21..=25));
    // Any acknowledgement frees a slot; the queue's head takes it with the next free id.
    assert_eq!(h.send(s, puback(3)), vec![tx(s, publish("t", "m21", Q1, 21))]);
    assert_eq!(h.send(s, puback(1)), vec![tx(s, publish("t", "m22", Q1, 22))]);
    // A message published while others wait goes behind them.
    assert_eq!(h.publish(publisher, "t", "m26", Q1), vec![]);
    let mut rest = Vec::new();
    for id in [2, 4, 5, 6] {
        rest.extend(h.send(s, puback(id)));
    }
    assert_eq!(payloads(&rest), vec!["m23", "m24", "m25", "m26"], "[MQTT-4.6.0-6]");
    assert_eq!(h.session("s").queued, vec![]);
}

#[test]
fn qos0_is_sent_at_once_even_when_the_window_is_full() {
    // As mosquitto: QoS 0 to an online client is sent or dropped, never queued, so it can overtake
    // queued QoS 1/2 messages (ordering is per QoS [MQTT-4.6.0-6]).
    let (mut h, publisher, s) = setup(Config { max_inflight_messages: 1, ..Config::default() }, Q1);
    assert_eq!(h.publish(publisher, "t", "a", Q1), vec![tx(s, publish("t", "a", Q1, 1))]);
    assert_eq!(h.publish(publisher, "t", "b", Q1), vec![]);
    assert_eq!(h.publish(publisher, "t", "c", Q0), vec![tx(s, publish("t", "c", Q0, 0))]);
    assert_eq!(h.send(s, puback(1)), vec![tx(s, publish("t", "b", Q1, 2))]);
}

#[test]
fn max_queued_messages_drops_new_messages_when_full_and_the_publisher_still_gets_puback() {
    // mosquitto 2.0: tail drop, counted; the publisher's acknowledgement is unaffected.
    let (mut h, publisher, s) = setup(Config { max_queued_messages: 100, ..Config::default() }, Q1);
    h.lost(s);
    h.drain_events();
    for i in 1..=100 {
        assert_eq!(h.publish(publisher, "t", &format!("m{i}"), Q1), vec![]);
    }
    assert_eq!(h.drain_events(), vec![]);
    assert_eq!(h.send(publisher, publish("t", "m101", Q1, 500)), vec![tx(publisher, puback(500))]);
    assert_eq!(
        h.drain_events(),
        vec![Event::Dropped { client_id: "s".into(), topic: "t".into(), qos: Q1, reason: DropReason::QueueFull }]
    );
    let view = h.session("s");
    assert_eq!(payloads_of(&view.queued), numbered("m", 1..=100));
    assert_eq!(view.drops, [(DropReason::QueueFull, 1)].into());
    assert_eq!(DropReason::QueueFull.as_str(), "queue_full");

    // On reconnect the window takes the first 20; the rest follow as acknowledgements come.
    let (c, actions) = resume(&mut h);
    let mut expected = vec![tx(c, connack(true))];
    expected.extend((1..=20).map(|i| tx(c, publish("t", &format!("m{i}"), Q1, i))));
    assert_eq!(actions, expected);
    assert_eq!(h.session("s").queued.len(), 80);
    let mut rest = Vec::new();
    for id in 1..=100 {
        rest.extend(h.send(c, puback(id)));
    }
    assert_eq!(payloads(&rest), numbered("m", 21..=100));
}

#[test]
fn max_queued_messages_counts_only_messages_beyond_the_window_when_online() {
    let config = Config { max_inflight_messages: 2, max_queued_messages: 3, ..Config::default() };
    let (mut h, publisher, s) = setup(config, Q1);
    let mut sent = Vec::new();
    for i in 1..=6 {
        sent.extend(h.publish(publisher, "t", &format!("m{i}"), Q1));
    }
    assert_eq!(sent, vec![tx(s, publish("t", "m1", Q1, 1)), tx(s, publish("t", "m2", Q1, 2))]);
    let view = h.session("s");
    assert_eq!(payloads_of(&view.queued), vec!["m3", "m4", "m5"]);
    assert_eq!(view.drops, [(DropReason::QueueFull, 1)].into());
    // A slot frees, the queue moves up, and there is room again.
    assert_eq!(h.send(s, puback(1)), vec![tx(s, publish("t", "m3", Q1, 3))]);
    assert_eq!(h.publish(publisher, "t", "m7", Q1), vec![]);
    assert_eq!(payloads_of(&h.session("s").queued), vec!["m4", "m5", "m7"]);
}

#[test]
fn max_queued_bytes_limits_queued_payload_bytes() {
    let config = Config { max_queued_bytes: 10, max_inflight_messages: 1, ..Config::default() };
    let (mut h, publisher, s) = setup(config, Q1);
    h.lost(s);
    h.drain_events();
    h.publish(publisher, "t", "aaaa", Q1); // 4
    h.publish(publisher, "t", "bbbb", Q1); // 8
    h.publish(publisher, "t", "cccc", Q1); // 12 > 10: dropped
    h.publish(publisher, "t", "dd", Q1); // 10: fits exactly
    h.publish(publisher, "t", "e", Q1); // 11: dropped
    let dropped =
        Event::Dropped { client_id: "s".into(), topic: "t".into(), qos: Q1, reason: DropReason::QueueBytesFull };
    assert_eq!(h.drain_events(), vec![dropped.clone(), dropped]);
    let view = h.session("s");
    assert_eq!(payloads_of(&view.queued), vec!["aaaa", "bbbb", "dd"]);
    assert_eq!(view.drops, [(DropReason::QueueBytesFull, 2)].into());
    assert_eq!(DropReason::QueueBytesFull.as_str(), "queue_bytes_full");

    // Bytes that leave the queue are freed: 6 bytes remain queued after "aaaa" goes in flight.
    let (c, actions) = resume(&mut h);
    assert_eq!(actions, vec![tx(c, connack(true)), tx(c, publish("t", "aaaa", Q1, 1))]);
    h.lost(c);
    h.publish(publisher, "t", "ffff", Q1); // 10
    h.publish(publisher, "t", "g", Q1); // 11: dropped
    assert_eq!(payloads_of(&h.session("s").queued), vec!["bbbb", "dd", "ffff"]);
    assert_eq!(h.session("s").drops, [(DropReason::QueueBytesFull, 3)].into());
}

#[test]
fn unsubscribe_stops_new_messages_but_inflight_and_queued_ones_complete() {
    let (mut h, publisher, s) = setup(Config { max_inflight_messages: 1, ..Config::default() }, Q2);
    assert_eq!(h.publish(publisher, "t", "m1", Q2), vec![tx(s, publish("t", "m1", Q2, 1))]);
    assert_eq!(h.publish(publisher, "t", "m2", Q1), vec![]);
    assert_eq!(h.send(s, unsubscribe(5, &["t"])), vec![tx(s, Packet::unsuback(pid(5)))]);
    assert_eq!(h.publish(publisher, "t", "m3", Q1), vec![], "[MQTT-3.10.4-2] no new messages");
    let view = h.session("s");
    assert_eq!(view.subscriptions, vec![]);
    assert_eq!(view.queued, vec![msg("t", "m2", Q1, false)]);
    assert_eq!(view.drops, BTreeMap::new()); // m3 was not dropped: it was never for this session
    assert_eq!(h.send(s, pubrec(1)), vec![tx(s, pubrel(1))], "[MQTT-3.10.4-3] the flow under way completes");
    assert_eq!(
        h.send(s, pubcomp(1)),
        vec![tx(s, publish("t", "m2", Q1, 2))],
        "[MQTT-3.10.4-3] and so does the queued message"
    );
    assert_eq!(h.send(s, puback(2)), vec![]);
    assert_eq!(h.session("s").inflight_out, vec![]);
}

#[test]
fn queued_messages_keep_the_qos_they_were_queued_with() {
    // mosquitto 2.0: QoS is fixed when a message is queued; re-subscribing at another QoS changes
    // only what comes later [MQTT-3.8.4-3].
    let (mut h, publisher, s) = setup(Config { max_inflight_messages: 1, ..Config::default() }, Q2);
    h.publish(publisher, "t", "m1", Q2);
    h.publish(publisher, "t", "m2", Q2);
    assert_eq!(h.send(s, subscribe(9, &[("t", Q1)])), vec![tx(s, suback(9, &[Q1]))]);
    assert_eq!(h.session("s").queued, vec![msg("t", "m2", Q2, false)]);
    h.send(s, pubrec(1));
    assert_eq!(h.send(s, pubcomp(1)), vec![tx(s, publish("t", "m2", Q2, 2))]);
    h.send(s, pubrec(2));
    h.send(s, pubcomp(2));
    assert_eq!(h.publish(publisher, "t", "m3", Q2), vec![tx(s, publish("t", "m3", Q1, 3))]);
}

fn payloads_of(queued: &[MessageView]) -> Vec<String> {
    queued.iter().map(|m| String::from_utf8_lossy(&m.payload).into_owned()).collect()
}

#[test]
fn queued_qos0_keeps_its_order_when_the_window_is_full() {
    // Same topic and QoS, same order [MQTT-4.6.0-6]. A QoS 0 message queued while offline
    // (queue_qos0_messages) needs no window slot, so it goes out on reconnect even when the
    // re-sent messages fill the window (as in mosquitto), and a live QoS 0 message never
    // overtakes one still queued.
    let config = Config { queue_qos0_messages: true, max_inflight_messages: 1, ..Config::default() };
    let (mut h, publisher, s) = setup(config, Q1);
    assert_eq!(h.publish(publisher, "t", "m1", Q1), vec![tx(s, publish("t", "m1", Q1, 1))]);
    h.lost(s);
    h.publish(publisher, "t", "a", Q0);
    h.publish(publisher, "t", "b", Q1);
    h.publish(publisher, "t", "c", Q0);
    let (c, actions) = resume(&mut h);
    assert_eq!(
        actions,
        vec![tx(c, connack(true)), tx(c, publish("t", "m1", Q1, 1).dup()), tx(c, publish("t", "a", Q0, 0))]
    );
    // "c" waits behind "b", which waits for a window slot; "d" must not overtake "c".
    assert_eq!(h.publish(publisher, "t", "d", Q0), vec![]);
    assert_eq!(
        h.send(c, puback(1)),
        vec![tx(c, publish("t", "b", Q1, 2)), tx(c, publish("t", "c", Q0, 0)), tx(c, publish("t", "d", Q0, 0))],
        "[MQTT-4.6.0-6] \"d\" does not overtake \"c\""
    );
    // With nothing queued, QoS 0 goes straight out again.
    assert_eq!(h.publish(publisher, "t", "e", Q0), vec![tx(c, publish("t", "e", Q0, 0))]);
}

#[test]
fn zero_limits_mean_no_limit() {
    // mosquitto: max_inflight_messages 0 and max_queued_messages 0 mean "no maximum".
    let config = Config { max_inflight_messages: 0, max_queued_messages: 0, ..Config::default() };
    let (mut h, publisher, s) = setup(config, Q1);
    let mut sent = Vec::new();
    for i in 1..=100 {
        sent.extend(h.publish(publisher, "t", &format!("m{i}"), Q1));
    }
    assert_eq!(payloads(&sent), numbered("m", 1..=100));
    h.lost(s);
    for i in 1..=2000 {
        h.publish(publisher, "t", &format!("q{i}"), Q1);
    }
    let view = h.session("s");
    assert_eq!((view.inflight_out.len(), view.queued.len()), (100, 2000));
    assert!(view.drops.is_empty());
}

#[test]
fn queued_qos0_counts_against_max_queued_messages() {
    // As mosquitto's manual says ("included in the limit"); its code counts only QoS 1/2.
    let config = Config { queue_qos0_messages: true, max_queued_messages: 2, ..Config::default() };
    let (mut h, publisher, s) = setup(config, Q1);
    h.lost(s);
    h.publish(publisher, "t", "a", Q0);
    h.publish(publisher, "t", "b", Q0);
    h.publish(publisher, "t", "c", Q1);
    let view = h.session("s");
    assert_eq!(view.queued, vec![msg("t", "a", Q0, false), msg("t", "b", Q0, false)]);
    assert_eq!(view.drops, [(DropReason::QueueFull, 1)].into());
}
