//! Interop: our client and the `pub`/`sub` commands against a real mosquitto 2.0 broker, and
//! against mosquitto's own command-line clients. Needs Debian's mosquitto and mosquitto-clients:
//! `--features interop`.

#![cfg(feature = "interop")]

mod common;

use std::process::{Command, Output};

use common::mosquitto::Mosquitto;

fn ours(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqtt-sim")).args(args).output().unwrap()
}

fn theirs(tool: &str, args: &[&str]) -> Output {
    Command::new(tool).args(args).output().unwrap_or_else(|e| panic!("{tool} is installed: {e}"))
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The seed article's story on mosquitto, with our commands: `sub -c`, a disconnect, QoS 1
/// publications while offline, and the reconnect that receives them, in order, once.
#[test]
fn seed_story_with_our_commands_on_mosquitto() {
    let broker = Mosquitto::start("");
    let port = broker.addr.port().to_string();
    let base = ["-h", "127.0.0.1", "-p", port.as_str()];
    let sub = |extra: &[&str]| {
        let mut args = vec!["sub"];
        args.extend(base);
        args.extend(["-c", "-i", "seed-cli", "-q", "1", "-t", "seed/#", "-v"]);
        args.extend(extra);
        ours(&args)
    };
    ok(sub(&["-E"]));
    for i in 1..=5 {
        let m = format!("reading {i}");
        let mut args = vec!["pub"];
        args.extend(base);
        args.extend(["-t", "seed/temp", "-q", "1", "-m", m.as_str()]);
        ok(ours(&args));
    }
    let got = ok(sub(&["-C", "5", "-W", "10"]));
    let expected: String = (1..=5).map(|i| format!("seed/temp reading {i}\n")).collect();
    assert_eq!(got, expected);
    // Once: nothing is left for the session.
    let again = sub(&["-C", "1", "-W", "1"]);
    assert_eq!(again.status.code(), Some(4), "nothing left to receive: {}", String::from_utf8_lossy(&again.stdout));
}

#[test]
fn our_pub_to_mosquitto_sub_and_mosquitto_pub_to_our_sub() {
    let broker = Mosquitto::start("");
    let port = broker.addr.port().to_string();
    let base = ["-h", "127.0.0.1", "-p", port.as_str()];
    // Retained messages published by one side, read by the other with their retain flag.
    let mut args = vec!["pub"];
    args.extend(base);
    args.extend(["-t", "x/ours", "-m", "from mqtt-sim", "-q", "2", "-r"]);
    ok(ours(&args));
    let mut args = base.to_vec();
    args.extend(["-t", "x/theirs", "-m", "from mosquitto_pub", "-q", "1", "-r"]);
    ok(theirs("mosquitto_pub", &args));

    let mut args = base.to_vec();
    args.extend(["-t", "x/ours", "-C", "1", "-W", "5", "-v", "-q", "2"]);
    assert_eq!(ok(theirs("mosquitto_sub", &args)), "x/ours from mqtt-sim\n");
    let mut args = vec!["sub"];
    args.extend(base);
    args.extend(["-t", "x/theirs", "-C", "1", "-W", "5", "-v", "-q", "1"]);
    assert_eq!(ok(ours(&args)), "x/theirs from mosquitto_pub\n");
    // -R skips the retained (stale) message, so nothing arrives within the timeout.
    let mut args = vec!["sub"];
    args.extend(base);
    args.extend(["-t", "x/theirs", "-C", "1", "-W", "1", "-R"]);
    assert_eq!(ours(&args).status.code(), Some(4));
}

#[test]
fn refusal_exit_code_from_mosquitto() {
    // mosquitto configured to refuse zero-length client ids: CONNACK 2 [MQTT-3.1.3-9].
    let broker = Mosquitto::start("allow_zero_length_clientid false");
    let port = broker.addr.port().to_string();
    let out = ours(&["sub", "-h", "127.0.0.1", "-p", port.as_str(), "-t", "x", "-i", ""]);
    assert_eq!(out.status.code(), Some(12), "{}", String::from_utf8_lossy(&out.stderr));
}

/// MQTT 5.0 with mosquitto: our `pub -V 5 -D publish ...` read by `mosquitto_sub -V 5 -F`, which
/// prints the properties mosquitto forwarded; `mosquitto_pub -D` read by our `sub -V 5`.
#[test]
fn v5_properties_between_our_commands_and_mosquittos() {
    let broker = Mosquitto::start("");
    let port = broker.addr.port().to_string();
    let base = ["-h", "127.0.0.1", "-p", port.as_str()];
    let mut args = vec!["pub"];
    args.extend(base);
    args.extend(["-V", "5", "-t", "v5/ours", "-m", "m5", "-q", "1", "-r"]);
    args.extend(["-D", "publish", "user-property", "k", "v", "-D", "publish", "content-type", "text/plain"]);
    args.extend(["-D", "publish", "response-topic", "v5/reply", "-D", "publish", "message-expiry-interval", "60"]);
    ok(ours(&args));
    let mut args = base.to_vec();
    args.extend(["-V", "5", "-t", "v5/ours", "-C", "1", "-W", "5", "-F", "%t %p %P %C %R"]);
    assert_eq!(ok(theirs("mosquitto_sub", &args)), "v5/ours m5 k:v text/plain v5/reply\n");
    // mosquitto_pub's properties and a 5.0 session that outlives the connection (-x).
    let mut args = vec!["sub"];
    args.extend(base);
    args.extend(["-V", "5", "-c", "-x", "300", "-i", "v5-reader", "-q", "1", "-t", "v5/theirs", "-E"]);
    ok(ours(&args));
    let mut args = base.to_vec();
    args.extend(["-V", "5", "-t", "v5/theirs", "-m", "offline", "-q", "1", "-D", "publish", "user-property", "a", "b"]);
    ok(theirs("mosquitto_pub", &args));
    let mut args = vec!["sub"];
    args.extend(base);
    args.extend([
        "-V",
        "5",
        "-c",
        "-x",
        "300",
        "-i",
        "v5-reader",
        "-q",
        "1",
        "-t",
        "v5/theirs",
        "-C",
        "1",
        "-W",
        "5",
        "-v",
    ]);
    assert_eq!(ok(ours(&args)), "v5/theirs offline\n", "[MQTT5-3.1.2-23] the session outlived the connection");
}

/// Our 5.0 client against mosquitto's 5.0 broker: CONNACK limits read, properties and
/// subscription identifiers received, reason codes reported.
#[test]
fn v5_client_against_mosquitto() {
    use mqtt_sim::client::{ClientEvent, ClientOptions};
    use mqtt_sim::net::{Client, TcpConnector};
    use mqtt_sim::protocol::{Properties, Property, QoS, ReasonCode, SubackCode, SubscribeFilter};
    let broker = Mosquitto::start("max_inflight_messages 3\nmax_qos 1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let connector = TcpConnector(broker.addr.to_string());
        let options = ClientOptions { topic_alias_maximum: 4, ..ClientOptions::v5("", true, 0) };
        let (client, mut events) = Client::connect(connector, options, None).await.unwrap();
        let limits = client.server_limits().await.unwrap();
        assert_eq!((limits.receive_maximum, limits.maximum_qos), (3, QoS::AtLeastOnce), "{limits:?}");
        let id = Properties(vec![Property::SubscriptionIdentifier(42)]);
        let codes = client.subscribe_with(vec![SubscribeFilter::new("mv5/#", QoS::AtLeastOnce)], id).await.unwrap();
        assert_eq!(codes, vec![SubackCode::Granted(QoS::AtLeastOnce)]);
        let refused = client.publish("mv5/a", "x", QoS::ExactlyOnce, false).await.unwrap_err();
        assert!(format!("{refused}").contains("Maximum QoS"), "[MQTT5-3.2.2-11] {refused}");
        let properties = Properties(vec![Property::UserProperty(("k".into(), "v".into()))]);
        let reason = client.publish_with("mv5/a", "y", QoS::AtLeastOnce, false, properties).await.unwrap();
        assert_eq!(reason, ReasonCode::SUCCESS);
        let message = loop {
            match tokio::time::timeout(std::time::Duration::from_secs(5), events.recv()).await.unwrap() {
                Some(ClientEvent::Message(m)) => break m,
                Some(_) => continue,
                None => panic!("client ended"),
            }
        };
        assert_eq!((message.topic.as_str(), message.payload.as_ref()), ("mv5/a", &b"y"[..]));
        assert_eq!(message.subscription_identifiers().collect::<Vec<_>>(), [42]);
        assert_eq!(message.properties.user_properties().collect::<Vec<_>>(), [("k", "v")]);
        client.disconnect().await;
    });
}

#[test]
fn v5_refusal_exit_code_from_mosquitto() {
    // A 5.0 refusal exits with the CONNACK reason code the broker sent, as mosquitto_sub does.
    // mosquitto 2.0 refuses a 5.0 zero-length client id with 0x80 Unspecified error, where
    // 0x85 Client Identifier not valid would be the specific code.
    let broker = Mosquitto::start("allow_zero_length_clientid false");
    let port = broker.addr.port().to_string();
    let out = ours(&["sub", "-V", "5", "-h", "127.0.0.1", "-p", port.as_str(), "-t", "x", "-i", ""]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0x80), "{stderr}");
    assert!(stderr.contains("Unspecified error (0x80)"), "{stderr}");
}
