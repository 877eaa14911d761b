//! A bounded exploration on every `cargo test`: generated scenarios, 3.1.1 and mixed 3.1.1/5.0,
//! on the correct broker and client break no invariant. `MQTT_SIM_EXPLORE_CASES` sets how many
//! of each (default 12). And every generated scenario, in each protocol mix, is one the loader
//! accepts, with the share of 5.0 clients the mix asks for; and with `--persistence`, cases
//! whose broker persists and crashes, which break no invariant either.

use mqtt_sim::explore::{explore, generate, ExploreOptions, PersistenceMix, ProtocolMix};
use mqtt_sim::scenario::model::{ProtocolVersion, Step};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

#[test]
fn generated_scenarios_break_no_invariant() {
    let cases = std::env::var("MQTT_SIM_EXPLORE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let seed = std::env::var("MQTT_SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    for protocol in [ProtocolMix::V311, ProtocolMix::Mixed] {
        let summary = explore(&ExploreOptions { cases, seed, protocol, ..ExploreOptions::default() }, &|_, _| {});
        assert_eq!(summary.cases, cases);
        assert!(summary.distinct_outcomes > 1, "the generator explores more than one behaviour");
        if let Some(f) = summary.failures.first() {
            panic!(
                "{protocol:?} case {} (sim seed {}) breaks an invariant, shrunk to {} steps:\n{}\n{}",
                f.case,
                f.sim_seed,
                f.steps.1,
                f.message,
                serde_yaml::to_string(&f.scenario).unwrap()
            );
        }
    }
}

/// Generates `cases` scenarios of `mix`, as YAML reloaded by the loader (which checks that 5.0
/// fields are only on 5.0 clients), and counts (5.0 clients, all clients, 5.0-only fields used).
fn generate_and_load(mix: ProtocolMix, cases: u64) -> (usize, usize, usize) {
    let strategy = generate::scenario(mix, mqtt_sim::explore::PersistenceMix::Off);
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let (mut v5, mut all, mut v5_steps) = (0, 0, 0);
    for case in 0..cases {
        let scenario = strategy.new_tree(&mut runner).expect("generates").current();
        let yaml = serde_yaml::to_string(&scenario).expect("serialises");
        let loaded = mqtt_sim::scenario::parse(&yaml, "generated.yaml")
            .unwrap_or_else(|e| panic!("{mix:?} case {case} does not load: {e}\n{yaml}"));
        v5 += loaded.clients.values().filter(|c| c.protocol == ProtocolVersion::V5).count();
        all += loaded.clients.len();
        v5_steps += loaded
            .steps
            .iter()
            .filter(|s| match s {
                Step::Publish(p) => p.message_expiry.is_some(),
                Step::Subscribe(s) => s.is_v5() || s.topics.iter().any(|f| f.filter.0.starts_with("$share/")),
                Step::Disconnect(d) => d.is_v5(),
                Step::Connect(c) => c.session_expiry.is_some(),
                _ => false,
            })
            .count();
    }
    (v5, all, v5_steps)
}

#[test]
fn generated_scenarios_load_in_every_protocol_mix() {
    let (v5, all, v5_steps) = generate_and_load(ProtocolMix::V311, 200);
    assert_eq!((v5, v5_steps), (0, 0), "--protocol 3.1.1 generates 3.1.1 clients only, of {all}");
    let (v5, all, v5_steps) = generate_and_load(ProtocolMix::V5, 200);
    assert_eq!(v5, all, "--protocol 5 generates 5.0 clients only");
    assert!(v5_steps > 200, "5.0 cases use 5.0 options: {v5_steps} steps in 200 cases");
    let (v5, all, _) = generate_and_load(ProtocolMix::Mixed, 200);
    assert!(all / 3 < v5 && v5 < all * 2 / 3, "a mixed exploration has about half 5.0 clients: {v5} of {all}");
}

#[test]
fn persistent_brokers_crash_among_the_generated_steps_and_break_no_invariant() {
    let strategy = generate::scenario(ProtocolMix::Mixed, PersistenceMix::Mixed);
    let plain = generate::scenario(ProtocolMix::Mixed, PersistenceMix::Off);
    // A runner per case, as `explore` has.
    let rng =
        |case: u8| TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[case; 32]));
    let (mut durable, mut autosave) = (0, 0);
    for case in 0..100 {
        let scenario = strategy.new_tree(&mut rng(case)).expect("generates").current();
        let yaml = serde_yaml::to_string(&scenario).expect("serialises");
        let loaded = mqtt_sim::scenario::parse(&yaml, "generated.yaml")
            .unwrap_or_else(|e| panic!("case {case} does not load: {e}\n{yaml}"));
        let crashes = loaded.steps.iter().filter(|s| matches!(s, Step::CrashBroker)).count();
        let base = plain.new_tree(&mut rng(case)).expect("generates").current();
        let base_crashes = base.steps.iter().filter(|s| matches!(s, Step::CrashBroker)).count();
        // The same case, with one to three crashes more: the plan draws after the case.
        assert!((1..=3).contains(&(crashes - base_crashes)), "case {case}: {crashes} crashes, {base_crashes} without");
        match (loaded.broker.persistence, loaded.broker.persistence_sync) {
            (Some(true), Some(true)) => durable += 1,
            (Some(true), _) => autosave += 1,
            _ => {}
        }
    }
    assert!(durable > 20 && autosave > 20, "both kinds of persistence: {durable} durable, {autosave} autosave");
    let cases = std::env::var("MQTT_SIM_EXPLORE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let opts = ExploreOptions { cases, persistence: PersistenceMix::Durable, ..ExploreOptions::default() };
    let summary = explore(&opts, &|_, _| {});
    let failures: Vec<_> = summary.failures.iter().map(|f| f.message.clone()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
