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
