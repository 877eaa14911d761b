//! CONNECT and CONNACK: the first packet rules, client ids, refusals, protocol levels, connection
//! limits (`max_connections`, `connect_timeout`, `max_keepalive`), server-only packets sent by a
//! client, and packets for connections the broker has already closed.

use super::*;

#[test]
fn connack_is_the_first_packet_and_accepts_a_valid_connect() {
    // [MQTT-3.2.2-3]
    let mut h = Harness::new();
    let c = h.open();
    assert_eq!(h.view().connections, 1);
    assert_eq!(
        h.connect(c, "c1", true, 0),
        vec![tx(c, connack(false))],
        "[MQTT-3.2.0-1] CONNACK first, [MQTT-3.1.4-4] with return code 0"
    );
    assert_eq!(
        h.drain_events(),
        vec![Event::Connected { conn: c, client_id: "c1".into(), clean_session: true, session_present: false }]
    );
    let s = h.session("c1");
    assert!(s.connected && s.clean_session);
}

#[test]
fn any_first_packet_other_than_connect_closes_without_connack() {
    // [MQTT-3.1.0-1]
    let firsts = [
        publish("t", "x", Q1, 1),
        subscribe(1, &[("t", Q0)]),
        unsubscribe(1, &["t"]),
        Packet::Pingreq,
        Packet::disconnect(),
        puback(1),
        pubrel(1),
    ];
    for first in firsts {
        let mut h = Harness::new();
        let watcher = h.client("watcher", true);
        h.subscribe(watcher, "#", Q1);
        let c = h.open();
        let why = violation("first packet is not CONNECT [MQTT-3.1.0-1]");
        // Nothing is routed, acknowledged or answered; the connection is closed.
        assert_eq!(h.send(c, first.clone()), vec![closed(c, why.clone())], "[MQTT-4.8.0-1] first packet {first:?}");
        assert_eq!(h.drain_events(), vec![Event::Disconnected { conn: c, client_id: None, reason: why }]);
        assert_eq!(h.view().connections, 1);
        assert_eq!(h.view().sessions.len(), 1);
        // A CONNECT that follows is ignored: the connection is gone.
        assert_eq!(h.connect(c, "late", true, 0), vec![]);
    }
}

#[test]
fn second_connect_is_a_protocol_violation_that_closes_the_connection() {
    let mut h = Harness::new();
    let c = h.client("c1", false);
    let why = violation("second CONNECT [MQTT-3.1.0-2]");
    assert_eq!(h.connect(c, "c1", false, 0), vec![closed(c, why.clone())], "[MQTT-3.1.0-2] [MQTT-4.8.0-1]");
    assert_eq!(h.drain_events(), vec![Event::Disconnected { conn: c, client_id: Some("c1".into()), reason: why }]);
    let s = h.session("c1");
    assert!(!s.connected, "[MQTT-3.1.2-4] the persistent session outlives the connection");
    assert_eq!(h.view().connections, 0);
}

#[test]
fn client_ids_of_1_to_23_alphanumerics_and_longer_ones_are_accepted() {
    // Like mosquitto, no 23-character limit.
    let mut h = Harness::new();
    for id in ["a", "Z9", "0123456789abcdefghijABC", "a-much-longer-client-id/with:punctuation"] {
        let c = h.open();
        assert_eq!(h.connect(c, id, true, 0), vec![tx(c, connack(false))], "[MQTT-3.1.3-5] client id {id:?}");
    }
    let ids: Vec<_> = h.view().sessions.iter().map(|s| s.client_id.clone()).collect();
    assert_eq!(ids, vec!["0123456789abcdefghijABC", "Z9", "a", "a-much-longer-client-id/with:punctuation"]);
}

