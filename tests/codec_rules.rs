//! One test per validation rule of the codec, named after the MQTT 3.1.1 normative statement it
//! enforces where there is one. Each asserts the exact error variant and, where the error names a
//! rule, `DecodeError::rule()`. The encoder's refusals are at the end: every one of them must
//! leave the output buffer exactly as it was.

use bytes::{Bytes, BytesMut};
use mqtt_sim::protocol::{
    decode, Connack, Connect, ConnectReturnCode, DecodeError, EncodeError, LastWill, Packet, PacketId, PacketType,
    Protocol, Publish, QoS, Suback, Subscribe, SubscribeFilter, Unsubscribe, MAX_PACKET_SIZE, MAX_REMAINING_LENGTH,
};
use mqtt_sim::topic::TopicError;

/// Frames `body` behind `byte1` with a one-byte remaining length.
fn frame(byte1: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 128);
    let mut v = vec![byte1, body.len() as u8];
    v.extend_from_slice(body);
    v
}

#[track_caller]
fn decode_err(bytes: &[u8]) -> DecodeError {
    let mut buf = BytesMut::from(bytes);
    match decode(&mut buf, MAX_PACKET_SIZE) {
        Err(e) => e,
        other => panic!("expected an error for {bytes:02X?}, got {other:?}"),
    }
}

#[track_caller]
fn decode_ok(bytes: &[u8]) -> Packet {
    let mut buf = BytesMut::from(bytes);
    let p = decode(&mut buf, MAX_PACKET_SIZE).expect("valid").expect("complete");
    assert!(buf.is_empty());
    p
}

#[track_caller]
fn assert_rule(err: &DecodeError, rule: Option<&str>) {
    assert_eq!(err.rule(), rule, "rule of {err:?}");
}

