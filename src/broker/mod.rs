//! The broker as a sans-IO state machine: it owns sessions, subscriptions, retained messages,
//! queues and timers, and never performs IO, reads a clock, spawns a thread or draws a random
//! number. The same value serves real TCP (`net/`) and the simulation (`sim/`).
//!
//! # Call order
//! A driver feeds events in and drains outputs, in a fixed loop:
//! 1. `handle_connection_opened(now)` for a new connection, `handle_packet(conn, packet, now)` for
//!    each decoded packet, `handle_decode_error(conn, err, now)` when bytes do not decode,
//!    `handle_connection_lost(conn, now)` when the transport closes, and `handle_timeout(now)` once
//!    the deadline from `poll_timeout` has passed;
//! 2. then drain `poll_action()` until `None`, in order: send each packet on its connection, close
//!    each closed connection after what was queued for it before;
//! 3. drain `poll_event()` for logs and traces (optional, but it is a bounded queue only if drained);
//! 4. arm a timer for `poll_timeout()`.
//!
//! `now` never goes backwards. Output order is deterministic: equal inputs give equal outputs.
//!
//! # Slow readers
//! The broker performs no IO, so it cannot see a socket fill up; the driver tells it. A driver
//! that can count may call `handle_backlog(conn, pending)` whenever the number of packets it was
//! asked to send on `conn` and has not yet written changes (after each write, say). From the first
//! report on, the broker counts its own sends on top of the last report, and while that backlog is
//! at `max_queued_messages` or more (when non-zero) it treats the client as slow, as mosquitto does
//! with its per-client outgoing packet queue: QoS 0 messages for it are dropped
//! (`DropReason::SlowClient`, counted and reported as `Event::Dropped`), and QoS 1/2 messages are
//! no longer moved into the inflight window but wait in the session's queue, within
//! `max_queued_messages`/`max_queued_bytes`, until a later report shows the backlog draining. So a
//! subscriber that stops reading costs at most the backlog limit in packets plus the session's
//! queue limits, and nothing acknowledged to a publisher is lost except by those counted drops.
//! Answers to the client's own packets (PUBACK, SUBACK, PINGRESP, ...) are always sent: a driver
//! that stops reading while its writes are stuck bounds those. A driver that never reports leaves
//! the limit off, which is the behaviour of the unit tests.

mod config;
mod connect;
mod consistency;
mod deliver;
pub mod persist;
mod retained;
mod session;
mod subscribe;
mod subscriptions;
mod v5;
mod view;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) use tests::persist::sample_image as persist_image_for_test;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::protocol::{
    ConnackCode, ConnectReturnCode, DecodeError, Disconnect, LastWill, Packet, PacketId, QoS, ReasonCode, Version,
};
use crate::qos::Ack;
use crate::time::Time;

pub use crate::qos::OutState;
pub use config::{
    ConfFile, Config, ConfigError, ListenerConf, OnDamage, Qos2Delivery, SUPPORTED as SUPPORTED_CONF_OPTIONS,
};
pub use persist::{Image, ImageError};
pub use session::{DropReason, Expiry};
pub use view::{BrokerView, InflightView, MessageView, RetainedView, SessionView};

use retained::RetainedStore;
use session::Session;
use subscriptions::SubscriptionTree;

/// Identifies one network connection for the lifetime of the broker; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Something the driver must do on the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this packet to the connection.
    Send { conn: ConnId, packet: Packet },
    /// Close the connection, after writing everything sent to it before.
    Close { conn: ConnId, reason: CloseReason },
}

