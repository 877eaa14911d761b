//! The steps of a scenario: what each asks a client, the network or the broker to do, with its
//! YAML fields (see docs/scenarios.md). Part of the format `model.rs` re-exports.

use serde::{Deserialize, Serialize};

use super::model::{expiry_seconds, qos0, Expect};
use super::scripted::{AckStep, SendStep};
use super::values::{client_or_map, FromClientName, Qos, Refusal, Span, TopicFilter, TopicName};

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
    /// Overrides the client's declared clean-session flag for this connect (`clean_start`, its
    /// 5.0 name, is the same field).
    #[serde(alias = "clean_start", skip_serializing_if = "Option::is_none")]
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
    /// A Topic Alias for this topic: the first PUBLISH with it sets the alias, later ones on
    /// the same connection send an empty topic name with it (section 3.3.2.3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_alias: Option<u16>,
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
            topic_alias: None,
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
        p.0.extend(self.topic_alias.map(Property::TopicAlias));
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
