//! Byte-exact vectors for every MQTT 3.1.1 control packet, worked out by hand from the
//! specification text (sections 2 and 3, table 2.4 for the remaining length), not from our
//! encoder's output. Every vector is checked in both directions: `decode` gives the packet and
//! consumes exactly its bytes, every strict prefix is "need more bytes", and `encode` gives
//! exactly the bytes.

use bytes::{Bytes, BytesMut};
use mqtt_sim::protocol::{
    decode, Connack, Connect, ConnectReturnCode, DecodeError, LastWill, Packet, PacketId, Protocol, Publish, QoS,
    Suback, SubackCode, Subscribe, SubscribeFilter, Unsubscribe, MAX_PACKET_SIZE, MAX_REMAINING_LENGTH,
};

fn pid(raw: u16) -> PacketId {
    PacketId::new(raw).expect("non-zero packet id")
}

/// Decodes `bytes` into `packet`, encodes `packet` into `bytes`, and checks that every strict
/// prefix (all of them for small packets, a sample for large ones) asks for more bytes and leaves
/// the buffer untouched.
#[track_caller]
fn vector(bytes: &[u8], packet: Packet) {
    let mut buf = BytesMut::from(bytes);
    let decoded = decode(&mut buf, MAX_PACKET_SIZE).expect("valid vector").expect("whole packet is buffered");
    assert_eq!(decoded, packet, "decode");
    assert!(buf.is_empty(), "decode left {} bytes", buf.len());

    let mut out = BytesMut::new();
    let written = packet.encode(&mut out, MAX_PACKET_SIZE).expect("encodable");
    assert_eq!(written, bytes.len(), "encode returned the wrong size");
    assert!(
        out[..] == bytes[..],
        "encode: got {:02X?}, want {:02X?}",
        &out[..out.len().min(64)],
        &bytes[..bytes.len().min(64)]
    );

    // Exact size as the maximum is allowed, one byte less is not (decode and encode agree).
    let mut buf = BytesMut::from(bytes);
    assert_eq!(decode(&mut buf, bytes.len()), Ok(Some(packet.clone())));
    let mut buf = BytesMut::from(bytes);
    assert_eq!(
        decode(&mut buf, bytes.len() - 1),
        Err(DecodeError::PacketTooLarge { size: bytes.len(), max: bytes.len() - 1 })
    );

    let cuts: Vec<usize> = if bytes.len() <= 600 {
        (0..bytes.len()).collect()
    } else {
        vec![0, 1, 2, 3, 4, 5, 6, bytes.len() / 2, bytes.len() - 2, bytes.len() - 1]
    };
    for cut in cuts {
        let mut buf = BytesMut::from(&bytes[..cut]);
        assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(None), "prefix of {cut} bytes");
        assert_eq!(buf.len(), cut, "prefix of {cut} bytes was consumed");
    }
}

/// "MQTT" protocol name, level 4: `00 04 'M' 'Q' 'T' 'T' 04` (spec 3.1.2.1, 3.1.2.2).
const MQTT4: [u8; 7] = [0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04];

