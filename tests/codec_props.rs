//! Property tests of the codec and of topic matching. Each property runs at least 1,000 cases
//! (more if PROPTEST_CASES asks for more). Failures are not persisted to files: proptest prints the
//! minimal failing input, which belongs in `codec_vectors.rs` or `codec_rules.rs` as a named test.

use bytes::{Bytes, BytesMut};
use mqtt_sim::protocol::{
    decode, Connack, Connect, ConnectReturnCode, DecodeError, LastWill, Packet, PacketId, Protocol, Publish, QoS,
    Suback, SubackCode, Subscribe, SubscribeFilter, Unsubscribe, MAX_PACKET_SIZE, MAX_REMAINING_LENGTH,
};
use mqtt_sim::topic;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(0u32).max(1000);
    Config { cases, failure_persistence: None, ..Config::default() }
}

// ---------------------------------------------------------------- strategies

fn arb_qos() -> impl Strategy<Value = QoS> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)]
}

fn arb_pkid() -> impl Strategy<Value = PacketId> {
    prop_oneof![Just(1u16), Just(u16::MAX), 1..=u16::MAX].prop_map(|raw| PacketId::new(raw).unwrap())
}

/// Any string without U+0000, ASCII-heavy but with arbitrary Unicode mixed in.
fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-zA-Z0-9 _/-]{0,16}", 1 => "[^\\x00]{0,12}"]
}

/// One level of a topic name: no separator, no wildcard, no U+0000; may be empty.
fn arb_level() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z0-9]{0,6}", 1 => "[^\\x00/+#]{0,5}", 1 => Just("$SYS".to_string())]
}

/// A valid topic name: one to six levels, not empty overall.
fn arb_topic_name() -> impl Strategy<Value = String> {
    vec(arb_level(), 1..6).prop_map(|levels| levels.join("/")).prop_filter("non-empty", |t| !t.is_empty())
}

/// A valid topic filter: levels that are literal or `+`, optionally ending in `#`.
fn arb_topic_filter() -> impl Strategy<Value = String> {
    let level = prop_oneof![3 => arb_level(), 1 => Just("+".to_string())];
    (vec(level, 0..5), any::<bool>())
        .prop_map(|(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#".to_string());
            }
            levels.join("/")
        })
        .prop_filter("non-empty", |f| !f.is_empty())
}

fn arb_payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![4 => vec(any::<u8>(), 0..64), 1 => vec(any::<u8>(), 0..4096)].prop_map(Bytes::from)
}

fn arb_publish() -> impl Strategy<Value = Publish> {
    (arb_qos(), any::<bool>(), any::<bool>(), arb_topic_name(), arb_pkid(), arb_payload()).prop_map(
        |(qos, dup, retain, topic, pkid, payload)| {
            let at_least_once = qos != QoS::AtMostOnce;
            Publish {
                dup: dup && at_least_once, // [MQTT-3.3.1-2]
                qos,
                retain,
                topic,
                pkid: at_least_once.then_some(pkid), // [MQTT-2.3.1-1] [MQTT-2.3.1-5]
                payload,
            }
        },
    )
}

fn arb_connect() -> impl Strategy<Value = Connect> {
    let will = (arb_topic_name(), arb_payload(), arb_qos(), any::<bool>())
        .prop_map(|(topic, message, qos, retain)| LastWill { topic, message, qos, retain });
    let credentials = prop_oneof![
        Just((None, None)),
        arb_string().prop_map(|u| (Some(u), None)),
        (arb_string(), vec(any::<u8>(), 0..32)).prop_map(|(u, p)| (Some(u), Some(Bytes::from(p)))),
    ];
    (
        prop_oneof![Just(Protocol::V311), Just(Protocol::V31)],
        any::<bool>(),
        any::<u16>(),
        arb_string(),
        proptest::option::of(will),
        credentials,
    )
        .prop_map(|(protocol, clean_session, keep_alive, client_id, will, (username, password))| Connect {
            protocol,
            clean_session,
            keep_alive,
            client_id,
            will,
            username,
            password,
        })
}

