//! Connecting and disconnecting: CONNECT first and its contents, no requests without an accepted
//! connection, CONNACK acceptance and refusal, session present, packets a server may not send,
//! and DISCONNECT.

use bytes::BytesMut;

use super::*;
use crate::protocol::{Connect, LastWill, Protocol, Subscribe, Unsubscribe, MAX_PACKET_SIZE};

/// The connect flags byte of an encoded 3.1.1 CONNECT (after the 2+4 byte protocol name and level).
fn connect_flags(packet: &Packet) -> u8 {
    let mut buf = BytesMut::new();
    packet.encode(&mut buf, MAX_PACKET_SIZE).expect("CONNECT encodes");
    // Fixed header (2 bytes for these short packets), name length and "MQTT", level, flags.
    assert_eq!(&buf[2..9], b"\x00\x04MQTT\x04");
    buf[9]
}

#[test]
fn connect_goes_first_and_carries_will_user_name_password_keep_alive_and_clean_flag() {
    // [MQTT-3.1.2-4] [MQTT-3.1.2-14] [MQTT-3.1.2-22] [MQTT-3.1.3-1] [MQTT-3.1.3-3]
    let will = LastWill {
        topic: "status/c".into(),
        message: Bytes::from_static(b"gone"),
        qos: Q1,
        retain: true,
        properties: Default::default(),
    };
    let options = ClientOptions {
        will: Some(will.clone()),
        username: Some("user".into()),
        password: Some(Bytes::from_static(b"secret")),
        keep_alive: 17,
        ..ClientOptions::new("c1", false)
    };
    let mut h = Harness::new(options);
    let expected = Packet::Connect(Connect {
        protocol: Protocol::V311,
        clean_session: false,
        keep_alive: 17,
        client_id: "c1".into(),
        will: Some(will),
        username: Some("user".into()),
        password: Some(Bytes::from_static(b"secret")),
        properties: Default::default(),
    });
    assert_eq!(h.open(), vec![send(expected.clone())], "[MQTT-3.1.0-1] CONNECT first, with every field");
    assert_eq!(h.events(), vec![]);
    // User name 0x80, password 0x40, will retain 0x20, will QoS 1 0x08, will 0x04, clean 0.
    assert_eq!(
        connect_flags(&expected),
        0b1110_1100,
        "the flags announce what the payload holds: [MQTT-3.1.2-9] the will, [MQTT-3.1.2-19] a user name, \
         [MQTT-3.1.2-21] a password"
    );
}

#[test]
fn connect_without_will_or_credentials_sets_only_the_clean_flag() {
    // [MQTT-3.1.2-6]
    let mut h = Harness::new(opts("c2", true, 0));
    let expected = Packet::Connect(Connect::new("c2", true, 0));
    assert_eq!(
        h.open(),
        vec![send(expected.clone())],
        "[MQTT-3.1.0-1] CONNECT first, [MQTT-3.1.2-11] without will fields, [MQTT-3.1.2-18] user name or \
         [MQTT-3.1.2-20] password"
    );
    assert_eq!(
        connect_flags(&expected),
        0b0000_0010,
        "[MQTT-3.1.2-11] [MQTT-3.1.2-13] will QoS 0 and [MQTT-3.1.2-15] will retain 0 without a will; \
         [MQTT-3.1.2-18] [MQTT-3.1.2-20] no user name or password flag"
    );
}

#[test]
fn accepted_connack_emits_connected_and_sends_nothing() {
    // [MQTT-3.1.0-1]: nothing but CONNECT goes before it; a fresh session has nothing to re-send.
    let mut h = Harness::new(opts("c", false, 0));
    assert_eq!(h.connect(false), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: false }]);
    assert!(h.session.is_connected());
}

#[test]
fn requests_are_refused_before_a_transport_and_before_connack() {
    // [MQTT-3.1.0-1]: nothing may precede CONNECT, and the session sends nothing of the
    // application's until the server has accepted it.
    let mut h = Harness::new(opts("c", false, 0));
    let refuse_all = |h: &mut Harness| {
        assert_eq!(h.publish("t", "x", Q0), Err(ClientError::NotConnected));
        assert_eq!(h.publish("t", "x", Q1), Err(ClientError::NotConnected));
        assert_eq!(h.publish("t", "x", Q2), Err(ClientError::NotConnected));
        assert_eq!(h.subscribe(&[("t", Q1)]), Err(ClientError::NotConnected));
        assert_eq!(h.unsubscribe(&["t"]), Err(ClientError::NotConnected));
        h.assert_quiet();
        assert_eq!(h.unacknowledged(), vec![]);
    };
    refuse_all(&mut h);
    h.open();
    refuse_all(&mut h);
    // None of the refused requests used a packet id.
    h.feed(connack(false));
    h.events();
    h.publish_ok("t", "x", Q1, 1);
}

