//! MQTT 5.0 clients: CONNACK and its properties, Clean Start and the Session Expiry Interval,
//! DISCONNECT both ways, reason codes on acknowledgements, what this broker refuses, properties
//! forwarded, and 3.1.1 and 5.0 clients sharing sessions.

use super::*;
use crate::protocol::{Ack, Disconnect, Properties, Property, ReasonCode, Unsuback};

/// A 5.0 CONNECT with a Session Expiry Interval (`None`: absent, which means 0).
pub(super) fn connect5(id: &str, clean_start: bool, expiry: Option<u32>) -> Connect {
    let mut c = Connect::v5(id, clean_start, 0);
    if let Some(seconds) = expiry {
        c.properties.push(Property::SessionExpiryInterval(seconds));
    }
    c
}

/// The CONNACK a 5.0 client gets from the default config: its Receive Maximum (the default
/// `max_inflight_messages`, 20), a Server Keep Alive if given, and the default `max_topic_alias`
/// (10). Everything else is offered, which absent properties say [MQTT5-3.2.2-18].
pub(super) fn connack5(session_present: bool, server_keep_alive: Option<u16>) -> Packet {
    let mut properties = Properties::new();
    properties.push(Property::ReceiveMaximum(20));
    if let Some(seconds) = server_keep_alive {
        properties.push(Property::ServerKeepAlive(seconds));
    }
    properties.push(Property::TopicAliasMaximum(10));
    Packet::Connack(Connack { session_present, code: ReasonCode::SUCCESS.into(), properties })
}

fn disconnect(code: ReasonCode) -> Packet {
    Packet::Disconnect(Disconnect::with_reason(code))
}

/// What a 5.0 connection the server closes for `reason` gets: DISCONNECT with the reason code
/// and a reason string saying why [MQTT5-3.14.0-1] [MQTT5-3.1.2-29], then the close.
pub(super) fn told(c: ConnId, reason: CloseReason) -> Vec<Action> {
    let mut d = Disconnect::with_reason(reason.disconnect_code().expect("a close the server decides"));
    d.properties.push(Property::ReasonString(reason.to_string()));
    vec![tx(c, Packet::Disconnect(d)), closed(c, reason)]
}

#[test]
fn a_5_0_connect_gets_a_5_0_connack_with_the_servers_limits() {
    let mut h = Harness::new();
    let c = h.open();
    let actions = h.send(c, Packet::Connect(connect5("five", true, None)));
    assert_eq!(actions, vec![tx(c, connack5(false, None))], "[MQTT5-3.2.0-1] [MQTT5-3.2.2-2] [MQTT5-3.1.4-5]");
    let Some(Action::Send { packet: Packet::Connack(ack), .. }) = actions.first() else { unreachable!() };
    assert_eq!(ack.code.raw(), 0x00);
}

#[test]
fn an_empty_client_id_is_assigned_whatever_clean_start_says() {
    let mut h = Harness::new();
    let c = h.open();
    let actions = h.send(c, Packet::Connect(connect5("", false, Some(60))));
    let Some(Action::Send { packet: Packet::Connack(ack), .. }) = actions.first() else { panic!("{actions:?}") };
    let id = ack.properties.assigned_client_identifier().expect("[MQTT5-3.2.2-16] the id is sent back");
    assert!(id.starts_with("auto-"), "{id}");
    assert!(h.view().session(id).is_some(), "[MQTT5-3.1.3-6] [MQTT5-3.1.3-7] the session is under that id");
}

#[test]
fn without_a_session_expiry_the_session_ends_with_the_connection() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("a", false, None));
    h.subscribe(c, "t", Q1);
    h.lost(c);
    assert!(h.view().session("a").is_none(), "[MQTT5-3.1.2-23] expiry 0: nothing kept");
    let c = h.open();
    assert_eq!(h.send(c, Packet::Connect(connect5("a", false, None))), vec![tx(c, connack5(false, None))]);
}

