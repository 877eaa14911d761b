//! MQTT 5.0 properties (spec section 2.2.2): every property identifier with its data type, the
//! packets it may appear in, how often, and the values it may take; and the property list that
//! CONNECT, CONNACK, PUBLISH, the will, the acknowledgements, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT
//! and AUTH carry. The table below (section 2.2.2.2, table 2-4) is the one place these facts live:
//! the decoder and the encoder both check against it, so neither accepts what the other refuses.
//!
//! A list keeps the properties in wire order, which user properties must keep [MQTT5-3.3.2-18]
//! [MQTT5-3.1.3-10]; an empty list allocates nothing, so a 3.1.1 message pays one `Vec` header.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{put_binary, put_string, put_var_int, remaining_length_len, Reader};
use super::{DecodeError, EncodeError, PacketType, QoS};
use crate::topic;

/// Where a property list sits: a packet's own list, or the will's inside CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Packet(PacketType),
    Will,
}

impl Place {
    fn bit(self) -> u16 {
        match self {
            Place::Will => 1,
            Place::Packet(t) => 1 << (t as u16),
        }
    }

    /// What the spec calls this place, for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Place::Will => "will properties",
            Place::Packet(t) => t.name(),
        }
    }
}

const WILL: u16 = 1;
const CONNECT: u16 = 1 << 1;
const CONNACK: u16 = 1 << 2;
const PUBLISH: u16 = 1 << 3;
const PUBACK: u16 = 1 << 4;
const PUBREC: u16 = 1 << 5;
const PUBREL: u16 = 1 << 6;
const PUBCOMP: u16 = 1 << 7;
const SUBSCRIBE: u16 = 1 << 8;
const SUBACK: u16 = 1 << 9;
const UNSUBSCRIBE: u16 = 1 << 10;
const UNSUBACK: u16 = 1 << 11;
const DISCONNECT: u16 = 1 << 14;
const AUTH: u16 = 1 << 15;
const EVERYWHERE: u16 = WILL
    | CONNECT
    | CONNACK
    | PUBLISH
    | PUBACK
    | PUBREC
    | PUBREL
    | PUBCOMP
    | SUBSCRIBE
    | SUBACK
    | UNSUBSCRIBE
    | UNSUBACK
    | DISCONNECT
    | AUTH;

/// Reading, writing and sizing each of the seven data types of section 1.5.
mod kind {
    use super::*;

    pub mod byte {
        use super::*;
        pub fn read(r: &mut Reader, name: &'static str) -> Result<u8, DecodeError> {
            r.u8(name)
        }
        pub fn len(_: &u8) -> usize {
            1
        }
        pub fn write(out: &mut BytesMut, v: &u8, _: &'static str) -> Result<(), EncodeError> {
            out.put_u8(*v);
            Ok(())
        }
    }

    pub mod two {
        use super::*;
        pub fn read(r: &mut Reader, name: &'static str) -> Result<u16, DecodeError> {
            r.u16(name)
        }
        pub fn len(_: &u16) -> usize {
            2
        }
        pub fn write(out: &mut BytesMut, v: &u16, _: &'static str) -> Result<(), EncodeError> {
            out.put_u16(*v);
            Ok(())
        }
    }

    pub mod four {
        use super::*;
        pub fn read(r: &mut Reader, name: &'static str) -> Result<u32, DecodeError> {
            r.u32(name)
        }
        pub fn len(_: &u32) -> usize {
            4
        }
        pub fn write(out: &mut BytesMut, v: &u32, _: &'static str) -> Result<(), EncodeError> {
            out.put_u32(*v);
            Ok(())
        }
    }

    pub mod var {
        use super::*;
        pub fn read(r: &mut Reader, name: &'static str) -> Result<u32, DecodeError> {
            r.var_int(name)
        }
        pub fn len(v: &u32) -> usize {
            remaining_length_len(*v as usize)
        }
        pub fn write(out: &mut BytesMut, v: &u32, name: &'static str) -> Result<(), EncodeError> {
            if *v as usize > crate::protocol::MAX_REMAINING_LENGTH {
                return Err(EncodeError::VarIntTooLarge { field: name, value: *v });
            }
            put_var_int(out, *v);
            Ok(())
        }
    }

