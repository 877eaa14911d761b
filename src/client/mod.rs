//! The client half of an MQTT 3.1.1 or 5.0 session as a sans-IO state machine: packet
//! identifiers, QoS 1 and QoS 2 in both directions, the state kept across reconnects (3.1.1: when
//! clean session is 0; 5.0: when the Session Expiry Interval is above 0), the re-sends owed on
//! reconnect, exactly-once hand-off of QoS 2 messages, and keep alive. It never performs IO,
//! reads a clock or spawns a thread; `net::client` drives it over a byte stream.
//!
//! This file holds the API: the types the application and the driver see, `ClientSession` and
//! its public methods. The work is in one file per concern: `options` (what CONNECT asks for),
//! `connect` (CONNECT, CONNACK, keep alive, closing), `publish` (our publications and their
//! window, on the sender flow shared with the broker in `crate::qos`), `incoming` (messages
//! from the server, incoming QoS 2), `requests` (SUBSCRIBE/UNSUBSCRIBE and packet ids),
//! `manual` (a scripted client: acknowledgements by hand, packets as given, pings stopped),
//! `v5` (what only 5.0 has: the server's CONNACK limits, topic aliases, DISCONNECT both ways).
//! A 3.1.1 session never takes a 5.0 path: its packets and events are as they were before 5.0.
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
mod v5;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use crate::protocol::{
    ConnackCode, Disconnect, Packet, PacketId, Properties, QoS, ReasonCode, SubackCode, Subscribe, SubscribeFilter,
    Unsubscribe, Version,
};
use crate::qos::{self, Ack, Outbox, Stored};
use crate::time::Time;
use connect::State;
use requests::Request;

pub use manual::AckKind;
pub use options::{ClientOptions, DEFAULT_MAX_INFLIGHT};
pub use v5::ServerLimits;

/// A message handed to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic name; in 5.0 the one a Topic Alias stands for, when the PUBLISH used one.
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    /// The 5.0 PUBLISH properties, less the Topic Alias (which belongs to the connection);
    /// empty in 3.1.1.
    pub properties: Properties,
}

impl Message {
    /// The Subscription Identifiers of the subscriptions this message matched (5.0).
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + '_ {
        self.properties.subscription_identifiers()
    }
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
    /// The server refused the connection: a 3.1.1 return code or a 5.0 reason code.
    Refused(ConnackCode),
    /// The server broke the protocol [MQTT-4.8.0-1]; a 5.0 client said why in a DISCONNECT first.
    ProtocolViolation(&'static str),
    /// A 5.0 server sent DISCONNECT with this reason code (section 3.14).
    ServerDisconnect(ReasonCode),
}

impl std::fmt::Display for CloseCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseCause::Disconnect => write!(f, "sent DISCONNECT"),
            CloseCause::PingTimeout => write!(f, "no PINGRESP within the keep alive"),
            CloseCause::ConnackTimeout => write!(f, "no CONNACK in time"),
            CloseCause::Refused(ConnackCode::V311(code)) => write!(f, "refused with CONNACK rc={}", *code as u8),
            CloseCause::Refused(ConnackCode::V5(code)) => {
                write!(f, "refused with CONNACK reason {code} ({})", code.name())
            }
            CloseCause::ProtocolViolation(what) => write!(f, "the server broke the protocol: {what}"),
            CloseCause::ServerDisconnect(code) => {
                write!(
                    f,
                    "the server sent DISCONNECT with reason {code} ({})",
                    code.name_in(crate::protocol::PacketType::Disconnect)
                )
            }
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
    /// messages queued for us, is gone. In 3.1.1 `unacknowledged` of our own publications were
    /// re-sent; in 5.0 they were discarded with the rest of our half [MQTT5-3.2.2-5].
    SessionLost { unacknowledged: usize },
    /// CONNACK refused the connection: a 3.1.1 return code or a 5.0 reason code.
    Refused(ConnackCode),
    /// A message arrived; a QoS 2 message is handed over exactly once [MQTT-4.3.3-2].
    Message(Message),
    /// The QoS flow of our publication with this id is over: PUBACK or PUBCOMP, with its reason
    /// code (always Success in 3.1.1; for a PUBCOMP of Success, the PUBREC's, such as 0x10 No
    /// matching subscribers), or in 5.0 a PUBREC with a reason of 0x80 or above, which
    /// ends the flow with no PUBREL [MQTT5-4.3.3-4]. A reason of 0x80 or above means the server
    /// refused the message; it is not re-sent [MQTT5-4.4.0-2].
    Published { pkid: PacketId, reason: ReasonCode },
    /// SUBACK for our SUBSCRIBE with this id.
    Subscribed { pkid: PacketId, codes: Vec<SubackCode> },
    /// UNSUBACK for our UNSUBSCRIBE with this id; in 5.0 one reason code per filter, in order
    /// (none in 3.1.1).
    Unsubscribed { pkid: PacketId, reasons: Vec<ReasonCode> },
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
    /// The packet is larger than the server's Maximum Packet Size (5.0).
    #[error("the packet is {size} bytes; the server accepts at most {max} [MQTT5-3.2.2-15]")]
    TooLarge { size: usize, max: usize },
    /// The QoS is above the server's Maximum QoS (5.0).
    #[error("QoS {} is above the server's Maximum QoS {} [MQTT5-3.2.2-11]", .qos.as_u8(), .maximum.as_u8())]
    QosNotSupported { qos: QoS, maximum: QoS },
    /// RETAIN 1, and the server said Retain Available 0 (5.0).
    #[error("the server does not support retained messages [MQTT5-3.2.2-14]")]
    RetainNotSupported,
    /// A Topic Alias above the server's Topic Alias Maximum, or an empty topic with an alias
    /// this connection has not mapped (5.0).
    #[error(
        "Topic Alias {alias} is not usable: the server's Topic Alias Maximum is {maximum} \
         [MQTT5-3.2.2-17] [MQTT5-3.3.2-9], and an empty topic needs an alias mapped on this connection"
    )]
    TopicAliasInvalid { alias: u16, maximum: u16 },
    /// A PUBLISH from a client carries no Subscription Identifier (5.0).
    #[error("a client's PUBLISH carries no Subscription Identifier [MQTT5-3.3.4-6]")]
    SubscriptionIdentifierInPublish,
    /// A Subscription Identifier, and the server said it supports none (5.0).
    #[error("the server does not support Subscription Identifiers")]
    SubscriptionIdentifiersNotSupported,
    /// DISCONNECT may not set a Session Expiry Interval above 0 when CONNECT sent 0 (5.0,
    /// section 3.14.2.2.2).
    #[error("CONNECT sent Session Expiry Interval 0, so DISCONNECT may not set another (section 3.14.2.2.2)")]
    SessionExpiryAfterZero,
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
    /// What only 5.0 holds: the server's limits, topic aliases, the session expiry in force.
    v5: v5::State,
    actions: VecDeque<ClientAction>,
    events: VecDeque<ClientEvent>,
}

