//! The citation scanner, the table built from a small project, and the table's text. The table
//! leaves this file out of its own scan; IDs are made up (`MQTT-9.x`) wherever they need not be
//! real.

use super::citations::{classify, ids, scan, Kind};
use super::{build, markdown, reasons, Row};

fn kinds(text: &str, test_file: bool) -> Vec<(&str, Kind)> {
    classify(text, test_file).into_iter().map(|(_, id, kind)| (id, kind)).collect()
}

#[test]
fn ids_are_cut_at_the_end_of_the_id() {
    let found: Vec<&str> = ids("[MQTT-3.1.2-4]. MQTT-3.1.2-24, (MQTT-4.7.1-2).").map(|(_, id)| id).collect();
    assert_eq!(found, vec!["MQTT-3.1.2-4", "MQTT-3.1.2-24", "MQTT-4.7.1-2"]);
}

#[test]
fn a_citation_in_an_assertion_counts_and_one_in_a_comment_does_not() {
    let text = r#"
        // [MQTT-9.0.0-1] the rule
        /// [MQTT-9.0.0-2] a doc comment
        assert_eq!(a, b, "[MQTT-9.0.0-3] delivered at min(..)");
        let why = "[MQTT-9.0.0-4]";
        assert!(
            x, // [MQTT-9.0.0-5] a comment inside the assertion
            "{why} [MQTT-9.0.0-6]"
        );
        prop_assert_ne! { a, b, "MQTT-9.0.0-7" }
        debug_assert!(vec![f(1), g("[MQTT-9.0.0-8]")].is_empty());
        assert_matches!(p, Packet::Publish(_), "[MQTT-9.0.0-9]");
        /* [MQTT-9.0.0-10] /* nested */ still a comment [MQTT-9.0.0-11] */
    "#;
    assert_eq!(
        kinds(text, true),
        vec![
            ("MQTT-9.0.0-1", Kind::Mentioned),
            ("MQTT-9.0.0-2", Kind::Mentioned),
            ("MQTT-9.0.0-3", Kind::Asserted),
            ("MQTT-9.0.0-4", Kind::Mentioned),
            ("MQTT-9.0.0-5", Kind::Mentioned),
            ("MQTT-9.0.0-6", Kind::Asserted),
            ("MQTT-9.0.0-7", Kind::Asserted),
            ("MQTT-9.0.0-8", Kind::Asserted),
            ("MQTT-9.0.0-9", Kind::Asserted),
            ("MQTT-9.0.0-10", Kind::Mentioned),
            ("MQTT-9.0.0-11", Kind::Mentioned),
        ]
    );
}

#[test]
fn expect_panic_unreachable_and_assert_helpers_are_assertions() {
    let text = r#"
        let p = decode(&b).expect("[MQTT-9.0.1-1] decodes");
        let q = options.expect_closed("[MQTT-9.0.1-2]");
        fn expect(s: &str) {}
        expect("[MQTT-9.0.1-3]");
        match p { _ => unreachable!("[MQTT-9.0.1-4]"), }
        panic!("{} [MQTT-9.0.1-5]", 1);
        fn assert_rule(err: &E, rule: Option<&str>) { let _ = "MQTT-9.0.1-6"; }
        assert_rule(&err, Some("MQTT-9.0.1-7"));
        h.assert_quiet(); // [MQTT-9.0.1-8]
    "#;
    assert_eq!(
        kinds(text, true),
        vec![
            ("MQTT-9.0.1-1", Kind::Asserted),
            ("MQTT-9.0.1-2", Kind::Mentioned),
            ("MQTT-9.0.1-3", Kind::Mentioned),
            ("MQTT-9.0.1-4", Kind::Asserted),
            ("MQTT-9.0.1-5", Kind::Asserted),
            ("MQTT-9.0.1-6", Kind::Mentioned),
            ("MQTT-9.0.1-7", Kind::Asserted),
            ("MQTT-9.0.1-8", Kind::Mentioned),
        ]
    );
}

#[test]
fn strings_hide_delimiters_and_comment_markers() {
    let text = r###"
        let s = r#"assert!( " // [MQTT-9.0.2-1]"#;
        let t = "assert!( \" ( // [MQTT-9.0.2-2]";
        let u = br"(";
        let c = '"';
        let d = '(';
        let e = '\'';
        let f = b'{';
        fn g<'a>(x: &'a str) -> &'a str { x }
        assert!(c != ')', "[MQTT-9.0.2-3] // not a comment");
        let after = "[MQTT-9.0.2-4]";
        'outer: loop { break 'outer; }
        assert!(r"[MQTT-9.0.2-5] )".len() > 0, '\u{1F600}' != 'ü');
        let end = "[MQTT-9.0.2-6]";
    "###;
    assert_eq!(
        kinds(text, true),
        vec![
            ("MQTT-9.0.2-1", Kind::Mentioned),
            ("MQTT-9.0.2-2", Kind::Mentioned),
            ("MQTT-9.0.2-3", Kind::Asserted),
            ("MQTT-9.0.2-4", Kind::Mentioned),
            ("MQTT-9.0.2-5", Kind::Asserted),
            ("MQTT-9.0.2-6", Kind::Mentioned),
        ]
    );
    assert_eq!(scan(text).comments, vec![], "every `//` above is inside a literal");
}

