//! Running one applicable scenario against a real broker, in real time: the steps in order as
//! `scenario::runner` runs them in simulation (each command waits for its reply, or is reported
//! pending after `COMMAND_TIMEOUT`), the `received` and `received_count` expectations checked
//! (with a short grace for late messages), then a settling second, the clients' view compared
//! with the recorded snapshot, and the broker cleaned of the run's sessions and retained messages;
//! last, the delivery invariants of `check` that a client-side trace can judge. The first
//! difference ends the run. It judges what it observes; what applies is `applicable`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::host::Host;
use super::names::Namespace;
use super::recorded::{self, Recorded};
use super::target::Target;
use crate::client::ClientOptions;
use crate::net::{Client, TcpConnector};
use crate::protocol::{LastWill, QoS, SubscribeFilter};
use crate::scenario::model::{ConnectStep, Expect, ExpectedOutcome, Scenario, Step};
use crate::scenario::runner::{describe, SETTLE};
use crate::scenario::snapshot::{received_line, ClientSnapshot};
use crate::sim::agent::Command;
use crate::sim::{ConnackSeen, Outcome, Trace, TraceEvent};

/// Real time a command may take before it is reported pending (the simulation allows 30 s of
/// simulated time; a broker on a working network answers in milliseconds).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an expectation that does not hold yet is watched for late messages before it counts
/// as a difference. Real networks and busy machines are slower than the scenario's waits assume;
/// an expectation that holds is not waited for.
pub const GRACE: Duration = Duration::from_secs(2);

/// A difference between what the scenario expects and what the broker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// 0-based step, or `None` for the comparison with the recorded snapshot after the steps.
    pub step: Option<usize>,
    /// The step's line in the file.
    pub line: Option<usize>,
    /// What differs, in a few words.
    pub summary: String,
    pub expected: String,
    pub observed: String,
}

/// What one run observed.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub deviation: Option<Deviation>,
    /// Each client's CONNACKs and received messages at the end, namespace stripped.
    pub clients: BTreeMap<String, ClientSnapshot>,
    /// The run's trace, namespace stripped.
    pub trace: Vec<TraceEvent>,
    pub elapsed: Duration,
}

/// One run's clients and names.
struct Run<'a> {
    scenario: &'a Scenario,
    target: &'a Target,
    namespace: Arc<Namespace>,
    trace: Trace,
    hosts: BTreeMap<String, Host>,
}

/// Runs `scenario` against `target` in `namespace`; `recorded` is its stored snapshot, compared
/// when given.
pub async fn run(scenario: &Scenario, target: &Target, namespace: Namespace, recorded: Option<&Recorded>) -> RunOutput {
    let started = Instant::now();
    let namespace = Arc::new(namespace);
    let trace = Trace::real_time();
    let hosts = scenario
        .clients
        .keys()
        .map(|name| (name.clone(), Host::start(name, &target.addr, &trace, namespace.clone())))
        .collect();
    let mut run = Run { scenario, target, namespace, trace, hosts };
    let mut deviation = None;
    for (i, step) in scenario.steps.iter().enumerate() {
        run.trace.push(TraceEvent::Step { ms: run.trace.now_ms(), step: format!("#{} {}", i + 1, describe(step)) });
        if let Some((summary, expected, observed)) = run.execute(step).await {
            deviation = Some(Deviation {
                step: Some(i),
                line: scenario.step_lines.get(i).copied(),
                summary,
                expected,
                observed,
            });
            break;
        }
    }
    if deviation.is_none() {
        let step = format!("settle {} ms, then compare with the recorded snapshot", SETTLE.as_millis());
        run.trace.push(TraceEvent::Step { ms: run.trace.now_ms(), step });
        tokio::time::sleep(SETTLE).await;
        if let Some(recorded) = recorded {
            if let Some((expected, observed)) = eventually(|| recorded::differences(recorded, &run.observed())).await {
                deviation = Some(Deviation {
                    step: None,
                    line: None,
                    summary: "at the end, what the clients saw differs from the simulation's reviewed snapshot".into(),
                    expected,
                    observed,
                });
            }
        }
    }
    let clients = run.observed();
    let step = "end of the run: the clients disconnect".to_owned();
    run.trace.push(TraceEvent::Step { ms: run.trace.now_ms(), step });
    let Run { trace, hosts, namespace, .. } = run;
    for (_, host) in hosts {
        host.stop().await;
    }
    cleanup(scenario, target, &namespace).await;
    let trace: Vec<TraceEvent> = trace.events().into_iter().map(|e| strip(e, &namespace)).collect();
    let deviation = deviation.or_else(|| broken_invariant(&trace));
    RunOutput { deviation, clients, trace, elapsed: started.elapsed() }
}

