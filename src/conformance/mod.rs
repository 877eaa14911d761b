//! The conformance tables: each normative statement of MQTT 3.1.1, and of MQTT 5.0, and what
//! checks it. `mqtt-sim conformance` writes them to docs/conformance.md and
//! docs/conformance-5.0.md; a test keeps both files current. This project cites a 5.0 statement
//! as `MQTT5-x` for the spec's `MQTT-x`, so a citation belongs to one version only.
//!
//! A statement is *checked* when something observes it:
//! - a scenario: the ID is in its `spec:` list or in the `spec:` of one of its `expect` steps;
//!   each scenario is run at its recorded seed to say whether it passes;
//! - the delivery invariants: the ID is cited in a rule of [`crate::invariants::INVARIANTS`],
//!   judged on every simulated run;
//! - a test's assertion: the ID stands inside an assertion's arguments in test code (see
//!   [`citations`] for exactly where).
//!
//! Citations in `src/` outside tests are counted as *code* (where the rule is enforced), for
//! information only. A statement named only elsewhere (a test's comment, a scenario's description,
//! the code) is *mentioned*: the table lists those that are mentioned but not checked, and where.
//!
//! Why a statement is not checked is data too: [`REASONS_V5`] gives a reason for each 5.0
//! statement nothing checks (one a line, `MQTT5-x`, a tab, the reason), and the 5.0 table lists
//! them. `tests/conformance.rs` keeps that file exact: every unchecked statement has a reason, and
//! a statement something checks has none.

pub mod citations;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use crate::protocol::Version;
use crate::scenario::{self, model::Step, values::normative_ids, values::normative_ids_v5};

use citations::{Citations, Place};

/// One normative statement and what checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: &'static str,
    pub binds: &'static str,
    pub subject: &'static str,
    /// Scenario test names that check it (top-level or `expect` step `spec:`), and whether each passed.
    pub scenarios: Vec<(String, bool)>,
    /// The delivery invariants whose rule cites it.
    pub invariants: Vec<&'static str>,
    /// Citations in `src/` outside tests: where the rule is enforced.
    pub code: usize,
    /// Citations inside a test's assertion.
    pub asserted: usize,
    /// The files that name it without checking it (test comments and other non-assertion text,
    /// scenario files, code), tests first.
    pub mentioned: Vec<String>,
    /// Why nothing checks it, from the version's reasons file, if that file gives a reason.
    pub why: Option<String>,
}

impl Row {
    /// Whether a scenario, an invariant or a test's assertion checks the statement.
    pub fn checked(&self) -> bool {
        !self.scenarios.is_empty() || !self.invariants.is_empty() || self.asserted > 0
    }
}

/// The two tables, built from one reading of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub v311: Vec<Row>,
    /// Rows carry the spec's IDs (`MQTT-x`); the project cites them as `MQTT5-x`.
    pub v5: Vec<Row>,
    /// What is wrong with [`REASONS_V5`]: lines that are not `MQTT5-x`, a tab and a reason, or
    /// that name no 5.0 statement, or one named twice. Empty when the file is sound.
    pub reason_errors: Vec<String>,
}

/// The file that says why each 5.0 statement nothing checks is not checked, from the project's
/// root.
pub const REASONS_V5: &str = "src/conformance/unchecked-5.0.txt";

/// The reasons of a reasons file by cited ID (`MQTT5-x`), and what is wrong with its lines.
/// Blank lines and lines starting with `#` are skipped; each other line is an ID, a tab and a
/// reason. `known` says whether an ID names a statement.
pub fn reasons(text: &str, known: impl Fn(&str) -> bool) -> (BTreeMap<String, String>, Vec<String>) {
    let mut found = BTreeMap::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('\t').map(|(id, why)| (id.trim(), why.trim())) {
            Some((id, why)) if known(id) && !why.is_empty() => {
                if found.insert(id.to_owned(), why.to_owned()).is_some() {
                    errors.push(format!("{REASONS_V5}:{n}: {id} is given a reason twice"));
                }
            }
            Some((id, why)) if !why.is_empty() => {
                errors.push(format!("{REASONS_V5}:{n}: {id:?} is not a normative statement of MQTT 5.0"))
            }
            _ => errors.push(format!("{REASONS_V5}:{n}: expected an ID like MQTT5-3.1.2-4, a tab and a reason")),
        }
    }
    (found, errors)
}

