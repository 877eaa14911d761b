//! One client's session state on the server (spec section 4.1): its subscriptions, the QoS 1/2
//! messages sent and not yet fully acknowledged (in send order), the queue of messages waiting for
//! the inflight window or for the client to come back, the QoS 2 messages received and not yet
//! released, and counters of what was dropped. It outlives connections when clean session is 0
//! [MQTT-3.1.2-4].
//!
//! The session only holds state and answers questions about it; `Broker` decides what to send.
//! The QoS 1/2 sender flow of its deliveries is `qos::Outbox`, shared with the client.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use super::subscriptions::SubOptions;
use super::ConnId;
use crate::protocol::{PacketId, Properties, Property, QoS};
/// A message as published, shared (in an `Arc`) by every session it is routed to.
pub use crate::qos::Message;
use crate::qos::{Outbox, Stored};

/// A message on its way to one session, with the QoS and RETAIN flag it is delivered with.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub msg: Arc<Message>,
    /// min(published QoS, granted QoS) [MQTT-3.8.4-6].
    pub qos: QoS,
    /// 1 only for deliveries caused by a new subscription [MQTT-3.3.1-8] [MQTT-3.3.1-9], or,
    /// with 5.0's Retain As Published, as published [MQTT5-3.3.1-12].
    pub retain: bool,
    /// The Subscription Identifiers of the subscriptions it matched [MQTT5-3.3.4-3]; empty
    /// allocates nothing.
    pub ids: Box<[u32]>,
}

impl Outgoing {
    /// A delivery of `msg` at `qos` with `retain`, for subscriptions without identifiers.
    pub fn new(msg: Arc<Message>, qos: QoS, retain: bool) -> Outgoing {
        Outgoing { msg, qos, retain, ids: Box::default() }
    }

    /// Whether its Message Expiry Interval has passed at `now` [MQTT5-3.3.2-5].
    pub fn expired(&self, now: crate::time::Time) -> bool {
        self.msg.expires_at.is_some_and(|at| at <= now)
    }
}

impl Stored for Outgoing {
    fn topic(&self) -> &str {
        &self.msg.topic
    }
    fn payload(&self) -> &Bytes {
        &self.msg.payload
    }
    fn qos(&self) -> QoS {
        self.qos
    }
    fn retain(&self) -> bool {
        self.retain
    }
    /// The message's own, and the identifiers of the subscriptions it matched
    /// [MQTT5-3.3.4-3] [MQTT5-3.3.4-4].
    fn properties(&self) -> std::borrow::Cow<'_, Properties> {
        if self.ids.is_empty() {
            return std::borrow::Cow::Borrowed(&self.msg.properties);
        }
        let mut properties = self.msg.properties.clone();
        properties.0.extend(self.ids.iter().map(|&id| Property::SubscriptionIdentifier(id)));
        std::borrow::Cow::Owned(properties)
    }
}

/// Why a message did not reach a session's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// The queue held `max_queued_messages` messages.
    QueueFull,
    /// Queuing would have passed `max_queued_bytes`.
    QueueBytesFull,
    /// A QoS 0 message for an offline session, with `queue_qos0_messages` off [MQTT-3.1.2-5].
    Qos0Offline,
    /// A QoS 0 message for a connected client whose unwritten packets had reached
    /// `max_queued_messages` (mosquitto's per-client outgoing packet limit).
    SlowClient,
    /// Its 5.0 Message Expiry Interval passed before it could be sent [MQTT5-3.3.2-5].
    Expired,
    /// Its PUBLISH is larger than the Maximum Packet Size the client announced: dropped for
    /// that client as if delivered [MQTT5-3.1.2-25].
    TooLargeForClient,
}

impl DropReason {
    /// The name used in traces and snapshots.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::QueueBytesFull => "queue_bytes_full",
            DropReason::Qos0Offline => "qos0_offline",
            DropReason::SlowClient => "slow_client",
            DropReason::Expired => "expired",
            DropReason::TooLargeForClient => "too_large_for_client",
        }
    }
}

/// How long a session outlives its connection (5.0 section 3.1.2.11.2; in 3.1.1, clean
/// session 1 is `AtClose` and 0 is `Never`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// Discarded when the connection closes: Session Expiry Interval 0 or absent, or 3.1.1's
    /// clean session 1 [MQTT-3.1.2-6] [MQTT5-3.1.2-23].
    AtClose,
    /// Kept this many seconds after the connection closes, then discarded [MQTT5-4.1.0-2].
    After(u32),
    /// Kept until a clean start: 0xFFFFFFFF, or 3.1.1's clean session 0.
    Never,
}

