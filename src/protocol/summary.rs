//! A packet reduced to what a trace, a chart or a check reads: its kind, packet id, QoS, DUP and
//! RETAIN, topic, client id, clean session, session present, return codes and the start of its
//! payload, and of an MQTT 5.0 packet its reason code and the properties the checks read
//! ([`V5Props`]). It holds no password, and a payload cut to its first bytes, so a trace of
//! 70,000 messages stays small. It is data: code reads its fields, never its text. Its `Display`
//! is the one text form of a packet (`Packet` displays through it), for traces, logs and charts.
//! What only 5.0 has is written (in JSON and in text) only when present, so a 3.1.1 trace reads
//! as it did before 5.0.

use std::fmt;

use serde::Serialize;

use super::{Connect, Packet, Properties, Property, Publish, SubackCode};

/// Payloads longer than this are shown cut, with their length.
pub const PAYLOAD_SHOWN: usize = 32;

/// One packet, as the trace records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PacketSummary {
    Connect {
        client_id: String,
        /// 5.0: Clean Start.
        clean_session: bool,
        keep_alive: u16,
        will: Option<WillSummary>,
        username: Option<String>,
        /// An MQTT 5.0 CONNECT.
        #[serde(skip_serializing_if = "is_false")]
        v5: bool,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        props: Option<Box<V5Props>>,
    },
    Connack {
        session_present: bool,
        /// The 3.1.1 return code or the 5.0 reason code.
        return_code: u8,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        props: Option<Box<V5Props>>,
    },
    Publish(PublishSummary),
    /// `reason`: a 5.0 reason code, 0 (Success) in 3.1.1.
    Puback {
        pkid: u16,
        #[serde(skip_serializing_if = "is_zero")]
        reason: u8,
    },
    Pubrec {
        pkid: u16,
        #[serde(skip_serializing_if = "is_zero")]
        reason: u8,
    },
    Pubrel {
        pkid: u16,
        #[serde(skip_serializing_if = "is_zero")]
        reason: u8,
    },
    Pubcomp {
        pkid: u16,
        #[serde(skip_serializing_if = "is_zero")]
        reason: u8,
    },
    /// Each filter with its requested QoS; a 5.0 one's other options when any is set.
    Subscribe {
        pkid: u16,
        filters: Vec<(String, u8)>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        options: Vec<FilterOptions>,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        props: Option<Box<V5Props>>,
    },
    /// Each return code: the granted QoS, or `None` for a failure (0x80, or a 5.0 reason code
    /// of 0x80 or more, which `reasons` then lists for every filter).
    Suback {
        pkid: u16,
        codes: Vec<Option<u8>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<u8>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    /// `reasons`: a 5.0 reason code per filter; none in 3.1.1.
    Unsuback {
        pkid: u16,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<u8>,
    },
    Pingreq,
    Pingresp,
    /// `reason`: a 5.0 reason code, 0 (Normal disconnection) in 3.1.1.
    Disconnect {
        #[serde(skip_serializing_if = "is_zero")]
        reason: u8,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        props: Option<Box<V5Props>>,
    },
    Auth,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// A 5.0 SUBSCRIBE filter's options besides its QoS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FilterOptions {
    pub no_local: bool,
    pub retain_as_published: bool,
    pub retain_handling: u8,
}

/// The 5.0 properties a trace keeps: those the invariants, snapshots and checks read. Boxed
/// behind an `Option`, so a 3.1.1 packet pays one pointer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct V5Props {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_expiry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive_maximum: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_packet_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_alias_maximum: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_keep_alive: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_expiry: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_alias: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subscription_ids: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_format: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    /// Correlation Data, as lossy UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_delay: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_string: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<(String, String)>,
}

