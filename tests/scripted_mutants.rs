//! The bugs only a scripted client can state (`Mutant::SCRIPTED`) are each caught by the
//! scenario in scenarios/scripted/ written for it, in the simulation and over real TCP with
//! `mqtt-sim check` against our broker built with the bug, and reported under the statement the
//! failing `wire:` expectation checks; without the bug both pass. Needs the `mutants` feature.

#![cfg(feature = "mutants")]

mod common;

use std::path::{Path, PathBuf};

use common::TestBroker;
use mqtt_sim::broker::Config;
use mqtt_sim::check::{check, report, CheckOptions, Target, Verdict};
use mqtt_sim::mutants::Mutant;
use mqtt_sim::sim::Failure;

/// Each scripted bug, the scenario that states it, the client whose packets show it and the
/// statement it breaks.
const CASES: [(Mutant, &str, &str, &str); 2] = [
    (Mutant::ResendUnderFreshIds, "qos1_resend_after_reconnect_keeps_its_packet_id", "reader", "MQTT-4.4.0-1"),
    (
        Mutant::DropOnDupBeforePubrel,
        "qos2_publish_sent_twice_before_pubrel_is_answered_twice",
        "writer",
        "MQTT-4.3.3-2",
    ),
];

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/scripted").join(format!("{name}.yaml"))
}

/// Whether `failure` (or one reported after it) is the `wire:` difference on `client`'s
/// packets, under `statement`.
fn caught_on_the_wire(failure: &Failure, client: &str, statement: &str) -> bool {
    failure.all().any(|f| {
        f.summary.starts_with(&format!("the packets {client} received")) && f.spec.iter().any(|s| s == statement)
    })
}

#[test]
fn each_scripted_bug_is_caught_in_simulation_by_its_scenario() {
    assert_eq!(CASES.map(|c| c.0), Mutant::SCRIPTED);
    for (mutant, name, client, statement) in CASES {
        let scenario = mqtt_sim::scenario::load(&path(name)).expect("the scenario loads");
        let with_bug = mqtt_sim::sim::runner::run_with_mutant(&scenario, scenario.seed, Some(mutant)).failure;
        let failure = with_bug.unwrap_or_else(|| panic!("{}: {name} passed with the bug", mutant.name()));
        assert!(caught_on_the_wire(&failure, client, statement), "{}: {failure}", mutant.name());
        let without = mqtt_sim::sim::run(&scenario, scenario.seed).failure;
        assert!(without.is_none(), "{name} fails without the bug: {without:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scripted_bug_is_caught_over_tcp_by_check() {
    for (mutant, name, client, statement) in CASES {
        for bug in [Some(mutant), None] {
            let broker = TestBroker::start(Config { mutant: bug, ..Config::default() }).await;
            let options = CheckOptions::new(Target::new(broker.addr.to_string()), vec![path(name)]);
            let r = check(&options).await.expect("the broker is reachable");
            let details = report::details(&r);
            match (&r.checks[0].verdict, bug) {
                (Verdict::Deviation(d), Some(_)) => {
                    assert!(caught_on_the_wire(d, client, statement), "{}:\n{details}", mutant.name())
                }
                (Verdict::Pass | Verdict::PartiallyChecked, None) => {}
                (other, _) => panic!("{name} with {bug:?}: {other:?}\n{details}"),
            }
        }
    }
}

/// A re-send under the right id but without DUP differs on the wire in DUP alone: it is blamed
/// on [MQTT-3.3.1-1], not on the id rule the step states [MQTT-4.4.0-1].
#[test]
fn a_wire_difference_in_dup_alone_is_blamed_on_the_dup_rule() {
    let scenario = mqtt_sim::scenario::load(&path(CASES[0].1)).expect("the scenario loads");
    let failure = mqtt_sim::sim::runner::run_with_mutant(&scenario, scenario.seed, Some(Mutant::ResendWithoutDup))
        .failure
        .expect("a re-send without DUP fails");
    assert!(caught_on_the_wire(&failure, "reader", "MQTT-3.3.1-1"), "{failure}");
    assert!(!failure.all().any(|f| f.spec.iter().any(|s| s == "MQTT-4.4.0-1")), "{failure}");
}
