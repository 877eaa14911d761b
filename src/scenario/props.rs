//! `properties:` in expectations: the MQTT 5.0 properties a packet (a `wire:` pattern) or a
//! received message (`received:`) must carry. Only the properties given are checked; a number
//! is exact, a range `"55..57"` (inclusive, for a Message Expiry Interval that counts down on
//! a real network's clock), or `absent`. Subscription identifiers compare as a set, since their
//! order is not significant [MQTT5-3.3.4-4]; user properties as the ordered list they must be
//! forwarded as [MQTT5-3.3.2-17]. Matching is pure: it reads the trace's `V5Props`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::protocol::V5Props;

/// A number a property must have: exactly, within a range, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberPattern {
    Exactly(u32),
    Range(u32, u32),
    Absent,
}

impl NumberPattern {
    pub fn matches(self, got: Option<u32>) -> bool {
        match (self, got) {
            (NumberPattern::Exactly(n), Some(g)) => g == n,
            (NumberPattern::Range(lo, hi), Some(g)) => (lo..=hi).contains(&g),
            (NumberPattern::Absent, None) => true,
            _ => false,
        }
    }
}

impl fmt::Display for NumberPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberPattern::Exactly(n) => write!(f, "{n}"),
            NumberPattern::Range(lo, hi) => write!(f, "{lo}..{hi}"),
            NumberPattern::Absent => f.write_str("absent"),
        }
    }
}

