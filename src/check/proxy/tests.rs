//! The proxy's faults, against a plain TCP peer standing in for the broker.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::harness::tap::Tap;
use crate::trace::TraceEvent;

/// A "broker" that accepts connections and hands them to the test.
async fn peer() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// A stand-in broker, a trace, and client `c`'s link to the broker through the proxy.
struct Setup {
    broker: TcpListener,
    trace: Trace,
    link: Link,
    connector: ProxyConnector,
}

async fn setup() -> Setup {
    let (broker, addr) = peer().await;
    let trace = Trace::real_time();
    let link = Link::start("c", &addr, &trace, 1).await.unwrap();
    let connector = link.connector("c", &trace);
    Setup { broker, trace, link, connector }
}

/// Reads what arrives within `wait`.
async fn read_for(stream: &mut (impl AsyncReadExt + Unpin), wait: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let until = Instant::now() + wait;
    while let Ok(Ok(n)) = tokio::time::timeout_at(until, stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

const SHORT: Duration = Duration::from_millis(150);
const PINGREQ: [u8; 2] = [0xC0, 0x00];
const PINGRESP: [u8; 2] = [0xD0, 0x00];

async fn connected(connector: &ProxyConnector, broker: &TcpListener) -> (Tap<TcpStream>, TcpStream) {
    let client = connector.connect().await.unwrap();
    let (server, _) = broker.accept().await.unwrap();
    (client, server)
}

#[tokio::test]
async fn bytes_pass_both_ways_and_the_broker_side_is_recorded() {
    let Setup { broker, trace, link: _link, connector } = setup().await;
    let (mut client, mut server) = connected(&connector, &broker).await;
    client.write_all(&PINGREQ).await.unwrap();
    assert_eq!(read_for(&mut server, SHORT).await, PINGREQ);
    server.write_all(&PINGRESP).await.unwrap();
    assert_eq!(read_for(&mut client, SHORT).await, PINGRESP);
    let seen: Vec<String> = trace
        .events()
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Send { host, packet, .. } => Some(format!("{host} sends {packet}")),
            TraceEvent::Recv { host, packet, .. } => Some(format!("{host} receives {packet}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        ["c sends PINGREQ", "broker receives PINGREQ", "broker sends PINGRESP", "c receives PINGRESP"],
        "the client's tap and the proxy's record of the broker's side"
    );
}

#[tokio::test]
async fn a_partition_loses_bytes_and_a_stream_that_lost_some_stays_stuck_after_heal() {
    let Setup { broker, link, connector, .. } = setup().await;
    let (mut client, mut server) = connected(&connector, &broker).await;
    link.partition(Direction::Both);
    client.write_all(&PINGREQ).await.unwrap();
    server.write_all(&PINGRESP).await.unwrap();
    assert!(read_for(&mut server, SHORT).await.is_empty(), "lost to the broker");
    assert!(read_for(&mut client, SHORT).await.is_empty(), "lost to the client");
    let refused = connector.connect().await.err().expect("no new connection across a partition");
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    link.heal();
    client.write_all(&PINGREQ).await.unwrap();
    assert!(read_for(&mut server, SHORT).await.is_empty(), "the stream stays stuck after heal");
    drop(client);
    assert!(read_for(&mut server, SHORT).await.is_empty(), "nor does its FIN arrive");
    // A new connection after heal works.
    let (mut client, mut server) = connected(&connector, &broker).await;
    client.write_all(&PINGREQ).await.unwrap();
    assert_eq!(read_for(&mut server, SHORT).await, PINGREQ);
}

#[tokio::test]
async fn a_one_way_partition_cuts_one_direction_and_a_quiet_stream_works_after_heal() {
    let Setup { broker, link, connector, .. } = setup().await;
    let (mut client, mut server) = connected(&connector, &broker).await;
    link.partition(Direction::FromBroker);
    client.write_all(&PINGREQ).await.unwrap();
    assert_eq!(read_for(&mut server, SHORT).await, PINGREQ, "to the broker still flows");
    link.heal();
    server.write_all(&PINGRESP).await.unwrap();
    assert_eq!(read_for(&mut client, SHORT).await, PINGRESP, "nothing was lost from the broker: it works");
}

#[tokio::test]
async fn held_bytes_arrive_all_at_once_at_release_and_latency_delays_them() {
    let Setup { broker, link, connector, .. } = setup().await;
    let (mut client, mut server) = connected(&connector, &broker).await;
    link.hold();
    client.write_all(&PINGREQ).await.unwrap();
    client.write_all(&PINGREQ).await.unwrap();
    assert!(read_for(&mut server, SHORT).await.is_empty(), "held");
    link.release();
    assert_eq!(read_for(&mut server, SHORT).await, [PINGREQ, PINGREQ].concat(), "delivered at release");

    link.set_latency(Duration::from_millis(300));
    let sent = Instant::now();
    client.write_all(&PINGREQ).await.unwrap();
    let mut buf = [0u8; 2];
    server.read_exact(&mut buf).await.unwrap();
    assert!(sent.elapsed() >= Duration::from_millis(300), "arrived after {:?}", sent.elapsed());
}

#[tokio::test]
async fn a_connection_opened_during_a_hold_completes_at_release() {
    let Setup { broker, link, connector, .. } = setup().await;
    link.hold();
    let pending = tokio::spawn(async move { connector.connect().await.map(drop) });
    tokio::time::sleep(SHORT).await;
    assert!(!pending.is_finished(), "waits for the release");
    link.release();
    pending.await.unwrap().unwrap();
    tokio::time::timeout(SHORT, broker.accept()).await.expect("reaches the broker").unwrap();
}

#[tokio::test]
async fn certain_packet_loss_stalls_the_stream() {
    let Setup { broker, link, connector, .. } = setup().await;
    let (mut client, mut server) = connected(&connector, &broker).await;
    link.set_packet_loss(1.0);
    client.write_all(&PINGREQ).await.unwrap();
    assert!(read_for(&mut server, SHORT).await.is_empty());
    link.set_packet_loss(0.0);
    client.write_all(&PINGREQ).await.unwrap();
    assert!(read_for(&mut server, SHORT).await.is_empty(), "a loss leaves a gap: the stream stays stuck");
}

#[tokio::test]
async fn a_client_that_closes_is_seen_closing_by_the_broker() {
    let Setup { broker, link: _link, connector, .. } = setup().await;
    let (client, mut server) = connected(&connector, &broker).await;
    drop(client);
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(SHORT, server.read(&mut buf)).await.expect("the close arrives").unwrap_or(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_partition_loses_bytes_already_on_their_way_behind_a_latency() {
    let Setup { broker, link, connector, .. } = setup().await;
    let (mut client, mut server) = connected(&connector, &broker).await;
    link.set_latency(Duration::from_millis(200));
    server.write_all(&PINGRESP).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    link.partition(Direction::FromBroker);
    assert!(read_for(&mut client, Duration::from_millis(400)).await.is_empty(), "lost in flight");
    link.heal();
    server.write_all(&PINGRESP).await.unwrap();
    assert!(read_for(&mut client, Duration::from_millis(400)).await.is_empty(), "the stream stays stuck");
}

/// The broker's closes of `c`'s connections the trace records: whether each came after the
/// client's own close.
fn closes(trace: &Trace) -> Vec<bool> {
    trace
        .events()
        .into_iter()
        .filter_map(|e| match e {
            TraceEvent::Broker { event: BrokerEvent::ClosedConnection { client, after_client_close }, .. }
                if client == "c" =>
            {
                Some(after_client_close)
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_brokers_close_is_recorded_with_its_time() {
    let Setup { broker, trace, connector, link: _link } = setup().await;
    let (mut client, server) = connected(&connector, &broker).await;
    drop(server);
    assert!(read_for(&mut client, SHORT).await.is_empty(), "the client sees the close");
    assert_eq!(closes(&trace), [false], "the broker closed first");
}

/// The broker closes its end once it has read the client's FIN, as a broker does.
async fn close_when_the_client_does(mut server: TcpStream) {
    let mut buf = [0u8; 16];
    while tokio::time::timeout(SHORT, server.read(&mut buf)).await.is_ok_and(|r| r.is_ok_and(|n| n > 0)) {}
    drop(server);
}

#[tokio::test]
async fn a_close_answering_the_clients_delivered_fin_is_marked_so() {
    let Setup { broker, trace, connector, link: _link } = setup().await;
    let (client, server) = connected(&connector, &broker).await;
    drop(client);
    close_when_the_client_does(server).await;
    tokio::time::sleep(SHORT).await;
    assert_eq!(closes(&trace), [true]);
}

#[tokio::test]
async fn a_fin_held_or_lost_does_not_excuse_the_brokers_close() {
    // Held: the broker closes while the client's FIN waits for the release.
    let Setup { broker, trace, link, connector } = setup().await;
    let (client, server) = connected(&connector, &broker).await;
    link.hold();
    drop(client);
    tokio::time::sleep(SHORT).await;
    drop(server);
    tokio::time::sleep(SHORT).await;
    link.release();
    tokio::time::sleep(SHORT).await;
    assert_eq!(closes(&trace), [false], "held");

    // Lost to a partition: the FIN never arrives.
    let Setup { broker, trace, link, connector } = setup().await;
    let (client, server) = connected(&connector, &broker).await;
    link.partition(Direction::ToBroker);
    drop(client);
    tokio::time::sleep(SHORT).await;
    drop(server);
    tokio::time::sleep(SHORT).await;
    assert_eq!(closes(&trace), [false], "lost");
}
