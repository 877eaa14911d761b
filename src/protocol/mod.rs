//! The MQTT codec, 3.1.1 and 5.0 side by side: every control packet as one value, decoded from
//! and encoded into byte buffers in either version. Pure: no sockets, no clock, no allocation
//! before the fixed header has been checked against the caller's maximum packet size.
//!
//! One `Packet` serves both versions: what only 5.0 carries (properties, reason codes, AUTH) is
//! empty or "Success" in a 3.1.1 packet, and the encoder refuses to write it in 3.1.1. A CONNECT
//! says its own version; every other packet is read and written in the version the connection
//! agreed on ([`Version`]), which is why [`decode_as`] and [`Packet::encode_as`] take it.
//! Statements are cited `[MQTT-x]` for 3.1.1 and `[MQTT5-x]` for 5.0.
//!
//! Decoding is two-phase, in the style of mini-redis's `Frame::check`/`parse`: [`decode`] first
//! reads the fixed header; if the whole packet is not buffered yet it returns `Ok(None)` and
//! consumes nothing, so a packet split at any byte boundary decodes the same as when whole.
//! Encoding refuses to emit anything the decoder would reject.

mod connect;
mod control;
mod display;
mod error;
pub mod properties;
mod publish;
mod reason;
mod subscribe;
mod summary;
mod wire;

use std::fmt;
use std::num::NonZeroU16;

use bytes::{BufMut, BytesMut};

pub use connect::{Connack, ConnackCode, Connect, ConnectReturnCode, LastWill, Protocol};
pub use control::{Auth, Disconnect};
pub use error::{DecodeError, EncodeError};
pub use properties::{Properties, Property};
pub use publish::{Ack, Publish};
pub use reason::ReasonCode;
pub use subscribe::{RetainHandling, Suback, SubackCode, Subscribe, SubscribeFilter, Unsuback, Unsubscribe};
pub use summary::{FilterOptions, PacketSummary, PublishSummary, V5Props, WillSummary, PAYLOAD_SHOWN};
pub(crate) use wire::put_remaining_length;
pub use wire::MAX_REMAINING_LENGTH;

/// The largest packet MQTT 3.1.1 can frame: a 5-byte fixed header plus the maximum remaining length.
pub const MAX_PACKET_SIZE: usize = MAX_REMAINING_LENGTH + 5;

/// The protocol version a connection speaks after its CONNECT: 3.1 and 3.1.1 share every packet
/// but CONNECT, so both are `V311` here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Version {
    #[default]
    V311,
    V5,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V311 => "3.1.1",
            Version::V5 => "5.0",
        })
    }
}

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
    /// MQTT 5.0 only; reserved in 3.1.1.
    Auth = 15,
}

