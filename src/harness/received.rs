//! Comparing what a client received with what was expected, as the spec orders and copies
//! messages. A server must keep the order of the messages one client publishes on one topic at
//! one QoS [MQTT-4.6.0-6], and nothing more. So the messages are compared stream by stream, a
//! stream being the messages of one publisher on one topic delivered at one QoS (the receiver
//! cannot see the publisher: the run's trace tells it where a message was published once,
//! `attribute`; nor the published QoS: the delivered one stands for it), and streams may
//! interleave in any order. Within a stream, each message must match in payload, RETAIN and,
//! where the expectation states it, DUP.
//!
//! Where a client's subscriptions overlap, the server must deliver a message once at the maximum
//! QoS of the matching subscriptions, and may deliver further copies, one per other matching
//! subscription at that subscription's QoS [MQTT-3.3.5-1]. An expectation lists the one copy
//! every server sends; [`without_overlap_copies`] takes the further ones out of what was
//! received before the comparison, so either conforming behaviour passes.

use std::collections::BTreeMap;

use crate::protocol::V5Props;
use crate::scenario::props::PropsPattern;
use crate::topic;
use crate::trace::TraceEvent;

/// One message, as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub topic: String,
    /// The payload as a message line shows it.
    pub payload: String,
    pub qos: u8,
    pub retain: bool,
    /// `None` on the expected side: DUP not stated, so not compared.
    pub dup: Option<bool>,
    /// Who published it, where the run's trace says (`attribute`): its stream's publisher.
    pub from: Option<String>,
    /// The received side: the 5.0 properties it came with.
    pub props: Option<Box<V5Props>>,
    /// The expected side: the 5.0 properties it must come with (unset: not compared).
    pub want_props: Option<PropsPattern>,
}

impl Received {
    pub fn new(topic: &str, payload: &[u8], qos: u8, retain: bool, dup: Option<bool>) -> Received {
        let payload = String::from_utf8_lossy(payload).into_owned();
        Received { topic: topic.to_owned(), payload, qos, retain, dup, from: None, props: None, want_props: None }
    }

    /// A received message, with its properties.
    pub fn of(m: &crate::client::Message) -> Received {
        let props = V5Props::of(&m.properties);
        Received { props, ..Received::new(&m.topic, &m.payload, m.qos.as_u8(), m.retain, Some(m.dup)) }
    }

    /// From a full message line, DUP included (a recorded snapshot's `snapshot::received_line`:
    /// `topic = payload | qN[ retain][ dup][ property=value...]`). A 5.0 message's properties
    /// are not read back: a real network's timing changes a forwarded Message Expiry Interval.
    pub fn parse(line: &str) -> Received {
        let (message, flags) = line.rsplit_once(" | q").unwrap_or((line, "0"));
        let mut words = flags.split(' ');
        let qos = words.next().and_then(|q| q.parse().ok()).unwrap_or(0);
        let (mut retain, mut dup) = (false, false);
        for word in words {
            match word {
                "retain" => retain = true,
                "dup" => dup = true,
                _ => break,
            }
        }
        let (topic, payload) = message.split_once(" = ").unwrap_or((message, ""));
        Received { qos, retain, dup: Some(dup), ..Received::new(topic, payload.as_bytes(), 0, false, None) }
    }

    /// The stream it belongs to: its publisher (where known), topic and delivered QoS.
    fn stream(&self) -> (Option<&str>, &str, u8) {
        (self.from.as_deref(), &self.topic, self.qos)
    }

    /// How it reads in a report, as a snapshot line; DUP shown only where it is known, then the
    /// properties it came with or must come with.
    pub fn shown(&self) -> String {
        let mut line = super::snapshot::message_line(
            &self.topic,
            self.payload.as_bytes(),
            self.qos,
            self.retain,
            self.dup == Some(true),
        );
        if let Some(props) = &self.props {
            line.push_str(&props.to_string());
        }
        if let Some(want) = &self.want_props {
            line.push_str(&format!(" properties {want}"));
        }
        line
    }