/// Builds both tables for the project at `project` (which holds `scenarios/`, `src/`, `tests/`).
pub fn build(project: &Path) -> Tables {
    let root = project.join("scenarios");
    let mut cites = Citations::default();
    let mut by_id: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for file in scenario::discover(&root).unwrap_or_default() {
        let rel = file.strip_prefix(project).unwrap_or(&file).to_string_lossy().replace('\\', "/");
        for (_, id) in citations::ids(&std::fs::read_to_string(&file).unwrap_or_default()) {
            cites.mention(id, Place::Scenario, &rel);
        }
        let name = scenario::test_name(&root, &file);
        let Ok(s) = scenario::load(&file) else { continue };
        let passed = crate::sim::run(&s, s.seed).failure.is_none();
        let expects = s.steps.iter().filter_map(|step| match step {
            Step::Expect(e) => Some(&e.spec),
            _ => None,
        });
        let ids: BTreeSet<&str> = s.spec.iter().chain(expects.flatten()).map(|id| id.0.as_str()).collect();
        for id in ids {
            by_id.entry(id.to_owned()).or_default().push((name.clone(), passed));
        }
    }
    let mut invariants: BTreeMap<&str, Vec<&'static str>> = BTreeMap::new();
    for (name, rule) in crate::invariants::INVARIANTS {
        for (_, id) in citations::ids(rule) {
            invariants.entry(id).or_default().push(name);
        }
    }
    cites.read(project, "src");
    cites.read(project, "tests");
    let text = std::fs::read_to_string(project.join(REASONS_V5)).unwrap_or_default();
    let (mut why_v5, reason_errors) = reasons(&text, |id| {
        id.strip_prefix("MQTT5-")
            .is_some_and(|rest| normative_ids_v5().any(|(s, _, _)| s.strip_prefix("MQTT-") == Some(rest)))
    });
    let mut row = |id: &'static str, binds, subject, cited: &str| Row {
        id,
        binds,
        subject,
        scenarios: by_id.remove(cited).unwrap_or_default(),
        invariants: invariants.remove(cited).unwrap_or_default(),
        code: cites.code.get(cited).copied().unwrap_or(0),
        asserted: cites.asserted.get(cited).copied().unwrap_or(0),
        mentioned: cites.mentioned.remove(cited).unwrap_or_default().into_iter().map(|(_, f)| f).collect(),
        why: why_v5.remove(cited),
    };
    let v311 = normative_ids().map(|(id, binds, subject)| row(id, binds, subject, id)).collect();
    let v5 = normative_ids_v5()
        .map(|(id, binds, subject)| row(id, binds, subject, &id.replacen("MQTT-", "MQTT5-", 1)))
        .collect();
    Tables { v311, v5, reason_errors }
}

/// At most this many files are named for a statement that is mentioned but not checked.
const MENTIONS_SHOWN: usize = 3;

