//! Property tests of the codec and of topic matching. Each property runs at least 1,000 cases
//! (more if PROPTEST_CASES asks for more), once for MQTT 3.1.1 and once for 5.0 (the `_v5` twins,
//! whose packets carry properties, reason codes, subscription options, shared filters and AUTH).
//! Failures are not persisted to files: proptest prints the minimal failing input, which belongs
//! in `codec_vectors.rs`, `codec_rules.rs` or their `codec_v5_` siblings as a named test.

use bytes::{Bytes, BytesMut};
use mqtt_sim::protocol::properties::MAX_SUBSCRIPTION_IDENTIFIER;
use mqtt_sim::protocol::{
    decode_as, Ack, Auth, Connack, Connect, ConnectReturnCode, DecodeError, Disconnect, LastWill, Packet, PacketId,
    PacketType, Properties, Property, Protocol, Publish, QoS, ReasonCode, RetainHandling, Suback, SubackCode,
    Subscribe, SubscribeFilter, Unsuback, Unsubscribe, Version, MAX_PACKET_SIZE, MAX_REMAINING_LENGTH,
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
                properties: Default::default(),
            }
        },
    )
}

fn arb_connect() -> impl Strategy<Value = Connect> {
    let will = (arb_topic_name(), arb_payload(), arb_qos(), any::<bool>()).prop_map(|(topic, message, qos, retain)| {
        LastWill { topic, message, qos, retain, properties: Default::default() }
    });
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
            properties: Default::default(),
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
    (code, any::<bool>()).prop_map(|(code, sp)| Connack {
        session_present: sp && code == Accepted,
        code: code.into(),
        properties: Default::default(),
    })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let suback_code = prop_oneof![arb_qos().prop_map(SubackCode::Granted), Just(SubackCode::Failure)];
    prop_oneof![
        1 => arb_connect().prop_map(Packet::Connect),
        1 => arb_connack().prop_map(Packet::Connack),
        4 => arb_publish().prop_map(Packet::Publish),
        1 => arb_pkid().prop_map(Packet::puback),
        1 => arb_pkid().prop_map(Packet::pubrec),
        1 => arb_pkid().prop_map(Packet::pubrel),
        1 => arb_pkid().prop_map(Packet::pubcomp),
        1 => (arb_pkid(), vec((arb_topic_filter(), arb_qos()), 1..6)).prop_map(|(pkid, fs)| {
            Packet::Subscribe(Subscribe {
                pkid,
                filters: fs.into_iter().map(|(filter, qos)| SubscribeFilter::new(filter, qos)).collect(), properties: Default::default(),})
        }),
        1 => (arb_pkid(), vec(suback_code, 1..8)).prop_map(|(pkid, codes)| Packet::Suback(Suback { pkid, codes, properties: Default::default() })),
        1 => (arb_pkid(), vec(arb_topic_filter(), 1..6))
            .prop_map(|(pkid, filters)| Packet::Unsubscribe(Unsubscribe::new(pkid, filters))),
        1 => arb_pkid().prop_map(Packet::unsuback),
        1 => Just(Packet::Pingreq),
        1 => Just(Packet::Pingresp),
        1 => Just(Packet::disconnect()),
    ]
}

fn encode(packet: &Packet) -> Vec<u8> {
    encode_in(Version::V311, packet)
}

fn encode_in(v: Version, packet: &Packet) -> Vec<u8> {
    let mut out = BytesMut::new();
    let n = packet.encode_as(v, &mut out, MAX_PACKET_SIZE).unwrap_or_else(|e| panic!("{packet:?} refused: {e}"));
    assert_eq!(n, out.len());
    out.to_vec()
}

fn decode(buf: &mut BytesMut, max: usize) -> Result<Option<Packet>, DecodeError> {
    decode_as(Version::V311, buf, max)
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
    arb_valid_byte1_upto(14)
}

/// The same, up to packet type `last` (15, AUTH, in 5.0).
fn arb_valid_byte1_upto(last: u8) -> impl Strategy<Value = u8> {
    (1u8..=last, 0u8..16).prop_map(|(t, publish_flags)| match t {
        3 => 0x30 | publish_flags,
        6 | 8 | 10 => (t << 4) | 0b0010,
        _ => t << 4,
    })
}

