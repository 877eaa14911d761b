//! A scripted client (`manual_acks`): nothing is acknowledged until `ack` asks, in any order the
//! script chooses; `send_packet` writes exactly the packet given and changes no state;
//! `stop_pinging` ends PINGREQ on this connection only. What is owed dies with the connection:
//! the broker re-sends what it still owes after a reconnect [MQTT-4.4.0-1].

use super::*;
use crate::client::AckKind;
use crate::protocol::Version;

fn manual() -> Harness {
    Harness::connected_with(ClientOptions { manual_acks: true, ..opts("c", false, 0) })
}

#[test]
fn nothing_is_acknowledged_until_asked_then_in_the_order_asked() {
    let mut h = manual();
    assert_eq!(h.feed(publish("t", "a", Q1, 1)), vec![]);
    assert_eq!(h.feed(publish("t", "b", Q2, 2)), vec![]);
    assert_eq!(h.feed(publish("t", "c", Q1, 3)), vec![]);
    // Handed to the application all the same.
    assert_eq!(h.events().len(), 3);
    let owed = [(AckKind::Puback, pid(1)), (AckKind::Pubrec, pid(2)), (AckKind::Puback, pid(3))];
    assert_eq!(h.session.owed_acks(), owed);
    // The newest PUBACK first: the script chooses the order.
    assert_eq!(h.session.ack(AckKind::Puback, Some(pid(3)), h.now), Ok(pid(3)));
    assert_eq!(h.actions(), vec![send(Packet::puback(pid(3)))]);
    // Without an id: the oldest owed of that kind.
    assert_eq!(h.session.ack(AckKind::Puback, None, h.now), Ok(pid(1)));
    assert_eq!(h.session.ack(AckKind::Pubrec, None, h.now), Ok(pid(2)));
    assert_eq!(h.actions(), vec![send(Packet::puback(pid(1))), send(Packet::pubrec(pid(2)))]);
    assert_eq!(h.session.ack(AckKind::Pubrec, None, h.now), Err(ClientError::NothingOwed("PUBREC")));
    // PUBREL is answered by hand too; the id is free for a new message at once [MQTT-4.3.3-2].
    assert_eq!(h.feed(Packet::pubrel(pid(2))), vec![]);
    assert_eq!(h.session.owed_acks(), [(AckKind::Pubcomp, pid(2))]);
    assert_eq!(h.session.ack(AckKind::Pubcomp, None, h.now), Ok(pid(2)));
    assert_eq!(h.actions(), vec![send(Packet::pubcomp(pid(2)))]);
}

#[test]
fn our_own_qos2_publication_waits_for_the_scripts_pubrel() {
    let mut h = manual();
    h.publish_ok("t", "m", Q2, 1);
    assert_eq!(h.feed(Packet::pubrec(pid(1))), vec![]);
    assert_eq!(h.session.owed_acks(), [(AckKind::Pubrel, pid(1))]);
    assert_eq!(h.session.ack(AckKind::Pubrel, None, h.now), Ok(pid(1)));
    assert_eq!(h.actions(), vec![send(Packet::pubrel(pid(1)))]);
    h.feed(Packet::pubcomp(pid(1)));
    assert_eq!(h.events(), vec![published(1)]);
}

#[test]
fn what_is_owed_dies_with_the_connection() {
    let mut h = manual();
    h.feed(publish("t", "a", Q1, 1));
    h.lose();
    assert_eq!(h.session.ack(AckKind::Puback, None, h.now), Err(ClientError::NotConnected));
    h.connect(true);
    assert_eq!(h.session.owed_acks(), []);
}

#[test]
fn a_packet_sent_by_hand_goes_out_exactly_and_changes_no_state() {
    let mut h = manual();
    let twice = publish("t", "m", Q2, 7);
    h.session.send_packet(twice.clone(), h.now).unwrap();
    h.session.send_packet(twice.clone().dup(), h.now).unwrap();
    assert_eq!(h.actions(), vec![send(twice.clone()), send(twice.dup())]);
    assert_eq!(h.unacknowledged(), vec![], "not in the outbox: its flow is the script's");
    // The encoder's rules still hold: a wildcard topic in a PUBLISH [MQTT-3.3.2-2] is refused.
    let wild = publish("t/#", "m", Q0, 0);
    assert!(matches!(h.session.send_packet(wild, h.now), Err(ClientError::Invalid(_))));
    let mut raw = bytes::BytesMut::new();
    publish("t/#", "m", Q0, 0).encode_unchecked(Version::V311, &mut raw).unwrap();
    h.session.send_raw(raw.clone().freeze(), h.now).unwrap();
    assert_eq!(h.actions(), vec![ClientAction::SendRaw(raw.freeze())]);
}

#[test]
fn stop_pinging_ends_pingreq_on_this_connection_only() {
    let mut h = Harness::connected_with(opts("c", false, 10));
    h.session.stop_pinging();
    assert_eq!(h.advance(secs(60)), vec![], "no PINGREQ, no ping timeout");
    h.lose();
    h.connect(false);
    h.events();
    assert_eq!(h.advance(secs(10)), vec![send(Packet::Pingreq)], "the next connection pings again");
}
