//! The scenario executor: what each step means and how each expectation is judged, written once
//! for every network. It drives a [`Network`] step by step (a client command and the outcome the
//! step expects, a wait, a fault, an `expect`), stops at the first step that does not go as the
//! scenario says, and judges a finished trace against the delivery invariants.
//!
//! The simulation (`sim::runner`) and `mqtt-sim check` (`check::runner`) both run scenarios
//! through here; what they add is only what differs between the networks: the simulation takes a
//! snapshot of the broker at the end, `check` compares with the recorded snapshot and cleans up
//! the broker it borrowed.

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;

use super::agent::{Command, ConnackSeen};
use super::network::{BrokerState, Network, NetworkError};
use super::Outcome;
use crate::broker::BrokerView;
use crate::client::ClientOptions;
use crate::harness::received::{same_per_stream, Received};
use crate::harness::snapshot::{connack_line, message_line};
use crate::invariants;
use crate::protocol::{LastWill, SubscribeFilter};
use crate::scenario::model::{ConnectStep, Expect, ExpectedMessage, ExpectedOutcome, Scenario, SessionState, Step};
use crate::trace::{Fault, TraceEvent};

/// Time allowed after the last step for messages in flight to land, on either network.
pub const SETTLE: Duration = Duration::from_secs(1);

/// How often an expectation that does not hold yet is looked at again, within the network's grace.
const RECHECK: Duration = Duration::from_millis(50);

/// A step, or the run as a whole, that did not go as the scenario or the spec says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 0-based step index, or `None` for a failure after the steps (a snapshot, an invariant).
    pub step: Option<usize>,
    /// The step's line in the file, if known.
    pub line: Option<usize>,
    /// What differs, in a few words (`connect a: session present`).
    pub summary: String,
    pub expected: String,
    pub observed: String,
    /// The delivery invariant the run broke, when that is the failure.
    pub invariant: Option<&'static str>,
}

impl Failure {
    /// A failure of the run as a whole, not of one step.
    pub fn of_run(summary: impl Into<String>, expected: impl Into<String>, observed: impl Into<String>) -> Failure {
        let (summary, expected, observed) = (summary.into(), expected.into(), observed.into());
        Failure { step: None, line: None, summary, expected, observed, invariant: None }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.expected.is_empty() && self.observed.is_empty() {
            return write!(f, "{}", self.summary);
        }
        if self.expected.contains('\n') || self.observed.contains('\n') {
            let block = |text: &str| text.trim_end().lines().map(|l| format!("  {l}\n")).collect::<String>();
            return write!(f, "{}:\n{}expected:\n{}", self.summary, block(&self.observed), block(&self.expected));
        }
        write!(f, "{}: expected {}, got {}", self.summary, self.expected, self.observed)
    }
}

/// A step's failure before its position is known: what, expected, observed.
type Difference = Option<(String, String, String)>;

/// Runs the scenario's steps in order on `net`, marking each in the trace; returns the first
/// step that did not go as the scenario says. `Err` when the network itself failed.
pub async fn run_steps<N: Network>(net: &mut N, scenario: &Scenario) -> Result<Option<Failure>, NetworkError> {
    for (i, step) in scenario.steps.iter().enumerate() {
        let marker = format!("#{} {}", i + 1, describe(step));
        net.note(|ms| TraceEvent::Step { ms, step: marker });
        if let Some((summary, expected, observed)) = execute(net, scenario, step).await? {
            let line = scenario.step_lines.get(i).copied();
            return Ok(Some(Failure { step: Some(i), line, summary, expected, observed, invariant: None }));
        }
    }
    Ok(None)
}