/// A length-prefixed string field.
fn s(text: &[u8]) -> Vec<u8> {
    let mut v = (text.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(text);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn pid(raw: u16) -> PacketId {
    PacketId::new(raw).unwrap()
}

/// A CONNECT body: "MQTT" level 4, `flags`, keep alive 60, then `payload`.
fn connect_body(flags: u8, payload: &[u8]) -> Vec<u8> {
    cat(&[&s(b"MQTT"), &[0x04, flags, 0x00, 0x3C], payload])
}

// ---------------------------------------------------------------- fixed header (2.2)

/// For a non-PUBLISH type, every flag nibble but the required one is refused, from the fixed
/// header alone (no body buffered yet) and with a well-formed body behind it; `rule` (the
/// statement that fixes the nibble, as `[MQTT-x]`) is in each failure's message.
#[track_caller]
fn assert_flags(packet: PacketType, required: u8, body: &[u8], rule: &str) {
    let type_bits = (packet as u8) << 4;
    assert!(decode_ok(&frame(type_bits | required, body)).packet_type() == packet, "{rule} {packet:?}");
    for flags in (0..16u8).filter(|&f| f != required) {
        let want = DecodeError::InvalidFlags { packet, flags };
        // Header only: the flags are refused before the body arrives.
        let mut buf = BytesMut::from(&[type_bits | flags, body.len() as u8][..]);
        if !body.is_empty() {
            assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Err(want.clone()), "{rule} {packet:?} header only");
        }
        let err = decode_err(&frame(type_bits | flags, body));
        assert_eq!(err, want, "{rule} {packet:?} flags {flags:04b}");
        // The connection closes for it.
        assert_rule(&err, Some("MQTT-2.2.2-2"));
    }
}

#[test]
fn mqtt_2_2_2_1_connect_flags_must_be_0000() {
    assert_flags(PacketType::Connect, 0, &connect_body(0x02, &s(b"c")), "[MQTT-2.2.2-1]");
}

#[test]
fn mqtt_2_2_2_1_connack_flags_must_be_0000() {
    assert_flags(PacketType::Connack, 0, &[0x00, 0x00], "[MQTT-2.2.2-1]");
}

#[test]
fn mqtt_2_2_2_1_puback_flags_must_be_0000() {
    assert_flags(PacketType::Puback, 0, &[0x00, 0x01], "[MQTT-2.2.2-1]");
}

#[test]
fn mqtt_2_2_2_1_pubrec_flags_must_be_0000() {
    assert_flags(PacketType::Pubrec, 0, &[0x00, 0x01], "[MQTT-2.2.2-1]");
}

#[test]
fn mqtt_2_2_2_1_pubrel_flags_must_be_0010() {
    assert_flags(PacketType::Pubrel, 0b0010, &[0x00, 0x01], "[MQTT-2.2.2-1] [MQTT-3.6.1-1]");
}

#[test]
fn mqtt_2_2_2_1_pubcomp_flags_must_be_0000() {
    assert_flags(PacketType::Pubcomp, 0, &[0x00, 0x01], "[MQTT-2.2.2-1]");
}

// SUBSCRIBE flags 0010, else the connection closes.
#[test]
fn mqtt_2_2_2_1_subscribe_flags_must_be_0010() {
    let body = cat(&[&[0x00, 0x01], &s(b"a"), &[0x00]]);
    assert_flags(PacketType::Subscribe, 0b0010, &body, "[MQTT-2.2.2-1] [MQTT-3.8.1-1]");
}

#[test]
fn mqtt_2_2_2_1_suback_flags_must_be_0000() {
    assert_flags(PacketType::Suback, 0, &[0x00, 0x01, 0x00], "[MQTT-2.2.2-1]");
}

// UNSUBSCRIBE flags 0010, else the connection closes.
#[test]
fn mqtt_2_2_2_1_unsubscribe_flags_must_be_0010() {
    assert_flags(PacketType::Unsubscribe, 0b0010, &cat(&[&[0x00, 0x01], &s(b"a")]), "[MQTT-2.2.2-1] [MQTT-3.10.1-1]");
}

#[test]
fn mqtt_2_2_2_1_unsuback_flags_must_be_0000() {
    assert_flags(PacketType::Unsuback, 0, &[0x00, 0x01], "[MQTT-2.2.2-1]");
}

#[test]
fn mqtt_2_2_2_1_pingreq_flags_must_be_0000() {
    assert_flags(PacketType::Pingreq, 0, &[], "[MQTT-2.2.2-1]");
}

#[test]
fn mqtt_2_2_2_1_pingresp_flags_must_be_0000() {
    assert_flags(PacketType::Pingresp, 0, &[], "[MQTT-2.2.2-1]");
}

// DISCONNECT reserved bits zero, else the connection closes.
#[test]
fn mqtt_2_2_2_1_disconnect_flags_must_be_0000() {
    assert_flags(PacketType::Disconnect, 0, &[], "[MQTT-2.2.2-1] [MQTT-3.14.1-1]");
}

#[test]
fn reserved_packet_type_0_is_refused() {
    // Table 2.1: 0 is reserved. Refused from the fixed header alone.
    let err = decode_err(&[0x00, 0x00]);
    assert_eq!(err, DecodeError::ReservedPacketType(0));
    assert_rule(&err, None);
    assert_eq!(decode_err(&[0x0F, 0x05]), DecodeError::ReservedPacketType(0));
}

#[test]
fn reserved_packet_type_15_is_refused() {
    let err = decode_err(&[0xF0, 0x00]);
    assert_eq!(err, DecodeError::ReservedPacketType(15));
    assert_rule(&err, None);
    assert_eq!(decode_err(&[0xF3, 0x7F]), DecodeError::ReservedPacketType(15));
}

#[test]
fn remaining_length_longer_than_4_bytes_is_malformed() {
    // Spec 2.2.3: at most four bytes.
    let err = decode_err(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
    assert_eq!(err, DecodeError::MalformedRemainingLength);
    assert_rule(&err, None);
    assert_eq!(decode_err(&[0xC0, 0x80, 0x80, 0x80, 0x80, 0x00]), DecodeError::MalformedRemainingLength);
}

#[test]
fn packet_too_large_is_refused_before_the_body() {
    // Announces 1000 bytes of body (E8 07) with a 100-byte maximum; none of the body is there.
    let mut buf = BytesMut::from(&[0x30, 0xE8, 0x07][..]);
    let err = decode(&mut buf, 100).unwrap_err();
    assert_eq!(err, DecodeError::PacketTooLarge { size: 1003, max: 100 });
    assert_rule(&err, None);
    // The limit counts the whole packet, fixed header included: 9 bytes fit 9, not 8.
    let publish = [0x30, 0x07, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x68, 0x69];
    let mut buf = BytesMut::from(&publish[..]);
    assert_eq!(decode(&mut buf, 8), Err(DecodeError::PacketTooLarge { size: 9, max: 8 }));
    let mut buf = BytesMut::from(&publish[..]);
    assert!(matches!(decode(&mut buf, 9), Ok(Some(Packet::Publish(_)))));
    // Even a reserved type is refused for its size first: the size check needs nothing else.
    let mut buf = BytesMut::from(&[0xF0, 0x7F][..]);
    assert_eq!(decode(&mut buf, 10), Err(DecodeError::PacketTooLarge { size: 129, max: 10 }));
}

// ---------------------------------------------------------------- UTF-8 strings (1.5.3)

#[test]
fn mqtt_1_5_3_1_ill_formed_utf8_is_refused() {
    for bad in [&b"a\xFF"[..], b"\xC3", b"\x80", b"\xC0\xAF", b"\xE0\x80\xAF", b"\xF4\x90\x80\x80"] {
        let err = decode_err(&frame(0x30, &s(bad)));
        assert_eq!(err, DecodeError::InvalidUtf8 { field: "topic name" }, "[MQTT-3.3.2-1] {bad:02X?}");
        assert_rule(&err, Some("MQTT-1.5.3-1"));
    }
    assert_eq!(
        decode_err(&frame(0x10, &connect_body(0x02, &s(b"\xFE")))),
        DecodeError::InvalidUtf8 { field: "client identifier" },
        "[MQTT-3.1.3-4]"
    );
    assert_eq!(
        decode_err(&frame(0x10, &connect_body(0x82, &cat(&[&s(b"c"), &s(b"\xFF")])))),
        DecodeError::InvalidUtf8 { field: "user name" },
        "[MQTT-3.1.3-11]"
    );
    assert_eq!(
        decode_err(&frame(0x10, &connect_body(0x06, &cat(&[&s(b"c"), &s(b"\xFF"), &s(b"m")])))),
        DecodeError::InvalidUtf8 { field: "will topic" },
        "[MQTT-3.1.3-10]"
    );
    assert_eq!(
        decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(b"\xFF"), &[0x00]]))),
        DecodeError::InvalidUtf8 { field: "topic filter" },
        "[MQTT-3.8.3-1]"
    );
    assert_eq!(
        decode_err(&frame(0xA2, &cat(&[&[0x00, 0x01], &s(b"\xFF")]))),
        DecodeError::InvalidUtf8 { field: "topic filter" },
        "[MQTT-3.10.3-1]"
    );
}

#[test]
fn mqtt_1_5_3_1_encoded_surrogate_is_refused() {
    // ED A0 80 would be U+D800, a surrogate, which UTF-8 must not encode.
    for surrogate in [&b"\xED\xA0\x80"[..], b"a/\xED\xBF\xBF"] {
        let err = decode_err(&frame(0x30, &s(surrogate)));
        assert_eq!(err, DecodeError::InvalidUtf8 { field: "topic name" });
        assert_rule(&err, Some("MQTT-1.5.3-1"));
    }
    // The code point just below the surrogates, U+D7FF (ED 9F BF), is fine.
    assert!(matches!(decode_ok(&frame(0x30, &s(b"\xED\x9F\xBF"))), Packet::Publish(p) if p.topic == "\u{D7FF}"));
}

