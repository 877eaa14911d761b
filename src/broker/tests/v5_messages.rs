//! MQTT 5.0 messages on their way through the broker: Message Expiry Interval, the retained
//! store with properties, the client's Receive Maximum and Maximum Packet Size, topic aliases,
//! Will Delay Interval, `message_size_limit`, `persistent_client_expiration` and Request
//! Problem Information.

use super::v5::{connect5, told};
use super::*;
use crate::broker::DropReason;
use crate::protocol::{Ack, Properties, Property, ReasonCode};

/// A 5.0 PUBLISH with these properties.
fn publish5(topic: &str, payload: &str, qos: QoS, pkid: u16, properties: &[Property]) -> Packet {
    let Packet::Publish(mut p) = publish(topic, payload, qos, pkid) else { unreachable!() };
    p.properties = properties.iter().cloned().collect();
    Packet::Publish(p)
}

/// The PUBLISH packets in `actions`, as (payload, properties).
fn published(actions: &[Action]) -> Vec<(String, Properties)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { packet: Packet::Publish(p), .. } => {
                Some((String::from_utf8_lossy(&p.payload).into_owned(), p.properties.clone()))
            }
            _ => None,
        })
        .collect()
}

fn expiry(seconds: u32) -> Property {
    Property::MessageExpiryInterval(seconds)
}

/// A 5.0 subscriber `s` with a session that outlives its connection, subscribed to `t` at QoS 1,
/// then offline.
fn offline_subscriber(h: &mut Harness) {
    let s = h.client_with(connect5("s", false, Some(600)));
    h.subscribe(s, "t", Q1);
    h.lost(s);
}

#[test]
fn a_queued_message_is_forwarded_with_the_expiry_it_has_left_rounded_up() {
    let mut h = Harness::new();
    offline_subscriber(&mut h);
    let p = h.client_with(connect5("p", true, None));
    h.send(p, publish5("t", "m", Q1, 1, &[expiry(10), Property::UserProperty(("k".into(), "v".into()))]));
    h.advance(ms(3_500));
    let s = h.open();
    let actions = h.send(s, Packet::Connect(connect5("s", false, Some(600))));
    assert_eq!(
        published(&actions),
        vec![("m".into(), [expiry(7), Property::UserProperty(("k".into(), "v".into()))].into_iter().collect())],
        "[MQTT5-3.3.2-6] 10 s less 3.5 s waited, rounded up; the user property kept [MQTT5-3.3.2-17]"
    );
}

#[test]
fn a_message_that_expires_in_the_queue_is_dropped_and_counted() {
    let mut h = Harness::new();
    offline_subscriber(&mut h);
    let p = h.client_with(connect5("p", true, None));
    h.send(p, publish5("t", "short", Q1, 1, &[expiry(2)]));
    h.send(p, publish5("t", "long", Q1, 2, &[expiry(60)]));
    h.send(p, publish5("t", "none", Q1, 3, &[]));
    h.advance(secs(2));
    let s = h.open();
    let actions = h.send(s, Packet::Connect(connect5("s", false, Some(600))));
    let payloads: Vec<String> = published(&actions).into_iter().map(|(p, _)| p).collect();
    assert_eq!(payloads, vec!["long", "none"], "[MQTT5-3.3.2-5]");
    assert_eq!(h.session("s").drops.get(&DropReason::Expired), Some(&1));
}

#[test]
fn an_inflight_delivery_is_resent_after_its_expiry_with_0_left() {
    // Once sent, a delivery is no longer subject to expiry [MQTT5-4.3.3-7] [MQTT5-4.3.3-13].
    let mut h = Harness::new();
    let s = h.client_with(connect5("s", false, Some(600)));
    h.subscribe(s, "t", Q2);
    let p = h.client_with(connect5("p", true, None));
    let sent = h.send(p, publish5("t", "m", Q1, 1, &[expiry(5)]));
    assert_eq!(published(&sent)[0].1, [expiry(5)].into_iter().collect());
    h.lost(s);
    h.advance(secs(9));
    let s = h.open();
    let actions = h.send(s, Packet::Connect(connect5("s", false, Some(600))));
    assert_eq!(
        published(&actions),
        vec![("m".into(), [expiry(0)].into_iter().collect())],
        "[MQTT5-4.3.3-7] [MQTT5-4.3.3-13] re-sent though expired"
    );
}

#[test]
fn retained_messages_keep_their_properties_and_expire() {
    let mut h = Harness::new();
    let p = h.client_with(connect5("p", true, None));
    let ct = Property::ContentType("text/plain".into());
    h.send(p, Packet::Publish(Publish { retain: true, ..publish5_inner("r", "x", &[expiry(5), ct.clone()]) }));
    h.advance(secs(2));
    let s = h.client_with(connect5("s", true, None));
    let actions = h.subscribe(s, "r", Q0);
    assert_eq!(published(&actions), vec![("x".into(), [expiry(3), ct].into_iter().collect())], "[MQTT5-3.3.2-20]");
    h.advance(secs(3));
    let late = h.client_with(connect5("late", true, None));
    assert!(h.subscribe(late, "r", Q0).is_empty(), "an expired retained message is not sent (3.3.2.3.3)");
}

