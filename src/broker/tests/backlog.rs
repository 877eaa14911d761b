//! Slow readers: a connected client whose driver reports unwritten packets (`handle_backlog`)
//! at `max_queued_messages` gets no more QoS 0 (dropped as `slow_client`, as mosquitto drops
//! packets for a client whose write queue is full) and no more QoS 1/2 moved into its window;
//! those wait in the session's queue, within its limits, and flow again once the backlog drains.

use super::*;

/// `max_queued_messages` 3, window 2; a persistent subscriber `s` on `q0` at QoS 0 and `q1` at
/// QoS 1 whose driver reports a backlog, and a publisher.
fn setup() -> (Harness, ConnId, ConnId) {
    let config = Config { max_queued_messages: 3, max_inflight_messages: 2, ..Config::default() };
    let mut h = Harness::with_config(config);
    let publisher = h.client("pub", true);
    let s = h.client("s", false);
    h.subscribe(s, "q0", Q0);
    h.subscribe(s, "q1", Q1);
    h.broker.handle_backlog(s, 0);
    (h, publisher, s)
}

#[test]
fn a_slow_reader_loses_qos0_past_the_backlog_limit_and_is_counted() {
    let (mut h, publisher, s) = setup();
    for i in 1..=3 {
        assert_eq!(payloads(&h.publish(publisher, "q0", &format!("a{i}"), Q0)), vec![format!("a{i}")]);
    }
    assert_eq!(h.broker.backlog(s), Some(3));
    // The fourth finds three packets unwritten: dropped, counted, reported.
    assert_eq!(h.publish(publisher, "q0", "a4", Q0), vec![]);
    assert_eq!(
        h.drain_events(),
        vec![Event::Dropped { client_id: "s".into(), topic: "q0".into(), qos: Q0, reason: DropReason::SlowClient }]
    );
    assert_eq!(h.session("s").drops, [(DropReason::SlowClient, 1)].into());
    assert_eq!(DropReason::SlowClient.as_str(), "slow_client");
    // Answers to the client's own packets still go out.
    assert_eq!(h.send(s, Packet::Pingreq), vec![tx(s, Packet::Pingresp)], "[MQTT-3.12.4-1]");

    // The driver wrote everything: QoS 0 flows again, and the publisher never noticed.
    h.broker.handle_backlog(s, 0);
    assert_eq!(payloads(&h.publish(publisher, "q0", "a5", Q0)), vec!["a5"]);
}

#[test]
fn a_slow_reader_keeps_qos1_queued_within_limits_and_gets_it_when_it_reads_again() {
    let (mut h, publisher, s) = setup();
    h.broker.handle_backlog(s, 3);
    // Every publisher is acknowledged [MQTT-4.3.2-2]; nothing goes to the slow reader, the
    // session queues three and drops the fourth by its own limit.
    for i in 1..=4 {
        assert_eq!(h.publish(publisher, "q1", &format!("m{i}"), Q1), vec![]);
    }
    let view = h.session("s");
    assert_eq!(view.queued.len(), 3);
    assert_eq!(view.inflight_out, vec![]);
    assert_eq!(view.drops, [(DropReason::QueueFull, 1)].into());

    // Two packets written: room for one more packet, so one message moves into the window.
    h.broker.handle_backlog(s, 2);
    assert_eq!(h.drain_actions(), vec![tx(s, publish("q1", "m1", Q1, 1))]);
    // Everything written: the window (2) fills, in order.
    h.broker.handle_backlog(s, 0);
    assert_eq!(h.drain_actions(), vec![tx(s, publish("q1", "m2", Q1, 2))], "[MQTT-4.6.0-6]");
    assert_eq!(h.send(s, puback(1)), vec![tx(s, publish("q1", "m3", Q1, 3))]);
    assert_eq!(h.send(s, puback(2)), vec![]);
    assert_eq!(h.send(s, puback(3)), vec![]);
    assert_eq!(h.session("s").queued, vec![]);
}

#[test]
fn without_backlog_reports_or_with_no_queue_limit_nothing_is_held_back() {
    // A driver that does not report leaves the limit off (the unit tests' and the default).
    let config = Config { max_queued_messages: 3, ..Config::default() };
    let mut h = Harness::with_config(config);
    let publisher = h.client("pub", true);
    let s = h.client("s", false);
    h.subscribe(s, "q0", Q0);
    for i in 1..=10 {
        assert_eq!(payloads(&h.publish(publisher, "q0", &format!("a{i}"), Q0)), vec![format!("a{i}")]);
    }
    assert_eq!(h.broker.backlog(s), None);

    // max_queued_messages 0 means no limit, here too.
    let mut h = Harness::with_config(Config { max_queued_messages: 0, ..Config::default() });
    let publisher = h.client("pub", true);
    let s = h.client("s", false);
    h.subscribe(s, "q0", Q0);
    h.broker.handle_backlog(s, 1_000_000);
    assert_eq!(payloads(&h.publish(publisher, "q0", "a", Q0)), vec!["a"]);
}
