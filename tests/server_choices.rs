//! The scenarios expect only what the spec requires. Where the spec leaves a choice to the
//! server, a conforming broker that chooses differently from ours must still pass every scenario
//! that does not declare the choice in `requires:`. Here every scenario runs in the simulation
//! on our broker switched to the other choices: QoS 2 messages passed on at PUBLISH (method B of
//! the spec's Figure 4.3, [MQTT-4.3.3-2]) and one copy per matching subscription where a
//! client's subscriptions overlap ([MQTT-3.3.5-1]). Its expectations and the delivery
//! invariants must hold (the reviewed snapshot shows our broker's choices, so it is not
//! compared); a scenario that requires our choice is skipped, and must be one of those that fail
//! without it, so `requires:` is not sprinkled where it is not needed.

use std::path::Path;

use mqtt_sim::broker::{Config, Qos2Delivery};
use mqtt_sim::scenario::{discover, load, model::Scenario};
use mqtt_sim::sim::run_on;

fn scenarios() -> Vec<(String, Scenario)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    discover(&root)
        .expect("the scenarios folder is readable")
        .into_iter()
        .map(|f| (f.strip_prefix(&root).unwrap().display().to_string(), load(&f).expect("every scenario loads")))
        .collect()
}

fn other_choices() -> Config {
    Config { qos2_delivery: Qos2Delivery::OnPublish, allow_duplicate_messages: true, ..Config::default() }
}

#[test]
fn a_broker_making_the_other_allowed_choices_passes_every_scenario_that_does_not_require_ours() {
    let mut failed = Vec::new();
    let mut required = Vec::new();
    for (name, scenario) in scenarios() {
        if scenario.requires.qos2_delivery.is_some() || scenario.requires.allow_duplicate_messages.is_some() {
            required.push((name, scenario));
            continue;
        }
        let result = run_on(&scenario, scenario.seed, other_choices());
        if let Some(f) = result.failure {
            failed.push(format!("{name}: {f}"));
        }
    }
    assert!(failed.is_empty(), "{} scenarios fail a conforming broker:\n{}", failed.len(), failed.join("\n"));
    assert!(!required.is_empty(), "the QoS 2 method scenarios declare it");
    for (name, scenario) in required {
        let mut without = scenario.clone();
        (without.broker.qos2_delivery, without.broker.allow_duplicate_messages) = (None, None);
        let result = run_on(&without, scenario.seed, other_choices());
        assert!(result.failure.is_some(), "{name} passes with the other choice: it need not require ours");
    }
}
