//! Byte-exact vectors for every MQTT 5.0 control packet and every property identifier, laid out
//! by hand from the 5.0 specification (sections 2.2.2, 3.1 to 3.15; table 2-4 for the property
//! identifiers), not from our encoder's output. The bytes are assembled from the spec's fields
//! with a remaining length and property lengths computed here, independently of the codec.
//! Every vector is checked both ways: `decode_as(V5)` gives the packet and consumes exactly its
//! bytes, every strict prefix is "need more bytes", and `encode_as(V5)` gives exactly the bytes.

use bytes::{Bytes, BytesMut};
use mqtt_sim::protocol::{
    decode_as, Ack, Auth, Connack, Connect, DecodeError, Disconnect, LastWill, Packet, Properties, Property as P,
    Protocol, Publish, QoS, ReasonCode, RetainHandling, Suback, SubackCode, Subscribe, SubscribeFilter, Unsuback,
    Unsubscribe, Version, MAX_PACKET_SIZE,
};

mod spec_bytes;
use spec_bytes::{frame, pid, props, s, MQTT5};

/// A property: its identifier, then its value's bytes.
fn p(id: u8, value: &[u8]) -> Vec<u8> {
    [vec![id], value.to_vec()].concat()
}

#[track_caller]
fn vector(bytes: &[u8], packet: Packet) {
    let mut buf = BytesMut::from(bytes);
    let decoded = decode_as(Version::V5, &mut buf, MAX_PACKET_SIZE).expect("valid vector").expect("whole packet");
    assert_eq!(decoded, packet, "decode");
    assert!(buf.is_empty(), "decode left {} bytes", buf.len());

    let mut out = BytesMut::new();
    let written = packet.encode_as(Version::V5, &mut out, MAX_PACKET_SIZE).expect("encodable");
    assert_eq!(written, bytes.len(), "encode returned the wrong size");
    assert_eq!(&out[..], bytes, "encode");
    assert_eq!(packet.size(Version::V5), Some(bytes.len()));

    // The Maximum Packet Size is inclusive, both ways [MQTT5-3.1.2-24] [MQTT5-3.2.2-15].
    let mut buf = BytesMut::from(bytes);
    assert_eq!(decode_as(Version::V5, &mut buf, bytes.len()), Ok(Some(packet.clone())));
    let mut buf = BytesMut::from(bytes);
    let err = decode_as(Version::V5, &mut buf, bytes.len() - 1).unwrap_err();
    assert_eq!(err, DecodeError::PacketTooLarge { size: bytes.len(), max: bytes.len() - 1 });
    assert_eq!(err.reason_code(), ReasonCode::PACKET_TOO_LARGE);
    assert!(packet.encode_as(Version::V5, &mut BytesMut::new(), bytes.len() - 1).is_err());

    for cut in 0..bytes.len() {
        let mut buf = BytesMut::from(&bytes[..cut]);
        assert_eq!(decode_as(Version::V5, &mut buf, MAX_PACKET_SIZE), Ok(None), "prefix of {cut} bytes");
        assert_eq!(buf.len(), cut, "prefix of {cut} bytes was consumed");
    }
}

/// Decodes `bytes` to `packet` without asking the encoder to give the same bytes back: a longer
/// form the spec allows, where the encoder writes the shortest.
#[track_caller]
fn decodes_to(bytes: &[u8], packet: Packet) {
    let mut buf = BytesMut::from(bytes);
    assert_eq!(decode_as(Version::V5, &mut buf, MAX_PACKET_SIZE), Ok(Some(packet)));
    assert!(buf.is_empty());
}

fn user(k: &str, v: &str) -> P {
    P::UserProperty((k.into(), v.into()))
}

#[test]
fn connect_minimal() {
    // Flags: Clean Start (0x02); keep alive 60; property length 0; client id "a".
    let bytes = frame(0x10, &[MQTT5, &[0x02], &[0x00, 0x3C], &props(&[]), &s(b"a")]);
    assert_eq!(bytes[1], 14);
    vector(&bytes, Packet::Connect(Connect::v5("a", true, 60)));
}

