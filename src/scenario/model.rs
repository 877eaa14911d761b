//! The scenario format: typed structs read from YAML with serde, rejecting unknown fields. A
//! scenario names itself and what it checks, configures the broker with mosquitto's option names,
//! declares its clients, and lists steps; expectations are steps too. docs/scenarios.md is the
//! user's guide to this file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scripted::{AckStep, Acks, SendStep};
use super::values::{client_or_map, FromClientName, Qos, Refusal, Span, SpecId, TopicFilter, TopicName};

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
            qos2_delivery
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

fn default_max_inflight() -> u16 {
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
fn expiry_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
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

fn qos0() -> Qos {
    Qos(crate::protocol::QoS::AtMostOnce)
}

/// One step. Steps run in order; each waits for its command to complete (or to be reported
/// pending after the command timeout, when `outcome: pending` is expected).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    #[serde(deserialize_with = "client_or_map")]
    Connect(ConnectStep),
    Subscribe(SubscribeStep),
    Unsubscribe(UnsubscribeStep),
    Publish(PublishStep),
    /// DISCONNECT, then close: the will is discarded.
    #[serde(deserialize_with = "client_or_map")]
    Disconnect(DisconnectStep),
    /// Close the connection without DISCONNECT: the will is published.
    #[serde(deserialize_with = "client_or_map")]
    LoseConnection(ClientStep),
    #[serde(deserialize_with = "client_or_map")]
    Partition(PartitionStep),
    #[serde(deserialize_with = "client_or_map")]
    Heal(ClientStep),
    #[serde(deserialize_with = "client_or_map")]
    Hold(ClientStep),
    #[serde(deserialize_with = "client_or_map")]
    Release(ClientStep),
    Latency(LatencyStep),
    /// Random link failures: each tick the link may drop everything in flight.
    PacketLoss(PacketLossStep),
    CrashBroker,
    RestartBroker,
    #[serde(deserialize_with = "client_or_map")]
    CrashClient(ClientStep),
    #[serde(deserialize_with = "client_or_map")]
    RestartClient(ClientStep),
    /// Let simulated time pass.
    Wait(Span),
    Expect(Expect),
    /// A scripted client's acknowledgement (`acks: manual`).
    Ack(AckStep),
    /// A scripted client writes one packet exactly as given.
    Send(SendStep),
    /// The client sends no more PINGREQ on this connection.
    #[serde(deserialize_with = "client_or_map")]
    StopPinging(ClientStep),
}

impl Step {
    /// The step's keyword, as written in YAML.
    pub fn keyword(&self) -> &'static str {
        match self {
            Step::Connect(_) => "connect",
            Step::Subscribe(_) => "subscribe",
            Step::Unsubscribe(_) => "unsubscribe",
            Step::Publish(_) => "publish",
            Step::Disconnect(_) => "disconnect",
            Step::LoseConnection(_) => "lose_connection",
            Step::Partition(_) => "partition",
            Step::Heal(_) => "heal",
            Step::Hold(_) => "hold",
            Step::Release(_) => "release",
            Step::Latency(_) => "latency",
            Step::PacketLoss(_) => "packet_loss",
            Step::CrashBroker => "crash_broker",
            Step::RestartBroker => "restart_broker",
            Step::CrashClient(_) => "crash_client",
            Step::RestartClient(_) => "restart_client",
            Step::Wait(_) => "wait",
            Step::Expect(_) => "expect",
            Step::Ack(_) => "ack",
            Step::Send(_) => "send",
            Step::StopPinging(_) => "stop_pinging",
        }
    }

    /// The client the step acts on, if any.
    pub fn client(&self) -> Option<&str> {
        match self {
            Step::Connect(s) => Some(&s.client),
            Step::Subscribe(s) => Some(&s.client),
            Step::Unsubscribe(s) => Some(&s.client),
            Step::Publish(s) => Some(&s.client),
            Step::Partition(s) => Some(&s.client),
            Step::Latency(s) => Some(&s.client),
            Step::PacketLoss(s) => Some(&s.client),
            Step::Ack(s) => Some(&s.client),
            Step::Send(s) => Some(&s.client),
            Step::Disconnect(s) => Some(&s.client),
            Step::StopPinging(s)
            | Step::LoseConnection(s)
            | Step::Heal(s)
            | Step::Hold(s)
            | Step::Release(s)
            | Step::CrashClient(s)
            | Step::RestartClient(s) => Some(&s.client),
            Step::CrashBroker | Step::RestartBroker | Step::Wait(_) | Step::Expect(_) => None,
        }
    }
}

