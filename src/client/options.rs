//! [`ClientOptions`]: what the client asks for in CONNECT and how large its publish window is,
//! with the client-side CONNECT rules checked before anything is sent. Plain data: it must not
//! hold session state. The MQTT 5.0 fields are written only in a 5.0 CONNECT; a 3.1.1 client
//! that sets one is refused by `validate`, so a 3.1.1 CONNECT is the same bytes as before 5.0.

use bytes::Bytes;

use super::ClientError;
use crate::protocol::{Connect, EncodeError, LastWill, Packet, Properties, Property, Protocol, Version};

/// How to connect: the CONNECT packet's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    pub client_id: String,
    /// The protocol version CONNECT asks for; every later packet is written in it. Default 3.1.1.
    pub version: Version,
    /// `false` asks for a persistent session [MQTT-3.1.2-4]. In 5.0 this is Clean Start: `true`
    /// asks the server to discard any session it holds [MQTT5-3.1.2-4]; how long the session
    /// outlives the connection is `session_expiry`'s to say.
    pub clean_session: bool,
    /// Seconds; 0 turns keep alive off. A 5.0 server may set another (Server Keep Alive).
    pub keep_alive: u16,
    pub will: Option<LastWill>,
    pub username: Option<String>,
    pub password: Option<Bytes>,
    /// Our QoS 1/2 publications in flight (sent, not yet fully acknowledged) at once; more wait
    /// in order until one completes. 0 = no limit. Default 20, as libmosquitto's
    /// `mosquitto_max_inflight_messages_set`, which matches the broker's default
    /// `max_inflight_messages`: our broker (and mosquitto) holds at most that many of a client's
    /// QoS 2 messages awaiting PUBREL. A 5.0 server's Receive Maximum narrows it further.
    pub max_inflight: u16,
    /// Acknowledgements by hand (a scripted client): a received PUBLISH is handed to the
    /// application but not answered with PUBACK or PUBREC, a PUBREL not with PUBCOMP, and our
    /// own QoS 2 publication's PUBREC not with PUBREL, until `ClientSession::ack` sends them.
    pub manual_acks: bool,
    /// 5.0: Session Expiry Interval in seconds (0: the session ends with the connection;
    /// `u32::MAX`: never). Both halves of the session outlive the connection when it is above 0
    /// [MQTT5-3.1.2-23].
    pub session_expiry: u32,
    /// 5.0: Receive Maximum, the QoS 1/2 PUBLISHes the server may have unacknowledged with us
    /// at once; `None` sends none (65,535).
    pub receive_maximum: Option<u16>,
    /// 5.0: Maximum Packet Size we accept; `None` sends none (the protocol's limit). The
    /// driver's reader refuses larger packets.
    pub maximum_packet_size: Option<u32>,
    /// 5.0: Topic Alias Maximum, the highest Topic Alias the server may send us; 0 (the
    /// default) sends none and accepts no aliases.
    pub topic_alias_maximum: u16,
    /// 5.0: Request Problem Information; `None` sends none (the server takes 1).
    pub request_problem_information: Option<bool>,
    /// 5.0: Request Response Information; `None` sends none (the server takes 0).
    pub request_response_information: Option<bool>,
    /// 5.0: User Properties of CONNECT, in order.
    pub user_properties: Vec<(String, String)>,
    /// The known bug to run with, to prove the checks catch it; `None` outside those tests.
    #[cfg(feature = "mutants")]
    pub mutant: Option<crate::mutants::Mutant>,
}

/// The default of [`ClientOptions::max_inflight`].
pub const DEFAULT_MAX_INFLIGHT: u16 = 20;