fn connect_bytes(flags: u8, keep_alive: u16, payload: &[u8]) -> Vec<u8> {
    let remaining = MQTT4.len() + 1 + 2 + payload.len();
    assert!(remaining < 128, "helper only builds one-byte remaining lengths");
    let mut v = vec![0x10, remaining as u8];
    v.extend_from_slice(&MQTT4);
    v.push(flags);
    v.extend_from_slice(&keep_alive.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

// ---------------------------------------------------------------- CONNECT (3.1)

#[test]
fn connect_clean_session_on() {
    // 10 0F | 00 04 M Q T T | 04 | flags 02 | keep alive 00 3C | client id 00 03 c i d
    let bytes = [0x10, 0x0F, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3C, 0x00, 0x03, 0x63, 0x69, 0x64];
    assert_eq!(connect_bytes(0x02, 60, b"\x00\x03cid"), bytes);
    vector(&bytes, Packet::Connect(Connect::new("cid", true, 60)));
}

#[test]
fn connect_clean_session_off() {
    let bytes = [0x10, 0x0F, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x03, 0x63, 0x69, 0x64];
    vector(&bytes, Packet::Connect(Connect::new("cid", false, 0)));
}

#[test]
fn connect_empty_client_id_and_max_keep_alive() {
    // A zero-byte client id is allowed by the codec [MQTT-3.1.3-6]; keep alive 65535 is FF FF.
    let bytes = [0x10, 0x0C, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0xFF, 0xFF, 0x00, 0x00];
    vector(&bytes, Packet::Connect(Connect::new("", true, u16::MAX)));
}

fn will_connect(qos: QoS, retain: bool) -> Packet {
    Packet::Connect(Connect {
        will: Some(LastWill {
            topic: "w/t".into(),
            message: Bytes::from_static(b"bye"),
            qos,
            retain,
            properties: Default::default(),
        }),
        ..Connect::new("cid", true, 60)
    })
}

/// client id "cid", will topic "w/t", will message "bye".
const WILL_PAYLOAD: &[u8] = b"\x00\x03cid\x00\x03w/t\x00\x03bye";

#[test]
fn connect_will_qos0() {
    // Will flag 0x04 + clean session 0x02 = 0x06; remaining length 10 + 15 = 25 = 0x19.
    let bytes = [
        0x10, 0x19, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x06, 0x00, 0x3C, 0x00, 0x03, 0x63, 0x69, 0x64, 0x00,
        0x03, 0x77, 0x2F, 0x74, 0x00, 0x03, 0x62, 0x79, 0x65,
    ];
    assert_eq!(connect_bytes(0x06, 60, WILL_PAYLOAD), bytes);
    vector(&bytes, will_connect(QoS::AtMostOnce, false));
}

#[test]
fn connect_will_qos1() {
    // Will QoS is bits 4-3: QoS 1 is 0x08; 0x08 | 0x04 | 0x02 = 0x0E.
    vector(&connect_bytes(0x0E, 60, WILL_PAYLOAD), will_connect(QoS::AtLeastOnce, false));
}

#[test]
fn connect_will_qos2() {
    // QoS 2 is 0x10; 0x10 | 0x04 | 0x02 = 0x16.
    vector(&connect_bytes(0x16, 60, WILL_PAYLOAD), will_connect(QoS::ExactlyOnce, false));
}

#[test]
fn connect_will_retain() {
    // Will retain is bit 5 (0x20); 0x20 | 0x04 | 0x02 = 0x26, and with QoS 1 0x2E.
    vector(&connect_bytes(0x26, 60, WILL_PAYLOAD), will_connect(QoS::AtMostOnce, true));
    vector(&connect_bytes(0x2E, 60, WILL_PAYLOAD), will_connect(QoS::AtLeastOnce, true));
    vector(&connect_bytes(0x36, 60, WILL_PAYLOAD), will_connect(QoS::ExactlyOnce, true));
}

#[test]
fn connect_will_message_is_binary_and_may_be_empty() {
    // The will message is binary data (3.1.3.3), so 0xFF and 0x00 bytes are fine; empty is 00 00.
    let packet = |message: &'static [u8]| {
        Packet::Connect(Connect {
            will: Some(LastWill {
                topic: "w".into(),
                message: Bytes::from_static(message),
                qos: QoS::AtMostOnce,
                retain: false,
                properties: Default::default(),
            }),
            ..Connect::new("c", false, 0)
        })
    };
    vector(&connect_bytes(0x04, 0, b"\x00\x01c\x00\x01w\x00\x02\xFF\x00"), packet(b"\xFF\x00"));
    vector(&connect_bytes(0x04, 0, b"\x00\x01c\x00\x01w\x00\x00"), packet(b""));
}

#[test]
fn connect_user_name() {
    // User name flag is bit 7 (0x80); 0x80 | 0x02 = 0x82; remaining 15 + 3 = 18 = 0x12.
    let bytes = [
        0x10, 0x12, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x82, 0x00, 0x3C, 0x00, 0x03, 0x63, 0x69, 0x64, 0x00,
        0x01, 0x75,
    ];
    vector(&bytes, Packet::Connect(Connect { username: Some("u".into()), ..Connect::new("cid", true, 60) }));
}

#[test]
fn connect_user_name_and_password() {
    // Password flag is bit 6 (0x40); 0xC2; password is binary, here 00 02 'p' 'w'; remaining 22.
    let bytes = [
        0x10, 0x16, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0xC2, 0x00, 0x3C, 0x00, 0x03, 0x63, 0x69, 0x64, 0x00,
        0x01, 0x75, 0x00, 0x02, 0x70, 0x77,
    ];
    vector(
        &bytes,
        Packet::Connect(Connect {
            username: Some("u".into()),
            password: Some(Bytes::from_static(b"pw")),
            ..Connect::new("cid", true, 60)
        }),
    );
    // A binary password with non-UTF-8 bytes, and an empty one.
    vector(
        &connect_bytes(0xC0, 0, b"\x00\x00\x00\x00\x00\x02\x00\xFF"),
        Packet::Connect(Connect {
            username: Some(String::new()),
            password: Some(Bytes::from_static(b"\x00\xFF")),
            ..Connect::new("", false, 0)
        }),
    );
    vector(
        &connect_bytes(0xC0, 0, b"\x00\x00\x00\x00\x00\x00"),
        Packet::Connect(Connect {
            username: Some(String::new()),
            password: Some(Bytes::new()),
            ..Connect::new("", false, 0)
        }),
    );
}

#[test]
fn connect_every_field() {
    // 0x80 user | 0x40 password | 0x20 will retain | 0x10 will QoS 2 | 0x04 will | 0x02 clean = 0xF6.
    let bytes = [
        0x10, 0x20, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0xF6, 0x00, 0x3C, 0x00, 0x03, 0x63, 0x69, 0x64, 0x00,
        0x03, 0x77, 0x2F, 0x74, 0x00, 0x03, 0x62, 0x79, 0x65, 0x00, 0x01, 0x75, 0x00, 0x02, 0x70, 0x77,
    ];
    vector(
        &bytes,
        Packet::Connect(Connect {
            protocol: Protocol::V311,
            clean_session: true,
            keep_alive: 60,
            client_id: "cid".into(),
            will: Some(LastWill {
                topic: "w/t".into(),
                message: Bytes::from_static(b"bye"),
                qos: QoS::ExactlyOnce,
                retain: true,
                properties: Default::default(),
            }),
            username: Some("u".into()),
            password: Some(Bytes::from_static(b"pw")),
            properties: Default::default(),
        }),
    );
}

#[test]
fn connect_mqisdp_level_3() {
    // MQTT 3.1: protocol name 00 06 'M' 'Q' 'I' 's' 'd' 'p', level 3; remaining 8 + 1 + 1 + 2 + 5 = 17.
    let bytes = [
        0x10, 0x11, 0x00, 0x06, 0x4D, 0x51, 0x49, 0x73, 0x64, 0x70, 0x03, 0x02, 0x00, 0x3C, 0x00, 0x03, 0x63, 0x69,
        0x64,
    ];
    vector(&bytes, Packet::Connect(Connect { protocol: Protocol::V31, ..Connect::new("cid", true, 60) }));
}

#[test]
fn connect_unicode_client_id() {
    // "é" is C3 A9 in UTF-8; the length prefix counts bytes, not characters (1.5.3).
    vector(&connect_bytes(0x02, 10, b"\x00\x03a\xC3\xA9"), Packet::Connect(Connect::new("a\u{e9}", true, 10)));
}

// ---------------------------------------------------------------- CONNACK (3.2)

#[test]
fn connack_every_return_code() {
    let codes = [
        (0x00, ConnectReturnCode::Accepted),
        (0x01, ConnectReturnCode::UnacceptableProtocolVersion),
        (0x02, ConnectReturnCode::IdentifierRejected),
        (0x03, ConnectReturnCode::ServerUnavailable),
        (0x04, ConnectReturnCode::BadUserNameOrPassword),
        (0x05, ConnectReturnCode::NotAuthorized),
    ];
    for (raw, code) in codes {
        vector(&[0x20, 0x02, 0x00, raw], Packet::Connack(Connack::refused(code)));
    }
}

#[test]
fn connack_session_present() {
    vector(&[0x20, 0x02, 0x01, 0x00], Packet::Connack(Connack::accepted(true)));
}

// ---------------------------------------------------------------- PUBLISH (3.3)

fn publish(dup: bool, qos: QoS, retain: bool, topic: &str, pkid: Option<u16>, payload: &[u8]) -> Packet {
    Packet::Publish(Publish {
        dup,
        qos,
        retain,
        topic: topic.into(),
        pkid: pkid.map(pid),
        payload: Bytes::copy_from_slice(payload),
        properties: Default::default(),
    })
}

#[test]
fn publish_qos0() {
    // 30 | 07 | 00 03 a / b | h i. No packet id at QoS 0 [MQTT-2.3.1-5].
    vector(
        &[0x30, 0x07, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x68, 0x69],
        publish(false, QoS::AtMostOnce, false, "a/b", None, b"hi"),
    );
}

#[test]
fn publish_qos1() {
    // QoS 1 sets bit 1: 0x32; packet id 10 = 00 0A.
    vector(
        &[0x32, 0x09, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x0A, 0x68, 0x69],
        publish(false, QoS::AtLeastOnce, false, "a/b", Some(10), b"hi"),
    );
}

#[test]
fn publish_qos2() {
    // QoS 2 sets bit 2: 0x34; packet id 65535 = FF FF.
    vector(
        &[0x34, 0x09, 0x00, 0x03, 0x61, 0x2F, 0x62, 0xFF, 0xFF, 0x68, 0x69],
        publish(false, QoS::ExactlyOnce, false, "a/b", Some(65535), b"hi"),
    );
}

#[test]
fn publish_retain() {
    vector(&[0x31, 0x04, 0x00, 0x01, 0x74, 0x78], publish(false, QoS::AtMostOnce, true, "t", None, b"x"));
    vector(
        &[0x33, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x78],
        publish(false, QoS::AtLeastOnce, true, "t", Some(1), b"x"),
    );
    vector(
        &[0x35, 0x06, 0x00, 0x01, 0x74, 0x01, 0x00, 0x78],
        publish(false, QoS::ExactlyOnce, true, "t", Some(256), b"x"),
    );
}

#[test]
fn publish_dup() {
    // DUP is bit 3 (0x08), allowed only with QoS 1 or 2 [MQTT-3.3.1-2].
    vector(
        &[0x3A, 0x06, 0x00, 0x01, 0x74, 0x00, 0x07, 0x78],
        publish(true, QoS::AtLeastOnce, false, "t", Some(7), b"x"),
    );
    vector(
        &[0x3C, 0x06, 0x00, 0x01, 0x74, 0x00, 0x07, 0x78],
        publish(true, QoS::ExactlyOnce, false, "t", Some(7), b"x"),
    );
    vector(
        &[0x3B, 0x06, 0x00, 0x01, 0x74, 0x00, 0x07, 0x78],
        publish(true, QoS::AtLeastOnce, true, "t", Some(7), b"x"),
    );
    vector(
        &[0x3D, 0x06, 0x00, 0x01, 0x74, 0x00, 0x07, 0x78],
        publish(true, QoS::ExactlyOnce, true, "t", Some(7), b"x"),
    );
}

#[test]
fn publish_empty_payload() {
    // A zero-length payload is valid (3.3.3); with retain it clears the retained message.
    vector(&[0x30, 0x05, 0x00, 0x03, 0x61, 0x2F, 0x62], publish(false, QoS::AtMostOnce, false, "a/b", None, b""));
    vector(&[0x31, 0x05, 0x00, 0x03, 0x61, 0x2F, 0x62], publish(false, QoS::AtMostOnce, true, "a/b", None, b""));
    vector(
        &[0x32, 0x07, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x01],
        publish(false, QoS::AtLeastOnce, false, "a/b", Some(1), b""),
    );
}

#[test]
fn publish_unicode_and_dollar_topics() {
    // "caf\u{e9}" is 63 61 66 C3 A9: five bytes. Leading "$" and "/", spaces, empty levels are all valid names.
    vector(
        &[0x30, 0x07, 0x00, 0x05, 0x63, 0x61, 0x66, 0xC3, 0xA9],
        publish(false, QoS::AtMostOnce, false, "caf\u{e9}", None, b""),
    );
    vector(
        &[0x30, 0x08, 0x00, 0x06, 0x24, 0x53, 0x59, 0x53, 0x2F, 0x78],
        publish(false, QoS::AtMostOnce, false, "$SYS/x", None, b""),
    );
    vector(&[0x30, 0x05, 0x00, 0x03, 0x2F, 0x2F, 0x20], publish(false, QoS::AtMostOnce, false, "// ", None, b""));
}

/// A PUBLISH to topic "a/b" (5 bytes) whose payload is `payload_len` bytes counting 0, 1, 2, ...
fn big_publish(qos: QoS, payload_len: usize) -> (Vec<u8>, Packet) {
    let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
    let pkid = if qos == QoS::AtMostOnce { None } else { Some(0x1234) };
    let packet = publish(false, qos, false, "a/b", pkid, &payload);
    let mut body = vec![0x00, 0x03, 0x61, 0x2F, 0x62];
    if pkid.is_some() {
        body.extend_from_slice(&[0x12, 0x34]);
    }
    body.extend_from_slice(&payload);
    (body, packet)
}

#[test]
fn publish_200_byte_payload_two_byte_length() {
    // Remaining length 5 + 200 = 205 = 1 * 128 + 77: CD 01 (77 | 0x80 = 0xCD).
    let (body, packet) = big_publish(QoS::AtMostOnce, 200);
    let mut bytes = vec![0x30, 0xCD, 0x01];
    bytes.extend_from_slice(&body);
    vector(&bytes, packet);
    // Remaining length exactly 200 = 1 * 128 + 72: C8 01.
    let (body, packet) = big_publish(QoS::AtMostOnce, 195);
    let mut bytes = vec![0x30, 0xC8, 0x01];
    bytes.extend_from_slice(&body);
    vector(&bytes, packet);
}

#[test]
fn publish_20000_byte_payload_three_byte_length() {
    // QoS 1: remaining 5 + 2 + 20,000 = 20,007 = 1 * 16384 + 28 * 128 + 39: A7 9C 01.
    let (body, packet) = big_publish(QoS::AtLeastOnce, 20_000);
    let mut bytes = vec![0x32, 0xA7, 0x9C, 0x01];
    bytes.extend_from_slice(&body);
    vector(&bytes, packet);
    // Remaining exactly 20,000 = 1 * 16384 + 28 * 128 + 32: A0 9C 01.
    let (body, packet) = big_publish(QoS::AtMostOnce, 19_995);
    let mut bytes = vec![0x30, 0xA0, 0x9C, 0x01];
    bytes.extend_from_slice(&body);
    vector(&bytes, packet);
}

// ---------------------------------------------------------------- acknowledgements (3.4 to 3.7, 3.11)

#[test]
fn puback() {
    vector(&[0x40, 0x02, 0x00, 0x0A], Packet::puback(pid(10)));
    vector(&[0x40, 0x02, 0xFF, 0xFF], Packet::puback(pid(65535)));
}

#[test]
fn pubrec() {
    vector(&[0x50, 0x02, 0x00, 0x01], Packet::pubrec(pid(1)));
    vector(&[0x50, 0x02, 0x12, 0x34], Packet::pubrec(pid(0x1234)));
}

#[test]
fn pubrel() {
    // PUBREL's fixed-header flags are 0010 [MQTT-3.6.1-1].
    vector(&[0x62, 0x02, 0x00, 0x01], Packet::pubrel(pid(1)));
    vector(&[0x62, 0x02, 0xAB, 0xCD], Packet::pubrel(pid(0xABCD)));
}

#[test]
fn pubcomp() {
    vector(&[0x70, 0x02, 0x00, 0x01], Packet::pubcomp(pid(1)));
    vector(&[0x70, 0x02, 0x80, 0x00], Packet::pubcomp(pid(0x8000)));
}

#[test]
fn unsuback() {
    vector(&[0xB0, 0x02, 0x00, 0x0B], Packet::unsuback(pid(11)));
    vector(&[0xB0, 0x02, 0xFF, 0xFE], Packet::unsuback(pid(0xFFFE)));
}

// ---------------------------------------------------------------- SUBSCRIBE, SUBACK, UNSUBSCRIBE (3.8 to 3.10)

#[test]
fn subscribe_several_filters_and_qos() {
    // 82 (flags 0010 [MQTT-3.8.1-1]) | 2 + 6 + 6 + 4 = 18 | id 00 0A |
    // "a/b" QoS 0 | "c/+" QoS 1 | "#" QoS 2.
    let bytes = [
        0x82, 0x12, 0x00, 0x0A, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x00, 0x03, 0x63, 0x2F, 0x2B, 0x01, 0x00, 0x01,
        0x23, 0x02,
    ];
    vector(
        &bytes,
        Packet::Subscribe(Subscribe {
            pkid: pid(10),
            filters: vec![
                SubscribeFilter::new("a/b", QoS::AtMostOnce),
                SubscribeFilter::new("c/+", QoS::AtLeastOnce),
                SubscribeFilter::new("#", QoS::ExactlyOnce),
            ],
            properties: Default::default(),
        }),
    );
}

#[test]
fn subscribe_spec_example_and_single_filter() {
    // The example of spec 3.8.3.1: "a/b" QoS 1, "c/d" QoS 2, packet id 10.
    let bytes = [0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x01, 0x00, 0x03, 0x63, 0x2F, 0x64, 0x02];
    vector(
        &bytes,
        Packet::Subscribe(Subscribe {
            pkid: pid(10),
            filters: vec![SubscribeFilter::new("a/b", QoS::AtLeastOnce), SubscribeFilter::new("c/d", QoS::ExactlyOnce)],
            properties: Default::default(),
        }),
    );
    // "$SYS/#" QoS 0: 2 + (2 + 6 + 1) = 11.
    vector(
        &[0x82, 0x0B, 0x00, 0x01, 0x00, 0x06, 0x24, 0x53, 0x59, 0x53, 0x2F, 0x23, 0x00],
        Packet::Subscribe(Subscribe {
            pkid: pid(1),
            filters: vec![SubscribeFilter::new("$SYS/#", QoS::AtMostOnce)],
            properties: Default::default(),
        }),
    );
    vector(
        // 2 + (2 + 2 + 1) + (2 + 1 + 1) = 11.
        &[0x82, 0x0B, 0x00, 0x02, 0x00, 0x02, 0x2B, 0x2F, 0x01, 0x00, 0x01, 0x2B, 0x02],
        Packet::Subscribe(Subscribe {
            pkid: pid(2),
            filters: vec![SubscribeFilter::new("+/", QoS::AtLeastOnce), SubscribeFilter::new("+", QoS::ExactlyOnce)],
            properties: Default::default(),
        }),
    );
}

#[test]
fn suback_granted_and_failure_codes() {
    // 90 | 2 + 4 | id 00 0A | 00 01 02 80 (3.9.3).
    vector(
        &[0x90, 0x06, 0x00, 0x0A, 0x00, 0x01, 0x02, 0x80],
        Packet::Suback(Suback {
            pkid: pid(10),
            codes: vec![
                SubackCode::Granted(QoS::AtMostOnce),
                SubackCode::Granted(QoS::AtLeastOnce),
                SubackCode::Granted(QoS::ExactlyOnce),
                SubackCode::Failure,
            ],
            properties: Default::default(),
        }),
    );
    vector(&[0x90, 0x03, 0x00, 0x01, 0x80], Packet::Suback(Suback::new(pid(1), vec![SubackCode::Failure])));
}

#[test]
fn unsubscribe_several_filters() {
    // A2 (flags 0010 [MQTT-3.10.1-1]) | 2 + 5 + 5 = 12 | id 00 0B | "a/b" | "c/#".
    vector(
        &[0xA2, 0x0C, 0x00, 0x0B, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x03, 0x63, 0x2F, 0x23],
        Packet::Unsubscribe(Unsubscribe {
            pkid: pid(11),
            filters: vec!["a/b".into(), "c/#".into()],
            properties: Default::default(),
        }),
    );
    vector(
        &[0xA2, 0x05, 0x00, 0x01, 0x00, 0x01, 0x2B],
        Packet::Unsubscribe(Unsubscribe { pkid: pid(1), filters: vec!["+".into()], properties: Default::default() }),
    );
}

// ---------------------------------------------------------------- PINGREQ, PINGRESP, DISCONNECT (3.12 to 3.14)

#[test]
fn pingreq() {
    vector(&[0xC0, 0x00], Packet::Pingreq);
}

#[test]
fn pingresp() {
    vector(&[0xD0, 0x00], Packet::Pingresp);
}

#[test]
fn disconnect() {
    vector(&[0xE0, 0x00], Packet::disconnect());
}

// ---------------------------------------------------------------- remaining length (2.2.3, table 2.4)

/// A QoS 0 PUBLISH to topic "t" (3 bytes on the wire) with the given remaining length.
fn publish_with_remaining(remaining: usize, header: &[u8]) {
    let payload = vec![0x5Au8; remaining - 3];
    let mut bytes = Vec::with_capacity(header.len() + remaining);
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0x00, 0x01, 0x74]);
    bytes.extend_from_slice(&payload);
    vector(&bytes, publish(false, QoS::AtMostOnce, false, "t", None, &payload));
}