#[test]
fn connect_with_every_connect_and_will_property() {
    let connect_props = props(&[
        &p(0x11, &[0xFF, 0xFF, 0xFF, 0xFF]), // Session Expiry Interval: never
        &p(0x21, &[0x00, 0x14]),             // Receive Maximum 20
        &p(0x27, &[0x00, 0x00, 0x04, 0x00]), // Maximum Packet Size 1024
        &p(0x22, &[0x00, 0x0A]),             // Topic Alias Maximum 10
        &p(0x19, &[0x01]),                   // Request Response Information
        &p(0x17, &[0x00]),                   // Request Problem Information
        &p(0x26, &[s(b"k"), s(b"v")].concat()),
        &p(0x15, &s(b"m")),          // Authentication Method
        &p(0x16, &s(&[0x01, 0x02])), // Authentication Data
    ]);
    let will_props = props(&[
        &p(0x18, &[0x00, 0x00, 0x00, 0x05]), // Will Delay Interval 5
        &p(0x01, &[0x01]),                   // Payload Format Indicator: UTF-8
        &p(0x02, &[0x00, 0x00, 0x00, 0x3C]), // Message Expiry Interval 60
        &p(0x03, &s(b"t")),                  // Content Type
        &p(0x08, &s(b"r")),                  // Response Topic
        &p(0x09, &s(&[0x09])),               // Correlation Data
        &p(0x26, &[s(b"a"), s(b"b")].concat()),
    ]);
    // User name, password, will retain, will QoS 1, will flag, Clean Start 0.
    let flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04;
    let bytes = frame(
        0x10,
        &[
            MQTT5,
            &[flags],
            &[0x00, 0x0A],
            &connect_props,
            &s(b"c"),
            &will_props,
            &s(b"w"),
            &s(b"x"),
            &s(b"u"),
            &s(b"p"),
        ],
    );
    let will = LastWill {
        properties: Properties::from_iter([
            P::WillDelayInterval(5),
            P::PayloadFormatIndicator(1),
            P::MessageExpiryInterval(60),
            P::ContentType("t".into()),
            P::ResponseTopic("r".into()),
            P::CorrelationData(Bytes::from_static(&[9])),
            user("a", "b"),
        ]),
        ..LastWill::new("w", "x", QoS::AtLeastOnce, true)
    };
    let connect = Connect {
        will: Some(will),
        username: Some("u".into()),
        password: Some(Bytes::from_static(b"p")),
        properties: Properties::from_iter([
            P::SessionExpiryInterval(u32::MAX),
            P::ReceiveMaximum(20),
            P::MaximumPacketSize(1024),
            P::TopicAliasMaximum(10),
            P::RequestResponseInformation(1),
            P::RequestProblemInformation(0),
            user("k", "v"),
            P::AuthenticationMethod("m".into()),
            P::AuthenticationData(Bytes::from_static(&[1, 2])),
        ]),
        ..Connect::v5("c", false, 10)
    };
    vector(&bytes, Packet::Connect(connect));
}

#[test]
fn connect_password_without_user_name_is_allowed_in_5() {
    // 5.0 section 3.1.2.9 lifts 3.1.1's rule [MQTT-3.1.2-22].
    let bytes = frame(0x10, &[MQTT5, &[0x40 | 0x02], &[0, 0], &props(&[]), &s(b""), &s(b"pw")]);
    let connect = Connect { password: Some(Bytes::from_static(b"pw")), ..Connect::v5("", true, 0) };
    vector(&bytes, Packet::Connect(connect));
    assert_eq!(Connect::v5("", true, 0).protocol, Protocol::V5);
}

