//! What an `expect` step checks: messages received, queues, inflight windows, drops, sessions,
//! the retained store, the packets on a connection and a client's own session state. Part of
//! the format `model.rs` re-exports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::values::{Qos, SpecId};

/// What must hold at this point. Client names key what applications received; client ids key
/// broker-side session state.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The normative statements this expectation observes: a difference here is reported under
    /// them. Unset, `mqtt-sim check` and `run` name the statement the kind of check stands for
    /// where there is one (`executor::statements`), else the scenario's `spec:` list.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spec: Vec<SpecId>,
    /// Every message each client's application has received so far: per stream (topic and QoS)
    /// in order, streams interleaved in any way (`harness::received`); or, for long runs, a
    /// summary of them.
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub received: BTreeMap<String, ExpectedReceived>,
    /// How many messages each client has received so far.
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub received_count: BTreeMap<String, usize>,
    /// Messages queued in each session (by client id).
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub queued: BTreeMap<String, usize>,
    /// Outgoing messages awaiting acknowledgement in each session (by client id).
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub inflight: BTreeMap<String, usize>,
    /// Incoming QoS 2 messages each session holds awaiting PUBREL (by client id).
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub inflight_in: BTreeMap<String, usize>,
    /// Drop counters by reason for each session (by client id); absent reasons must be 0.
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub drops: BTreeMap<String, BTreeMap<DropName, u64>>,
    /// Whether each session exists on the broker, and if so whether it is connected.
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sessions: BTreeMap<String, SessionState>,
    /// The whole retained store, in topic order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retained: Option<Vec<ExpectedRetained>>,
    /// Packets on each client's connection, as the client's end saw them (`scenario::wire`).
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub wire: BTreeMap<String, super::wire::WireExpect>,
    /// Each client's own half of its session (by client name), observable on any network.
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub client_state: BTreeMap<String, ExpectedClientState>,
}

/// A client's own state; unset fields are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedClientState {
    /// QoS 2 messages it received and handed over, PUBREL not yet received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awaiting_pubrel: Option<usize>,
    /// Its own QoS 1/2 publications not yet fully acknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unacknowledged: Option<usize>,
    /// With `acks: manual`, the acknowledgements it owes and has not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owed_acks: Option<usize>,
    /// How its latest connection ended, or `open` while it lasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionEnd>,
}

/// How a client's latest connection ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionEnd {
    /// Still up.
    Open,
    /// It sent DISCONNECT.
    Disconnect,
    /// It closed because no PINGRESP came within the keep alive.
    PingTimeout,
    /// It closed because no CONNACK came in time.
    ConnackTimeout,
    /// The server refused the CONNECT.
    Refused,
    /// It closed because the server broke the protocol.
    ProtocolViolation,
    /// The connection was lost or closed by the server (or by a fault), not by the client.
    Lost,
    /// It never connected.
    #[default]
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropName {
    QueueFull,
    QueueBytesFull,
    Qos0Offline,
    SlowClient,
    /// 5.0: its Message Expiry Interval passed while it waited [MQTT5-3.3.2-5].
    Expired,
    /// 5.0: larger than the client's Maximum Packet Size [MQTT5-3.1.2-25].
    TooLargeForClient,
}

impl DropName {
    pub fn reason(self) -> crate::broker::DropReason {
        match self {
            DropName::QueueFull => crate::broker::DropReason::QueueFull,
            DropName::QueueBytesFull => crate::broker::DropReason::QueueBytesFull,
            DropName::Qos0Offline => crate::broker::DropReason::Qos0Offline,
            DropName::SlowClient => crate::broker::DropReason::SlowClient,
            DropName::Expired => crate::broker::DropReason::Expired,
            DropName::TooLargeForClient => crate::broker::DropReason::TooLargeForClient,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// No session for this client id.
    Absent,
    /// A session with a connected client.
    Connected,
    /// A session kept for an offline client.
    Offline,
}

/// What a client received: every message, as a list; or, where listing them would not be
/// readable (70,000 messages), how many, whether each stream came in publication order, and
/// the first and the last.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ExpectedReceived {
    List(Vec<ExpectedMessage>),
    Summary(Box<ReceivedSummary>),
}

impl<'de> Deserialize<'de> for ExpectedReceived {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ExpectedReceived, D::Error> {
        use serde::de::{value, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExpectedReceived;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of messages, or a summary {count, in_order, first, last}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ExpectedReceived, A::Error> {
                Vec::deserialize(value::SeqAccessDeserializer::new(seq)).map(ExpectedReceived::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ExpectedReceived, A::Error> {
                ReceivedSummary::deserialize(value::MapAccessDeserializer::new(map))
                    .map(|s| ExpectedReceived::Summary(Box::new(s)))
            }
        }
        d.deserialize_any(V)
    }
}

/// A summary of what a client received.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedSummary {
    /// How many messages, copies and re-deliveries included.
    pub count: usize,
    /// Whether each publisher's messages on each topic at each QoS arrived in the order they
    /// were published [MQTT-4.6.0-6] (re-deliveries aside).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_order: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<ExpectedMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<ExpectedMessage>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedMessage {
    pub topic: String,
    #[serde(default)]
    pub payload: String,
    pub qos: Qos,
    #[serde(default)]
    pub retain: bool,
    /// Checked only when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dup: Option<bool>,
    /// 5.0: the properties it must come with (`scenario::props`); only those given are checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<super::props::PropsPattern>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRetained {
    pub topic: String,
    #[serde(default)]
    pub payload: String,
    pub qos: Qos,
}