impl ClientSession {
    pub fn new(options: ClientOptions) -> ClientSession {
        ClientSession {
            v5: v5::State::new(&options),
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
        if options.client_id != self.options.client_id || options.version != self.options.version {
            *self = ClientSession::new(options);
        } else {
            self.v5.session_expiry = options.session_expiry;
            self.options = options;
        }
    }

    /// Whether our half of the session outlives the connection: in 3.1.1 when clean session is
    /// 0; in 5.0 when the Session Expiry Interval in force (CONNECT's, or the server's from
    /// CONNACK, or DISCONNECT's) is above 0 [MQTT5-3.1.2-23].
    pub fn keeps_session(&self) -> bool {
        match self.options.version {
            Version::V311 => !self.options.clean_session,
            Version::V5 => self.v5.session_expiry > 0,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Our QoS 1/2 publications on the wire and not yet fully acknowledged (at most
    /// `max_inflight` of them, when that is not 0, and in 5.0 at most the server's Receive
    /// Maximum, PUBRELs aside).
    pub fn in_flight(&self) -> usize {
        self.on_the_wire()
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
        let connect = self.v5.connecting(&self.options);
        self.send(Packet::Connect(connect), now);
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
            Packet::Puback(a) => self.handle_ack(Ack::Puback(a.id), a.reason, now),
            // A 5.0 PUBREC of 0x80 or above ends the flow: no PUBREL [MQTT5-4.3.3-4].
            Packet::Pubrec(a) if !a.reason.is_success() => self.handle_ack(Ack::PubrecFailed(a.id), a.reason, now),
            Packet::Pubrec(a) => self.handle_ack(Ack::Pubrec(a.id), a.reason, now),
            Packet::Pubrel(a) => self.handle_pubrel(a.id, now),
            Packet::Pubcomp(a) => self.handle_ack(Ack::Pubcomp(a.id), a.reason, now),
            // SUBACK answers a SUBSCRIBE [MQTT-3.8.4-1] [MQTT-3.8.4-2] and UNSUBACK an UNSUBSCRIBE
            // [MQTT-3.10.4-4]: an ack of the other kind is ignored, not taken as the answer.
            Packet::Suback(suback) => {
                if self.take_request(suback.pkid, Request::Subscribe) {
                    self.events.push_back(ClientEvent::Subscribed { pkid: suback.pkid, codes: suback.codes });
                }
            }
            Packet::Unsuback(unsuback) => {
                if self.take_request(unsuback.pkid, Request::Unsubscribe) {
                    let event = ClientEvent::Unsubscribed { pkid: unsuback.pkid, reasons: unsuback.reasons };
                    self.events.push_back(event);
                }
            }
            Packet::Pingresp => self.ping_sent = None,
            Packet::Connack(_) => self.violation("second CONNACK"),
            Packet::Disconnect(d) if self.options.version == Version::V5 => self.handle_server_disconnect(d),
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
        self.publish_with(topic, payload, qos, retain, Properties::new(), now)
    }

    /// [`ClientSession::publish`] with 5.0 PUBLISH properties (none in 3.1.1). A Topic Alias
    /// must be within the server's Topic Alias Maximum; with an empty topic it stands for the
    /// topic it was last sent with on this connection. Refused, with nothing sent, when the
    /// server's CONNACK rules it out: above its Maximum QoS, RETAIN without Retain Available,
    /// larger than its Maximum Packet Size.
    pub fn publish_with(
        &mut self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
        properties: Properties,
        now: Time,
    ) -> Result<Option<PacketId>, ClientError> {
        if self.state != State::Connected {
            return Err(ClientError::NotConnected);
        }
        let mut message = qos::Message::new(topic.into(), payload.into(), qos, retain);
        message.properties = properties;
        self.publish_message(message, now)
    }

    /// Sends SUBSCRIBE; `ClientEvent::Subscribed` with the returned id carries the SUBACK.
    pub fn subscribe(&mut self, filters: Vec<SubscribeFilter>, now: Time) -> Result<PacketId, ClientError> {
        self.subscribe_with(filters, Properties::new(), now)
    }

    /// [`ClientSession::subscribe`] with 5.0 SUBSCRIBE properties (a Subscription Identifier,
    /// User Properties); each filter carries its own subscription options.
    pub fn subscribe_with(
        &mut self,
        filters: Vec<SubscribeFilter>,
        properties: Properties,
        now: Time,
    ) -> Result<PacketId, ClientError> {
        if properties.subscription_identifier().is_some() && !self.v5.server.subscription_identifiers {
            return Err(ClientError::SubscriptionIdentifiersNotSupported);
        }
        self.request(
            Request::Subscribe,
            |pkid| Packet::Subscribe(Subscribe { properties, ..Subscribe::new(pkid, filters) }),
            now,
        )
    }

    /// Sends UNSUBSCRIBE; `ClientEvent::Unsubscribed` with the returned id carries the UNSUBACK.
    pub fn unsubscribe(&mut self, filters: Vec<String>, now: Time) -> Result<PacketId, ClientError> {
        self.unsubscribe_with(filters, Properties::new(), now)
    }

    /// [`ClientSession::unsubscribe`] with 5.0 UNSUBSCRIBE properties (User Properties).
    pub fn unsubscribe_with(
        &mut self,
        filters: Vec<String>,
        properties: Properties,
        now: Time,
    ) -> Result<PacketId, ClientError> {
        let packet = |pkid| Packet::Unsubscribe(Unsubscribe { properties, ..Unsubscribe::new(pkid, filters) });
        self.request(Request::Unsubscribe, packet, now)
    }

    /// Sends DISCONNECT and closes the transport; nothing is sent after it [MQTT-3.14.4-1]
    /// [MQTT-3.14.4-2]. A persistent session's unacknowledged state is kept for the next connect.
    pub fn disconnect(&mut self, now: Time) {
        if self.state == State::Disconnected {
            return;
        }
        self.close_with(Packet::disconnect(), now);
    }

    /// [`ClientSession::disconnect`] with a 5.0 reason code and properties: 0x04 asks the server
    /// to publish the will; a Session Expiry Interval changes how long the session outlives the
    /// connection, on both sides (not above 0 if CONNECT sent 0, section 3.14.2.2.2). In 3.1.1
    /// only Normal disconnection without properties can be sent.
    pub fn disconnect_with(
        &mut self,
        reason: ReasonCode,
        properties: Properties,
        now: Time,
    ) -> Result<(), ClientError> {
        if self.state == State::Disconnected {
            return Err(ClientError::NotConnected);
        }
        let mut packet = Packet::Disconnect(Disconnect { reason, properties });
        // A Reason String or User Property the server's Maximum Packet Size cannot take is left
        // out, and the DISCONNECT still sent [MQTT5-3.14.2-3] [MQTT5-3.14.2-4].
        packet.shrink_to_fit(self.options.version, self.max_packet_size());
        self.check(&packet)?;
        if let Some(&expiry) = packet.properties().and_then(Properties::session_expiry_interval) {
            if expiry > 0 && self.v5.sent_expiry == 0 {
                return Err(ClientError::SessionExpiryAfterZero);
            }
            self.v5.session_expiry = expiry;
        }
        self.close_with(packet, now);
        Ok(())
    }

    /// Sends `disconnect` (a DISCONNECT) and closes the transport.
    fn close_with(&mut self, disconnect: Packet, now: Time) {
        self.send(disconnect, now);
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

    /// The server broke the protocol: a 5.0 client says so with DISCONNECT 0x82 (Protocol
    /// Error) before closing (section 4.13.1); a 3.1.1 client just closes.
    fn violation(&mut self, what: &'static str) {
        self.violation_with(ReasonCode::PROTOCOL_ERROR, what);
    }

    /// As [`ClientSession::violation`], with the 5.0 reason code to send.
    fn violation_with(&mut self, reason: ReasonCode, what: &'static str) {
        if self.options.version == Version::V5 && self.state == State::Connected {
            self.send(Packet::Disconnect(Disconnect::with_reason(reason)), self.last_sent);
        }
        self.close(CloseCause::ProtocolViolation(what));
    }

    fn close(&mut self, cause: CloseCause) {
        self.actions.push_back(ClientAction::Close(cause));
        self.went_away(Some(cause));
    }
}