/// The first delivery invariant the run broke, judged from what the clients sent and saw (as
/// every simulated run is), except those that need the broker's own events.
fn broken_invariant(trace: &[TraceEvent]) -> Option<Deviation> {
    let v = crate::check::check(trace).into_iter().find(|v| !crate::check::BROKER_SIDE.contains(&v.invariant))?;
    Some(Deviation {
        step: None,
        line: None,
        summary: format!("the run broke the invariant `{}` (trace lines {:?})", v.invariant, v.lines),
        expected: crate::check::rule(v.invariant).unwrap_or_default().to_owned(),
        observed: v.message,
    })
}

/// Polls `differs` until it reports nothing or `GRACE` has passed; returns its last report.
async fn eventually<T>(mut differs: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + GRACE;
    loop {
        let found = differs()?;
        if Instant::now() >= until {
            return Some(found);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Compares a command's outcome with the expected one, as `scenario::runner` does.
fn judge<T: std::fmt::Debug>(what: &str, got: &Outcome<T>, want: ExpectedOutcome) -> Option<(String, String, String)> {
    let ok = matches!(
        (got, want),
        (Outcome::Done(_), ExpectedOutcome::Done)
            | (Outcome::Pending, ExpectedOutcome::Pending)
            | (Outcome::Failed(_), ExpectedOutcome::Failed)
    );
    (!ok).then(|| (what.to_owned(), format!("{want:?}"), format!("{got:?}")))
}

/// A failed expectation: what, expected, observed.
type Difference = Option<(String, String, String)>;

impl Run<'_> {
    fn host(&self, client: &str) -> &Host {
        // `load` checked that every client a step names is declared, and each has a host.
        &self.hosts[client]
    }

    async fn command<T>(
        &self,
        client: &str,
        make: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Command,
    ) -> Outcome<T> {
        let (reply, rx) = oneshot::channel();
        if self.host(client).commands.send(make(reply)).is_err() {
            return Outcome::Failed("client host is not running".into());
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(Ok(v))) => Outcome::Done(v),
            Ok(Ok(Err(e))) => Outcome::Failed(e),
            Ok(Err(_)) => Outcome::Failed("client host stopped".into()),
            Err(_) => Outcome::Pending,
        }
    }

    fn observed(&self) -> BTreeMap<String, ClientSnapshot> {
        self.hosts
            .iter()
            .map(|(name, host)| {
                let r = host.record();
                let snapshot = ClientSnapshot {
                    connacks: r.connacks.iter().map(recorded::connack_line).collect(),
                    received: r.messages.iter().map(|(_, m)| received_line(m)).collect(),
                };
                (name.clone(), snapshot)
            })
            .collect()
    }

    fn connect_options(&self, c: &ConnectStep) -> ClientOptions {
        let spec = &self.scenario.clients[&c.client];
        let (username, password) = match &spec.username {
            Some(u) => (Some(u.clone()), spec.password.clone()),
            None => (self.target.username.clone(), self.target.password.clone()),
        };
        ClientOptions {
            client_id: self.namespace.client_id(spec.client_id.as_deref().unwrap_or(&c.client)),
            clean_session: c.clean_session.unwrap_or(spec.clean_session),
            keep_alive: spec.keep_alive,
            will: spec.will.as_ref().map(|w| LastWill {
                topic: self.namespace.topic(&w.topic.0),
                message: Bytes::from(w.payload.clone()),
                qos: w.qos.0,
                retain: w.retain,
            }),
            username,
            password: password.map(Bytes::from),
            max_inflight: spec.max_inflight,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }

    /// Runs one step; `Some((what, expected, observed))` when it did not go as the scenario says.
    async fn execute(&mut self, step: &Step) -> Difference {
        match step {
            Step::Connect(c) => {
                let options = self.connect_options(c);
                let checked = !self.scenario.clients[&c.client].break_client_rules;
                let got = self.command(&c.client, |reply| Command::Connect { options, checked, reply }).await;
                if let Some(rc) = c.refused {
                    let seen = self.host(&c.client).record().connacks.last().copied();
                    match seen {
                        Some(ConnackSeen::Refused(code)) if code as u8 == rc => None,
                        other => Some((
                            format!("connect {}: the CONNACK", c.client),
                            format!("refused with return code {rc}"),
                            match other {
                                Some(seen) => format!("{} ({got:?})", recorded::connack_line(&seen)),
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
                    (Some(t), Some(q)) => vec![SubscribeFilter { filter: t.0.clone(), qos: q.0 }],
                    _ => {
                        s.topics.iter().map(|f| SubscribeFilter { filter: f.filter.0.clone(), qos: f.qos.0 }).collect()
                    }
                };
                let filters = filters
                    .into_iter()
                    .map(|f| SubscribeFilter { filter: self.namespace.topic(&f.filter), qos: f.qos })
                    .collect();
                let got = self.command(&s.client, |reply| Command::Subscribe { filters, reply }).await;
                judge(&format!("subscribe {}", s.client), &got, s.outcome)
            }
            Step::Unsubscribe(u) => {
                let filters: Vec<String> = match &u.topic {
                    Some(t) => vec![self.namespace.topic(&t.0)],
                    None => u.topics.iter().map(|t| self.namespace.topic(&t.0)).collect(),
                };
                let got = self.command(&u.client, |reply| Command::Unsubscribe { filters, reply }).await;
                judge(&format!("unsubscribe {}", u.client), &got, u.outcome)
            }
            Step::Publish(p) => {
                let topic = self.namespace.topic(&p.topic.0);
                for n in 1..=p.repeat {
                    let payload = Bytes::from(p.payload.replace("{n}", &n.to_string()));
                    let (qos, retain, topic) = (p.qos.0, p.retain, topic.clone());
                    if p.no_wait {
                        let (reply, _ignored) = oneshot::channel();
                        let _ =
                            self.host(&p.client).commands.send(Command::Publish { topic, payload, qos, retain, reply });
                        continue;
                    }
                    let got =
                        self.command(&p.client, |reply| Command::Publish { topic, payload, qos, retain, reply }).await;
                    if let Some(d) = judge(&format!("publish {} #{n}", p.client), &got, p.outcome) {
                        return Some(d);
                    }
                }
                None
            }
            Step::Disconnect(c) => {
                let got = self.command(&c.client, |reply| Command::Disconnect { reply }).await;
                judge(&format!("disconnect {}", c.client), &got, ExpectedOutcome::Done)
            }
            Step::LoseConnection(c) => {
                let ms = self.trace.now_ms();
                self.trace.push(TraceEvent::Fault {
                    ms,
                    fault: format!("{} drops its connection without DISCONNECT", c.client),
                });
                let got = self.command(&c.client, |reply| Command::Drop { reply }).await;
                judge(&format!("lose_connection {}", c.client), &got, ExpectedOutcome::Done)
            }
            Step::Wait(d) => {
                tokio::time::sleep(d.0).await;
                None
            }
            Step::Expect(e) => {
                let check = || self.check(e);
                eventually(check).await
            }
            // `applicable::plan` keeps scenarios with these steps from running.
            other => Some((
                format!("{} cannot be performed on a real broker", other.keyword()),
                "a step mqtt-sim check can perform".into(),
                other.keyword().into(),
            )),
        }
    }

    /// The `received` and `received_count` clauses, as `scenario::expect` checks them; the broker
    /// state clauses are not observable and were reported as skipped.
    fn check(&self, e: &Expect) -> Difference {
        for (client, expected) in &e.received {
            let (got, want) = crate::scenario::expect::received_lines(&self.host(client).record(), expected);
            if got != want {
                return Some((format!("{client} received"), lines(&want), lines(&got)));
            }
        }
        for (client, &n) in &e.received_count {
            let got = self.host(client).record().messages.len();
            if got != n {
                return Some((format!("{client}'s number of received messages"), n.to_string(), got.to_string()));
            }
        }
        None
    }
}

fn lines(v: &[String]) -> String {
    if v.is_empty() {
        return "(nothing)\n".into();
    }
    v.iter().map(|l| format!("{l}\n")).collect()
}

/// Removes the run's namespace from a trace event, so charts read as the scenario does.
fn strip(event: TraceEvent, ns: &Namespace) -> TraceEvent {
    match event {
        TraceEvent::Send { ms, host, peer, packet } => {
            TraceEvent::Send { ms, host, peer, packet: ns.strip_text(&packet) }
        }
        TraceEvent::Recv { ms, host, peer, packet } => {
            TraceEvent::Recv { ms, host, peer, packet: ns.strip_text(&packet) }
        }
        TraceEvent::Client { ms, client, event } => TraceEvent::Client { ms, client, event: ns.strip_text(&event) },
        other => other,
    }
}

/// Leaves the broker as the run found it: every client id of the run connects once with clean
/// session 1, which discards a persistent session left behind (section 3.1.2.4), and every topic
/// the run retained a message on gets an empty retained message, which clears it
/// (section 3.3.1.3). Failures are ignored: the names are unique to the run anyway.
async fn cleanup(scenario: &Scenario, target: &Target, ns: &Namespace) {
    let options = |id: String| ClientOptions {
        username: target.username.clone(),
        password: target.password.clone().map(Bytes::from),
        ..ClientOptions::new(id, true)
    };
    let connector = TcpConnector(target.addr.clone());
    let ids: BTreeSet<String> = scenario
        .clients
        .iter()
        .map(|(name, c)| ns.client_id(c.client_id.as_deref().unwrap_or(name)))
        .filter(|id| !id.is_empty())
        .collect();
    for id in ids {
        let connected =
            tokio::time::timeout(COMMAND_TIMEOUT, Client::connect(connector.clone(), options(id), None)).await;
        if let Ok(Ok((client, _events))) = connected {
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.disconnect()).await;
        }
    }
    let wills =
        scenario.clients.values().filter_map(|c| c.will.as_ref()).filter(|w| w.retain).map(|w| w.topic.0.clone());
    let published = scenario.steps.iter().filter_map(|s| match s {
        Step::Publish(p) if p.retain => Some(p.topic.0.clone()),
        _ => None,
    });
    let retained: BTreeSet<String> = wills.chain(published).map(|t| ns.topic(&t)).collect();
    if retained.is_empty() {
        return;
    }
    let cleaner = options(ns.client_id("-cleanup"));
    let connected = tokio::time::timeout(COMMAND_TIMEOUT, Client::connect(connector, cleaner, None)).await;
    if let Ok(Ok((client, _events))) = connected {
        for topic in retained {
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.publish(topic, Bytes::new(), QoS::AtLeastOnce, true))
                .await;
        }
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.disconnect()).await;
    }
}
