//! Persistence on the real disk (`persistence true`), over TCP: after a clean shutdown the broker
//! restarts from its file with the persistent session, its subscription and its queued messages
//! (session present 1 [MQTT-3.2.2-2], the messages in order [MQTT-4.6.0-6]); a crash with no save
//! since loses them, as mosquitto does; a file it cannot trust stops it, naming the file and what
//! is wrong.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{RawClient, PATIENCE};
use mqtt_sim::broker::{Config, Image};
use mqtt_sim::net::{Persistence, Stop};
use mqtt_sim::persist::{format, DiskStorage, LoadError, PersistenceConf, Persister};
use mqtt_sim::protocol::QoS;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A broker with `persistence true` in `dir`, saving only at a clean shutdown.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<Stop>,
    done: JoinHandle<Result<(), LoadError>>,
}

fn config(dir: &Path) -> Config {
    Config {
        persistence: true,
        persistence_location: dir.to_string_lossy().into_owned(),
        autosave_interval: 0,
        ..Config::default()
    }
}

async fn start(dir: &Path) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = config(dir);
    let persistence = Persistence {
        persister: Persister::new(PersistenceConf::of(&config), Box::new(DiskStorage)),
        wall_ms: Box::new(mqtt_sim::persist::unix_ms),
        sync_delay: None,
    };
    let (stop, stopped) = oneshot::channel::<Stop>();
    let shutdown = async move { stopped.await.unwrap_or(Stop::Crash) };
    let done = tokio::spawn(mqtt_sim::net::run_broker_persistent(listener, config, persistence, shutdown));
    Running { addr, stop, done }
}

impl Running {
    async fn stop(self, how: Stop) {
        self.stop.send(how).unwrap();
        tokio::time::timeout(PATIENCE, self.done).await.unwrap().unwrap().unwrap();
    }
}

/// The reader (clean session 0) subscribes to t/# at QoS 1 and leaves; the writer publishes
/// three QoS 1 messages, each acknowledged.
async fn queue_three(addr: SocketAddr) {
    let mut reader = RawClient::connect_ok(addr, "reader", false, false).await;
    reader.subscribe(1, &[("t/#", QoS::AtLeastOnce)]).await;
    reader.disconnect().await;
    let mut writer = RawClient::connect_ok(addr, "writer", true, false).await;
    for i in 1..=3 {
        writer.publish("t/a", &format!("m{i}"), QoS::AtLeastOnce, false, i).await;
    }
    writer.disconnect().await;
}

#[tokio::test]
async fn a_clean_shutdown_saves_and_the_restarted_broker_delivers_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    queue_three(broker.addr).await;
    broker.stop(Stop::Shutdown).await;
    assert!(dir.path().join("mosquitto.db").exists(), "saved at shutdown");
    let broker = start(dir.path()).await;
    let mut reader = RawClient::connect_ok(broker.addr, "reader", false, true).await;
    for i in 1..=3 {
        let p = reader.recv_publish().await;
        assert_eq!((p.topic.as_str(), &p.payload[..]), ("t/a", format!("m{i}").as_bytes()));
    }
    reader.expect_nothing_before_pingresp("no more than the three").await;
    broker.stop(Stop::Shutdown).await;
}

#[tokio::test]
async fn a_crash_before_any_save_loses_the_session_as_mosquitto_does() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path()).await;
    queue_three(broker.addr).await;
    broker.stop(Stop::Crash).await;
    let broker = start(dir.path()).await;
    let mut reader = RawClient::connect_ok(broker.addr, "reader", false, false).await;
    reader.expect_nothing_before_pingresp("everything was lost").await;
    broker.stop(Stop::Crash).await;
}

async fn refused(dir: &Path) -> String {
    let broker = start(dir).await;
    let result = tokio::time::timeout(PATIENCE, broker.done).await.unwrap().unwrap();
    result.expect_err("the broker must not start from a damaged file").to_string()
}

#[tokio::test]
async fn a_foreign_cut_or_corrupted_file_stops_the_broker_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mosquitto.db");
    std::fs::write(&path, b"# not a persistence file\n").unwrap();
    let e = refused(dir.path()).await;
    assert!(e.contains(&path.display().to_string()) && e.contains("not an mqtt-sim persistence file"), "{e}");
    let empty = Image { messages: vec![], retained: vec![], sessions: vec![] };
    let whole = format::encode_snapshot(&empty, 0);
    std::fs::write(&path, &whole[..whole.len() - 1]).unwrap();
    let e = refused(dir.path()).await;
    assert!(e.contains("at byte") && e.contains("ends inside a record"), "{e}");
    let mut flipped = whole.clone();
    *flipped.last_mut().unwrap() ^= 0x55;
    std::fs::write(&path, &flipped).unwrap();
    let e = refused(dir.path()).await;
    assert!(e.contains("checksum"), "{e}");
    // The file is left as it was, for whoever looks at it.
    assert_eq!(std::fs::read(&path).unwrap(), flipped);
}
