//! What durability costs: QoS 1 publication to an offline persistent session, and the recovery
//! of a long queue after a restart, for our broker and mosquitto 2.0 in the same run, each
//! measurement on a fresh subprocess with the same settings (`max_queued_messages 0`, so nothing
//! is dropped; the default inflight window of 20).
//!
//! 1. Throughput and latency. A subscriber with clean session 0 subscribes to `bench/#` at QoS 1
//!    and disconnects, so every publication is queued for an offline persistent session (and, if
//!    the broker persists, must be persisted); then a publisher sends QoS 1 messages of
//!    [`PAYLOAD_LEN`] bytes and waits for every PUBACK: `MQTT_SIM_BENCH_MESSAGES` (default
//!    20,000) with up to [`WINDOW`] in flight for the throughput, `MQTT_SIM_BENCH_LATENCY_MESSAGES`
//!    (default 2,000) one at a time for the latency (p50 and p99 of the PUBACK round trip). Then
//!    the subscriber reconnects and must get every message, in order. The setups:
//!    - ours in memory (`persistence false`) and durable (`persistence true` with
//!      `persistence_sync true`: each change is appended to a log synced before its PUBACK);
//!    - mosquitto in memory, and with `persistence true` and its default `autosave_interval` of
//!      1800 s: the configuration people run, which writes nothing during the run. mosquitto has
//!      no mode that syncs before acknowledging; the closest, `autosave_interval 1` with
//!      `autosave_on_changes true` (the whole database written again after every change, so
//!      quadratic), runs with `MQTT_SIM_BENCH_EACH_CHANGE_MESSAGES` (default 2,000) messages, and
//!      ours durable runs again with as many for the ratio.
//! 2. Recovery. Messages are queued for the offline session, the broker is stopped and started
//!    again with the same configuration and files: ours durable with SIGKILL (a crash),
//!    mosquitto with SIGTERM so that it saves (after SIGKILL its default autosave keeps nothing),
//!    and ours with `persistence true` alone with SIGTERM, as mosquitto. Measured from the spawn:
//!    the subscriber's CONNACK with session present, and its last queued message; also the files
//!    on disk before and after the stop. First with `MQTT_SIM_BENCH_DURABLE_RECOVERY` (default
//!    10,000) messages: each of ours durable's commits rewrites the whole changed session (one
//!    commit for up to 256 inputs that arrived together), so queueing (and redelivering) takes
//!    time quadratic in the queue's length. Then with `MQTT_SIM_BENCH_RECOVERY` (default 100,000), where ours durable
//!    restarts from the snapshot ours with `persistence true` saved (the files durable mode leaves
//!    too for a session over 4 MiB) and redelivers for at most [`DURABLE_DRAIN_BUDGET`].
//!
//! Ratios are ours / mosquitto: above 1 means ours is faster for rates, slower for times.
//! Problems (a lost or reordered message, a session not present, nothing on disk) are printed,
//! not asserted; a measurement over [`TIME_LIMIT`] is reported as failed.
//!
//! ```sh
//! cargo bench --bench durable
//! MQTT_SIM_BENCH_MESSAGES=5000 MQTT_SIM_BENCH_RECOVERY=20000 cargo bench --bench durable
//! ```
//! Needs `mosquitto` on the PATH (Debian: `apt-get install mosquitto`); skips without it. With
//! the defaults it takes about five minutes on 2 cores, most of it ours durable's 20,000-message
//! run and its 60 s redelivery budget.

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mqtt_sim::protocol::{Publish, QoS};
use nix::sys::signal::Signal;

use common::broker_process::{BenchResult, BrokerProcess, Kind};
use common::raw_client::{consume, publish_qos1, Client, Published};
use common::{count_from_env, load_average};