fn arb_connack() -> impl Strategy<Value = Connack> {
    use ConnectReturnCode::*;
    let code = prop_oneof![
        Just(Accepted),
        Just(UnacceptableProtocolVersion),
        Just(IdentifierRejected),
        Just(ServerUnavailable),
        Just(BadUserNameOrPassword),
        Just(NotAuthorized),
    ];
    (code, any::<bool>()).prop_map(|(code, sp)| Connack { session_present: sp && code == Accepted, code })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let suback_code = prop_oneof![arb_qos().prop_map(SubackCode::Granted), Just(SubackCode::Failure)];
    prop_oneof![
        1 => arb_connect().prop_map(Packet::Connect),
        1 => arb_connack().prop_map(Packet::Connack),
        4 => arb_publish().prop_map(Packet::Publish),
        1 => arb_pkid().prop_map(Packet::Puback),
        1 => arb_pkid().prop_map(Packet::Pubrec),
        1 => arb_pkid().prop_map(Packet::Pubrel),
        1 => arb_pkid().prop_map(Packet::Pubcomp),
        1 => (arb_pkid(), vec((arb_topic_filter(), arb_qos()), 1..6)).prop_map(|(pkid, fs)| {
            Packet::Subscribe(Subscribe {
                pkid,
                filters: fs.into_iter().map(|(filter, qos)| SubscribeFilter { filter, qos }).collect(),
            })
        }),
        1 => (arb_pkid(), vec(suback_code, 1..8)).prop_map(|(pkid, codes)| Packet::Suback(Suback { pkid, codes })),
        1 => (arb_pkid(), vec(arb_topic_filter(), 1..6))
            .prop_map(|(pkid, filters)| Packet::Unsubscribe(Unsubscribe { pkid, filters })),
        1 => arb_pkid().prop_map(Packet::Unsuback),
        1 => Just(Packet::Pingreq),
        1 => Just(Packet::Pingresp),
        1 => Just(Packet::Disconnect),
    ]
}

fn encode(packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    let n = packet.encode(&mut out, MAX_PACKET_SIZE).unwrap_or_else(|e| panic!("{packet:?} refused: {e}"));
    assert_eq!(n, out.len());
    out.to_vec()
}

/// The remaining-length varint, written independently of the codec (spec 2.2.3).
fn varint(mut len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        v.push(b);
        if len == 0 {
            return v;
        }
    }
}

/// A first byte with a valid type and the flags the spec requires (any flags for PUBLISH).
fn arb_valid_byte1() -> impl Strategy<Value = u8> {
    (1u8..=14, 0u8..16).prop_map(|(t, publish_flags)| match t {
        3 => 0x30 | publish_flags,
        6 | 8 | 10 => (t << 4) | 0b0010,
        _ => t << 4,
    })
}

/// Decodes until the buffer needs more bytes or holds garbage; checks each packet on the way.
fn drain(buf: &mut BytesMut, max: usize) -> Result<Vec<Packet>, DecodeError> {
    let mut packets = Vec::new();
    loop {
        let before = buf.len();
        match decode(buf, max) {
            Ok(Some(p)) => {
                let consumed = before - buf.len();
                assert!(consumed <= max, "consumed {consumed} > max {max}");
                // Whatever the decoder accepts the encoder accepts, at no more bytes than were read
                // (less only when the sender used a non-minimal remaining length).
                let mut out = BytesMut::new();
                let size = p.encode(&mut out, max).unwrap_or_else(|e| panic!("decoded {p:?} but encode says {e}"));
                assert!(size <= consumed, "re-encoded {size} bytes from {consumed}");
                let mut again = out.clone();
                assert_eq!(decode(&mut again, max), Ok(Some(p.clone())));
                packets.push(p);
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "Ok(None) consumed bytes");
                return Ok(packets);
            }
            Err(e) => return Err(e),
        }
    }
}