/// Why the broker closed, or stopped serving, a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The client sent DISCONNECT.
    ClientDisconnected,
    /// The transport closed or failed without a DISCONNECT.
    ConnectionLost,
    /// Bytes that are not a valid packet [MQTT-4.8.0-1].
    Malformed(DecodeError),
    /// A valid packet that breaks the protocol where it was sent [MQTT-4.8.0-1].
    ProtocolViolation(&'static str),
    /// No packet within 1.5 times the keep alive [MQTT-3.1.2-24].
    KeepAliveTimeout,
    /// No CONNECT within `connect_timeout`.
    ConnectTimeout,
    /// Another connection connected with the same client id [MQTT-3.1.4-2].
    TakenOver,
    /// CONNECT was refused with this CONNACK return code.
    Refused(ConnackCode),
    /// `max_connections` was reached.
    TooManyConnections,
    /// A QoS 2 PUBLISH with a packet id not already awaiting PUBREL arrived while `limit`
    /// (`max_inflight_messages`) messages from this client awaited PUBREL. It was neither
    /// acknowledged nor stored nor forwarded, so nothing acknowledged was lost: a persistent
    /// client re-sends it after reconnecting. A transient error closes the connection
    /// [MQTT-4.8.0-2].
    IncomingWindowFull { pkid: PacketId, topic: String, limit: usize },
    /// A topic name (of a PUBLISH or a will) with more levels than `topic::MAX_LEVELS`, which
    /// our broker, like mosquitto, does not accept; 3.1.1 has no way to refuse a PUBLISH but to
    /// close the connection.
    TopicTooDeep { levels: usize },
    /// A 5.0 packet that breaks a 5.0 rule or asks for what this broker does not offer; the
    /// client is sent DISCONNECT with `code` first.
    V5Violation { why: &'static str, code: ReasonCode },
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::ClientDisconnected => write!(f, "client sent DISCONNECT"),
            CloseReason::ConnectionLost => write!(f, "connection lost"),
            CloseReason::Malformed(e) => write!(f, "malformed packet: {e}"),
            CloseReason::ProtocolViolation(what) => write!(f, "protocol violation: {what}"),
            CloseReason::KeepAliveTimeout => write!(f, "keep alive expired [MQTT-3.1.2-24]"),
            CloseReason::ConnectTimeout => write!(f, "no CONNECT in time"),
            CloseReason::TakenOver => write!(f, "session taken over by a new connection [MQTT-3.1.4-2]"),
            CloseReason::Refused(ConnackCode::V311(code)) => write!(f, "CONNECT refused: {code:?}"),
            CloseReason::Refused(ConnackCode::V5(code)) => write!(f, "CONNECT refused: {code} ({})", code.name()),
            CloseReason::TooManyConnections => write!(f, "max_connections reached"),
            CloseReason::IncomingWindowFull { pkid, topic, limit } => write!(
                f,
                "incoming QoS 2 window full (max_inflight_messages {limit}): PUBLISH {pkid} to {topic:?} refused, \
                 not acknowledged [MQTT-4.8.0-2]"
            ),
            CloseReason::V5Violation { why, code } => write!(f, "{why} (DISCONNECT {code})"),
            CloseReason::TopicTooDeep { levels } => write!(
                f,
                "topic name of {levels} levels refused: more than {} (as mosquitto)",
                crate::topic::MAX_LEVELS
            ),
        }
    }
}

