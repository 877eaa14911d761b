//! MQTT 5.0: the CONNECT a 5.0 client sends, what the server's CONNACK sets (refusal reason
//! codes, Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Maximum QoS, Retain
//! Available, Server Keep Alive, Assigned Client Identifier, Session Expiry Interval), the session
//! state kept by the Session Expiry Interval, properties on our publications and on messages
//! handed over, topic aliases both ways, subscription options, acknowledgements with reason codes,
//! and DISCONNECT both ways. Statements are cited `[MQTT5-x]`; where the spec states a rule
//! without an ID, the section is named.

use super::*;
use crate::protocol::{
    Ack, ConnackCode, Connect, Disconnect, EncodeError, LastWill, Properties, Property, Protocol, ReasonCode,
    RetainHandling, Subscribe, Unsuback, Version,
};

/// 5.0 options: keep alive 0 (no timers), Clean Start `clean`, Session Expiry Interval `expiry`.
fn v5(clean: bool, expiry: u32) -> ClientOptions {
    ClientOptions { keep_alive: 0, ..ClientOptions::v5("c", clean, expiry) }
}

fn props(list: impl IntoIterator<Item = Property>) -> Properties {
    list.into_iter().collect()
}

/// An accepting 5.0 CONNACK with these properties.
fn connack_with(session_present: bool, properties: Properties) -> Packet {
    Packet::Connack(Connack { properties, ..Connack::accepted(session_present) })
}

/// A 5.0 session connected with `options` to a server whose CONNACK has `properties`; the
/// CONNECT and the `Connected` event checked and drained.
fn connected(options: ClientOptions, properties: Properties) -> Harness {
    let mut h = Harness::new(options);
    let connect = h.session.options().connect_packet();
    assert_eq!(connect.protocol, Protocol::V5);
    assert_eq!(h.open(), vec![send(Packet::Connect(connect))]);
    assert_eq!(h.feed(connack_with(false, properties)), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: false }]);
    h
}

/// A PUBLISH with these properties (DUP 0, RETAIN 0).
fn publish_props(topic: &str, payload: &str, qos: QoS, pkid: u16, properties: Properties) -> Packet {
    match publish(topic, payload, qos, pkid) {
        Packet::Publish(p) => Packet::Publish(Publish { properties, ..p }),
        _ => unreachable!(),
    }
}

fn disconnect_with(reason: ReasonCode) -> Packet {
    Packet::Disconnect(Disconnect::with_reason(reason))
}

fn ack(reason: u8, n: u16) -> Ack {
    Ack::with_reason(pid(n), ReasonCode(reason))
}

fn published_with(n: u16, reason: u8) -> ClientEvent {
    ClientEvent::Published { pkid: pid(n), reason: ReasonCode(reason) }
}

#[test]
fn a_5_0_connect_carries_the_options_as_properties_and_3_1_1_refuses_them() {
    let options = ClientOptions {
        receive_maximum: Some(10),
        maximum_packet_size: Some(1000),
        topic_alias_maximum: 5,
        request_problem_information: Some(false),
        request_response_information: Some(true),
        user_properties: vec![("k".into(), "v".into()), ("k".into(), "w".into())],
        keep_alive: 30,
        ..ClientOptions::v5("c", false, 60)
    };
    let expected = Connect {
        properties: props([
            Property::SessionExpiryInterval(60),
            Property::ReceiveMaximum(10),
            Property::MaximumPacketSize(1000),
            Property::TopicAliasMaximum(5),
            Property::RequestResponseInformation(1),
            Property::RequestProblemInformation(0),
            Property::UserProperty(("k".into(), "v".into())),
            Property::UserProperty(("k".into(), "w".into())),
        ]),
        ..Connect::v5("c", false, 30)
    };
    assert_eq!(options.connect_packet(), expected, "user properties in the order given");
    assert_eq!(options.validate(), Ok(()));
    let mut h = Harness::new(options.clone());
    assert_eq!(h.open(), vec![send(Packet::Connect(expected))], "[MQTT5-3.1.0-1] CONNECT first");
    // Session expiry 0 and absent limits send nothing: the property's absence means the default.
    assert_eq!(ClientOptions::v5("c", true, 0).connect_packet(), Connect::v5("c", true, 60));
    // 3.1.1 cannot carry them: refused before anything is sent.
    let v311 = ClientOptions { version: Version::V311, ..options };
    assert_eq!(
        v311.validate(),
        Err(ClientError::Invalid(EncodeError::NotInV311("a Session Expiry Interval"))),
        "a 3.1.1 CONNECT stays the 3.1.1 bytes"
    );
    // 5.0 has no [MQTT-3.1.3-7]: the server assigns an id and may keep its session.
    assert_eq!(ClientOptions::v5("", false, 60).validate(), Ok(()));
    // The encoder's table checks the values: Receive Maximum 0 is a Protocol Error.
    assert!(ClientOptions { receive_maximum: Some(0), ..v5(true, 0) }.validate().is_err());
    // Will properties go in a 5.0 CONNECT [MQTT5-3.1.2-9], and not in a 3.1.1 one.
    let will = LastWill {
        properties: props([Property::WillDelayInterval(10), Property::ContentType("text/plain".into())]),
        ..LastWill::new("status/c", "gone", Q1, false)
    };
    let with_will = ClientOptions { will: Some(will.clone()), ..v5(true, 0) };
    assert_eq!(with_will.validate(), Ok(()));
    assert_eq!(with_will.connect_packet().will, Some(will.clone()));
    let v311 = ClientOptions { will: Some(will), ..ClientOptions::new("c", true) };
    assert_eq!(v311.validate(), Err(ClientError::Invalid(EncodeError::NotInV311("a property"))));
}

