//! The scenario format: typed structs read from YAML with serde, rejecting unknown fields. A
//! scenario names itself and what it checks, configures the broker with mosquitto's option names,
//! declares its clients, and lists steps; expectations are steps too. docs/scenarios.md is the
//! user's guide to this file. The steps are in `steps.rs`, the expectations in `expectations.rs`;
//! this file re-exports them, so every type of the format is `scenario::model::X`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scripted::Acks;
use super::values::{Qos, Span, SpecId, TopicName};

pub use super::expectations::{
    ConnectionEnd, DropName, Expect, ExpectedClientState, ExpectedMessage, ExpectedReceived, ExpectedRetained,
    ReceivedSummary, SessionState,
};
pub use super::steps::{
    ClientStep, ConnectStep, Direction, DisconnectStep, ExpectedOutcome, FilterQos, LatencyStep, PacketLossStep,
    PartitionStep, PublishStep, Step, SubscribeStep, SubscriptionOptions, UnsubscribeStep,
};

/// One scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it shows, in a sentence.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The normative statements it checks.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spec: Vec<SpecId>,
    /// For the seed article: the claim it checks, quoted, and whether it holds.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// Where a named broker is known to differ from this scenario, by broker name, in a sentence
    /// (`mosquitto: "delivers at the most specific filter's QoS"`). `mqtt-sim check --broker-name`
    /// reports a difference on that broker as a known deviation instead of failing.
    #[serde(default)]
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub known_deviations: BTreeMap<String, String>,
    /// Why the scenario checks something only the simulated network can set up (a property of
    /// turmoil's TCP, not of MQTT). `mqtt-sim check` reports it not applicable with this reason.
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulation_only: Option<String>,
    /// The recorded seed: the run the snapshot shows.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Whether the outcome may depend on timing (then only expectations and invariants are
    /// checked at other seeds, not snapshot equality).
    #[serde(default)]
    pub outcome: OutcomeKind,
    #[serde(default)]
    pub broker: BrokerSettings,
    /// The server's choices, among those the spec leaves open, that the scenario's expectations
    /// depend on, even where they are the defaults (`qos2_delivery: on_pubrel`, a queue limit).
    /// They set the simulated broker as `broker:` does (the two must agree), and `mqtt-sim check`
    /// runs the scenario only against a broker that has them (section "Server choices" of
    /// docs/scenarios.md).
    #[serde(default)]
    #[serde(skip_serializing_if = "BrokerSettings::is_empty")]
    pub requires: BrokerSettings,
    #[serde(default)]
    pub network: Network,
    /// The simulated disk the broker's persistence file is on (simulation only: over TCP the
    /// broker's disk is what it is).
    #[serde(default, skip_serializing_if = "Disk::is_default")]
    pub disk: Disk,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub clients: BTreeMap<String, ClientSpec>,
    /// Each step is a one-key mapping (`- connect: reader`) or a bare keyword (`- crash_broker`).
    #[serde(
        deserialize_with = "serde_yaml::with::singleton_map_recursive::deserialize",
        serialize_with = "serde_yaml::with::singleton_map_recursive::serialize"
    )]
    pub steps: Vec<Step>,
    /// The line of each step in its file, filled in by `load::parse`.
    #[serde(skip)]
    pub step_lines: Vec<usize>,
}

fn default_seed() -> u64 {
    1
}

/// A statement of the seed article and whether the scenario shows it true.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub quote: String,
    pub holds: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The same snapshot at every seed.
    #[default]
    Deterministic,
    /// Timing may change the outcome; expectations must still hold at every seed.
    MayVary,
}