#[test]
fn remaining_length_0() {
    // One byte 0x00: PINGREQ and PUBLISH-free packets.
    vector(&[0xC0, 0x00], Packet::Pingreq);
}

#[test]
fn remaining_length_127_is_one_byte() {
    publish_with_remaining(127, &[0x30, 0x7F]);
}

#[test]
fn remaining_length_128_is_two_bytes() {
    publish_with_remaining(128, &[0x30, 0x80, 0x01]);
}

#[test]
fn remaining_length_16383_is_two_bytes() {
    publish_with_remaining(16_383, &[0x30, 0xFF, 0x7F]);
}

#[test]
fn remaining_length_16384_is_three_bytes() {
    publish_with_remaining(16_384, &[0x30, 0x80, 0x80, 0x01]);
}

#[test]
fn remaining_length_2097151_is_three_bytes() {
    publish_with_remaining(2_097_151, &[0x30, 0xFF, 0xFF, 0x7F]);
}

#[test]
fn remaining_length_2097152_is_four_bytes() {
    publish_with_remaining(2_097_152, &[0x30, 0x80, 0x80, 0x80, 0x01]);
}

/// Table 2.4's boundaries as crafted fixed headers with no body: the decoder must compute the
/// size, refuse it when it is one byte over the maximum, and otherwise wait for the body.
#[test]
fn remaining_length_boundaries_in_crafted_headers() {
    let cases: [(usize, &[u8]); 8] = [
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    assert_eq!(MAX_REMAINING_LENGTH, 268_435_455);
    assert_eq!(MAX_PACKET_SIZE, 268_435_460);
    for (remaining, varint) in cases {
        let mut header = vec![0x30];
        header.extend_from_slice(varint);
        let size = header.len() + remaining;
        if remaining > 0 {
            let mut buf = BytesMut::from(&header[..]);
            assert_eq!(decode(&mut buf, size), Ok(None), "remaining {remaining}: waits for the body");
            assert_eq!(buf.len(), header.len(), "remaining {remaining}: nothing consumed");
        }
        let mut buf = BytesMut::from(&header[..]);
        assert_eq!(
            decode(&mut buf, size - 1),
            Err(DecodeError::PacketTooLarge { size, max: size - 1 }),
            "remaining {remaining}: refused before the body arrives"
        );
    }
    // The largest packet MQTT can frame is announced in full and refused against a small maximum.
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F][..]);
    assert_eq!(decode(&mut buf, 1024), Err(DecodeError::PacketTooLarge { size: 268_435_460, max: 1024 }));
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F][..]);
    assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(None));
}

