//! The scenario executor: what each step means and how each expectation is judged, written once
//! for every network. It drives a [`Network`] step by step (a client command and the outcome the
//! step expects, a wait, a fault, an `expect`), and judges a finished trace against the delivery
//! invariants. Each difference names the normative statements its check observes (`statements`).
//! An `expect` that does not hold, or a CONNACK whose session present flag differs, is recorded
//! and the run goes on, since later checks do not depend on it; a command that does not end as
//! the step says ends the run, since what follows depends on it.
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
use super::network::{Network, NetworkError};
use super::Outcome;
use crate::client::ClientOptions;
use crate::harness::snapshot::connack_line;
use crate::invariants;
use crate::protocol::{LastWill, Properties, Property, ReasonCode, SubscribeFilter};
use crate::scenario::model::{ConnectStep, ExpectedOutcome, Scenario, Step};
use crate::scenario::scripted::Acks;
use crate::scenario::values::{normative_ids, Refusal};
use crate::scenario::wire::Bindings;
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
    /// The normative statements the failing check observes: the step's own `spec:`, the
    /// statement its kind of check stands for, or else the scenario's list.
    pub spec: Vec<String>,
    /// The delivery invariant the run broke, when that is the failure.
    pub invariant: Option<&'static str>,
    /// Differences the run found after this one, in checks that did not depend on it.
    pub also: Vec<Failure>,
}

impl Failure {
    /// A failure of the run as a whole, not of one step.
    pub fn of_run(summary: impl Into<String>, expected: impl Into<String>, observed: impl Into<String>) -> Failure {
        let (summary, expected, observed) = (summary.into(), expected.into(), observed.into());
        Failure { step: None, line: None, summary, expected, observed, spec: vec![], invariant: None, also: vec![] }
    }

    /// The same failure, reported under `spec`.
    pub fn under(self, spec: &[String]) -> Failure {
        Failure { spec: spec.to_vec(), ..self }
    }

    /// The first of `failures`, carrying the others in `also`; `None` if there are none.
    pub fn first_of(failures: Vec<Failure>) -> Option<Failure> {
        let mut failures = failures.into_iter();
        let mut first = failures.next()?;
        first.also.extend(failures);
        Some(first)
    }

