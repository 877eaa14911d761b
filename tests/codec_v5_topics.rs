//! MQTT 5.0 statements on topic names and topic filters as the codec checks them (section 4.7,
//! 3.8.3, 3.10.3 and 4.8.2), observed on bytes laid out by hand from the spec (`spec_bytes`):
//! the decoder refuses what a statement forbids, with that statement as its `rule_v5`, and the
//! encoder refuses to write it. The rest of the codec's 5.0 statements are in
//! `codec_v5_conformance.rs`.

use mqtt_sim::protocol::{DecodeError, EncodeError, Packet, Publish, QoS, Subscribe, SubscribeFilter, Unsubscribe};
use mqtt_sim::topic::{self, TopicError};

mod spec_bytes;
use spec_bytes::{decode5, encode_refused, frame, pid, props, refused, s, MQTT5};

fn subscribe_bytes(filter: &[u8]) -> Vec<u8> {
    frame(0x82, &[&[0, 1], &props(&[]), &s(filter), &[0x00]])
}

fn unsubscribe_bytes(filter: &[u8]) -> Vec<u8> {
    frame(0xA2, &[&[0, 1], &props(&[]), &s(filter)])
}

/// A QoS 0 PUBLISH to the topic bytes `topic`, no properties, payload "x".
fn publish_bytes(topic: &[u8]) -> Vec<u8> {
    frame(0x30, &[&s(topic), &props(&[]), b"x"])
}

/// A CONNECT with a will (QoS 0, no will properties) to the topic bytes `topic`.
fn will_bytes(topic: &[u8]) -> Vec<u8> {
    frame(0x10, &[MQTT5, &[0x06], &[0, 0], &props(&[]), &s(b"c"), &props(&[]), &s(topic), &s(b"m")])
}

/// Not UTF-8: an overlong encoding of '/'.
const NOT_UTF8: &[u8] = &[0xC0, 0xAF];

#[test]
fn subscribe_and_unsubscribe_filters_are_utf8_and_there_is_at_least_one() {
    let err = refused(&subscribe_bytes(NOT_UTF8));
    assert_eq!(err, DecodeError::InvalidUtf8 { field: "topic filter" }, "[MQTT5-3.8.3-1]");
    let err = refused(&unsubscribe_bytes(NOT_UTF8));
    assert_eq!(err, DecodeError::InvalidUtf8 { field: "topic filter" }, "[MQTT5-3.10.3-1]");
    let err = refused(&frame(0x82, &[&[0, 1], &props(&[])]));
    assert_eq!((err.clone(), err.rule_v5()), (DecodeError::EmptySubscribe, Some("MQTT5-3.8.3-2")), "[MQTT5-3.8.3-2]");
    let err = refused(&frame(0xA2, &[&[0, 1], &props(&[])]));
    assert_eq!(
        (err.clone(), err.rule_v5()),
        (DecodeError::EmptyUnsubscribe, Some("MQTT5-3.10.3-2")),
        "[MQTT5-3.10.3-2]"
    );
    assert_eq!(
        encode_refused(Packet::Subscribe(Subscribe::new(pid(1), vec![]))),
        EncodeError::EmptySubscribe,
        "[MQTT5-3.8.3-2]"
    );
    assert_eq!(
        encode_refused(Packet::Unsubscribe(Unsubscribe::new(pid(1), vec![]))),
        EncodeError::EmptyUnsubscribe,
        "[MQTT5-3.10.3-2]"
    );
}

#[test]
fn wildcards_stand_alone_in_their_level_and_hash_comes_last() {
    for good in ["#", "a/#", "+", "+/+", "a/+/b", "/+", "+/#"] {
        assert!(decode5(&subscribe_bytes(good.as_bytes())).is_ok(), "{good}");
        assert!(decode5(&unsubscribe_bytes(good.as_bytes())).is_ok(), "{good}");
    }
    for bad in ["a#", "#/a", "a/#/b", "a/b#", "##"] {
        for bytes in [subscribe_bytes(bad.as_bytes()), unsubscribe_bytes(bad.as_bytes())] {
            let err = refused(&bytes);
            assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::MultiLevelNotLast), "[MQTT5-4.7.1-1] {bad}");
            assert_eq!(err.rule_v5(), Some("MQTT5-4.7.1-1"), "[MQTT5-4.7.1-1] {bad}");
        }
        let sub = Subscribe::new(pid(1), vec![SubscribeFilter::new(bad, QoS::AtMostOnce)]);
        assert!(
            matches!(encode_refused(Packet::Subscribe(sub)), EncodeError::InvalidTopicFilter(_)),
            "[MQTT5-4.7.1-1] {bad}"
        );
    }
    for bad in ["a+", "+a", "a/b+/c", "++"] {
        for bytes in [subscribe_bytes(bad.as_bytes()), unsubscribe_bytes(bad.as_bytes())] {
            let err = refused(&bytes);
            assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::SingleLevelNotAlone), "[MQTT5-4.7.1-2] {bad}");
            assert_eq!(err.rule_v5(), Some("MQTT5-4.7.1-2"), "[MQTT5-4.7.1-2] {bad}");
        }
        let unsub = Unsubscribe::new(pid(1), vec![bad.into()]);
        assert!(
            matches!(encode_refused(Packet::Unsubscribe(unsub)), EncodeError::InvalidTopicFilter(_)),
            "[MQTT5-4.7.1-2] {bad}"
        );
    }
}

