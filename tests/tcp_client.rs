//! The async client and the `pub`/`sub` commands against our broker over TCP on ephemeral ports.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{RawClient, TestBroker};
use mqtt_sim::broker::Config;
use mqtt_sim::client::{ClientEvent, ClientOptions, CloseCause};
use mqtt_sim::commands::{self, ConnectOptions, Payload, PubOptions, SubOptions};
use mqtt_sim::net::{Client, ReconnectPolicy, TcpConnector};
use mqtt_sim::protocol::{
    ConnackCode, ConnectReturnCode, Properties, Property, QoS, ReasonCode, SubackCode, SubscribeFilter,
};

fn q(n: u8) -> QoS {
    QoS::from_u8(n).unwrap()
}

fn filter(f: &str, qos: u8) -> Vec<SubscribeFilter> {
    vec![SubscribeFilter::new(f, q(qos))]
}

async fn next_message(events: &mut mqtt_sim::net::Events) -> mqtt_sim::client::Message {
    loop {
        match tokio::time::timeout(common::PATIENCE, events.recv()).await.expect("an event in time") {
            Some(ClientEvent::Message(m)) => return m,
            Some(_) => continue,
            None => panic!("client ended"),
        }
    }
}

#[tokio::test]
async fn publish_completes_with_the_qos_flow_and_messages_arrive() {
    let broker = TestBroker::start(Config::default()).await;
    let connector = TcpConnector(broker.addr.to_string());
    let (sub, mut sub_events) = Client::connect(connector.clone(), ClientOptions::new("s", true), None).await.unwrap();
    assert_eq!(sub.subscribe(filter("t/#", 2)).await.unwrap(), vec![SubackCode::Granted(q(2))]);
    let (publisher, _) = Client::connect(connector, ClientOptions::new("p", true), None).await.unwrap();
    for qos in 0..=2 {
        publisher.publish("t/x", format!("qos{qos}"), q(qos), false).await.unwrap();
    }
    let mut got: Vec<(String, u8)> = Vec::new();
    for _ in 0..3 {
        let m = next_message(&mut sub_events).await;
        got.push((String::from_utf8_lossy(&m.payload).into_owned(), m.qos.as_u8()));
    }
    got.sort();
    assert_eq!(got, vec![("qos0".into(), 0), ("qos1".into(), 1), ("qos2".into(), 2)]);
    publisher.disconnect().await;
    sub.disconnect().await;
}

#[tokio::test]
async fn refused_connect_reports_the_return_code() {
    let broker = TestBroker::start(Config { allow_zero_length_clientid: false, ..Config::default() }).await;
    // The server may refuse a zero-length client id.
    let err =
        Client::connect(TcpConnector(broker.addr.to_string()), ClientOptions::new("", true), None).await.unwrap_err();
    assert!(
        matches!(err, mqtt_sim::net::ClientError::Refused(ConnackCode::V311(ConnectReturnCode::IdentifierRejected))),
        "[MQTT-3.1.3-9] CONNACK 0x02: {err:?}"
    );
}

#[tokio::test]
async fn client_refuses_an_empty_client_id_with_a_persistent_session() {
    // Nothing is sent; the broker is never asked.
    let broker = TestBroker::start(Config::default()).await;
    let err =
        Client::connect(TcpConnector(broker.addr.to_string()), ClientOptions::new("", false), None).await.unwrap_err();
    assert!(
        matches!(
            err,
            mqtt_sim::net::ClientError::Client(mqtt_sim::client::ClientError::EmptyClientIdNeedsCleanSession)
        ),
        "[MQTT-3.1.3-7] {err:?}"
    );
}