    /// This failure and those after it, in order.
    pub fn all(&self) -> impl Iterator<Item = &Failure> {
        std::iter::once(self).chain(self.also.iter())
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

/// A step that did not go as the scenario says, before its position is known.
pub(super) struct Differs {
    /// What differs, in a few words.
    what: String,
    expected: String,
    observed: String,
    /// The statements this kind of check stands for; empty: the step's or the scenario's.
    spec: Vec<&'static str>,
    /// Whether the run can go on after it: later steps do not depend on what differs (an
    /// observation, or a flag of a command that otherwise completed).
    goes_on: bool,
}

pub(super) type Difference = Option<Differs>;

pub(super) fn differs(what: impl Into<String>, expected: impl Into<String>, observed: impl Into<String>) -> Differs {
    Differs { what: what.into(), expected: expected.into(), observed: observed.into(), spec: vec![], goes_on: false }
}

impl Differs {
    pub(super) fn under(self, spec: &[&'static str]) -> Differs {
        Differs { spec: spec.to_vec(), ..self }
    }

    /// The same difference, after which the run goes on.
    fn going_on(self) -> Differs {
        Differs { goes_on: true, ..self }
    }
}

/// Runs the scenario's steps in order on `net`, marking each in the trace; returns every step
/// that did not go as the scenario says, in order. An `expect` that does not hold does not end
/// the run; a command that does not end as stated does. `Err` when the network itself failed.
pub async fn run_steps<N: Network>(net: &mut N, scenario: &Scenario) -> Result<Vec<Failure>, NetworkError> {
    let mut failures = Vec::new();
    let mut run = RunState::default();
    for (i, step) in scenario.steps.iter().enumerate() {
        let marker = format!("#{} {}", i + 1, describe(step));
        net.note(|ms| TraceEvent::Step { ms, step: marker });
        let found = execute(net, scenario, i, step, &mut run).await?;
        failures.extend(run.failed_no_wait(scenario));
        let Some(d) = found else { continue };
        let spec = statements(scenario, step, &d);
        let goes_on = d.goes_on || matches!(step, Step::Expect(_));
        let line = scenario.step_lines.get(i).copied();
        failures.push(Failure {
            step: Some(i),
            line,
            summary: d.what,
            expected: d.expected,
            observed: d.observed,
            spec,
            invariant: None,
            also: vec![],
        });
        if !goes_on {
            break;
        }
    }
    failures.extend(run.failed_no_wait(scenario));
    Ok(failures)
}

/// What a run carries from step to step.
#[derive(Default)]
struct RunState {
    /// Packet ids bound by `wire:` variables, for the rest of the run.
    bound: Bindings,
    /// `no_wait` publications not yet known to have gone out or failed.
    no_wait: Vec<NoWait>,
}

/// A `no_wait` publication: step `step`'s `n`th, whose reply comes whenever it comes.
struct NoWait {
    step: usize,
    n: u32,
    client: String,
    want: ExpectedOutcome,
    reply: tokio::sync::oneshot::Receiver<Result<(), String>>,
}

impl RunState {
    /// The `no_wait` publications that failed since last asked, each a failure of its step
    /// unless the step's `outcome` allows it: fire and forget must not mean lost unseen. (One
    /// still on its way, or cut short by a crash of its client, is not judged.)
    fn failed_no_wait(&mut self, scenario: &Scenario) -> Vec<Failure> {
        let mut failed = Vec::new();
        self.no_wait.retain_mut(|p| match p.reply.try_recv() {
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => true,
            Ok(Err(error)) if matches!(p.want, ExpectedOutcome::Done | ExpectedOutcome::Pending) => {
                failed.push(Failure {
                    step: Some(p.step),
                    line: scenario.step_lines.get(p.step).copied(),
                    summary: format!("publish {} #{} (no_wait)", p.client, p.n),
                    expected: "the publication goes out".into(),
                    observed: format!("it failed: {error}"),
                    spec: statements(scenario, &scenario.steps[p.step], &differs("", "", "")),
                    invariant: None,
                    also: vec![],
                });
                false
            }
            _ => false,
        });
        failed
    }
}

/// The statements a difference is reported under: the one its kind of difference stands for
/// (a missing acknowledgement, the session present flag, DUP alone), else the `expect` step's
/// own `spec:`, else the scenario's list.
fn statements(scenario: &Scenario, step: &Step, d: &Differs) -> Vec<String> {
    match step {
        _ if !d.spec.is_empty() => d.spec.iter().map(|s| (*s).to_owned()).collect(),
        Step::Expect(e) if !e.spec.is_empty() => e.spec.iter().map(|s| s.0.clone()).collect(),
        _ => scenario.spec.iter().map(|s| s.0.clone()).collect(),
    }
}

/// The delivery invariants a finished trace breaks, one failure per invariant; `client_side` keeps only
/// those a trace of the clients alone can judge (a real broker's run: `invariants::BROKER_SIDE`
/// need the broker's own events).
pub fn broken_invariants(events: &[TraceEvent], client_side: bool) -> Vec<Failure> {
    let violations: Vec<_> = invariants::check(events)
        .into_iter()
        .filter(|v| !client_side || !invariants::BROKER_SIDE.contains(&v.invariant))
        .collect();
    // One failure per invariant, under the statement its first violation names or its rule's.
    let mut failures: Vec<Failure> = Vec::new();
    for v in &violations {
        let mut observed = format!("{v}\n");
        for &line in &v.lines {
            observed.push_str(&format!("  {}\n", events[line]));
        }
        if let Some(f) = failures.iter_mut().find(|f| f.invariant == Some(v.invariant)) {
            f.observed.push_str(&observed);
            continue;
        }
        let rule = invariants::rule(v.invariant).unwrap_or_default();
        let summary = format!("invariant `{}` violated: {}", v.invariant, v.message);
        let failure = Failure::of_run(summary, format!("{}: {rule}\n", v.invariant), observed);
        // The statement the violation itself names, where it names one, else the rule's.
        let named = cited_ids(&v.message);
        let spec = if named.is_empty() { cited_ids(rule) } else { named };
        failures.push(Failure { invariant: Some(v.invariant), ..failure.under(&spec) });
    }
    failures
}

/// The `[MQTT-x]` statements a rule's text cites, in order.
pub fn cited_ids(text: &str) -> Vec<String> {
    text.split('[')
        .skip(1)
        .filter_map(|part| part.split_once(']').map(|(id, _)| id))
        .filter(|id| id.starts_with("MQTT-"))
        .map(str::to_owned)
        .collect()
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

/// What a command waits for from the broker, and the statement that requires the broker to send
/// it: `("UNSUBACK", "MQTT-3.10.4-4")`.
type Awaited = (&'static str, &'static str);

/// Compares a command's outcome with the expected one. A command still pending after the
/// network's timeout is reported as the acknowledgement that did not come, under the statement
/// that requires it.
pub(super) fn judge<T: fmt::Debug>(
    what: &str,
    got: &Outcome<T>,
    want: ExpectedOutcome,
    awaited: Awaited,
    within: Duration,
) -> Difference {
    let ok = matches!(
        (got, want),
        (_, ExpectedOutcome::Any)
            | (Outcome::Done(_), ExpectedOutcome::Done)
            | (Outcome::Pending, ExpectedOutcome::Pending)
            | (Outcome::Failed(_), ExpectedOutcome::Failed)
    );
    if ok {
        return None;
    }
    let (ack, statement) = awaited;
    let expected = match want {
        ExpectedOutcome::Done => format!("{ack} (the command completes)"),
        ExpectedOutcome::Pending => format!("no {ack} within {} s (the command stays pending)", within.as_secs()),
        ExpectedOutcome::Failed => "the command fails".to_owned(),
        ExpectedOutcome::Any => unreachable!("any outcome is accepted"),
    };
    let observed = match got {
        Outcome::Pending => format!("no {ack} within {} s", within.as_secs()),
        Outcome::Done(_) => format!("{ack} received: the command completed"),
        Outcome::Failed(e) => format!("the command failed: {e}"),
    };
    let d = differs(what, expected, observed);
    // Only a missing acknowledgement is the broker's breach of the statement that requires it.
    Some(if matches!(got, Outcome::Pending) && !statement.is_empty() { d.under(&[statement]) } else { d })
}

/// A command's outcome in words, for a difference about something else.
fn outcome_text<T: fmt::Debug>(got: &Outcome<T>, ack: &str, within: Duration) -> String {
    match got {
        Outcome::Pending => format!("no {ack} within {} s", within.as_secs()),
        Outcome::Done(v) => format!("done: {v:?}"),
        Outcome::Failed(e) => format!("failed: {e}"),
    }
}

/// Judges a `connect` that must be refused: with the expected CONNACK return code, or with `any`
/// refusal the spec allows (a code from 1 to 5 [MQTT-3.2.2-5], or a close without CONNACK
/// [MQTT-3.2.2-6]). `seen` is the CONNACK of this connect, `unreadable` why the client could not
/// read what the broker answered; a reserved return code is blamed on [MQTT-3.2.2-6], which its
/// error cites.
fn judge_refusal(
    client: &str,
    want: Refusal,
    seen: Option<ConnackSeen>,
    unreadable: Option<String>,
    got: &Outcome<bool>,
    within: Duration,
) -> Difference {
    let holds = match (want, seen) {
        (Refusal::Code(rc), Some(ConnackSeen::Refused(code))) => code.raw() == rc,
        (Refusal::Any, Some(ConnackSeen::Refused(_))) => true,
        (Refusal::Any, None) => matches!(got, Outcome::Failed(_)) && unreadable.is_none(),
        (_, _) => false,
    };
    if holds {
        return None;
    }
    let expected = match want {
        Refusal::Code(rc) if rc >= 0x80 => {
            format!("refused, reason code {} {}", ReasonCode(rc), ReasonCode(rc).name())
        }
        Refusal::Code(rc) => format!("refused, return code {rc}"),
        Refusal::Any => "refused: a CONNACK with a return code from 1 to 5, or closed without CONNACK".to_owned(),
    };
    let outcome = outcome_text(got, "CONNACK", within);
    let observed = match (seen, &unreadable) {
        (Some(seen), _) => format!("{} ({outcome})", connack_line(&seen)),
        (None, Some(error)) => format!("an answer the client could not read: {error} ({outcome})"),
        (None, None) => format!("no CONNACK ({outcome})"),
    };
    let cited = unreadable.map(|e| cited_ids(&e)).unwrap_or_default();
    let spec: Vec<&'static str> =
        normative_ids().map(|(id, _, _)| id).filter(|id| cited.iter().any(|c| c == id)).collect();
    Some(differs(format!("connect {client}: the CONNACK"), expected, observed).under(&spec))
}

/// What a QoS 1 or 2 publication waits for.
fn publish_awaits(qos: u8) -> Awaited {
    match qos {
        1 => ("PUBACK", "MQTT-4.3.2-2"),
        _ => ("PUBREC and PUBCOMP", "MQTT-4.3.3-2"),
    }
}

/// The options a connect step asks for, with the network's names and credentials.
pub(super) fn connect_options<N: Network>(net: &N, scenario: &Scenario, c: &ConnectStep) -> ClientOptions {
    let spec = &scenario.clients[&c.client];
    let (username, password) = match &spec.username {
        Some(u) => (Some(u.clone()), spec.password.clone()),
        None => net.credentials(),
    };
    let will = spec.will.as_ref().map(|w| {
        let mut will = LastWill::new(net.topic(&w.topic.0), Bytes::from(w.payload.clone()), w.qos.0, w.retain);
        will.properties.0.extend(w.delay.map(Property::WillDelayInterval));
        will.properties.0.extend(w.message_expiry.map(Property::MessageExpiryInterval));
        will
    });
    ClientOptions {
        client_id: net.client_id(spec.client_id.as_deref().unwrap_or(&c.client)),
        version: spec.protocol.version(),
        clean_session: c.clean_session.unwrap_or(spec.clean_session),
        keep_alive: spec.keep_alive,
        will,
        username,
        password: password.map(Bytes::from),
        max_inflight: spec.max_inflight,
        manual_acks: spec.acks == Acks::Manual,
        session_expiry: c.session_expiry.or(spec.session_expiry).unwrap_or(0),
        receive_maximum: spec.receive_maximum,
        maximum_packet_size: spec.maximum_packet_size,
        topic_alias_maximum: spec.topic_alias_maximum.unwrap_or(0),
        user_properties: spec.user_properties.clone(),
        // The mutant is the network's to give (`Network::client_options`).
        ..ClientOptions::new(String::new(), true)
    }
}

/// Runs one step; `Some` when it did not go as the scenario says.
async fn execute<N: Network>(
    net: &mut N,
    scenario: &Scenario,
    index: usize,
    step: &Step,
    run: &mut RunState,
) -> Result<Difference, NetworkError> {
    let within = net.command_timeout();
    Ok(match step {
        Step::Connect(c) => {
            let options = net.client_options(connect_options(net, scenario, c));
            let clean = options.clean_session;
            let checked = !scenario.clients[&c.client].break_client_rules;
            let (connacks_before, trace_before) = (net.record(&c.client)?.connacks.len(), net.trace().len());
            let got = net.command(&c.client, |reply| Command::Connect { options, checked, reply }).await?;
            if let Some(want) = c.refused {
                let seen = net.record(&c.client)?.connacks.get(connacks_before..).and_then(|s| s.last().copied());
                let unreadable = net.trace().events()[trace_before..].iter().find_map(|e| match e {
                    TraceEvent::Malformed { host, peer, error, .. } if *host == c.client || *peer == c.client => {
                        Some(error.clone())
                    }
                    _ => None,
                });
                judge_refusal(&c.client, want, seen, unreadable, &got, within)
            } else if let (Some(want), Outcome::Done(sp)) = (c.session_present, &got) {
                // Which rule sets the flag: clean session 1 [MQTT-3.2.2-1], a resumed session
                // [MQTT-3.2.2-2], no stored session [MQTT-3.2.2-3].
                let rule = match (clean, want) {
                    (true, _) => "MQTT-3.2.2-1",
                    (false, true) => "MQTT-3.2.2-2",
                    (false, false) => "MQTT-3.2.2-3",
                };
                (*sp != want).then(|| {
                    differs(
                        format!("connect {}: session present in CONNACK", c.client),
                        (want as u8).to_string(),
                        (*sp as u8).to_string(),
                    )
                    .under(&[rule])
                    // The connection is up either way: what follows does not depend on the flag.
                    .going_on()
                })
            } else {
                let want = c.outcome.unwrap_or_default();
                judge(&format!("connect {}", c.client), &got, want, ("CONNACK", "MQTT-3.2.0-1"), within)
            }
        }
        Step::Subscribe(s) => {
            let filters: Vec<SubscribeFilter> = match (&s.topic, s.qos) {
                (Some(t), Some(q)) => vec![s.options().apply(net.topic(&t.0), q.0)],
                _ => s.topics.iter().map(|f| f.options().apply(net.topic(&f.filter.0), f.qos.0)).collect(),
            };
            let mut properties = Properties::new();
            properties.0.extend(s.subscription_identifier.map(Property::SubscriptionIdentifier));
            let got = net.command(&s.client, |reply| Command::Subscribe { filters, properties, reply }).await?;
            judge(&format!("subscribe {}", s.client), &got, s.outcome, ("SUBACK", "MQTT-3.8.4-1"), within)
        }
        Step::Unsubscribe(u) => {
            let filters: Vec<String> = match &u.topic {
                Some(t) => vec![net.topic(&t.0)],
                None => u.topics.iter().map(|t| net.topic(&t.0)).collect(),
            };
            // An UNSUBACK is owed even when no filter matches a subscription [MQTT-3.10.4-5].
            let subscribed = super::expect::subscribed_filters(scenario, &u.client, index);
            let deletes = u.topic.iter().chain(&u.topics).any(|t| subscribed.iter().any(|(f, _)| *f == t.0));
            let statement = if deletes { "MQTT-3.10.4-4" } else { "MQTT-3.10.4-5" };
            let got = net.command(&u.client, |reply| Command::Unsubscribe { filters, reply }).await?;
            judge(&format!("unsubscribe {}", u.client), &got, u.outcome, ("UNSUBACK", statement), within)
        }
        Step::Publish(p) => {
            let topic = net.topic(&p.topic.0);
            for n in p.numbers() {
                let payload = Bytes::from(p.payload.replace("{n}", &n.to_string()));
                let (qos, retain, topic, properties) = (p.qos.0, p.retain, topic.clone(), p.properties());
                if p.no_wait {
                    let (reply, rx) = tokio::sync::oneshot::channel();
                    let handed_over = true;
                    let command = Command::Publish { topic, payload, qos, retain, properties, handed_over, reply };
                    net.send(&p.client, command)?;
                    let want = p.outcome;
                    run.no_wait.push(NoWait { step: index, n, client: p.client.clone(), want, reply: rx });
                    continue;
                }
                let got = net
                    .command(&p.client, |reply| Command::Publish {
                        topic,
                        payload,
                        qos,
                        retain,
                        properties,
                        handed_over: false,
                        reply,
                    })
                    .await?;
                let awaited = publish_awaits(qos.as_u8());
                if let Some(d) = judge(&format!("publish {} #{n}", p.client), &got, p.outcome, awaited, within) {
                    return Ok(Some(d));
                }
            }
            None
        }
        Step::Disconnect(c) => {
            // In 5.0 with a reason code and a new Session Expiry Interval (section 3.14.2).
            let with = c.is_v5().then(|| {
                let mut properties = Properties::new();
                properties.0.extend(c.session_expiry.map(Property::SessionExpiryInterval));
                (ReasonCode(c.reason.unwrap_or(0)), properties)
            });
            let got = net.command(&c.client, |reply| Command::Disconnect { with, reply }).await?;
            judge(&format!("disconnect {}", c.client), &got, ExpectedOutcome::Done, ("the close", ""), within)
        }
        Step::LoseConnection(c) => {
            let fault = Fault::LoseConnection { client: c.client.clone() };
            net.note(|ms| TraceEvent::Fault { ms, fault });
            let got = net.command(&c.client, |reply| Command::Drop { reply }).await?;
            judge(&format!("lose_connection {}", c.client), &got, ExpectedOutcome::Done, ("the close", ""), within)
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
        Step::Ack(_) | Step::Send(_) | Step::StopPinging(_) => {
            super::scripted::execute(net, scenario, step, &run.bound, within).await.expect("a scripted step")?
        }
        Step::Expect(e) => {
            // Looked at again within the network's grace while it does not hold; it holds if
            // it held at any moment from now to the end of the grace.
            let mut waited = Duration::ZERO;
            let start = super::expect::received_so_far(net, e)?;
            loop {
                let found = super::expect::check_expect(net, scenario, index, e, &start, &mut run.bound).await?;
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
