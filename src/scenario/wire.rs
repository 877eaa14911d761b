//! `wire:` expectations: which packets crossed a client's connection, as the client's end saw
//! them. A fault scenario whose headline is a packet ("the re-send after the reconnect is PUBREL
//! with the id of the PUBLISH, and no PUBLISH") states it here, so a broker that does something
//! else cannot pass by luck. A pattern names a packet kind and, optionally, its packet id, QoS,
//! DUP, RETAIN, topic and payload; listed patterns must appear in order (other packets may come
//! between), or with `in_order: false` as a set, each matching a packet of its own; `not_`
//! patterns must not appear at all. A packet id is a number, or a variable
//! (`id: $m`) bound by the first packet it matches and required equal from then on, across the
//! run's `wire:` expectations: the ids a broker assigns are its own to choose [MQTT-2.3.1-2], so a
//! scenario names them by variable. Matching is pure: the executor hands it the packets and the
//! bindings.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::props::PropsPattern;
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
    /// Whether `received` and `sent` list packets in the order they must come (the default), or
    /// as a set: each pattern matches a packet of its own, in any order.
    #[serde(default = "in_order", skip_serializing_if = "is_in_order")]
    pub in_order: bool,
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

fn in_order() -> bool {
    true
}

fn is_in_order(b: &bool) -> bool {
    *b
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
    /// MQTT 5.0 only.
    Auth,
}

impl fmt::Display for PacketKind {
    /// As the spec names it: `PUBREL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format!("{self:?}").to_uppercase())
    }
}

/// A packet id in a pattern: a number, or a `$variable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum IdPattern {
    Exactly(u16),
    Variable(String),
}

impl<'de> Deserialize<'de> for IdPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<IdPattern, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u16),
            Text(String),
        }
        match Raw::deserialize(d)
            .map_err(|_| serde::de::Error::custom("expected a packet id from 1 to 65535, or a variable such as $m"))?
        {
            Raw::Number(0) => Err(serde::de::Error::custom("a packet id is from 1 to 65535 [MQTT-2.3.1-1]")),
            Raw::Number(n) => Ok(IdPattern::Exactly(n)),
            Raw::Text(t) if t.len() > 1 && t.starts_with('$') => Ok(IdPattern::Variable(t)),
            Raw::Text(t) => Err(serde::de::Error::custom(format!(
                "expected a packet id from 1 to 65535, or a variable such as $m, found {t:?}"
            ))),
        }
    }
}

impl fmt::Display for IdPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdPattern::Exactly(n) => write!(f, "{n}"),
            IdPattern::Variable(v) => f.write_str(v),
        }
    }
}

/// Packet ids bound to variables so far in a run.
pub type Bindings = BTreeMap<String, u16>;

/// A packet, with the fields that must match; unset fields match anything.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PacketPattern {
    pub kind: PacketKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<IdPattern>,
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
    /// The reason code: a CONNACK's return or reason code, a 5.0 PUBACK's, PUBREC's,
    /// PUBREL's, PUBCOMP's or DISCONNECT's (0 where the packet has none on the wire); a list
    /// accepts any of its codes, for a choice the spec leaves to the sender (`[0x00, 0x10]`:
    /// a server MAY say No matching subscribers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonPattern>,
    /// A SUBACK's codes (the granted QoS, or the failure's reason code) or a 5.0 UNSUBACK's
    /// reason codes, one per filter in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<u8>>,
    /// The 5.0 properties the packet must carry (`scenario::props`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<PropsPattern>,
}

/// A reason code a packet must carry: exactly one, or any of a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ReasonPattern {
    Exactly(u8),
    AnyOf(Vec<u8>),
}

impl ReasonPattern {
    fn matches(&self, got: Option<u8>) -> bool {
        match self {
            ReasonPattern::Exactly(r) => got == Some(*r),
            ReasonPattern::AnyOf(list) => got.is_some_and(|g| list.contains(&g)),
        }
    }
}

impl fmt::Display for ReasonPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReasonPattern::Exactly(r) => write!(f, "{r:#04x}"),
            ReasonPattern::AnyOf(list) => {
                let codes: Vec<String> = list.iter().map(|c| format!("{c:#04x}")).collect();
                write!(f, "{}", codes.join("|"))
            }
        }
    }
}

