//! Fuzzing the client session state machine against a hostile or broken server: `mqtt-sim check`
//! points our client at brokers we do not control, so nothing a server sends may panic it or
//! leave it in a state it cannot leave.
//!
//! Each case drives a `ClientSession` (random options: clean or persistent, keep alive, inflight
//! window) through a random sequence of inputs: transports opening and being lost, any packet a
//! server could send (CONNACKs, PUBLISH at every QoS with or without DUP and RETAIN, acks with
//! ids the client used or never used, packets only a client may send), application requests
//! (publish, subscribe, unsubscribe, disconnect) and the virtual clock moving on, with
//! `handle_timeout` called at every deadline. After every input it asserts that nothing panicked,
//! every packet the client asks to send encodes, no packet is sent while no transport is open or
//! after the client closed it, unacknowledged publications have distinct packet ids and never
//! more than the inflight window are on the wire, and the next deadline lies in the future.
//! `cargo test` runs 256 cases of up to 150 inputs (`PROPTEST_CASES` changes the count).
//!
//! A second property does the same for an MQTT 5.0 client against a 5.0 server whose CONNACKs
//! set random limits (Receive Maximum, Maximum Packet Size, Topic Alias Maximum, Maximum QoS,
//! Retain Available, Server Keep Alive, Session Expiry Interval), with reason codes on every
//! acknowledgement, topic aliases both ways and server DISCONNECTs, and checks what the client
//! sends against those limits: every packet within the Maximum Packet Size [MQTT5-3.2.2-15], no
//! PUBLISH above Maximum QoS [MQTT5-3.2.2-11] or with RETAIN when not available
//! [MQTT5-3.2.2-14], no alias above the server's maximum [MQTT5-3.2.2-17] nor an empty topic
//! with an alias not set on the connection, and no QoS 1/2 PUBLISH beyond the Receive Maximum
//! [MQTT5-3.3.4-7].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mqtt_sim::client::{ClientAction, ClientEvent, ClientOptions, ClientSession};
use mqtt_sim::protocol::{
    Ack, Connack, ConnackCode, ConnectReturnCode, Disconnect, Packet, PacketId, Properties, Property, Publish, QoS,
    ReasonCode, Suback, SubackCode, SubscribeFilter, Unsuback, Version, MAX_PACKET_SIZE,
};
use mqtt_sim::time::Time;
use proptest::collection::vec;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Open,
    Lose,
    Server(Packet),
    Publish {
        qos: QoS,
        retain: bool,
        topic: &'static str,
    },
    Subscribe(&'static str, QoS),
    Unsubscribe(&'static str),
    Disconnect,
    Advance(u64),
    // 5.0 only.
    /// A publication with a Topic Alias (the topic may be empty) and a payload of `size` bytes.
    PublishAliased {
        qos: QoS,
        topic: &'static str,
        alias: u16,
        size: usize,
    },
    SubscribeIdentified(&'static str, u32),
    /// DISCONNECT with a Session Expiry Interval.
    DisconnectExpiring(u32),
}

fn arb_qos() -> impl Strategy<Value = QoS> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)]
}

fn arb_pkid() -> impl Strategy<Value = PacketId> {
    (1u16..=8).prop_map(|n| PacketId::new(n).expect("non-zero"))
}

fn arb_code() -> impl Strategy<Value = ConnectReturnCode> {
    prop_oneof![
        6 => Just(ConnectReturnCode::Accepted),
        1 => Just(ConnectReturnCode::UnacceptableProtocolVersion),
        1 => Just(ConnectReturnCode::IdentifierRejected),
        1 => Just(ConnectReturnCode::ServerUnavailable),
        1 => Just(ConnectReturnCode::NotAuthorized),
    ]
}