    pub mod utf8 {
        use super::*;
        pub fn read(r: &mut Reader, name: &'static str) -> Result<String, DecodeError> {
            r.string(name) // [MQTT5-1.5.4-1] [MQTT5-1.5.4-2]
        }
        pub fn len(v: &str) -> usize {
            2 + v.len()
        }
        pub fn write(out: &mut BytesMut, v: &str, name: &'static str) -> Result<(), EncodeError> {
            put_string(out, name, v)
        }
    }

    pub mod binary {
        use super::*;
        pub fn read(r: &mut Reader, name: &'static str) -> Result<Bytes, DecodeError> {
            r.binary(name)
        }
        pub fn len(v: &Bytes) -> usize {
            2 + v.len()
        }
        pub fn write(out: &mut BytesMut, v: &Bytes, name: &'static str) -> Result<(), EncodeError> {
            put_binary(out, name, v)
        }
    }

    /// A UTF-8 string pair: both halves are UTF-8 strings [MQTT5-1.5.7-1].
    pub mod pair {
        use super::*;
        pub fn read(r: &mut Reader, name: &'static str) -> Result<(String, String), DecodeError> {
            Ok((r.string(name)?, r.string(name)?))
        }
        pub fn len(v: &(String, String)) -> usize {
            4 + v.0.len() + v.1.len()
        }
        pub fn write(out: &mut BytesMut, v: &(String, String), name: &'static str) -> Result<(), EncodeError> {
            put_string(out, name, &v.0)?;
            put_string(out, name, &v.1)
        }
    }
}

macro_rules! property_table {
    ($($id:literal $variant:ident($ty:ty, $kind:ident) $getter:ident $name:literal [$places:expr];)*) => {
        /// One property, by its identifier (section 2.2.2.2); the value as the wire carries it.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Property {
            $(#[doc = $name] $variant($ty),)*
        }

        impl Property {
            /// The property identifier.
            pub fn id(&self) -> u8 {
                match self { $(Property::$variant(_) => $id,)* }
            }

            /// The spec's name for it.
            pub fn name(&self) -> &'static str {
                match self { $(Property::$variant(_) => $name,)* }
            }

            /// The spec's name for an identifier, if it is one.
            pub fn name_of(id: u8) -> Option<&'static str> {
                match id { $($id => Some($name),)* _ => None }
            }

            /// Every place this identifier may appear (an unknown identifier: none).
            fn places_of(id: u8) -> u16 {
                match id { $($id => $places,)* _ => 0 }
            }

            fn read(id: u8, r: &mut Reader) -> Result<Property, DecodeError> {
                match id {
                    $($id => Ok(Property::$variant(kind::$kind::read(r, $name)?)),)*
                    other => Err(DecodeError::UnknownProperty(other)),
                }
            }

            fn value_len(&self) -> usize {
                match self { $(Property::$variant(v) => kind::$kind::len(v),)* }
            }

            fn write_value(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
                match self { $(Property::$variant(v) => kind::$kind::write(out, v, $name),)* }
            }
        }

        impl Properties {
            $(
                #[doc = concat!("The ", $name, ", if present (the first, for one that may repeat).")]
                pub fn $getter(&self) -> Option<&$ty> {
                    self.0.iter().find_map(|p| match p { Property::$variant(v) => Some(v), _ => None })
                }
            )*
        }
    };
}

