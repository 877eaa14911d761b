//! The sender's side of QoS 1 and QoS 2 (spec sections 4.3, 4.4 and 4.6), one copy shared by the
//! broker (toward its subscribers) and the client (toward the server): where each message holding
//! a packet identifier stands ([`OutState`]), the acknowledgement transitions (PUBACK; PUBREC,
//! then PUBREL, then PUBCOMP), the messages waiting for room in an inflight window, the re-sends
//! owed when a session resumes (DUP=1, same ids, original order), the next free packet
//! identifier, and the one way an outgoing PUBLISH is built from a stored message ([`publish`]).
//!
//! It holds state and answers questions; it must not perform IO, read a clock, spawn a thread or
//! import tokio. Its owner decides when to call it and sends what it returns. What differs
//! between the two ends stays with them: the broker's queue and its limits, the client's
//! SUBSCRIBE ids, and the receiver's side (answering PUBLISH, incoming QoS 2 awaiting PUBREL).

mod outbox;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use bytes::Bytes;

use crate::protocol::{PacketId, Properties, Publish, QoS};
use crate::time::Time;

pub use outbox::{Ack, Acked, Inflight, Outbox};

/// What a sender keeps of a message it owes its peer: enough to build its PUBLISH again.
pub trait Stored {
    fn topic(&self) -> &str;
    fn payload(&self) -> &Bytes;
    /// The QoS it is sent with.
    fn qos(&self) -> QoS;
    /// The RETAIN flag it is sent with.
    fn retain(&self) -> bool;
    /// The 5.0 properties it is sent with; none by default.
    fn properties(&self) -> Cow<'_, Properties> {
        Cow::Owned(Properties::new())
    }
}

/// A message as its publisher published it. The client stores its own publications so; the
/// broker shares one among the sessions it is routed to, each with its own delivery QoS and
/// RETAIN flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    /// QoS it was published with.
    pub qos: QoS,
    /// RETAIN as published.
    pub retain: bool,
    /// The 5.0 properties a receiver gets with it (the publisher's, less Topic Alias and
    /// Subscription Identifier, which belong to one connection); empty from a 3.1.1 publisher.
    pub properties: Properties,
    /// When a receiver that keeps it must stop passing it on: when it arrived plus its Message
    /// Expiry Interval (5.0 section 3.3.2.3.3); `None` when it has none.
    pub expires_at: Option<Time>,
}

impl Message {
    /// A message without properties.
    pub fn new(topic: impl Into<String>, payload: Bytes, qos: QoS, retain: bool) -> Message {
        Message { topic: topic.into(), payload, qos, retain, properties: Properties::new(), expires_at: None }
    }

    /// Whether `other` is this publication sent again: the same topic, payload, QoS and RETAIN,
    /// which a re-send keeps (its properties and so its expiry may differ).
    pub fn same_as(&self, other: &Message) -> bool {
        self.topic == other.topic
            && self.payload == other.payload
            && self.qos == other.qos
            && self.retain == other.retain
    }
}

impl Stored for Message {
    fn topic(&self) -> &str {
        &self.topic
    }
    fn payload(&self) -> &Bytes {
        &self.payload
    }
    fn qos(&self) -> QoS {
        self.qos
    }
    fn retain(&self) -> bool {
        self.retain
    }
    fn properties(&self) -> Cow<'_, Properties> {
        Cow::Borrowed(&self.properties)
    }
}

/// The PUBLISH that carries `msg`: with `pkid` at QoS 1 and 2 (none at QoS 0), DUP as given. A
/// first sending has DUP=0, whatever DUP the message arrived with [MQTT-3.3.1-3]; a re-send has
/// DUP=1 [MQTT-3.3.1-1]; QoS 0 is never re-sent, so its DUP stays 0 [MQTT-3.3.1-2].
pub fn publish(msg: &impl Stored, pkid: Option<PacketId>, dup: bool) -> Publish {
    let properties = msg.properties().into_owned();
    Publish { dup, properties, ..Publish::new(msg.topic(), msg.qos(), msg.payload().clone(), msg.retain(), pkid) }
}

/// Where a sent QoS 1/2 message stands: named for the acknowledgement it waits for.
// The shared prefix says what every state is: a wait.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OutState {
    /// QoS 1 PUBLISH sent, waiting for PUBACK [MQTT-4.3.2-1].
    AwaitPuback,
    /// QoS 2 PUBLISH sent, waiting for PUBREC.
    AwaitPubrec,
    /// PUBREL sent, waiting for PUBCOMP. The PUBLISH is never sent again [MQTT-4.3.3-1].
    AwaitPubcomp,
}

impl OutState {
    /// The state of a message first sent at `qos` (1 or 2).
    pub fn first(qos: QoS) -> OutState {
        if qos == QoS::ExactlyOnce {
            OutState::AwaitPubrec
        } else {
            OutState::AwaitPuback
        }
    }
}
