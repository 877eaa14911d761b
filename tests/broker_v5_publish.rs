//! MQTT 5.0 conformance of the broker's message flow (spec sections 2.2.1, 3.3 to 3.7, 4.3,
//! 4.5 to 4.7 and 4.9), driven sans-IO with 5.0 clients: packet identifiers, the QoS 1 and QoS 2
//! flows with the broker as receiver and as sender, DUP, the retained store, what topic names
//! reach a subscriber, overlapping subscriptions, ordering, topic aliases (none sent by this
//! server) and the send quota. Each assertion cites the statement it observes as `[MQTT5-x]`.

mod sans_io_v5;

use std::collections::BTreeSet;

use mqtt_sim::broker::Config;
use mqtt_sim::protocol::{Packet, Property, Publish, ReasonCode, Version};
use sans_io_v5::*;

fn ids(publishes: &[Publish]) -> Vec<u16> {
    publishes.iter().map(|p| p.pkid.expect("QoS 1/2 has a packet id").get()).collect()
}

/// A persistent 5.0 subscriber to `filter` at `qos`, and a publisher.
fn pair(
    b: &mut BrokerBench,
    filter_: &str,
    qos: mqtt_sim::protocol::QoS,
) -> (mqtt_sim::broker::ConnId, mqtt_sim::broker::ConnId) {
    let sub = b.client_with(connect5("sub", true, 300));
    b.subscribed(sub, 1, vec![filter(filter_, qos)]);
    (sub, b.client("pub"))
}

#[test]
fn the_server_gives_each_new_delivery_an_unused_non_zero_packet_id() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q2);
    let mut sent = Vec::new();
    for i in 0..5u16 {
        let qos = if i % 2 == 0 { Q1 } else { Q2 };
        sent.extend(publishes(&b.publish(p, publish("t", "m", qos, 10 + i)), sub));
        if qos == Q2 {
            sent.extend(publishes(&b.send(p, pubrel(10 + i)), sub));
        }
    }
    let in_use = ids(&sent);
    assert!(in_use.iter().all(|&id| id != 0), "[MQTT5-2.2.1-4] non-zero: {in_use:?}");
    assert_eq!(
        in_use.iter().collect::<BTreeSet<_>>().len(),
        5,
        "[MQTT5-2.2.1-4] [MQTT5-4.3.2-1] [MQTT5-4.3.3-1] unused: {in_use:?}"
    );
    // One completes; the next delivery takes an id no other unacknowledged delivery holds.
    b.send(sub, puback(in_use[0]));
    let next = publishes(&b.publish(p, publish("t", "n", Q1, 20)), sub);
    let still = &in_use[1..];
    assert!(!still.contains(&ids(&next)[0]), "[MQTT5-2.2.1-4] [MQTT5-4.3.2-1] {next:?} vs {still:?}");
}

#[test]
fn acknowledgements_carry_the_packet_id_of_what_they_acknowledge() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q2);
    // The broker as receiver.
    let actions = b.publish(p, publish("t", "one", Q1, 7));
    assert_eq!(to(&actions, p), vec![puback(7)], "[MQTT5-2.2.1-5] [MQTT5-4.3.2-4] PUBACK with the PUBLISH's id");
    let actions = b.publish(p, publish("t", "two", Q2, 9));
    assert_eq!(to(&actions, p), vec![pubrec(9)], "[MQTT5-2.2.1-5] [MQTT5-4.3.3-8] PUBREC with the PUBLISH's id");
    let actions = b.send(p, pubrel(9));
    assert_eq!(to(&actions, p), vec![pubcomp(9)], "[MQTT5-2.2.1-5] [MQTT5-4.3.3-11] PUBCOMP with the PUBREL's id");
    // The broker as sender: its PUBREL names the id its PUBLISH carried and PUBREC echoed.
    let to_sub = publishes(&actions, sub);
    let id = to_sub[0].pkid.unwrap().get();
    let actions = b.send(sub, pubrec(id));
    assert_eq!(to(&actions, sub), vec![pubrel(id)], "[MQTT5-2.2.1-5] PUBREL with the PUBREC's id");
}

