//! What MQTT 5.0 adds to generated cases: which clients speak it (`ProtocolMix`), their CONNECT
//! options (session expiry, Receive Maximum, will delay and expiry), the options of their
//! subscriptions (shared, No Local, Retain As Published, Retain Handling, identifiers) and
//! publications (Message Expiry Interval), and `legalize`, which takes every 5.0 field off the
//! steps of 3.1.1 clients and keeps the rest valid, so a generated case always loads.
//!
//! The options are generated for every client and step, whatever its version, and dropped where
//! they do not apply: a client shrinking from 5.0 to 3.1.1 is then a simplification proptest can
//! make without regenerating its steps.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::scenario::model::{ClientSpec, ProtocolVersion, Step, SubscribeStep, Will};
use crate::scenario::values::{Qos, TopicFilter, TopicName};

/// Which protocol versions generated clients speak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProtocolMix {
    /// Every client 3.1.1, from the generator `explore` always had (`v311.rs`): the default,
    /// so a seed explores what it did before 5.0 came.
    #[default]
    V311,
    /// Every client 5.0.
    V5,
    /// Each client either, half and half: some cases all 3.1.1, some all 5.0, most mixed.
    Mixed,
}

impl std::str::FromStr for ProtocolMix {
    type Err = String;
    fn from_str(s: &str) -> Result<ProtocolMix, String> {
        match s {
            "3.1.1" | "4" => Ok(ProtocolMix::V311),
            "5" | "5.0" => Ok(ProtocolMix::V5),
            "mixed" => Ok(ProtocolMix::Mixed),
            _ => Err(format!("protocol {s:?}: expected 3.1.1, 5 or mixed")),
        }
    }
}

impl ProtocolMix {
    /// Whether a client speaks 5.0. In a mixed exploration the flag shrinks toward 3.1.1.
    pub fn version(self) -> BoxedStrategy<bool> {
        match self {
            ProtocolMix::V311 => Just(false).boxed(),
            ProtocolMix::V5 => Just(true).boxed(),
            ProtocolMix::Mixed => any::<bool>().boxed(),
        }
    }
}

/// A Session Expiry Interval: 0, a few seconds (so it runs out within the case: the epilogue
/// waits longer than any of them), or `never`.
pub fn expiry() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0), 3 => 1u32..=5, 2 => Just(u32::MAX)]
}

/// A client's generated options beyond 3.1.1's.
#[derive(Debug, Clone)]
pub struct V5Client {
    session_expiry: Option<u32>,
    /// Small, so the flow control bites.
    receive_maximum: Option<u16>,
    will_delay: Option<u32>,
    will_expiry: Option<u32>,
}

pub fn client_options() -> impl Strategy<Value = V5Client> {
    (
        prop::option::weighted(0.8, expiry()),
        prop::option::weighted(0.5, 1u16..=3),
        prop::option::weighted(0.5, 0u32..=4),
        prop::option::weighted(0.3, 1u32..=4),
    )
        .prop_map(|(session_expiry, receive_maximum, will_delay, will_expiry)| V5Client {
            session_expiry,
            receive_maximum,
            will_delay,
            will_expiry,
        })
}

/// A will on one of `topics`, any QoS, sometimes retained; its payload names its client.
pub fn will(topics: &'static [&'static str]) -> impl Strategy<Value = Will> {
    (prop::sample::select(topics), 0u8..=2, prop::bool::weighted(0.2)).prop_map(|(topic, qos, retain)| Will {
        topic: TopicName(topic.to_owned()),
        payload: String::new(), // named after its client when the client is built
        qos: Qos(crate::protocol::QoS::from_u8(qos).expect("0 to 2")),
        retain,
        delay: None,
        message_expiry: None,
    })
}