#[test]
fn mqtt_1_5_3_2_null_character_is_refused() {
    let err = decode_err(&frame(0x30, &s(b"a\x00b")));
    assert_eq!(err, DecodeError::NullCharacter { field: "topic name" });
    assert_rule(&err, Some("MQTT-1.5.3-2"));
    assert_eq!(
        decode_err(&frame(0x10, &connect_body(0x02, &s(b"\x00")))),
        DecodeError::NullCharacter { field: "client identifier" }
    );
    assert_eq!(
        decode_err(&frame(0x10, &connect_body(0x82, &cat(&[&s(b"c"), &s(b"u\x00")])))),
        DecodeError::NullCharacter { field: "user name" }
    );
    assert_eq!(
        decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(b"a/\x00"), &[0x00]]))),
        DecodeError::NullCharacter { field: "topic filter" }
    );
    // The password and will message are binary data: a zero byte is fine there.
    let p =
        decode_ok(&frame(0x10, &connect_body(0xC6, &cat(&[&s(b"c"), &s(b"w"), &s(b"\x00"), &s(b"u"), &s(b"\x00")]))));
    let Packet::Connect(c) = p else { panic!("{p:?}") };
    assert_eq!(c.password.as_deref(), Some(&b"\x00"[..]));
    assert_eq!(c.will.unwrap().message, Bytes::from_static(b"\x00"));
}

#[test]
fn mqtt_1_5_3_3_bom_is_kept_not_stripped() {
    // EF BB BF is U+FEFF and stays part of the string, in a topic and in a client identifier.
    let bytes = frame(0x30, &cat(&[&s(b"\xEF\xBB\xBFa"), b"p"]));
    let Packet::Publish(p) = decode_ok(&bytes) else { panic!() };
    assert_eq!(p.topic, "\u{FEFF}a", "[MQTT-1.5.3-3] the BOM is kept");
    assert_eq!(p.topic.len(), 4);
    assert_eq!(p.payload, Bytes::from_static(b"p"));
    let mut out = BytesMut::new();
    Packet::Publish(p).encode(&mut out, MAX_PACKET_SIZE).unwrap();
    assert_eq!(&out[..], &bytes[..], "[MQTT-1.5.3-3] and written back");

    let Packet::Connect(c) = decode_ok(&frame(0x10, &connect_body(0x02, &s(b"\xEF\xBB\xBF")))) else { panic!() };
    assert_eq!(c.client_id, "\u{FEFF}", "[MQTT-1.5.3-3]");
}

// ---------------------------------------------------------------- packet identifiers (2.3.1)

#[track_caller]
fn check_zero_pkid(bytes: &[u8], packet: PacketType) {
    let err = decode_err(bytes);
    assert_eq!(err, DecodeError::ZeroPacketId { packet });
    assert_rule(&err, Some("MQTT-2.3.1-1"));
}

#[test]
fn mqtt_2_3_1_1_publish_qos1_zero_packet_id() {
    check_zero_pkid(&frame(0x32, &cat(&[&s(b"a"), &[0x00, 0x00], b"x"])), PacketType::Publish);
}

#[test]
fn mqtt_2_3_1_1_publish_qos2_zero_packet_id() {
    check_zero_pkid(&frame(0x34, &cat(&[&s(b"a"), &[0x00, 0x00]])), PacketType::Publish);
}

#[test]
fn mqtt_2_3_1_1_puback_zero_packet_id() {
    check_zero_pkid(&[0x40, 0x02, 0x00, 0x00], PacketType::Puback);
}

#[test]
fn mqtt_2_3_1_1_pubrec_zero_packet_id() {
    check_zero_pkid(&[0x50, 0x02, 0x00, 0x00], PacketType::Pubrec);
}

#[test]
fn mqtt_2_3_1_1_pubrel_zero_packet_id() {
    check_zero_pkid(&[0x62, 0x02, 0x00, 0x00], PacketType::Pubrel);
}

#[test]
fn mqtt_2_3_1_1_pubcomp_zero_packet_id() {
    check_zero_pkid(&[0x70, 0x02, 0x00, 0x00], PacketType::Pubcomp);
}

#[test]
fn mqtt_2_3_1_1_subscribe_zero_packet_id() {
    check_zero_pkid(&frame(0x82, &cat(&[&[0x00, 0x00], &s(b"a"), &[0x01]])), PacketType::Subscribe);
}

#[test]
fn mqtt_2_3_1_1_unsubscribe_zero_packet_id() {
    check_zero_pkid(&frame(0xA2, &cat(&[&[0x00, 0x00], &s(b"a")])), PacketType::Unsubscribe);
}

#[test]
fn mqtt_2_3_1_1_suback_zero_packet_id() {
    check_zero_pkid(&[0x90, 0x03, 0x00, 0x00, 0x00], PacketType::Suback);
}

#[test]
fn mqtt_2_3_1_1_unsuback_zero_packet_id() {
    check_zero_pkid(&[0xB0, 0x02, 0x00, 0x00], PacketType::Unsuback);
}

#[test]
fn mqtt_2_3_1_5_publish_qos0_has_no_packet_id() {
    // At QoS 0 the two bytes after the topic are payload, not a packet identifier.
    let Packet::Publish(p) = decode_ok(&frame(0x30, &cat(&[&s(b"a"), &[0x00, 0x00]]))) else { panic!() };
    assert_eq!(p.pkid, None);
    assert_eq!(p.payload, Bytes::from_static(&[0x00, 0x00]));
}

// ---------------------------------------------------------------- PUBLISH (3.3)

#[test]
fn mqtt_3_3_1_4_publish_qos_3_is_refused() {
    for byte1 in [0x36, 0x37, 0x3E, 0x3F] {
        let err = decode_err(&frame(byte1, &cat(&[&s(b"a"), &[0x00, 0x01]])));
        assert_eq!(err, DecodeError::InvalidQos, "{byte1:#04x}");
        assert_rule(&err, Some("MQTT-3.3.1-4"));
    }
}

