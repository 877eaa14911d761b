//! The timer set under connection churn: a connection waiting for CONNECT or with a keep alive
//! holds one entry, a closed connection none, whatever ended it, so the set never outgrows the
//! connection table however many connections come and go.

use super::*;

/// Every way a connection past CONNECT can end, by number.
fn end(h: &mut Harness, conn: ConnId, client_id: &str, how: usize) -> Vec<Action> {
    match how {
        0 => h.lost(conn),
        1 => h.send(conn, Packet::disconnect()),
        2 => h.connect(conn, client_id, true, 0), // a second CONNECT [MQTT-3.1.0-2]
        3 => h.decode_error(conn, DecodeError::InvalidQos),
        _ => {
            // Taken over by a new connection with another keep alive, which is then lost.
            let new = h.open();
            let mut actions = h.connect(new, client_id, false, 30); // [MQTT-3.1.4-2]
            assert_eq!(actions.first(), Some(&closed(conn, CloseReason::TakenOver)));
            actions.extend(h.lost(new));
            actions
        }
    }
}

#[test]
fn connection_churn_leaves_no_timer_behind_and_bystanders_keep_theirs() {
    // [MQTT-3.1.2-24]: each keep alive still closes at exactly 1.5 times, and each connect
    // timeout still fires, while a thousand connections come and go around them.
    let mut h = Harness::new(); // connect_timeout 10 s
    let bystander = h.client_with(Connect::new("bystander", false, 60));
    h.subscribe(bystander, "t", Q0);
    assert_eq!(h.view().timers, 1);
    let mut connect_timeouts = 0;
    for round in 0..1000usize {
        // A connection that never sends CONNECT: lost, refused, or left to the connect timeout.
        let silent = h.open();
        match round % 3 {
            0 => assert_eq!(h.lost(silent), vec![]),
            1 => {
                // An empty client id with clean session 0 is refused [MQTT-3.1.3-8].
                let refused_at = h.connect(silent, "", false, 0);
                assert_eq!(
                    refused_at.last(),
                    Some(&closed(silent, CloseReason::Refused(ConnectReturnCode::IdentifierRejected.into())))
                );
            }
            _ => {} // times out 10 s later, below
        }
        // A client with a keep alive that publishes, then goes.
        let id = format!("churn{round}");
        let c = h.client_with(Connect::new(&id, round % 2 == 0, 60 + (round % 7) as u16));
        let m = format!("m{round}");
        assert_eq!(h.publish(c, "t", &m, Q1), vec![tx(bystander, publish("t", &m, Q0, 0))]);
        let actions = end(&mut h, c, &id, round % 5);
        assert!(!actions.iter().any(|a| matches!(a, Action::Send { conn, .. } if *conn == bystander)), "{actions:?}");
        // The bystander stays alive and keeps exactly one timer.
        assert_eq!(h.send(bystander, Packet::Pingreq), vec![tx(bystander, Packet::Pingresp)]);
        h.advance(secs(1));
        for a in h.drain_actions() {
            match a {
                Action::Close { reason: CloseReason::ConnectTimeout, .. } => connect_timeouts += 1,
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        let view = h.view();
        // Open now: the bystander and at most the ten silent connections of the last ten
        // seconds, each with its one timer; the check_invariants in drain_actions checks the rest.
        assert_eq!(view.timers, view.connections, "round {round}");
        assert!(view.connections <= 1 + 4, "round {round}: {} open", view.connections);
    }
    // Every third silent connection was left alone and timed out; the last ones still wait.
    h.advance(secs(10));
    for a in h.drain_actions() {
        assert!(matches!(a, Action::Close { reason: CloseReason::ConnectTimeout, .. }), "{a:?}");
        connect_timeouts += 1;
    }
    assert_eq!(connect_timeouts, 333);
    assert_eq!((h.view().connections, h.view().timers), (1, 1));

    // The bystander's keep alive runs from its last PINGREQ, 11 s ago: it closes 90 s after it
    // (its entry may wake the broker earlier, when an older deadline was pushed back).
    assert!(h.session("bystander").connected);
    let deadline = h.now + secs(79);
    assert!(h.broker.poll_timeout().is_some_and(|t| t <= deadline));
    h.advance(secs(78));
    assert_eq!(h.drain_actions(), vec![]);
    h.advance(secs(1));
    assert_eq!(h.drain_actions(), vec![closed(bystander, CloseReason::KeepAliveTimeout)]);
    assert_eq!(h.now, deadline);
    assert_eq!((h.view().connections, h.view().timers), (0, 0));
    assert_eq!(h.broker.poll_timeout(), None);
}

#[test]
fn keep_alive_0_and_closed_connections_hold_no_timer() {
    let mut h = Harness::new(); // connect_timeout 10 s
    let a = h.open();
    let b = h.open();
    assert_eq!(h.view().timers, 2);
    // CONNECT with keep alive 0 disarms the connect timeout; keep alive 5 replaces it.
    assert_eq!(h.connect(a, "a", true, 0), vec![tx(a, connack(false))]);
    assert_eq!(h.connect(b, "b", true, 5), vec![tx(b, connack(false))]);
    assert_eq!(h.view().timers, 1);
    assert_eq!(h.broker.poll_timeout(), Some(at(7_500)));
    h.lost(b);
    assert_eq!((h.view().connections, h.view().timers), (1, 0));
    assert_eq!(h.broker.poll_timeout(), None);
    // The connection without a keep alive is untouched by time.
    h.advance(secs(3600));
    assert_eq!(h.drain_actions(), vec![]);
    assert!(h.session("a").connected);
}

#[test]
fn a_stale_or_doubled_timer_is_reported_by_the_invariants() {
    let mut h = Harness::new();
    let c = h.open();
    assert_eq!(h.broker.check_invariants(), Ok(()));
    h.broker.timers.insert((at(99_000), c));
    let e = h.broker.check_invariants().unwrap_err();
    assert!(e.contains("two timers"), "{e}");
    h.broker.timers.remove(&(at(99_000), c));
    h.broker.timers.insert((at(99_000), ConnId(77)));
    let e = h.broker.check_invariants().unwrap_err();
    assert!(e.contains("conn#77, which is not open"), "{e}");
}