    /// Whether `got` is this expected message (DUP compared where both know it).
    pub fn matches(&self, got: &Received) -> bool {
        self.topic == got.topic
            && self.payload == got.payload
            && self.qos == got.qos
            && self.retain == got.retain
            && (self.dup.is_none() || got.dup.is_none() || self.dup == got.dup)
            && self.want_props.as_ref().is_none_or(|p| p.mismatch(got.props.as_deref(), &|t| t.to_owned()).is_none())
    }
}

/// Who published each message of a run, by (topic, payload): `None` where it was published more
/// than once (by anyone), so its publisher cannot be told.
pub type Publishers = BTreeMap<(String, String), Option<String>>;

/// The publishers of a run's messages, from the publications in its trace.
pub fn publishers(events: &[TraceEvent]) -> Publishers {
    let mut by: Publishers = BTreeMap::new();
    for e in events {
        if let TraceEvent::Publish { client, topic, payload, .. } = e {
            by.entry((topic.clone(), payload.clone())).and_modify(|p| *p = None).or_insert(Some(client.clone()));
        }
    }
    by
}

/// Marks each message with its publisher where `publishers` knows it, so messages of different
/// publishers on one topic are different streams [MQTT-4.6.0-6].
pub fn attribute(list: &mut [Received], publishers: &Publishers) {
    for m in list {
        m.from = publishers.get(&(m.topic.clone(), m.payload.clone())).cloned().flatten();
    }
}

/// Whether `got` is `want` up to the interleaving of streams.
pub fn same_per_stream(want: &[Received], got: &[Received]) -> bool {
    let streams = |list: &[Received]| {
        let mut by: BTreeMap<(Option<String>, String, u8), Vec<usize>> = BTreeMap::new();
        for (i, m) in list.iter().enumerate() {
            let (from, topic, qos) = m.stream();
            by.entry((from.map(str::to_owned), topic.to_owned(), qos)).or_default().push(i);
        }
        by
    };
    let (w, g) = (streams(want), streams(got));
    w.len() == g.len()
        && w.iter().all(|(key, wi)| {
            g.get(key)
                .is_some_and(|gi| wi.len() == gi.len() && wi.iter().zip(gi).all(|(a, b)| want[*a].matches(&got[*b])))
        })
}

/// A field of a received message, for telling what a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Dup,
    Qos,
    Retain,
}

/// Whether `got` differs from `want` in `field` alone: with that field ignored on both sides
/// they are the same.
pub fn differs_only_in(want: &[Received], got: &[Received], field: Field) -> bool {
    let erase = |list: &[Received]| -> Vec<Received> {
        list.iter()
            .map(|m| match field {
                Field::Dup => Received { dup: None, ..m.clone() },
                Field::Qos => Received { qos: 0, ..m.clone() },
                Field::Retain => Received { retain: false, ..m.clone() },
            })
            .collect()
    };
    !same_per_stream(want, got) && same_per_stream(&erase(want), &erase(got))
}

