//! Judging an `expect` step: what each client received (stream by stream, with the copies
//! overlapping subscriptions allow, `harness::received`), how many, and, where the network can
//! see inside the broker, its sessions, queues, inflight windows, drops and retained store. It
//! says what differs; the executor says where and under which statement.

use std::collections::BTreeMap;

use super::agent::Command;
use super::executor::{differs, Difference};
use super::network::{BrokerState, Network, NetworkError};
use super::Outcome;
use crate::broker::BrokerView;
use crate::client::SessionSummary;
use crate::harness::received::{self, same_per_stream, without_overlap_copies, Received};
use crate::harness::snapshot::message_line;
use crate::protocol::PacketSummary;
use crate::scenario::model::{
    Expect, ExpectedClientState, ExpectedMessage, ExpectedReceived, ReceivedSummary, Scenario, SessionState, Step,
};
use crate::scenario::wire::{self, Bindings, WireExpect, WireScope};
use crate::trace::TraceEvent;

/// What a client received and what a `received` clause expects, as `received` compares them:
/// stream by stream (see `harness::received`), DUP only where the scenario states it. The
/// expected side never borrows anything from what was observed.
fn received_lists(record: &super::ClientRecord, expected: &[ExpectedMessage]) -> (Vec<Received>, Vec<Received>) {
    let got = record.messages.iter().map(|(_, m)| Received::of(m)).collect();
    let want = expected.iter().map(expected_message).collect();
    (got, want)
}

/// An expected message as `received` compares it, with the properties it must come with.
fn expected_message(m: &ExpectedMessage) -> Received {
    let want = Received::new(&m.topic, m.payload.as_bytes(), m.qos.0.as_u8(), m.retain, m.dup);
    Received { want_props: m.properties.clone(), ..want }
}

/// Whether `client`'s connection carried what `w` says, from the packets the client's own end
/// recorded in the trace.
fn check_wire<N: Network>(net: &N, client: &str, w: &WireExpect, bound: &mut Bindings) -> Difference {
    let events = net.trace().events();
    let mut sent = Vec::new();
    let mut received = Vec::new();
    for event in &events {
        match event {
            TraceEvent::Send { host, packet, .. } if host == client => {
                if matches!(packet, PacketSummary::Connect { .. }) && w.on == WireScope::LastConnection {
                    sent.clear();
                    received.clear();
                }
                sent.push(packet.clone());
            }
            TraceEvent::Recv { host, packet, .. } if host == client => received.push(packet.clone()),
            _ => {}
        }
    }
    let topic = |t: &str| net.topic(t);
    let found = wire::mismatch_in(&received, &w.received, w.in_order, &w.not_received, bound, &topic)
        .map(|m| ("received", m, &received, &w.received, &w.not_received))
        .or_else(|| {
            wire::mismatch_in(&sent, &w.sent, w.in_order, &w.not_sent, bound, &topic)
                .map(|m| ("sent", m, &sent, &w.sent, &w.not_sent))
        })?;
    let (way, what, packets, ordered, absent) = found;
    let scope = match w.on {
        WireScope::LastConnection => "on its latest connection",
        WireScope::Run => "in the run",
    };
    let shown: Vec<String> = packets.iter().map(|p| p.to_string()).collect();
    let d = differs(format!("the packets {client} {way} {scope}"), what, lines(&shown));
    // Where the packets hold once DUP is not compared, DUP alone differs: set where a
    // re-delivery needs it [MQTT-3.3.1-1], or where a first send must not have it [MQTT-3.3.1-3].
    let relaxed: Vec<_> = ordered.iter().map(|p| wire::PacketPattern { dup: None, ..p.clone() }).collect();
    if ordered.iter().any(|p| p.dup.is_some())
        && wire::mismatch_in(packets, &relaxed, w.in_order, absent, &mut bound.clone(), &topic).is_none()
    {
        let needed = ordered.iter().any(|p| p.dup == Some(true));
        return Some(d.under(&[if needed { "MQTT-3.3.1-1" } else { "MQTT-3.3.1-3" }]));
    }
    Some(d)
}

/// How many messages each client an `expect` step looks at had received when the step began.
pub(super) fn received_so_far<N: Network>(net: &N, e: &Expect) -> Result<BTreeMap<String, usize>, NetworkError> {
    let mut counts = BTreeMap::new();
    for client in e.received.keys().chain(e.received_count.keys()) {
        counts.insert(client.clone(), net.record(client)?.messages.len());
    }
    Ok(counts)
}

