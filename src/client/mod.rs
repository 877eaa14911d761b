//! The client half of an MQTT 3.1.1 session as a sans-IO state machine: packet identifiers, QoS 1
//! and QoS 2 in both directions, the state kept across reconnects when clean session is 0, the
//! re-sends owed on reconnect, exactly-once hand-off of QoS 2 messages, and keep alive. It never
//! performs IO, reads a clock or spawns a thread; `net::client` drives it over a byte stream.
//!
//! # Call order
//! 1. When a transport is open, call `handle_connected_transport(now)`: it queues CONNECT.
//! 2. Feed each decoded packet to `handle_packet(packet, now)`, a lost transport to
//!    `handle_connection_lost(now)`, and call `handle_timeout(now)` once `poll_timeout()` passes.
//! 3. Application requests: `publish`, `subscribe`, `unsubscribe`, `disconnect`.
//! 4. After any call, drain `poll_action()` (packets to write, or close the transport), then
//!    `poll_event()` (what the application sees), then arm a timer for `poll_timeout()`.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::{
    Connack, Connect, ConnectReturnCode, LastWill, Packet, PacketId, Publish, QoS, SubackCode, Subscribe,
    SubscribeFilter, Unsubscribe,
};
use crate::qos::{self, Outbox, Stored};
use crate::time::Time;

/// How to connect: the CONNECT packet's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    pub client_id: String,
    /// `false` asks for a persistent session [MQTT-3.1.2-4].
    pub clean_session: bool,
    /// Seconds; 0 turns keep alive off.
    pub keep_alive: u16,
    pub will: Option<LastWill>,
    pub username: Option<String>,
    pub password: Option<Bytes>,
    /// Our QoS 1/2 publications in flight (sent, not yet fully acknowledged) at once; more wait
    /// in order until one completes. 0 = no limit. Default 20, as libmosquitto's
    /// `mosquitto_max_inflight_messages_set`, which matches the broker's default
    /// `max_inflight_messages`: our broker (and mosquitto) holds at most that many of a client's
    /// QoS 2 messages awaiting PUBREL.
    pub max_inflight: u16,
}

/// The default of [`ClientOptions::max_inflight`].
pub const DEFAULT_MAX_INFLIGHT: u16 = 20;

impl ClientOptions {
    pub fn new(client_id: impl Into<String>, clean_session: bool) -> ClientOptions {
        ClientOptions {
            client_id: client_id.into(),
            clean_session,
            keep_alive: 60,
            will: None,
            username: None,
            password: None,
            max_inflight: DEFAULT_MAX_INFLIGHT,
        }
    }

    /// Checks the client-side CONNECT rules before anything is sent: a zero-length client id
    /// only with clean session 1 [MQTT-3.1.3-7]; a password only with a user name
    /// [MQTT-3.1.2-22]; a will topic without wildcards [MQTT-3.1.3-10] [MQTT-3.3.2-2].
    pub fn validate(&self) -> Result<(), ClientError> {
        if self.client_id.is_empty() && !self.clean_session {
            return Err(ClientError::EmptyClientIdNeedsCleanSession);
        }
        Packet::Connect(self.connect_packet()).encode(&mut bytes::BytesMut::new(), crate::protocol::MAX_PACKET_SIZE)?;
        Ok(())
    }

    fn connect_packet(&self) -> Connect {
        Connect {
            will: self.will.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            ..Connect::new(self.client_id.clone(), self.clean_session, self.keep_alive)
        }
    }
}

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Disconnected,
    /// CONNECT sent, waiting for CONNACK.
    Connecting {
        since: Time,
    },
    Connected,
}

