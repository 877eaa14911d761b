//! The snapshot of a run: what each client's application received (in order, with its flags) and
//! its CONNACKs, each session's state at the end, and the retained store. Lines are compact text
//! so a reviewer can read a snapshot against the spec. Stored with insta in `snapshots/`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::broker::{BrokerView, Expiry, MessageView, OutState};
use crate::client::Message;
use crate::harness::{ClientRecord, ConnackSeen};
use crate::protocol::ConnackCode;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub clients: BTreeMap<String, ClientSnapshot>,
    /// `None` when the broker is down at the end.
    pub broker: Option<BrokerSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientSnapshot {
    pub connacks: Vec<String>,
    /// Every message; written as a summary past `SUMMARY_ABOVE`.
    #[serde(serialize_with = "summarised")]
    pub received: Vec<String>,
    /// 5.0: the reason codes other than Success the server answered with, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokerSnapshot {
    pub sessions: BTreeMap<String, SessionSnapshot>,
    pub retained: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSnapshot {
    pub connected: bool,
    pub clean_session: bool,
    pub subscriptions: Vec<String>,
    pub inflight_out: Vec<String>,
    pub inflight_in: Vec<String>,
    /// Every queued message; written as a summary past `SUMMARY_ABOVE`.
    #[serde(serialize_with = "summarised")]
    pub queued: Vec<String>,
    pub drops: BTreeMap<String, u64>,
    /// 5.0: its Session Expiry Interval in seconds, where it is neither 0 nor "never" (so a
    /// 3.1.1 session's snapshot reads as it always did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_expiry: Option<u32>,
    /// 5.0: offline, the seconds left before it expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u32>,
}

/// Past this many messages, a list is written in a snapshot as a summary, so a run with 70,000
/// messages has a snapshot of a few lines that still changes with any of them.
pub const SUMMARY_ABOVE: usize = 200;

/// How many messages a summary shows at each end.
const SHOWN_AT_EACH_END: usize = 5;

/// A list of message lines as a snapshot writes it: all of them, or a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Listed {
    All(Vec<String>),
    Summary(Summary),
}

/// A long list of messages: how many, the first and the last few, and a digest of them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub count: usize,
    pub first: Vec<String>,
    pub last: Vec<String>,
    /// `digest` of the whole list.
    pub digest: String,
}

impl Listed {
    /// `lines` as a snapshot writes them.
    pub fn of(lines: &[String]) -> Listed {
        if lines.len() <= SUMMARY_ABOVE {
            return Listed::All(lines.to_vec());
        }
        Listed::Summary(Summary {
            count: lines.len(),
            first: lines[..SHOWN_AT_EACH_END].to_vec(),
            last: lines[lines.len() - SHOWN_AT_EACH_END..].to_vec(),
            digest: digest(lines),
        })
    }

    /// Whether `lines` would be written as this (a summary: the same count and digest).
    pub fn describes(&self, lines: &[String]) -> bool {
        match self {
            Listed::All(all) => all == lines,
            Listed::Summary(s) => s.count == lines.len() && s.digest == digest(lines),
        }
    }
}

fn summarised<S: serde::Serializer>(lines: &[String], s: S) -> Result<S::Ok, S::Error> {
    Listed::of(lines).serialize(s)
}

/// A digest of message lines, stream by stream: the lines of each (topic, QoS) stream in their
/// order, the streams in name order, so another interleaving of streams (which a real network
/// may give [MQTT-4.6.0-6]) has the same digest and any other change a different one. FNV-1a
/// 64: stable across Rust releases (std's hasher is not), and only meant to notice changes.
pub fn digest(lines: &[String]) -> String {
    use std::hash::Hasher;
    let mut streams: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for line in lines {
        let (message, flags) = line.rsplit_once(" | ").unwrap_or((line, ""));
        let topic = message.split_once(" = ").map_or(message, |(t, _)| t);
        let qos = flags.split(' ').next().unwrap_or_default();
        streams.entry((topic, qos)).or_default().push(line);
    }
    let mut h = fnv::FnvHasher::default();
    for ((topic, qos), lines) in streams {
        h.write(format!("{topic} | {qos}\n").as_bytes());
        for line in lines {
            h.write(line.as_bytes());
            h.write(b"\n");
        }
    }
    format!("fnv1a64:{:016x}", h.finish())
}

