//! Unit tests of the client session state machine against a scripted server on a virtual clock:
//! no sockets and no real time. Each test drives a [`ClientSession`] through a [`Harness`], plays
//! the server by feeding it packets, and asserts the exact packets the session asks the driver to
//! send (type, packet id, DUP, QoS, RETAIN, topic, payload, order), the transports it closes and
//! why, and the events the application sees. Every test names the normative statements of MQTT
//! 3.1.1 it checks, or says which choice it pins where the spec leaves one.
//!
//! One file per concern: `connect` (CONNECT, CONNACK, session present, refusals, protocol
//! violations, DISCONNECT), `ids` (packet identifiers, invalid requests), `qos` (QoS 0/1/2 in both
//! directions, acknowledgement order), `reconnect` (re-sends and the state kept or discarded across
//! connections), `keep_alive` (PINGREQ, PINGRESP and CONNACK timers), `manual` (a scripted
//! client's acknowledgements by hand, packets as given, pings stopped), `subscribe`
//! (SUBACK/UNSUBACK), `window` (the inflight window), `determinism`, and `v5` (what MQTT 5.0 adds,
//! citing its statements as `[MQTT5-x]`).

mod connect;
mod determinism;
mod ids;
mod keep_alive;
mod manual;
mod qos;
mod reconnect;
mod subscribe;
mod v5;
mod window;

use std::time::Duration;

use bytes::Bytes;

use super::{ClientAction, ClientError, ClientEvent, ClientOptions, ClientSession, CloseCause, Message};
use crate::protocol::{
    Connack, ConnectReturnCode, Packet, PacketId, Publish, QoS, Suback, SubackCode, SubscribeFilter,
};
use crate::time::Time;

pub(super) const Q0: QoS = QoS::AtMostOnce;
pub(super) const Q1: QoS = QoS::AtLeastOnce;
pub(super) const Q2: QoS = QoS::ExactlyOnce;

/// A client session and the virtual time its inputs carry. The test plays the server.
pub(super) struct Harness {
    pub session: ClientSession,
    pub now: Time,
}

impl Harness {
    /// A session that has not opened a transport yet.
    pub fn new(options: ClientOptions) -> Harness {
        Harness { session: ClientSession::new(options), now: Time::ZERO }
    }

    /// A session connected with `clean` and keep alive 0 (no timers), its CONNECT and the
    /// `Connected` event already checked and drained.
    pub fn connected(clean: bool) -> Harness {
        Harness::connected_with(opts("c", clean, 0))
    }

    /// As [`Harness::connected`], with the caller's options.
    pub fn connected_with(options: ClientOptions) -> Harness {
        let mut h = Harness::new(options);
        h.connect(false);
        assert_eq!(h.events(), vec![ClientEvent::Connected { session_present: false }]);
        h
    }

    /// Opens a transport, checks that CONNECT alone is sent, and answers with an accepting
    /// CONNACK. Returns what the CONNACK caused to be sent (the re-sends); events stay queued.
    pub fn connect(&mut self, session_present: bool) -> Vec<ClientAction> {
        let connect = Packet::Connect(self.session.options().connect_packet());
        assert_eq!(self.open(), vec![send(connect)], "CONNECT first and alone [MQTT-3.1.0-1]");
        self.feed(connack(session_present))
    }

    /// A transport is open; returns the actions (the CONNECT).
    pub fn open(&mut self) -> Vec<ClientAction> {
        self.session.handle_connected_transport(self.now);
        self.actions()
    }

    /// Feeds one packet from the server; returns the actions it caused.
    pub fn feed(&mut self, packet: Packet) -> Vec<ClientAction> {
        self.session.handle_packet(packet, self.now);
        self.actions()
    }

    /// The transport failed; returns the actions this caused (there should be none).
    pub fn lose(&mut self) -> Vec<ClientAction> {
        self.session.handle_connection_lost(self.now);
        self.actions()
    }

    /// The application publishes `payload` on `topic` with RETAIN 0. Actions stay queued.
    pub fn publish(&mut self, topic: &str, payload: &str, qos: QoS) -> Result<Option<PacketId>, ClientError> {
        self.session.publish(topic, Bytes::copy_from_slice(payload.as_bytes()), qos, false, self.now)
    }

    /// Publishes and checks that exactly this PUBLISH went out with the expected id.
    pub fn publish_ok(&mut self, topic: &str, payload: &str, qos: QoS, expect_pkid: u16) {
        let got = self.publish(topic, payload, qos);
        let want = if qos == Q0 { None } else { Some(pid(expect_pkid)) };
        assert_eq!(got, Ok(want), "publish {topic} {payload}");
        assert_eq!(self.actions(), vec![send(publish(topic, payload, qos, expect_pkid))]);
    }

    /// Subscribes to `filters`; actions stay queued.
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<PacketId, ClientError> {
        self.session.subscribe(filters_of(filters), self.now)
    }