#[test]
fn a_session_with_an_expiry_is_kept_that_long_and_no_longer() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("a", true, Some(10)));
    h.subscribe(c, "t", Q1);
    h.lost(c);
    let p = h.client("p", true);
    h.publish(p, "t", "while away", Q1);

    h.advance(secs(9));
    let c = h.open();
    let actions = h.send(c, Packet::Connect(connect5("a", false, Some(10))));
    assert_eq!(actions[0], tx(c, connack5(true, None)), "[MQTT5-3.2.2-3] resumed within 10 s [MQTT5-3.1.2-5]");
    assert_eq!(actions[1], tx(c, publish("t", "while away", Q1, 1)), "the queued message [MQTT5-4.1.0-1]");
    h.send(c, puback(1));

    h.lost(c);
    h.advance(ms(9_999));
    assert!(h.view().session("a").is_some(), "still inside its 10 s");
    h.advance(ms(1));
    assert!(h.view().session("a").is_none(), "[MQTT5-4.1.0-2] discarded 10 s after the close");
    assert!(h.drain_events().contains(&Event::SessionDiscarded { client_id: "a".into() }));
}

#[test]
fn expiry_ffffffff_never_ends_and_clean_start_still_discards() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("a", true, Some(u32::MAX)));
    h.subscribe(c, "t", Q1);
    h.lost(c);
    h.advance(secs(365 * 24 * 3600));
    assert!(h.view().session("a").is_some(), "0xFFFFFFFF: the session does not expire");
    assert_eq!(h.broker.poll_timeout(), None, "and no timer is armed for it");
    let c = h.open();
    let actions = h.send(c, Packet::Connect(connect5("a", true, Some(u32::MAX))));
    assert_eq!(actions, vec![tx(c, connack5(false, None))], "[MQTT5-3.1.2-4] Clean Start 1 discards it");
    assert!(h.session("a").subscriptions.is_empty());
}

#[test]
fn disconnect_may_shorten_the_expiry_but_not_set_one_after_0() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("a", true, Some(60)));
    let d = Disconnect {
        reason: ReasonCode::SUCCESS,
        properties: [Property::SessionExpiryInterval(0)].into_iter().collect(),
    };
    assert_eq!(h.send(c, Packet::Disconnect(d)), vec![closed(c, CloseReason::ClientDisconnected)]);
    assert!(h.view().session("a").is_none(), "DISCONNECT set 0: discarded at once");

    let c = h.client_with(with_will(connect5("b", true, None), "will", "gone", Q0, false));
    let w = h.client("w", true);
    h.subscribe(w, "will", Q0);
    let d = Disconnect {
        reason: ReasonCode::SUCCESS,
        properties: [Property::SessionExpiryInterval(30)].into_iter().collect(),
    };
    let actions = h.send(c, Packet::Disconnect(d));
    let why = "DISCONNECT sets a Session Expiry Interval after CONNECT set 0 (5.0 section 3.14.2.2.2)";
    assert_eq!(
        actions,
        [
            told(c, CloseReason::V5Violation { why, code: ReasonCode::PROTOCOL_ERROR }),
            vec![tx(w, publish("will", "gone", Q0, 0))],
        ]
        .concat(),
        "not a valid DISCONNECT: 0x82, and the will is published"
    );
}

#[test]
fn disconnect_with_will_message_publishes_the_will_and_a_normal_one_discards_it() {
    let mut h = Harness::new();
    let w = h.client("w", true);
    h.subscribe(w, "will/#", Q0);
    let a = h.client_with(with_will(connect5("a", true, None), "will/a", "a", Q0, false));
    let actions = h.send(a, disconnect(ReasonCode::DISCONNECT_WITH_WILL));
    assert_eq!(actions, vec![closed(a, CloseReason::ClientDisconnected), tx(w, publish("will/a", "a", Q0, 0))]);
    let b = h.client_with(with_will(connect5("b", true, None), "will/b", "b", Q0, false));
    assert_eq!(
        h.send(b, disconnect(ReasonCode::SUCCESS)),
        vec![closed(b, CloseReason::ClientDisconnected)],
        "[MQTT5-3.14.4-3]"
    );
}

