//! The durable mode's bugs (`Mutant::DURABLE`) are each caught by a durability scenario: with
//! the bug an acknowledged message is lost by a crash, without it the scenario passes. Needs the
//! `mutants` feature.

#![cfg(feature = "mutants")]

use std::path::{Path, PathBuf};

use mqtt_sim::mutants::Mutant;

/// Each bug and the scenario that catches it.
const CASES: [(Mutant, &str); 2] = [
    (Mutant::AckBeforeSync, "durable_mode_loses_nothing_acknowledged_when_the_crash_follows_the_puback"),
    (Mutant::RecoverWithoutLastRecord, "durable_mode_loses_nothing_acknowledged_when_the_crash_follows_the_puback"),
];

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/durability").join(format!("{name}.yaml"))
}

#[test]
fn each_durability_bug_is_caught_by_its_scenario_and_only_with_the_bug() {
    assert_eq!(CASES.map(|c| c.0), Mutant::DURABLE);
    for (mutant, name) in CASES {
        let scenario = mqtt_sim::scenario::load(&path(name)).expect("the scenario loads");
        let with_bug = mqtt_sim::sim::runner::run_with_mutant(&scenario, scenario.seed, Some(mutant)).failure;
        let failure = with_bug.unwrap_or_else(|| panic!("{}: {name} passed with the bug", mutant.name()));
        // The acknowledged "reading 3" is what goes missing: two messages restored, not three,
        // and the reader gets two.
        let restored =
            failure.all().any(|f| f.summary.ends_with("queued messages") && (&*f.expected, &*f.observed) == ("3", "2"));
        let received = failure.all().any(|f| {
            f.summary == "reader received" && f.expected.contains("reading 3") && !f.observed.contains("reading 3")
        });
        assert!(restored && received, "{}: {failure:?}", mutant.name());
        let without = mqtt_sim::sim::run(&scenario, scenario.seed).failure;
        assert!(without.is_none(), "{name} fails without the bug: {without:?}");
    }
}
