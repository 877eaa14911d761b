//! Session lifetime: clean session 0 resumes and 1 discards, the session-present flag, and the
//! takeover of a connected client id by a new connection.

use super::*;

#[test]
fn clean_session_0_creates_a_session_that_outlives_the_connection_and_resumes() {
    let mut h = Harness::new();
    let publisher = h.client("pub", true);
    let c = h.open();
    assert_eq!(
        h.connect(c, "p", false, 0),
        vec![tx(c, connack(false))],
        "[MQTT-3.2.2-3] none stored: session present 0"
    );
    h.subscribe(c, "t", Q1);
    assert_eq!(h.send(c, Packet::disconnect()), vec![closed(c, CloseReason::ClientDisconnected)]);
    let s = h.session("p");
    assert!(!s.connected && !s.clean_session);
    assert_eq!(s.subscriptions, vec![("t".to_owned(), Q1)], "[MQTT-3.1.2-4] the session outlives the connection");

    let c2 = h.open();
    h.drain_events();
    assert_eq!(h.connect(c2, "p", false, 0), vec![tx(c2, connack(true))], "[MQTT-3.2.2-2] session present 1");
    assert_eq!(
        h.drain_events(),
        vec![Event::Connected { conn: c2, client_id: "p".into(), clean_session: false, session_present: true }]
    );
    assert_eq!(
        h.publish(publisher, "t", "m", Q1),
        vec![tx(c2, publish("t", "m", Q1, 1))],
        "[MQTT-3.1.2-4] [MQTT-4.1.0-1] the resumed subscription delivers without a new SUBSCRIBE"
    );
}

#[test]
fn clean_session_1_discards_the_stored_session_and_says_session_present_0() {
    let mut h = Harness::new();
    let publisher = h.client("pub", true);
    let c = h.client("p", false);
    h.subscribe(c, "t", Q1);
    h.lost(c);
    h.publish(publisher, "t", "queued", Q1);
    assert_eq!(h.session("p").queued.len(), 1);
    h.drain_events();

    let c2 = h.open();
    assert_eq!(h.connect(c2, "p", true, 0), vec![tx(c2, connack(false))], "[MQTT-3.2.2-1] session present 0");
    assert_eq!(
        h.drain_events(),
        vec![
            Event::SessionDiscarded { client_id: "p".into() },
            Event::Connected { conn: c2, client_id: "p".into(), clean_session: true, session_present: false },
        ],
        "[MQTT-3.1.2-6] [MQTT-3.1.4-3] the stored session is discarded"
    );
    let s = h.session("p");
    assert!(
        s.clean_session && s.subscriptions.is_empty() && s.queued.is_empty() && s.inflight_out.is_empty(),
        "[MQTT-3.1.2-6] a new session starts empty"
    );
    // The old subscription is gone from routing too.
    assert_eq!(h.publish(publisher, "t", "after", Q1), vec![]);
    assert_eq!(h.send(c2, Packet::disconnect()), vec![closed(c2, CloseReason::ClientDisconnected)]);
    assert!(h.view().session("p").is_none(), "[MQTT-3.1.2-6] a clean session ends with its connection");
    let c3 = h.open();
    assert_eq!(h.connect(c3, "p", false, 0), vec![tx(c3, connack(false))], "[MQTT-3.2.2-3]");
}

#[test]
fn clean_session_1_state_is_discarded_when_the_connection_is_lost() {
    let mut h = Harness::new();
    let c = h.client("p", true);
    h.subscribe(c, "t", Q2);
    h.send(c, publish("in", "x", Q2, 7)); // incoming QoS 2 awaiting PUBREL
    assert_eq!(h.session("p").inflight_in.len(), 1, "[MQTT-4.1.0-2] the session lasts as long as the connection");
    h.lost(c);
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: c, client_id: Some("p".into()), reason: CloseReason::ConnectionLost },
            Event::SessionDiscarded { client_id: "p".into() },
        ]
    );
    assert_eq!(h.view().sessions, vec![], "[MQTT-3.1.2-6] and no longer");
}

