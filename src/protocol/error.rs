//! Codec errors. Each variant names what was wrong and, where one applies, the normative
//! statement it breaks: [`DecodeError::rule`] gives the MQTT 3.1.1 ID and
//! [`DecodeError::rule_v5`] the MQTT 5.0 one (written `MQTT5-…`, so the two lists never mix), and
//! [`DecodeError::reason_code`] the 5.0 reason code a receiver sends before closing. No variant
//! carries an IO error: the codec never touches a socket.

use std::fmt;

use super::properties::PropertyProblem;
use super::{PacketType, ReasonCode};
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

    // ----- MQTT 5.0 only -----
    /// A variable byte integer (a property length, an identifier) with a fifth byte.
    #[error("malformed variable byte integer in {field}: more than 4 bytes")]
    MalformedVarInt { field: &'static str },
    /// A property identifier the spec does not define (5.0 section 2.2.2.2).
    #[error("unknown property identifier {0:#04x}")]
    UnknownProperty(u8),
    /// A property in the wrong packet, repeated, or out of range (5.0 section 2.2.2.2).
    #[error("{0}")]
    Property(PropertyProblem),
    /// A reason code the packet may not carry.
    #[error("{packet:?} with reason code {code:#04x}, which it may not carry")]
    InvalidReasonCode { packet: PacketType, code: u8 },
    /// A 5.0 PUBLISH with an empty topic name and no Topic Alias (section 3.3.2.1).
    #[error("PUBLISH with an empty topic name and no Topic Alias")]
    EmptyTopicWithoutAlias,
    /// Subscription options with bits 6 and 7 set [MQTT5-3.8.3-5].
    #[error("SUBSCRIBE options byte {0:#04x} has reserved bits set [MQTT5-3.8.3-5]")]
    SubscriptionOptionsReserved(u8),
    /// Subscription options with QoS 3 (5.0 section 3.8.3.1).
    #[error("SUBSCRIBE options byte {0:#04x} requests QoS 3")]
    SubscriptionQos(u8),
    /// Retain Handling 3 (5.0 section 3.8.3.1).
    #[error("SUBSCRIBE options byte {0:#04x} has Retain Handling 3")]
    RetainHandling(u8),
    /// No Local on a shared subscription [MQTT5-3.8.3-4].
    #[error("No Local set on shared subscription {0:?} [MQTT5-3.8.3-4]")]
    NoLocalOnShared(String),
    /// A 5.0 UNSUBACK with no reason codes: one per filter of the UNSUBSCRIBE (section 3.11.3).
    #[error("UNSUBACK without reason codes")]
    EmptyUnsuback,
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
            // 5.0-only errors cannot arise from a 3.1.1 stream.
            _ => return None,
        })
    }

    /// The MQTT 5.0 statement this error breaks, if the spec numbers one. Several 5.0 rules
    /// (a repeated property, a property in the wrong packet) are stated without an ID; their
    /// message names the rule instead.
    pub fn rule_v5(&self) -> Option<&'static str> {
        use DecodeError::*;
        Some(match self {
            InvalidFlags { packet, .. } => match packet {
                PacketType::Pubrel => "MQTT5-3.6.1-1",
                PacketType::Subscribe => "MQTT5-3.8.1-1",
                PacketType::Unsubscribe => "MQTT5-3.10.1-1",
                PacketType::Disconnect => "MQTT5-3.14.1-1",
                PacketType::Auth => "MQTT5-3.15.1-1",
                _ => "MQTT5-2.1.3-1",
            },
            InvalidQos => "MQTT5-3.3.1-4",
            DupWithQos0 => "MQTT5-3.3.1-2",
            InvalidUtf8 { .. } => "MQTT5-1.5.4-1",
            NullCharacter { .. } => "MQTT5-1.5.4-2",
            InvalidProtocolName(_) => "MQTT5-3.1.2-1",
            UnsupportedProtocolLevel(_) => "MQTT5-3.1.2-2",
            ConnectReservedFlag => "MQTT5-3.1.2-3",
            WillQosWithoutWill => "MQTT5-3.1.2-11",
            WillRetainWithoutWill => "MQTT5-3.1.2-13",
            InvalidWillQos => "MQTT5-3.1.2-12",
            InvalidTopicName(e) | InvalidTopicFilter(e) => e.rule_v5(),
            EmptySubscribe => "MQTT5-3.8.3-2",
            EmptyUnsubscribe => "MQTT5-3.10.3-2",
            SessionPresentOnRefusal => "MQTT5-3.2.2-6",
            InvalidConnackFlags(_) => "MQTT5-3.2.2-1",
            InvalidSubackCode(_) => "MQTT5-3.9.3-2",
            EmptySuback => "MQTT5-3.8.4-6",
            EmptyUnsuback => "MQTT5-3.11.3-1",
            InvalidReasonCode { packet, .. } => return ReasonCode::rule_for(*packet),
            InvalidConnackCode(_) => "MQTT5-3.2.2-8",
            SubscriptionOptionsReserved(_) => "MQTT5-3.8.3-5",
            NoLocalOnShared(_) => "MQTT5-3.8.3-4",
            Property(PropertyProblem::TopicAliasZero) => "MQTT5-3.3.2-8",
            Property(PropertyProblem::ResponseTopic(_)) => "MQTT5-3.3.2-14",
            ZeroPacketId { .. }
            | PasswordWithoutUsername
            | InvalidSubscribeOptions(_)
            | PacketTooLarge { .. }
            | MalformedRemainingLength
            | ReservedPacketType(_)
            | Truncated { .. }
            | TrailingBytes { .. }
            | MalformedVarInt { .. }
            | UnknownProperty(_)
            | Property(_)
            | EmptyTopicWithoutAlias
            | SubscriptionQos(_)
            | RetainHandling(_) => return None,
        })
    }

    /// The reason code a 5.0 receiver sends (in CONNACK for a CONNECT, in DISCONNECT otherwise)
    /// before it closes the connection: Malformed Packet (0x81) for what cannot be parsed,
    /// Protocol Error (0x82) for data the protocol does not allow (section 4.13), and the
    /// specific codes the spec gives (0x84 protocol version, 0x94 topic alias, 0x95 too large).
    pub fn reason_code(&self) -> ReasonCode {
        use DecodeError::*;
        match self {
            PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
            UnsupportedProtocolLevel(_) | InvalidProtocolName(_) => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
            Property(PropertyProblem::TopicAliasZero) => ReasonCode::TOPIC_ALIAS_INVALID,
            Property(
                PropertyProblem::Duplicate { .. } | PropertyProblem::Value { .. } | PropertyProblem::ResponseTopic(_),
            )
            | InvalidReasonCode { .. }
            | InvalidConnackCode(_)
            | InvalidSubackCode(_)
            | SessionPresentOnRefusal
            | EmptyTopicWithoutAlias
            | SubscriptionQos(_)
            | RetainHandling(_)
            | NoLocalOnShared(_)
            | ReservedPacketType(_) => ReasonCode::PROTOCOL_ERROR,
            _ => ReasonCode::MALFORMED_PACKET,
        }
    }
}