#[test]
fn requests_are_refused_after_the_connection_is_lost() {
    let mut h = Harness::connected(false);
    assert_eq!(h.lose(), vec![]);
    assert_eq!(h.events(), vec![disconnected(None)]);
    assert!(!h.session.is_connected());
    assert_eq!(h.publish("t", "x", Q1), Err(ClientError::NotConnected));
    assert_eq!(h.subscribe(&[("t", Q1)]), Err(ClientError::NotConnected));
    assert_eq!(h.unsubscribe(&["t"]), Err(ClientError::NotConnected));
    h.assert_quiet();
}

#[test]
fn refused_connack_emits_refused_and_closes() {
    // A refusal ends the connection (the server closes too [MQTT-3.2.2-5]); the client reports
    // the code and closes its side.
    use ConnectReturnCode::*;
    for code in
        [UnacceptableProtocolVersion, IdentifierRejected, ServerUnavailable, BadUserNameOrPassword, NotAuthorized]
    {
        let mut h = Harness::new(opts("c", false, 10));
        h.open();
        assert_eq!(h.feed(refused(code)), vec![close(CloseCause::Refused(code.into()))], "{code:?}");
        assert_eq!(
            h.events(),
            vec![ClientEvent::Refused(code.into()), disconnected(Some(CloseCause::Refused(code.into())))],
            "{code:?}"
        );
        assert!(!h.session.is_connected());
        assert_eq!(h.session.poll_timeout(), None, "no CONNACK timer after a refusal");
        assert_eq!(h.publish("t", "x", Q1), Err(ClientError::NotConnected));
        // A refused connection established no session: a later session present 0 is not a loss.
        h.connect(false);
        assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: false }]);
    }
}

#[test]
fn a_first_packet_other_than_connack_is_a_protocol_violation() {
    // The server's CONNACK comes first [MQTT-3.2.0-1].
    let first_packets = [
        publish("t", "x", Q1, 1),
        puback(1),
        suback(1, &[SubackCode::Granted(Q0)]),
        Packet::Pingresp,
        Packet::disconnect(),
    ];
    for packet in first_packets {
        let mut h = Harness::new(opts("c", false, 0));
        h.open();
        let cause = violation("first packet from the server is not CONNACK [MQTT-3.2.0-1]");
        assert_eq!(h.feed(packet.clone()), vec![close(cause)], "[MQTT-4.8.0-1] {packet:?}");
        assert_eq!(h.events(), vec![disconnected(Some(cause))], "{packet:?}");
        // The CONNACK that follows on the dead transport is ignored.
        assert_eq!(h.feed(connack(false)), vec![]);
        h.assert_quiet();
        assert!(!h.session.is_connected());
    }
}

#[test]
fn packets_only_a_client_may_send_are_protocol_violations() {
    // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and DISCONNECT flow client to server.
    let client_only = [
        Packet::Connect(Connect::new("s", true, 0)),
        Packet::Subscribe(Subscribe {
            pkid: pid(1),
            filters: filters_of(&[("t", Q0)]),
            properties: Default::default(),
        }),
        Packet::Unsubscribe(Unsubscribe { pkid: pid(1), filters: vec!["t".into()], properties: Default::default() }),
        Packet::Pingreq,
        Packet::disconnect(),
    ];
    for packet in client_only {
        let mut h = Harness::connected(false);
        let cause = violation("server sent a packet only a client may send");
        assert_eq!(h.feed(packet.clone()), vec![close(cause)], "[MQTT-4.8.0-1] {packet:?}");
        assert_eq!(h.events(), vec![disconnected(Some(cause))], "{packet:?}");
        // Whatever was buffered behind it is not processed.
        assert_eq!(h.feed(publish("t", "x", Q1, 5)), vec![]);
        h.assert_quiet();
    }
}