#[test]
fn outside_tests_a_citation_is_code_and_an_inline_test_module_is_tests() {
    let text = r#"
        // [MQTT-9.0.3-1]
        fn refuse() { debug_assert!(ok, "[MQTT-9.0.3-2]"); }
        mod tests;
        #[cfg(test)]
        mod tests {
            #[test]
            fn t() { assert!(refuse(), "[MQTT-9.0.3-3]"); } // [MQTT-9.0.3-4]
        }
        const AFTER: &str = "[MQTT-9.0.3-5]";
    "#;
    assert_eq!(
        kinds(text, false),
        vec![
            ("MQTT-9.0.3-1", Kind::Code),
            ("MQTT-9.0.3-2", Kind::Code),
            ("MQTT-9.0.3-3", Kind::Asserted),
            ("MQTT-9.0.3-4", Kind::Mentioned),
            ("MQTT-9.0.3-5", Kind::Code),
        ]
    );
}

fn row(id: &'static str) -> Row {
    Row {
        id,
        binds: "both",
        subject: "a rule",
        scenarios: vec![],
        invariants: vec![],
        code: 0,
        asserted: 0,
        mentioned: vec![],
        why: None,
    }
}

#[test]
fn the_summary_counts_only_what_observes_a_statement() {
    let rows = vec![
        Row { scenarios: vec![("spec__a".into(), false)], ..row("MQTT-9.1.0-1") },
        Row { invariants: vec!["qos2-exactly-once"], ..row("MQTT-9.1.0-2") },
        Row { asserted: 2, code: 1, ..row("MQTT-9.1.0-3") },
        Row {
            code: 3,
            mentioned: ["tests/a.rs", "tests/b.rs", "scenarios/c.yaml", "src/d.rs"].map(String::from).to_vec(),
            ..row("MQTT-9.1.0-4")
        },
        row("MQTT-9.1.0-5"),
    ];
    let md = markdown(&rows, crate::protocol::Version::V311);
    let summary: Vec<&str> = md.lines().filter(|l| l.starts_with("- ")).collect();
    assert_eq!(
        summary,
        vec![
            "- normative statements: 5",
            "- checked by a scenario: 1 (1 with a failing scenario)",
            "- checked by the delivery invariants: 1",
            "- asserted by a unit, TCP or interop test: 1",
            "- checked by a scenario, an invariant or a test assertion: 3",
            "- not checked: 2 (1 of them mentioned, listed below)",
        ]
    );
    assert!(md.contains("| MQTT-9.1.0-1 | both | a rule | spec__a (FAILS) | — | 0 | 0 |"), "{md}");
    assert!(md.contains("| MQTT-9.1.0-2 | both | a rule | — | `qos2-exactly-once` | 0 | 0 |"), "{md}");
    let (_, mentioned) = md.split_once("## Mentioned but not checked").expect("the section is there");
    assert!(
        mentioned
            .contains("| MQTT-9.1.0-4 | both | a rule | `tests/a.rs`, `tests/b.rs`, `scenarios/c.yaml` and 1 more |"),
        "{mentioned}"
    );
    assert!(!mentioned.contains("MQTT-9.1.0-3") && !mentioned.contains("MQTT-9.1.0-5"), "{mentioned}");
}