#[test]
fn resuming_with_clean_session_0_while_the_old_clean_1_connection_is_up_starts_fresh() {
    let mut h = Harness::new();
    let old = h.client("p", true);
    h.subscribe(old, "t", Q1);
    let new = h.open();
    assert_eq!(
        h.connect(new, "p", false, 0),
        vec![closed(old, CloseReason::TakenOver), tx(new, connack(false))],
        "[MQTT-3.1.4-2] the old connection is closed; [MQTT-3.2.2-3] the taken-over clean session ended with it, \
         so there is no session to resume"
    );
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: old, client_id: Some("p".into()), reason: CloseReason::TakenOver },
            Event::SessionDiscarded { client_id: "p".into() },
            Event::Connected { conn: new, client_id: "p".into(), clean_session: false, session_present: false },
        ]
    );
    assert_eq!(h.session("p").subscriptions, vec![]);
}

#[test]
fn takeover_closes_the_old_connection_publishes_its_will_and_hands_the_session_over() {
    // The spec publishes the will of a connection the server closes; mosquitto 2.0 skips it when
    // both sides use clean session 0.
    let mut h = Harness::new();
    let watcher = h.client("watcher", true);
    h.subscribe(watcher, "will/#", Q0);
    let publisher = h.client("pub", true);
    let old = h.client_with(with_will(Connect::new("p", false, 0), "will/p", "gone", Q0, false));
    h.subscribe(old, "t", Q1);
    assert_eq!(h.publish(publisher, "t", "m1", Q1), vec![tx(old, publish("t", "m1", Q1, 1))]);

    let new = h.open();
    assert_eq!(
        h.connect(new, "p", false, 0),
        vec![
            closed(old, CloseReason::TakenOver),
            tx(watcher, publish("will/p", "gone", Q0, 0)),
            tx(new, connack(true)),
            tx(new, publish("t", "m1", Q1, 1).dup()),
        ],
        "[MQTT-3.1.4-2] the old connection closed, [MQTT-3.1.2-8] its will published, [MQTT-3.2.2-2] session \
         present 1, [MQTT-4.4.0-1] the unacknowledged PUBLISH re-sent with its id"
    );
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: old, client_id: Some("p".into()), reason: CloseReason::TakenOver },
            Event::WillPublished { client_id: "p".into(), topic: "will/p".into() },
            Event::Connected { conn: new, client_id: "p".into(), clean_session: false, session_present: true },
        ]
    );
    // The old connection is gone: its late packets and its transport closing change nothing.
    assert_eq!(h.send(old, puback(1)), vec![]);
    assert_eq!(h.session("p").inflight_out.len(), 1);
    assert_eq!(h.lost(old), vec![]);
    assert!(h.session("p").connected);
    // The new connection owns the session.
    assert_eq!(h.send(new, puback(1)), vec![]);
    assert_eq!(h.session("p").inflight_out, vec![]);
    assert_eq!(h.publish(publisher, "t", "m2", Q1), vec![tx(new, publish("t", "m2", Q1, 2))]);
}

#[test]
fn takeover_with_clean_session_1_discards_the_old_session() {
    let mut h = Harness::new();
    let watcher = h.client("watcher", true);
    h.subscribe(watcher, "will/#", Q1);
    let publisher = h.client("pub", true);
    let old = h.client_with(with_will(Connect::new("p", false, 0), "will/p", "gone", Q1, false));
    h.subscribe(old, "t", Q1);
    h.publish(publisher, "t", "m1", Q1);

    let new = h.open();
    assert_eq!(
        h.connect(new, "p", true, 0),
        vec![
            closed(old, CloseReason::TakenOver),
            tx(watcher, publish("will/p", "gone", Q1, 1)),
            tx(new, connack(false)),
        ],
        "[MQTT-3.1.4-2] the old connection closed, [MQTT-3.2.2-1] session present 0"
    );
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Disconnected { conn: old, client_id: Some("p".into()), reason: CloseReason::TakenOver },
            Event::WillPublished { client_id: "p".into(), topic: "will/p".into() },
            Event::SessionDiscarded { client_id: "p".into() },
            Event::Connected { conn: new, client_id: "p".into(), clean_session: true, session_present: false },
        ]
    );
    let s = h.session("p");
    assert!(s.subscriptions.is_empty() && s.inflight_out.is_empty(), "[MQTT-3.1.2-6] the old session is discarded");
}