#[test]
fn topic_names_and_filters_are_1_to_65535_bytes_without_u_0000() {
    for bytes in [subscribe_bytes(b""), unsubscribe_bytes(b"")] {
        let err = refused(&bytes);
        assert_eq!(err, DecodeError::InvalidTopicFilter(TopicError::Empty), "[MQTT5-4.7.3-1] an empty filter");
        assert_eq!(err.rule_v5(), Some("MQTT5-4.7.3-1"), "[MQTT5-4.7.3-1]");
    }
    let err = refused(&will_bytes(b""));
    assert_eq!(err, DecodeError::InvalidTopicName(TopicError::Empty), "[MQTT5-4.7.3-1] an empty will topic");
    // An empty PUBLISH topic is only the short form of a Topic Alias (section 3.3.2.3.4).
    assert_eq!(refused(&publish_bytes(b"")), DecodeError::EmptyTopicWithoutAlias, "[MQTT5-4.7.3-1]");

    for bytes in [publish_bytes(b"a\0"), subscribe_bytes(b"a\0"), unsubscribe_bytes(b"\0")] {
        let err = refused(&bytes);
        assert!(matches!(err, DecodeError::NullCharacter { .. }), "[MQTT5-4.7.3-2] {err}");
        assert_eq!(err.rule_v5(), Some("MQTT5-1.5.4-2"), "[MQTT5-4.7.3-2]");
    }
    let p = Publish::new("a\0", QoS::AtMostOnce, "", false, None);
    let err = encode_refused(Packet::Publish(p));
    assert_eq!(err, EncodeError::InvalidTopicName(TopicError::NullCharacter), "[MQTT5-4.7.3-2]");
    assert_eq!(TopicError::NullCharacter.rule_v5(), "MQTT5-4.7.3-2");

    let longest = "a".repeat(65_535);
    assert_eq!(topic::validate_name(&longest), Ok(()), "[MQTT5-4.7.3-3] 65,535 bytes is a topic");
    let too_long = "a".repeat(65_536);
    assert_eq!(topic::validate_name(&too_long), Err(TopicError::TooLong(65_536)), "[MQTT5-4.7.3-3]");
    assert_eq!(topic::validate_filter(&too_long), Err(TopicError::TooLong(65_536)), "[MQTT5-4.7.3-3]");
    let p = Publish::new(too_long.clone(), QoS::AtMostOnce, "", false, None);
    assert_eq!(
        encode_refused(Packet::Publish(p)),
        EncodeError::InvalidTopicName(TopicError::TooLong(65_536)),
        "[MQTT5-4.7.3-3]"
    );
    let sub = Subscribe::new(pid(1), vec![SubscribeFilter::new(too_long, QoS::AtMostOnce)]);
    assert_eq!(
        encode_refused(Packet::Subscribe(sub)),
        EncodeError::InvalidTopicFilter(TopicError::TooLong(65_536)),
        "[MQTT5-4.7.3-3]"
    );
    assert_eq!(TopicError::TooLong(65_536).rule_v5(), "MQTT5-4.7.3-3");
}

#[test]
fn a_shared_filter_starts_with_share_and_a_share_name_of_one_character_or_more() {
    assert!(decode5(&subscribe_bytes(b"$share/g/a")).is_ok(), "[MQTT5-4.8.2-1]");
    assert!(decode5(&unsubscribe_bytes(b"$share/g/#")).is_ok(), "[MQTT5-4.8.2-1]");
    for bytes in [subscribe_bytes(b"$share//a"), unsubscribe_bytes(b"$share//a")] {
        let err = refused(&bytes);
        assert_eq!(
            err,
            DecodeError::InvalidTopicFilter(TopicError::InvalidShareName),
            "[MQTT5-4.8.2-1] an empty share name"
        );
    }
    let sub = Subscribe::new(pid(1), vec![SubscribeFilter::new("$share//a", QoS::AtMostOnce)]);
    assert_eq!(
        encode_refused(Packet::Subscribe(sub)),
        EncodeError::InvalidTopicFilter(TopicError::InvalidShareName),
        "[MQTT5-4.8.2-1] not written either"
    );
    assert_eq!(
        topic::shared("$share/g/a"),
        Ok(Some(topic::SharedFilter { group: "g", filter: "a" })),
        "[MQTT5-4.8.2-1]"
    );
}
