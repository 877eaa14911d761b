//! Each 5.0 invariant fails on a hand-built trace that breaks it, and holds on one that does not.
//! The traces are the packets at the broker's end (as its tap records them), with times.

use crate::invariants::{check, Violation};
use crate::protocol::{PacketSummary as P, PublishSummary, V5Props};
use crate::trace::{BrokerEvent, TraceEvent as E};

pub(super) fn names(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(|v| v.invariant).collect()
}

/// `packet` written by `from` and read by `to` at `ms`.
pub(super) fn wire(ms: u64, from: &str, to: &str, packet: P) -> Vec<E> {
    vec![
        E::Send { ms, host: from.into(), peer: to.into(), packet: packet.clone() },
        E::Recv { ms, host: to.into(), peer: from.into(), packet },
    ]
}

pub(super) fn props(f: impl FnOnce(&mut V5Props)) -> Option<Box<V5Props>> {
    let mut p = V5Props::default();
    f(&mut p);
    Some(Box::new(p))
}

/// A 5.0 CONNECT with Clean Start as given and these properties.
pub(super) fn connect5(id: &str, clean_start: bool, p: Option<Box<V5Props>>) -> P {
    P::Connect {
        client_id: id.into(),
        clean_session: clean_start,
        keep_alive: 60,
        will: None,
        username: None,
        v5: true,
        props: p,
    }
}

pub(super) fn connack(session_present: bool, p: Option<Box<V5Props>>) -> P {
    P::Connack { session_present, return_code: 0, props: p }
}

pub(super) fn publish(pkid: Option<u16>, qos: u8, topic: &str, payload: &str, p: Option<Box<V5Props>>) -> P {
    P::Publish(PublishSummary {
        pkid,
        qos,
        dup: false,
        retain: false,
        topic: topic.into(),
        payload: payload.into(),
        payload_len: payload.len(),
        props: p,
    })
}

fn expiring(pkid: Option<u16>, topic: &str, payload: &str, seconds: u32) -> P {
    let qos = if pkid.is_some() { 1 } else { 0 };
    publish(pkid, qos, topic, payload, props(|p| p.message_expiry = Some(seconds)))
}

/// `s` (5.0) and `p` connected at 0 ms; `p` publishes "m" on "t" at 1,000 ms with a Message
/// Expiry Interval of 2 s, which the broker reads then.
fn published_with_expiry() -> Vec<E> {
    let mut t = wire(0, "s", "broker", connect5("s", false, props(|p| p.session_expiry = Some(60))));
    t.extend(wire(0, "broker", "s", connack(false, None)));
    t.extend(wire(0, "p", "broker", connect5("p", true, None)));
    t.extend(wire(0, "broker", "p", connack(false, None)));
    t.extend(wire(1_000, "p", "broker", expiring(Some(1), "t", "m", 2)));
    t
}

#[test]
fn a_message_sent_after_its_expiry_is_caught() {
    // Sent 1.5 s after the broker read it, with 1 s left (rounded up from 0.5): in time.
    let mut t = published_with_expiry();
    t.extend(wire(2_500, "broker", "s", expiring(Some(1), "t", "m", 1)));
    assert_eq!(check(&t), vec![], "a copy sent before its expiry, carrying the time left, is right");
    // Sent 5 s after: its 2 s had passed before the broker started delivering it.
    let mut t = published_with_expiry();
    t.extend(wire(6_000, "broker", "s", expiring(Some(1), "t", "m", 0)));
    assert_eq!(names(&check(&t)), vec!["no-expired-delivery"], "an expired copy is deleted, not sent [MQTT5-3.3.2-5]");
    // Up to a second late is a server keeping whole seconds, not a violation.
    let mut t = published_with_expiry();
    t.extend(wire(3_900, "broker", "s", expiring(Some(1), "t", "m", 0)));
    assert_eq!(check(&t), vec![], "one second of tolerance for whole-second clocks");
}

