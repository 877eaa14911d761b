//! Interop: real MQTT tools against our broker over TCP, and the same raw-client scripts run
//! against our broker and a real mosquitto 2.0 with `max_queued_messages 100`, compared packet by
//! packet. Needs Debian's mosquitto, mosquitto-clients and python3-paho-mqtt: `--features interop`.

#![cfg(feature = "interop")]

mod common;

use std::net::SocketAddr;

use common::mosquitto::{run, Mosquitto};
use common::{summary, RawClient, TestBroker};
use mqtt_sim::broker::Config;
use mqtt_sim::protocol::{Connect, LastWill, Packet, QoS};

fn q(n: u8) -> QoS {
    QoS::from_u8(n).unwrap()
}

fn mosq_args(addr: SocketAddr, rest: &[&str]) -> Vec<String> {
    let mut v = vec!["-h".to_owned(), addr.ip().to_string(), "-p".to_owned(), addr.port().to_string()];
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_clients_persistent_session_on_our_broker() {
    let broker = TestBroker::start(Config::default()).await;
    let a = broker.addr;
    // Establish the persistent session: subscribe and exit once SUBACK arrives (-E).
    run("mosquitto_sub", mosq_args(a, &["-c", "-i", "seed-reader", "-q", "1", "-t", "seed/#", "-E"])).await;
    for (msg, qos, retain) in [("m1", "1", false), ("m2", "2", false), ("q0", "0", false), ("m3", "1", true)] {
        let mut args = vec!["-t", "seed/x", "-m", msg, "-q", qos, "-i", "seed-writer"];
        if retain {
            args.push("-r");
        }
        run("mosquitto_pub", mosq_args(a, &args)).await;
    }
    let out = run(
        "mosquitto_sub",
        mosq_args(a, &["-c", "-i", "seed-reader", "-q", "1", "-t", "seed/#", "-C", "3", "-W", "10", "-v"]),
    )
    .await;
    // QoS 0 was not queued; the retained one arrives as a normal queued message.
    assert_eq!(out, "seed/x m1\nseed/x m2\nseed/x m3\n");
    // A new non-persistent subscriber gets the retained message.
    let out =
        run("mosquitto_sub", mosq_args(a, &["-t", "seed/#", "-C", "1", "-W", "10", "-v", "-F", "%t %p %r"])).await;
    assert_eq!(out, "seed/x m3 1\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_persistent_qos2_session_on_our_broker() {
    let broker = TestBroker::start(Config::default()).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/paho_persistent_session.py");
    // Debian's python3 carries python3-paho-mqtt; a python3 earlier on PATH may not.
    let out =
        run("/usr/bin/python3", vec![script.to_owned(), "127.0.0.1".into(), broker.addr.port().to_string()]).await;
    let mosquitto = Mosquitto::start("");
    let reference =
        run("/usr/bin/python3", vec![script.to_owned(), "127.0.0.1".into(), mosquitto.addr.port().to_string()]).await;
    assert_eq!(out, reference, "paho sees the same from mqtt-sim (left) as from mosquitto (right)");
    let expected = concat!(
        r#"{"first_connack": [0, 0], "granted": [2], "second_connack": [1, 0], "#,
        r#""received_qos1": [["paho/m", "m0", 1, 0, 0], ["paho/m", "m3", 1, 0, 0]], "#,
        r#""received_qos2": [["paho/m", "m1", 2, 0, 0], ["paho/m", "m2", 2, 0, 0]]}"#,
        "\n"
    );
    assert_eq!(out, expected);
}

/// What one raw client saw: every packet, with CONNACKs and PUBLISH fields spelled out.
type Transcript = Vec<String>;

fn describe(p: &Packet) -> String {
    match p {
        Packet::Publish(p) => format!("{:?}", summary(p)),
        other => format!("{other:?}"),
    }
}

/// Receives until `n` packets arrived (acknowledging PUBLISHes), then records anything else
/// that arrives before a PINGRESP: each caller completed the flows that cause traffic to `c`
/// (the publisher was answered, the will was received) before this, so any extra packet has
/// been sent by then (see `RawClient::packets_before_pingresp`).
async fn collect(c: &mut RawClient, n: usize) -> Transcript {
    let mut t = Vec::new();
    for _ in 0..n {
        let p = c.recv_acking().await;
        t.push(describe(&p));
    }
    for extra in c.packets_before_pingresp().await {
        t.push(format!("unexpected: {}", describe(&extra)));
    }
    t
}

/// The differential scenarios: each returns the transcript of what its observer saw.
async fn offline_queue_limit_100(addr: SocketAddr) -> Transcript {
    let mut sub = RawClient::connect_ok(addr, "diff-queue", false, false).await;
    sub.subscribe(1, &[("diff/q", q(1))]).await;
    sub.disconnect().await;
    let mut publisher = RawClient::connect_ok(addr, "diff-pub", true, false).await;
    for i in 1..=101u16 {
        publisher.publish("diff/q", &format!("m{i}"), q(1), false, i).await;
    }
    publisher.publish("diff/q", "qos0", q(0), false, 0).await;
    let (mut sub, ack) = RawClient::connect(addr, "diff-queue", false).await;
    let mut t = vec![format!("{ack:?}")];
    t.extend(collect(&mut sub, 100).await);
    t
}

async fn retained_and_downgrade(addr: SocketAddr) -> Transcript {
    let mut publisher = RawClient::connect_ok(addr, "diff-pub2", true, false).await;
    publisher.publish("diff/r/a", "ra", q(2), true, 1).await;
    publisher.publish("diff/r/b", "rb", q(1), true, 2).await;
    publisher.publish("diff/r/b", "", q(0), true, 0).await; // clears [MQTT-3.3.1-10]
    publisher.publish("diff/r/c", "rc", q(0), true, 0).await;
    let mut sub = RawClient::connect_ok(addr, "diff-ret", true, false).await;
    let mut t = vec![format!("{:?}", sub.subscribe(1, &[("diff/r/+", q(1))]).await)];
    t.extend(collect(&mut sub, 2).await);
    publisher.publish("diff/r/a", "live", q(2), true, 3).await;
    t.extend(collect(&mut sub, 1).await);
    t
}

async fn will_and_resend(addr: SocketAddr) -> Transcript {
    let mut watcher = RawClient::connect_ok(addr, "diff-watch", false, false).await;
    watcher.subscribe(1, &[("diff/will/#", q(2))]).await;
    let will = LastWill {
        topic: "diff/will/x".into(),
        message: "bye".into(),
        qos: q(2),
        retain: false,
        properties: Default::default(),
    };
    let (dying, _) =
        RawClient::connect_with(addr, Connect { will: Some(will), ..Connect::new("diff-dying", true, 60) }).await;
    dying.drop_connection();
    // Receive the will but do not acknowledge it; reconnect and expect it again with DUP=1.
    let mut t = vec![describe(&watcher.recv().await)];
    watcher.drop_connection();
    let (mut watcher, ack) = RawClient::connect(addr, "diff-watch", false).await;
    t.push(format!("{ack:?}"));
    t.extend(collect(&mut watcher, 1).await);
    t
}

async fn both(name: &str, f: impl AsyncFn(SocketAddr) -> Transcript) {
    let ours = TestBroker::start(Config { max_queued_messages: 100, ..Config::default() }).await;
    let theirs = Mosquitto::start("max_queued_messages 100");
    let a = f(ours.addr).await;
    let b = f(theirs.addr).await;
    assert_eq!(a, b, "{name}: mqtt-sim (left) and mosquitto (right) differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_as_mosquitto_offline_queue_limit_100() {
    both("offline queue", offline_queue_limit_100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_as_mosquitto_retained_and_downgrade() {
    both("retained", retained_and_downgrade).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_as_mosquitto_will_and_resend() {
    both("will", will_and_resend).await;
}

/// mosquitto 2.0 delivers overlapping subscriptions once at the QoS of the most specific filter;
/// the spec wants the maximum of the granted QoS [MQTT-3.3.5-1]. Both behaviours are pinned here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_subscriptions_differ_from_mosquitto_as_documented() {
    async fn scenario(addr: SocketAddr) -> (u8, bool) {
        let mut sub = RawClient::connect_ok(addr, "diff-overlap", true, false).await;
        sub.subscribe(1, &[("diff/o/x", q(0)), ("diff/o/#", q(2))]).await;
        let mut publisher = RawClient::connect_ok(addr, "diff-pub3", true, false).await;
        publisher.publish("diff/o/x", "p", q(2), false, 1).await;
        let p = sub.recv_publish().await;
        // A second copy would be routed while the broker handles the PUBLISH or PUBREL, both
        // answered to the publisher before this PINGREQ.
        let extra = !sub.packets_before_pingresp().await.is_empty();
        (p.qos.as_u8(), extra)
    }
    let ours = TestBroker::start(Config::default()).await;
    let theirs = Mosquitto::start("");
    assert_eq!(scenario(ours.addr).await, (2, false), "spec: once, at the maximum granted QoS");
    assert_eq!(scenario(theirs.addr).await, (0, false), "mosquitto 2.0: once, at the most specific filter's QoS");
}