#[test]
fn the_receiver_of_a_publish_answers_as_its_qos_requires_and_owns_the_message() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q2);
    let actions = b.publish(p, publish("t", "q0", Q0, 0));
    assert!(to(&actions, p).is_empty(), "[MQTT5-3.3.4-1] QoS 0: no answer");
    let actions = b.publish(p, publish("t", "q1", Q1, 1));
    assert_eq!(to(&actions, p), vec![puback(1)], "[MQTT5-3.3.4-1] QoS 1: PUBACK");
    assert_eq!(payloads(&actions, sub), vec!["q1"], "[MQTT5-4.3.2-4] the server took ownership: it forwards it");
    let actions = b.publish(p, publish("t", "q2", Q2, 2));
    assert_eq!(to(&actions, p), vec![pubrec(2)], "[MQTT5-3.3.4-1] QoS 2: PUBREC");
    let actions = b.send(p, pubrel(2));
    assert_eq!(payloads(&actions, sub), vec!["q2"], "[MQTT5-4.3.3-8] owned, and forwarded once released");
}

#[test]
fn after_puback_or_pubcomp_the_same_packet_id_is_a_new_message() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q0);
    assert_eq!(payloads(&b.publish(p, publish("t", "a", Q1, 1)), sub), vec!["a"]);
    assert_eq!(
        payloads(&b.publish(p, publish("t", "b", Q1, 1)), sub),
        vec!["b"],
        "[MQTT5-4.3.2-5] id 1 after its PUBACK starts a new message"
    );
    b.publish(p, publish("t", "c", Q2, 2));
    assert_eq!(payloads(&b.send(p, pubrel(2)), sub), vec!["c"]);
    b.publish(p, publish("t", "d", Q2, 2));
    assert_eq!(
        payloads(&b.send(p, pubrel(2)), sub),
        vec!["d"],
        "[MQTT5-4.3.3-12] id 2 after its PUBCOMP starts a new message"
    );
}

#[test]
fn a_qos_2_publish_repeated_before_pubrel_is_acknowledged_again_and_delivered_once() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q1);
    b.publish(p, publish("t", "once", Q2, 5));
    let again = Publish { dup: true, ..publish("t", "once", Q2, 5) };
    let actions = b.publish(p, again);
    assert_eq!(to(&actions, p), vec![pubrec(5)], "[MQTT5-4.3.3-10] PUBREC again");
    assert!(publishes(&actions, sub).is_empty(), "[MQTT5-4.3.3-10] no delivery yet");
    let actions = b.send(p, pubrel(5));
    assert_eq!(payloads(&actions, sub), vec!["once"], "[MQTT5-4.3.3-10] delivered once");
    assert!(publishes(&b.send(p, pubrel(5)), sub).is_empty(), "[MQTT5-4.3.3-10] a repeated PUBREL delivers nothing");
}

#[test]
fn the_servers_qos_1_delivery_is_unacknowledged_until_puback_and_re_sent_with_dup() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q1);
    let first = publishes(&b.publish(p, Publish { dup: true, ..publish("t", "m", Q1, 3) }), sub);
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].qos, first[0].dup), (Q1, false), "[MQTT5-4.3.2-2] QoS 1, DUP 0 on the first send");
    assert!(!first[0].dup, "[MQTT5-3.3.1-3] the publisher's DUP 1 is not passed on");
    let id = first[0].pkid.unwrap();

    b.lost(sub);
    let (sub, actions) = b.connect(connect5("sub", false, 300));
    let again = publishes(&actions, sub);
    assert_eq!(again.len(), 1, "[MQTT5-4.3.2-3] unacknowledged until PUBACK: re-sent");
    assert_eq!((again[0].pkid, again[0].dup), (Some(id), true), "[MQTT5-3.3.1-1] the re-delivery has DUP 1");
    b.send(sub, Packet::puback(id));
    b.lost(sub);
    let (sub, actions) = b.connect(connect5("sub", false, 300));
    assert!(publishes(&actions, sub).is_empty(), "[MQTT5-4.3.2-3] acknowledged by PUBACK: not re-sent");
}

