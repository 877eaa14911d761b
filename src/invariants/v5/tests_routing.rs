//! The 5.0 invariants on routing (`shared-once`, `no-local`, `subscription-ids`) fail on a
//! hand-built trace that breaks them and hold on one that does not. The traces are the packets
//! at the broker's end, as in `tests.rs`.

use super::tests::{closed, connack, connect5, names, props, publish, wire};
use crate::invariants::check;
use crate::protocol::{FilterOptions, PacketSummary as P};
use crate::trace::{Fault, TraceEvent as E};

/// `host` drops its connection at `ms` and the broker closes its end.
fn lost(ms: u64, host: &str) -> Vec<E> {
    let mut t = vec![E::Fault { ms, fault: Fault::LoseConnection { client: host.into() } }];
    t.extend(closed(ms, host));
    t
}

/// `host` (client id the same, 5.0) connects and subscribes to `filter` at QoS 2 with these
/// options and Subscription Identifier, at `ms`; SUBACK grants it.
fn subscribed(ms: u64, host: &str, filter: &str, no_local: bool, id: Option<u32>) -> Vec<E> {
    let mut t = wire(ms, host, "broker", connect5(host, true, None));
    t.extend(wire(ms, "broker", host, connack(false, None)));
    t.extend(subscribe(ms, host, 1, filter, no_local, id));
    t
}

fn subscribe(ms: u64, host: &str, pkid: u16, filter: &str, no_local: bool, id: Option<u32>) -> Vec<E> {
    let options = if no_local {
        vec![FilterOptions { no_local, retain_as_published: false, retain_handling: 0 }]
    } else {
        vec![]
    };
    let subscribe = P::Subscribe {
        pkid,
        filters: vec![(filter.into(), 2)],
        options,
        props: props(|p| p.subscription_ids = id.into_iter().collect()),
    };
    let mut t = wire(ms, host, "broker", subscribe);
    t.extend(wire(ms, "broker", host, P::Suback { pkid, codes: vec![Some(2)], reasons: vec![] }));
    t
}

/// The broker reads `topic` "m" from `host` at QoS `qos` (packet id 1) and acknowledges it.
fn published(ms: u64, host: &str, topic: &str, qos: u8) -> Vec<E> {
    let mut t = wire(ms, host, "broker", publish(Some(1), qos, topic, "m", None));
    let ack = if qos == 1 { P::Puback { pkid: 1, reason: 0 } } else { P::Pubrec { pkid: 1, reason: 0 } };
    t.extend(wire(ms, "broker", host, ack));
    t
}

/// The broker sends `topic` "m" to `host` at `qos` with packet id `pkid` and these identifiers.
fn sent(ms: u64, host: &str, topic: &str, qos: u8, pkid: u16, ids: &[u32]) -> Vec<E> {
    let p = (!ids.is_empty()).then(|| ids.to_vec()).and_then(|ids| props(|p| p.subscription_ids = ids));
    wire(ms, "broker", host, publish(Some(pkid), qos, topic, "m", p))
}

/// Workers `a` and `b` share `$share/pool/jobs/#`; `boss` publishes "m" on jobs/1 at `qos`.
fn pool(qos: u8) -> Vec<E> {
    let mut t = subscribed(0, "a", "$share/pool/jobs/#", false, None);
    t.extend(subscribed(0, "b", "$share/pool/jobs/#", false, None));
    t.extend(wire(0, "boss", "broker", connect5("boss", true, None)));
    t.extend(wire(0, "broker", "boss", connack(false, None)));
    t.extend(published(100, "boss", "jobs/1", qos));
    t
}

#[test]
fn a_shared_subscription_delivers_each_publication_once() {
    let mut t = pool(1);
    t.extend(sent(100, "a", "jobs/1", 1, 1, &[]));
    let mut twice = t.clone();
    twice.extend(sent(100, "b", "jobs/1", 1, 1, &[]));
    assert_eq!(names(&check(&twice)), vec!["shared-once"], "one member of the group gets it (section 4.8.2)");
    // A re-send to the same member is the same delivery.
    let mut again = t.clone();
    let mut resend = sent(200, "a", "jobs/1", 1, 1, &[]);
    for e in &mut resend {
        if let E::Send { packet: P::Publish(p), .. } | E::Recv { packet: P::Publish(p), .. } = e {
            p.dup = true;
        }
    }
    again.extend(resend);
    assert_eq!(check(&again), vec![], "a re-send is not a second delivery");
    // `a` loses its connection before acknowledging: another member may have the QoS 1 copy.
    let mut dropped = t.clone();
    dropped.extend(lost(150, "a"));
    dropped.extend(sent(200, "b", "jobs/1", 1, 1, &[]));
    assert_eq!(
        check(&dropped),
        vec![],
        "section 4.8.2: the server MAY send it to another member once the connection is lost"
    );
    // Not once it was acknowledged, nor after a failing PUBACK.
    let acked = |reason: u8| {
        let mut t = t.clone();
        t.extend(wire(120, "a", "broker", P::Puback { pkid: 1, reason }));
        t.extend(lost(150, "a"));
        t.extend(sent(200, "b", "jobs/1", 1, 1, &[]));
        names(&check(&t))
    };
    assert_eq!(acked(0), vec!["shared-once"], "acknowledged by a: delivered (section 4.8.2)");
    assert_eq!(acked(0x80), vec!["shared-once"], "a failing PUBACK discards it [MQTT5-4.8.2-6]");
    // A QoS 2 copy stays with its member [MQTT5-4.8.2-4] [MQTT5-4.8.2-5].
    let mut t = pool(2);
    t.extend(sent(100, "a", "jobs/1", 2, 1, &[]));
    t.extend(lost(150, "a"));
    t.extend(sent(200, "b", "jobs/1", 2, 1, &[]));
    assert_eq!(names(&check(&t)), vec!["shared-once"], "a QoS 2 delivery is never redirected [MQTT5-4.8.2-5]");
}