/// The delivery invariants a finished trace breaks, as one failure; `client_side` keeps only
/// those a trace of the clients alone can judge (a real broker's run: `invariants::BROKER_SIDE`
/// need the broker's own events).
pub fn broken_invariants(events: &[TraceEvent], client_side: bool) -> Option<Failure> {
    let violations: Vec<_> = invariants::check(events)
        .into_iter()
        .filter(|v| !client_side || !invariants::BROKER_SIDE.contains(&v.invariant))
        .collect();
    let first = violations.first()?;
    let mut summary = format!("invariant `{}` violated: {}", first.invariant, first.message);
    if violations.len() > 1 {
        summary.push_str(&format!(" (and {} more)", violations.len() - 1));
    }
    let (mut expected, mut observed) = (String::new(), String::new());
    for v in &violations {
        expected.push_str(&format!("{}: {}\n", v.invariant, invariants::rule(v.invariant).unwrap_or_default()));
        observed.push_str(&format!("{v}\n"));
        for &line in &v.lines {
            observed.push_str(&format!("  {}\n", events[line]));
        }
    }
    Some(Failure { invariant: Some(first.invariant), ..Failure::of_run(summary, expected, observed) })
}

/// Drives a future that never waits on anything outside itself (a run on the simulated network,
/// which steps its own clock) to completion without a runtime. Panics if it would wait: that
/// would be a network that is not simulated, driven the wrong way.
pub fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a simulated run waited on something outside the simulation"),
    }
}

/// A one-line description of a step for the trace.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Publish(p) => format!(
            "publish {} {:?} q{}{}{}",
            p.client,
            p.topic.0,
            p.qos.0.as_u8(),
            if p.retain { " retain" } else { "" },
            if p.repeat > 1 { format!(" x{}", p.repeat) } else { String::new() }
        ),
        Step::Wait(d) => format!("wait {} ms", d.0.as_millis()),
        other => match other.client() {
            Some(c) => format!("{} {c}", other.keyword()),
            None => other.keyword().to_owned(),
        },
    }
}

/// Compares a command's outcome with the expected one.
fn judge<T: fmt::Debug>(what: &str, got: &Outcome<T>, want: ExpectedOutcome) -> Difference {
    let ok = matches!(
        (got, want),
        (_, ExpectedOutcome::Any)
            | (Outcome::Done(_), ExpectedOutcome::Done)
            | (Outcome::Pending, ExpectedOutcome::Pending)
            | (Outcome::Failed(_), ExpectedOutcome::Failed)
    );
    (!ok).then(|| (what.to_owned(), format!("{want:?}"), format!("{got:?}")))
}

/// The options a connect step asks for, with the network's names and credentials.
fn connect_options<N: Network>(net: &N, scenario: &Scenario, c: &ConnectStep) -> ClientOptions {
    let spec = &scenario.clients[&c.client];
    let (username, password) = match &spec.username {
        Some(u) => (Some(u.clone()), spec.password.clone()),
        None => net.credentials(),
    };
    ClientOptions {
        client_id: net.client_id(spec.client_id.as_deref().unwrap_or(&c.client)),
        clean_session: c.clean_session.unwrap_or(spec.clean_session),
        keep_alive: spec.keep_alive,
        will: spec.will.as_ref().map(|w| LastWill {
            topic: net.topic(&w.topic.0),
            message: Bytes::from(w.payload.clone()),
            qos: w.qos.0,
            retain: w.retain,
        }),
        username,
        password: password.map(Bytes::from),
        max_inflight: spec.max_inflight,
        // The network's to give (`Network::client_options`).
        #[cfg(feature = "mutants")]
        mutant: None,
    }
}

