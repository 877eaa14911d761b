//! A small bench for the 5.0 conformance tests (`broker_v5_*.rs`, `client_v5_rules.rs`): the
//! broker and the client state machines driven on a virtual clock through their public API, no
//! sockets, and builders for the 5.0 packets a test feeds them. It asserts nothing a test did not
//! ask for, so each test's assertions are what observes a statement.

#![allow(dead_code)] // each test binary uses its own subset

use std::time::Duration;

use bytes::Bytes;
use mqtt_sim::broker::{Action, Broker, CloseReason, Config, ConnId};
use mqtt_sim::client::{ClientAction, ClientEvent, ClientOptions, ClientSession};
use mqtt_sim::protocol::{
    Ack, Connack, Connect, Disconnect, Packet, PacketId, Properties, Property, Publish, QoS, ReasonCode, Subscribe,
    SubscribeFilter, Unsubscribe,
};
use mqtt_sim::time::Time;

pub const Q0: QoS = QoS::AtMostOnce;
pub const Q1: QoS = QoS::AtLeastOnce;
pub const Q2: QoS = QoS::ExactlyOnce;

pub fn pid(n: u16) -> PacketId {
    PacketId::new(n).expect("test packet ids are non-zero")
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A 5.0 CONNECT, keep alive 0, with a Session Expiry Interval when `expiry` is above 0.
pub fn connect5(id: &str, clean_start: bool, expiry: u32) -> Connect {
    let mut c = Connect::v5(id, clean_start, 0);
    if expiry > 0 {
        c.properties.push(Property::SessionExpiryInterval(expiry));
    }
    c
}

/// A 5.0 PUBLISH, DUP 0 and RETAIN 0, no properties; `pkid` is ignored for QoS 0.
pub fn publish(topic: &str, payload: &str, qos: QoS, pkid: u16) -> Publish {
    let pkid = (qos != QoS::AtMostOnce).then(|| pid(pkid));
    Publish::new(topic, qos, Bytes::copy_from_slice(payload.as_bytes()), false, pkid)
}

pub fn subscribe(pkid: u16, filters: Vec<SubscribeFilter>) -> Packet {
    Packet::Subscribe(Subscribe::new(pid(pkid), filters))
}

pub fn filter(f: &str, qos: QoS) -> SubscribeFilter {
    SubscribeFilter::new(f, qos)
}

pub fn unsubscribe(pkid: u16, filters: &[&str]) -> Packet {
    Packet::Unsubscribe(Unsubscribe::new(pid(pkid), filters.iter().map(|f| (*f).to_owned()).collect()))
}

pub fn puback(n: u16) -> Packet {
    Packet::puback(pid(n))
}

pub fn pubrec(n: u16) -> Packet {
    Packet::pubrec(pid(n))
}

pub fn pubrel(n: u16) -> Packet {
    Packet::pubrel(pid(n))
}

pub fn pubcomp(n: u16) -> Packet {
    Packet::pubcomp(pid(n))
}

/// An acknowledgement of type `make` (`Packet::Puback`, ...) with a reason code.
pub fn ack_with(make: fn(Ack) -> Packet, n: u16, reason: ReasonCode) -> Packet {
    make(Ack::with_reason(pid(n), reason))
}

pub fn user_property(k: &str, v: &str) -> Property {
    Property::UserProperty((k.to_owned(), v.to_owned()))
}

/// The broker on a virtual clock.
pub struct BrokerBench {
    pub broker: Broker,
    pub now: Time,
}

impl BrokerBench {
    pub fn new() -> BrokerBench {
        BrokerBench::with(Config::default())
    }

    pub fn with(config: Config) -> BrokerBench {
        BrokerBench { broker: Broker::new(config), now: Time::ZERO }
    }

    pub fn open(&mut self) -> ConnId {
        self.broker.handle_connection_opened(self.now)
    }

    /// Feeds one packet from `conn`; returns every action it caused.
    pub fn send(&mut self, conn: ConnId, packet: Packet) -> Vec<Action> {
        self.broker.handle_packet(conn, packet, self.now);
        self.drain()
    }

    pub fn publish(&mut self, conn: ConnId, publish: Publish) -> Vec<Action> {
        self.send(conn, Packet::Publish(publish))
    }

    /// Opens a connection and sends `connect`; returns the connection and what it caused.
    pub fn connect(&mut self, connect: Connect) -> (ConnId, Vec<Action>) {
        let conn = self.open();
        let actions = self.send(conn, Packet::Connect(connect));
        (conn, actions)
    }

    /// Connects with `connect` and panics unless the CONNACK accepts it.
    pub fn client_with(&mut self, connect: Connect) -> ConnId {
        let (conn, actions) = self.connect(connect);
        match actions.first() {
            Some(Action::Send { packet: Packet::Connack(ack), .. }) if ack.code.is_success() => conn,
            _ => panic!("CONNECT was not accepted: {actions:?}"),
        }
    }

    /// A 5.0 client with Clean Start 1 and no session expiry.
    pub fn client(&mut self, id: &str) -> ConnId {
        self.client_with(connect5(id, true, 0))
    }

    /// Subscribes `conn` and returns what followed the SUBACK, checking the SUBACK is first.
    pub fn subscribed(&mut self, conn: ConnId, pkid: u16, filters: Vec<SubscribeFilter>) -> Vec<Action> {
        let mut actions = self.send(conn, subscribe(pkid, filters));
        assert!(
            matches!(actions.first(), Some(Action::Send { packet: Packet::Suback(s), .. }) if s.pkid == pid(pkid)),
            "SUBACK first: {actions:?}"
        );
        actions.remove(0);
        actions
    }

    pub fn lost(&mut self, conn: ConnId) -> Vec<Action> {
        self.broker.handle_connection_lost(conn, self.now);
        self.drain()
    }

    /// Moves the clock on by `by`, calling `handle_timeout` at each deadline on the way.
    pub fn advance(&mut self, by: Duration) -> Vec<Action> {
        let target = self.now + by;
        while let Some(at) = self.broker.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.broker.handle_timeout(self.now);
        }
        self.now = target;
        self.drain()
    }

    pub fn drain(&mut self) -> Vec<Action> {
        while self.broker.poll_event().is_some() {}
        std::iter::from_fn(|| self.broker.poll_action()).collect()
    }
}