/// A table as Markdown, with a summary first and the statements mentioned but not checked last.
pub fn markdown(rows: &[Row], version: Version) -> String {
    let total = rows.len();
    let count = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
    let by_scenario = count(&|r| !r.scenarios.is_empty());
    let failing = count(&|r| r.scenarios.iter().any(|(_, ok)| !ok));
    let by_invariants = count(&|r| !r.invariants.is_empty());
    let by_tests = count(&|r| r.asserted > 0);
    let checked = count(&|r| r.checked());
    let transport = count(&|r| r.binds == "transport");
    let checked_parties = count(&|r| r.binds != "transport" && r.checked());
    let mentioned_only: Vec<&Row> = rows.iter().filter(|r| !r.checked() && !r.mentioned.is_empty()).collect();
    let mut out = String::new();
    match version {
        Version::V311 => {
            let _ = writeln!(out, "# MQTT 3.1.1 conformance\n");
        }
        Version::V5 => {
            let _ = writeln!(out, "# MQTT 5.0 conformance\n");
            let _ = writeln!(
                out,
                "The statements are the spec's (`spec/mqtt-5.0-normative-ids.txt`); the code, the tests and the \
                 scenarios cite them as `MQTT5-x` for the spec's `MQTT-x`, so that a citation names one version. \
                 The 3.1.1 table is docs/conformance.md.\n"
            );
        }
    }
    let _ = writeln!(
        out,
        "Generated by `cargo run -- conformance`; `cargo test` fails when this file is out of date. \
         A statement counts as checked only where something observes it: a scenario that lists it in its \
         `spec:` or in an `expect` step's `spec:` (each scenario is run at its recorded seed: FAILS marks one \
         that does not pass), a delivery invariant whose rule cites it (`src/invariants/mod.rs`, judged on \
         every simulated run), or a test whose assertion cites it (`[MQTT-x]` (`[MQTT5-x]` in 5.0) inside the arguments or message \
         of `assert!`, `assert_eq!`, `prop_assert!` and the like, an `assert_*` helper, `.expect`, `panic!` or \
         `unreachable!`, in unit tests and `tests/`). The code column counts citations in `src/` outside \
         tests, where the rule is enforced; it checks nothing. A statement named only in a test's comment or \
         other text, a scenario's description or the code is listed under \"Mentioned but not checked\".\n"
    );
    let _ = writeln!(out, "- normative statements: {total}");
    let _ = writeln!(out, "- checked by a scenario: {by_scenario} ({failing} with a failing scenario)");
    let _ = writeln!(out, "- checked by the delivery invariants: {by_invariants}");
    let _ = writeln!(out, "- asserted by a unit, TCP or interop test: {by_tests}");
    let _ = writeln!(out, "- checked by a scenario, an invariant or a test assertion: {checked}");
    if transport > 0 {
        let parties = total - transport;
        let _ = writeln!(
            out,
            "- of the {parties} statements on a client or a server (the other {transport} bind the transport): \
             {checked_parties} checked, {} not",
            parties - checked_parties
        );
    }
    let _ = writeln!(
        out,
        "- not checked: {} ({} of them mentioned, listed below)\n",
        total - checked,
        mentioned_only.len()
    );
    let _ = writeln!(out, "| statement | binds | subject | scenarios | invariants | code | test assertions |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for r in rows {
        let scenarios = cell(r.scenarios.iter().map(|(n, ok)| format!("{n}{}", if *ok { "" } else { " (FAILS)" })));
        let invariants = cell(r.invariants.iter().map(|n| format!("`{n}`")));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {scenarios} | {invariants} | {} | {} |",
            r.id, r.binds, r.subject, r.code, r.asserted
        );
    }
    let _ = writeln!(out, "\n## Mentioned but not checked\n");
    let _ = writeln!(
        out,
        "Named in a test outside its assertions, in a scenario file or in the code, but checked by no \
         scenario, invariant or test assertion. The files are listed tests first, then scenarios, then code.\n"
    );
    let _ = writeln!(out, "| statement | binds | subject | mentioned in |");
    let _ = writeln!(out, "|---|---|---|---|");
    for r in mentioned_only {
        let mut files =
            r.mentioned.iter().take(MENTIONS_SHOWN).map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
        if r.mentioned.len() > MENTIONS_SHOWN {
            let _ = write!(files, " and {} more", r.mentioned.len() - MENTIONS_SHOWN);
        }
        let _ = writeln!(out, "| {} | {} | {} | {files} |", r.id, r.binds, r.subject);
    }
    let unchecked: Vec<&Row> = rows.iter().filter(|r| !r.checked()).collect();
    if unchecked.iter().any(|r| r.why.is_some()) {
        let _ = writeln!(out, "\n## Not checked, and why\n");
        let _ = writeln!(
            out,
            "Every statement nothing above checks, with the reason `{REASONS_V5}` gives: what this \
             implementation does not offer, or why no test can make the rule act.\n"
        );
        let _ = writeln!(out, "| statement | binds | subject | why |");
        let _ = writeln!(out, "|---|---|---|---|");
        for r in unchecked {
            let why = r.why.as_deref().unwrap_or("no reason recorded");
            let _ = writeln!(out, "| {} | {} | {} | {why} |", r.id, r.binds, r.subject);
        }
    }
    out
}

/// Items joined by line breaks, or a dash.
fn cell(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "—".to_owned()
    } else {
        items.join("<br>")
    }
}
