//! State across connections: what a persistent session re-sends and remembers, and what a clean
//! session forgets.

use super::*;

/// A persistent session with, in send order: QoS 1 "a" (id 1, RETAIN 1) awaiting PUBACK, QoS 2
/// "b" (id 2) awaiting PUBCOMP, QoS 1 "c" (id 3) acknowledged, QoS 2 "d" (id 4) awaiting PUBREC,
/// QoS 0 "e", QoS 1 "f" (id 5) awaiting PUBACK; then the transport is lost.
fn interrupted_session() -> Harness {
    let mut h = Harness::connected(false);
    let got = h.session.publish("t/a", Bytes::from_static(b"a"), Q1, true, h.now);
    assert_eq!(got, Ok(Some(pid(1))));
    assert_eq!(h.actions(), vec![send(publish("t/a", "a", Q1, 1).retain())]);
    h.publish_ok("t/b", "b", Q2, 2);
    h.publish_ok("t/c", "c", Q1, 3);
    h.publish_ok("t/d", "d", Q2, 4);
    h.publish_ok("t/e", "e", Q0, 0);
    h.publish_ok("t/f", "f", Q1, 5);
    assert_eq!(h.feed(pubrec(2)), vec![send(pubrel(2))]);
    assert_eq!(h.feed(puback(3)), vec![]);
    assert_eq!(h.events(), vec![published(3)]);
    assert_eq!(h.lose(), vec![]);
    assert_eq!(h.events(), vec![disconnected(None)]);
    h
}

/// What [`interrupted_session`] owes on a resumed session: PUBLISH with DUP 1 and the same id,
/// flags and payload for those awaiting PUBACK or PUBREC, PUBREL for the one awaiting PUBCOMP,
/// all in the order the PUBLISH packets were first sent.
fn owed_resends() -> Vec<ClientAction> {
    vec![
        send(publish("t/a", "a", Q1, 1).retain().dup()),
        send(pubrel(2)),
        send(publish("t/d", "d", Q2, 4).dup()),
        send(publish("t/f", "f", Q1, 5).dup()),
    ]
}

#[test]
fn a_resumed_session_resends_unacknowledged_publish_with_dup_and_pubrel_in_original_order() {
    let mut h = interrupted_session();
    assert_eq!(
        h.connect(true),
        owed_resends(),
        "[MQTT-3.1.2-4] [MQTT-4.4.0-1] the resumed session re-sends: [MQTT-3.3.1-1] DUP 1, [MQTT-2.3.1-3] the same \
         ids, [MQTT-4.3.3-1] PUBREL past PUBREC, [MQTT-4.6.0-1] in the original order"
    );
    assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: true }]);
    // The flows finish as usual.
    assert_eq!(h.feed(puback(1)), vec![]);
    assert_eq!(h.feed(pubcomp(2)), vec![]);
    assert_eq!(h.feed(pubrec(4)), vec![send(pubrel(4))]);
    assert_eq!(h.feed(pubcomp(4)), vec![]);
    assert_eq!(h.feed(puback(5)), vec![]);
    assert_eq!(h.events(), vec![published(1), published(2), published(4), published(5)]);
    assert_eq!(h.unacknowledged(), vec![]);
    // Nothing is owed any more.
    h.lose();
    h.events();
    assert_eq!(h.connect(true), vec![]);
}

#[test]
fn resends_repeat_on_every_reconnect_until_acknowledged() {
    let mut h = interrupted_session();
    assert_eq!(h.connect(true), owed_resends());
    h.lose();
    assert_eq!(
        h.connect(true),
        owed_resends(),
        "[MQTT-4.4.0-1] [MQTT-2.3.1-3] same ids, DUP 1, original order, however often it reconnects"
    );
    // Half of them get through before the next loss.
    h.feed(puback(1));
    assert_eq!(h.feed(pubrec(4)), vec![send(pubrel(4))]);
    h.lose();
    h.events();
    assert_eq!(h.connect(true), vec![send(pubrel(2)), send(pubrel(4)), send(publish("t/f", "f", Q1, 5).dup())]);
}

#[test]
fn new_publications_after_a_reconnect_use_ids_the_session_does_not_hold() {
    let mut h = interrupted_session();
    h.connect(true);
    h.events();
    h.publish_ok("t/g", "g", Q1, 6);
    assert_eq!(
        h.unacknowledged().into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
        vec![1, 2, 4, 5, 6],
        "[MQTT-2.3.1-2] ids 1, 2, 4 and 5 are still in flight after the reconnect"
    );
}

#[test]
fn disconnect_keeps_a_persistent_session_for_the_next_connection() {
    let mut h = Harness::connected(false);
    h.publish_ok("t", "a", Q1, 1);
    h.session.disconnect(h.now);
    assert_eq!(h.actions(), vec![send(Packet::disconnect()), close(CloseCause::Disconnect)]);
    h.events();
    assert_eq!(h.connect(true), vec![send(publish("t", "a", Q1, 1).dup())], "[MQTT-3.1.2-4] [MQTT-4.4.0-1]");
}

