//! MQTT 5.0 conformance of our client, sans-IO: what `ClientSession` sends as a 5.0 client
//! (packet identifiers, acknowledgements and their order, re-sends and their order, the QoS
//! flows as sender and receiver, the server's Keep Alive, Topic Alias and Receive Maximum, a
//! lost session, and no AUTH). Each assertion cites the statement it observes as `[MQTT5-x]`.

mod sans_io_v5;

use std::collections::BTreeSet;

use mqtt_sim::client::{ClientAction, ClientError, ClientEvent, ClientOptions};
use mqtt_sim::protocol::{Auth, Packet, PacketId, Properties, Property, Publish, ReasonCode, SubscribeFilter};
use mqtt_sim::time::Time;
use sans_io_v5::*;

/// 5.0 options: keep alive 0 (no timers), Clean Start 0, Session Expiry Interval `expiry`.
fn options(expiry: u32) -> ClientOptions {
    ClientOptions { keep_alive: 0, ..ClientOptions::v5("c", false, expiry) }
}

fn connected(expiry: u32, properties: Properties) -> ClientBench {
    let mut c = ClientBench::new(options(expiry));
    let after = c.connected(false, properties);
    assert!(after.is_empty(), "{after:?}");
    c.events();
    c
}

fn publish_id(c: &mut ClientBench, topic: &str, qos: mqtt_sim::protocol::QoS) -> PacketId {
    let now = c.now;
    c.session.publish(topic, "m", qos, false, now).expect("publish").expect("QoS 1/2 has an id")
}

fn outgoing(actions: &[ClientAction]) -> Vec<Publish> {
    sent(actions)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn new_requests_and_publications_get_unused_non_zero_ids() {
    let mut c = connected(0, Properties::new());
    let now = c.now;
    let mut ids = BTreeSet::new();
    for i in 0..4 {
        let id = match i % 4 {
            0 => publish_id(&mut c, "t", Q1),
            1 => publish_id(&mut c, "t", Q2),
            2 => c.session.subscribe(vec![SubscribeFilter::new("f", Q1)], now).unwrap(),
            _ => c.session.unsubscribe(vec!["f".into()], now).unwrap(),
        };
        assert_ne!(id.get(), 0, "[MQTT5-2.2.1-3] non-zero");
        assert!(ids.insert(id), "[MQTT5-2.2.1-3] [MQTT5-4.3.2-1] [MQTT5-4.3.3-1] unused: {id:?} in {ids:?}");
    }
    let sent_ids: Vec<u16> = sent(&c.actions())
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => p.pkid.map(|i| i.get()),
            Packet::Subscribe(s) => Some(s.pkid.get()),
            Packet::Unsubscribe(u) => Some(u.pkid.get()),
            _ => None,
        })
        .collect();
    assert_eq!(sent_ids.len(), 4, "[MQTT5-2.2.1-3] each sent with its id: {sent_ids:?}");
}

#[test]
fn our_publications_go_with_qos_and_dup_0_and_wait_for_their_acknowledgements() {
    let mut c = connected(300, Properties::new());
    let q1 = publish_id(&mut c, "a", Q1);
    let q2 = publish_id(&mut c, "b", Q2);
    let first = outgoing(&c.actions());
    assert_eq!((first[0].qos, first[0].dup), (Q1, false), "[MQTT5-4.3.2-2]");
    assert_eq!((first[1].qos, first[1].dup), (Q2, false), "[MQTT5-4.3.3-2]");
    // Unacknowledged: both are re-sent on a new connection, in their order, with DUP 1.
    c.lost();
    let again = outgoing(&c.connected(true, Properties::new()));
    let order: Vec<Option<PacketId>> = again.iter().map(|p| p.pkid).collect();
    assert_eq!(order, [Some(q1), Some(q2)], "[MQTT5-4.3.2-3] [MQTT5-4.3.3-3] [MQTT5-4.6.0-1] in original order");
    assert!(again.iter().all(|p| p.dup), "[MQTT5-3.3.1-1] re-sent with DUP 1");
    // PUBREC moves the QoS 2 one to PUBREL; PUBACK ends the QoS 1 one.
    assert!(c.feed(puback(q1.get())).is_empty());
    assert_eq!(sent(&c.feed(pubrec(q2.get()))), [pubrel(q2.get())], "[MQTT5-2.2.1-5] PUBREL with the PUBREC's id");
    c.lost();
    let resent = sent(&c.connected(true, Properties::new()));
    assert_eq!(resent, [pubrel(q2.get())], "[MQTT5-4.3.3-5] [MQTT5-4.3.3-6] the PUBREL, never the PUBLISH again");
    assert!(c.feed(pubcomp(q2.get())).is_empty());
    c.lost();
    assert!(c.connected(true, Properties::new()).is_empty(), "[MQTT5-4.3.3-5] PUBCOMP ended it");
}

