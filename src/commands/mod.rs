//! The `pub` and `sub` commands, shaped like mosquitto_pub and mosquitto_sub, as library functions
//! so tests can run them in-process. `src/bin` only maps command-line flags onto these options.
//!
//! Exit codes a script can rely on, for both commands:
//! - 0: done;
//! - 1: the connection could not be opened or was lost;
//! - 2: bad arguments (from the argument parser);
//! - 4: `-W` timed out before `-C` messages arrived;
//! - 10 + N: the broker refused CONNECT with CONNACK return code N (11 to 15).

mod publish;
mod subscribe;

use crate::net::ClientError as NetError;
use crate::protocol::ConnectReturnCode;

pub use publish::{publish, Payload, PubOptions};
pub use subscribe::{subscribe, SubOptions};

/// Where to connect and as whom: the options both commands share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// `-c`: clean session off, i.e. a persistent session.
    pub persistent: bool,
    pub keep_alive: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl ConnectOptions {
    fn client_options(&self) -> crate::client::ClientOptions {
        crate::client::ClientOptions {
            keep_alive: self.keep_alive,
            username: self.username.clone(),
            password: self.password.clone().map(Into::into),
            ..crate::client::ClientOptions::new(self.client_id.clone(), !self.persistent)
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
    Refused(ConnectReturnCode),
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
            CommandError::Refused(code) => 10 + *code as u8,
        }
    }
}

impl From<NetError> for CommandError {
    fn from(e: NetError) -> CommandError {
        match e {
            NetError::Refused(code) => CommandError::Refused(code),
            NetError::Client(crate::client::ClientError::Invalid(e)) => CommandError::Invalid(e.to_string()),
            NetError::Client(e @ crate::client::ClientError::EmptyClientIdNeedsCleanSession) => {
                CommandError::Invalid(e.to_string())
            }
            other => CommandError::Connection(other.to_string()),
        }
    }
}

/// mosquitto's wording for each refusal.
fn refusal_text(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::Accepted => "accepted",
        ConnectReturnCode::UnacceptableProtocolVersion => "unacceptable protocol version",
        ConnectReturnCode::IdentifierRejected => "identifier rejected",
        ConnectReturnCode::ServerUnavailable => "broker unavailable",
        ConnectReturnCode::BadUserNameOrPassword => "bad user name or password",
        ConnectReturnCode::NotAuthorized => "not authorised",
    }
}