#[test]
fn connack_success_and_refusal() {
    vector(&[0x20, 0x03, 0x01, 0x00, 0x00], Packet::Connack(Connack::accepted(true)));
    vector(&[0x20, 0x03, 0x00, 0x87, 0x00], Packet::Connack(Connack::refused(ReasonCode::NOT_AUTHORIZED)));
    // A 3.1.1 return code is written as the 5.0 code of the same meaning: 2 → 0x85.
    let mut out = BytesMut::new();
    Packet::Connack(Connack::refused(mqtt_sim::protocol::ConnectReturnCode::IdentifierRejected))
        .encode_as(Version::V5, &mut out, MAX_PACKET_SIZE)
        .unwrap();
    assert_eq!(&out[..], &[0x20, 0x03, 0x00, 0x85, 0x00]);
}

#[test]
fn connack_with_every_connack_property() {
    let list = props(&[
        &p(0x11, &[0x00, 0x00, 0x0E, 0x10]), // Session Expiry Interval 3600
        &p(0x21, &[0x00, 0x0A]),             // Receive Maximum 10
        &p(0x24, &[0x01]),                   // Maximum QoS 1
        &p(0x25, &[0x00]),                   // Retain Available: no
        &p(0x27, &[0x00, 0x01, 0x00, 0x00]), // Maximum Packet Size 65536
        &p(0x12, &s(b"auto-1")),             // Assigned Client Identifier
        &p(0x22, &[0x00, 0x05]),             // Topic Alias Maximum 5
        &p(0x1F, &s(b"ok")),                 // Reason String
        &p(0x26, &[s(b"k"), s(b"v")].concat()),
        &p(0x28, &[0x00]),       // Wildcard Subscription Available: no
        &p(0x29, &[0x00]),       // Subscription Identifier Available: no
        &p(0x2A, &[0x00]),       // Shared Subscription Available: no
        &p(0x13, &[0x00, 0x1E]), // Server Keep Alive 30
        &p(0x1A, &s(b"ri")),     // Response Information
        &p(0x1C, &s(b"sr")),     // Server Reference
        &p(0x15, &s(b"m")),      // Authentication Method
        &p(0x16, &s(&[0xAB])),   // Authentication Data
    ]);
    let bytes = frame(0x20, &[&[0x00, 0x00], &list]);
    let connack = Connack {
        properties: Properties::from_iter([
            P::SessionExpiryInterval(3600),
            P::ReceiveMaximum(10),
            P::MaximumQos(1),
            P::RetainAvailable(0),
            P::MaximumPacketSize(65536),
            P::AssignedClientIdentifier("auto-1".into()),
            P::TopicAliasMaximum(5),
            P::ReasonString("ok".into()),
            user("k", "v"),
            P::WildcardSubscriptionAvailable(0),
            P::SubscriptionIdentifierAvailable(0),
            P::SharedSubscriptionAvailable(0),
            P::ServerKeepAlive(30),
            P::ResponseInformation("ri".into()),
            P::ServerReference("sr".into()),
            P::AuthenticationMethod("m".into()),
            P::AuthenticationData(Bytes::from_static(&[0xAB])),
        ]),
        ..Connack::accepted(false)
    };
    assert_eq!(connack.properties.maximum_qos_or_default(), QoS::AtLeastOnce);
    vector(&bytes, Packet::Connack(connack));
}

#[test]
fn publish_qos0_without_properties() {
    let bytes = frame(0x30, &[&s(b"a/b"), &props(&[]), b"hi"]);
    assert_eq!(bytes, [0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'h', b'i']);
    vector(&bytes, Packet::Publish(Publish::new("a/b", QoS::AtMostOnce, "hi", false, None)));
}