#[test]
fn the_incoming_qos2_state_survives_a_reconnect() {
    // A message received before the loss and re-sent by the server afterwards (DUP 1, same id) is
    // not handed over a second time.
    let mut h = Harness::connected(false);
    assert_eq!(h.feed(publish("t", "x", Q2, 7)), vec![send(pubrec(7))]);
    assert_eq!(h.feed(publish("t", "y", Q2, 8)), vec![send(pubrec(8))]);
    assert_eq!(h.events(), vec![message("t", "x", Q2, false, false), message("t", "y", Q2, false, false)]);
    h.lose();
    assert_eq!(h.connect(true), vec![], "the client owes nothing for messages it received");
    assert_eq!(h.events(), vec![disconnected(None), ClientEvent::Connected { session_present: true }]);
    assert_eq!(h.feed(publish("t", "x", Q2, 7).dup()), vec![send(pubrec(7))]);
    assert_eq!(
        h.events(),
        vec![],
        "[MQTT-3.1.2-4] [MQTT-4.1.0-1] the resumed session remembers it: [MQTT-4.3.3-2] not handed over twice"
    );
    assert_eq!(h.feed(pubrel(7)), vec![send(pubcomp(7))]);
    // Message 8's PUBREC had arrived: the server re-sends only the PUBREL.
    assert_eq!(h.feed(pubrel(8)), vec![send(pubcomp(8))]);
    h.assert_quiet();
    // Released, the ids carry new messages.
    assert_eq!(h.feed(publish("t", "z", Q2, 7)), vec![send(pubrec(7))]);
    assert_eq!(h.events(), vec![message("t", "z", Q2, false, false)]);
}

#[test]
fn a_clean_session_discards_its_state_when_the_connection_ends() {
    let mut h = Harness::connected(true);
    h.publish_ok("t", "a", Q1, 1);
    h.publish_ok("t", "b", Q2, 2);
    assert_eq!(h.feed(pubrec(2)), vec![send(pubrel(2))]);
    assert_eq!(h.feed(publish("t", "x", Q2, 7)), vec![send(pubrec(7))]);
    h.events();
    h.lose();
    assert_eq!(h.unacknowledged(), vec![], "[MQTT-3.1.2-6] the clean session's state is gone");
    assert_eq!(h.connect(false), vec![], "[MQTT-3.1.2-6] nothing is re-sent");
    assert_eq!(h.events(), vec![disconnected(None), ClientEvent::Connected { session_present: false }]);
    // Late acks of the old session complete nothing.
    assert_eq!(h.feed(puback(1)), vec![]);
    assert_eq!(h.feed(pubcomp(2)), vec![]);
    h.assert_quiet();
    // Id 7 carries a new message in the new session.
    assert_eq!(h.feed(publish("t", "x", Q2, 7)), vec![send(pubrec(7))]);
    assert_eq!(
        h.events(),
        vec![message("t", "x", Q2, false, false)],
        "[MQTT-3.1.2-6] the held QoS 2 id was forgotten with the session"
    );
}

#[test]
fn a_clean_session_discards_its_state_on_disconnect() {
    let mut h = Harness::connected(true);
    h.publish_ok("t", "a", Q1, 1);
    h.session.disconnect(h.now);
    h.actions();
    h.events();
    assert_eq!(h.unacknowledged(), vec![], "[MQTT-3.1.2-6]");
    assert_eq!(h.connect(false), vec![], "[MQTT-3.1.2-6]");
}

#[test]
fn a_lost_server_session_forgets_incoming_qos2_but_resends_our_publications() {
    // [MQTT-3.1.2-4]: session present 0 means the server holds nothing of ours. Our unacknowledged
    // publications are still re-sent (the server treats them as new); an id held for a QoS 2
    // message from the old session is free, so a PUBLISH on it is a new message.
    let mut h = interrupted_session();
    assert_eq!(h.feed(publish("late", "x", Q2, 9)), vec![], "nothing is processed while disconnected");
    h.open();
    // The incoming QoS 2 id must be held when the loss happens: receive on a resumed connection.
    assert_eq!(h.feed(connack(true)), owed_resends());
    assert_eq!(h.feed(publish("t", "x", Q2, 9)), vec![send(pubrec(9))]);
    h.lose();
    h.events();
    assert_eq!(h.connect(false), owed_resends(), "[MQTT-4.4.0-1] still re-sent");
    assert_eq!(
        h.events(),
        vec![ClientEvent::Connected { session_present: false }, ClientEvent::SessionLost { unacknowledged: 4 }]
    );
    assert_eq!(h.feed(publish("t", "x2", Q2, 9)), vec![send(pubrec(9))]);
    assert_eq!(h.events(), vec![message("t", "x2", Q2, false, false)]);
}

#[test]
fn subscribe_requests_do_not_survive_the_connection() {
    // SUBSCRIBE and UNSUBSCRIBE are not re-sent (only PUBLISH and PUBREL are [MQTT-4.4.0-1]);
    // a SUBACK on the next connection for the old id is not reported.
    let mut h = Harness::connected(false);
    assert_eq!(h.subscribe(&[("t", Q1)]), Ok(pid(1)));
    assert_eq!(h.unsubscribe(&["u"]), Ok(pid(2)));
    h.actions();
    h.lose();
    assert_eq!(h.connect(true), vec![]);
    h.events();
    assert_eq!(h.feed(suback(1, &[SubackCode::Granted(Q1)])), vec![]);
    assert_eq!(h.feed(Packet::unsuback(pid(2))), vec![]);
    h.assert_quiet();
}