/// How a command step must end; `done` unless stated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedOutcome {
    #[default]
    Done,
    /// Still incomplete after the command timeout (e.g. a QoS 1 publish across a partition).
    Pending,
    /// Completed with an error (refused, not connected...).
    Failed,
    /// Not checked (generated scenarios: only the invariants judge them).
    Any,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientStep {
    pub client: String,
}

/// DISCONNECT, then close; in 5.0 with a reason code (`4` publishes the will) and a new
/// Session Expiry Interval (section 3.14.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectStep {
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "expiry_seconds")]
    pub session_expiry: Option<u32>,
}

impl FromClientName for DisconnectStep {
    fn from_client_name(client: String) -> DisconnectStep {
        DisconnectStep { client, reason: None, session_expiry: None }
    }
}

impl DisconnectStep {
    /// Whether it asks for what only 5.0 has.
    pub fn is_v5(&self) -> bool {
        self.reason.is_some() || self.session_expiry.is_some()
    }
}

impl FromClientName for ClientStep {
    fn from_client_name(client: String) -> ClientStep {
        ClientStep { client }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectStep {
    pub client: String,
    /// 5.0: a Session Expiry Interval for this connection instead of the client's.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "expiry_seconds")]
    pub session_expiry: Option<u32>,
    /// Overrides the client's declared clean-session flag for this connect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_session: Option<bool>,
    /// The session present flag the CONNACK must carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_present: Option<bool>,
    /// The refusal expected: a CONNACK return code, or `any` refusal the spec allows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ExpectedOutcome>,
}

impl FromClientName for ConnectStep {
    fn from_client_name(client: String) -> ConnectStep {
        ConnectStep {
            client,
            session_expiry: None,
            clean_session: None,
            session_present: None,
            refused: None,
            outcome: None,
        }
    }
}

/// One filter and the QoS asked for.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterQos {
    pub filter: TopicFilter,
    pub qos: Qos,
    /// 5.0 subscription options (section 3.8.3.1); see [`SubscriptionOptions`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_local: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_as_published: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retain_handling: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

impl FilterQos {
    /// `filter` at `qos`, with no 5.0 options.
    pub fn new(filter: TopicFilter, qos: Qos) -> FilterQos {
        FilterQos { filter, qos, no_local: false, retain_as_published: false, retain_handling: 0 }
    }

    pub fn options(&self) -> SubscriptionOptions {
        SubscriptionOptions {
            no_local: self.no_local,
            retain_as_published: self.retain_as_published,
            retain_handling: self.retain_handling,
        }
    }
}

/// A 5.0 filter's subscription options besides its QoS; all off, Retain Handling 0, in 3.1.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriptionOptions {
    /// Not sent the client's own publications [MQTT5-3.8.3-3].
    pub no_local: bool,
    /// RETAIN forwarded as published [MQTT5-3.3.1-13].
    pub retain_as_published: bool,
    /// 0: retained messages on every subscribe, 1: only for a new subscription, 2: never.
    pub retain_handling: u8,
}

impl SubscriptionOptions {
    pub fn is_plain(&self) -> bool {
        *self == SubscriptionOptions::default()
    }

