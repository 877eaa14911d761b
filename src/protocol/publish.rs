//! PUBLISH (spec section 3.3). Its acknowledgements PUBACK, PUBREC, PUBREL and PUBCOMP carry only
//! a packet identifier and are plain `Packet` variants.

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{field_len, put_binary, Reader};
use super::{DecodeError, EncodeError, PacketId, QoS};
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
        }
    }

    pub(super) fn read(flags: u8, r: &mut Reader) -> Result<Publish, DecodeError> {
        let dup = flags & 0b1000 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0b11).ok_or(DecodeError::InvalidQos)?; // [MQTT-3.3.1-4]
        let retain = flags & 0b0001 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupWithQos0); // [MQTT-3.3.1-2]
        }
        let topic = r.string("topic name")?; // [MQTT-3.3.2-1]
        topic::validate_name(&topic).map_err(DecodeError::InvalidTopicName)?; // [MQTT-3.3.2-2]
        let pkid = match qos {
            QoS::AtMostOnce => None,   // [MQTT-2.3.1-5]
            _ => Some(r.packet_id()?), // [MQTT-2.3.1-1]
        };
        let payload = r.rest();
        Ok(Publish { dup, qos, retain, topic, pkid, payload })
    }

    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        if self.dup && self.qos == QoS::AtMostOnce {
            return Err(EncodeError::DupWithQos0); // [MQTT-3.3.1-2]
        }
        topic::validate_name(&self.topic).map_err(EncodeError::InvalidTopicName)?;
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

    pub(super) fn body_len(&self) -> usize {
        field_len(self.topic.as_bytes()) + if self.pkid.is_some() { 2 } else { 0 } + self.payload.len()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        // `validate` checked the topic name (no U+0000, at most 65,535 bytes).
        put_binary(out, "topic name", self.topic.as_bytes())?;
        if let Some(pkid) = self.pkid {
            out.put_u16(pkid.get());
        }
        out.put_slice(&self.payload);
        Ok(())
    }
}
