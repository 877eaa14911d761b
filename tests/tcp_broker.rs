//! The broker over real TCP on an ephemeral loopback port, seen by raw MQTT clients: the seed
//! article's persistent-session story end to end, and the spec rules a network peer can observe.

mod common;

use common::{pid, summary, RawClient, TestBroker};
use mqtt_sim::broker::Config;
use mqtt_sim::protocol::{Connack, Connect, ConnectReturnCode, LastWill, Packet, QoS, SubackCode};

fn q(n: u8) -> QoS {
    QoS::from_u8(n).unwrap()
}

#[tokio::test]
async fn seed_story_offline_messages_arrive_in_order_once_on_reconnect() {
    let broker = TestBroker::start(Config::default()).await;
    // A persistent subscriber [MQTT-3.1.2-4] subscribes at QoS 1 and goes away cleanly.
    let mut sub = RawClient::connect_ok(broker.addr, "sensor-reader", false, false).await;
    assert_eq!(sub.subscribe(1, &[("sensors/#", q(1))]).await, vec![SubackCode::Granted(q(1))]);
    sub.disconnect().await;

    // While it is offline: QoS 1 and 2 messages are stored [MQTT-3.1.2-5]; QoS 0 is not.
    let mut publisher = RawClient::connect_ok(broker.addr, "publisher", true, false).await;
    publisher.publish("sensors/temp", "21.5", q(1), false, 1).await;
    publisher.publish("sensors/temp", "lost at qos 0", q(0), false, 0).await;
    publisher.publish("sensors/hum", "40", q(2), false, 2).await;
    publisher.publish("sensors/temp", "22.0", q(1), true, 3).await;
    publisher.publish("sensors/temp", "22.5", q(1), true, 4).await;

    // On reconnect the session is present [MQTT-3.2.2-2] and every stored message arrives, in
    // order, once, with RETAIN=0 since the subscription was established [MQTT-3.3.1-9]: both
    // retained publications, not just the last (the seed article's claim holds).
    let mut sub = RawClient::connect_ok(broker.addr, "sensor-reader", false, true).await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(summary(&sub.recv_publish().await));
    }
    let expect = |t: &str, p: &str, qos: u8| (t.to_owned(), p.to_owned(), qos, false, false);
    assert_eq!(
        got,
        vec![
            expect("sensors/temp", "21.5", 1),
            expect("sensors/hum", "40", 1), // QoS 2 published, QoS 1 granted
            expect("sensors/temp", "22.0", 1),
            expect("sensors/temp", "22.5", 1)
        ],
        "[MQTT-3.1.2-4] [MQTT-3.1.2-5] stored for the persistent session, in order, [MQTT-3.3.1-9] RETAIN 0, \
         [MQTT-3.8.4-6] at min(published, granted)"
    );
    // Nothing more, nothing twice: the broker sends stored messages while handling the CONNECT
    // and the PUBACKs, all before it handles this PINGREQ.
    sub.expect_nothing_before_pingresp("after the four stored messages").await;

    // The seed article's last advice: reconnecting with clean session = true discards the
    // session [MQTT-3.1.2-6] [MQTT-3.2.2-1]; a later persistent connect starts from nothing.
    sub.disconnect().await;
    publisher.publish("sensors/temp", "23.0", q(1), false, 5).await;
    let sub = RawClient::connect_ok(broker.addr, "sensor-reader", true, false).await;
    sub.disconnect().await;
    // Had the session survived, its stored "23.0" would follow the CONNACK (sent while handling
    // the CONNECT, so before the PINGRESP); the publisher's PUBACK came before any of this.
    let mut sub = RawClient::connect_ok(broker.addr, "sensor-reader", false, false).await;
    sub.expect_nothing_before_pingresp("the discarded session's message").await;
}

#[tokio::test]
async fn queue_limit_drops_message_101() {
    let config = Config { max_queued_messages: 100, ..Config::default() };
    let broker = TestBroker::start(config).await;
    let mut sub = RawClient::connect_ok(broker.addr, "slow", false, false).await;
    sub.subscribe(1, &[("q", q(1))]).await;
    sub.disconnect().await;
    let mut publisher = RawClient::connect_ok(broker.addr, "pub", true, false).await;
    for i in 1..=101u16 {
        // The publisher is acknowledged even for the message that is dropped.
        publisher.publish("q", &format!("m{i}"), q(1), false, i).await;
    }
    let mut sub = RawClient::connect_ok(broker.addr, "slow", false, true).await;
    for i in 1..=100 {
        assert_eq!(String::from_utf8_lossy(&sub.recv_publish().await.payload), format!("m{i}"));
    }
    // Message 101 was dropped: had it been queued, the PUBACK for an earlier message would have
    // moved it into the window, and those PUBACKs were handled before this PINGREQ. The publisher
    // was answered for all 101 before the subscriber came back.
    sub.expect_nothing_before_pingresp("message 101 should have been dropped").await;
}

