//! SUBSCRIBE and UNSUBSCRIBE answers, topic matching as routing sees it (wildcards, `$` topics, no
//! normalisation), fan-out to every matching session, ordering, and PINGREQ.

use super::*;

#[test]
fn suback_carries_the_subscribe_packet_id_and_one_code_per_filter_in_order() {
    let mut h = Harness::new();
    let c = h.client("c", false);
    assert_eq!(
        h.send(c, subscribe(42, &[("a", Q2), ("b/+", Q0), ("c/#", Q1)])),
        vec![tx(c, suback(42, &[Q2, Q0, Q1]))],
        "[MQTT-3.8.4-1] a SUBACK [MQTT-3.8.4-2] [MQTT-2.3.1-7] with the SUBSCRIBE's packet id, \
         [MQTT-3.8.4-5] [MQTT-3.9.3-1] a granted QoS per filter, in filter order"
    );
    assert_eq!(
        h.session("c").subscriptions,
        vec![("a".to_owned(), Q2), ("b/+".to_owned(), Q0), ("c/#".to_owned(), Q1)]
    );
}

#[test]
fn filters_of_one_subscribe_are_handled_as_a_sequence() {
    let mut h = Harness::new();
    let c = h.client("c", false);
    assert_eq!(
        h.send(c, subscribe(7, &[("a", Q0), ("a", Q2)])),
        vec![tx(c, suback(7, &[Q0, Q2]))],
        "[MQTT-3.8.4-4] one SUBACK for the sequence"
    );
    assert_eq!(
        h.session("c").subscriptions,
        vec![("a".to_owned(), Q2)],
        "[MQTT-3.8.4-3] the same filter twice leaves the later subscription"
    );
    let publisher = h.client("pub", true);
    assert_eq!(h.publish(publisher, "a", "x", Q2), vec![tx(c, publish("a", "x", Q2, 1))]);
}

#[test]
fn unsuback_is_sent_with_the_packet_id_even_when_nothing_matched() {
    let mut h = Harness::new();
    let c = h.client("c", false);
    assert_eq!(
        h.send(c, unsubscribe(9, &["never/subscribed"])),
        vec![tx(c, Packet::unsuback(pid(9)))],
        "[MQTT-3.10.4-5] an UNSUBACK though nothing was deleted, [MQTT-3.10.4-4] [MQTT-2.3.1-7] with the packet id"
    );
}

#[test]
fn unsubscribe_removes_several_filters_with_one_unsuback_comparing_them_exactly() {
    let mut h = Harness::new();
    let c = h.client("c", false);
    h.send(c, subscribe(1, &[("a/+", Q0), ("b", Q0), ("c", Q0)]));
    assert_eq!(
        h.send(c, unsubscribe(2, &["a/b", "b", "c"])),
        vec![tx(c, Packet::unsuback(pid(2)))],
        "[MQTT-3.10.4-6] one UNSUBACK for several filters"
    );
    assert_eq!(
        h.session("c").subscriptions,
        vec![("a/+".to_owned(), Q0)],
        "[MQTT-3.10.4-1] \"a/b\" matches \"a/+\" but is not the same filter, so it removes nothing"
    );
    let publisher = h.client("pub", true);
    assert_eq!(
        h.publish(publisher, "b", "x", Q0),
        vec![],
        "[MQTT-3.10.4-2] no new messages for a deleted subscription"
    );
    assert_eq!(h.publish(publisher, "a/b", "x", Q0), vec![tx(c, publish("a/b", "x", Q0, 0))]);
}

#[test]
fn wildcards_route_as_the_spec_examples_say() {
    // Sections 4.7.1.2 and 4.7.1.3; the delivered topic is the published name.
    let mut h = Harness::new();
    let filters = [("s1", "sport/tennis/+"), ("s2", "sport/#"), ("s3", "+/+"), ("s4", "#"), ("s5", "/+")];
    let mut conns = BTreeMap::new();
    for (id, filter) in filters {
        let c = h.client(id, true);
        h.subscribe(c, filter, Q0);
        conns.insert(id, c);
    }
    let publisher = h.client("pub", true);
    let cases: [(&str, &[&str]); 6] = [
        ("sport", &["s2", "s4"]),
        ("sport/", &["s2", "s3", "s4"]),
        ("sport/tennis", &["s2", "s3", "s4"]),
        ("sport/tennis/player1", &["s1", "s2", "s4"]),
        ("sport/tennis/player1/ranking", &["s2", "s4"]),
        ("/finance", &["s3", "s4", "s5"]),
    ];
    for (topic, receivers) in cases {
        let expected: Vec<Action> = receivers.iter().map(|id| tx(conns[id], publish(topic, "x", Q0, 0))).collect();
        assert_eq!(h.publish(publisher, topic, "x", Q0), expected, "[MQTT-3.3.2-3] topic {topic}");
    }
}

