//! The same seed gives the same trace text, across changes of the code: the text traces of a few
//! scenarios, chosen for the QoS 1/2 flows, reconnects, resumed sessions and faults they go
//! through, are kept in `tests/golden/` and compared byte for byte. A refactoring of the broker,
//! the client or the drivers that reorders what happens in the same millisecond changes them
//! (one such reorder was caught by hand while the client's driver loops were merged); a change
//! that is meant to alter a trace updates the file and says so in its commit.
//!
//! `MQTT_SIM_GOLDEN=write cargo test --test golden_traces` rewrites the files; review the diff.

use std::path::Path;

/// (scenario under `scenarios/`, seed).
const GOLDEN: &[(&str, u64)] = &[
    ("seed/qos0_publications_are_not_queued.yaml", 2),
    ("faults/subscriber_qos2_pubrel_lost_resends_pubrel_not_publish.yaml", 2),
    ("faults/takeover_during_qos1_delivery_resends_to_new_connection.yaml", 4),
    ("regressions/client_keeps_qos2_state_across_reconnect.yaml", 9),
    ("seed/persistent_session_survives_an_unreliable_network.yaml", 2),
];

#[test]
fn traces_are_unchanged_for_the_same_seed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let write = std::env::var("MQTT_SIM_GOLDEN").is_ok_and(|v| v == "write");
    let mut changed = Vec::new();
    for (file, seed) in GOLDEN {
        let scenario = mqtt_sim::scenario::load(&root.join("scenarios").join(file)).expect("the scenario loads");
        let text = mqtt_sim::sim::run(&scenario, *seed).trace.to_text();
        let golden = root.join("tests/golden").join(format!("{}-{seed}.trace", file.replace(['/', '.'], "_")));
        if write {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        if want != text {
            // The first line that differs, or where the shorter one ends.
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| want.lines().count().min(text.lines().count()));
            changed.push(format!(
                "{file} at seed {seed}: first difference at line {}:\n  was: {}\n  now: {}",
                line + 1,
                want.lines().nth(line).unwrap_or("(end)"),
                text.lines().nth(line).unwrap_or("(end)")
            ));
        }
    }
    assert!(changed.is_empty(), "traces changed for the same seed:\n{}", changed.join("\n"));
}
