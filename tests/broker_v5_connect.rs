//! MQTT 5.0 conformance of the broker's connection handling (spec sections 3.1, 3.2, 3.12, 3.14
//! and 4.12), driven sans-IO: CONNECT rules, refusals and what follows them, wills, client
//! identifiers as the key of a session, keep alive, PINGREQ, the DISCONNECT the server sends, and
//! the absence of enhanced authentication. Each assertion cites the statement it observes as
//! `[MQTT5-x]`; the 3.1.1 rules are tested in src/broker/tests/.

mod sans_io_v5;

use bytes::{Bytes, BytesMut};
use mqtt_sim::broker::{Action, CloseReason, Config};
use mqtt_sim::protocol::{decode_as, Auth, LastWill, Packet, Property, ReasonCode, Version, MAX_PACKET_SIZE};
use sans_io_v5::*;

/// A will on `topic` with `retain`, QoS 1.
fn with_will(mut connect: mqtt_sim::protocol::Connect, topic: &str, retain: bool) -> mqtt_sim::protocol::Connect {
    connect.will = Some(LastWill::new(topic, Bytes::from_static(b"gone"), Q1, retain));
    connect
}

#[test]
fn a_second_connect_is_a_protocol_error_and_gets_no_second_connack() {
    let mut b = BrokerBench::new();
    let c = b.client("a");
    let actions = b.send(c, Packet::Connect(connect5("a", true, 0)));
    assert!(connack_of(&actions).is_none(), "[MQTT5-3.2.0-2] one CONNACK per connection: {actions:?}");
    let d = disconnect_of(&actions, c).expect("told why");
    assert_eq!(d.reason, ReasonCode::PROTOCOL_ERROR, "[MQTT5-3.1.0-2] a second CONNECT is a Protocol Error");
    assert!(
        matches!(actions.last(), Some(Action::Close { conn, .. }) if *conn == c),
        "[MQTT5-3.1.0-2] and the connection is closed: {actions:?}"
    );
}

#[test]
fn a_will_is_kept_with_the_connection_and_published_with_retain_0_as_asked() {
    let mut b = BrokerBench::new();
    let sub = b.client("sub");
    b.subscribed(sub, 1, vec![filter("w/#", Q1)]);
    let c = b.client_with(with_will(connect5("a", true, 0), "w/a", false));
    let actions = b.lost(c);
    let got = publishes(&actions, sub);
    assert_eq!(got.len(), 1, "[MQTT5-3.1.2-7] the will was stored and is published: {actions:?}");
    assert_eq!((got[0].topic.as_str(), &got[0].payload[..]), ("w/a", &b"gone"[..]), "[MQTT5-3.1.2-7]");
    // RETAIN 0 as published, and nothing kept in the retained store for a later subscriber.
    assert!(!got[0].retain, "[MQTT5-3.1.2-14] a will with Will Retain 0 is not retained");
    let late = b.client("late");
    let actions = b.subscribed(late, 1, vec![filter("w/#", Q1)]);
    assert!(publishes(&actions, late).is_empty(), "[MQTT5-3.1.2-14] no retained will: {actions:?}");
}

#[test]
fn a_will_with_will_retain_1_is_published_as_a_retained_message() {
    let mut b = BrokerBench::new();
    let c = b.client_with(with_will(connect5("a", true, 0), "w/a", true));
    b.lost(c);
    let late = b.client("late");
    let actions = b.subscribed(late, 1, vec![filter("w/#", Q1)]);
    let got = publishes(&actions, late);
    assert_eq!(got.len(), 1, "[MQTT5-3.1.2-15] the will is the topic's retained message: {actions:?}");
    assert!(got[0].retain && &got[0].payload[..] == b"gone", "[MQTT5-3.1.2-15] {got:?}");
}