#[tokio::test]
async fn reconnect_policy_resumes_the_session_and_receives_what_was_queued() {
    let broker = TestBroker::start(Config::default()).await;
    let connector = TcpConnector(broker.addr.to_string());
    let policy = ReconnectPolicy { initial: Duration::from_millis(20), max: Duration::from_millis(200) };
    let (sub, mut events) =
        Client::connect(connector.clone(), ClientOptions::new("resumer", false), Some(policy)).await.unwrap();
    sub.subscribe(filter("r", 1)).await.unwrap();
    // Take the session over from a raw client, so the broker drops the first connection; the
    // raw client then leaves, and messages queue for the session.
    let raw = RawClient::connect_ok(broker.addr, "resumer", false, true).await;
    loop {
        if let Some(ClientEvent::Disconnected { .. }) = events.recv().await {
            break;
        }
    }
    let mut publisher = RawClient::connect_ok(broker.addr, "pub", true, false).await;
    raw.disconnect().await;
    publisher.publish("r", "while away", q(1), false, 1).await;
    let m = next_message(&mut events).await;
    assert_eq!((m.payload.as_ref(), m.qos), (&b"while away"[..], q(1)));
    sub.disconnect().await;
}

fn connect_opts(broker: &TestBroker, id: &str, persistent: bool) -> ConnectOptions {
    ConnectOptions {
        host: "127.0.0.1".into(),
        port: broker.addr.port(),
        client_id: id.into(),
        persistent,
        keep_alive: 60,
        username: None,
        password: None,
        ..ConnectOptions::default()
    }
}

#[tokio::test]
async fn sub_c_receives_offline_qos1_messages_in_order_once() {
    let broker = TestBroker::start(Config::default()).await;
    let sub_opts = |count, exit| SubOptions {
        connect: connect_opts(&broker, "cli-reader", true),
        topics: vec!["cli/#".into()],
        qos: q(1),
        count,
        timeout: Some(10),
        verbose: true,
        no_retained: false,
        exit_after_subscribe: exit,
    };
    commands::subscribe(&sub_opts(None, true), &mut Vec::new()).await.unwrap();
    for i in 1..=3 {
        let p = PubOptions {
            connect: connect_opts(&broker, "cli-writer", false),
            topic: "cli/a".into(),
            payload: Payload::Message(format!("m{i}")),
            qos: q(1),
            retain: false,
        };
        commands::publish(&p, std::io::empty()).await.unwrap();
    }
    let mut out = Vec::new();
    commands::subscribe(&sub_opts(Some(3), false), &mut out).await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), "cli/a m1\ncli/a m2\ncli/a m3\n");
    // Nothing is delivered twice: a fourth message would be the only one now.
    let mut out = Vec::new();
    let err =
        commands::subscribe(&SubOptions { timeout: Some(1), ..sub_opts(Some(1), false) }, &mut out).await.unwrap_err();
    assert_eq!(err.exit_code(), 4, "timed out with nothing left: {err}");
}

#[test]
fn command_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_mqtt-sim");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = rt.block_on(TestBroker::start(Config::default()));
    let port = broker.addr.port().to_string();
    let run = |args: &[&str]| Command::new(bin).args(args).output().unwrap();
    let ok = run(&["pub", "-h", "127.0.0.1", "-p", &port, "-t", "x", "-m", "y", "-q", "2"]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let wildcard = run(&["pub", "-h", "127.0.0.1", "-p", &port, "-t", "x/#", "-m", "y"]);
    assert_eq!(wildcard.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wildcard.stderr).contains("[MQTT-3.3.2-2]"));
    let local = run(&["sub", "-h", "127.0.0.1", "-p", &port, "-t", "x", "-c", "-i", ""]);
    assert_eq!(
        local.status.code(),
        Some(2),
        "refused by the client itself: {}",
        String::from_utf8_lossy(&local.stderr)
    );
    assert!(String::from_utf8_lossy(&local.stderr).contains("[MQTT-3.1.3-7]"));
    let timeout = run(&["sub", "-h", "127.0.0.1", "-p", &port, "-t", "x", "-C", "1", "-W", "1"]);
    assert_eq!(timeout.status.code(), Some(4));
    drop(broker);
    let closed_port = common::mosquitto::free_port().to_string();
    let unreachable = run(&["sub", "-h", "127.0.0.1", "-p", &closed_port, "-t", "x"]);
    assert_eq!(unreachable.status.code(), Some(1));
}

