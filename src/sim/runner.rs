//! Running a scenario in the simulated world at one seed: the executor runs its steps on a
//! `World`, then a settling second, the snapshot, and the delivery invariants over the trace.

use std::time::Duration;

use super::world::{World, WorldConfig};
use crate::harness::executor::{broken_invariants, run_ready, run_steps, SETTLE};
use crate::harness::snapshot::{self, Snapshot};
use crate::scenario::model::Scenario;
use crate::trace::Trace;

pub use crate::harness::executor::Failure;

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

/// Runs `scenario` at `seed` with a known bug switched on in the broker and every client.
#[cfg(feature = "mutants")]
pub fn run_with_mutant(scenario: &Scenario, seed: u64, mutant: Option<crate::mutants::Mutant>) -> RunResult {
    run_in(scenario, WorldConfig { mutant, ..WorldConfig::new(seed) })
}

/// Runs `scenario` at `seed` on a broker configured as `broker`, with the scenario's own
/// settings on top: how a scenario fares on a broker that made other choices where the spec
/// leaves them open.
pub fn run_on(scenario: &Scenario, seed: u64, broker: crate::broker::Config) -> RunResult {
    run_in(scenario, WorldConfig { broker, ..WorldConfig::new(seed) })
}

/// Runs `scenario` in a world built from `config` (its seed, and the scenario's broker settings
/// and latencies on top).
fn run_in(scenario: &Scenario, mut config: WorldConfig) -> RunResult {
    let seed = config.seed;
    scenario.broker.apply(&mut config.broker);
    if let Some(min) = scenario.network.min_latency {
        config.min_latency = min.0;
    }
    if let Some(max) = scenario.network.max_latency {
        config.max_latency = max.0;
    }
    if let Some(p) = scenario.disk.sync_probability {
        config.disk_sync_probability = p;
    }
    if let Some(size) = scenario.disk.block_size {
        config.disk_block_size = Some(size);
    }
    let mut world = World::new(config);
    for name in scenario.clients.keys() {
        world.add_client(name);
    }
    let mut failures = match run_ready(run_steps(&mut world, scenario)) {
        Ok(failures) => failures,
        Err(e) => vec![Failure::of_run(e.to_string(), "", "")],
    };
    let mut snapshot = None;
    if failures.is_empty() {
        match world.sleep(SETTLE).and_then(|()| take(&mut world)) {
            Ok(s) => snapshot = Some(s),
            Err(e) => failures.push(Failure::of_run(e.to_string(), "", "")),
        }
    }
    // The delivery invariants hold on every run, whatever the scenario expects.
    failures.extend(broken_invariants(&world.trace().events(), false));
    let failure = Failure::first_of(failures);
    RunResult { seed, failure, snapshot, trace: world.trace().frozen(), elapsed: world.elapsed() }
}

/// The snapshot of a world at the end of a run.
fn take(world: &mut World) -> Result<Snapshot, super::WorldError> {
    let mut records = std::collections::BTreeMap::new();
    for name in world.client_names().map(str::to_owned).collect::<Vec<_>>() {
        let record = world.record(&name)?;
        records.insert(name, record);
    }
    let broker = world.broker_view()?;
    Ok(snapshot::take(&records, broker.as_ref()))
}
