//! PUBLISH (spec section 3.3) and its acknowledgements PUBACK, PUBREC, PUBREL and PUBCOMP
//! (sections 3.4 to 3.7), which share one shape: a packet identifier, and in 5.0 a reason code
//! and properties.

use bytes::{BufMut, Bytes, BytesMut};

use super::connect::check_properties;
use super::properties::{Place, Properties};
use super::wire::{field_len, put_binary, Reader};
use super::{DecodeError, EncodeError, PacketId, PacketType, QoS, ReasonCode, Version};
use crate::topic;

/// A PUBLISH packet. `pkid` is `Some` exactly when `qos` is above 0 [MQTT-2.3.1-1] [MQTT-2.3.1-5];
/// use [`Publish::new`] to keep that true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    pub topic: String,
    pub pkid: Option<PacketId>,
    pub payload: Bytes,
    /// 5.0 PUBLISH properties; empty in 3.1.1. With a Topic Alias the topic may be empty.
    pub properties: Properties,
}

impl Publish {
    /// A PUBLISH with DUP clear. `pkid` is ignored for QoS 0 and must be `Some` otherwise.
    pub fn new(
        topic: impl Into<String>,
        qos: QoS,
        payload: impl Into<Bytes>,
        retain: bool,
        pkid: Option<PacketId>,
    ) -> Publish {
        Publish {
            dup: false,
            qos,
            retain,
            topic: topic.into(),
            pkid: if qos == QoS::AtMostOnce { None } else { pkid },
            payload: payload.into(),
            properties: Properties::new(),
        }
    }

    pub(super) fn read(flags: u8, r: &mut Reader, v: Version) -> Result<Publish, DecodeError> {
        let dup = flags & 0b1000 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQos)?; // [MQTT-3.3.1-4]
        let retain = flags & 0b0001 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupWithQos0); // [MQTT-3.3.1-2]
        }
        let topic = r.string("topic name")?; // [MQTT-3.3.2-1] [MQTT5-3.3.2-1]
        let pkid = match qos {
            QoS::AtMostOnce => None,   // [MQTT-2.3.1-5] [MQTT5-2.2.1-2]
            _ => Some(r.packet_id()?), // [MQTT-2.3.1-1]
        };
        let properties = match v {
            Version::V5 => Properties::read(r, Place::Packet(PacketType::Publish))?,
            Version::V311 => Properties::new(),
        };
        // In 5.0 an empty topic stands for the one a Topic Alias names (section 3.3.2.3.4).
        let aliased = topic.is_empty() && properties.topic_alias().is_some();
        if topic.is_empty() && v == Version::V5 && !aliased {
            return Err(DecodeError::EmptyTopicWithoutAlias);
        }
        if !aliased {
            // [MQTT-3.3.2-2] [MQTT5-3.3.2-2]
            topic::validate_name(&topic).map_err(DecodeError::InvalidTopicName)?;
        }
        let payload = r.rest();
        Ok(Publish { dup, qos, retain, topic, pkid, payload, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        if self.dup && self.qos == QoS::AtMostOnce {
            return Err(EncodeError::DupWithQos0); // [MQTT-3.3.1-2] [MQTT5-3.3.1-2]
        }
        check_properties(&self.properties, Place::Packet(PacketType::Publish), v == Version::V5)?;
        if self.topic.is_empty() && v == Version::V5 {
            if self.properties.topic_alias().is_none() {
                return Err(EncodeError::EmptyTopicWithoutAlias);
            }
        } else {
            topic::validate_name(&self.topic).map_err(EncodeError::InvalidTopicName)?;
        }
        // A QoS 0 PUBLISH has no identifier [MQTT-2.3.1-5]; QoS 1 and 2 must have one.
        if self.pkid.is_some() != (self.qos != QoS::AtMostOnce) {
            return Err(EncodeError::PacketIdMismatch { qos: self.qos.as_u8() });
            // [MQTT-2.3.1-1] [MQTT-2.3.1-5]
        }
        Ok(())
    }

    pub(super) fn flags(&self) -> u8 {
        ((self.dup as u8) << 3) | (self.qos.as_u8() << 1) | self.retain as u8
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        let props = if v == Version::V5 { self.properties.wire_len() } else { 0 };
        field_len(self.topic.as_bytes()) + if self.pkid.is_some() { 2 } else { 0 } + props + self.payload.len()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        // `validate` checked the topic name (no U+0000, at most 65,535 bytes).
        put_binary(out, "topic name", self.topic.as_bytes())?;
        if let Some(pkid) = self.pkid {
            out.put_u16(pkid.get());
        }
        if v == Version::V5 {
            self.properties.write(out)?;
        }
        out.put_slice(&self.payload);
        Ok(())
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP: the identifier of the PUBLISH (or PUBREL) it answers
/// [MQTT-2.3.1-6] [MQTT5-2.2.1-5], and in 5.0 a reason code and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub id: PacketId,
    /// Always Success in 3.1.1.
    pub reason: ReasonCode,
    /// Empty in 3.1.1.
    pub properties: Properties,
}

impl Ack {
    /// Success, no properties: the only form 3.1.1 has.
    pub fn new(id: PacketId) -> Ack {
        Ack { id, reason: ReasonCode::SUCCESS, properties: Properties::new() }
    }

    /// A 5.0 acknowledgement with `reason`.
    pub fn with_reason(id: PacketId, reason: ReasonCode) -> Ack {
        Ack { id, reason, properties: Properties::new() }
    }

    /// A 5.0 acknowledgement is two bytes when Success with no properties, three with a reason
    /// code alone, and longer with properties (section 3.4.2.1).
    pub(super) fn read(r: &mut Reader, v: Version) -> Result<Ack, DecodeError> {
        let packet = r.packet();
        let id = r.packet_id()?;
        if v == Version::V311 || r.is_empty() {
            return Ok(Ack::new(id));
        }
        let code = r.u8("reason code")?;
        if !ReasonCode(code).allowed_in(packet) {
            return Err(DecodeError::InvalidReasonCode { packet, code });
        }
        let properties = if r.is_empty() { Properties::new() } else { Properties::read(r, Place::Packet(packet))? };
        Ok(Ack { id, reason: ReasonCode(code), properties })
    }

    pub(super) fn validate(&self, packet: PacketType, v: Version) -> Result<(), EncodeError> {
        if v == Version::V311 {
            if self.reason != ReasonCode::SUCCESS {
                return Err(EncodeError::NotInV311("a reason code"));
            }
        } else if !self.reason.allowed_in(packet) {
            return Err(EncodeError::InvalidReasonCode { packet, code: self.reason.0 });
        }
        check_properties(&self.properties, Place::Packet(packet), v == Version::V5)
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        match v {
            Version::V5 if !self.properties.is_empty() => 3 + self.properties.wire_len(),
            Version::V5 if self.reason != ReasonCode::SUCCESS => 3,
            _ => 2,
        }
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        out.put_u16(self.id.get());
        if self.body_len(v) > 2 {
            out.put_u8(self.reason.0);
        }
        if self.body_len(v) > 3 {
            self.properties.write(out)?;
        }
        Ok(())
    }
}

impl From<PacketId> for Ack {
    fn from(id: PacketId) -> Ack {
        Ack::new(id)
    }
}