#[test]
fn a_5_0_refusal_reports_its_reason_code() {
    let mut h = Harness::new(v5(true, 0));
    h.open();
    let code = ConnackCode::V5(ReasonCode::NOT_AUTHORIZED);
    assert_eq!(h.feed(Packet::Connack(Connack::refused(code))), vec![close(CloseCause::Refused(code))]);
    let events = h.events();
    assert_eq!(events, vec![ClientEvent::Refused(code), disconnected(Some(CloseCause::Refused(code)))]);
    assert!(matches!(events[0], ClientEvent::Refused(ConnackCode::V5(ReasonCode(0x87)))), "the 5.0 code, as sent");
    assert_eq!(CloseCause::Refused(code).to_string(), "refused with CONNACK reason 0x87 (Not authorized)");
    // A code without a 3.1.1 counterpart is not folded into one.
    let mut h = Harness::new(v5(true, 0));
    h.open();
    let banned = ConnackCode::V5(ReasonCode::BANNED);
    h.feed(Packet::Connack(Connack::refused(banned)));
    assert_eq!(h.events()[0], ClientEvent::Refused(banned));
}

#[test]
fn the_servers_receive_maximum_narrows_our_window() {
    // [MQTT5-3.3.4-7] [MQTT5-4.9.0-2]: at most Receive Maximum QoS 1/2 PUBLISHes unacknowledged.
    let mut h = connected(v5(true, 0), props([Property::ReceiveMaximum(2)]));
    assert_eq!(h.session.server_limits().receive_maximum, 2);
    h.publish_ok("t", "1", Q1, 1);
    h.publish_ok("t", "2", Q2, 2);
    assert_eq!(h.publish("t", "3", Q1), Ok(Some(pid(3))));
    assert_eq!(h.actions(), vec![], "the third waits: two are unacknowledged");
    // [MQTT5-3.3.4-8] other packets are not held back, and QoS 0 needs no quota.
    h.publish_ok("t", "q0", Q0, 0);
    assert_eq!(h.feed(pubrec(2)), vec![send(pubrel(2))], "PUBREL is not delayed");
    assert_eq!(h.feed(puback(1)), vec![send(publish("t", "3", Q1, 3))], "a completed flow makes room");
    assert_eq!(h.events(), vec![published(1)]);
    // Our own max_inflight is the limit when it is the smaller.
    let mut h = connected(ClientOptions { max_inflight: 1, ..v5(true, 0) }, props([Property::ReceiveMaximum(5)]));
    h.publish_ok("t", "1", Q1, 1);
    assert_eq!(h.publish("t", "2", Q1), Ok(Some(pid(2))));
    assert_eq!(h.actions(), vec![]);
}