#[test]
fn a_will_is_dropped_on_a_normal_disconnect_and_once_published() {
    let mut b = BrokerBench::new();
    let sub = b.client("sub");
    b.subscribed(sub, 1, vec![filter("w/#", Q0)]);

    let c = b.client_with(with_will(connect5("a", false, 60), "w/a", false));
    let actions = b.send(c, Packet::Disconnect(mqtt_sim::protocol::Disconnect::with_reason(ReasonCode::SUCCESS)));
    assert!(publishes(&actions, sub).is_empty(), "[MQTT5-3.1.2-10] Normal disconnection drops the will");
    // The session lives on (expiry 60 s) but holds no will: nothing comes when it ends either.
    let actions = b.advance(secs(61));
    assert!(publishes(&actions, sub).is_empty(), "[MQTT5-3.1.2-10] the will is gone: {actions:?}");

    let c = b.client_with(with_will(connect5("b", true, 0), "w/b", false));
    assert_eq!(payloads(&b.lost(c), sub), vec!["gone"], "published once");
    // A new connection of the same client without a will: its loss publishes nothing.
    let c = b.client("b");
    assert!(publishes(&b.lost(c), sub).is_empty(), "[MQTT5-3.1.2-10] removed once published");
}

#[test]
fn the_client_identifier_keys_the_session() {
    let mut b = BrokerBench::new();
    let a = b.client_with(connect5("alpha", true, 300));
    b.subscribed(a, 1, vec![filter("t", Q1)]);
    b.lost(a);

    // Another client id resumes nothing.
    let (other, actions) = b.connect(connect5("beta", false, 300));
    let ack = connack_of(&actions).expect("CONNACK");
    assert!(!ack.session_present, "[MQTT5-3.1.3-2] beta has no session of alpha's");
    let p = b.client("pub");
    let actions = b.publish(p, publish("t", "m", Q1, 1));
    assert!(publishes(&actions, other).is_empty(), "[MQTT5-3.1.3-2] alpha's subscription is not beta's");

    // The same client id resumes its own state, the queued message included.
    let (a, actions) = b.connect(connect5("alpha", false, 300));
    assert!(connack_of(&actions).expect("CONNACK").session_present, "[MQTT5-3.1.3-2] alpha's session is found");
    assert_eq!(payloads(&actions, a), vec!["m"], "[MQTT5-3.1.3-2] with what was queued for alpha");
}

#[test]
fn client_identifiers_of_1_to_23_alphanumeric_characters_are_accepted() {
    let mut b = BrokerBench::new();
    for id in ["a", "Z", "7", "0123456789abcdefghijklm", "ABCDEFGHIJKLMNOPQRSTUVW", "aB3"] {
        let (_, actions) = b.connect(connect5(id, true, 0));
        let ack = connack_of(&actions).expect("CONNACK");
        assert_eq!(ack.code.v5(), ReasonCode::SUCCESS, "[MQTT5-3.1.3-5] client id {id:?} accepted");
        assert!(ack.properties.assigned_client_identifier().is_none(), "[MQTT5-3.1.3-5] and kept as given");
    }
}

#[test]
fn a_rejected_client_identifier_gets_0x85_and_the_connection_is_closed() {
    let config = Config { allow_zero_length_clientid: false, ..Config::default() };
    let mut b = BrokerBench::with(config);
    let (c, actions) = b.connect(connect5("", true, 0));
    let ack = connack_of(&actions).expect("CONNACK");
    assert_eq!(ack.code.v5(), ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, "[MQTT5-3.1.3-8] Client Identifier not valid");
    assert!(!ack.session_present);
    assert!(
        matches!(actions.last(), Some(Action::Close { conn, reason: CloseReason::Refused(_) }) if *conn == c),
        "[MQTT5-3.1.3-8] [MQTT5-3.2.2-7] a CONNACK of 0x80 or above closes the connection: {actions:?}"
    );
}

#[test]
fn a_badly_formed_connect_closes_the_connection_without_a_connack() {
    // A 5.0 CONNECT whose reserved flag is 1: the codec refuses it, the broker closes.
    let bytes: &[u8] = &[0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x03, 0, 0, 0, 0, 0];
    let err = decode_as(Version::V5, &mut BytesMut::from(bytes), MAX_PACKET_SIZE).expect_err("malformed");
    let mut b = BrokerBench::new();
    let c = b.open();
    b.broker.handle_decode_error(c, err.clone(), b.now);
    let actions = b.drain();
    assert_eq!(
        actions,
        vec![Action::Close { conn: c, reason: CloseReason::Malformed(err) }],
        "[MQTT5-3.1.4-1] closed, with no CONNACK"
    );
}

