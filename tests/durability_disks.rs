//! Every scenario under `scenarios/durability/` keeps its expectations, and the delivery
//! invariants hold, on every kind of simulated disk: one that makes a write durable only when it
//! is synced, one that flushes unsynced writes on its own (turmoil's `sync_probability`), one
//! that tears them (`block_size`: a crash keeps a random number of whole blocks of each), and
//! both; each at several seeds. A durable broker's promises must not depend on the disk being
//! kind, and an autosave broker's losses are those of its save schedule, whatever the disk
//! does with writes it never asked to be durable.
//!
//! A scenario whose expectations depend on its disk states it (`disk:`), and runs on that disk
//! only, at as many seeds.
//!
//! `MQTT_SIM_SEEDS` sets how many seeds each disk is tried at (default 4).

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use mqtt_sim::scenario::{self, model::Disk};
use mqtt_sim::sim::runner;

/// (sync_probability, block_size): the disks each scenario runs on.
const DISKS: [(f64, Option<u64>); 6] =
    [(0.0, None), (0.3, None), (1.0, None), (0.0, Some(8)), (0.0, Some(512)), (0.5, Some(8))];

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let seeds: u64 = std::env::var("MQTT_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4);
    let files = scenario::discover(&root.join("durability")).expect("scenarios/durability/ is readable");
    assert!(files.len() >= 20, "the durability scenarios are there ({} found)", files.len());
    let trials = files
        .into_iter()
        .map(|file| {
            let name = scenario::test_name(&root, &file);
            Trial::test(name, move || {
                let loaded = scenario::load(&file).map_err(|e| Failed::from(e.to_string()))?;
                let mut failures = Vec::new();
                let disks: Vec<Disk> = match loaded.disk.is_default() {
                    true => DISKS.iter().map(|&(p, block_size)| Disk { sync_probability: Some(p), block_size }).collect(),
                    false => vec![loaded.disk.clone()],
                };
                for disk in disks {
                    let mut s = loaded.clone();
                    s.disk = disk.clone();
                    let Disk { sync_probability, block_size } = disk;
                    for seed in (1..=seeds).map(|i| loaded.seed + i * 1000) {
                        if let Some(f) = runner::run(&s, seed).failure {
                            failures.push(format!(
                                "disk {{ sync_probability: {sync_probability:?}, block_size: {block_size:?} }}, seed {seed}: {f}"
                            ));
                        }
                    }
                }
                match failures.is_empty() {
                    true => Ok(()),
                    false => Err(Failed::from(failures.join("\n"))),
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
