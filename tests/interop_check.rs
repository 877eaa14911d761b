//! Interop: `mqtt-sim check` against a real mosquitto 2.0: launched fresh for each scenario by
//! `check --launch 'mosquitto -c {config}'` (faults, crashes and broker settings included), and
//! as a broker someone else runs (started by this test with a config it writes). mosquitto shows
//! exactly the deviations the scenarios list as known for it, and no other. Needs Debian's
//! mosquitto: `--features interop`. Scenarios run in real time, several at a time; those that
//! wait more than a minute are left out (our broker's agreement test says why).

#![cfg(feature = "interop")]

mod common;

use std::path::{Path, PathBuf};

use std::time::Duration;

use common::mosquitto::Mosquitto;
use mqtt_sim::check::launch::Launcher;
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

const MAX_WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_launched_per_scenario_deviates_only_where_the_scenarios_say_it_does() {
    let target = Target {
        name: Some("mosquitto".into()),
        ..Target::launched(Launcher::new("mosquitto -c {config}", None).expect("the command splits"))
    };
    let options =
        CheckOptions { parallel: 8, max_wait: Some(MAX_WAIT), ..CheckOptions::new(target, vec![scenarios()]) };
    let r = check(&options).await.expect("mosquitto launches");
    let known = names(&r, |v| matches!(v, Verdict::KnownDeviation { .. }));
    // Every run shows these, and no other: two runs give the same verdicts.
    let always = [
        "faults__publisher_qos2_burst_beyond_incoming_window_refused_then_resent_delivered_once",
        "scripted__second_connect_is_a_protocol_violation",
        "spec__keepalive__max_keepalive_refuses_longer_or_zero_keep_alive",
        "spec__qos__overlapping_subscriptions_deliver_once_at_the_maximum_qos",
        "spec__wills__will_published_when_the_session_is_taken_over",
        "v5__message_expiry_does_not_cut_short_a_delivery_already_started",
        "v5__messages_waiting_for_the_receive_maximum_window_expire",
        "v5__receive_maximum_window_is_kept_across_a_reconnect",
        "v5__receive_maximum_window_survives_a_partition",
        "v5__takeover_publishes_the_old_will_only_when_the_session_ends",
        "v5__takeover_resends_the_unacknowledged_message_on_the_new_connection",
        "v5__takeover_tells_the_old_connection_the_session_was_taken_over",
        "v5__takeover_with_clean_start_1_discards_the_session",
    ];
    // And these in most runs, not all: on a loaded machine (CI runs the test binaries side by
    // side) mosquitto has once closed the silent client in time, and the scenario passed.
    let usually = ["faults__silent_client_held_link_closed_after_keepalive_will_published_bystanders_unaffected"];
    for name in always {
        assert!(known.contains(&name), "{name} is not a known deviation this time\n{}", text(&r));
    }
    for name in &known {
        assert!(always.contains(name) || usually.contains(name), "{name} is a new known deviation\n{}", text(&r));
    }
    assert!(names(&r, |v| matches!(v, Verdict::Deviation(_) | Verdict::Invalid(_))).is_empty(), "{}", text(&r));
    let not_applicable = names(&r, |v| matches!(v, Verdict::NotApplicable(_)));
    // Four too long in real time, one about turmoil's TCP, the autosave interval (its saves count
    // from the broker's launch), the nineteen durable-mode scenarios (mqtt-sim's own option,
    // crashes only the simulation places).
    assert!(not_applicable.len() <= 25, "{not_applicable:?}\n{}", text(&r));
    assert_eq!(r.exit_code(), 0);
    // The details name the spec statement each known deviation breaks.
    let details = report::details(&r);
    assert!(details.contains("breaks [MQTT-3.3.5-1]") && details.contains("breaks [MQTT-3.1.2-8]"), "{details}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_with_the_1x_queue_limit_runs_the_scenario_that_needs_it() {
    let (_mosquitto, target) = mosquitto("max_queued_messages 100\n");
    let options = CheckOptions {
        parallel: 8,
        max_wait: Some(MAX_WAIT),
        ..CheckOptions::new(target, vec![scenarios().join("seed")])
    };
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
