//! [`Outbox`]: a sender's QoS 1/2 messages that hold a packet identifier, in the order they were
//! given one, until their flow completes.

use std::collections::{BTreeSet, VecDeque};

use super::{publish, OutState, Stored};
use crate::protocol::{Packet, PacketId, Publish};

/// An acknowledgement a sender receives for one of its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    Puback(PacketId),
    Pubrec(PacketId),
    /// A 5.0 PUBREC with a reason code of 0x80 or above: the receiver refused the message.
    PubrecFailed(PacketId),
    Pubcomp(PacketId),
}

/// What an acknowledgement asks of the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acked<M> {
    /// The flow of `msg` is complete and `pkid` free again: the window has room for one more.
    Complete { pkid: PacketId, msg: M },
    /// PUBREL is owed for this id [MQTT-4.3.3-1].
    SendPubrel(PacketId),
    /// It fits no message in flight: nothing to do.
    Ignored,
}

/// One message holding a packet identifier.
#[derive(Debug, Clone)]
pub struct Inflight<M> {
    pub pkid: PacketId,
    pub msg: M,
    /// Meaningful once sent; a message waiting for room holds the state it will start in.
    pub state: OutState,
}

/// A sender's QoS 1/2 messages holding packet identifiers, in the order they were given them:
/// first those sent and not yet fully acknowledged, then those waiting for room in the inflight
/// window (the broker sends at once and never has any; the client may). Every identifier it
/// holds is unique, and none is given out again until its flow completes [MQTT-2.3.1-2]
/// [MQTT-2.3.1-4].
#[derive(Debug, Clone)]
pub struct Outbox<M> {
    entries: VecDeque<Inflight<M>>,
    /// How many of `entries`, from the front, were sent.
    sent: usize,
    /// The identifiers `entries` hold, so finding a free one does not scan them.
    ids: BTreeSet<PacketId>,
    /// The identifier given out last; the search for a free one starts after it.
    last_id: u16,
}

impl<M> Default for Outbox<M> {
    fn default() -> Outbox<M> {
        Outbox { entries: VecDeque::new(), sent: 0, ids: BTreeSet::new(), last_id: 0 }
    }
}

impl<M: Stored> Outbox<M> {
    pub fn new() -> Outbox<M> {
        Outbox::default()
    }

    /// Messages held, sent or waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Messages sent and not yet fully acknowledged.
    pub fn in_flight(&self) -> usize {
        self.sent
    }

    /// Every message held, in the order they were given their identifiers.
    pub fn iter(&self) -> impl Iterator<Item = &Inflight<M>> {
        self.entries.iter()
    }

    /// The identifiers held, as indexed.
    pub fn ids(&self) -> &BTreeSet<PacketId> {
        &self.ids
    }

    /// The next identifier after the last one given out that no message here holds and that
    /// `taken` does not claim (the client's SUBSCRIBE/UNSUBSCRIBE ids) [MQTT-2.3.1-2]; `None`
    /// when all 65,535 are in use. It stays free until `push` or `claim_id` takes it.
    pub fn free_id(&self, taken: impl Fn(PacketId) -> bool) -> Option<PacketId> {
        (1..=u32::from(u16::MAX) + 1)
            .filter_map(|step| PacketId::new(self.last_id.wrapping_add(step as u16)))
            .find(|&id| !self.ids.contains(&id) && !taken(id))
    }

    /// Records that `pkid` was given out for another packet (a SUBSCRIBE, say), so the next
    /// search starts after it.
    pub fn claim_id(&mut self, pkid: PacketId) {
        self.last_id = pkid.get();
    }

    /// Adds `msg`, holding the free identifier `pkid`, behind the others; it waits for `send_next`.
    pub fn push(&mut self, pkid: PacketId, msg: M) {
        debug_assert!(!self.ids.contains(&pkid), "packet id {pkid} is in use");
        self.claim_id(pkid);
        self.ids.insert(pkid);
        let state = OutState::first(msg.qos());
        self.entries.push_back(Inflight { pkid, msg, state });
    }