#[test]
fn wildcard_first_filters_do_not_match_dollar_topics() {
    let mut h = Harness::new();
    let all = h.client("all", true);
    h.subscribe(all, "#", Q0);
    let plus = h.client("plus", true);
    h.subscribe(plus, "+/info", Q0);
    let sys = h.client("sys", true);
    h.subscribe(sys, "$SYS/#", Q0);
    let sys_plus = h.client("sysplus", true);
    h.subscribe(sys_plus, "$SYS/+", Q0);
    let publisher = h.client("pub", true);
    assert_eq!(
        h.publish(publisher, "$SYS/info", "x", Q0),
        vec![tx(sys, publish("$SYS/info", "x", Q0, 0)), tx(sys_plus, publish("$SYS/info", "x", Q0, 0))],
        "[MQTT-4.7.2-1] `#` and `+/info` do not match a topic starting with `$`"
    );
    assert_eq!(
        h.publish(publisher, "a/info", "y", Q0),
        vec![tx(all, publish("a/info", "y", Q0, 0)), tx(plus, publish("a/info", "y", Q0, 0))]
    );
    // A `$` further down is an ordinary character.
    assert_eq!(h.publish(publisher, "a/$x", "z", Q0), vec![tx(all, publish("a/$x", "z", Q0, 0))]);
}

#[test]
fn topic_matching_does_not_normalise() {
    let mut h = Harness::new();
    let c = h.client("c", true);
    h.subscribe(c, "ACCOUNTS", Q0);
    let publisher = h.client("pub", true);
    assert_eq!(h.publish(publisher, "accounts", "x", Q0), vec![], "[MQTT-4.7.3-4] no case folding");
    assert_eq!(h.publish(publisher, "ACCOUNTS ", "x", Q0), vec![], "[MQTT-4.7.3-4] no trimming");
    assert_eq!(h.publish(publisher, "ACCOUNTS", "x", Q0), vec![tx(c, publish("ACCOUNTS", "x", Q0, 0))]);
}

#[test]
fn a_message_goes_to_every_matching_session_in_client_id_order() {
    // Fan-out order is fixed (client id order) so runs replay exactly.
    let mut h = Harness::new();
    let c = h.client("c", false);
    let b = h.client("b", false);
    let a = h.client("a", false);
    for conn in [a, b, c] {
        h.subscribe(conn, "t", Q1);
    }
    h.lost(b);
    let publisher = h.client("pub", true);
    assert_eq!(
        h.publish(publisher, "t", "x", Q1),
        vec![tx(a, publish("t", "x", Q1, 1)), tx(c, publish("t", "x", Q1, 1))],
        "[MQTT-4.5.0-1] to every connected matching session"
    );
    assert_eq!(
        h.session("b").queued,
        vec![msg("t", "x", Q1, false)],
        "[MQTT-4.5.0-1] and to the offline one's session"
    );
    let ids: Vec<_> = h.view().sessions.iter().map(|s| s.client_id.clone()).collect();
    assert_eq!(ids, vec!["a", "b", "c", "pub"]);
}

#[test]
fn messages_from_one_publisher_keep_their_order_across_topics() {
    let mut h = Harness::new();
    let s = h.client("s", true);
    h.subscribe(s, "#", Q1);
    let publisher = h.client("pub", true);
    let mut got = Vec::new();
    for (i, topic) in ["x", "y", "x", "z", "y"].into_iter().enumerate() {
        got.extend(h.publish(publisher, topic, &format!("m{i}"), Q1));
    }
    assert_eq!(
        payloads(&got),
        vec!["m0", "m1", "m2", "m3", "m4"],
        "[MQTT-4.6.0-5] [MQTT-4.6.0-6] in publication order across topics"
    );
}

#[test]
fn pingreq_is_answered_with_pingresp() {
    let mut h = Harness::new();
    let c = h.client("c", true);
    assert_eq!(h.send(c, Packet::Pingreq), vec![tx(c, Packet::Pingresp)], "[MQTT-3.12.4-1]");
}
