//! Reports of scenario runs for people and tools: the summary table `mqtt-sim run` prints, its
//! JSON form, the HTML report with sequence charts, and the charts themselves.

pub mod chart;
pub mod escape;
pub mod html;

use std::fmt::Write as _;

use serde::Serialize;

use crate::sim::suite::{FileReport, TRACE_TAIL};

impl FileReport {
    /// The command that replays the failure exactly.
    pub fn replay_command(&self) -> Option<String> {
        let seed = self.failure.as_ref()?.seed?;
        let path = escape::shell(&self.path.display().to_string());
        Some(format!("cargo run --release -- replay {path} --seed {seed} --trace"))
    }

    /// Everything a person needs to understand a failure, or `None` if it passed.
    pub fn failure_text(&self) -> Option<String> {
        let f = self.failure.as_ref()?;
        let mut text = match f.seed {
            Some(seed) => format!("{} failed at seed {seed}:\n{}\n", self.path.display(), f.message),
            None => format!("{}\n", f.message),
        };
        if !f.trace_tail.is_empty() {
            text.push_str(&format!("\nlast {TRACE_TAIL} trace lines:\n{}", f.trace_tail));
        }
        if let Some(cmd) = self.replay_command() {
            text.push_str(&format!("\nreplay: {cmd}\n"));
        }
        Some(text)
    }
}

/// The summary table: scenario, seeds, result, delivered / queued / dropped.
pub fn summary_table(reports: &[FileReport]) -> String {
    let width = reports.iter().map(|r| r.name.len()).max().unwrap_or(8).max(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>5}  {:<6}  {:>9}  {:>6}  {:>7}",
        "scenario", "seeds", "result", "delivered", "queued", "dropped"
    );
    for r in reports {
        let (d, q, x) = r.counts;
        let result = if r.passed() { "ok" } else { "FAILED" };
        let _ = writeln!(out, "{:<width$}  {:>5}  {result:<6}  {d:>9}  {q:>6}  {x:>7}", r.name, r.seeds_run.len());
    }
    let failed = reports.iter().filter(|r| !r.passed()).count();
    let _ = writeln!(out, "\n{} passed, {} failed", reports.len() - failed, failed);
    let by_version: Vec<String> = ["3.1.1", "5.0", "mixed"]
        .into_iter()
        .filter_map(|v| {
            let of: Vec<&FileReport> = reports.iter().filter(|r| r.protocol == v).collect();
            let failed = of.iter().filter(|r| !r.passed()).count();
            (!of.is_empty()).then(|| format!("{v}: {} passed, {failed} failed", of.len() - failed))
        })
        .collect();
    if !by_version.is_empty() {
        let _ = writeln!(out, "by protocol: {}", by_version.join("; "));
    }
    out
}

/// The seed article's claims the scenarios check, one line each: whether the claim holds, as the
/// scenario shows it, and whether the scenario passed (a failed scenario shows nothing). Empty
/// when no scenario run has a `claim:`.
pub fn claims_table(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        let Some(c) = &r.claim else { continue };
        if out.is_empty() {
            out.push_str("\nclaims of the seed article (../shared/seed/):\n");
        }
        let verdict = match (r.passed(), c.holds) {
            (false, _) => "NOT SHOWN (the scenario failed)",
            (true, true) => "holds",
            (true, false) => "WRONG",
        };
        let _ = writeln!(out, "  {verdict:<6}  \"{}\"\n          shown by {}", c.quote.trim(), r.name);
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    name: &'a str,
    path: String,
    seeds: &'a [u64],
    passed: bool,
    /// `3.1.1`, `5.0` or `mixed`: the MQTT versions its clients speak.
    protocol: &'a str,
    delivered: usize,
    queued: usize,
    dropped: u64,
    simulated_ms: u64,
    failure: Option<String>,
    replay: Option<String>,
    /// The seed article's claim it checks, and whether it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    claim: Option<&'a crate::scenario::model::Claim>,
}

/// One JSON object per scenario, as a JSON array.
pub fn json(reports: &[FileReport]) -> String {
    let items: Vec<JsonReport> = reports
        .iter()
        .map(|r| JsonReport {
            name: &r.name,
            path: r.path.display().to_string(),
            seeds: &r.seeds_run,
            passed: r.passed(),
            protocol: r.protocol,
            delivered: r.counts.0,
            queued: r.counts.1,
            dropped: r.counts.2,
            simulated_ms: r.simulated_ms,
            failure: r.failure.as_ref().map(|f| f.message.clone()),
            replay: r.replay_command(),
            claim: r.claim.as_ref(),
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("reports serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, protocol: &'static str, failed: bool) -> FileReport {
        FileReport {
            name: name.into(),
            path: name.into(),
            title: String::new(),
            description: String::new(),
            spec: vec![],
            claim: None,
            seeds_run: vec![0],
            counts: (1, 0, 0),
            simulated_ms: 0,
            failure: failed.then(|| crate::sim::suite::FileFailure {
                seed: Some(0),
                message: "boom".into(),
                trace_tail: String::new(),
            }),
            shown: None,
            protocol,
        }
    }

    #[test]
    fn the_summary_counts_each_protocol_version() {
        let reports = [report("a", "3.1.1", false), report("b", "5.0", false), report("c", "5.0", true)];
        let table = summary_table(&reports);
        assert!(table.contains("\n2 passed, 1 failed\n"), "{table}");
        assert!(table.ends_with("by protocol: 3.1.1: 1 passed, 0 failed; 5.0: 1 passed, 1 failed\n"), "{table}");
        assert!(json(&reports).contains("\"protocol\": \"5.0\""));
    }
}