    /// `filter` at `qos` with these options.
    pub fn apply(&self, filter: String, qos: crate::protocol::QoS) -> crate::protocol::SubscribeFilter {
        use crate::protocol::RetainHandling;
        crate::protocol::SubscribeFilter {
            no_local: self.no_local,
            retain_as_published: self.retain_as_published,
            retain_handling: match self.retain_handling {
                1 => RetainHandling::OnNewSubscription,
                2 => RetainHandling::Never,
                _ => RetainHandling::OnSubscribe,
            },
            ..crate::protocol::SubscribeFilter::new(filter, qos)
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeStep {
    pub client: String,
    /// Shorthand for one filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicFilter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<Qos>,
    /// Several filters in one SUBSCRIBE.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<FilterQos>,
    #[serde(default)]
    pub outcome: ExpectedOutcome,
    /// 5.0: the shorthand filter's subscription options (see [`SubscriptionOptions`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_local: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_as_published: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retain_handling: u8,
    /// 5.0: the SUBSCRIBE's Subscription Identifier, sent back with what it matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_identifier: Option<u32>,
}

impl SubscribeStep {
    /// Whether it asks for what only 5.0 has.
    pub fn is_v5(&self) -> bool {
        !self.options().is_plain()
            || self.subscription_identifier.is_some()
            || self.topics.iter().any(|f| !f.options().is_plain())
    }

    /// The shorthand filter's options.
    pub fn options(&self) -> SubscriptionOptions {
        SubscriptionOptions {
            no_local: self.no_local,
            retain_as_published: self.retain_as_published,
            retain_handling: self.retain_handling,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeStep {
    pub client: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicFilter>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicFilter>,
    #[serde(default)]
    pub outcome: ExpectedOutcome,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublishStep {
    pub client: String,
    pub topic: TopicName,
    /// `{n}` is replaced by the message's number: `start`, `start + 1`, ... for `repeat` messages.
    #[serde(default)]
    pub payload: String,
    #[serde(default = "qos0")]
    pub qos: Qos,
    #[serde(default)]
    pub retain: bool,
    /// Publish this many messages, one after another.
    #[serde(default = "one")]
    pub repeat: u32,
    /// The number of the first message, for `{n}` (default 1): a later step goes on from where
    /// an earlier one stopped with `start: 1001`.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub start: u32,
    /// Do not wait for each QoS flow to complete before the next step (fire and forget).
    #[serde(default)]
    pub no_wait: bool,
    #[serde(default)]
    pub outcome: ExpectedOutcome,
    /// 5.0 PUBLISH properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expiry: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<u8>,
}

impl Default for PublishStep {
    /// A QoS 0 publication of an empty payload, once, from no client yet.
    fn default() -> PublishStep {
        PublishStep {
            client: String::new(),
            topic: TopicName(String::new()),
            payload: String::new(),
            qos: qos0(),
            retain: false,
            repeat: 1,
            start: 1,
            no_wait: false,
            outcome: ExpectedOutcome::Done,
            message_expiry: None,
            user_properties: Vec::new(),
            content_type: None,
            response_topic: None,
            correlation_data: None,
            payload_format: None,
        }
    }
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

impl PublishStep {
    /// The 5.0 properties it asks for, in a fixed order; empty for a 3.1.1 publication.
    pub fn properties(&self) -> crate::protocol::Properties {
        use crate::protocol::Property;
        let mut p = crate::protocol::Properties::new();
        p.0.extend(self.payload_format.map(Property::PayloadFormatIndicator));
        p.0.extend(self.message_expiry.map(Property::MessageExpiryInterval));
        p.0.extend(self.content_type.clone().map(Property::ContentType));
        p.0.extend(self.response_topic.clone().map(Property::ResponseTopic));
        p.0.extend(self.correlation_data.clone().map(|d| Property::CorrelationData(d.into())));
        p.0.extend(self.user_properties.iter().cloned().map(Property::UserProperty));
        p
    }
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl PublishStep {
    /// The numbers `{n}` takes, one per message.
    pub fn numbers(&self) -> std::ops::RangeInclusive<u32> {
        self.start..=self.start.saturating_add(self.repeat.saturating_sub(1))
    }
}

pub use crate::trace::Direction;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionStep {
    pub client: String,
    #[serde(default)]
    pub direction: Direction,
}

impl FromClientName for PartitionStep {
    fn from_client_name(client: String) -> PartitionStep {
        PartitionStep { client, direction: Direction::Both }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyStep {
    pub client: String,
    pub latency: Span,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PacketLossStep {
    pub client: String,
    /// Probability, per simulation tick, that the link fails and loses what is in flight; 0 stops.
    pub rate: f64,
}

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
    Summary(ReceivedSummary),
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
                ReceivedSummary::deserialize(value::MapAccessDeserializer::new(map)).map(ExpectedReceived::Summary)
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
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRetained {
    pub topic: String,
    #[serde(default)]
    pub payload: String,
    pub qos: Qos,
}
