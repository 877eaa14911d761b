//! Checking an `expect` step against what the world shows now.

use crate::broker::BrokerView;
use crate::harness::ClientRecord;
use crate::sim::{World, WorldError};

use super::model::{Expect, ExpectedMessage, SessionState};
use super::snapshot::{message_line, received_line};

/// What a client received and what a `received` clause expects, as comparable lines. DUP is
/// compared only where the scenario states it. Shared with `external`, which records the same way.
pub fn received_lines(record: &ClientRecord, expected: &[ExpectedMessage]) -> (Vec<String>, Vec<String>) {
    let got = record.messages.iter().map(|(_, m)| received_line(m)).collect();
    let want = expected
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let dup = m.dup.unwrap_or_else(|| record.messages.get(i).is_some_and(|(_, r)| r.dup));
            message_line(&m.topic, m.payload.as_bytes(), m.qos.0.as_u8(), m.retain, dup)
        })
        .collect();
    (got, want)
}

/// The first expectation that does not hold, as a sentence with the expected and actual values.
pub fn check(world: &mut World, e: &Expect) -> Result<Option<String>, WorldError> {
    for (client, expected) in &e.received {
        let (got, want) = received_lines(&world.record(client)?, expected);
        if got != want {
            return Ok(Some(format!("{client} received:\n{}\nexpected:\n{}", lines(&got), lines(&want))));
        }
    }
    for (client, &n) in &e.received_count {
        let got = world.record(client)?.messages.len();
        if got != n {
            return Ok(Some(format!("{client} received {got} messages, expected {n}")));
        }
    }
    let needs_broker = !(e.queued.is_empty() && e.inflight.is_empty() && e.drops.is_empty() && e.sessions.is_empty())
        || e.retained.is_some();
    if !needs_broker {
        return Ok(None);
    }
    let Some(view) = world.broker_view()? else {
        return Ok(Some("the broker is down, so its state cannot be checked".into()));
    };
    Ok(check_broker(&view, e))
}

fn check_broker(view: &BrokerView, e: &Expect) -> Option<String> {
    for (id, state) in &e.sessions {
        let got = match view.session(id) {
            None => SessionState::Absent,
            Some(s) if s.connected => SessionState::Connected,
            Some(_) => SessionState::Offline,
        };
        if got != *state {
            return Some(format!("session {id:?} is {got:?}, expected {state:?}"));
        }
    }
    for (id, &n) in &e.queued {
        let got = view.session(id).map_or(0, |s| s.queued.len());
        if got != n {
            return Some(format!("session {id:?} has {got} queued messages, expected {n}"));
        }
    }
    for (id, &n) in &e.inflight {
        let got = view.session(id).map_or(0, |s| s.inflight_out.len());
        if got != n {
            return Some(format!("session {id:?} has {got} inflight messages, expected {n}"));
        }
    }
    for (id, expected) in &e.drops {
        let got = view.session(id).map(|s| s.drops.clone()).unwrap_or_default();
        let want: std::collections::BTreeMap<_, _> =
            expected.iter().filter(|(_, n)| **n > 0).map(|(r, n)| (r.reason(), *n)).collect();
        if got != want {
            return Some(format!("session {id:?} drops are {got:?}, expected {want:?}"));
        }
    }
    if let Some(expected) = &e.retained {
        let got: Vec<String> =
            view.retained.iter().map(|r| message_line(&r.topic, &r.payload, r.qos.as_u8(), true, false)).collect();
        let want: Vec<String> = expected
            .iter()
            .map(|r| message_line(&r.topic, r.payload.as_bytes(), r.qos.0.as_u8(), true, false))
            .collect();
        if got != want {
            return Some(format!("retained store:\n{}\nexpected:\n{}", lines(&got), lines(&want)));
        }
    }
    None
}

fn lines(v: &[String]) -> String {
    if v.is_empty() {
        return "  (nothing)".into();
    }
    v.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}