/// Settings every setup shares: no queue limit, the default inflight window.
const COMMON_SETTINGS: &str = "max_queued_messages 0\nmax_inflight_messages 20\n";
/// The subscriber's filter and the publisher's topic.
const FILTER: &str = "bench/#";
const TOPIC: &str = "bench/durable/data";
const SUBSCRIBER: &str = "bench-durable-sub";
const PUBLISHER: &str = "bench-durable-pub";
/// Bytes of every payload: its sequence number (8 bytes, big-endian), then filler.
const PAYLOAD_LEN: usize = 32;
/// Unacknowledged QoS 1 PUBLISHes in the throughput runs.
const WINDOW: u64 = 64;
/// Pause after the subscriber's DISCONNECT, so the broker has taken its session offline before
/// the publisher starts (the two connections are not ordered otherwise).
const SETTLE: Duration = Duration::from_millis(200);
/// A subscriber that hears nothing for this long stops waiting for the rest.
const IDLE: Duration = Duration::from_secs(20);
/// Hard limit on one measurement.
const TIME_LIMIT: Duration = Duration::from_secs(3600);
/// How long a stopped broker may take to exit (mosquitto saves on SIGTERM).
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long ours durable may take to redeliver a queue it did not build itself (part 2's largest):
/// each PUBACK commits the whole remaining session again, so it would take hours.
const DURABLE_DRAIN_BUDGET: Duration = Duration::from_secs(60);
/// Pause between connection attempts to a restarting broker.
const RETRY: Duration = Duration::from_millis(2);

/// One broker configuration under test.
struct Setup {
    name: &'static str,
    kind: Kind,
    /// Settings after [`COMMON_SETTINGS`].
    settings: &'static str,
    saves: Saves,
}

/// When a setup writes its state to disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Saves {
    Never,
    /// At a clean exit (or an autosave, every 1800 s by default): nothing during a run.
    AtExit,
    /// After every change (durable mode before its acknowledgement; mosquitto's
    /// `autosave_on_changes` after it).
    EveryChange,
}

const OURS_MEMORY: Setup =
    Setup { name: "ours, in memory", kind: Kind::Ours, settings: "persistence false\n", saves: Saves::Never };
const OURS_DURABLE: Setup = Setup {
    name: "ours, durable (log synced before PUBACK)",
    kind: Kind::Ours,
    settings: "persistence true\npersistence_sync true\n",
    saves: Saves::EveryChange,
};
const OURS_SNAPSHOT: Setup = Setup {
    name: "ours, persistence true (saves at exit)",
    kind: Kind::Ours,
    settings: "persistence true\n",
    saves: Saves::AtExit,
};
const MOSQUITTO_MEMORY: Setup =
    Setup { name: "mosquitto, in memory", kind: Kind::Mosquitto, settings: "persistence false\n", saves: Saves::Never };
const MOSQUITTO_PERSISTENT: Setup = Setup {
    name: "mosquitto, persistence true (autosave 1800 s)",
    kind: Kind::Mosquitto,
    settings: "persistence true\n",
    saves: Saves::AtExit,
};
const MOSQUITTO_EACH_CHANGE: Setup = Setup {
    name: "mosquitto, saves after every change",
    kind: Kind::Mosquitto,
    settings: "persistence true\nautosave_interval 1\nautosave_on_changes true\n",
    saves: Saves::EveryChange,
};

impl Setup {
    /// A fresh broker process with this setup.
    fn start(&self) -> BenchResult<BrokerProcess> {
        BrokerProcess::start_with_data(self.kind, |data| self.conf(data), &[])
    }

    /// The broker's settings, given the directory for its files.
    fn conf(&self, data: &Path) -> String {
        let location = match self.saves {
            Saves::Never => String::new(),
            Saves::AtExit | Saves::EveryChange => format!("persistence_location {}/\n", data.display()),
        };
        format!("{COMMON_SETTINGS}{}{location}", self.settings)
    }
}

/// The message counts, from the environment.
struct Counts {
    messages: u64,
    latency: u64,
    each_change: u64,
    durable_recovery: u64,
    recovery: u64,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("durable bench: run it with `cargo bench --bench durable` (it starts mosquitto and our broker)");
        return;
    }
    if !on_path("mosquitto") {
        println!("durable bench: skipped, mosquitto is not on the PATH (Debian: apt-get install mosquitto)");
        return;
    }
    let count = |name, default| count_from_env(name, default) as u64;
    let counts = Counts {
        messages: count("MQTT_SIM_BENCH_MESSAGES", 20_000),
        latency: count("MQTT_SIM_BENCH_LATENCY_MESSAGES", 2_000),
        each_change: count("MQTT_SIM_BENCH_EACH_CHANGE_MESSAGES", 2_000),
        durable_recovery: count("MQTT_SIM_BENCH_DURABLE_RECOVERY", 10_000),
        recovery: count("MQTT_SIM_BENCH_RECOVERY", 100_000),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    runtime.block_on(bench(&counts));
}