#[test]
fn mqtt_3_3_1_2_dup_with_qos0_is_refused() {
    for byte1 in [0x38, 0x39] {
        let err = decode_err(&frame(byte1, &s(b"a")));
        assert_eq!(err, DecodeError::DupWithQos0, "{byte1:#04x}");
        assert_rule(&err, Some("MQTT-3.3.1-2"));
    }
}

#[test]
fn mqtt_3_3_2_2_wildcard_in_publish_topic_is_refused() {
    for topic in [&b"a/+"[..], b"#", b"a/#", b"+", b"a+b", b"sport/tennis#"] {
        let err = decode_err(&frame(0x30, &s(topic)));
        assert_eq!(err, DecodeError::InvalidTopicName(TopicError::WildcardInName), "{topic:?}");
        assert_rule(&err, Some("MQTT-3.3.2-2"));
    }
}

#[test]
fn mqtt_3_3_2_2_wildcard_in_will_topic_is_refused() {
    for topic in [&b"w/#"[..], b"+/w"] {
        let err = decode_err(&frame(0x10, &connect_body(0x06, &cat(&[&s(b"c"), &s(topic), &s(b"m")]))));
        assert_eq!(err, DecodeError::InvalidTopicName(TopicError::WildcardInName));
        assert_rule(&err, Some("MQTT-3.3.2-2"));
    }
}

#[test]
fn mqtt_4_7_3_1_empty_publish_topic_is_refused() {
    let err = decode_err(&frame(0x30, &cat(&[&s(b""), b"payload"])));
    assert_eq!(err, DecodeError::InvalidTopicName(TopicError::Empty));
    assert_rule(&err, Some("MQTT-4.7.3-1"));
}

#[test]
fn mqtt_4_7_3_1_empty_will_topic_is_refused() {
    let err = decode_err(&frame(0x10, &connect_body(0x06, &cat(&[&s(b"c"), &s(b""), &s(b"m")]))));
    assert_eq!(err, DecodeError::InvalidTopicName(TopicError::Empty));
    assert_rule(&err, Some("MQTT-4.7.3-1"));
}

#[test]
fn mqtt_4_7_3_1_empty_topic_filter_is_refused() {
    let err = decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(b""), &[0x00]])));
    assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::Empty));
    assert_rule(&err, Some("MQTT-4.7.3-1"));
    let err = decode_err(&frame(0xA2, &cat(&[&[0x00, 0x01], &s(b"")])));
    assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::Empty));
}

#[test]
fn publish_truncated_topic_and_packet_id() {
    // The topic length says 5 but 2 bytes follow; a QoS 1 PUBLISH ends before its packet id.
    assert_eq!(
        decode_err(&[0x30, 0x04, 0x00, 0x05, 0x61, 0x62]),
        DecodeError::Truncated { packet: PacketType::Publish, field: "topic name" }
    );
    assert_eq!(
        decode_err(&[0x32, 0x04, 0x00, 0x01, 0x61, 0x00]),
        DecodeError::Truncated { packet: PacketType::Publish, field: "packet identifier" }
    );
    assert_eq!(decode_err(&[0x30, 0x00]), DecodeError::Truncated { packet: PacketType::Publish, field: "topic name" });
}

// ---------------------------------------------------------------- topic filters (4.7.1)

#[test]
fn mqtt_4_7_1_2_multi_level_wildcard_must_be_alone_and_last_in_subscribe() {
    for filter in [&b"a#"[..], b"a/#/b", b"#/a", b"a/b#", b"##", b"#/"] {
        let err = decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(filter), &[0x00]])));
        assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::MultiLevelNotLast), "{filter:?}");
        assert_rule(&err, Some("MQTT-4.7.1-2"));
    }
}

#[test]
fn mqtt_4_7_1_2_multi_level_wildcard_must_be_alone_and_last_in_unsubscribe() {
    for filter in [&b"a#"[..], b"a/#/b", b"#/a"] {
        let err = decode_err(&frame(0xA2, &cat(&[&[0x00, 0x01], &s(b"ok"), &s(filter)])));
        assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::MultiLevelNotLast), "{filter:?}");
        assert_rule(&err, Some("MQTT-4.7.1-2"));
    }
}

#[test]
fn mqtt_4_7_1_3_single_level_wildcard_must_fill_its_level_in_subscribe() {
    for filter in [&b"a+"[..], b"+a", b"a/b+/c", b"++", b"sport+"] {
        let err = decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(filter), &[0x01]])));
        assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::SingleLevelNotAlone), "{filter:?}");
        assert_rule(&err, Some("MQTT-4.7.1-3"));
    }
}

#[test]
fn mqtt_4_7_1_3_single_level_wildcard_must_fill_its_level_in_unsubscribe() {
    for filter in [&b"a+"[..], b"+a/b", b"a/+b"] {
        let err = decode_err(&frame(0xA2, &cat(&[&[0x00, 0x01], &s(filter)])));
        assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::SingleLevelNotAlone), "{filter:?}");
        assert_rule(&err, Some("MQTT-4.7.1-3"));
    }
}

#[test]
fn mqtt_4_7_1_valid_wildcard_filters_are_accepted() {
    // The spec's own valid examples (4.7.1.2, 4.7.1.3).
    for filter in ["#", "sport/#", "+", "+/tennis/#", "sport/+/player1", "/+", "+/+", "sport/tennis/#"] {
        let bytes = frame(0x82, &cat(&[&[0x00, 0x01], &s(filter.as_bytes()), &[0x02]]));
        let Packet::Subscribe(sub) = decode_ok(&bytes) else { panic!() };
        assert_eq!(sub.filters, vec![SubscribeFilter::new(filter, QoS::ExactlyOnce)]);
    }
}

// ---------------------------------------------------------------- CONNECT (3.1)

