//! Broker throughput and memory: our broker against mosquitto 2.0, the same load in the same run.
//!
//! Both brokers run as subprocesses on free loopback ports: `mqtt-sim broker` (built by the bench
//! profile, so optimised) and `mosquitto -c <temp config>`, each with `max_queued_messages 0` (no
//! queue limit, so nothing is dropped and both deliver everything) and the default inflight window
//! of 20. mosquitto keeps its default `set_tcp_nodelay false` although our broker sets TCP_NODELAY:
//! mosquitto writes one packet per system call, and with `true` it measured about half as fast.
//! The load generator is written with tokio and our own codec (`PacketReader`/`PacketWriter`);
//! publishers pipeline (QoS 0 in batches, QoS 1 with up to [`PUBLISH_WINDOW`] unacknowledged),
//! subscribers PUBACK every QoS 1 message.
//!
//! Scenarios (message counts scale with `MQTT_SIM_BENCH_SCALE`, default 1):
//! 1. one publisher to one subscriber, QoS 0; 2. the same at QoS 1;
//! 3. fan-out, one publisher to 50 subscribers, QoS 0 (deliveries per second in total);
//! 4. fan-in, 50 publishers to one subscriber, QoS 0 and QoS 1;
//! 5. an offline persistent session with 100,000 queued QoS 1 messages: the broker's VmRSS growth
//!    per queued message, then the drain rate when the session reconnects. Each measurement of
//!    this one starts a fresh broker process, so memory freed by earlier load cannot hide growth.
//!
//! Rates are messages received by the subscribers divided by the time from the publishers' start
//! to the last message received. Each broker is warmed up once, every measurement runs
//! [`RUNS`] times alternating between the brokers, and the table shows the medians. Every run has a
//! hard timeout; a failed run is reported, not retried. Timings are printed, never asserted. The
//! table ends with each long-lived broker's peak VmRSS (VmHWM) over scenarios 1-4: neither stops
//! reading a publisher that outpaces its subscribers, so this shows how much each buffered.
//!
//! Run with `cargo bench --bench broker`; needs `mosquitto` on the PATH (Debian: `apt-get install
//! mosquitto`). Without `--bench` (as under `cargo test --benches`) it only prints how to run it.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mqtt_sim::protocol::{Packet, Publish, QoS};
use tokio::task::JoinSet;

mod common;
use common::broker_process::{BenchResult, BrokerProcess, Kind};
use common::load_average;
use common::raw_client::{consume, publish_qos1, Client};

/// The settings of both brokers: no queue limit (nothing dropped, both deliver everything), the
/// default inflight window.
const SETTINGS: &str = "persistence false\nmax_queued_messages 0\nmax_inflight_messages 20\n";

/// Measurements per cell; the table shows the median.
const RUNS: usize = 3;
/// Payload of every message, in bytes.
const PAYLOAD_LEN: usize = 64;
/// Unacknowledged QoS 1 PUBLISHes a publisher keeps in flight.
const PUBLISH_WINDOW: u64 = 100;
/// QoS 0 PUBLISHes encoded per write.
const QOS0_BATCH: u64 = 100;
/// A subscriber that hears nothing for this long stops counting (only lost QoS 0 can cause it).
const IDLE: Duration = Duration::from_secs(3);
/// Hard limit on one measurement, connection setup included, at scale 1 (it grows with the scale).
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause before reading VmRSS, so the broker has finished what it was doing.
const SETTLE: Duration = Duration::from_millis(300);
/// Clients in the fan-out and fan-in scenarios.
const FAN: usize = 50;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("broker bench: run it with `cargo bench --bench broker` (it starts mosquitto and our broker)");
        return;
    }
    let scale = match std::env::var("MQTT_SIM_BENCH_SCALE") {
        Ok(s) => match s.parse::<f64>() {
            Ok(v) if v > 0.0 && v.is_finite() => v,
            _ => {
                eprintln!("MQTT_SIM_BENCH_SCALE must be a positive number, got {s:?}");
                std::process::exit(2);
            }
        },
        Err(_) => 1.0,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    // Returning (rather than exiting) from `bench` lets every broker process be dropped, so killed.
    if let Err(e) = runtime.block_on(bench(scale)) {
        eprintln!("broker bench: {e}");
        std::process::exit(1);
    }
}