#[test]
fn a_resumed_session_resends_within_the_new_servers_receive_maximum() {
    // The last connection allowed more than this one: PUBRELs go at once [MQTT5-3.3.4-8], the
    // PUBLISH re-sends only while the window has room [MQTT5-3.3.4-7], in their original order
    // [MQTT5-4.6.0-1] with DUP 1, then what was never sent.
    let mut h = connected(v5(false, 60), props([Property::ReceiveMaximum(10)]));
    h.publish_ok("t", "1", Q2, 1);
    assert_eq!(h.feed(pubrec(1)), vec![send(pubrel(1))]);
    h.publish_ok("t", "2", Q1, 2);
    h.publish_ok("t", "3", Q1, 3);
    h.publish_ok("t", "4", Q2, 4);
    h.lose();
    h.open();
    assert_eq!(
        h.feed(connack_with(true, props([Property::ReceiveMaximum(2)]))),
        vec![send(pubrel(1)), send(publish("t", "2", Q1, 2).dup())]
    );
    assert_eq!(h.session.in_flight(), 2);
    assert_eq!(h.publish("t", "5", Q1), Ok(Some(pid(5))));
    assert_eq!(h.actions(), vec![], "nothing new passes the held re-sends");
    assert_eq!(h.feed(puback(2)), vec![send(publish("t", "3", Q1, 3).dup())]);
    assert_eq!(h.feed(pubcomp(1)), vec![send(publish("t", "4", Q2, 4).dup())]);
    assert_eq!(h.feed(puback(3)), vec![send(publish("t", "5", Q1, 5))], "then the new one, DUP 0");
    assert_eq!(&h.events()[2..], [published(2), published(1), published(3)]);
    // A held re-send the server answers anyway is done with, not sent again.
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", "1", Q1, 1);
    h.publish_ok("t", "2", Q1, 2);
    h.lose();
    h.open();
    assert_eq!(
        h.feed(connack_with(true, props([Property::ReceiveMaximum(1)]))),
        vec![send(publish("t", "1", Q1, 1).dup())]
    );
    assert_eq!(h.feed(puback(2)), vec![]);
    assert_eq!(h.feed(puback(1)), vec![], "2 is not re-sent: it was acknowledged");
    assert_eq!(h.unacknowledged(), vec![]);
}

#[test]
fn a_publication_above_the_servers_maximum_packet_size_is_refused_and_not_sent() {
    // [MQTT5-3.2.2-15]
    let mut h = connected(v5(true, 0), props([Property::MaximumPacketSize(64)]));
    let big = "x".repeat(100);
    assert_eq!(h.publish("t", &big, Q1), Err(ClientError::TooLarge { size: 108, max: 64 }));
    assert_eq!(h.publish("t", &big, Q0), Err(ClientError::TooLarge { size: 106, max: 64 }));
    assert_eq!(h.actions(), vec![], "nothing sent");
    h.publish_ok("t", "small", Q1, 1);
    assert_eq!(h.unacknowledged(), vec![(1, "t".to_owned())], "the refused one took no id and is not held");
    // Stored under a larger maximum, too large for the next server: not re-sent; the flow ends
    // as if it had been (section 3.2.2.3.6), reported with 0x95.
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", &big, Q1, 1);
    h.publish_ok("t", "small", Q1, 2);
    h.publish_ok("t", &big, Q2, 3);
    h.lose();
    h.events();
    h.open();
    assert_eq!(
        h.feed(connack_with(true, props([Property::MaximumPacketSize(64)]))),
        vec![send(publish("t", "small", Q1, 2).dup())]
    );
    assert_eq!(
        &h.events()[1..],
        [published_with(1, 0x95), published_with(3, 0x95)],
        "[MQTT5-3.2.2-15] never sent, reported"
    );
    assert_eq!(h.unacknowledged(), vec![(2, "t".to_owned())]);
}

