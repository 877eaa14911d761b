//! Limits over real TCP on an ephemeral loopback port: each test drives one limit past its bound
//! and checks both the refusal and that a well-behaved pair of clients lost nothing meanwhile:
//! connect_timeout, max_connections, max_packet_size, keep alive, second CONNECT, max_keepalive,
//! max_queued_messages and max_queued_bytes for online clients, and the incoming QoS 2 window.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{pid, RawClient, TestBroker, PATIENCE};
use mqtt_sim::broker::Config;
use mqtt_sim::net::{PacketReader, PacketWriter};
use mqtt_sim::protocol::{Connect, Packet, Publish, QoS, Subscribe, SubscribeFilter};
use tokio::net::TcpSocket;

/// A persistent subscriber on `watch/#` at QoS 2 and a publisher, connected before the abuse.
struct Bystanders {
    sub: RawClient,
    publisher: RawClient,
    sent: u16,
}

impl Bystanders {
    async fn connect(broker: &TestBroker) -> Bystanders {
        Bystanders::connect_with_keep_alive(broker, 60).await
    }

    async fn connect_with_keep_alive(broker: &TestBroker, keep_alive: u16) -> Bystanders {
        let connect = |id: &str, clean| Connect::new(id, clean, keep_alive);
        let (mut sub, ack) = RawClient::connect_with(broker.addr, connect("bystander-sub", false)).await;
        assert_eq!(ack.code, mqtt_sim::protocol::ConnectReturnCode::Accepted.into());
        sub.subscribe(1, &[("watch/#", QoS::ExactlyOnce)]).await;
        let (publisher, ack) = RawClient::connect_with(broker.addr, connect("bystander-pub", true)).await;
        assert_eq!(ack.code, mqtt_sim::protocol::ConnectReturnCode::Accepted.into());
        Bystanders { sub, publisher, sent: 0 }
    }

    /// One QoS 1 and one QoS 2 message through the broker: each arrives once, in order, and
    /// nothing else arrives (a copy would be sent while the broker handles the publisher's
    /// PUBLISH or PUBREL, both answered before the subscriber's PINGREQ).
    async fn exchange(&mut self) {
        for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
            self.sent += 1;
            let payload = format!("m{}", self.sent);
            self.publisher.publish("watch/x", &payload, qos, false, self.sent).await;
            let got = self.sub.recv_publish().await;
            assert_eq!((got.topic.as_str(), &got.payload[..], got.qos), ("watch/x", payload.as_bytes(), qos));
        }
        self.sub.expect_nothing_before_pingresp("bystander: each message once").await;
    }
}

/// A raw connection with a tiny receive buffer, so the broker's writes to it block soon.
async fn small_window_client(addr: std::net::SocketAddr) -> RawClient2 {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (r, w) = stream.into_split();
    RawClient2 { reader: PacketReader::new(r, mqtt_sim::protocol::MAX_PACKET_SIZE), writer: PacketWriter::new(w) }
}

struct RawClient2 {
    reader: PacketReader<tokio::net::tcp::OwnedReadHalf>,
    writer: PacketWriter<tokio::net::tcp::OwnedWriteHalf>,
}

