//! Every MQTT 5.0 refusal of the codec, each with the reason code a receiver sends before it
//! closes (section 4.13) and the statement it breaks (`rule_v5`, `MQTT5-…`), or `None` where the
//! spec states the rule without a number. Encoder refusals are here too: the encoder refuses what
//! the decoder would, and what 3.1.1 cannot carry.

use bytes::{Bytes, BytesMut};
use mqtt_sim::protocol::properties::{Place, PropertyProblem};
use mqtt_sim::protocol::{
    decode, decode_as, Ack, Auth, Connack, Connect, DecodeError, Disconnect, EncodeError, LastWill, Packet, PacketType,
    Properties, Property as P, Publish, QoS, ReasonCode, Subscribe, SubscribeFilter, Unsuback, Unsubscribe, Version,
    MAX_PACKET_SIZE,
};
use mqtt_sim::topic::TopicError;

mod spec_bytes;
use spec_bytes::{frame, pid, props, s, MQTT5};

/// Decodes `bytes` as 5.0 and checks the error, its reason code and its statement.
#[track_caller]
fn assert_refused(bytes: &[u8], want: DecodeError, reason: ReasonCode, rule: Option<&str>) {
    let mut buf = BytesMut::from(bytes);
    let err = decode_as(Version::V5, &mut buf, MAX_PACKET_SIZE).expect_err("must be refused");
    assert_eq!(err, want);
    assert_eq!(err.reason_code(), reason, "reason code for {err}");
    assert_eq!(err.rule_v5(), rule, "statement for {err}");
}

/// A PUBLISH QoS 0 to "t" with these properties.
fn publish_with(list: &[&[u8]]) -> Vec<u8> {
    frame(0x30, &[&s(b"t"), &props(list)])
}

/// A CONNECT with these CONNECT properties.
fn connect_with(list: &[&[u8]]) -> Vec<u8> {
    frame(0x10, &[MQTT5, &[0x02], &[0, 0], &props(list), &s(b"c")])
}

fn problem_value(property: &'static str, why: &'static str) -> DecodeError {
    DecodeError::Property(PropertyProblem::Value { property, why })
}

#[test]
fn an_unknown_property_is_malformed() {
    assert_refused(
        &publish_with(&[&[0x05, 0x00]]),
        DecodeError::UnknownProperty(0x05),
        ReasonCode::MALFORMED_PACKET,
        None,
    );
}

#[test]
fn a_property_in_the_wrong_packet_is_malformed() {
    let topic_alias_in_connect = connect_with(&[&[0x23, 0x00, 0x01]]);
    let want = DecodeError::Property(PropertyProblem::NotAllowed {
        property: "Topic Alias",
        place: Place::Packet(PacketType::Connect),
    });
    assert_refused(&topic_alias_in_connect, want, ReasonCode::MALFORMED_PACKET, None);
    // Will Delay Interval belongs to the will, not to CONNECT.
    let want = DecodeError::Property(PropertyProblem::NotAllowed {
        property: "Will Delay Interval",
        place: Place::Packet(PacketType::Connect),
    });
    assert_refused(&connect_with(&[&[0x18, 0, 0, 0, 1]]), want, ReasonCode::MALFORMED_PACKET, None);
    // Session Expiry Interval in a PUBACK.
    let bytes = frame(0x40, &[&[0x00, 0x01, 0x00], &props(&[&[0x11, 0, 0, 0, 1]])]);
    let want = DecodeError::Property(PropertyProblem::NotAllowed {
        property: "Session Expiry Interval",
        place: Place::Packet(PacketType::Puback),
    });
    assert_refused(&bytes, want, ReasonCode::MALFORMED_PACKET, None);
}

