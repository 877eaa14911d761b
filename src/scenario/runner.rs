//! Running a scenario in the simulated world at one seed: each step in order, each command's
//! outcome checked, each `expect` checked, then a settling second and the snapshot.

use std::time::Duration;

use bytes::Bytes;

use super::expect;
use super::model::{ConnectStep, Direction, ExpectedOutcome, Scenario, Step};
use super::snapshot::{self, Snapshot};
use crate::client::ClientOptions;
use crate::protocol::{LastWill, SubscribeFilter};
use crate::sim::{ConnackSeen, Outcome, Trace, World, WorldConfig, WorldError};

/// Simulated time allowed after the last step for messages in flight to land.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 0-based step index, or `None` for a failure after the steps (the snapshot).
    pub step: Option<usize>,
    /// The step's line in the file, if known.
    pub line: Option<usize>,
    pub message: String,
}

/// Everything one run produced.
pub struct RunResult {
    pub seed: u64,
    pub failure: Option<Failure>,
    pub snapshot: Option<Snapshot>,
    pub trace: Trace,
    pub elapsed: Duration,
}

impl RunResult {
    /// Messages delivered to applications, queued at the end, and dropped, in total.
    pub fn counts(&self) -> (usize, usize, u64) {
        let Some(s) = &self.snapshot else {
            return (0, 0, 0);
        };
        let delivered = s.clients.values().map(|c| c.received.len()).sum();
        let (queued, dropped) = s.broker.as_ref().map_or((0, 0), |b| {
            (
                b.sessions.values().map(|s| s.queued.len()).sum(),
                b.sessions.values().flat_map(|s| s.drops.values()).sum(),
            )
        });
        (delivered, queued, dropped)
    }
}

/// Runs `scenario` at `seed`.
pub fn run(scenario: &Scenario, seed: u64) -> RunResult {
    run_in(scenario, WorldConfig::new(seed))
}

/// Runs `scenario` at `seed` with a known bug in the broker and every client.
#[cfg(feature = "mutants")]
pub fn run_with_mutant(scenario: &Scenario, seed: u64, mutant: Option<crate::mutants::Mutant>) -> RunResult {
    run_in(scenario, WorldConfig { mutant, ..WorldConfig::new(seed) })
}