#[test]
fn maximum_qos_and_retain_available_refuse_what_the_server_does_not_take() {
    let mut h = connected(v5(true, 0), props([Property::MaximumQos(1), Property::RetainAvailable(0)]));
    assert_eq!(
        h.publish("t", "x", Q2),
        Err(ClientError::QosNotSupported { qos: Q2, maximum: Q1 }),
        "[MQTT5-3.2.2-11] never above the server's Maximum QoS"
    );
    assert_eq!(
        h.session.publish("t", Bytes::from_static(b"x"), Q0, true, h.now),
        Err(ClientError::RetainNotSupported),
        "[MQTT5-3.2.2-14] no RETAIN 1 without Retain Available"
    );
    assert_eq!(h.actions(), vec![]);
    h.publish_ok("t", "x", Q1, 1);
    // Stored under a server that took them, not re-sent to one that does not: the flow ends,
    // reported with the reason that server would give.
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", "2", Q2, 1);
    assert_eq!(h.session.publish("t", Bytes::from_static(b"r"), Q1, true, h.now), Ok(Some(pid(2))));
    assert_eq!(h.actions(), vec![send(publish("t", "r", Q1, 2).retain())]);
    h.publish_ok("t", "1", Q1, 3);
    h.lose();
    h.events();
    h.open();
    let limits = props([Property::MaximumQos(1), Property::RetainAvailable(0)]);
    assert_eq!(h.feed(connack_with(true, limits)), vec![send(publish("t", "1", Q1, 3).dup())]);
    assert_eq!(&h.events()[1..], [published_with(1, 0x9B), published_with(2, 0x9A)]);
    // A 3.1.1 client reads no such limits: everything goes as before.
    let mut h = Harness::connected(true);
    h.publish_ok("t", "x", Q2, 1);
}

#[test]
fn the_server_keep_alive_replaces_ours() {
    // [MQTT5-3.1.2-21] [MQTT5-3.2.2-21]
    let options = ClientOptions { keep_alive: 60, ..v5(true, 0) };
    let mut h = connected(options, props([Property::ServerKeepAlive(5)]));
    assert_eq!(h.session.poll_timeout(), Some(at(5_000)));
    assert_eq!(h.advance(secs(5)), vec![send(Packet::Pingreq)], "[MQTT5-3.1.2-20] PINGREQ when idle");
    assert_eq!(h.advance(secs(5)), vec![close(CloseCause::PingTimeout)]);
    // The next connection starts from ours again, until its CONNACK says otherwise.
    h.events();
    h.open();
    assert_eq!(h.session.poll_timeout(), Some(h.now + secs(60)), "CONNACK timer on our keep alive");
}

#[test]
fn an_assigned_client_identifier_is_reused_while_the_session_lasts() {
    let options = ClientOptions { keep_alive: 0, ..ClientOptions::v5("", false, 60) };
    let mut h = Harness::new(options);
    assert!(matches!(&h.open()[..], [ClientAction::Send(Packet::Connect(c))] if c.client_id.is_empty()));
    h.feed(connack_with(false, props([Property::AssignedClientIdentifier("auto-7".into())])));
    assert_eq!(h.session.assigned_client_id(), Some("auto-7"));
    h.lose();
    // Session Expiry Interval 60: the session outlives the connection under the assigned id.
    let resumed = Connect { client_id: "auto-7".into(), ..h.session.options().connect_packet() };
    assert_eq!(h.open(), vec![send(Packet::Connect(resumed))]);
    // A session that ends with its connection leaves nothing to find: the id goes with it.
    let mut h = Harness::new(ClientOptions { keep_alive: 0, ..ClientOptions::v5("", true, 0) });
    h.open();
    h.feed(connack_with(false, props([Property::AssignedClientIdentifier("auto-8".into())])));
    h.lose();
    assert_eq!(h.open(), vec![send(Packet::Connect(Connect::v5("", true, 0)))]);
}

#[test]
fn session_expiry_decides_what_our_half_keeps_across_a_lost_connection() {
    // Session Expiry Interval 0: the session ends with the connection, on both sides.
    let mut h = connected(v5(false, 0), Properties::new());
    h.publish_ok("t", "a", Q1, 1);
    h.lose();
    assert_eq!(h.session.summary().unacknowledged, 0, "discarded with the connection");
    assert!(!h.session.keeps_session());
    // Above 0: kept [MQTT5-3.1.2-23] and re-sent on the resumed session [MQTT5-4.4.0-1].
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", "a", Q1, 1);
    h.lose();
    assert_eq!(h.session.summary().unacknowledged, 1);
    h.open();
    assert_eq!(h.feed(connack_with(true, Properties::new())), vec![send(publish("t", "a", Q1, 1).dup())]);
    // Clean Start governs only whether the server discards at connect: with it, our half goes
    // too when the connection is made [MQTT5-3.1.2-4], not when it is lost.
    let mut h = connected(v5(true, 60), Properties::new());
    h.publish_ok("t", "a", Q1, 1);
    h.lose();
    assert_eq!(h.session.summary().unacknowledged, 1, "kept while disconnected");
    h.open();
    assert_eq!(h.feed(connack_with(false, Properties::new())), vec![], "nothing re-sent into a new session");
    assert_eq!(h.unacknowledged(), vec![]);
    // The server's Session Expiry Interval in CONNACK is the one in force (section 3.2.2.3.2).
    let mut h = connected(v5(false, 60), props([Property::SessionExpiryInterval(0)]));
    h.publish_ok("t", "a", Q1, 1);
    h.lose();
    assert_eq!(h.session.summary().unacknowledged, 0, "the server said 0");
}