property_table! {
    0x01 PayloadFormatIndicator(u8, byte) payload_format_indicator "Payload Format Indicator" [PUBLISH | WILL];
    0x02 MessageExpiryInterval(u32, four) message_expiry_interval "Message Expiry Interval" [PUBLISH | WILL];
    0x03 ContentType(String, utf8) content_type "Content Type" [PUBLISH | WILL];
    0x08 ResponseTopic(String, utf8) response_topic "Response Topic" [PUBLISH | WILL];
    0x09 CorrelationData(Bytes, binary) correlation_data "Correlation Data" [PUBLISH | WILL];
    0x0B SubscriptionIdentifier(u32, var) subscription_identifier "Subscription Identifier" [PUBLISH | SUBSCRIBE];
    0x11 SessionExpiryInterval(u32, four) session_expiry_interval "Session Expiry Interval" [CONNECT | CONNACK | DISCONNECT];
    0x12 AssignedClientIdentifier(String, utf8) assigned_client_identifier "Assigned Client Identifier" [CONNACK];
    0x13 ServerKeepAlive(u16, two) server_keep_alive "Server Keep Alive" [CONNACK];
    0x15 AuthenticationMethod(String, utf8) authentication_method "Authentication Method" [CONNECT | CONNACK | AUTH];
    0x16 AuthenticationData(Bytes, binary) authentication_data "Authentication Data" [CONNECT | CONNACK | AUTH];
    0x17 RequestProblemInformation(u8, byte) request_problem_information "Request Problem Information" [CONNECT];
    0x18 WillDelayInterval(u32, four) will_delay_interval "Will Delay Interval" [WILL];
    0x19 RequestResponseInformation(u8, byte) request_response_information "Request Response Information" [CONNECT];
    0x1A ResponseInformation(String, utf8) response_information "Response Information" [CONNACK];
    0x1C ServerReference(String, utf8) server_reference "Server Reference" [CONNACK | DISCONNECT];
    0x1F ReasonString(String, utf8) reason_string "Reason String"
        [CONNACK | PUBACK | PUBREC | PUBREL | PUBCOMP | SUBACK | UNSUBACK | DISCONNECT | AUTH];
    0x21 ReceiveMaximum(u16, two) receive_maximum "Receive Maximum" [CONNECT | CONNACK];
    0x22 TopicAliasMaximum(u16, two) topic_alias_maximum "Topic Alias Maximum" [CONNECT | CONNACK];
    0x23 TopicAlias(u16, two) topic_alias "Topic Alias" [PUBLISH];
    0x24 MaximumQos(u8, byte) maximum_qos "Maximum QoS" [CONNACK];
    0x25 RetainAvailable(u8, byte) retain_available "Retain Available" [CONNACK];
    0x26 UserProperty((String, String), pair) user_property "User Property" [EVERYWHERE];
    0x27 MaximumPacketSize(u32, four) maximum_packet_size "Maximum Packet Size" [CONNECT | CONNACK];
    0x28 WildcardSubscriptionAvailable(u8, byte) wildcard_subscription_available "Wildcard Subscription Available" [CONNACK];
    0x29 SubscriptionIdentifierAvailable(u8, byte) subscription_identifier_available "Subscription Identifier Available" [CONNACK];
    0x2A SharedSubscriptionAvailable(u8, byte) shared_subscription_available "Shared Subscription Available" [CONNACK];
}

/// Identifiers the broker and client name in code.
pub mod id {
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    pub const WILL_DELAY_INTERVAL: u8 = 0x18;
    pub const REASON_STRING: u8 = 0x1F;
    pub const TOPIC_ALIAS: u8 = 0x23;
    pub const USER_PROPERTY: u8 = 0x26;
}

/// The largest Subscription Identifier (section 3.8.2.1.2).
pub const MAX_SUBSCRIPTION_IDENTIFIER: u32 = 268_435_455;

impl Property {
    /// Whether this identifier may appear more than once in `place`: User Property anywhere,
    /// Subscription Identifier in a PUBLISH (one per matching subscription [MQTT5-3.3.4-4]).
    fn may_repeat(id: u8, place: Place) -> bool {
        id == 0x26 || (id == 0x0B && place == Place::Packet(PacketType::Publish))
    }

