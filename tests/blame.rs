//! Precise blame: a run reports every difference, each under the statement its check observes.
//! An `expect` that does not hold, or a wrong session present flag, does not end the run; a
//! command that does not end as stated does. Statements come from the kind of difference (a missing acknowledgement, the session
//! present flag, DUP alone), else the expect step's `spec:`, else the scenario's list. And a
//! broker that sends the further copies overlapping subscriptions allow [MQTT-3.3.5-1] is not
//! reported.

use mqtt_sim::scenario::parse;
use mqtt_sim::sim::{run, Failure};

fn failures(yaml: &str) -> Vec<Failure> {
    let scenario = parse(yaml, "blame.yaml").expect("the scenario loads");
    let result = run(&scenario, 1);
    result.failure.map(|f| f.all().cloned().map(|f| Failure { also: vec![], ..f }).collect()).unwrap_or_default()
}

#[test]
fn every_independent_difference_is_reported_under_its_own_statement() {
    let found = failures(
        r#"
name: three wrong expectations
spec: [MQTT-4.5.0-1, MQTT-3.2.2-3]
clients:
  reader: { clean_session: false }
  pub: {}
steps:
  - connect: reader
  - subscribe: { client: reader, topic: t, qos: 1 }
  - connect: pub
  - publish: { client: pub, topic: t, payload: one, qos: 1 }
  - wait: 1s
  - expect:
      spec: [MQTT-4.5.0-1]
      received: { reader: [{ topic: t, payload: two, qos: 1 }] }
  - expect:
      received_count: { reader: 2 }
  - disconnect: reader
  - connect: { client: reader, session_present: false }
  - expect:
      received_count: { reader: 7 }
  - partition: reader
  - unsubscribe: { client: reader, topic: t }
  - expect:
      received_count: { reader: 9 }
"#,
    );
    let summary: Vec<(&str, Vec<&str>)> =
        found.iter().map(|f| (f.summary.as_str(), f.spec.iter().map(String::as_str).collect())).collect();
    assert_eq!(
        summary,
        [
            ("reader received", vec!["MQTT-4.5.0-1"]),
            ("reader's number of received messages", vec!["MQTT-4.5.0-1", "MQTT-3.2.2-3"]),
            // The scenario says no session is stored, so session present 1 breaks [MQTT-3.2.2-3];
            // the connection is up either way, so the run goes on.
            ("connect reader: session present in CONNACK", vec!["MQTT-3.2.2-3"]),
            ("reader's number of received messages", vec!["MQTT-4.5.0-1", "MQTT-3.2.2-3"]),
            // A command that does not complete ends the run: the last expect is not judged.
            ("unsubscribe reader", vec!["MQTT-3.10.4-4"]),
        ]
    );
    assert_eq!(found.iter().map(|f| f.step).collect::<Vec<_>>(), [Some(5), Some(6), Some(8), Some(9), Some(11)]);
    assert_eq!(found[2].expected, "0", "the expected side is the scenario's, never the observed");
}