#[test]
fn mqtt_3_1_2_1_wrong_protocol_name() {
    for name in [&b"MQTX"[..], b"mqtt", b"MQTT ", b"", b"MQIsdP"] {
        let body = cat(&[&s(name), &[0x04, 0x02, 0x00, 0x3C], &s(b"c")]);
        let err = decode_err(&frame(0x10, &body));
        assert_eq!(err, DecodeError::InvalidProtocolName(String::from_utf8(name.to_vec()).unwrap()));
        assert_rule(&err, Some("MQTT-3.1.2-1"));
    }
}

#[test]
fn mqtt_3_1_2_2_protocol_level_5_is_read_as_5_0_and_level_6_is_unsupported() {
    // A CONNECT says its own version: level 5 is MQTT 5.0 (with a property length), whatever the
    // connection expected. Whether to accept it is the server's choice (the broker's tests).
    let body = cat(&[&s(b"MQTT"), &[0x05, 0x02, 0x00, 0x3C, 0x00], &s(b"c")]);
    let mut buf = BytesMut::from(&frame(0x10, &body)[..]);
    let Ok(Some(Packet::Connect(c))) = decode(&mut buf, MAX_PACKET_SIZE) else { panic!("a 5.0 CONNECT") };
    assert_eq!(c.protocol, Protocol::V5);
    let body = cat(&[&s(b"MQTT"), &[0x06, 0x02, 0x00, 0x3C], &s(b"c")]);
    let err = decode_err(&frame(0x10, &body));
    assert_eq!(err, DecodeError::UnsupportedProtocolLevel(6));
    assert_rule(&err, Some("MQTT-3.1.2-2"));
}

#[test]
fn mqtt_3_1_2_2_level_3_with_name_mqtt_is_unsupported() {
    // Level 3 belongs to the name "MQIsdp" (MQTT 3.1); "MQTT" level 3 is neither protocol.
    let body = cat(&[&s(b"MQTT"), &[0x03, 0x02, 0x00, 0x3C], &s(b"c")]);
    let err = decode_err(&frame(0x10, &body));
    assert_eq!(err, DecodeError::UnsupportedProtocolLevel(3));
    assert_rule(&err, Some("MQTT-3.1.2-2"));
    let body = cat(&[&s(b"MQIsdp"), &[0x04, 0x02, 0x00, 0x3C], &s(b"c")]);
    assert_eq!(decode_err(&frame(0x10, &body)), DecodeError::UnsupportedProtocolLevel(4));
}

#[test]
fn mqtt_3_1_2_3_connect_reserved_flag_must_be_zero() {
    for flags in [0x01, 0x03, 0xC3, 0xFF] {
        let err = decode_err(&frame(0x10, &connect_body(flags, &s(b"c"))));
        assert_eq!(err, DecodeError::ConnectReservedFlag, "{flags:#04x}");
        assert_rule(&err, Some("MQTT-3.1.2-3"));
    }
}

#[test]
fn mqtt_3_1_2_13_will_qos_without_will_flag() {
    // Will flag 0 but will QoS 1, 2 or 3 (bits 4-3).
    for flags in [0x0A, 0x12, 0x1A, 0x2A] {
        let err = decode_err(&frame(0x10, &connect_body(flags, &s(b"c"))));
        assert_eq!(err, DecodeError::WillQosWithoutWill, "[MQTT-3.1.2-11] {flags:#04x}");
        assert_rule(&err, Some("MQTT-3.1.2-13"));
    }
}

#[test]
fn mqtt_3_1_2_15_will_retain_without_will_flag() {
    // Will flag 0 but will retain (bit 5) set.
    let err = decode_err(&frame(0x10, &connect_body(0x22, &s(b"c"))));
    assert_eq!(err, DecodeError::WillRetainWithoutWill, "[MQTT-3.1.2-11]");
    assert_rule(&err, Some("MQTT-3.1.2-15"));
}

#[test]
fn mqtt_3_1_2_14_will_qos_3_is_refused() {
    // Will flag 0x04 with will QoS bits 11 (0x18), with and without will retain.
    for flags in [0x1C, 0x1E, 0x3E] {
        let err = decode_err(&frame(0x10, &connect_body(flags, &cat(&[&s(b"c"), &s(b"w"), &s(b"m")]))));
        assert_eq!(err, DecodeError::InvalidWillQos, "{flags:#04x}");
        assert_rule(&err, Some("MQTT-3.1.2-14"));
    }
}

#[test]
fn mqtt_3_1_2_22_password_without_user_name() {
    let err = decode_err(&frame(0x10, &connect_body(0x42, &cat(&[&s(b"c"), &s(b"pw")]))));
    assert_eq!(err, DecodeError::PasswordWithoutUsername);
    assert_rule(&err, Some("MQTT-3.1.2-22"));
}

#[test]
fn connect_truncated_payload() {
    let truncated = |field| DecodeError::Truncated { packet: PacketType::Connect, field };
    assert_eq!(decode_err(&[0x10, 0x00]), truncated("protocol name"));
    assert_eq!(decode_err(&frame(0x10, &s(b"MQTT"))), truncated("protocol level"));
    assert_eq!(decode_err(&frame(0x10, &cat(&[&s(b"MQTT"), &[0x04]]))), truncated("connect flags"));
    assert_eq!(decode_err(&frame(0x10, &cat(&[&s(b"MQTT"), &[0x04, 0x02, 0x00]]))), truncated("keep alive"));
    assert_eq!(decode_err(&frame(0x10, &connect_body(0x02, &[]))), truncated("client identifier"));
    // Client id length 5, but only 3 bytes.
    assert_eq!(decode_err(&frame(0x10, &connect_body(0x02, b"\x00\x05abc"))), truncated("client identifier"));
    assert_eq!(decode_err(&frame(0x10, &connect_body(0x06, &s(b"c")))), truncated("will topic"));
    assert_eq!(decode_err(&frame(0x10, &connect_body(0x06, &cat(&[&s(b"c"), &s(b"w")])))), truncated("will message"));
    assert_eq!(decode_err(&frame(0x10, &connect_body(0x82, &s(b"c")))), truncated("user name"));
    assert_eq!(decode_err(&frame(0x10, &connect_body(0xC2, &cat(&[&s(b"c"), &s(b"u")])))), truncated("password"));
    let err = decode_err(&frame(0x10, &connect_body(0xC2, &cat(&[&s(b"c"), &s(b"u"), b"\x00\x04pw"]))));
    assert_eq!(err, truncated("password"));
    assert_rule(&err, None);
}