/// Runs one step; `Some((what, expected, observed))` when it did not go as the scenario says.
async fn execute<N: Network>(net: &mut N, scenario: &Scenario, step: &Step) -> Result<Difference, NetworkError> {
    Ok(match step {
        Step::Connect(c) => {
            let options = net.client_options(connect_options(net, scenario, c));
            let checked = !scenario.clients[&c.client].break_client_rules;
            let got = net.command(&c.client, |reply| Command::Connect { options, checked, reply }).await?;
            if let Some(rc) = c.refused {
                let seen = net.record(&c.client)?.connacks.last().copied();
                match seen {
                    Some(ConnackSeen::Refused(code)) if code as u8 == rc => None,
                    other => Some((
                        format!("connect {}: the CONNACK", c.client),
                        format!("refused, return code {rc}"),
                        match other {
                            Some(seen) => format!("{} ({got:?})", connack_line(&seen)),
                            None => format!("no CONNACK ({got:?})"),
                        },
                    )),
                }
            } else if let (Some(want), Outcome::Done(sp)) = (c.session_present, &got) {
                (*sp != want).then(|| {
                    (
                        format!("connect {}: session present in CONNACK", c.client),
                        (want as u8).to_string(),
                        (*sp as u8).to_string(),
                    )
                })
            } else {
                judge(&format!("connect {}", c.client), &got, c.outcome.unwrap_or_default())
            }
        }
        Step::Subscribe(s) => {
            let filters: Vec<SubscribeFilter> = match (&s.topic, s.qos) {
                (Some(t), Some(q)) => vec![SubscribeFilter { filter: net.topic(&t.0), qos: q.0 }],
                _ => {
                    s.topics.iter().map(|f| SubscribeFilter { filter: net.topic(&f.filter.0), qos: f.qos.0 }).collect()
                }
            };
            let got = net.command(&s.client, |reply| Command::Subscribe { filters, reply }).await?;
            judge(&format!("subscribe {}", s.client), &got, s.outcome)
        }
        Step::Unsubscribe(u) => {
            let filters: Vec<String> = match &u.topic {
                Some(t) => vec![net.topic(&t.0)],
                None => u.topics.iter().map(|t| net.topic(&t.0)).collect(),
            };
            let got = net.command(&u.client, |reply| Command::Unsubscribe { filters, reply }).await?;
            judge(&format!("unsubscribe {}", u.client), &got, u.outcome)
        }
        Step::Publish(p) => {
            let topic = net.topic(&p.topic.0);
            for n in 1..=p.repeat {
                let payload = Bytes::from(p.payload.replace("{n}", &n.to_string()));
                let (qos, retain, topic) = (p.qos.0, p.retain, topic.clone());
                if p.no_wait {
                    let (reply, _ignored) = tokio::sync::oneshot::channel();
                    net.send(&p.client, Command::Publish { topic, payload, qos, retain, reply })?;
                    continue;
                }
                let got =
                    net.command(&p.client, |reply| Command::Publish { topic, payload, qos, retain, reply }).await?;
                if let Some(d) = judge(&format!("publish {} #{n}", p.client), &got, p.outcome) {
                    return Ok(Some(d));
                }
            }
            None
        }
        Step::Disconnect(c) => {
            let got = net.command(&c.client, |reply| Command::Disconnect { reply }).await?;
            judge(&format!("disconnect {}", c.client), &got, ExpectedOutcome::Done)
        }
        Step::LoseConnection(c) => {
            let fault = Fault::LoseConnection { client: c.client.clone() };
            net.note(|ms| TraceEvent::Fault { ms, fault });
            let got = net.command(&c.client, |reply| Command::Drop { reply }).await?;
            judge(&format!("lose_connection {}", c.client), &got, ExpectedOutcome::Done)
        }
        Step::Partition(p) => fault(net, Fault::Partition { client: p.client.clone(), direction: p.direction }).await?,
        Step::Heal(c) => fault(net, Fault::Heal { client: c.client.clone() }).await?,
        Step::Hold(c) => fault(net, Fault::Hold { client: c.client.clone() }).await?,
        Step::Release(c) => fault(net, Fault::Release { client: c.client.clone() }).await?,
        Step::Latency(l) => {
            fault(net, Fault::Latency { client: l.client.clone(), ms: l.latency.0.as_millis() as u64 }).await?
        }
        Step::PacketLoss(l) => fault(net, Fault::PacketLoss { client: l.client.clone(), rate: l.rate }).await?,
        Step::CrashBroker => fault(net, Fault::CrashBroker).await?,
        Step::RestartBroker => fault(net, Fault::RestartBroker).await?,
        Step::CrashClient(c) => fault(net, Fault::CrashClient { client: c.client.clone() }).await?,
        Step::RestartClient(c) => fault(net, Fault::RestartClient { client: c.client.clone() }).await?,
        Step::Wait(d) => {
            net.sleep(d.0).await?;
            None
        }
        Step::Expect(e) => {
            // Looked at again within the network's grace while it does not hold.
            let mut waited = Duration::ZERO;
            loop {
                let found = check_expect(net, e).await?;
                if found.is_none() || waited >= net.grace() {
                    break found;
                }
                net.sleep(RECHECK).await?;
                waited += RECHECK;
            }
        }
    })
}