#[test]
fn zero_length_client_id_with_clean_session_gets_a_unique_assigned_id() {
    // mosquitto's shape (`auto-` and 36 characters), from a counter so runs replay.
    let mut h = Harness::new();
    // A client already holds the first id the counter would give; the broker must skip it.
    let first = "auto-00000000-0000-4000-8000-000000000001";
    h.client(first, false);
    let a = h.open();
    assert_eq!(h.connect(a, "", true, 0), vec![tx(a, connack(false))]);
    let b = h.open();
    assert_eq!(h.connect(b, "", true, 0), vec![tx(b, connack(false))]);
    let a_id = "auto-00000000-0000-4000-8000-000000000002";
    let b_id = "auto-00000000-0000-4000-8000-000000000003";
    assert_eq!(
        h.drain_events(),
        vec![
            Event::Connected { conn: a, client_id: a_id.into(), clean_session: true, session_present: false },
            Event::Connected { conn: b, client_id: b_id.into(), clean_session: true, session_present: false },
        ],
        "[MQTT-3.1.3-6] each is assigned an id no other client holds"
    );
    assert_eq!(a_id.len(), "auto-".len() + 36);
    // They are separate sessions: b receives what a publishes.
    h.subscribe(b, "t", Q0);
    assert_eq!(h.publish(a, "t", "hi", Q0), vec![tx(b, publish("t", "hi", Q0, 0))]);
    // The assigned session is clean and ends with its connection.
    h.lost(a);
    assert!(h.view().session(a_id).is_none());
}

#[test]
fn zero_length_client_id_with_clean_session_0_is_refused_with_0x02() {
    let mut h = Harness::new();
    let c = h.open();
    let code = ConnectReturnCode::IdentifierRejected;
    assert_eq!(
        h.connect(c, "", false, 0),
        vec![tx(c, refused(code)), closed(c, CloseReason::Refused(code.into()))],
        "[MQTT-3.1.3-8] CONNACK 0x02 [MQTT-3.2.2-4] with session present 0, [MQTT-3.2.2-5] then close"
    );
    assert_eq!(h.view().sessions, vec![]);
    assert_eq!(h.view().connections, 0);
}

#[test]
fn zero_length_client_id_is_refused_when_allow_zero_length_clientid_is_false() {
    let mut h = Harness::with_config(Config { allow_zero_length_clientid: false, ..Config::default() });
    let c = h.open();
    let code = ConnectReturnCode::IdentifierRejected;
    assert_eq!(
        h.connect(c, "", true, 0),
        vec![tx(c, refused(code)), closed(c, CloseReason::Refused(code.into()))],
        "[MQTT-3.1.3-9] CONNACK 0x02, then close"
    );
    assert_eq!(h.view().sessions, vec![]);
}

#[test]
fn mqisdp_client_with_an_empty_id_is_refused_and_with_an_id_accepted() {
    // MQTT 3.1 had no id assignment; mosquitto 2.0 refuses its empty ids with 0x02.
    let mut h = Harness::new();
    let c = h.open();
    let v31 = |id: &str| Packet::Connect(Connect { protocol: Protocol::V31, ..Connect::new(id, true, 0) });
    let code = ConnectReturnCode::IdentifierRejected;
    assert_eq!(h.send(c, v31("")), vec![tx(c, refused(code)), closed(c, CloseReason::Refused(code.into()))]);
    let d = h.open();
    assert_eq!(h.send(d, v31("old-client")), vec![tx(d, connack(false))]);
}

#[test]
fn unsupported_protocol_level_gets_connack_0x01_then_close() {
    let mut h = Harness::new();
    let c = h.open();
    let code = ConnectReturnCode::UnacceptableProtocolVersion;
    assert_eq!(
        h.decode_error(c, DecodeError::UnsupportedProtocolLevel(5)),
        vec![tx(c, refused(code)), closed(c, CloseReason::Refused(code.into()))],
        "[MQTT-3.1.2-2] CONNACK 0x01, [MQTT-3.2.2-5] then close"
    );
    assert_eq!(h.view().connections, 0);
}

#[test]
fn invalid_connect_closes_without_connack() {
    for err in [DecodeError::InvalidProtocolName("MQXX".into()), DecodeError::ConnectReservedFlag] {
        let mut h = Harness::new();
        let c = h.open();
        assert_eq!(
            h.decode_error(c, err.clone()),
            vec![closed(c, CloseReason::Malformed(err.clone()))],
            "[MQTT-3.1.2-1] [MQTT-3.1.2-3] [MQTT-3.1.4-1] [MQTT-3.2.2-6] closed without CONNACK: {err:?}"
        );
    }
}

#[test]
fn unsupported_level_in_a_second_connect_just_closes() {
    // A CONNACK may only be the first packet [MQTT-3.2.0-1].
    let mut h = Harness::new();
    let c = h.client("c", true);
    let err = DecodeError::UnsupportedProtocolLevel(5);
    assert_eq!(
        h.decode_error(c, err.clone()),
        vec![closed(c, CloseReason::Malformed(err))],
        "[MQTT-3.1.0-2] a second CONNECT is a violation however it is encoded"
    );
}