    /// Unsubscribes from `filters`; actions stay queued.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<PacketId, ClientError> {
        self.session.unsubscribe(filters.iter().map(|f| (*f).to_owned()).collect(), self.now)
    }

    /// Moves the clock forward by `by`, calling `handle_timeout` at every deadline `poll_timeout`
    /// names on the way, exactly when it falls due, as a driver's timer would. Returns the actions.
    pub fn advance(&mut self, by: Duration) -> Vec<ClientAction> {
        let target = self.now + by;
        while let Some(at) = self.session.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.session.handle_timeout(self.now);
            // A deadline that handling does not move would make a driver's timer spin.
            let next = self.session.poll_timeout();
            assert!(next.is_none_or(|t| t > self.now), "handle_timeout at {} left the deadline {next:?}", self.now);
        }
        self.now = target;
        self.actions()
    }

    /// Moves the clock to `at` (milliseconds since the epoch), as [`Harness::advance`].
    pub fn advance_to(&mut self, at_ms: u64) -> Vec<ClientAction> {
        let target = Time::from_millis(at_ms);
        assert!(target >= self.now, "time runs forward");
        self.advance(target - self.now)
    }

    pub fn actions(&mut self) -> Vec<ClientAction> {
        std::iter::from_fn(|| self.session.poll_action()).collect()
    }

    pub fn events(&mut self) -> Vec<ClientEvent> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    /// Our unacknowledged publications as (packet id, topic), in send order.
    pub fn unacknowledged(&self) -> Vec<(u16, String)> {
        self.session.unacknowledged().map(|(id, t)| (id.get(), t.to_owned())).collect()
    }

    /// Checks that nothing is queued: no action and no event.
    pub fn assert_quiet(&mut self) {
        assert_eq!(self.actions(), vec![], "no action expected");
        assert_eq!(self.events(), vec![], "no event expected");
    }
}

// Builders, so expected values read like the wire.

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn at(ms: u64) -> Time {
    Time::from_millis(ms)
}

pub(super) fn pid(n: u16) -> PacketId {
    PacketId::new(n).expect("test packet ids are non-zero")
}

/// Options with no will and no credentials.
pub(super) fn opts(client_id: &str, clean: bool, keep_alive: u16) -> ClientOptions {
    ClientOptions { keep_alive, ..ClientOptions::new(client_id, clean) }
}

/// A PUBLISH with DUP 0 and RETAIN 0; `pkid` is ignored for QoS 0.
pub(super) fn publish(topic: &str, payload: &str, qos: QoS, pkid: u16) -> Packet {
    let pkid = if qos == Q0 { None } else { Some(pid(pkid)) };
    Packet::Publish(Publish::new(topic, qos, Bytes::copy_from_slice(payload.as_bytes()), false, pkid))
}

/// Flag setters for a PUBLISH built by [`publish`].
pub(super) trait PublishFlags {
    fn dup(self) -> Packet;
    fn retain(self) -> Packet;
}

impl PublishFlags for Packet {
    fn dup(self) -> Packet {
        match self {
            Packet::Publish(p) => Packet::Publish(Publish { dup: true, ..p }),
            other => panic!("dup() on {other:?}"),
        }
    }

    fn retain(self) -> Packet {
        match self {
            Packet::Publish(p) => Packet::Publish(Publish { retain: true, ..p }),
            other => panic!("retain() on {other:?}"),
        }
    }
}

pub(super) fn puback(n: u16) -> Packet {
    Packet::puback(pid(n))
}

pub(super) fn pubrec(n: u16) -> Packet {
    Packet::pubrec(pid(n))
}

pub(super) fn pubrel(n: u16) -> Packet {
    Packet::pubrel(pid(n))
}

pub(super) fn pubcomp(n: u16) -> Packet {
    Packet::pubcomp(pid(n))
}

pub(super) fn filters_of(filters: &[(&str, QoS)]) -> Vec<SubscribeFilter> {
    filters.iter().map(|&(f, qos)| SubscribeFilter::new(f.to_owned(), qos)).collect()
}

/// A SUBACK with these return codes, in order.
pub(super) fn suback(pkid: u16, codes: &[SubackCode]) -> Packet {
    Packet::Suback(Suback::new(pid(pkid), codes.to_vec()))
}

pub(super) fn connack(session_present: bool) -> Packet {
    Packet::Connack(Connack::accepted(session_present))
}

/// A refusing CONNACK: session present is always 0 [MQTT-3.2.2-4].
pub(super) fn refused(code: ConnectReturnCode) -> Packet {
    Packet::Connack(Connack::refused(code))
}

pub(super) fn send(packet: Packet) -> ClientAction {
    ClientAction::Send(packet)
}

pub(super) fn close(cause: CloseCause) -> ClientAction {
    ClientAction::Close(cause)
}

pub(super) fn violation(what: &'static str) -> CloseCause {
    CloseCause::ProtocolViolation(what)
}

pub(super) fn disconnected(cause: Option<CloseCause>) -> ClientEvent {
    ClientEvent::Disconnected { cause }
}

/// The event for a message handed to the application.
pub(super) fn message(topic: &str, payload: &str, qos: QoS, retain: bool, dup: bool) -> ClientEvent {
    ClientEvent::Message(Message {
        topic: topic.to_owned(),
        payload: Bytes::copy_from_slice(payload.as_bytes()),
        qos,
        retain,
        dup,
        properties: Default::default(),
    })
}

pub(super) fn published(n: u16) -> ClientEvent {
    ClientEvent::Published { pkid: pid(n), reason: crate::protocol::ReasonCode::SUCCESS }
}