#[test]
fn build_counts_scenario_and_expect_tags_invariants_assertions_and_mentions() {
    let project = std::env::temp_dir().join(format!("mqtt-sim-conformance-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let path = project.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the folder");
        std::fs::write(path, text).expect("write the file");
    };
    write(
        "scenarios/t/one.yaml",
        "name: a message reaches its subscriber
description: says [MQTT-3.1.3-1] but checks nothing of it
spec: [MQTT-3.1.2-4]
clients:
  reader: {}
  pub: {}
steps:
  - connect: reader
  - subscribe: { client: reader, topic: a, qos: 1 }
  - connect: pub
  - publish: { client: pub, topic: a, payload: x, qos: 1 }
  - wait: 500ms
  - expect:
      spec: [MQTT-3.3.5-1]
      received:
        reader:
          - { topic: a, payload: x, qos: 1 }
",
    );
    write("src/lib.rs", "// Refused here [MQTT-3.1.3-3].\n");
    write(
        "tests/t.rs",
        "#[test]\nfn t() {\n    assert!(true, \"[MQTT-3.3.1-4] [MQTT5-3.3.2-5]\"); // [MQTT-3.1.3-1] [MQTT5-3.3.2-6]\n}\n",
    );
    let tables = build(&project);
    let rows = tables.v311;
    let _ = std::fs::remove_dir_all(&project);
    let row = |id: &str| rows.iter().find(|r| r.id == id).expect("a normative ID").clone();
    let one = vec![("t__one".to_owned(), true)];
    assert_eq!(row("MQTT-3.1.2-4").scenarios, one, "the scenario's own spec: list");
    assert_eq!(row("MQTT-3.3.5-1").scenarios, one, "an expect step's spec: list");
    let citing: Vec<&str> = crate::invariants::INVARIANTS
        .iter()
        .filter(|(_, rule)| ids(rule).any(|(_, id)| id == "MQTT-3.3.5-1"))
        .map(|(name, _)| *name)
        .collect();
    assert!(!citing.is_empty(), "an invariant cites MQTT-3.3.5-1");
    assert_eq!(row("MQTT-3.3.5-1").invariants, citing);
    assert_eq!((row("MQTT-3.3.1-4").asserted, row("MQTT-3.3.1-4").mentioned.len()), (1, 0));
    let mentioned_only = row("MQTT-3.1.3-1");
    assert!(!mentioned_only.checked());
    assert_eq!(mentioned_only.mentioned, vec!["tests/t.rs", "scenarios/t/one.yaml"], "tests first");
    assert_eq!((row("MQTT-3.1.3-3").code, row("MQTT-3.1.3-3").mentioned), (1, vec!["src/lib.rs".to_owned()]));
    // A 5.0 citation counts for the 5.0 statement of the spec's ID, and for no 3.1.1 one.
    let v5 = |id: &str| tables.v5.iter().find(|r| r.id == id).expect("a 5.0 normative ID").clone();
    assert_eq!(v5("MQTT-3.3.2-5").asserted, 1, "[MQTT5-3.3.2-5] in an assertion");
    assert_eq!(v5("MQTT-3.3.2-6").mentioned, vec!["tests/t.rs"], "[MQTT5-3.3.2-6] in a comment");
    assert_eq!(v5("MQTT-3.3.1-4").asserted, 0, "a 3.1.1 citation is not a 5.0 one");
}

#[test]
fn a_reasons_file_gives_one_reason_per_known_statement() {
    let text = "# a comment\n\nMQTT5-9.1.0-1\tnot offered\nMQTT5-9.9.9-9\tno such statement\nMQTT5-9.1.0-2 no tab\n\
                MQTT5-9.1.0-1\tagain\nMQTT5-9.1.0-3\t\n";
    let (found, errors) = reasons(text, |id| id.starts_with("MQTT5-9.1.0-"));
    assert_eq!(found.into_iter().collect::<Vec<_>>(), vec![("MQTT5-9.1.0-1".to_owned(), "again".to_owned())]);
    assert_eq!(
        errors,
        vec![
            "src/conformance/unchecked-5.0.txt:4: \"MQTT5-9.9.9-9\" is not a normative statement of MQTT 5.0",
            "src/conformance/unchecked-5.0.txt:5: expected an ID like MQTT5-3.1.2-4, a tab and a reason",
            "src/conformance/unchecked-5.0.txt:6: MQTT5-9.1.0-1 is given a reason twice",
            "src/conformance/unchecked-5.0.txt:7: expected an ID like MQTT5-3.1.2-4, a tab and a reason",
        ]
    );
}

#[test]
fn the_table_counts_the_transport_apart_and_lists_why_each_unchecked_statement_is_not_checked() {
    let rows = vec![
        Row { asserted: 1, why: Some("stale, not shown".into()), ..row("MQTT-9.2.0-1") },
        Row { why: Some("not offered".into()), ..row("MQTT-9.2.0-2") },
        row("MQTT-9.2.0-3"),
        Row { binds: "transport", why: Some("WebSocket is not implemented".into()), ..row("MQTT-9.2.0-4") },
    ];
    let md = markdown(&rows, crate::protocol::Version::V5);
    assert!(
        md.contains(
            "- of the 3 statements on a client or a server (the other 1 bind the transport): 1 checked, 2 not\n"
        ),
        "{md}"
    );
    let (_, why) = md.split_once("## Not checked, and why").expect("the section is there");
    assert!(why.contains("| MQTT-9.2.0-2 | both | a rule | not offered |"), "{why}");
    assert!(why.contains("| MQTT-9.2.0-3 | both | a rule | no reason recorded |"), "{why}");
    assert!(why.contains("| MQTT-9.2.0-4 | transport | a rule | WebSocket is not implemented |"), "{why}");
    assert!(!why.contains("MQTT-9.2.0-1"), "a checked statement is not listed: {why}");
    // Without a reason anywhere, neither the section nor the transport line.
    let plain = markdown(&[row("MQTT-9.2.0-3")], crate::protocol::Version::V311);
    assert!(!plain.contains("## Not checked, and why") && !plain.contains("bind the transport"), "{plain}");
}
