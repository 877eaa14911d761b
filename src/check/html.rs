//! The HTML form of a check, in the style of `report::html`: an index with each scenario's result,
//! and a page per scenario that ran with its description, spec statements, the difference (if
//! any), what each client saw, and the sequence chart and trace of the real run (recorded by
//! tapping the clients' TCP streams). It formats; it decides nothing.

use std::fmt::Write as _;
use std::path::Path;

use super::report::{location, spec_lines, totals};
use super::suite::{CheckReport, ScenarioCheck, Verdict};
use crate::report::chart;
use crate::report::escape::{href, text as esc};

/// `report::html`'s style, with classes for the verdicts a check has besides ok and failed.
const STYLE: &str = "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left} .ok{color:#070} .fail{color:#c00;font-weight:bold} .known{color:#b60} .na{color:#888} pre{background:#f6f6f6;padding:1em;overflow:auto}";

fn class(v: &Verdict) -> &'static str {
    match v {
        Verdict::Pass | Verdict::PartiallyChecked => "ok",
        Verdict::Deviation(_) | Verdict::Invalid(_) | Verdict::LaunchFailed(_) => "fail",
        Verdict::KnownDeviation { .. } => "known",
        Verdict::NotApplicable(_) => "na",
    }
}

/// Writes `dir/index.html` and a page for each scenario that ran.
pub fn write(dir: &Path, report: &CheckReport) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut index = format!(
        "<!doctype html><meta charset=utf-8><title>mqtt-sim check</title><style>{STYLE}</style><h1>mqtt-sim check of {}</h1><p>{}</p><table><tr><th>scenario</th><th>result</th><th>seconds</th></tr>\n",
        esc(&report.broker),
        esc(&totals(report))
    );
    for c in &report.checks {
        let ran = !c.trace.is_empty();
        let name = if ran { format!("<a href=\"{}.html\">{}</a>", href(&c.name), esc(&c.name)) } else { esc(&c.name) };
        let _ = writeln!(
            index,
            "<tr><td>{name}</td><td class={}>{}</td><td>{}</td></tr>",
            class(&c.verdict),
            esc(&c.result()),
            if ran { format!("{:.1}", c.elapsed.as_secs_f64()) } else { String::new() }
        );
        if ran {
            std::fs::write(dir.join(format!("{}.html", c.name)), page(report, c))?;
        }
    }
    index.push_str("</table>\n");
    std::fs::write(dir.join("index.html"), index)
}

fn page(report: &CheckReport, c: &ScenarioCheck) -> String {
    let mut html = format!(
        "<!doctype html><meta charset=utf-8><title>{0}</title><style>{STYLE}</style><p><a href=index.html>all scenarios</a></p><h1>{0}</h1><p><code>{1}</code> against <code>{2}</code></p><h2 class={3}>{4}</h2><h2>{5}</h2><p>{6}</p>",
        esc(&c.name),
        esc(&c.path.display().to_string()),
        esc(&report.broker),
        class(&c.verdict),
        esc(&c.result()),
        esc(&c.title),
        esc(&c.description)
    );
    if !c.spec.is_empty() {
        let items: String = spec_lines(&c.spec).iter().map(|l| format!("<li>{}</li>", esc(l))).collect();
        let _ = write!(html, "<p>checks:</p><ul>{items}</ul>");
    }
    if let Some(d) = c.verdict.deviation() {
        for f in d.all() {
            let breaks: String = spec_lines(&f.spec).iter().map(|l| format!("<li>breaks {}</li>", esc(l))).collect();
            let _ = write!(
                html,
                "<h2>difference</h2><p>{} — {}</p><ul>{breaks}</ul><h3>expected</h3><pre>{}</pre><h3>observed</h3><pre>{}</pre>",
                esc(&location(c, f)),
                esc(&f.summary),
                esc(&f.expected),
                esc(&f.observed)
            );
        }
        let _ = write!(
            html,
            "<p>reproduce: <code>{} {}</code></p>",
            esc(&report.command),
            esc(&c.path.display().to_string())
        );
        if let Verdict::KnownDeviation { known, .. } = &c.verdict {
            let _ = write!(
                html,
                "<p class=known>known for {}: {}</p>",
                esc(report.broker_name.as_deref().unwrap_or("")),
                esc(known)
            );
        }
    }
    for s in &c.skipped {
        let _ = write!(html, "<p class=na>not observable over MQTT, skipped: {}</p>", esc(&s.to_string()));
    }
    for n in &c.notes {
        let _ = write!(html, "<p class=na>{}</p>", esc(n));
    }
    let seen = serde_yaml::to_string(&c.clients).unwrap_or_default();
    let trace: String = c.trace.iter().map(|e| format!("{e}\n")).collect();
    let _ = write!(
        html,
        "<h2>what the clients saw</h2><pre>{}</pre><h2>sequence chart (real time)</h2>{}<h2>trace</h2><pre>{}</pre>",
        esc(&seen),
        chart::render(&c.trace, &format!("{} — {}", c.name, report.broker)),
        esc(&trace)
    );
    html
}
