//! Codec errors. Each variant names what was wrong and, where one applies, the MQTT 3.1.1 normative
//! statement it breaks; [`DecodeError::rule`] returns that ID so callers can log or tabulate it.
//! No variant carries an IO error: the codec never touches a socket.

use super::PacketType;
use crate::topic::TopicError;

/// Why a byte sequence is not a valid MQTT 3.1.1 control packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The fixed header announces a packet larger than the caller's maximum.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge { size: usize, max: usize },
    /// The remaining length uses more than four bytes (spec section 2.2.3).
    #[error("malformed remaining length: more than 4 bytes")]
    MalformedRemainingLength,
    /// Packet types 0 and 15 are reserved in MQTT 3.1.1.
    #[error("reserved packet type {0}")]
    ReservedPacketType(u8),
    /// A fixed-header flag nibble differs from the value the spec fixes for that type.
    #[error("invalid fixed-header flags {flags:#06b} for {packet:?} [MQTT-2.2.2-1] [MQTT-2.2.2-2]")]
    InvalidFlags { packet: PacketType, flags: u8 },
    /// A PUBLISH with both QoS bits set.
    #[error("PUBLISH with QoS 3 [MQTT-3.3.1-4]")]
    InvalidQos,
    /// A QoS 0 PUBLISH with DUP set.
    #[error("PUBLISH with QoS 0 and DUP set [MQTT-3.3.1-2]")]
    DupWithQos0,
    /// A packet identifier of zero where one is required.
    #[error("{packet:?} with packet identifier 0 [MQTT-2.3.1-1]")]
    ZeroPacketId { packet: PacketType },
    /// A string field is not well-formed UTF-8 (this includes encoded surrogates).
    #[error("{field} is not well-formed UTF-8 [MQTT-1.5.3-1]")]
    InvalidUtf8 { field: &'static str },
    /// A string field contains U+0000.
    #[error("{field} contains U+0000 [MQTT-1.5.3-2]")]
    NullCharacter { field: &'static str },
    /// The remaining length ends before a field that must be present.
    #[error("{packet:?} ends before its {field}")]
    Truncated { packet: PacketType, field: &'static str },
    /// Bytes are left over after the last field the packet can hold.
    #[error("{packet:?} has {extra} unexpected trailing bytes")]
    TrailingBytes { packet: PacketType, extra: usize },
    /// The CONNECT protocol name is neither "MQTT" nor "MQIsdp".
    #[error("unknown protocol name {0:?} [MQTT-3.1.2-1]")]
    InvalidProtocolName(String),
    /// The protocol level is not one this codec speaks; a server answers CONNACK 0x01.
    #[error("unsupported protocol level {0} [MQTT-3.1.2-2]")]
    UnsupportedProtocolLevel(u8),
    /// The reserved bit of the CONNECT flags is set.
    #[error("CONNECT reserved flag is set [MQTT-3.1.2-3]")]
    ConnectReservedFlag,
    /// Will QoS is non-zero while the will flag is 0.
    #[error("will QoS set without the will flag [MQTT-3.1.2-11] [MQTT-3.1.2-13]")]
    WillQosWithoutWill,
    /// Will retain is set while the will flag is 0.
    #[error("will retain set without the will flag [MQTT-3.1.2-11] [MQTT-3.1.2-15]")]
    WillRetainWithoutWill,
    /// Will QoS is 3.
    #[error("will QoS 3 [MQTT-3.1.2-14]")]
    InvalidWillQos,
    /// The password flag is set while the user name flag is not.
    #[error("password flag set without the user name flag [MQTT-3.1.2-22]")]
    PasswordWithoutUsername,
    /// A PUBLISH or will topic is not a valid topic name.
    #[error("invalid topic name: {0}")]
    InvalidTopicName(TopicError),
    /// A SUBSCRIBE or UNSUBSCRIBE entry is not a valid topic filter.
    #[error("invalid topic filter: {0}")]
    InvalidTopicFilter(TopicError),
    /// A SUBSCRIBE with no topic filter.
    #[error("SUBSCRIBE without topic filters [MQTT-3.8.3-3]")]
    EmptySubscribe,
    /// An UNSUBSCRIBE with no topic filter.
    #[error("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]")]
    EmptyUnsubscribe,
    /// A requested-QoS byte with reserved bits set or QoS 3.
    #[error("SUBSCRIBE requested-QoS byte {0:#04x} has reserved bits or QoS 3 [MQTT-3.8.3-4]")]
    InvalidSubscribeOptions(u8),
    /// CONNACK acknowledge flags with reserved bits set (spec section 3.2.2.1).
    #[error("CONNACK acknowledge flags {0:#04x} have reserved bits set")]
    InvalidConnackFlags(u8),
    /// CONNACK return code above 5 (spec section 3.2.2.3).
    #[error("CONNACK return code {0} is reserved: a server with no return code that applies closes without CONNACK [MQTT-3.2.2-6]")]
    InvalidConnackCode(u8),
    /// A refusing CONNACK with session present set.
    #[error("CONNACK refuses the connection but sets session present [MQTT-3.2.2-4]")]
    SessionPresentOnRefusal,
    /// A SUBACK return code other than 0x00, 0x01, 0x02 or 0x80.
    #[error("SUBACK return code {0:#04x} is not allowed [MQTT-3.9.3-2]")]
    InvalidSubackCode(u8),
    /// A SUBACK with no return codes; every SUBSCRIBE carries at least one filter.
    #[error("SUBACK without return codes [MQTT-3.8.4-5]")]
    EmptySuback,
}

impl DecodeError {
    /// The normative statement this error breaks, if the spec states one.
    pub fn rule(&self) -> Option<&'static str> {
        use DecodeError::*;
        Some(match self {
            InvalidFlags { .. } => "MQTT-2.2.2-2",
            InvalidQos => "MQTT-3.3.1-4",
            DupWithQos0 => "MQTT-3.3.1-2",
            ZeroPacketId { .. } => "MQTT-2.3.1-1",
            InvalidUtf8 { .. } => "MQTT-1.5.3-1",
            NullCharacter { .. } => "MQTT-1.5.3-2",
            InvalidProtocolName(_) => "MQTT-3.1.2-1",
            UnsupportedProtocolLevel(_) => "MQTT-3.1.2-2",
            ConnectReservedFlag => "MQTT-3.1.2-3",
            WillQosWithoutWill => "MQTT-3.1.2-13",
            WillRetainWithoutWill => "MQTT-3.1.2-15",
            InvalidWillQos => "MQTT-3.1.2-14",
            PasswordWithoutUsername => "MQTT-3.1.2-22",
            InvalidTopicName(e) | InvalidTopicFilter(e) => e.rule(),
            EmptySubscribe => "MQTT-3.8.3-3",
            EmptyUnsubscribe => "MQTT-3.10.3-2",
            InvalidSubscribeOptions(_) => "MQTT-3.8.3-4",
            SessionPresentOnRefusal => "MQTT-3.2.2-4",
            InvalidSubackCode(_) => "MQTT-3.9.3-2",
            EmptySuback => "MQTT-3.8.4-5",
            PacketTooLarge { .. }
            | MalformedRemainingLength
            | ReservedPacketType(_)
            | Truncated { .. }
            | TrailingBytes { .. }
            | InvalidConnackFlags(_)
            | InvalidConnackCode(_) => return None,
        })
    }
}

/// Why a packet value cannot be written as MQTT 3.1.1 bytes. The encoder refuses to emit
/// anything the decoder would reject, so our own client and broker cannot break the spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A string or binary field longer than the 65,535 bytes its length prefix can express.
    #[error("{field} is {len} bytes; at most 65535 fit a length prefix")]
    FieldTooLong { field: &'static str, len: usize },
    /// The packet's remaining length would exceed 268,435,455 bytes.
    #[error("remaining length {0} exceeds 268435455")]
    PacketTooLarge(usize),
    /// The encoded packet would exceed the caller's maximum packet size.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    ExceedsMaximum { size: usize, max: usize },
    /// A QoS 0 PUBLISH with DUP set.
    #[error("PUBLISH with QoS 0 and DUP set [MQTT-3.3.1-2]")]
    DupWithQos0,
    /// A string field contains U+0000.
    #[error("{field} contains U+0000 [MQTT-1.5.3-2]")]
    NullCharacter { field: &'static str },
    /// A QoS 0 PUBLISH with a packet identifier, or a QoS 1/2 PUBLISH without one.
    #[error("PUBLISH with QoS {qos} has a packet identifier only if QoS > 0 [MQTT-2.3.1-1] [MQTT-2.3.1-5]")]
    PacketIdMismatch { qos: u8 },
    /// A topic name that is not valid.
    #[error("invalid topic name: {0}")]
    InvalidTopicName(TopicError),
    /// A topic filter that is not valid.
    #[error("invalid topic filter: {0}")]
    InvalidTopicFilter(TopicError),
    /// A SUBSCRIBE with no filters.
    #[error("SUBSCRIBE without topic filters [MQTT-3.8.3-3]")]
    EmptySubscribe,
    /// An UNSUBSCRIBE with no filters.
    #[error("UNSUBSCRIBE without topic filters [MQTT-3.10.3-2]")]
    EmptyUnsubscribe,
    /// A SUBACK with no return codes.
    #[error("SUBACK without return codes [MQTT-3.8.4-5]")]
    EmptySuback,
    /// A password without a user name.
    #[error("password without a user name [MQTT-3.1.2-22]")]
    PasswordWithoutUsername,
    /// A refusing CONNACK with session present set.
    #[error("CONNACK refuses the connection but sets session present [MQTT-3.2.2-4]")]
    SessionPresentOnRefusal,
}