/// A message count scaled by `MQTT_SIM_BENCH_SCALE`, at least 1.
fn scaled(n: u64, scale: f64) -> u64 {
    ((n as f64 * scale).round() as u64).max(1)
}

async fn bench(scale: f64) -> BenchResult<()> {
    let flows = [
        Flow::new("1 -> 1, QoS 0", 1, 1, QoS::AtMostOnce, scaled(300_000, scale)),
        Flow::new("1 -> 1, QoS 1", 1, 1, QoS::AtLeastOnce, scaled(100_000, scale)),
        Flow::new("fan-out 1 -> 50, QoS 0", 1, FAN, QoS::AtMostOnce, scaled(6_000, scale)),
        Flow::new("fan-in 50 -> 1, QoS 0", FAN, 1, QoS::AtMostOnce, scaled(4_000, scale)),
        Flow::new("fan-in 50 -> 1, QoS 1", FAN, 1, QoS::AtLeastOnce, scaled(2_000, scale)),
    ];
    let queued = scaled(100_000, scale);
    let limit = RUN_TIMEOUT.mul_f64(scale.max(1.0));
    let kinds = [Kind::Ours, Kind::Mosquitto];
    eprintln!("broker bench: scale {scale}, {RUNS} runs per measurement, payload {PAYLOAD_LEN} B");
    let load_before = load_average();

    // Scenarios 1-4 share one long-lived process per broker.
    let mut brokers = Vec::new();
    for kind in kinds {
        brokers.push(BrokerProcess::start(kind, SETTINGS, &[])?);
    }
    let mut tag = 0u64;
    for broker in &mut brokers {
        eprintln!("warming up {} on {}", broker.kind.name(), broker.addr);
        for flow in &flows {
            let warm = Flow { per_publisher: (flow.per_publisher / 5).max(1), ..*flow };
            tag += 1;
            if let Err(e) = measure_flow(broker, &warm, tag, limit).await {
                eprintln!("  warm-up {}: {e}", flow.name);
            }
        }
    }
    let mut flow_samples: Vec<[Vec<BenchResult<FlowSample>>; 2]> = Vec::new();
    for flow in &flows {
        let mut samples = [Vec::new(), Vec::new()];
        for run in 0..RUNS {
            for (i, broker) in brokers.iter_mut().enumerate() {
                tag += 1;
                let sample = measure_flow(broker, flow, tag, limit).await;
                match &sample {
                    Ok(s) => eprintln!(
                        "{:<24} run {} {:<9} {:>10.0} msgs/s  ({} of {} delivered in {:.3} s, broker CPU {:.2} us/msg)",
                        flow.name,
                        run + 1,
                        broker.kind.name(),
                        s.rate,
                        s.delivered,
                        flow.expected_deliveries(),
                        s.elapsed.as_secs_f64(),
                        s.cpu_us_per_message
                    ),
                    Err(e) => eprintln!("{:<24} run {} {:<9} FAILED: {e}", flow.name, run + 1, broker.kind.name()),
                }
                samples[i].push(sample);
            }
        }
        flow_samples.push(samples);
    }
    // How much each broker buffered at worst: with no queue limit, neither slows a fast publisher down.
    let peaks: Vec<BenchResult<f64>> = brokers.iter().map(|b| b.peak_rss_bytes().map(|v| v as f64)).collect();
    drop(brokers);

    // Scenario 5: a fresh process per measurement.
    let mut queue_samples: [Vec<BenchResult<QueueSample>>; 2] = [Vec::new(), Vec::new()];
    for run in 0..RUNS {
        for (i, kind) in kinds.into_iter().enumerate() {
            tag += 1;
            let sample = measure_queue(kind, queued, tag, limit).await;
            match &sample {
                Ok(s) => eprintln!(
                    "queue {queued} QoS 1       run {} {:<9} {:>8.1} B/msg (VmRSS {} -> {} kB), drain {:.0} msgs/s",
                    run + 1,
                    kind.name(),
                    s.bytes_per_message,
                    s.rss_before / 1024,
                    s.rss_after / 1024,
                    s.drain_rate
                ),
                Err(e) => eprintln!("queue {queued} QoS 1       run {} {:<9} FAILED: {e}", run + 1, kind.name()),
            }
            queue_samples[i].push(sample);
        }
    }

    println!();
    println!("{}", table(&flows, &flow_samples, &peaks, queued, &queue_samples));
    // Both brokers share the CPUs with the load generator and whatever else runs: say how busy.
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("load average {load_before} before, {} after, on {cpus} CPUs", load_average());
    Ok(())
}

