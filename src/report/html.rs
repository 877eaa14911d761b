//! The HTML report: an index with each scenario's outcome, and a page per scenario with its
//! description, failure (if any), sequence chart and trace. It renders the runs it is given
//! and runs nothing itself.

use std::fmt::Write as _;
use std::path::Path;

use super::chart;
use super::escape::{href, text as esc};
use crate::sim::suite::FileReport;

/// Events drawn in a page's chart; `replay --chart` draws a whole run.
const CHART_ROWS: usize = 2000;

const STYLE: &str = "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse} td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left} .ok{color:#070} .fail{color:#c00;font-weight:bold} pre{background:#f6f6f6;padding:1em;overflow:auto}";

/// Writes `dir/index.html` and one page per scenario, from the runs the reports carry.
pub fn write(dir: &Path, reports: &[FileReport]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let failed = reports.iter().filter(|r| !r.passed()).count();
    let summary = format!("{} scenarios: {} passed, {failed} failed", reports.len(), reports.len() - failed);
    let mut index = format!("<!doctype html><meta charset=utf-8><title>mqtt-sim report</title><style>{STYLE}</style><h1>mqtt-sim scenario report</h1><p class={}>{summary}</p><table><tr><th>scenario</th><th>seeds</th><th>result</th><th>delivered</th><th>queued</th><th>dropped</th></tr>\n", if failed > 0 { "fail" } else { "ok" });
    // Failures first, then the rest in the order they were run.
    let mut ordered: Vec<&FileReport> = reports.iter().collect();
    ordered.sort_by_key(|r| r.passed());
    for r in ordered {
        let (d, q, x) = r.counts;
        let (class, result) = if r.passed() { ("ok", "ok") } else { ("fail", "FAILED") };
        let _ = writeln!(
            index,
            "<tr><td><a href=\"{2}.html\">{0}</a></td><td>{1}</td><td class={class}>{result}</td><td>{d}</td><td>{q}</td><td>{x}</td></tr>",
            esc(&r.name),
            r.seeds_run.len(),
            href(&r.name)
        );
        std::fs::write(dir.join(format!("{}.html", r.name)), page(r))?;
    }
    index.push_str("</table>\n");
    let claims: Vec<&FileReport> = reports.iter().filter(|r| r.claim.is_some()).collect();
    if !claims.is_empty() {
        index.push_str(
            "<h2>Claims of the seed article</h2><table><tr><th>claim</th><th>verdict</th><th>shown by</th></tr>\n",
        );
        for r in claims {
            let c = r.claim.as_ref().expect("filtered on claims");
            let (class, verdict) = match (r.passed(), c.holds) {
                (false, _) => ("fail", "not shown: the scenario failed"),
                (true, true) => ("ok", "holds"),
                (true, false) => ("fail", "wrong"),
            };
            let _ = writeln!(
                index,
                "<tr><td>{}</td><td class={class}>{verdict}</td><td><a href=\"{}.html\">{}</a></td></tr>",
                esc(c.quote.trim()),
                href(&r.name),
                esc(&r.name)
            );
        }
        index.push_str("</table>\n");
    }
    std::fs::write(dir.join("index.html"), index)
}

fn page(r: &FileReport) -> String {
    let mut html = format!("<!doctype html><meta charset=utf-8><title>{0}</title><style>{STYLE}</style><p><a href=index.html>all scenarios</a></p><h1>{0}</h1><p><code>{1}</code></p>", esc(&r.name), esc(&r.path.display().to_string()));
    if let Some(text) = r.failure_text() {
        let _ = write!(html, "<h2 class=fail>failed</h2><pre>{}</pre>", esc(&text));
    }
    if !r.title.is_empty() {
        let _ = write!(html, "<h2>{}</h2><p>{}</p>", esc(&r.title), esc(&r.description));
    }
    if !r.spec.is_empty() {
        let _ = write!(html, "<p>checks: {}</p>", esc(&r.spec.join(", ")));
    }
    let Some((seed, events)) = &r.shown else {
        return html;
    };
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    let _ = write!(
        html,
        "<h2>sequence chart (seed {seed})</h2>{}<h2>trace</h2><pre>{}</pre>",
        chart::render_at_most(events, &format!("{} — seed {seed}", r.name), CHART_ROWS),
        esc(&text)
    );
    html
}