#[test]
fn a_repeated_property_is_a_protocol_error_except_user_properties_and_publish_subscription_ids() {
    let ct = [&[0x03][..], &s(b"a")].concat();
    let want = DecodeError::Property(PropertyProblem::Duplicate {
        property: "Content Type",
        place: Place::Packet(PacketType::Publish),
    });
    assert_refused(&publish_with(&[&ct, &ct]), want, ReasonCode::PROTOCOL_ERROR, None);

    let up = [&[0x26][..], &s(b"k"), &s(b"v")].concat();
    let mut buf = BytesMut::from(&publish_with(&[&up, &up, &[0x0B, 0x01], &[0x0B, 0x02]])[..]);
    assert!(decode_as(Version::V5, &mut buf, MAX_PACKET_SIZE).unwrap().is_some());

    // One Subscription Identifier per SUBSCRIBE (section 3.8.2.1.2).
    let bytes = frame(0x82, &[&[0, 1], &props(&[&[0x0B, 0x01], &[0x0B, 0x02]]), &s(b"a"), &[0x00]]);
    let want = DecodeError::Property(PropertyProblem::Duplicate {
        property: "Subscription Identifier",
        place: Place::Packet(PacketType::Subscribe),
    });
    assert_refused(&bytes, want, ReasonCode::PROTOCOL_ERROR, None);
}

#[test]
fn property_values_out_of_range_are_protocol_errors() {
    let cases: Vec<(Vec<u8>, DecodeError)> = vec![
        (connect_with(&[&[0x21, 0x00, 0x00]]), problem_value("Receive Maximum", "must not be 0")),
        (connect_with(&[&[0x27, 0, 0, 0, 0]]), problem_value("Maximum Packet Size", "must not be 0")),
        (connect_with(&[&[0x17, 0x02]]), problem_value("Request Problem Information", "must be 0 or 1")),
        (connect_with(&[&[0x19, 0x02]]), problem_value("Request Response Information", "must be 0 or 1")),
        (publish_with(&[&[0x01, 0x02]]), problem_value("Payload Format Indicator", "must be 0 or 1")),
        (frame(0x20, &[&[0, 0], &props(&[&[0x24, 0x02]])]), problem_value("Maximum QoS", "must be 0 or 1")),
        (frame(0x20, &[&[0, 0], &props(&[&[0x25, 0x02]])]), problem_value("Retain Available", "must be 0 or 1")),
        (
            frame(0x82, &[&[0, 1], &props(&[&[0x0B, 0x00]]), &s(b"a"), &[0]]),
            problem_value("Subscription Identifier", "must be from 1 to 268,435,455"),
        ),
    ];
    for (bytes, want) in cases {
        assert_refused(&bytes, want, ReasonCode::PROTOCOL_ERROR, None);
    }
}

#[test]
fn topic_alias_zero_is_topic_alias_invalid() {
    assert_refused(
        &publish_with(&[&[0x23, 0x00, 0x00]]),
        DecodeError::Property(PropertyProblem::TopicAliasZero),
        ReasonCode::TOPIC_ALIAS_INVALID,
        Some("MQTT5-3.3.2-8"),
    );
}

#[test]
fn a_response_topic_with_a_wildcard_is_refused() {
    let rt = [&[0x08][..], &s(b"a/#")].concat();
    assert_refused(
        &publish_with(&[&rt]),
        DecodeError::Property(PropertyProblem::ResponseTopic(TopicError::WildcardInName)),
        ReasonCode::PROTOCOL_ERROR,
        Some("MQTT5-3.3.2-14"),
    );
}

#[test]
fn an_empty_topic_needs_a_topic_alias() {
    assert_refused(
        &frame(0x30, &[&s(b""), &props(&[])]),
        DecodeError::EmptyTopicWithoutAlias,
        ReasonCode::PROTOCOL_ERROR,
        None,
    );
    // In 3.1.1 the same bytes (without a property length) break [MQTT-4.7.3-1].
    let mut buf = BytesMut::from(&frame(0x30, &[&s(b"")])[..]);
    assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Err(DecodeError::InvalidTopicName(TopicError::Empty)));
}