    /// An outbox holding `entries` as sent, in this order, each in its state (a broker restored
    /// from its persistence file: what it had sent is re-sent, DUP=1, when the client is back).
    /// Identifiers must be unique; a repeated one is dropped.
    pub fn restored(entries: impl IntoIterator<Item = Inflight<M>>) -> Outbox<M> {
        let mut outbox = Outbox::new();
        for entry in entries {
            if outbox.ids.insert(entry.pkid) {
                outbox.claim_id(entry.pkid);
                outbox.entries.push_back(entry);
            }
        }
        outbox.sent = outbox.entries.len();
        outbox
    }

    /// Sends the first waiting message if fewer than `window` are in flight: its PUBLISH, with
    /// DUP=0 on this first sending [MQTT-3.3.1-3]. Messages leave in the order they were pushed.
    pub fn send_next(&mut self, window: usize) -> Option<Publish> {
        if self.sent >= window {
            return None;
        }
        let next = self.entries.get(self.sent)?;
        let packet = publish(&next.msg, Some(next.pkid), false);
        self.sent += 1;
        Some(packet)
    }

    /// Applies an acknowledgement from the peer. PUBACK ends a QoS 1 flow [MQTT-4.3.2-1];
    /// PUBREC moves a QoS 2 flow on to PUBREL, and from then on only PUBREL is sent for it,
    /// never the PUBLISH [MQTT-4.3.3-1] (a repeated PUBREC is answered with PUBREL again);
    /// PUBCOMP ends it. A 5.0 PUBREC with a failure reason ends it too, with no PUBREL
    /// [MQTT5-4.3.3-4] and no re-send [MQTT5-4.4.0-2]. An acknowledgement that fits no sent
    /// message in the matching state changes nothing.
    pub fn acknowledge(&mut self, ack: Ack) -> Acked<M> {
        match ack {
            Ack::Puback(pkid) => self.complete(pkid, OutState::AwaitPuback),
            Ack::PubrecFailed(pkid) => self.complete(pkid, OutState::AwaitPubrec),
            Ack::Pubcomp(pkid) => self.complete(pkid, OutState::AwaitPubcomp),
            Ack::Pubrec(pkid) => {
                match self
                    .entries
                    .iter_mut()
                    .take(self.sent)
                    .find(|f| f.pkid == pkid && f.state != OutState::AwaitPuback)
                {
                    Some(f) => {
                        f.state = OutState::AwaitPubcomp;
                        Acked::SendPubrel(pkid)
                    }
                    None => Acked::Ignored,
                }
            }
        }
    }

    /// Ends the flow of the sent message holding `pkid` in `state`, freeing the id.
    fn complete(&mut self, pkid: PacketId, state: OutState) -> Acked<M> {
        let Some(i) = self.entries.iter().take(self.sent).position(|f| f.pkid == pkid && f.state == state) else {
            return Acked::Ignored;
        };
        let f = self.entries.remove(i).expect("just found");
        self.sent -= 1;
        self.ids.remove(&f.pkid);
        Acked::Complete { pkid, msg: f.msg }
    }

    /// What a resumed session owes its peer for the messages sent before: each unacknowledged
    /// PUBLISH again with DUP=1, and each PUBREL still waiting for PUBCOMP, with the same
    /// identifiers and in the original order [MQTT-4.4.0-1] [MQTT-4.6.0-1] [MQTT-3.3.1-1]
    /// [MQTT-2.3.1-3]. Messages still waiting for room are not in it: they go out with
    /// `send_next`, for the first time.
    pub fn resend(&self) -> Vec<Packet> {
        self.entries
            .iter()
            .take(self.sent)
            .map(|f| match f.state {
                OutState::AwaitPuback | OutState::AwaitPubrec => Packet::Publish(publish(&f.msg, Some(f.pkid), true)),
                OutState::AwaitPubcomp => Packet::pubrel(f.pkid),
            })
            .collect()
    }

    /// Forgets every message (a clean session ends) [MQTT-3.1.2-6]. The search for a free
    /// identifier goes on from where it was.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.sent = 0;
        self.ids.clear();
    }
}