/// The filters `client`'s session subscribed to (by any client sharing its client id) in the
/// steps before `before`, with the QoS asked for, less those unsubscribed since.
pub(super) fn subscribed_filters(scenario: &Scenario, client: &str, before: usize) -> Vec<(String, u8)> {
    session_filters(scenario, client, before, true)
}

/// Every filter `client`'s session subscribed to in the whole scenario, unsubscribed or not:
/// what a message it received at any time may have matched.
pub fn ever_subscribed(scenario: &Scenario, client: &str) -> Vec<(String, u8)> {
    session_filters(scenario, client, scenario.steps.len(), false)
}

fn session_filters(scenario: &Scenario, client: &str, before: usize, forget_unsubscribed: bool) -> Vec<(String, u8)> {
    let id =
        |name: &str| scenario.clients.get(name).and_then(|c| c.client_id.clone()).unwrap_or_else(|| name.to_owned());
    let session = id(client);
    let mut filters: Vec<(String, u8)> = Vec::new();
    for step in &scenario.steps[..before] {
        match step {
            Step::Subscribe(s) if id(&s.client) == session => {
                let asked = s.topic.iter().zip(s.qos).map(|(t, q)| (t.0.clone(), q.0.as_u8()));
                for (filter, qos) in asked.chain(s.topics.iter().map(|f| (f.filter.0.clone(), f.qos.0.as_u8()))) {
                    filters.retain(|(f, _)| *f != filter); // an identical filter replaces [MQTT-3.8.4-3]
                    filters.push((filter, qos));
                }
            }
            Step::Unsubscribe(u) if forget_unsubscribed && id(&u.client) == session => {
                filters.retain(|(f, _)| !u.topic.iter().chain(&u.topics).any(|t| t.0 == *f));
            }
            _ => {}
        }
    }
    filters
}