fn arb_server_packet() -> impl Strategy<Value = Packet> {
    let publish =
        (arb_qos(), arb_pkid(), any::<bool>(), any::<bool>(), prop_oneof![Just("a"), Just("a/b"), Just("$SYS/x")])
            .prop_map(|(qos, pkid, dup, retain, topic)| {
                let pkid = (qos != QoS::AtMostOnce).then_some(pkid);
                let mut p = Publish::new(topic, qos, Bytes::from_static(b"x"), retain, pkid);
                p.dup = dup && qos != QoS::AtMostOnce;
                Packet::Publish(p)
            });
    let suback =
        (arb_pkid(), vec(prop_oneof![arb_qos().prop_map(SubackCode::Granted), Just(SubackCode::Failure)], 1..3))
            .prop_map(|(pkid, codes)| Packet::Suback(Suback { pkid, codes, properties: Default::default() }));
    prop_oneof![
        3 => (any::<bool>(), arb_code()).prop_map(|(session_present, code)| Packet::Connack(Connack { session_present, code: code.into(), properties: Default::default() })),
        6 => publish,
        2 => arb_pkid().prop_map(Packet::puback),
        2 => arb_pkid().prop_map(Packet::pubrec),
        2 => arb_pkid().prop_map(Packet::pubrel),
        2 => arb_pkid().prop_map(Packet::pubcomp),
        1 => suback,
        1 => arb_pkid().prop_map(Packet::unsuback),
        1 => Just(Packet::Pingresp),
        // Packets only a client may send.
        1 => Just(Packet::Pingreq),
        1 => Just(Packet::disconnect()),
    ]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Open),
        1 => Just(Op::Lose),
        10 => arb_server_packet().prop_map(Op::Server),
        4 => (arb_qos(), any::<bool>(), prop_oneof![Just("t"), Just("t/u"), Just("bad/#")])
            .prop_map(|(qos, retain, topic)| Op::Publish { qos, retain, topic }),
        1 => (prop_oneof![Just("t/#"), Just("+"), Just("bad#")], arb_qos()).prop_map(|(f, q)| Op::Subscribe(f, q)),
        1 => prop_oneof![Just("t/#"), Just("+")].prop_map(Op::Unsubscribe),
        1 => Just(Op::Disconnect),
        2 => (0u64..5_000).prop_map(Op::Advance),
    ]
}

fn arb_options() -> impl Strategy<Value = ClientOptions> {
    (any::<bool>(), prop_oneof![Just(0u16), Just(1), Just(5)], prop_oneof![Just(0u16), Just(1), Just(3), Just(20)])
        .prop_map(|(clean, keep_alive, max_inflight)| ClientOptions {
            keep_alive,
            max_inflight,
            ..ClientOptions::new("fuzz", clean)
        })
}

fn arb_reason(codes: &'static [u8]) -> impl Strategy<Value = ReasonCode> {
    proptest::sample::select(codes).prop_map(ReasonCode)
}

fn arb_v5_connack() -> impl Strategy<Value = Packet> {
    let limits = (
        prop_oneof![Just(None), Just(Some(1u16)), Just(Some(2)), Just(Some(5))],
        prop_oneof![Just(None), Just(Some(40u32)), Just(Some(1000))],
        prop_oneof![Just(None), Just(Some(2u16))],
        prop_oneof![Just(None), Just(Some(0u8)), Just(Some(1))],
        prop_oneof![Just(None), Just(Some(0u8))],
        prop_oneof![Just(None), Just(Some(0u16)), Just(Some(3))],
        prop_oneof![Just(None), Just(Some(0u32)), Just(Some(60))],
        any::<bool>(),
    );
    let accepted = (any::<bool>(), limits).prop_map(|(session_present, (rm, mps, tam, mq, ra, ka, se, assign))| {
        let p: Properties = [
            rm.map(Property::ReceiveMaximum),
            mps.map(Property::MaximumPacketSize),
            tam.map(Property::TopicAliasMaximum),
            mq.map(Property::MaximumQos),
            ra.map(Property::RetainAvailable),
            ka.map(Property::ServerKeepAlive),
            se.map(Property::SessionExpiryInterval),
            assign.then(|| Property::AssignedClientIdentifier("assigned".into())),
        ]
        .into_iter()
        .flatten()
        .collect();
        Packet::Connack(Connack { properties: p, ..Connack::accepted(session_present) })
    });
    prop_oneof![
        6 => accepted,
        1 => arb_reason(&[0x80, 0x85, 0x87, 0x8A, 0x9C]).prop_map(|r| Packet::Connack(Connack::refused(ConnackCode::V5(r)))),
    ]
}