#[tokio::test]
async fn a_burst_of_qos2_publications_beyond_the_brokers_incoming_window_completes_on_one_connection() {
    // 200 QoS 2 publications at once against the broker's default max_inflight_messages of 20,
    // which caps the QoS 2 messages it holds awaiting PUBREL (and closes a connection that sends
    // more): the client's own window of 20 keeps within it, so all complete and arrive once each.
    let broker = TestBroker::start(Config::default()).await;
    let connector = TcpConnector(broker.addr.to_string());
    let (sub, mut sub_events) = Client::connect(connector.clone(), ClientOptions::new("s", true), None).await.unwrap();
    sub.subscribe(filter("burst", 2)).await.unwrap();
    let (publisher, mut publisher_events) =
        Client::connect(connector, ClientOptions::new("p", true), None).await.unwrap();
    let sends: Vec<_> = (0..200)
        .map(|n| {
            let publisher = publisher.clone();
            tokio::spawn(async move { publisher.publish("burst", n.to_string(), q(2), false).await })
        })
        .collect();
    for send in sends {
        send.await.unwrap().expect("every publication completes");
    }
    let mut got = Vec::new();
    while got.len() < 200 {
        got.push(String::from_utf8_lossy(&next_message(&mut sub_events).await.payload).parse::<u32>().unwrap());
    }
    got.sort();
    assert_eq!(got, (0..200).collect::<Vec<u32>>(), "each once");
    assert!(
        std::iter::from_fn(|| publisher_events.try_recv()).all(|e| !matches!(e, ClientEvent::Disconnected { .. })),
        "the publisher's connection was never closed"
    );
    publisher.disconnect().await;
    sub.disconnect().await;
}

/// MQTT 5.0 options with keep alive 60, as `ClientOptions::new` has.
fn v5(id: &str, clean_start: bool, session_expiry: u32) -> ClientOptions {
    ClientOptions::v5(id, clean_start, session_expiry)
}

#[tokio::test]
async fn a_5_0_client_publishes_and_receives_properties_through_our_broker() {
    let broker = TestBroker::start(Config::default()).await;
    let connector = TcpConnector(broker.addr.to_string());
    let (sub, mut sub_events) = Client::connect(connector.clone(), v5("s5", true, 0), None).await.unwrap();
    let limits = sub.server_limits().await.unwrap();
    assert_eq!(limits.receive_maximum, 20, "the broker's max_inflight_messages as its Receive Maximum");
    // Our broker offers Subscription Identifiers (CONNACK leaves the property out: available).
    assert!(limits.subscription_identifiers);
    let asked =
        Properties(vec![Property::SubscriptionIdentifier(9), Property::UserProperty(("sub".into(), "5".into()))]);
    assert_eq!(sub.subscribe_with(filter("p5/#", 2), asked).await.unwrap(), vec![SubackCode::Granted(q(2))]);
    // A 3.1.1 subscriber on the same topic gets the message without properties.
    let (old, mut old_events) =
        Client::connect(connector.clone(), ClientOptions::new("s311", true), None).await.unwrap();
    old.subscribe(filter("p5/#", 1)).await.unwrap();
    let (publisher, _) = Client::connect(connector, v5("p5", true, 0), None).await.unwrap();
    let properties =
        Properties(vec![Property::ContentType("text/plain".into()), Property::UserProperty(("k".into(), "v".into()))]);
    let reason = publisher.publish_with("p5/a", "hello", q(2), false, properties).await.unwrap();
    assert_eq!(reason, ReasonCode::SUCCESS);
    let m = next_message(&mut sub_events).await;
    assert_eq!((m.topic.as_str(), m.payload.as_ref(), m.qos), ("p5/a", &b"hello"[..], q(2)));
    assert_eq!(m.properties.content_type().map(String::as_str), Some("text/plain"));
    assert_eq!(m.properties.user_properties().collect::<Vec<_>>(), [("k", "v")]);
    assert_eq!(m.properties.subscription_identifiers().collect::<Vec<_>>(), [9], "[MQTT5-3.3.4-3]");
    let m = next_message(&mut old_events).await;
    assert!(m.properties.is_empty(), "3.1.1 messages have no properties: {m:?}");
    // No subscriber: the broker says so in PUBACK (0x10), a success.
    let reason = publisher.publish_with("nobody", "x", q(1), false, Properties::new()).await.unwrap();
    assert_eq!(reason, ReasonCode::NO_MATCHING_SUBSCRIBERS);
    assert_eq!(
        sub.unsubscribe_with(vec!["p5/#".into(), "never".into()], Properties::new()).await.unwrap(),
        vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED]
    );
    publisher.disconnect().await;
    old.disconnect().await;
    sub.disconnect().await;
}

