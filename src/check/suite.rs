//! Checking many scenario files against one broker: each loaded, planned (`applicable`), run in
//! its own namespace (`runner`) several at a time, since runs cannot see each other's clients or
//! topics, and given a verdict: pass, partially checked, deviation, known deviation (listed for
//! this broker in the scenario's `known_deviations`), not applicable, or invalid (the file does
//! not load). It owns the verdicts, not their presentation (`report`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::applicable::{plan, Plan, Skipped};
use super::launch::{BrokerProcess, LaunchError};
use super::names::{run_tag, Namespace};
use super::network::COMMAND_TIMEOUT;
use super::recorded;
use super::runner::{self, Deviation};
use super::target::Target;
use crate::harness::snapshot::ClientSnapshot;
use crate::scenario::model::{OutcomeKind, Scenario, Step};
use crate::scenario::scenarios_root;
use crate::scenario::{discover, load, test_name};
use crate::trace::TraceEvent;

/// What to check, and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub target: Target,
    /// Scenario files or folders.
    pub paths: Vec<PathBuf>,
    /// Scenarios run at once.
    pub parallel: usize,
    /// Skip scenarios whose `wait` steps add up to more than this much real time.
    pub max_wait: Option<Duration>,
    /// The command line that checks one scenario as this run does, without the scenario's
    /// path: printed with each deviation so it can be reproduced alone.
    pub command: String,
}

impl CheckOptions {
    /// Checks `paths` against `target`, 4 scenarios at a time, whatever their waits; the
    /// reproduce command names the target's launch command or address, and its name.
    pub fn new(target: Target, paths: Vec<PathBuf>) -> CheckOptions {
        let mut words = vec!["mqtt-sim".to_owned(), "check".to_owned()];
        match &target.launcher {
            Some(launcher) => words.extend(["--launch".to_owned(), launcher.command.clone()]),
            None => words.extend(["--broker".to_owned(), target.addr.clone()]),
        }
        if let Some(name) = &target.name {
            words.extend(["--broker-name".to_owned(), name.clone()]);
        }
        CheckOptions { command: shell_words::join(words), target, paths, parallel: 4, max_wait: None }
    }
}

/// The outcome of one scenario against the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything the scenario states, and the recorded snapshot, held.
    Pass,
    /// Everything observable held; some `expect` clauses about broker state were skipped.
    PartiallyChecked,
    /// The broker did something else than the scenario says the spec requires.
    Deviation(Deviation),
    /// A deviation the scenario lists as known for this broker, with the scenario's words.
    KnownDeviation { deviation: Deviation, known: String },
    /// The scenario cannot run against this broker, for this reason.
    NotApplicable(String),
    /// The file does not load (or its snapshot does not), with the error.
    Invalid(String),
    /// `--launch` could not start a broker for it, with the command and its last output.
    LaunchFailed(String),
}

impl Verdict {
    /// The word for the table.
    pub fn label(&self) -> String {
        match self {
            Verdict::Pass => "pass".into(),
            Verdict::PartiallyChecked => "partially checked".into(),
            Verdict::Deviation(_) => "DEVIATION".into(),
            Verdict::KnownDeviation { .. } => "known deviation".into(),
            Verdict::NotApplicable(why) => format!("not applicable ({why})"),
            Verdict::Invalid(_) => "INVALID".into(),
            Verdict::LaunchFailed(_) => "LAUNCH FAILED".into(),
        }
    }

    pub fn deviation(&self) -> Option<&Deviation> {
        match self {
            Verdict::Deviation(d) | Verdict::KnownDeviation { deviation: d, .. } => Some(d),
            _ => None,
        }
    }
}

/// One scenario's check.
#[derive(Debug, Clone)]
pub struct ScenarioCheck {
    /// The test name (`spec__qos__...`).
    pub name: String,
    pub path: PathBuf,
    /// The scenario's own `name:` and description, when it loaded.
    pub title: String,
    pub description: String,
    pub spec: Vec<String>,
    pub verdict: Verdict,
    /// `expect` clauses that could not be observed.
    pub skipped: Vec<Skipped>,
    /// The prefix of the client ids and topics the run used on the broker (empty: the
    /// scenario's own names, on a broker launched for it).
    pub namespace: String,
    /// Other things worth knowing (no snapshot compared, a known deviation that did not occur).
    pub notes: Vec<String>,
    /// What each client saw (empty if it did not run).
    pub clients: BTreeMap<String, ClientSnapshot>,
    pub trace: Vec<TraceEvent>,
    pub elapsed: Duration,
}