#[test]
fn a_second_connack_is_a_protocol_violation() {
    // The server sends one CONNACK per connection [MQTT-3.2.0-1].
    let mut h = Harness::connected(false);
    let cause = violation("second CONNACK");
    assert_eq!(h.feed(connack(true)), vec![close(cause)], "[MQTT-4.8.0-1]");
    assert_eq!(h.events(), vec![disconnected(Some(cause))]);
    assert!(!h.session.is_connected());
}

#[test]
fn session_present_0_when_resuming_a_session_reports_session_lost() {
    // [MQTT-3.1.2-4]: clean session 0 resumes a session; session present 0 says the server had none.
    let mut h = Harness::connected(false);
    h.publish_ok("t", "a", Q1, 1);
    h.lose();
    assert_eq!(h.events(), vec![disconnected(None)]);
    assert_eq!(
        h.connect(false),
        vec![send(publish("t", "a", Q1, 1).dup())],
        "[MQTT-4.4.0-1] our half is still re-sent: the server simply sees it as new"
    );
    assert_eq!(
        h.events(),
        vec![ClientEvent::Connected { session_present: false }, ClientEvent::SessionLost { unacknowledged: 1 }]
    );
}

#[test]
fn session_present_0_on_a_first_connection_or_a_clean_session_is_not_a_loss() {
    // [MQTT-3.1.2-6]: a clean session never expects a stored session.
    let mut h = Harness::connected(true);
    h.lose();
    h.events();
    assert_eq!(h.connect(false), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: false }]);
    // The first connection of a persistent session expects nothing either: `Harness::connected`
    // checked that it saw only `Connected`.
    let mut h = Harness::connected(false);
    h.lose();
    h.events();
    assert_eq!(h.connect(true), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: true }]);
}

#[test]
fn disconnect_sends_disconnect_then_closes_and_nothing_after() {
    let mut h = Harness::connected_with(opts("c", false, 10));
    h.publish_ok("t", "a", Q1, 1);
    h.now = at(1_000);
    h.session.disconnect(h.now);
    assert_eq!(
        h.actions(),
        vec![send(Packet::disconnect()), close(CloseCause::Disconnect)],
        "[MQTT-3.14.4-1] DISCONNECT, then close"
    );
    assert_eq!(h.events(), vec![disconnected(Some(CloseCause::Disconnect))]);
    assert_eq!(h.session.poll_timeout(), None, "no keep alive after DISCONNECT");
    // Nothing the application or the (closing) server does makes it send anything more.
    assert_eq!(h.publish("t", "b", Q0), Err(ClientError::NotConnected));
    assert_eq!(h.subscribe(&[("t", Q0)]), Err(ClientError::NotConnected));
    assert_eq!(h.feed(puback(1)), vec![]);
    assert_eq!(h.feed(publish("t", "x", Q2, 3)), vec![], "[MQTT-3.14.4-2] nothing sent after DISCONNECT");
    assert_eq!(h.feed(pubrel(3)), vec![]);
    assert_eq!(h.advance(secs(3_600)), vec![], "[MQTT-3.14.4-2] not even PINGREQ");
    h.session.disconnect(h.now);
    assert_eq!(h.lose(), vec![]);
    h.assert_quiet();
    assert_eq!(
        h.unacknowledged(),
        vec![(1, "t".to_owned())],
        "[MQTT-3.1.2-4] the persistent session's unacknowledged PUBLISH is kept for the next connection"
    );
}

#[test]
fn disconnect_while_waiting_for_connack_still_sends_disconnect() {
    // [MQTT-3.14.4-1]: a client may send packets after CONNECT before CONNACK (spec 3.1.4).
    let mut h = Harness::new(opts("c", true, 0));
    h.open();
    h.session.disconnect(h.now);
    assert_eq!(h.actions(), vec![send(Packet::disconnect()), close(CloseCause::Disconnect)]);
    assert_eq!(h.events(), vec![disconnected(Some(CloseCause::Disconnect))]);
    assert_eq!(h.feed(connack(false)), vec![]);
    h.assert_quiet();
}

#[test]
fn disconnect_without_a_transport_does_nothing() {
    let mut h = Harness::new(opts("c", true, 0));
    h.session.disconnect(h.now);
    h.assert_quiet();
}