impl Default for BrokerBench {
    fn default() -> Self {
        BrokerBench::new()
    }
}

/// The packets `actions` send to `conn`, in order.
pub fn to(actions: &[Action], conn: ConnId) -> Vec<Packet> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { conn: c, packet } if *c == conn => Some(packet.clone()),
            _ => None,
        })
        .collect()
}

/// The PUBLISH packets `actions` send to `conn`, in order.
pub fn publishes(actions: &[Action], conn: ConnId) -> Vec<Publish> {
    to(actions, conn)
        .into_iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The payloads of the PUBLISH packets `actions` send to `conn`, as text.
pub fn payloads(actions: &[Action], conn: ConnId) -> Vec<String> {
    publishes(actions, conn).iter().map(|p| String::from_utf8_lossy(&p.payload).into_owned()).collect()
}

/// Why `actions` close `conn`, if they do.
pub fn close_of(actions: &[Action], conn: ConnId) -> Option<CloseReason> {
    actions.iter().find_map(|a| match a {
        Action::Close { conn: c, reason } if *c == conn => Some(reason.clone()),
        _ => None,
    })
}

/// The CONNACK among `actions`, if any.
pub fn connack_of(actions: &[Action]) -> Option<Connack> {
    actions.iter().find_map(|a| match a {
        Action::Send { packet: Packet::Connack(c), .. } => Some(c.clone()),
        _ => None,
    })
}

/// The DISCONNECT `actions` send to `conn`, if any.
pub fn disconnect_of(actions: &[Action], conn: ConnId) -> Option<Disconnect> {
    to(actions, conn).into_iter().find_map(|p| match p {
        Packet::Disconnect(d) => Some(d),
        _ => None,
    })
}

/// The client session on a virtual clock.
pub struct ClientBench {
    pub session: ClientSession,
    pub now: Time,
}

impl ClientBench {
    pub fn new(options: ClientOptions) -> ClientBench {
        ClientBench { session: ClientSession::new(options), now: Time::ZERO }
    }

    /// Opens the transport; returns what the session wrote (CONNECT).
    pub fn open(&mut self) -> Vec<ClientAction> {
        self.session.handle_connected_transport(self.now);
        self.actions()
    }

    /// Opens the transport and answers with an accepting CONNACK carrying `properties`;
    /// returns what the session wrote after the CONNECT.
    pub fn connected(&mut self, session_present: bool, properties: Properties) -> Vec<ClientAction> {
        let connect = self.open();
        assert!(matches!(connect.as_slice(), [ClientAction::Send(Packet::Connect(_))]), "{connect:?}");
        self.feed(Packet::Connack(Connack { properties, ..Connack::accepted(session_present) }))
    }

    pub fn feed(&mut self, packet: Packet) -> Vec<ClientAction> {
        self.session.handle_packet(packet, self.now);
        self.actions()
    }

    pub fn lost(&mut self) -> Vec<ClientAction> {
        self.session.handle_connection_lost(self.now);
        self.actions()
    }

    pub fn advance(&mut self, by: Duration) -> Vec<ClientAction> {
        let target = self.now + by;
        while let Some(at) = self.session.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.session.handle_timeout(self.now);
        }
        self.now = target;
        self.actions()
    }

    pub fn actions(&mut self) -> Vec<ClientAction> {
        std::iter::from_fn(|| self.session.poll_action()).collect()
    }

    pub fn events(&mut self) -> Vec<ClientEvent> {
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }
}

/// The packets among a client's actions.
pub fn sent(actions: &[ClientAction]) -> Vec<Packet> {
    actions
        .iter()
        .filter_map(|a| match a {
            ClientAction::Send(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}
