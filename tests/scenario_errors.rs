//! A malformed scenario fails with file:line:column, what was found and what was expected, and
//! nothing runs. One test per class of error.

use mqtt_sim::scenario::{parse, ScenarioError};

const HEAD: &str = "name: x\nclients:\n  a: {}\nsteps:\n";

fn err(steps: &str) -> ScenarioError {
    parse(&format!("{HEAD}{steps}"), "bad.yaml").expect_err("the scenario must be refused")
}

fn at(e: &ScenarioError) -> (usize, usize) {
    (e.line, e.column)
}

#[test]
fn unknown_step() {
    let e = err("  - connect: a\n  - explode: a\n");
    assert_eq!(at(&e), (6, 5), "{e}");
    assert!(e.message.contains("unknown variant `explode`"), "{e}");
    assert!(e.message.contains("expected one of `connect`"), "{e}");
    assert!(e.to_string().starts_with("bad.yaml:6:5: "), "{e}");
}

#[test]
fn unknown_client() {
    let e = err("  - connect: a\n  - publish:\n      client: b\n      topic: t\n");
    assert_eq!(at(&e), (7, 7), "{e}");
    assert_eq!(e.message, "unknown client \"b\": expected one of the clients declared under `clients` (a)");
}

#[test]
fn qos_3() {
    let e = err("  - subscribe: { client: a, topic: t, qos: 3 }\n");
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("QoS 3 does not exist: expected 0, 1 or 2"), "{e}");
}

#[test]
fn wildcard_in_publish_topic() {
    let e = err("  - publish: { client: a, topic: \"sensors/#\" }\n");
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("\"sensors/#\" is not a topic name a client may publish to"), "{e}");
    assert!(e.message.contains("[MQTT-3.3.2-2]"), "{e}");
}

#[test]
fn expectation_that_names_no_declared_client() {
    let e = err("  - connect: a\n  - expect:\n      received:\n        ghost: []\n");
    assert_eq!(e.line, 7, "{e}");
    assert_eq!(e.message, "expectation names unknown client \"ghost\": expected one of a");
}

#[test]
fn yaml_syntax_error() {
    let e = parse("name: x\nclients: {a: {}\nsteps: []\n", "bad.yaml").unwrap_err();
    assert_eq!(e.file, "bad.yaml");
    assert!(e.line >= 2, "{e}");
    assert!(!e.message.is_empty());
}

#[test]
fn unknown_field() {
    let e = err("  - publish: { client: a, topic: t, qso: 1 }\n");
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("unknown field `qso`, expected one of"), "{e}");
}

#[test]
fn unknown_normative_id() {
    let e =
        parse("name: x\nspec: [MQTT-9.9.9-9]\nclients:\n  a: {}\nsteps:\n  - connect: a\n", "bad.yaml").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.message.contains("\"MQTT-9.9.9-9\" is not a normative statement: expected an ID from"), "{e}");
    // A 5.0 statement is written MQTT5-x; one not in the 5.0 list is refused the same way.
    let e =
        parse("name: x\nspec: [MQTT5-9.9.9-9]\nclients:\n  a: {}\nsteps:\n  - connect: a\n", "bad.yaml").unwrap_err();
    assert!(e.message.contains("\"MQTT5-9.9.9-9\" is not a normative statement"), "{e}");
    let ok = "name: x\nspec: [MQTT5-3.1.2-23]\nclients:\n  a: {}\nsteps:\n  - connect: a\n";
    assert!(parse(ok, "ok.yaml").is_ok(), "MQTT5-3.1.2-23 is in the 5.0 list");
}

#[test]
fn bad_duration() {
    let e = err("  - wait: 5 seconds\n");
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("is not a duration: expected a number and a unit"), "{e}");
}

#[test]
fn missing_required_field() {
    let e = parse("name: x\nclients:\n  a: {}\n", "bad.yaml").unwrap_err();
    assert!(e.message.contains("missing field `steps`"), "{e}");
}

#[test]
fn subscribe_needs_topic_and_qos() {
    let e = err("  - connect: a\n  - subscribe: { client: a, topic: t }\n");
    assert_eq!(e.line, 6, "{e}");
    assert_eq!(e.message, "`topic` needs a `qos`");
}

