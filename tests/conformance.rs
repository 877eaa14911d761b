//! docs/conformance.md is generated from the scenarios and the code; it must be current.

use std::path::Path;

#[test]
fn docs_conformance_md_is_current() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected = mqtt_sim::conformance::markdown(&mqtt_sim::conformance::build(project));
    let stored = std::fs::read_to_string(project.join("docs/conformance.md")).unwrap_or_default();
    assert!(
        stored == expected,
        "docs/conformance.md is out of date: run `cargo run -- conformance` and commit the result"
    );
    assert!(expected.contains("| MQTT-3.1.2-5 |"), "the table lists the normative statements");
}