impl ScenarioCheck {
    /// The result column of the table: the verdict, and for a partial check what was not
    /// observable.
    pub fn result(&self) -> String {
        match &self.verdict {
            Verdict::PartiallyChecked => {
                let mut clauses: Vec<&str> = self.skipped.iter().flat_map(|s| s.clauses.iter().copied()).collect();
                clauses.sort_unstable();
                clauses.dedup();
                format!("partially checked (not observable: {})", clauses.join(", "))
            }
            other => other.label(),
        }
    }
}

/// Every scenario's check against one broker, in file order.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub broker: String,
    pub broker_name: Option<String>,
    /// `CheckOptions::command`.
    pub command: String,
    pub checks: Vec<ScenarioCheck>,
}

impl CheckReport {
    pub fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.checks.iter().filter(|c| f(&c.verdict)).count()
    }

    /// 0 when the broker showed no deviation that is not known, 1 when it did, 2 when a file
    /// did not load or a broker could not be launched.
    pub fn exit_code(&self) -> u8 {
        if self.count(|v| matches!(v, Verdict::Invalid(_) | Verdict::LaunchFailed(_))) > 0 {
            2
        } else if self.count(|v| matches!(v, Verdict::Deviation(_))) > 0 {
            1
        } else {
            0
        }
    }
}

/// Why nothing could be checked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No TCP connection to the broker could be opened.
    #[error("cannot reach the broker at {addr}: {error}")]
    Unreachable { addr: String, error: String },
    /// The launch command does not start a broker with mosquitto 2.0's default settings.
    #[error("{0}")]
    Launch(#[from] LaunchError),
    /// Ctrl-C.
    #[error("interrupted")]
    Interrupted,
    /// A scenario path could not be read.
    #[error("{path}: {error}")]
    Path { path: String, error: String },
}

/// Checks the scenarios under `options.paths` against `options.target`.
pub async fn check(options: &CheckOptions) -> Result<CheckReport, CheckError> {
    match &options.target.launcher {
        // A command that cannot start a broker at all is one error, not one per scenario.
        Some(launcher) => {
            let scenario_free = crate::scenario::model::BrokerSettings::default();
            BrokerProcess::launch(launcher.clone(), &crate::broker::Config::default(), &scenario_free)
                .await?
                .kill()
                .await;
        }
        None => {
            let addr = options.target.addr.clone();
            match tokio::time::timeout(COMMAND_TIMEOUT, tokio::net::TcpStream::connect(&addr)).await {
                Ok(Ok(_probe)) => {}
                Ok(Err(e)) => return Err(CheckError::Unreachable { addr, error: e.to_string() }),
                Err(_) => return Err(CheckError::Unreachable { addr, error: "timed out".into() }),
            }
        }
    }
    let mut files = Vec::new();
    for path in &options.paths {
        let found =
            discover(path).map_err(|e| CheckError::Path { path: path.display().to_string(), error: e.to_string() })?;
        files.extend(found);
    }
    let root = options.paths.first().map(|p| scenarios_root(p)).unwrap_or_else(|| PathBuf::from("scenarios"));
    let snapshots = root.parent().map(|p| p.join("snapshots")).unwrap_or_else(|| PathBuf::from("snapshots"));
    let tag = run_tag();
    let limit = Arc::new(tokio::sync::Semaphore::new(options.parallel.max(1)));
    let shared = Arc::new((options.clone(), root, snapshots, tag));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, file) in files.into_iter().enumerate() {
        let (limit, shared) = (limit.clone(), shared.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("the semaphore is never closed");
            let (options, root, snapshots, tag) = &*shared;
            // A broker launched for the one scenario needs no namespace.
            let ns = if options.target.launcher.is_some() { Namespace::none() } else { Namespace::new(tag, i) };
            (i, check_file(options, root, snapshots, &file, ns).await)
        });
    }
    let mut checks = Vec::new();
    while let Some(done) = tasks.join_next().await {
        checks.push(done.expect("a scenario check does not panic"));
    }
    checks.sort_by_key(|(i, _)| *i);
    Ok(CheckReport {
        broker: match &options.target.launcher {
            Some(launcher) => format!("`{}`", launcher.command),
            None => options.target.addr.clone(),
        },
        broker_name: options.target.name.clone(),
        command: options.command.clone(),
        checks: checks.into_iter().map(|(_, c)| c).collect(),
    })
}

