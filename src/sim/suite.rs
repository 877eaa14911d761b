//! Checking one scenario file the way the test suite and `mqtt-sim run` do: load it (a bad file
//! fails with file:line:column), run it at its recorded seed against its expectations and stored
//! snapshot, then at more seeds, where a deterministic scenario must reproduce the same snapshot.

use std::path::{Path, PathBuf};

use super::runner::{run, RunResult};
use crate::harness::snapshot;
use crate::scenario::model::OutcomeKind;
use crate::scenario::{load, test_name};
use crate::trace::TraceEvent;

/// Lines of trace shown with a failure.
pub const TRACE_TAIL: usize = 40;

/// The seeds to run besides the recorded one: `MQTT_SIM_SEEDS` of them (default `default`).
/// `MQTT_SIM_SEED=S` instead runs every scenario at exactly seed S.
pub fn extra_seeds_from_env(default: u64) -> Seeds {
    if let Some(seed) = std::env::var("MQTT_SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        return Seeds::Only(seed);
    }
    let n = std::env::var("MQTT_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default);
    Seeds::Recorded { extra: n }
}

/// Which seeds a file is run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeds {
    /// The recorded seed, then `extra` more (1001, 1002, ...).
    Recorded { extra: u64 },
    /// Exactly this seed (for replaying a failure); snapshots are compared only if it is the
    /// recorded seed.
    Only(u64),
}

/// How a file fared: what it says it checks, the seeds it ran at, what went wrong if anything,
/// and one of its runs to show (the failing one, else the recorded seed's), so a report renders
/// runs it is given instead of running anything again.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub name: String,
    pub path: PathBuf,
    /// The scenario's own `name:`, description and `spec:` IDs (empty if it did not load).
    pub title: String,
    pub description: String,
    pub spec: Vec<String>,
    /// The seed article's statement the scenario checks, and whether it holds.
    pub claim: Option<crate::scenario::model::Claim>,
    pub seeds_run: Vec<u64>,
    /// Delivered, queued and dropped message counts at the recorded seed.
    pub counts: (usize, usize, u64),
    pub simulated_ms: u64,
    pub failure: Option<FileFailure>,
    /// The run to show: its seed and its trace.
    pub shown: Option<(u64, Vec<TraceEvent>)>,
    /// The MQTT versions its clients speak: `3.1.1`, `5.0` or `mixed` (empty if it did not
    /// load).
    pub protocol: &'static str,
}

#[derive(Debug, Clone)]
pub struct FileFailure {
    /// `None` when the file did not load.
    pub seed: Option<u64>,
    pub message: String,
    pub trace_tail: String,
}

impl FileReport {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

fn failure_of(result: &RunResult, file: &Path) -> Option<FileFailure> {
    let first = result.failure.as_ref()?;
    let mut message = String::new();
    for (n, f) in first.all().enumerate() {
        if n > 0 {
            message.push_str("\nand, independently of the above: ");
        }
        match (f.step, f.line) {
            (Some(step), Some(line)) => {
                message.push_str(&format!("{}:{line}: step {} failed: ", file.display(), step + 1))
            }
            (Some(step), None) => message.push_str(&format!("step {} failed: ", step + 1)),
            _ => {}
        }
        message.push_str(&f.to_string());
        if !f.spec.is_empty() {
            message.push_str(&format!("\n  breaks [{}]", f.spec.join("] [")));
        }
    }
    Some(FileFailure { seed: Some(result.seed), message, trace_tail: result.trace.tail(TRACE_TAIL) })
}

/// The MQTT versions a scenario's clients speak, as the summary counts them.
pub fn protocols(scenario: &crate::scenario::Scenario) -> &'static str {
    use crate::scenario::model::ProtocolVersion;
    let v5 = scenario.clients.values().filter(|c| c.protocol == ProtocolVersion::V5).count();
    match v5 {
        0 => "3.1.1",
        n if n == scenario.clients.len() => "5.0",
        _ => "mixed",
    }
}