#[tokio::test]
async fn unacknowledged_messages_are_resent_with_dup_and_same_ids() {
    let broker = TestBroker::start(Config::default()).await;
    let mut sub = RawClient::connect_ok(broker.addr, "s", false, false).await;
    sub.subscribe(1, &[("t", q(2))]).await;
    let mut publisher = RawClient::connect_ok(broker.addr, "p", true, false).await;
    publisher.publish("t", "one", q(1), false, 1).await;
    publisher.publish("t", "two", q(2), false, 2).await;
    // Receive both without acknowledging, then lose the connection.
    let first = match sub.recv().await {
        Packet::Publish(p) => p,
        other => panic!("{other:?}"),
    };
    let second = match sub.recv().await {
        Packet::Publish(p) => p,
        other => panic!("{other:?}"),
    };
    assert!(!first.dup && !second.dup);
    sub.drop_connection();
    let mut sub = RawClient::connect_ok(broker.addr, "s", false, true).await;
    for original in [first, second] {
        match sub.recv().await {
            Packet::Publish(p) => {
                assert!(p.dup, "[MQTT-3.3.1-1] re-delivery has DUP set");
                assert_eq!(
                    (p.pkid, p.topic.as_str(), &p.payload),
                    (original.pkid, "t", &original.payload),
                    "[MQTT-4.4.0-1] re-sent with the same id, [MQTT-4.6.0-1] in the original order"
                );
            }
            other => panic!("expected a re-sent PUBLISH, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn will_is_published_when_the_connection_drops_and_not_after_disconnect() {
    let broker = TestBroker::start(Config::default()).await;
    let mut watcher = RawClient::connect_ok(broker.addr, "watcher", true, false).await;
    watcher.subscribe(1, &[("status/#", q(1))]).await;
    let with_will = |id: &str| Connect {
        will: Some(LastWill {
            topic: format!("status/{id}"),
            message: "gone".into(),
            qos: q(1),
            retain: false,
            properties: Default::default(),
        }),
        ..Connect::new(id, true, 60)
    };
    let (c, _) = RawClient::connect_with(broker.addr, with_will("polite")).await;
    c.disconnect().await; // will discarded
    let (c, _) = RawClient::connect_with(broker.addr, with_will("rude")).await;
    c.drop_connection(); // will published
    let will = watcher.recv_publish().await;
    assert_eq!(
        summary(&will),
        ("status/rude".into(), "gone".into(), 1, false, false),
        "[MQTT-3.1.2-8] the dropped connection's will, [MQTT-3.14.4-3] not the one that sent DISCONNECT"
    );
    // "polite"'s will, had it been published, would have come first (the test saw "polite"
    // closed before "rude" connected), failing the check above. A second copy of "rude"'s will
    // would come from the same step, whose output the watcher has started to receive.
    watcher.expect_nothing_before_pingresp("one will, once").await;
}

#[tokio::test]
async fn malformed_packet_closes_only_that_connection() {
    let broker = TestBroker::start(Config::default()).await;
    let mut good = RawClient::connect_ok(broker.addr, "good", true, false).await;
    good.subscribe(1, &[("t", q(0))]).await;
    let mut bad = RawClient::connect_ok(broker.addr, "bad", true, false).await;
    // PUBLISH with QoS 3 [MQTT-3.3.1-4].
    bad.send_raw(&[0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01]).await;
    bad.expect_closed().await;
    let mut publisher = RawClient::connect_ok(broker.addr, "p", true, false).await;
    publisher.publish("t", "still here", q(0), false, 0).await;
    assert_eq!(good.recv_publish().await.payload, "still here");
}

#[tokio::test]
async fn unsupported_protocol_level_gets_connack_1_then_close() {
    let broker = TestBroker::start(Config::default()).await;
    let mut c = RawClient::open(broker.addr).await;
    // CONNECT, protocol "MQTT" level 6, which no MQTT version has.
    c.send_raw(&[0x10, 0x0d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x06, 0x02, 0x00, 0x3c, 0x00, 0x01, b'x']).await;
    assert_eq!(
        c.recv().await,
        Packet::Connack(Connack {
            session_present: false,
            code: ConnectReturnCode::UnacceptableProtocolVersion.into(),
            properties: Default::default()
        }),
        "[MQTT-3.1.2-2]"
    );
    c.expect_closed().await;
}

#[tokio::test]
async fn takeover_closes_the_old_connection() {
    let broker = TestBroker::start(Config::default()).await;
    let mut first = RawClient::connect_ok(broker.addr, "same-id", false, false).await;
    first.subscribe(1, &[("x", q(1))]).await;
    // [MQTT-3.1.4-2]: the existing client is disconnected; the session carries over.
    let mut second = RawClient::connect_ok(broker.addr, "same-id", false, true).await;
    first.expect_closed().await;
    let mut publisher = RawClient::connect_ok(broker.addr, "p", true, false).await;
    publisher.publish("x", "to the new one", q(1), false, 7).await;
    let p = second.recv_publish().await;
    assert_eq!((p.pkid, p.payload.as_ref()), (Some(pid(1)), &b"to the new one"[..]));
}
