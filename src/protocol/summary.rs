//! A packet reduced to what a trace, a chart or a check reads: its kind, packet id, QoS, DUP and
//! RETAIN, topic, client id, clean session, session present, return codes and the start of its
//! payload. It holds no password, and a payload cut to its first bytes, so a trace of 70,000
//! messages stays small. It is data: code reads its fields, never its text. Its `Display` is the
//! one text form of a packet (`Packet` displays through it), for traces, logs and charts.

use std::fmt;

use serde::Serialize;

use super::{Connect, Packet, Publish, SubackCode};

/// Payloads longer than this are shown cut, with their length.
pub const PAYLOAD_SHOWN: usize = 32;

/// One packet, as the trace records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PacketSummary {
    Connect {
        client_id: String,
        clean_session: bool,
        keep_alive: u16,
        will: Option<WillSummary>,
        username: Option<String>,
    },
    Connack {
        session_present: bool,
        return_code: u8,
    },
    Publish(PublishSummary),
    Puback {
        pkid: u16,
    },
    Pubrec {
        pkid: u16,
    },
    Pubrel {
        pkid: u16,
    },
    Pubcomp {
        pkid: u16,
    },
    /// Each filter with its requested QoS.
    Subscribe {
        pkid: u16,
        filters: Vec<(String, u8)>,
    },
    /// Each return code: the granted QoS, or `None` for failure (0x80).
    Suback {
        pkid: u16,
        codes: Vec<Option<u8>>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    Unsuback {
        pkid: u16,
    },
    Pingreq,
    Pingresp,
    Disconnect,
    Auth,
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
}

/// A CONNECT's will, without its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WillSummary {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
}

impl PacketSummary {
    /// The packet id of a packet that has one (a QoS 0 PUBLISH has none).
    pub fn pkid(&self) -> Option<u16> {
        match self {
            PacketSummary::Publish(p) => p.pkid,
            PacketSummary::Puback { pkid }
            | PacketSummary::Pubrec { pkid }
            | PacketSummary::Pubrel { pkid }
            | PacketSummary::Pubcomp { pkid }
            | PacketSummary::Subscribe { pkid, .. }
            | PacketSummary::Suback { pkid, .. }
            | PacketSummary::Unsubscribe { pkid, .. }
            | PacketSummary::Unsuback { pkid } => Some(*pkid),
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
            PacketSummary::Connect { client_id: id, clean_session, keep_alive, will, username } => {
                PacketSummary::Connect {
                    client_id: client_id(&id),
                    clean_session,
                    keep_alive,
                    will: will.map(|w| WillSummary { topic: topic(&w.topic), ..w }),
                    username,
                }
            }
            PacketSummary::Publish(p) => PacketSummary::Publish(PublishSummary { topic: topic(&p.topic), ..p }),
            PacketSummary::Subscribe { pkid, filters } => {
                PacketSummary::Subscribe { pkid, filters: filters.into_iter().map(|(f, q)| (topic(&f), q)).collect() }
            }
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
        PacketSummary::Publish(PublishSummary { pkid, qos, dup, retain, topic, payload: payload.into(), payload_len })
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
        }
    }
}

fn connect(c: &Connect) -> PacketSummary {
    PacketSummary::Connect {
        client_id: c.client_id.clone(),
        clean_session: c.clean_session,
        keep_alive: c.keep_alive,
        will: c.will.as_ref().map(|w| WillSummary { topic: w.topic.clone(), qos: w.qos.as_u8(), retain: w.retain }),
        username: c.username.clone(),
    }
}

impl From<&Packet> for PacketSummary {
    fn from(packet: &Packet) -> PacketSummary {
        match packet {
            Packet::Connect(c) => connect(c),
            Packet::Connack(a) => {
                PacketSummary::Connack { session_present: a.session_present, return_code: a.code.raw() }
            }
            Packet::Publish(p) => PacketSummary::Publish(p.into()),
            Packet::Puback(a) => PacketSummary::Puback { pkid: a.id.get() },
            Packet::Pubrec(a) => PacketSummary::Pubrec { pkid: a.id.get() },
            Packet::Pubrel(a) => PacketSummary::Pubrel { pkid: a.id.get() },
            Packet::Pubcomp(a) => PacketSummary::Pubcomp { pkid: a.id.get() },
            Packet::Subscribe(s) => PacketSummary::Subscribe {
                pkid: s.pkid.get(),
                filters: s.filters.iter().map(|f| (f.filter.clone(), f.qos.as_u8())).collect(),
            },
            Packet::Suback(s) => PacketSummary::Suback {
                pkid: s.pkid.get(),
                codes: s
                    .codes
                    .iter()
                    .map(|c| match c {
                        SubackCode::Granted(q) => Some(q.as_u8()),
                        SubackCode::Failure | SubackCode::Refused(_) => None,
                    })
                    .collect(),
            },
            Packet::Unsubscribe(u) => PacketSummary::Unsubscribe { pkid: u.pkid.get(), filters: u.filters.clone() },
            Packet::Unsuback(u) => PacketSummary::Unsuback { pkid: u.pkid.get() },
            Packet::Pingreq => PacketSummary::Pingreq,
            Packet::Pingresp => PacketSummary::Pingresp,
            Packet::Disconnect(_) => PacketSummary::Disconnect,
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
        Ok(())
    }
}

impl fmt::Display for PacketSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketSummary::Connect { client_id, clean_session, keep_alive, will, username } => {
                write!(f, "CONNECT id={client_id:?} clean={} keepalive={keep_alive}", *clean_session as u8)?;
                if let Some(w) = will {
                    write!(f, " will={:?}:q{}{}", w.topic, w.qos, if w.retain { ":retain" } else { "" })?;
                }
                if let Some(u) = username {
                    write!(f, " user={u:?}")?;
                }
                Ok(())
            }
            PacketSummary::Connack { session_present, return_code } => {
                write!(f, "CONNACK sp={} rc={return_code}", *session_present as u8)
            }
            PacketSummary::Publish(p) => p.fmt(f),
            PacketSummary::Puback { pkid } => write!(f, "PUBACK id={pkid}"),
            PacketSummary::Pubrec { pkid } => write!(f, "PUBREC id={pkid}"),
            PacketSummary::Pubrel { pkid } => write!(f, "PUBREL id={pkid}"),
            PacketSummary::Pubcomp { pkid } => write!(f, "PUBCOMP id={pkid}"),
            PacketSummary::Subscribe { pkid, filters } => {
                write!(f, "SUBSCRIBE id={pkid}")?;
                for (filter, qos) in filters {
                    write!(f, " {filter:?}:q{qos}")?;
                }
                Ok(())
            }
            PacketSummary::Suback { pkid, codes } => {
                write!(f, "SUBACK id={pkid}")?;
                for c in codes {
                    match c {
                        Some(q) => write!(f, " q{q}")?,
                        None => write!(f, " failure")?,
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
            PacketSummary::Unsuback { pkid } => write!(f, "UNSUBACK id={pkid}"),
            PacketSummary::Pingreq => write!(f, "PINGREQ"),
            PacketSummary::Pingresp => write!(f, "PINGRESP"),
            PacketSummary::Disconnect => write!(f, "DISCONNECT"),
            PacketSummary::Auth => write!(f, "AUTH"),
        }
    }
}