#[test]
fn session_present_0_on_a_resume_discards_our_half_too() {
    // [MQTT5-3.2.2-5]: unlike the 3.1.1 client, which re-sends into the new session.
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", "a", Q1, 1);
    h.lose();
    h.events();
    h.open();
    assert_eq!(h.feed(connack_with(false, Properties::new())), vec![]);
    assert_eq!(
        h.events(),
        vec![ClientEvent::Connected { session_present: false }, ClientEvent::SessionLost { unacknowledged: 1 }]
    );
    assert_eq!(h.unacknowledged(), vec![]);
    // Session present 1 after Clean Start 1 is a session the client cannot have: it closes.
    let mut h = Harness::new(v5(true, 60));
    h.open();
    let actions = h.feed(connack_with(true, Properties::new()));
    assert!(
        matches!(&actions[..], [ClientAction::Close(CloseCause::ProtocolViolation(_))]),
        "[MQTT5-3.2.2-4] {actions:?}"
    );
}

#[test]
fn publications_carry_their_properties_but_no_subscription_identifier() {
    let mut h = connected(v5(true, 0), Properties::new());
    let properties = props([
        Property::MessageExpiryInterval(30),
        Property::ContentType("text/plain".into()),
        Property::UserProperty(("k".into(), "v".into())),
    ]);
    let got = h.session.publish_with("t", Bytes::from_static(b"x"), Q1, false, properties.clone(), h.now);
    assert_eq!(got, Ok(Some(pid(1))));
    assert_eq!(h.actions(), vec![send(publish_props("t", "x", Q1, 1, properties))]);
    let with_id = props([Property::SubscriptionIdentifier(3)]);
    assert_eq!(
        h.session.publish_with("t", Bytes::new(), Q0, false, with_id, h.now),
        Err(ClientError::SubscriptionIdentifierInPublish),
        "[MQTT5-3.3.4-6]"
    );
    // 3.1.1 has no properties to carry.
    let mut h = Harness::connected(true);
    let got = h.session.publish_with("t", Bytes::new(), Q0, false, props([Property::ContentType("a".into())]), h.now);
    assert_eq!(got, Err(ClientError::Invalid(EncodeError::NotInV311("a property"))));
}

#[test]
fn our_topic_aliases_stay_within_the_servers_maximum_and_this_connection() {
    let alias = |n| props([Property::TopicAlias(n)]);
    // No Topic Alias Maximum in CONNACK: no aliases at all [MQTT5-3.2.2-18].
    let mut h = connected(v5(false, 60), Properties::new());
    assert_eq!(
        h.session.publish_with("t", Bytes::new(), Q0, false, alias(1), h.now),
        Err(ClientError::TopicAliasInvalid { alias: 1, maximum: 0 })
    );
    let mut h = connected(v5(false, 60), props([Property::TopicAliasMaximum(2)]));
    assert_eq!(
        h.session.publish_with("t", Bytes::new(), Q0, false, alias(3), h.now),
        Err(ClientError::TopicAliasInvalid { alias: 3, maximum: 2 }),
        "[MQTT5-3.2.2-17] [MQTT5-3.3.2-9] never above the server's maximum"
    );
    // The first use sends the topic and sets the alias; later ones leave the topic out.
    h.session.publish_with("a/b", Bytes::from_static(b"1"), Q0, false, alias(1), h.now).unwrap();
    h.session.publish_with("a/b", Bytes::from_static(b"2"), Q1, false, alias(1), h.now).unwrap();
    h.session.publish_with("", Bytes::from_static(b"3"), Q1, false, alias(1), h.now).unwrap();
    assert_eq!(
        h.actions(),
        vec![
            send(publish_props("a/b", "1", Q0, 0, alias(1))),
            send(publish_props("", "2", Q1, 1, alias(1))),
            send(publish_props("", "3", Q1, 2, alias(1))),
        ]
    );
    assert_eq!(
        h.unacknowledged(),
        vec![(1, "a/b".to_owned()), (2, "a/b".to_owned())],
        "stored with the topic the alias stands for"
    );
    assert_eq!(
        h.session.publish_with("", Bytes::new(), Q0, false, alias(2), h.now),
        Err(ClientError::TopicAliasInvalid { alias: 2, maximum: 2 }),
        "an empty topic needs an alias this connection has mapped"
    );
    // A new connection has no aliases [MQTT5-3.3.2-7]: the re-sends carry the topic; a server
    // that now allows none gets no alias [MQTT5-3.2.2-18].
    h.lose();
    h.open();
    assert_eq!(
        h.feed(connack_with(true, Properties::new())),
        vec![send(publish("a/b", "2", Q1, 1).dup()), send(publish("a/b", "3", Q1, 2).dup())]
    );
}

