//! A read-only, deterministic view of the broker's state for tests, snapshots and invariant
//! checks: sessions by client id, their subscriptions, inflight and queued messages and drop
//! counts, and the retained store by topic.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::deliver::seconds_left;
use super::session::{DropReason, Expiry, Outgoing};
use super::Broker;
use crate::protocol::QoS;
use crate::qos::OutState;
use crate::time::Time;

/// The whole broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerView {
    /// Sessions in client id order.
    pub sessions: Vec<SessionView>,
    /// Retained messages in topic order.
    pub retained: Vec<RetainedView>,
    /// Open connections, including those that have not sent CONNECT yet.
    pub connections: usize,
    /// Armed timer entries (connect timeouts and keep-alive checks): at most one per open
    /// connection, none for a closed one.
    pub timers: usize,
}

impl BrokerView {
    pub fn session(&self, client_id: &str) -> Option<&SessionView> {
        self.sessions.iter().find(|s| s.client_id == client_id)
    }
}

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub client_id: String,
    pub connected: bool,
    pub clean_session: bool,
    /// Filter and granted QoS, in filter order.
    pub subscriptions: Vec<(String, QoS)>,
    /// Outgoing QoS 1/2 messages awaiting acknowledgement, in send order.
    pub inflight_out: Vec<InflightView>,
    /// Incoming QoS 2 messages received and awaiting PUBREL, by packet id.
    pub inflight_in: Vec<(u16, MessageView)>,
    /// QoS 2 PUBLISHes from this client refused unacknowledged, and its connection closed,
    /// because `max_inflight_messages` messages already awaited PUBREL
    /// (`CloseReason::IncomingWindowFull` names the message). Nothing acknowledged was lost.
    pub incoming_refused: u64,
    /// Messages waiting to be sent, in order.
    pub queued: Vec<MessageView>,
    /// Messages not queued, by reason.
    pub drops: BTreeMap<DropReason, u64>,
    /// How long it outlives its connection (5.0's Session Expiry Interval; 3.1.1's clean
    /// session 1 is `AtClose`, 0 is `Never`).
    pub expiry: Expiry,
    /// While offline with a Session Expiry Interval: the seconds left before it is discarded,
    /// rounded up.
    pub expires_in: Option<u32>,
}

/// A message as it will be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// 5.0: the seconds left of its Message Expiry Interval (rounded up, as it would be
    /// forwarded [MQTT5-3.3.2-6]); `None` for a message without one.
    pub expires_in: Option<u32>,
}

/// An outgoing delivery holding a packet id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InflightView {
    pub pkid: u16,
    pub message: MessageView,
    pub state: OutState,
}

/// One retained message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedView {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    /// 5.0: the seconds left of its Message Expiry Interval, rounded up.
    pub expires_in: Option<u32>,
}

fn message(out: &Outgoing, now: Time) -> MessageView {
    MessageView {
        topic: out.msg.topic.clone(),
        payload: out.msg.payload.clone(),
        qos: out.qos,
        retain: out.retain,
        expires_in: out.msg.expires_at.map(|at| seconds_left(at, now)),
    }
}

pub(super) fn build(broker: &Broker) -> BrokerView {
    let sessions = broker
        .sessions
        .values()
        .map(|s| SessionView {
            client_id: s.client_id.clone(),
            connected: s.conn.is_some(),
            clean_session: s.clean,
            subscriptions: s.subscriptions.iter().map(|(f, o)| (f.clone(), o.qos)).collect(),
            inflight_out: s
                .inflight
                .iter()
                .map(|f| InflightView { pkid: f.pkid.get(), message: message(&f.msg, broker.now), state: f.state })
                .collect(),
            inflight_in: s
                .incoming
                .iter()
                .map(|(pkid, m)| {
                    (
                        pkid.get(),
                        MessageView {
                            topic: m.topic.clone(),
                            payload: m.payload.clone(),
                            qos: m.qos,
                            retain: m.retain,
                            expires_in: m.expires_at.map(|at| seconds_left(at, broker.now)),
                        },
                    )
                })
                .collect(),
            incoming_refused: s.incoming_refused,
            queued: s.queue.iter().map(|m| message(m, broker.now)).collect(),
            expiry: s.expiry,
            expires_in: s.expires_at.map(|at| seconds_left(at, broker.now)),
            drops: s.drops.clone(),
        })
        .collect();
    // An expired retained message is never sent again, so it is not shown.
    let retained = broker
        .retained
        .iter()
        .filter(|(_, m)| m.expires_at.is_none_or(|at| at > broker.now))
        .map(|(topic, r)| RetainedView {
            topic: topic.clone(),
            payload: r.payload.clone(),
            qos: r.qos,
            expires_in: r.expires_at.map(|at| seconds_left(at, broker.now)),
        })
        .collect();
    BrokerView { sessions, retained, connections: broker.connections.len(), timers: broker.timers.len() }
}
