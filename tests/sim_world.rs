//! The simulated world: the seed story runs in turmoil with the same outcome as on TCP, and the
//! same seed gives the same trace bytes.

use std::time::Duration;

use mqtt_sim::client::ClientOptions;
use mqtt_sim::harness::Outcome;
use mqtt_sim::protocol::{QoS, SubackCode, SubscribeFilter};
use mqtt_sim::sim::{World, WorldConfig};

fn q(n: u8) -> QoS {
    QoS::from_u8(n).unwrap()
}

fn sub(f: &str, qos: u8) -> Vec<SubscribeFilter> {
    vec![SubscribeFilter::new(f, q(qos))]
}

fn payloads(w: &World, client: &str) -> Vec<String> {
    w.record(client).unwrap().messages.iter().map(|(_, m)| String::from_utf8_lossy(&m.payload).into_owned()).collect()
}

/// The seed article's story: a persistent subscriber, a disconnect, QoS 1 messages while offline,
/// and the reconnect that receives them in order, once.
fn seed_story(seed: u64) -> World {
    let mut w = World::new(WorldConfig::new(seed));
    w.add_client("reader");
    w.add_client("writer");
    assert_eq!(w.connect("reader", ClientOptions::new("reader", false)).unwrap(), Outcome::Done(false));
    assert_eq!(w.subscribe("reader", sub("sensors/#", 1)).unwrap(), Outcome::Done(vec![SubackCode::Granted(q(1))]));
    assert_eq!(w.disconnect("reader").unwrap(), Outcome::Done(()));
    assert_eq!(w.connect("writer", ClientOptions::new("writer", true)).unwrap(), Outcome::Done(false));
    for i in 1..=3 {
        let out = w.publish("writer", "sensors/t", format!("m{i}").into(), q(1), false).unwrap();
        assert_eq!(out, Outcome::Done(()));
    }
    w.publish("writer", "sensors/t", "qos0 is not queued".into(), q(0), false).unwrap();
    w.sleep(Duration::from_millis(200)).unwrap();
    let view = w.broker_view().unwrap().expect("the broker is up");
    assert_eq!(view.session("reader").unwrap().queued.len(), 3);
    assert_eq!(w.connect("reader", ClientOptions::new("reader", false)).unwrap(), Outcome::Done(true));
    w.sleep(Duration::from_secs(1)).unwrap();
    w
}

#[test]
fn seed_story_in_simulation() {
    let w = seed_story(1);
    assert_eq!(payloads(&w, "reader"), vec!["m1", "m2", "m3"]);
}

#[test]
fn same_seed_same_trace_bytes() {
    let a = seed_story(7).trace().to_json_lines();
    let b = seed_story(7).trace().to_json_lines();
    assert!(a.len() > 1000, "a real trace:\n{a}");
    assert_eq!(a, b);
}

#[test]
fn different_seeds_different_interleavings() {
    let traces: std::collections::BTreeSet<String> = (0..5).map(|s| seed_story(s).trace().to_text()).collect();
    assert!(traces.len() > 1, "five seeds gave one trace");
}

/// A fault-heavy world: a partition during a QoS 2 delivery, a hold, latency, a broker crash and
/// restart, a client crash. Run twice at one seed, the traces are byte-identical.
fn fault_heavy(seed: u64) -> String {
    let mut w = World::new(WorldConfig::new(seed));
    for c in ["a", "b", "c"] {
        w.add_client(c);
    }
    let _ = w.connect("a", ClientOptions { keep_alive: 2, ..ClientOptions::new("a", false) });
    let _ = w.subscribe("a", sub("t/#", 2));
    let _ = w.connect("b", ClientOptions::new("b", true));
    let _ = w.connect("c", ClientOptions::new("c", false));
    let _ = w.subscribe("c", sub("t/+", 1));
    w.partition("a", mqtt_sim::scenario::model::Direction::Both);
    for i in 0..5 {
        let _ = w.publish("b", &format!("t/{i}"), format!("m{i}").into(), q(2), i % 2 == 0);
    }
    w.hold("c");
    w.set_latency("b", Duration::from_millis(30));
    w.sleep(Duration::from_secs(4)).unwrap();
    w.release("c");
    w.repair("a");
    let _ = w.connect("a", ClientOptions { keep_alive: 2, ..ClientOptions::new("a", false) });
    w.crash_broker().unwrap();
    w.sleep(Duration::from_millis(500)).unwrap();
    w.restart_broker().unwrap();
    w.crash_client("c").unwrap();
    w.restart_client("c").unwrap();
    let _ = w.connect("c", ClientOptions::new("c", false));
    w.sleep(Duration::from_secs(2)).unwrap();
    w.trace().to_json_lines()
}

#[test]
fn fault_heavy_world_replays_byte_for_byte() {
    let a = fault_heavy(42);
    assert!(a.contains("\"kind\":\"fault\""), "faults are traced");
    assert!(a.contains(r#""fault":{"fault":"crash_broker"}"#), "faults are data in the JSON lines: {a}");
    assert_eq!(a, fault_heavy(42));
    assert_ne!(a, fault_heavy(43), "another seed explores another interleaving");
}