/// Something that happened inside the broker, for logs and traces. Nothing needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A CONNECT was accepted. `session_present` says whether a stored session was resumed; the
    /// CONNACK carries it to 3.1.1 clients only.
    Connected { conn: ConnId, client_id: String, clean_session: bool, session_present: bool },
    /// A connection left the broker (its session, if persistent, stays).
    Disconnected { conn: ConnId, client_id: Option<String>, reason: CloseReason },
    /// A session's state was discarded (clean session) [MQTT-3.1.2-6].
    SessionDiscarded { client_id: String },
    /// Reported by the driver, not the core: the broker runs in durable mode, so what it
    /// acknowledges was synced to its log first and survives a crash.
    Durable,
    /// Reported by the driver: the lasting state was written to the persistence file (an
    /// autosave, or a clean shutdown), with this many sessions, queued or in-flight messages and
    /// retained messages. What comes after it is lost by a crash until the next save.
    Saved { sessions: usize, messages: usize, retained: usize },
    /// Reported by the driver: durable mode folded its log, of this many commits, into a new
    /// snapshot.
    Compacted { commits: u64 },
    /// Reported by the driver when it starts: durable mode's log ended in a damaged commit (one
    /// a crash cut short, or one corrupted), and was cut back to its first `at` bytes, dropping
    /// `dropped`. Such a commit was never synced, so nothing it held was acknowledged.
    /// `problem` names the file and what was wrong at that byte.
    LogRepaired { at: u64, dropped: u64, problem: String },
    /// A session was restored from the persistence file when the broker started, offline, with
    /// these subscriptions (filter, granted QoS) and this many messages queued, in flight, or
    /// received at QoS 2 and waiting for their PUBREL.
    SessionRestored { client_id: String, subscriptions: Vec<(String, QoS)>, messages: usize },
    /// A will message was published [MQTT-3.1.2-8].
    WillPublished { client_id: String, topic: String },
    /// A message was not queued for a session.
    Dropped { client_id: String, topic: String, qos: QoS, reason: DropReason },
    /// A client's PUBLISH was answered but not taken (`message_size_limit`, say); a 5.0 client
    /// was told `reason`.
    PublishRefused { client_id: String, topic: String, reason: ReasonCode },
    /// A will with a Will Delay Interval waits in its session until the delay passes or the
    /// session ends [MQTT5-3.1.2-8].
    WillDelayed { client_id: String, topic: String, until: Time },
    /// A delayed will was not published: its client connected again in time [MQTT5-3.1.3-9].
    WillCancelled { client_id: String, topic: String },
    /// A client sent a QoS 1 or 2 PUBLISH whose packet id still held a different QoS 2 message
    /// awaiting PUBREL (a publisher restarted without its state, say). Not a re-send
    /// [MQTT-4.3.3-2] but a new message: the held one, acknowledged with PUBREC but never
    /// released, is discarded and the new one handled as any new PUBLISH (at QoS 2 it takes the
    /// held one's place), as mosquitto does ("Reused message ID ... Clearing from storage").
    IncomingPacketIdReused { client_id: String, pkid: PacketId, replaced_topic: String, topic: String },
}

/// Per-connection state.
#[derive(Debug)]
struct Connection {
    opened: Time,
    last_packet: Time,
    /// The client id once CONNECT was accepted.
    client_id: Option<String>,
    /// 1.5 times the keep alive, if the client asked for one.
    keep_alive_limit: Option<Duration>,
    will: Option<LastWill>,
    /// Packets sent and not yet written: the driver's last report plus what was sent since.
    /// `None` until the driver reports, which leaves the slow-reader limit off.
    backlog: Option<usize>,
    /// The deadline this connection has in `Broker::timers`, if any: its one entry there, kept
    /// here so that re-arming or closing removes exactly that entry.
    timer: Option<Time>,
    /// The protocol version of its CONNECT: what the broker sends it is built for this version.
    version: Version,
    /// The Session Expiry Interval its CONNECT asked for (5.0; 0 when absent), which decides
    /// whether its DISCONNECT may set a new one (section 3.14.2.2.2).
    connect_expiry: u32,
    /// The Receive Maximum its CONNECT announced (5.0; 65,535 when absent): the most QoS 1/2
    /// deliveries it may have unacknowledged [MQTT5-3.3.4-9].
    receive_maximum: u16,
    /// The Maximum Packet Size its CONNECT announced (5.0), if any [MQTT5-3.1.2-24].
    max_packet_size: Option<u32>,
    /// Its Request Problem Information (5.0; true when absent): whether reason strings may be
    /// sent on packets other than PUBLISH, CONNACK and DISCONNECT [MQTT5-3.1.2-29].
    problem_information: bool,
    /// The topic aliases it set, for this connection only [MQTT5-3.3.2-7].
    aliases: BTreeMap<u16, String>,
}

