//! The MQTT 3.1.1 codec: every control packet as a value, decoded from and encoded into byte
//! buffers. Pure: no sockets, no clock, no allocation before the fixed header has been checked
//! against the caller's maximum packet size.
//!
//! Decoding is two-phase, in the style of mini-redis's `Frame::check`/`parse`: [`decode`] first
//! reads the fixed header; if the whole packet is not buffered yet it returns `Ok(None)` and
//! consumes nothing, so a packet split at any byte boundary decodes the same as when whole.
//! Encoding refuses to emit anything the decoder would reject.

mod connect;
mod display;
mod error;
mod publish;
mod subscribe;
mod summary;
mod wire;

use std::fmt;
use std::num::NonZeroU16;

use bytes::{BufMut, BytesMut};

pub use connect::{Connack, Connect, ConnectReturnCode, LastWill, Protocol};
pub use error::{DecodeError, EncodeError};
pub use publish::Publish;
pub use subscribe::{Suback, SubackCode, Subscribe, SubscribeFilter, Unsubscribe};
pub use summary::{PacketSummary, PublishSummary, WillSummary, PAYLOAD_SHOWN};
pub(crate) use wire::put_remaining_length;
pub use wire::MAX_REMAINING_LENGTH;

/// The largest packet MQTT 3.1.1 can frame: a 5-byte fixed header plus the maximum remaining length.
pub const MAX_PACKET_SIZE: usize = MAX_REMAINING_LENGTH + 5;

/// Quality of service of a PUBLISH or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QoS {
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a two-bit value; `None` for 3.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for QoS {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u8())
    }
}

/// A packet identifier, never zero [MQTT-2.3.1-1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// `None` for zero, which the spec forbids.
    pub const fn new(raw: u16) -> Option<PacketId> {
        match NonZeroU16::new(raw) {
            Some(n) => Some(PacketId(n)),
            None => None,
        }
    }

    pub const fn get(self) -> u16 {
        self.0.get()
    }

    /// The identifier after this one, wrapping from 65535 to 1.
    pub fn next(self) -> PacketId {
        PacketId::new(self.get().wrapping_add(1)).unwrap_or(PacketId(NonZeroU16::MIN))
    }
}

impl fmt::Display for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The control packet types (spec section 2.2.1), by their wire value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PacketType {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Pubrec = 5,
    Pubrel = 6,
    Pubcomp = 7,
    Subscribe = 8,
    Suback = 9,
    Unsubscribe = 10,
    Unsuback = 11,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
}

impl PacketType {
    fn from_u8(v: u8) -> Result<PacketType, DecodeError> {
        use PacketType::*;
        Ok(match v {
            1 => Connect,
            2 => Connack,
            3 => Publish,
            4 => Puback,
            5 => Pubrec,
            6 => Pubrel,
            7 => Pubcomp,
            8 => Subscribe,
            9 => Suback,
            10 => Unsubscribe,
            11 => Unsuback,
            12 => Pingreq,
            13 => Pingresp,
            14 => Disconnect,
            other => return Err(DecodeError::ReservedPacketType(other)),
        })
    }

    /// The fixed-header flags every type but PUBLISH must carry [MQTT-2.2.2-1].
    fn required_flags(self) -> u8 {
        match self {
            PacketType::Pubrel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
    }
}

/// One MQTT 3.1.1 control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    Connack(Connack),
    Publish(Publish),
    Puback(PacketId),
    Pubrec(PacketId),
    Pubrel(PacketId),
    Pubcomp(PacketId),
    Subscribe(Subscribe),
    Suback(Suback),
    Unsubscribe(Unsubscribe),
    Unsuback(PacketId),
    Pingreq,
    Pingresp,
    Disconnect,
}

