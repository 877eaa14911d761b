//! Simulation speed: runs per second of a reference world (1 broker, 3 clients, 100 messages, a
//! partition and a reconnect) and simulated seconds per wall-clock second, so we know how many
//! seeds a CI minute explores. `cargo bench --bench sim`; MQTT_SIM_BENCH_RUNS sets the run count.

use std::time::{Duration, Instant};

use mqtt_sim::client::ClientOptions;
use mqtt_sim::protocol::{QoS, SubscribeFilter};
use mqtt_sim::sim::{World, WorldConfig};

/// One run of the reference world; returns its simulated duration and trace length.
fn reference_world(seed: u64) -> (Duration, usize) {
    let mut w = World::new(WorldConfig::new(seed));
    for c in ["sub-a", "sub-b", "pub"] {
        w.add_client(c);
    }
    let opts = |id: &str| ClientOptions { keep_alive: 5, ..ClientOptions::new(id, false) };
    let filters = |f: &str| vec![SubscribeFilter::new(f, QoS::AtLeastOnce)];
    w.connect("sub-a", opts("sub-a")).unwrap();
    w.subscribe("sub-a", filters("bench/#")).unwrap();
    w.connect("sub-b", opts("sub-b")).unwrap();
    w.subscribe("sub-b", filters("bench/+")).unwrap();
    w.connect("pub", ClientOptions::new("pub", true)).unwrap();
    w.partition("sub-b", mqtt_sim::scenario::model::Direction::Both);
    for i in 0..100 {
        let qos = if i % 2 == 0 { QoS::AtLeastOnce } else { QoS::ExactlyOnce };
        w.publish("pub", "bench/t", format!("m{i}").into(), qos, false).unwrap();
    }
    w.sleep(Duration::from_secs(12)).unwrap(); // keep alive notices the partition
    w.repair("sub-b");
    w.connect("sub-b", opts("sub-b")).unwrap();
    w.sleep(Duration::from_secs(1)).unwrap();
    assert_eq!(w.record("sub-b").unwrap().messages.len(), 100, "the reconnect delivers everything");
    (w.elapsed(), w.trace().len())
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `cargo bench --bench sim`");
        return;
    }
    let runs: u64 = std::env::var("MQTT_SIM_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    reference_world(0); // warm up
    let started = Instant::now();
    let mut simulated = Duration::ZERO;
    let mut events = 0;
    for seed in 0..runs {
        let (d, n) = reference_world(seed);
        simulated += d;
        events += n;
    }
    let wall = started.elapsed();
    println!("reference world: 1 broker, 3 clients, 100 QoS 1/2 messages, a partition and a reconnect");
    println!("runs                          {runs}");
    println!("wall time                     {:.2} s", wall.as_secs_f64());
    println!("runs per second               {:.1}", runs as f64 / wall.as_secs_f64());
    println!("simulated s per wall s        {:.1}", simulated.as_secs_f64() / wall.as_secs_f64());
    println!("trace events per run          {}", events / runs as usize);
    println!("seeds per CI minute (1 core)  {:.0}", 60.0 * runs as f64 / wall.as_secs_f64());
}
