//! docs/conformance.md and docs/conformance-5.0.md are generated from the scenarios and the code;
//! they must be current.

use std::path::Path;

use mqtt_sim::protocol::Version;

#[test]
fn docs_conformance_tables_are_current() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tables = mqtt_sim::conformance::build(project);
    for (file, rows, version, sample) in [
        ("docs/conformance.md", &tables.v311, Version::V311, "| MQTT-3.1.2-5 |"),
        ("docs/conformance-5.0.md", &tables.v5, Version::V5, "| MQTT-3.1.2-23 |"),
    ] {
        let expected = mqtt_sim::conformance::markdown(rows, version);
        let stored = std::fs::read_to_string(project.join(file)).unwrap_or_default();
        assert!(stored == expected, "{file} is out of date: run `cargo run -- conformance` and commit the result");
        assert!(expected.contains(sample), "the table lists the normative statements");
    }
    assert_eq!(tables.v311.len(), 141, "the 3.1.1 list");
    assert_eq!(tables.v5.len(), 251, "the 5.0 list");
    // src/conformance/unchecked-5.0.txt says why of every 5.0 statement nothing checks, and of
    // no other.
    assert_eq!(tables.reason_errors, Vec::<String>::new(), "{}", mqtt_sim::conformance::REASONS_V5);
    let missing: Vec<&str> = tables.v5.iter().filter(|r| !r.checked() && r.why.is_none()).map(|r| r.id).collect();
    assert!(missing.is_empty(), "not checked, and no reason in src/conformance/unchecked-5.0.txt: {missing:?}");
    let stale: Vec<&str> = tables.v5.iter().filter(|r| r.checked() && r.why.is_some()).map(|r| r.id).collect();
    assert!(stale.is_empty(), "checked now: remove the reason from src/conformance/unchecked-5.0.txt: {stale:?}");
}