/// Loads and checks one file. `snapshots` is where insta keeps the stored snapshots.
pub fn check_file(root: &Path, file: &Path, snapshots: &Path, seeds: Seeds) -> FileReport {
    let name = test_name(root, file);
    // Paths in reports are relative to the working directory, so the replay command can be
    // pasted as it is (cargo runs tests from the project folder).
    let full = file;
    let cwd = std::env::current_dir().unwrap_or_default();
    let abs = if file.is_absolute() { file.to_path_buf() } else { cwd.join(file) };
    let file = abs.strip_prefix(&cwd).unwrap_or(file);
    let mut report = FileReport {
        name: name.clone(),
        path: file.to_path_buf(),
        seeds_run: vec![],
        title: String::new(),
        description: String::new(),
        spec: vec![],
        claim: None,
        counts: (0, 0, 0),
        simulated_ms: 0,
        failure: None,
        shown: None,
        protocol: "",
    };
    let scenario = match load(full) {
        Ok(s) => s,
        Err(mut e) => {
            e.file = file.display().to_string();
            report.failure = Some(FileFailure { seed: None, message: e.to_string(), trace_tail: String::new() });
            return report;
        }
    };
    report.title = scenario.name.clone();
    report.description = scenario.description.clone();
    report.spec = scenario.spec.iter().map(|s| s.0.clone()).collect();
    report.claim = scenario.claim.clone();
    report.protocol = protocols(&scenario);
    let seeds: Vec<u64> = match seeds {
        Seeds::Only(s) => vec![s],
        Seeds::Recorded { extra } => std::iter::once(scenario.seed).chain((1..=extra).map(|k| 1000 + k)).collect(),
    };
    let mut reference = None;
    for seed in seeds {
        let result = run(&scenario, seed);
        report.seeds_run.push(seed);
        report.simulated_ms += result.elapsed.as_millis() as u64;
        if let Some(f) = failure_of(&result, file) {
            report.failure = Some(f);
            report.shown = Some((seed, result.trace.events()));
            return report;
        }
        let snap = result.snapshot.clone().expect("a run without failure has a snapshot");
        if seed == scenario.seed || report.shown.is_none() {
            report.shown = Some((seed, result.trace.events()));
        }
        if seed == scenario.seed {
            report.counts = result.counts();
            let description = format!("{}\n{}", scenario.name, file.display());
            if let Err(message) = snapshot::check_stored(snapshots, &name, &description, &snap) {
                report.failure = Some(FileFailure { seed: Some(seed), message, trace_tail: String::new() });
                return report;
            }
        }
        match &reference {
            None => reference = Some((seed, snap)),
            Some((first, expected)) if scenario.outcome == OutcomeKind::Deterministic && *expected != snap => {
                let a = serde_yaml::to_string(expected).unwrap_or_default();
                let b = serde_yaml::to_string(&snap).unwrap_or_default();
                report.failure = Some(FileFailure {
                    seed: Some(seed),
                    message: format!(
                        "the outcome depends on timing, but the scenario says `outcome: deterministic`:\nseed {first}:\n{a}\nseed {seed}:\n{b}"
                    ),
                    trace_tail: result.trace.tail(TRACE_TAIL),
                });
                report.shown = Some((seed, result.trace.events()));
                return report;
            }
            Some(_) => {}
        }
    }
    report
}

/// Checks many files on `threads` worker threads (each simulation itself is single-threaded and
/// independent, so this does not affect determinism). Reports come back in `files` order;
/// `on_done` is called as each finishes.
pub fn check_files(
    root: &Path,
    files: &[PathBuf],
    snapshots: &Path,
    seeds: Seeds,
    threads: usize,
    on_done: &(dyn Fn(&FileReport) + Sync),
) -> Vec<FileReport> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<FileReport>>> = std::sync::Mutex::new(vec![None; files.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(file) = files.get(i) else { return };
                let report = check_file(root, file, snapshots, seeds);
                on_done(&report);
                results.lock().expect("results lock")[i] = Some(report);
            });
        }
    });
    results.into_inner().expect("results lock").into_iter().map(|r| r.expect("every file was checked")).collect()
}