#[test]
fn a_member_reached_otherwise_or_a_second_publication_is_not_counted() {
    // `b` also subscribes to jobs/# itself: its copy may be through that.
    let mut t = pool(1);
    t.extend(subscribe(50, "b", 2, "jobs/#", false, None));
    t.extend(sent(100, "a", "jobs/1", 1, 1, &[]));
    t.extend(sent(100, "b", "jobs/1", 1, 1, &[]));
    assert_eq!(check(&t), vec![], "an ordinary subscription gets every message");
    // Published twice at QoS 1 (a re-send by the publisher is a new delivery to route): one each.
    let mut t = pool(1);
    t.extend(published(110, "boss", "jobs/1", 1));
    t.extend(sent(120, "a", "jobs/1", 1, 1, &[]));
    t.extend(sent(120, "b", "jobs/1", 1, 1, &[]));
    assert_eq!(check(&t), vec![], "two publications, two deliveries");
}

#[test]
fn one_share_name_with_two_filters_is_two_shared_subscriptions() {
    // Found by exploration (mixed case 1060): `b`'s `$share/pool/jobs/+` is a shared subscription
    // of its own beside `$share/pool/jobs/#` (section 4.8.2 identifies one by its whole Topic
    // Filter): each sends its copy.
    let mut t = subscribed(0, "a", "$share/pool/jobs/#", false, None);
    t.extend(subscribed(0, "b", "$share/pool/jobs/+", false, None));
    t.extend(wire(0, "boss", "broker", connect5("boss", true, None)));
    t.extend(wire(0, "broker", "boss", connack(false, None)));
    t.extend(published(100, "boss", "jobs/1", 1));
    t.extend(sent(100, "a", "jobs/1", 1, 1, &[]));
    t.extend(sent(100, "b", "jobs/1", 1, 1, &[]));
    assert_eq!(check(&t), vec![], "two shared subscriptions, two copies");
    // A third member of `$share/pool/jobs/#` gets no copy of its own.
    let mut third = subscribed(0, "c", "$share/pool/jobs/#", false, None);
    third.extend(t);
    third.extend(sent(100, "c", "jobs/1", 1, 1, &[]));
    assert_eq!(names(&check(&third)), vec!["shared-once"]);
}

/// `ann` subscribes to room/# with No Local as given, and publishes "m" on room/1.
fn own(no_local: bool) -> Vec<E> {
    let mut t = subscribed(0, "ann", "room/#", no_local, None);
    t.extend(published(100, "ann", "room/1", 1));
    t
}

#[test]
fn no_local_keeps_a_clients_own_publications_from_it() {
    let mut t = own(true);
    t.extend(sent(100, "ann", "room/1", 1, 1, &[]));
    assert_eq!(names(&check(&t)), vec!["no-local"], "No Local: not to its own publisher [MQTT5-3.8.3-3]");
    let mut t = own(false);
    t.extend(sent(100, "ann", "room/1", 1, 1, &[]));
    assert_eq!(check(&t), vec![], "without No Local its own publications come back");
    // An overlapping subscription without No Local may deliver it.
    let mut t = own(true);
    t.extend(subscribe(50, "ann", 2, "room/1", false, None));
    t.extend(sent(100, "ann", "room/1", 1, 1, &[]));
    assert_eq!(check(&t), vec![], "room/1 has no No Local");
}

/// `d` subscribes to plant/+/temp with identifier 5 and plant/# with 7; `plc` publishes "m" on
/// `topic`.
fn dashboard(topic: &str) -> Vec<E> {
    let mut t = subscribed(0, "d", "plant/+/temp", false, Some(5));
    t.extend(subscribe(0, "d", 2, "plant/#", false, Some(7)));
    t.extend(wire(0, "plc", "broker", connect5("plc", true, None)));
    t.extend(wire(0, "broker", "plc", connack(false, None)));
    t.extend(published(100, "plc", topic, 1));
    t
}

#[test]
fn subscription_identifiers_are_those_of_the_matching_subscriptions() {
    let with = |topic: &str, copies: &[&[u32]]| {
        let mut t = dashboard(topic);
        for (i, ids) in copies.iter().enumerate() {
            t.extend(sent(100, "d", topic, 1, i as u16 + 1, ids));
        }
        names(&check(&t))
    };
    assert_eq!(with("plant/a/temp", &[&[5, 7]]), Vec::<&str>::new(), "one copy with both [MQTT5-3.3.4-4]");
    assert_eq!(with("plant/a/temp", &[&[7, 5]]), Vec::<&str>::new(), "in any order [MQTT5-3.3.4-4]");
    assert_eq!(
        with("plant/a/temp", &[&[5], &[7]]),
        Vec::<&str>::new(),
        "separate copies, each its own [MQTT5-3.3.4-5]"
    );
    assert_eq!(with("plant/a/temp", &[&[5]]), vec!["subscription-ids"], "one copy missing 7 [MQTT5-3.3.4-4]");
    assert_eq!(with("plant/a/temp", &[&[]]), vec!["subscription-ids"], "one copy without any [MQTT5-3.3.4-3]");
    assert_eq!(with("plant/a/fan", &[&[7]]), Vec::<&str>::new(), "plant/# alone matches");
    assert_eq!(
        with("plant/a/fan", &[&[5, 7]]),
        vec!["subscription-ids"],
        "5 does not match plant/a/fan [MQTT5-3.3.4-5]"
    );
    assert_eq!(with("plant/a/fan", &[&[9]]), vec!["subscription-ids"], "no subscription has 9 [MQTT5-3.3.4-5]");
}
