//! What the trace records besides packets, as data: the faults a run injects, what the broker
//! reports (sessions, drops, wills), and what a client's application is told beyond its messages.
//! Code reads the variants; `Display` is their text for people, and the JSON lines carry them as
//! fields. Reasons owned by the broker or the client (`CloseReason`, `DropReason`, `CloseCause`)
//! are kept as they are and shown through their own `Display`.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::BROKER;
use crate::broker::{CloseReason, DropReason};
use crate::client::CloseCause;

/// Which way a partition cuts a client's link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Both,
    /// Only packets from the client to the broker are lost.
    ToBroker,
    /// Only packets from the broker to the client are lost.
    FromBroker,
}

/// A fault injected into a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The client closes its connection without DISCONNECT.
    LoseConnection {
        client: String,
    },
    /// The link between the client and the broker is cut, both ways or one.
    Partition {
        client: String,
        direction: Direction,
    },
    /// A partition of the client's link is repaired.
    Heal {
        client: String,
    },
    /// The link's traffic is held until `Release`.
    Hold {
        client: String,
    },
    Release {
        client: String,
    },
    /// A fixed latency on the client's link.
    Latency {
        client: String,
        ms: u64,
    },
    /// Random failures of the client's link at this rate per tick (0 turns them off).
    PacketLoss {
        client: String,
        rate: f64,
    },
    /// The broker's process dies; its state in memory is lost.
    CrashBroker,
    RestartBroker,
    /// The client's process dies with its half of the session.
    CrashClient {
        client: String,
    },
    RestartClient {
        client: String,
    },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::LoseConnection { client } => write!(f, "{client} drops its connection without DISCONNECT"),
            Fault::Partition { client, direction: Direction::Both } => write!(f, "partition {client} <-> {BROKER}"),
            Fault::Partition { client, direction: Direction::ToBroker } => write!(f, "partition {client} -> {BROKER}"),
            Fault::Partition { client, direction: Direction::FromBroker } => {
                write!(f, "partition {BROKER} -> {client}")
            }
            Fault::Heal { client } => write!(f, "repair {client} <-> {BROKER}"),
            Fault::Hold { client } => write!(f, "hold {client} <-> {BROKER}"),
            Fault::Release { client } => write!(f, "release {client} <-> {BROKER}"),
            Fault::Latency { client, ms } => write!(f, "latency {client} <-> {BROKER} = {ms} ms"),
            Fault::PacketLoss { client, rate } => write!(f, "packet loss {client} <-> {BROKER} at rate {rate}"),
            Fault::CrashBroker => write!(f, "broker crashes (state in memory is lost)"),
            Fault::RestartBroker => write!(f, "broker restarts"),
            Fault::CrashClient { client } => write!(f, "{client} crashes"),
            Fault::RestartClient { client } => write!(f, "{client} restarts"),
        }
    }
}

