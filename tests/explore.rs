//! A bounded exploration on every `cargo test`: generated scenarios on the correct broker and
//! client break no invariant. `MQTT_SIM_EXPLORE_CASES` sets how many (default 12).

use mqtt_sim::explore::{explore, ExploreOptions};

#[test]
fn generated_scenarios_break_no_invariant() {
    let cases = std::env::var("MQTT_SIM_EXPLORE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let seed = std::env::var("MQTT_SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let summary = explore(&ExploreOptions { cases, seed, ..ExploreOptions::default() }, &|_, _| {});
    assert_eq!(summary.cases, cases);
    assert!(summary.distinct_outcomes > 1, "the generator explores more than one behaviour");
    if let Some(f) = summary.failures.first() {
        panic!(
            "case {} (sim seed {}) breaks an invariant, shrunk to {} steps:\n{}\n{}",
            f.case,
            f.sim_seed,
            f.steps.1,
            f.message,
            serde_yaml::to_string(&f.scenario).unwrap()
        );
    }
}