impl Expiry {
    /// The 5.0 Session Expiry Interval property's meaning (absent is 0).
    pub fn from_interval(seconds: u32) -> Expiry {
        match seconds {
            0 => Expiry::AtClose,
            u32::MAX => Expiry::Never,
            n => Expiry::After(n),
        }
    }
}

/// Server-side session state of one client id.
#[derive(Debug)]
pub struct Session {
    pub client_id: String,
    /// The clean-session (5.0: Clean Start) flag of the connection that created or last
    /// resumed it.
    pub clean: bool,
    /// How long it outlives its connection.
    pub expiry: Expiry,
    /// While offline with `Expiry::After`: when it is discarded (its entry in the broker's
    /// session timers).
    pub expires_at: Option<crate::time::Time>,
    /// The connection currently attached, if any.
    pub conn: Option<ConnId>,
    /// Filter -> what was granted and asked for.
    pub subscriptions: BTreeMap<String, SubOptions>,
    /// Outgoing QoS 1/2 deliveries holding a packet id, in the order they were first sent; the
    /// broker sends each as it enters, so none waits there.
    pub inflight: Outbox<Outgoing>,
    /// Deliveries waiting for a window slot or for the client to reconnect, in order.
    pub queue: VecDeque<Outgoing>,
    /// Payload bytes in `queue`.
    pub queued_bytes: usize,
    /// QoS 0 messages in `queue`: queued while offline with `queue_qos0_messages`, or behind one.
    pub queued_qos0: usize,
    /// Incoming QoS 2 messages acknowledged with PUBREC and not yet released by PUBREL.
    /// By default they are routed on PUBREL, as mosquitto does ("method A" of the spec's
    /// Figure 4.3: store the message, deliver it on PUBREL); with `qos2_delivery on_publish`
    /// they were routed on arrival ("method B") and are held only so a re-send is recognised. At
    /// most `max_inflight_messages` of them (the window, as for outgoing messages).
    pub incoming: BTreeMap<PacketId, Arc<Message>>,
    /// QoS 2 PUBLISHes from this client refused, unacknowledged, because `incoming` was full;
    /// each closed the connection (`CloseReason::IncomingWindowFull`). Not drops: nothing
    /// acknowledged was lost.
    pub incoming_refused: u64,
    /// Messages not queued, by reason.
    pub drops: BTreeMap<DropReason, u64>,
    /// A will waiting for its Will Delay Interval after the connection closed, and when it is
    /// due (its entry in the broker's will timers) [MQTT5-3.1.2-8].
    pub will: Option<(crate::time::Time, crate::protocol::LastWill)>,
}

impl Session {
    pub fn new(client_id: String, clean: bool) -> Session {
        Session {
            client_id,
            clean,
            expiry: if clean { Expiry::AtClose } else { Expiry::Never },
            expires_at: None,
            conn: None,
            subscriptions: BTreeMap::new(),
            inflight: Outbox::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            queued_qos0: 0,
            incoming: BTreeMap::new(),
            incoming_refused: 0,
            drops: BTreeMap::new(),
            will: None,
        }
    }

    pub fn push_queue(&mut self, out: Outgoing) {
        self.queued_bytes += out.msg.payload.len();
        self.queued_qos0 += usize::from(out.qos == QoS::AtMostOnce);
        self.queue.push_back(out);
    }

    pub fn pop_queue(&mut self) -> Option<Outgoing> {
        let out = self.queue.pop_front()?;
        self.queued_bytes -= out.msg.payload.len();
        self.queued_qos0 -= usize::from(out.qos == QoS::AtMostOnce);
        Some(out)
    }

    /// Takes the queued messages whose expiry has passed at `now` out of the queue, in order.
    pub fn take_expired(&mut self, now: crate::time::Time) -> Vec<Outgoing> {
        if !self.queue.iter().any(|o| o.expired(now)) {
            return Vec::new();
        }
        let (expired, kept): (VecDeque<Outgoing>, VecDeque<Outgoing>) =
            std::mem::take(&mut self.queue).into_iter().partition(|o| o.expired(now));
        (self.queued_bytes, self.queued_qos0) = (0, 0);
        for out in kept {
            self.push_queue(out);
        }
        expired.into()
    }

    pub fn count_drop(&mut self, reason: DropReason) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }
}