#[test]
fn a_delivery_started_in_time_may_be_re_sent_after_the_expiry() {
    // First sent in time, unacknowledged; the session resumes 10 s later and the broker re-sends
    // it with the same packet id: no longer subject to expiry [MQTT5-4.3.3-7].
    let mut t = published_with_expiry();
    t.extend(wire(1_200, "broker", "s", expiring(Some(7), "t", "m", 2)));
    t.extend(wire(11_000, "s", "broker", connect5("s", false, props(|p| p.session_expiry = Some(60)))));
    t.extend(wire(11_000, "broker", "s", connack(true, None)));
    let mut resend = expiring(Some(7), "t", "m", 0);
    if let P::Publish(p) = &mut resend {
        p.dup = true;
    }
    t.extend(wire(11_000, "broker", "s", resend));
    assert_eq!(check(&t), vec![], "a re-send of a started delivery is not an expired delivery [MQTT5-4.3.3-7]");
    // Once acknowledged, the same message under the same id is a new delivery, and judged.
    let mut t = published_with_expiry();
    t.extend(wire(1_200, "broker", "s", expiring(Some(7), "t", "m", 2)));
    t.extend(wire(1_300, "s", "broker", P::Puback { pkid: 7, reason: 0 }));
    t.extend(wire(11_000, "broker", "s", expiring(Some(7), "t", "m", 0)));
    assert_eq!(names(&check(&t)), vec!["no-expired-delivery"], "a new delivery after expiry [MQTT5-3.3.2-5]");
}

#[test]
fn a_forwarded_expiry_must_be_reduced_by_the_wait() {
    let sent_with = |ms: u64, seconds: Option<u32>| {
        let mut t = published_with_expiry();
        let p = publish(Some(1), 1, "t", "m", seconds.and_then(|s| props(|p| p.message_expiry = Some(s))));
        t.extend(wire(ms, "broker", "s", p));
        names(&check(&t))
    };
    // Waited 0.3 s: 2 s (rounded up) or 1 s (whole-second clocks) are right.
    assert_eq!(sent_with(1_300, Some(2)), Vec::<&str>::new(), "2 s less 0.3 s, rounded up [MQTT5-3.3.2-6]");
    assert_eq!(sent_with(1_300, Some(1)), Vec::<&str>::new(), "2 s less 0.3 s, rounded down [MQTT5-3.3.2-6]");
    // Not reduced after 1.9 s of waiting; more than received; dropped from the PUBLISH.
    assert_eq!(sent_with(2_900, Some(2)), vec!["expiry-reduced"], "not reduced by the wait [MQTT5-3.3.2-6]");
    assert_eq!(sent_with(1_000, Some(3)), vec!["expiry-reduced"], "more than received [MQTT5-3.3.2-6]");
    assert_eq!(sent_with(1_300, None), vec!["expiry-reduced"], "the interval must be forwarded [MQTT5-3.3.2-6]");
}

#[test]
fn a_3_1_1_subscriber_gets_no_interval_but_its_copy_still_expires() {
    let mut t = wire(0, "s", "broker", P::connect_for_test("s", false));
    t.extend(wire(0, "p", "broker", connect5("p", true, None)));
    t.extend(wire(1_000, "p", "broker", expiring(Some(1), "t", "m", 2)));
    let mut late = t.clone();
    t.extend(wire(1_500, "broker", "s", P::publish_for_test(Some(1), 1, false, false, "t", "m")));
    assert_eq!(check(&t), vec![], "a 3.1.1 PUBLISH has no properties to carry the interval");
    late.extend(wire(9_000, "broker", "s", P::publish_for_test(Some(1), 1, false, false, "t", "m")));
    assert_eq!(names(&check(&late)), vec!["no-expired-delivery"], "expiry applies whoever subscribes [MQTT5-3.3.2-5]");
}