impl V5Props {
    /// What a trace keeps of `properties`; `None` for an empty list (every 3.1.1 packet).
    pub fn of(properties: &Properties) -> Option<Box<V5Props>> {
        if properties.is_empty() {
            return None;
        }
        let mut v = V5Props::default();
        for p in properties.iter() {
            match p {
                Property::SessionExpiryInterval(n) => v.session_expiry = Some(*n),
                Property::ReceiveMaximum(n) => v.receive_maximum = Some(*n),
                Property::MaximumPacketSize(n) => v.maximum_packet_size = Some(*n),
                Property::TopicAliasMaximum(n) => v.topic_alias_maximum = Some(*n),
                Property::AssignedClientIdentifier(id) => v.assigned_client_id = Some(id.clone()),
                Property::ServerKeepAlive(n) => v.server_keep_alive = Some(*n),
                Property::MessageExpiryInterval(n) => v.message_expiry = Some(*n),
                Property::TopicAlias(n) => v.topic_alias = Some(*n),
                Property::SubscriptionIdentifier(n) => v.subscription_ids.push(*n),
                Property::PayloadFormatIndicator(n) => v.payload_format = Some(*n),
                Property::ContentType(t) => v.content_type = Some(t.clone()),
                Property::ResponseTopic(t) => v.response_topic = Some(t.clone()),
                Property::CorrelationData(d) => v.correlation_data = Some(String::from_utf8_lossy(d).into_owned()),
                Property::WillDelayInterval(n) => v.will_delay = Some(*n),
                Property::ReasonString(r) => v.reason_string = Some(r.clone()),
                Property::UserProperty((k, val)) => v.user_properties.push((k.clone(), val.clone())),
                _ => {}
            }
        }
        Some(Box::new(v))
    }
}

impl fmt::Display for V5Props {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut put = |name: &str, value: Option<String>| match value {
            Some(v) => write!(f, " {name}={v}"),
            None => Ok(()),
        };
        put("session_expiry", self.session_expiry.map(|n| n.to_string()))?;
        put("receive_maximum", self.receive_maximum.map(|n| n.to_string()))?;
        put("maximum_packet_size", self.maximum_packet_size.map(|n| n.to_string()))?;
        put("topic_alias_maximum", self.topic_alias_maximum.map(|n| n.to_string()))?;
        put("assigned_client_id", self.assigned_client_id.as_ref().map(|s| format!("{s:?}")))?;
        put("server_keep_alive", self.server_keep_alive.map(|n| n.to_string()))?;
        put("message_expiry", self.message_expiry.map(|n| n.to_string()))?;
        put("topic_alias", self.topic_alias.map(|n| n.to_string()))?;
        let ids = (!self.subscription_ids.is_empty()).then(|| format!("{:?}", self.subscription_ids));
        put("subscription_ids", ids)?;
        put("payload_format", self.payload_format.map(|n| n.to_string()))?;
        put("content_type", self.content_type.as_ref().map(|s| format!("{s:?}")))?;
        put("response_topic", self.response_topic.as_ref().map(|s| format!("{s:?}")))?;
        put("correlation_data", self.correlation_data.as_ref().map(|s| format!("{s:?}")))?;
        put("will_delay", self.will_delay.map(|n| n.to_string()))?;
        put("reason_string", self.reason_string.as_ref().map(|s| format!("{s:?}")))?;
        for (k, v) in &self.user_properties {
            put("user", Some(format!("{k:?}:{v:?}")))?;
        }
        Ok(())
    }
}

/// A PUBLISH: its header flags, packet id and topic, and its payload's start and length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishSummary {
    /// `None` at QoS 0.
    pub pkid: Option<u16>,
    pub qos: u8,
    pub dup: bool,
    pub retain: bool,
    pub topic: String,
    /// The first `PAYLOAD_SHOWN` bytes, as lossy UTF-8.
    pub payload: String,
    /// The whole payload's length in bytes.
    pub payload_len: usize,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub props: Option<Box<V5Props>>,
}

/// A CONNECT's will, without its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WillSummary {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    /// Its 5.0 Will Delay Interval, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<u32>,
}

impl PacketSummary {
    /// The packet id of a packet that has one (a QoS 0 PUBLISH has none).
    pub fn pkid(&self) -> Option<u16> {
        match self {
            PacketSummary::Publish(p) => p.pkid,
            PacketSummary::Puback { pkid, .. }
            | PacketSummary::Pubrec { pkid, .. }
            | PacketSummary::Pubrel { pkid, .. }
            | PacketSummary::Pubcomp { pkid, .. }
            | PacketSummary::Subscribe { pkid, .. }
            | PacketSummary::Suback { pkid, .. }
            | PacketSummary::Unsubscribe { pkid, .. }
            | PacketSummary::Unsuback { pkid, .. } => Some(*pkid),
            _ => None,
        }
    }

    /// The 5.0 properties the trace kept of this packet; `None` for a packet without any.
    pub fn props(&self) -> Option<&V5Props> {
        match self {
            PacketSummary::Publish(p) => p.props.as_deref(),
            PacketSummary::Connect { props, .. }
            | PacketSummary::Connack { props, .. }
            | PacketSummary::Subscribe { props, .. }
            | PacketSummary::Disconnect { props, .. } => props.as_deref(),
            _ => None,
        }
    }

