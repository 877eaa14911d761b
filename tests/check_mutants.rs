//! `mqtt-sim check` catches a real-broker bug that only a fault can provoke: a broker that
//! re-sends unacknowledged messages after a reconnect with DUP=0 (the `ResendWithoutDup` mutant,
//! a bug one real broker shipped). Only a lost acknowledgement or a dropped connection makes a
//! broker re-send, so before the fault proxy `check` could not see it over TCP. The scenarios
//! that lose a PUBLISH in a partition report it under [MQTT-3.3.1-1]; without the mutant the
//! same broker passes them. Needs the `mutants` feature.

#![cfg(feature = "mutants")]

mod common;

use std::path::{Path, PathBuf};

use common::TestBroker;
use mqtt_sim::broker::Config;
use mqtt_sim::check::{check, report, CheckOptions, Target, Verdict};
use mqtt_sim::mutants::Mutant;

fn resend_scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    vec![
        root.join("faults/subscriber_qos1_publish_lost_in_partition_resent_with_dup.yaml"),
        root.join("spec/qos/unacknowledged_qos1_messages_resent_with_dup_in_order_after_reconnect.yaml"),
    ]
}

async fn check_broker(mutant: Option<Mutant>) -> mqtt_sim::check::CheckReport {
    check_with(mutant, resend_scenarios()).await
}

async fn check_with(mutant: Option<Mutant>, paths: Vec<PathBuf>) -> mqtt_sim::check::CheckReport {
    let broker = TestBroker::start(Config { mutant, ..Config::default() }).await;
    let options = CheckOptions { parallel: 2, ..CheckOptions::new(Target::new(broker.addr.to_string()), paths) };
    check(&options).await.expect("the broker is reachable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_resends_without_dup_is_reported_under_mqtt_3_3_1_1() {
    let r = check_broker(Some(Mutant::ResendWithoutDup)).await;
    let details = report::details(&r);
    for c in &r.checks {
        let Verdict::Deviation(d) = &c.verdict else {
            panic!("{} did not catch the missing DUP\n{}\n{details}", c.name, report::table(&r));
        };
        assert!(d.spec.iter().any(|id| id == "MQTT-3.3.1-1"), "{}: reported under {:?}\n{details}", c.name, d.spec);
        assert!(d.expected.contains("dup") && !d.observed.contains("dup"), "{}\n{details}", c.name);
        let alone = format!("reproduce: mqtt-sim check --broker {} {}", r.broker, c.path.display());
        assert!(details.contains(&alone), "{alone}\n{details}");
    }
    assert!(details.contains("breaks [MQTT-3.3.1-1] (both) DUP set on re-delivery"), "{details}");
    let grouped = report::table(&r);
    assert!(grouped.contains("deviations by the statement they break:\n  [MQTT-3.3.1-1]"), "{grouped}");
    assert_eq!(r.exit_code(), 1);

    let sound = check_broker(None).await;
    assert!(
        sound.checks.iter().all(|c| matches!(c.verdict, Verdict::Pass | Verdict::PartiallyChecked)),
        "{}\n{}",
        report::table(&sound),
        report::details(&sound)
    );
}

/// The scenarios whose headline is "PUBREL is re-sent, not PUBLISH".
fn pubrel_scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    vec![
        root.join("faults/subscriber_qos2_pubrel_lost_resends_pubrel_not_publish.yaml"),
        root.join("spec/qos/qos2_pubrel_is_resent_after_reconnect_not_the_publish.yaml"),
    ]
}

/// A broker that re-sends a QoS 2 PUBLISH after its PUBREL: our client does not hand the message
/// over twice (it still holds the id), so only a packet-level expectation (`wire:`) and the
/// `no-publish-after-pubrel` invariant can see it. Both do, in simulation and over TCP.
#[test]
fn a_broker_that_resends_publish_after_pubrel_fails_the_wire_expectation_and_the_invariant_in_simulation() {
    let mutant = Some(Mutant::ResendPublishAfterPubrec);
    for path in pubrel_scenarios() {
        let scenario = mqtt_sim::scenario::load(&path).expect("the scenario loads");
        let failure = mqtt_sim::sim::runner::run_with_mutant(&scenario, scenario.seed, mutant)
            .failure
            .unwrap_or_else(|| panic!("{}: the simulation missed the re-sent PUBLISH", path.display()));
        let found: Vec<String> = failure.all().map(|f| f.summary.clone()).collect();
        assert!(
            found.iter().any(|s| s.starts_with("the packets ") && s.contains(" received on its latest connection")),
            "{found:?}"
        );
        assert!(failure.all().any(|f| f.invariant == Some("no-publish-after-pubrel")), "{found:?}");
        assert!(mqtt_sim::sim::run(&scenario, scenario.seed).failure.is_none(), "without the bug it passes");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_resends_publish_after_pubrel_fails_the_wire_expectation_and_the_invariant_over_tcp() {
    let r = check_with(Some(Mutant::ResendPublishAfterPubrec), pubrel_scenarios()).await;
    let details = report::details(&r);
    for c in &r.checks {
        let Verdict::Deviation(d) = &c.verdict else { panic!("{} passed over TCP\n{details}", c.name) };
        assert!(d.all().any(|f| f.summary.starts_with("the packets ")), "{}\n{details}", c.name);
        let trace: Vec<String> = c.trace.iter().map(|e| e.to_string()).collect();
        assert!(
            d.all().any(|f| f.invariant == Some("no-publish-after-pubrel")),
            "{}\n{details}\n{}",
            c.name,
            trace.join("\n")
        );
    }
    assert!(details.contains("no PUBLISH, but PUBLISH id="), "{details}");
    let sound = check_with(None, pubrel_scenarios()).await;
    assert!(
        sound.checks.iter().all(|c| matches!(c.verdict, Verdict::Pass | Verdict::PartiallyChecked)),
        "{}",
        report::details(&sound)
    );
}
