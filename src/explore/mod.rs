//! Exploration: proptest generates whole scenarios (`generate`; 3.1.1 clients alone from
//! `v311`, 5.0 or mixed ones as `ExploreOptions::protocol` asks), the simulation runs each at a
//! seed, the delivery invariants (`invariants`) judge every run, and a failing case shrinks to a minimal
//! scenario that is written to `scenarios/regressions/` and replays exactly.
//!
//! The loop is ours rather than proptest's runner so it can shard, stop at a time limit, count
//! distinct outcomes and keep the simulation seed fixed while a failure shrinks.

pub mod generate;
pub mod persistence;
pub mod v311;
pub mod v5;

pub use persistence::PersistenceMix;
pub use v5::ProtocolMix;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::scenario::Scenario;

/// What to explore.
#[derive(Debug, Clone)]
pub struct ExploreOptions {
    pub cases: u64,
    pub seed: u64,
    /// Which protocol versions the generated clients speak.
    pub protocol: ProtocolMix,
    /// How the broker keeps its state across the crashes of a case.
    pub persistence: PersistenceMix,
    /// Run only the cases whose index is `shard.0` modulo `shard.1`.
    pub shard: (u64, u64),
    pub time_limit: Option<Duration>,
    /// Where shrunk failures are written (None: not written).
    pub regressions: Option<PathBuf>,
    /// Shrinking steps allowed per failure.
    pub max_shrink_iters: u32,
    /// Stop at the first failure (to measure how many cases a bug needs to be caught).
    pub stop_at_first_failure: bool,
    /// The known bug to activate for this exploration.
    #[cfg(feature = "mutants")]
    pub mutant: Option<crate::mutants::Mutant>,
}

impl Default for ExploreOptions {
    fn default() -> ExploreOptions {
        ExploreOptions {
            cases: 100,
            seed: 0,
            protocol: ProtocolMix::default(),
            persistence: PersistenceMix::default(),
            shard: (0, 1),
            time_limit: None,
            regressions: None,
            max_shrink_iters: 300,
            stop_at_first_failure: false,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }
}

/// A case that broke an invariant, shrunk.
#[derive(Debug, Clone)]
pub struct Found {
    pub case: u64,
    /// The simulation seed it fails at.
    pub sim_seed: u64,
    pub message: String,
    pub scenario: Scenario,
    /// Steps before and after shrinking.
    pub steps: (usize, usize),
    pub written_to: Option<PathBuf>,
}

/// The summary of an exploration.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub cases: u64,
    pub simulated: Duration,
    /// Distinct snapshots among passing runs: a rough measure of how much behaviour was seen.
    pub distinct_outcomes: usize,
    pub failures: Vec<Found>,
    pub wall: Duration,
}

fn rng(seed: u64, case: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&case.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// The invariant violations of a run, if any. Generated scenarios expect nothing of their
/// commands (a connect to a crashed broker may stay pending, say): only invariants judge them,
/// and only a run whose first failure is one, since a run a failed step cut short leaves the
/// invariants that owe deliveries a trace that stops before them.
pub fn violation(result: &crate::sim::RunResult) -> Option<String> {
    result.failure.as_ref().filter(|f| f.invariant.is_some()).map(|f| f.to_string())
}

/// Runs one case, with `opts.mutant` when built with the `mutants` feature.
fn run_case(opts: &ExploreOptions, scenario: &Scenario, sim_seed: u64) -> crate::sim::RunResult {
    #[cfg(feature = "mutants")]
    {
        crate::sim::runner::run_with_mutant(scenario, sim_seed, opts.mutant)
    }
    #[cfg(not(feature = "mutants"))]
    {
        let _ = opts;
        crate::sim::run(scenario, sim_seed)
    }
}

fn failure(opts: &ExploreOptions, scenario: &Scenario, sim_seed: u64) -> Option<String> {
    violation(&run_case(opts, scenario, sim_seed))
}

/// Explores `opts.cases` generated scenarios; `progress` is called after each case.
pub fn explore(opts: &ExploreOptions, progress: &dyn Fn(u64, &Summary)) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut outcomes = BTreeSet::new();
    let strategy = generate::scenario(opts.protocol, opts.persistence);
    for case in (0..opts.cases).filter(|c| c % opts.shard.1 == opts.shard.0) {
        if opts.time_limit.is_some_and(|limit| started.elapsed() >= limit) {
            break;
        }
        let mut runner = TestRunner::new_with_rng(Config::default(), rng(opts.seed, case));
        let mut tree = strategy.new_tree(&mut runner).expect("the scenario strategy always generates");
        let scenario = tree.current();
        let sim_seed = opts.seed.wrapping_mul(1_000_003).wrapping_add(case);
        let result = run_case(opts, &scenario, sim_seed);
        summary.cases += 1;
        summary.simulated += result.elapsed;
        match violation(&result) {
            None => {
                if let Some(s) = &result.snapshot {
                    outcomes.insert(serde_yaml::to_string(s).unwrap_or_default());
                }
            }
            Some(message) => {
                let before = scenario.steps.len();
                let (shrunk, message) = shrink(opts, &mut tree, scenario, message, sim_seed);
                let mut found = Found {
                    case,
                    sim_seed,
                    message,
                    steps: (before, shrunk.steps.len()),
                    scenario: shrunk,
                    written_to: None,
                };
                if let Some(dir) = &opts.regressions {
                    found.written_to = write_regression(dir, &found).ok();
                }
                summary.failures.push(found);
            }
        }
        summary.distinct_outcomes = outcomes.len();
        progress(case, &summary);
        if opts.stop_at_first_failure && !summary.failures.is_empty() {
            break;
        }
    }
    summary.wall = started.elapsed();
    summary
}

/// proptest's shrinking loop, at a fixed simulation seed: simplify while the case still fails,
/// step back (complicate) when a simplification passes.
fn shrink(
    opts: &ExploreOptions,
    tree: &mut impl ValueTree<Value = Scenario>,
    mut best: Scenario,
    mut message: String,
    sim_seed: u64,
) -> (Scenario, String) {
    if !tree.simplify() {
        return (best, message);
    }
    for _ in 0..opts.max_shrink_iters {
        let candidate = tree.current();
        match failure(opts, &candidate, sim_seed) {
            Some(m) => {
                best = candidate;
                message = m;
                if !tree.simplify() {
                    break;
                }
            }
            None => {
                if !tree.complicate() {
                    break;
                }
            }
        }
    }
    (best, message)
}

/// Writes a shrunk case as a scenario file that replays at its seed.
pub fn write_regression(dir: &Path, found: &Found) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut scenario = found.scenario.clone();
    scenario.seed = found.sim_seed;
    let first_line = found.message.lines().next().unwrap_or_default().to_owned();
    scenario.name = format!("explored case {} breaks an invariant", found.case);
    scenario.description = format!(
        "Found by `mqtt-sim explore` (case {}, simulation seed {}) and shrunk from {} to {} steps.\n{}\n",
        found.case, found.sim_seed, found.steps.0, found.steps.1, first_line
    );
    let text = serde_yaml::to_string(&scenario).map_err(std::io::Error::other)?;
    let path = dir.join(format!("explored_case_{}_seed_{}.yaml", found.case, found.sim_seed));
    std::fs::write(&path, text)?;
    Ok(path)
}
