//! Timers: PINGREQ after a keep alive of silence from the client, the PINGRESP deadline, keep
//! alive 0, and the CONNACK deadline.

use super::*;

#[test]
fn pingreq_goes_out_after_keep_alive_seconds_without_sending() {
    // The CONNECT at 0 s is the last packet sent, however late the CONNACK.
    let mut h = Harness::new(opts("c", false, 10));
    h.open();
    h.now = at(1_000);
    h.feed(connack(false));
    h.events();
    assert_eq!(h.session.poll_timeout(), Some(at(10_000)));
    assert_eq!(h.advance_to(9_999), vec![]);
    assert_eq!(h.advance_to(10_000), vec![send(Packet::Pingreq)], "[MQTT-3.1.2-23]");
    // The PINGRESP is due within the keep alive.
    assert_eq!(h.session.poll_timeout(), Some(at(20_000)));
    h.now = at(11_000);
    assert_eq!(h.feed(Packet::Pingresp), vec![]);
    h.assert_quiet();
    // The next PINGREQ is a keep alive after the last one.
    assert_eq!(h.session.poll_timeout(), Some(at(20_000)));
    assert_eq!(h.advance_to(19_999), vec![]);
    assert_eq!(h.advance_to(20_000), vec![send(Packet::Pingreq)]);
}

#[test]
fn sending_any_packet_pushes_the_pingreq_back_and_receiving_does_not() {
    // It is the interval between packets the client sends that keep alive bounds.
    let mut h = Harness::connected_with(opts("c", false, 10));
    h.now = at(6_000);
    h.publish_ok("t", "a", Q0, 0);
    assert_eq!(h.session.poll_timeout(), Some(at(16_000)));
    // A QoS 0 message from the server needs no answer: the timer stays.
    h.now = at(8_000);
    h.feed(publish("t", "x", Q0, 0));
    assert_eq!(h.session.poll_timeout(), Some(at(16_000)));
    // A QoS 1 message is answered with PUBACK, which is traffic.
    h.now = at(9_000);
    assert_eq!(h.feed(publish("t", "y", Q1, 4)), vec![send(puback(4))]);
    assert_eq!(h.session.poll_timeout(), Some(at(19_000)));
    assert_eq!(h.advance_to(18_999), vec![]);
    assert_eq!(h.advance_to(19_000), vec![send(Packet::Pingreq)], "[MQTT-3.1.2-23] a keep alive after the PUBACK");
    h.events();
}

#[test]
fn no_pingresp_within_keep_alive_closes_the_transport() {
    // [MQTT-3.1.2-23] (spec 3.1.2.10: close when no PINGRESP comes in a reasonable time)
    let mut h = Harness::connected_with(opts("c", false, 10));
    assert_eq!(h.advance_to(10_000), vec![send(Packet::Pingreq)]);
    // Our own traffic does not move the PINGRESP deadline, and no second PINGREQ goes out.
    h.now = at(15_000);
    h.publish_ok("t", "a", Q1, 1);
    assert_eq!(h.session.poll_timeout(), Some(at(20_000)));
    // Other packets from the server are not a PINGRESP.
    h.feed(puback(1));
    assert_eq!(h.events(), vec![published(1)]);
    assert_eq!(h.advance_to(19_999), vec![]);
    assert_eq!(h.advance_to(20_000), vec![close(CloseCause::PingTimeout)]);
    assert_eq!(h.events(), vec![disconnected(Some(CloseCause::PingTimeout))]);
    assert_eq!(h.session.poll_timeout(), None);
    assert!(!h.session.is_connected());
    assert_eq!(h.feed(Packet::Pingresp), vec![]);
    h.assert_quiet();
}

#[test]
fn keep_alive_0_arms_no_timer_once_connected() {
    // [MQTT-3.1.2-23]: keep alive 0 turns the mechanism off (spec 3.1.2.10).
    let mut h = Harness::connected_with(opts("c", false, 0));
    assert_eq!(h.session.poll_timeout(), None);
    h.publish_ok("t", "a", Q1, 1);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.advance(secs(86_400)), vec![]);
    h.session.handle_timeout(h.now);
    h.assert_quiet();
}

#[test]
fn an_unsolicited_pingresp_changes_nothing() {
    let mut h = Harness::connected_with(opts("c", false, 10));
    h.now = at(3_000);
    assert_eq!(h.feed(Packet::Pingresp), vec![]);
    h.assert_quiet();
    assert_eq!(h.session.poll_timeout(), Some(at(10_000)));
}

#[test]
fn no_timer_runs_without_a_connection() {
    let mut h = Harness::new(opts("c", false, 10));
    assert_eq!(h.session.poll_timeout(), None);
    h.connect(false);
    h.lose();
    h.events();
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.advance(secs(3_600)), vec![]);
    h.session.handle_timeout(h.now);
    h.assert_quiet();
}

#[test]
fn no_connack_within_the_keep_alive_closes_the_transport() {
    // Spec 3.1.4: a client that gets no CONNACK in a reasonable time closes the connection.
    let mut h = Harness::new(opts("c", false, 10));
    h.now = at(2_000);
    h.open();
    assert_eq!(h.session.poll_timeout(), Some(at(12_000)));
    assert_eq!(h.advance_to(11_999), vec![]);
    assert_eq!(h.advance_to(12_000), vec![close(CloseCause::ConnackTimeout)]);
    assert_eq!(h.events(), vec![disconnected(Some(CloseCause::ConnackTimeout))]);
    assert_eq!(h.session.poll_timeout(), None);
    assert_eq!(h.feed(connack(false)), vec![], "a CONNACK on the closed transport is ignored");
    h.assert_quiet();
}

#[test]
fn without_keep_alive_the_connack_deadline_is_30_seconds() {
    let mut h = Harness::new(opts("c", true, 0));
    h.open();
    assert_eq!(h.session.poll_timeout(), Some(at(30_000)));
    assert_eq!(h.advance_to(29_999), vec![]);
    assert_eq!(h.advance_to(30_000), vec![close(CloseCause::ConnackTimeout)]);
    assert_eq!(h.events(), vec![disconnected(Some(CloseCause::ConnackTimeout))]);
}
