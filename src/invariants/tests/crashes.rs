//! Broker crashes and restarts, with and without persistence, and connections lost under a
//! message: what a crash may lose or repeat, and what the trace cannot tell apart.

use super::*;

#[test]
fn an_in_flight_message_restored_from_disk_is_resent_with_dup() {
    // Found by `explore --persistence durable`: the broker sent "1" to `s`, crashed before the
    // PUBACK arrived, restored the session with "1" in flight, and re-sent it with DUP=1.
    let connack = |sp| P::Connack { session_present: sp, return_code: 0, props: None };
    let resent = |restored: bool| {
        let mut t = vec![E::Broker { ms: 0, event: BrokerEvent::Durable }];
        t.extend(wire("s", "broker", P::connect_for_test("s", false)));
        t.extend(wire("broker", "s", connack(false)));
        t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, false, false, "t/a", "1")));
        t.push(E::Fault { ms: 0, fault: Fault::CrashBroker });
        t.push(E::Fault { ms: 0, fault: Fault::RestartBroker });
        // Explored case 33: crashed again before the restarted broker reported its restore.
        t.push(E::Fault { ms: 0, fault: Fault::CrashBroker });
        t.push(E::Broker { ms: 0, event: BrokerEvent::Durable });
        if restored {
            let event = BrokerEvent::SessionRestored { client_id: "s".into(), subscriptions: vec![], messages: 1 };
            t.push(E::Broker { ms: 0, event });
        }
        t.extend(wire("s", "broker", P::connect_for_test("s", false)));
        t.extend(wire("broker", "s", connack(true)));
        t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, true, false, "t/a", "1")));
        names(&check(&t))
    };
    assert_eq!(resent(true), Vec::<&str>::new(), "a re-delivery of what the file kept in flight");
    assert_eq!(resent(false), vec!["dup-only-on-redelivery"], "a broker that kept nothing sends it first");
}

#[test]
fn after_a_restore_from_an_autosave_the_first_send_of_each_id_is_not_judged() {
    // Found by `explore --persistence mixed`: the save predates the last sends, so the restored
    // broker may send id 1 again with DUP=1 (in flight at the save) or reuse it for a new
    // message with DUP=0 (sent after the save); the trace cannot tell which.
    let connack = |sp| P::Connack { session_present: sp, return_code: 0, props: None };
    let after = |dup: bool, again: bool| {
        let mut t = wire("s", "broker", P::connect_for_test("s", false));
        t.extend(wire("broker", "s", connack(false)));
        t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, false, false, "t/a", "1")));
        t.push(E::Fault { ms: 0, fault: Fault::CrashBroker });
        t.push(E::Fault { ms: 0, fault: Fault::RestartBroker });
        let event = BrokerEvent::SessionRestored { client_id: "s".into(), subscriptions: vec![], messages: 1 };
        t.push(E::Broker { ms: 0, event });
        t.extend(wire("s", "broker", P::connect_for_test("s", false)));
        t.extend(wire("broker", "s", connack(true)));
        t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, dup, false, "t/a", "2")));
        if again {
            // Unacknowledged, sent again: from here on judged as ever.
            t.extend(wire("broker", "s", P::publish_for_test(Some(1), 1, false, false, "t/a", "2")));
        }
        names(&check(&t))
    };
    assert_eq!(after(true, false), Vec::<&str>::new());
    assert_eq!(after(false, false), Vec::<&str>::new());
    assert_eq!(after(false, true), vec!["dup-on-redelivery"]);
}

