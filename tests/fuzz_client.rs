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

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mqtt_sim::client::{ClientAction, ClientOptions, ClientSession};
use mqtt_sim::protocol::{
    Connack, ConnectReturnCode, Packet, PacketId, Publish, QoS, Suback, SubackCode, SubscribeFilter, MAX_PACKET_SIZE,
};
use mqtt_sim::time::Time;
use proptest::collection::vec;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Open,
    Lose,
    Server(Packet),
    Publish { qos: QoS, retain: bool, topic: &'static str },
    Subscribe(&'static str, QoS),
    Unsubscribe(&'static str),
    Disconnect,
    Advance(u64),
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

/// The client and what the model knows of its transport.
struct Model {
    session: ClientSession,
    now: Time,
    /// Whether a transport is open (the driver's view: opened and not yet closed or lost).
    open: bool,
    max_inflight: u16,
}

impl Model {
    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Open if !self.open => {
                self.open = true;
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

    /// Takes the client's actions and checks each, then the state.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some(action) = self.session.poll_action() {
            match action {
                ClientAction::Send(packet) => {
                    prop_assert!(self.open, "{packet:?} sent with no transport open");
                    let mut buf = BytesMut::new();
                    prop_assert!(packet.encode(&mut buf, MAX_PACKET_SIZE).is_ok(), "{packet:?} does not encode");
                }
                // Only `send_raw`, which this fuzzer never calls, writes raw bytes.
                ClientAction::SendRaw(bytes) => prop_assert!(false, "raw bytes {bytes:?} no request asked for"),
                ClientAction::Close(_) => {
                    prop_assert!(self.open, "closed a transport that was not open");
                    self.open = false;
                }
            }
        }
        while self.session.poll_event().is_some() {}
        let ids: Vec<PacketId> = self.session.unacknowledged().map(|(id, _)| id).collect();
        let distinct: BTreeSet<PacketId> = ids.iter().copied().collect();
        prop_assert_eq!(distinct.len(), ids.len(), "unacknowledged publications share a packet id: {:?}", ids);
        if self.max_inflight > 0 {
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn client_survives_any_server(options in arb_options(), ops in vec(arb_op(), 1..150)) {
        let max_inflight = options.max_inflight;
        let mut model = Model { session: ClientSession::new(options), now: Time::ZERO, open: false, max_inflight };
        for op in ops {
            model.step(op)?;
        }
    }
}