/// Decodes until the buffer needs more bytes or holds garbage; checks each packet on the way.
fn drain(buf: &mut BytesMut, max: usize) -> Result<Vec<Packet>, DecodeError> {
    drain_in(Version::V311, buf, max)
}

fn drain_in(v: Version, buf: &mut BytesMut, max: usize) -> Result<Vec<Packet>, DecodeError> {
    let mut packets = Vec::new();
    loop {
        let before = buf.len();
        match decode_as(v, buf, max) {
            Ok(Some(p)) => {
                let consumed = before - buf.len();
                assert!(consumed <= max, "consumed {consumed} > max {max}");
                // Whatever the decoder accepts the encoder accepts, at no more bytes than were read
                // (less only when the sender used a non-minimal remaining length or, in 5.0, a
                // longer acknowledgement form than needed).
                let mut out = BytesMut::new();
                let size =
                    p.encode_as(v, &mut out, max).unwrap_or_else(|e| panic!("decoded {p:?} but encode says {e}"));
                assert!(size <= consumed, "re-encoded {size} bytes from {consumed}");
                let mut again = out.clone();
                assert_eq!(decode_as(v, &mut again, max), Ok(Some(p.clone())));
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

/// Feeds `stream` to the decoder in chunks of the sizes in `cuts` (then the rest at once) and
/// returns every packet decoded; the buffer must end empty.
fn decode_in_chunks(v: Version, stream: &[u8], cuts: Vec<usize>) -> Vec<Packet> {
    let mut buf = BytesMut::new();
    let mut from_chunks = Vec::new();
    let mut rest = stream;
    let mut sizes = cuts.into_iter().chain(std::iter::repeat(usize::MAX));
    while !rest.is_empty() {
        let n = sizes.next().unwrap().min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        from_chunks.extend(drain_in(v, &mut buf, MAX_PACKET_SIZE).expect("valid stream"));
    }
    assert!(buf.is_empty(), "{} bytes left undecoded", buf.len());
    from_chunks
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

        prop_assert_eq!(decode_in_chunks(Version::V311, &stream, cuts), packets);
    }
}

// ---------------------------------------------------------------- MQTT 5.0 strategies

fn arb_bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn arb_flag() -> impl Strategy<Value = u8> {
    0u8..=1
}

/// One property that may appear in `place`, with a value in its range.
fn arb_property(place: PacketType, will: bool) -> BoxedStrategy<Property> {
    use Property as P;
    let user = (arb_string(), arb_string()).prop_map(P::UserProperty).boxed();
    let reason_string = arb_string().prop_map(P::ReasonString).boxed();
    let message = vec![
        arb_flag().prop_map(P::PayloadFormatIndicator).boxed(),
        any::<u32>().prop_map(P::MessageExpiryInterval).boxed(),
        arb_string().prop_map(P::ContentType).boxed(),
        arb_topic_name().prop_map(P::ResponseTopic).boxed(),
        arb_bytes().prop_map(P::CorrelationData).boxed(),
        user.clone(),
    ];
    let options: Vec<BoxedStrategy<Property>> = if will {
        let mut v = message;
        v.push(any::<u32>().prop_map(P::WillDelayInterval).boxed());
        v
    } else {
        match place {
            PacketType::Publish => {
                let mut v = message;
                v.push((1..=MAX_SUBSCRIPTION_IDENTIFIER).prop_map(P::SubscriptionIdentifier).boxed());
                v.push((1..=u16::MAX).prop_map(P::TopicAlias).boxed());
                v
            }
            PacketType::Connect => vec![
                any::<u32>().prop_map(P::SessionExpiryInterval).boxed(),
                arb_string().prop_map(P::AuthenticationMethod).boxed(),
                arb_bytes().prop_map(P::AuthenticationData).boxed(),
                arb_flag().prop_map(P::RequestProblemInformation).boxed(),
                arb_flag().prop_map(P::RequestResponseInformation).boxed(),
                (1..=u16::MAX).prop_map(P::ReceiveMaximum).boxed(),
                any::<u16>().prop_map(P::TopicAliasMaximum).boxed(),
                (1..=u32::MAX).prop_map(P::MaximumPacketSize).boxed(),
                user,
            ],
            PacketType::Connack => vec![
                any::<u32>().prop_map(P::SessionExpiryInterval).boxed(),
                arb_string().prop_map(P::AssignedClientIdentifier).boxed(),
                any::<u16>().prop_map(P::ServerKeepAlive).boxed(),
                arb_string().prop_map(P::AuthenticationMethod).boxed(),
                arb_bytes().prop_map(P::AuthenticationData).boxed(),
                arb_string().prop_map(P::ResponseInformation).boxed(),
                arb_string().prop_map(P::ServerReference).boxed(),
                reason_string,
                (1..=u16::MAX).prop_map(P::ReceiveMaximum).boxed(),
                any::<u16>().prop_map(P::TopicAliasMaximum).boxed(),
                arb_flag().prop_map(P::MaximumQos).boxed(),
                arb_flag().prop_map(P::RetainAvailable).boxed(),
                (1..=u32::MAX).prop_map(P::MaximumPacketSize).boxed(),
                arb_flag().prop_map(P::WildcardSubscriptionAvailable).boxed(),
                arb_flag().prop_map(P::SubscriptionIdentifierAvailable).boxed(),
                arb_flag().prop_map(P::SharedSubscriptionAvailable).boxed(),
                user,
            ],
            PacketType::Subscribe => {
                vec![(1..=MAX_SUBSCRIPTION_IDENTIFIER).prop_map(P::SubscriptionIdentifier).boxed(), user]
            }
            PacketType::Unsubscribe => vec![user],
            PacketType::Disconnect => vec![
                any::<u32>().prop_map(P::SessionExpiryInterval).boxed(),
                arb_string().prop_map(P::ServerReference).boxed(),
                reason_string,
                user,
            ],
            PacketType::Auth => vec![
                arb_string().prop_map(P::AuthenticationMethod).boxed(),
                arb_bytes().prop_map(P::AuthenticationData).boxed(),
                reason_string,
                user,
            ],
            // The acknowledgements, SUBACK and UNSUBACK.
            _ => vec![reason_string, user],
        }
    };
    proptest::strategy::Union::new(options).boxed()
}

/// A property list for `place`: up to six properties, each at most once except those the spec
/// lets repeat (User Property; Subscription Identifier in a PUBLISH).
fn arb_properties(place: PacketType, will: bool) -> BoxedStrategy<Properties> {
    vec(arb_property(place, will), 0..6)
        .prop_map(move |list| {
            let mut seen = Vec::new();
            list.into_iter()
                .filter(|p| {
                    let repeats = p.id() == 0x26 || (p.id() == 0x0B && place == PacketType::Publish && !will);
                    let first = !seen.contains(&p.id());
                    seen.push(p.id());
                    repeats || first
                })
                .collect()
        })
        .boxed()
}

fn arb_reason(packet: PacketType) -> BoxedStrategy<ReasonCode> {
    let codes: Vec<u8> = (0..=255u8).filter(|&c| ReasonCode(c).allowed_in(packet)).collect();
    proptest::sample::select(codes).prop_map(ReasonCode).boxed()
}

fn arb_publish_v5() -> impl Strategy<Value = Publish> {
    (arb_publish(), arb_properties(PacketType::Publish, false), any::<bool>()).prop_map(|(mut p, props, aliased)| {
        // With a Topic Alias the topic may be left empty (section 3.3.2.3.4).
        if aliased && props.topic_alias().is_some() {
            p.topic.clear();
        }
        p.properties = props;
        p
    })
}

fn arb_connect_v5() -> impl Strategy<Value = Connect> {
    (
        arb_connect(),
        arb_properties(PacketType::Connect, false),
        arb_properties(PacketType::Connect, true),
        proptest::option::of(vec(any::<u8>(), 0..8)),
    )
        .prop_map(|(mut c, props, will_props, password)| {
            c.protocol = Protocol::V5;
            c.properties = props;
            if let Some(w) = c.will.as_mut() {
                w.properties = will_props;
            }
            // 5.0 allows a password without a user name.
            if c.username.is_none() {
                c.password = password.map(Bytes::from);
            }
            c
        })
}

fn arb_connack_v5() -> impl Strategy<Value = Connack> {
    (arb_reason(PacketType::Connack), any::<bool>(), arb_properties(PacketType::Connack, false)).prop_map(
        |(code, sp, properties)| Connack {
            session_present: sp && code == ReasonCode::SUCCESS,
            code: code.into(),
            properties,
        },
    )
}

fn arb_ack_v5(packet: PacketType) -> impl Strategy<Value = Ack> {
    (arb_pkid(), arb_reason(packet), arb_properties(packet, false)).prop_map(|(id, reason, properties)| Ack {
        id,
        reason,
        properties,
    })
}

fn arb_subscribe_filter_v5() -> impl Strategy<Value = SubscribeFilter> {
    let retain_handling = prop_oneof![
        Just(RetainHandling::OnSubscribe),
        Just(RetainHandling::OnNewSubscription),
        Just(RetainHandling::Never)
    ];
    (arb_topic_filter(), arb_qos(), any::<bool>(), any::<bool>(), retain_handling, proptest::option::of("[a-z]{1,4}"))
        .prop_map(|(filter, qos, no_local, rap, rh, share)| {
            let mut f = SubscribeFilter::new(filter, qos);
            f.retain_as_published = rap;
            f.retain_handling = rh;
            match share {
                // No Local is not allowed on a shared subscription [MQTT5-3.8.3-4].
                Some(group) => f.filter = format!("$share/{group}/{}", f.filter),
                None => f.no_local = no_local,
            }
            f
        })
}

fn arb_packet_v5() -> impl Strategy<Value = Packet> {
    let suback_code = prop_oneof![
        arb_qos().prop_map(SubackCode::Granted),
        Just(SubackCode::Failure),
        proptest::sample::select(vec![0x83u8, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2])
            .prop_map(|c| SubackCode::Refused(ReasonCode(c))),
    ];
    prop_oneof![
        1 => arb_connect_v5().prop_map(Packet::Connect),
        1 => arb_connack_v5().prop_map(Packet::Connack),
        4 => arb_publish_v5().prop_map(Packet::Publish),
        1 => arb_ack_v5(PacketType::Puback).prop_map(Packet::Puback),
        1 => arb_ack_v5(PacketType::Pubrec).prop_map(Packet::Pubrec),
        1 => arb_ack_v5(PacketType::Pubrel).prop_map(Packet::Pubrel),
        1 => arb_ack_v5(PacketType::Pubcomp).prop_map(Packet::Pubcomp),
        1 => (arb_pkid(), vec(arb_subscribe_filter_v5(), 1..6), arb_properties(PacketType::Subscribe, false))
            .prop_map(|(pkid, filters, properties)| Packet::Subscribe(Subscribe { pkid, filters, properties })),
        1 => (arb_pkid(), vec(suback_code, 1..8), arb_properties(PacketType::Suback, false))
            .prop_map(|(pkid, codes, properties)| Packet::Suback(Suback { pkid, codes, properties })),
        1 => (arb_pkid(), vec(arb_topic_filter(), 1..6), arb_properties(PacketType::Unsubscribe, false))
            .prop_map(|(pkid, filters, properties)| Packet::Unsubscribe(Unsubscribe { pkid, filters, properties })),
        1 => (arb_pkid(), vec(arb_reason(PacketType::Unsuback), 1..6), arb_properties(PacketType::Unsuback, false))
            .prop_map(|(pkid, reasons, properties)| Packet::Unsuback(Unsuback { pkid, reasons, properties })),
        1 => Just(Packet::Pingreq),
        1 => Just(Packet::Pingresp),
        1 => (arb_reason(PacketType::Disconnect), arb_properties(PacketType::Disconnect, false))
            .prop_map(|(reason, properties)| Packet::Disconnect(Disconnect { reason, properties })),
        1 => (arb_reason(PacketType::Auth), arb_properties(PacketType::Auth, false))
            .prop_map(|(reason, properties)| Packet::Auth(Auth { reason, properties })),
    ]
}

// ---------------------------------------------------------------- (e) MQTT 5.0

/// Round trip in `v`: decode gives the packet, consumes exactly its bytes, and one byte short is
/// "need more".
fn round_trip(v: Version, packet: &Packet, trailing: &[u8]) -> Result<(), TestCaseError> {
    let bytes = encode_in(v, packet);
    let mut buf = BytesMut::from(&bytes[..]);
    buf.extend_from_slice(trailing);
    prop_assert_eq!(decode_as(v, &mut buf, bytes.len()), Ok(Some(packet.clone())));
    prop_assert_eq!(&buf[..], trailing);
    let mut short = BytesMut::from(&bytes[..bytes.len() - 1]);
    prop_assert_eq!(decode_as(v, &mut short, MAX_PACKET_SIZE), Ok(None));
    prop_assert_eq!(packet.size(v), Some(bytes.len()));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn encode_then_decode_is_identity_v5(packet in arb_packet_v5(), trailing in vec(any::<u8>(), 0..8)) {
        round_trip(Version::V5, &packet, &trailing)?;
    }

    /// The encoder's size check and the decoder's agree on the exact packet size (a receiver's
    /// Maximum Packet Size) [MQTT5-3.1.2-24] [MQTT5-3.2.2-15].
    #[test]
    fn max_packet_size_is_inclusive_both_ways_v5(packet in arb_packet_v5()) {
        let bytes = encode_in(Version::V5, &packet);
        let n = bytes.len();
        prop_assert_eq!(packet.encode_as(Version::V5, &mut BytesMut::new(), n), Ok(n));
        prop_assert_eq!(
            packet.encode_as(Version::V5, &mut BytesMut::new(), n - 1),
            Err(mqtt_sim::protocol::EncodeError::ExceedsMaximum { size: n, max: n - 1 })
        );
        let mut buf = BytesMut::from(&bytes[..]);
        prop_assert_eq!(decode_as(Version::V5, &mut buf, n - 1), Err(DecodeError::PacketTooLarge { size: n, max: n - 1 }));
    }

    /// A 5.0 packet without anything 5.0-only is the same value when written in 3.1.1, and the
    /// encoder refuses (rather than drops) what 3.1.1 cannot carry.
    #[test]
    fn a_5_0_packet_is_written_in_3_1_1_only_when_nothing_is_lost(packet in arb_packet_v5()) {
        let mut out = BytesMut::new();
        if packet.encode_as(Version::V311, &mut out, MAX_PACKET_SIZE).is_ok() {
            let mut buf = out.clone();
            prop_assert_eq!(decode_as(Version::V311, &mut buf, MAX_PACKET_SIZE), Ok(Some(packet.clone())));
        } else {
            prop_assert!(out.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_v5(bytes in vec(any::<u8>(), 0..512), max in prop_oneof![2usize..600, Just(MAX_PACKET_SIZE)]) {
        let _ = drain_in(Version::V5, &mut BytesMut::from(&bytes[..]), max);
    }

    /// Each error names a reason code a 5.0 receiver may send: one of DISCONNECT's, or for
    /// a CONNECT, one of CONNACK's.
    #[test]
    fn valid_header_arbitrary_body_never_panics_v5(
        byte1 in arb_valid_byte1_upto(15),
        body in vec(any::<u8>(), 0..300),
        max in prop_oneof![2usize..400, Just(MAX_PACKET_SIZE)],
    ) {
        let mut bytes = vec![byte1];
        bytes.extend(varint(body.len()));
        bytes.extend_from_slice(&body);
        let size = 1 + varint(body.len()).len() + body.len();
        match decode_as(Version::V5, &mut BytesMut::from(&bytes[..]), max) {
            Err(e) if size > max => prop_assert_eq!(e, DecodeError::PacketTooLarge { size, max }),
            Err(e) => {
                let packet = if byte1 >> 4 == 1 { PacketType::Connack } else { PacketType::Disconnect };
                prop_assert!(e.reason_code().allowed_in(packet), "{} for {:?}", e.reason_code(), e);
            }
            Ok(got) => prop_assert!(got.is_some()),
        }
        let _ = drain_in(Version::V5, &mut BytesMut::from(&bytes[..]), max);
    }

    #[test]
    fn mutated_packets_never_panic_v5(packet in arb_packet_v5(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let mut bytes = encode_in(Version::V5, &packet);
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        let _ = drain_in(Version::V5, &mut BytesMut::from(&bytes[..]), MAX_PACKET_SIZE);
    }

    #[test]
    fn chunked_stream_decodes_like_whole_v5(packets in vec(arb_packet_v5(), 1..8), cuts in vec(1usize..200, 0..64)) {
        let stream: Vec<u8> = packets.iter().flat_map(|p| encode_in(Version::V5, p)).collect();
        prop_assert_eq!(decode_in_chunks(Version::V5, &stream, cuts), packets);
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
