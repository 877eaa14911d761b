//! MQTT 5.0 statements the codec answers for on its own, each observed on bytes laid out by hand
//! from the spec (`spec_bytes`): what a field must be (UTF-8 strings, string pairs, variable byte
//! integers, topic names and filters), the fixed-header flags every packet type carries, the
//! CONNECT flags and the payload fields they announce, the property length, and the reason codes
//! of the packets whose tables `codec_v5_rules.rs` does not walk. Each test checks both ways: the
//! decoder refuses what the statement forbids (with the statement as its `rule_v5`) and the
//! encoder writes only what it allows.

use bytes::{Bytes, BytesMut};
use mqtt_sim::protocol::{
    Ack, Auth, Connack, Connect, DecodeError, Disconnect, EncodeError, LastWill, Packet, PacketType, Properties,
    Property as P, Publish, QoS, ReasonCode, Suback, SubackCode, Subscribe, SubscribeFilter, Unsuback, Unsubscribe,
    Version, MAX_PACKET_SIZE,
};
use mqtt_sim::topic::TopicError;

mod spec_bytes;
use spec_bytes::{decode5, encode_refused, frame, pid, props, refused, s, vbi, MQTT5};

/// The 5.0 bytes of `packet`.
#[track_caller]
fn encode5(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    packet.encode_as(Version::V5, &mut out, MAX_PACKET_SIZE).expect("encodable");
    out.to_vec()
}

/// A CONNECT with these flags, keep alive 0, no properties, client id "c", then `payload`.
fn connect_bytes(flags: u8, payload: &[&[u8]]) -> Vec<u8> {
    let flags = [flags];
    let mut parts: Vec<&[u8]> = vec![MQTT5, &flags, &[0, 0], &[0x00], &[0, 1, b'c']];
    parts.extend_from_slice(payload);
    frame(0x10, &parts)
}

/// A QoS 0 PUBLISH to the topic bytes `topic` with these properties and payload "x".
fn publish_bytes(topic: &[u8], properties: &[&[u8]]) -> Vec<u8> {
    frame(0x30, &[&s(topic), &props(properties), b"x"])
}

/// Not UTF-8: an overlong encoding of '/'.
const NOT_UTF8: &[u8] = &[0xC0, 0xAF];

#[test]
fn a_bom_is_kept_as_u_feff_wherever_it_appears() {
    let bom_topic = [&[0xEF, 0xBB, 0xBF][..], b"a"].concat();
    let user = [&[0x26][..], &s(&[0xEF, 0xBB, 0xBF]), &s(b"v")].concat();
    let bytes = publish_bytes(&bom_topic, &[&user]);
    let Ok(Packet::Publish(p)) = decode5(&bytes) else { panic!("{:?}", decode5(&bytes)) };
    assert_eq!(p.topic, "\u{FEFF}a", "[MQTT5-1.5.4-3] not skipped or stripped from the topic");
    assert_eq!(
        p.properties.user_properties().collect::<Vec<_>>(),
        [("\u{FEFF}", "v")],
        "[MQTT5-1.5.4-3] nor from a string pair"
    );
    assert_eq!(encode5(&Packet::Publish(p)), bytes, "[MQTT5-1.5.4-3] written back as it came");
}