    /// The PUBLISH, if this is one.
    pub fn publish(&self) -> Option<&PublishSummary> {
        match self {
            PacketSummary::Publish(p) => Some(p),
            _ => None,
        }
    }

    /// Renames every topic, filter and client id in the packet (to show a run's names without
    /// its namespace, say).
    pub fn map_names(self, topic: impl Fn(&str) -> String, client_id: impl Fn(&str) -> String) -> PacketSummary {
        match self {
            PacketSummary::Connect { client_id: id, clean_session, keep_alive, will, username, v5, props } => {
                PacketSummary::Connect {
                    client_id: client_id(&id),
                    clean_session,
                    keep_alive,
                    will: will.map(|w| WillSummary { topic: topic(&w.topic), ..w }),
                    username,
                    v5,
                    props,
                }
            }
            PacketSummary::Publish(p) => PacketSummary::Publish(PublishSummary { topic: topic(&p.topic), ..p }),
            PacketSummary::Subscribe { pkid, filters, options, props } => PacketSummary::Subscribe {
                pkid,
                filters: filters.into_iter().map(|(f, q)| (topic(&f), q)).collect(),
                options,
                props,
            },
            PacketSummary::Unsubscribe { pkid, filters } => {
                PacketSummary::Unsubscribe { pkid, filters: filters.iter().map(|f| topic(f)).collect() }
            }
            other => other,
        }
    }
}

#[cfg(test)]
impl PacketSummary {
    /// A CONNECT with keep alive 60, no will and no user, for hand-built traces.
    pub fn connect_for_test(client_id: &str, clean_session: bool) -> PacketSummary {
        PacketSummary::Connect {
            client_id: client_id.into(),
            clean_session,
            keep_alive: 60,
            will: None,
            username: None,
            v5: false,
            props: None,
        }
    }

    /// A PUBLISH, for hand-built traces.
    pub fn publish_for_test(
        pkid: Option<u16>,
        qos: u8,
        dup: bool,
        retain: bool,
        topic: &str,
        payload: &str,
    ) -> PacketSummary {
        let (topic, payload_len) = (topic.to_owned(), payload.len());
        PacketSummary::Publish(PublishSummary {
            pkid,
            qos,
            dup,
            retain,
            topic,
            payload: payload.into(),
            payload_len,
            props: None,
        })
    }
}

impl From<&Publish> for PublishSummary {
    fn from(p: &Publish) -> PublishSummary {
        let shown = &p.payload[..p.payload.len().min(PAYLOAD_SHOWN)];
        PublishSummary {
            pkid: p.pkid.map(|id| id.get()),
            qos: p.qos.as_u8(),
            dup: p.dup,
            retain: p.retain,
            topic: p.topic.clone(),
            payload: String::from_utf8_lossy(shown).into_owned(),
            payload_len: p.payload.len(),
            props: V5Props::of(&p.properties),
        }
    }
}

fn connect(c: &Connect) -> PacketSummary {
    PacketSummary::Connect {
        client_id: c.client_id.clone(),
        clean_session: c.clean_session,
        keep_alive: c.keep_alive,
        will: c.will.as_ref().map(|w| WillSummary {
            topic: w.topic.clone(),
            qos: w.qos.as_u8(),
            retain: w.retain,
            delay: w.properties.will_delay_interval().copied(),
        }),
        username: c.username.clone(),
        v5: c.protocol == super::Protocol::V5,
        props: V5Props::of(&c.properties),
    }
}