#[test]
fn messages_carry_their_properties_and_incoming_topic_aliases_are_resolved() {
    let mut h = connected(ClientOptions { topic_alias_maximum: 2, ..v5(true, 0) }, Properties::new());
    let sent = props([
        Property::TopicAlias(1),
        Property::SubscriptionIdentifier(7),
        Property::UserProperty(("k".into(), "v".into())),
    ]);
    assert_eq!(h.feed(publish_props("s/1", "a", Q1, 1, sent)), vec![send(puback(1))]);
    h.feed(publish_props("", "b", Q0, 0, props([Property::TopicAlias(1)])));
    let events = h.events();
    let [ClientEvent::Message(first), ClientEvent::Message(second)] = &events[..] else {
        panic!("two messages: {events:?}");
    };
    assert_eq!(
        first.properties,
        props([Property::SubscriptionIdentifier(7), Property::UserProperty(("k".into(), "v".into()))]),
        "the alias belongs to the connection, the rest to the message"
    );
    assert_eq!(first.subscription_identifiers().collect::<Vec<_>>(), [7]);
    assert_eq!((second.topic.as_str(), second.properties.is_empty()), ("s/1", true), "[MQTT5-3.3.2-10] mapped");
    // 3.1.1 messages have no properties.
    let mut h = Harness::connected(true);
    h.feed(publish("t", "x", Q0, 0));
    assert_eq!(h.events(), vec![message("t", "x", Q0, false, false)]);
}

#[test]
fn a_bad_incoming_topic_alias_closes_with_disconnect() {
    // Section 3.3.2.3.4: an alias above our Topic Alias Maximum is 0x94 Topic Alias invalid
    // ([MQTT5-3.3.2-10]: we accept 1 to our maximum); none advertised means none accepted.
    for (maximum, alias) in [(2, 3), (0, 1)] {
        let mut h = connected(ClientOptions { topic_alias_maximum: maximum, ..v5(true, 0) }, Properties::new());
        let actions = h.feed(publish_props("t", "x", Q0, 0, props([Property::TopicAlias(alias)])));
        assert_eq!(
            actions,
            vec![
                send(disconnect_with(ReasonCode::TOPIC_ALIAS_INVALID)),
                close(violation("Topic Alias 0 or above our Topic Alias Maximum"))
            ],
            "maximum {maximum}, alias {alias}"
        );
        assert!(!h.events().iter().any(|e| matches!(e, ClientEvent::Message(_))), "not handed over");
    }
    // An empty topic with an alias not mapped on this connection: a Protocol Error (0x82).
    let mut h = connected(ClientOptions { topic_alias_maximum: 2, ..v5(true, 0) }, Properties::new());
    let actions = h.feed(publish_props("", "x", Q0, 0, props([Property::TopicAlias(2)])));
    assert_eq!(actions[0], send(disconnect_with(ReasonCode::PROTOCOL_ERROR)));
    assert!(matches!(actions[1], ClientAction::Close(CloseCause::ProtocolViolation(_))));
}