#[test]
fn variable_byte_integers_take_the_fewest_bytes() {
    // A Subscription Identifier is a variable byte integer (section 2.2.2.2): 1 to 4 bytes.
    for (value, len) in [(1, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (2_097_151, 3), (2_097_152, 4)] {
        let mut p = Publish::new("t", QoS::AtMostOnce, "", false, None);
        p.properties.push(P::SubscriptionIdentifier(value));
        let want = frame(0x30, &[&s(b"t"), &props(&[&[&[0x0B][..], &vbi(value as usize)].concat()])]);
        assert_eq!(vbi(value as usize).len(), len);
        assert_eq!(encode5(&Packet::Publish(p)), want, "[MQTT5-1.5.5-1] {value} in {len} bytes");
    }
    // The remaining length is one too: 127 bytes of body take one byte, 128 two.
    for (body, header) in [(127, 2), (128, 3), (16_383, 3), (16_384, 4)] {
        let payload = Bytes::from(vec![0u8; body - 4]); // topic "t" (3 bytes) and property length
        let bytes = encode5(&Packet::Publish(Publish::new("t", QoS::AtMostOnce, payload, false, None)));
        assert_eq!(bytes.len(), header + body, "[MQTT5-1.5.5-1] a body of {body} bytes");
        assert_eq!(&bytes[1..header], &vbi(body)[..], "[MQTT5-1.5.5-1]");
    }
    // So is the property length.
    let mut p = Publish::new("t", QoS::AtMostOnce, "", false, None);
    p.properties.push(P::CorrelationData(Bytes::from(vec![7u8; 125]))); // 1 + 2 + 125 = 128 bytes
    let bytes = encode5(&Packet::Publish(p));
    assert_eq!(&bytes[6..8], &vbi(128)[..], "[MQTT5-1.5.5-1] a property length of 128 in two bytes");
}

#[test]
fn both_halves_of_a_string_pair_are_utf8_strings() {
    let name_bad = [&[0x26][..], &s(NOT_UTF8), &s(b"v")].concat();
    let value_bad = [&[0x26][..], &s(b"k"), &s(NOT_UTF8)].concat();
    for user in [name_bad, value_bad] {
        let err = refused(&publish_bytes(b"t", &[&user]));
        assert_eq!(err, DecodeError::InvalidUtf8 { field: "User Property" }, "[MQTT5-1.5.7-1]");
        assert_eq!(err.reason_code(), ReasonCode::MALFORMED_PACKET, "[MQTT5-1.5.7-1]");
    }
    let name_null = [&[0x26][..], &s(b"k\0"), &s(b"v")].concat();
    assert_eq!(
        refused(&publish_bytes(b"t", &[&name_null])),
        DecodeError::NullCharacter { field: "User Property" },
        "[MQTT5-1.5.7-1] [MQTT5-1.5.4-2] the name half too"
    );
    for pair in [("k\0", "v"), ("k", "v\0")] {
        let mut p = Publish::new("t", QoS::AtMostOnce, "", false, None);
        p.properties.push(P::UserProperty((pair.0.into(), pair.1.into())));
        assert!(
            matches!(encode_refused(Packet::Publish(p)), EncodeError::NullCharacter { .. }),
            "[MQTT5-1.5.7-1] the encoder refuses {pair:?}"
        );
    }
}

/// A 5.0 accepting CONNACK.
fn connack5() -> Connack {
    Connack { code: ReasonCode::SUCCESS.into(), ..Connack::accepted(false) }
}

/// One packet of every type but PUBLISH, with the flags it must carry.
fn one_of_each_type() -> Vec<(Packet, u8)> {
    let sub = Subscribe::new(pid(1), vec![SubscribeFilter::new("a", QoS::AtMostOnce)]);
    vec![
        (Packet::Connect(Connect::v5("c", true, 0)), 0),
        (Packet::Connack(connack5()), 0),
        (Packet::Puback(Ack::new(pid(1))), 0),
        (Packet::Pubrec(Ack::new(pid(1))), 0),
        (Packet::Pubrel(Ack::new(pid(1))), 0b0010),
        (Packet::Pubcomp(Ack::new(pid(1))), 0),
        (Packet::Subscribe(sub), 0b0010),
        (Packet::Suback(Suback::new(pid(1), vec![SubackCode::Granted(QoS::AtMostOnce)])), 0),
        (Packet::Unsubscribe(Unsubscribe::new(pid(1), vec!["a".into()])), 0b0010),
        (Packet::Unsuback(Unsuback { reasons: vec![ReasonCode::SUCCESS], ..Unsuback::new(pid(1)) }), 0),
        (Packet::Pingreq, 0),
        (Packet::Pingresp, 0),
        (Packet::Disconnect(Disconnect::default()), 0),
        (Packet::Auth(Auth::default()), 0),
    ]
}

#[test]
fn reserved_fixed_header_flags_carry_their_listed_values() {
    for (packet, listed) in one_of_each_type() {
        let t = packet.packet_type();
        let bytes = encode5(&packet);
        assert_eq!(bytes[0] & 0x0F, listed, "[MQTT5-2.1.3-1] the encoder writes {t:?}'s listed flags");
        for flags in (0..16u8).filter(|&f| f != listed) {
            let mut wrong = bytes.clone();
            wrong[0] = (wrong[0] & 0xF0) | flags;
            let err = refused(&wrong);
            assert_eq!(err, DecodeError::InvalidFlags { packet: t, flags }, "[MQTT5-2.1.3-1] {t:?} {flags:#06b}");
            assert_eq!(err.reason_code(), ReasonCode::MALFORMED_PACKET, "[MQTT5-2.1.3-1] malformed");
        }
        assert_eq!(decode5(&bytes), Ok(packet), "the listed value is accepted");
    }
    // The packet's own statement where it has one, else the general one.
    let rule = |byte1: u8, body: &[u8]| refused(&[&[byte1, body.len() as u8][..], body].concat()).rule_v5();
    assert_eq!(rule(0x91, &[0, 1, 0, 0]), Some("MQTT5-2.1.3-1"), "[MQTT5-2.1.3-1] SUBACK 0001");
    assert_eq!(rule(0x80, &[0, 1, 0, 0, 1, b'a', 0]), Some("MQTT5-3.8.1-1"), "[MQTT5-3.8.1-1] SUBSCRIBE 0000");
    assert_eq!(rule(0x8A, &[0, 1, 0, 0, 1, b'a', 0]), Some("MQTT5-3.8.1-1"), "[MQTT5-3.8.1-1] SUBSCRIBE 1010");
    assert_eq!(rule(0xA0, &[0, 1, 0, 0, 1, b'a']), Some("MQTT5-3.10.1-1"), "[MQTT5-3.10.1-1] UNSUBSCRIBE 0000");
    assert_eq!(rule(0xA3, &[0, 1, 0, 0, 1, b'a']), Some("MQTT5-3.10.1-1"), "[MQTT5-3.10.1-1] UNSUBSCRIBE 0011");
}

#[test]
fn a_qos_0_publish_has_no_packet_identifier() {
    let p = Publish::new("t", QoS::AtMostOnce, "x", false, None);
    assert_eq!(
        encode5(&Packet::Publish(p.clone())),
        frame(0x30, &[&s(b"t"), &props(&[]), b"x"]),
        "[MQTT5-2.2.1-2] topic, property length, payload: no identifier"
    );
    let with_id = Publish { pkid: Some(pid(1)), ..p };
    assert_eq!(encode_refused(Packet::Publish(with_id)), EncodeError::PacketIdMismatch { qos: 0 }, "[MQTT5-2.2.1-2]");
    // The two bytes after a QoS 0 topic are not read as an identifier.
    let Ok(Packet::Publish(read)) = decode5(&frame(0x30, &[&s(b"t"), &[0x00], &[0x00, 0x01]])) else { panic!() };
    assert_eq!((read.pkid, &read.payload[..]), (None, &[0x00, 0x01][..]), "[MQTT5-2.2.1-2]");
}

#[test]
fn no_properties_are_written_as_a_property_length_of_0() {
    let none = props(&[]);
    assert_eq!(none, [0x00]);
    let cases: Vec<(Packet, Vec<u8>)> = vec![
        (Packet::Connect(Connect::v5("c", true, 0)), frame(0x10, &[MQTT5, &[0x02], &[0, 0], &none, &s(b"c")])),
        (Packet::Connack(connack5()), frame(0x20, &[&[0, 0], &none])),
        (
            Packet::Publish(Publish::new("t", QoS::AtLeastOnce, "", false, Some(pid(1)))),
            frame(0x32, &[&s(b"t"), &[0, 1], &none]),
        ),
        (
            Packet::Subscribe(Subscribe::new(pid(1), vec![SubscribeFilter::new("a", QoS::AtMostOnce)])),
            frame(0x82, &[&[0, 1], &none, &s(b"a"), &[0]]),
        ),
        (
            Packet::Suback(Suback::new(pid(1), vec![SubackCode::Granted(QoS::AtLeastOnce)])),
            frame(0x90, &[&[0, 1], &none, &[1]]),
        ),
        (Packet::Unsubscribe(Unsubscribe::new(pid(1), vec!["a".into()])), frame(0xA2, &[&[0, 1], &none, &s(b"a")])),
        (
            Packet::Unsuback(Unsuback { reasons: vec![ReasonCode::SUCCESS], ..Unsuback::new(pid(1)) }),
            frame(0xB0, &[&[0, 1], &none, &[0]]),
        ),
    ];
    for (packet, want) in cases {
        assert_eq!(encode5(&packet), want, "[MQTT5-2.2.2-1] {:?}", packet.packet_type());
    }
    // A will without properties has its property length too.
    let connect = Connect { will: Some(LastWill::new("w", "m", QoS::AtMostOnce, false)), ..Connect::v5("c", true, 0) };
    assert_eq!(
        encode5(&Packet::Connect(connect)),
        frame(0x10, &[MQTT5, &[0x06], &[0, 0], &none, &s(b"c"), &none, &s(b"w"), &s(b"m")]),
        "[MQTT5-2.2.2-1] the will's property length"
    );
    // The property length itself may not be left out where the packet has one.
    let err = refused(&frame(0x10, &[MQTT5, &[0x02], &[0, 0]]));
    assert_eq!(
        err,
        DecodeError::Truncated { packet: PacketType::Connect, field: "property length" },
        "[MQTT5-2.2.2-1]"
    );
}

#[test]
fn the_protocol_name_is_mqtt() {
    let bytes = frame(0x10, &[&s(b"MQTX"), &[5], &[0x02], &[0, 0], &props(&[]), &s(b"c")]);
    let err = refused(&bytes);
    assert_eq!(err, DecodeError::InvalidProtocolName("MQTX".into()), "[MQTT5-3.1.2-1]");
    assert_eq!(err.rule_v5(), Some("MQTT5-3.1.2-1"));
    assert_eq!(err.reason_code(), ReasonCode::UNSUPPORTED_PROTOCOL_VERSION, "[MQTT5-3.1.2-1] 0x84 if answered");
    assert_eq!(&encode5(&Packet::Connect(Connect::v5("c", true, 0)))[2..8], &s(b"MQTT")[..], "[MQTT5-3.1.2-1]");
}

#[test]
fn the_connect_reserved_flag_is_0() {
    let err = refused(&connect_bytes(0x03, &[]));
    assert_eq!(err, DecodeError::ConnectReservedFlag, "[MQTT5-3.1.2-3]");
    assert_eq!((err.rule_v5(), err.reason_code()), (Some("MQTT5-3.1.2-3"), ReasonCode::MALFORMED_PACKET));
    assert_eq!(encode5(&Packet::Connect(Connect::v5("c", false, 0)))[9] & 0x01, 0, "[MQTT5-3.1.2-3]");
}

#[test]
fn the_will_flag_decides_the_will_fields_and_flags() {
    // Will flag 1: will properties, topic and payload, in that order.
    let will = LastWill::new("w", "m", QoS::AtLeastOnce, true);
    let connect = Connect { will: Some(will), ..Connect::v5("c", true, 0) };
    let want = connect_bytes(0x02 | 0x04 | 0x08 | 0x20, &[&props(&[]), &s(b"w"), &s(b"m")]);
    assert_eq!(encode5(&Packet::Connect(connect.clone())), want, "[MQTT5-3.1.2-9] all three written");
    assert_eq!(decode5(&want), Ok(Packet::Connect(connect)));
    let cuts: [Vec<u8>; 3] = [vec![], props(&[]), [props(&[]), s(b"w")].concat()];
    for cut in &cuts {
        let err = refused(&connect_bytes(0x06, &[cut]));
        assert!(matches!(err, DecodeError::Truncated { .. }), "[MQTT5-3.1.2-9] a will field missing: {err}");
    }
    // Will flag 0: will QoS and will retain are 0.
    let plain = encode5(&Packet::Connect(Connect::v5("c", true, 0)));
    assert_eq!(plain[9] & 0x38, 0, "[MQTT5-3.1.2-11] [MQTT5-3.1.2-13] the encoder writes 0");
    for qos_bits in [0x08, 0x10, 0x18] {
        let err = refused(&connect_bytes(0x02 | qos_bits, &[]));
        assert_eq!(
            (err.clone(), err.rule_v5()),
            (DecodeError::WillQosWithoutWill, Some("MQTT5-3.1.2-11")),
            "[MQTT5-3.1.2-11]"
        );
    }
    let err = refused(&connect_bytes(0x22, &[]));
    assert_eq!(
        (err.clone(), err.rule_v5()),
        (DecodeError::WillRetainWithoutWill, Some("MQTT5-3.1.2-13")),
        "[MQTT5-3.1.2-13]"
    );
    // Will flag 1: will QoS 0, 1 or 2, not 3.
    for qos in 0..3u8 {
        let bytes = connect_bytes(0x06 | qos << 3, &[&props(&[]), &s(b"w"), &s(b"m")]);
        let Ok(Packet::Connect(c)) = decode5(&bytes) else { panic!("will QoS {qos}") };
        assert_eq!(c.will.map(|w| w.qos.as_u8()), Some(qos), "[MQTT5-3.1.2-12] will QoS {qos} accepted");
    }
    let err = refused(&connect_bytes(0x06 | 0x18, &[&props(&[]), &s(b"w"), &s(b"m")]));
    assert_eq!((err.clone(), err.rule_v5()), (DecodeError::InvalidWillQos, Some("MQTT5-3.1.2-12")), "[MQTT5-3.1.2-12]");
}

#[test]
fn the_user_name_and_password_flags_say_whether_the_fields_are_there() {
    let cases = [
        (None, None, 0x00, vec![]),
        (Some("u"), None, 0x80, vec![s(b"u")]),
        (None, Some("p"), 0x40, vec![s(b"p")]),
        (Some("u"), Some("p"), 0xC0, vec![s(b"u"), s(b"p")]),
    ];
    for (username, password, flags, fields) in cases {
        let connect = Connect {
            username: username.map(str::to_owned),
            password: password.map(|p| Bytes::copy_from_slice(p.as_bytes())),
            ..Connect::v5("c", true, 0)
        };
        let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        let want = connect_bytes(0x02 | flags, &fields);
        assert_eq!(
            encode5(&Packet::Connect(connect.clone())),
            want,
            "[MQTT5-3.1.2-16] [MQTT5-3.1.2-17] [MQTT5-3.1.2-18] [MQTT5-3.1.2-19] flags {flags:#04x}"
        );
        assert_eq!(decode5(&want), Ok(Packet::Connect(connect)));
    }
    // A flag set and its field absent, or a field without its flag.
    let err = refused(&connect_bytes(0x82, &[]));
    assert_eq!(err, DecodeError::Truncated { packet: PacketType::Connect, field: "user name" }, "[MQTT5-3.1.2-17]");
    let err = refused(&connect_bytes(0x42, &[]));
    assert_eq!(err, DecodeError::Truncated { packet: PacketType::Connect, field: "password" }, "[MQTT5-3.1.2-19]");
    let err = refused(&connect_bytes(0x02, &[&s(b"u")]));
    assert!(matches!(err, DecodeError::TrailingBytes { .. }), "[MQTT5-3.1.2-16] [MQTT5-3.1.2-18] {err}");
}

#[test]
fn the_connect_payload_is_client_id_will_properties_will_topic_will_payload_user_name_password() {
    let will = LastWill {
        properties: Properties::from_iter([P::WillDelayInterval(1)]),
        ..LastWill::new("w", "m", QoS::AtMostOnce, false)
    };
    let connect = Connect {
        will: Some(will),
        username: Some("u".into()),
        password: Some(Bytes::from_static(b"p")),
        ..Connect::v5("id", true, 0)
    };
    let want = frame(
        0x10,
        &[
            MQTT5,
            &[0xC6],
            &[0, 0],
            &props(&[]),
            &s(b"id"),
            &props(&[&[0x18, 0, 0, 0, 1]]),
            &s(b"w"),
            &s(b"m"),
            &s(b"u"),
            &s(b"p"),
        ],
    );
    assert_eq!(encode5(&Packet::Connect(connect)), want, "[MQTT5-3.1.3-1] [MQTT5-3.1.3-3] in this order");
    // The client id is the first field and must be there.
    let err = refused(&frame(0x10, &[MQTT5, &[0x02], &[0, 0], &props(&[])]));
    assert_eq!(
        err,
        DecodeError::Truncated { packet: PacketType::Connect, field: "client identifier" },
        "[MQTT5-3.1.3-3]"
    );
}

#[test]
fn connect_strings_are_utf8() {
    let cases: [(Vec<u8>, &str, &str); 3] = [
        (frame(0x10, &[MQTT5, &[0x02], &[0, 0], &props(&[]), &s(NOT_UTF8)]), "client identifier", "[MQTT5-3.1.3-4]"),
        (connect_bytes(0x06, &[&props(&[]), &s(NOT_UTF8), &s(b"m")]), "will topic", "[MQTT5-3.1.3-11]"),
        (connect_bytes(0x82, &[&s(NOT_UTF8)]), "user name", "[MQTT5-3.1.3-12]"),
    ];
    for (bytes, field, rule) in cases {
        let err = refused(&bytes);
        assert_eq!(err, DecodeError::InvalidUtf8 { field }, "{rule}");
        assert_eq!(err.rule_v5(), Some("MQTT5-1.5.4-1"), "{rule}");
    }
    let will_topic = refused(&connect_bytes(0x06, &[&props(&[]), &s(NOT_UTF8), &s(b"m")]));
    assert_eq!(will_topic, DecodeError::InvalidUtf8 { field: "will topic" }, "[MQTT5-3.1.3-11]");
    // Each is checked where written too: U+0000 is refused.
    let err = encode_refused(Packet::Connect(Connect::v5("c\0", true, 0)));
    assert!(matches!(err, EncodeError::NullCharacter { .. }), "[MQTT5-3.1.3-4] {err}");
    let user = Connect { username: Some("u\0".into()), ..Connect::v5("c", true, 0) };
    assert!(matches!(encode_refused(Packet::Connect(user)), EncodeError::NullCharacter { .. }), "[MQTT5-3.1.3-12]");
}

#[test]
fn publish_strings_are_utf8_and_the_topic_has_no_wildcards() {
    let err = refused(&publish_bytes(NOT_UTF8, &[]));
    assert_eq!(err, DecodeError::InvalidUtf8 { field: "topic name" }, "[MQTT5-3.3.2-1] the first field, UTF-8");
    let response_topic = [&[0x08][..], &s(NOT_UTF8)].concat();
    assert_eq!(
        refused(&publish_bytes(b"t", &[&response_topic])),
        DecodeError::InvalidUtf8 { field: "Response Topic" },
        "[MQTT5-3.3.2-13]"
    );
    let content_type = [&[0x03][..], &s(NOT_UTF8)].concat();
    assert_eq!(
        refused(&publish_bytes(b"t", &[&content_type])),
        DecodeError::InvalidUtf8 { field: "Content Type" },
        "[MQTT5-3.3.2-19]"
    );
    for name in ["a/+", "#", "a/b#", "+x"] {
        let err = refused(&publish_bytes(name.as_bytes(), &[]));
        assert_eq!(err, DecodeError::InvalidTopicName(TopicError::WildcardInName), "[MQTT5-3.3.2-2] {name}");
        assert_eq!(err.rule_v5(), Some("MQTT5-3.3.2-2"), "[MQTT5-4.7.0-1] {name}");
        let p = Publish::new(name, QoS::AtMostOnce, "", false, None);
        assert_eq!(
            encode_refused(Packet::Publish(p)),
            EncodeError::InvalidTopicName(TopicError::WildcardInName),
            "[MQTT5-3.3.2-2] [MQTT5-4.7.0-1] the encoder refuses {name}"
        );
        // Nor in a will's topic, which is a topic name too.
        let err = refused(&connect_bytes(0x06, &[&props(&[]), &s(name.as_bytes()), &s(b"m")]));
        assert_eq!(err, DecodeError::InvalidTopicName(TopicError::WildcardInName), "[MQTT5-4.7.0-1] will {name}");
    }
}

/// The codes a packet may carry, copied from the spec's tables (sections 3.6.2.1, 3.7.2.1,
/// 3.11.3, 3.14.2.1 and 3.15.2.1), not from the codec.
const PUBREL_PUBCOMP: &[u8] = &[0x00, 0x92];
const UNSUBACK: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH: &[u8] = &[0x00, 0x18, 0x19];

/// For every byte: the bytes of `packet_type` carrying it, and the packet value; checks the
/// decoder and the encoder take exactly the codes of `table`.
#[track_caller]
fn only_the_table(table: &[u8], packet_type: PacketType, make: impl Fn(u8) -> (Vec<u8>, Packet), rule: &str) {
    for code in 0..=255u8 {
        let (bytes, packet) = make(code);
        if table.contains(&code) {
            assert_eq!(decode5(&bytes), Ok(packet.clone()), "{rule} {code:#04x} is in the table");
            assert_eq!(encode5(&packet), bytes, "{rule} {code:#04x} is written");
        } else {
            let err = refused(&bytes);
            assert_eq!(err, DecodeError::InvalidReasonCode { packet: packet_type, code }, "{rule} {code:#04x}");
            assert_eq!(err.rule_v5(), Some(rule.trim_matches(['[', ']'])), "{rule} {code:#04x}");
            assert_eq!(
                encode_refused(packet),
                EncodeError::InvalidReasonCode { packet: packet_type, code },
                "{rule} {code:#04x} is not written"
            );
        }
    }
}

#[test]
fn pubrel_and_pubcomp_use_their_reason_codes() {
    let ack = |c| Ack::with_reason(pid(1), ReasonCode(c));
    // Success with no properties is written without the reason code (section 3.6.2).
    let bytes = |byte1: u8, c: u8| if c == 0 { vec![byte1, 2, 0, 1] } else { vec![byte1, 3, 0, 1, c] };
    only_the_table(PUBREL_PUBCOMP, PacketType::Pubrel, |c| (bytes(0x62, c), Packet::Pubrel(ack(c))), "[MQTT5-3.6.2-1]");
    assert!(refused(&[0x62, 3, 0, 1, 0x10]).rule_v5() == Some("MQTT5-3.6.2-1"), "[MQTT5-3.6.2-1]");
    only_the_table(
        PUBREL_PUBCOMP,
        PacketType::Pubcomp,
        |c| (bytes(0x70, c), Packet::Pubcomp(ack(c))),
        "[MQTT5-3.7.2-1]",
    );
    assert!(refused(&[0x70, 3, 0, 1, 0x80]).rule_v5() == Some("MQTT5-3.7.2-1"), "[MQTT5-3.7.2-1]");
}

#[test]
fn unsuback_disconnect_and_auth_use_their_reason_codes() {
    only_the_table(
        UNSUBACK,
        PacketType::Unsuback,
        |c| {
            (
                vec![0xB0, 4, 0, 1, 0, c],
                Packet::Unsuback(Unsuback { reasons: vec![ReasonCode(c)], ..Unsuback::new(pid(1)) }),
            )
        },
        "[MQTT5-3.11.3-2]",
    );
    assert!(refused(&[0xB0, 4, 0, 1, 0, 0x01]).rule_v5() == Some("MQTT5-3.11.3-2"), "[MQTT5-3.11.3-2]");
    // Normal disconnection and Success with no properties are written as no body at all
    // (sections 3.14.2.1, 3.15.2.1), so the tables are walked from 0x01 with that form aside.
    let short = |byte1: u8, c: u8| if c == 0 { vec![byte1, 0] } else { vec![byte1, 1, c] };
    only_the_table(
        DISCONNECT,
        PacketType::Disconnect,
        |c| (short(0xE0, c), Packet::Disconnect(Disconnect::with_reason(ReasonCode(c)))),
        "[MQTT5-3.14.2-1]",
    );
    assert!(refused(&[0xE0, 1, 0x01]).rule_v5() == Some("MQTT5-3.14.2-1"), "[MQTT5-3.14.2-1]");
    only_the_table(
        AUTH,
        PacketType::Auth,
        |c| (short(0xF0, c), Packet::Auth(Auth { reason: ReasonCode(c), properties: Properties::new() })),
        "[MQTT5-3.15.2-1]",
    );
    assert!(refused(&[0xF0, 1, 0x04]).rule_v5() == Some("MQTT5-3.15.2-1"), "[MQTT5-3.15.2-1]");
}