/// `topic = payload | q1 retain dup`, the form used in snapshots and reports. An empty payload
/// shows as `(empty)`.
pub fn message_line(topic: &str, payload: &[u8], qos: u8, retain: bool, dup: bool) -> String {
    let payload = if payload.is_empty() { "(empty)".into() } else { String::from_utf8_lossy(payload) };
    let mut s = format!("{topic} = {payload} | q{qos}");
    if retain {
        s.push_str(" retain");
    }
    if dup {
        s.push_str(" dup");
    }
    s
}

/// A received message as a snapshot shows it; a 5.0 message's properties follow (the forwarded
/// Message Expiry Interval, subscription identifiers, user properties...), so a 3.1.1 line reads
/// as it always did.
pub fn received_line(m: &Message) -> String {
    let mut line = message_line(&m.topic, &m.payload, m.qos.as_u8(), m.retain, m.dup);
    if let Some(props) = crate::protocol::V5Props::of(&m.properties) {
        line.push_str(&props.to_string());
    }
    line
}

/// A message the broker holds; a 5.0 one with a Message Expiry Interval shows the seconds it
/// has left (`expires_in=57`).
fn view_line(m: &MessageView) -> String {
    with_expiry(message_line(&m.topic, &m.payload, m.qos.as_u8(), m.retain, false), m.expires_in)
}

fn with_expiry(mut line: String, expires_in: Option<u32>) -> String {
    if let Some(left) = expires_in {
        line.push_str(&format!(" expires_in={left}"));
    }
    line
}

/// A CONNACK as snapshots and reports write it.
pub fn connack_line(c: &ConnackSeen) -> String {
    match c {
        ConnackSeen::Accepted { session_present } => format!("accepted, session present {}", *session_present as u8),
        ConnackSeen::Refused(ConnackCode::V5(reason)) => format!("refused, reason code {reason} {}", reason.name()),
        ConnackSeen::Refused(code) => format!("refused, return code {}", code.raw()),
    }
}

pub fn broker_snapshot(view: &BrokerView) -> BrokerSnapshot {
    let sessions = view
        .sessions
        .iter()
        .map(|s| {
            let snap = SessionSnapshot {
                connected: s.connected,
                clean_session: s.clean_session,
                subscriptions: s.subscriptions.iter().map(|(f, q)| format!("{f} | q{}", q.as_u8())).collect(),
                inflight_out: s
                    .inflight_out
                    .iter()
                    .map(|f| {
                        let state = match f.state {
                            OutState::AwaitPuback => "awaiting PUBACK",
                            OutState::AwaitPubrec => "awaiting PUBREC",
                            OutState::AwaitPubcomp => "awaiting PUBCOMP",
                        };
                        format!("id {} {} ({state})", f.pkid, view_line(&f.message))
                    })
                    .collect(),
                inflight_in: s
                    .inflight_in
                    .iter()
                    .map(|(id, m)| format!("id {id} {} (awaiting PUBREL)", view_line(m)))
                    .collect(),
                queued: s.queued.iter().map(view_line).collect(),
                drops: s.drops.iter().map(|(r, n)| (r.as_str().to_owned(), *n)).collect(),
                session_expiry: match s.expiry {
                    Expiry::After(seconds) => Some(seconds),
                    Expiry::AtClose | Expiry::Never => None,
                },
                expires_in: s.expires_in,
            };
            (s.client_id.clone(), snap)
        })
        .collect();
    let retained = view
        .retained
        .iter()
        .map(|r| with_expiry(message_line(&r.topic, &r.payload, r.qos.as_u8(), true, false), r.expires_in))
        .collect();
    BrokerSnapshot { sessions, retained }
}