#[test]
fn a_topic_alias_is_resolved_before_judging() {
    // The publisher maps alias 3 to "t" and then publishes by alias alone.
    let mut t = published_with_expiry();
    t.extend(wire(1_000, "p", "broker", publish(None, 0, "t", "first", props(|p| p.topic_alias = Some(3)))));
    let by_alias = props(|p| {
        p.topic_alias = Some(3);
        p.message_expiry = Some(1);
    });
    t.extend(wire(1_000, "p", "broker", publish(None, 0, "", "second", by_alias)));
    t.extend(wire(9_000, "broker", "s", expiring(None, "t", "second", 0)));
    assert_eq!(names(&check(&t)), vec!["no-expired-delivery"], "the alias stands for \"t\" [MQTT5-3.3.2-5]");
}

/// `s` connects with Receive Maximum `max` and the broker sends it QoS 1 messages `ids`.
fn sent_to(max: Option<u16>, ids: &[u16]) -> Vec<E> {
    let mut t = wire(0, "s", "broker", connect5("s", false, props(|p| p.receive_maximum = max)));
    t.extend(wire(0, "broker", "s", connack(false, None)));
    for &id in ids {
        t.extend(wire(0, "broker", "s", publish(Some(id), 1, "t", &id.to_string(), None)));
    }
    t
}

#[test]
fn the_broker_never_passes_the_clients_receive_maximum() {
    assert_eq!(check(&sent_to(Some(2), &[1, 2])), vec![], "two unacknowledged within a maximum of 2");
    let t = sent_to(Some(2), &[1, 2, 3]);
    assert_eq!(names(&check(&t)), vec!["receive-maximum"], "a third unacknowledged over 2 [MQTT5-3.3.4-9]");
    // PUBACK frees a slot; so does a failing PUBREC, but not an accepting one.
    let mut t = sent_to(Some(2), &[1, 2]);
    t.extend(wire(0, "s", "broker", P::Puback { pkid: 1, reason: 0 }));
    t.extend(wire(0, "broker", "s", publish(Some(3), 1, "t", "3", None)));
    assert_eq!(check(&t), vec![], "PUBACK frees a slot [MQTT5-3.3.4-9]");
    let qos2 = |reason: u8| {
        let mut t = sent_to(Some(1), &[]);
        t.extend(wire(0, "broker", "s", publish(Some(1), 2, "t", "a", None)));
        t.extend(wire(0, "s", "broker", P::Pubrec { pkid: 1, reason }));
        t.extend(wire(0, "broker", "s", publish(Some(2), 2, "t", "b", None)));
        names(&check(&t))
    };
    assert_eq!(qos2(0x80), Vec::<&str>::new(), "PUBREC 0x80 frees a slot [MQTT5-3.3.4-9]");
    assert_eq!(qos2(0), vec!["receive-maximum"], "until PUBCOMP, a QoS 2 PUBLISH counts [MQTT5-3.3.4-9]");
    // Without a Receive Maximum the limit is 65,535; a 3.1.1 connection has none.
    assert_eq!(check(&sent_to(None, &[1, 2, 3, 4])), vec![]);
}

#[test]
fn re_sends_after_a_reconnect_count_on_the_new_connection() {
    // Three unacknowledged under a maximum of 3; the client comes back with a maximum of 1 and
    // the broker re-sends all three at once.
    let mut t = sent_to(Some(3), &[1, 2, 3]);
    t.extend(wire(5, "s", "broker", connect5("s", false, props(|p| p.receive_maximum = Some(1)))));
    t.extend(wire(5, "broker", "s", connack(true, None)));
    let mut ok = t.clone();
    for id in [1, 2, 3] {
        let mut p = publish(Some(id), 1, "t", &id.to_string(), None);
        if let P::Publish(p) = &mut p {
            p.dup = true;
        }
        t.extend(wire(5, "broker", "s", p.clone()));
        ok.extend(wire(5, "broker", "s", p));
        ok.extend(wire(5, "s", "broker", P::Puback { pkid: id, reason: 0 }));
    }
    assert_eq!(names(&check(&t)), vec!["receive-maximum"], "re-sends count on the new connection [MQTT5-3.3.4-9]");
    assert_eq!(check(&ok), vec![], "one at a time, each acknowledged before the next");
}

