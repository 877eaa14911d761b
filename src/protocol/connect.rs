//! CONNECT and CONNACK (spec sections 3.1 and 3.2).

use bytes::{BufMut, Bytes, BytesMut};

use super::wire::{field_len, put_binary, put_string, Reader};
use super::{DecodeError, EncodeError, QoS};
use crate::topic;

/// The protocol a CONNECT asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// MQTT 3.1.1: name "MQTT", level 4.
    V311,
    /// MQTT 3.1: name "MQIsdp", level 3. Accepted as mosquitto 2.0 accepts it.
    V31,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::V311 => "MQTT",
            Protocol::V31 => "MQIsdp",
        }
    }

    fn level(self) -> u8 {
        match self {
            Protocol::V311 => 4,
            Protocol::V31 => 3,
        }
    }
}

/// The will message a client leaves with the server (spec section 3.1.2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    pub topic: String,
    pub message: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

/// A CONNECT packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    pub protocol: Protocol,
    pub clean_session: bool,
    /// Seconds; 0 turns keep alive off.
    pub keep_alive: u16,
    pub client_id: String,
    pub will: Option<LastWill>,
    pub username: Option<String>,
    pub password: Option<Bytes>,
}

impl Connect {
    /// A 3.1.1 CONNECT with no will and no credentials.
    pub fn new(client_id: impl Into<String>, clean_session: bool, keep_alive: u16) -> Connect {
        Connect {
            protocol: Protocol::V311,
            clean_session,
            keep_alive,
            client_id: client_id.into(),
            will: None,
            username: None,
            password: None,
        }
    }

    pub(super) fn read(r: &mut Reader) -> Result<Connect, DecodeError> {
        let name = r.string("protocol name")?;
        let level = r.u8("protocol level")?;
        let protocol = match (name.as_str(), level) {
            ("MQTT", 4) => Protocol::V311,
            ("MQIsdp", 3) => Protocol::V31,
            ("MQTT" | "MQIsdp", other) => return Err(DecodeError::UnsupportedProtocolLevel(other)), // [MQTT-3.1.2-2]
            _ => return Err(DecodeError::InvalidProtocolName(name)),                                // [MQTT-3.1.2-1]
        };
        let flags = r.u8("connect flags")?;
        if flags & 0x01 != 0 {
            return Err(DecodeError::ConnectReservedFlag); // [MQTT-3.1.2-3]
        }
        let clean_session = flags & 0x02 != 0;
        let will_flag = flags & 0x04 != 0;
        let will_qos = (flags >> 3) & 0x03;
        let will_retain = flags & 0x20 != 0;
        let password_flag = flags & 0x40 != 0;
        let username_flag = flags & 0x80 != 0;
        if !will_flag && will_qos != 0 {
            return Err(DecodeError::WillQosWithoutWill); // [MQTT-3.1.2-11] [MQTT-3.1.2-13]
        }
        if !will_flag && will_retain {
            return Err(DecodeError::WillRetainWithoutWill); // [MQTT-3.1.2-11] [MQTT-3.1.2-15]
        }
        let will_qos = QoS::from_u8(will_qos).ok_or(DecodeError::InvalidWillQos)?; // [MQTT-3.1.2-14]
        if password_flag && !username_flag {
            return Err(DecodeError::PasswordWithoutUsername); // [MQTT-3.1.2-22]
        }
        let keep_alive = r.u16("keep alive")?;
        // Payload order: client id, will topic, will message, user name, password [MQTT-3.1.3-1].
        let client_id = r.string("client identifier")?; // [MQTT-3.1.3-3] [MQTT-3.1.3-4]
        let will = if will_flag {
            let topic = r.string("will topic")?; // [MQTT-3.1.3-10]
            topic::validate_name(&topic).map_err(DecodeError::InvalidTopicName)?;
            let message = r.binary("will message")?;
            Some(LastWill { topic, message, qos: will_qos, retain: will_retain })
        } else {
            None
        };
        let username = if username_flag { Some(r.string("user name")?) } else { None }; // [MQTT-3.1.3-11]
        let password = if password_flag { Some(r.binary("password")?) } else { None };
        Ok(Connect { protocol, clean_session, keep_alive, client_id, will, username, password })
    }

    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        if self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::PasswordWithoutUsername); // [MQTT-3.1.2-22]
        }
        if let Some(will) = &self.will {
            topic::validate_name(&will.topic).map_err(EncodeError::InvalidTopicName)?;
        }
        Ok(())
    }

    pub(super) fn body_len(&self) -> usize {
        let mut len = field_len(self.protocol.name().as_bytes()) + 1 + 1 + 2 + field_len(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            len += field_len(will.topic.as_bytes()) + field_len(&will.message);
        }
        len += self.username.as_ref().map_or(0, |u| field_len(u.as_bytes()));
        len += self.password.as_ref().map_or(0, |p| field_len(p));
        len
    }

    pub(super) fn write_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_string(out, "protocol name", self.protocol.name())?;
        out.put_u8(self.protocol.level());
        let mut flags = 0u8;
        if self.clean_session {
            flags |= 0x02;
        }
        if let Some(will) = &self.will {
            flags |= 0x04 | (will.qos.as_u8() << 3);
            if will.retain {
                flags |= 0x20;
            }
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        out.put_u8(flags);
        out.put_u16(self.keep_alive);
        put_string(out, "client identifier", &self.client_id)?;
        if let Some(will) = &self.will {
            put_string(out, "will topic", &will.topic)?;
            put_binary(out, "will message", &will.message)?;
        }
        if let Some(username) = &self.username {
            put_string(out, "user name", username)?;
        }
        if let Some(password) = &self.password {
            put_binary(out, "password", password)?;
        }
        Ok(())
    }
}

/// The CONNACK return codes (spec section 3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectReturnCode {
    Accepted = 0,
    UnacceptableProtocolVersion = 1,
    IdentifierRejected = 2,
    ServerUnavailable = 3,
    BadUserNameOrPassword = 4,
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    pub fn from_u8(v: u8) -> Option<ConnectReturnCode> {
        use ConnectReturnCode::*;
        Some(match v {
            0 => Accepted,
            1 => UnacceptableProtocolVersion,
            2 => IdentifierRejected,
            3 => ServerUnavailable,
            4 => BadUserNameOrPassword,
            5 => NotAuthorized,
            _ => return None,
        })
    }
}

/// A CONNACK packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connack {
    pub session_present: bool,
    pub code: ConnectReturnCode,
}

impl Connack {
    pub(super) fn read(r: &mut Reader) -> Result<Connack, DecodeError> {
        let flags = r.u8("acknowledge flags")?;
        if flags & 0xfe != 0 {
            return Err(DecodeError::InvalidConnackFlags(flags));
        }
        let raw = r.u8("return code")?;
        let code = ConnectReturnCode::from_u8(raw).ok_or(DecodeError::InvalidConnackCode(raw))?;
        let session_present = flags & 0x01 != 0;
        if session_present && code != ConnectReturnCode::Accepted {
            return Err(DecodeError::SessionPresentOnRefusal); // [MQTT-3.2.2-4]
        }
        Ok(Connack { session_present, code })
    }

    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        if self.session_present && self.code != ConnectReturnCode::Accepted {
            return Err(EncodeError::SessionPresentOnRefusal); // [MQTT-3.2.2-4]
        }
        Ok(())
    }

    pub(super) fn write_body(&self, out: &mut BytesMut) {
        out.put_u8(self.session_present as u8);
        out.put_u8(self.code as u8);
    }
}