#[test]
fn connect_trailing_bytes_after_payload() {
    // Fields the flags do not announce are not read: a user name without its flag is left over.
    let err = decode_err(&frame(0x10, &connect_body(0x02, &cat(&[&s(b"c"), &s(b"u")]))));
    assert_eq!(err, DecodeError::TrailingBytes { packet: PacketType::Connect, extra: 3 });
    assert_rule(&err, None);
}

// ---------------------------------------------------------------- CONNACK (3.2)

#[test]
fn connack_reserved_acknowledge_flags_are_refused() {
    // Bits 7-1 of the acknowledge flags are reserved and set to 0 (3.2.2.1).
    for flags in [0x02, 0x80, 0xFE, 0x03] {
        let err = decode_err(&[0x20, 0x02, flags, 0x00]);
        assert_eq!(err, DecodeError::InvalidConnackFlags(flags));
        assert_rule(&err, None);
    }
}

#[test]
fn connack_return_code_6_and_above_are_reserved() {
    for code in [6, 0x7F, 0x80, 0xFF] {
        let err = decode_err(&[0x20, 0x02, 0x00, code]);
        assert_eq!(err, DecodeError::InvalidConnackCode(code));
        assert_rule(&err, None);
    }
}

#[test]
fn mqtt_3_2_2_4_session_present_with_refusal_is_refused() {
    for code in 1..=5 {
        let err = decode_err(&[0x20, 0x02, 0x01, code]);
        assert_eq!(err, DecodeError::SessionPresentOnRefusal, "code {code}");
        assert_rule(&err, Some("MQTT-3.2.2-4"));
    }
}

#[test]
fn connack_wrong_length() {
    assert_eq!(
        decode_err(&[0x20, 0x01, 0x00]),
        DecodeError::Truncated { packet: PacketType::Connack, field: "return code" }
    );
    assert_eq!(
        decode_err(&[0x20, 0x00]),
        DecodeError::Truncated { packet: PacketType::Connack, field: "acknowledge flags" }
    );
    assert_eq!(
        decode_err(&[0x20, 0x03, 0x00, 0x00, 0x00]),
        DecodeError::TrailingBytes { packet: PacketType::Connack, extra: 1 }
    );
}

// ---------------------------------------------------------------- SUBSCRIBE, SUBACK, UNSUBSCRIBE (3.8 to 3.10)

#[test]
fn mqtt_3_8_3_3_subscribe_without_filters() {
    let err = decode_err(&[0x82, 0x02, 0x00, 0x01]);
    assert_eq!(err, DecodeError::EmptySubscribe);
    assert_rule(&err, Some("MQTT-3.8.3-3"));
}

#[test]
fn mqtt_3_8_3_4_subscribe_reserved_bits_in_qos_byte() {
    for options in [0x04, 0x08, 0x80, 0xFC, 0x41, 0xFF] {
        let err = decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(b"a"), &[options]])));
        assert_eq!(err, DecodeError::InvalidSubscribeOptions(options), "{options:#04x}");
        assert_rule(&err, Some("MQTT-3.8.3-4"));
    }
}

#[test]
fn mqtt_3_8_3_4_subscribe_qos_3() {
    // The bad entry is the second one; the first is valid.
    let err = decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(b"a"), &[0x01], &s(b"b"), &[0x03]])));
    assert_eq!(err, DecodeError::InvalidSubscribeOptions(0x03));
    assert_rule(&err, Some("MQTT-3.8.3-4"));
}

