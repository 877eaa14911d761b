//! MQTT 5.0 subscription options: No Local, Retain As Published, Retain Handling, Subscription
//! Identifiers, and shared subscriptions.

use super::v5::connect5;
use super::*;
use crate::protocol::{Property, RetainHandling};

fn subscribe_with(h: &mut Harness, c: ConnId, f: SubscribeFilter, id: Option<u32>) -> Vec<Action> {
    let mut s = Subscribe::new(pid(90), vec![f.clone()]);
    s.properties.0.extend(id.map(Property::SubscriptionIdentifier));
    let mut actions = h.send(c, Packet::Subscribe(s));
    assert_eq!(actions.remove(0), tx(c, suback(90, &[f.qos])));
    actions
}

fn ids(actions: &[Action]) -> Vec<Vec<u32>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { packet: Packet::Publish(p), .. } => Some(p.properties.subscription_identifiers().collect()),
            _ => None,
        })
        .collect()
}

#[test]
fn no_local_keeps_a_clients_own_messages_from_it() {
    let mut h = Harness::new();
    let a = h.client_with(connect5("a", true, None));
    let b = h.client_with(connect5("b", true, None));
    subscribe_with(&mut h, a, SubscribeFilter { no_local: true, ..SubscribeFilter::new("t", Q0) }, None);
    subscribe_with(&mut h, b, SubscribeFilter { no_local: true, ..SubscribeFilter::new("t", Q0) }, None);
    assert_eq!(h.send(a, publish("t", "x", Q0, 0)), vec![tx(b, publish("t", "x", Q0, 0))], "[MQTT5-3.8.3-3]");
}

#[test]
fn retain_as_published_keeps_the_flag_on_established_subscriptions() {
    let mut h = Harness::new();
    let a = h.client_with(connect5("a", true, None));
    let b = h.client_with(connect5("b", true, None));
    subscribe_with(&mut h, a, SubscribeFilter { retain_as_published: true, ..SubscribeFilter::new("t", Q0) }, None);
    subscribe_with(&mut h, b, SubscribeFilter::new("t", Q0), None);
    let p = h.client("p", true);
    assert_eq!(
        h.send(p, publish("t", "x", Q0, 0).retain()),
        vec![tx(a, publish("t", "x", Q0, 0).retain()), tx(b, publish("t", "x", Q0, 0))],
        "[MQTT5-3.3.1-13] [MQTT5-3.3.1-12]"
    );
}

#[test]
fn retain_handling_sends_retained_messages_always_when_new_or_never() {
    let mut h = Harness::new();
    let p = h.client("p", true);
    h.publish_retained(p, "r", "kept", Q0);
    let c = h.client_with(connect5("c", true, None));
    let with = |rh| SubscribeFilter { retain_handling: rh, ..SubscribeFilter::new("r", Q0) };
    let retained = vec![tx(c, publish("r", "kept", Q0, 0).retain())];
    assert_eq!(subscribe_with(&mut h, c, with(RetainHandling::OnSubscribe), None), retained, "[MQTT5-3.3.1-9]");
    assert_eq!(subscribe_with(&mut h, c, with(RetainHandling::OnSubscribe), None), retained, "[MQTT5-3.3.1-9]");
    assert!(subscribe_with(&mut h, c, with(RetainHandling::OnNewSubscription), None).is_empty(), "[MQTT5-3.3.1-10]");
    assert!(subscribe_with(&mut h, c, with(RetainHandling::Never), None).is_empty(), "[MQTT5-3.3.1-11]");
    let d = h.client_with(connect5("d", true, None));
    let new = SubscribeFilter { retain_handling: RetainHandling::OnNewSubscription, ..SubscribeFilter::new("r", Q0) };
    assert_eq!(subscribe_with(&mut h, d, new, None).len(), 1, "[MQTT5-3.3.1-10] a new subscription gets it");
}