impl From<&Packet> for PacketSummary {
    fn from(packet: &Packet) -> PacketSummary {
        match packet {
            Packet::Connect(c) => connect(c),
            Packet::Connack(a) => PacketSummary::Connack {
                session_present: a.session_present,
                return_code: a.code.raw(),
                props: V5Props::of(&a.properties),
            },
            Packet::Publish(p) => PacketSummary::Publish(p.into()),
            Packet::Puback(a) => PacketSummary::Puback { pkid: a.id.get(), reason: a.reason.0 },
            Packet::Pubrec(a) => PacketSummary::Pubrec { pkid: a.id.get(), reason: a.reason.0 },
            Packet::Pubrel(a) => PacketSummary::Pubrel { pkid: a.id.get(), reason: a.reason.0 },
            Packet::Pubcomp(a) => PacketSummary::Pubcomp { pkid: a.id.get(), reason: a.reason.0 },
            Packet::Subscribe(s) => {
                let options: Vec<FilterOptions> = s
                    .filters
                    .iter()
                    .map(|f| FilterOptions {
                        no_local: f.no_local,
                        retain_as_published: f.retain_as_published,
                        retain_handling: f.retain_handling as u8,
                    })
                    .collect();
                let plain = FilterOptions { no_local: false, retain_as_published: false, retain_handling: 0 };
                PacketSummary::Subscribe {
                    pkid: s.pkid.get(),
                    filters: s.filters.iter().map(|f| (f.filter.clone(), f.qos.as_u8())).collect(),
                    options: if options.iter().all(|o| *o == plain) { Vec::new() } else { options },
                    props: V5Props::of(&s.properties),
                }
            }
            Packet::Suback(s) => {
                let refused = s.codes.iter().any(|c| matches!(c, SubackCode::Refused(_)));
                PacketSummary::Suback {
                    pkid: s.pkid.get(),
                    codes: s
                        .codes
                        .iter()
                        .map(|c| match c {
                            SubackCode::Granted(q) => Some(q.as_u8()),
                            SubackCode::Failure | SubackCode::Refused(_) => None,
                        })
                        .collect(),
                    reasons: if refused { s.codes.iter().map(|c| c.as_u8()).collect() } else { Vec::new() },
                }
            }
            Packet::Unsubscribe(u) => PacketSummary::Unsubscribe { pkid: u.pkid.get(), filters: u.filters.clone() },
            Packet::Unsuback(u) => {
                PacketSummary::Unsuback { pkid: u.pkid.get(), reasons: u.reasons.iter().map(|r| r.0).collect() }
            }
            Packet::Pingreq => PacketSummary::Pingreq,
            Packet::Pingresp => PacketSummary::Pingresp,
            Packet::Disconnect(d) => {
                PacketSummary::Disconnect { reason: d.reason.0, props: V5Props::of(&d.properties) }
            }
            Packet::Auth(_) => PacketSummary::Auth,
        }
    }
}

impl fmt::Display for PublishSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PUBLISH")?;
        if let Some(id) = self.pkid {
            write!(f, " id={id}")?;
        }
        write!(f, " q{}", self.qos)?;
        if self.dup {
            write!(f, " dup")?;
        }
        if self.retain {
            write!(f, " retain")?;
        }
        write!(f, " {:?} {:?}", self.topic, self.payload)?;
        if self.payload_len > PAYLOAD_SHOWN {
            write!(f, "..({} bytes)", self.payload_len)?;
        }
        props(f, &self.props)
    }
}

impl fmt::Display for PacketSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketSummary::Connect { client_id, clean_session, keep_alive, will, username, v5, props: p } => {
                if *v5 {
                    write!(
                        f,
                        "CONNECT v5 id={client_id:?} clean_start={} keepalive={keep_alive}",
                        *clean_session as u8
                    )?;
                } else {
                    write!(f, "CONNECT id={client_id:?} clean={} keepalive={keep_alive}", *clean_session as u8)?;
                }
                if let Some(w) = will {
                    write!(f, " will={:?}:q{}{}", w.topic, w.qos, if w.retain { ":retain" } else { "" })?;
                    if let Some(delay) = w.delay {
                        write!(f, ":delay={delay}")?;
                    }
                }
                if let Some(u) = username {
                    write!(f, " user={u:?}")?;
                }
                props(f, p)
            }
            PacketSummary::Connack { session_present, return_code, props: p } => {
                write!(f, "CONNACK sp={} rc={return_code}", *session_present as u8)?;
                props(f, p)
            }
            PacketSummary::Publish(p) => p.fmt(f),
            PacketSummary::Puback { pkid, reason } => ack(f, "PUBACK", *pkid, *reason),
            PacketSummary::Pubrec { pkid, reason } => ack(f, "PUBREC", *pkid, *reason),
            PacketSummary::Pubrel { pkid, reason } => ack(f, "PUBREL", *pkid, *reason),
            PacketSummary::Pubcomp { pkid, reason } => ack(f, "PUBCOMP", *pkid, *reason),
            PacketSummary::Subscribe { pkid, filters, options, props: p } => {
                write!(f, "SUBSCRIBE id={pkid}")?;
                for (i, (filter, qos)) in filters.iter().enumerate() {
                    write!(f, " {filter:?}:q{qos}")?;
                    if let Some(o) = options.get(i) {
                        write!(
                            f,
                            ":nl={}:rap={}:rh={}",
                            o.no_local as u8, o.retain_as_published as u8, o.retain_handling
                        )?;
                    }
                }
                props(f, p)
            }
            PacketSummary::Suback { pkid, codes, reasons } => {
                write!(f, "SUBACK id={pkid}")?;
                for (i, c) in codes.iter().enumerate() {
                    match (c, reasons.get(i)) {
                        (Some(q), _) => write!(f, " q{q}")?,
                        (None, Some(r)) => write!(f, " {r:#04x}")?,
                        (None, None) => write!(f, " failure")?,
                    }
                }
                Ok(())
            }
            PacketSummary::Unsubscribe { pkid, filters } => {
                write!(f, "UNSUBSCRIBE id={pkid}")?;
                for filter in filters {
                    write!(f, " {filter:?}")?;
                }
                Ok(())
            }
            PacketSummary::Unsuback { pkid, reasons } => {
                write!(f, "UNSUBACK id={pkid}")?;
                for r in reasons {
                    write!(f, " {r:#04x}")?;
                }
                Ok(())
            }
            PacketSummary::Pingreq => write!(f, "PINGREQ"),
            PacketSummary::Pingresp => write!(f, "PINGRESP"),
            PacketSummary::Disconnect { reason, props: p } => {
                write!(f, "DISCONNECT")?;
                if *reason != 0 {
                    write!(f, " rc={reason:#04x}")?;
                }
                props(f, p)
            }
            PacketSummary::Auth => write!(f, "AUTH"),
        }
    }
}