#[test]
fn every_publish_received_is_acknowledged_as_its_qos_requires_in_arrival_order() {
    let mut c = connected(0, Properties::new());
    let incoming = [(Q1, 5), (Q0, 0), (Q2, 3), (Q1, 9), (Q2, 1), (Q1, 2)];
    let mut answers = Vec::new();
    for (qos, id) in incoming {
        answers.extend(sent(&c.feed(Packet::Publish(publish("t", "m", qos, id)))));
    }
    assert_eq!(
        answers,
        [puback(5), pubrec(3), puback(9), pubrec(1), puback(2)],
        "[MQTT5-4.5.0-2] [MQTT5-3.3.4-1] each as its QoS requires, [MQTT5-2.2.1-5] with its id, \
         [MQTT5-4.6.0-2] PUBACKs and [MQTT5-4.6.0-3] PUBRECs in arrival order"
    );
    // A QoS 2 message is handed over once, however often it comes before PUBREL.
    let dup = Publish { dup: true, ..publish("t", "m", Q2, 3) };
    assert_eq!(sent(&c.feed(Packet::Publish(dup))), [pubrec(3)], "[MQTT5-4.3.3-10] PUBREC again");
    let messages = c.events().iter().filter(|e| matches!(e, ClientEvent::Message(_))).count();
    assert_eq!(messages, 6, "[MQTT5-4.3.3-10] [MQTT5-4.3.3-8] no duplicate hand-over");
    assert_eq!(sent(&c.feed(pubrel(3))), [pubcomp(3)], "[MQTT5-4.3.3-11] PUBCOMP with the PUBREL's id");
    // After PUBCOMP, id 3 is a new message.
    assert_eq!(sent(&c.feed(Packet::Publish(publish("t", "new", Q2, 3)))), [pubrec(3)]);
    let new = c.events().into_iter().filter(|e| matches!(e, ClientEvent::Message(_))).count();
    assert_eq!(new, 1, "[MQTT5-4.3.3-12] a new message under id 3");
    assert_eq!(sent(&c.feed(Packet::Publish(publish("t", "again", Q1, 5)))), [puback(5)]);
    assert_eq!(c.events().len(), 1, "[MQTT5-4.3.2-5] id 5 after its PUBACK is a new message");
}

#[test]
fn pubrels_go_in_the_order_the_pubrecs_came() {
    let mut c = connected(0, Properties::new());
    let ids: Vec<PacketId> = (0..4).map(|_| publish_id(&mut c, "t", Q2)).collect();
    c.actions();
    let mut pubrels = Vec::new();
    for i in [2, 0, 3, 1] {
        pubrels.extend(sent(&c.feed(pubrec(ids[i].get()))));
    }
    let expected: Vec<Packet> = [2, 0, 3, 1].iter().map(|&i| pubrel(ids[i].get())).collect();
    assert_eq!(pubrels, expected, "[MQTT5-4.6.0-4] PUBRELs in PUBREC arrival order");
}

#[test]
fn a_qos_0_publication_is_qos_0_with_dup_0() {
    let mut c = connected(0, Properties::new());
    let now = c.now;
    assert_eq!(c.session.publish("t", "m", Q0, false, now), Ok(None));
    let p = outgoing(&c.actions());
    assert_eq!((p[0].qos, p[0].dup, p[0].pkid), (Q0, false, None), "[MQTT5-4.3.1-1]");
}