impl ClientOptions {
    /// MQTT 3.1.1 options; set `version` (or use [`ClientOptions::v5`]) for 5.0.
    pub fn new(client_id: impl Into<String>, clean_session: bool) -> ClientOptions {
        ClientOptions {
            client_id: client_id.into(),
            version: Version::V311,
            clean_session,
            keep_alive: 60,
            will: None,
            username: None,
            password: None,
            max_inflight: DEFAULT_MAX_INFLIGHT,
            manual_acks: false,
            session_expiry: 0,
            receive_maximum: None,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            request_problem_information: None,
            request_response_information: None,
            user_properties: Vec::new(),
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    /// MQTT 5.0 options with Clean Start `clean_start` and Session Expiry Interval
    /// `session_expiry`.
    pub fn v5(client_id: impl Into<String>, clean_start: bool, session_expiry: u32) -> ClientOptions {
        ClientOptions { version: Version::V5, session_expiry, ..ClientOptions::new(client_id, clean_start) }
    }

    /// Checks the client-side CONNECT rules before anything is sent: in 3.1.1 a zero-length
    /// client id only with clean session 1 [MQTT-3.1.3-7] (5.0 has no such rule: the server
    /// assigns one), and no 5.0 option; a password only with a user name [MQTT-3.1.2-22]; a will
    /// topic without wildcards [MQTT-3.1.3-10] [MQTT-3.3.2-2]; properties in range and allowed
    /// where they are (the encoder's table, in the options' version).
    pub fn validate(&self) -> Result<(), ClientError> {
        if self.version == Version::V311 {
            if self.client_id.is_empty() && !self.clean_session {
                return Err(ClientError::EmptyClientIdNeedsCleanSession);
            }
            if let Some(option) = self.v5_option_set() {
                return Err(ClientError::Invalid(EncodeError::NotInV311(option)));
            }
        }
        Packet::Connect(self.connect_packet()).encode(&mut bytes::BytesMut::new(), crate::protocol::MAX_PACKET_SIZE)?;
        Ok(())
    }

    /// The first 5.0-only option set, by name.
    fn v5_option_set(&self) -> Option<&'static str> {
        if self.session_expiry != 0 {
            Some("a Session Expiry Interval")
        } else if self.receive_maximum.is_some() {
            Some("a Receive Maximum")
        } else if self.maximum_packet_size.is_some() {
            Some("a Maximum Packet Size")
        } else if self.topic_alias_maximum != 0 {
            Some("a Topic Alias Maximum")
        } else if self.request_problem_information.is_some() {
            Some("Request Problem Information")
        } else if self.request_response_information.is_some() {
            Some("Request Response Information")
        } else if !self.user_properties.is_empty() {
            Some("a User Property")
        } else {
            None
        }
    }

    /// The CONNECT packet these options make: 3.1.1 as ever, or 5.0 with its properties.
    pub fn connect_packet(&self) -> Connect {
        let connect = Connect {
            will: self.will.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            ..Connect::new(self.client_id.clone(), self.clean_session, self.keep_alive)
        };
        match self.version {
            Version::V311 => connect,
            Version::V5 => Connect { protocol: Protocol::V5, properties: self.connect_properties(), ..connect },
        }
    }

    /// The 5.0 CONNECT properties, each only when it differs from what its absence means.
    fn connect_properties(&self) -> Properties {
        let mut props = Properties::new();
        if self.session_expiry != 0 {
            props.push(Property::SessionExpiryInterval(self.session_expiry));
        }
        if let Some(n) = self.receive_maximum {
            props.push(Property::ReceiveMaximum(n));
        }
        if let Some(n) = self.maximum_packet_size {
            props.push(Property::MaximumPacketSize(n));
        }
        if self.topic_alias_maximum != 0 {
            props.push(Property::TopicAliasMaximum(self.topic_alias_maximum));
        }
        if let Some(b) = self.request_response_information {
            props.push(Property::RequestResponseInformation(b as u8));
        }
        if let Some(b) = self.request_problem_information {
            props.push(Property::RequestProblemInformation(b as u8));
        }
        for (k, v) in &self.user_properties {
            props.push(Property::UserProperty((k.clone(), v.clone())));
        }
        props
    }
}