#[test]
fn a_connect_that_fails_further_checks_closes_the_connection_and_what_follows_is_ignored() {
    let mut b = BrokerBench::new();
    let sub = b.client("sub");
    b.subscribed(sub, 1, vec![filter("t", Q0)]);
    // An authentication method this broker does not offer: a check after the CONNECT decoded.
    let mut connect = connect5("a", true, 0);
    connect.properties.push(Property::AuthenticationMethod("SCRAM-SHA-1".into()));
    let (c, actions) = b.connect(connect);
    let ack = connack_of(&actions).expect("CONNACK");
    assert_eq!(ack.code.v5(), ReasonCode::BAD_AUTHENTICATION_METHOD, "Bad authentication method");
    assert!(
        matches!(actions.last(), Some(Action::Close { conn, .. }) if *conn == c),
        "[MQTT5-3.1.4-2] [MQTT5-4.12.0-4] [MQTT5-3.2.2-7] closed after the refusal: {actions:?}"
    );
    // Data the client sends after its refused CONNECT is not processed.
    let actions = b.publish(c, publish("t", "after", Q0, 0));
    assert!(actions.is_empty(), "[MQTT5-3.1.4-6] nothing processed after a refused CONNECT: {actions:?}");
    let actions = b.send(c, Packet::Subscribe(mqtt_sim::protocol::Subscribe::new(pid(1), vec![filter("#", Q0)])));
    assert!(actions.is_empty(), "[MQTT5-3.1.4-6] {actions:?}");
}

#[test]
fn clean_start_decides_whether_a_stored_session_is_resumed_or_discarded() {
    let mut b = BrokerBench::new();
    let c = b.client_with(connect5("a", true, 300));
    b.subscribed(c, 1, vec![filter("t", Q1)]);
    b.lost(c);
    let (c, actions) = b.connect(connect5("a", false, 300));
    assert!(connack_of(&actions).unwrap().session_present, "[MQTT5-3.1.4-4] Clean Start 0 resumes");
    let p = b.client("p");
    assert_eq!(payloads(&b.publish(p, publish("t", "kept", Q0, 0)), c), vec!["kept"], "[MQTT5-3.1.4-4]");
    b.lost(c);
    let (c, actions) = b.connect(connect5("a", true, 300));
    assert!(!connack_of(&actions).unwrap().session_present, "[MQTT5-3.1.4-4] Clean Start 1 discards");
    assert!(publishes(&b.publish(p, publish("t", "gone", Q0, 0)), c).is_empty(), "[MQTT5-3.1.4-4] no subscription");
}

#[test]
fn a_refusing_connack_leaves_out_its_reason_string_when_it_would_be_too_large() {
    let refused = |max: Option<u32>| {
        let mut b = BrokerBench::new();
        let mut connect = connect5("a", true, 0);
        connect.properties.push(Property::AuthenticationMethod("SCRAM-SHA-1".into()));
        if let Some(max) = max {
            connect.properties.push(Property::MaximumPacketSize(max));
        }
        connack_of(&b.connect(connect).1).expect("CONNACK")
    };
    let roomy = refused(None);
    assert!(roomy.properties.reason_string().is_some(), "a reason string when it fits");
    let small = refused(Some(16));
    assert_eq!(small.code.v5(), ReasonCode::BAD_AUTHENTICATION_METHOD, "still refused with its code");
    assert!(small.properties.reason_string().is_none(), "[MQTT5-3.2.2-19] left out beyond 16 bytes");
    let size = Packet::Connack(small).size(Version::V5).expect("encodable");
    assert!(size <= 16, "[MQTT5-3.2.2-19] {size} bytes");
}

#[test]
fn without_a_server_keep_alive_the_clients_keep_alive_is_used() {
    let mut b = BrokerBench::new();
    let (c, actions) = b.connect(mqtt_sim::protocol::Connect::v5("a", true, 10));
    let ack = connack_of(&actions).expect("CONNACK");
    assert!(ack.properties.server_keep_alive().is_none(), "no Server Keep Alive sent");
    let actions = b.advance(std::time::Duration::from_millis(14_999));
    assert!(close_of(&actions, c).is_none(), "[MQTT5-3.2.2-22] 10 s keep alive: still open before 15 s");
    let actions = b.advance(std::time::Duration::from_millis(1));
    assert_eq!(
        close_of(&actions, c),
        Some(CloseReason::KeepAliveTimeout),
        "[MQTT5-3.2.2-22] closed at 1.5 times the client's 10 s"
    );
}

