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
    let broker = TestBroker::start(Config { mutant, ..Config::default() }).await;
    let options =
        CheckOptions { parallel: 2, ..CheckOptions::new(Target::new(broker.addr.to_string()), resend_scenarios()) };
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