#[test]
fn in_durable_mode_a_crash_after_the_acknowledgement_excuses_no_loss() {
    // The broker acknowledged "1" (the publisher saw its PUBACK), crashed and restored the
    // session; "1" never arrives. Without persistence the crash is the reason; in durable mode
    // the broker had synced it before acknowledging, so it is owed still.
    let crash = E::Fault { ms: 0, fault: Fault::CrashBroker };
    let restored = E::Broker {
        ms: 0,
        event: BrokerEvent::SessionRestored {
            client_id: "s".into(),
            subscriptions: vec![("t/#".into(), 1)],
            messages: 0,
        },
    };
    let lost = |durable: bool| {
        let mut t = if durable { vec![E::Broker { ms: 0, event: BrokerEvent::Durable }] } else { vec![] };
        t.extend([connected("s", false, false), subscribed("s", "t/#", 1), connected("p", true, false)]);
        t.extend(publish("p", "t/a", "1", 1, false));
        t.extend([crash.clone(), restored.clone(), connected("s", false, true)]);
        names(&check(&t))
    };
    assert_eq!(lost(false), Vec::<&str>::new(), "an in-memory broker's crash loses it");
    assert_eq!(lost(true), vec!["at-least-once"], "a durable broker acknowledged it: it must survive");
}

#[test]
fn a_broker_crash_while_the_acknowledgement_is_on_its_way_excuses_the_loss() {
    // Found by exploration (--seed 11): the broker sent PUBCOMP, crashed, and the publisher read
    // the PUBCOMP after the crash; the message died with the broker's memory.
    let mut t = base();
    let [asked, acknowledged] = <[E; 2]>::try_from(publish("p", "t/a", "1", 2, false)).ok().unwrap();
    t.push(asked);
    t.push(E::Fault { ms: 0, fault: Fault::CrashBroker });
    t.push(acknowledged);
    assert_eq!(check(&t), vec![]);
    // A crash before the publication was even asked for excuses nothing.
    let mut t = base();
    t.push(E::Fault { ms: 0, fault: Fault::CrashBroker });
    t.push(connected("s", false, true));
    t.push(subscribed("s", "t/#", 2));
    t.extend(publish("p", "t/a", "1", 2, false));
    assert_eq!(names(&check(&t)), vec!["at-least-once"]);
}

#[test]
fn a_qos2_delivery_rolled_back_by_a_restore_from_an_autosave_may_come_again() {
    // Found by `explore --persistence mixed`: the autosave held "1" in flight, the delivery
    // completed after it, the broker crashed and, restored from the save, sent "1" again.
    let restored = E::Broker {
        ms: 0,
        event: BrokerEvent::SessionRestored { client_id: "s".into(), subscriptions: vec![], messages: 1 },
    };
    let twice = |durable: bool| {
        let mut t = if durable { vec![E::Broker { ms: 0, event: BrokerEvent::Durable }] } else { vec![] };
        t.extend(base());
        t.extend(publish("p", "t/a", "1", 2, false));
        t.push(deliver("s", "t/a", "1", 2, false));
        t.extend([E::Fault { ms: 0, fault: Fault::CrashBroker }, restored.clone(), connected("s", false, true)]);
        t.push(deliver("s", "t/a", "1", 2, false));
        names(&check(&t))
    };
    assert_eq!(twice(false), Vec::<&str>::new(), "what came after the save, its completion too, is lost");
    assert_eq!(twice(true), vec!["qos2-exactly-once"], "a durable broker kept the completion");
}

#[test]
fn a_publication_swallowed_by_a_lost_connection_may_first_be_seen_with_dup() {
    // Found by `explore --persistence mixed`: the application published "1" as the connection
    // died, the PUBLISH never reached the wire, and the re-send on the next connection (DUP=1)
    // is the first the tap sees.
    let lost = E::Disconnected { ms: 0, client: "p".into(), cause: crate::trace::EndCause(None) };
    let asked =
        E::Publish { ms: 0, client: "p".into(), topic: "t/a".into(), payload: "1".into(), qos: 1, retain: false };
    let first_seen = |swallowed: bool| {
        let mut t = vec![asked.clone()];
        if swallowed {
            t.push(lost.clone());
        }
        t.extend(wire("p", "broker", P::publish_for_test(Some(1), 1, true, false, "t/a", "1")));
        if !swallowed {
            t.push(lost.clone());
        }
        names(&check(&t))
    };
    assert_eq!(first_seen(true), Vec::<&str>::new());
    assert_eq!(first_seen(false), vec!["dup-only-on-redelivery"], "sent first with DUP=1 on a live connection");
}
