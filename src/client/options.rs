//! [`ClientOptions`]: what the client asks for in CONNECT and how large its publish window is,
//! with the client-side CONNECT rules checked before anything is sent. Plain data: it must not
//! hold session state.

use bytes::Bytes;

use super::ClientError;
use crate::protocol::{Connect, LastWill, Packet};

/// How to connect: the CONNECT packet's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    pub client_id: String,
    /// `false` asks for a persistent session [MQTT-3.1.2-4].
    pub clean_session: bool,
    /// Seconds; 0 turns keep alive off.
    pub keep_alive: u16,
    pub will: Option<LastWill>,
    pub username: Option<String>,
    pub password: Option<Bytes>,
    /// Our QoS 1/2 publications in flight (sent, not yet fully acknowledged) at once; more wait
    /// in order until one completes. 0 = no limit. Default 20, as libmosquitto's
    /// `mosquitto_max_inflight_messages_set`, which matches the broker's default
    /// `max_inflight_messages`: our broker (and mosquitto) holds at most that many of a client's
    /// QoS 2 messages awaiting PUBREL.
    pub max_inflight: u16,
    /// Acknowledgements by hand (a scripted client): a received PUBLISH is handed to the
    /// application but not answered with PUBACK or PUBREC, a PUBREL not with PUBCOMP, and our
    /// own QoS 2 publication's PUBREC not with PUBREL, until `ClientSession::ack` sends them.
    pub manual_acks: bool,
    /// The known bug to run with, to prove the checks catch it; `None` outside those tests.
    #[cfg(feature = "mutants")]
    pub mutant: Option<crate::mutants::Mutant>,
}

/// The default of [`ClientOptions::max_inflight`].
pub const DEFAULT_MAX_INFLIGHT: u16 = 20;

impl ClientOptions {
    pub fn new(client_id: impl Into<String>, clean_session: bool) -> ClientOptions {
        ClientOptions {
            client_id: client_id.into(),
            clean_session,
            keep_alive: 60,
            will: None,
            username: None,
            password: None,
            max_inflight: DEFAULT_MAX_INFLIGHT,
            manual_acks: false,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    /// Checks the client-side CONNECT rules before anything is sent: a zero-length client id
    /// only with clean session 1 [MQTT-3.1.3-7]; a password only with a user name
    /// [MQTT-3.1.2-22]; a will topic without wildcards [MQTT-3.1.3-10] [MQTT-3.3.2-2].
    pub fn validate(&self) -> Result<(), ClientError> {
        if self.client_id.is_empty() && !self.clean_session {
            return Err(ClientError::EmptyClientIdNeedsCleanSession);
        }
        Packet::Connect(self.connect_packet()).encode(&mut bytes::BytesMut::new(), crate::protocol::MAX_PACKET_SIZE)?;
        Ok(())
    }

    /// The CONNECT packet these options make.
    pub fn connect_packet(&self) -> Connect {
        Connect {
            will: self.will.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            ..Connect::new(self.client_id.clone(), self.clean_session, self.keep_alive)
        }
    }
}