#[test]
fn the_servers_qos_2_delivery_moves_from_publish_to_pubrel_and_never_back() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q2);
    b.publish(p, publish("t", "m", Q2, 1));
    let first = publishes(&b.send(p, pubrel(1)), sub);
    assert_eq!((first[0].qos, first[0].dup), (Q2, false), "[MQTT5-4.3.3-2] QoS 2, DUP 0 on the first send");
    let id = first[0].pkid.unwrap();

    b.lost(sub);
    let (sub, actions) = b.connect(connect5("sub", false, 300));
    let again = publishes(&actions, sub);
    assert_eq!(again.len(), 1, "[MQTT5-4.3.3-3] unacknowledged until PUBREC: re-sent");
    assert!(again[0].dup && again[0].pkid == Some(id), "[MQTT5-3.3.1-1] {again:?}");

    assert_eq!(to(&b.send(sub, Packet::pubrec(id)), sub), vec![Packet::pubrel(id)]);
    b.lost(sub);
    let (sub, actions) = b.connect(connect5("sub", false, 300));
    let after = to(&actions, sub);
    assert_eq!(after[1..], [Packet::pubrel(id)], "[MQTT5-4.3.3-5] the PUBREL is unacknowledged until PUBCOMP");
    assert!(publishes(&actions, sub).is_empty(), "[MQTT5-4.3.3-6] no PUBLISH re-sent once PUBREL was sent");
    b.send(sub, Packet::pubcomp(id));
    b.lost(sub);
    let (sub, actions) = b.connect(connect5("sub", false, 300));
    assert_eq!(to(&actions, sub).len(), 1, "[MQTT5-4.3.3-5] PUBCOMP ends it: only the CONNACK: {actions:?}");
}

#[test]
fn a_qos_0_delivery_is_qos_0_with_dup_0() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q2);
    let got = publishes(&b.publish(p, publish("t", "m", Q0, 0)), sub);
    assert_eq!((got[0].qos, got[0].dup, got[0].pkid), (Q0, false, None), "[MQTT5-4.3.1-1]");
}

#[test]
fn a_retained_message_with_an_empty_payload_removes_the_topics_and_is_not_stored() {
    let mut b = BrokerBench::new();
    let p = b.client("pub");
    let retained = |topic: &str, payload: &str| Publish { retain: true, ..publish(topic, payload, Q1, 1) };
    b.publish(p, retained("r/a", "kept"));
    b.publish(p, retained("r/a", ""));
    b.publish(p, retained("r/b", ""));
    let topics: Vec<String> = b.broker.inspect().retained.iter().map(|r| r.topic.clone()).collect();
    assert!(topics.is_empty(), "[MQTT5-3.3.1-6] [MQTT5-3.3.1-7] nothing retained: {topics:?}");
    let s = b.client("s");
    let actions = b.subscribed(s, 1, vec![filter("r/#", Q1)]);
    assert!(publishes(&actions, s).is_empty(), "[MQTT5-3.3.1-6] [MQTT5-3.3.1-7] nothing sent: {actions:?}");
}

#[test]
fn a_publish_with_retain_0_leaves_the_retained_store_alone() {
    let mut b = BrokerBench::new();
    let p = b.client("pub");
    b.publish(p, Publish { retain: true, ..publish("r", "kept", Q1, 1) });
    b.publish(p, publish("r", "passing", Q1, 2));
    b.publish(p, publish("r", "", Q0, 0));
    let s = b.client("s");
    let got = publishes(&b.subscribed(s, 1, vec![filter("r", Q1)]), s);
    assert_eq!(got.len(), 1, "[MQTT5-3.3.1-8] {got:?}");
    assert_eq!(&got[0].payload[..], b"kept", "[MQTT5-3.3.1-8] neither replaced nor removed by RETAIN 0");
}

#[test]
fn the_topic_name_delivered_is_the_one_published_which_matches_the_filter() {
    let mut b = BrokerBench::new();
    let s = b.client("s");
    b.subscribed(s, 1, vec![filter("a/+/c", Q0), filter("x/#", Q0)]);
    let p = b.client("pub");
    for topic in ["a/b/c", "x", "x/y/z"] {
        let got = publishes(&b.publish(p, publish(topic, "m", Q0, 0)), s);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].topic, topic, "[MQTT5-3.3.2-3] the publisher's topic name, which matches the filter");
    }
    // A publisher's Topic Alias stands for its topic name; the subscriber gets the name.
    let mut aliased = publish("a/q/c", "m", Q0, 0);
    aliased.properties.push(Property::TopicAlias(1));
    b.publish(p, aliased);
    let mut by_alias = publish("", "again", Q0, 0);
    by_alias.properties.push(Property::TopicAlias(1));
    let got = publishes(&b.publish(p, by_alias), s);
    assert_eq!(got[0].topic, "a/q/c", "[MQTT5-3.3.2-3] {got:?}");
}