/// The broker. See the module docs for the call order.
#[derive(Debug)]
pub struct Broker {
    config: Config,
    connections: BTreeMap<ConnId, Connection>,
    sessions: BTreeMap<String, Session>,
    subscriptions: SubscriptionTree,
    retained: RetainedStore,
    /// Deadlines to look at: connect timeouts and keep-alive checks. At most one entry per open
    /// connection (the one its `Connection::timer` names) and none for a closed one, so the set
    /// stays as small as the connection table under any churn. A keep-alive entry may be early
    /// (packets since pushed the deadline back); `handle_timeout` re-checks before acting.
    timers: BTreeSet<(Time, ConnId)>,
    /// When offline sessions with a finite expiry are discarded [MQTT5-4.1.0-2]: one entry per
    /// such session, the one its `Session::expires_at` names.
    session_timers: BTreeSet<(Time, String)>,
    /// When delayed wills are published [MQTT5-3.1.2-8]: one entry per session holding one,
    /// the one its `Session::will_at` names.
    will_timers: BTreeSet<(Time, String)>,
    /// The latest time handed in: what a call without a `now` of its own (`handle_backlog`)
    /// counts message expiry from. Input, like every `now`, so runs replay exactly.
    now: Time,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
    next_conn: u64,
    next_auto_id: u64,
    /// What persistence's `autosave_on_changes` counts, as mosquitto does: subscription
    /// changes, retained messages received, and messages queued for a session.
    changes: u64,
}