#[test]
fn subscription_options_are_checked() {
    let sub = |opts: u8| frame(0x82, &[&[0, 1], &props(&[]), &s(b"a"), &[opts]]);
    assert_refused(
        &sub(0x40),
        DecodeError::SubscriptionOptionsReserved(0x40),
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-3.8.3-5"),
    );
    assert_refused(
        &sub(0x80),
        DecodeError::SubscriptionOptionsReserved(0x80),
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-3.8.3-5"),
    );
    assert_refused(&sub(0x03), DecodeError::SubscriptionQos(0x03), ReasonCode::PROTOCOL_ERROR, None);
    assert_refused(&sub(0x30), DecodeError::RetainHandling(0x30), ReasonCode::PROTOCOL_ERROR, None);
    // No Local on a shared subscription [MQTT5-3.8.3-4].
    let bytes = frame(0x82, &[&[0, 1], &props(&[]), &s(b"$share/g/a"), &[0x04]]);
    assert_refused(
        &bytes,
        DecodeError::NoLocalOnShared("$share/g/a".into()),
        ReasonCode::PROTOCOL_ERROR,
        Some("MQTT5-3.8.3-4"),
    );
}

#[test]
fn shared_filters_must_have_a_share_name_and_a_filter() {
    for filter in ["$share/g", "$share//a", "$share/g+/a", "$share/#/a", "$share/g/a#"] {
        let bytes = frame(0x82, &[&[0, 1], &props(&[]), &s(filter.as_bytes()), &[0x00]]);
        let mut buf = BytesMut::from(&bytes[..]);
        let err = decode_as(Version::V5, &mut buf, MAX_PACKET_SIZE).expect_err(filter);
        assert!(matches!(err, DecodeError::InvalidTopicFilter(_)), "{filter}: {err}");
        assert_eq!(err.reason_code(), ReasonCode::MALFORMED_PACKET);
    }
    let bytes = frame(0x82, &[&[0, 1], &props(&[]), &s(b"$share/g"), &[0x00]]);
    assert_refused(
        &bytes,
        DecodeError::InvalidTopicFilter(TopicError::InvalidShareName),
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-4.8.2-2"),
    );
    // In 3.1.1, `$share/g` is an ordinary filter.
    let mut buf = BytesMut::from(&frame(0x82, &[&[0, 1], &s(b"$share/g"), &[0x00]])[..]);
    assert!(decode(&mut buf, MAX_PACKET_SIZE).unwrap().is_some());
}

#[test]
fn reason_codes_outside_a_packets_table_are_refused() {
    let cases: Vec<(Vec<u8>, PacketType, u8, &str)> = vec![
        (vec![0x40, 0x03, 0x00, 0x01, 0x92], PacketType::Puback, 0x92, "MQTT5-3.4.2-1"),
        (vec![0x50, 0x03, 0x00, 0x01, 0x04], PacketType::Pubrec, 0x04, "MQTT5-3.5.2-1"),
        (vec![0x62, 0x03, 0x00, 0x01, 0x10], PacketType::Pubrel, 0x10, "MQTT5-3.6.2-1"),
        (vec![0x70, 0x03, 0x00, 0x01, 0x80], PacketType::Pubcomp, 0x80, "MQTT5-3.7.2-1"),
        (vec![0xB0, 0x04, 0x00, 0x01, 0x00, 0x01], PacketType::Unsuback, 0x01, "MQTT5-3.11.3-2"),
        (vec![0xE0, 0x01, 0x10], PacketType::Disconnect, 0x10, "MQTT5-3.14.2-1"),
        (vec![0xF0, 0x01, 0x01], PacketType::Auth, 0x01, "MQTT5-3.15.2-1"),
    ];
    for (bytes, packet, code, rule) in cases {
        assert_refused(&bytes, DecodeError::InvalidReasonCode { packet, code }, ReasonCode::PROTOCOL_ERROR, Some(rule));
    }
    assert_refused(
        &[0x90, 0x04, 0x00, 0x01, 0x00, 0x03],
        DecodeError::InvalidSubackCode(0x03),
        ReasonCode::PROTOCOL_ERROR,
        Some("MQTT5-3.9.3-2"),
    );
    assert_refused(
        &[0x20, 0x03, 0x00, 0x01, 0x00],
        DecodeError::InvalidConnackCode(0x01),
        ReasonCode::PROTOCOL_ERROR,
        Some("MQTT5-3.2.2-8"),
    );
}