/// Broker options, named as in mosquitto.conf (and `qos2_delivery`, mqtt-sim's own); unset ones
/// keep mosquitto 2.0's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_queued_messages: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_queued_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_qos0_messages: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_inflight_messages: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_packet_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_keepalive: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_zero_length_clientid: Option<bool>,
    /// One copy per matching subscription where a client's subscriptions overlap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_duplicate_messages: Option<bool>,
    /// `on_pubrel` (method A, mosquitto's) or `on_publish` (method B).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos2_delivery: Option<crate::broker::Qos2Delivery>,
    /// Keep state across `crash_broker`/`restart_broker` on the simulated disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence: Option<bool>,
    /// Seconds (or changes) between saves; 0: only at a clean shutdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autosave_interval: Option<u64>,
    /// Count changes instead of seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autosave_on_changes: Option<bool>,
    /// Durable mode (mqtt-sim's own option): every change is synced to a log before the
    /// acknowledgements that depend on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_sync: Option<bool>,
    /// Durable mode: the log's length, in bytes, at which it is folded into a new snapshot
    /// (mqtt-sim's own option; default 4 MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence_log_limit: Option<u64>,
}

/// Calls `$then!` with the options of [`BrokerSettings`], which are also the names of their
/// `broker::Config` fields and of mosquitto.conf options: the one list of them, used here and
/// by `check::target` (which options decide whether a scenario applies).
macro_rules! broker_options {
    ($then:ident) => {
        $then!(
            max_queued_messages,
            max_queued_bytes,
            queue_qos0_messages,
            max_inflight_messages,
            max_packet_size,
            max_keepalive,
            allow_zero_length_clientid,
            allow_duplicate_messages,
            qos2_delivery,
            persistence,
            autosave_interval,
            autosave_on_changes,
            persistence_sync,
            persistence_log_limit
        )
    };
}
pub(crate) use broker_options;

impl BrokerSettings {
    /// Whether nothing is stated.
    pub fn is_empty(&self) -> bool {
        *self == BrokerSettings::default()
    }

    /// The settings stated in `self` or in `other`; `Err` names the first option they both state
    /// with different values.
    pub fn merged(&self, other: &BrokerSettings) -> Result<BrokerSettings, String> {
        macro_rules! merge {
            ($($f:ident),*) => {
                Ok(BrokerSettings { $( $f: match (&self.$f, &other.$f) {
                    (Some(a), Some(b)) if a != b => {
                        return Err(format!("{} is {a:?} in one and {b:?} in the other", stringify!($f)))
                    }
                    (a, b) => a.clone().or(b.clone()),
                }, )* })
            };
        }
        broker_options!(merge)
    }

    pub fn apply(&self, c: &mut crate::broker::Config) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        broker_options!(set);
    }
}

/// Link latency: each message takes between `min` and `max`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_latency: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_latency: Option<Span>,
}

/// How the simulated disk treats writes that were not synced when the broker crashes
/// (turmoil's `unstable-fs` model: by default a crash loses every unsynced write).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Disk {
    /// The probability that a write becomes durable on its own, without a sync, as an
    /// operating system flushes its page cache (0, the default: only a sync makes it so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_probability: Option<f64>,
    /// Torn writes: a crash keeps a random number of whole `block_size`-byte blocks from the
    /// start of each unsynced write, instead of all or nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u64>,
}

impl Disk {
    pub fn is_default(&self) -> bool {
        *self == Disk::default()
    }
}

/// A client: its CONNECT options. The map key is its host name in the simulation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Defaults to the client's name. Two clients may share one to show takeover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `5` for an MQTT 5.0 client; 3.1.1 (`"3.1.1"`) by default.
    #[serde(default, skip_serializing_if = "ProtocolVersion::is_v311")]
    pub protocol: ProtocolVersion,
    /// Clean session in 3.1.1, Clean Start in 5.0 (`clean_start` is the same field).
    #[serde(default = "yes", alias = "clean_start")]
    pub clean_session: bool,
    /// 5.0: the Session Expiry Interval in seconds (`never` for 0xFFFFFFFF); 0 when absent, so
    /// the session ends with the connection [MQTT5-3.1.2-23].
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "expiry_seconds")]
    pub session_expiry: Option<u32>,
    /// 5.0: the Receive Maximum the client announces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_maximum: Option<u16>,
    /// 5.0: the Maximum Packet Size the client announces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_packet_size: Option<u32>,
    /// 5.0: the Topic Alias Maximum the client announces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_alias_maximum: Option<u16>,
    /// 5.0: User Properties of its CONNECT, in order, as `[key, value]` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<(String, String)>,
    #[serde(default = "sixty")]
    pub keep_alive: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will: Option<Will>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Send CONNECT even when it breaks a client-side rule (an empty client id with clean
    /// session 0 [MQTT-3.1.3-7], say), to show what the broker does with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_client_rules: bool,
    /// QoS 1/2 publications in flight at once; more wait in the client. 0 = no limit. Default 20
    /// (`ClientOptions::max_inflight`).
    #[serde(default = "default_max_inflight", skip_serializing_if = "is_default_max_inflight")]
    pub max_inflight: u16,
    /// `manual`: the client answers nothing by itself; `ack` steps send its acknowledgements.
    #[serde(default, skip_serializing_if = "Acks::is_auto")]
    pub acks: Acks,
}

