//! `wire:` expectations: which packets crossed a client's connection, as the client's end saw
//! them. A fault scenario whose headline is a packet ("the re-send after the reconnect is PUBREL
//! id 1, and no PUBLISH") states it here, so a broker that does something else cannot pass by
//! luck. A pattern names a packet kind and, optionally, its packet id, QoS, DUP, RETAIN, topic
//! and payload; listed patterns must appear in order (other packets may come between), and
//! `not_` patterns must not appear at all. Matching is pure: the executor hands it the packets.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::values::Qos;
use crate::protocol::PacketSummary;

/// What one client's connection must have carried.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WireExpect {
    /// Which packets are looked at: those of the client's latest connection (the default), or
    /// of the whole run.
    #[serde(default)]
    pub on: WireScope,
    /// Packets the client received from the broker, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received: Vec<PacketPattern>,
    /// Packets the client sent to the broker, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<PacketPattern>,
    /// Packets the client must not have received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_received: Vec<PacketPattern>,
    /// Packets the client must not have sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_sent: Vec<PacketPattern>,
}

/// The packets a `wire:` expectation looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WireScope {
    /// From the client's latest CONNECT on.
    #[default]
    LastConnection,
    /// Every packet of the run.
    Run,
}

/// A packet's kind, as a scenario names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PacketKind {
    Connect,
    Connack,
    Publish,
    Puback,
    Pubrec,
    Pubrel,
    Pubcomp,
    Subscribe,
    Suback,
    Unsubscribe,
    Unsuback,
    Pingreq,
    Pingresp,
    Disconnect,
}

/// A packet, with the fields that must match; unset fields match anything.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PacketPattern {
    pub kind: PacketKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<Qos>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dup: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain: Option<bool>,
    /// As the scenario names it (the network adds its namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

impl PacketPattern {
    /// Whether `packet` matches; `topic` maps the pattern's topic to the network's name for it.
    pub fn matches(&self, packet: &PacketSummary, topic: &dyn Fn(&str) -> String) -> bool {
        if kind_of(packet) != self.kind {
            return false;
        }
        let id_ok = self.id.is_none() || packet.pkid() == self.id;
        let publish_ok = match packet {
            PacketSummary::Publish(p) => {
                self.qos.is_none_or(|q| q.0.as_u8() == p.qos)
                    && self.dup.is_none_or(|d| d == p.dup)
                    && self.retain.is_none_or(|r| r == p.retain)
                    && self.topic.as_ref().is_none_or(|t| topic(t) == p.topic)
                    && self.payload.as_ref().is_none_or(|x| *x == p.payload)
            }
            _ => true,
        };
        id_ok && publish_ok
    }
}

impl fmt::Display for PacketPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = serde_yaml::to_string(&self.kind).unwrap_or_default();
        write!(f, "{}", kind.trim().to_uppercase())?;
        if let Some(id) = self.id {
            write!(f, " id={id}")?;
        }
        if let Some(topic) = &self.topic {
            write!(f, " {topic:?}")?;
        }
        if let Some(q) = self.qos {
            write!(f, " q{}", q.0.as_u8())?;
        }
        if let Some(d) = self.dup {
            write!(f, " dup={}", d as u8)?;
        }
        if let Some(r) = self.retain {
            write!(f, " retain={}", r as u8)?;
        }
        if let Some(p) = &self.payload {
            write!(f, " payload={p:?}")?;
        }
        Ok(())
    }
}

/// The kind of a packet.
pub fn kind_of(packet: &PacketSummary) -> PacketKind {
    match packet {
        PacketSummary::Connect { .. } => PacketKind::Connect,
        PacketSummary::Connack { .. } => PacketKind::Connack,
        PacketSummary::Publish(_) => PacketKind::Publish,
        PacketSummary::Puback { .. } => PacketKind::Puback,
        PacketSummary::Pubrec { .. } => PacketKind::Pubrec,
        PacketSummary::Pubrel { .. } => PacketKind::Pubrel,
        PacketSummary::Pubcomp { .. } => PacketKind::Pubcomp,
        PacketSummary::Subscribe { .. } => PacketKind::Subscribe,
        PacketSummary::Suback { .. } => PacketKind::Suback,
        PacketSummary::Unsubscribe { .. } => PacketKind::Unsubscribe,
        PacketSummary::Unsuback { .. } => PacketKind::Unsuback,
        PacketSummary::Pingreq => PacketKind::Pingreq,
        PacketSummary::Pingresp => PacketKind::Pingresp,
        PacketSummary::Disconnect => PacketKind::Disconnect,
    }
}

/// The first pattern of `ordered` that does not appear in `packets` after the ones before it,
/// and the first of `absent` that does appear: what does not hold, in words. `None` if both hold.
pub fn mismatch(
    packets: &[PacketSummary],
    ordered: &[PacketPattern],
    absent: &[PacketPattern],
    topic: &dyn Fn(&str) -> String,
) -> Option<String> {
    let mut rest = packets.iter();
    for pattern in ordered {
        if !rest.any(|p| pattern.matches(p, topic)) {
            return Some(format!("no {pattern} (in this order)"));
        }
    }
    for pattern in absent {
        if let Some(p) = packets.iter().find(|p| pattern.matches(p, topic)) {
            return Some(format!("{p}, where no {pattern} may be"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PublishSummary;

    fn publish(pkid: u16, dup: bool) -> PacketSummary {
        PacketSummary::Publish(PublishSummary {
            pkid: Some(pkid),
            qos: 2,
            dup,
            retain: false,
            topic: "ns/orders/42".into(),
            payload: "paid".into(),
            payload_len: 4,
        })
    }

    fn pattern(yaml: &str) -> PacketPattern {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn patterns_match_on_the_fields_they_give() {
        let ns = |t: &str| format!("ns/{t}");
        assert!(pattern("{ kind: pubrel, id: 1 }").matches(&PacketSummary::Pubrel { pkid: 1 }, &ns));
        assert!(!pattern("{ kind: pubrel, id: 2 }").matches(&PacketSummary::Pubrel { pkid: 1 }, &ns));
        assert!(!pattern("{ kind: publish }").matches(&PacketSummary::Pubrel { pkid: 1 }, &ns));
        assert!(pattern("{ kind: publish, topic: orders/42, dup: true }").matches(&publish(1, true), &ns));
        assert!(!pattern("{ kind: publish, dup: false }").matches(&publish(1, true), &ns));
        assert_eq!(pattern("{ kind: publish, id: 3, qos: 2, dup: true }").to_string(), "PUBLISH id=3 q2 dup=1");
    }

    #[test]
    fn listed_packets_in_order_and_forbidden_ones_absent() {
        let id = |t: &str| format!("ns/{t}");
        let seen = [PacketSummary::Pubrel { pkid: 1 }, PacketSummary::Pingresp, PacketSummary::Pubcomp { pkid: 1 }];
        let (rel, comp) = (pattern("{ kind: pubrel, id: 1 }"), pattern("{ kind: pubcomp }"));
        assert_eq!(mismatch(&seen, &[rel.clone(), comp.clone()], &[pattern("{ kind: publish }")], &id), None);
        assert_eq!(mismatch(&seen, &[comp, rel], &[], &id), Some("no PUBREL id=1 (in this order)".into()));
        let resent = [publish(1, true), PacketSummary::Pubrel { pkid: 1 }];
        let found = mismatch(&resent, &[], &[pattern("{ kind: publish }")], &id).expect("a PUBLISH was re-sent");
        assert!(found.starts_with("PUBLISH id=1") && found.ends_with("where no PUBLISH may be"), "{found}");
    }
}