impl PacketPattern {
    /// Whether `packet` matches, with the variables `bound` so far (an unbound variable matches
    /// any id); `topic` maps the pattern's topic to the network's name for it.
    pub fn matches(&self, packet: &PacketSummary, bound: &Bindings, topic: &dyn Fn(&str) -> String) -> bool {
        if kind_of(packet) != self.kind {
            return false;
        }
        let id_ok = match &self.id {
            None => true,
            Some(IdPattern::Exactly(n)) => packet.pkid() == Some(*n),
            Some(IdPattern::Variable(v)) => match bound.get(v) {
                Some(n) => packet.pkid() == Some(*n),
                None => packet.pkid().is_some(),
            },
        };
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
        let reason_ok = self.reason.as_ref().is_none_or(|r| r.matches(reason_of(packet)));
        let reasons_ok = self.reasons.as_ref().is_none_or(|r| reasons_of(packet).as_ref() == Some(r));
        let props_ok = self.properties.as_ref().is_none_or(|p| p.mismatch(packet.props(), topic).is_none());
        id_ok && publish_ok && reason_ok && reasons_ok && props_ok
    }
}

impl fmt::Display for PacketPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(id) = &self.id {
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
        if let Some(r) = &self.reason {
            write!(f, " reason={r}")?;
        }
        if let Some(r) = &self.reasons {
            let codes: Vec<String> = r.iter().map(|c| format!("{c:#04x}")).collect();
            write!(f, " reasons=[{}]", codes.join(", "))?;
        }
        if let Some(p) = &self.properties {
            write!(f, " properties={p}")?;
        }
        Ok(())
    }
}

/// A packet's one reason code, for the packets that have one.
fn reason_of(packet: &PacketSummary) -> Option<u8> {
    match packet {
        PacketSummary::Connack { return_code, .. } => Some(*return_code),
        PacketSummary::Puback { reason, .. }
        | PacketSummary::Pubrec { reason, .. }
        | PacketSummary::Pubrel { reason, .. }
        | PacketSummary::Pubcomp { reason, .. }
        | PacketSummary::Disconnect { reason, .. } => Some(*reason),
        _ => None,
    }
}

/// A SUBACK's codes as on the wire (the granted QoS, or the failure's code), or an UNSUBACK's.
fn reasons_of(packet: &PacketSummary) -> Option<Vec<u8>> {
    match packet {
        PacketSummary::Suback { reasons, .. } if !reasons.is_empty() => Some(reasons.clone()),
        PacketSummary::Suback { codes, .. } => Some(codes.iter().map(|c| c.unwrap_or(0x80)).collect()),
        PacketSummary::Unsuback { reasons, .. } => Some(reasons.clone()),
        _ => None,
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
        PacketSummary::Disconnect { .. } => PacketKind::Disconnect,
        PacketSummary::Auth => PacketKind::Auth,
    }
}

/// The first pattern of `ordered` that does not appear in `packets` after the ones before it,
/// or the first of `absent` that does appear: what was expected there, in words, with variables
/// shown as `bound`. `None` if both hold; then the variables the ordered patterns matched are
/// added to `bound`.
pub fn mismatch(
    packets: &[PacketSummary],
    ordered: &[PacketPattern],
    absent: &[PacketPattern],
    bound: &mut Bindings,
    topic: &dyn Fn(&str) -> String,
) -> Option<String> {
    mismatch_in(packets, ordered, true, absent, bound, topic)
}