/// Whether an executable `name` is in a directory of `PATH`.
fn on_path(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(name).is_file())
}

async fn bench(counts: &Counts) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("durable bench: QoS 1 to an offline persistent session, payload {PAYLOAD_LEN} B, {cpus} CPUs");
    println!(
        "scratch directories under {} ({})\n",
        std::env::temp_dir().display(),
        filesystem_of(&std::env::temp_dir())
    );
    let load_before = load_average();
    throughput_and_latency(counts).await;
    recovery(counts.durable_recovery, counts.recovery).await;
    println!("\nload average {load_before} before, {} after, on {cpus} CPUs", load_average());
}

/// One line of part 1: a setup's throughput run and latency run.
struct Row {
    label: String,
    throughput: BenchResult<Run>,
    latency: BenchResult<Run>,
}

impl Row {
    /// Measures `setup` with `n` messages for the throughput and `latency_n` for the latency.
    async fn measure(setup: &Setup, n: u64, latency_n: u64) -> Row {
        let label = format!("{} [{n}]", setup.name);
        let throughput = measure(&label, run(setup, n, WINDOW)).await;
        let latency = measure(&format!("{} [{latency_n}], window 1", setup.name), run(setup, latency_n, 1)).await;
        Row { label, throughput, latency }
    }

    /// The line, then the problems of its runs under it.
    fn print(&self) {
        let rate = self.throughput.as_ref().map_or("failed".to_owned(), |r| format!("{:.0}", r.rate()));
        let (p50, p99) = match &self.latency {
            Ok(r) => (format!("{:.0}", r.percentile_us(0.5)), format!("{:.0}", r.percentile_us(0.99))),
            Err(_) => ("failed".to_owned(), "failed".to_owned()),
        };
        let (drain, disk) = match &self.throughput {
            Ok(r) => (format!("{:.0}", r.delivery.rate()), format!("{}; {}", r.files_summary(), r.delivery.summary())),
            Err(_) => ("-".to_owned(), String::new()),
        };
        println!("{:<56} {rate:>10} {p50:>9} {p99:>9} {drain:>9}  {disk}", self.label);
        for (what, result) in [("throughput", &self.throughput), ("latency", &self.latency)] {
            match result {
                Err(e) => println!("    {what} run FAILED: {e}"),
                Ok(r) => {
                    for problem in r.problems() {
                        println!("    {what} run: {problem}");
                    }
                }
            }
        }
    }
}

/// `f` of ours over `f` of mosquitto, if both were measured.
fn ratio(ours: &BenchResult<Run>, theirs: &BenchResult<Run>, f: fn(&Run) -> f64) -> String {
    match (ours, theirs) {
        (Ok(a), Ok(b)) => ratio_text(f(a) / f(b)),
        _ => "-".to_owned(),
    }
}

/// Part 1: every setup's throughput (window [`WINDOW`]) and latency (window 1), then ratios.
async fn throughput_and_latency(counts: &Counts) {
    let (n, latency_n, each) = (counts.messages, counts.latency, counts.each_change);
    let mut rows = Vec::new();
    for setup in [&OURS_MEMORY, &OURS_DURABLE, &MOSQUITTO_MEMORY, &MOSQUITTO_PERSISTENT] {
        rows.push(Row::measure(setup, n, latency_n).await);
    }
    for setup in [&OURS_DURABLE, &MOSQUITTO_EACH_CHANGE] {
        rows.push(Row::measure(setup, each, each.min(latency_n)).await);
    }

    println!(
        "\n== 1. QoS 1 to an offline persistent session: throughput ({WINDOW} in flight) and PUBACK round trip =="
    );
    println!("[n]: messages of the throughput run; the latency runs send {latency_n} (at most), one at a time.");
    println!("drain/s: the subscriber's rate when it reconnects for the messages of the throughput run.");
    println!(
        "{:<56} {:>10} {:>9} {:>9} {:>9}  on disk after the last PUBACK; redelivery",
        "setup [messages]", "msgs/s", "p50 us", "p99 us", "drain/s"
    );
    for row in &rows {
        row.print();
    }
    println!("mosquitto has no mode that syncs to disk before its PUBACK. With its default autosave (1800 s) nothing");
    println!(
        "reaches the disk during the run. With `autosave_interval 1` + `autosave_on_changes true` it rewrites and"
    );
    println!("fsyncs the whole database after every change (quadratic, hence the smaller count), but after sending");
    println!("the PUBACK (strace of 2.0.11: write of the PUBACK, then fsync and rename of mosquitto.db.new).");

    let pairs = [
        ("in memory", 0, 2),
        ("ours durable / mosquitto persistence true (autosave 1800 s)", 1, 3),
        ("ours durable / mosquitto saving after every change", 4, 5),
    ];
    println!("\nratios ours / mosquitto (msgs/s: above 1 = ours faster; p50, p99: above 1 = ours slower)");
    println!("{:<62} {:>10} {:>9} {:>9}", "", "msgs/s", "p50", "p99");
    for (name, a, b) in pairs {
        let (ours, theirs) = (&rows[a], &rows[b]);
        println!(
            "{name:<62} {:>10} {:>9} {:>9}",
            ratio(&ours.throughput, &theirs.throughput, Run::rate),
            ratio(&ours.latency, &theirs.latency, |r| r.percentile_us(0.5)),
            ratio(&ours.latency, &theirs.latency, |r| r.percentile_us(0.99))
        );
    }
}