#[test]
fn refused_connect_processes_nothing_after_it() {
    let mut h = Harness::new();
    let watcher = h.client("watcher", true);
    h.subscribe(watcher, "#", Q0);
    let c = h.open();
    let connect = with_will(Connect::new("", false, 0), "will/c", "bye", Q0, false);
    let code = ConnectReturnCode::IdentifierRejected;
    assert_eq!(
        h.send(c, Packet::Connect(connect)),
        vec![tx(c, refused(code)), closed(c, CloseReason::Refused(code.into()))]
    );
    assert_eq!(h.send(c, publish("t", "x", Q0, 0)), vec![], "[MQTT-3.1.4-5] later packets are ignored");
    assert_eq!(h.send(c, subscribe(1, &[("t", Q0)])), vec![], "[MQTT-3.1.4-5] later packets are ignored");
    assert_eq!(h.lost(c), vec![], "[MQTT-3.1.4-5] no will is kept");
    assert_eq!(
        h.drain_events(),
        vec![Event::Disconnected { conn: c, client_id: None, reason: CloseReason::Refused(code.into()) }]
    );
}

#[test]
fn max_keepalive_refuses_keep_alive_0_and_above_the_limit_with_0x02() {
    // mosquitto 2.0.12+ for 3.1.1 clients, which cannot be told a server keep alive.
    let mut h = Harness::with_config(Config { max_keepalive: 60, connect_timeout: None, ..Config::default() });
    let code = ConnectReturnCode::IdentifierRejected;
    for ka in [0, 61, u16::MAX] {
        let c = h.open();
        assert_eq!(
            h.connect(c, "c", true, ka),
            vec![tx(c, refused(code)), closed(c, CloseReason::Refused(code.into()))],
            "[MQTT-3.2.2-4] the refusal has session present 0 [MQTT-3.2.2-5] and closes: keep alive {ka}"
        );
    }
    let c = h.open();
    assert_eq!(h.connect(c, "c", true, 60), vec![tx(c, connack(false))]);
    assert_eq!(h.broker.poll_timeout(), Some(at(90_000)));
}

#[test]
fn refusal_leaves_the_existing_session_and_connection_alone() {
    // Unlike mosquitto, the refusal comes before any takeover, so the connected client keeps its
    // connection and session, and CONNACK says session present 0.
    let mut h = Harness::with_config(Config { max_keepalive: 60, ..Config::default() });
    let old = h.client_with(Connect::new("p", false, 30));
    h.subscribe(old, "t", Q1);
    let c = h.open();
    let code = ConnectReturnCode::IdentifierRejected;
    assert_eq!(
        h.connect(c, "p", false, 0),
        vec![tx(c, refused(code)), closed(c, CloseReason::Refused(code.into()))],
        "[MQTT-3.2.2-4] session present 0 though a session is stored"
    );
    let s = h.session("p");
    assert!(s.connected, "[MQTT-3.1.4-5] the refused CONNECT took nothing over");
    assert_eq!(s.subscriptions, vec![("t".to_owned(), Q1)]);
    assert_eq!(h.send(old, Packet::Pingreq), vec![tx(old, Packet::Pingresp)]);
}

#[test]
fn max_connections_closes_connections_beyond_the_limit() {
    let mut h = Harness::with_config(Config { max_connections: Some(2), ..Config::default() });
    let a = h.open();
    let _b = h.open();
    let c = h.open();
    assert_eq!(h.drain_actions(), vec![closed(c, CloseReason::TooManyConnections)]);
    assert_eq!(h.view().connections, 2);
    // The refused connection never existed for the broker: its packets are ignored.
    assert_eq!(h.connect(c, "c", true, 0), vec![]);
    assert_eq!(h.lost(c), vec![]);
    // Once one leaves, a new connection is served; ids are never reused.
    assert_eq!(h.connect(a, "a", true, 0), vec![tx(a, connack(false))]);
    h.send(a, Packet::disconnect());
    let d = h.open();
    assert_eq!(d, ConnId(4));
    assert_eq!(h.connect(d, "d", true, 0), vec![tx(d, connack(false))]);
}

