//! Proof that exploration finds bugs: each known bug of the `mutants` feature is caught within a
//! bounded number of generated cases, the failure shrinks to a scenario file, and that file
//! reproduces the failure with the bug and passes without it. The 3.1.1 bugs are explored with
//! 3.1.1 clients (the cases `explore` always generated), the 5.0 ones with mixed 3.1.1/5.0
//! clients, as `explore --protocol mixed` does, and the durable mode's with brokers in durable
//! mode, as `explore --persistence durable` does. `cargo test --features mutants`.

#![cfg(feature = "mutants")]

use mqtt_sim::explore::{explore, ExploreOptions, PersistenceMix, ProtocolMix};
use mqtt_sim::mutants::Mutant;

/// Cases allowed to catch each mutant.
const BUDGET: u64 = 400;

#[test]
fn every_mutant_is_caught_shrunk_and_replayed() {
    // One test, mutants in turn, so their summary prints as one table.
    let dir = std::env::temp_dir().join(format!("mqtt-sim-mutants-{}", std::process::id()));
    let mut report = Vec::new();
    for mutant in Mutant::EXPLORED {
        let protocol = if mutant.needs_v5() { ProtocolMix::Mixed } else { ProtocolMix::V311 };
        report.push(caught(mutant, protocol, PersistenceMix::Off, &dir));
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", report.join("\n"));
}

/// The durable mode's bugs, found by exploring brokers in durable mode (`explore --persistence
/// durable`) with crashes among the steps.
#[test]
fn every_durable_mode_mutant_is_caught_shrunk_and_replayed() {
    let dir = std::env::temp_dir().join(format!("mqtt-sim-durable-mutants-{}", std::process::id()));
    let report: Vec<String> =
        Mutant::DURABLE.into_iter().map(|m| caught(m, ProtocolMix::V311, PersistenceMix::Durable, &dir)).collect();
    let _ = std::fs::remove_dir_all(&dir);
    println!("{}", report.join("\n"));
}

/// Explores with `mutant` until the first failure, checks that the shrunk case fails with the bug
/// and passes without it, and says how it went.
fn caught(mutant: Mutant, protocol: ProtocolMix, persistence: PersistenceMix, dir: &std::path::Path) -> String {
    let opts = ExploreOptions {
        cases: BUDGET,
        seed: 0,
        protocol,
        persistence,
        stop_at_first_failure: true,
        regressions: Some(dir.to_path_buf()),
        mutant: Some(mutant),
        ..ExploreOptions::default()
    };
    let summary = explore(&opts, &|_, _| {});
    let found = summary.failures.first().unwrap_or_else(|| panic!("{} not caught in {BUDGET} cases", mutant.name()));
    let file = found.written_to.clone().expect("the shrunk case is written");
    let scenario = mqtt_sim::scenario::load(&file).expect("the shrunk case is a valid scenario");
    // With the bug the file fails at its recorded seed; without it, it passes.
    let with_bug = mqtt_sim::sim::runner::run_with_mutant(&scenario, scenario.seed, Some(mutant));
    let without_bug = mqtt_sim::sim::run(&scenario, scenario.seed);
    assert!(mqtt_sim::explore::violation(&with_bug).is_some(), "{}: replay did not fail", mutant.name());
    assert_eq!(
        mqtt_sim::explore::violation(&without_bug),
        None,
        "{}: the shrunk case fails without the bug",
        mutant.name()
    );
    format!(
        "{:<26} ({protocol:?}, persistence {persistence:?}) caught at case {:>3}, shrunk {:>2} -> {:>2} steps: {}",
        mutant.name(),
        found.case,
        found.steps.0,
        found.steps.1,
        found.message.lines().next().unwrap_or_default()
    )
}
