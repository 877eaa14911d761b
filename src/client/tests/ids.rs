//! Packet identifiers (non-zero, unused while unacknowledged, free again after the ack) and
//! requests the session refuses as invalid without changing any state.

use super::*;
use crate::protocol::{EncodeError, Subscribe, Unsubscribe};
use crate::topic::TopicError;

/// Subscribes to `t` and answers with a SUBACK, checking the id the SUBSCRIBE used.
fn subscribe_round_trip(h: &mut Harness, expect: u16) {
    assert_eq!(h.subscribe(&[("t", Q0)]), Ok(pid(expect)));
    assert_eq!(h.actions().len(), 1);
    assert_eq!(h.feed(suback(expect, &[SubackCode::Granted(Q0)])), vec![]);
    assert_eq!(h.events(), vec![ClientEvent::Subscribed { pkid: pid(expect), codes: vec![SubackCode::Granted(Q0)] }]);
}

#[test]
fn every_request_gets_a_distinct_non_zero_id_and_qos0_none() {
    let mut h = Harness::connected(false);
    h.publish_ok("t", "a", Q1, 1);
    h.publish_ok("t", "b", Q2, 2);
    h.publish_ok("t", "c", Q0, 0);
    assert_eq!(h.subscribe(&[("f/#", Q1)]), Ok(pid(3)));
    assert_eq!(
        h.actions(),
        vec![send(Packet::Subscribe(Subscribe {
            pkid: pid(3),
            filters: filters_of(&[("f/#", Q1)]),
            properties: Default::default()
        }))]
    );
    assert_eq!(h.unsubscribe(&["g/+"]), Ok(pid(4)));
    assert_eq!(
        h.actions(),
        vec![send(Packet::Unsubscribe(Unsubscribe {
            pkid: pid(4),
            filters: vec!["g/+".into()],
            properties: Default::default()
        }))]
    );
    h.publish_ok("t", "d", Q1, 5);
    assert_eq!(
        h.unacknowledged(),
        vec![(1, "t".into()), (2, "t".into()), (5, "t".into())],
        "[MQTT-2.3.1-1] [MQTT-2.3.1-2] distinct non-zero ids; [MQTT-2.3.1-5] [MQTT-4.3.1-1] none for QoS 0"
    );
}

#[test]
fn ids_skip_zero_and_unacknowledged_ones_when_they_wrap_and_are_reused_after_the_ack() {
    // [MQTT-2.3.1-1] [MQTT-2.3.1-2] [MQTT-2.3.1-3] [MQTT-4.3.2-1]
    let mut h = Harness::connected(false);
    h.publish_ok("held", "a", Q1, 1);
    for id in 2..=u16::MAX {
        subscribe_round_trip(&mut h, id);
    }
    // Past 65535: not 0, not 1 (its PUBLISH is unacknowledged), but 2, whose SUBACK freed it.
    subscribe_round_trip(&mut h, 2);
    assert_eq!(h.feed(puback(1)), vec![]);
    assert_eq!(h.events(), vec![published(1)]);
    for id in 3..=u16::MAX {
        subscribe_round_trip(&mut h, id);
    }
    // Acknowledged, id 1 is free again [MQTT-2.3.1-3].
    h.publish_ok("t", "b", Q2, 1);
}

#[test]
fn no_free_id_is_an_error_that_sends_nothing() {
    let mut h = Harness::connected(false);
    for id in 1..=u16::MAX {
        assert_eq!(h.subscribe(&[("t", Q0)]), Ok(pid(id)));
    }
    h.actions();
    assert_eq!(
        h.publish("t", "x", Q1),
        Err(ClientError::NoPacketId),
        "[MQTT-2.3.1-2] with every id unacknowledged no new request can be sent"
    );
    assert_eq!(h.subscribe(&[("t", Q0)]), Err(ClientError::NoPacketId));
    assert_eq!(h.unsubscribe(&["t"]), Err(ClientError::NoPacketId));
    h.assert_quiet();
    assert_eq!(h.unacknowledged(), vec![]);
    // QoS 0 needs no id.
    h.publish_ok("t", "x", Q0, 0);
    // One SUBACK frees exactly its id.
    h.feed(suback(300, &[SubackCode::Granted(Q0)]));
    h.events();
    h.publish_ok("t", "y", Q1, 300);
}

#[test]
fn invalid_requests_are_refused_and_change_nothing() {
    let mut h = Harness::connected_with(opts("c", false, 10));
    h.publish_ok("t", "a", Q1, 1);
    let timer = h.session.poll_timeout();
    h.now = at(5_000);
    let invalid_name = |e| Err(ClientError::Invalid(EncodeError::InvalidTopicName(e)));
    assert_eq!(h.publish("a/+", "x", Q0), invalid_name(TopicError::WildcardInName), "[MQTT-3.3.2-2] [MQTT-4.7.1-1]");
    assert_eq!(h.publish("a/#", "x", Q1), invalid_name(TopicError::WildcardInName), "[MQTT-3.3.2-2] [MQTT-4.7.1-1]");
    assert_eq!(h.publish("", "x", Q2), invalid_name(TopicError::Empty), "[MQTT-4.7.3-1]");
    assert_eq!(h.subscribe(&[]), Err(ClientError::Invalid(EncodeError::EmptySubscribe)), "[MQTT-3.8.3-3]");
    assert_eq!(
        h.subscribe(&[("ok", Q0), ("a/#/b", Q1)]),
        Err(ClientError::Invalid(EncodeError::InvalidTopicFilter(TopicError::MultiLevelNotLast))),
        "[MQTT-4.7.1-2]"
    );
    assert_eq!(h.unsubscribe(&[]), Err(ClientError::Invalid(EncodeError::EmptyUnsubscribe)), "[MQTT-3.10.3-2]");
    assert_eq!(
        h.unsubscribe(&["a+"]),
        Err(ClientError::Invalid(EncodeError::InvalidTopicFilter(TopicError::SingleLevelNotAlone)))
    );
    h.assert_quiet();
    assert_eq!(h.unacknowledged(), vec![(1, "t".into())]);
    assert_eq!(h.session.poll_timeout(), timer, "a refused request is not traffic for keep alive");
    // No id was used up: the next request gets the id it would have had.
    h.publish_ok("t", "b", Q1, 2);
    assert_eq!(h.subscribe(&[("t", Q0)]), Ok(pid(3)));
}