#[test]
fn subscribe_with_options_and_an_identifier_and_the_acks_reason_codes() {
    let mut h = connected(v5(true, 0), Properties::new());
    let filter = SubscribeFilter {
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::Never,
        ..SubscribeFilter::new("a/#", Q1)
    };
    let properties = props([Property::SubscriptionIdentifier(5)]);
    assert_eq!(
        h.session.subscribe_with(vec![filter.clone(), SubscribeFilter::new("b", Q2)], properties.clone(), h.now),
        Ok(pid(1))
    );
    assert_eq!(
        h.actions(),
        vec![send(Packet::Subscribe(Subscribe {
            pkid: pid(1),
            filters: vec![filter, SubscribeFilter::new("b", Q2)],
            properties
        }))]
    );
    let codes = [SubackCode::Granted(Q1), SubackCode::Refused(ReasonCode::NOT_AUTHORIZED)];
    h.feed(suback(1, &codes));
    assert_eq!(h.events(), vec![ClientEvent::Subscribed { pkid: pid(1), codes: codes.to_vec() }], "refusals as sent");
    assert_eq!(h.unsubscribe(&["a/#", "c"]), Ok(pid(2)));
    h.actions();
    let reasons = vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED];
    h.feed(Packet::Unsuback(Unsuback { pkid: pid(2), reasons: reasons.clone(), properties: Properties::new() }));
    assert_eq!(h.events(), vec![ClientEvent::Unsubscribed { pkid: pid(2), reasons }], "one reason per filter");
    // A server without Subscription Identifiers is not sent one.
    let mut h = connected(v5(true, 0), props([Property::SubscriptionIdentifierAvailable(0)]));
    let got = h.session.subscribe_with(filters_of(&[("a", Q0)]), props([Property::SubscriptionIdentifier(1)]), h.now);
    assert_eq!(got, Err(ClientError::SubscriptionIdentifiersNotSupported));
    // 3.1.1 has no subscription options.
    let mut h = Harness::connected(true);
    let no_local = SubscribeFilter { no_local: true, ..SubscribeFilter::new("a", Q0) };
    assert_eq!(
        h.session.subscribe(vec![no_local], h.now),
        Err(ClientError::Invalid(EncodeError::NotInV311("a subscription option")))
    );
}

#[test]
fn a_failed_puback_or_pubrec_ends_the_flow_and_is_reported() {
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", "1", Q1, 1);
    h.publish_ok("t", "2", Q2, 2);
    h.publish_ok("t", "3", Q2, 3);
    h.publish_ok("t", "4", Q1, 4);
    assert_eq!(h.feed(Packet::Puback(ack(0x87, 1))), vec![]);
    assert_eq!(h.feed(Packet::Pubrec(ack(0x80, 2))), vec![], "[MQTT5-4.3.3-4] no PUBREL after a failed PUBREC");
    // A success other than 0x00 goes on as usual.
    assert_eq!(h.feed(Packet::Pubrec(ack(0x10, 3))), vec![send(pubrel(3))]);
    assert_eq!(h.feed(Packet::Pubcomp(ack(0x00, 3))), vec![]);
    assert_eq!(h.feed(Packet::Puback(ack(0x10, 4))), vec![]);
    // The QoS 2 flow reports its PUBREC's 0x10 when PUBCOMP ends it with Success, and a
    // failing PUBCOMP's own code otherwise.
    h.publish_ok("t", "6", Q2, 5);
    assert_eq!(h.feed(Packet::Pubrec(ack(0x10, 5))), vec![send(pubrel(5))]);
    assert_eq!(h.feed(Packet::Pubcomp(ack(0x92, 5))), vec![]);
    assert_eq!(
        h.events(),
        vec![
            published_with(1, 0x87),
            published_with(2, 0x80),
            published_with(3, 0x10),
            published_with(4, 0x10),
            published_with(5, 0x92)
        ]
    );
    // [MQTT5-4.4.0-2] a refused message is not re-sent on a resumed session.
    h.publish_ok("t", "7", Q1, 6);
    h.lose();
    h.open();
    assert_eq!(h.feed(connack_with(true, Properties::new())), vec![send(publish("t", "7", Q1, 6).dup())]);
}