#[test]
fn the_servers_keep_alive_replaces_ours() {
    let mut c = ClientBench::new(ClientOptions { keep_alive: 60, ..ClientOptions::v5("c", true, 0) });
    c.connected(false, [Property::ServerKeepAlive(5)].into_iter().collect());
    let before = c.advance(std::time::Duration::from_millis(4_999));
    assert!(sent(&before).is_empty(), "{before:?}");
    let at_5 = c.advance(std::time::Duration::from_millis(1));
    assert_eq!(sent(&at_5), [Packet::Pingreq], "[MQTT5-3.2.2-21] idle for the server's 5 s, not our 60");
    assert_eq!(c.session.poll_timeout().map(|t| t <= Time::from_secs(15)), Some(true));
}

#[test]
fn without_a_servers_topic_alias_maximum_no_alias_is_sent() {
    for connack in [Properties::new(), [Property::TopicAliasMaximum(0)].into_iter().collect()] {
        let mut c = connected(300, connack.clone());
        let now = c.now;
        let with_alias: Properties = [Property::TopicAlias(1)].into_iter().collect();
        let refused = c.session.publish_with("t", "m", Q1, false, with_alias, now);
        assert!(matches!(refused, Err(ClientError::TopicAliasInvalid { .. })), "[MQTT5-3.2.2-18] {refused:?}");
        assert!(c.actions().is_empty(), "[MQTT5-3.2.2-18] nothing sent");
    }
    // A publication stored with an alias allowed on one connection goes without it on a
    // connection whose server allows none.
    let mut c = connected(300, [Property::TopicAliasMaximum(4)].into_iter().collect());
    let now = c.now;
    let with_alias: Properties = [Property::TopicAlias(1)].into_iter().collect();
    c.session.publish_with("t", "m", Q1, false, with_alias, now).unwrap();
    assert_eq!(outgoing(&c.actions())[0].properties.topic_alias(), Some(&1));
    c.lost();
    let again = outgoing(&c.connected(true, Properties::new()));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].properties.topic_alias(), None, "[MQTT5-3.2.2-18] re-sent without the alias");
    assert_eq!(again[0].topic, "t", "with its topic name");
}

#[test]
fn receive_maximum_holds_back_publishes_and_nothing_else() {
    let mut c = connected(0, [Property::ReceiveMaximum(1)].into_iter().collect());
    let now = c.now;
    publish_id(&mut c, "t", Q1);
    assert_eq!(outgoing(&c.actions()).len(), 1);
    publish_id(&mut c, "t", Q1);
    assert!(c.actions().is_empty(), "the second PUBLISH waits for room");
    // Every other packet goes at once.
    c.session.subscribe(vec![SubscribeFilter::new("f", Q1)], now).unwrap();
    c.session.unsubscribe(vec!["f".into()], now).unwrap();
    let others = sent(&c.actions());
    assert!(
        matches!(others.as_slice(), [Packet::Subscribe(_), Packet::Unsubscribe(_)]),
        "[MQTT5-3.3.4-8] SUBSCRIBE and UNSUBSCRIBE not delayed: {others:?}"
    );
    let answers = sent(&c.feed(Packet::Publish(publish("in", "m", Q1, 7))));
    assert_eq!(answers, [puback(7)], "[MQTT5-3.3.4-8] a PUBACK not delayed");
    let answers = sent(&c.feed(Packet::Publish(publish("in", "m", Q2, 8))));
    assert_eq!(answers, [pubrec(8)], "[MQTT5-3.3.4-8] a PUBREC not delayed");
    assert_eq!(sent(&c.feed(pubrel(8))), [pubcomp(8)], "[MQTT5-3.3.4-8] a PUBCOMP not delayed");
    let now = c.now;
    c.session.publish("t", "q0", Q0, false, now).unwrap();
    assert_eq!(outgoing(&c.actions()).len(), 1, "a QoS 0 PUBLISH needs no quota");
}