fn arb_v5_server_packet() -> impl Strategy<Value = Packet> {
    let publish = (
        arb_qos(),
        arb_pkid(),
        any::<bool>(),
        prop_oneof![Just("a"), Just("a/b"), Just("")],
        prop_oneof![3 => Just(None), 1 => Just(Some(1u16)), 1 => Just(Some(2)), 1 => Just(Some(3))],
        prop_oneof![Just(None), Just(Some(7u32))],
    )
        .prop_map(|(qos, pkid, dup, topic, alias, sub_id)| {
            let pkid = (qos != QoS::AtMostOnce).then_some(pkid);
            let mut p = Publish::new(topic, qos, Bytes::from_static(b"x"), false, pkid);
            p.dup = dup && qos != QoS::AtMostOnce;
            p.properties = [alias.map(Property::TopicAlias), sub_id.map(Property::SubscriptionIdentifier)]
                .into_iter()
                .flatten()
                .collect();
            Packet::Publish(p)
        });
    let ack_codes: &'static [u8] = &[0x00, 0x00, 0x10, 0x80, 0x87, 0x97];
    let suback = (
        arb_pkid(),
        vec(
            prop_oneof![
                arb_qos().prop_map(SubackCode::Granted),
                Just(SubackCode::Failure),
                Just(SubackCode::Refused(ReasonCode::NOT_AUTHORIZED))
            ],
            1..3,
        ),
    )
        .prop_map(|(pkid, codes)| Packet::Suback(Suback::new(pkid, codes)));
    let unsuback = (arb_pkid(), vec(arb_reason(&[0x00, 0x11, 0x87]), 1..3))
        .prop_map(|(pkid, reasons)| Packet::Unsuback(Unsuback { pkid, reasons, properties: Properties::new() }));
    prop_oneof![
        3 => arb_v5_connack(),
        6 => publish,
        2 => (arb_pkid(), arb_reason(ack_codes)).prop_map(|(id, r)| Packet::Puback(Ack::with_reason(id, r))),
        2 => (arb_pkid(), arb_reason(ack_codes)).prop_map(|(id, r)| Packet::Pubrec(Ack::with_reason(id, r))),
        2 => (arb_pkid(), arb_reason(&[0x00, 0x92])).prop_map(|(id, r)| Packet::Pubrel(Ack::with_reason(id, r))),
        2 => (arb_pkid(), arb_reason(&[0x00, 0x92])).prop_map(|(id, r)| Packet::Pubcomp(Ack::with_reason(id, r))),
        1 => suback,
        1 => unsuback,
        1 => Just(Packet::Pingresp),
        1 => arb_reason(&[0x00, 0x8B, 0x8E, 0x98]).prop_map(|r| Packet::Disconnect(Disconnect::with_reason(r))),
        1 => Just(Packet::Pingreq),
    ]
}

fn arb_v5_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Open),
        1 => Just(Op::Lose),
        10 => arb_v5_server_packet().prop_map(Op::Server),
        3 => (arb_qos(), any::<bool>(), prop_oneof![Just("t"), Just("t/u"), Just("bad/#")])
            .prop_map(|(qos, retain, topic)| Op::Publish { qos, retain, topic }),
        2 => (arb_qos(), prop_oneof![Just("t"), Just("")], 1u16..=3, prop_oneof![Just(1usize), Just(60)])
            .prop_map(|(qos, topic, alias, size)| Op::PublishAliased { qos, topic, alias, size }),
        1 => (prop_oneof![Just("t/#"), Just("+")], arb_qos()).prop_map(|(f, q)| Op::Subscribe(f, q)),
        1 => (prop_oneof![Just("t/#"), Just("+")], 1u32..3).prop_map(|(f, id)| Op::SubscribeIdentified(f, id)),
        1 => prop_oneof![Just("t/#"), Just("+")].prop_map(Op::Unsubscribe),
        1 => Just(Op::Disconnect),
        1 => prop_oneof![Just(0u32), Just(60)].prop_map(Op::DisconnectExpiring),
        2 => (0u64..5_000).prop_map(Op::Advance),
    ]
}