#[test]
fn a_missing_acknowledgement_is_named_with_its_statement() {
    let found = failures(
        r#"
name: an unsubscribe that stays pending
clients:
  a: {}
steps:
  - connect: a
  - partition: a
  - unsubscribe: { client: a, topic: t }
"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    // Nothing was subscribed: the UNSUBACK is owed all the same [MQTT-3.10.4-5] (with a
    // subscription to delete it is [MQTT-3.10.4-4], as in the first test).
    assert_eq!(found[0].spec, ["MQTT-3.10.4-5"]);
    assert_eq!(found[0].observed, "no UNSUBACK within 30 s");
    assert_eq!(found[0].expected, "UNSUBACK (the command completes)");
}

#[test]
fn a_difference_in_dup_alone_is_reported_under_the_dup_rule() {
    let found = failures(
        r#"
name: dup stated wrongly
spec: [MQTT-4.5.0-1]
clients:
  reader: {}
  pub: {}
steps:
  - connect: reader
  - subscribe: { client: reader, topic: t, qos: 1 }
  - connect: pub
  - publish: { client: pub, topic: t, payload: one, qos: 1 }
  - wait: 1s
  - expect:
      received: { reader: [{ topic: t, payload: one, qos: 1, dup: true }] }
"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].spec, ["MQTT-3.3.1-1"]);
}

#[test]
fn a_difference_in_qos_or_retain_alone_is_reported_under_its_rule() {
    let run = |expected: &str| {
        failures(&format!(
            r#"
name: qos and retain stated wrongly
spec: [MQTT-4.5.0-1]
clients:
  reader: {{}}
  pub: {{}}
steps:
  - connect: pub
  - publish: {{ client: pub, topic: t, payload: kept, qos: 1, retain: true }}
  - connect: reader
  - subscribe: {{ client: reader, topic: t, qos: 1 }}
  - wait: 1s
  - expect:
      received: {{ reader: [{expected}] }}
"#
        ))
    };
    let qos = run("{ topic: t, payload: kept, qos: 2, retain: true }");
    assert_eq!(qos.iter().map(|f| f.spec.clone()).collect::<Vec<_>>(), [["MQTT-3.8.4-6"]], "{qos:?}");
    let retain = run("{ topic: t, payload: kept, qos: 1, retain: false }");
    assert_eq!(retain.iter().map(|f| f.spec.clone()).collect::<Vec<_>>(), [["MQTT-3.3.1-9"]], "{retain:?}");
    assert!(run("{ topic: t, payload: kept, qos: 1, retain: true }").is_empty());
}

#[test]
fn every_client_whose_list_differs_is_shown_not_only_the_first() {
    let found = failures(
        r#"
name: two readers stated wrongly
clients:
  a: {}
  b: {}
  pub: {}
steps:
  - connect: a
  - subscribe: { client: a, topic: t, qos: 1 }
  - connect: b
  - subscribe: { client: b, topic: t, qos: 1 }
  - connect: pub
  - publish: { client: pub, topic: t, payload: one, qos: 1 }
  - wait: 1s
  - expect:
      received:
        a: [{ topic: t, payload: two, qos: 1 }]
        b: [{ topic: t, payload: three, qos: 1 }]
"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].summary, "a, b received");
    assert!(found[0].expected.contains("a:\n  t = two | q1") && found[0].expected.contains("b:\n  t = three | q1"));
    assert!(found[0].observed.contains("a:\n  t = one | q1") && found[0].observed.contains("b:\n  t = one | q1"));
}

#[test]
fn a_refusal_is_judged_by_its_code_or_as_any_refusal_the_spec_allows() {
    let scenario = |refused: &str| {
        format!(
            "name: refusals\nbroker: {{ max_keepalive: 60 }}\nclients: {{ a: {{ keep_alive: 61 }}, b: {{ keep_alive: 30 }} }}\n\
             steps:\n  - connect: {{ client: a, refused: {refused} }}\n  - connect: {{ client: b, refused: {refused} }}\n"
        )
    };
    // Our broker refuses keep alive 61 with return code 2, as mosquitto 2.0.12 does; keep alive
    // 30 is accepted, which neither form of `refused` allows.
    for refused in ["any", "2"] {
        let found = failures(&scenario(refused));
        assert_eq!(found.len(), 1, "{refused}: {found:?}");
        assert_eq!(found[0].summary, "connect b: the CONNACK");
        assert!(found[0].observed.starts_with("accepted, session present 0"), "{found:?}");
    }
    let found = failures(&scenario("3"));
    assert_eq!(found[0].summary, "connect a: the CONNACK");
    assert_eq!(found[0].expected, "refused, return code 3");
    assert!(found[0].observed.starts_with("refused, return code 2"), "{found:?}");
}

#[test]
fn a_refusal_that_is_not_a_code_from_1_to_5_or_any_is_an_error_at_its_line() {
    for (value, says) in
        [("0", "0 is not a refusal"), ("6", "6 is not a refusal"), ("maybe", "\"maybe\" is not a refusal")]
    {
        let yaml = format!("name: r\nclients: {{ a: {{}} }}\nsteps:\n  - connect: {{ client: a, refused: {value} }}\n");
        let err = parse(&yaml, "r.yaml").expect_err("a refusal out of range").to_string();
        assert!(err.contains("r.yaml:4:") && err.contains(says), "{err}");
        for part in ["expected a CONNACK return code from 1 to 5", "a 5.0 reason code from 0x80 to 0xFF", "or `any`"] {
            assert!(err.contains(part), "{err}");
        }
    }
}

#[test]
fn a_no_wait_publication_that_fails_is_reported_unless_its_outcome_says_so() {
    let scenario = |outcome: &str| {
        format!(
            "name: fire and forget\nclients: {{ a: {{}} }}\nsteps:\n  - wait: 10ms\n  \
             - publish: {{ client: a, topic: t, payload: x, qos: 1, no_wait: true{outcome} }}\n  - wait: 100ms\n"
        )
    };
    // Never connected: the publication never left the client, which must not pass unseen.
    let found = failures(&scenario(""));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].summary, "publish a #1 (no_wait)");
    assert_eq!(found[0].observed, "it failed: not connected");
    assert_eq!(found[0].step, Some(1));
    assert!(failures(&scenario(", outcome: failed")).is_empty());
}

#[test]
fn a_clients_own_state_and_the_held_qos2_messages_are_checked() {
    let found = failures(
        r#"
name: wrong state
clients: { w: {}, r: { acks: manual } }
steps:
  - connect: r
  - subscribe: { client: r, topic: t, qos: 1 }
  - connect: w
  - send: { client: w, packet: { kind: publish, id: 3, qos: 2, topic: t, payload: x } }
  - publish: { client: w, topic: t, payload: y, qos: 1 }
  - wait: 300ms
  - expect:
      inflight_in: { w: 0 }
  - expect:
      client_state: { r: { owed_acks: 0 } }
  - expect:
      client_state: { r: { connection: lost } }
"#,
    );
    let shown: Vec<(&str, &str, &str)> =
        found.iter().map(|f| (f.summary.as_str(), f.expected.as_str(), f.observed.as_str())).collect();
    assert_eq!(
        shown,
        [
            ("session \"w\"'s incoming QoS 2 messages awaiting PUBREL", "0", "1"),
            ("r's acknowledgements owed", "0", "1"),
            ("r's latest connection", "Lost", "Open"),
        ]
    );
}

#[test]
fn a_summary_of_what_was_received_checks_count_ends_and_order() {
    let scenario = |summary: &str| {
        format!(
            r#"
name: a long run summarised
clients: {{ reader: {{}}, writer: {{}} }}
steps:
  - connect: reader
  - subscribe: {{ client: reader, topic: t, qos: 1 }}
  - connect: writer
  - publish: {{ client: writer, topic: t, payload: "m{{n}}", qos: 1, repeat: 200 }}
  - publish: {{ client: writer, topic: t, payload: "m{{n}}", qos: 1, repeat: 100, start: 201 }}
  - wait: 1s
  - expect:
      received: {{ reader: {summary} }}
"#
        )
    };
    let good = "{ count: 300, in_order: true, first: { topic: t, payload: m1, qos: 1 }, last: { topic: t, payload: m300, qos: 1 } }";
    assert_eq!(failures(&scenario(good)).len(), 0);
    let found = failures(&scenario(&good.replace("count: 300", "count: 299")));
    assert_eq!((found[0].expected.as_str(), found[0].observed.as_str()), ("299 messages", "300 messages"), "{found:?}");
    let found = failures(&scenario(&good.replace("payload: m300", "payload: m200")));
    assert!(found[0].observed.contains("last: t = m300 | q1"), "{found:?}");
}

#[test]
fn two_publishers_on_one_topic_are_two_streams_that_may_interleave() {
    let scenario = |listed: &str| {
        format!(
            r#"
name: two publishers, one topic
clients: {{ reader: {{}}, a: {{}}, b: {{}} }}
steps:
  - connect: reader
  - subscribe: {{ client: reader, topic: t, qos: 1 }}
  - connect: a
  - connect: b
  - publish: {{ client: a, topic: t, payload: a1, qos: 1 }}
  - publish: {{ client: b, topic: t, payload: b1, qos: 1 }}
  - publish: {{ client: a, topic: t, payload: a2, qos: 1 }}
  - wait: 500ms
  - expect:
      received: {{ reader: [{listed}] }}
"#
        )
    };
    let m = |p: &str| format!("{{ topic: t, payload: {p}, qos: 1 }}");
    // b's message listed first: another interleaving of two streams [MQTT-4.6.0-6].
    assert_eq!(failures(&scenario(&[m("b1"), m("a1"), m("a2")].join(", "))), vec![]);
    // a's two messages swapped: another order within one stream.
    assert_eq!(failures(&scenario(&[m("a2"), m("b1"), m("a1")].join(", "))).len(), 1);
}

#[test]
fn an_ack_for_a_message_the_client_never_received_is_a_difference() {
    let found = failures(
        r#"
name: ack by payload
clients: { r: { acks: manual } }
steps:
  - connect: r
  - ack: { client: r, kind: puback, message: never }
"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].summary, "ack r: PUBACK");
    assert_eq!(found[0].observed, "none on its connection");
}