fn publish5_inner(topic: &str, payload: &str, properties: &[Property]) -> Publish {
    let Packet::Publish(p) = publish5(topic, payload, Q0, 0, properties) else { unreachable!() };
    p
}

#[test]
fn the_clients_receive_maximum_bounds_what_it_has_unacknowledged() {
    let mut h = Harness::new();
    let mut connect = connect5("s", true, None);
    connect.properties.push(Property::ReceiveMaximum(2));
    let s = h.client_with(connect);
    h.subscribe(s, "t", Q1);
    let p = h.client("p", true);
    let mut sent = Vec::new();
    for i in 1..=4 {
        sent.extend(h.publish(p, "t", &format!("m{i}"), Q1));
    }
    assert_eq!(payloads(&sent), vec!["m1", "m2"], "[MQTT5-3.3.4-9] two unacknowledged at most");
    assert_eq!(h.session("s").queued.len(), 2);
    assert_eq!(payloads(&h.send(s, puback(1))), vec!["m3"]);
}

#[test]
fn a_message_too_large_for_the_client_is_dropped_for_it_as_if_delivered() {
    let mut h = Harness::new();
    let mut connect = connect5("s", false, Some(60));
    connect.properties.push(Property::MaximumPacketSize(30));
    let s = h.client_with(connect);
    h.subscribe(s, "t", Q1);
    let p = h.client("p", true);
    let big = "x".repeat(40);
    let sent = h.publish(p, "t", &big, Q1);
    assert!(sent.is_empty(), "[MQTT5-3.1.2-24] not sent: {sent:?}");
    assert_eq!(h.session("s").drops.get(&DropReason::TooLargeForClient), Some(&1), "[MQTT5-3.1.2-25]");
    // It took no packet id and no window slot: the next message is the first delivery.
    assert_eq!(h.publish(p, "t", "small", Q1), vec![tx(s, publish("t", "small", Q1, 1))]);
    // Also when it waited in the queue for the client to come back.
    h.lost(s);
    h.publish(p, "t", &big, Q1);
    let s = h.open();
    let mut connect = connect5("s", false, Some(60));
    connect.properties.push(Property::MaximumPacketSize(30));
    let actions = h.send(s, Packet::Connect(connect));
    assert_eq!(payloads(&actions), vec!["small"], "only the unacknowledged one is re-sent");
    assert_eq!(h.session("s").drops.get(&DropReason::TooLargeForClient), Some(&2));
}

#[test]
fn topic_aliases_map_for_the_connection_only() {
    let mut h = Harness::new();
    let s = h.client("s", true);
    h.subscribe(s, "t", Q0);
    let p = h.client_with(connect5("p", false, Some(60)));
    let alias = |n| Property::TopicAlias(n);
    assert_eq!(payloads(&h.send(p, publish5("t", "set", Q0, 0, &[alias(1)]))), vec!["set"]);
    let used = h.send(p, Packet::Publish(publish5_inner("", "used", &[alias(1)])));
    assert_eq!(used, vec![tx(s, publish("t", "used", Q0, 0))], "[MQTT5-3.3.2-12] the alias stands for t");
    let why = "Topic Alias above the server's Topic Alias Maximum [MQTT5-3.3.2-12]";
    assert_eq!(
        h.send(p, publish5("t", "x", Q0, 0, &[alias(11)])),
        told(p, CloseReason::V5Violation { why, code: ReasonCode::TOPIC_ALIAS_INVALID }),
        "above the default max_topic_alias 10"
    );
    let p = h.client_with(connect5("p", false, Some(60)));
    let why = "a Topic Alias with no topic name that was never mapped (section 3.3.2.3.4)";
    assert_eq!(
        h.send(p, Packet::Publish(publish5_inner("", "x", &[alias(1)]))),
        told(p, CloseReason::V5Violation { why, code: ReasonCode::PROTOCOL_ERROR }),
        "[MQTT5-3.3.2-7] the mapping did not survive the connection"
    );
}

#[test]
fn a_will_with_a_delay_waits_and_a_reconnect_in_time_cancels_it() {
    let mut h = Harness::new();
    let w = h.client("w", true);
    h.subscribe(w, "will", Q0);
    let delayed = |id: &str, expiry: u32| {
        let mut c = with_will(connect5(id, false, Some(expiry)), "will", id, Q0, false);
        c.will.as_mut().unwrap().properties.push(Property::WillDelayInterval(5));
        c
    };
    let a = h.client_with(delayed("a", 60));
    assert!(h.lost(a).is_empty(), "not yet [MQTT5-3.1.2-8]");
    h.advance(ms(4_999));
    assert!(h.drain_actions().is_empty());
    h.advance(ms(1));
    assert_eq!(h.drain_actions(), vec![tx(w, publish("will", "a", Q0, 0))], "[MQTT5-3.1.2-8] after the delay");

    let b = h.client_with(delayed("b", 60));
    h.lost(b);
    h.advance(secs(4));
    h.client_with(connect5("b", false, Some(60)));
    h.advance(secs(10));
    assert!(h.drain_actions().is_empty(), "[MQTT5-3.1.3-9] back in time: never sent");

    // A session that ends before the delay publishes the will then.
    let c = h.client_with(delayed("c", 2));
    h.lost(c);
    h.advance(secs(2));
    assert_eq!(h.drain_actions(), vec![tx(w, publish("will", "c", Q0, 0))], "[MQTT5-3.1.2-8] the session ended");

    // A clean start ends the session too.
    let d = h.client_with(delayed("d", 60));
    h.lost(d);
    let d = h.open();
    let actions = h.send(d, Packet::Connect(connect5("d", true, None)));
    assert_eq!(actions[0], tx(w, publish("will", "d", Q0, 0)), "as mosquitto, before the CONNACK: {actions:?}");
}

