//! Incoming QoS 2 messages awaiting PUBREL: the window that caps them (`max_inflight_messages`,
//! as mosquitto caps them, but refusing rather than acknowledging and discarding).

use super::*;

/// The payloads a QoS 1 subscriber `s` is sent among `actions`, acknowledging each.
fn received_by(h: &mut Harness, s: ConnId, actions: &[Action]) -> Vec<String> {
    let mut got = Vec::new();
    for a in actions {
        if let Action::Send { conn, packet: Packet::Publish(p) } = a {
            if *conn == s {
                got.push(String::from_utf8_lossy(&p.payload).into_owned());
                assert_eq!(h.send(s, Packet::puback(p.pkid.expect("QoS 1"))), vec![]);
            }
        }
    }
    got
}

#[test]
fn a_full_incoming_window_refuses_a_new_packet_id_unacknowledged_and_nothing_is_lost() {
    // [MQTT-4.3.3-2]: PUBREC accepts ownership, so a message the broker will not hold gets none;
    // the connection is closed instead, and the will is published.
    let mut h = Harness::new(); // max_inflight_messages 20
    let s = h.client("s", true);
    h.subscribe(s, "t", Q1);
    let watcher = h.client("watcher", true);
    h.subscribe(watcher, "will/#", Q0);
    let p = h.client_with(with_will(Connect::new("p", false, 0), "will/p", "gone", Q0, false));
    for id in 1..=20 {
        assert_eq!(h.send(p, publish("t", &format!("m{id}"), Q2, id)), vec![tx(p, pubrec(id))]);
    }
    assert_eq!(
        h.send(p, publish("t", "m20", Q2, 20).dup()),
        vec![tx(p, pubrec(20))],
        "[MQTT-4.3.3-2] a re-send of an id already held is answered again, full window or not"
    );
    // The window is per session: another publisher is not held back.
    let q = h.client("q", true);
    assert_eq!(h.send(q, publish("other", "q1", Q2, 1)), vec![tx(q, pubrec(1))]);

    // A new id: no PUBREC, nothing stored, routed or retained; the connection closes.
    let reason = CloseReason::IncomingWindowFull { pkid: pid(21), topic: "t".into(), limit: 20 };
    assert_eq!(
        h.send(p, publish("t", "m21", Q2, 21).retain()),
        vec![closed(p, reason.clone()), tx(watcher, publish("will/p", "gone", Q0, 0))],
        "[MQTT-4.8.0-2] closed, [MQTT-3.1.2-8] its will published"
    );
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: p, client_id: Some("p".into()), reason },
            Event::WillPublished { client_id: "p".into(), topic: "will/p".into() },
        ]
    );
    let session = h.session("p");
    assert!(!session.connected);
    assert_eq!(session.incoming_refused, 1);
    let held: Vec<(u16, MessageView)> = (1..=20).map(|id| (id, msg("t", &format!("m{id}"), Q2, false))).collect();
    assert_eq!(session.inflight_in, held);
    assert_eq!(session.drops, BTreeMap::new());
    assert_eq!(h.view().retained, vec![]);
    assert_eq!(h.send(p, pubrel(1)), vec![]); // the closed connection is not read from

    // The publisher reconnects to its session and completes: PUBREL for the 20 held messages
    // (each routed once), then the refused PUBLISH again, now with room.
    let p2 = h.open();
    assert_eq!(h.connect(p2, "p", false, 0), vec![tx(p2, connack(true))]);
    let mut got = Vec::new();
    for id in 1..=20 {
        let mut actions = h.send(p2, pubrel(id));
        assert_eq!(actions.pop(), Some(tx(p2, pubcomp(id))));
        got.extend(received_by(&mut h, s, &actions));
    }
    assert_eq!(h.send(p2, publish("t", "m21", Q2, 21).retain().dup()), vec![tx(p2, pubrec(21))]);
    let mut actions = h.send(p2, pubrel(21));
    assert_eq!(actions.pop(), Some(tx(p2, pubcomp(21))));
    got.extend(received_by(&mut h, s, &actions));
    assert_eq!(got, numbered("m", 1..=21), "[MQTT-4.3.3-2] each message routed once");
    assert_eq!(
        h.view().retained,
        vec![RetainedView { topic: "t".into(), payload: Bytes::from_static(b"m21"), qos: Q2, expires_in: None }]
    );
    let session = h.session("p");
    assert_eq!((session.inflight_in, session.incoming_refused), (vec![], 1));
    // The other publisher's message was never affected.
    assert_eq!(h.send(q, pubrel(1)), vec![tx(q, pubcomp(1))]);
}