#[test]
fn subscribe_filter_without_qos_byte_is_truncated() {
    let err = decode_err(&frame(0x82, &cat(&[&[0x00, 0x01], &s(b"a")])));
    assert_eq!(err, DecodeError::Truncated { packet: PacketType::Subscribe, field: "requested QoS" });
    assert_eq!(
        decode_err(&[0x82, 0x01, 0x00]),
        DecodeError::Truncated { packet: PacketType::Subscribe, field: "packet identifier" }
    );
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_without_filters() {
    let err = decode_err(&[0xA2, 0x02, 0x00, 0x01]);
    assert_eq!(err, DecodeError::EmptyUnsubscribe);
    assert_rule(&err, Some("MQTT-3.10.3-2"));
}

#[test]
fn mqtt_3_9_3_2_suback_code_0x03_is_refused() {
    for code in [0x03, 0x04, 0x7F, 0x81, 0xFF] {
        let err = decode_err(&[0x90, 0x04, 0x00, 0x01, 0x00, code]);
        assert_eq!(err, DecodeError::InvalidSubackCode(code), "{code:#04x}");
        assert_rule(&err, Some("MQTT-3.9.3-2"));
    }
}

#[test]
fn mqtt_3_8_4_5_suback_without_return_codes() {
    let err = decode_err(&[0x90, 0x02, 0x00, 0x01]);
    assert_eq!(err, DecodeError::EmptySuback);
    assert_rule(&err, Some("MQTT-3.8.4-5"));
}

// ---------------------------------------------------------------- fixed-size packets

#[test]
fn trailing_bytes_after_pingreq() {
    let err = decode_err(&[0xC0, 0x01, 0x00]);
    assert_eq!(err, DecodeError::TrailingBytes { packet: PacketType::Pingreq, extra: 1 });
    assert_rule(&err, None);
}

#[test]
fn trailing_bytes_after_pingresp() {
    assert_eq!(
        decode_err(&[0xD0, 0x02, 0x00, 0x00]),
        DecodeError::TrailingBytes { packet: PacketType::Pingresp, extra: 2 }
    );
}

#[test]
fn trailing_bytes_after_disconnect() {
    assert_eq!(
        decode_err(&[0xE0, 0x02, 0x00, 0x00]),
        DecodeError::TrailingBytes { packet: PacketType::Disconnect, extra: 2 }
    );
}

#[test]
fn trailing_bytes_after_puback() {
    assert_eq!(
        decode_err(&[0x40, 0x03, 0x00, 0x01, 0x00]),
        DecodeError::TrailingBytes { packet: PacketType::Puback, extra: 1 }
    );
    assert_eq!(
        decode_err(&[0x62, 0x04, 0x00, 0x01, 0x00, 0x00]),
        DecodeError::TrailingBytes { packet: PacketType::Pubrel, extra: 2 }
    );
    assert_eq!(
        decode_err(&[0xB0, 0x03, 0x00, 0x01, 0x00]),
        DecodeError::TrailingBytes { packet: PacketType::Unsuback, extra: 1 }
    );
}

#[test]
fn ack_shorter_than_packet_id_is_truncated() {
    for (byte1, packet) in [
        (0x40, PacketType::Puback),
        (0x50, PacketType::Pubrec),
        (0x62, PacketType::Pubrel),
        (0x70, PacketType::Pubcomp),
        (0xB0, PacketType::Unsuback),
    ] {
        assert_eq!(decode_err(&[byte1, 0x00]), DecodeError::Truncated { packet, field: "packet identifier" });
        assert_eq!(decode_err(&[byte1, 0x01, 0x07]), DecodeError::Truncated { packet, field: "packet identifier" });
    }
}

// ---------------------------------------------------------------- the encoder's refusals

/// Encodes into a buffer that already holds bytes and checks that the refusal left it unchanged.
#[track_caller]
fn encode_err(packet: &Packet, max: usize) -> EncodeError {
    let mut out = BytesMut::from(&b"before"[..]);
    let err = packet.encode(&mut out, max).expect_err("encode must refuse");
    assert_eq!(&out[..], b"before", "a refused encode appended bytes ({err:?})");
    err
}

fn publish(dup: bool, qos: QoS, topic: &str, pkid: Option<u16>) -> Packet {
    Packet::Publish(Publish {
        dup,
        qos,
        retain: false,
        topic: topic.into(),
        pkid: pkid.map(pid),
        payload: Bytes::from_static(b"x"),
        properties: Default::default(),
    })
}

#[test]
fn encode_field_too_long() {
    // A length prefix holds at most 65,535 bytes (1.5.3, 1.5.4).
    let long = "a".repeat(65_536);
    let c = Packet::Connect(Connect::new(long.clone(), true, 0));
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::FieldTooLong { field: "client identifier", len: 65_536 });

    let c = Packet::Connect(Connect { username: Some(long.clone()), ..Connect::new("c", true, 0) });
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::FieldTooLong { field: "user name", len: 65_536 });

    let c = Packet::Connect(Connect {
        username: Some("u".into()),
        password: Some(Bytes::from(vec![0u8; 70_000])),
        ..Connect::new("c", true, 0)
    });
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::FieldTooLong { field: "password", len: 70_000 });

    let c = Packet::Connect(Connect {
        will: Some(LastWill {
            topic: "w".into(),
            message: Bytes::from(vec![1u8; 65_536]),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: Default::default(),
        }),
        ..Connect::new("c", true, 0)
    });
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::FieldTooLong { field: "will message", len: 65_536 });

    // Exactly 65,535 bytes fits.
    let c = Packet::Connect(Connect::new(&long[1..], true, 0));
    let mut out = BytesMut::new();
    assert_eq!(c.encode(&mut out, MAX_PACKET_SIZE), Ok(1 + 3 + 10 + 2 + 65_535));
}

#[test]
fn encode_null_character_in_strings() {
    let c = Packet::Connect(Connect::new("a\0", true, 0));
    assert_eq!(
        encode_err(&c, MAX_PACKET_SIZE),
        EncodeError::NullCharacter { field: "client identifier" },
        "[MQTT-1.5.3-2]"
    );
    let c = Packet::Connect(Connect { username: Some("\0".into()), ..Connect::new("c", true, 0) });
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::NullCharacter { field: "user name" });
    assert_eq!(
        encode_err(&publish(false, QoS::AtMostOnce, "a\0", None), MAX_PACKET_SIZE),
        EncodeError::InvalidTopicName(TopicError::NullCharacter),
        "[MQTT-4.7.3-2] in a topic the topic rule reports it"
    );
}

#[test]
fn encode_mqtt_3_3_1_2_dup_with_qos0() {
    assert_eq!(encode_err(&publish(true, QoS::AtMostOnce, "t", None), MAX_PACKET_SIZE), EncodeError::DupWithQos0);
}

#[test]
fn encode_mqtt_2_3_1_1_packet_id_mismatch() {
    assert_eq!(
        encode_err(&publish(false, QoS::AtMostOnce, "t", Some(1)), MAX_PACKET_SIZE),
        EncodeError::PacketIdMismatch { qos: 0 },
        "[MQTT-2.3.1-5] QoS 0 must not have an id"
    );
    assert_eq!(
        encode_err(&publish(false, QoS::AtLeastOnce, "t", None), MAX_PACKET_SIZE),
        EncodeError::PacketIdMismatch { qos: 1 },
        "[MQTT-2.3.1-1] QoS 1 needs one"
    );
    assert_eq!(
        encode_err(&publish(true, QoS::ExactlyOnce, "t", None), MAX_PACKET_SIZE),
        EncodeError::PacketIdMismatch { qos: 2 },
        "[MQTT-2.3.1-1] and so does QoS 2"
    );
    // `Publish::new` drops the id at QoS 0, so it always builds an encodable packet.
    let p = Publish::new("t", QoS::AtMostOnce, Bytes::new(), false, Some(pid(3)));
    assert_eq!(p.pkid, None);
}