// ---------------------------------------------------------------- (a) round trip

proptest! {
    #![proptest_config(config())]

    /// Every valid packet survives encode then decode, and decode consumes exactly its bytes.
    #[test]
    fn encode_then_decode_is_identity(packet in arb_packet(), trailing in vec(any::<u8>(), 0..8)) {
        let bytes = encode(&packet);
        let mut buf = BytesMut::from(&bytes[..]);
        buf.extend_from_slice(&trailing);
        prop_assert_eq!(decode(&mut buf, bytes.len()), Ok(Some(packet.clone())));
        prop_assert_eq!(&buf[..], &trailing[..]);
        // One byte short of the whole packet is never a packet.
        let mut short = BytesMut::from(&bytes[..bytes.len() - 1]);
        prop_assert_eq!(decode(&mut short, MAX_PACKET_SIZE), Ok(None));
        prop_assert_eq!(short.len(), bytes.len() - 1);
    }

    /// The encoder's size check and the decoder's agree on the exact packet size.
    #[test]
    fn max_packet_size_is_inclusive_both_ways(packet in arb_packet()) {
        let bytes = encode(&packet);
        let n = bytes.len();
        let mut out = BytesMut::new();
        prop_assert_eq!(packet.encode(&mut out, n), Ok(n));
        prop_assert_eq!(
            packet.encode(&mut BytesMut::new(), n - 1),
            Err(mqtt_sim::protocol::EncodeError::ExceedsMaximum { size: n, max: n - 1 })
        );
        let mut buf = BytesMut::from(&bytes[..]);
        prop_assert_eq!(decode(&mut buf, n - 1), Err(DecodeError::PacketTooLarge { size: n, max: n - 1 }));
    }
}

// ---------------------------------------------------------------- (b) hostile input

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes never panic, and nothing decoded is larger than the maximum.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512), max in prop_oneof![2usize..600, Just(MAX_PACKET_SIZE)]) {
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = drain(&mut buf, max);
    }

    /// A valid fixed header followed by an arbitrary body: the packet parsers see every shape.
    #[test]
    fn valid_header_arbitrary_body_never_panics(
        byte1 in arb_valid_byte1(),
        body in vec(any::<u8>(), 0..300),
        extra in vec(any::<u8>(), 0..16),
        max in prop_oneof![2usize..400, Just(MAX_PACKET_SIZE)],
    ) {
        let mut bytes = vec![byte1];
        bytes.extend(varint(body.len()));
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&extra);
        let size = 1 + varint(body.len()).len() + body.len();
        let first = decode(&mut BytesMut::from(&bytes[..]), max);
        if size > max {
            prop_assert_eq!(first, Err(DecodeError::PacketTooLarge { size, max }));
        } else {
            // The whole frame is there, so the answer is a packet or an error, never "need more".
            prop_assert_ne!(first, Ok(None));
        }
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = drain(&mut buf, max);
    }

    /// Mutations of valid packets (one byte changed, or cut short) never panic.
    #[test]
    fn mutated_packets_never_panic(packet in arb_packet(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = encode(&packet);
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = drain(&mut buf, MAX_PACKET_SIZE);
    }

    /// A header announcing more than the maximum is refused with no body at all, and one within
    /// the maximum waits for its body without consuming anything.
    #[test]
    fn oversized_header_is_refused_without_body(
        byte1 in arb_valid_byte1(),
        remaining in prop_oneof![0usize..300, 0..=MAX_REMAINING_LENGTH],
        max in prop_oneof![2usize..400, 0..=MAX_PACKET_SIZE],
    ) {
        let mut header = vec![byte1];
        header.extend(varint(remaining));
        let size = header.len() + remaining;
        let mut buf = BytesMut::from(&header[..]);
        let got = decode(&mut buf, max);
        if size > max {
            prop_assert_eq!(got, Err(DecodeError::PacketTooLarge { size, max }));
        } else if remaining > 0 {
            prop_assert_eq!(got, Ok(None));
            prop_assert_eq!(buf.len(), header.len());
        }
    }
}

