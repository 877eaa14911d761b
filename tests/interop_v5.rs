//! Interop in MQTT 5.0: mosquitto_pub/sub `-V 5` and paho's Python client with
//! `protocol=MQTTv5` against our broker, the paho script also against a real mosquitto 2.0 for
//! comparison. Needs Debian's mosquitto, mosquitto-clients and python3-paho-mqtt:
//! `--features interop`.

#![cfg(feature = "interop")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::mosquitto::{run, Mosquitto};
use common::TestBroker;
use mqtt_sim::broker::Config;

fn mosq(addr: SocketAddr, rest: &[&str]) -> Vec<String> {
    let mut v =
        vec!["-h".to_owned(), addr.ip().to_string(), "-p".to_owned(), addr.port().to_string(), "-V".into(), "5".into()];
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v5_sees_the_same_from_our_broker_as_from_mosquitto() {
    let broker = TestBroker::start(Config::default()).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/paho_v5.py");
    let ours =
        run("/usr/bin/python3", vec![script.to_owned(), "127.0.0.1".into(), broker.addr.port().to_string()]).await;
    let mosquitto = Mosquitto::start("");
    let reference =
        run("/usr/bin/python3", vec![script.to_owned(), "127.0.0.1".into(), mosquitto.addr.port().to_string()]).await;
    assert_eq!(ours, reference, "paho sees the same from mqtt-sim (left) as from mosquitto (right)");
    // What both must show, by the spec.
    let expected = concat!(
        // Session expiry 1 s: gone after 2 s [MQTT5-4.1.0-2]; CONNACK announces topic aliases.
        r#"{"expired_session_connack": [0, 0, true], "first_connack": [0, 0, true], "#,
        // "short" expired in the queue [MQTT5-3.3.2-5]; identifiers [MQTT5-3.3.4-3] and user
        // properties in order [MQTT5-3.3.2-18] came with the others, the alias resolved.
        r#""queued": [{"has_expiry": true, "payload": "long", "qos": 1, "sub_ids": [42], "topic": "p5/q", "user": []}, "#,
        r#"{"has_expiry": false, "payload": "plain", "qos": 1, "sub_ids": [42], "topic": "p5/q", "user": [["k", "v"], ["k", "w"]]}], "#,
        // Receive Maximum 1 slows delivery, loses nothing [MQTT5-3.3.4-9].
        r#""receive_maximum": ["r0", "r1", "r2", "r3"], "second_connack": [1, 0, true], "#,
        // A shared subscription: each message once, both members served (section 4.8.2).
        r#""shared_both_served": true, "shared_total": ["s0", "s1", "s2", "s3", "s4", "s5"]}"#,
        "\n"
    );
    assert_eq!(ours, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_clients_in_5_0_keep_a_session_and_expire_messages_on_our_broker() {
    let broker = TestBroker::start(Config::default()).await;
    let a = broker.addr;
    // A 5.0 persistent session (-x 600 with -c: clean start 0), subscribed, then offline (-E).
    run("mosquitto_sub", mosq(a, &["-c", "-x", "600", "-i", "v5-reader", "-q", "1", "-t", "v5/#", "-E"])).await;
    let expiring = ["-D", "publish", "message-expiry-interval", "1"];
    run("mosquitto_pub", mosq(a, &[&["-t", "v5/x", "-m", "short", "-q", "1"][..], &expiring[..]].concat())).await;
    let user = ["-D", "publish", "user-property", "k", "v"];
    run("mosquitto_pub", mosq(a, &[&["-t", "v5/x", "-m", "kept", "-q", "1"][..], &user[..]].concat())).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let out = run(
        "mosquitto_sub",
        mosq(a, &["-c", "-x", "600", "-i", "v5-reader", "-q", "1", "-t", "v5/#", "-C", "1", "-W", "10", "-v"]),
    )
    .await;
    // "short" expired while queued [MQTT5-3.3.2-5]; "kept" waited for the session.
    assert_eq!(out, "v5/x kept\n");
    // A new 5.0 subscriber gets a retained message with RETAIN=1 [MQTT5-3.3.1-9].
    run("mosquitto_pub", mosq(a, &["-t", "v5/r", "-m", "ret", "-r", "-q", "1"])).await;
    let out = run("mosquitto_sub", mosq(a, &["-t", "v5/r", "-C", "1", "-W", "10", "-F", "%t %p %r"])).await;
    assert_eq!(out, "v5/r ret 1\n");
}