#[test]
fn the_server_sends_no_topic_alias_above_the_clients_maximum_or_without_one() {
    for maximum in [None, Some(0), Some(2)] {
        let mut b = BrokerBench::new();
        let mut connect = connect5("s", true, 0);
        if let Some(m) = maximum {
            connect.properties.push(Property::TopicAliasMaximum(m));
        }
        let s = b.client_with(connect);
        b.subscribed(s, 1, vec![filter("#", Q0)]);
        let p = b.client("pub");
        for topic in ["one", "two", "three", "one", "two", "three"] {
            for got in publishes(&b.publish(p, publish(topic, "m", Q0, 0)), s) {
                let alias = got.properties.topic_alias().copied();
                match maximum {
                    None | Some(0) => assert_eq!(alias, None, "[MQTT5-3.1.2-27] no alias without a maximum"),
                    Some(m) => assert!(
                        alias.is_none_or(|a| a <= m),
                        "[MQTT5-3.1.2-26] [MQTT5-3.3.2-11] alias {alias:?} within {m}"
                    ),
                }
                assert_eq!(got.topic, topic, "a full topic name each time");
            }
        }
    }
}

#[test]
fn overlapping_subscriptions_deliver_once_at_the_highest_qos_granted() {
    let mut b = BrokerBench::new();
    let s = b.client("s");
    b.subscribed(s, 1, vec![filter("t/#", Q0), filter("t/+", Q2), filter("t/x", Q1)]);
    let p = b.client("pub");
    b.publish(p, publish("t/x", "m", Q2, 1));
    let got = publishes(&b.send(p, pubrel(1)), s);
    assert_eq!(got.len(), 1, "one copy here ({got:?})");
    assert_eq!(got[0].qos, Q2, "[MQTT5-3.3.4-2] the highest QoS of the matching subscriptions");
}

#[test]
fn messages_on_a_topic_keep_their_order_live_and_queued() {
    let mut b = BrokerBench::new();
    let (sub, p) = pair(&mut b, "t", Q1);
    let mut live = Vec::new();
    for i in 0..8u16 {
        let qos = [Q0, Q1, Q2][usize::from(i % 3)];
        let actions = b.publish(p, publish("t", &format!("m{i}"), qos, i + 1));
        live.extend(payloads(&actions, sub));
        if qos == Q2 {
            live.extend(payloads(&b.send(p, pubrel(i + 1)), sub));
        }
    }
    let expected: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
    assert_eq!(live, expected, "[MQTT5-4.6.0-6] an ordered topic by default");

    b.lost(sub);
    for i in 0..5u16 {
        b.publish(p, publish("t", &format!("q{i}"), Q1, 30 + i));
    }
    let (sub, actions) = b.connect(connect5("sub", false, 300));
    let queued: Vec<String> = payloads(&actions, sub).into_iter().filter(|m| m.starts_with('q')).collect();
    assert_eq!(queued, ["q0", "q1", "q2", "q3", "q4"], "[MQTT5-4.6.0-6] queued ones in order too");
}

#[test]
fn an_owned_message_is_added_to_every_matching_session_online_or_not() {
    let mut b = BrokerBench::new();
    let online = b.client("on");
    b.subscribed(online, 1, vec![filter("t/+", Q1)]);
    let off = b.client_with(connect5("off", true, 300));
    b.subscribed(off, 1, vec![filter("t/#", Q1)]);
    b.lost(off);
    let other = b.client("other");
    b.subscribed(other, 1, vec![filter("u", Q1)]);
    let p = b.client("pub");
    let actions = b.publish(p, publish("t/x", "m", Q1, 1));
    assert_eq!(payloads(&actions, online), vec!["m"], "[MQTT5-4.5.0-1] to the connected session");
    let queued = b.broker.inspect().session("off").unwrap().queued.clone();
    assert_eq!(queued.len(), 1, "[MQTT5-4.5.0-1] to the offline session's queue");
    assert!(publishes(&actions, other).is_empty(), "[MQTT5-4.5.0-1] not to a session without a match");
}