// ---------------------------------------------------------------- (c) chunked stream

proptest! {
    #![proptest_config(config())]

    /// A stream of packets fed in arbitrary chunks decodes to the same packets as the whole stream.
    #[test]
    fn chunked_stream_decodes_like_whole(packets in vec(arb_packet(), 1..8), cuts in vec(1usize..200, 0..64)) {
        let stream: Vec<u8> = packets.iter().flat_map(encode).collect();

        let mut whole = BytesMut::from(&stream[..]);
        let from_whole = drain(&mut whole, MAX_PACKET_SIZE).expect("valid stream");
        prop_assert!(whole.is_empty());
        prop_assert_eq!(&from_whole, &packets);

        let mut buf = BytesMut::new();
        let mut from_chunks = Vec::new();
        let mut rest = &stream[..];
        let mut sizes = cuts.into_iter().chain(std::iter::repeat(usize::MAX));
        while !rest.is_empty() {
            let n = sizes.next().unwrap().min(rest.len());
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            from_chunks.extend(drain(&mut buf, MAX_PACKET_SIZE).expect("valid stream"));
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(from_chunks, packets);
    }
}

// ---------------------------------------------------------------- (d) topic matching

proptest! {
    #![proptest_config(config())]

    /// Every valid name is a valid filter that matches exactly that name.
    #[test]
    fn a_name_matches_itself(name in arb_topic_name(), other in arb_topic_name()) {
        prop_assert_eq!(topic::validate_name(&name), Ok(()));
        prop_assert_eq!(topic::validate_filter(&name), Ok(()));
        prop_assert!(topic::matches(&name, &name));
        prop_assert_eq!(topic::matches(&name, &other), name == other, "[MQTT-4.7.3-4] no normalisation");
    }

    /// `#` matches every name that does not start with `$`, and none that does.
    #[test]
    fn hash_matches_every_non_dollar_name(name in arb_topic_name()) {
        prop_assert_eq!(topic::matches("#", &name), !name.starts_with('$'), "[MQTT-4.7.2-1]");
        // A `#` after a name's first level also matches it and everything below it [4.7.1.2].
        let first = name.split('/').next().unwrap();
        let filter = format!("{first}/#");
        prop_assert!(topic::matches(&filter, &name));
        let below = format!("{name}/#");
        prop_assert!(topic::matches(&below, &name));
    }

    /// `+` matches exactly one level: swapping any level of a name for `+` still matches it, and a
    /// filter of k `+` levels matches a non-$ name exactly when the name has k levels [4.7.1.3].
    #[test]
    fn plus_matches_exactly_one_level(name in arb_topic_name(), at in any::<prop::sample::Index>(), k in 1usize..8, extra in arb_level()) {
        let levels: Vec<&str> = name.split('/').collect();
        let i = at.index(levels.len());
        let mut filter_levels = levels.clone();
        filter_levels[i] = "+";
        let filter = filter_levels.join("/");
        prop_assert_eq!(topic::validate_filter(&filter), Ok(()));
        let dollar_blocked = i == 0 && name.starts_with('$');
        prop_assert_eq!(topic::matches(&filter, &name), !dollar_blocked);
        // One level more or less in the name and the same filter no longer matches.
        let longer = format!("{name}/{extra}");
        prop_assert!(!topic::matches(&filter, &longer));
        if levels.len() > 1 {
            let shorter = levels[..levels.len() - 1].join("/");
            prop_assert!(!topic::matches(&filter, &shorter));
        }
        let pluses = vec!["+"; k].join("/");
        prop_assert_eq!(topic::matches(&pluses, &name), levels.len() == k && !name.starts_with('$'));
    }
}