impl RawClient2 {
    async fn send(&mut self, packet: Packet) {
        self.writer.queue(&packet).unwrap();
        self.writer.flush().await.unwrap();
    }
    async fn recv(&mut self) -> Option<Packet> {
        match tokio::time::timeout(PATIENCE, self.reader.read_packet()).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => panic!("read failed: {e}"),
            Err(_) => None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_loses_qos0_only_and_gets_its_qos1_when_it_reads_again() {
    const QOS0: u16 = 6000; // 4 KB each: 24 MB, far more than loopback's socket buffers hold
    const QOS1: u16 = 50;
    let broker = TestBroker::start(Config::default()).await; // max_queued_messages 1000
    let filters =
        vec![SubscribeFilter::new("flood", QoS::AtMostOnce), SubscribeFilter::new("important", QoS::AtLeastOnce)];

    // The slow subscriber: persistent, subscribes, then stops reading.
    let mut slow = small_window_client(broker.addr).await;
    slow.send(Packet::Connect(Connect::new("slow", false, 0))).await;
    assert!(matches!(slow.recv().await, Some(Packet::Connack(_))));
    slow.send(Packet::Subscribe(Subscribe { pkid: pid(1), filters: filters.clone(), properties: Default::default() }))
        .await;
    assert!(matches!(slow.recv().await, Some(Packet::Suback(_))));

    // A good subscriber on the same topics reads everything as it comes.
    let mut good = RawClient::connect_ok(broker.addr, "good", false, false).await;
    good.subscribe(1, &[("flood", QoS::AtMostOnce), ("important", QoS::AtLeastOnce)]).await;
    // How many QoS 0 messages the good subscriber has read: the publisher waits for it to keep
    // up (see below), so it never falls behind by the broker's slow-client limit.
    let good_read = Arc::new(AtomicU32::new(0));
    let read = good_read.clone();
    let good_reader = tokio::spawn(async move {
        let (mut q0, mut q1) = (0u32, Vec::new());
        while q1.len() < usize::from(QOS1) {
            let p = good.recv_publish().await;
            match p.qos {
                QoS::AtMostOnce => {
                    q0 += 1;
                    read.store(q0, Ordering::Relaxed);
                }
                _ => q1.push(String::from_utf8_lossy(&p.payload).into_owned()),
            }
        }
        (q0, q1)
    });

    let mut publisher = RawClient::connect_ok(broker.addr, "pub", true, false).await;
    let big = Bytes::from(vec![b'x'; 4096]);
    for i in 0..QOS0 {
        let p = Publish::new("flood", QoS::AtMostOnce, big.clone(), false, None);
        publisher.send(Packet::Publish(p)).await;
        if i % 100 == 99 {
            publisher.sync().await; // the broker has routed everything so far
                                    // A reader that keeps up is not a slow client: on a busy machine the good reader may
                                    // lag, and 1,000 packets unwritten to it (`max_queued_messages`) would drop its QoS 0
                                    // messages too, rightly. Waiting for it keeps the test about the slow subscriber.
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while good_read.load(Ordering::Relaxed) + 300 < u32::from(i) {
                assert!(tokio::time::Instant::now() < deadline, "the good subscriber stopped reading");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    for i in 1..=QOS1 {
        // Acknowledged, so owned by the broker: the slow subscriber must get it.
        publisher.publish("important", &format!("i{i}"), QoS::AtLeastOnce, false, i).await;
    }

    // The good subscriber lost nothing.
    let (good_q0, good_q1) = tokio::time::timeout(PATIENCE * 3, good_reader).await.expect("good reader done").unwrap();
    assert_eq!(good_q0, u32::from(QOS0));
    assert_eq!(good_q1, (1..=QOS1).map(|i| format!("i{i}")).collect::<Vec<_>>());

    // The slow one reads again: part of the QoS 0 flood was dropped, every QoS 1 message
    // arrives once and in order, the ones beyond the window after PUBACKs.
    let (mut q0, mut q1) = (0u32, Vec::new());
    while q1.len() < usize::from(QOS1) {
        match slow.recv().await {
            Some(Packet::Publish(p)) if p.qos == QoS::AtMostOnce => q0 += 1,
            Some(Packet::Publish(p)) => {
                q1.push(String::from_utf8_lossy(&p.payload).into_owned());
                slow.send(Packet::puback(p.pkid.unwrap())).await;
            }
            other => panic!("slow subscriber got {other:?} after {q0} QoS 0 and {} QoS 1 messages", q1.len()),
        }
    }
    assert_eq!(
        q1,
        (1..=QOS1).map(|i| format!("i{i}")).collect::<Vec<_>>(),
        "[MQTT-4.3.2-2] acknowledged, so owned by the broker: every one arrives, [MQTT-4.6.0-6] once and in order"
    );
    assert!(q0 < u32::from(QOS0), "the broker held back nothing: {q0} of {QOS0} QoS 0 messages arrived");
    eprintln!("slow subscriber: {q0} of {QOS0} QoS 0 messages arrived, the rest were dropped as slow_client");
}

#[tokio::test]
async fn a_connection_without_connect_is_closed_after_connect_timeout() {
    let config = Config { connect_timeout: Some(Duration::from_millis(300)), ..Config::default() };
    let broker = TestBroker::start(config).await;
    let mut bystanders = Bystanders::connect(&broker).await;
    let mut silent = RawClient::open(broker.addr).await;
    bystanders.exchange().await;
    silent.expect_closed().await;
    // A client that sends CONNECT in time stays, and the bystanders lost nothing.
    let mut late = RawClient::connect_ok(broker.addr, "in-time", true, false).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    late.sync().await;
    bystanders.exchange().await;
}

#[tokio::test]
async fn max_connections_refuses_extra_connections_and_frees_a_slot_on_close() {
    let config = Config { max_connections: Some(3), ..Config::default() };
    let broker = TestBroker::start(config).await;
    let mut bystanders = Bystanders::connect(&broker).await; // two of the three
    let third = RawClient::connect_ok(broker.addr, "third", true, false).await;
    // The fourth is accepted by TCP and closed at once, before any CONNACK.
    for _ in 0..3 {
        let mut extra = RawClient::open(broker.addr).await;
        extra.expect_closed().await;
    }
    bystanders.exchange().await;
    // A slot frees when a client leaves.
    third.disconnect().await;
    let mut again = RawClient::connect_ok(broker.addr, "again", true, false).await;
    again.sync().await;
    bystanders.exchange().await;
}

#[tokio::test]
async fn max_packet_size_closes_on_the_fixed_header_before_the_body_is_sent() {
    let config = Config { max_packet_size: 100, ..Config::default() };
    let broker = TestBroker::start(config).await;
    let mut bystanders = Bystanders::connect(&broker).await;
    let mut big = RawClient::connect_ok(broker.addr, "big", true, false).await;
    // PUBLISH QoS 0 announcing 1,000 bytes; the body never follows [MQTT-2.2.3].
    big.send_raw(&[0x30, 0xE8, 0x07]).await;
    big.expect_closed().await;
    // A packet within the limit is fine.
    let mut small = RawClient::connect_ok(broker.addr, "small", true, false).await;
    small.publish("watch/y", &"s".repeat(80), QoS::AtMostOnce, false, 0).await;
    let got = bystanders.sub.recv_publish().await;
    assert_eq!(got.payload.len(), 80);
    bystanders.exchange().await;
}

#[tokio::test]
async fn a_half_open_client_is_reaped_by_keep_alive_and_its_will_published() {
    let broker = TestBroker::start(Config::default()).await;
    let mut bystanders = Bystanders::connect(&broker).await;
    let mut connect = Connect::new("half-open", true, 1);
    connect.will = Some(mqtt_sim::protocol::LastWill {
        topic: "watch/will".into(),
        message: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: Default::default(),
    });
    let (mut silent, _) = RawClient::connect_with(broker.addr, connect).await;
    // The client goes silent without closing its socket: after 1.5 times the keep alive the
    // broker closes it [MQTT-3.1.2-24] and publishes its will.
    silent.expect_closed().await;
    let will = bystanders.sub.recv_publish().await;
    assert_eq!((will.topic.as_str(), &will.payload[..]), ("watch/will", &b"gone"[..]), "[MQTT-3.1.2-8]");
    bystanders.exchange().await;
}

#[tokio::test]
async fn a_second_connect_closes_that_connection_only() {
    let broker = TestBroker::start(Config::default()).await;
    let mut bystanders = Bystanders::connect(&broker).await;
    let mut twice = RawClient::connect_ok(broker.addr, "twice", false, false).await;
    twice.subscribe(1, &[("watch/#", QoS::AtLeastOnce)]).await;
    twice.send(Packet::Connect(Connect::new("twice", false, 60))).await;
    twice.expect_closed().await; // [MQTT-3.1.0-2]
    bystanders.exchange().await;
    // Its persistent session survived the violation and kept what arrived meanwhile.
    let mut back = RawClient::connect_ok(broker.addr, "twice", false, true).await;
    assert_eq!(back.recv_publish().await.payload, Bytes::from_static(b"m1"));
    assert_eq!(back.recv_publish().await.payload, Bytes::from_static(b"m2"));
}

#[tokio::test]
async fn max_keepalive_refuses_a_longer_keep_alive_as_mosquitto_does() {
    let config = Config { max_keepalive: 30, ..Config::default() };
    let broker = TestBroker::start(config).await;
    let mut bystanders = Bystanders::connect_with_keep_alive(&broker, 30).await;
    for keep_alive in [31, 0] {
        let (mut refused, ack) = RawClient::connect_with(broker.addr, Connect::new("long", true, keep_alive)).await;
        assert_eq!(
            ack.code,
            mqtt_sim::protocol::ConnectReturnCode::IdentifierRejected.into(),
            "keep alive {keep_alive}"
        );
        refused.expect_closed().await; // [MQTT-3.2.2-5]
    }
    bystanders.exchange().await;
}

#[tokio::test]
async fn max_queued_bytes_holds_for_an_online_subscriber_that_does_not_acknowledge() {
    // The subscriber reads but never sends PUBACK: 20 messages fill its inflight window, the
    // next ones queue while it is online until their payloads reach max_queued_bytes, and the
    // rest are dropped for it alone (counted as queue_bytes_full), as mosquitto applies the limit
    // to online clients too. A subscriber that acknowledges gets all of them.
    const MESSAGES: u16 = 60;
    let config = Config { max_queued_bytes: 10 * 100, ..Config::default() };
    let broker = TestBroker::start(config).await;
    let mut bystanders = Bystanders::connect(&broker).await;
    let mut slow = RawClient::connect_ok(broker.addr, "slow", false, false).await;
    slow.subscribe(1, &[("bulk", QoS::AtLeastOnce)]).await;
    let mut good = RawClient::connect_ok(broker.addr, "good", true, false).await;
    good.subscribe(1, &[("bulk", QoS::AtLeastOnce)]).await;
    let good_reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < usize::from(MESSAGES) {
            got.push(good.recv_publish().await.payload);
        }
        got
    });
    let mut publisher = RawClient::connect_ok(broker.addr, "bulk-pub", true, false).await;
    let payload = |i: u16| format!("{:0>100}", format!("m{i}")); // exactly 100 bytes
    for i in 1..=MESSAGES {
        publisher.publish("bulk", &payload(i), QoS::AtLeastOnce, false, i).await;
    }
    let got = tokio::time::timeout(PATIENCE, good_reader).await.expect("good reader done").unwrap();
    let sent: Vec<Bytes> = (1..=MESSAGES).map(|i| Bytes::from(payload(i))).collect();
    assert_eq!(got, sent, "the acknowledging subscriber lost nothing");

    // The slow one: 20 in flight, unacknowledged.
    let mut pkids = Vec::new();
    for i in 1..=20u16 {
        let Packet::Publish(p) = slow.recv().await else { panic!("expected PUBLISH") };
        assert_eq!(p.payload.len(), 100);
        assert!(std::str::from_utf8(&p.payload).unwrap().ends_with(&format!("m{i}")));
        pkids.push(p.pkid.unwrap());
    }
    // The publisher was answered for all 60 before this, so every message routed to "slow" that
    // the window allowed has been sent ahead of the PINGRESP.
    slow.expect_nothing_before_pingresp("the window of 20 is full").await;
    // Acknowledging frees the whole window: every queued message is released while the broker
    // handles these PUBACKs, so before the PINGRESP. Only the 10 that fit in 1,000 bytes come.
    for pkid in pkids {
        slow.send(Packet::puback(pkid)).await;
    }
    let mut queued = Vec::new();
    for packet in slow.packets_before_pingresp().await {
        let Packet::Publish(p) = packet else { panic!("expected PUBLISH, got {packet:?}") };
        slow.send(Packet::puback(p.pkid.unwrap())).await;
        queued.push(String::from_utf8_lossy(&p.payload).trim_start_matches('0').to_owned());
    }
    assert_eq!(queued, (21..=30).map(|i| format!("m{i}")).collect::<Vec<_>>(), "the queue held 1,000 bytes");
    // Acknowledging those released nothing more: the rest were dropped, not queued beyond.
    slow.expect_nothing_before_pingresp("the queue should have held only 1,000 bytes").await;
    bystanders.exchange().await;
}

#[tokio::test]
async fn a_qos2_publisher_beyond_the_incoming_window_is_closed_unacknowledged() {
    // max_inflight_messages caps the QoS 2 messages a client may have awaiting PUBREL; the one
    // beyond is not acknowledged (no PUBREC) and the connection is closed. The 20 held are
    // released when the publisher comes back and sends PUBREL [MQTT-4.3.3-2].
    let broker = TestBroker::start(Config::default()).await; // max_inflight_messages 20
    let mut bystanders = Bystanders::connect(&broker).await;
    let mut greedy = RawClient::connect_ok(broker.addr, "greedy", false, false).await;
    for i in 1..=20u16 {
        let p = Publish::new("watch/g", QoS::ExactlyOnce, Bytes::from(format!("g{i}")), false, Some(pid(i)));
        greedy.send(Packet::Publish(p)).await;
        assert_eq!(greedy.recv().await, Packet::pubrec(pid(i)));
    }
    let p = Publish::new("watch/g", QoS::ExactlyOnce, Bytes::from_static(b"g21"), false, Some(pid(21)));
    greedy.send(Packet::Publish(p)).await;
    greedy.expect_closed().await;
    // Nothing released yet: the broker had handled all 21 PUBLISHes (it answered each with a
    // PUBREC or, for the last, the close) before the subscriber's PINGREQ.
    bystanders.sub.expect_nothing_before_pingresp("QoS 2 messages held until PUBREL").await;
    bystanders.exchange().await;
    // Back, the publisher releases what the broker holds: each delivered once, in order.
    let mut back = RawClient::connect_ok(broker.addr, "greedy", false, true).await;
    for i in 1..=20u16 {
        back.send(Packet::pubrel(pid(i))).await;
        assert_eq!(back.recv().await, Packet::pubcomp(pid(i)));
        let got = bystanders.sub.recv_publish().await;
        assert_eq!(got.payload, Bytes::from(format!("g{i}")), "[MQTT-4.3.3-2] released by PUBREL, once, in order");
    }
    bystanders.exchange().await;
}