#[test]
fn encode_invalid_topic_name() {
    let cases = [("a/+", TopicError::WildcardInName), ("#", TopicError::WildcardInName), ("", TopicError::Empty)];
    for (topic, want) in cases {
        assert_eq!(
            encode_err(&publish(false, QoS::AtMostOnce, topic, None), MAX_PACKET_SIZE),
            EncodeError::InvalidTopicName(want),
            "{topic:?}"
        );
    }
    let long = "t".repeat(65_536);
    assert_eq!(
        encode_err(&publish(false, QoS::AtLeastOnce, &long, Some(1)), MAX_PACKET_SIZE),
        EncodeError::InvalidTopicName(TopicError::TooLong(65_536)),
        "[MQTT-4.7.3-3] at most 65535 bytes"
    );
    // The will topic follows the same rules.
    let c = Packet::Connect(Connect {
        will: Some(LastWill {
            topic: "w/#".into(),
            message: Bytes::new(),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Default::default(),
        }),
        ..Connect::new("c", true, 0)
    });
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::InvalidTopicName(TopicError::WildcardInName));
}

#[test]
fn encode_invalid_topic_filter() {
    let sub = |filter: &str| {
        Packet::Subscribe(Subscribe {
            pkid: pid(1),
            filters: vec![
                SubscribeFilter::new("ok/#", QoS::AtMostOnce),
                SubscribeFilter::new(filter, QoS::AtLeastOnce),
            ],
            properties: Default::default(),
        })
    };
    assert_eq!(encode_err(&sub("a#"), MAX_PACKET_SIZE), EncodeError::InvalidTopicFilter(TopicError::MultiLevelNotLast));
    assert_eq!(
        encode_err(&sub("a/#/b"), MAX_PACKET_SIZE),
        EncodeError::InvalidTopicFilter(TopicError::MultiLevelNotLast)
    );
    assert_eq!(
        encode_err(&sub("a+"), MAX_PACKET_SIZE),
        EncodeError::InvalidTopicFilter(TopicError::SingleLevelNotAlone)
    );
    assert_eq!(encode_err(&sub(""), MAX_PACKET_SIZE), EncodeError::InvalidTopicFilter(TopicError::Empty));
    let unsub = Packet::Unsubscribe(Unsubscribe {
        pkid: pid(1),
        filters: vec!["a".into(), "+b".into()],
        properties: Default::default(),
    });
    assert_eq!(encode_err(&unsub, MAX_PACKET_SIZE), EncodeError::InvalidTopicFilter(TopicError::SingleLevelNotAlone));
}

#[test]
fn encode_empty_subscribe_unsubscribe_suback() {
    let sub = Packet::Subscribe(Subscribe { pkid: pid(1), filters: vec![], properties: Default::default() });
    assert_eq!(encode_err(&sub, MAX_PACKET_SIZE), EncodeError::EmptySubscribe, "[MQTT-3.8.3-3]");
    let unsub = Packet::Unsubscribe(Unsubscribe { pkid: pid(1), filters: vec![], properties: Default::default() });
    assert_eq!(encode_err(&unsub, MAX_PACKET_SIZE), EncodeError::EmptyUnsubscribe, "[MQTT-3.10.3-2]");
    let suback = Packet::Suback(Suback::new(pid(1), vec![]));
    assert_eq!(encode_err(&suback, MAX_PACKET_SIZE), EncodeError::EmptySuback, "[MQTT-3.8.4-5]");
}

#[test]
fn encode_mqtt_3_1_2_22_password_without_user_name() {
    let c = Packet::Connect(Connect { password: Some(Bytes::from_static(b"pw")), ..Connect::new("c", true, 0) });
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::PasswordWithoutUsername);
}

#[test]
fn encode_mqtt_3_2_2_4_session_present_with_refusal() {
    let c = Packet::Connack(Connack {
        session_present: true,
        code: ConnectReturnCode::NotAuthorized.into(),
        properties: Default::default(),
    });
    assert_eq!(encode_err(&c, MAX_PACKET_SIZE), EncodeError::SessionPresentOnRefusal);
}

#[test]
fn encode_exceeds_maximum() {
    // 30 07 00 03 a/b h i is 9 bytes: a 9-byte maximum allows it, 8 does not.
    let p = Packet::Publish(Publish::new("a/b", QoS::AtMostOnce, Bytes::from_static(b"hi"), false, None));
    assert_eq!(encode_err(&p, 8), EncodeError::ExceedsMaximum { size: 9, max: 8 });
    let mut out = BytesMut::new();
    assert_eq!(p.encode(&mut out, 9), Ok(9));
    assert_eq!(encode_err(&Packet::Pingreq, 1), EncodeError::ExceedsMaximum { size: 2, max: 1 });
}

#[test]
fn encode_packet_too_large_for_the_protocol() {
    // A zeroed Vec comes from calloc: the pages are never touched because the encoder refuses
    // before writing. Topic "t" takes 3 bytes, so this payload makes the remaining length exactly
    // 268,435,455, the largest four varint bytes hold: a 5-byte header, 268,435,460 bytes in all.
    let payload = Bytes::from(vec![0u8; MAX_REMAINING_LENGTH - 3]);
    let p = Packet::Publish(Publish::new("t", QoS::AtMostOnce, payload, false, None));
    assert_eq!(encode_err(&p, 1 << 20), EncodeError::ExceedsMaximum { size: 268_435_460, max: 1 << 20 });
    // One more byte and MQTT cannot frame it at all, whatever the caller's maximum.
    let payload = Bytes::from(vec![0u8; MAX_REMAINING_LENGTH - 2]);
    let p = Packet::Publish(Publish::new("t", QoS::AtMostOnce, payload, false, None));
    assert_eq!(encode_err(&p, usize::MAX), EncodeError::PacketTooLarge(268_435_456));
}