impl fmt::Display for PropertyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyProblem::NotAllowed { property, place } => {
                write!(f, "{property} may not appear in {} (5.0 section 2.2.2.2: a Malformed Packet)", place.name())
            }
            PropertyProblem::Duplicate { property, place } => {
                write!(f, "{property} appears more than once in {} (a Protocol Error)", place.name())
            }
            PropertyProblem::Value { property, why } => write!(f, "{property} {why} (a Protocol Error)"),
            PropertyProblem::TopicAliasZero => write!(f, "Topic Alias 0 [MQTT5-3.3.2-8]"),
            PropertyProblem::ResponseTopic(e) => write!(f, "Response Topic is not a topic name: {e} [MQTT5-3.3.2-14]"),
        }
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

    // ----- MQTT 5.0 -----
    /// A variable byte integer above 268,435,455.
    #[error("{field} {value} does not fit a variable byte integer")]
    VarIntTooLarge { field: &'static str, value: u32 },
    /// A property in the wrong packet, repeated, or out of range.
    #[error("{0}")]
    Property(PropertyProblem),
    /// A reason code the packet may not carry.
    #[error("{packet:?} may not carry reason code {code:#04x}")]
    InvalidReasonCode { packet: PacketType, code: u8 },
    /// Something only MQTT 5.0 can carry (properties, a reason code, AUTH), asked for in 3.1.1.
    #[error("{0} cannot be written in MQTT 3.1.1")]
    NotInV311(&'static str),
    /// A 5.0 PUBLISH with an empty topic name and no Topic Alias.
    #[error("PUBLISH with an empty topic name and no Topic Alias")]
    EmptyTopicWithoutAlias,
    /// No Local on a shared subscription [MQTT5-3.8.3-4].
    #[error("No Local set on shared subscription {0:?} [MQTT5-3.8.3-4]")]
    NoLocalOnShared(String),
    /// A 5.0 UNSUBACK with no reason codes.
    #[error("UNSUBACK without reason codes")]
    EmptyUnsuback,
}