    /// Checks a value against the range the spec gives it; every refusal here is a Protocol
    /// Error (0x82), except a Topic Alias of 0 (0x94) [MQTT5-3.3.2-8].
    fn check_value(&self) -> Result<(), PropertyProblem> {
        let bad = |why: &'static str| Err(PropertyProblem::Value { property: self.name(), why });
        match self {
            Property::PayloadFormatIndicator(v)
            | Property::RequestProblemInformation(v)
            | Property::RequestResponseInformation(v)
            | Property::MaximumQos(v)
            | Property::RetainAvailable(v)
            | Property::WildcardSubscriptionAvailable(v)
            | Property::SubscriptionIdentifierAvailable(v)
            | Property::SharedSubscriptionAvailable(v)
                if *v > 1 =>
            {
                bad("must be 0 or 1")
            }
            Property::ReceiveMaximum(0) => bad("must not be 0"),
            Property::MaximumPacketSize(0) => bad("must not be 0"),
            Property::SubscriptionIdentifier(0) => bad("must be from 1 to 268,435,455"),
            Property::SubscriptionIdentifier(v) if *v > MAX_SUBSCRIPTION_IDENTIFIER => {
                bad("must be from 1 to 268,435,455")
            }
            Property::TopicAlias(0) => Err(PropertyProblem::TopicAliasZero),
            // A response topic is a topic name: no wildcards [MQTT5-3.3.2-14].
            Property::ResponseTopic(t) => topic::validate_name(t).map_err(PropertyProblem::ResponseTopic),
            _ => Ok(()),
        }
    }
}

/// What is wrong with a property list, before it becomes a decode or an encode error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyProblem {
    NotAllowed { property: &'static str, place: Place },
    Duplicate { property: &'static str, place: Place },
    Value { property: &'static str, why: &'static str },
    TopicAliasZero,
    ResponseTopic(topic::TopicError),
}

/// A property list in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(pub Vec<Property>);

impl Properties {
    pub fn new() -> Properties {
        Properties(Vec::new())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Property> {
        self.0.iter()
    }

    /// Adds a property at the end (user properties keep their order this way).
    pub fn push(&mut self, p: Property) {
        self.0.push(p);
    }

    /// Sets a property that may appear once: replaces one with the same identifier, or adds it.
    pub fn set(&mut self, p: Property) {
        match self.0.iter_mut().find(|q| q.id() == p.id()) {
            Some(q) => *q = p,
            None => self.0.push(p),
        }
    }

    /// Removes every property with identifier `id`.
    pub fn remove(&mut self, id: u8) {
        self.0.retain(|p| p.id() != id);
    }

    /// Builder form of [`Properties::push`].
    pub fn with(mut self, p: Property) -> Properties {
        self.push(p);
        self
    }

    /// The user properties, in order.
    pub fn user_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|p| match p {
            Property::UserProperty((k, v)) => Some((k.as_str(), v.as_str())),
            _ => None,
        })
    }

    /// Every Subscription Identifier, in order.
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().filter_map(|p| match p {
            Property::SubscriptionIdentifier(v) => Some(*v),
            _ => None,
        })
    }

    /// The Maximum QoS as a QoS; absent means 2 (section 3.2.2.3.4).
    pub fn maximum_qos_or_default(&self) -> QoS {
        self.maximum_qos().and_then(|q| QoS::from_u8(*q)).unwrap_or(QoS::ExactlyOnce)
    }

    /// Checks every property against the table: allowed in `place`, not repeated unless it may
    /// be, and a value in range.
    pub fn check(&self, place: Place) -> Result<(), PropertyProblem> {
        let mut seen = 0u64;
        for p in &self.0 {
            check_one(p, place, &mut seen)?;
        }
        Ok(())
    }

    /// Bytes of the properties alone, without the property length.
    fn content_len(&self) -> usize {
        self.0.iter().map(|p| 1 + p.value_len()).sum()
    }

    /// Bytes on the wire, property length included.
    pub fn wire_len(&self) -> usize {
        let n = self.content_len();
        remaining_length_len(n) + n
    }

    /// Writes the property length and the properties (section 2.2.2.1); an empty list is a
    /// property length of zero [MQTT5-2.2.2-1].
    pub fn write(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_var_int(out, self.content_len() as u32);
        for p in &self.0 {
            out.put_u8(p.id());
            p.write_value(out)?;
        }
        Ok(())
    }

    /// Reads a property length and that many bytes of properties for `place`, refusing any the
    /// table does not allow there.
    /// Properties as `write` laid them out (length first), read back alone, as allowed in
    /// `place` (what a persistence file keeps of a message or will).
    pub fn from_wire(bytes: &[u8], place: Place) -> Result<Properties, DecodeError> {
        let packet = match place {
            Place::Packet(t) => t,
            Place::Will => PacketType::Connect,
        };
        let mut r = Reader::new(Bytes::copy_from_slice(bytes), packet);
        let properties = Properties::read(&mut r, place)?;
        if !r.is_empty() {
            return Err(DecodeError::TrailingBytes { packet, extra: r.remaining() });
        }
        Ok(properties)
    }

    pub fn read(r: &mut Reader, place: Place) -> Result<Properties, DecodeError> {
        let len = r.var_int("property length")? as usize;
        let mut body = r.sub(len, "properties")?;
        let mut list = Vec::new();
        let mut seen = 0u64;
        while !body.is_empty() {
            // The identifier is a variable byte integer; every defined one fits one byte.
            let id = body.var_int("property identifier")?;
            let id = u8::try_from(id).map_err(|_| DecodeError::UnknownProperty(0xff))?;
            if Property::places_of(id) == 0 {
                return Err(DecodeError::UnknownProperty(id));
            }
            let p = Property::read(id, &mut body)?;
            check_one(&p, place, &mut seen).map_err(DecodeError::Property)?;
            list.push(p);
        }
        Ok(Properties(list))
    }
}