#[test]
fn a_clean_session_publisher_refused_loses_only_what_it_never_saw_completed() {
    // The session ends with the connection, the unreleased message with it; its publisher had
    // PUBREC but never PUBCOMP for it [MQTT-4.3.3-1].
    let mut h = Harness::with_config(Config { max_inflight_messages: 1, ..Config::default() });
    let s = h.client("s", true);
    h.subscribe(s, "t", Q2);
    let p = h.client("p", true);
    assert_eq!(h.send(p, publish("t", "a", Q2, 1)), vec![tx(p, pubrec(1))]);
    let reason = CloseReason::IncomingWindowFull { pkid: pid(2), topic: "t".into(), limit: 1 };
    assert_eq!(h.send(p, publish("t", "b", Q2, 2)), vec![closed(p, reason.clone())], "[MQTT-4.8.0-2]");
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: p, client_id: Some("p".into()), reason },
            Event::SessionDiscarded { client_id: "p".into() },
        ]
    );
    assert!(h.view().session("p").is_none(), "[MQTT-3.1.2-6] the clean session ends with the connection");
    // The subscriber was sent nothing and is still served.
    assert_eq!(h.session("s").inflight_out, vec![]);
    let p2 = h.client("p", true);
    assert_eq!(h.publish(p2, "t", "c", Q2), vec![tx(s, publish("t", "c", Q2, 1))]);
}

#[test]
fn max_inflight_messages_0_caps_incoming_only_by_the_packet_ids() {
    // mosquitto's 0 = no limit: all 65,535 ids may await PUBREL at once [MQTT-2.3.1-1].
    let mut h = Harness::with_config(Config { max_inflight_messages: 0, ..Config::default() });
    let p = h.client("p", false);
    for id in 1..=u16::MAX {
        assert_eq!(h.send(p, publish("t", "x", Q2, id)), vec![tx(p, pubrec(id))]);
    }
    let session = h.session("p");
    assert_eq!((session.inflight_in.len(), session.incoming_refused), (65_535, 0));
    assert!(session.connected);
}

/// A subscriber `s` on `t/#` at QoS 2 and a persistent publisher `p` holding `old` (QoS 2, on
/// `t/a`, id 1) awaiting PUBREL, whose process then restarted without its state: its new
/// connection `p2` has resumed the session, which still holds id 1.
fn restarted_publisher_holding_id_1() -> (Harness, ConnId, ConnId) {
    let mut h = Harness::new();
    let s = h.client("s", true);
    h.subscribe(s, "t/#", Q2);
    let p = h.client("p", false);
    assert_eq!(h.send(p, publish("t/a", "old", Q2, 1)), vec![tx(p, pubrec(1))]);
    h.lost(p);
    let p2 = h.open();
    assert_eq!(h.connect(p2, "p", false, 0), vec![tx(p2, connack(true))]);
    h.drain_events();
    (h, s, p2)
}

fn reused(replaced_topic: &str, topic: &str) -> Event {
    Event::IncomingPacketIdReused {
        client_id: "p".into(),
        pkid: pid(1),
        replaced_topic: replaced_topic.into(),
        topic: topic.into(),
    }
}