/// As `mismatch`, with `listed` in order (`in_order`) or as a set: each pattern takes the first
/// packet it matches that no pattern before it took.
pub fn mismatch_in(
    packets: &[PacketSummary],
    listed: &[PacketPattern],
    in_order: bool,
    absent: &[PacketPattern],
    bound: &mut Bindings,
    topic: &dyn Fn(&str) -> String,
) -> Option<String> {
    let mut trying = bound.clone();
    let mut next = 0;
    let mut taken = vec![false; packets.len()];
    for pattern in listed {
        let from = if in_order { next } else { 0 };
        let found = (from..packets.len()).find(|&i| !taken[i] && pattern.matches(&packets[i], &trying, topic));
        let Some(i) = found else {
            let place =
                if in_order { " (after the packets listed before it)" } else { " (besides those matched before)" };
            return Some(format!("{}{place}, which did not come", shown(pattern, &trying)));
        };
        (taken[i], next) = (true, i + 1);
        if let (Some(IdPattern::Variable(v)), Some(id)) = (&pattern.id, packets[i].pkid()) {
            trying.entry(v.clone()).or_insert(id);
        }
    }
    for pattern in absent {
        if let Some(p) = packets.iter().find(|p| pattern.matches(p, &trying, topic)) {
            return Some(format!("no {}, but {p} came", shown(pattern, &trying)));
        }
    }
    *bound = trying;
    None
}