impl PacketType {
    /// The packet's name as the spec writes it ("PUBREL").
    pub fn name(self) -> &'static str {
        use PacketType::*;
        match self {
            Connect => "CONNECT",
            Connack => "CONNACK",
            Publish => "PUBLISH",
            Puback => "PUBACK",
            Pubrec => "PUBREC",
            Pubrel => "PUBREL",
            Pubcomp => "PUBCOMP",
            Subscribe => "SUBSCRIBE",
            Suback => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            Unsuback => "UNSUBACK",
            Pingreq => "PINGREQ",
            Pingresp => "PINGRESP",
            Disconnect => "DISCONNECT",
            Auth => "AUTH",
        }
    }

    fn from_u8(v: u8, version: Version) -> Result<PacketType, DecodeError> {
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
            15 if version == Version::V5 => Auth,
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

/// One MQTT control packet, of either version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    Connack(Connack),
    Publish(Publish),
    Puback(Ack),
    Pubrec(Ack),
    Pubrel(Ack),
    Pubcomp(Ack),
    Subscribe(Subscribe),
    Suback(Suback),
    Unsubscribe(Unsubscribe),
    Unsuback(Unsuback),
    Pingreq,
    Pingresp,
    Disconnect(Disconnect),
    /// MQTT 5.0 only.
    Auth(Auth),
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
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// A PUBACK with reason Success and no properties (the 3.1.1 form).
    pub fn puback(id: PacketId) -> Packet {
        Packet::Puback(Ack::new(id))
    }

    /// A PUBREC with reason Success and no properties.
    pub fn pubrec(id: PacketId) -> Packet {
        Packet::Pubrec(Ack::new(id))
    }

    /// A PUBREL with reason Success and no properties.
    pub fn pubrel(id: PacketId) -> Packet {
        Packet::Pubrel(Ack::new(id))
    }

    /// A PUBCOMP with reason Success and no properties.
    pub fn pubcomp(id: PacketId) -> Packet {
        Packet::Pubcomp(Ack::new(id))
    }

    /// An UNSUBACK without reason codes (the 3.1.1 form).
    pub fn unsuback(id: PacketId) -> Packet {
        Packet::Unsuback(Unsuback::new(id))
    }

    /// A DISCONNECT with reason Normal disconnection and no properties (the 3.1.1 form).
    pub fn disconnect() -> Packet {
        Packet::Disconnect(Disconnect::default())
    }

    /// Appends this packet's MQTT 3.1.1 bytes to `out`; see [`Packet::encode_as`].
    pub fn encode(&self, out: &mut BytesMut, max_packet_size: usize) -> Result<usize, EncodeError> {
        self.encode_as(Version::V311, out, max_packet_size)
    }

    /// Appends this packet's bytes in `version` to `out`, refusing packets larger than
    /// `max_packet_size` (use [`MAX_PACKET_SIZE`] for no limit beyond the protocol's own) and
    /// anything the decoder would refuse. A CONNECT is written in its own protocol's version.
    /// Returns the bytes written. On error nothing is appended.
    pub fn encode_as(
        &self,
        version: Version,
        out: &mut BytesMut,
        max_packet_size: usize,
    ) -> Result<usize, EncodeError> {
        let version = self.own_version().unwrap_or(version);
        self.validate(version)?;
        let body_len = self.body_len(version)?;
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
        if let Err(e) = self.write(out, body_len, version) {
            out.truncate(mark);
            return Err(e);
        }
        Ok(size)
    }

    /// A CONNECT's version is its protocol's; every other packet takes the connection's.
    fn own_version(&self) -> Option<Version> {
        match self {
            Packet::Connect(c) => Some(c.protocol.version()),
            _ => None,
        }
    }

    /// Appends this packet's bytes without the checks `encode` makes on its contents, for a
    /// harness that sends what a conforming peer would not (a PUBLISH to a wildcard topic, DUP
    /// on QoS 0, a SUBSCRIBE without filters). Fails only where the bytes cannot be written at
    /// all (a string or a packet longer than the protocol can carry). Never use it for a packet
    /// that should be valid: `encode` is the codec.
    pub fn encode_unchecked(&self, version: Version, out: &mut BytesMut) -> Result<usize, EncodeError> {
        let version = self.own_version().unwrap_or(version);
        let body_len = self.body_len(version)?;
        if body_len > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLarge(body_len));
        }
        let size = 1 + wire::remaining_length_len(body_len) + body_len;
        let mark = out.len();
        if let Err(e) = self.write(out, body_len, version) {
            out.truncate(mark);
            return Err(e);
        }
        Ok(size)
    }

    /// Writes the fixed header and the body; `encode` has already checked the sizes.
    fn write(&self, out: &mut BytesMut, body_len: usize, v: Version) -> Result<(), EncodeError> {
        out.put_u8(((self.packet_type() as u8) << 4) | self.flags());
        wire::put_remaining_length(out, body_len)?;
        let start = out.len();
        match self {
            Packet::Connect(c) => c.write_body(out)?,
            Packet::Connack(c) => c.write_body(out, v)?,
            Packet::Publish(p) => p.write_body(out, v)?,
            Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => a.write_body(out, v)?,
            Packet::Subscribe(s) => s.write_body(out, v)?,
            Packet::Suback(s) => s.write_body(out, v)?,
            Packet::Unsubscribe(u) => u.write_body(out, v)?,
            Packet::Unsuback(u) => u.write_body(out, v)?,
            Packet::Pingreq | Packet::Pingresp => {}
            Packet::Disconnect(d) => d.write_body(out, v)?,
            Packet::Auth(a) => a.write_body(out)?,
        }
        debug_assert_eq!(out.len() - start, body_len, "body_len disagrees with write_body for {self:?}");
        Ok(())
    }

    /// Checks everything the decoder would check, before a byte is written.
    fn validate(&self, v: Version) -> Result<(), EncodeError> {
        let t = self.packet_type();
        match self {
            Packet::Connect(c) => c.validate(),
            Packet::Connack(c) => c.validate(v),
            Packet::Publish(p) => p.validate(v),
            Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => a.validate(t, v),
            Packet::Subscribe(s) => s.validate(v),
            Packet::Suback(s) => s.validate(v),
            Packet::Unsubscribe(u) => u.validate(v),
            Packet::Unsuback(u) => u.validate(v),
            Packet::Pingreq | Packet::Pingresp => Ok(()),
            Packet::Disconnect(d) => d.validate(v),
            Packet::Auth(a) => a.validate(v),
        }
    }

    fn flags(&self) -> u8 {
        match self {
            Packet::Publish(p) => p.flags(),
            other => other.packet_type().required_flags(),
        }
    }

    fn body_len(&self, v: Version) -> Result<usize, EncodeError> {
        Ok(match self {
            Packet::Connect(c) => c.body_len(),
            Packet::Connack(c) => c.body_len(v),
            Packet::Publish(p) => p.body_len(v),
            Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => a.body_len(v),
            Packet::Subscribe(s) => s.body_len(v),
            Packet::Suback(s) => s.body_len(v),
            Packet::Unsubscribe(u) => u.body_len(v),
            Packet::Unsuback(u) => u.body_len(v),
            Packet::Pingreq | Packet::Pingresp => 0,
            Packet::Disconnect(d) => d.body_len(v),
            Packet::Auth(a) => a.body_len(),
        })
    }

    /// Drops the Reason String, then the User Properties, of a packet other than PUBLISH whose
    /// encoding would exceed `max_packet_size`, as the receiver's Maximum Packet Size requires
    /// [MQTT5-3.2.2-19] [MQTT5-3.2.2-20] [MQTT5-3.4.2-2] [MQTT5-3.4.2-3] [MQTT5-3.5.2-2]
    /// [MQTT5-3.5.2-3] [MQTT5-3.6.2-2] [MQTT5-3.6.2-3] [MQTT5-3.7.2-2] [MQTT5-3.7.2-3]
    /// [MQTT5-3.9.2-1] [MQTT5-3.9.2-2] [MQTT5-3.11.2-1] [MQTT5-3.11.2-2] [MQTT5-3.14.2-3]
    /// [MQTT5-3.14.2-4] [MQTT5-3.15.2-2] [MQTT5-3.15.2-3]. Returns whether it now fits.
    pub fn shrink_to_fit(&mut self, version: Version, max_packet_size: usize) -> bool {
        let fits = |p: &Packet| p.size(version).is_some_and(|n| n <= max_packet_size);
        if fits(self) {
            return true;
        }
        if matches!(self, Packet::Publish(_)) {
            return false;
        }
        for id in [properties::id::REASON_STRING, properties::id::USER_PROPERTY] {
            if let Some(props) = self.properties_mut() {
                props.remove(id);
            }
            if fits(self) {
                return true;
            }
        }
        false
    }

    /// The packet's encoded size in `version`, if it can be encoded at all.
    pub fn size(&self, version: Version) -> Option<usize> {
        let version = self.own_version().unwrap_or(version);
        let body = self.body_len(version).ok()?;
        (body <= MAX_REMAINING_LENGTH).then(|| 1 + wire::remaining_length_len(body) + body)
    }

    /// The packet's own property list (not a will's), if its type has one.
    pub fn properties(&self) -> Option<&Properties> {
        Some(match self {
            Packet::Connect(c) => &c.properties,
            Packet::Connack(c) => &c.properties,
            Packet::Publish(p) => &p.properties,
            Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => &a.properties,
            Packet::Subscribe(s) => &s.properties,
            Packet::Suback(s) => &s.properties,
            Packet::Unsubscribe(u) => &u.properties,
            Packet::Unsuback(u) => &u.properties,
            Packet::Disconnect(d) => &d.properties,
            Packet::Auth(a) => &a.properties,
            Packet::Pingreq | Packet::Pingresp => return None,
        })
    }

    /// The packet's own property list, to change, if its type has one.
    pub fn properties_mut(&mut self) -> Option<&mut Properties> {
        Some(match self {
            Packet::Connect(c) => &mut c.properties,
            Packet::Connack(c) => &mut c.properties,
            Packet::Publish(p) => &mut p.properties,
            Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => &mut a.properties,
            Packet::Subscribe(s) => &mut s.properties,
            Packet::Suback(s) => &mut s.properties,
            Packet::Unsubscribe(u) => &mut u.properties,
            Packet::Unsuback(u) => &mut u.properties,
            Packet::Disconnect(d) => &mut d.properties,
            Packet::Auth(a) => &mut a.properties,
            Packet::Pingreq | Packet::Pingresp => return None,
        })
    }
}

