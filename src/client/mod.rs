//! The client half of an MQTT 3.1.1 session as a sans-IO state machine: packet identifiers, QoS 1
//! and QoS 2 in both directions, the state kept across reconnects when clean session is 0, the
//! re-sends owed on reconnect, exactly-once hand-off of QoS 2 messages, and keep alive. It never
//! performs IO, reads a clock or spawns a thread; `net::client` drives it over a byte stream.
//!
//! This file holds the API: the types the application and the driver see, `ClientSession` and
//! its public methods. The work is in one file per concern: `options` (what CONNECT asks for),
//! `connect` (CONNECT, CONNACK, keep alive, closing), `publish` (our publications and their
//! window, on the sender flow shared with the broker in `crate::qos`), `incoming` (messages
//! from the server, incoming QoS 2), `requests` (SUBSCRIBE/UNSUBSCRIBE and packet ids),
//! `manual` (a scripted client: acknowledgements by hand, packets as given, pings stopped).
//!
//! # Call order
//! 1. When a transport is open, call `handle_connected_transport(now)`: it queues CONNECT.
//! 2. Feed each decoded packet to `handle_packet(packet, now)`, a lost transport to
//!    `handle_connection_lost(now)`, and call `handle_timeout(now)` once `poll_timeout()` passes.
//! 3. Application requests: `publish`, `subscribe`, `unsubscribe`, `disconnect`.
//! 4. After any call, drain `poll_action()` (packets to write, or close the transport), then
//!    `poll_event()` (what the application sees), then arm a timer for `poll_timeout()`.

mod connect;
mod incoming;
mod manual;
mod options;
mod publish;
mod requests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::protocol::{ConnectReturnCode, Packet, PacketId, QoS, SubackCode, Subscribe, SubscribeFilter, Unsubscribe};
use crate::qos::{self, Ack, Outbox, Stored};
use crate::time::Time;
use connect::State;
use requests::Request;

pub use manual::AckKind;
pub use options::{ClientOptions, DEFAULT_MAX_INFLIGHT};

/// A message handed to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
}

/// Something the driver must do on the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAction {
    /// Write this packet.
    Send(Packet),
    /// Write these bytes as they are: a packet the encoder refuses, sent on purpose
    /// (`ClientSession::send_raw`).
    SendRaw(Bytes),
    /// Close the transport.
    Close(CloseCause),
}

/// Why the client closed its transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCause {
    /// The application asked to disconnect; DISCONNECT was sent [MQTT-3.14.4-1].
    Disconnect,
    /// No PINGRESP within the keep alive after a PINGREQ.
    PingTimeout,
    /// No CONNACK within the keep alive (or 30 s without one).
    ConnackTimeout,
    /// The server refused the connection.
    Refused(ConnectReturnCode),
    /// The server broke the protocol [MQTT-4.8.0-1].
    ProtocolViolation(&'static str),
}

impl std::fmt::Display for CloseCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseCause::Disconnect => write!(f, "sent DISCONNECT"),
            CloseCause::PingTimeout => write!(f, "no PINGRESP within the keep alive"),
            CloseCause::ConnackTimeout => write!(f, "no CONNACK in time"),
            CloseCause::Refused(code) => write!(f, "refused with CONNACK rc={}", *code as u8),
            CloseCause::ProtocolViolation(what) => write!(f, "the server broke the protocol: {what}"),
        }
    }
}

impl CloseCause {
    /// Why a transport ended, for people: the cause if the client closed it, else that the
    /// connection was lost.
    pub fn describe(cause: Option<CloseCause>) -> String {
        cause.map_or_else(|| "connection lost".to_owned(), |c| c.to_string())
    }
}

/// What the application sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// CONNACK accepted the connection.
    Connected { session_present: bool },
    /// We asked to resume a session (clean session 0, after an earlier connection) and the server
    /// answered session present = 0: its half of the session, including subscriptions and any
    /// messages queued for us, is gone. `unacknowledged` of our own publications were re-sent.
    SessionLost { unacknowledged: usize },
    /// CONNACK refused the connection.
    Refused(ConnectReturnCode),
    /// A message arrived; a QoS 2 message is handed over exactly once [MQTT-4.3.3-2].
    Message(Message),
    /// The QoS flow of our publication with this id is complete (PUBACK or PUBCOMP).
    Published(PacketId),
    /// SUBACK for our SUBSCRIBE with this id.
    Subscribed { pkid: PacketId, codes: Vec<SubackCode> },
    /// UNSUBACK for our UNSUBSCRIBE with this id.
    Unsubscribed(PacketId),
    /// The transport is gone (lost, or closed by us for `cause`).
    Disconnected { cause: Option<CloseCause> },
}