pub(super) fn default_max_inflight() -> u16 {
    crate::client::DEFAULT_MAX_INFLIGHT
}

fn is_default_max_inflight(n: &u16) -> bool {
    *n == crate::client::DEFAULT_MAX_INFLIGHT
}

fn yes() -> bool {
    true
}

fn sixty() -> u16 {
    60
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Will {
    pub topic: TopicName,
    #[serde(default)]
    pub payload: String,
    #[serde(default = "qos0")]
    pub qos: Qos,
    #[serde(default)]
    pub retain: bool,
    /// 5.0: the Will Delay Interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<u32>,
    /// 5.0: the will message's Message Expiry Interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expiry: Option<u32>,
}

impl Will {
    /// Whether it asks for what only 5.0 has.
    pub fn is_v5(&self) -> bool {
        self.delay.is_some() || self.message_expiry.is_some()
    }
}

/// The protocol a client speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum ProtocolVersion {
    #[default]
    #[serde(rename = "3.1.1")]
    V311,
    #[serde(rename = "5")]
    V5,
}

impl ProtocolVersion {
    fn is_v311(&self) -> bool {
        *self == ProtocolVersion::V311
    }

    pub fn version(self) -> crate::protocol::Version {
        match self {
            ProtocolVersion::V311 => crate::protocol::Version::V311,
            ProtocolVersion::V5 => crate::protocol::Version::V5,
        }
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ProtocolVersion, D::Error> {
        let v = serde_yaml::Value::deserialize(d)?;
        let text = match &v {
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match text.as_str() {
            "5" | "5.0" => Ok(ProtocolVersion::V5),
            "3.1.1" | "4" => Ok(ProtocolVersion::V311),
            _ => Err(serde::de::Error::custom(format!(
                "protocol {text:?} is not one we speak: expected 5 (MQTT 5.0) or \"3.1.1\""
            ))),
        }
    }
}

/// Seconds, or `never` for 0xFFFFFFFF (a session that does not expire).
pub(super) fn expiry_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match serde_yaml::Value::deserialize(d)? {
        serde_yaml::Value::String(s) if s == "never" => Ok(Some(u32::MAX)),
        serde_yaml::Value::Number(n) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(serde::de::Error::custom(format!("{n} is not a number of seconds from 0 to 4294967295"))),
        },
        other => Err(serde::de::Error::custom(format!(
            "expected a number of seconds or `never`, found {}",
            serde_yaml::to_string(&other).unwrap_or_default().trim()
        ))),
    }
}

pub(super) fn qos0() -> Qos {
    Qos(crate::protocol::QoS::AtMostOnce)
}

impl Default for ClientSpec {
    /// What an empty `{}` in `clients:` means.
    fn default() -> ClientSpec {
        ClientSpec {
            client_id: None,
            protocol: ProtocolVersion::V311,
            clean_session: true,
            session_expiry: None,
            receive_maximum: None,
            maximum_packet_size: None,
            topic_alias_maximum: None,
            user_properties: Vec::new(),
            keep_alive: 60,
            will: None,
            username: None,
            password: None,
            break_client_rules: false,
            max_inflight: default_max_inflight(),
            acks: Acks::default(),
        }
    }
}
