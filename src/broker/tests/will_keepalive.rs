//! Will messages (when they are published, with which flags, and when they are discarded) and the
//! keep-alive timeout on the virtual clock.

use super::*;

/// A harness without `connect_timeout`, so `poll_timeout` shows only keep-alive deadlines, and a
/// clean `watcher` subscribed to `will/#` at `granted`.
fn watched(granted: QoS) -> (Harness, ConnId) {
    let mut h = Harness::with_config(Config { connect_timeout: None, ..Config::default() });
    let watcher = h.client("watcher", true);
    h.subscribe(watcher, "will/#", granted);
    (h, watcher)
}

/// Connects `c` (clean session 1, keep alive `keep_alive`) with a will on `will/c`.
fn with_will_connect(h: &mut Harness, keep_alive: u16, qos: QoS, retain: bool) -> ConnId {
    h.client_with(with_will(Connect::new("c", true, keep_alive), "will/c", "bye", qos, retain))
}

#[test]
fn will_is_published_once_when_the_connection_is_lost() {
    let (mut h, watcher) = watched(Q2);
    let c = with_will_connect(&mut h, 0, Q1, false);
    // No Close action: the transport is already gone.
    assert_eq!(
        h.lost(c),
        vec![tx(watcher, publish("will/c", "bye", Q1, 1))],
        "[MQTT-3.1.2-8] published at its QoS, [MQTT-3.1.2-16] RETAIN 0 [MQTT-3.8.4-6] within the granted QoS"
    );
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: c, client_id: Some("c".into()), reason: CloseReason::ConnectionLost },
            Event::SessionDiscarded { client_id: "c".into() },
            Event::WillPublished { client_id: "c".into(), topic: "will/c".into() },
        ]
    );
    assert_eq!(h.view().retained, vec![], "[MQTT-3.1.2-16] will retain 0 is not retained");
    assert_eq!(h.lost(c), vec![]); // published once [MQTT-3.1.2-10]
}

#[test]
fn will_qos_is_capped_by_the_subscription() {
    let (mut h, watcher) = watched(Q0);
    let c = with_will_connect(&mut h, 0, Q2, false);
    assert_eq!(h.lost(c), vec![tx(watcher, publish("will/c", "bye", Q0, 0))], "[MQTT-3.8.4-6]");
}

#[test]
fn will_retain_1_is_published_as_a_retained_message() {
    let (mut h, watcher) = watched(Q1);
    let c = with_will_connect(&mut h, 0, Q1, true);
    assert_eq!(
        h.lost(c),
        vec![tx(watcher, publish("will/c", "bye", Q1, 1))],
        "[MQTT-3.3.1-9] RETAIN 0 to an established subscription"
    );
    assert_eq!(
        h.view().retained,
        vec![RetainedView { topic: "will/c".into(), payload: Bytes::from_static(b"bye"), qos: Q1, expires_in: None }],
        "[MQTT-3.1.2-17] published as a retained message"
    );
    let late = h.client("late", true);
    assert_eq!(
        h.send(late, subscribe(1, &[("will/+", Q2)])),
        vec![tx(late, suback(1, &[Q2])), tx(late, publish("will/c", "bye", Q1, 1).retain())],
        "[MQTT-3.3.1-8] RETAIN 1 to a new subscription"
    );
}

#[test]
fn disconnect_discards_the_will() {
    let (mut h, _watcher) = watched(Q0);
    let c = with_will_connect(&mut h, 0, Q0, true);
    assert_eq!(
        h.send(c, Packet::disconnect()),
        vec![closed(c, CloseReason::ClientDisconnected)],
        "[MQTT-3.14.4-3] [MQTT-3.1.2-10] DISCONNECT: no will published"
    );
    assert_eq!(h.lost(c), vec![]);
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: c, client_id: Some("c".into()), reason: CloseReason::ClientDisconnected },
            Event::SessionDiscarded { client_id: "c".into() },
        ]
    );
    assert_eq!(h.view().retained, vec![], "[MQTT-3.14.4-3] nor retained");
}

#[test]
fn without_a_will_nothing_is_published() {
    let (mut h, _watcher) = watched(Q0);
    let c = h.client("c", true);
    assert_eq!(h.lost(c), vec![], "[MQTT-3.1.2-12]");
    assert!(!h.drain_events().iter().any(|e| matches!(e, Event::WillPublished { .. })), "[MQTT-3.1.2-12]");
}

#[test]
fn will_is_published_when_the_server_closes_for_a_protocol_violation() {
    // The server closed the connection without a DISCONNECT.
    let (mut h, watcher) = watched(Q0);
    let c = with_will_connect(&mut h, 0, Q0, false);
    assert_eq!(
        h.connect(c, "c", true, 0),
        vec![closed(c, violation("second CONNECT [MQTT-3.1.0-2]")), tx(watcher, publish("will/c", "bye", Q0, 0))],
        "[MQTT-4.8.0-1] closed, [MQTT-3.1.2-8] will published"
    );
    let c = with_will_connect(&mut h, 0, Q0, false);
    assert_eq!(
        h.decode_error(c, DecodeError::InvalidQos),
        vec![closed(c, CloseReason::Malformed(DecodeError::InvalidQos)), tx(watcher, publish("will/c", "bye", Q0, 0))],
        "[MQTT-4.8.0-1] closed, [MQTT-3.1.2-8] will published"
    );
}