#[test]
fn a_new_qos2_message_reusing_a_held_packet_id_replaces_the_held_one() {
    // Not a re-send, so [MQTT-4.3.3-2]'s duplicate rule does not apply: as mosquitto does, the
    // new message replaces the held one, and PUBREL releases the new message, once [MQTT-4.3.3-2].
    let (mut h, s, p2) = restarted_publisher_holding_id_1();
    assert_eq!(h.send(p2, publish("t/b", "new", Q2, 1)), vec![tx(p2, pubrec(1))]);
    assert_eq!(h.drain_events(), vec![reused("t/a", "t/b")]);
    assert_eq!(h.session("p").inflight_in, vec![(1, msg("t/b", "new", Q2, false))]);
    // A re-send of the new message is a duplicate: PUBREC again, kept, no event.
    assert_eq!(h.send(p2, publish("t/b", "new", Q2, 1).dup()), vec![tx(p2, pubrec(1))]);
    assert_eq!(h.drain_events(), vec![]);
    assert_eq!(h.send(p2, pubrel(1)), vec![tx(s, publish("t/b", "new", Q2, 1)), tx(p2, pubcomp(1))]);
    assert_eq!(h.send(p2, pubrel(1)), vec![tx(p2, pubcomp(1))]);
    // The old message was never delivered, and nothing else is held or queued.
    let sub = h.session("s");
    assert_eq!(
        sub.inflight_out.iter().map(|f| f.message.clone()).collect::<Vec<_>>(),
        vec![msg("t/b", "new", Q2, false)]
    );
    assert_eq!((sub.queued, h.session("p").inflight_in), (vec![], vec![]));
}

#[test]
fn any_difference_in_topic_payload_or_retain_makes_a_new_message_and_the_same_one_is_a_resend() {
    // mosquitto compares QoS, topic and payload; we compare RETAIN too. DUP does not count.
    let cases = [
        (publish("t/a", "other", Q2, 1), Some(reused("t/a", "t/a")), msg("t/a", "other", Q2, false)),
        (publish("t/z", "old", Q2, 1), Some(reused("t/a", "t/z")), msg("t/z", "old", Q2, false)),
        (publish("t/a", "old", Q2, 1).retain(), Some(reused("t/a", "t/a")), msg("t/a", "old", Q2, true)),
        (publish("t/a", "", Q2, 1), Some(reused("t/a", "t/a")), msg("t/a", "", Q2, false)),
        (publish("t/a", "old", Q2, 1), None, msg("t/a", "old", Q2, false)),
        (publish("t/a", "old", Q2, 1).dup(), None, msg("t/a", "old", Q2, false)),
    ];
    for (packet, event, held) in cases {
        let (mut h, _s, p2) = restarted_publisher_holding_id_1();
        assert_eq!(h.send(p2, packet.clone()), vec![tx(p2, pubrec(1))], "{packet:?}");
        assert_eq!(h.drain_events(), event.into_iter().collect::<Vec<_>>(), "{packet:?}");
        assert_eq!(h.session("p").inflight_in, vec![(1, held)], "{packet:?}");
    }
}

#[test]
fn a_qos1_message_reusing_a_held_packet_id_discards_the_held_one() {
    // mosquitto clears the held message when the QoS differs too; the QoS 1 message is routed and
    // acknowledged as any other, and a later PUBREL releases nothing stale.
    let (mut h, s, p2) = restarted_publisher_holding_id_1();
    assert_eq!(
        h.send(p2, publish("t/b", "q1", Q1, 1)),
        vec![tx(s, publish("t/b", "q1", Q1, 1)), tx(p2, puback(1))],
        "[MQTT-4.3.2-2]"
    );
    assert_eq!(h.drain_events(), vec![reused("t/a", "t/b")]);
    assert_eq!(h.session("p").inflight_in, vec![]);
    assert_eq!(h.send(p2, pubrel(1)), vec![tx(p2, pubcomp(1))]);
}

#[test]
fn replacing_a_held_message_in_a_full_window_is_not_refused() {
    // The replacement takes the held message's slot: the window does not grow.
    let mut h = Harness::with_config(Config { max_inflight_messages: 1, ..Config::default() });
    let s = h.client("s", true);
    h.subscribe(s, "t", Q2);
    let p = h.client("p", false);
    assert_eq!(h.send(p, publish("t", "old", Q2, 1)), vec![tx(p, pubrec(1))]);
    assert_eq!(h.send(p, publish("t", "new", Q2, 1)), vec![tx(p, pubrec(1))]);
    assert_eq!(h.session("p").incoming_refused, 0);
    assert_eq!(h.send(p, pubrel(1)), vec![tx(s, publish("t", "new", Q2, 1)), tx(p, pubcomp(1))]);
}
