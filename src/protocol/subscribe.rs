//! SUBSCRIBE, SUBACK and UNSUBSCRIBE (spec sections 3.8 to 3.10). UNSUBACK carries only a packet
//! identifier and is a plain `Packet` variant.

use bytes::{BufMut, BytesMut};

use super::wire::{field_len, put_string, Reader};
use super::{DecodeError, EncodeError, PacketId, QoS};
use crate::topic;

/// One topic filter and the maximum QoS requested for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    pub filter: String,
    pub qos: QoS,
}

/// A SUBSCRIBE packet: never empty [MQTT-3.8.3-3].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub pkid: PacketId,
    pub filters: Vec<SubscribeFilter>,
}

impl Subscribe {
    pub(super) fn read(r: &mut Reader) -> Result<Subscribe, DecodeError> {
        let pkid = r.packet_id()?; // [MQTT-2.3.1-1]
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = r.string("topic filter")?; // [MQTT-3.8.3-1]
            topic::validate_filter(&filter).map_err(DecodeError::InvalidTopicFilter)?;
            let options = r.u8("requested QoS")?;
            // Upper six bits reserved, QoS 3 forbidden [MQTT-3.8.3-4].
            let qos = match options {
                0..=2 => QoS::from_u8(options).expect("0..=2 is a QoS"),
                _ => return Err(DecodeError::InvalidSubscribeOptions(options)),
            };
            filters.push(SubscribeFilter { filter, qos });
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptySubscribe); // [MQTT-3.8.3-3]
        }
        Ok(Subscribe { pkid, filters })
    }

    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptySubscribe); // [MQTT-3.8.3-3]
        }
        for f in &self.filters {
            topic::validate_filter(&f.filter).map_err(EncodeError::InvalidTopicFilter)?;
        }
        Ok(())
    }

    pub(super) fn body_len(&self) -> usize {
        2 + self.filters.iter().map(|f| field_len(f.filter.as_bytes()) + 1).sum::<usize>()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u16(self.pkid.get());
        for f in &self.filters {
            put_string(out, "topic filter", &f.filter)?;
            out.put_u8(f.qos.as_u8());
        }
        Ok(())
    }
}

/// A SUBACK return code: the QoS granted, or failure (0x80) [MQTT-3.9.3-2].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubackCode {
    Granted(QoS),
    Failure,
}

impl SubackCode {
    fn from_u8(v: u8) -> Result<SubackCode, DecodeError> {
        match v {
            0..=2 => Ok(SubackCode::Granted(QoS::from_u8(v).expect("0..=2 is a QoS"))),
            0x80 => Ok(SubackCode::Failure),
            other => Err(DecodeError::InvalidSubackCode(other)), // [MQTT-3.9.3-2]
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            SubackCode::Granted(q) => q.as_u8(),
            SubackCode::Failure => 0x80,
        }
    }
}

/// A SUBACK packet: one return code per filter of the SUBSCRIBE, in order [MQTT-3.9.3-1].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suback {
    pub pkid: PacketId,
    pub codes: Vec<SubackCode>,
}

impl Suback {
    pub(super) fn read(r: &mut Reader) -> Result<Suback, DecodeError> {
        let pkid = r.packet_id()?;
        let mut codes = Vec::new();
        while !r.is_empty() {
            codes.push(SubackCode::from_u8(r.u8("return code")?)?);
        }
        if codes.is_empty() {
            return Err(DecodeError::EmptySuback);
        }
        Ok(Suback { pkid, codes })
    }

    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        if self.codes.is_empty() {
            return Err(EncodeError::EmptySuback);
        }
        Ok(())
    }

    pub(super) fn body_len(&self) -> usize {
        2 + self.codes.len()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u16(self.pkid.get());
        for c in &self.codes {
            out.put_u8(c.as_u8());
        }
    }
}

/// An UNSUBSCRIBE packet: never empty [MQTT-3.10.3-2].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub pkid: PacketId,
    pub filters: Vec<String>,
}

impl Unsubscribe {
    pub(super) fn read(r: &mut Reader) -> Result<Unsubscribe, DecodeError> {
        let pkid = r.packet_id()?; // [MQTT-2.3.1-1]
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = r.string("topic filter")?; // [MQTT-3.10.3-1]
            topic::validate_filter(&filter).map_err(DecodeError::InvalidTopicFilter)?;
            filters.push(filter);
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptyUnsubscribe); // [MQTT-3.10.3-2]
        }
        Ok(Unsubscribe { pkid, filters })
    }

    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptyUnsubscribe); // [MQTT-3.10.3-2]
        }
        for f in &self.filters {
            topic::validate_filter(f).map_err(EncodeError::InvalidTopicFilter)?;
        }
        Ok(())
    }

    pub(super) fn body_len(&self) -> usize {
        2 + self.filters.iter().map(|f| field_len(f.as_bytes())).sum::<usize>()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u16(self.pkid.get());
        for f in &self.filters {
            put_string(out, "topic filter", f)?;
        }
        Ok(())
    }
}