#[test]
fn publish_with_every_publish_property() {
    let list = props(&[
        &p(0x01, &[0x01]),
        &p(0x02, &[0x00, 0x00, 0x00, 0x0A]),
        &p(0x23, &[0x00, 0x02]), // Topic Alias 2
        &p(0x08, &s(b"reply/to")),
        &p(0x09, &s(b"corr")),
        &p(0x26, &[s(b"z"), s(b"1")].concat()),
        &p(0x26, &[s(b"a"), s(b"2")].concat()), // user properties keep their order [MQTT5-3.3.2-18]
        &p(0x0B, &[0x01]),                      // Subscription Identifier 1
        &p(0x0B, &[0xFF, 0xFF, 0xFF, 0x7F]),    // and 268,435,455 [MQTT5-3.3.4-4]
        &p(0x03, &s(b"text/plain")),
    ]);
    // DUP, QoS 1, RETAIN.
    let bytes = frame(0x3B, &[&s(b"t"), &[0x00, 0x07], &list, b"payload"]);
    let mut publish = Publish::new("t", QoS::AtLeastOnce, "payload", true, Some(pid(7)));
    publish.dup = true;
    publish.properties = Properties::from_iter([
        P::PayloadFormatIndicator(1),
        P::MessageExpiryInterval(10),
        P::TopicAlias(2),
        P::ResponseTopic("reply/to".into()),
        P::CorrelationData(Bytes::from_static(b"corr")),
        user("z", "1"),
        user("a", "2"),
        P::SubscriptionIdentifier(1),
        P::SubscriptionIdentifier(268_435_455),
        P::ContentType("text/plain".into()),
    ]);
    assert_eq!(publish.properties.subscription_identifiers().collect::<Vec<_>>(), vec![1, 268_435_455]);
    assert_eq!(publish.properties.user_properties().collect::<Vec<_>>(), vec![("z", "1"), ("a", "2")]);
    vector(&bytes, Packet::Publish(publish));
}

#[test]
fn publish_with_an_empty_topic_and_a_topic_alias() {
    // The topic is the one alias 3 stands for (section 3.3.2.3.4).
    let bytes = frame(0x34, &[&s(b""), &[0x00, 0x01], &props(&[&p(0x23, &[0x00, 0x03])]), b"x"]);
    let mut publish = Publish::new("", QoS::ExactlyOnce, "x", false, Some(pid(1)));
    publish.properties.push(P::TopicAlias(3));
    vector(&bytes, Packet::Publish(publish));
}

#[test]
fn acknowledgements_short_and_long() {
    // Success without properties: the reason code and property length are left out.
    vector(&[0x40, 0x02, 0x00, 0x01], Packet::puback(pid(1)));
    vector(&[0x50, 0x02, 0x00, 0x02], Packet::pubrec(pid(2)));
    vector(&[0x62, 0x02, 0x00, 0x03], Packet::pubrel(pid(3)));
    vector(&[0x70, 0x02, 0x00, 0x04], Packet::pubcomp(pid(4)));
    // A reason code alone: no property length.
    vector(
        &[0x40, 0x03, 0x00, 0x01, 0x10],
        Packet::Puback(Ack::with_reason(pid(1), ReasonCode::NO_MATCHING_SUBSCRIBERS)),
    );
    vector(&[0x50, 0x03, 0x00, 0x02, 0x97], Packet::Pubrec(Ack::with_reason(pid(2), ReasonCode::QUOTA_EXCEEDED)));
    vector(
        &[0x62, 0x03, 0x00, 0x03, 0x92],
        Packet::Pubrel(Ack::with_reason(pid(3), ReasonCode::PACKET_IDENTIFIER_NOT_FOUND)),
    );
    vector(
        &[0x70, 0x03, 0x00, 0x04, 0x92],
        Packet::Pubcomp(Ack::with_reason(pid(4), ReasonCode::PACKET_IDENTIFIER_NOT_FOUND)),
    );
    // A reason code and properties.
    let list = props(&[&p(0x1F, &s(b"no")), &p(0x26, &[s(b"k"), s(b"v")].concat())]);
    let bytes = frame(0x40, &[&[0x00, 0x09, 0x87], &list]);
    let ack = Ack {
        properties: Properties::from_iter([P::ReasonString("no".into()), user("k", "v")]),
        ..Ack::with_reason(pid(9), ReasonCode::NOT_AUTHORIZED)
    };
    vector(&bytes, Packet::Puback(ack.clone()));
    vector(&frame(0x50, &[&[0x00, 0x09, 0x87], &list]), Packet::Pubrec(ack));
}

