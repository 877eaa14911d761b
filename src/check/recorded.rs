//! The simulation's reviewed snapshot of a scenario (`snapshots/NAME.snap`), reduced to what can
//! be observed from outside a broker: each client's CONNACKs and the messages its application
//! received. A real broker that keeps the spec must produce the same for a deterministic scenario.
//! It owns reading that file, not running anything.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::harness::ever_subscribed;
use crate::harness::received::{self, same_per_stream, without_overlap_copies, Publishers, Received};
use crate::harness::snapshot::{digest, ClientSnapshot, Listed, Summary};
use crate::scenario::Scenario;

/// The `clients:` part of a stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Recorded {
    pub clients: BTreeMap<String, RecordedClient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordedClient {
    pub connacks: Vec<String>,
    /// Every message, or past `snapshot::SUMMARY_ABOVE` a summary of them.
    pub received: Listed,
}

/// Reads `dir/name.snap`; `Ok(None)` when there is none.
pub fn load(dir: &Path, name: &str) -> Result<Option<Recorded>, String> {
    let path = dir.join(format!("{name}.snap"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    parse(&text).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses an insta snapshot: a `---` header block with insta's metadata, then the YAML body.
pub fn parse(text: &str) -> Result<Recorded, String> {
    let body = match text.strip_prefix("---\n") {
        Some(rest) => rest.split_once("\n---\n").map(|(_, body)| body).ok_or("no end to the snapshot header")?,
        None => text,
    };
    serde_yaml::from_str(body).map_err(|e| e.to_string())
}

/// How a run's end differs from the recorded snapshot: (expected, observed) text, one block per
/// differing client, and the statements the differences break where their kind says which (see
/// `received::blame`; empty where any client's difference is of another kind).
pub type Differences = (String, String, Vec<&'static str>);

/// The clients whose observed CONNACKs or messages differ from the recorded ones. Streams may
/// interleave differently over a real network [MQTT-4.6.0-6], and a broker may send a further
/// copy for each overlapping subscription [MQTT-3.3.5-1]; `publishers` (from the run's trace)
/// tells the streams of two publishers on one topic apart.
pub fn differences(
    scenario: &Scenario,
    recorded: &Recorded,
    observed: &BTreeMap<String, ClientSnapshot>,
    publishers: &Publishers,
) -> Option<Differences> {
    let (mut expected, mut got) = (String::new(), String::new());
    let mut spec: Option<Vec<&'static str>> = None;
    let parsed = |lines: &[String]| {
        let mut list: Vec<Received> = lines.iter().map(|l| Received::parse(l)).collect();
        received::attribute(&mut list, publishers);
        list
    };
    for (name, want) in &recorded.clients {
        let have = observed.get(name);
        let want = match &want.received {
            Listed::All(all) => RecordedList { connacks: &want.connacks, received: all },
            Listed::Summary(summary) => {
                // A long list is compared by its count and digest (streams in any interleaving).
                let same = have.is_some_and(|h| h.connacks == want.connacks && want.received.describes(&h.received));
                if !same {
                    spec = Some(vec![]);
                    expected.push_str(&format!("{name}:\n  {}\n", summary_line(summary)));
                    match have {
                        Some(h) => got.push_str(&format!("{name}:\n  {}\n", observed_summary(&h.received))),
                        None => got.push_str(&format!("{name}: (not a client of this run)\n")),
                    }
                }
                continue;
            }
        };
        let filters = ever_subscribed(scenario, name);
        let want_received = parsed(want.received);
        let have_received = have.map(|h| without_overlap_copies(&want_received, &parsed(&h.received), &filters));
        let connacks_same = have.is_some_and(|h| h.connacks == want.connacks);
        let received_same = have_received.as_ref().is_some_and(|r| same_per_stream(&want_received, r));
        if connacks_same && received_same {
            continue;
        }
        let blame = match (&have_received, connacks_same) {
            (Some(r), true) => received::blame(&want_received, r, &filters),
            _ => None,
        };
        spec = match (spec, blame) {
            (None, Some(id)) => Some(vec![id]),
            (Some(mut ids), Some(id)) if !ids.is_empty() => {
                if !ids.contains(&id) {
                    ids.push(id);
                }
                Some(ids)
            }
            _ => Some(vec![]),
        };
        expected.push_str(&block(name, want.connacks, want.received));
        match have {
            Some(h) => got.push_str(&block(name, &h.connacks, &h.received)),
            None => got.push_str(&format!("{name}: (not a client of this run)\n")),
        }
    }
    (!expected.is_empty()).then(|| (expected, got, spec.unwrap_or_default()))
}

/// A recorded client whose messages are listed in full.
struct RecordedList<'a> {
    connacks: &'a [String],
    received: &'a [String],
}

fn summary_line(s: &Summary) -> String {
    format!("{} messages, digest {}, first {:?}, last {:?}", s.count, s.digest, s.first.first(), s.last.last())
}

fn observed_summary(lines: &[String]) -> String {
    match Listed::of(lines) {
        Listed::Summary(s) => summary_line(&s),
        Listed::All(all) => format!("{} messages, digest {}", all.len(), digest(&all)),
    }
}

fn block(name: &str, connacks: &[String], received: &[String]) -> String {
    let mut out = format!("{name}:\n");
    for c in connacks {
        out.push_str(&format!("  CONNACK {c}\n"));
    }
    if received.is_empty() {
        out.push_str("  received nothing\n");
    }
    for r in received {
        out.push_str(&format!("  received {r}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_clients_of_an_insta_snapshot() {
        let text = "---\nsource: src/scenario/snapshot.rs\ndescription: \"x\\ny\"\n---\nclients:\n  a:\n    connacks:\n      - \"accepted, session present 0\"\n    received:\n      - t = m | q1\nbroker:\n  sessions: {}\n  retained: []\n";
        let r = parse(text).unwrap();
        assert_eq!(r.clients["a"].connacks, vec!["accepted, session present 0"]);
        assert_eq!(r.clients["a"].received, Listed::All(vec!["t = m | q1".to_owned()]));
    }

    #[test]
    fn every_stored_snapshot_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "snap") {
                let text = std::fs::read_to_string(&path).unwrap();
                parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
    }
}
