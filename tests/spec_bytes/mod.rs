//! Packet bytes laid out from the MQTT 5.0 spec's fields, independently of the codec: a
//! variable byte integer (section 1.5.5), a frame (fixed header byte, remaining length, body), a
//! property list (property length, properties), a length-prefixed string or binary field.
//! Shared by the 5.0 vector and rule tests, with the decoding helpers they share; not every
//! test file uses every helper.
#![allow(dead_code)]

use bytes::BytesMut;
use mqtt_sim::protocol::{decode_as, DecodeError, EncodeError, Packet, PacketId, Version, MAX_PACKET_SIZE};

pub fn pid(raw: u16) -> PacketId {
    PacketId::new(raw).unwrap()
}

/// Decodes `bytes` as 5.0: the packet, or the error.
pub fn decode5(bytes: &[u8]) -> Result<Packet, DecodeError> {
    let mut buf = BytesMut::from(bytes);
    decode_as(Version::V5, &mut buf, MAX_PACKET_SIZE).map(|p| p.expect("a whole packet"))
}

/// Decodes `bytes` as 5.0, which must fail.
#[track_caller]
pub fn refused(bytes: &[u8]) -> DecodeError {
    decode5(bytes).expect_err("must be refused")
}

/// Encodes `packet` as 5.0, which must fail, leaving nothing written.
#[track_caller]
pub fn encode_refused(packet: Packet) -> EncodeError {
    let mut out = BytesMut::new();
    let err = packet.encode_as(Version::V5, &mut out, MAX_PACKET_SIZE).expect_err("must be refused");
    assert!(out.is_empty());
    err
}

pub fn vbi(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return out;
        }
    }
}

/// A fixed header byte, the remaining length, then the body's parts in order.
pub fn frame(byte1: u8, parts: &[&[u8]]) -> Vec<u8> {
    let body: Vec<u8> = parts.concat();
    [vec![byte1], vbi(body.len()), body].concat()
}

/// A property length, then the properties' bytes (section 2.2.2.1).
pub fn props(parts: &[&[u8]]) -> Vec<u8> {
    let body: Vec<u8> = parts.concat();
    [vbi(body.len()), body].concat()
}

/// A UTF-8 string or binary data: a two-byte length, then the bytes (sections 1.5.4, 1.5.6).
pub fn s(text: &[u8]) -> Vec<u8> {
    [(text.len() as u16).to_be_bytes().to_vec(), text.to_vec()].concat()
}

/// "MQTT", protocol level 5 (section 3.1.2.1, 3.1.2.2).
pub const MQTT5: &[u8] = &[0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05];