fn payload() -> Bytes {
    Bytes::from((0..PAYLOAD_LEN).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
}

/// Publishes `n` messages on `topic`: QoS 0 in batches, QoS 1 with up to [`PUBLISH_WINDOW`]
/// unacknowledged. Returns once the broker has handled all of them (PUBACKs, or a PINGREQ round
/// trip for QoS 0).
async fn produce(client: &mut Client, topic: &str, qos: QoS, n: u64) -> BenchResult<()> {
    if qos == QoS::AtMostOnce {
        let packet = Packet::Publish(Publish::new(topic, qos, payload(), false, None));
        let mut sent = 0;
        while sent < n {
            let batch = QOS0_BATCH.min(n - sent);
            for _ in 0..batch {
                client.queue(&packet)?;
            }
            sent += batch;
            client.flush().await?;
        }
        return client.ping().await;
    }
    let payload = payload();
    publish_qos1(client, topic, n, PUBLISH_WINDOW, |_| payload.clone()).await?;
    Ok(())
}

/// Scenarios 1 to 4: `publishers` clients each publish `per_publisher` messages on one topic
/// that `subscribers` clients subscribe to.
#[derive(Debug, Clone, Copy)]
struct Flow {
    name: &'static str,
    publishers: usize,
    subscribers: usize,
    qos: QoS,
    per_publisher: u64,
}

impl Flow {
    const fn new(name: &'static str, publishers: usize, subscribers: usize, qos: QoS, per_publisher: u64) -> Flow {
        Flow { name, publishers, subscribers, qos, per_publisher }
    }

    fn expected_deliveries(&self) -> u64 {
        self.publishers as u64 * self.per_publisher * self.subscribers as u64
    }
}

struct FlowSample {
    /// Deliveries per second, all subscribers together.
    rate: f64,
    delivered: u64,
    elapsed: Duration,
    /// CPU time the broker process spent (user + system, all threads) per delivered message, in
    /// microseconds: our broker runs on several threads, mosquitto on one, so the rate alone does
    /// not say which does less work.
    cpu_us_per_message: f64,
}

async fn measure_flow(broker: &mut BrokerProcess, flow: &Flow, tag: u64, limit: Duration) -> BenchResult<FlowSample> {
    broker.check_alive()?;
    let cpu_before = broker.cpu_seconds()?;
    let sample = tokio::time::timeout(limit, run_flow(broker.addr, flow, tag))
        .await
        .map_err(|_| format!("timed out after {limit:?}"))?;
    broker.check_alive()?;
    let mut sample = sample?;
    sample.cpu_us_per_message = (broker.cpu_seconds()? - cpu_before) * 1e6 / sample.delivered as f64;
    if flow.qos != QoS::AtMostOnce && sample.delivered != flow.expected_deliveries() {
        return Err(format!("QoS 1: {} of {} messages delivered", sample.delivered, flow.expected_deliveries()));
    }
    Ok(sample)
}

async fn run_flow(addr: SocketAddr, flow: &Flow, tag: u64) -> BenchResult<FlowSample> {
    let topic = format!("bench/{tag}/data");
    let mut subscribers = Vec::with_capacity(flow.subscribers);
    for i in 0..flow.subscribers {
        let (mut c, _) = Client::connect(addr, &format!("bench-{tag}-sub-{i}"), true).await?;
        c.subscribe(&topic, flow.qos).await?;
        subscribers.push(c);
    }
    let mut publishers = Vec::with_capacity(flow.publishers);
    for i in 0..flow.publishers {
        publishers.push(Client::connect(addr, &format!("bench-{tag}-pub-{i}"), true).await?.0);
    }
    let expect_each = flow.per_publisher * flow.publishers as u64;
    // Dropping a JoinSet aborts its tasks, so a timeout leaves nothing running.
    let mut sub_tasks = JoinSet::new();
    let mut pub_tasks = JoinSet::new();
    let start = Instant::now();
    for mut c in subscribers {
        sub_tasks.spawn(async move {
            let got = consume(&mut c, expect_each, IDLE, |_| {}).await;
            c.disconnect().await;
            got
        });
    }
    for mut c in publishers {
        let (topic, qos, n) = (topic.clone(), flow.qos, flow.per_publisher);
        pub_tasks.spawn(async move {
            let done = produce(&mut c, &topic, qos, n).await;
            c.disconnect().await;
            done
        });
    }
    let (mut delivered, mut last) = (0u64, start);
    while let Some(joined) = sub_tasks.join_next().await {
        let got = joined.map_err(|e| format!("subscriber task: {e}"))??;
        delivered += got.count;
        last = last.max(got.last.unwrap_or(start));
    }
    while let Some(joined) = pub_tasks.join_next().await {
        joined.map_err(|e| format!("publisher task: {e}"))??;
    }
    let elapsed = last - start;
    if delivered == 0 || elapsed.is_zero() {
        return Err("nothing was delivered".to_owned());
    }
    Ok(FlowSample { rate: delivered as f64 / elapsed.as_secs_f64(), delivered, elapsed, cpu_us_per_message: 0.0 })
}

/// Scenario 5 on one fresh broker process.
struct QueueSample {
    rss_before: u64,
    rss_after: u64,
    bytes_per_message: f64,
    drain_rate: f64,
}

async fn measure_queue(kind: Kind, n: u64, tag: u64, limit: Duration) -> BenchResult<QueueSample> {
    let mut broker = BrokerProcess::start(kind, SETTINGS, &[])?;
    let sample = tokio::time::timeout(limit, async {
        // Warm-up: the same cycle, small, so first-use allocations are not counted.
        queue_then_drain(&broker, &format!("bench-{tag}-warm"), (n / 100).max(1), false).await?;
        queue_then_drain(&broker, &format!("bench-{tag}-queue"), n, true).await
    })
    .await
    .map_err(|_| format!("timed out after {limit:?}"))?;
    broker.check_alive()?;
    sample
}

/// Creates a persistent session subscribed at QoS 1, takes it offline, publishes `n` QoS 1
/// messages to it, then reconnects it and receives them all.
async fn queue_then_drain(broker: &BrokerProcess, client_id: &str, n: u64, measure: bool) -> BenchResult<QueueSample> {
    let topic = format!("bench/{client_id}/queued");
    let (mut sub, _) = Client::connect(broker.addr, client_id, false).await?;
    sub.subscribe(&topic, QoS::AtLeastOnce).await?;
    sub.disconnect().await;
    let (mut publisher, _) = Client::connect(broker.addr, &format!("{client_id}-pub"), true).await?;
    let rss_before = if measure {
        tokio::time::sleep(SETTLE).await;
        broker.rss_bytes()?
    } else {
        0
    };
    produce(&mut publisher, &topic, QoS::AtLeastOnce, n).await?;
    publisher.disconnect().await;
    let rss_after = if measure {
        tokio::time::sleep(SETTLE).await;
        broker.rss_bytes()?
    } else {
        0
    };
    let start = Instant::now();
    let (mut sub, present) = Client::connect(broker.addr, client_id, false).await?;
    if !present {
        return Err(format!("{client_id}: CONNACK without session present"));
    }
    let got = consume(&mut sub, n, IDLE, |_| {}).await?;
    let elapsed = got.last.unwrap_or(start) - start;
    // Clean session 1 discards the session and anything left of it.
    sub.disconnect().await;
    let (cleaner, _) = Client::connect(broker.addr, client_id, true).await?;
    cleaner.disconnect().await;
    if got.count != n {
        return Err(format!("drained {} of {n} queued messages", got.count));
    }
    Ok(QueueSample {
        rss_before,
        rss_after,
        bytes_per_message: (rss_after as f64 - rss_before as f64) / n as f64,
        drain_rate: n as f64 / elapsed.as_secs_f64().max(1e-9),
    })
}

/// The median of the successful samples and how many failed.
fn median(samples: &[BenchResult<f64>]) -> (Option<f64>, usize) {
    let mut ok: Vec<f64> = samples.iter().filter_map(|s| s.as_ref().ok().copied()).collect();
    ok.sort_by(f64::total_cmp);
    let failed = samples.len() - ok.len();
    let mid = match ok.len() {
        0 => None,
        n if n % 2 == 1 => Some(ok[n / 2]),
        n => Some((ok[n / 2 - 1] + ok[n / 2]) / 2.0),
    };
    (mid, failed)
}

fn cell(samples: &[BenchResult<f64>], decimals: usize) -> (String, Option<f64>) {
    let (mid, failed) = median(samples);
    let mut text = match mid {
        Some(v) => format!("{v:.decimals$}"),
        None => "failed".to_owned(),
    };
    if failed > 0 && mid.is_some() {
        let _ = write!(text, " ({failed} failed)");
    }
    (text, mid)
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
        _ => "-".to_owned(),
    }
}