fn arb_v5_options() -> impl Strategy<Value = ClientOptions> {
    (
        any::<bool>(),
        prop_oneof![Just(0u16), Just(5)],
        prop_oneof![Just(0u16), Just(3), Just(20)],
        prop_oneof![Just(0u32), Just(60)],
        prop_oneof![Just(0u16), Just(2)],
        prop_oneof![Just(None), Just(Some(1u16))],
        prop_oneof![Just("fuzz"), Just("")],
    )
        .prop_map(|(clean, keep_alive, max_inflight, expiry, alias_max, receive_maximum, id)| ClientOptions {
            keep_alive,
            max_inflight,
            topic_alias_maximum: alias_max,
            receive_maximum,
            ..ClientOptions::v5(id, clean, expiry)
        })
}

/// What the model tracks of one 5.0 connection, to check what the client sends against the
/// server's CONNACK.
#[derive(Default)]
struct Connection {
    /// QoS 1/2 publications sent (PUBLISH, or PUBREL re-sent) and not yet reported done.
    unacknowledged: BTreeSet<PacketId>,
    /// The topic each of our aliases stands for.
    aliases: BTreeMap<u16, String>,
}

/// The client and what the model knows of its transport.
struct Model {
    session: ClientSession,
    now: Time,
    /// Whether a transport is open (the driver's view: opened and not yet closed or lost).
    open: bool,
    max_inflight: u16,
    version: Version,
    connection: Connection,
}

impl Model {
    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Open if !self.open => {
                self.open = true;
                self.connection = Connection::default();
                self.session.handle_connected_transport(self.now);
            }
            Op::Open => {}
            Op::Lose => {
                if self.open {
                    self.open = false;
                    self.session.handle_connection_lost(self.now);
                }
            }
            Op::Server(packet) => {
                if self.open {
                    self.session.handle_packet(packet, self.now);
                }
            }
            Op::Publish { qos, retain, topic } => {
                let _ = self.session.publish(topic, Bytes::from_static(b"p"), qos, retain, self.now);
            }
            Op::Subscribe(filter, qos) => {
                let _ = self.session.subscribe(vec![SubscribeFilter::new(filter, qos)], self.now);
            }
            Op::Unsubscribe(filter) => {
                let _ = self.session.unsubscribe(vec![filter.into()], self.now);
            }
            Op::Disconnect => self.session.disconnect(self.now),
            Op::PublishAliased { qos, topic, alias, size } => {
                let properties = Properties(vec![Property::TopicAlias(alias)]);
                let payload = Bytes::from(vec![b'p'; size]);
                let _ = self.session.publish_with(topic, payload, qos, false, properties, self.now);
            }
            Op::SubscribeIdentified(filter, id) => {
                let properties = Properties(vec![Property::SubscriptionIdentifier(id)]);
                let _ = self.session.subscribe_with(
                    vec![SubscribeFilter::new(filter, QoS::AtLeastOnce)],
                    properties,
                    self.now,
                );
            }
            Op::DisconnectExpiring(expiry) => {
                let properties = Properties(vec![Property::SessionExpiryInterval(expiry)]);
                let _ = self.session.disconnect_with(ReasonCode::SUCCESS, properties, self.now);
            }
            Op::Advance(ms) => {
                let target = self.now + Duration::from_millis(ms);
                while let Some(at) = self.session.poll_timeout().filter(|&at| at <= target) {
                    self.now = self.now.max(at);
                    self.session.handle_timeout(self.now);
                    self.drain()?;
                    let next = self.session.poll_timeout();
                    prop_assert!(next.is_none_or(|t| t > self.now), "deadline {next:?} not after {}", self.now);
                }
                self.now = target;
            }
        }
        self.drain()
    }

    /// Takes the client's actions and checks each, then the state. Events go first: a flow
    /// completed by an input makes the room a PUBLISH sent by the same input uses.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some(event) = self.session.poll_event() {
            match event {
                ClientEvent::Published { pkid, .. } => {
                    self.connection.unacknowledged.remove(&pkid);
                }
                ClientEvent::Disconnected { .. } => self.connection = Connection::default(),
                _ => {}
            }
        }
        while let Some(action) = self.session.poll_action() {
            match action {
                ClientAction::Send(packet) => {
                    prop_assert!(self.open, "{packet:?} sent with no transport open");
                    let mut buf = BytesMut::new();
                    let encoded = packet.encode_as(self.version, &mut buf, MAX_PACKET_SIZE);
                    prop_assert!(encoded.is_ok(), "{packet:?} does not encode: {encoded:?}");
                    if self.version == Version::V5 {
                        self.check_v5(&packet, buf.len())?;
                    }
                }
                // Only `send_raw`, which this fuzzer never calls, writes raw bytes.
                ClientAction::SendRaw(bytes) => prop_assert!(false, "raw bytes {bytes:?} no request asked for"),
                ClientAction::Close(_) => {
                    prop_assert!(self.open, "closed a transport that was not open");
                    self.open = false;
                }
            }
        }
        let ids: Vec<PacketId> = self.session.unacknowledged().map(|(id, _)| id).collect();
        let distinct: BTreeSet<PacketId> = ids.iter().copied().collect();
        prop_assert_eq!(distinct.len(), ids.len(), "unacknowledged publications share a packet id: {:?}", ids);
        if self.max_inflight > 0 && self.version == Version::V311 {
            let in_flight = self.session.in_flight();
            prop_assert!(
                in_flight <= usize::from(self.max_inflight),
                "{in_flight} in flight, window {}",
                self.max_inflight
            );
        }
        Ok(())
    }
}