impl Packet {
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::Connack(_) => PacketType::Connack,
            Packet::Publish(_) => PacketType::Publish,
            Packet::Puback(_) => PacketType::Puback,
            Packet::Pubrec(_) => PacketType::Pubrec,
            Packet::Pubrel(_) => PacketType::Pubrel,
            Packet::Pubcomp(_) => PacketType::Pubcomp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::Suback(_) => PacketType::Suback,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::Unsuback(_) => PacketType::Unsuback,
            Packet::Pingreq => PacketType::Pingreq,
            Packet::Pingresp => PacketType::Pingresp,
            Packet::Disconnect => PacketType::Disconnect,
        }
    }

    /// Appends this packet's bytes to `out`, refusing packets larger than `max_packet_size`
    /// (use [`MAX_PACKET_SIZE`] for no limit beyond the protocol's own). Returns the bytes written.
    /// On error nothing is appended.
    pub fn encode(&self, out: &mut BytesMut, max_packet_size: usize) -> Result<usize, EncodeError> {
        self.validate()?;
        let body_len = self.body_len()?;
        if body_len > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLarge(body_len));
        }
        let size = 1 + wire::remaining_length_len(body_len) + body_len;
        if size > max_packet_size {
            return Err(EncodeError::ExceedsMaximum { size, max: max_packet_size });
        }
        out.reserve(size);
        let mark = out.len();
        // `validate` does not see every field (an over-long or U+0000-bearing CONNECT string fails
        // only while being written), so a failed write is rolled back to keep "nothing appended".
        if let Err(e) = self.write(out, body_len) {
            out.truncate(mark);
            return Err(e);
        }
        Ok(size)
    }

    /// Appends this packet's bytes without the checks `encode` makes on its contents, for a
    /// harness that sends what a conforming peer would not (a PUBLISH to a wildcard topic, DUP
    /// on QoS 0, a SUBSCRIBE without filters). Fails only where the bytes cannot be written at
    /// all (a string or a packet longer than the protocol can carry). Never use it for a packet
    /// that should be valid: `encode` is the codec.
    pub fn encode_unchecked(&self, out: &mut BytesMut) -> Result<usize, EncodeError> {
        let body_len = self.body_len()?;
        if body_len > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLarge(body_len));
        }
        let size = 1 + wire::remaining_length_len(body_len) + body_len;
        let mark = out.len();
        if let Err(e) = self.write(out, body_len) {
            out.truncate(mark);
            return Err(e);
        }
        Ok(size)
    }

    /// Writes the fixed header and the body; `encode` has already checked the sizes.
    fn write(&self, out: &mut BytesMut, body_len: usize) -> Result<(), EncodeError> {
        out.put_u8(((self.packet_type() as u8) << 4) | self.flags());
        wire::put_remaining_length(out, body_len)?;
        let start = out.len();
        match self {
            Packet::Connect(c) => c.write_body(out)?,
            Packet::Connack(c) => c.write_body(out),
            Packet::Publish(p) => p.write_body(out)?,
            Packet::Puback(id)
            | Packet::Pubrec(id)
            | Packet::Pubrel(id)
            | Packet::Pubcomp(id)
            | Packet::Unsuback(id) => out.put_u16(id.get()),
            Packet::Subscribe(s) => s.write_body(out)?,
            Packet::Suback(s) => s.write_body(out),
            Packet::Unsubscribe(u) => u.write_body(out)?,
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => {}
        }
        debug_assert_eq!(out.len() - start, body_len, "body_len disagrees with write_body for {self:?}");
        Ok(())
    }

    /// Checks everything the decoder would check, before a byte is written.
    fn validate(&self) -> Result<(), EncodeError> {
        match self {
            Packet::Connect(c) => c.validate(),
            Packet::Connack(c) => c.validate(),
            Packet::Publish(p) => p.validate(),
            Packet::Subscribe(s) => s.validate(),
            Packet::Suback(s) => s.validate(),
            Packet::Unsubscribe(u) => u.validate(),
            _ => Ok(()),
        }
    }

    fn flags(&self) -> u8 {
        match self {
            Packet::Publish(p) => p.flags(),
            other => other.packet_type().required_flags(),
        }
    }

    fn body_len(&self) -> Result<usize, EncodeError> {
        Ok(match self {
            Packet::Connect(c) => c.body_len(),
            Packet::Connack(_) => 2,
            Packet::Publish(p) => p.body_len(),
            Packet::Puback(_) | Packet::Pubrec(_) | Packet::Pubrel(_) | Packet::Pubcomp(_) | Packet::Unsuback(_) => 2,
            Packet::Subscribe(s) => s.body_len(),
            Packet::Suback(s) => s.body_len(),
            Packet::Unsubscribe(u) => u.body_len(),
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => 0,
        })
    }
}

/// Decodes one packet from the front of `buf`.
///
/// - `Ok(Some(packet))`: the packet's bytes were removed from `buf`.
/// - `Ok(None)`: `buf` holds only part of a packet; nothing was consumed. Read more and call again.
/// - `Err(_)`: the stream is not valid MQTT; the connection must be closed [MQTT-4.8.0-1].
///
/// A fixed header that announces more than `max_packet_size` bytes is refused before the body is
/// buffered or anything is allocated.
pub fn decode(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    let Some(header) = wire::FixedHeader::parse(buf)? else {
        return Ok(None);
    };
    let size = header.header_len + header.remaining_len;
    if size > max_packet_size {
        return Err(DecodeError::PacketTooLarge { size, max: max_packet_size });
    }
    // The type and flags are checked before waiting for the body, so garbage is refused early.
    let packet_type = PacketType::from_u8(header.byte1 >> 4)?;
    let flags = header.byte1 & 0x0f;
    if packet_type != PacketType::Publish && flags != packet_type.required_flags() {
        // [MQTT-2.2.2-2] [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1] [MQTT-3.14.1-1]
        return Err(DecodeError::InvalidFlags { packet: packet_type, flags });
    }
    if buf.len() < size {
        return Ok(None);
    }
    let mut frame = buf.split_to(size);
    let body = frame.split_off(header.header_len).freeze();
    let mut r = wire::Reader::new(body, packet_type);
    let packet = match packet_type {
        PacketType::Connect => Packet::Connect(Connect::read(&mut r)?),
        PacketType::Connack => Packet::Connack(Connack::read(&mut r)?),
        PacketType::Publish => Packet::Publish(Publish::read(flags, &mut r)?),
        PacketType::Puback => Packet::Puback(r.packet_id()?),
        PacketType::Pubrec => Packet::Pubrec(r.packet_id()?),
        PacketType::Pubrel => Packet::Pubrel(r.packet_id()?),
        PacketType::Pubcomp => Packet::Pubcomp(r.packet_id()?),
        PacketType::Subscribe => Packet::Subscribe(Subscribe::read(&mut r)?),
        PacketType::Suback => Packet::Suback(Suback::read(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::read(&mut r)?),
        PacketType::Unsuback => Packet::Unsuback(r.packet_id()?),
        PacketType::Pingreq => Packet::Pingreq,
        PacketType::Pingresp => Packet::Pingresp,
        PacketType::Disconnect => Packet::Disconnect,
    };
    r.finish()?;
    Ok(Some(packet))
}