/// Makes `spec` a 5.0 client with `o`. Clients that share a client id with another announce no
/// Receive Maximum: a session resumed by a client with a smaller one than the session's
/// deliveries in flight gets them all re-sent [MQTT5-4.4.0-1], past its maximum [MQTT5-3.3.4-9],
/// where the spec leaves the server no way to obey both; explorations judge conforming runs.
pub fn make_v5(spec: &mut ClientSpec, o: &V5Client, id_shared: bool) {
    spec.protocol = ProtocolVersion::V5;
    spec.session_expiry = o.session_expiry;
    spec.receive_maximum = if id_shared { None } else { o.receive_maximum };
    if let Some(w) = &mut spec.will {
        w.delay = o.will_delay;
        w.message_expiry = o.will_expiry;
    }
}

/// A subscription's generated 5.0 options.
#[derive(Debug, Clone, Copy, Default)]
pub struct V5Subscription {
    /// A shared subscription in this group (`$share/{group}/{filter}`).
    pub group: Option<&'static str>,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
    pub id: Option<u32>,
}

pub fn subscription() -> impl Strategy<Value = V5Subscription> {
    (
        prop::option::weighted(0.2, prop::sample::select(&["g", "h"][..])),
        prop::bool::weighted(0.25),
        prop::bool::weighted(0.25),
        prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
        prop::option::weighted(0.3, 1u32..=3),
    )
        .prop_map(|(group, no_local, retain_as_published, retain_handling, id)| V5Subscription {
            group,
            // No Local on a shared subscription is a Protocol Error [MQTT5-3.8.3-4].
            no_local: no_local && group.is_none(),
            retain_as_published,
            retain_handling,
            id,
        })
}

impl V5Subscription {
    /// Sets them on a one-filter `step`.
    pub fn apply(self, step: &mut SubscribeStep) {
        if let (Some(group), Some(filter)) = (self.group, step.topics.first_mut()) {
            filter.filter = TopicFilter(format!("$share/{group}/{}", filter.filter.0));
        }
        for f in &mut step.topics {
            f.no_local = self.no_local;
            f.retain_as_published = self.retain_as_published;
            f.retain_handling = self.retain_handling;
        }
        step.subscription_identifier = self.id;
    }
}

/// A Message Expiry Interval for a publication: short, so some expire while queued.
pub fn message_expiry() -> impl Strategy<Value = Option<u32>> {
    prop::option::weighted(0.3, 1u32..=4)
}

/// Takes the 5.0 fields off the steps of 3.1.1 clients (a shared filter becomes the plain one),
/// and keeps a DISCONNECT from raising a Session Expiry Interval its connection's CONNECT sent as
/// 0, which is a Protocol Error (section 3.14.2.2.2).
pub fn legalize(clients: &BTreeMap<String, ClientSpec>, steps: &mut [Step]) {
    // The Session Expiry Interval each client's last CONNECT sent.
    let mut connected_with: BTreeMap<String, u32> = BTreeMap::new();
    for step in steps {
        let Some(name) = step.client().map(str::to_owned) else { continue };
        let spec = &clients[&name];
        let v5 = spec.protocol == ProtocolVersion::V5;
        match step {
            Step::Connect(c) => {
                if !v5 {
                    c.session_expiry = None;
                }
                connected_with.insert(name, c.session_expiry.or(spec.session_expiry).unwrap_or(0));
            }
            Step::Subscribe(s) if !v5 => {
                for f in &mut s.topics {
                    if let Ok(Some(shared)) = crate::topic::shared(&f.filter.0) {
                        f.filter = TopicFilter(shared.filter.to_owned());
                    }
                    f.no_local = false;
                    f.retain_as_published = false;
                    f.retain_handling = 0;
                }
                s.subscription_identifier = None;
            }
            Step::Publish(p) if !v5 => p.message_expiry = None,
            Step::Disconnect(d) if !v5 => {
                d.reason = None;
                d.session_expiry = None;
            }
            Step::Disconnect(d)
                if d.session_expiry.is_some_and(|e| e > 0) && connected_with.get(&name).copied().unwrap_or(0) == 0 =>
            {
                d.session_expiry = Some(0);
            }
            _ => {}
        }
    }
}
