//! Value types of the scenario format that check themselves while they are read, so a bad value
//! is reported by the YAML reader at its own line and column: QoS levels, topic names and
//! filters, durations, normative IDs, and "a client name or a full mapping" step bodies.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::protocol::QoS;
use crate::topic;

/// A QoS level: 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qos(pub QoS);

impl<'de> Deserialize<'de> for Qos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Qos, D::Error> {
        let n = u64::deserialize(d)?;
        u8::try_from(n)
            .ok()
            .and_then(QoS::from_u8)
            .map(Qos)
            .ok_or_else(|| de::Error::custom(format!("QoS {n} does not exist: expected 0, 1 or 2 [MQTT-3.3.1-4]")))
    }
}

/// The refusal a `connect` step expects: one CONNACK return code from 1 to 5 (3.1.1), one 5.0
/// reason code from 0x80 to 0xFF (`refused: 0x87`, Not authorized), or `any` of the
/// refusals the spec allows (a CONNACK with a code from 1 to 5 [MQTT-3.2.2-5], or a close
/// without CONNACK where none applies [MQTT-3.2.2-6]), for a refusal the spec does not choose
/// the code of (mosquitto's `max_keepalive`, say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Code(u8),
    Any,
}

impl<'de> Deserialize<'de> for Refusal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Refusal, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Refusal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CONNACK return code from 1 to 5, a 5.0 reason code from 0x80 to 0xFF, or `any`")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Refusal, E> {
                match n {
                    1..=5 | 0x80..=0xFF => Ok(Refusal::Code(n as u8)),
                    _ => Err(E::custom(format!(
                        "{n} is not a refusal: expected a CONNACK return code from 1 to 5 [MQTT-3.2.2-5], a 5.0 \
                         reason code from 0x80 to 0xFF [MQTT5-3.2.2-7], or `any`"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Refusal, E> {
                self.visit_u64(u64::try_from(n).unwrap_or(u64::MAX))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Refusal, E> {
                match s {
                    "any" => Ok(Refusal::Any),
                    _ => Err(E::custom(format!(
                        "{s:?} is not a refusal: expected a CONNACK return code from 1 to 5, a 5.0 reason code \
                         from 0x80 to 0xFF, or `any`"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Refusal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Refusal::Code(rc) => s.serialize_u8(*rc),
            Refusal::Any => s.serialize_str("any"),
        }
    }
}

/// A topic name, as PUBLISH and wills carry: no wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicName(pub String);

impl<'de> Deserialize<'de> for TopicName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TopicName, D::Error> {
        let s = String::deserialize(d)?;
        topic::validate_name(&s)
            .map_err(|e| de::Error::custom(format!("{s:?} is not a topic name a client may publish to: {e}")))?;
        Ok(TopicName(s))
    }
}

/// A topic filter, as SUBSCRIBE and UNSUBSCRIBE carry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TopicFilter(pub String);

impl<'de> Deserialize<'de> for TopicFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TopicFilter, D::Error> {
        let s = String::deserialize(d)?;
        topic::validate_filter(&s).map_err(|e| de::Error::custom(format!("{s:?} is not a valid topic filter: {e}")))?;
        Ok(TopicFilter(s))
    }
}

/// A duration written as `250ms`, `2s`, `1.5s` or `3m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(Span).ok_or_else(|| {
            de::Error::custom(format!("{s:?} is not a duration: expected a number and a unit, like 250ms, 2s or 3m"))
        })
    }
}

pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let value: f64 = number.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// The normative statements of MQTT 3.1.1, by ID, as shipped in `spec/`.
pub const NORMATIVE_IDS: &str = include_str!("../../spec/mqtt-3.1.1-normative-ids.txt");

/// The normative statements of MQTT 5.0, by the spec's IDs (`MQTT-3.1.2-4`), as shipped in
/// `spec/`. This project cites them as `MQTT5-3.1.2-4`, so the two lists never mix.
pub const NORMATIVE_IDS_V5: &str = include_str!("../../spec/mqtt-5.0-normative-ids.txt");

/// Every normative ID of MQTT 3.1.1 with who it binds and its subject, in the list's order.
pub fn normative_ids() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    list(NORMATIVE_IDS)
}

/// Every normative ID of MQTT 5.0, as the spec writes it, with who it binds and its subject.
pub fn normative_ids_v5() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    list(NORMATIVE_IDS_V5)
}

fn list(text: &'static str) -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).filter_map(|l| {
        let mut parts = l.splitn(3, '\t');
        Some((parts.next()?, parts.next()?, parts.next()?))
    })
}

/// A normative statement ID such as `MQTT-3.1.2-4`, checked against the list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SpecId(pub String);

impl<'de> Deserialize<'de> for SpecId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SpecId, D::Error> {
        let s = String::deserialize(d)?;
        // A 5.0 statement is cited `MQTT5-x` for the spec's `MQTT-x` of the 5.0 list.
        let known = match s.strip_prefix("MQTT5-") {
            Some(rest) => normative_ids_v5().any(|(id, _, _)| id.strip_prefix("MQTT-") == Some(rest)),
            None => normative_ids().any(|(id, _, _)| id == s),
        };
        if known {
            Ok(SpecId(s))
        } else {
            Err(de::Error::custom(format!(
                "{s:?} is not a normative statement: expected an ID from spec/mqtt-3.1.1-normative-ids.txt, like \
                 MQTT-3.1.2-4, or one from spec/mqtt-5.0-normative-ids.txt written MQTT5-3.1.2-4"
            )))
        }
    }
}

/// Step bodies that can be written as just a client name (`- disconnect: reader`) or as a
/// mapping with more fields (`- disconnect: {client: reader}`).
pub trait FromClientName {
    fn from_client_name(name: String) -> Self;
}

/// Deserializes a `T: FromClientName` from a string or a mapping.
pub fn client_or_map<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + FromClientName,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de> + FromClientName> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a client name or a mapping with a `client` field")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok(T::from_client_name(v.to_owned()))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V(PhantomData))
}

impl Serialize for Qos {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0.as_u8())
    }
}

impl Serialize for TopicName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Serialize for TopicFilter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Serialize for SpecId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5h"), None);
        assert_eq!(parse_duration("-1s"), None);
    }

    #[test]
    fn the_normative_list_has_141_ids() {
        assert_eq!(normative_ids().count(), 141);
    }
}
