//! Reading a scenario file: YAML syntax and types (serde_yaml, with its line and column), then the
//! checks that need the whole scenario (every client a step or expectation names is declared).
//! A file with any error is rejected whole: nothing runs.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use super::model::{ConnectStep, ProtocolVersion, Scenario, Step};
use super::position::Positions;
use super::scripted::{AckStep, Acks, PacketSpec, SendStep};
use super::values::Refusal;
use super::wire::IdPattern;

/// A scenario that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// What was found and what was expected.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 1,
        column: 1,
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, &file)
}

/// Parses and checks scenario text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let positions = Positions::index(text);
    if let Some(d) = positions.first_duplicate() {
        let ((line, column), (first, _)) = (d.at, d.first);
        let key = d.path.rsplit('.').next().unwrap_or(&d.path);
        return Err(ScenarioError {
            file: file.to_owned(),
            line,
            column,
            message: format!("{}: the key {key:?} is written twice (first at line {first}); keep one", d.path),
        });
    }
    let mut scenario: Scenario = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((1, 1));
        let message = e.to_string();
        // serde_yaml appends its own "at line L column C"; we print the position in front.
        let message = match message.find(" at line ") {
            Some(i) => format!("{}{}", &message[..i], trailing(&message[i..])),
            None => message,
        };
        ScenarioError { file: file.to_owned(), line, column, message: without_rust_types(&message) }
    })?;
    check(&scenario).map_err(|(path, message)| {
        let (line, column) = positions.find(&path);
        ScenarioError { file: file.to_owned(), line, column, message }
    })?;
    // What the scenario requires of the server, it also sets on the simulated broker.
    scenario.broker = scenario.broker.merged(&scenario.requires).map_err(|e| {
        let (line, column) = positions.find("requires");
        ScenarioError {
            file: file.to_owned(),
            line,
            column,
            message: format!("`broker:` and `requires:` disagree: {e}"),
        }
    })?;
    scenario.step_lines = (0..scenario.steps.len()).map(|i| positions.find(&format!("steps[{i}]")).0).collect();
    Ok(scenario)
}

/// serde's words for what a field expects, with Rust's type names (`expected u16`) put as a
/// scenario's author would say them.
fn without_rust_types(message: &str) -> String {
    const TYPES: [(&str, &str); 9] = [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ];
    let mut out = message.to_owned();
    for (rust, words) in TYPES {
        if let Some(i) = out.find(rust) {
            // Only the whole word: `expected u16` but not `expected u160`.
            let end = i + rust.len();
            if !out[end..].starts_with(|c: char| c.is_alphanumeric()) {
                out.replace_range(i..end, words);
            }
        }
    }
    out
}

/// What follows serde_yaml's position note (e.g. `, while parsing a block mapping`).
fn trailing(rest: &str) -> &str {
    let after_column = rest.find("column ").map(|i| &rest[i + 7..]).unwrap_or("");
    after_column.trim_start_matches(|c: char| c.is_ascii_digit())
}

