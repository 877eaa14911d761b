//! The inflight window (`ClientOptions::max_inflight`): how many of our QoS 1/2 publications are
//! on the wire at once, what waits behind them, and what a reconnect sends of each. The window is
//! a choice of ours (libmosquitto's, default 20); it keeps a client within a broker's
//! `max_inflight_messages`, which caps the QoS 2 messages it holds awaiting PUBREL.

use super::*;

fn windowed(max_inflight: u16) -> Harness {
    Harness::connected_with(ClientOptions { max_inflight, ..opts("c", false, 0) })
}

#[test]
fn publications_beyond_the_window_wait_and_leave_in_order_as_flows_complete() {
    // Order kept [MQTT-4.6.0-6]; ids unique among unacknowledged publications.
    let mut h = windowed(2);
    h.publish_ok("t", "1", Q1, 1);
    h.publish_ok("t", "2", Q2, 2);
    // Ids are given at once; the PUBLISH waits.
    assert_eq!(h.publish("t", "3", Q1), Ok(Some(pid(3))));
    assert_eq!(h.publish("t", "4", Q2), Ok(Some(pid(4))), "[MQTT-2.3.1-2] an id none of the others holds");
    assert_eq!(h.actions(), vec![], "the window of 2 is full");
    // QoS 0 has no flow and is not held back.
    h.publish_ok("t", "q0", Q0, 0);
    assert_eq!(h.unacknowledged().len(), 4);
    // A PUBREC does not free a slot: the flow is not complete until PUBCOMP.
    assert_eq!(h.feed(pubrec(2)), vec![send(pubrel(2))]);
    // A PUBACK does; the oldest waiting publication goes out, DUP 0.
    assert_eq!(h.feed(puback(1)), vec![send(publish("t", "3", Q1, 3))]);
    assert_eq!(h.feed(pubcomp(2)), vec![send(publish("t", "4", Q2, 4))]);
    assert_eq!(h.events(), vec![published(1), published(2)]);
    assert_eq!(h.feed(puback(3)), vec![]);
    assert_eq!(h.feed(pubrec(4)), vec![send(pubrel(4))]);
    assert_eq!(h.feed(pubcomp(4)), vec![]);
    assert_eq!(h.events(), vec![published(3), published(4)]);
    assert_eq!(h.unacknowledged(), vec![]);
}

#[test]
fn acknowledgements_for_a_waiting_publication_are_ignored() {
    // The server cannot acknowledge what it never received; the id stays ours.
    let mut h = windowed(1);
    h.publish_ok("t", "1", Q2, 1);
    assert_eq!(h.publish("t", "2", Q1), Ok(Some(pid(2))));
    assert_eq!(h.actions(), vec![]);
    assert_eq!(h.feed(puback(2)), vec![]);
    assert_eq!(h.feed(pubrec(2)), vec![]);
    assert_eq!(h.events(), vec![]);
    assert_eq!(h.unacknowledged(), vec![(1, "t".to_owned()), (2, "t".to_owned())]);
}

#[test]
fn a_resumed_session_resends_what_was_in_flight_with_dup_then_sends_what_waited_without() {
    let mut h = windowed(2);
    h.publish_ok("t", "1", Q1, 1);
    h.publish_ok("t", "2", Q2, 2);
    assert_eq!(h.publish("t", "3", Q1), Ok(Some(pid(3))));
    assert_eq!(h.publish("t", "4", Q1), Ok(Some(pid(4))));
    assert_eq!(h.feed(pubrec(2)), vec![send(pubrel(2))]);
    h.lose();
    h.events();
    assert_eq!(
        h.connect(true),
        vec![send(publish("t", "1", Q1, 1).dup()), send(pubrel(2))],
        "[MQTT-4.4.0-1] [MQTT-3.3.1-1] the re-sends, with DUP 1; the window is still full after them"
    );
    assert_eq!(
        h.feed(puback(1)),
        vec![send(publish("t", "3", Q1, 3))],
        "[MQTT-3.3.1-1] DUP 0 for a PUBLISH not sent before"
    );
    assert_eq!(h.feed(pubcomp(2)), vec![send(publish("t", "4", Q1, 4))]);
}

#[test]
fn a_wider_window_after_reconnect_sends_waiting_publications_at_once() {
    let mut h = windowed(1);
    h.publish_ok("t", "1", Q1, 1);
    assert_eq!(h.publish("t", "2", Q1), Ok(Some(pid(2))));
    assert_eq!(h.actions(), vec![]);
    h.lose();
    h.events();
    h.session.set_options(ClientOptions { max_inflight: 0, ..opts("c", false, 0) });
    assert_eq!(h.connect(true), vec![send(publish("t", "1", Q1, 1).dup()), send(publish("t", "2", Q1, 2))]);
}

#[test]
fn max_inflight_zero_sends_everything_at_once() {
    let mut h = windowed(0);
    for n in 1..=100u16 {
        h.publish_ok("t", &n.to_string(), Q2, n);
    }
    assert_eq!(h.unacknowledged().len(), 100);
}

#[test]
fn the_default_window_is_twenty_as_libmosquitto_and_the_broker_default() {
    let mut h = Harness::connected(false);
    for n in 1..=20u16 {
        h.publish_ok("t", &n.to_string(), Q2, n);
    }
    assert_eq!(h.publish("t", "21", Q2), Ok(Some(pid(21))));
    assert_eq!(h.actions(), vec![]);
    assert_eq!(h.feed(pubrec(1)), vec![send(pubrel(1))]);
    assert_eq!(h.feed(pubcomp(1)), vec![send(publish("t", "21", Q2, 21))]);
}
