//! The simulation's reviewed snapshot of a scenario (`snapshots/NAME.snap`), reduced to what can
//! be observed from outside a broker: each client's CONNACKs and the messages its application
//! received. A real broker that keeps the spec must produce the same for a deterministic scenario.
//! It owns reading that file, not running anything.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::harness::received::{same_per_stream, Received};
use crate::harness::snapshot::ClientSnapshot;

/// The `clients:` part of a stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Recorded {
    pub clients: BTreeMap<String, RecordedClient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RecordedClient {
    pub connacks: Vec<String>,
    pub received: Vec<String>,
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

/// The clients whose observed CONNACKs or messages differ from the recorded ones, as
/// (expected, observed) text, one block per client.
pub fn differences(recorded: &Recorded, observed: &BTreeMap<String, ClientSnapshot>) -> Option<(String, String)> {
    let (mut expected, mut got) = (String::new(), String::new());
    for (name, want) in &recorded.clients {
        let have = observed.get(name);
        // Streams of messages may interleave differently over a real network [MQTT-4.6.0-6].
        let parsed = |lines: &[String]| lines.iter().map(|l| Received::parse(l)).collect::<Vec<_>>();
        let same = have.is_some_and(|h| {
            h.connacks == want.connacks && same_per_stream(&parsed(&want.received), &parsed(&h.received))
        });
        if same {
            continue;
        }
        expected.push_str(&block(name, &want.connacks, &want.received));
        match have {
            Some(h) => got.push_str(&block(name, &h.connacks, &h.received)),
            None => got.push_str(&format!("{name}: (not a client of this run)\n")),
        }
    }
    (!expected.is_empty()).then_some((expected, got))
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
        assert_eq!(r.clients["a"].received, vec!["t = m | q1"]);
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