/// Something the broker reports about a session or a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BrokerEvent {
    /// The broker accepted a CONNECT for this client id.
    SessionConnected { client_id: String, clean: bool, session_present: bool },
    /// The broker took a session's connection away (the session itself may stay).
    SessionOffline {
        client_id: String,
        #[serde(serialize_with = "as_text")]
        reason: CloseReason,
    },
    /// The broker discarded a session's state.
    SessionDiscarded { client_id: String },
    /// The broker runs in durable mode: what it acknowledges survives a crash.
    Durable,
    /// The broker wrote its lasting state to its persistence file (an autosave or a clean
    /// shutdown): this many sessions, messages held for them, retained messages.
    Saved { sessions: usize, messages: usize, retained: usize },
    /// Durable mode folded its log, of this many commits, into a new snapshot.
    Compacted { commits: u64 },
    /// Durable mode's log ended in a damaged commit (a crash cut it short) and was cut back to
    /// its first `at` bytes, dropping `dropped`.
    LogRepaired { at: u64, dropped: u64 },
    /// The broker started with this session from its persistence file: offline, with these
    /// subscriptions (filter, granted QoS) and this many messages queued, in flight, or received
    /// at QoS 2 and waiting for their PUBREL.
    SessionRestored { client_id: String, subscriptions: Vec<(String, u8)>, messages: usize },
    /// The broker did not queue a message for a session.
    Dropped {
        client_id: String,
        topic: String,
        qos: u8,
        #[serde(serialize_with = "drop_reason")]
        reason: DropReason,
    },
    /// A connection closed before its CONNECT was accepted.
    ClosedBeforeConnect {
        #[serde(serialize_with = "as_text")]
        reason: CloseReason,
    },
    /// A will message was published.
    WillPublished { client_id: String, topic: String },
    /// A client reused the packet id of a held QoS 2 message for a new message.
    PacketIdReused { client_id: String, pkid: u16, replaced_topic: String, topic: String },
    /// A client's PUBLISH was answered but not taken; a 5.0 client was told `reason`.
    PublishRefused { client_id: String, topic: String, reason: u8 },
    /// A will with a Will Delay Interval waits in its session until `until_ms`.
    WillDelayed { client_id: String, topic: String, until_ms: u64 },
    /// A delayed will was not published: its client came back in time.
    WillCancelled { client_id: String, topic: String },
    /// The broker closed its end of a client's connection (its FIN or reset), as the fault
    /// proxy of `mqtt-sim check` sees it; `client` is the scenario's client name. What came
    /// before it in the trace says why (DISCONNECT, keep alive, takeover, a refusal...).
    /// `after_client_close`: the proxy had already delivered the client's own close (its FIN)
    /// on this connection to the broker, so this close answers it, whatever the trace shows
    /// before it (the client's note of its close is written by another task, and may land
    /// after). Always false in the simulation, whose tap sees the broker's end only.
    ClosedConnection {
        client: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        after_client_close: bool,
    },
}

impl BrokerEvent {
    /// The client id the event is about, if any.
    pub fn client_id(&self) -> Option<&str> {
        match self {
            BrokerEvent::SessionConnected { client_id, .. }
            | BrokerEvent::SessionOffline { client_id, .. }
            | BrokerEvent::SessionDiscarded { client_id }
            | BrokerEvent::SessionRestored { client_id, .. }
            | BrokerEvent::Dropped { client_id, .. }
            | BrokerEvent::WillPublished { client_id, .. }
            | BrokerEvent::PacketIdReused { client_id, .. }
            | BrokerEvent::PublishRefused { client_id, .. }
            | BrokerEvent::WillDelayed { client_id, .. }
            | BrokerEvent::WillCancelled { client_id, .. } => Some(client_id),
            BrokerEvent::ClosedBeforeConnect { .. }
            | BrokerEvent::ClosedConnection { .. }
            | BrokerEvent::Durable
            | BrokerEvent::Saved { .. }
            | BrokerEvent::Compacted { .. }
            | BrokerEvent::LogRepaired { .. } => None,
        }
    }
}