#[test]
fn a_client_never_passes_the_servers_receive_maximum() {
    let client = |ids: &[u16]| {
        let mut t = wire(0, "p", "broker", connect5("p", true, None));
        t.extend(wire(0, "broker", "p", connack(false, props(|p| p.receive_maximum = Some(2)))));
        for &id in ids {
            t.extend(wire(0, "p", "broker", publish(Some(id), 1, "t", &id.to_string(), None)));
        }
        names(&check(&t))
    };
    assert_eq!(client(&[1, 2]), Vec::<&str>::new());
    assert_eq!(
        client(&[1, 2, 3]),
        vec!["receive-maximum"],
        "the CONNACK's Receive Maximum binds the client [MQTT5-3.3.4-7]"
    );
}

/// The broker closes its end of `host`'s connection at `ms`.
pub(super) fn closed(ms: u64, host: &str) -> Vec<E> {
    vec![E::Broker { ms, event: BrokerEvent::ClosedConnection { client: host.into(), after_client_close: false } }]
}

/// `s` connects (5.0, Clean Start 0, Session Expiry Interval `expiry`), subscribes to "t" at
/// QoS 1, disconnects at 100 ms (its DISCONNECT setting `on_disconnect` if given) and the broker
/// closes the connection; `p` publishes "queued" at 200 ms, which the broker acknowledges.
fn session_left(expiry: Option<u32>, on_disconnect: Option<u32>) -> Vec<E> {
    let mut t = wire(0, "s", "broker", connect5("s", false, props(|p| p.session_expiry = expiry)));
    t.extend(wire(0, "broker", "s", connack(false, None)));
    t.extend(wire(
        10,
        "s",
        "broker",
        P::Subscribe { pkid: 1, filters: vec![("t".into(), 1)], options: vec![], props: None },
    ));
    t.extend(wire(10, "broker", "s", P::Suback { pkid: 1, codes: vec![Some(1)], reasons: vec![] }));
    let disconnect =
        P::Disconnect { reason: 0, props: on_disconnect.and_then(|e| props(|p| p.session_expiry = Some(e))) };
    t.extend(wire(100, "s", "broker", disconnect));
    t.extend(closed(100, "s"));
    t.extend(wire(150, "p", "broker", connect5("p", true, None)));
    t.extend(wire(150, "broker", "p", connack(false, None)));
    t.extend(wire(200, "p", "broker", publish(Some(1), 1, "t", "queued", None)));
    t.extend(wire(200, "broker", "p", P::Puback { pkid: 1, reason: 0 }));
    t
}

/// `session_left`, then `s` comes back with Clean Start 0 at `ms` and gets `present`.
fn back_at(mut t: Vec<E>, ms: u64, present: bool) -> Vec<E> {
    t.extend(wire(ms, "s", "broker", connect5("s", false, props(|p| p.session_expiry = Some(10)))));
    t.extend(wire(ms, "broker", "s", connack(present, None)));
    t
}