#[test]
fn keep_alive_closes_at_exactly_one_and_a_half_times_and_publishes_the_will() {
    let (mut h, watcher) = watched(Q0);
    let c = with_will_connect(&mut h, 10, Q0, false);
    assert_eq!(h.broker.poll_timeout(), Some(at(15_000)));
    h.advance(ms(14_999));
    assert_eq!(h.drain_actions(), vec![], "[MQTT-3.1.2-24] not before 1.5 times the keep alive");
    h.advance(ms(1));
    assert_eq!(
        h.drain_actions(),
        vec![closed(c, CloseReason::KeepAliveTimeout), tx(watcher, publish("will/c", "bye", Q0, 0))],
        "[MQTT-3.1.2-24] closed at 1.5 times the keep alive, [MQTT-3.1.2-8] as a network failure: will published"
    );
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: c, client_id: Some("c".into()), reason: CloseReason::KeepAliveTimeout },
            Event::SessionDiscarded { client_id: "c".into() },
            Event::WillPublished { client_id: "c".into(), topic: "will/c".into() },
        ]
    );
    assert_eq!(h.broker.poll_timeout(), None);
}

#[test]
fn any_packet_pushes_the_keep_alive_deadline_back() {
    // The limit runs from the last packet received, whatever its type.
    let (mut h, _watcher) = watched(Q0);
    let c = h.client_with(Connect::new("c", true, 10));
    h.advance(secs(14)); // 1.4 times the keep alive
    assert_eq!(h.send(c, Packet::Pingreq), vec![tx(c, Packet::Pingresp)]);
    h.advance(secs(1)); // the first deadline passes: nothing happens
    assert_eq!(h.drain_actions(), vec![]);
    assert_eq!(h.broker.poll_timeout(), Some(at(29_000)));
    h.advance(secs(13)); // t = 28 s
    assert_eq!(h.send(c, publish("t", "x", Q0, 0)), vec![]);
    assert_eq!(h.broker.poll_timeout(), Some(at(29_000))); // a spurious wake-up, harmless
    h.advance(ms(14_999)); // t = 42.999 s
    assert_eq!(h.drain_actions(), vec![], "[MQTT-3.1.2-24] 1.5 times from the last packet, not yet");
    assert_eq!(h.broker.poll_timeout(), Some(at(43_000)));
    h.advance(ms(1));
    assert_eq!(h.drain_actions(), vec![closed(c, CloseReason::KeepAliveTimeout)], "[MQTT-3.1.2-24]");
    assert_eq!(h.now, at(43_000));
}

#[test]
fn keep_alive_limits_are_1_5_times_for_small_and_large_values() {
    for (ka, limit_ms) in [(1u16, 1_500u64), (3, 4_500), (u16::MAX, 98_302_500)] {
        let (mut h, _watcher) = watched(Q0);
        let c = h.client_with(Connect::new("c", true, ka));
        assert_eq!(h.broker.poll_timeout(), Some(at(limit_ms)), "keep alive {ka}");
        h.advance(ms(limit_ms - 1));
        assert_eq!(h.drain_actions(), vec![], "keep alive {ka}");
        h.advance(ms(1));
        assert_eq!(
            h.drain_actions(),
            vec![closed(c, CloseReason::KeepAliveTimeout)],
            "[MQTT-3.1.2-24] keep alive {ka}"
        );
    }
}

#[test]
fn keep_alive_0_never_times_out() {
    let (mut h, _watcher) = watched(Q0);
    let c = h.client_with(Connect::new("c", true, 0));
    assert_eq!(h.broker.poll_timeout(), None);
    h.advance(secs(7 * 24 * 3600));
    assert_eq!(h.drain_actions(), vec![]);
    assert!(h.session("c").connected);
    assert_eq!(h.send(c, Packet::Pingreq), vec![tx(c, Packet::Pingresp)]);
}

#[test]
fn connect_timeout_timer_does_not_shorten_the_keep_alive() {
    // With the default connect_timeout (10 s) a check was armed at 10 s; the accepted CONNECT
    // replaces it with the keep-alive deadline, so it neither closes early nor lingers.
    let mut h = Harness::new();
    let c = h.client_with(Connect::new("c", true, 10));
    assert_eq!(h.broker.poll_timeout(), Some(at(15_000)));
    assert_eq!(h.view().timers, 1);
    h.advance(ms(14_999));
    assert_eq!(h.drain_actions(), vec![]);
    h.advance(ms(1));
    assert_eq!(h.drain_actions(), vec![closed(c, CloseReason::KeepAliveTimeout)]);
}

#[test]
fn keep_alive_of_a_taken_over_connection_does_not_affect_the_new_one() {
    let (mut h, _watcher) = watched(Q0);
    let old = h.client_with(Connect::new("p", false, 10));
    h.advance(secs(12));
    let new = h.open();
    assert_eq!(
        h.connect(new, "p", false, 10),
        vec![closed(old, CloseReason::TakenOver), tx(new, connack(true))],
        "[MQTT-3.1.4-2]"
    );
    h.advance(secs(14)); // t = 26 s: the old deadline (15 s) has passed
    assert_eq!(h.drain_actions(), vec![]);
    h.advance(secs(1)); // t = 27 s = 12 + 15
    assert_eq!(
        h.drain_actions(),
        vec![closed(new, CloseReason::KeepAliveTimeout)],
        "[MQTT-3.1.2-24] 1.5 times from the new connection's last packet"
    );
    assert!(!h.session("p").connected);
}
