//! Load and abuse over real TCP against a broker at an address: many connections open at once,
//! most of them hostile (see [`Abuse`]), a few pairs of well-behaved persistent sessions
//! exchanging QoS 1 and 2 messages meanwhile. The report says what each connection got, and
//! [`Report::problems`] judges it: the well-behaved sessions lost nothing, saw no QoS 2 duplicate
//! and no reordering, and the broker closed every hostile connection.
//!
//! `tests/tcp_abuse.rs` runs it against our broker in-process with bounded counts and checks
//! memory and file descriptors return to their baseline; `mqtt-sim load` runs it against any
//! broker with bigger numbers. This is real-time code: it is not run inside the simulation.

mod abuse;
mod sessions;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use abuse::{Abuse, AbuseOutcome};
pub use sessions::PairOutcome;

/// What to throw at the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Connections in all, well-behaved and hostile, open at the same moment.
    pub connections: usize,
    /// Well-behaved publisher/subscriber pairs (two connections each).
    pub pairs: usize,
    /// Messages each well-behaved publisher sends, alternating QoS 1 and QoS 2.
    pub messages: u32,
    /// How long a well-behaved subscriber stays away when it drops its connection midway.
    pub offline: Duration,
    /// How long to wait for the broker to close a hostile connection, and for all of a pair's
    /// messages to arrive.
    pub patience: Duration,
    /// Connections opened at once while setting up (the listen backlog is finite).
    pub open_batch: usize,
    /// The kinds of abuse, assigned to hostile connections in turn.
    pub kinds: Vec<Abuse>,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            connections: 1000,
            pairs: 20,
            messages: 100,
            offline: Duration::from_millis(200),
            patience: Duration::from_secs(30),
            open_batch: 100,
            kinds: Abuse::ALL.to_vec(),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Hostile connections that were open at the same moment, before any misbehaved.
    pub hostile_open: usize,
    /// How long opening them took. A broker that closes a connection that sends no CONNECT
    /// within a timeout (`connect_timeout`) closes the first ones opened before they misbehave
    /// if this is longer than that timeout.
    pub opening: Duration,
    /// Hostile connections that could not even be opened, with why.
    pub open_failures: Vec<String>,
    pub pairs: Vec<PairOutcome>,
    pub abusers: Vec<AbuseOutcome>,
    /// From the start of the misbehaviour to the end of the last connection.
    pub elapsed: Duration,
}

/// Runs `plan` against the broker at `addr`.
pub async fn run(addr: SocketAddr, plan: &Plan) -> Report {
    let hostile = plan.connections.saturating_sub(2 * plan.pairs);
    let opening_started = Instant::now();
    // Open every hostile connection first, so they are all open at the same moment.
    let mut opened = Vec::with_capacity(hostile);
    let mut open_failures = Vec::new();
    let mut next = 0;
    while next < hostile {
        let batch = plan.open_batch.max(1).min(hostile - next);
        let mut attempts = JoinSet::new();
        for i in next..next + batch {
            attempts.spawn(async move { (i, abuse::open(addr).await) });
        }
        let mut batch_results = Vec::with_capacity(batch);
        while let Some(joined) = attempts.join_next().await {
            batch_results.push(joined.expect("an open task does not panic"));
        }
        batch_results.sort_by_key(|(i, _)| *i);
        for (i, result) in batch_results {
            match result {
                Ok(o) => opened.push((i, o)),
                Err(e) => open_failures.push(format!("connection {i}: {e}")),
            }
        }
        next += batch;
    }
    let hostile_open = opened.len();
    let opening = opening_started.elapsed();

    let started = Instant::now();
    let go = Arc::new(Barrier::new(opened.len() + plan.pairs + 1));
    let mut abusers = JoinSet::new();
    let kinds = if plan.kinds.is_empty() { Abuse::ALL.to_vec() } else { plan.kinds.clone() };
    for (i, o) in opened {
        let kind = kinds[i % kinds.len()];
        let (go, patience, variant) = (go.clone(), plan.patience, i / kinds.len());
        abusers.spawn(async move {
            go.wait().await;
            abuse::misbehave(kind, variant, o, patience).await
        });
    }
    let mut pairs = JoinSet::new();
    for index in 0..plan.pairs {
        let (go, addr, plan) = (go.clone(), addr.to_string(), plan.clone());
        pairs.spawn(async move {
            go.wait().await;
            sessions::run_pair(addr, index, plan.messages, plan.offline, plan.patience).await
        });
    }
    go.wait().await;
    let mut report = Report {
        hostile_open,
        opening,
        open_failures,
        pairs: Vec::new(),
        abusers: Vec::new(),
        elapsed: Duration::ZERO,
    };
    while let Some(joined) = abusers.join_next().await {
        report.abusers.push(joined.expect("an abuse task does not panic"));
    }
    while let Some(joined) = pairs.join_next().await {
        report.pairs.push(joined.expect("a pair task does not panic"));
    }
    report.elapsed = started.elapsed();
    report.abusers.sort_by_key(|a| (a.kind, a.local_addr));
    report.pairs.sort_by_key(|p| p.index);
    report
}

