//! The long fuzz run: the model of `tests/fuzz_broker.rs` (random limits, several connections,
//! arbitrary and mutated packets through the codec into the broker, invariants after every input)
//! for as many inputs as `MQTT_SIM_FUZZ_INPUTS` asks (default 1,000,000), one case after another
//! from seed `MQTT_SIM_FUZZ_SEED` (default 0) on. Prints progress, what the run reached, and how
//! many inputs it survived; on a failure prints the case's seed and the broken invariant and exits 1.
//!
//! ```sh
//! MQTT_SIM_FUZZ_INPUTS=20000000 cargo bench --bench fuzz
//! ```

#[path = "../tests/fuzz_broker.rs"]
mod model;

use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn main() {
    let target = env("MQTT_SIM_FUZZ_INPUTS", 1_000_000);
    let first_seed = env("MQTT_SIM_FUZZ_SEED", 0);
    let started = Instant::now();
    let mut inputs = 0u64;
    let mut cases = 0u64;
    let mut reached = model::Stats::default();
    let mut next_report = 1_000_000u64;
    let mut seed = first_seed;
    while inputs < target {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
        let (config, ops) = model::arb_case(400).new_tree(&mut runner).expect("generate a case").current();
        let result = panic::catch_unwind(AssertUnwindSafe(|| model::run_case(config.clone(), &ops)));
        match result {
            Ok(Ok(stats)) => reached.add(&stats),
            Ok(Err(e)) => fail(seed, inputs, &format!("{e}\nconfig: {config:?}")),
            Err(_) => fail(seed, inputs, &format!("the broker panicked (message above)\nconfig: {config:?}")),
        }
        inputs += ops.len() as u64;
        cases += 1;
        seed += 1;
        if inputs >= next_report {
            eprintln!("  {inputs} inputs, {cases} cases, {:.0} s", started.elapsed().as_secs_f64());
            next_report += 1_000_000;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz: survived {inputs} inputs in {cases} cases (seeds {first_seed}..{seed}) in {secs:.1} s ({:.0} inputs/s)",
        inputs as f64 / secs
    );
    println!("reached: {reached:?}");
}

fn fail(seed: u64, inputs: u64, message: &str) -> ! {
    println!("fuzz: FAILED at seed {seed} after {inputs} inputs survived\n{message}");
    println!("replay: MQTT_SIM_FUZZ_SEED={seed} MQTT_SIM_FUZZ_INPUTS=1 cargo bench --bench fuzz");
    std::process::exit(1);
}