#[test]
fn connack_rules() {
    assert_refused(
        &[0x20, 0x03, 0x01, 0x80, 0x00],
        DecodeError::SessionPresentOnRefusal,
        ReasonCode::PROTOCOL_ERROR,
        Some("MQTT5-3.2.2-6"),
    );
    assert_refused(
        &[0x20, 0x03, 0x02, 0x00, 0x00],
        DecodeError::InvalidConnackFlags(0x02),
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-3.2.2-1"),
    );
    // A 5.0 CONNACK needs its property length.
    let want = DecodeError::Truncated { packet: PacketType::Connack, field: "property length" };
    assert_refused(&[0x20, 0x02, 0x00, 0x00], want, ReasonCode::MALFORMED_PACKET, None);
}

#[test]
fn reserved_flags_are_malformed() {
    let want = DecodeError::InvalidFlags { packet: PacketType::Auth, flags: 0x01 };
    assert_refused(&[0xF1, 0x00], want, ReasonCode::MALFORMED_PACKET, Some("MQTT5-3.15.1-1"));
    let want = DecodeError::InvalidFlags { packet: PacketType::Disconnect, flags: 0x02 };
    assert_refused(&[0xE2, 0x00], want, ReasonCode::MALFORMED_PACKET, Some("MQTT5-3.14.1-1"));
    let want = DecodeError::InvalidFlags { packet: PacketType::Pubrel, flags: 0x00 };
    assert_refused(&[0x60, 0x02, 0x00, 0x01], want, ReasonCode::MALFORMED_PACKET, Some("MQTT5-3.6.1-1"));
    assert_refused(
        &[0x36, 0x05, 0, 1, b't', 0, 0],
        DecodeError::InvalidQos,
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-3.3.1-4"),
    );
    assert_refused(
        &[0x38, 0x04, 0, 1, b't', 0],
        DecodeError::DupWithQos0,
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-3.3.1-2"),
    );
}

#[test]
fn auth_does_not_exist_in_3_1_1() {
    let mut buf = BytesMut::from(&[0xF0, 0x00][..]);
    assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Err(DecodeError::ReservedPacketType(15)));
}

#[test]
fn property_lengths_and_variable_byte_integers() {
    // A property length beyond the packet.
    let bytes = frame(0x30, &[&s(b"t"), &[0x05, 0x01]]);
    let want = DecodeError::Truncated { packet: PacketType::Publish, field: "properties" };
    assert_refused(&bytes, want, ReasonCode::MALFORMED_PACKET, None);
    // A property length of five bytes.
    let bytes = frame(0x30, &[&s(b"t"), &[0x80, 0x80, 0x80, 0x80, 0x01]]);
    assert_refused(
        &bytes,
        DecodeError::MalformedVarInt { field: "property length" },
        ReasonCode::MALFORMED_PACKET,
        None,
    );
    // A Subscription Identifier of five bytes.
    let bytes = publish_with(&[&[0x0B, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]]);
    let want = DecodeError::MalformedVarInt { field: "Subscription Identifier" };
    assert_refused(&bytes, want, ReasonCode::MALFORMED_PACKET, None);
    // A property value cut short by the property length.
    let bytes = publish_with(&[&[0x02, 0x00, 0x00]]);
    let want = DecodeError::Truncated { packet: PacketType::Publish, field: "Message Expiry Interval" };
    assert_refused(&bytes, want, ReasonCode::MALFORMED_PACKET, None);
}

#[test]
fn strings_in_properties_are_checked_utf8() {
    // A user property whose value is not UTF-8 [MQTT5-1.5.4-1] [MQTT5-1.5.7-1].
    let up = [&[0x26][..], &s(b"k"), &s(&[0xC0, 0x80])].concat();
    assert_refused(
        &publish_with(&[&up]),
        DecodeError::InvalidUtf8 { field: "User Property" },
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-1.5.4-1"),
    );
    let ct = [&[0x03][..], &s(b"a\0b")].concat();
    assert_refused(
        &publish_with(&[&ct]),
        DecodeError::NullCharacter { field: "Content Type" },
        ReasonCode::MALFORMED_PACKET,
        Some("MQTT5-1.5.4-2"),
    );
}