#[test]
fn remaining_length_of_five_bytes_is_malformed() {
    // At most four bytes (2.2.3): a fourth byte with its continuation bit set is an error even
    // before a fifth byte arrives.
    for bytes in [&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01][..], &[0x30, 0x80, 0x80, 0x80, 0x80][..]] {
        let mut buf = BytesMut::from(bytes);
        assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Err(DecodeError::MalformedRemainingLength));
    }
    // Three continuation bytes are still an incomplete header, not an error.
    let mut buf = BytesMut::from(&[0x30, 0xFF, 0xFF, 0xFF][..]);
    assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(None));
    assert_eq!(buf.len(), 4);
}

// ---------------------------------------------------------------- framing

#[test]
fn partial_input_returns_none_and_consumes_nothing() {
    let bytes = [0x32, 0x09, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x0A, 0x68, 0x69];
    let mut buf = BytesMut::new();
    for (i, &b) in bytes.iter().enumerate() {
        assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(None), "after {i} bytes");
        assert_eq!(buf.len(), i);
        buf.extend_from_slice(&[b]);
    }
    assert_eq!(
        decode(&mut buf, MAX_PACKET_SIZE),
        Ok(Some(publish(false, QoS::AtLeastOnce, false, "a/b", Some(10), b"hi")))
    );
    assert!(buf.is_empty());
    assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(None));
}