#[test]
fn a_server_disconnect_is_its_own_close_cause_and_keeps_the_session() {
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", "a", Q1, 1);
    assert_eq!(
        h.feed(disconnect_with(ReasonCode::SESSION_TAKEN_OVER)),
        vec![close(CloseCause::ServerDisconnect(ReasonCode::SESSION_TAKEN_OVER))],
        "no DISCONNECT back; the connection is over [MQTT5-4.13.2-1]"
    );
    assert_eq!(h.events(), vec![disconnected(Some(CloseCause::ServerDisconnect(ReasonCode(0x8E))))]);
    assert_eq!(
        CloseCause::ServerDisconnect(ReasonCode(0x8E)).to_string(),
        "the server sent DISCONNECT with reason 0x8e (Session taken over)"
    );
    assert_eq!(h.session.summary().unacknowledged, 1, "[MQTT5-3.1.2-23] kept for the next connection");
    // A server may not set the Session Expiry Interval in its DISCONNECT [MQTT5-3.14.2-2].
    let mut h = connected(v5(false, 60), Properties::new());
    let bad = Disconnect { reason: ReasonCode::SUCCESS, properties: props([Property::SessionExpiryInterval(5)]) };
    let actions = h.feed(Packet::Disconnect(bad));
    assert_eq!(actions[0], send(disconnect_with(ReasonCode::PROTOCOL_ERROR)));
    // In 3.1.1 a server never sends DISCONNECT: still a violation.
    let mut h = Harness::connected(true);
    assert_eq!(h.feed(Packet::disconnect()), vec![close(violation("server sent a packet only a client may send"))]);
}

#[test]
fn disconnect_sends_a_reason_and_may_change_the_session_expiry() {
    // 0x04 asks the server to publish the will.
    let mut h = connected(v5(false, 60), Properties::new());
    let with_will = ReasonCode::DISCONNECT_WITH_WILL;
    assert_eq!(h.session.disconnect_with(with_will, Properties::new(), h.now), Ok(()));
    assert_eq!(h.actions(), vec![send(disconnect_with(with_will)), close(CloseCause::Disconnect)]);
    // Session expiry 0 at DISCONNECT ends the session: our half goes too.
    let mut h = connected(v5(false, 60), Properties::new());
    h.publish_ok("t", "a", Q1, 1);
    let zero = props([Property::SessionExpiryInterval(0)]);
    assert_eq!(h.session.disconnect_with(ReasonCode::SUCCESS, zero.clone(), h.now), Ok(()));
    assert_eq!(h.actions()[0], send(Packet::Disconnect(Disconnect { reason: ReasonCode::SUCCESS, properties: zero })));
    assert_eq!(h.session.summary().unacknowledged, 0);
    // CONNECT sent 0: DISCONNECT may not set another (section 3.14.2.2.2); nothing is sent.
    let mut h = connected(v5(false, 0), Properties::new());
    let got = h.session.disconnect_with(ReasonCode::SUCCESS, props([Property::SessionExpiryInterval(60)]), h.now);
    assert_eq!(got, Err(ClientError::SessionExpiryAfterZero));
    assert_eq!(h.actions(), vec![]);
    assert!(h.session.is_connected());
    // 3.1.1 has Normal disconnection only.
    let mut h = Harness::connected(true);
    assert_eq!(
        h.session.disconnect_with(with_will, Properties::new(), h.now),
        Err(ClientError::Invalid(EncodeError::NotInV311("a DISCONNECT reason code")))
    );
}

#[test]
fn a_5_0_client_says_why_before_closing_on_a_protocol_error() {
    // Section 4.13.1: DISCONNECT with the reason code, then close.
    let mut h = connected(v5(true, 0), Properties::new());
    assert_eq!(
        h.feed(connack_with(false, Properties::new())),
        vec![send(disconnect_with(ReasonCode::PROTOCOL_ERROR)), close(violation("second CONNACK"))]
    );
    let mut h = connected(v5(true, 0), Properties::new());
    h.session.handle_malformed(ReasonCode::MALFORMED_PACKET, h.now);
    assert_eq!(
        h.actions(),
        vec![
            send(disconnect_with(ReasonCode::MALFORMED_PACKET)),
            close(violation("the server sent a malformed packet"))
        ]
    );
    // More QoS 2 messages awaiting PUBREL than our Receive Maximum: 0x93 (section 3.3.4).
    let mut h = connected(ClientOptions { receive_maximum: Some(1), ..v5(true, 0) }, Properties::new());
    assert_eq!(h.feed(publish("t", "1", Q2, 1)), vec![send(pubrec(1))]);
    let actions = h.feed(publish("t", "2", Q2, 2));
    assert_eq!(actions[0], send(disconnect_with(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED)));
    assert_eq!(h.events().len(), 2, "the first message, then the close; the second is not handed over");
}
