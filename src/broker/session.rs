//! One client's session state on the server (spec section 4.1): its subscriptions, the QoS 1/2
//! messages sent and not yet fully acknowledged (in send order), the queue of messages waiting for
//! the inflight window or for the client to come back, the QoS 2 messages received and not yet
//! released, and counters of what was dropped. It outlives connections when clean session is 0
//! [MQTT-3.1.2-4].
//!
//! The session only holds state and answers questions about it; `Broker` decides what to send.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use super::ConnId;
use crate::protocol::{PacketId, QoS};

/// A message as published, shared by every session it is routed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    /// QoS it was published with.
    pub qos: QoS,
    /// RETAIN as published.
    pub retain: bool,
}

/// A message on its way to one session, with the QoS and RETAIN flag it is delivered with.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub msg: Arc<Message>,
    /// min(published QoS, granted QoS) [MQTT-3.8.4-6].
    pub qos: QoS,
    /// 1 only for deliveries caused by a new subscription [MQTT-3.3.1-8] [MQTT-3.3.1-9].
    pub retain: bool,
}

/// Where an outgoing QoS 1/2 delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OutState {
    /// QoS 1 PUBLISH sent, waiting for PUBACK.
    AwaitPuback,
    /// QoS 2 PUBLISH sent, waiting for PUBREC.
    AwaitPubrec,
    /// PUBREL sent, waiting for PUBCOMP. The PUBLISH is never sent again [MQTT-4.3.3-1].
    AwaitPubcomp,
}

/// An outgoing delivery that holds a packet identifier.
#[derive(Debug, Clone)]
pub struct Inflight {
    pub pkid: PacketId,
    pub out: Outgoing,
    pub state: OutState,
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
}

impl DropReason {
    /// The name used in traces and snapshots.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::QueueBytesFull => "queue_bytes_full",
            DropReason::Qos0Offline => "qos0_offline",
            DropReason::SlowClient => "slow_client",
        }
    }
}

/// Server-side session state of one client id.
#[derive(Debug)]
pub struct Session {
    pub client_id: String,
    /// The clean-session flag of the connection that created or last resumed it.
    pub clean: bool,
    /// The connection currently attached, if any.
    pub conn: Option<ConnId>,
    /// Filter -> granted QoS.
    pub subscriptions: BTreeMap<String, QoS>,
    /// Outgoing QoS 1/2 deliveries holding a packet id, in the order they were first sent.
    /// Change it only through `push_inflight` and `remove_inflight`, which keep `ids_in_use`.
    pub inflight: VecDeque<Inflight>,
    /// The packet ids held by `inflight`, so finding a free one does not scan the window.
    ids_in_use: BTreeSet<PacketId>,
    /// Deliveries waiting for a window slot or for the client to reconnect, in order.
    pub queue: VecDeque<Outgoing>,
    /// Payload bytes in `queue`.
    pub queued_bytes: usize,
    /// QoS 0 messages in `queue`: queued while offline with `queue_qos0_messages`, or behind one.
    pub queued_qos0: usize,
    /// Incoming QoS 2 messages acknowledged with PUBREC and not yet released by PUBREL.
    /// They are routed on PUBREL, as mosquitto does (the spec's "method B"). At most
    /// `max_inflight_messages` of them (the window, as for outgoing messages).
    pub incoming: BTreeMap<PacketId, Arc<Message>>,
    /// QoS 2 PUBLISHes from this client refused, unacknowledged, because `incoming` was full;
    /// each closed the connection (`CloseReason::IncomingWindowFull`). Not drops: nothing
    /// acknowledged was lost.
    pub incoming_refused: u64,
    /// Messages not queued, by reason.
    pub drops: BTreeMap<DropReason, u64>,
    last_pkid: u16,
}

impl Session {
    pub fn new(client_id: String, clean: bool) -> Session {
        Session {
            client_id,
            clean,
            conn: None,
            subscriptions: BTreeMap::new(),
            inflight: VecDeque::new(),
            ids_in_use: BTreeSet::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            queued_qos0: 0,
            incoming: BTreeMap::new(),
            incoming_refused: 0,
            drops: BTreeMap::new(),
            last_pkid: 0,
        }
    }

    /// A packet identifier not held by any inflight delivery [MQTT-2.3.1-4]. The caller keeps the
    /// window below 65,535 entries, so one is always free.
    pub fn next_pkid(&mut self) -> PacketId {
        loop {
            self.last_pkid = self.last_pkid.wrapping_add(1);
            let Some(candidate) = PacketId::new(self.last_pkid) else {
                continue;
            };
            if !self.ids_in_use.contains(&candidate) {
                return candidate;
            }
        }
    }

    /// The packet ids `inflight` holds, as indexed (for `Broker::check_invariants`).
    pub fn ids_in_use(&self) -> &BTreeSet<PacketId> {
        &self.ids_in_use
    }

    /// Records a delivery that now holds `f.pkid`.
    pub fn push_inflight(&mut self, f: Inflight) {
        self.ids_in_use.insert(f.pkid);
        self.inflight.push_back(f);
    }

    /// Forgets the inflight entry at `index`, freeing its packet id.
    pub fn remove_inflight(&mut self, index: usize) {
        if let Some(f) = self.inflight.remove(index) {
            self.ids_in_use.remove(&f.pkid);
        }
    }

    /// Position of the inflight entry for `pkid` in `state`.
    pub fn find_inflight(&self, pkid: PacketId, state: OutState) -> Option<usize> {
        self.inflight.iter().position(|f| f.pkid == pkid && f.state == state)
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

    pub fn count_drop(&mut self, reason: DropReason) {
        *self.drops.entry(reason).or_insert(0) += 1;
    }
}