impl<'de> Deserialize<'de> for NumberPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NumberPattern, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumberPattern;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, an inclusive range such as \"55..57\", or `absent`")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<NumberPattern, E> {
                u32::try_from(n).map(NumberPattern::Exactly).map_err(|_| E::custom(format!("{n} is more than 2^32-1")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<NumberPattern, E> {
                self.visit_u64(u64::try_from(n).map_err(|_| E::custom(format!("{n} is negative")))?)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<NumberPattern, E> {
                if s == "absent" {
                    return Ok(NumberPattern::Absent);
                }
                let bad = || E::custom(format!("{s:?}: expected a number, a range such as \"55..57\", or `absent`"));
                let (lo, hi) = s.split_once("..").ok_or_else(bad)?;
                let (lo, hi) = (lo.trim().parse().map_err(|_| bad())?, hi.trim().parse().map_err(|_| bad())?);
                if lo > hi {
                    return Err(E::custom(format!("{s:?}: the range is empty")));
                }
                Ok(NumberPattern::Range(lo, hi))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for NumberPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NumberPattern::Exactly(n) => s.serialize_u32(*n),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

/// The 5.0 properties a packet or message must carry; unset ones are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PropsPattern {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_expiry: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_maximum: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_packet_size: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_alias_maximum: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_keep_alive: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_expiry: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_alias: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<NumberPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub will_delay: Option<NumberPattern>,
    /// Exactly these, in any order; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_ids: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_data: Option<String>,
    /// Whether the packet carries an Assigned Client Identifier (its value is the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_client_id: Option<bool>,
    /// Whether the packet carries a Reason String (its words are the server's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_string: Option<bool>,
    /// Exactly these, in this order; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_properties: Option<Vec<(String, String)>>,
}

impl PropsPattern {
    /// The first property of the pattern that `got` (none: a packet without properties) does
    /// not have, in words; `None` when all match. `topic` maps a response topic to the
    /// network's name for it.
    pub fn mismatch(&self, got: Option<&V5Props>, topic: &dyn Fn(&str) -> String) -> Option<String> {
        let none = V5Props::default();
        let got = got.unwrap_or(&none);
        let numbers = [
            ("session_expiry", self.session_expiry, got.session_expiry),
            ("receive_maximum", self.receive_maximum, got.receive_maximum.map(u32::from)),
            ("maximum_packet_size", self.maximum_packet_size, got.maximum_packet_size),
            ("topic_alias_maximum", self.topic_alias_maximum, got.topic_alias_maximum.map(u32::from)),
            ("server_keep_alive", self.server_keep_alive, got.server_keep_alive.map(u32::from)),
            ("message_expiry", self.message_expiry, got.message_expiry),
            ("topic_alias", self.topic_alias, got.topic_alias.map(u32::from)),
            ("payload_format", self.payload_format, got.payload_format.map(u32::from)),
            ("will_delay", self.will_delay, got.will_delay),
        ];
        let shown = |v: Option<u32>| v.map_or("absent".to_owned(), |n| n.to_string());
        for (name, want, have) in numbers {
            if let Some(want) = want.filter(|w| !w.matches(have)) {
                return Some(format!("{name} {want}, got {}", shown(have)));
            }
        }
        if let Some(want) = &self.subscription_ids {
            let (mut w, mut h) = (want.clone(), got.subscription_ids.clone());
            w.sort_unstable();
            h.sort_unstable();
            if w != h {
                return Some(format!("subscription_ids {want:?}, got {:?}", got.subscription_ids));
            }
        }
        let texts = [
            ("content_type", self.content_type.clone(), &got.content_type),
            ("response_topic", self.response_topic.as_deref().map(topic), &got.response_topic),
            ("correlation_data", self.correlation_data.clone(), &got.correlation_data),
        ];
        for (name, want, have) in texts {
            if let Some(want) = want.filter(|w| have.as_ref() != Some(w)) {
                return Some(format!("{name} {want:?}, got {have:?}"));
            }
        }
        let present = [
            ("assigned_client_id", self.assigned_client_id, got.assigned_client_id.is_some()),
            ("reason_string", self.reason_string, got.reason_string.is_some()),
        ];
        for (name, want, have) in present {
            if let Some(want) = want.filter(|w| *w != have) {
                return Some(format!("{name} {}, got {}", present_word(want), present_word(have)));
            }
        }
        match &self.user_properties {
            Some(want) if *want != got.user_properties => {
                Some(format!("user_properties {want:?}, got {:?}", got.user_properties))
            }
            _ => None,
        }
    }
}

fn present_word(present: bool) -> &'static str {
    if present {
        "present"
    } else {
        "absent"
    }
}

impl fmt::Display for PropsPattern {
    /// As YAML flow text, for a difference's "expected".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yaml = serde_yaml::to_string(self).map_err(|_| fmt::Error)?;
        let fields: Vec<&str> = yaml.lines().filter(|l| !l.trim().is_empty()).collect();
        write!(f, "{{{}}}", fields.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(yaml: &str) -> PropsPattern {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn same(t: &str) -> String {
        t.to_owned()
    }

    #[test]
    fn only_the_properties_given_are_checked() {
        let got = V5Props { message_expiry: Some(57), subscription_ids: vec![7, 5], ..Default::default() };
        assert_eq!(pattern("{ message_expiry: 57 }").mismatch(Some(&got), &same), None);
        assert_eq!(pattern("{ message_expiry: \"55..57\" }").mismatch(Some(&got), &same), None);
        assert_eq!(
            pattern("{ message_expiry: 60 }").mismatch(Some(&got), &same).as_deref(),
            Some("message_expiry 60, got 57")
        );
        assert_eq!(pattern("{ subscription_ids: [5, 7] }").mismatch(Some(&got), &same), None, "a set");
        assert!(pattern("{ subscription_ids: [5] }").mismatch(Some(&got), &same).is_some());
        assert_eq!(pattern("{ message_expiry: absent }").mismatch(None, &same), None);
        assert!(pattern("{ subscription_ids: [] }").mismatch(Some(&got), &same).is_some());
        assert_eq!(pattern("{ subscription_ids: [] }").mismatch(None, &same), None);
    }

    #[test]
    fn user_properties_in_order_and_texts_exactly() {
        let got = V5Props {
            user_properties: vec![("a".into(), "1".into()), ("b".into(), "2".into())],
            response_topic: Some("ns/replies".into()),
            ..Default::default()
        };
        let ns = |t: &str| format!("ns/{t}");
        assert_eq!(pattern("{ user_properties: [[a, '1'], [b, '2']] }").mismatch(Some(&got), &ns), None);
        assert!(pattern("{ user_properties: [[b, '2'], [a, '1']] }").mismatch(Some(&got), &ns).is_some());
        assert_eq!(pattern("{ response_topic: replies }").mismatch(Some(&got), &ns), None);
        assert_eq!(
            pattern("{ reason_string: true }").mismatch(Some(&got), &ns).as_deref(),
            Some("reason_string present, got absent")
        );
    }

    #[test]
    fn bad_patterns_are_refused_with_what_was_expected() {
        let err = serde_yaml::from_str::<PropsPattern>("{ message_expiry: \"9..3\" }").unwrap_err().to_string();
        assert!(err.contains("the range is empty"), "{err}");
        let err = serde_yaml::from_str::<PropsPattern>("{ message_expiry: soon }").unwrap_err().to_string();
        assert!(err.contains("expected a number"), "{err}");
        assert!(serde_yaml::from_str::<PropsPattern>("{ expiry: 3 }").is_err(), "unknown property");
        let shown = pattern("{ content_type: x, message_expiry: \"1..2\" }").to_string();
        assert_eq!(shown, "{message_expiry: 1..2, content_type: x}");
    }
}
