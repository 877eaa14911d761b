//! Same inputs, same outputs: the session holds no clock, randomness or hash-ordered state.

use super::*;

/// Appends the queued actions, then the queued events, stamped with the harness's time.
fn record(h: &mut Harness, log: &mut Vec<String>) {
    let now = h.now;
    log.extend(h.actions().into_iter().map(|a| format!("{now} {a:?}")));
    log.extend(h.events().into_iter().map(|e| format!("{now} {e:?}")));
}

/// Advances the clock, recording what the timers caused.
fn advance(h: &mut Harness, by: Duration, log: &mut Vec<String>) {
    let actions = h.advance(by);
    let now = h.now;
    log.extend(actions.into_iter().map(|a| format!("{now} {a:?}")));
    record(h, log);
}

/// Plays one script of every kind of input, recording each action and event with its time.
fn transcript() -> Vec<String> {
    let mut h = Harness::new(opts("det", false, 5));
    let mut log = Vec::new();
    h.session.handle_connected_transport(h.now);
    h.session.handle_packet(connack(false), h.now);
    record(&mut h, &mut log);
    for i in 0..20u16 {
        h.now = at(u64::from(i) * 700);
        let qos = [Q0, Q1, Q2][usize::from(i % 3)];
        let _ = h.session.publish(format!("t/{}", i % 4), format!("p{i}").into_bytes(), qos, i % 5 == 0, h.now);
        if i % 4 == 1 {
            let _ = h.session.subscribe(filters_of(&[("t/#", qos)]), h.now);
        }
        h.session.handle_packet(publish("in", "m", qos, i + 100), h.now);
        if i % 2 == 0 {
            h.session.handle_packet(pubrec(i + 1), h.now);
            h.session.handle_packet(pubrel(i + 100), h.now);
        }
        if i == 10 {
            h.session.handle_connection_lost(h.now);
            h.session.handle_connected_transport(h.now);
            h.session.handle_packet(connack(true), h.now);
        }
        record(&mut h, &mut log);
        advance(&mut h, Duration::from_millis(650), &mut log);
    }
    // Silence until the keep alive expires twice: PINGREQ, then the PINGRESP deadline.
    advance(&mut h, secs(60), &mut log);
    log
}

#[test]
fn the_same_inputs_give_the_same_packets_and_events() {
    let first = transcript();
    assert_eq!(first, transcript());
    // The script exercised the paths it claims to.
    let count = |needle: &str| first.iter().filter(|l| l.contains(needle)).count();
    assert!(count("Pubrel") > 0 && count("dup: true") > 0 && count("Pingreq") > 0, "{first:#?}");
    assert_eq!(
        first[first.len() - 3..],
        ["73.950s Send(Pingreq)", "73.950s Close(PingTimeout)", "73.950s Disconnected { cause: Some(PingTimeout) }"]
    );
}