#[test]
fn a_session_the_server_lost_is_discarded_on_our_side_too() {
    let mut c = connected(300, Properties::new());
    let id = publish_id(&mut c, "t", Q1);
    c.actions();
    c.feed(Packet::Publish(publish("in", "m", Q2, 4)));
    c.lost();
    c.events();
    let after = c.connected(false, Properties::new());
    assert!(outgoing(&after).is_empty(), "[MQTT5-3.2.2-5] our unacknowledged publication is discarded, not re-sent");
    assert!(c.events().contains(&ClientEvent::SessionLost { unacknowledged: 1 }), "the application is told");
    assert_eq!(c.session.summary().unacknowledged, 0, "[MQTT5-3.2.2-5] {id:?} gone");
    assert_eq!(c.session.summary().awaiting_pubrel, 0, "[MQTT5-3.2.2-5] the incoming QoS 2 state too");
}

#[test]
fn without_an_authentication_method_the_client_sends_no_auth() {
    let mut c = ClientBench::new(options(0));
    let connect = sent(&c.open());
    match connect.as_slice() {
        [Packet::Connect(connect)] => {
            assert!(connect.properties.authentication_method().is_none(), "no method offered")
        }
        other => panic!("{other:?}"),
    }
    c.feed(Packet::Connack(mqtt_sim::protocol::Connack::accepted(false)));
    let answer = sent(
        &c.feed(Packet::Auth(Auth { reason: ReasonCode::CONTINUE_AUTHENTICATION, properties: Properties::new() })),
    );
    assert!(!answer.iter().any(|p| matches!(p, Packet::Auth(_))), "[MQTT5-4.12.0-7] no AUTH: {answer:?}");
    assert!(
        matches!(answer.as_slice(), [Packet::Disconnect(d)] if d.reason == ReasonCode::PROTOCOL_ERROR),
        "[MQTT5-4.12.0-7] a Protocol Error instead: {answer:?}"
    );
}

#[test]
fn our_disconnect_leaves_out_a_reason_string_and_user_properties_the_server_cannot_take() {
    // With the Reason String left out this DISCONNECT is 24 bytes, and 9 without the User Property.
    let disconnect = |max: u32| {
        let mut c = connected(60, [Property::MaximumPacketSize(max)].into_iter().collect());
        let now = c.now;
        let properties: Properties = [
            Property::SessionExpiryInterval(0),
            Property::ReasonString("the application is shutting down for the night".into()),
            user_property("shift", "night"),
        ]
        .into_iter()
        .collect();
        assert_eq!(c.session.disconnect_with(ReasonCode::SUCCESS, properties, now), Ok(()), "still disconnects");
        let sent = sent(&c.actions());
        let [Packet::Disconnect(d)] = sent.as_slice() else { panic!("one DISCONNECT: {sent:?}") };
        assert_eq!(d.properties.session_expiry_interval(), Some(&0), "the rest is kept");
        let size = Packet::Disconnect(d.clone()).size(mqtt_sim::protocol::Version::V5).expect("encodable");
        assert!(size <= max as usize, "[MQTT5-3.14.2-3] [MQTT5-3.14.2-4] {size} bytes within {max}");
        d.clone()
    };
    let d = disconnect(24);
    assert!(d.properties.reason_string().is_none(), "[MQTT5-3.14.2-3] left out beyond 24 bytes: {d:?}");
    assert_eq!(d.properties.user_properties().count(), 1, "the User Property fits: kept");
    let d = disconnect(23);
    assert!(d.properties.reason_string().is_none(), "[MQTT5-3.14.2-3] {d:?}");
    assert_eq!(d.properties.user_properties().count(), 0, "[MQTT5-3.14.2-4] left out beyond 23 bytes: {d:?}");
}

#[test]
fn our_disconnect_keeps_a_reason_string_and_user_properties_that_fit() {
    let mut c = connected(60, [Property::MaximumPacketSize(200)].into_iter().collect());
    let now = c.now;
    let properties: Properties = [Property::ReasonString("bye".into()), user_property("k", "v")].into_iter().collect();
    c.session.disconnect_with(ReasonCode::SUCCESS, properties.clone(), now).unwrap();
    let sent = sent(&c.actions());
    assert!(matches!(sent.as_slice(), [Packet::Disconnect(d)] if d.properties == properties), "{sent:?}");
}