fn check_one(p: &Property, place: Place, seen: &mut u64) -> Result<(), PropertyProblem> {
    let id = p.id();
    if Property::places_of(id) & place.bit() == 0 {
        return Err(PropertyProblem::NotAllowed { property: p.name(), place });
    }
    let bit = 1u64 << id; // every identifier is below 64
    if *seen & bit != 0 && !Property::may_repeat(id, place) {
        return Err(PropertyProblem::Duplicate { property: p.name(), place });
    }
    *seen |= bit;
    p.check_value()
}

impl FromIterator<Property> for Properties {
    fn from_iter<I: IntoIterator<Item = Property>>(iter: I) -> Properties {
        Properties(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_places_each_property() {
        let publish = Place::Packet(PacketType::Publish);
        let connack = Place::Packet(PacketType::Connack);
        assert!(Properties::new().with(Property::TopicAlias(3)).check(publish).is_ok());
        assert_eq!(
            Properties::new().with(Property::TopicAlias(3)).check(connack),
            Err(PropertyProblem::NotAllowed { property: "Topic Alias", place: connack })
        );
        let twice = Properties::new().with(Property::ContentType("a".into())).with(Property::ContentType("b".into()));
        assert!(matches!(twice.check(publish), Err(PropertyProblem::Duplicate { .. })));
        let ids = Properties::new().with(Property::SubscriptionIdentifier(1)).with(Property::SubscriptionIdentifier(2));
        assert!(ids.check(publish).is_ok());
        assert!(ids.check(Place::Packet(PacketType::Subscribe)).is_err());
        assert_eq!(
            Properties::new().with(Property::TopicAlias(0)).check(publish),
            Err(PropertyProblem::TopicAliasZero)
        );
    }

    #[test]
    fn length_is_written_first() {
        let props =
            Properties::new().with(Property::ReceiveMaximum(10)).with(Property::UserProperty(("k".into(), "v".into())));
        let mut out = BytesMut::new();
        props.write(&mut out).unwrap();
        assert_eq!(&out[..], &[10, 0x21, 0, 10, 0x26, 0, 1, b'k', 0, 1, b'v']);
        assert_eq!(props.wire_len(), out.len());
    }
}
