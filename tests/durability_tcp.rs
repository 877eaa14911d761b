//! The `mqtt-sim broker` binary on the real disk, killed with SIGKILL after acknowledging 1,000
//! QoS 1 messages for an offline persistent session: in durable mode (`persistence_sync true`)
//! it restarts with the session (session present 1 [MQTT-3.2.2-2]) and delivers all 1,000 in
//! order [MQTT-4.6.0-6]; with mosquitto's default persistence (`persistence true`, a save every
//! 1800 s) it has lost them, as mosquitto 2.0.11 does.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::RawClient;
use mqtt_sim::protocol::QoS;

const MESSAGES: u16 = 1000;

/// The broker binary with `persistence true` (and `persistence_sync` as given) in `dir`.
fn launch(dir: &Path, port: u16, durable: bool) -> Child {
    let conf = dir.join("mqtt-sim.conf");
    let text = format!(
        "listener {port} 127.0.0.1\npersistence true\npersistence_location {}/\npersistence_sync {durable}\n",
        dir.display()
    );
    std::fs::write(&conf, text).unwrap();
    Command::new(env!("CARGO_BIN_EXE_mqtt-sim"))
        .args(["broker", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the broker starts")
}

async fn ready(addr: SocketAddr) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the broker does not listen on {addr}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Queues `MESSAGES` acknowledged QoS 1 messages for the offline `reader`, SIGKILLs the broker,
/// starts it again on the same files, and returns what the reader finds.
async fn killed_after_acknowledging(durable: bool) -> (bool, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut broker = launch(dir.path(), port, durable);
    ready(addr).await;
    let mut reader = RawClient::connect_ok(addr, "reader", false, false).await;
    reader.subscribe(1, &[("t/#", QoS::AtLeastOnce)]).await;
    reader.disconnect().await;
    let mut writer = RawClient::connect_ok(addr, "writer", true, false).await;
    for i in 1..=MESSAGES {
        // Each waits for its PUBACK: every one was acknowledged before the kill.
        writer.publish("t/a", &format!("m{i}"), QoS::AtLeastOnce, false, i).await;
    }
    broker.kill().unwrap(); // SIGKILL
    broker.wait().unwrap();
    let mut broker = launch(dir.path(), port, durable);
    ready(addr).await;
    let (mut reader, connack) = RawClient::connect(addr, "reader", false).await;
    let mut got = Vec::new();
    if connack.session_present {
        for _ in 0..MESSAGES {
            let p = reader.recv_publish().await;
            got.push(String::from_utf8_lossy(&p.payload).into_owned());
        }
    }
    reader.expect_nothing_before_pingresp("nothing more").await;
    broker.kill().unwrap();
    broker.wait().unwrap();
    (connack.session_present, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_mode_keeps_all_1000_acknowledged_messages_across_sigkill() {
    let (present, got) = killed_after_acknowledging(true).await;
    assert!(present, "the session survived the kill");
    let want: Vec<String> = (1..=MESSAGES).map(|i| format!("m{i}")).collect();
    assert_eq!(got, want, "all 1,000, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquittos_default_autosave_loses_them_all_as_mosquitto_does() {
    let (present, got) = killed_after_acknowledging(false).await;
    assert!(!present && got.is_empty(), "no save in the first 30 minutes: nothing survives");
}