#[test]
fn pingreq_is_answered_with_pingresp() {
    let mut b = BrokerBench::new();
    let c = b.client("a");
    assert_eq!(
        b.send(c, Packet::Pingreq),
        vec![Action::Send { conn: c, packet: Packet::Pingresp }],
        "[MQTT5-3.12.4-1]"
    );
}

#[test]
fn the_servers_disconnect_has_no_session_expiry_and_the_server_closes_after_it() {
    let mut b = BrokerBench::new();
    let old = b.client_with(connect5("a", true, 300));
    let (_, actions) = b.connect(connect5("a", false, 300));
    let d = disconnect_of(&actions, old).expect("the old connection is told");
    assert_eq!(d.reason, ReasonCode::SESSION_TAKEN_OVER);
    assert!(d.properties.session_expiry_interval().is_none(), "[MQTT5-3.14.2-2] {d:?}");
    let after: Vec<&Action> = actions
        .iter()
        .skip_while(|a| !matches!(a, Action::Send { conn, packet: Packet::Disconnect(_) } if *conn == old))
        .filter(|a| matches!(a, Action::Send { conn, .. } | Action::Close { conn, .. } if *conn == old))
        .collect();
    assert!(
        matches!(after.as_slice(), [Action::Send { .. }, Action::Close { .. }]),
        "[MQTT5-3.14.4-2] the sender of DISCONNECT closes the connection, sending nothing more: {after:?}"
    );

    // A keep-alive timeout is told the same way.
    let (c, _) = b.connect(mqtt_sim::protocol::Connect { keep_alive: 2, ..connect5("k", true, 60) });
    let actions = b.advance(secs(3));
    let d = disconnect_of(&actions, c).expect("told why");
    assert_eq!(d.reason, ReasonCode::KEEP_ALIVE_TIMEOUT);
    assert!(d.properties.session_expiry_interval().is_none(), "[MQTT5-3.14.2-2] {d:?}");
    assert!(close_of(&actions, c).is_some(), "[MQTT5-3.14.4-2]");
}

#[test]
fn the_servers_disconnect_leaves_out_its_reason_string_when_it_would_be_too_large() {
    let second_connect = |max: Option<u32>| {
        let mut b = BrokerBench::new();
        let mut connect = connect5("a", true, 0);
        if let Some(max) = max {
            connect.properties.push(Property::MaximumPacketSize(max));
        }
        let c = b.client_with(connect.clone());
        disconnect_of(&b.send(c, Packet::Connect(connect)), c).expect("DISCONNECT")
    };
    assert!(second_connect(None).properties.reason_string().is_some(), "a reason string when it fits");
    let small = second_connect(Some(12));
    assert_eq!(small.reason, ReasonCode::PROTOCOL_ERROR, "still sent, with its code");
    assert!(small.properties.reason_string().is_none(), "[MQTT5-3.14.2-3] left out beyond 12 bytes");
    let size = Packet::Disconnect(small).size(Version::V5).expect("encodable");
    assert!(size <= 12, "[MQTT5-3.14.2-3] {size} bytes");
}

#[test]
fn without_an_authentication_method_the_server_sends_no_auth_and_names_no_method() {
    let mut b = BrokerBench::new();
    let (c, actions) = b.connect(connect5("a", true, 0));
    let ack = connack_of(&actions).expect("CONNACK");
    assert!(ack.properties.authentication_method().is_none(), "[MQTT5-4.12.0-6] no method in CONNACK");
    let auth = Auth { reason: ReasonCode::RE_AUTHENTICATE, properties: Default::default() };
    let actions = b.send(c, Packet::Auth(auth));
    assert!(
        !to(&actions, c).iter().any(|p| matches!(p, Packet::Auth(_))),
        "[MQTT5-4.12.0-6] no AUTH in answer: {actions:?}"
    );
    assert_eq!(disconnect_of(&actions, c).map(|d| d.reason), Some(ReasonCode::PROTOCOL_ERROR));
    assert!(matches!(close_of(&actions, c), Some(CloseReason::ProtocolViolation(_))));
}