#[test]
fn protocol_level_and_packet_size_have_their_own_codes() {
    let bytes = frame(0x10, &[&[0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06], &[0x02], &[0, 0], &s(b"c")]);
    assert_refused(
        &bytes,
        DecodeError::UnsupportedProtocolLevel(6),
        ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
        Some("MQTT5-3.1.2-2"),
    );
    let mut buf = BytesMut::from(&[0x30, 0x7F][..]);
    let err = decode_as(Version::V5, &mut buf, 100).unwrap_err();
    assert_eq!(err, DecodeError::PacketTooLarge { size: 129, max: 100 });
    assert_eq!(err.reason_code(), ReasonCode::PACKET_TOO_LARGE);
}

#[test]
fn will_properties_are_checked_in_their_place() {
    // Topic Alias is not a will property.
    let bytes = frame(
        0x10,
        &[MQTT5, &[0x04 | 0x02], &[0, 0], &props(&[]), &s(b"c"), &props(&[&[0x23, 0, 1]]), &s(b"w"), &s(b"")],
    );
    let want = DecodeError::Property(PropertyProblem::NotAllowed { property: "Topic Alias", place: Place::Will });
    assert_refused(&bytes, want, ReasonCode::MALFORMED_PACKET, None);
}

// ---------------------------------------------------------------- encoder

#[track_caller]
fn encode_err(packet: Packet, version: Version) -> EncodeError {
    let mut out = BytesMut::new();
    let err = packet.encode_as(version, &mut out, MAX_PACKET_SIZE).expect_err("must be refused");
    assert!(out.is_empty(), "nothing is written on error");
    err
}

#[test]
fn what_3_1_1_cannot_carry_is_refused_in_3_1_1() {
    let mut publish = Publish::new("t", QoS::AtMostOnce, "", false, None);
    publish.properties.push(P::MessageExpiryInterval(1));
    assert_eq!(encode_err(Packet::Publish(publish.clone()), Version::V311), EncodeError::NotInV311("a property"));
    assert!(Packet::Publish(publish).encode_as(Version::V5, &mut BytesMut::new(), MAX_PACKET_SIZE).is_ok());

    let ack = Ack::with_reason(pid(1), ReasonCode::NO_MATCHING_SUBSCRIBERS);
    assert_eq!(encode_err(Packet::Puback(ack), Version::V311), EncodeError::NotInV311("a reason code"));
    assert_eq!(encode_err(Packet::Auth(Auth::default()), Version::V311), EncodeError::NotInV311("AUTH"));
    let d = Disconnect::with_reason(ReasonCode::DISCONNECT_WITH_WILL);
    assert_eq!(encode_err(Packet::Disconnect(d), Version::V311), EncodeError::NotInV311("a DISCONNECT reason code"));
    let mut f = SubscribeFilter::new("a", QoS::AtMostOnce);
    f.no_local = true;
    let sub = Packet::Subscribe(Subscribe::new(pid(1), vec![f]));
    assert_eq!(encode_err(sub, Version::V311), EncodeError::NotInV311("a subscription option"));
    let unsuback = Unsuback { reasons: vec![ReasonCode::SUCCESS], ..Unsuback::new(pid(1)) };
    assert_eq!(
        encode_err(Packet::Unsuback(unsuback), Version::V311),
        EncodeError::NotInV311("an UNSUBACK reason code")
    );
    let connack = Connack::refused(ReasonCode::QUOTA_EXCEEDED);
    assert_eq!(encode_err(Packet::Connack(connack), Version::V311), EncodeError::NotInV311("this CONNACK reason code"));
    // A 3.1.1 CONNECT cannot carry will properties.
    let mut will = LastWill::new("w", "", QoS::AtMostOnce, false);
    will.properties.push(P::WillDelayInterval(1));
    let connect = Connect { will: Some(will), ..Connect::new("c", true, 0) };
    assert_eq!(encode_err(Packet::Connect(connect), Version::V5), EncodeError::NotInV311("a property"));
}