#[test]
fn a_session_used_after_its_expiry_is_caught() {
    let left = || session_left(Some(10), None);
    assert_eq!(check(&back_at(left(), 5_000, true)), vec![], "within its 10 s the session is kept [MQTT5-3.1.2-23]");
    assert_eq!(check(&back_at(left(), 11_000, true)), vec![], "a second of tolerance for whole-second clocks");
    assert_eq!(
        names(&check(&back_at(left(), 12_000, true))),
        vec!["session-expiry"],
        "11.9 s after the close a 10 s session is gone [MQTT5-4.1.0-2] [MQTT5-3.2.2-3]"
    );
    assert_eq!(check(&back_at(left(), 12_000, false)), vec![], "session present 0 after the expiry is right");
    // No Session Expiry Interval, or a DISCONNECT setting 0: the session ends with the connection.
    assert_eq!(
        names(&check(&back_at(session_left(None, None), 300, true))),
        vec!["session-expiry"],
        "absent is 0 [MQTT5-4.1.0-2]"
    );
    let zero = session_left(Some(10), Some(0));
    assert_eq!(names(&check(&back_at(zero, 300, true))), vec!["session-expiry"], "DISCONNECT set 0 [MQTT5-4.1.0-2]");
    // A DISCONNECT raising it to 60 s keeps it for 30 s.
    assert_eq!(check(&back_at(session_left(Some(10), Some(60)), 30_000, true)), vec![], "DISCONNECT raised it to 60 s");
}

#[test]
fn a_session_with_a_connection_open_is_in_use() {
    // `s2` takes the session over while its connection is open: nothing to expire.
    let mut t = wire(0, "s", "broker", connect5("s", false, None));
    t.extend(wire(0, "broker", "s", connack(false, None)));
    t.extend(wire(5_000, "s2", "broker", connect5("s", false, None)));
    t.extend(closed(5_000, "s"));
    t.extend(wire(5_000, "broker", "s2", connack(true, None)));
    assert_eq!(check(&t), vec![], "a takeover resumes the session it takes over [MQTT5-3.1.4-3]");
}

#[test]
fn an_expired_session_leaves_no_messages_or_subscriptions() {
    // Back after the expiry with session present 0, and sent the message queued for the old
    // session: it came from the old session's queue.
    let mut t = back_at(session_left(Some(10), None), 12_000, false);
    t.extend(wire(12_000, "broker", "s", publish(Some(1), 1, "t", "queued", None)));
    assert_eq!(names(&check(&t)), vec!["new-session-empty"], "the old subscription is gone [MQTT5-3.1.2-6]");
    // Subscribed again first: the old message still may not come (it was routed before) ...
    let mut t = back_at(session_left(Some(10), None), 12_000, false);
    t.extend(wire(
        12_010,
        "s",
        "broker",
        P::Subscribe { pkid: 2, filters: vec![("t".into(), 1)], options: vec![], props: None },
    ));
    t.extend(wire(12_010, "broker", "s", P::Suback { pkid: 2, codes: vec![Some(1)], reasons: vec![] }));
    let mut old = t.clone();
    old.extend(wire(12_020, "broker", "s", publish(Some(1), 1, "t", "queued", None)));
    assert_eq!(names(&check(&old)), vec!["new-session-empty"], "the old queue is gone [MQTT5-3.1.2-6]");
    // ... but a message published after, or a retained copy for the new subscription, may.
    let mut new = t.clone();
    new.extend(wire(12_020, "p", "broker", publish(Some(2), 1, "t", "new", None)));
    new.extend(wire(12_020, "broker", "p", P::Puback { pkid: 2, reason: 0 }));
    new.extend(wire(12_020, "broker", "s", publish(Some(1), 1, "t", "new", None)));
    assert_eq!(check(&new), vec![], "routed by the new subscription");
    let retain = |mut p: P| {
        if let P::Publish(p) = &mut p {
            p.retain = true;
        }
        p
    };
    let mut retained = session_left(Some(10), None);
    retained.extend(wire(300, "p", "broker", retain(publish(Some(3), 1, "t", "kept", None))));
    retained.extend(wire(300, "broker", "p", P::Puback { pkid: 3, reason: 0 }));
    let mut retained = back_at(retained, 12_000, false);
    retained.extend(t[t.len() - 4..].iter().cloned());
    retained.extend(wire(12_020, "broker", "s", retain(publish(Some(1), 1, "t", "kept", None))));
    assert_eq!(check(&retained), vec![], "a retained copy for the new subscription [MQTT5-3.3.1-9]");
}
