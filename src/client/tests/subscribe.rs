//! SUBSCRIBE and UNSUBSCRIBE: the packets sent and the acknowledgements reported with their ids.

use super::*;
use crate::protocol::{Subscribe, Unsubscribe};

#[test]
fn suback_and_unsuback_are_reported_with_the_matching_ids() {
    // SUBACK and UNSUBACK carry the request's id [MQTT-3.8.4-2]
    // [MQTT-3.10.4-4], and a SUBACK has one return code per filter, failures included, in filter
    // order [MQTT-3.8.4-5] [MQTT-3.9.3-1]: the client reports them as they came.
    let mut h = Harness::connected(false);
    assert_eq!(h.subscribe(&[("a/#", Q1), ("b/+", Q2)]), Ok(pid(1)));
    assert_eq!(
        h.actions(),
        vec![send(Packet::Subscribe(Subscribe {
            pkid: pid(1),
            filters: filters_of(&[("a/#", Q1), ("b/+", Q2)]),
            properties: Default::default()
        }))],
        "[MQTT-2.3.1-1] a non-zero id"
    );
    assert_eq!(h.unsubscribe(&["a/#", "c"]), Ok(pid(2)));
    assert_eq!(
        h.actions(),
        vec![send(Packet::Unsubscribe(Unsubscribe {
            pkid: pid(2),
            filters: vec!["a/#".into(), "c".into()],
            properties: Default::default()
        }))],
        "[MQTT-2.3.1-1] [MQTT-2.3.1-2] a non-zero id not in use"
    );
    // Acks may complete out of order; each is matched by id.
    assert_eq!(h.feed(Packet::unsuback(pid(2))), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Unsubscribed { pkid: pid(2), reasons: vec![] }]);
    let codes = [SubackCode::Granted(Q1), SubackCode::Failure];
    assert_eq!(h.feed(suback(1, &codes)), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Subscribed { pkid: pid(1), codes: codes.to_vec() }]);
    // Repeated or unknown acks are not reported.
    h.feed(suback(1, &codes));
    h.feed(Packet::unsuback(pid(2)));
    h.feed(suback(9, &codes));
    h.feed(Packet::unsuback(pid(9)));
    h.assert_quiet();
    // Subscribing does not make anything unacknowledged for re-sending.
    assert_eq!(h.unacknowledged(), vec![]);
}

#[test]
fn an_ack_of_the_wrong_kind_does_not_complete_a_request() {
    // A SUBACK answers only a SUBSCRIBE and an UNSUBACK only an UNSUBSCRIBE [MQTT-3.8.4-1]
    // [MQTT-3.10.4-4]; a mismatched one is ignored, and the right one still completes the request.
    let mut h = Harness::connected(false);
    assert_eq!(h.subscribe(&[("a", Q0)]), Ok(pid(1)));
    assert_eq!(h.unsubscribe(&["b"]), Ok(pid(2)));
    h.actions();
    assert_eq!(h.feed(Packet::unsuback(pid(1))), vec![]);
    assert_eq!(h.feed(suback(2, &[SubackCode::Granted(Q0)])), vec![]);
    h.assert_quiet();
    h.feed(suback(1, &[SubackCode::Granted(Q0)]));
    h.feed(Packet::unsuback(pid(2)));
    assert_eq!(
        h.events(),
        vec![
            ClientEvent::Subscribed { pkid: pid(1), codes: vec![SubackCode::Granted(Q0)] },
            ClientEvent::Unsubscribed { pkid: pid(2), reasons: vec![] }
        ]
    );
}

#[test]
fn subscribe_and_publish_ids_share_one_space() {
    // [MQTT-2.3.1-2]: an id held by an unacknowledged SUBSCRIBE is not given to a PUBLISH, and
    // PUBACK for it does not complete the SUBSCRIBE.
    let mut h = Harness::connected(false);
    assert_eq!(h.subscribe(&[("a", Q0)]), Ok(pid(1)));
    h.actions();
    h.publish_ok("t", "x", Q1, 2);
    assert_eq!(h.feed(puback(1)), vec![]);
    h.assert_quiet();
    h.feed(suback(1, &[SubackCode::Granted(Q0)]));
    h.feed(puback(2));
    assert_eq!(
        h.events(),
        vec![ClientEvent::Subscribed { pkid: pid(1), codes: vec![SubackCode::Granted(Q0)] }, published(2)]
    );
}