/// A client's CONNACKs and received messages, as snapshots write them.
pub fn client_snapshot(record: &ClientRecord) -> ClientSnapshot {
    ClientSnapshot {
        connacks: record.connacks.iter().map(connack_line).collect(),
        received: record.messages.iter().map(|(_, m)| received_line(m)).collect(),
        reasons: record.reasons.clone(),
    }
}

/// The snapshot of a run's end: each client's record, and the broker's state if it is up.
pub fn take(records: &BTreeMap<String, ClientRecord>, broker: Option<&BrokerView>) -> Snapshot {
    let clients = records.iter().map(|(name, r)| (name.clone(), client_snapshot(r))).collect();
    Snapshot { clients, broker: broker.map(broker_snapshot) }
}

/// Compares `snapshot` with the stored one (`dir/name.snap`) using insta. A new or changed
/// snapshot is written next to it as `.snap.new` for review, and reported as an error: one
/// message, without the panic insta raises to say so (its own summary and diff still print).
pub fn check_stored(dir: &Path, name: &str, description: &str, snapshot: &Snapshot) -> Result<(), String> {
    quiet_snapshot_panics();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_yaml_snapshot!(name, snapshot));
    }));
    result.map_err(|_| {
        let stored = dir.join(format!("{name}.snap"));
        let folder = dir.file_name().map_or_else(|| dir.display().to_string(), |f| f.to_string_lossy().into_owned());
        if !dir.join(format!("{name}.snap.new")).exists() {
            // insta writes none where it detects CI, unless INSTA_UPDATE says so.
            let what = if stored.exists() { "differs from" } else { "has no" };
            format!("the run {what} {folder}/{name}.snap (set INSTA_UPDATE=new to have the new one written for review)")
        } else if stored.exists() {
            format!(
                "the snapshot differs from {folder}/{name}.snap: the new one is {folder}/{name}.snap.new; if it is \
                 right by the spec, rename it over the old one (or run cargo insta review)"
            )
        } else {
            format!(
                "new snapshot written to {folder}/{name}.snap.new: review it against the spec, then rename it to \
                 {name}.snap (or run cargo insta review)"
            )
        }
    })
}

/// insta reports a snapshot difference by panicking; the panic is caught and turned into a
/// message, so the default hook's panic text and backtrace would only be noise. Other panics
/// still reach the hook that was installed before.
fn quiet_snapshot_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if !text.is_some_and(|t| t.starts_with("snapshot assertion for")) {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize, topic: &str) -> Vec<String> {
        (1..=n).map(|i| message_line(topic, format!("m{i}").as_bytes(), 1, false, false)).collect()
    }

    #[test]
    fn a_list_past_the_threshold_is_written_as_a_summary_that_notices_any_change() {
        assert!(matches!(Listed::of(&lines(SUMMARY_ABOVE, "t")), Listed::All(_)));
        let long = lines(SUMMARY_ABOVE + 1, "t");
        let Listed::Summary(s) = Listed::of(&long) else { panic!("not summarised") };
        assert_eq!((s.count, s.first[0].as_str(), s.last[4].as_str()), (201, "t = m1 | q1", "t = m201 | q1"));
        let yaml = serde_yaml::to_string(&Listed::Summary(s.clone())).unwrap();
        assert_eq!(serde_yaml::from_str::<Listed>(&yaml).unwrap(), Listed::Summary(s));
        let mut changed = long.clone();
        changed[100] = message_line("t", b"m101", 1, false, true);
        assert_ne!(digest(&long), digest(&changed), "a DUP flag changes the digest");
        let mut swapped = long.clone();
        swapped.swap(10, 11);
        assert_ne!(digest(&long), digest(&swapped), "order within a stream changes it");
    }

    #[test]
    fn another_interleaving_of_streams_has_the_same_digest() {
        let (a, b) = (lines(3, "a"), lines(3, "b"));
        let one: Vec<String> = a.iter().chain(&b).cloned().collect();
        let other: Vec<String> = a.iter().zip(&b).flat_map(|(x, y)| [y.clone(), x.clone()]).collect();
        assert_eq!(digest(&one), digest(&other));
    }
}