/// The first clause of an `expect` step that does not hold now. Clauses about the broker's state
/// are judged only where the network can see it.
pub(super) async fn check_expect<N: Network>(
    net: &mut N,
    scenario: &Scenario,
    index: usize,
    e: &Expect,
    start: &BTreeMap<String, usize>,
    bound: &mut Bindings,
) -> Result<Difference, NetworkError> {
    // Every client whose list differs, so one failing client does not hide another.
    let mut differing: Vec<(String, String, String, Option<&'static str>)> = Vec::new();
    // Who published what, so two publishers' messages on one topic may interleave.
    let lists = e.received.values().any(|r| matches!(r, ExpectedReceived::List(_)));
    let publishers = if lists { received::publishers(&net.trace().events()) } else { Default::default() };
    for (client, expected) in &e.received {
        let expected = match expected {
            ExpectedReceived::List(list) => list,
            ExpectedReceived::Summary(summary) => {
                let record = net.record(client)?;
                let from = start.get(client).copied().unwrap_or(0);
                // The publication order is read from the trace only where it is asked for.
                let events = if summary.in_order { net.trace().events() } else { Vec::new() };
                if let Some((want, got)) = check_summary(summary, &record, from, &events) {
                    differing.push((client.clone(), want, got, None));
                }
                continue;
            }
        };
        let (mut got, mut want) = received_lists(&net.record(client)?, expected);
        received::attribute(&mut got, &publishers);
        received::attribute(&mut want, &publishers);
        let filters = subscribed_filters(scenario, client, index);
        // What the client had received at some moment since the step began: a prefix of what
        // it has now, at least as long as what it had then. Over a real network an
        // expectation is watched for a grace period, and a message that arrives on time after
        // a late one must not turn a late success into a failure.
        let from = start.get(client).copied().unwrap_or(0).min(got.len());
        let held =
            (from..=got.len()).any(|n| same_per_stream(&want, &without_overlap_copies(&want, &got[..n], &filters)));
        if !held {
            // Shown as received, further copies included, with what came during the grace
            // marked; blamed on what it had when it was first looked at, without the copies.
            let shown = |list: &[Received]| lines(&list.iter().map(Received::shown).collect::<Vec<_>>());
            let at_check = without_overlap_copies(&want, &got[..from], &filters);
            let blame = received::blame(&want, &at_check, &filters);
            let mut observed: Vec<String> = got.iter().map(Received::shown).collect();
            for line in observed.iter_mut().skip(from) {
                line.push_str("   (came during the grace)");
            }
            differing.push((client.clone(), shown(&want), lines(&observed), blame));
        }
    }
    if let [(client, expected, observed, blame)] = differing.as_slice() {
        let d = differs(format!("{client} received"), expected, observed);
        return Ok(Some(match blame {
            Some(b) => d.under(&[*b]),
            None => d,
        }));
    }
    if !differing.is_empty() {
        let names: Vec<&str> = differing.iter().map(|(c, ..)| c.as_str()).collect();
        let expected: String = differing.iter().map(|d| format!("{}:\n{}", d.0, indented(&d.1))).collect();
        let observed: String = differing.iter().map(|d| format!("{}:\n{}", d.0, indented(&d.2))).collect();
        let d = differs(format!("{} received", names.join(", ")), expected, observed);
        let blames: Vec<_> = differing.iter().map(|d| d.3).collect();
        return Ok(Some(match blames[0] {
            Some(b) if blames.iter().all(|x| *x == Some(b)) => d.under(&[b]),
            _ => d,
        }));
    }
    for (client, &n) in &e.received_count {
        let got = net.record(client)?.messages.len();
        // Counts only grow: it was `n` at some moment since the step began if `n` lies between.
        let from = start.get(client).copied().unwrap_or(0);
        if !(from..=got).contains(&n) {
            return Ok(Some(differs(
                format!("{client}'s number of received messages"),
                n.to_string(),
                got.to_string(),
            )));
        }
    }
    for (client, w) in &e.wire {
        if let Some(d) = check_wire(net, client, w, bound) {
            return Ok(Some(d));
        }
    }
    for (client, want) in &e.client_state {
        let got = net.command(client, |reply| Command::Inspect { reply }).await?;
        let record = net.record(client)?;
        if let Some(d) = check_client_state(client, want, &got, &record) {
            return Ok(Some(d));
        }
    }
    let needs_broker = !(e.queued.is_empty()
        && e.inflight.is_empty()
        && e.inflight_in.is_empty()
        && e.drops.is_empty()
        && e.sessions.is_empty())
        || e.retained.is_some();
    if !needs_broker {
        return Ok(None);
    }
    Ok(match net.broker().await? {
        BrokerState::Up(view) => check_broker(&view, e),
        BrokerState::Down => Some(differs("the broker's state", "a running broker", "the broker is down")),
        BrokerState::NotObservable => None,
    })
}

fn check_broker(view: &BrokerView, e: &Expect) -> Difference {
    for (id, state) in &e.sessions {
        let got = match view.session(id) {
            None => SessionState::Absent,
            Some(s) if s.connected => SessionState::Connected,
            Some(_) => SessionState::Offline,
        };
        if got != *state {
            return Some(differs(format!("session {id:?}"), format!("{state:?}"), format!("{got:?}")));
        }
    }
    for (id, &n) in &e.queued {
        let got = view.session(id).map_or(0, |s| s.queued.len());
        if got != n {
            return Some(differs(format!("session {id:?}'s queued messages"), n.to_string(), got.to_string()));
        }
    }
    for (id, &n) in &e.inflight {
        let got = view.session(id).map_or(0, |s| s.inflight_out.len());
        if got != n {
            return Some(differs(format!("session {id:?}'s inflight messages"), n.to_string(), got.to_string()));
        }
    }
    for (id, &n) in &e.inflight_in {
        let got = view.session(id).map_or(0, |s| s.inflight_in.len());
        if got != n {
            let what = format!("session {id:?}'s incoming QoS 2 messages awaiting PUBREL");
            return Some(differs(what, n.to_string(), got.to_string()));
        }
    }
    for (id, expected) in &e.drops {
        let got = view.session(id).map(|s| s.drops.clone()).unwrap_or_default();
        let want: std::collections::BTreeMap<_, _> =
            expected.iter().filter(|(_, n)| **n > 0).map(|(r, n)| (r.reason(), *n)).collect();
        if got != want {
            return Some(differs(format!("session {id:?}'s drops"), format!("{want:?}"), format!("{got:?}")));
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
            return Some(differs("the retained store", lines(&want), lines(&got)));
        }
    }
    None
}

/// Where a summary of what a client received does not hold: (expected, observed) in words.
/// Counts only grow, so the count must lie between what the client had when the step began
/// (`from`) and what it has now; the rest is judged on that many messages.
fn check_summary(
    summary: &ReceivedSummary,
    record: &super::ClientRecord,
    from: usize,
    events: &[TraceEvent],
) -> Option<(String, String)> {
    let got: Vec<Received> = record.messages.iter().map(|(_, m)| Received::of(m)).collect();
    if !(from..=got.len()).contains(&summary.count) {
        return Some((format!("{} messages", summary.count), format!("{} messages", got.len())));
    }
    let got = &got[..summary.count];
    let ends = [("first", &summary.first, got.first()), ("last", &summary.last, got.last())];
    for (which, want, have) in ends {
        let Some(want) = want else { continue };
        let want = expected_message(want);
        if !have.is_some_and(|h| want.matches(h)) {
            let have = have.map_or_else(|| "nothing".to_owned(), Received::shown);
            return Some((format!("{which}: {}", want.shown()), format!("{which}: {have}")));
        }
    }
    if summary.in_order {
        if let Some(late) = out_of_order(got, events) {
            return Some(("each publisher's messages in publication order".into(), late));
        }
    }
    None
}

/// Who published a message, at which QoS, and where in the trace.
type Publication<'a> = (&'a str, u8, usize);

