//! Load and abuse at scale: `mqtt_sim::loadtest` (the plan of `tests/tcp_abuse.rs`, with more
//! connections) against our broker and mosquitto 2.0, each a fresh subprocess with the same
//! settings, in the same run. For each broker it reports how long the run took, how fast each
//! kind of hostile connection was closed, the broker's CPU time, its resident memory before, at
//! the peak and after, and its open files before and after; then ours as a ratio of mosquitto's.
//! Problems (a lost message, a connection left open) are printed, not asserted.
//!
//! The silent kind (a connection that never sends CONNECT) is left out: mosquitto closes it only
//! after about 90 s (its keep-alive check with a default of 60 s, times 1.5), which would dominate
//! the timing. `tests/tcp_abuse.rs` checks ours closes it after `connect_timeout`.
//!
//! ```sh
//! cargo bench --bench load                              # 5,000 connections
//! MQTT_SIM_BENCH_CONNECTIONS=15000 cargo bench --bench load
//! ```
//! Needs `mosquitto` on the PATH and an open-files hard limit above twice the connections.

mod common;

use std::time::{Duration, Instant};

use common::broker_process::{BenchResult, BrokerProcess, Kind};
use mqtt_sim::loadtest::{Abuse, Plan, Report};

/// The settings of both brokers.
const SETTINGS: &str = "persistence false\nmax_packet_size 65536\n";
/// Pause before reading memory after the load, so the broker has finished closing connections.
const SETTLE: Duration = Duration::from_secs(2);

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("load bench: run it with `cargo bench --bench load` (it starts mosquitto and our broker)");
        return;
    }
    let connections = common::count_from_env("MQTT_SIM_BENCH_CONNECTIONS", 5000);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if (limit as usize) < connections + 100 => {
            eprintln!("the open-files limit is {limit}, too low for {connections} connections");
            std::process::exit(2);
        }
        Ok(_) => {}
        Err(e) => eprintln!("could not raise the open-files limit: {e}"),
    }
    let plan = Plan {
        connections,
        pairs: 50,
        messages: 200,
        kinds: Abuse::ALL.into_iter().filter(|k| *k != Abuse::Silent).collect(),
        ..Plan::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let mut rows = Vec::new();
    for kind in [Kind::Ours, Kind::Mosquitto] {
        match runtime.block_on(measure(kind, &plan)) {
            Ok(m) => rows.push((kind, m)),
            Err(e) => {
                eprintln!("{}: {e}", kind.name());
                std::process::exit(1);
            }
        }
    }
    println!(
        "load bench: {connections} connections ({} well-behaved pairs, {} messages each), {} cores\n",
        plan.pairs,
        plan.messages,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for (kind, m) in &rows {
        println!("== {} ==\n{}", kind.name(), m.report.summary());
        let problems = m.report.problems();
        if !problems.is_empty() {
            println!("{} problems, the first: {}\n", problems.len(), problems[0]);
        }
    }
    println!("{:<28} {:>12} {:>12} {:>10}", "", "mqtt-sim", "mosquitto", "ratio");
    let (ours, theirs) = (&rows[0].1, &rows[1].1);
    let line = |name: &str, a: f64, b: f64, unit: &str| {
        println!("{name:<28} {:>12} {:>12} {:>10.2}", format!("{a:.1}{unit}"), format!("{b:.1}{unit}"), a / b);
    };
    line("elapsed", ours.elapsed.as_secs_f64(), theirs.elapsed.as_secs_f64(), " s");
    line("broker CPU", ours.cpu_seconds, theirs.cpu_seconds, " s");
    line("RSS before", mib(ours.rss_before), mib(theirs.rss_before), " MiB");
    line("RSS peak", mib(ours.rss_peak), mib(theirs.rss_peak), " MiB");
    line("RSS after", mib(ours.rss_after), mib(theirs.rss_after), " MiB");
    line("open files before", ours.fds_before as f64, theirs.fds_before as f64, "");
    line("open files after", ours.fds_after as f64, theirs.fds_after as f64, "");
}

struct Measurement {
    report: Report,
    elapsed: Duration,
    cpu_seconds: f64,
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
    fds_before: usize,
    fds_after: usize,
}

async fn measure(kind: Kind, plan: &Plan) -> BenchResult<Measurement> {
    let mut broker = BrokerProcess::start(kind, SETTINGS, &[])?;
    let (rss_before, fds_before, cpu_before) = (broker.rss_bytes()?, broker.open_files()?, broker.cpu_seconds()?);
    let started = Instant::now();
    let report = mqtt_sim::loadtest::run(broker.addr, plan).await;
    let elapsed = started.elapsed();
    tokio::time::sleep(SETTLE).await;
    broker.check_alive()?;
    Ok(Measurement {
        elapsed,
        cpu_seconds: broker.cpu_seconds()? - cpu_before,
        rss_before,
        rss_peak: broker.peak_rss_bytes()?,
        rss_after: broker.rss_bytes()?,
        fds_before,
        fds_after: broker.open_files()?,
        report,
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