#[test]
fn acknowledgements_in_their_longer_forms_decode_to_the_same_value() {
    decodes_to(&[0x40, 0x03, 0x00, 0x01, 0x00], Packet::puback(pid(1)));
    decodes_to(&[0x40, 0x04, 0x00, 0x01, 0x00, 0x00], Packet::puback(pid(1)));
    decodes_to(&[0x62, 0x04, 0x00, 0x05, 0x00, 0x00], Packet::pubrel(pid(5)));
    decodes_to(&[0xE0, 0x01, 0x00], Packet::disconnect());
    decodes_to(&[0xE0, 0x02, 0x00, 0x00], Packet::disconnect());
    decodes_to(&[0xF0, 0x02, 0x00, 0x00], Packet::Auth(Auth::default()));
}

#[test]
fn subscribe_with_options_and_a_subscription_identifier() {
    let list = props(&[&p(0x0B, &[0x05]), &p(0x26, &[s(b"k"), s(b"v")].concat())]);
    // "a/+": QoS 2, No Local, Retain As Published, Retain Handling 2: 0b0010_1110.
    // "$share/g/x": QoS 1, everything else off.
    let bytes = frame(0x82, &[&[0x00, 0x0A], &list, &s(b"a/+"), &[0x2E], &s(b"$share/g/x"), &[0x01]]);
    let mut first = SubscribeFilter::new("a/+", QoS::ExactlyOnce);
    first.no_local = true;
    first.retain_as_published = true;
    first.retain_handling = RetainHandling::Never;
    let mut subscribe = Subscribe::new(pid(10), vec![first, SubscribeFilter::new("$share/g/x", QoS::AtLeastOnce)]);
    subscribe.properties = Properties::from_iter([P::SubscriptionIdentifier(5), user("k", "v")]);
    vector(&bytes, Packet::Subscribe(subscribe));
    // Retain Handling 1, alone.
    let mut f = SubscribeFilter::new("b", QoS::AtMostOnce);
    f.retain_handling = RetainHandling::OnNewSubscription;
    vector(
        &frame(0x82, &[&[0x00, 0x01], &props(&[]), &s(b"b"), &[0x10]]),
        Packet::Subscribe(Subscribe::new(pid(1), vec![f])),
    );
}

#[test]
fn suback_with_every_subscribe_reason_code() {
    let codes = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2];
    let bytes = frame(0x90, &[&[0x00, 0x0A], &props(&[&p(0x1F, &s(b"rs"))]), &codes]);
    let mut suback = Suback::new(
        pid(10),
        codes
            .iter()
            .map(|&c| match c {
                0..=2 => SubackCode::Granted(QoS::from_u8(c).unwrap()),
                0x80 => SubackCode::Failure,
                other => SubackCode::Refused(ReasonCode(other)),
            })
            .collect(),
    );
    suback.properties.push(P::ReasonString("rs".into()));
    vector(&bytes, Packet::Suback(suback));
}

#[test]
fn unsubscribe_and_unsuback() {
    let bytes =
        frame(0xA2, &[&[0x00, 0x0B], &props(&[&p(0x26, &[s(b"k"), s(b"v")].concat())]), &s(b"a"), &s(b"$share/g/b")]);
    let mut unsubscribe = Unsubscribe::new(pid(11), vec!["a".into(), "$share/g/b".into()]);
    unsubscribe.properties.push(user("k", "v"));
    vector(&bytes, Packet::Unsubscribe(unsubscribe));

    let codes = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
    let bytes = frame(0xB0, &[&[0x00, 0x0B], &props(&[&p(0x1F, &s(b"r"))]), &codes]);
    let unsuback = Unsuback {
        pkid: pid(11),
        reasons: codes.iter().map(|&c| ReasonCode(c)).collect(),
        properties: Properties::from_iter([P::ReasonString("r".into())]),
    };
    vector(&bytes, Packet::Unsuback(unsuback));
}

