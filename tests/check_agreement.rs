//! The two networks agree: every scenario, faults and crashes included, run by `mqtt-sim check
//! --launch` against our own broker (the `mqtt-sim broker` binary, started fresh for each
//! scenario on a free port, reached through the fault proxy over real TCP), gets the verdict it
//! gets in simulation, where `tests/scenarios.rs` passes them all. The only exceptions are the
//! scenarios marked `simulation_only` (each with its reason, listed in
//! docs/checking-a-broker.md) and, to keep `cargo test` fast, those whose waits add up to more
//! than a minute of real time (they also pass: `mqtt-sim check --launch ... scenarios` without
//! `--max-wait` runs them in about five minutes).

use std::path::{Path, PathBuf};
use std::time::Duration;

use mqtt_sim::check::launch::Launcher;
use mqtt_sim::check::{check, report, CheckOptions, CheckReport, Target, Verdict};
use mqtt_sim::scenario::{discover, load};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn text(r: &CheckReport) -> String {
    format!("{}\n{}", report::table(r), report::details(r))
}

const MAX_WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_broker_over_tcp_agrees_with_the_simulation_on_every_scenario() {
    let command = format!("{} broker -c {{config}}", env!("CARGO_BIN_EXE_mqtt-sim"));
    let target = Target::launched(Launcher::new(&command, None).expect("the command splits"));
    let options =
        CheckOptions { parallel: 8, max_wait: Some(MAX_WAIT), ..CheckOptions::new(target, vec![scenarios()]) };
    let r = check(&options).await.expect("our broker launches");

    // What may be left out, and why, decided from the files themselves.
    let files = discover(&scenarios()).unwrap();
    assert_eq!(r.checks.len(), files.len(), "every scenario file has a verdict");
    let mut may_skip = Vec::new();
    for file in &files {
        let s = load(file).unwrap();
        let waits: Duration = s
            .steps
            .iter()
            .filter_map(|s| if let mqtt_sim::scenario::model::Step::Wait(d) = s { Some(d.0) } else { None })
            .sum();
        if s.simulation_only.is_some() || waits > MAX_WAIT {
            may_skip.push(s.name.clone());
        }
    }
    for c in &r.checks {
        match &c.verdict {
            Verdict::Pass | Verdict::PartiallyChecked => {}
            Verdict::NotApplicable(why) => assert!(
                may_skip.contains(&c.title),
                "{} is not applicable ({why}), but it is neither simulation_only nor too long\n{}",
                c.name,
                text(&r)
            ),
            _ => panic!("{} differs over TCP from the simulation\n{}", c.name, text(&r)),
        }
    }
    let skipped = r.count(|v| matches!(v, Verdict::NotApplicable(_)));
    // Each justified above; these twenty-five: three keep-alive scenarios and a 5.0 session that
    // never expires, too long in real time, one about turmoil's TCP itself, the autosave
    // interval whose saves count from the broker's launch, and the nineteen durable-mode
    // scenarios (crashes the simulation places inside a sync or right after an acknowledgement,
    // simulated disks; mqtt-sim's own option).
    assert!(skipped <= 25, "{skipped} scenarios not applicable\n{}", text(&r));
    assert_eq!(r.exit_code(), 0);
}