impl fmt::Display for BrokerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerEvent::SessionConnected { client_id, clean, session_present } => write!(
                f,
                "session {client_id:?} connected (clean={}, present={})",
                *clean as u8, *session_present as u8
            ),
            BrokerEvent::SessionOffline { client_id, reason } => write!(f, "{client_id:?} closed: {reason}"),
            BrokerEvent::SessionDiscarded { client_id } => write!(f, "session {client_id:?} discarded"),
            BrokerEvent::Durable => write!(f, "durable mode: acknowledgements wait for the log's sync"),
            BrokerEvent::Saved { sessions, messages, retained } => {
                write!(f, "state saved to disk: {sessions} sessions, {messages} messages, {retained} retained")
            }
            BrokerEvent::Compacted { commits } => write!(f, "log of {commits} commits folded into a new snapshot"),
            BrokerEvent::LogRepaired { at, dropped } => {
                write!(f, "log cut back to byte {at}: dropped {dropped} bytes of a commit a crash cut short")
            }
            BrokerEvent::SessionRestored { client_id, subscriptions, messages } => {
                let subs: Vec<String> = subscriptions.iter().map(|(f, q)| format!("{f:?}:q{q}")).collect();
                write!(f, "session {client_id:?} restored from disk: [{}], {messages} messages", subs.join(", "))
            }
            BrokerEvent::Dropped { client_id, topic, qos, reason } => {
                write!(f, "dropped for {client_id:?}: {topic:?} q{qos} ({})", reason.as_str())
            }
            BrokerEvent::ClosedBeforeConnect { reason } => write!(f, "connection closed before CONNECT: {reason}"),
            BrokerEvent::ClosedConnection { client, after_client_close: false } => {
                write!(f, "the broker closed its end of {client}'s connection")
            }
            BrokerEvent::ClosedConnection { client, after_client_close: true } => {
                write!(f, "the broker closed its end of {client}'s connection after the client closed its own")
            }
            BrokerEvent::WillPublished { client_id, topic } => {
                write!(f, "will of {client_id:?} published to {topic:?}")
            }
            BrokerEvent::PacketIdReused { client_id, pkid, replaced_topic, topic } => write!(
                f,
                "{client_id:?} reused packet id {pkid} for a new message to {topic:?}: \
                 the QoS 2 message to {replaced_topic:?} held under it is discarded"
            ),
            BrokerEvent::PublishRefused { client_id, topic, reason } => {
                write!(f, "PUBLISH from {client_id:?} to {topic:?} refused ({reason:#04x})")
            }
            BrokerEvent::WillDelayed { client_id, topic, until_ms } => {
                write!(f, "will of {client_id:?} to {topic:?} delayed until {until_ms} ms")
            }
            BrokerEvent::WillCancelled { client_id, topic } => {
                write!(f, "delayed will of {client_id:?} to {topic:?} cancelled: the client came back")
            }
        }
    }
}

/// What a client's application is told besides its messages and its connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum ClientNote {
    /// The application's CONNECT was refused with this return code.
    ConnectRefused { code: u8 },
    /// The application's connect failed before any CONNACK.
    ConnectFailed { error: String },
    /// A later CONNACK (after a reconnect) accepted the connection.
    Reconnected { session_present: bool },
    /// The server answered session present 0 to a resume.
    SessionLost { unacknowledged: usize },
    /// A later CONNACK refused the connection.
    Refused { code: u8 },
    /// A publication failed (not connected, the connection closed before its flow completed,
    /// a request the client refused): what the application is told, `no_wait` or not.
    PublishFailed { topic: String, payload: String, error: String },
    /// A scripted client wrote a packet the encoder refuses, as raw bytes (what the broker
    /// read of it is in the packets that follow, or a malformed-bytes line).
    SentRaw { packet: String },
}

impl fmt::Display for ClientNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientNote::ConnectRefused { code } => write!(f, "connection refused: CONNACK rc={code}"),
            ClientNote::ConnectFailed { error } => write!(f, "connect failed: {error}"),
            ClientNote::Reconnected { session_present } => {
                write!(f, "connected, session present = {}", *session_present as u8)
            }
            ClientNote::PublishFailed { topic, payload, error } => {
                write!(f, "publish {topic:?} {payload:?} failed: {error}")
            }
            ClientNote::SentRaw { packet } => write!(f, "sends raw, past the encoder's checks: {packet}"),
            ClientNote::SessionLost { unacknowledged } => {
                write!(f, "session lost on the server ({unacknowledged} unacknowledged re-sent)")
            }
            ClientNote::Refused { code } => write!(f, "refused rc={code}"),
        }
    }
}

/// Why a client's connection ended, as its application saw it: `None` is a lost connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EndCause(#[serde(serialize_with = "cause_text")] pub Option<CloseCause>);

impl fmt::Display for EndCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&CloseCause::describe(self.0))
    }
}

fn as_text<S: Serializer, T: fmt::Display>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

fn drop_reason<S: Serializer>(reason: &DropReason, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(reason.as_str())
}

fn cause_text<S: Serializer>(cause: &Option<CloseCause>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&EndCause(*cause))
}