#[test]
fn the_taken_over_connection_is_told_0x8e() {
    let mut h = Harness::new();
    let old = h.client_with(connect5("a", false, Some(60)));
    let new = h.open();
    let actions = h.send(new, Packet::Connect(connect5("a", false, Some(60))));
    assert_eq!(
        actions,
        [told(old, CloseReason::TakenOver), vec![tx(new, connack5(true, None))]].concat(),
        "[MQTT5-3.1.4-3]"
    );
}

#[test]
fn a_3_1_1_connection_is_never_sent_disconnect() {
    let mut h = Harness::new();
    let old = h.client("a", false);
    let new = h.open();
    let actions = h.send(new, Packet::Connect(Connect::new("a", false, 0)));
    assert_eq!(actions, vec![closed(old, CloseReason::TakenOver), tx(new, connack(true))]);
}

#[test]
fn a_malformed_packet_is_answered_with_its_reason_code() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("a", true, None));
    let err = DecodeError::InvalidQos;
    assert_eq!(h.decode_error(c, err.clone()), told(c, CloseReason::Malformed(err)), "[MQTT5-4.13.1-1]");
}

#[test]
fn max_keepalive_is_sent_as_server_keep_alive_instead_of_refusing() {
    let mut h = Harness::with_config(Config { max_keepalive: 30, ..Config::default() });
    let c = h.open();
    let actions = h.send(c, Packet::Connect(connect5("a", true, None)));
    assert_eq!(actions, vec![tx(c, connack5(false, Some(30)))], "[MQTT5-3.1.2-21]");
    h.advance(ms(44_999));
    assert!(h.drain_actions().is_empty());
    h.advance(ms(1));
    assert_eq!(
        h.drain_actions(),
        told(c, CloseReason::KeepAliveTimeout),
        "[MQTT5-3.1.2-22] 1.5 times the server's keep alive"
    );
}

#[test]
fn acknowledgements_say_when_nobody_subscribes() {
    let mut h = Harness::new();
    let p = h.client_with(connect5("p", true, None));
    let nobody = |pkid| Ack::with_reason(pid(pkid), ReasonCode::NO_MATCHING_SUBSCRIBERS);
    assert_eq!(h.send(p, publish("t", "x", Q1, 1)), vec![tx(p, Packet::Puback(nobody(1)))], "[MQTT5-3.4.2-1]");
    assert_eq!(h.send(p, publish("t", "x", Q2, 2)), vec![tx(p, Packet::Pubrec(nobody(2)))], "[MQTT5-3.5.2-1]");
    assert_eq!(h.send(p, pubrel(2)), vec![tx(p, pubcomp(2))]);
    let s = h.client("s", true);
    h.subscribe(s, "t", Q0);
    assert_eq!(h.send(p, publish("t", "y", Q1, 3)), vec![tx(s, publish("t", "y", Q0, 0)), tx(p, puback(3))]);
}

#[test]
fn unsuback_has_a_code_per_filter() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("a", true, None));
    h.subscribe(c, "a", Q0);
    let unsuback =
        Unsuback { reasons: vec![ReasonCode::SUCCESS, ReasonCode::NO_SUBSCRIPTION_EXISTED], ..Unsuback::new(pid(9)) };
    assert_eq!(h.send(c, unsubscribe(9, &["a", "b"])), vec![tx(c, Packet::Unsuback(unsuback))], "[MQTT5-3.11.3-1]");
}

