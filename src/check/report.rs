//! The text of a check for people: the table of scenario and result, the deviations grouped by
//! the statement they break, and for each difference the scenario and step, the statement its
//! check observes, what was expected and what the broker did, the names the run really used and
//! the command that reproduces it alone. The HTML form is `html`. It formats; it decides
//! nothing.

use std::fmt::Write as _;

use super::runner::Deviation;
use super::suite::{CheckReport, ScenarioCheck, Verdict};
use crate::scenario::values::normative_ids;

/// The table: one row per scenario, then the totals.
pub fn table(report: &CheckReport) -> String {
    let width = report.checks.iter().map(|c| c.name.len()).max().unwrap_or(8).max(8);
    let mut out = String::new();
    let _ = writeln!(out, "{:<width$}  result", "scenario");
    for c in &report.checks {
        let _ = writeln!(out, "{:<width$}  {}", c.name, c.result());
    }
    let _ = writeln!(out, "\n{}", totals(report));
    let groups = by_statement(report);
    if !groups.is_empty() {
        let _ = writeln!(out, "\ndeviations by the statement they break:");
        for (statement, names) in groups {
            let _ = writeln!(out, "  {statement}: {} ({})", names.join(", "), names.len());
        }
    }
    out
}

/// Each statement that a deviation (not a known one) breaks, with its subject, and the scenarios
/// that show it, in file order: deviations that share a cause read as one finding.
pub fn by_statement(report: &CheckReport) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for c in &report.checks {
        let Verdict::Deviation(d) = &c.verdict else { continue };
        let mut statements: Vec<String> = d.all().flat_map(|f| spec_lines(&f.spec)).collect();
        if statements.is_empty() {
            statements.push("(no statement named)".into());
        }
        statements.dedup();
        for statement in statements {
            match groups.iter_mut().find(|(s, _)| *s == statement) {
                Some((_, names)) if !names.contains(&c.name) => names.push(c.name.clone()),
                Some(_) => {}
                None => groups.push((statement, vec![c.name.clone()])),
            }
        }
    }
    groups
}

/// `12 pass, 3 partially checked, ...` for the broker.
pub fn totals(report: &CheckReport) -> String {
    let n = |f: fn(&Verdict) -> bool| report.count(f);
    let mut parts = vec![
        format!("{} pass", n(|v| matches!(v, Verdict::Pass))),
        format!("{} partially checked", n(|v| matches!(v, Verdict::PartiallyChecked))),
        format!("{} known deviations", n(|v| matches!(v, Verdict::KnownDeviation { .. }))),
        format!("{} deviations", n(|v| matches!(v, Verdict::Deviation(_)))),
        format!("{} not applicable", n(|v| matches!(v, Verdict::NotApplicable(_)))),
    ];
    let invalid = n(|v| matches!(v, Verdict::Invalid(_)));
    if invalid > 0 {
        parts.push(format!("{invalid} invalid"));
    }
    let unlaunched = n(|v| matches!(v, Verdict::LaunchFailed(_)));
    if unlaunched > 0 {
        parts.push(format!("{unlaunched} not launched"));
    }
    let name = report.broker_name.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
    format!("{}{name}: {}", report.broker, parts.join(", "))
}

/// The spec statements a scenario checks, one per line with their subject.
pub fn spec_lines(spec: &[String]) -> Vec<String> {
    spec.iter()
        .map(|id| match normative_ids().find(|(i, _, _)| i == id) {
            Some((_, binds, subject)) => format!("[{id}] ({binds}) {subject}"),
            None => format!("[{id}]"),
        })
        .collect()
}

/// Where a deviation happened: `file:line, step N`, or the end of the run.
pub fn location(check: &ScenarioCheck, d: &Deviation) -> String {
    match (d.step, d.line) {
        (Some(step), Some(line)) => format!("{}:{line}, step {}", check.path.display(), step + 1),
        (Some(step), None) => format!("{}, step {}", check.path.display(), step + 1),
        _ => format!("{}, after the last step", check.path.display()),
    }
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

/// The deviations (known or not), the files that did not load and the brokers that did not
/// start, in full.
pub fn details(report: &CheckReport) -> String {
    let mut out = String::new();
    for c in &report.checks {
        match &c.verdict {
            Verdict::Deviation(d) | Verdict::KnownDeviation { deviation: d, .. } => {
                let head = if matches!(c.verdict, Verdict::Deviation(_)) { "DEVIATION" } else { "known deviation" };
                let _ = writeln!(out, "{head}: {}\n  {}", c.name, c.title);
                for (n, f) in d.all().enumerate() {
                    if n > 0 {
                        out.push_str("  and, independently of the above:\n");
                    }
                    let _ = writeln!(out, "  {}", location(c, f));
                    for line in spec_lines(&f.spec) {
                        let _ = writeln!(out, "  breaks {line}");
                    }
                    let _ = write!(
                        out,
                        "  {}\n  expected:\n{}  observed:\n{}",
                        f.summary,
                        indent(&f.expected, "    "),
                        indent(&f.observed, "    ")
                    );
                }
                if let Verdict::KnownDeviation { known, .. } = &c.verdict {
                    let name = report.broker_name.as_deref().unwrap_or("this broker");
                    let _ = writeln!(out, "  known for {name}: {known}");
                }
                if !c.namespace.is_empty() {
                    let _ = writeln!(
                        out,
                        "  names on the broker: client ids {0}-<client id>, topics {0}/<topic>",
                        c.namespace
                    );
                }
                let _ = writeln!(out, "  reproduce: {} {}", report.command, c.path.display());
                out.push('\n');
            }
            Verdict::Invalid(e) => {
                let _ = writeln!(out, "INVALID: {}\n{}", c.name, indent(e, "  "));
            }
            Verdict::LaunchFailed(e) => {
                let _ = writeln!(out, "LAUNCH FAILED: {}\n{}", c.name, indent(e, "  "));
            }
            Verdict::Pass | Verdict::PartiallyChecked | Verdict::NotApplicable(_) => {}
        }
    }
    out
}
