//! A broker restored from its image (`persistence true`) holds what the image kept: persistent
//! sessions with their subscriptions, queues, in-flight messages (re-sent with their packet ids
//! and DUP=1 [MQTT-4.4.0-1]) and incoming QoS 2 state (a PUBREL after the restart still releases
//! the message [MQTT-4.3.3-2]), and the retained messages; never a clean session
//! [MQTT-3.1.2-6].

use super::*;
use crate::broker::Image;

const WALL: u64 = 1_000_000;

/// `offline` (clean session 0) subscribed to a/# at QoS 2 and b at QoS 1 and went away; `online`
/// (clean session 0) holds a/1 unacknowledged; `pub` (clean session 0) published a/2 at QoS 2
/// with no PUBREL yet; `clean` is a clean session; "r" is retained. Then a/1 at QoS 1 and b at
/// QoS 1 were published.
fn sample_harness() -> (Harness, ConnId, ConnId) {
    let mut h = Harness::new();
    let offline = h.client("offline", false);
    h.subscribe(offline, "a/#", Q2);
    h.subscribe(offline, "b", Q1);
    h.lost(offline);
    let online = h.client("online", false);
    h.subscribe(online, "a/#", Q1);
    let clean = h.client("clean", true);
    h.subscribe(clean, "a/#", Q1);
    let publisher = h.client("pub", false);
    h.publish_retained(publisher, "r", "kept", Q1);
    h.publish(publisher, "a/1", "one", Q1);
    h.publish(publisher, "b", "bee", Q1);
    h.send(publisher, Packet::Publish(Publish::new("a/2", Q2, Bytes::from_static(b"two"), false, Some(pid(9)))));
    h.drain_events();
    (h, online, publisher)
}

/// A sample image for the format's tests.
pub(crate) fn sample_image() -> Image {
    let (h, ..) = sample_harness();
    h.broker.image(h.now, WALL)
}

fn restored(h: &Harness) -> Harness {
    let image = h.broker.image(h.now, WALL);
    let broker = Broker::restore(h.broker.config().clone(), &image, Time::ZERO, WALL).expect("restores");
    let mut h = Harness { broker, now: Time::ZERO, client_pkid: 100 };
    h.drain_actions();
    h
}

#[test]
fn the_image_keeps_persistent_sessions_and_retained_messages_not_clean_sessions() {
    let (h, ..) = sample_harness();
    let image = h.broker.image(h.now, WALL);
    let ids: Vec<&str> = image.sessions.iter().map(|s| s.client_id.as_str()).collect();
    assert_eq!(ids, vec!["offline", "online", "pub"], "clean session 1 ends with its connection [MQTT-3.1.2-6]");
    assert_eq!(image.retained.len(), 1);
    // One message table entry per message, however many sessions hold it.
    let topics: Vec<&str> = image.messages.iter().map(|m| m.topic.as_str()).collect();
    assert_eq!(topics, vec!["r", "a/1", "b", "a/2"]);
    // Restoring and imaging again gives the same image.
    let again = restored(&h);
    assert_eq!(again.broker.image(again.now, WALL), image);
}

#[test]
fn a_restored_session_gets_its_queue_in_order_and_its_inflight_again_with_dup() {
    let (h, ..) = sample_harness();
    let mut h = restored(&h);
    // offline: a/1 (QoS 1) and b (QoS 1) were queued; session present 1 [MQTT-3.2.2-2].
    let conn = h.open();
    let out = h.connect(conn, "offline", false, 0);
    assert_eq!(out[0], tx(conn, connack(true)));
    let sent: Vec<(Option<u16>, bool, &str)> = out[1..]
        .iter()
        .map(|a| match a {
            Action::Send { packet: Packet::Publish(p), .. } => (p.pkid.map(|p| p.get()), p.dup, p.topic.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sent, vec![(Some(1), false, "a/1"), (Some(2), false, "b")]);
    // online: a/1 was in flight with id 1: re-sent with DUP=1 and the same id [MQTT-4.4.0-1].
    let conn = h.open();
    let out = h.connect(conn, "online", false, 0);
    assert_eq!(out[0], tx(conn, connack(true)));
    match &out[1] {
        Action::Send { packet: Packet::Publish(p), .. } => {
            assert_eq!((p.pkid, p.dup, p.topic.as_str()), (Some(pid(1)), true, "a/1"));
        }
        other => panic!("{other:?}"),
    }
    // The retained message is there for a new subscription [MQTT-3.3.1-6].
    let other = h.client("late", true);
    let out = h.subscribe(other, "r", Q1);
    assert!(matches!(&out[..], [Action::Send { packet: Packet::Publish(p), .. }] if p.retain && p.topic == "r"));
}

#[test]
fn a_pubrel_after_the_restart_releases_the_stored_qos2_message() {
    let (h, ..) = sample_harness();
    let mut h = restored(&h);
    let sub = h.client("offline", false);
    h.drain_actions();
    let publisher = h.client("pub", false);
    // The publisher re-sends PUBREL for the id it had PUBREC for [MQTT-4.3.3-2].
    let out = h.send(publisher, Packet::pubrel(pid(9)));
    assert_eq!(out.last(), Some(&tx(publisher, Packet::pubcomp(pid(9)))));
    assert!(
        out.iter().any(
            |a| matches!(a, Action::Send { conn, packet: Packet::Publish(p) } if *conn == sub && p.topic == "a/2")
        ),
        "a/2 routed at PUBREL: {out:?}"
    );
}

#[test]
fn expiry_counts_the_time_the_broker_was_down() {
    // persistent_client_expiration 1 h: offline at 0, imaged at 10 min, restored 45 min of wall
    // time later: 5 min are left.
    let config = Config { persistent_client_expiration: Some(Duration::from_secs(3600)), ..Config::default() };
    let mut h = Harness::with_config(config.clone());
    let c = h.client("c", false);
    h.lost(c);
    h.advance(Duration::from_secs(600));
    let image = h.broker.image(h.now, WALL);
    let later = WALL + 45 * 60 * 1000;
    let broker = Broker::restore(config, &image, Time::ZERO, later).expect("restores");
    let mut h = Harness { broker, now: Time::ZERO, client_pkid: 0 };
    h.advance(Duration::from_secs(299));
    assert!(h.view().session("c").is_some());
    h.advance(Duration::from_secs(2));
    assert!(h.view().session("c").is_none(), "the session ended an hour after its connection");
}