/// [`check`] on a runtime of its own, for callers that are not async. Ctrl-C ends it: the
/// runtime is dropped with every task, and with them every broker process it launched (they are
/// killed on drop), so nothing is left running.
pub fn check_blocking(options: &CheckOptions) -> Result<CheckReport, CheckError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime starts");
    let result = runtime.block_on(async {
        tokio::select! {
            result = check(options) => result,
            _ = tokio::signal::ctrl_c() => Err(CheckError::Interrupted),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

/// Real time the scenario's `wait` steps take.
fn total_wait(scenario: &Scenario) -> Duration {
    scenario.steps.iter().map(|s| if let Step::Wait(d) = s { d.0 } else { Duration::ZERO }).sum()
}

/// Checks one file in namespace `ns`.
async fn check_file(
    options: &CheckOptions,
    root: &Path,
    snapshots: &Path,
    file: &Path,
    ns: Namespace,
) -> ScenarioCheck {
    let cwd = std::env::current_dir().unwrap_or_default();
    let abs = if file.is_absolute() { file.to_path_buf() } else { cwd.join(file) };
    let mut check = ScenarioCheck {
        name: test_name(root, &std::fs::canonicalize(file).unwrap_or_else(|_| abs.clone())),
        path: abs.strip_prefix(&cwd).unwrap_or(file).to_path_buf(),
        title: String::new(),
        description: String::new(),
        spec: vec![],
        verdict: Verdict::Pass,
        skipped: vec![],
        namespace: ns.prefix().to_owned(),
        notes: vec![],
        clients: BTreeMap::new(),
        trace: vec![],
        elapsed: Duration::ZERO,
    };
    let scenario = match load(file) {
        Ok(s) => s,
        Err(e) => {
            check.verdict = Verdict::Invalid(e.to_string());
            return check;
        }
    };
    check.title = scenario.name.clone();
    check.description = scenario.description.trim().to_owned();
    check.spec = scenario.spec.iter().map(|s| s.0.clone()).collect();
    check.skipped = match plan(&scenario, &options.target) {
        Plan::Run { skipped } => skipped,
        Plan::NotApplicable(why) => {
            check.verdict = Verdict::NotApplicable(why);
            return check;
        }
    };
    let waits = total_wait(&scenario);
    if let Some(max) = options.max_wait.filter(|max| waits > *max) {
        check.verdict = Verdict::NotApplicable(format!(
            "waits {} s of real time, more than --max-wait {} s",
            waits.as_secs_f64(),
            max.as_secs_f64()
        ));
        return check;
    }
    let recorded = match scenario.outcome {
        OutcomeKind::MayVary => {
            check.notes.push("outcome may_vary: only its expectations are compared, not the recorded snapshot".into());
            None
        }
        OutcomeKind::Deterministic => match recorded::load(snapshots, &check.name) {
            Ok(Some(r)) => Some(r),
            Ok(None) => {
                check
                    .notes
                    .push(format!("no recorded snapshot {}.snap: only its expectations are compared", check.name));
                None
            }
            Err(e) => {
                check.verdict = Verdict::Invalid(e);
                return check;
            }
        },
    };
    let output = match runner::run(&scenario, &options.target, ns, recorded.as_ref()).await {
        Ok(output) => output,
        Err(e) => {
            check.verdict = Verdict::LaunchFailed(e.to_string());
            return check;
        }
    };
    check.clients = output.clients;
    check.trace = output.trace;
    check.elapsed = output.elapsed;
    let known = options.target.name.as_ref().and_then(|name| {
        scenario
            .known_deviations
            .iter()
            .find(|(broker, _)| broker.eq_ignore_ascii_case(name))
            .map(|(_, text)| text.trim().to_owned())
    });
    check.verdict = match (output.deviation, known) {
        (Some(deviation), Some(known)) => Verdict::KnownDeviation { deviation, known },
        (Some(deviation), None) => Verdict::Deviation(deviation),
        (None, known) => {
            if known.is_some() {
                check.notes.push("a deviation is listed as known for this broker, but it did not occur".into());
            }
            if check.skipped.is_empty() {
                Verdict::Pass
            } else {
                Verdict::PartiallyChecked
            }
        }
    };
    check
}
