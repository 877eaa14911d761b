//! Comparing what a client received with what was expected, as the spec orders messages: a
//! server must keep the order of the messages one client publishes on one topic at one QoS
//! [MQTT-4.6.0-6], and nothing more. So the messages are compared stream by stream, a stream being
//! the messages of one topic delivered at one QoS (the receiver cannot see the publisher, nor the
//! published QoS: the delivered one stands for it), and streams may interleave in any order.
//! Within a stream, each message must match in payload, RETAIN and, where the expectation states
//! it, DUP. A message line reads `topic = payload | qN[ retain][ dup]` (`snapshot::message_line`).

use std::collections::BTreeMap;

/// One message, as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `topic = payload | qN[ retain]`, without DUP.
    pub line: String,
    /// `None` on the expected side: DUP not stated, so not compared.
    pub dup: Option<bool>,
}

impl Received {
    pub fn new(topic: &str, payload: &[u8], qos: u8, retain: bool, dup: Option<bool>) -> Received {
        Received { line: super::snapshot::message_line(topic, payload, qos, retain, false), dup }
    }

    /// From a full message line, DUP included (a recorded snapshot's).
    pub fn parse(line: &str) -> Received {
        match line.strip_suffix(" dup") {
            Some(rest) => Received { line: rest.to_owned(), dup: Some(true) },
            None => Received { line: line.to_owned(), dup: Some(false) },
        }
    }

    /// The stream it belongs to: its topic and delivered QoS.
    fn stream(&self) -> (&str, &str) {
        let topic = self.line.split_once(" = ").map_or(self.line.as_str(), |(t, _)| t);
        let qos = self.line.rsplit_once(" | ").map_or("", |(_, q)| q.split(' ').next().unwrap_or(""));
        (topic, qos)
    }

    /// How it reads in a report: DUP shown only where it is known.
    pub fn shown(&self) -> String {
        if self.dup == Some(true) {
            format!("{} dup", self.line)
        } else {
            self.line.clone()
        }
    }

    fn matches(&self, got: &Received) -> bool {
        self.line == got.line && (self.dup.is_none() || got.dup.is_none() || self.dup == got.dup)
    }
}

/// Whether `got` is `want` up to the interleaving of streams.
pub fn same_per_stream(want: &[Received], got: &[Received]) -> bool {
    let streams = |list: &[Received]| {
        let mut by: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (i, m) in list.iter().enumerate() {
            let (topic, qos) = m.stream();
            by.entry((topic.to_owned(), qos.to_owned())).or_default().push(i);
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
        assert!(!same_per_stream(&want, &[m("a", "1", 0, Some(false)), m("a", "2", 1, Some(false))]));
        assert!(!same_per_stream(&want, &[m("a", "1", 1, Some(false)), m("a", "2", 1, Some(true))]));
    }

    #[test]
    fn recorded_lines_read_back() {
        let r = Received::parse("t/1 = hi there | q1 retain dup");
        assert_eq!(r, Received { line: "t/1 = hi there | q1 retain".into(), dup: Some(true) });
        assert_eq!(r.stream(), ("t/1", "q1"));
        assert_eq!(r.shown(), "t/1 = hi there | q1 retain dup");
    }
}