/// What a client's half of its session holds, for a harness to check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionSummary {
    /// QoS 2 messages received and handed over, PUBREL not yet received.
    pub awaiting_pubrel: usize,
    /// Our QoS 1/2 publications not yet fully acknowledged.
    pub unacknowledged: usize,
    /// With manual acknowledgements, those owed and not sent.
    pub owed_acks: usize,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// There is no accepted connection to send on.
    #[error("not connected")]
    NotConnected,
    /// All 65,535 packet identifiers are in use.
    #[error("no free packet identifier: 65535 requests are unacknowledged")]
    NoPacketId,
    /// The request is not valid MQTT (bad topic, empty filter list, ...).
    #[error("invalid request: {0}")]
    Invalid(#[from] crate::protocol::EncodeError),
    /// A zero-length client id asks for a session the server cannot find again.
    #[error("a zero-length client id needs clean session 1 [MQTT-3.1.3-7]")]
    EmptyClientIdNeedsCleanSession,
    /// `ack` without a packet id, and no acknowledgement of that kind is owed.
    #[error("no {0} is owed")]
    NothingOwed(&'static str),
}

/// The client session. See the module docs for the call order.
#[derive(Debug)]
pub struct ClientSession {
    options: ClientOptions,
    state: State,
    /// Whether a CONNACK was ever accepted, so session present = 0 later means state was lost.
    had_session: bool,
    /// Our QoS 1/2 publications not yet fully acknowledged, in publication order: first those in
    /// flight, then those waiting for room in the window. It also holds the packet id counter.
    outbox: Outbox<qos::Message>,
    /// QoS 2 packet ids received and handed to the application, PUBREL not yet received.
    incoming_qos2: BTreeSet<PacketId>,
    /// SUBSCRIBE/UNSUBSCRIBE ids awaiting their ack (not session state: lost with the connection).
    requests: BTreeMap<PacketId, Request>,
    last_sent: Time,
    ping_sent: Option<Time>,
    /// Whether keep alive sends PINGREQ on this connection (`stop_pinging`).
    pinging: bool,
    /// With manual acknowledgements, those owed, oldest first.
    owed: Vec<(AckKind, PacketId)>,
    actions: VecDeque<ClientAction>,
    events: VecDeque<ClientEvent>,
}

impl ClientSession {
    pub fn new(options: ClientOptions) -> ClientSession {
        ClientSession {
            options,
            state: State::Disconnected,
            had_session: false,
            outbox: Outbox::new(),
            incoming_qos2: BTreeSet::new(),
            requests: BTreeMap::new(),
            last_sent: Time::ZERO,
            ping_sent: None,
            pinging: true,
            owed: Vec::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Changes the options for the next connection (a clean-session override, say). Another
    /// client id is another session: the state starts afresh.
    pub fn set_options(&mut self, options: ClientOptions) {
        if options.client_id != self.options.client_id {
            *self = ClientSession::new(options);
        } else {
            self.options = options;
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Our QoS 1/2 publications on the wire and not yet fully acknowledged (at most
    /// `max_inflight` of them, when that is not 0).
    pub fn in_flight(&self) -> usize {
        self.outbox.in_flight()
    }

    /// What this half of the session holds now.
    pub fn summary(&self) -> SessionSummary {
        SessionSummary {
            awaiting_pubrel: self.incoming_qos2.len(),
            unacknowledged: self.outbox.len(),
            owed_acks: self.owed.len(),
        }
    }

    /// Our publications awaiting acknowledgement: (packet id, topic), in send order.
    pub fn unacknowledged(&self) -> impl Iterator<Item = (PacketId, &str)> {
        self.outbox.iter().map(|o| (o.pkid, o.msg.topic()))
    }

    /// A transport to the server is open: CONNECT goes first [MQTT-3.1.0-1].
    pub fn handle_connected_transport(&mut self, now: Time) {
        self.state = State::Connecting { since: now };
        self.ping_sent = None;
        self.pinging = true;
        // What was owed answered packets of the connection that is gone: a broker re-sends.
        self.owed.clear();
        self.send(Packet::Connect(self.options.connect_packet()), now);
    }

    /// The transport closed or failed.
    pub fn handle_connection_lost(&mut self, _now: Time) {
        if self.state != State::Disconnected {
            self.went_away(None);
        }
    }

    pub fn handle_packet(&mut self, packet: Packet, now: Time) {
        let connecting = matches!(self.state, State::Connecting { .. });
        match packet {
            Packet::Connack(ack) if connecting => self.handle_connack(ack, now),
            _ if connecting => self.violation("first packet from the server is not CONNACK [MQTT-3.2.0-1]"),
            _ if self.state == State::Disconnected => {}
            Packet::Publish(publish) => self.handle_publish(publish, now),
            Packet::Puback(a) => self.handle_ack(Ack::Puback(a.id), now),
            Packet::Pubrec(a) => self.handle_ack(Ack::Pubrec(a.id), now),
            Packet::Pubrel(a) => self.handle_pubrel(a.id, now),
            Packet::Pubcomp(a) => self.handle_ack(Ack::Pubcomp(a.id), now),
            // SUBACK answers a SUBSCRIBE [MQTT-3.8.4-1] [MQTT-3.8.4-2] and UNSUBACK an UNSUBSCRIBE
            // [MQTT-3.10.4-4]: an ack of the other kind is ignored, not taken as the answer.
            Packet::Suback(suback) => {
                if self.take_request(suback.pkid, Request::Subscribe) {
                    self.events.push_back(ClientEvent::Subscribed { pkid: suback.pkid, codes: suback.codes });
                }
            }
            Packet::Unsuback(unsuback) => {
                if self.take_request(unsuback.pkid, Request::Unsubscribe) {
                    self.events.push_back(ClientEvent::Unsubscribed(unsuback.pkid));
                }
            }
            Packet::Pingresp => self.ping_sent = None,
            Packet::Connack(_) => self.violation("second CONNACK"),
            Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::Pingreq
            | Packet::Disconnect(_) => self.violation("server sent a packet only a client may send"),
            // Enhanced authentication is not offered, so no AUTH can be owed [MQTT5-4.12.0-6].
            Packet::Auth(_) => self.violation("server sent AUTH, but no authentication method was offered"),
        }
    }

    /// Publishes a message. QoS 0 returns `None`; QoS 1/2 return the packet id that
    /// `ClientEvent::Published` will carry when the flow completes.
    pub fn publish(
        &mut self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
        now: Time,
    ) -> Result<Option<PacketId>, ClientError> {
        if self.state != State::Connected {
            return Err(ClientError::NotConnected);
        }
        self.publish_message(topic.into(), payload.into(), qos, retain, now)
    }

    /// Sends SUBSCRIBE; `ClientEvent::Subscribed` with the returned id carries the SUBACK.
    pub fn subscribe(&mut self, filters: Vec<SubscribeFilter>, now: Time) -> Result<PacketId, ClientError> {
        self.request(Request::Subscribe, |pkid| Packet::Subscribe(Subscribe::new(pkid, filters)), now)
    }

    /// Sends UNSUBSCRIBE; `ClientEvent::Unsubscribed` with the returned id carries the UNSUBACK.
    pub fn unsubscribe(&mut self, filters: Vec<String>, now: Time) -> Result<PacketId, ClientError> {
        self.request(Request::Unsubscribe, |pkid| Packet::Unsubscribe(Unsubscribe::new(pkid, filters)), now)
    }

    /// Sends DISCONNECT and closes the transport; nothing is sent after it [MQTT-3.14.4-1]
    /// [MQTT-3.14.4-2]. A persistent session's unacknowledged state is kept for the next connect.
    pub fn disconnect(&mut self, now: Time) {
        if self.state == State::Disconnected {
            return;
        }
        self.send(Packet::disconnect(), now);
        self.actions.push_back(ClientAction::Close(CloseCause::Disconnect));
        self.went_away(Some(CloseCause::Disconnect));
    }

    /// Time has reached `poll_timeout()`: send PINGREQ when idle for the keep alive
    /// [MQTT-3.1.2-23], close when a PINGRESP or CONNACK is overdue.
    pub fn handle_timeout(&mut self, now: Time) {
        self.check_keep_alive(now);
    }

    #[must_use]
    pub fn poll_action(&mut self) -> Option<ClientAction> {
        self.actions.pop_front()
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Time> {
        self.deadline()
    }

    fn send(&mut self, packet: Packet, now: Time) {
        self.last_sent = now;
        self.actions.push_back(ClientAction::Send(packet));
    }

    fn violation(&mut self, what: &'static str) {
        self.close(CloseCause::ProtocolViolation(what));
    }

    fn close(&mut self, cause: CloseCause) {
        self.actions.push_back(ClientAction::Close(cause));
        self.went_away(Some(cause));
    }
}
