//! `mqtt-sim check` against our own broker, in-process on a loopback port, over real TCP: a few
//! scenarios pass (or pass what can be observed), client crashes included; those that need
//! broker settings it does not have, or `$` topics, are not applicable to a broker someone else
//! runs; a scenario the broker does not meet is a deviation, or a known deviation for a broker it
//! is listed under; a launch command that cannot start a broker is one clear error.

mod common;

use std::path::{Path, PathBuf};

use common::mosquitto::TempDir;
use common::TestBroker;
use mqtt_sim::broker::Config;
use mqtt_sim::check::{check, report, CheckOptions, Target, Verdict};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn options(broker: &TestBroker, paths: Vec<PathBuf>) -> CheckOptions {
    CheckOptions::new(Target::new(broker.addr.to_string()), paths)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_run_against_our_broker_over_tcp() {
    let broker = TestBroker::start(Config::default()).await;
    let root = scenarios();
    let paths = vec![
        root.join("seed/persistent_session_queues_offline_messages.yaml"),
        root.join("spec/qos/order_kept_per_publisher_topic_and_qos.yaml"),
        root.join("spec/subscriptions/single_level_wildcard_matches_exactly_one_level.yaml"),
        root.join("spec/wills/will_published_when_the_connection_is_lost.yaml"),
        root.join("faults/client_crash_publishes_will.yaml"),
        root.join("seed/queue_limit_is_per_session_not_memory.yaml"),
        root.join("spec/subscriptions/dollar_topics_not_matched_by_leading_wildcards.yaml"),
    ];
    let report = check(&options(&broker, paths)).await.expect("the broker is reachable");
    let verdicts: Vec<(&str, &Verdict)> = report.checks.iter().map(|c| (c.name.as_str(), &c.verdict)).collect();
    let text = format!("{}\n{}", report::table(&report), report::details(&report));
    assert!(
        matches!(verdicts[0], ("seed__persistent_session_queues_offline_messages", Verdict::PartiallyChecked)),
        "{text}"
    );
    assert!(
        matches!(verdicts[1], ("spec__qos__order_kept_per_publisher_topic_and_qos", Verdict::PartiallyChecked)),
        "{text}"
    );
    assert!(matches!(verdicts[2].1, Verdict::Pass), "{text}");
    assert!(matches!(verdicts[3].1, Verdict::PartiallyChecked), "{text}");
    assert!(matches!(verdicts[4].1, Verdict::PartiallyChecked), "a client crash runs over TCP too: {text}");
    assert!(
        matches!(verdicts[5].1, Verdict::NotApplicable(why) if why == "needs max_queued_messages 5, target has 1000"),
        "{text}"
    );
    assert!(matches!(verdicts[6].1, Verdict::NotApplicable(why) if why.contains("section 4.7.2")), "{text}");
    assert_eq!(report.exit_code(), 0, "{text}");
    // What the clients saw is recorded without the run's namespace, and the trace shows packets.
    let received: Vec<&String> =
        report.checks.iter().flat_map(|c| c.clients.values()).flat_map(|c| &c.received).collect();
    assert!(!received.is_empty() && received.iter().all(|m| !m.contains("ms-")), "{received:?}");
    let trace = &report.checks[3].trace;
    assert!(trace.iter().any(|e| e.to_string().contains("CONNACK")), "the trace records the packets");
    assert!(trace.iter().all(|e| !e.to_string().contains("ms-")), "the namespace is stripped from the trace");
    // Both sides of each connection: the client's tap and the proxy's record of the broker's.
    let lines: Vec<String> = trace.iter().map(|e| e.to_string()).collect();
    assert!(lines.iter().any(|l| l.contains("broker <- ") && l.contains("CONNECT")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("broker -> ") && l.contains("CONNACK")), "{lines:#?}");
    // The crash is in the trace, and the will it caused reached the watcher.
    let crash = &report.checks[4].trace;
    assert!(crash.iter().any(|e| matches!(e, mqtt_sim::trace::TraceEvent::Fault { .. })), "the fault is traced");
}

#[tokio::test]
async fn a_launch_command_that_cannot_start_a_broker_is_one_error_naming_it() {
    let launcher = mqtt_sim::check::launch::Launcher::new("sh -c 'echo bad config line 3 >&2; exit 1'", None).unwrap();
    let options =
        CheckOptions { parallel: 4, ..CheckOptions::new(Target::launched(launcher), vec![scenarios().join("seed")]) };
    let e = check(&options).await.unwrap_err().to_string();
    assert!(e.contains("sh -c") && e.contains("exited") && e.contains("bad config line 3"), "{e}");
}

/// A scenario that expects QoS 2 where the spec says QoS 1 (the subscription's maximum).
const WRONG: &str = r#"
name: expects the publication's QoS instead of the granted one
spec: [MQTT-3.8.4-6]
known_deviations:
  ours: "this scenario is wrong on purpose"
clients: { reader: {}, writer: {} }
steps:
  - connect: reader
  - subscribe: { client: reader, topic: t/#, qos: 1 }
  - connect: writer
  - publish: { client: writer, topic: t/1, payload: m, qos: 2 }
  - wait: 200ms
  - expect:
      received:
        reader: [{ topic: t/1, payload: m, qos: 2 }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_difference_is_a_deviation_unless_known_for_the_broker() {
    let broker = TestBroker::start(Config::default()).await;
    let dir = TempDir::new("check");
    let file = dir.0.join("scenarios/wrong.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, WRONG).unwrap();

    let report = check(&options(&broker, vec![file.clone()])).await.unwrap();
    let details = report::details(&report);
    assert!(matches!(report.checks[0].verdict, Verdict::Deviation(_)), "{details}");
    assert_eq!(report.exit_code(), 1);
    assert!(
        details.contains("breaks [MQTT-3.8.4-6] (server) delivered QoS = min(published QoS, granted QoS)"),
        "{details}"
    );
    assert!(details.contains(&format!("reproduce: mqtt-sim check --broker {} ", broker.addr)), "{details}");
    assert!(details.contains("names on the broker: client ids ms-"), "{details}");
    assert!(details.contains("expected:\n    t/1 = m | q2\n  observed:\n    t/1 = m | q1\n"), "{details}");
    assert!(details.contains("wrong.yaml:13, step 6"), "the step's line is named: {details}");

    let mut named = options(&broker, vec![file]);
    named.target.name = Some("ours".into());
    let report = check(&named).await.unwrap();
    assert!(
        matches!(&report.checks[0].verdict, Verdict::KnownDeviation { known, .. } if known == "this scenario is wrong on purpose"),
        "{}",
        report::details(&report)
    );
    assert_eq!(report.exit_code(), 0, "a known deviation does not fail the check");
}

#[tokio::test]
async fn an_unreachable_broker_is_an_error_not_a_deviation() {
    let port = common::mosquitto::free_port();
    let options = CheckOptions {
        parallel: 4,
        ..CheckOptions::new(Target::new(format!("127.0.0.1:{port}")), vec![scenarios().join("seed")])
    };
    let e = check(&options).await.unwrap_err();
    assert!(e.to_string().starts_with(&format!("cannot reach the broker at 127.0.0.1:{port}")), "{e}");
}

/// `outcome: any` steps (as `explore` writes regressions) and `outcome: may_vary`: a publish
/// before its client connects fails, which `any` accepts.
const ANY: &str = r#"
name: outcomes any and may_vary
description: judged by the one executor, whichever network runs it
outcome: may_vary
clients: { reader: {}, writer: {} }
steps:
  - publish: { client: writer, topic: t/1, payload: early, qos: 1, outcome: any }
  - connect: { client: reader, outcome: any }
  - subscribe: { client: reader, topic: t/#, qos: 1, outcome: any }
  - connect: writer
  - publish: { client: writer, topic: t/1, payload: m, qos: 1, outcome: any }
  - wait: 200ms
  - expect:
      received:
        reader: [{ topic: t/1, payload: m, qos: 1 }]
"#;

#[test]
fn outcome_any_and_may_vary_are_judged_alike_in_simulation_and_over_tcp() {
    let dir = TempDir::new("check-any");
    let scenarios = dir.0.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    let lenient = scenarios.join("any.yaml");
    std::fs::write(&lenient, ANY).unwrap();
    // The same scenario, but the first publish must succeed: both networks fail it at step 1.
    let strict = scenarios.join("strict.yaml");
    std::fs::write(&strict, ANY.replacen("payload: early, qos: 1, outcome: any", "payload: early, qos: 1", 1)).unwrap();

    // The check runs on a runtime of its own; the simulation must not (turmoil starts its own).
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let report = runtime.block_on(async {
        let broker = TestBroker::start(Config::default()).await;
        check(&options(&broker, vec![lenient.clone(), strict.clone()])).await.unwrap()
    });
    let text = report::details(&report);
    for (file, check) in [&lenient, &strict].into_iter().zip(&report.checks) {
        let scenario = mqtt_sim::scenario::load(file).unwrap();
        let simulated = mqtt_sim::sim::run(&scenario, scenario.seed).failure;
        let over_tcp = check.verdict.deviation();
        assert_eq!(
            simulated.as_ref().map(|f| (f.step, f.summary.clone())),
            over_tcp.map(|d| (d.step, d.summary.clone())),
            "{}: the simulation and TCP judge alike\n{text}",
            file.display()
        );
    }
    assert!(matches!(report.checks[0].verdict, Verdict::Pass), "{text}");
    let deviation = report.checks[1].verdict.deviation().expect("the strict twin fails");
    assert_eq!((deviation.step, deviation.expected.as_str()), (Some(0), "PUBACK (the command completes)"), "{text}");
}

/// A launched broker that exits by itself mid-scenario is the finding, not a panic; and a
/// launched broker does not outlive its `BrokerProcess`.
const EXITS: &str = r#"
name: the broker exits by itself during the wait
clients: { a: {} }
steps:
  - connect: a
  - wait: 2s
  - expect:
      received: { a: [] }
"#;

fn our_broker(args: &str) -> String {
    format!("{} broker {args}", env!("CARGO_BIN_EXE_mqtt-sim"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launched_broker_that_exits_mid_scenario_is_reported_as_such() {
    let dir = TempDir::new("check-exits");
    let file = dir.0.join("scenarios/exits.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, EXITS).unwrap();
    // `timeout` runs the broker for one second, then ends it: a broker that dies on its own.
    let command = format!("timeout 1 {}", our_broker("--listen 127.0.0.1:{port}"));
    let launcher = mqtt_sim::check::launch::Launcher::new(&command, None).unwrap();
    // The up-front trial launch dies too, but only after the port opened: it is not an error.
    let options = CheckOptions { parallel: 1, ..CheckOptions::new(Target::launched(launcher), vec![file]) };
    let report = check(&options).await.unwrap();
    let details = report::details(&report);
    let Verdict::Deviation(d) = &report.checks[0].verdict else { panic!("{details}") };
    assert!(d.summary.contains("the broker process exited during the scenario"), "{details}");
    assert!(d.observed.contains("exited by itself"), "{details}");
}

#[tokio::test]
async fn a_launched_broker_is_killed_when_its_handle_goes() {
    let launcher = std::sync::Arc::new(
        mqtt_sim::check::launch::Launcher::new(&our_broker("--listen 127.0.0.1:{port}"), None).unwrap(),
    );
    let settings = mqtt_sim::scenario::model::BrokerSettings::default();
    let process = mqtt_sim::check::launch::BrokerProcess::launch(launcher, &Config::default(), &settings)
        .await
        .expect("our broker launches");
    let pid = process.pid().expect("it runs");
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
            .unwrap_or(false)
    };
    assert!(alive());
    drop(process);
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive() && tokio::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!alive(), "the broker {pid} outlived its handle");
}

/// A broker behind a wrapper that does not `exec` it (here a shell that runs it, then something
/// else) dies with its handle too: the launcher kills the whole process group, not the wrapper
/// alone, which would leave the broker running (as `timeout 1 BROKER` did in the test above).
#[tokio::test]
async fn a_broker_behind_a_wrapper_is_killed_with_its_handle() {
    let command = format!("sh -c '{}; true'", our_broker("--listen 127.0.0.1:{port}"));
    let launcher = std::sync::Arc::new(mqtt_sim::check::launch::Launcher::new(&command, None).unwrap());
    let settings = mqtt_sim::scenario::model::BrokerSettings::default();
    let process = mqtt_sim::check::launch::BrokerProcess::launch(launcher, &Config::default(), &settings)
        .await
        .expect("the wrapped broker launches");
    let addr = process.addr();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_ok());
    drop(process);
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while tokio::net::TcpStream::connect(&addr).await.is_ok() && tokio::time::Instant::now() < until {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "the broker behind the shell outlived its handle");
}

/// Two topics published in one order and expected in the other: the spec orders messages only
/// per topic and QoS [MQTT-4.6.0-6], so a broker that interleaves streams differently from the
/// scenario's list is not reported.
const INTERLEAVED: &str = r#"
name: streams listed in another interleaving than the broker's
clients: { reader: {}, writer: {} }
steps:
  - connect: reader
  - subscribe: { client: reader, topics: [{ filter: "a/#", qos: 1 }, { filter: "b/#", qos: 1 }] }
  - connect: writer
  - publish: { client: writer, topic: b/1, payload: "b1", qos: 1 }
  - publish: { client: writer, topic: a/1, payload: "a1", qos: 1 }
  - publish: { client: writer, topic: a/1, payload: "a2", qos: 1 }
  - wait: 200ms
  - expect:
      received:
        reader:
          - { topic: a/1, payload: a1, qos: 1 }
          - { topic: a/1, payload: a2, qos: 1 }
          - { topic: b/1, payload: b1, qos: 1 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_interleaving_of_topics_is_not_a_deviation_but_another_order_within_one_is() {
    let broker = TestBroker::start(Config::default()).await;
    let dir = TempDir::new("check-interleaved");
    let file = dir.0.join("scenarios/interleaved.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, INTERLEAVED).unwrap();
    let report = check(&options(&broker, vec![file.clone()])).await.unwrap();
    assert!(matches!(report.checks[0].verdict, Verdict::Pass), "{}", report::details(&report));

    std::fs::write(
        &file,
        INTERLEAVED.replace(
            "payload: a1, qos: 1 }\n          - { topic: a/1, payload: a2",
            "payload: a2, qos: 1 }\n          - { topic: a/1, payload: a1",
        ),
    )
    .unwrap();
    let report = check(&options(&broker, vec![file])).await.unwrap();
    assert!(matches!(report.checks[0].verdict, Verdict::Deviation(_)), "{}", report::details(&report));
}