/// The first message that came after one its publisher published later on the same topic at
/// the same QoS [MQTT-4.6.0-6], in words; re-deliveries (a message seen before) and messages
/// published more than once are not ordered.
fn out_of_order(got: &[Received], events: &[TraceEvent]) -> Option<String> {
    // (topic, payload) -> its publisher, QoS and place, or `None` where published twice.
    let mut published: BTreeMap<(&str, &str), Option<Publication>> = BTreeMap::new();
    for (seq, e) in events.iter().enumerate() {
        if let TraceEvent::Publish { client, topic, payload, qos, .. } = e {
            published.entry((topic.as_str(), payload.as_str())).and_modify(|p| *p = None).or_insert(Some((
                client.as_str(),
                *qos,
                seq,
            )));
        }
    }
    let mut last: BTreeMap<(&str, &str, u8), (usize, &Received)> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in got {
        if !seen.insert((m.topic.as_str(), m.payload.as_str())) {
            continue;
        }
        let Some(Some((publisher, qos, seq))) = published.get(&(m.topic.as_str(), m.payload.as_str())) else {
            continue;
        };
        let stream = (*publisher, m.topic.as_str(), *qos);
        if let Some((before, earlier)) = last.get(&stream) {
            if seq < before {
                return Some(format!(
                    "{} came after {}, which {publisher} published later",
                    m.shown(),
                    earlier.shown()
                ));
            }
        }
        last.insert(stream, (*seq, m));
    }
    None
}

/// Whether a client's own state is as expected: what its session holds (asked of the client)
/// and how its latest connection ended (from what its application was told).
fn check_client_state(
    client: &str,
    want: &ExpectedClientState,
    got: &Outcome<SessionSummary>,
    record: &super::ClientRecord,
) -> Difference {
    let Outcome::Done(got) = got else {
        return Some(differs(format!("{client}'s own state"), "an answer from the client", format!("{got:?}")));
    };
    let checks: [(&str, Option<String>, String); 4] = [
        (
            "QoS 2 messages awaiting PUBREL",
            want.awaiting_pubrel.map(|n| n.to_string()),
            got.awaiting_pubrel.to_string(),
        ),
        ("unacknowledged publications", want.unacknowledged.map(|n| n.to_string()), got.unacknowledged.to_string()),
        ("acknowledgements owed", want.owed_acks.map(|n| n.to_string()), got.owed_acks.to_string()),
        ("latest connection", want.connection.map(|c| format!("{c:?}")), format!("{:?}", record.connection)),
    ];
    checks
        .into_iter()
        .find_map(|(what, want, got)| want.filter(|w| *w != got).map(|w| differs(format!("{client}'s {what}"), w, got)))
}

/// A block of lines, indented under a client's name.
fn indented(block: &str) -> String {
    block.lines().map(|l| format!("  {l}\n")).collect()
}

/// Message lines as a block, one per line.
fn lines(v: &[String]) -> String {
    if v.is_empty() {
        return "(nothing)\n".into();
    }
    v.iter().map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(client: &str, payload: &str) -> TraceEvent {
        let (topic, payload) = ("t".to_owned(), payload.to_owned());
        TraceEvent::Publish { ms: 0, client: client.into(), topic, payload, qos: 1, retain: false }
    }

    fn got(payloads: &[&str]) -> Vec<Received> {
        payloads.iter().map(|p| Received::new("t", p.as_bytes(), 1, false, Some(false))).collect()
    }

    #[test]
    fn order_is_judged_per_publisher_and_a_redelivery_is_not_ordered() {
        let events = [publish("a", "a1"), publish("b", "b1"), publish("a", "a2"), publish("b", "b2")];
        // Publishers interleave freely; a re-delivered a1 is not a second arrival.
        assert_eq!(out_of_order(&got(&["b1", "a1", "b2", "a1", "a2"]), &events), None);
        let late = out_of_order(&got(&["a2", "a1"]), &events).expect("a1 after a2");
        assert!(late.starts_with("t = a1 | q1 came after t = a2 | q1, which a published later"), "{late}");
    }
}
