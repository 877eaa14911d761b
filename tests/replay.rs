//! A failing scenario reports its file, line, seed, expectation, trace tail and the exact replay
//! command; running that command reproduces the failure and the trace exactly.

use std::path::Path;
use std::process::Command;

use mqtt_sim::sim::suite::{check_file, Seeds};

#[test]
fn a_failure_prints_a_replay_command_that_reproduces_it() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = project.join("tests/fixtures");
    let file = fixtures.join("failing_on_purpose.yaml");
    let report = check_file(&fixtures, &file, &project.join("target/no-snapshots"), Seeds::Only(77));
    let text = report.failure_text().expect("the fixture fails");
    assert!(text.contains("tests/fixtures/failing_on_purpose.yaml:11: step 6 failed"), "{text}");
    assert!(text.contains("failed at seed 77"), "{text}");
    assert!(text.contains("expected:\n  t = goodbye | q1"), "{text}");
    assert!(text.contains("reader => app"), "the trace tail is shown: {text}");
    let command = report.replay_command().unwrap();
    assert_eq!(command, "cargo run --release -- replay tests/fixtures/failing_on_purpose.yaml --seed 77 --trace");

    // The replay command (here via the built binary) fails the same way, with the same trace.
    let replay = |seed: &str| {
        Command::new(env!("CARGO_BIN_EXE_mqtt-sim"))
            .current_dir(project)
            .args(["replay", "tests/fixtures/failing_on_purpose.yaml", "--seed", seed, "--json"])
            .output()
            .unwrap()
    };
    let first = replay("77");
    let second = replay("77");
    assert_eq!(first.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("failing_on_purpose.yaml:11: step 6 failed"), "{stderr}");
    assert!(!first.stdout.is_empty());
    assert_eq!(first.stdout, second.stdout, "same seed, same trace bytes");
    assert_ne!(first.stdout, replay("78").stdout, "another seed, another trace");
}

#[test]
fn run_prints_the_seed_articles_claims_with_their_verdicts() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_mqtt-sim"))
        .current_dir(project)
        .args([
            "run",
            "--seeds",
            "0",
            "scenarios/seed/queue_limit_default_is_1000_not_100.yaml",
            "scenarios/seed/persistent_session_keeps_subscriptions.yaml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("claims of the seed article"), "{text}");
    assert!(
        text.contains("WRONG   \"Mosquitto by default stores upto 100 messages.\"\n          shown by seed__queue_limit_default_is_1000_not_100"),
        "{text}"
    );
    assert!(text.contains("holds   \"The broker will store the client information"), "{text}");
}
