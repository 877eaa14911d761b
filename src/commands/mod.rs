//! The `pub` and `sub` commands, shaped like mosquitto_pub and mosquitto_sub, as library functions
//! so tests can run them in-process. `src/bin` only maps command-line flags onto these options;
//! `v5` reads the MQTT 5.0 flags (`-V`, `-x`, `-D`) both commands share.
//!
//! Exit codes a script can rely on, for both commands:
//! - 0: done;
//! - 1: the connection could not be opened or was lost;
//! - 2: bad arguments (from the argument parser);
//! - 4: `-W` timed out before `-C` messages arrived;
//! - 5: a 5.0 broker refused a publication (PUBACK or PUBREC with a reason of 0x80 or above);
//! - 10 + N: a 3.1.1 broker refused CONNECT with CONNACK return code N (11 to 15);
//! - N: a 5.0 broker refused CONNECT with CONNACK reason code N (128 to 159), as mosquitto_sub.

mod publish;
mod subscribe;
#[cfg(test)]
mod tests;
mod v5;

use crate::client::ClientOptions;
use crate::net::ClientError as NetError;
use crate::protocol::{ConnackCode, ConnectReturnCode, Property, ReasonCode, Version};

pub use publish::{publish, Payload, PubOptions};
pub use subscribe::{subscribe, SubOptions};
pub use v5::{parse_expiry, parse_version, CommandProperties, PropertyCommand, Tool, VersionOptions};

/// Where to connect and as whom: the options both commands share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// `-c`: clean session off (5.0: Clean Start 0), i.e. a persistent session.
    pub persistent: bool,
    pub keep_alive: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `-V`: 3.1.1 unless asked (or `-D` is given).
    pub version: Version,
    /// `-x`: the 5.0 Session Expiry Interval; `None` is mosquitto's default: never with `-c`,
    /// else 0.
    pub session_expiry: Option<u32>,
    /// `-D`: 5.0 properties for each packet.
    pub properties: CommandProperties,
}

impl ConnectOptions {
    fn client_options(&self) -> ClientOptions {
        let options = ClientOptions {
            keep_alive: self.keep_alive,
            username: self.username.clone(),
            password: self.password.clone().map(Into::into),
            ..ClientOptions::new(self.client_id.clone(), !self.persistent)
        };
        if self.version == Version::V311 {
            return options;
        }
        let never = if self.persistent { u32::MAX } else { 0 };
        let mut options =
            ClientOptions { version: Version::V5, session_expiry: self.session_expiry.unwrap_or(never), ..options };
        // `CommandProperties::add` let only CONNECT's properties in, and `VersionOptions` took
        // the session expiry out.
        for p in self.properties.connect.iter() {
            match p {
                Property::SessionExpiryInterval(v) => options.session_expiry = *v,
                Property::ReceiveMaximum(v) => options.receive_maximum = Some(*v),
                Property::MaximumPacketSize(v) => options.maximum_packet_size = Some(*v),
                Property::TopicAliasMaximum(v) => options.topic_alias_maximum = *v,
                Property::RequestProblemInformation(v) => options.request_problem_information = Some(*v == 1),
                Property::RequestResponseInformation(v) => options.request_response_information = Some(*v == 1),
                Property::UserProperty(kv) => options.user_properties.push(kv.clone()),
                other => tracing::warn!("{} is not a CONNECT property; not sent", other.name()),
            }
        }
        options
    }

    /// Sends DISCONNECT, with `-D disconnect` properties if any.
    async fn disconnect(&self, client: &crate::net::Client) {
        if self.properties.disconnect.is_empty() {
            client.disconnect().await;
        } else if let Err(e) =
            client.disconnect_with(ReasonCode::NORMAL_DISCONNECTION, self.properties.disconnect.clone()).await
        {
            eprintln!("warning: DISCONNECT with -D properties refused ({e}); disconnecting without them");
            client.disconnect().await;
        }
    }

    fn connector(&self) -> crate::net::TcpConnector {
        crate::net::TcpConnector(format!("{}:{}", self.host, self.port))
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Could not connect, or the connection was lost.
    #[error("connection error: {0}")]
    Connection(String),
    /// The broker answered CONNACK with a refusal.
    #[error("connection refused: {}", refusal_text(*.0))]
    Refused(ConnackCode),
    /// A 5.0 broker refused a publication.
    #[error("publication refused by the broker: {} ({})", .0.name(), .0)]
    PublishRefused(ReasonCode),
    /// `-W` elapsed first.
    #[error("timed out after {0} s")]
    Timeout(u64),
    /// The request itself is not valid MQTT (a wildcard in a publish topic, ...).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Reading the message input failed.
    #[error("reading input: {0}")]
    Input(std::io::Error),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Connection(_) | CommandError::Input(_) => 1,
            CommandError::Invalid(_) => 2,
            CommandError::Timeout(_) => 4,
            CommandError::PublishRefused(_) => 5,
            CommandError::Refused(ConnackCode::V311(code)) => 10 + *code as u8,
            CommandError::Refused(ConnackCode::V5(code)) => code.0,
        }
    }
}

impl From<NetError> for CommandError {
    fn from(e: NetError) -> CommandError {
        match e {
            NetError::Refused(code) => CommandError::Refused(code),
            NetError::PublishRefused(reason) => CommandError::PublishRefused(reason),
            NetError::Client(crate::client::ClientError::Invalid(e)) => CommandError::Invalid(e.to_string()),
            // What the client refuses before sending: not valid MQTT, or not valid for this server.
            NetError::Client(
                e @ (crate::client::ClientError::EmptyClientIdNeedsCleanSession
                | crate::client::ClientError::TooLarge { .. }
                | crate::client::ClientError::QosNotSupported { .. }
                | crate::client::ClientError::RetainNotSupported
                | crate::client::ClientError::TopicAliasInvalid { .. }
                | crate::client::ClientError::SubscriptionIdentifierInPublish
                | crate::client::ClientError::SubscriptionIdentifiersNotSupported
                | crate::client::ClientError::SessionExpiryAfterZero),
            ) => CommandError::Invalid(e.to_string()),
            other => CommandError::Connection(other.to_string()),
        }
    }
}

/// mosquitto's wording for each 3.1.1 refusal; the spec's name and the code for a 5.0 one.
fn refusal_text(code: ConnackCode) -> String {
    match code {
        ConnackCode::V311(code) => v311_refusal_text(code).to_owned(),
        ConnackCode::V5(code) => format!("{} ({code})", code.name()),
    }
}

fn v311_refusal_text(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::Accepted => "accepted",
        ConnectReturnCode::UnacceptableProtocolVersion => "unacceptable protocol version",
        ConnectReturnCode::IdentifierRejected => "identifier rejected",
        ConnectReturnCode::ServerUnavailable => "broker unavailable",
        ConnectReturnCode::BadUserNameOrPassword => "bad user name or password",
        ConnectReturnCode::NotAuthorized => "not authorised",
    }
}
