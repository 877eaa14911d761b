//! DISCONNECT and AUTH (spec sections 3.14 and 3.15). In 3.1.1 DISCONNECT is empty and AUTH does
//! not exist; in 5.0 both carry a reason code and properties, and both may be cut to nothing when
//! the reason is Success (0x00) with no properties.

use bytes::{BufMut, BytesMut};

use super::connect::check_properties;
use super::properties::{Place, Properties};
use super::wire::Reader;
use super::{DecodeError, EncodeError, PacketType, ReasonCode, Version};

/// A DISCONNECT. In 3.1.1 always Normal disconnection without properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disconnect {
    pub reason: ReasonCode,
    pub properties: Properties,
}

impl Default for ReasonCode {
    fn default() -> ReasonCode {
        ReasonCode::SUCCESS
    }
}

impl Disconnect {
    /// A 5.0 DISCONNECT with `reason` and no properties.
    pub fn with_reason(reason: ReasonCode) -> Disconnect {
        Disconnect { reason, properties: Properties::new() }
    }

    pub(super) fn read(r: &mut Reader, v: Version) -> Result<Disconnect, DecodeError> {
        let (reason, properties) = match v {
            Version::V311 => (ReasonCode::SUCCESS, Properties::new()),
            Version::V5 => read_reason_and_properties(r, PacketType::Disconnect)?,
        };
        Ok(Disconnect { reason, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        if v == Version::V311 && self.reason != ReasonCode::SUCCESS {
            return Err(EncodeError::NotInV311("a DISCONNECT reason code"));
        }
        check_reason(self.reason, PacketType::Disconnect)?;
        check_properties(&self.properties, Place::Packet(PacketType::Disconnect), v == Version::V5)
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        match v {
            Version::V311 => 0,
            Version::V5 => short_body_len(self.reason, &self.properties),
        }
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        match v {
            Version::V311 => Ok(()),
            Version::V5 => write_reason_and_properties(out, self.reason, &self.properties),
        }
    }
}

/// An AUTH packet (5.0 only): a step of enhanced authentication or re-authentication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    pub reason: ReasonCode,
    pub properties: Properties,
}

impl Auth {
    pub(super) fn read(r: &mut Reader) -> Result<Auth, DecodeError> {
        let (reason, properties) = read_reason_and_properties(r, PacketType::Auth)?;
        Ok(Auth { reason, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        if v == Version::V311 {
            return Err(EncodeError::NotInV311("AUTH"));
        }
        check_reason(self.reason, PacketType::Auth)?;
        check_properties(&self.properties, Place::Packet(PacketType::Auth), true)
    }

    pub(super) fn body_len(&self) -> usize {
        short_body_len(self.reason, &self.properties)
    }

    pub(super) fn write_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        write_reason_and_properties(out, self.reason, &self.properties)
    }
}

/// Nothing (Success, no properties), a reason code alone, or a reason code and properties
/// (sections 3.14.2.1 and 3.15.2.1).
fn read_reason_and_properties(r: &mut Reader, packet: PacketType) -> Result<(ReasonCode, Properties), DecodeError> {
    if r.is_empty() {
        return Ok((ReasonCode::SUCCESS, Properties::new()));
    }
    let code = r.u8("reason code")?;
    if !ReasonCode(code).allowed_in(packet) {
        return Err(DecodeError::InvalidReasonCode { packet, code }); // [MQTT5-3.14.2-1] [MQTT5-3.15.2-1]
    }
    let properties = if r.is_empty() { Properties::new() } else { Properties::read(r, Place::Packet(packet))? };
    Ok((ReasonCode(code), properties))
}

fn check_reason(reason: ReasonCode, packet: PacketType) -> Result<(), EncodeError> {
    if reason.allowed_in(packet) {
        Ok(())
    } else {
        Err(EncodeError::InvalidReasonCode { packet, code: reason.0 })
    }
}

fn short_body_len(reason: ReasonCode, props: &Properties) -> usize {
    if !props.is_empty() {
        1 + props.wire_len()
    } else if reason != ReasonCode::SUCCESS {
        1
    } else {
        0
    }
}

fn write_reason_and_properties(out: &mut BytesMut, reason: ReasonCode, props: &Properties) -> Result<(), EncodeError> {
    if short_body_len(reason, props) > 0 {
        out.put_u8(reason.0);
    }
    if !props.is_empty() {
        props.write(out)?;
    }
    Ok(())
}