#[test]
fn the_encoder_refuses_what_the_decoder_would() {
    let mut publish = Publish::new("t", QoS::AtMostOnce, "", false, None);
    publish.properties.push(P::SessionExpiryInterval(1));
    let want = EncodeError::Property(PropertyProblem::NotAllowed {
        property: "Session Expiry Interval",
        place: Place::Packet(PacketType::Publish),
    });
    assert_eq!(encode_err(Packet::Publish(publish), Version::V5), want);

    let mut publish = Publish::new("t", QoS::AtMostOnce, "", false, None);
    publish.properties.push(P::TopicAlias(0));
    assert_eq!(
        encode_err(Packet::Publish(publish), Version::V5),
        EncodeError::Property(PropertyProblem::TopicAliasZero)
    );

    let publish = Publish::new("", QoS::AtMostOnce, "", false, None);
    assert_eq!(encode_err(Packet::Publish(publish), Version::V5), EncodeError::EmptyTopicWithoutAlias);

    let ack = Ack::with_reason(pid(1), ReasonCode::SESSION_TAKEN_OVER);
    let want = EncodeError::InvalidReasonCode { packet: PacketType::Pubrel, code: 0x8E };
    assert_eq!(encode_err(Packet::Pubrel(ack), Version::V5), want);

    let mut f = SubscribeFilter::new("$share/g/a", QoS::AtMostOnce);
    f.no_local = true;
    let sub = Packet::Subscribe(Subscribe::new(pid(1), vec![f]));
    assert_eq!(encode_err(sub, Version::V5), EncodeError::NoLocalOnShared("$share/g/a".into()));

    let unsub = Packet::Unsubscribe(Unsubscribe::new(pid(1), vec!["$share/g".into()]));
    assert_eq!(encode_err(unsub, Version::V5), EncodeError::InvalidTopicFilter(TopicError::InvalidShareName));

    assert_eq!(encode_err(Packet::Unsuback(Unsuback::new(pid(1))), Version::V5), EncodeError::EmptyUnsuback);

    let connack = Connack { session_present: true, ..Connack::refused(ReasonCode::BANNED) };
    assert_eq!(encode_err(Packet::Connack(connack), Version::V5), EncodeError::SessionPresentOnRefusal);

    let mut props = Properties::new();
    props.push(P::SubscriptionIdentifier(268_435_456));
    let sub = Packet::Subscribe(Subscribe {
        properties: props,
        ..Subscribe::new(pid(1), vec![SubscribeFilter::new("a", QoS::AtMostOnce)])
    });
    assert!(matches!(encode_err(sub, Version::V5), EncodeError::Property(PropertyProblem::Value { .. })));
}

#[test]
fn shrink_to_fit_drops_the_reason_string_then_user_properties_never_a_publish_field() {
    let full = Ack {
        properties: Properties::from_iter([
            P::ReasonString("r".repeat(50)),
            P::UserProperty(("k".into(), "v".repeat(20))),
        ]),
        ..Ack::with_reason(pid(1), ReasonCode::QUOTA_EXCEEDED)
    };
    let size = |p: &Packet| p.size(Version::V5).unwrap();
    let mut p = Packet::Puback(full.clone());
    assert!(p.shrink_to_fit(Version::V5, size(&p)), "already fits: unchanged");
    assert_eq!(p, Packet::Puback(full.clone()));

    let without_reason = Packet::Puback(Ack {
        properties: Properties::from_iter([P::UserProperty(("k".into(), "v".repeat(20)))]),
        ..full.clone()
    });
    let mut p = Packet::Puback(full.clone());
    assert!(p.shrink_to_fit(Version::V5, size(&without_reason)));
    assert_eq!(p, without_reason, "[MQTT5-3.4.2-2] the reason string goes first");

    let mut p = Packet::Puback(full.clone());
    assert!(p.shrink_to_fit(Version::V5, 5));
    assert_eq!(p, Packet::Puback(Ack::with_reason(pid(1), ReasonCode::QUOTA_EXCEEDED)), "[MQTT5-3.4.2-3]");
    let mut p = Packet::Puback(full);
    assert!(!p.shrink_to_fit(Version::V5, 4), "the reason code itself is never dropped");

    let mut publish = Publish::new("t", QoS::AtMostOnce, Bytes::from(vec![0u8; 100]), false, None);
    publish.properties.push(P::UserProperty(("k".into(), "v".into())));
    let mut p = Packet::Publish(publish.clone());
    assert!(!p.shrink_to_fit(Version::V5, 50));
    assert_eq!(p, Packet::Publish(publish), "a PUBLISH is never altered: it is dropped instead [MQTT5-3.1.2-25]");
}
