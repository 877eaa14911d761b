//! Every YAML file under `scenarios/` is its own named test (`cargo test offline` runs the
//! matching ones). Each runs at its recorded seed, checked against its expectations and its
//! snapshot in `snapshots/`, then at more seeds (`MQTT_SIM_SEEDS`, default 3): a deterministic
//! scenario must give the same snapshot at every seed; any scenario must meet its expectations.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use mqtt_sim::scenario;
use mqtt_sim::sim::suite;

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let seeds = suite::extra_seeds_from_env(3);
    let files = scenario::discover(&root).expect("scenarios/ is readable");
    let trials = files
        .into_iter()
        .map(|file| {
            let name = scenario::test_name(&root, &file);
            let (root, snapshots) = (root.clone(), snapshots.clone());
            Trial::test(name, move || {
                let report = suite::check_file(&root, &file, &snapshots, seeds);
                match report.failure_text() {
                    None => Ok(()),
                    Some(text) => Err(Failed::from(text)),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
