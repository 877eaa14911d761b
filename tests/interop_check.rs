//! Interop: `mqtt-sim check` against a real mosquitto 2.0 (started on a free loopback port with a
//! config this test writes) and against our own broker over TCP. mosquitto shows exactly the
//! deviations the scenarios list as known for it, and no other; our broker passes every
//! applicable scenario. Needs Debian's mosquitto: `--features interop`. The whole suite runs in
//! real time (one scenario waits two minutes), several scenarios at a time.

#![cfg(feature = "interop")]

mod common;

use std::path::{Path, PathBuf};

use common::mosquitto::Mosquitto;
use common::TestBroker;
use mqtt_sim::broker::Config;
use mqtt_sim::check::{check, report, target, CheckOptions, CheckReport, Target, Verdict};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The table and the details, for assertion messages.
fn text(r: &CheckReport) -> String {
    format!("{}\n{}", report::table(r), report::details(r))
}

fn names(r: &CheckReport, f: impl Fn(&Verdict) -> bool) -> Vec<&str> {
    r.checks.iter().filter(|c| f(&c.verdict)).map(|c| c.name.as_str()).collect()
}

/// Starts mosquitto with `extra` config lines; returns it and the target, whose settings are
/// read from the same mosquitto.conf text mosquitto reads.
fn mosquitto(extra: &str) -> (Mosquitto, Target) {
    let m = Mosquitto::start(extra);
    let conf = format!("listener {} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}", m.addr.port());
    let target = Target {
        name: Some("mosquitto".into()),
        config: target::config_from_conf(&conf, "mosquitto.conf").expect("the test's config parses"),
        ..Target::new(m.addr.to_string())
    };
    (m, target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_deviates_only_where_the_scenarios_say_it_does() {
    let (_mosquitto, target) = mosquitto("max_inflight_messages 20\nmax_queued_messages 1000\n");
    let options = CheckOptions { target, paths: vec![scenarios()], parallel: 4, max_wait: None };
    let r = check(&options).await.expect("mosquitto is reachable");
    let known = names(&r, |v| matches!(v, Verdict::KnownDeviation { .. }));
    assert_eq!(
        known,
        [
            "spec__qos__overlapping_subscriptions_deliver_once_at_the_maximum_qos",
            "spec__wills__will_published_when_the_session_is_taken_over"
        ],
        "{}",
        text(&r)
    );
    assert!(names(&r, |v| matches!(v, Verdict::Deviation(_) | Verdict::Invalid(_))).is_empty(), "{}", text(&r));
    let checked = names(&r, |v| matches!(v, Verdict::Pass | Verdict::PartiallyChecked));
    assert!(checked.len() >= 40, "{} scenarios checked:\n{}", checked.len(), text(&r));
    assert_eq!(r.exit_code(), 0);
    // The details name the spec statement each known deviation breaks.
    let details = report::details(&r);
    assert!(details.contains("spec [MQTT-3.3.5-1]") && details.contains("spec [MQTT-3.1.2-8]"), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_with_the_1x_queue_limit_runs_the_scenario_that_needs_it() {
    let (_mosquitto, target) = mosquitto("max_queued_messages 100\n");
    let options = CheckOptions { target, paths: vec![scenarios().join("seed")], parallel: 4, max_wait: None };
    let r = check(&options).await.expect("mosquitto is reachable");
    let verdict = |name: &str| &r.checks.iter().find(|c| c.name == name).expect("the scenario ran").verdict;
    assert_eq!(
        verdict("seed__queue_limit_can_be_set_to_mosquitto_1x_default_of_100"),
        &Verdict::PartiallyChecked,
        "{}",
        text(&r)
    );
    assert_eq!(
        verdict("seed__queue_limit_default_is_1000_not_100"),
        &Verdict::NotApplicable(
            "needs max_queued_messages 1000 (the default; it publishes 1001 messages), target has 100".into()
        ),
    );
    assert!(names(&r, |v| matches!(v, Verdict::Deviation(_) | Verdict::Invalid(_))).is_empty(), "{}", text(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_broker_passes_every_applicable_scenario() {
    let broker = TestBroker::start(Config::default()).await;
    let options = CheckOptions {
        target: Target::new(broker.addr.to_string()),
        paths: vec![scenarios()],
        parallel: 4,
        max_wait: None,
    };
    let r = check(&options).await.expect("our broker is reachable");
    let failed = names(&r, |v| !matches!(v, Verdict::Pass | Verdict::PartiallyChecked | Verdict::NotApplicable(_)));
    assert!(failed.is_empty(), "{}", text(&r));
    let checked = names(&r, |v| matches!(v, Verdict::Pass | Verdict::PartiallyChecked));
    assert!(checked.len() >= 40, "{} scenarios checked:\n{}", checked.len(), text(&r));
}