fn run_in(scenario: &Scenario, mut config: WorldConfig) -> RunResult {
    let seed = config.seed;
    scenario.broker.apply(&mut config.broker);
    if let Some(min) = scenario.network.min_latency {
        config.min_latency = min.0;
    }
    if let Some(max) = scenario.network.max_latency {
        config.max_latency = max.0;
    }
    let mut world = World::new(config);
    for name in scenario.clients.keys() {
        world.add_client(name);
    }
    let mut failure = None;
    for (i, step) in scenario.steps.iter().enumerate() {
        world.note_step(format!("#{} {}", i + 1, describe(step)));
        let result = match execute(&mut world, scenario, step) {
            Ok(r) => r,
            Err(e) => Some(e.to_string()),
        };
        if let Some(message) = result {
            failure = Some(Failure { step: Some(i), line: scenario.step_lines.get(i).copied(), message });
            break;
        }
    }
    let mut snapshot = None;
    if failure.is_none() {
        match world.sleep(SETTLE).and_then(|()| snapshot::take(&mut world)) {
            Ok(s) => snapshot = Some(s),
            Err(e) => failure = Some(Failure { step: None, line: None, message: e.to_string() }),
        }
    }
    // The delivery invariants hold on every run, whatever the scenario expects.
    if failure.is_none() {
        let events = world.trace().events();
        let violations = crate::check::check(&events);
        if !violations.is_empty() {
            let mut message = String::new();
            for v in &violations {
                message.push_str(&format!("{v}\n"));
                for &line in &v.lines {
                    message.push_str(&format!("    {}\n", events[line]));
                }
            }
            failure = Some(Failure { step: None, line: None, message });
        }
    }
    RunResult { seed, failure, snapshot, trace: world.trace().clone(), elapsed: world.elapsed() }
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

/// Compares a command's outcome with the expected one; `Some(message)` if they differ.
fn judge<T: std::fmt::Debug>(what: &str, got: &Outcome<T>, want: ExpectedOutcome) -> Option<String> {
    let ok = matches!(
        (got, want),
        (_, ExpectedOutcome::Any)
            | (Outcome::Done(_), ExpectedOutcome::Done)
            | (Outcome::Pending, ExpectedOutcome::Pending)
            | (Outcome::Failed(_), ExpectedOutcome::Failed)
    );
    (!ok).then(|| format!("{what}: expected {want:?}, got {got:?}"))
}

fn connect_options(scenario: &Scenario, c: &ConnectStep) -> ClientOptions {
    let spec = &scenario.clients[&c.client];
    ClientOptions {
        client_id: spec.client_id.clone().unwrap_or_else(|| c.client.clone()),
        clean_session: c.clean_session.unwrap_or(spec.clean_session),
        keep_alive: spec.keep_alive,
        will: spec.will.as_ref().map(|w| LastWill {
            topic: w.topic.0.clone(),
            message: Bytes::from(w.payload.clone()),
            qos: w.qos.0,
            retain: w.retain,
        }),
        username: spec.username.clone(),
        password: spec.password.clone().map(Bytes::from),
        max_inflight: spec.max_inflight,
        #[cfg(feature = "mutants")]
        mutant: None, // the world gives every client its own
    }
}

/// Runs one step; `Ok(Some(message))` when the step's expectation failed.
fn execute(world: &mut World, scenario: &Scenario, step: &Step) -> Result<Option<String>, WorldError> {
    Ok(match step {
        Step::Connect(c) => {
            let options = connect_options(scenario, c);
            let got = if scenario.clients[&c.client].break_client_rules {
                world.connect_unchecked(&c.client, options)?
            } else {
                world.connect(&c.client, options)?
            };
            if let Some(rc) = c.refused {
                let seen = world.record(&c.client)?.connacks.last().copied();
                match seen {
                    Some(ConnackSeen::Refused(code)) if code as u8 == rc => None,
                    other => Some(format!(
                        "connect {}: expected CONNACK refused with {rc}, got {other:?} ({got:?})",
                        c.client
                    )),
                }
            } else if let (Some(want), Outcome::Done(sp)) = (c.session_present, &got) {
                (*sp != want)
                    .then(|| format!("connect {}: session present is {}, expected {}", c.client, *sp as u8, want as u8))
            } else {
                judge(&format!("connect {}", c.client), &got, c.outcome.unwrap_or_default())
            }
        }
        Step::Subscribe(s) => {
            let filters = match (&s.topic, s.qos) {
                (Some(t), Some(q)) => vec![SubscribeFilter { filter: t.0.clone(), qos: q.0 }],
                _ => s.topics.iter().map(|f| SubscribeFilter { filter: f.filter.0.clone(), qos: f.qos.0 }).collect(),
            };
            let got = world.subscribe(&s.client, filters)?;
            judge(&format!("subscribe {}", s.client), &got, s.outcome)
        }
        Step::Unsubscribe(u) => {
            let filters = match &u.topic {
                Some(t) => vec![t.0.clone()],
                None => u.topics.iter().map(|t| t.0.clone()).collect(),
            };
            let got = world.unsubscribe(&u.client, filters)?;
            judge(&format!("unsubscribe {}", u.client), &got, u.outcome)
        }
        Step::Publish(p) => {
            for n in 1..=p.repeat {
                let payload = Bytes::from(p.payload.replace("{n}", &n.to_string()));
                if p.no_wait {
                    world.publish_no_wait(&p.client, &p.topic.0, payload, p.qos.0, p.retain)?;
                    continue;
                }
                let got = world.publish(&p.client, &p.topic.0, payload, p.qos.0, p.retain)?;
                if let Some(m) = judge(&format!("publish {} #{n}", p.client), &got, p.outcome) {
                    return Ok(Some(m));
                }
            }
            None
        }
        Step::Disconnect(c) => {
            judge(&format!("disconnect {}", c.client), &world.disconnect(&c.client)?, ExpectedOutcome::Done)
        }
        Step::LoseConnection(c) => {
            judge(&format!("lose_connection {}", c.client), &world.drop_connection(&c.client)?, ExpectedOutcome::Done)
        }
        Step::Partition(p) => {
            match p.direction {
                Direction::Both => world.partition(&p.client),
                Direction::ToBroker => world.partition_oneway(&p.client, crate::sim::BROKER),
                Direction::FromBroker => world.partition_oneway(crate::sim::BROKER, &p.client),
            }
            None
        }
        Step::Heal(c) => {
            world.repair(&c.client);
            None
        }
        Step::Hold(c) => {
            world.hold(&c.client);
            None
        }
        Step::Release(c) => {
            world.release(&c.client);
            None
        }
        Step::Latency(l) => {
            world.set_latency(&l.client, l.latency.0);
            None
        }
        Step::PacketLoss(l) => {
            world.set_packet_loss(&l.client, l.rate);
            None
        }
        Step::CrashBroker => {
            world.crash_broker()?;
            None
        }
        Step::RestartBroker => {
            world.restart_broker()?;
            None
        }
        Step::CrashClient(c) => {
            world.crash_client(&c.client)?;
            None
        }
        Step::RestartClient(c) => {
            world.restart_client(&c.client)?;
            None
        }
        Step::Wait(d) => {
            world.sleep(d.0)?;
            None
        }
        Step::Expect(e) => expect::check(world, e)?,
    })
}