/// `got` without the further copies a server may send for overlapping subscriptions
/// [MQTT-3.3.5-1]: a live (RETAIN=0) message whose topic matches n > 1 of `filters` (each with
/// its granted QoS) may come up to n - 1 more times, each at the QoS of one of those
/// subscriptions, capped at the QoS of the copy `want` lists. The copy `want` lists is kept, so
/// a server that sends only a lower-QoS copy still differs.
pub fn without_overlap_copies(want: &[Received], got: &[Received], filters: &[(String, u8)]) -> Vec<Received> {
    // What `want` still lists and has not been matched yet, by (topic, payload).
    let mut listed: BTreeMap<(&str, &str), Vec<u8>> = BTreeMap::new();
    for m in want.iter().filter(|m| !m.retain) {
        listed.entry((&m.topic, &m.payload)).or_default().push(m.qos);
    }
    let mut copies_left: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut kept = Vec::with_capacity(got.len());
    for m in got {
        let key = (m.topic.as_str(), m.payload.as_str());
        let matching: Vec<u8> = filters.iter().filter(|(f, _)| topic::matches(f, &m.topic)).map(|(_, q)| *q).collect();
        let Some(qos_listed) = listed.get_mut(&key) else {
            kept.push(m.clone());
            continue;
        };
        if m.retain || matching.len() < 2 {
            kept.push(m.clone());
            continue;
        }
        if let Some(i) = qos_listed.iter().position(|q| *q == m.qos) {
            qos_listed.remove(i);
            kept.push(m.clone());
            continue;
        }
        let cap = want.iter().filter(|w| (w.topic.as_str(), w.payload.as_str()) == key).map(|w| w.qos).max();
        let left = copies_left.entry(key).or_insert(matching.len() - 1);
        let allowed = cap.is_some_and(|cap| matching.iter().any(|g| (*g).min(cap) == m.qos));
        if allowed && *left > 0 {
            *left -= 1; // a further copy the spec allows
        } else {
            kept.push(m.clone());
        }
    }
    kept
}