impl Model {
    fn new(options: ClientOptions) -> Model {
        let (max_inflight, version) = (options.max_inflight, options.version);
        let session = ClientSession::new(options);
        Model { session, now: Time::ZERO, open: false, max_inflight, version, connection: Connection::default() }
    }

    /// Checks one packet a 5.0 client sends, `size` bytes, against this connection's CONNACK.
    fn check_v5(&mut self, packet: &Packet, size: usize) -> Result<(), TestCaseError> {
        let limits = self.session.server_limits().clone();
        if let Some(max) = limits.maximum_packet_size {
            prop_assert!(size <= max as usize, "[MQTT5-3.2.2-15] {size} bytes, maximum {max}: {packet:?}");
        }
        match packet {
            Packet::Publish(p) => {
                prop_assert!(p.qos <= limits.maximum_qos, "[MQTT5-3.2.2-11] {p:?}");
                prop_assert!(!p.retain || limits.retain_available, "[MQTT5-3.2.2-14] {p:?}");
                prop_assert!(p.properties.subscription_identifier().is_none(), "[MQTT5-3.3.4-6] {p:?}");
                if let Some(&alias) = p.properties.topic_alias() {
                    prop_assert!(alias <= limits.topic_alias_maximum, "[MQTT5-3.2.2-17] {p:?}");
                    if p.topic.is_empty() {
                        prop_assert!(self.connection.aliases.contains_key(&alias), "alias {alias} not set: {p:?}");
                    } else {
                        self.connection.aliases.insert(alias, p.topic.clone());
                    }
                }
                if let Some(pkid) = p.pkid {
                    let window = match self.max_inflight {
                        0 => usize::from(limits.receive_maximum),
                        n => usize::from(n.min(limits.receive_maximum)),
                    };
                    let unacknowledged = self.connection.unacknowledged.len();
                    prop_assert!(
                        unacknowledged < window,
                        "[MQTT5-3.3.4-7] {unacknowledged} unacknowledged, window {window}: {p:?}"
                    );
                    self.connection.unacknowledged.insert(pkid);
                }
            }
            Packet::Pubrel(a) => {
                self.connection.unacknowledged.insert(a.id);
            }
            _ => {}
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn client_survives_any_server(options in arb_options(), ops in vec(arb_op(), 1..150)) {
        let mut model = Model::new(options);
        for op in ops {
            model.step(op)?;
        }
    }

    #[test]
    fn v5_client_survives_any_server_and_keeps_within_its_limits(options in arb_v5_options(), ops in vec(arb_v5_op(), 1..150)) {
        let mut model = Model::new(options);
        for op in ops {
            model.step(op)?;
        }
    }
}