impl Broker {
    pub fn new(config: Config) -> Broker {
        Broker {
            subscriptions: SubscriptionTree::for_config(&config),
            config,
            connections: BTreeMap::new(),
            sessions: BTreeMap::new(),
            retained: RetainedStore::default(),
            timers: BTreeSet::new(),
            session_timers: BTreeSet::new(),
            will_timers: BTreeSet::new(),
            now: Time::ZERO,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            next_conn: 1,
            next_auto_id: 1,
            changes: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many sessions the broker holds, connected or not.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The changes persistence's `autosave_on_changes` counts (see `changes`), since start.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// A transport connection was accepted. Returns its id for the calls that follow. If
    /// `max_connections` is reached, a `Close` action for it is queued at once.
    #[must_use]
    pub fn handle_connection_opened(&mut self, now: Time) -> ConnId {
        self.now = self.now.max(now);
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        if self.config.max_connections.is_some_and(|max| self.connections.len() >= max) {
            self.actions.push_back(Action::Close { conn, reason: CloseReason::TooManyConnections });
            return conn;
        }
        self.connections.insert(
            conn,
            Connection {
                opened: now,
                last_packet: now,
                client_id: None,
                keep_alive_limit: None,
                will: None,
                backlog: None,
                timer: None,
                version: Version::V311,
                connect_expiry: 0,
                receive_maximum: u16::MAX,
                max_packet_size: None,
                problem_information: true,
                aliases: BTreeMap::new(),
            },
        );
        self.set_timer(conn, self.config.connect_timeout.map(|timeout| now + timeout));
        conn
    }

    /// A packet arrived on `conn`. Packets for a connection the broker already closed are ignored.
    pub fn handle_packet(&mut self, conn: ConnId, packet: Packet, now: Time) {
        self.now = self.now.max(now);
        let Some(c) = self.connections.get_mut(&conn) else {
            return;
        };
        c.last_packet = now;
        let Some(client_id) = c.client_id.clone() else {
            match packet {
                Packet::Connect(connect) => self.handle_connect(conn, connect, now),
                _ => self.violation(conn, "first packet is not CONNECT [MQTT-3.1.0-1]", now),
            }
            return;
        };
        match packet {
            Packet::Connect(_) => self.violation(conn, "second CONNECT [MQTT-3.1.0-2]", now),
            Packet::Publish(publish) => self.handle_publish(conn, &client_id, publish, now),
            Packet::Puback(a) => self.handle_ack(conn, &client_id, Ack::Puback(a.id)),
            // A 5.0 PUBREC of 0x80 or more refuses the message: no PUBREL [MQTT5-4.3.3-4].
            Packet::Pubrec(a) if !a.reason.is_success() => self.handle_ack(conn, &client_id, Ack::PubrecFailed(a.id)),
            Packet::Pubrec(a) => self.handle_ack(conn, &client_id, Ack::Pubrec(a.id)),
            Packet::Pubrel(a) => self.handle_pubrel(conn, &client_id, a.id),
            Packet::Pubcomp(a) => self.handle_ack(conn, &client_id, Ack::Pubcomp(a.id)),
            Packet::Subscribe(subscribe) => self.handle_subscribe(conn, &client_id, subscribe, now),
            Packet::Unsubscribe(unsubscribe) => self.handle_unsubscribe(conn, &client_id, unsubscribe),
            Packet::Pingreq => self.send(conn, Packet::Pingresp), // [MQTT-3.12.4-1]
            Packet::Disconnect(d) => self.handle_disconnect(conn, &client_id, d, now),
            Packet::Connack(_) | Packet::Suback(_) | Packet::Unsuback(_) | Packet::Pingresp => {
                self.violation(conn, "client sent a packet only a server may send", now)
            }
            // No authentication method is offered, so no AUTH exchange can be under way
            // [MQTT5-4.12.0-6]; the decoder refuses AUTH on a 3.1.1 connection.
            Packet::Auth(_) => self.violation(conn, "AUTH without an authentication method", now),
        }
    }

    /// Bytes on `conn` did not decode. The connection is closed [MQTT-4.8.0-1]; an unsupported
    /// protocol level in CONNECT is first answered with CONNACK 0x01 [MQTT-3.1.2-2].
    pub fn handle_decode_error(&mut self, conn: ConnId, err: DecodeError, now: Time) {
        self.now = self.now.max(now);
        let Some(c) = self.connections.get(&conn) else {
            return;
        };
        if c.client_id.is_none() && matches!(err, DecodeError::UnsupportedProtocolLevel(_)) {
            self.refuse(conn, ConnectReturnCode::UnacceptableProtocolVersion, now);
            return;
        }
        self.close(conn, CloseReason::Malformed(err), true, true, now);
    }

    /// The transport of `conn` closed without the broker asking. Publishes the will unless the
    /// client sent DISCONNECT first [MQTT-3.1.2-8].
    pub fn handle_connection_lost(&mut self, conn: ConnId, now: Time) {
        self.now = self.now.max(now);
        self.close(conn, CloseReason::ConnectionLost, true, false, now);
    }

    /// `pending` packets the broker asked to send on `conn` are still waiting to be written (see
    /// "Slow readers" in the module docs). Once the backlog is below the limit again, queued
    /// messages move into the inflight window.
    pub fn handle_backlog(&mut self, conn: ConnId, pending: usize) {
        let Some(c) = self.connections.get_mut(&conn) else {
            return;
        };
        c.backlog = Some(pending);
        if let Some(client_id) = c.client_id.clone() {
            self.fill_window(&client_id);
        }
    }

    /// Time has reached a deadline returned by `poll_timeout`.
    pub fn handle_timeout(&mut self, now: Time) {
        self.now = self.now.max(now);
        self.publish_delayed_wills(now);
        self.expire_sessions(now);
        while let Some(&(at, conn)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            // `close` removes a connection's entry, so the connection is open; the check costs
            // nothing and keeps a bug here from panicking the broker.
            let Some(c) = self.connections.get_mut(&conn) else {
                continue;
            };
            c.timer = None;
            let (deadline, reason, will) = match (&c.client_id, c.keep_alive_limit) {
                // Only the connect timeout is armed before CONNECT.
                (None, _) => match self.config.connect_timeout {
                    Some(timeout) => (c.opened + timeout, CloseReason::ConnectTimeout, false),
                    None => continue,
                },
                // Treated as a network failure: the will is published [MQTT-3.1.2-24].
                (Some(_), Some(limit)) => (c.last_packet + limit, CloseReason::KeepAliveTimeout, true),
                (Some(_), None) => continue,
            };
            if now >= deadline {
                self.close(conn, reason, will, true, now);
            } else {
                self.set_timer(conn, Some(deadline));
            }
        }
    }

    /// The next thing to do on the network, in order.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for logs and traces, in order.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When `handle_timeout` must next be called, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Time> {
        let connections = self.timers.first().map(|&(at, _)| at);
        let sessions = self.session_timers.first().map(|(at, _)| *at);
        let wills = self.will_timers.first().map(|(at, _)| *at);
        connections.into_iter().chain(sessions).chain(wills).min()
    }

    /// Arms the one timer entry of `conn` at `at`, or disarms it with `None`, removing the entry
    /// it had before.
    fn set_timer(&mut self, conn: ConnId, at: Option<Time>) {
        let Some(c) = self.connections.get_mut(&conn) else {
            return;
        };
        if let Some(old) = std::mem::replace(&mut c.timer, at) {
            self.timers.remove(&(old, conn));
        }
        if let Some(at) = at {
            self.timers.insert((at, conn));
        }
    }

    fn send(&mut self, conn: ConnId, packet: Packet) {
        push_send(&mut self.actions, &mut self.connections, conn, packet);
    }

    /// The protocol version `conn` speaks (3.1.1 before its CONNECT).
    fn version(&self, conn: ConnId) -> Version {
        self.connections.get(&conn).map_or(Version::V311, |c| c.version)
    }

    /// How many more packets `conn` may be sent before it counts as a slow reader; `usize::MAX`
    /// when the driver does not report a backlog or `max_queued_messages` is 0.
    fn send_budget(&self, conn: ConnId) -> usize {
        let limit = self.config.max_queued_messages;
        match self.connections.get(&conn).and_then(|c| c.backlog) {
            Some(pending) if limit > 0 => limit.saturating_sub(pending),
            _ => usize::MAX,
        }
    }

    /// Closes `conn` for a protocol violation [MQTT-4.8.0-1]; the will is published.
    fn violation(&mut self, conn: ConnId, what: &'static str, now: Time) {
        self.close(conn, CloseReason::ProtocolViolation(what), true, true, now);
    }

    /// Detaches `conn` from the broker: publishes its will if asked and one is stored, takes its
    /// session offline (discarding it if clean [MQTT-3.1.2-6]), and queues a `Close` action if the
    /// broker is the one closing.
    fn close(&mut self, conn: ConnId, reason: CloseReason, publish_will: bool, emit_close: bool, now: Time) {
        let Some(c) = self.connections.remove(&conn) else {
            return;
        };
        if let Some(at) = c.timer {
            self.timers.remove(&(at, conn));
        }
        if emit_close {
            // A 5.0 client is told why, once it has had its CONNACK [MQTT5-3.14.0-1].
            if let (Version::V5, Some(_), Some(code)) = (c.version, &c.client_id, reason.disconnect_code()) {
                // With a reason string, which DISCONNECT may always carry [MQTT5-3.1.2-29].
                let mut disconnect = Disconnect::with_reason(code);
                disconnect.properties.push(crate::protocol::Property::ReasonString(reason.to_string()));
                let mut packet = Packet::Disconnect(disconnect);
                if let Some(max) = c.max_packet_size {
                    fit_reason_string(&mut packet, c.version, max as usize);
                }
                self.actions.push_back(Action::Send { conn, packet });
            }
            self.actions.push_back(Action::Close { conn, reason: reason.clone() });
        }
        self.events.push_back(Event::Disconnected { conn, client_id: c.client_id.clone(), reason });
        let Some(client_id) = c.client_id else {
            return;
        };
        let expiry = match self.sessions.get_mut(&client_id) {
            Some(session) if session.conn == Some(conn) => {
                session.conn = None;
                Some(session.expiry)
            }
            _ => None,
        };
        match expiry {
            Some(Expiry::AtClose) => self.discard_session(&client_id),
            Some(Expiry::After(seconds)) => {
                self.arm_session_expiry(&client_id, now + Duration::from_secs(seconds.into()))
            }
            // mosquitto's `persistent_client_expiration` ends even the sessions that would
            // never expire (3.1.1 clean session 0, 5.0's 0xFFFFFFFF).
            Some(Expiry::Never) => {
                if let Some(after) = self.config.persistent_client_expiration {
                    self.arm_session_expiry(&client_id, now + after)
                }
            }
            None => {}
        }
        // Published now, or when its delay passes if the session outlives the connection
        // [MQTT5-3.1.2-8]; a session that ended above has none.
        if let (true, Some(will)) = (publish_will, c.will) {
            self.publish_or_delay_will(&client_id, will, now);
        }
    }

    /// Removes a session and all its subscriptions. A will still waiting for its delay is
    /// published now: the session ends [MQTT5-3.1.2-8].
    fn discard_session(&mut self, client_id: &str) {
        let will = self.take_delayed_will(client_id);
        if let Some(session) = self.sessions.remove(client_id) {
            if let Some(at) = session.expires_at {
                self.session_timers.remove(&(at, client_id.to_owned()));
            }
            for (filter, options) in &session.subscriptions {
                self.subscriptions.remove(filter, options.shared, client_id);
            }
            self.events.push_back(Event::SessionDiscarded { client_id: client_id.to_owned() });
        }
        if let Some(will) = will {
            self.publish_will(client_id, will);
        }
    }

    /// The backlog of `conn` as the broker counts it, if the driver reports one.
    pub fn backlog(&self, conn: ConnId) -> Option<usize> {
        self.connections.get(&conn).and_then(|c| c.backlog)
    }

    /// The read-only view of the whole state, in a deterministic order.
    pub fn inspect(&self) -> BrokerView {
        view::build(self)
    }
}

/// Queues a `Send` and counts it in the connection's backlog. A free function, so callers holding
/// a session borrowed from `Broker::sessions` can use it.
fn push_send(
    actions: &mut VecDeque<Action>,
    connections: &mut BTreeMap<ConnId, Connection>,
    conn: ConnId,
    packet: Packet,
) {
    let Some(c) = connections.get_mut(&conn) else {
        actions.push_back(Action::Send { conn, packet });
        return;
    };
    if let Some(backlog) = c.backlog.as_mut() {
        *backlog += 1;
    }
    // A 3.1.1 subscriber gets a 5.0 publisher's message without its properties, which 3.1.1
    // cannot carry.
    let mut packet = packet;
    if let (Version::V311, Packet::Publish(p)) = (c.version, &mut packet) {
        p.properties = Default::default();
    }
    if let Some(max) = c.max_packet_size {
        fit_reason_string(&mut packet, c.version, max as usize);
    }
    actions.push_back(Action::Send { conn, packet });
}

/// Leaves out the reason string and user properties of a packet other than PUBLISH that would
/// otherwise pass the client's Maximum Packet Size, as the spec says for each packet
/// [MQTT5-3.2.2-19] [MQTT5-3.2.2-20] [MQTT5-3.4.2-2] [MQTT5-3.4.2-3] [MQTT5-3.14.2-3]
/// [MQTT5-3.14.2-4]. (A PUBLISH too large is dropped before it gets here, and a CONNACK too
/// large even without them refused before it is built.)
fn fit_reason_string(packet: &mut Packet, version: Version, max: usize) {
    if matches!(packet, Packet::Publish(_)) || packet.size(version).is_none_or(|size| size <= max) {
        return;
    }
    if let Some(properties) = packet.properties_mut() {
        properties.remove(crate::protocol::properties::id::REASON_STRING);
        properties.remove(crate::protocol::properties::id::USER_PROPERTY);
    }
}