#[test]
fn connect_timeout_closes_a_connection_that_sends_no_connect() {
    let mut h = Harness::new(); // connect_timeout 10 s
    h.advance(secs(1));
    let c = h.open();
    assert_eq!(h.broker.poll_timeout(), Some(at(11_000)));
    h.advance(ms(9_999));
    assert_eq!(h.drain_actions(), vec![]);
    h.advance(ms(1));
    assert_eq!(h.drain_actions(), vec![closed(c, CloseReason::ConnectTimeout)]);
    assert_eq!(h.broker.poll_timeout(), None);
    assert_eq!(h.connect(c, "c", true, 0), vec![]);
}

#[test]
fn connect_timeout_does_not_touch_a_connected_client() {
    let mut h = Harness::new();
    let c = h.open();
    h.advance(secs(5));
    assert_eq!(h.connect(c, "c", true, 0), vec![tx(c, connack(false))]);
    h.advance(secs(3600));
    assert_eq!(h.drain_actions(), vec![]);
    assert_eq!(h.broker.poll_timeout(), None);
    assert!(h.session("c").connected);
}

#[test]
fn without_connect_timeout_nothing_is_armed() {
    let mut h = Harness::with_config(Config { connect_timeout: None, ..Config::default() });
    let _c = h.open();
    assert_eq!(h.broker.poll_timeout(), None);
}

#[test]
fn server_only_packets_from_a_client_close_the_connection() {
    // CONNACK, SUBACK, UNSUBACK and PINGRESP flow only from server to client.
    let packets = [
        connack(false),
        suback(1, &[Q0]),
        Packet::unsuback(pid(1)),
        Packet::Pingresp,
        refused(ConnectReturnCode::NotAuthorized),
    ];
    for packet in packets {
        let mut h = Harness::new();
        let watcher = h.client("watcher", true);
        h.subscribe(watcher, "will/#", Q0);
        let c = h.client_with(with_will(Connect::new("c", true, 0), "will/c", "bye", Q0, false));
        assert_eq!(
            h.send(c, packet.clone()),
            vec![
                closed(c, violation("client sent a packet only a server may send")),
                tx(watcher, publish("will/c", "bye", Q0, 0)),
            ],
            "[MQTT-4.8.0-1] closed, [MQTT-3.1.2-8] with its will published as it did not DISCONNECT: {packet:?}"
        );
        assert!(h.view().session("c").is_none());
    }
}

#[test]
fn packets_for_a_closed_connection_are_ignored() {
    let mut h = Harness::new();
    let watcher = h.client("watcher", true);
    h.subscribe(watcher, "#", Q1);
    let c = h.client_with(with_will(Connect::new("c", false, 5), "will/c", "bye", Q1, false));
    assert_eq!(h.send(c, Packet::disconnect()), vec![closed(c, CloseReason::ClientDisconnected)]);
    h.drain_events();
    assert_eq!(h.send(c, publish("t", "late", Q1, 1)), vec![]);
    assert_eq!(h.send(c, Packet::Pingreq), vec![]);
    assert_eq!(h.decode_error(c, DecodeError::InvalidQos), vec![]);
    assert_eq!(h.lost(c), vec![]);
    h.advance(secs(60)); // its keep-alive check finds nothing to do
    assert_eq!(h.drain_actions(), vec![]);
    // A connection id the broker never handed out is ignored too.
    let unknown = ConnId(999);
    assert_eq!(h.connect(unknown, "x", true, 0), vec![]);
    assert_eq!(h.lost(unknown), vec![]);
    assert_eq!(h.drain_events(), vec![]);
    assert!(!h.session("c").connected);
}

#[test]
fn mqisdp_client_resumes_its_session_but_gets_no_session_present_flag() {
    // MQTT 3.1's CONNACK has a reserved byte where 3.1.1 put session present; mosquitto 2.0 sets
    // the flag only for 3.1.1 and 5 clients, and strict 3.1 clients reject a non-zero byte.
    let mut h = Harness::new();
    let v31 = |id: &str| Packet::Connect(Connect { protocol: Protocol::V31, ..Connect::new(id, false, 0) });
    let c = h.open();
    assert_eq!(h.send(c, v31("old")), vec![tx(c, connack(false))]);
    h.subscribe(c, "t", Q1);
    h.lost(c);
    let publisher = h.client("pub", true);
    h.publish(publisher, "t", "queued", Q1);
    let c2 = h.open();
    assert_eq!(h.send(c2, v31("old")), vec![tx(c2, connack(false)), tx(c2, publish("t", "queued", Q1, 1))]);
    assert_eq!(h.session("old").subscriptions, vec![("t".to_owned(), Q1)]);
}