#[test]
fn nothing_runs_for_an_invalid_file_in_a_suite() {
    let dir = std::env::temp_dir().join(format!("mqtt-sim-bad-{}", std::process::id()));
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let file = scenarios.join("bad.yaml");
    std::fs::write(&file, format!("{HEAD}  - connect: zz\n")).unwrap();
    let report = mqtt_sim::sim::suite::check_file(
        &scenarios,
        &file,
        &dir.join("snapshots"),
        mqtt_sim::sim::suite::Seeds::Recorded { extra: 3 },
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(report.seeds_run.is_empty(), "no seed ran");
    let text = report.failure_text().unwrap();
    // Outside the working directory the path stays absolute.
    assert!(text.starts_with(&format!("{}:5:5: unknown client \"zz\"", file.display())), "{text}");
}

#[test]
fn a_key_written_twice() {
    let e = parse("name: x\nclients:\n  a: {}\n  a: { clean_session: false }\nsteps:\n  - connect: a\n", "bad.yaml")
        .expect_err("a duplicate client must be refused, not the last one kept");
    assert_eq!(at(&e), (4, 3), "{e}");
    assert_eq!(e.message, "clients.a: the key \"a\" is written twice (first at line 3); keep one");
}

#[test]
fn a_wrong_type_is_named_without_rust_type_names() {
    let e = parse("name: x\nclients:\n  a: { keep_alive: lots }\nsteps:\n  - connect: a\n", "bad.yaml").unwrap_err();
    assert_eq!(at(&e), (3, 20), "{e}");
    assert!(e.message.ends_with("expected a whole number from 0 to 65535"), "{e}");
    let e = err("  - connect: a\n  - publish: { client: a, topic: t, qos: 1, repeat: many }\n");
    assert!(e.message.contains("expected a whole number"), "{e}");
    assert!(!e.message.contains("u32") && !e.message.contains("usize") && !e.message.contains("u64"), "{e}");
}

#[test]
fn a_new_scenario_without_a_snapshot_says_so_in_one_message_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
    std::fs::write(
        dir.path().join("scenarios/fresh.yaml"),
        "name: fresh\nclients: { a: {} }\nsteps:\n  - connect: a\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mqtt-sim"))
        .args(["run", "--seeds", "0", "scenarios/fresh.yaml"])
        .current_dir(dir.path())
        .env("RUST_BACKTRACE", "1")
        // insta writes no new snapshot where it detects CI, unless told to.
        .env("INSTA_UPDATE", "new")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("new snapshot written to snapshots/fresh.snap.new: review it against the spec, then rename it"),
        "{text}"
    );
    assert!(!text.contains("panicked") && !text.contains("stack backtrace"), "{text}");
    assert!(dir.path().join("snapshots/fresh.snap.new").exists());
}

#[test]
fn mqtt_5_0_options_need_a_5_0_client() {
    let e = parse("name: x\nclients:\n  a: { session_expiry: 60 }\nsteps:\n  - connect: a\n", "bad.yaml").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("`session_expiry` is MQTT 5.0: add `protocol: 5` to client \"a\""), "{e}");
    let yaml =
        "name: x\nclients:\n  a: {}\nsteps:\n  - connect: a\n  - publish: { client: a, topic: t, message_expiry: 5 }\n";
    let e = parse(yaml, "bad.yaml").unwrap_err();
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("this step asks for MQTT 5.0: add `protocol: 5` to client \"a\""), "{e}");
    let e = parse("name: x\nclients:\n  a: { protocol: 6 }\nsteps:\n  - connect: a\n", "bad.yaml").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("protocol \"6\" is not one we speak: expected 5 (MQTT 5.0) or \"3.1.1\""), "{e}");
    let ok = "name: x\nclients:\n  a: { protocol: 5, clean_start: false, session_expiry: never }\n  b: { protocol: \"3.1.1\" }\nsteps:\n  - connect: a\n  - disconnect: { client: a, session_expiry: 0 }\n";
    assert!(parse(ok, "ok.yaml").is_ok());
}