/// An acknowledgement: its kind and id, and a 5.0 reason code other than Success.
fn ack(f: &mut fmt::Formatter<'_>, kind: &str, pkid: u16, reason: u8) -> fmt::Result {
    write!(f, "{kind} id={pkid}")?;
    if reason != 0 {
        write!(f, " rc={reason:#04x}")?;
    }
    Ok(())
}

/// A packet's 5.0 properties, if it has any.
fn props(f: &mut fmt::Formatter<'_>, props: &Option<Box<V5Props>>) -> fmt::Result {
    match props {
        Some(p) => fmt::Display::fmt(p, f),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Ack, Disconnect, PacketId, QoS, ReasonCode};

    fn json(p: &Packet) -> String {
        serde_json::to_string(&PacketSummary::from(p)).unwrap()
    }

    #[test]
    fn a_3_1_1_packet_reads_as_before_5_0() {
        let publish = Packet::Publish(Publish::new("t", QoS::AtLeastOnce, "x", false, PacketId::new(1)));
        assert_eq!(
            json(&publish),
            r#"{"type":"publish","pkid":1,"qos":1,"dup":false,"retain":false,"topic":"t","payload":"x","payload_len":1}"#
        );
        assert_eq!(json(&Packet::puback(PacketId::new(1).unwrap())), r#"{"type":"puback","pkid":1}"#);
        assert_eq!(json(&Packet::disconnect()), r#"{"type":"disconnect"}"#);
        assert_eq!(PacketSummary::from(&Packet::disconnect()).to_string(), "DISCONNECT");
    }

    #[test]
    fn a_5_0_packet_keeps_its_reason_code_and_the_properties_checks_read() {
        let mut publish = Publish::new("t", QoS::AtMostOnce, "x", false, None);
        publish.properties = [
            Property::MessageExpiryInterval(5),
            Property::SubscriptionIdentifier(2),
            Property::SubscriptionIdentifier(7),
            Property::UserProperty(("k".into(), "v".into())),
        ]
        .into_iter()
        .collect();
        let summary = PacketSummary::from(&Packet::Publish(publish));
        let props = summary.publish().and_then(|p| p.props.as_deref()).expect("5.0 properties kept");
        assert_eq!((props.message_expiry, props.subscription_ids.as_slice()), (Some(5), &[2, 7][..]));
        assert_eq!(summary.to_string(), r#"PUBLISH q0 "t" "x" message_expiry=5 subscription_ids=[2, 7] user="k":"v""#);
        let ack = Packet::Puback(Ack::with_reason(PacketId::new(3).unwrap(), ReasonCode::NO_MATCHING_SUBSCRIBERS));
        assert_eq!(json(&ack), r#"{"type":"puback","pkid":3,"reason":16}"#);
        assert_eq!(PacketSummary::from(&ack).to_string(), "PUBACK id=3 rc=0x10");
        let d = Packet::Disconnect(Disconnect::with_reason(ReasonCode::SESSION_TAKEN_OVER));
        assert_eq!(PacketSummary::from(&d).to_string(), "DISCONNECT rc=0x8e");
    }
}