#[test]
fn packets_back_to_back_decode_in_order() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0x10, 0x0F, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3C, 0x00, 0x03]);
    buf.extend_from_slice(&[0x63, 0x69, 0x64]);
    buf.extend_from_slice(&[0x30, 0x07, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x68, 0x69]);
    buf.extend_from_slice(&[0x62, 0x02, 0x00, 0x05]);
    buf.extend_from_slice(&[0xC0, 0x00]);
    buf.extend_from_slice(&[0xE0, 0x00]);
    // And the first two bytes of a PUBACK that has not fully arrived.
    buf.extend_from_slice(&[0x40, 0x02]);

    let want = [
        Packet::Connect(Connect::new("cid", true, 60)),
        publish(false, QoS::AtMostOnce, false, "a/b", None, b"hi"),
        Packet::pubrel(pid(5)),
        Packet::Pingreq,
        Packet::disconnect(),
    ];
    for packet in want {
        assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(Some(packet)));
    }
    assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(None));
    assert_eq!(&buf[..], &[0x40, 0x02]);
    buf.extend_from_slice(&[0x00, 0x09]);
    assert_eq!(decode(&mut buf, MAX_PACKET_SIZE), Ok(Some(Packet::puback(pid(9)))));
    assert!(buf.is_empty());
}

#[test]
fn encode_appends_after_existing_bytes() {
    // Encoding writes after whatever the buffer already holds and reports only its own bytes.
    let mut out = BytesMut::from(&b"xyz"[..]);
    assert_eq!(Packet::Pingresp.encode(&mut out, MAX_PACKET_SIZE), Ok(2));
    assert_eq!(Packet::puback(pid(258)).encode(&mut out, MAX_PACKET_SIZE), Ok(4));
    assert_eq!(&out[..], &[0x78, 0x79, 0x7A, 0xD0, 0x00, 0x40, 0x02, 0x01, 0x02]);
}
