//! The shared sender flow on its own: transitions, window order, re-sends and identifiers.

use bytes::Bytes;

use super::{Ack, Acked, OutState, Outbox, Stored};
use crate::protocol::{Packet, PacketId, QoS};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Msg(&'static str, QoS);

impl Stored for Msg {
    fn topic(&self) -> &str {
        self.0
    }
    fn payload(&self) -> &Bytes {
        static EMPTY: Bytes = Bytes::from_static(b"");
        &EMPTY
    }
    fn qos(&self) -> QoS {
        self.1
    }
    fn retain(&self) -> bool {
        false
    }
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).expect("non-zero")
}

fn push(out: &mut Outbox<Msg>, msg: Msg) -> PacketId {
    let pkid = out.free_id(|_| false).expect("a free id");
    out.push(pkid, msg);
    pkid
}

#[test]
fn acknowledgements_move_each_flow_and_free_its_id() {
    let mut out = Outbox::new();
    let one = push(&mut out, Msg("a", QoS::AtLeastOnce));
    let two = push(&mut out, Msg("b", QoS::ExactlyOnce));
    assert_eq!((one, two), (id(1), id(2)));
    // Nothing is acknowledged before it is sent.
    assert_eq!(out.acknowledge(Ack::Puback(one)), Acked::Ignored);
    assert!(out.send_next(usize::MAX).is_some() && out.send_next(usize::MAX).is_some());
    // An acknowledgement of the wrong kind changes nothing.
    assert_eq!(out.acknowledge(Ack::Pubrec(one)), Acked::Ignored);
    assert_eq!(out.acknowledge(Ack::Puback(two)), Acked::Ignored);
    assert_eq!(out.acknowledge(Ack::Pubcomp(two)), Acked::Ignored);
    assert_eq!(out.acknowledge(Ack::Pubrec(two)), Acked::SendPubrel(two), "[MQTT-4.3.3-1] PUBREL on PUBREC");
    assert_eq!(
        out.acknowledge(Ack::Pubrec(two)),
        Acked::SendPubrel(two),
        "[MQTT-4.3.3-1] a repeated PUBREC gets PUBREL again"
    );
    assert_eq!(
        out.iter().map(|f| f.state).collect::<Vec<_>>(),
        [OutState::AwaitPuback, OutState::AwaitPubcomp],
        "[MQTT-4.3.2-1] unacknowledged until PUBACK"
    );
    assert_eq!(out.acknowledge(Ack::Puback(one)), Acked::Complete { pkid: one, msg: Msg("a", QoS::AtLeastOnce) });
    assert_eq!(out.acknowledge(Ack::Pubcomp(two)), Acked::Complete { pkid: two, msg: Msg("b", QoS::ExactlyOnce) });
    assert!(out.is_empty() && out.ids().is_empty() && out.in_flight() == 0);
}

#[test]
fn the_window_sends_in_order_and_resend_covers_only_what_was_sent() {
    let mut out = Outbox::new();
    for (topic, qos) in [("a", QoS::ExactlyOnce), ("b", QoS::AtLeastOnce), ("c", QoS::AtLeastOnce)] {
        push(&mut out, Msg(topic, qos));
    }
    let first: Vec<_> = std::iter::from_fn(|| out.send_next(2)).collect();
    assert_eq!(first.iter().map(|p| (p.topic.as_str(), p.dup)).collect::<Vec<_>>(), [("a", false), ("b", false)]);
    assert_eq!(out.acknowledge(Ack::Pubrec(id(1))), Acked::SendPubrel(id(1)));
    let resend = out.resend();
    assert_eq!(resend.len(), 2, "[MQTT-4.4.0-1] only what was sent is re-sent");
    assert_eq!(resend[0], Packet::pubrel(id(1)), "[MQTT-4.6.0-1] in the original order");
    assert!(
        matches!(&resend[1], Packet::Publish(p) if p.dup && p.pkid == Some(id(2)) && p.topic == "b"),
        "[MQTT-3.3.1-1] DUP 1, [MQTT-4.4.0-1] the same id"
    );
    assert!(matches!(out.acknowledge(Ack::Puback(id(2))), Acked::Complete { msg: Msg("b", _), .. }));
    assert_eq!(out.send_next(2).map(|p| p.pkid), Some(Some(id(3))));
}

#[test]
fn free_ids_skip_held_and_claimed_ones_and_wrap_past_zero() {
    let mut out = Outbox::new();
    out.claim_id(id(u16::MAX - 1));
    assert_eq!(push(&mut out, Msg("a", QoS::AtLeastOnce)), id(u16::MAX));
    assert_eq!(out.free_id(|p| p == id(1)), Some(id(2)));
    out.claim_id(id(u16::MAX - 1));
    assert_eq!(out.free_id(|_| false), Some(id(1)), "[MQTT-2.3.1-2] held ids are skipped, 0 is never used");
    assert_eq!(out.free_id(|_| true), None);
}

#[test]
fn a_failed_pubrec_ends_the_flow_without_pubrel() {
    let mut out = Outbox::new();
    let one = push(&mut out, Msg("a", QoS::ExactlyOnce));
    let two = push(&mut out, Msg("b", QoS::ExactlyOnce));
    assert!(out.send_next(usize::MAX).is_some() && out.send_next(usize::MAX).is_some());
    assert_eq!(
        out.acknowledge(Ack::PubrecFailed(one)),
        Acked::Complete { pkid: one, msg: Msg("a", QoS::ExactlyOnce) },
        "[MQTT5-4.3.3-4] PUBREL only for a PUBREC below 0x80; the id is free again"
    );
    assert_eq!(out.acknowledge(Ack::Pubrec(two)), Acked::SendPubrel(two));
    assert_eq!(out.acknowledge(Ack::PubrecFailed(two)), Acked::Ignored, "PUBREL sent: only PUBCOMP ends it");
    assert_eq!(out.resend(), vec![Packet::pubrel(two)], "[MQTT5-4.4.0-2] the refused message is not re-sent");
}