#[test]
fn wildcard_first_filters_do_not_match_dollar_topics() {
    let mut b = BrokerBench::new();
    let s = b.client("s");
    b.subscribed(s, 1, vec![filter("#", Q0), filter("+/info", Q0)]);
    let d = b.client("d");
    b.subscribed(d, 1, vec![filter("$SYS/#", Q0)]);
    let p = b.client("pub");
    let actions = b.publish(p, publish("$SYS/info", "m", Q0, 0));
    assert!(publishes(&actions, s).is_empty(), "[MQTT5-4.7.2-1] # and +/info skip $SYS/info");
    assert_eq!(payloads(&actions, d), vec!["m"], "an explicit $SYS/# matches it");
}

#[test]
fn topics_are_matched_as_written_without_normalisation() {
    let mut b = BrokerBench::new();
    let s = b.client("s");
    // U+00E9 precomposed in the filter.
    b.subscribed(s, 1, vec![filter("a/b", Q0), filter("caf\u{e9}", Q0)]);
    let p = b.client("pub");
    for topic in ["a//b", "A/b", "a/b/", "/a/b", "a/ b", "cafe\u{301}"] {
        let actions = b.publish(p, publish(topic, "m", Q0, 0));
        assert!(publishes(&actions, s).is_empty(), "[MQTT5-4.7.3-4] {topic:?} is not a/b or caf\u{e9}");
    }
    assert_eq!(payloads(&b.publish(p, publish("a/b", "m", Q0, 0)), s), vec!["m"]);
}

#[test]
fn the_initial_send_quota_is_the_receive_maximum_and_not_0() {
    let mut b = BrokerBench::new();
    let mut connect = connect5("s", true, 0);
    connect.properties.push(Property::ReceiveMaximum(3));
    let s = b.client_with(connect);
    b.subscribed(s, 1, vec![filter("t", Q1)]);
    let p = b.client("pub");
    let first = publishes(&b.publish(p, publish("t", "m0", Q1, 1)), s);
    assert_eq!(first.len(), 1, "[MQTT5-4.9.0-1] a non-zero quota: the first goes at once");
    let mut sent = first;
    for i in 1..6u16 {
        sent.extend(publishes(&b.publish(p, publish("t", &format!("m{i}"), Q1, i + 1)), s));
    }
    assert_eq!(sent.len(), 3, "[MQTT5-4.9.0-1] at most the Receive Maximum of 3: {sent:?}");
    let more = publishes(&b.send(s, Packet::puback(sent[0].pkid.unwrap())), s);
    assert_eq!(more.len(), 1, "a PUBACK makes room for one");
}

#[test]
fn a_refusing_pubrec_leaves_out_its_reason_string_when_it_would_be_too_large() {
    let refused = |max: Option<u32>| {
        let mut b = BrokerBench::with(Config { message_size_limit: 4, ..Config::default() });
        let mut connect = connect5("p", true, 0);
        if let Some(max) = max {
            connect.properties.push(Property::MaximumPacketSize(max));
        }
        let p = b.client_with(connect);
        let actions = b.publish(p, publish("t", "too long", Q2, 1));
        match to(&actions, p).as_slice() {
            [Packet::Pubrec(ack)] => ack.clone(),
            other => panic!("one PUBREC: {other:?}"),
        }
    };
    let roomy = refused(None);
    assert_eq!(roomy.reason, ReasonCode::PACKET_TOO_LARGE);
    assert!(roomy.properties.reason_string().is_some(), "a reason string when it fits");
    let small = refused(Some(16));
    assert_eq!(small.reason, ReasonCode::PACKET_TOO_LARGE, "still refused with its code");
    assert!(small.properties.reason_string().is_none(), "[MQTT5-3.5.2-2] left out beyond 16 bytes");
    let size = Packet::Pubrec(small).size(Version::V5).expect("encodable");
    assert!(size <= 16, "[MQTT5-3.5.2-2] {size} bytes");
}