#[test]
fn subscription_identifiers_come_with_what_they_match() {
    let mut h = Harness::new();
    let c = h.client_with(connect5("c", true, None));
    subscribe_with(&mut h, c, SubscribeFilter::new("a/+", Q0), Some(5));
    subscribe_with(&mut h, c, SubscribeFilter::new("a/#", Q0), Some(7));
    subscribe_with(&mut h, c, SubscribeFilter::new("#", Q0), None);
    let p = h.client("p", true);
    let mut got = ids(&h.send(p, publish("a/b", "x", Q0, 0)));
    got[0].sort();
    assert_eq!(got, vec![vec![5, 7]], "[MQTT5-3.3.4-3] [MQTT5-3.3.4-4] one copy, both identifiers");
    assert_eq!(ids(&h.send(p, publish("z", "x", Q0, 0))), vec![Vec::<u32>::new()]);
    // A retained message sent for a new subscription carries its identifier.
    h.publish_retained(p, "r", "kept", Q0);
    assert_eq!(ids(&subscribe_with(&mut h, c, SubscribeFilter::new("r", Q0), Some(9))), vec![vec![9]]);
}

#[test]
fn with_duplicate_messages_each_copy_carries_its_own_identifier() {
    let mut h = Harness::with_config(Config { allow_duplicate_messages: true, ..Config::default() });
    let c = h.client_with(connect5("c", true, None));
    subscribe_with(&mut h, c, SubscribeFilter::new("a/+", Q0), Some(5));
    subscribe_with(&mut h, c, SubscribeFilter::new("a/#", Q0), Some(7));
    let p = h.client("p", true);
    let mut got = ids(&h.send(p, publish("a/b", "x", Q0, 0)));
    got.sort();
    assert_eq!(got, vec![vec![5], vec![7]], "[MQTT5-3.3.4-5]");
}

#[test]
fn a_shared_subscription_gives_each_message_to_one_member_in_turn() {
    let mut h = Harness::new();
    let s1 = h.client_with(connect5("s1", false, Some(600)));
    let s2 = h.client_with(connect5("s2", false, Some(600)));
    let plain = h.client_with(connect5("plain", true, None));
    h.subscribe(s2, "$share/g/t", Q1);
    h.subscribe(s1, "$share/g/t", Q1);
    h.subscribe(plain, "t", Q0);
    let p = h.client("p", true);
    // Turns in the order of subscribing, as mosquitto 2.0: s2 first.
    let first = h.publish(p, "t", "1", Q1);
    assert_eq!(first, vec![tx(plain, publish("t", "1", Q0, 0)), tx(s2, publish("t", "1", Q1, 1))]);
    assert_eq!(h.publish(p, "t", "2", Q1)[1], tx(s1, publish("t", "2", Q1, 1)));
    assert_eq!(h.publish(p, "t", "2b", Q1)[1], tx(s2, publish("t", "2b", Q1, 2)));
    // An offline member keeps its turn, as in mosquitto 2.0: the message waits in its queue.
    h.lost(s1);
    let third = h.publish(p, "t", "3", Q1);
    assert_eq!(third, vec![tx(plain, publish("t", "3", Q0, 0))]);
    assert_eq!(h.session("s1").queued, vec![msg("t", "3", Q1, false)]);
    // A 3.1.1 client's `$share/...` is an ordinary filter.
    let old = h.client("old", true);
    h.subscribe(old, "$share/g/t", Q0);
    assert!(h.publish(p, "t", "4", Q0).iter().all(|a| !matches!(a, Action::Send { conn, .. } if *conn == old)));
    assert_eq!(h.publish(p, "$share/g/t", "5", Q0), vec![tx(old, publish("$share/g/t", "5", Q0, 0))]);
    // Unsubscribing leaves the group to the others.
    let unsub = h.send(s2, unsubscribe(50, &["$share/g/t"]));
    assert_eq!(unsub.len(), 1);
    let sixth = h.publish(p, "t", "6", Q0);
    assert!(sixth.iter().all(|a| !matches!(a, Action::Send { conn, .. } if *conn == s2)), "{sixth:?}");
}
