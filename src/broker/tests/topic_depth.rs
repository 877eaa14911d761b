//! Topic depth: names and filters of more than `topic::MAX_LEVELS` levels are refused, as
//! mosquitto refuses them since CVE-2019-11779 (a SUBSCRIBE of ~65,400 `/` crashed it; ours
//! overflowed its stack on 30,000 levels before this limit).

use super::*;
use crate::protocol::{Suback, SubackCode};
use crate::topic;

fn deep(levels: usize) -> String {
    vec!["a"; levels].join("/")
}

#[test]
fn a_filter_deeper_than_the_limit_gets_the_failure_code_and_the_others_are_granted() {
    let mut h = Harness::new();
    let s = h.client("s", true);
    let too_deep = format!("{}/#", deep(topic::MAX_LEVELS));
    let at_limit = format!("{}/#", deep(topic::MAX_LEVELS - 1));
    let actions = h.send(s, subscribe(1, &[(&too_deep, Q1), ("t", Q2), (&at_limit, Q0)]));
    let codes = vec![SubackCode::Failure, SubackCode::Granted(Q2), SubackCode::Granted(Q0)];
    assert_eq!(
        actions,
        vec![tx(s, Packet::Suback(Suback { pkid: pid(1), codes, properties: Default::default() }))],
        "[MQTT-3.9.3-2] 0x80 Failure for that filter alone; [MQTT-3.8.4-4] one code per filter"
    );
    let subs: Vec<String> = h.session("s").subscriptions.into_iter().map(|(f, _)| f).collect();
    assert_eq!(subs, vec![at_limit, "t".to_owned()]);
    // The connection stays and works.
    let p = h.client("p", true);
    assert_eq!(payloads(&h.publish(p, "t", "still here", Q0)), vec!["still here"]);
}

#[test]
fn a_publish_deeper_than_the_limit_closes_its_connection_unacknowledged_and_the_will_goes_out() {
    let mut h = Harness::new();
    let watcher = h.client("watcher", true);
    h.subscribe(watcher, "#", Q1);
    let p = h.client_with(with_will(Connect::new("p", true, 0), "will/p", "gone", Q0, false));
    let topic = deep(5000);
    let reason = CloseReason::TopicTooDeep { levels: 5000 };
    let actions = h.send(p, publish(&topic, "x", Q1, 1));
    assert_eq!(actions, vec![closed(p, reason), tx(watcher, publish("will/p", "gone", Q0, 0))]);
    // At the limit it is an ordinary message.
    let q = h.client("q", true);
    let topic = deep(topic::MAX_LEVELS);
    let actions = h.send(q, publish(&topic, "ok", Q0, 0));
    assert_eq!(actions, vec![tx(watcher, publish(&topic, "ok", Q0, 0))]);
}

#[test]
fn a_will_topic_deeper_than_the_limit_closes_the_connection_before_connack() {
    let mut h = Harness::new();
    let c = h.open();
    let connect = with_will(Connect::new("w", true, 0), &deep(300), "gone", Q0, false);
    let reason = CloseReason::TopicTooDeep { levels: 300 };
    assert_eq!(h.send(c, Packet::Connect(connect)), vec![closed(c, reason)]);
    assert_eq!(h.view().sessions, vec![]);
}