/// A pattern in words, with its variable's value where it is bound (`PUBREL id=$m (= 7)`).
fn shown(pattern: &PacketPattern, bound: &Bindings) -> String {
    match &pattern.id {
        Some(IdPattern::Variable(v)) if bound.contains_key(v) => format!("{pattern} (= {})", bound[v]),
        _ => pattern.to_string(),
    }
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
            props: None,
        })
    }

    fn pattern(yaml: &str) -> PacketPattern {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn patterns_match_on_the_fields_they_give() {
        let ns = |t: &str| format!("ns/{t}");
        let none = Bindings::new();
        assert!(pattern("{ kind: pubrel, id: 1 }").matches(&PacketSummary::Pubrel { pkid: 1, reason: 0 }, &none, &ns));
        assert!(!pattern("{ kind: pubrel, id: 2 }").matches(&PacketSummary::Pubrel { pkid: 1, reason: 0 }, &none, &ns));
        assert!(!pattern("{ kind: publish }").matches(&PacketSummary::Pubrel { pkid: 1, reason: 0 }, &none, &ns));
        assert!(pattern("{ kind: publish, topic: orders/42, dup: true }").matches(&publish(1, true), &none, &ns));
        assert!(!pattern("{ kind: publish, dup: false }").matches(&publish(1, true), &none, &ns));
        assert_eq!(pattern("{ kind: publish, id: 3, qos: 2, dup: true }").to_string(), "PUBLISH id=3 q2 dup=1");
    }

    #[test]
    fn reason_codes_and_properties_match_as_given() {
        let ns = |t: &str| format!("ns/{t}");
        let none = Bindings::new();
        let suback = PacketSummary::Suback { pkid: 3, codes: vec![Some(1), None], reasons: vec![0x01, 0x87] };
        assert!(pattern("{ kind: suback, reasons: [1, 0x87] }").matches(&suback, &none, &ns));
        assert!(!pattern("{ kind: suback, reasons: [1, 0x80] }").matches(&suback, &none, &ns));
        let v311 = PacketSummary::Suback { pkid: 3, codes: vec![Some(1), None], reasons: vec![] };
        assert!(pattern("{ kind: suback, reasons: [1, 0x80] }").matches(&v311, &none, &ns), "3.1.1's 0x80");
        let gone = PacketSummary::Disconnect { reason: 0x8e, props: None };
        assert!(pattern("{ kind: disconnect, reason: 0x8e }").matches(&gone, &none, &ns));
        assert!(!pattern("{ kind: disconnect, reason: 0 }").matches(&gone, &none, &ns));
        // A list accepts any of its codes.
        assert!(pattern("{ kind: disconnect, reason: [0x8d, 0x8e] }").matches(&gone, &none, &ns));
        assert!(!pattern("{ kind: disconnect, reason: [0, 0x8d] }").matches(&gone, &none, &ns));
        assert_eq!(pattern("{ kind: puback, reason: [0, 0x10] }").to_string(), "PUBACK reason=0x00|0x10");
        assert!(!pattern("{ kind: disconnect, properties: { reason_string: true } }").matches(&gone, &none, &ns));
        let props = crate::protocol::V5Props { message_expiry: Some(9), ..Default::default() };
        let expiring =
            PacketSummary::Publish(PublishSummary { props: Some(Box::new(props)), ..as_publish(publish(1, false)) });
        assert!(pattern("{ kind: publish, properties: { message_expiry: 9 } }").matches(&expiring, &none, &ns));
        assert!(!pattern("{ kind: publish, properties: { message_expiry: absent } }").matches(&expiring, &none, &ns));
        assert_eq!(
            pattern("{ kind: puback, reason: 0x10 }").to_string(),
            "PUBACK reason=0x10",
            "codes are shown in hex, as the spec lists them"
        );
    }

    fn as_publish(p: PacketSummary) -> PublishSummary {
        p.publish().expect("a PUBLISH").clone()
    }

    #[test]
    fn listed_packets_in_order_and_forbidden_ones_absent() {
        let id = |t: &str| format!("ns/{t}");
        let seen = [
            PacketSummary::Pubrel { pkid: 1, reason: 0 },
            PacketSummary::Pingresp,
            PacketSummary::Pubcomp { pkid: 1, reason: 0 },
        ];
        let (rel, comp) = (pattern("{ kind: pubrel, id: 1 }"), pattern("{ kind: pubcomp }"));
        let mut b = Bindings::new();
        assert_eq!(mismatch(&seen, &[rel.clone(), comp.clone()], &[pattern("{ kind: publish }")], &mut b, &id), None);
        assert_eq!(
            mismatch(&seen, &[comp, rel], &[], &mut b, &id),
            Some("PUBREL id=1 (after the packets listed before it), which did not come".into())
        );
        let resent = [publish(1, true), PacketSummary::Pubrel { pkid: 1, reason: 0 }];
        let found =
            mismatch(&resent, &[], &[pattern("{ kind: publish }")], &mut b, &id).expect("a PUBLISH was re-sent");
        assert!(found.starts_with("no PUBLISH, but PUBLISH id=1"), "{found}");
    }

    #[test]
    fn as_a_set_each_pattern_takes_a_packet_of_its_own_in_any_order() {
        let id = |t: &str| format!("ns/{t}");
        let seen = [PacketSummary::Pubcomp { pkid: 2, reason: 0 }, PacketSummary::Pubrel { pkid: 1, reason: 0 }];
        let (rel, comp) = (pattern("{ kind: pubrel }"), pattern("{ kind: pubcomp }"));
        let mut b = Bindings::new();
        assert_eq!(mismatch_in(&seen, &[rel.clone(), comp.clone()], false, &[], &mut b, &id), None);
        assert!(mismatch_in(&seen, &[rel.clone(), comp], true, &[], &mut b, &id).is_some(), "not in this order");
        assert_eq!(
            mismatch_in(&seen, &[rel.clone(), rel], false, &[], &mut b, &id),
            Some("PUBREL (besides those matched before), which did not come".into()),
            "one packet matches one pattern only"
        );
    }

    #[test]
    fn a_variable_binds_the_id_a_broker_chose_and_holds_it_later() {
        let id = |t: &str| format!("ns/{t}");
        let mut b = Bindings::new();
        let first = [publish(26438, false)];
        assert_eq!(mismatch(&first, &[pattern("{ kind: publish, id: $m }")], &[], &mut b, &id), None);
        assert_eq!(b.get("$m"), Some(&26438), "bound when the expectation holds");
        let later = [PacketSummary::Pubrel { pkid: 26438, reason: 0 }];
        assert_eq!(mismatch(&later, &[pattern("{ kind: pubrel, id: $m }")], &[], &mut b, &id), None);
        let other = [PacketSummary::Pubrel { pkid: 1, reason: 0 }];
        assert_eq!(
            mismatch(&other, &[pattern("{ kind: pubrel, id: $m }")], &[], &mut b, &id),
            Some("PUBREL id=$m (= 26438) (after the packets listed before it), which did not come".into())
        );
        let mut fresh = Bindings::new();
        let failed = mismatch(
            &first,
            &[pattern("{ kind: publish, id: $m }"), pattern("{ kind: pubcomp }")],
            &[],
            &mut fresh,
            &id,
        );
        assert!(failed.is_some() && fresh.is_empty(), "nothing is bound by an expectation that does not hold");
        assert!(serde_yaml::from_str::<PacketPattern>("{ kind: puback, id: m }").is_err());
        assert!(serde_yaml::from_str::<PacketPattern>("{ kind: puback, id: 0 }").is_err());
    }
}