/// Which request a SUBSCRIBE/UNSUBSCRIBE packet id is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Subscribe,
    Unsubscribe,
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

    /// Our publications awaiting acknowledgement: (packet id, topic), in send order.
    pub fn unacknowledged(&self) -> impl Iterator<Item = (PacketId, &str)> {
        self.outbox.iter().map(|o| (o.pkid, o.msg.topic()))
    }

    /// A transport to the server is open: CONNECT goes first [MQTT-3.1.0-1].
    pub fn handle_connected_transport(&mut self, now: Time) {
        self.state = State::Connecting { since: now };
        self.ping_sent = None;
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
            Packet::Puback(pkid) => {
                let done = self.outbox.puback(pkid).is_some();
                self.complete(done, pkid, now);
            }
            Packet::Pubrec(pkid) => {
                if self.outbox.pubrec(pkid) {
                    self.send(Packet::Pubrel(pkid), now);
                }
            }
            Packet::Pubrel(pkid) => {
                // The id may be reused from here on; PUBCOMP even if unknown, as the PUBREL may
                // repeat one answered before a reconnect. PUBRELs answered in order [MQTT-4.6.0-4].
                self.incoming_qos2.remove(&pkid);
                self.send(Packet::Pubcomp(pkid), now);
            }
            Packet::Pubcomp(pkid) => {
                let done = self.outbox.pubcomp(pkid).is_some();
                self.complete(done, pkid, now);
            }
            // SUBACK answers a SUBSCRIBE [MQTT-3.8.4-1] [MQTT-3.8.4-2] and UNSUBACK an UNSUBSCRIBE
            // [MQTT-3.10.4-4]: an ack of the other kind is ignored, not taken as the answer.
            Packet::Suback(suback) => {
                if self.take_request(suback.pkid, Request::Subscribe) {
                    self.events.push_back(ClientEvent::Subscribed { pkid: suback.pkid, codes: suback.codes });
                }
            }
            Packet::Unsuback(pkid) => {
                if self.take_request(pkid, Request::Unsubscribe) {
                    self.events.push_back(ClientEvent::Unsubscribed(pkid));
                }
            }
            Packet::Pingresp => self.ping_sent = None,
            Packet::Connack(_) => self.violation("second CONNACK"),
            Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::Pingreq
            | Packet::Disconnect => self.violation("server sent a packet only a client may send"),
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
        let publication = qos::Message { topic: topic.into(), payload: payload.into(), qos, retain };
        if qos == QoS::AtMostOnce {
            let publish = Packet::Publish(qos::publish(&publication, None, false));
            self.check(&publish)?;
            self.send(publish, now);
            return Ok(None);
        }
        let pkid = self.free_id()?;
        self.check(&Packet::Publish(qos::publish(&publication, Some(pkid), false)))?;
        self.outbox.push(pkid, publication);
        self.send_waiting(now);
        Ok(Some(pkid))
    }

    /// Sends SUBSCRIBE; `ClientEvent::Subscribed` with the returned id carries the SUBACK.
    pub fn subscribe(&mut self, filters: Vec<SubscribeFilter>, now: Time) -> Result<PacketId, ClientError> {
        if self.state != State::Connected {
            return Err(ClientError::NotConnected);
        }
        let pkid = self.free_id()?;
        let packet = Packet::Subscribe(Subscribe { pkid, filters });
        self.check(&packet)?;
        self.outbox.claim_id(pkid);
        self.requests.insert(pkid, Request::Subscribe);
        self.send(packet, now);
        Ok(pkid)
    }

    /// Sends UNSUBSCRIBE; `ClientEvent::Unsubscribed` with the returned id carries the UNSUBACK.
    pub fn unsubscribe(&mut self, filters: Vec<String>, now: Time) -> Result<PacketId, ClientError> {
        if self.state != State::Connected {
            return Err(ClientError::NotConnected);
        }
        let pkid = self.free_id()?;
        let packet = Packet::Unsubscribe(Unsubscribe { pkid, filters });
        self.check(&packet)?;
        self.outbox.claim_id(pkid);
        self.requests.insert(pkid, Request::Unsubscribe);
        self.send(packet, now);
        Ok(pkid)
    }

    /// Sends DISCONNECT and closes the transport; nothing is sent after it [MQTT-3.14.4-1]
    /// [MQTT-3.14.4-2]. A persistent session's unacknowledged state is kept for the next connect.
    pub fn disconnect(&mut self, now: Time) {
        if self.state == State::Disconnected {
            return;
        }
        self.send(Packet::Disconnect, now);
        self.actions.push_back(ClientAction::Close(CloseCause::Disconnect));
        self.went_away(Some(CloseCause::Disconnect));
    }

    /// Time has reached `poll_timeout()`: send PINGREQ when idle for the keep alive
    /// [MQTT-3.1.2-23], close when a PINGRESP or CONNACK is overdue.
    pub fn handle_timeout(&mut self, now: Time) {
        let Some(keep_alive) = self.keep_alive() else {
            if let State::Connecting { since } = self.state {
                if now >= since + CONNACK_TIMEOUT {
                    self.close(CloseCause::ConnackTimeout);
                }
            }
            return;
        };
        match self.state {
            State::Disconnected => {}
            State::Connecting { since } => {
                if now >= since + keep_alive {
                    self.close(CloseCause::ConnackTimeout);
                }
            }
            State::Connected => {
                if let Some(sent) = self.ping_sent {
                    if now >= sent + keep_alive {
                        self.close(CloseCause::PingTimeout);
                    }
                } else if now >= self.last_sent + keep_alive {
                    self.ping_sent = Some(now);
                    self.send(Packet::Pingreq, now);
                }
            }
        }
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
        match (self.state, self.keep_alive()) {
            (State::Disconnected, _) => None,
            (State::Connecting { since }, ka) => Some(since + ka.unwrap_or(CONNACK_TIMEOUT)),
            (State::Connected, None) => None,
            (State::Connected, Some(ka)) => Some(self.ping_sent.unwrap_or(self.last_sent) + ka),
        }
    }

    fn keep_alive(&self) -> Option<Duration> {
        match self.options.keep_alive {
            0 => None,
            s => Some(Duration::from_secs(u64::from(s))),
        }
    }

    fn handle_connack(&mut self, ack: Connack, now: Time) {
        if ack.code != ConnectReturnCode::Accepted {
            self.events.push_back(ClientEvent::Refused(ack.code));
            self.close(CloseCause::Refused(ack.code));
            return;
        }
        self.state = State::Connected;
        let expected_session = self.had_session && !self.options.clean_session;
        self.had_session = true;
        if self.options.clean_session {
            // A clean session starts with nothing; our side discards too [MQTT-3.1.2-6].
            self.outbox.clear();
            self.incoming_qos2.clear();
        }
        #[cfg(feature = "mutants")]
        if crate::mutants::active(crate::mutants::Mutant::ForgetPubrelState) {
            self.incoming_qos2.clear();
        }
        self.events.push_back(ClientEvent::Connected { session_present: ack.session_present });
        if expected_session && !ack.session_present {
            // The server lost its half: it will not re-send or release anything it held for us.
            self.incoming_qos2.clear();
            self.events.push_back(ClientEvent::SessionLost { unacknowledged: self.outbox.len() });
        }
        // Re-send unacknowledged PUBLISH (DUP=1) and PUBREL, same ids, original order; then what
        // waited for room in the window, for the first time (DUP=0).
        for packet in self.outbox.resend() {
            self.send(packet, now);
        }
        self.send_waiting(now);
    }

    /// Sends, in order, the publications waiting for room in the window while there is room and
    /// a connection to send on.
    fn send_waiting(&mut self, now: Time) {
        if self.state != State::Connected {
            return;
        }
        let window = match self.options.max_inflight {
            0 => usize::MAX,
            n => usize::from(n),
        };
        while let Some(publish) = self.outbox.send_next(window) {
            self.send(Packet::Publish(publish), now);
        }
    }

    fn handle_publish(&mut self, publish: Publish, now: Time) {
        let message = Message {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            dup: publish.dup,
        };
        // Acknowledged at once, so acknowledgements leave in receive order [MQTT-4.6.0-2]
        // [MQTT-4.6.0-3] [MQTT-4.5.0-2].
        match (publish.qos, publish.pkid) {
            (QoS::AtMostOnce, _) => self.events.push_back(ClientEvent::Message(message)),
            (QoS::AtLeastOnce, Some(pkid)) => {
                self.events.push_back(ClientEvent::Message(message));
                self.send(Packet::Puback(pkid), now);
            }
            (QoS::ExactlyOnce, Some(pkid)) => {
                // Handed over on first receipt only; a re-sent PUBLISH with an id still awaiting
                // PUBREL is the same message [MQTT-4.3.3-2].
                if self.incoming_qos2.insert(pkid) {
                    self.events.push_back(ClientEvent::Message(message));
                }
                self.send(Packet::Pubrec(pkid), now);
            }
            // The codec never yields this; a hand-built packet is refused, not a crash.
            (_, None) => self.violation("QoS 1/2 PUBLISH without a packet identifier [MQTT-2.3.1-1]"),
        }
    }

    /// After PUBACK or PUBCOMP: if it `done` the flow of `pkid`, the application hears of it
    /// and the window has room for the next publication.
    fn complete(&mut self, done: bool, pkid: PacketId, now: Time) {
        if done {
            self.events.push_back(ClientEvent::Published(pkid));
            self.send_waiting(now);
        }
    }

    /// A packet id not used by any unacknowledged PUBLISH, SUBSCRIBE or UNSUBSCRIBE
    /// [MQTT-2.3.1-2]; it is taken when the request is accepted.
    fn free_id(&self) -> Result<PacketId, ClientError> {
        self.outbox.free_id(|id| self.requests.contains_key(&id)).ok_or(ClientError::NoPacketId)
    }

    /// Removes the request waiting on `pkid` if it is of `kind`; whether it was.
    fn take_request(&mut self, pkid: PacketId, kind: Request) -> bool {
        if self.requests.get(&pkid) != Some(&kind) {
            return false;
        }
        self.requests.remove(&pkid);
        true
    }

    /// Refuses requests the encoder would refuse, before they change any state: the packet id
    /// is taken only after it passes, so an invalid request does not shift the ids of the
    /// requests after it.
    fn check(&self, packet: &Packet) -> Result<(), ClientError> {
        packet.encode(&mut bytes::BytesMut::new(), crate::protocol::MAX_PACKET_SIZE)?;
        Ok(())
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

    /// The connection is over: pending SUBSCRIBE/UNSUBSCRIBE requests die with it; a clean
    /// session's state is discarded, a persistent one is kept for the next connection.
    fn went_away(&mut self, cause: Option<CloseCause>) {
        self.state = State::Disconnected;
        self.ping_sent = None;
        self.requests.clear();
        if self.options.clean_session {
            self.outbox.clear();
            self.incoming_qos2.clear();
        }
        self.events.push_back(ClientEvent::Disconnected { cause });
    }
}

/// How long to wait for CONNACK when keep alive is off.
const CONNACK_TIMEOUT: Duration = Duration::from_secs(30);