/// Whole-scenario checks; an error names the YAML path it concerns.
fn check(s: &Scenario) -> Result<(), (String, String)> {
    if s.clients.is_empty() {
        return Err(("clients".into(), "a scenario needs at least one client under `clients`".into()));
    }
    let names: BTreeSet<&str> = s.clients.keys().map(String::as_str).collect();
    let ids: BTreeSet<String> =
        s.clients.iter().map(|(name, c)| c.client_id.clone().unwrap_or_else(|| name.clone())).collect();
    let known = |set: &BTreeSet<&str>| set.iter().copied().collect::<Vec<_>>().join(", ");
    for name in s.clients.keys() {
        if name == crate::trace::BROKER {
            return Err((format!("clients.{name}"), format!("{name:?} is the broker's host name; choose another")));
        }
    }
    // What only MQTT 5.0 has needs a 5.0 client.
    let v5_only = |name: &str, field: &str| {
        (format!("clients.{name}.{field}"), format!("`{field}` is MQTT 5.0: add `protocol: 5` to client {name:?}"))
    };
    for (name, c) in &s.clients {
        if c.protocol == ProtocolVersion::V5 {
            continue;
        }
        let fields = [
            ("session_expiry", c.session_expiry.is_some()),
            ("receive_maximum", c.receive_maximum.is_some()),
            ("maximum_packet_size", c.maximum_packet_size.is_some()),
            ("topic_alias_maximum", c.topic_alias_maximum.is_some()),
            ("user_properties", !c.user_properties.is_empty()),
            ("will", c.will.as_ref().is_some_and(|w| w.is_v5())),
        ];
        if let Some((field, _)) = fields.iter().find(|(_, set)| *set) {
            return Err(v5_only(name, field));
        }
    }
    if s.steps.is_empty() {
        return Err(("steps".into(), "a scenario needs at least one step".into()));
    }
    if let Some(p) = s.disk.sync_probability.filter(|p| !(0.0..=1.0).contains(p)) {
        return Err((
            "disk.sync_probability".into(),
            format!("`sync_probability` is a probability from 0 to 1, found {p}"),
        ));
    }
    if s.disk.block_size == Some(0) {
        return Err(("disk.block_size".into(), "`block_size` is a number of bytes, at least 1".into()));
    }
    // Packet id variables bound by the `wire:` expectations so far, which `ack` and `send` use.
    let mut variables: BTreeSet<&str> = BTreeSet::new();
    for (i, step) in s.steps.iter().enumerate() {
        let at = format!("steps[{i}].{}", step.keyword());
        if let Some(client) = step.client() {
            if !names.contains(client) {
                return Err((
                    format!("{at}.client"),
                    format!(
                        "unknown client {client:?}: expected one of the clients declared under `clients` ({})",
                        known(&names)
                    ),
                ));
            }
        }
        let v5 = step.client().is_some_and(|c| s.clients[c].protocol == ProtocolVersion::V5);
        let v5_step = match step {
            Step::Publish(p) => !p.properties().is_empty(),
            Step::Disconnect(d) => d.is_v5(),
            Step::Connect(c) => c.session_expiry.is_some(),
            Step::Subscribe(sub) => sub.is_v5(),
            _ => false,
        };
        if v5_step && !v5 {
            let client = step.client().unwrap_or("");
            return Err((at, format!("this step asks for MQTT 5.0: add `protocol: 5` to client {client:?}")));
        }
        match step {
            Step::Subscribe(sub) => match (&sub.topic, sub.qos, sub.topics.is_empty()) {
                (Some(_), Some(_), true) | (None, None, false) => {}
                (Some(_), None, _) => return Err((at, "`topic` needs a `qos`".into())),
                _ => return Err((at, "give either `topic` and `qos`, or a `topics` list, not both".into())),
            },
            Step::Unsubscribe(u) if u.topic.is_some() == u.topics.is_empty() => {}
            Step::Unsubscribe(_) => return Err((at, "give either `topic` or a `topics` list".into())),
            Step::PacketLoss(l) if !(0.0..=1.0).contains(&l.rate) => {
                return Err((format!("{at}.rate"), format!("`rate` is a probability from 0 to 1, found {}", l.rate)));
            }
            Step::Publish(p) if p.repeat == 0 => {
                return Err((format!("{at}.repeat"), "`repeat` must be at least 1".into()))
            }
            Step::Connect(c) if c.refused.is_some() && c.session_present.is_some() => {
                return Err((at, "a refused CONNACK has no session present flag to expect [MQTT-3.2.2-4]".into()));
            }
            // A 3.1.1 CONNACK carries a return code from 1 to 5, a 5.0 one a reason code of 0x80
            // or more [MQTT5-3.2.2-7]: a code of the other version can never come.
            Step::Connect(ConnectStep { refused: Some(Refusal::Code(rc)), .. }) if v5 != (*rc >= 0x80) => {
                let want = if v5 { "a 5.0 reason code from 0x80 to 0xFF" } else { "a return code from 1 to 5" };
                return Err((
                    format!("{at}.refused"),
                    format!("{rc:#04x} is not a CONNACK refusal of this client's protocol: expected {want}"),
                ));
            }
            Step::Ack(a) if s.clients[&a.client].acks != Acks::Manual => {
                return Err((
                    at,
                    format!(
                        "`ack` needs `acks: manual` on client {:?}: an automatic client has answered already",
                        a.client
                    ),
                ));
            }
            Step::Ack(AckStep { id: Some(_), message: Some(_), .. }) => {
                return Err((at, "give the message to acknowledge by `id` or by `message`, not both".into()));
            }
            Step::Ack(AckStep { id: Some(IdPattern::Variable(v)), .. })
            | Step::Send(SendStep { packet: PacketSpec { id: Some(IdPattern::Variable(v)), .. }, .. })
                if !variables.contains(v.as_str()) =>
            {
                return Err((
                    format!("{at}.id"),
                    format!("{v} is not bound by any `wire:` expectation before this step"),
                ));
            }
            Step::Send(send) => {
                if let Some(problem) = send.packet.problem() {
                    return Err((format!("{at}.packet"), problem));
                }
                if send.packet.server_only() && !s.clients[&send.client].break_client_rules {
                    return Err((
                        format!("{at}.packet.kind"),
                        format!(
                            "only a server sends this packet: client {:?} needs `break_client_rules: true` to send it",
                            send.client
                        ),
                    ));
                }
            }
            Step::Expect(e) => {
                for pattern in e.wire.values().flat_map(|w| w.received.iter().chain(&w.sent)) {
                    if let Some(IdPattern::Variable(v)) = &pattern.id {
                        variables.insert(v);
                    }
                }
                for client in
                    e.received.keys().chain(e.received_count.keys()).chain(e.wire.keys()).chain(e.client_state.keys())
                {
                    if !names.contains(client.as_str()) {
                        return Err((
                            format!("{at}.received"),
                            format!("expectation names unknown client {client:?}: expected one of {}", known(&names)),
                        ));
                    }
                }
                for id in e
                    .queued
                    .keys()
                    .chain(e.inflight.keys())
                    .chain(e.inflight_in.keys())
                    .chain(e.drops.keys())
                    .chain(e.sessions.keys())
                {
                    if !ids.contains(id) {
                        let ids: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
                        return Err((
                            at,
                            format!("expectation names unknown client id {id:?}: expected one of {}", known(&ids)),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