/// Runs `f` with [`TIME_LIMIT`], printing how it went on standard error as it finishes.
async fn measure<T>(label: &str, f: impl Future<Output = BenchResult<T>>) -> BenchResult<T> {
    eprintln!("{label} ...");
    let started = Instant::now();
    let result = tokio::time::timeout(TIME_LIMIT, f).await.unwrap_or_else(|_| Err(format!("over {TIME_LIMIT:?}")));
    match &result {
        Ok(_) => eprintln!("{label}: done in {:.1} s", started.elapsed().as_secs_f64()),
        Err(e) => eprintln!("{label}: FAILED after {:.1} s: {e}", started.elapsed().as_secs_f64()),
    }
    result
}

/// One publication run on a fresh broker, and the subscriber's redelivery after it.
struct Run {
    published: Published,
    /// From the publisher's first PUBLISH to its last PUBACK.
    elapsed: Duration,
    /// The broker's files once the last PUBACK came.
    files: Vec<(String, u64)>,
    saves: Saves,
    delivery: Delivery,
}

impl Run {
    fn rate(&self) -> f64 {
        self.published.acked as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p` quantile (0 to 1) of the PUBACK round trips, in microseconds.
    fn percentile_us(&self, p: f64) -> f64 {
        let mut sorted = self.published.round_trips.clone();
        sorted.sort();
        let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
        sorted.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e6)
    }

    /// The files after the last PUBACK, and whether that is what the setup promises.
    fn files_summary(&self) -> String {
        match (self.saves, self.files.is_empty()) {
            (Saves::AtExit, true) => "no file (as expected: saves at exit)".to_owned(),
            _ => files(&self.files),
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut problems = self.delivery.problems();
        if self.saves == Saves::EveryChange && self.files.iter().all(|(_, len)| *len == 0) {
            problems.push("nothing on disk after the last PUBACK".to_owned());
        }
        problems
    }
}

/// Queues `n` messages (`window` in flight) for the offline session of a fresh broker with
/// `setup`, then reconnects the subscriber and receives them.
async fn run(setup: &Setup, n: u64, window: u64) -> BenchResult<Run> {
    let mut broker = setup.start()?;
    let (published, elapsed) = queue_for_offline_session(broker.addr, n, window).await?;
    let files = broker.data_files()?;
    let started = Instant::now();
    let (mut sub, present) = Client::connect(broker.addr, SUBSCRIBER, false).await?;
    let delivery = receive_in_order(&mut sub, n, present, started, TIME_LIMIT).await?;
    sub.disconnect().await;
    broker.check_alive()?;
    Ok(Run { published, elapsed, files, saves: setup.saves, delivery })
}

/// Creates the subscriber's persistent session (clean session 0, `bench/#` at QoS 1), takes it
/// offline, and publishes `n` QoS 1 messages with up to `window` unacknowledged; returns the
/// PUBACKs and the time from the first PUBLISH to the last PUBACK.
async fn queue_for_offline_session(addr: SocketAddr, n: u64, window: u64) -> BenchResult<(Published, Duration)> {
    let (mut sub, _) = Client::connect(addr, SUBSCRIBER, false).await?;
    sub.subscribe(FILTER, QoS::AtLeastOnce).await?;
    sub.disconnect().await;
    tokio::time::sleep(SETTLE).await;
    let (mut publisher, _) = Client::connect(addr, PUBLISHER, true).await?;
    let started = Instant::now();
    let published = publish_qos1(&mut publisher, TOPIC, n, window, payload).await?;
    let elapsed = started.elapsed();
    publisher.disconnect().await;
    if published.acked != n {
        return Err(format!("{} PUBACKs for {n} messages", published.acked));
    }
    Ok((published, elapsed))
}

/// The `seq`th message's payload: `seq` big-endian, then filler up to [`PAYLOAD_LEN`].
fn payload(seq: u64) -> Bytes {
    let mut bytes = seq.to_be_bytes().to_vec();
    bytes.resize(PAYLOAD_LEN, b'x');
    Bytes::from(bytes)
}

/// The sequence numbers a subscriber received, against 0, 1, 2...
#[derive(Default)]
struct Order {
    received: u64,
    /// The sequence number expected next.
    next: u64,
    /// Messages received in sequence (each the one after the last).
    in_order: u64,
    /// Messages received again, or after a later one.
    behind: u64,
    /// Messages skipped over (a later one came first).
    skipped: u64,
    /// When the last message came.
    last: Option<Instant>,
}

impl Order {
    fn note(&mut self, p: &Publish) {
        let seq = p.payload.get(..8).map_or(u64::MAX, |b| u64::from_be_bytes(b.try_into().expect("8 bytes")));
        self.received += 1;
        self.last = Some(Instant::now());
        if seq == self.next {
            self.in_order += 1;
            self.next += 1;
        } else if seq < self.next {
            self.behind += 1;
        } else {
            self.skipped += seq - self.next;
            self.next = seq.saturating_add(1);
        }
    }
}

/// What the subscriber got when it came back for `expected` messages.
struct Delivery {
    expected: u64,
    session_present: bool,
    order: Order,
    /// Whether it waited for all of them (not stopped by its time budget).
    complete: bool,
    /// From the start of the measurement to the last message received.
    elapsed: Duration,
}

impl Delivery {
    fn rate(&self) -> f64 {
        self.order.received as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn summary(&self) -> String {
        let o = &self.order;
        match (self.problems().is_empty(), self.complete) {
            (true, _) => format!("all {} redelivered in order", self.expected),
            (false, true) => format!("{} of {} redelivered, {} in order", o.received, self.expected, o.in_order),
            (false, false) => format!(
                "{} of {} redelivered in {:.0} s ({} in order), then the time budget ran out",
                o.received,
                self.expected,
                self.elapsed.as_secs_f64(),
                o.in_order
            ),
        }
    }

    fn problems(&self) -> Vec<String> {
        let o = &self.order;
        let mut problems = Vec::new();
        if !self.session_present {
            problems.push("CONNACK on reconnection without session present".to_owned());
        }
        if o.behind > 0 || o.skipped > 0 || (self.complete && o.in_order != self.expected) {
            problems.push(format!(
                "redelivery: {} of {} received, {} in order, {} skipped over, {} repeated or late",
                o.received, self.expected, o.in_order, o.skipped, o.behind
            ));
        }
        if !self.complete {
            problems.push(format!("redelivery stopped after {:.0} s, its time budget", self.elapsed.as_secs_f64()));
        }
        problems
    }
}

/// Receives up to `expected` messages on `sub` and checks their sequence numbers, for at most
/// `budget` and stopping after [`IDLE`] of silence; times from `started`.
async fn receive_in_order(
    sub: &mut Client,
    expected: u64,
    present: bool,
    started: Instant,
    budget: Duration,
) -> BenchResult<Delivery> {
    let mut order = Order::default();
    let complete = match tokio::time::timeout(budget, consume(sub, expected, IDLE, |p| order.note(p))).await {
        Ok(received) => received.map(|_| true)?,
        Err(_) => false,
    };
    let elapsed = order.last.map_or(Duration::ZERO, |t| t - started);
    Ok(Delivery { expected, session_present: present, order, complete, elapsed })
}

/// One recovery measurement's plan: queue `n` messages on a broker with `queue_as`, stop it with
/// `signal`, and start it again with `restart_as` (the same setup, or ours durable restarting
/// from the files ours with `persistence true` saved).
struct Case {
    queue_as: &'static Setup,
    signal: Signal,
    restart_as: &'static Setup,
    n: u64,
    /// How long the subscriber may take to receive them all.
    budget: Duration,
}

impl Case {
    fn same(setup: &'static Setup, signal: Signal, n: u64) -> Case {
        Case { queue_as: setup, signal, restart_as: setup, n, budget: TIME_LIMIT }
    }

    fn name(&self) -> String {
        match std::ptr::eq(self.queue_as, self.restart_as) {
            true => self.restart_as.name.to_owned(),
            false => format!("{}, from files queued by persistence true", self.restart_as.name),
        }
    }
}

/// Part 2: recovery of a long queue after a restart. Ours durable queues for real at
/// `durable_n`: its time to queue grows with the square of the queue's length. If `n` is larger,
/// all three run again with `n` messages, ours durable restarting from the files ours with
/// `persistence true` saved at SIGTERM: those durable mode leaves too once a session is over the
/// 4 MiB at which its log is folded into the snapshot after each commit.
async fn recovery(durable_n: u64, n: u64) {
    let mut sizes = vec![durable_n.min(n)];
    if durable_n < n {
        sizes.push(n);
    }
    for n in sizes {
        let ours_durable = match n <= durable_n {
            true => Case::same(&OURS_DURABLE, Signal::SIGKILL, n),
            false => Case {
                queue_as: &OURS_SNAPSHOT,
                signal: Signal::SIGTERM,
                restart_as: &OURS_DURABLE,
                n,
                budget: DURABLE_DRAIN_BUDGET,
            },
        };
        let cases = [
            ours_durable,
            Case::same(&OURS_SNAPSHOT, Signal::SIGTERM, n),
            Case::same(&MOSQUITTO_PERSISTENT, Signal::SIGTERM, n),
        ];
        let mut results = Vec::new();
        for case in &cases {
            let label = format!("recovery, {} [{n}], {}", case.name(), case.signal);
            results.push(measure(&label, recover(case)).await);
        }
        print_recovery(n, &cases, &results);
    }
}

/// Part 2's table for `n` messages, and ratios.
fn print_recovery(n: u64, cases: &[Case], results: &[BenchResult<Recovery>]) {
    println!("\n== 2. Recovery of {n} queued QoS 1 messages: stop, restart with the same configuration and files ==");
    println!("mosquitto is stopped with SIGTERM, so it saves: with its default autosave (1800 s) a SIGKILL loses the");
    println!("session and every queued message. Times are from the restarted process's spawn.");
    if cases.iter().any(|c| !std::ptr::eq(c.queue_as, c.restart_as)) {
        println!("Ours durable is not given {n} messages to queue: each commit rewrites the whole session (quadratic,");
        println!(
            "too long at this length). They are queued by ours with persistence true and saved at SIGTERM, then it"
        );
        println!(
            "restarts in durable mode from that snapshot, which is what durable mode leaves too once a session is"
        );
        println!("over 4 MiB (its log is folded into the snapshot after every commit). Each PUBACK of the redelivery");
        println!("commits the whole remaining session again, so it has {DURABLE_DRAIN_BUDGET:?} to show its rate.");
    }
    println!(
        "{:<82} {:>7} {:>10} {:>9} {:>12} {:>10}  files before stop -> after; redelivery",
        "setup", "signal", "queued in", "exit", "CONNACK s.p.", "all in"
    );
    for (case, result) in cases.iter().zip(results) {
        match result {
            Ok(r) => {
                let all_in = match r.delivery.complete {
                    true => format!("{:.2} s", r.delivery.elapsed.as_secs_f64()),
                    false => "not yet".to_owned(),
                };
                println!(
                    "{:<82} {:>7} {:>8.1} s {:>6.0} ms {:>9.0} ms {all_in:>10}  {} -> {}; {}",
                    case.name(),
                    case.signal.as_str(),
                    r.queued.as_secs_f64(),
                    r.exit.as_secs_f64() * 1e3,
                    r.to_connack.as_secs_f64() * 1e3,
                    files(&r.files_before),
                    files(&r.files_after),
                    r.delivery.summary()
                );
                for problem in r.problems() {
                    println!("    {problem}");
                }
            }
            Err(e) => println!("{:<82} {:>7} FAILED: {e}", case.name(), case.signal.as_str()),
        }
    }
    println!("ratios ours / mosquitto (above 1 = ours slower or bigger)");
    println!("{:<82} {:>12} {:>10} {:>12}", "", "CONNACK s.p.", "all in", "bytes on disk");
    let mosquitto = &results[2];
    for (case, result) in cases.iter().zip(results).take(2) {
        let ratio = |f: fn(&Recovery) -> f64| match (result, mosquitto) {
            (Ok(a), Ok(b)) => ratio_text(f(a) / f(b)),
            _ => "-".to_owned(),
        };
        let all_in = match result {
            Ok(r) if !r.delivery.complete => "(budget)".to_owned(),
            _ => ratio(|r| r.delivery.elapsed.as_secs_f64()),
        };
        println!(
            "{:<82} {:>12} {:>10} {:>12}",
            case.name(),
            ratio(|r| r.to_connack.as_secs_f64()),
            all_in,
            ratio(|r| r.files_after.iter().map(|(_, len)| *len as f64).sum())
        );
    }
}

/// One recovery measurement.
struct Recovery {
    /// How long queueing the messages took.
    queued: Duration,
    files_before: Vec<(String, u64)>,
    /// From the signal to the process's exit.
    exit: Duration,
    files_after: Vec<(String, u64)>,
    /// From the spawn to the subscriber's CONNACK.
    to_connack: Duration,
    /// Timed from the spawn.
    delivery: Delivery,
}

impl Recovery {
    fn problems(&self) -> Vec<String> {
        let mut problems = self.delivery.problems();
        if self.files_after.iter().all(|(_, len)| *len == 0) {
            problems.push("nothing on disk after the stop".to_owned());
        }
        problems
    }
}

/// Runs `case` on a fresh broker: queues its messages for the offline session, stops the broker,
/// starts it again and receives them.
async fn recover(case: &Case) -> BenchResult<Recovery> {
    let mut broker = case.queue_as.start()?;
    let (_, queued) = queue_for_offline_session(broker.addr, case.n, WINDOW).await?;
    let files_before = broker.data_files()?;
    let exit = broker.stop(case.signal, STOP_TIMEOUT)?;
    let files_after = broker.data_files()?;
    broker.reconfigure(|data| case.restart_as.conf(data))?;
    let spawned = broker.restart()?;
    let (mut sub, present) = connect_after_restart(&mut broker, SUBSCRIBER).await?;
    let to_connack = spawned.elapsed();
    let delivery = receive_in_order(&mut sub, case.n, present, spawned, case.budget).await?;
    sub.disconnect().await;
    broker.check_alive()?;
    Ok(Recovery { queued, files_before, exit, files_after, to_connack, delivery })
}

/// Connects `client_id` with clean session 0 as soon as the restarted `broker` answers, trying
/// again every [`RETRY`] while it does not listen yet.
async fn connect_after_restart(broker: &mut BrokerProcess, client_id: &str) -> BenchResult<(Client, bool)> {
    loop {
        match Client::connect(broker.addr, client_id, false).await {
            Ok(connected) => return Ok(connected),
            Err(e) => {
                broker.check_alive().map_err(|dead| format!("{dead} (last connection attempt: {e})"))?;
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// A ratio with two significant digits at least (0.00023, not 0.00).
fn ratio_text(ratio: f64) -> String {
    let decimals = if ratio > 0.0 && ratio < 1.0 { (1 - ratio.log10().floor() as i32).max(2) as usize } else { 2 };
    format!("{ratio:.decimals$}")
}

/// The files as `name size, ...`, or `no file`.
fn files(files: &[(String, u64)]) -> String {
    if files.is_empty() {
        return "no file".to_owned();
    }
    let each: Vec<String> = files.iter().map(|(name, len)| format!("{name} {}", size(*len))).collect();
    each.join(", ")
}

/// A size in bytes, kB or MB (powers of 1000).
fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// The type of the file system `path` is on (from /proc/self/mounts: its longest mount point).
fn filesystem_of(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() > 2 && path.starts_with(fields[1])).then(|| (fields[1].len(), fields[2].to_owned()))
        })
        .max()
        .map_or("file system unknown".to_owned(), |(_, fs)| fs)
}