/// A connection's codec settings: the version agreed in CONNECT and the largest packet this end
/// accepts. The network drivers hold one per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    pub version: Version,
    pub max_packet_size: usize,
}

impl Codec {
    pub fn new(version: Version, max_packet_size: usize) -> Codec {
        Codec { version, max_packet_size }
    }

    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        decode_as(self.version, buf, self.max_packet_size)
    }

    /// Encodes without a limit beyond the protocol's own: the peer's Maximum Packet Size is the
    /// sender's to apply (see [`Packet::shrink_to_fit`]).
    pub fn encode(&self, packet: &Packet, out: &mut BytesMut) -> Result<usize, EncodeError> {
        packet.encode_as(self.version, out, MAX_PACKET_SIZE)
    }
}

/// Decodes one MQTT 3.1.1 packet from the front of `buf`; see [`decode_as`].
pub fn decode(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    decode_as(Version::V311, buf, max_packet_size)
}

/// Decodes one packet of `version` from the front of `buf` (a CONNECT in whatever version it
/// names).
///
/// - `Ok(Some(packet))`: the packet's bytes were removed from `buf`.
/// - `Ok(None)`: `buf` holds only part of a packet; nothing was consumed. Read more and call again.
/// - `Err(_)`: the stream is not valid MQTT; the connection must be closed [MQTT-4.8.0-1].
///
/// A fixed header that announces more than `max_packet_size` bytes is refused before the body is
/// buffered or anything is allocated.
pub fn decode_as(version: Version, buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    let Some(header) = wire::FixedHeader::parse(buf)? else {
        return Ok(None);
    };
    let size = header.header_len + header.remaining_len;
    if size > max_packet_size {
        return Err(DecodeError::PacketTooLarge { size, max: max_packet_size });
    }
    // The type and flags are checked before waiting for the body, so garbage is refused early.
    let packet_type = PacketType::from_u8(header.byte1 >> 4, version)?;
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
    let v = version;
    let packet = match packet_type {
        PacketType::Connect => Packet::Connect(Connect::read(&mut r)?),
        PacketType::Connack => Packet::Connack(Connack::read(&mut r, v)?),
        PacketType::Publish => Packet::Publish(Publish::read(flags, &mut r, v)?),
        PacketType::Puback => Packet::Puback(Ack::read(&mut r, v)?),
        PacketType::Pubrec => Packet::Pubrec(Ack::read(&mut r, v)?),
        PacketType::Pubrel => Packet::Pubrel(Ack::read(&mut r, v)?),
        PacketType::Pubcomp => Packet::Pubcomp(Ack::read(&mut r, v)?),
        PacketType::Subscribe => Packet::Subscribe(Subscribe::read(&mut r, v)?),
        PacketType::Suback => Packet::Suback(Suback::read(&mut r, v)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::read(&mut r, v)?),
        PacketType::Unsuback => Packet::Unsuback(Unsuback::read(&mut r, v)?),
        PacketType::Pingreq => Packet::Pingreq,
        PacketType::Pingresp => Packet::Pingresp,
        PacketType::Disconnect => Packet::Disconnect(Disconnect::read(&mut r, v)?),
        PacketType::Auth => Packet::Auth(Auth::read(&mut r)?),
    };
    r.finish()?;
    Ok(Some(packet))
}
