//! Blame over real TCP, against two brokers that misbehave on purpose (a few lines of raw bytes
//! each, on a loopback port): a CONNACK with a reserved return code is reported under
//! [MQTT-3.2.2-6]; a broker that closes an idle connection for no cause breaks the
//! `no-unprovoked-close` invariant, under [MQTT-3.1.2-24]. A close that follows the client's
//! DISCONNECT is not reported.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::mosquitto::TempDir;
use mqtt_sim::check::{check, report, CheckOptions, Target, Verdict};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A broker that answers every connection's first bytes (its CONNECT) with `connack`, then
/// reads on for `linger` and closes.
async fn fake_broker(connack: [u8; 4], linger: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                if stream.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                let _ = stream.write_all(&connack).await;
                let _ =
                    tokio::time::timeout(linger, async { while stream.read(&mut buf).await.unwrap_or(0) > 0 {} }).await;
            });
        }
    });
    addr
}

/// Checks one scenario against `addr` and returns its verdict, with the report's details.
async fn verdict(addr: SocketAddr, yaml: &str) -> (Verdict, String) {
    let dir = TempDir::new("blame-tcp");
    let file = dir.0.join("scenarios/s.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, yaml).unwrap();
    let report = check(&CheckOptions::new(Target::new(addr.to_string()), vec![file])).await.expect("check runs");
    (report.checks[0].verdict.clone(), report::details(&report))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserved_connack_return_code_is_blamed_on_3_2_2_6() {
    let addr = fake_broker([0x20, 0x02, 0x00, 0x06], Duration::ZERO).await;
    let yaml = "name: refused\nclients: { a: {} }\nsteps:\n  - connect: { client: a, refused: any }\n";
    let (verdict, details) = verdict(addr, yaml).await;
    let Verdict::Deviation(d) = verdict else { panic!("not a deviation: {details}") };
    assert_eq!(d.summary, "connect a: the CONNACK", "{details}");
    assert_eq!(d.spec, ["MQTT-3.2.2-6"], "{details}");
    assert!(d.observed.contains("CONNACK return code 6 is reserved"), "{details}");
    assert!(d.expected.contains("or closed without CONNACK"), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_closes_an_idle_connection_for_no_cause_breaks_an_invariant() {
    let addr = fake_broker([0x20, 0x02, 0x00, 0x00], Duration::from_millis(300)).await;
    let yaml = "name: idle\nclients: { a: { keep_alive: 60 } }\nsteps:\n  - connect: a\n  - wait: 1s\n";
    let (verdict, details) = verdict(addr, yaml).await;
    let Verdict::Deviation(d) = verdict else { panic!("not a deviation: {details}") };
    let closes: Vec<_> = d.all().filter(|f| f.invariant == Some("no-unprovoked-close")).collect();
    assert_eq!(closes.len(), 1, "{details}");
    assert_eq!(closes[0].spec, ["MQTT-3.1.2-24"], "{details}");
    assert!(closes[0].observed.contains("before even one keep alive (60 s) had passed"), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_after_disconnect_is_not_reported() {
    let addr = fake_broker([0x20, 0x02, 0x00, 0x00], Duration::from_secs(5)).await;
    let yaml =
        "name: bye\nclients: { a: { keep_alive: 60 } }\nsteps:\n  - connect: a\n  - disconnect: a\n  - wait: 300ms\n";
    let (verdict, details) = verdict(addr, yaml).await;
    assert!(matches!(verdict, Verdict::Pass | Verdict::PartiallyChecked), "{details}");
}