/// The statement a `received` difference breaks when its kind says which: a message on a topic
/// none of the client's filters match [MQTT-3.3.2-3]; DUP alone, set where a re-delivery needs
/// it [MQTT-3.3.1-1] or where a first delivery must not have it [MQTT-3.3.1-3]; the QoS alone
/// [MQTT-3.8.4-6]; RETAIN alone, missing on a copy sent for a new subscription [MQTT-3.3.1-8] or
/// set on an established one [MQTT-3.3.1-9]. `None`: the step's or the scenario's statements.
pub fn blame(want: &[Received], got: &[Received], filters: &[(String, u8)]) -> Option<&'static str> {
    if got.iter().any(|m| !filters.iter().any(|(f, _)| crate::topic::matches(f, &m.topic))) {
        return Some("MQTT-3.3.2-3");
    }
    if differs_only_in(want, got, Field::Dup) {
        return Some(if want.iter().any(|m| m.dup == Some(true)) { "MQTT-3.3.1-1" } else { "MQTT-3.3.1-3" });
    }
    if differs_only_in(want, got, Field::Qos) {
        return Some("MQTT-3.8.4-6");
    }
    if differs_only_in(want, got, Field::Retain) {
        let missing = want.iter().filter(|m| m.retain).count() > got.iter().filter(|m| m.retain).count();
        return Some(if missing { "MQTT-3.3.1-8" } else { "MQTT-3.3.1-9" });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(topic: &str, payload: &str, qos: u8, dup: Option<bool>) -> Received {
        Received::new(topic, payload.as_bytes(), qos, false, dup)
    }

    #[test]
    fn streams_may_interleave_but_each_keeps_its_order() {
        let want = [m("a", "1", 1, None), m("a", "2", 1, None), m("b", "x", 1, None)];
        let other_interleaving =
            [m("b", "x", 1, Some(false)), m("a", "1", 1, Some(false)), m("a", "2", 1, Some(false))];
        assert!(same_per_stream(&want, &other_interleaving));
        let reordered = [m("a", "2", 1, Some(false)), m("a", "1", 1, Some(false)), m("b", "x", 1, Some(false))];
        assert!(!same_per_stream(&want, &reordered), "one topic's order is the spec's [MQTT-4.6.0-6]");
        assert!(!same_per_stream(&want, &other_interleaving[..2]), "a missing message");
        let extra = [other_interleaving.to_vec(), vec![m("c", "y", 0, Some(false))]].concat();
        assert!(!same_per_stream(&want, &extra), "an extra stream");
    }

    #[test]
    fn the_qos_is_part_of_the_stream_and_dup_is_compared_only_where_stated() {
        let want = [m("a", "1", 0, None), m("a", "2", 1, Some(true))];
        assert!(same_per_stream(&want, &[m("a", "2", 1, Some(true)), m("a", "1", 0, Some(true))]));
        let no_dup = [m("a", "1", 0, Some(false)), m("a", "2", 1, Some(false))];
        assert!(!same_per_stream(&want, &no_dup));
        assert!(differs_only_in(&want, &no_dup, Field::Dup));
        let wrong_qos = [m("a", "1", 1, Some(false)), m("a", "2", 1, Some(true))];
        assert!(!same_per_stream(&want, &wrong_qos));
        assert!(!differs_only_in(&want, &wrong_qos, Field::Dup));
        assert!(differs_only_in(&want, &wrong_qos, Field::Qos));
        assert!(!differs_only_in(&want, &wrong_qos, Field::Retain));
        let retained = [m("a", "1", 0, None), Received { retain: true, ..m("a", "2", 1, Some(true)) }];
        assert!(differs_only_in(&want, &retained, Field::Retain));
    }

    #[test]
    fn recorded_lines_read_back() {
        let r = Received::parse("t/1 = hi there | q1 retain dup");
        assert_eq!(
            r,
            Received {
                topic: "t/1".into(),
                payload: "hi there".into(),
                qos: 1,
                retain: true,
                dup: Some(true),
                from: None,
                props: None,
                want_props: None,
            }
        );
        assert_eq!(r.stream(), (None, "t/1", 1));
        assert_eq!(r.shown(), "t/1 = hi there | q1 retain dup");
        // A 5.0 line's properties follow its flags; the flags still read back.
        let v5 = Received::parse("alerts/a = long lived | q1 dup message_expiry=57 user=\"k\":\"retain\"");
        assert_eq!((v5.topic.as_str(), v5.qos, v5.retain, v5.dup), ("alerts/a", 1, false, Some(true)));
    }

    #[test]
    fn further_copies_for_overlapping_subscriptions_are_allowed_and_the_maximum_qos_copy_is_required() {
        // [MQTT-3.3.5-1]: filters t/a at QoS 0 and t/# at QoS 2, a QoS 2 message to t/a.
        let filters = [("t/a".to_owned(), 0), ("t/#".to_owned(), 2)];
        let want = [m("t/a", "1", 2, None), m("t/b", "2", 2, None)];
        let one_copy = [m("t/a", "1", 2, Some(false)), m("t/b", "2", 2, Some(false))];
        assert_eq!(without_overlap_copies(&want, &one_copy, &filters), one_copy);
        let two_copies = [m("t/a", "1", 0, Some(false)), m("t/a", "1", 2, Some(false)), m("t/b", "2", 2, Some(false))];
        assert!(same_per_stream(&want, &without_overlap_copies(&want, &two_copies, &filters)));
        let lower_only = [m("t/a", "1", 0, Some(false)), m("t/b", "2", 2, Some(false))];
        assert!(!same_per_stream(&want, &without_overlap_copies(&want, &lower_only, &filters)), "the maximum is owed");
        let three = [two_copies.to_vec(), vec![m("t/a", "1", 2, Some(false))]].concat();
        assert!(!same_per_stream(&want, &without_overlap_copies(&want, &three, &filters)), "one copy per subscription");
        let t_b_twice = [one_copy.to_vec(), vec![m("t/b", "2", 2, Some(false))]].concat();
        assert!(
            !same_per_stream(&want, &without_overlap_copies(&want, &t_b_twice, &filters)),
            "t/b matches one filter"
        );
    }

    #[test]
    fn two_subscriptions_at_one_qos_may_give_two_copies_at_that_qos() {
        let filters = [("t/+".to_owned(), 1), ("t/#".to_owned(), 1)];
        let want = [m("t/a", "1", 1, None)];
        let two = [m("t/a", "1", 1, Some(false)), m("t/a", "1", 1, Some(false))];
        assert!(same_per_stream(&want, &without_overlap_copies(&want, &two, &filters)));
    }
}
