//! CONNECT and CONNACK (spec sections 3.1 and 3.2).

use bytes::{BufMut, Bytes, BytesMut};

use super::properties::{Place, Properties};
use super::wire::{field_len, put_binary, put_string, Reader};
use super::{DecodeError, EncodeError, PacketType, QoS, ReasonCode, Version};
use crate::topic;

/// The protocol a CONNECT asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// MQTT 3.1.1: name "MQTT", level 4.
    V311,
    /// MQTT 3.1: name "MQIsdp", level 3. Accepted as mosquitto 2.0 accepts it.
    V31,
    /// MQTT 5.0: name "MQTT", level 5.
    V5,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::V311 | Protocol::V5 => "MQTT",
            Protocol::V31 => "MQIsdp",
        }
    }

    fn level(self) -> u8 {
        match self {
            Protocol::V5 => 5,
            Protocol::V311 => 4,
            Protocol::V31 => 3,
        }
    }

    /// The version every later packet of the connection is written in.
    pub fn version(self) -> Version {
        match self {
            Protocol::V5 => Version::V5,
            Protocol::V311 | Protocol::V31 => Version::V311,
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
    /// 5.0 will properties (Will Delay Interval, Message Expiry Interval, ...); empty in 3.1.1.
    pub properties: Properties,
}

impl LastWill {
    pub fn new(topic: impl Into<String>, message: impl Into<Bytes>, qos: QoS, retain: bool) -> LastWill {
        LastWill { topic: topic.into(), message: message.into(), qos, retain, properties: Properties::new() }
    }
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
    /// 5.0 CONNECT properties; empty in 3.1.1. In 5.0 `clean_session` is Clean Start.
    pub properties: Properties,
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
            properties: Properties::new(),
        }
    }

    /// A 5.0 CONNECT with Clean Start `clean_start`, no will, no credentials and no properties.
    pub fn v5(client_id: impl Into<String>, clean_start: bool, keep_alive: u16) -> Connect {
        Connect { protocol: Protocol::V5, ..Connect::new(client_id, clean_start, keep_alive) }
    }

    pub(super) fn read(r: &mut Reader) -> Result<Connect, DecodeError> {
        let name = r.string("protocol name")?;
        let level = r.u8("protocol level")?;
        let protocol = match (name.as_str(), level) {
            ("MQTT", 4) => Protocol::V311,
            ("MQTT", 5) => Protocol::V5,
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
        // [MQTT-3.1.2-14] [MQTT5-3.1.2-12]
        let will_qos = QoS::from_u8(will_qos).ok_or(DecodeError::InvalidWillQos)?;
        let v5 = protocol == Protocol::V5;
        // 5.0 allows a password without a user name (section 3.1.2.9).
        if password_flag && !username_flag && !v5 {
            return Err(DecodeError::PasswordWithoutUsername); // [MQTT-3.1.2-22]
        }
        let keep_alive = r.u16("keep alive")?;
        let properties = if v5 { Properties::read(r, Place::Packet(PacketType::Connect))? } else { Properties::new() };
        // Payload order: client id, will (properties), will topic, will message, user name,
        // password [MQTT-3.1.3-1] [MQTT5-3.1.3-1].
        let client_id = r.string("client identifier")?; // [MQTT-3.1.3-3] [MQTT-3.1.3-4] [MQTT5-3.1.3-4]
        let will = if will_flag {
            let properties = if v5 { Properties::read(r, Place::Will)? } else { Properties::new() }; // [MQTT5-3.1.2-9]
            let topic = r.string("will topic")?; // [MQTT-3.1.3-10] [MQTT5-3.1.3-11]
            topic::validate_name(&topic).map_err(DecodeError::InvalidTopicName)?;
            let message = r.binary("will message")?;
            Some(LastWill { topic, message, qos: will_qos, retain: will_retain, properties })
        } else {
            None
        };
        // [MQTT-3.1.3-11] [MQTT5-3.1.3-12]
        let username = if username_flag { Some(r.string("user name")?) } else { None };
        let password = if password_flag { Some(r.binary("password")?) } else { None };
        Ok(Connect { protocol, clean_session, keep_alive, client_id, will, username, password, properties })
    }

    pub(super) fn validate(&self) -> Result<(), EncodeError> {
        let v5 = self.protocol == Protocol::V5;
        if self.password.is_some() && self.username.is_none() && !v5 {
            return Err(EncodeError::PasswordWithoutUsername); // [MQTT-3.1.2-22]
        }
        if let Some(will) = &self.will {
            topic::validate_name(&will.topic).map_err(EncodeError::InvalidTopicName)?;
            check_properties(&will.properties, Place::Will, v5)?;
        }
        check_properties(&self.properties, Place::Packet(PacketType::Connect), v5)
    }

    pub(super) fn body_len(&self) -> usize {
        let v5 = self.protocol == Protocol::V5;
        let mut len = field_len(self.protocol.name().as_bytes()) + 1 + 1 + 2 + field_len(self.client_id.as_bytes());
        if v5 {
            len += self.properties.wire_len();
        }
        if let Some(will) = &self.will {
            len += field_len(will.topic.as_bytes()) + field_len(&will.message);
            if v5 {
                len += will.properties.wire_len();
            }
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
        let v5 = self.protocol == Protocol::V5;
        if v5 {
            self.properties.write(out)?;
        }
        put_string(out, "client identifier", &self.client_id)?;
        if let Some(will) = &self.will {
            if v5 {
                will.properties.write(out)?;
            }
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

/// A CONNACK's result: a 3.1.1 return code or a 5.0 reason code. Either is written in either
/// version where the other version has the same meaning (3.1.1 return code 5 is 5.0's 0x87, as
/// mosquitto maps them); a 5.0 code with no 3.1.1 counterpart cannot be written in 3.1.1.
/// Two codes are equal when they mean the same: `V311(Accepted) == V5(SUCCESS)`.
#[derive(Debug, Clone, Copy)]
pub enum ConnackCode {
    V311(ConnectReturnCode),
    V5(ReasonCode),
}

impl PartialEq for ConnackCode {
    fn eq(&self, other: &ConnackCode) -> bool {
        self.v5() == other.v5()
    }
}

impl Eq for ConnackCode {}

impl std::hash::Hash for ConnackCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.v5().hash(state);
    }
}

impl From<ConnectReturnCode> for ConnackCode {
    fn from(code: ConnectReturnCode) -> ConnackCode {
        ConnackCode::V311(code)
    }
}

impl From<ReasonCode> for ConnackCode {
    fn from(code: ReasonCode) -> ConnackCode {
        ConnackCode::V5(code)
    }
}

impl ConnackCode {
    pub fn is_success(self) -> bool {
        match self {
            ConnackCode::V311(c) => c == ConnectReturnCode::Accepted,
            ConnackCode::V5(r) => r == ReasonCode::SUCCESS,
        }
    }

    /// The 3.1.1 return code with this meaning, if there is one.
    pub fn v311(self) -> Option<ConnectReturnCode> {
        use ConnectReturnCode::*;
        match self {
            ConnackCode::V311(c) => Some(c),
            ConnackCode::V5(r) => Some(match r {
                ReasonCode::SUCCESS => Accepted,
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION => UnacceptableProtocolVersion,
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID => IdentifierRejected,
                ReasonCode::SERVER_UNAVAILABLE => ServerUnavailable,
                ReasonCode::BAD_USER_NAME_OR_PASSWORD => BadUserNameOrPassword,
                ReasonCode::NOT_AUTHORIZED => NotAuthorized,
                _ => return None,
            }),
        }
    }

    /// The 5.0 reason code with this meaning.
    pub fn v5(self) -> ReasonCode {
        use ConnectReturnCode::*;
        match self {
            ConnackCode::V5(r) => r,
            ConnackCode::V311(c) => match c {
                Accepted => ReasonCode::SUCCESS,
                UnacceptableProtocolVersion => ReasonCode::UNSUPPORTED_PROTOCOL_VERSION,
                IdentifierRejected => ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                ServerUnavailable => ReasonCode::SERVER_UNAVAILABLE,
                BadUserNameOrPassword => ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                NotAuthorized => ReasonCode::NOT_AUTHORIZED,
            },
        }
    }

    /// The byte on the wire: the return code as it was decoded or built.
    pub fn raw(self) -> u8 {
        match self {
            ConnackCode::V311(c) => c as u8,
            ConnackCode::V5(r) => r.0,
        }
    }
}

/// A CONNACK packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connack {
    pub session_present: bool,
    pub code: ConnackCode,
    /// 5.0 CONNACK properties; empty in 3.1.1.
    pub properties: Properties,
}

impl Connack {
    /// An accepting CONNACK.
    pub fn accepted(session_present: bool) -> Connack {
        Connack { session_present, code: ConnectReturnCode::Accepted.into(), properties: Properties::new() }
    }

    /// A refusing CONNACK (session present 0 [MQTT-3.2.2-4] [MQTT5-3.2.2-6]).
    pub fn refused(code: impl Into<ConnackCode>) -> Connack {
        Connack { session_present: false, code: code.into(), properties: Properties::new() }
    }

    pub(super) fn read(r: &mut Reader, v: Version) -> Result<Connack, DecodeError> {
        let flags = r.u8("acknowledge flags")?;
        if flags & 0xfe != 0 {
            return Err(DecodeError::InvalidConnackFlags(flags)); // [MQTT5-3.2.2-1]
        }
        let raw = r.u8("return code")?;
        let code = match v {
            Version::V311 => ConnectReturnCode::from_u8(raw).ok_or(DecodeError::InvalidConnackCode(raw))?.into(),
            Version::V5 if ReasonCode(raw).allowed_in(PacketType::Connack) => ConnackCode::V5(ReasonCode(raw)),
            Version::V5 => return Err(DecodeError::InvalidConnackCode(raw)), // [MQTT5-3.2.2-8]
        };
        let session_present = flags & 0x01 != 0;
        if session_present && !code.is_success() {
            return Err(DecodeError::SessionPresentOnRefusal); // [MQTT-3.2.2-4] [MQTT5-3.2.2-6]
        }
        let properties = match v {
            Version::V5 => Properties::read(r, Place::Packet(PacketType::Connack))?,
            Version::V311 => Properties::new(),
        };
        Ok(Connack { session_present, code, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        if self.session_present && !self.code.is_success() {
            return Err(EncodeError::SessionPresentOnRefusal); // [MQTT-3.2.2-4] [MQTT5-3.2.2-6]
        }
        match v {
            Version::V311 if self.code.v311().is_none() => Err(EncodeError::NotInV311("this CONNACK reason code")),
            Version::V5 if !self.code.v5().allowed_in(PacketType::Connack) => {
                Err(EncodeError::InvalidReasonCode { packet: PacketType::Connack, code: self.code.v5().0 })
            }
            _ => check_properties(&self.properties, Place::Packet(PacketType::Connack), v == Version::V5),
        }
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        match v {
            Version::V311 => 2,
            Version::V5 => 2 + self.properties.wire_len(),
        }
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        out.put_u8(self.session_present as u8);
        match v {
            // `validate` checked that the code has a 3.1.1 meaning.
            Version::V311 => out.put_u8(self.code.v311().map_or(0x80, |c| c as u8)),
            Version::V5 => {
                out.put_u8(self.code.v5().0);
                self.properties.write(out)?;
            }
        }
        Ok(())
    }
}

/// Refuses properties that the table does not allow in `place`, or any property at all outside
/// 5.0. Shared by every packet's `validate`.
pub(super) fn check_properties(props: &Properties, place: Place, v5: bool) -> Result<(), EncodeError> {
    if !v5 {
        return if props.is_empty() { Ok(()) } else { Err(EncodeError::NotInV311("a property")) };
    }
    props.check(place).map_err(EncodeError::Property)
}