fn table(
    flows: &[Flow],
    flow_samples: &[[Vec<BenchResult<FlowSample>>; 2]],
    peaks: &[BenchResult<f64>],
    queued: u64,
    queue_samples: &[Vec<BenchResult<QueueSample>>; 2],
) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    // Indexes of rows that start a section (a rule is drawn under them).
    let mut headers = Vec::new();
    let mut header = |rows: &mut Vec<[String; 4]>, first: &str, unit: &str| {
        headers.push(rows.len());
        let ratio = "ratio (ours/mosquitto)".to_owned();
        rows.push([first.to_owned(), format!("mqtt-sim{unit}"), format!("mosquitto{unit}"), ratio]);
    };
    let column = |samples: &[BenchResult<FlowSample>], f: fn(&FlowSample) -> f64| -> Vec<BenchResult<f64>> {
        samples.iter().map(|s| s.as_ref().map(f).map_err(Clone::clone)).collect()
    };
    header(&mut rows, "scenario", " msgs/s");
    for (flow, samples) in flows.iter().zip(flow_samples) {
        let (ours, a) = cell(&column(&samples[0], |s| s.rate), 0);
        let (theirs, b) = cell(&column(&samples[1], |s| s.rate), 0);
        rows.push([format!("{} ({} msgs)", flow.name, flow.expected_deliveries()), ours, theirs, ratio(a, b)]);
    }
    let queue_column = |samples: &[BenchResult<QueueSample>], f: fn(&QueueSample) -> f64| -> Vec<BenchResult<f64>> {
        samples.iter().map(|s| s.as_ref().map(f).map_err(Clone::clone)).collect()
    };
    let (ours, a) = cell(&queue_column(&queue_samples[0], |s| s.drain_rate), 0);
    let (theirs, b) = cell(&queue_column(&queue_samples[1], |s| s.drain_rate), 0);
    rows.push([format!("drain {queued} queued QoS 1"), ours, theirs, ratio(a, b)]);

    header(&mut rows, "broker CPU time per delivered message", " us");
    for (flow, samples) in flows.iter().zip(flow_samples) {
        let (ours, a) = cell(&column(&samples[0], |s| s.cpu_us_per_message), 2);
        let (theirs, b) = cell(&column(&samples[1], |s| s.cpu_us_per_message), 2);
        rows.push([flow.name.to_owned(), ours, theirs, ratio(a, b)]);
    }

    header(&mut rows, "memory", "");
    let (ours, a) = cell(&queue_column(&queue_samples[0], |s| s.bytes_per_message), 1);
    let (theirs, b) = cell(&queue_column(&queue_samples[1], |s| s.bytes_per_message), 1);
    rows.push([format!("VmRSS bytes / queued message ({queued}, {PAYLOAD_LEN} B payload)"), ours, theirs, ratio(a, b)]);
    let mib = |r: &BenchResult<f64>| r.as_ref().ok().map(|v| v / (1024.0 * 1024.0));
    let (a, b) = (mib(&peaks[0]), mib(&peaks[1]));
    let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
    rows.push(["peak VmRSS in MiB over scenarios 1-4 (VmHWM)".into(), show(a), show(b), ratio(a, b)]);

    let widths: Vec<usize> = (0..4).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        // A rule under every header, and above every header but the first.
        if i > 0 && (headers.contains(&(i - 1)) || headers.contains(&i)) {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
        }
        let _ = writeln!(
            out,
            "| {:<w0$} | {:>w1$} | {:>w2$} | {:>w3$} |",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    out
}