#[test]
fn enhanced_authentication_is_not_offered() {
    let mut h = Harness::new();
    let c = h.open();
    let mut auth = connect5("c", true, None);
    auth.properties.push(Property::AuthenticationMethod("SCRAM-SHA-1".into()));
    let code = ReasonCode::BAD_AUTHENTICATION_METHOD;
    let mut refused = Connack::refused(code);
    refused.properties.push(Property::ReasonString("Bad authentication method".into()));
    assert_eq!(
        h.send(c, Packet::Connect(auth)),
        vec![tx(c, Packet::Connack(refused)), closed(c, CloseReason::Refused(code.into()))],
        "[MQTT5-4.12.0-1] and no DISCONNECT before a successful CONNACK [MQTT5-3.14.0-1]"
    );
}

#[test]
fn a_client_publish_with_a_subscription_identifier_is_a_protocol_error() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("a", true, None));
    let mut p = Publish::new("t", Q0, "x", false, None);
    p.properties.push(Property::SubscriptionIdentifier(3));
    let why = "a client PUBLISH with a Subscription Identifier [MQTT5-3.3.4-6]";
    assert_eq!(
        h.send(c, Packet::Publish(p)),
        told(c, CloseReason::V5Violation { why, code: ReasonCode::PROTOCOL_ERROR }),
        "[MQTT5-3.3.4-6]"
    );
}

#[test]
fn properties_reach_5_0_subscribers_unchanged_and_3_1_1_subscribers_not_at_all() {
    let mut h = Harness::new();
    let five = h.client_with(connect5("five", true, None));
    h.subscribe(five, "t", Q0);
    let three = h.client("three", true);
    h.subscribe(three, "t", Q0);
    let p = h.client_with(connect5("p", true, None));
    let props: Properties = [
        Property::UserProperty(("z".into(), "1".into())),
        Property::ContentType("text/plain".into()),
        Property::UserProperty(("a".into(), "2".into())),
        Property::CorrelationData(Bytes::from_static(b"c")),
        Property::ResponseTopic("reply".into()),
        Property::PayloadFormatIndicator(1),
    ]
    .into_iter()
    .collect();
    let mut sent = Publish::new("t", Q0, "x", false, None);
    sent.properties = props.clone();
    let actions = h.send(p, Packet::Publish(sent.clone()));
    assert_eq!(
        actions,
        vec![tx(five, Packet::Publish(sent)), tx(three, publish("t", "x", Q0, 0))],
        "[MQTT5-3.3.2-4] [MQTT5-3.3.2-15] [MQTT5-3.3.2-16] [MQTT5-3.3.2-17] [MQTT5-3.3.2-18] [MQTT5-3.3.2-20]"
    );
}

#[test]
fn a_will_keeps_its_properties_but_not_its_delay() {
    let mut h = Harness::new();
    let s = h.client_with(connect5("s", true, None));
    h.subscribe(s, "will", Q0);
    let mut connect = with_will(connect5("a", true, None), "will", "w", Q0, false);
    let will = connect.will.as_mut().unwrap();
    will.properties.push(Property::UserProperty(("k".into(), "v".into())));
    let a = h.client_with(connect);
    let mut expected = Publish::new("will", Q0, "w", false, None);
    expected.properties.push(Property::UserProperty(("k".into(), "v".into())));
    let actions = h.lost(a);
    assert_eq!(actions, vec![tx(s, Packet::Publish(expected))], "[MQTT5-3.1.3-10]");
}

#[test]
fn a_3_1_1_session_is_resumed_by_a_5_0_client_and_back() {
    let mut h = Harness::new();
    let c = h.client("a", false);
    h.subscribe(c, "t", Q1);
    h.lost(c);
    let p = h.client("p", true);
    h.publish(p, "t", "one", Q1);
    let c = h.open();
    let actions = h.send(c, Packet::Connect(connect5("a", false, Some(60))));
    assert_eq!(actions, vec![tx(c, connack5(true, None)), tx(c, publish("t", "one", Q1, 1))]);
    h.send(c, puback(1));
    h.lost(c);
    h.publish(p, "t", "two", Q1);
    let c = h.open();
    let actions = h.send(c, Packet::Connect(Connect::new("a", false, 0)));
    assert_eq!(actions, vec![tx(c, connack(true)), tx(c, publish("t", "two", Q1, 2))]);
}