#[tokio::test]
async fn a_5_0_session_taken_over_reports_the_servers_disconnect() {
    let broker = TestBroker::start(Config::default()).await;
    let connector = TcpConnector(broker.addr.to_string());
    let (first, mut events) = Client::connect(connector.clone(), v5("twice", false, 60), None).await.unwrap();
    let (second, _) = Client::connect(connector, v5("twice", false, 60), None).await.unwrap();
    loop {
        match tokio::time::timeout(common::PATIENCE, events.recv()).await.expect("an event in time") {
            Some(ClientEvent::Disconnected { cause }) => {
                assert_eq!(
                    cause,
                    Some(CloseCause::ServerDisconnect(ReasonCode::SESSION_TAKEN_OVER)),
                    "[MQTT5-3.1.4-3]"
                );
                break;
            }
            Some(_) => continue,
            None => panic!("client ended without a Disconnected event"),
        }
    }
    second.disconnect().await;
    drop(first);
}

#[tokio::test]
async fn the_5_0_commands_carry_d_properties_end_to_end() {
    let broker = TestBroker::start(Config::default()).await;
    let v5_opts = |id: &str, properties| ConnectOptions {
        version: mqtt_sim::protocol::Version::V5,
        properties,
        ..connect_opts(&broker, id, false)
    };
    let mut pub_props = commands::CommandProperties::default();
    for d in [&["publish", "user-property", "k", "v"][..], &["publish", "content-type", "text/plain"]] {
        let words: Vec<String> = d.iter().map(|w| (*w).to_owned()).collect();
        pub_props.add(commands::Tool::Pub, &words).unwrap();
    }
    let sub = SubOptions {
        connect: v5_opts("cli5-reader", Default::default()),
        topics: vec!["cli5/#".into()],
        qos: q(1),
        count: Some(1),
        timeout: Some(10),
        verbose: true,
        no_retained: false,
        exit_after_subscribe: false,
    };
    let reader = tokio::spawn(async move {
        let mut out = Vec::new();
        commands::subscribe(&sub, &mut out).await.map(|()| out)
    });
    // The command does not say when its subscription is in place: publish until a message is read.
    let publication = PubOptions {
        connect: v5_opts("cli5-writer", pub_props),
        topic: "cli5/a".into(),
        payload: Payload::Message("m".into()),
        qos: q(1),
        retain: false,
    };
    let out = loop {
        commands::publish(&publication, std::io::empty()).await.unwrap();
        if reader.is_finished() {
            break reader.await.unwrap().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(String::from_utf8(out).unwrap(), "cli5/a m\n", "-v prints topic and payload as in 3.1.1");
}

#[test]
fn command_line_v5_flags() {
    let bin = env!("CARGO_BIN_EXE_mqtt-sim");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker = rt.block_on(TestBroker::start(Config::default()));
    let port = broker.addr.port().to_string();
    let run = |args: &[String]| Command::new(bin).args(args).output().unwrap();
    let base = ["pub", "-h", "127.0.0.1", "-p", &port, "-t", "x", "-m", "y", "-q", "1"];
    let with = |extra: &[&str]| -> Vec<String> { base.iter().chain(extra).map(|a| (*a).to_owned()).collect() };
    for extra in [
        &["-V", "5"][..],
        &["-V", "mqttv5", "-x", "60", "-i", "x5"],
        &["-D", "publish", "user-property", "k", "v", "-D", "connect", "receive-maximum", "5"],
        &["-V", "mqttv311"],
        &["-V", "311"],
    ] {
        let out = run(&with(extra));
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    for (extra, says) in [
        (&["-V", "311", "-D", "publish", "content-type", "t"][..], "3.1.1"),
        (&["-x", "60"], "add -V 5"),
        (&["-D", "publish", "session-expiry-interval", "5"], "may not appear in PUBLISH"),
        (&["-D", "subscribe", "subscription-identifier", "5"], "pub takes -D for"),
        (&["-V", "6"], "not a protocol version"),
    ] {
        let out = run(&with(extra));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(says), "{extra:?}: {stderr}");
    }
    // A 5.0 refusal exits with its reason code, as mosquitto_sub does.
    let refusing = rt.block_on(TestBroker::start(Config { allow_zero_length_clientid: false, ..Config::default() }));
    let refusing_port = refusing.addr.port().to_string();
    let out = run(&["sub", "-h", "127.0.0.1", "-p", &refusing_port, "-t", "x", "-V", "5", "-i", ""].map(String::from));
    assert_eq!(out.status.code(), Some(0x85), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A scripted 5.0 server on a raw socket: accepts one connection, checks its CONNECT is 5.0,
/// answers CONNACK with `properties`, then writes `then` as raw bytes. Returns what the client
/// sent after that, up to its close.
async fn scripted_v5_server(
    options: ClientOptions,
    properties: Properties,
    then: Vec<u8>,
) -> (Vec<mqtt_sim::protocol::Packet>, Option<CloseCause>) {
    use mqtt_sim::net::{PacketReader, PacketWriter};
    use mqtt_sim::protocol::{Connack, Packet, Version};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let (r, w) = stream.into_split();
        let (mut reader, mut writer) = (PacketReader::new(r, 1 << 20), PacketWriter::new(w));
        let Some(Packet::Connect(connect)) = reader.read_packet().await.unwrap() else { panic!("CONNECT first") };
        assert_eq!(connect.protocol.version(), Version::V5);
        reader.set_version(Version::V5);
        writer.set_version(Version::V5);
        writer.queue(&Packet::Connack(Connack { properties, ..Connack::accepted(false) })).unwrap();
        writer.queue_raw(&then);
        writer.flush().await.unwrap();
        let mut got = Vec::new();
        while let Ok(Some(p)) = tokio::time::timeout(common::PATIENCE, reader.read_packet()).await.unwrap() {
            got.push(p);
        }
        got
    });
    let (_client, mut events) = Client::connect(TcpConnector(addr.to_string()), options, None).await.unwrap();
    let cause = loop {
        match tokio::time::timeout(common::PATIENCE, events.recv()).await.expect("an event in time") {
            Some(ClientEvent::Disconnected { cause }) => break cause,
            Some(_) => continue,
            None => panic!("client ended without a Disconnected event"),
        }
    };
    (server.await.unwrap(), cause)
}

#[tokio::test]
async fn a_5_0_client_answers_a_malformed_or_oversized_packet_with_disconnect() {
    use mqtt_sim::protocol::{Disconnect, Packet};
    let violation = Some(CloseCause::ProtocolViolation("the server sent a malformed packet"));
    // A PUBLISH with both QoS bits set is malformed [MQTT5-3.3.1-4]: DISCONNECT 0x81, then close
    // (section 4.13.1).
    let (sent, cause) =
        scripted_v5_server(v5("m", true, 0), Properties::new(), vec![0x36, 0x04, 0x00, 0x01, b'a', 0x00]).await;
    assert_eq!(sent, vec![Packet::Disconnect(Disconnect::with_reason(ReasonCode::MALFORMED_PACKET))]);
    assert_eq!(cause, violation);
    // Larger than the Maximum Packet Size we sent: 0x95. The reader enforces what CONNECT said.
    let small = ClientOptions { maximum_packet_size: Some(32), ..v5("m", true, 0) };
    let mut big = vec![0x30, 40, 0x00, 0x01, b'a', 0x00];
    big.extend([b'x'; 36]);
    let (sent, cause) = scripted_v5_server(small, Properties::new(), big).await;
    assert_eq!(sent, vec![Packet::Disconnect(Disconnect::with_reason(ReasonCode::PACKET_TOO_LARGE))]);
    assert_eq!(cause, violation);
}