#[test]
fn message_size_limit_refuses_the_publication_with_0x95() {
    let mut h = Harness::with_config(Config { message_size_limit: 4, ..Config::default() });
    let s = h.client("s", true);
    h.subscribe(s, "t", Q0);
    let p = h.client_with(connect5("p", true, None));
    let mut ack = Ack::with_reason(pid(1), ReasonCode::PACKET_TOO_LARGE);
    ack.properties.push(Property::ReasonString(ReasonCode::PACKET_TOO_LARGE.name().into()));
    assert_eq!(h.send(p, publish("t", "12345", Q1, 1)), vec![tx(p, Packet::Puback(ack))], "[MQTT5-3.4.2-1]");
    assert_eq!(h.send(p, publish("t", "1234", Q0, 0)), vec![tx(s, publish("t", "1234", Q0, 0))]);

    // Without problem information, no reason string [MQTT5-3.1.2-29].
    let mut quiet = connect5("q", true, None);
    quiet.properties.push(Property::RequestProblemInformation(0));
    let q = h.client_with(quiet);
    let ack = Ack::with_reason(pid(2), ReasonCode::PACKET_TOO_LARGE);
    assert_eq!(h.send(q, publish("t", "12345", Q2, 2)), vec![tx(q, Packet::Pubrec(ack))], "[MQTT5-3.1.2-29]");
    assert!(h.session("q").inflight_in.is_empty(), "[MQTT5-4.3.3-9] a failed PUBREC holds nothing");

    // A 3.1.1 publisher cannot be told: acknowledged as usual, as mosquitto does, and dropped.
    let old = h.client("old", true);
    assert_eq!(h.send(old, publish("t", "12345", Q1, 3)), vec![tx(old, puback(3))]);
}

#[test]
fn persistent_client_expiration_ends_sessions_that_would_never_expire() {
    let mut h = Harness::with_config(Config {
        persistent_client_expiration: Some(Duration::from_secs(3600)),
        ..Config::default()
    });
    let a = h.client("a", false);
    h.lost(a);
    let b = h.client_with(connect5("b", false, Some(u32::MAX)));
    h.lost(b);
    h.advance(ms(3_599_999));
    assert!(h.view().session("a").is_some() && h.view().session("b").is_some());
    h.advance(ms(1));
    assert!(h.view().sessions.is_empty(), "{:?}", h.view().sessions);
}

#[test]
fn a_qos_2_publish_beyond_the_servers_receive_maximum_gets_disconnect_0x93() {
    let mut h = Harness::with_config(Config { max_inflight_messages: 1, ..Config::default() });
    let p = h.client_with(connect5("p", true, None));
    assert_eq!(h.send(p, publish("t", "1", Q2, 1)), vec![tx(p, Packet::Pubrec(nobody(1)))]);
    let reason = CloseReason::IncomingWindowFull { pkid: pid(2), topic: "t".into(), limit: 1 };
    assert_eq!(h.send(p, publish("t", "2", Q2, 2)), told(p, reason), "[MQTT5-3.3.4-9] announced as Receive Maximum 1");
}

#[test]
fn request_response_information_gets_no_response_information() {
    // This broker never sends Response Information, which [MQTT5-3.1.2-28] allows whatever the
    // client asks; asking for it changes nothing in the CONNACK.
    let mut h = Harness::new();
    for asked in [0u8, 1] {
        let c = h.open();
        let mut connect = connect5(&format!("c{asked}"), true, None);
        connect.properties.push(Property::RequestResponseInformation(asked));
        let actions = h.send(c, Packet::Connect(connect));
        let Some(Action::Send { packet: Packet::Connack(ack), .. }) = actions.first() else { panic!("{actions:?}") };
        assert!(ack.properties.response_information().is_none(), "[MQTT5-3.1.2-28]");
        assert_eq!(actions[0], tx(c, super::v5::connack5(false, None)));
    }
}

/// A PUBACK or PUBREC saying nobody subscribes (0x10).
fn nobody(pkid: u16) -> Ack {
    Ack::with_reason(pid(pkid), ReasonCode::NO_MATCHING_SUBSCRIBERS)
}