#[test]
fn ping_is_as_in_3_1_1() {
    vector(&[0xC0, 0x00], Packet::Pingreq);
    vector(&[0xD0, 0x00], Packet::Pingresp);
}

#[test]
fn disconnect_forms() {
    vector(&[0xE0, 0x00], Packet::disconnect());
    vector(&[0xE0, 0x01, 0x04], Packet::Disconnect(Disconnect::with_reason(ReasonCode::DISCONNECT_WITH_WILL)));
    // The client changes its session expiry on DISCONNECT (section 3.14.2.2.2).
    let bytes = frame(0xE0, &[&[0x00], &props(&[&p(0x11, &[0x00, 0x00, 0x00, 0x0A])])]);
    let d =
        Disconnect { reason: ReasonCode::SUCCESS, properties: Properties::from_iter([P::SessionExpiryInterval(10)]) };
    vector(&bytes, Packet::Disconnect(d));
    // The server's: taken over, with a reason string, a server reference and a user property.
    let list = props(&[&p(0x1F, &s(b"x")), &p(0x1C, &s(b"srv")), &p(0x26, &[s(b"k"), s(b"v")].concat())]);
    let d = Disconnect {
        reason: ReasonCode::SESSION_TAKEN_OVER,
        properties: Properties::from_iter([
            P::ReasonString("x".into()),
            P::ServerReference("srv".into()),
            user("k", "v"),
        ]),
    };
    vector(&frame(0xE0, &[&[0x8E], &list]), Packet::Disconnect(d));
}

#[test]
fn auth_forms() {
    vector(&[0xF0, 0x00], Packet::Auth(Auth::default()));
    let list = props(&[&p(0x15, &s(b"SCRAM-SHA-1")), &p(0x16, &s(&[1, 2, 3])), &p(0x1F, &s(b"go on"))]);
    let auth = Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties::from_iter([
            P::AuthenticationMethod("SCRAM-SHA-1".into()),
            P::AuthenticationData(Bytes::from_static(&[1, 2, 3])),
            P::ReasonString("go on".into()),
        ]),
    };
    vector(&frame(0xF0, &[&[0x18], &list]), Packet::Auth(auth));
    vector(&[0xF0, 0x01, 0x19], Packet::Auth(Auth { reason: ReasonCode::RE_AUTHENTICATE, ..Auth::default() }));
}

#[test]
fn a_property_list_longer_than_127_bytes_has_a_two_byte_length() {
    let reason = "r".repeat(200);
    let bytes = frame(0x40, &[&[0x00, 0x01, 0x80], &props(&[&p(0x1F, &s(reason.as_bytes()))])]);
    assert_eq!(&bytes[6..8], &[0xCB, 0x01]); // 203 = 0x4B + 1 * 128, least significant first
    let ack = Ack {
        properties: Properties::from_iter([P::ReasonString(reason)]),
        ..Ack::with_reason(pid(1), ReasonCode(0x80))
    };
    vector(&bytes, Packet::Puback(ack));
}

#[test]
fn every_property_identifier_has_a_vector() {
    // The identifiers of table 2-4, each used by a vector in this file.
    let ids = [
        0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C, 0x1F, 0x21,
        0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A,
    ];
    let source = include_str!("codec_v5_vectors.rs");
    for id in 0u8..=0xFF {
        let defined = mqtt_sim::protocol::Property::name_of(id).is_some();
        assert_eq!(defined, ids.contains(&id), "identifier {id:#04x}");
        if defined {
            assert!(source.contains(&format!("p({id:#04X}",).replace("0X", "0x")), "no vector uses {id:#04x}");
        }
    }
}
