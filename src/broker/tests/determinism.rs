//! Equal inputs give equal outputs: the broker's actions, events and view depend only on the
//! sequence of calls and the `now` they carry (DESIGN.md rule 7).

use super::*;

/// Everything the broker produced during one scripted run, in order.
#[derive(Debug, PartialEq)]
struct Trace {
    actions: Vec<Action>,
    events: Vec<Event>,
    view: BrokerView,
}

/// A run touching most of the broker: assigned ids, takeover, wills, QoS 2 both ways, the window,
/// the offline queue, drops, retained messages, keep alive and the connect timeout.
fn run() -> Trace {
    let config = Config { max_inflight_messages: 2, max_queued_messages: 3, ..Config::default() };
    let mut h = Harness::with_config(config);
    let mut actions = Vec::new();
    let mut events = Vec::new();
    let mut step = |h: &mut Harness, mut out: Vec<Action>| {
        actions.append(&mut out);
        actions.extend(h.drain_actions());
        events.extend(h.drain_events());
    };

    let anon = h.open();
    let out = h.connect(anon, "", true, 5);
    step(&mut h, out);
    let out = h.send(anon, subscribe(1, &[("#", Q2), ("$SYS/#", Q0)]));
    step(&mut h, out);
    let p = h.open();
    let connect = with_will(Connect::new("p", false, 30), "will/p", "gone", Q1, true);
    let out = h.send(p, Packet::Connect(connect));
    step(&mut h, out);
    let s = h.open();
    let out = h.connect(s, "s", false, 0);
    step(&mut h, out);
    let out = h.send(s, subscribe(1, &[("t/+", Q2), ("will/#", Q1)]));
    step(&mut h, out);
    for i in 0..6u16 {
        let qos = [Q0, Q1, Q2][usize::from(i % 3)];
        let packet = publish(&format!("t/{i}"), &format!("m{i}"), qos, 100 + i);
        let packet = if i == 4 { packet.retain() } else { packet };
        let out = h.send(p, packet);
        step(&mut h, out);
        if qos == Q2 {
            let out = h.send(p, pubrel(100 + i));
            step(&mut h, out);
        }
        h.advance(ms(700));
        step(&mut h, Vec::new());
    }
    let out = h.send(s, pubrec(1));
    step(&mut h, out);
    let out = h.lost(s);
    step(&mut h, out);
    let out = h.send(p, publish("t/x", "offline", Q1, 200));
    step(&mut h, out);
    let p2 = h.open();
    let out = h.connect(p2, "p", true, 0); // takes p over: its will is published
    step(&mut h, out);
    let s2 = h.open();
    let out = h.connect(s2, "s", false, 0);
    step(&mut h, out);
    let _idle = h.open();
    h.advance(secs(20)); // keep alive of `anon` and the connect timeout of `_idle`
    step(&mut h, Vec::new());
    Trace { actions, events, view: h.view() }
}

#[test]
fn the_same_inputs_give_the_same_actions_events_and_view() {
    let first = run();
    let second = run();
    assert!(first.actions.len() > 20, "the run should exercise the broker: {:#?}", first.actions);
    assert!(first.events.iter().any(|e| matches!(e, Event::Dropped { .. })));
    assert!(first.events.iter().any(|e| matches!(e, Event::WillPublished { .. })));
    assert!(first.actions.iter().any(|a| matches!(a, Action::Close { reason: CloseReason::KeepAliveTimeout, .. })));
    assert!(first.actions.iter().any(|a| matches!(a, Action::Close { reason: CloseReason::ConnectTimeout, .. })));
    assert_eq!(first, second);
}
