//! Exploration of brokers that keep state across `crash_broker`: which persistence a case's
//! broker runs with (`PersistenceMix`: mosquitto's autosave, mqtt-sim's durable mode, or either),
//! the simulated disk under it (flushing or tearing unsynced writes), and crashes placed among the
//! case's steps, sometimes on a 1 ms network, where a crash right after an acknowledgement falls
//! inside the broker's 2 ms sync. The delivery invariants then judge what a crash may lose: in
//! durable mode nothing the broker acknowledged (`at-least-once`).
//!
//! The plan is generated after the rest of a case, so `--persistence off` (the default) draws
//! nothing more and every seed gives the cases it always gave.

use std::time::Duration;

use proptest::prelude::*;

use crate::scenario::model::{BrokerSettings, Disk, Network, Scenario, Step};
use crate::scenario::values::Span;

/// How the brokers of an exploration keep their state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PersistenceMix {
    /// In memory only: a crash loses everything (the default).
    #[default]
    Off,
    /// mosquitto's `persistence true`, saving every few changes or seconds.
    Autosave,
    /// mqtt-sim's durable mode (`persistence_sync true`), sometimes folding its log after nearly
    /// every commit.
    Durable,
    /// Each case one of the three.
    Mixed,
}

impl std::str::FromStr for PersistenceMix {
    type Err = String;
    fn from_str(s: &str) -> Result<PersistenceMix, String> {
        match s {
            "off" => Ok(PersistenceMix::Off),
            "autosave" => Ok(PersistenceMix::Autosave),
            "durable" => Ok(PersistenceMix::Durable),
            "mixed" => Ok(PersistenceMix::Mixed),
            _ => Err(format!("persistence {s:?}: expected off, autosave, durable or mixed")),
        }
    }
}

/// What a case's broker keeps, on what disk, and where it crashes.
#[derive(Debug, Clone)]
pub struct Plan {
    broker: BrokerSettings,
    disk: Disk,
    /// Every link at 1 ms, so crashes right after an acknowledgement fall inside a sync.
    fast_network: bool,
    /// Crashes: where among the steps (per mille of their number), and how long the broker
    /// stays down.
    crashes: Vec<(usize, Option<Duration>)>,
}

fn autosave() -> impl Strategy<Value = BrokerSettings> {
    (any::<bool>(), 1u64..6).prop_map(|(on_changes, interval)| BrokerSettings {
        persistence: Some(true),
        autosave_on_changes: Some(on_changes),
        autosave_interval: Some(interval),
        ..BrokerSettings::default()
    })
}

fn durable() -> impl Strategy<Value = BrokerSettings> {
    prop_oneof![Just(None), Just(Some(1u64))].prop_map(|log_limit| BrokerSettings {
        persistence: Some(true),
        persistence_sync: Some(true),
        persistence_log_limit: log_limit,
        ..BrokerSettings::default()
    })
}

fn disk() -> impl Strategy<Value = Disk> {
    (prop_oneof![3 => Just(None), 1 => Just(Some(0.5))], prop_oneof![3 => Just(None), 1 => Just(Some(8u64))])
        .prop_map(|(sync_probability, block_size)| Disk { sync_probability, block_size })
}

fn crashes() -> impl Strategy<Value = Vec<(usize, Option<Duration>)>> {
    let down = prop::option::weighted(0.3, (1u64..30).prop_map(|tenths| Duration::from_millis(tenths * 100)));
    prop::collection::vec((0usize..1000, down), 1..4)
}

/// The plan of one case, or `None` with persistence off (drawing nothing).
pub fn plan(mix: PersistenceMix) -> BoxedStrategy<Option<Plan>> {
    let broker = match mix {
        PersistenceMix::Off => return Just(None).boxed(),
        PersistenceMix::Autosave => autosave().boxed(),
        PersistenceMix::Durable => durable().boxed(),
        PersistenceMix::Mixed => prop_oneof![Just(BrokerSettings::default()), autosave(), durable()].boxed(),
    };
    (broker, disk(), any::<bool>(), crashes())
        .prop_map(|(broker, disk, fast_network, crashes)| Some(Plan { broker, disk, fast_network, crashes }))
        .boxed()
}

/// Puts `plan` into a case whose generated steps (before the epilogue) are `steps`.
pub fn apply(plan: &Plan, scenario: &mut Scenario, steps: &mut Vec<Step>) {
    // The plan states persistence options only, which a generated case never does.
    scenario.broker = scenario.broker.merged(&plan.broker).expect("a generated case states no persistence option");
    if plan.broker.persistence == Some(true) {
        scenario.disk = plan.disk.clone();
    }
    if plan.fast_network {
        let ms = Some(Span(Duration::from_millis(1)));
        scenario.network = Network { min_latency: ms, max_latency: ms };
    }
    // From the last position back, so earlier positions still index the original steps.
    let mut at: Vec<_> = plan.crashes.iter().map(|&(per_mille, down)| (per_mille * steps.len() / 1000, down)).collect();
    at.sort_by_key(|&(i, _)| std::cmp::Reverse(i));
    for (i, down) in at {
        let mut crash = vec![Step::CrashBroker];
        crash.extend(down.map(|d| Step::Wait(Span(d))));
        crash.push(Step::RestartBroker);
        steps.splice(i..i, crash);
    }
}