/// Injects a fault; a fault step has no outcome to judge.
async fn fault<N: Network>(net: &mut N, fault: Fault) -> Result<Difference, NetworkError> {
    net.fault(fault).await?;
    Ok(None)
}

/// What a client received and what a `received` clause expects, as `received` compares them:
/// stream by stream (see `harness::received`), DUP only where the scenario states it. The
/// expected side never borrows anything from what was observed.
fn received_lists(record: &super::ClientRecord, expected: &[ExpectedMessage]) -> (Vec<Received>, Vec<Received>) {
    let got = record
        .messages
        .iter()
        .map(|(_, m)| Received::new(&m.topic, &m.payload, m.qos.as_u8(), m.retain, Some(m.dup)))
        .collect();
    let want = expected
        .iter()
        .map(|m| Received::new(&m.topic, m.payload.as_bytes(), m.qos.0.as_u8(), m.retain, m.dup))
        .collect();
    (got, want)
}

/// The first clause of an `expect` step that does not hold now. Clauses about the broker's state
/// are judged only where the network can see it.
async fn check_expect<N: Network>(net: &mut N, e: &Expect) -> Result<Difference, NetworkError> {
    for (client, expected) in &e.received {
        let (got, want) = received_lists(&net.record(client)?, expected);
        if !same_per_stream(&want, &got) {
            let shown = |list: &[Received]| lines(&list.iter().map(Received::shown).collect::<Vec<_>>());
            return Ok(Some((format!("{client} received"), shown(&want), shown(&got))));
        }
    }
    for (client, &n) in &e.received_count {
        let got = net.record(client)?.messages.len();
        if got != n {
            return Ok(Some((format!("{client}'s number of received messages"), n.to_string(), got.to_string())));
        }
    }
    let needs_broker = !(e.queued.is_empty() && e.inflight.is_empty() && e.drops.is_empty() && e.sessions.is_empty())
        || e.retained.is_some();
    if !needs_broker {
        return Ok(None);
    }
    Ok(match net.broker().await? {
        BrokerState::Up(view) => check_broker(&view, e),
        BrokerState::Down => {
            Some(("the broker's state".into(), "a running broker".into(), "the broker is down".into()))
        }
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
            return Some((format!("session {id:?}"), format!("{state:?}"), format!("{got:?}")));
        }
    }
    for (id, &n) in &e.queued {
        let got = view.session(id).map_or(0, |s| s.queued.len());
        if got != n {
            return Some((format!("session {id:?}'s queued messages"), n.to_string(), got.to_string()));
        }
    }
    for (id, &n) in &e.inflight {
        let got = view.session(id).map_or(0, |s| s.inflight_out.len());
        if got != n {
            return Some((format!("session {id:?}'s inflight messages"), n.to_string(), got.to_string()));
        }
    }
    for (id, expected) in &e.drops {
        let got = view.session(id).map(|s| s.drops.clone()).unwrap_or_default();
        let want: std::collections::BTreeMap<_, _> =
            expected.iter().filter(|(_, n)| **n > 0).map(|(r, n)| (r.reason(), *n)).collect();
        if got != want {
            return Some((format!("session {id:?}'s drops"), format!("{want:?}"), format!("{got:?}")));
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
            return Some(("the retained store".into(), lines(&want), lines(&got)));
        }
    }
    None
}

/// Message lines as a block, one per line.
fn lines(v: &[String]) -> String {
    if v.is_empty() {
        return "(nothing)\n".into();
    }
    v.iter().map(|l| format!("{l}\n")).collect()
}