impl Report {
    /// Everything that broke a promise, one line each; empty when the broker held up.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self.open_failures.iter().map(|e| format!("could not open {e}")).collect();
        for p in &self.pairs {
            let who = format!("pair {}", p.index);
            problems.extend(p.errors.iter().map(|e| format!("{who}: {e}")));
            if !p.missing.is_empty() {
                problems.push(format!(
                    "{who}: {} acknowledged messages never delivered: {:?}",
                    p.missing.len(),
                    p.missing
                ));
            }
            if p.qos2_duplicates > 0 {
                problems.push(format!("{who}: {} QoS 2 messages delivered twice [MQTT-4.3.3-2]", p.qos2_duplicates));
            }
            if p.out_of_order > 0 {
                problems.push(format!("{who}: {} messages out of order [MQTT-4.6.0-5]", p.out_of_order));
            }
            if p.wrong_qos > 0 {
                problems.push(format!("{who}: {} messages at the wrong QoS", p.wrong_qos));
            }
            if !p.resumed && p.errors.is_empty() {
                problems.push(format!("{who}: the subscriber's session was not resumed [MQTT-3.2.2-2]"));
            }
        }
        for a in &self.abusers {
            if let Some(e) = &a.error {
                problems.push(format!("{} connection from {}: {e}", a.kind, a.local_addr));
            } else if a.closed_after.is_none() {
                problems
                    .push(format!("{} connection from {} still open after the patience ran out", a.kind, a.local_addr));
            }
        }
        problems
    }

    /// A table for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ =
            writeln!(out, "hostile connections open at once: {} (opened in {:.2?})", self.hostile_open, self.opening);
        let _ = writeln!(out, "elapsed: {:.2?}", self.elapsed);
        let _ =
            writeln!(out, "\n{:<22} {:>6} {:>7} {:>11} {:>11}", "hostile kind", "count", "closed", "median", "slowest");
        let mut by_kind: BTreeMap<Abuse, Vec<&AbuseOutcome>> = BTreeMap::new();
        for a in &self.abusers {
            by_kind.entry(a.kind).or_default().push(a);
        }
        for (kind, all) in &by_kind {
            let mut times: Vec<Duration> = all.iter().filter_map(|a| a.closed_after).collect();
            times.sort();
            let median = times.get(times.len() / 2).map(|d| format!("{d:.1?}")).unwrap_or_else(|| "-".into());
            let slowest = times.last().map(|d| format!("{d:.1?}")).unwrap_or_else(|| "-".into());
            let _ =
                writeln!(out, "{:<22} {:>6} {:>7} {:>11} {:>11}", kind.name(), all.len(), times.len(), median, slowest);
        }
        let sum = |f: fn(&PairOutcome) -> usize| self.pairs.iter().map(f).sum::<usize>();
        let _ = writeln!(
            out,
            "\nwell-behaved pairs: {}; published {}, delivered {}, missing {}, QoS 2 duplicates {}, QoS 1 redeliveries {}, out of order {}, resumed {}/{}",
            self.pairs.len(),
            sum(|p| p.published),
            sum(|p| p.delivered),
            sum(|p| p.missing.len()),
            sum(|p| p.qos2_duplicates),
            sum(|p| p.qos1_redeliveries),
            sum(|p| p.out_of_order),
            self.pairs.iter().filter(|p| p.resumed).count(),
            self.pairs.len(),
        );
        out
    }
}
