//! Fuzzing the broker state machine through the codec, with several connections at once.
//!
//! Each case builds a broker with small, random limits and feeds it a random sequence of inputs:
//! connections opening, closing and being lost; valid packets (encoded by our codec, then often
//! mutated by flipping, inserting or deleting bytes or truncating) and arbitrary bytes, split at a
//! random point and decoded by `protocol::decode` exactly as the TCP driver does; clients
//! acknowledging what they were sent; and a virtual clock moving on, with `handle_timeout` called
//! when the broker's deadline passes. After every input it drains `poll_action`/`poll_event` and
//! asserts that nothing panicked, `Broker::check_invariants` holds, no action targets a connection
//! after the broker closed it (or was told it was lost), a partial packet never buffers more than
//! the packet size limit, and the broker's next deadline lies in the future.
//!
//! The bounded run is part of `cargo test` (256 cases of up to 200 inputs; `PROPTEST_CASES`
//! changes the count). `cargo bench --bench fuzz` runs the same model for as many inputs as
//! `MQTT_SIM_FUZZ_INPUTS` asks (it includes this file).

#![allow(dead_code)] // the bench includes this file and uses only the model

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mqtt_sim::broker::{Action, Broker, Config, ConnId, Event};
use mqtt_sim::protocol::{
    self, Connack, ConnackCode, Connect, ConnectReturnCode, LastWill, Packet, PacketId, Publish, QoS, Subscribe,
    SubscribeFilter, Unsubscribe,
};
use mqtt_sim::time::Time;
use proptest::collection::vec;
use proptest::prelude::*;

/// Connections the model keeps handles for; inputs pick one by index modulo the count.
const MAX_LINKS: usize = 10;

// ---------------------------------------------------------------- inputs

/// A change to an encoded packet's bytes; indexes wrap around the packet's length.
#[derive(Debug, Clone)]
pub enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

/// One input to the broker.
#[derive(Debug, Clone)]
pub enum Op {
    /// A transport connection is accepted, and usually sends a CONNECT at once.
    Open { connect: Option<Packet> },
    /// A packet from connection `conn`, encoded, mutated, and delivered in two reads split at `split`.
    Packet { conn: usize, packet: Packet, mutations: Vec<Mutation>, split: usize },
    /// Arbitrary bytes from connection `conn`.
    Bytes { conn: usize, bytes: Vec<u8> },
    /// Connection `conn` answers the oldest broker packet that wants an answer (PUBACK, PUBREC,
    /// PUBCOMP), as a well-behaved client does.
    Ack { conn: usize },
    /// The transport of connection `conn` fails.
    Lose { conn: usize },
    /// The virtual clock moves on.
    Advance { ms: u64 },
    /// The driver reports how many packets wait to be written on connection `conn`.
    Backlog { conn: usize, pending: usize },
}

fn arb_qos() -> impl Strategy<Value = QoS> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)]
}

fn arb_pkid() -> impl Strategy<Value = PacketId> {
    (1u16..=6).prop_map(|n| PacketId::new(n).expect("non-zero"))
}

fn arb_client_id() -> impl Strategy<Value = String> {
    prop_oneof![Just(""), Just("a"), Just("b"), Just("c"), Just("d")].prop_map(str::to_owned)
}

fn arb_topic() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => prop_oneof![Just("a"), Just("b"), Just("a/b"), Just("a/b/c"), Just("$SYS/x"), Just("/"), Just("a//b")]
            .prop_map(str::to_owned),
        1 => arb_deep(""),
    ]
}

/// A topic around the depth limit (`topic::MAX_LEVELS`) or far past it, as a hostile client
/// sends to make a per-level recursion overflow the stack; `tail` ends a filter.
fn arb_deep(tail: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![Just(200usize), Just(201), Just(202), Just(30_000)]
        .prop_map(move |levels| format!("{}{tail}", vec!["a"; levels].join("/")))
}

fn arb_filter() -> impl Strategy<Value = String> {
    let shallow = prop_oneof![
        Just("#"),
        Just("+"),
        Just("a/#"),
        Just("a/+"),
        Just("+/b"),
        Just("a"),
        Just("a/b"),
        Just("$SYS/#"),
        Just("+/+/+"),
        Just("/")
    ]
    .prop_map(str::to_owned);
    prop_oneof![40 => shallow, 1 => arb_deep("/#"), 1 => arb_deep("")]
}

fn arb_payload() -> impl Strategy<Value = Bytes> {
    prop_oneof![1 => Just(Vec::new()), 4 => vec(any::<u8>(), 1..12)].prop_map(Bytes::from)
}

fn arb_connect() -> impl Strategy<Value = Packet> {
    let will = proptest::option::weighted(
        0.3,
        (arb_topic(), arb_payload(), arb_qos(), any::<bool>()).prop_map(|(topic, message, qos, retain)| LastWill {
            topic,
            message,
            qos,
            retain,
            properties: Default::default(),
        }),
    );
    let keep_alive = prop_oneof![6 => Just(0u16), 1 => Just(1), 1 => Just(2), 2 => Just(60), 1 => Just(u16::MAX)];
    (arb_client_id(), any::<bool>(), keep_alive, will).prop_map(|(id, clean, keep_alive, will)| {
        let mut c = Connect::new(id, clean, keep_alive);
        c.will = will;
        Packet::Connect(c)
    })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let publish = (arb_topic(), arb_qos(), arb_payload(), any::<bool>(), any::<bool>(), arb_pkid()).prop_map(
        |(topic, qos, payload, retain, dup, pkid)| {
            let mut p = Publish::new(topic, qos, payload, retain, Some(pkid));
            p.dup = dup && qos != QoS::AtMostOnce; // DUP is 0 for QoS 0 [MQTT-3.3.1-2]
            Packet::Publish(p)
        },
    );
    let subscribe = (arb_pkid(), vec((arb_filter(), arb_qos()), 1..4)).prop_map(|(pkid, fs)| {
        Packet::Subscribe(Subscribe {
            pkid,
            filters: fs.into_iter().map(|(filter, qos)| SubscribeFilter::new(filter, qos)).collect(),
            properties: Default::default(),
        })
    });
    let unsubscribe = (arb_pkid(), vec(arb_filter(), 1..3))
        .prop_map(|(pkid, filters)| Packet::Unsubscribe(Unsubscribe::new(pkid, filters)));
    prop_oneof![
        1 => arb_connect(),
        14 => publish,
        2 => arb_pkid().prop_map(Packet::puback),
        2 => arb_pkid().prop_map(Packet::pubrec),
        2 => arb_pkid().prop_map(Packet::pubrel),
        2 => arb_pkid().prop_map(Packet::pubcomp),
        4 => subscribe,
        1 => unsubscribe,
        1 => Just(Packet::Pingreq),
        1 => Just(Packet::disconnect()),
        1 => prop_oneof![
            Just(Packet::Pingresp),
            Just(Packet::Connack(Connack::accepted(false))),
        ],
    ]
}

fn arb_mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let mutation = prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ];
    prop_oneof![8 => Just(Vec::new()), 1 => vec(mutation, 1..4)]
}

/// A connection index: below `MAX_LINKS` it picks among live connections, above among all.
pub fn arb_op() -> impl Strategy<Value = Op> {
    let conn = prop_oneof![9 => 0..MAX_LINKS, 1 => MAX_LINKS..2 * MAX_LINKS];
    prop_oneof![
        3 => proptest::option::weighted(0.9, arb_connect()).prop_map(|connect| Op::Open { connect }),
        12 => (conn.clone(), arb_packet(), arb_mutations(), any::<usize>())
            .prop_map(|(conn, packet, mutations, split)| Op::Packet { conn, packet, mutations, split }),
        1 => (conn.clone(), vec(any::<u8>(), 0..40)).prop_map(|(conn, bytes)| Op::Bytes { conn, bytes }),
        4 => conn.clone().prop_map(|conn| Op::Ack { conn }),
        1 => conn.clone().prop_map(|conn| Op::Lose { conn }),
        1 => (conn, 0usize..8).prop_map(|(conn, pending)| Op::Backlog { conn, pending }),
        2 => prop_oneof![0u64..100, 0u64..5_000, Just(100_000)].prop_map(|ms| Op::Advance { ms }),
    ]
}

/// Small limits, so that a few hundred inputs reach every one of them.
pub fn arb_config() -> impl Strategy<Value = Config> {
    (
        (0usize..5, prop_oneof![Just(0usize), 1usize..40], any::<bool>(), 0usize..4),
        (
            prop_oneof![Just(0usize), 20usize..120],
            prop_oneof![3 => Just(0u16), 1 => 1u16..100],
            proptest::option::of(1u64..3_000),
            proptest::option::weighted(0.3, 1usize..6),
        ),
    )
        .prop_map(|((msgs, bytes, qos0, inflight), (packet, keepalive, connect_ms, conns))| Config {
            max_queued_messages: msgs,
            max_queued_bytes: bytes,
            queue_qos0_messages: qos0,
            max_inflight_messages: inflight,
            max_packet_size: packet,
            max_keepalive: keepalive,
            connect_timeout: connect_ms.map(Duration::from_millis),
            max_connections: conns,
            ..Config::default()
        })
}

pub fn arb_case(max_ops: usize) -> impl Strategy<Value = (Config, Vec<Op>)> {
    (arb_config(), vec(arb_op(), 1..max_ops))
}

// ---------------------------------------------------------------- the model

/// One connection as the driver sees it.
struct Link {
    id: ConnId,
    buf: BytesMut,
    /// The driver stopped reading: a decode error was reported.
    reading: bool,
    /// What a well-behaved client owes the broker, oldest first.
    owed: VecDeque<Packet>,
}

/// A broker, the connections a driver would hold, and a virtual clock.
pub struct Model {
    pub broker: Broker,
    now: Time,
    max_packet_size: usize,
    links: Vec<Link>,
    opened: BTreeSet<ConnId>,
    /// Closed by the broker (a `Close` action) or reported lost by the driver.
    dead: BTreeSet<ConnId>,
    /// Inputs applied so far.
    pub inputs: u64,
    pub stats: Stats,
}

/// What a run reached, so a long run can show it went somewhere.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub connacks_accepted: u64,
    pub publishes_sent: u64,
    pub closes: u64,
    pub drops: u64,
    pub max_queued: usize,
    pub max_inflight: usize,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.connacks_accepted += other.connacks_accepted;
        self.publishes_sent += other.publishes_sent;
        self.closes += other.closes;
        self.drops += other.drops;
        self.max_queued = self.max_queued.max(other.max_queued);
        self.max_inflight = self.max_inflight.max(other.max_inflight);
    }
}

impl Model {
    pub fn new(config: Config) -> Model {
        let max_packet_size = config.packet_size_limit();
        Model {
            broker: Broker::new(config),
            now: Time::ZERO,
            max_packet_size,
            links: Vec::new(),
            opened: BTreeSet::new(),
            dead: BTreeSet::new(),
            inputs: 0,
            stats: Stats::default(),
        }
    }

    /// Applies one input and checks everything; `Err` says what broke.
    pub fn apply(&mut self, op: &Op) -> Result<(), String> {
        self.inputs += 1;
        match op {
            Op::Open { connect } => {
                self.open();
                if let Some(packet) = connect {
                    let slot = self.links.iter().position(|l| Some(l.id) == self.opened.last().copied());
                    let mut bytes = BytesMut::new();
                    if packet.encode(&mut bytes, protocol::MAX_PACKET_SIZE).is_ok() {
                        self.drain()?;
                        self.feed_slot(slot.expect("just opened"), &bytes)?;
                    }
                }
            }
            Op::Advance { ms } => {
                self.now = self.now + Duration::from_millis(*ms);
                if self.broker.poll_timeout().is_some_and(|at| at <= self.now) {
                    self.broker.handle_timeout(self.now);
                    if let Some(at) = self.broker.poll_timeout().filter(|&at| at <= self.now) {
                        return Err(format!("after handle_timeout({}) the next deadline is {at}", self.now));
                    }
                }
            }
            Op::Packet { conn, packet, mutations, split } => {
                let mut bytes = BytesMut::new();
                if packet.encode(&mut bytes, protocol::MAX_PACKET_SIZE).is_err() {
                    return Ok(());
                }
                let mut bytes = bytes.to_vec();
                for m in mutations {
                    mutate(&mut bytes, m);
                }
                let at = split % (bytes.len() + 1);
                self.feed(*conn, &bytes[..at])?;
                self.feed(*conn, &bytes[at..])?;
            }
            Op::Bytes { conn, bytes } => self.feed(*conn, bytes)?,
            Op::Ack { conn } => {
                if let Some(link) = self.link(*conn) {
                    if let Some(answer) = link.owed.pop_front() {
                        let mut bytes = BytesMut::new();
                        answer.encode(&mut bytes, protocol::MAX_PACKET_SIZE).map_err(|e| e.to_string())?;
                        self.feed(*conn, &bytes)?;
                    }
                }
            }
            Op::Lose { conn } => {
                if let Some(link) = self.link(*conn) {
                    let id = link.id;
                    if !self.dead.contains(&id) {
                        self.broker.handle_connection_lost(id, self.now);
                        self.dead.insert(id);
                    }
                }
            }
            Op::Backlog { conn, pending } => {
                if let Some(link) = self.link(*conn) {
                    let id = link.id;
                    if !self.dead.contains(&id) {
                        self.broker.handle_backlog(id, *pending);
                    }
                }
            }
        }
        self.drain()?;
        self.broker.check_invariants()
    }

    fn open(&mut self) {
        let id = self.broker.handle_connection_opened(self.now);
        self.opened.insert(id);
        let link = Link { id, buf: BytesMut::new(), reading: true, owed: VecDeque::new() };
        if self.links.len() < MAX_LINKS {
            self.links.push(link);
        } else {
            // Forget the oldest handle; the connection itself lives on in the broker.
            let slot = (id.0 as usize) % MAX_LINKS;
            self.links[slot] = link;
        }
    }

    /// The link for an input's index: below `MAX_LINKS` a live one if any, otherwise any link.
    fn link(&mut self, index: usize) -> Option<&mut Link> {
        let slot = self.slot(index)?;
        Some(&mut self.links[slot])
    }

    fn slot(&self, index: usize) -> Option<usize> {
        let live: Vec<usize> = (0..self.links.len())
            .filter(|&i| self.links[i].reading && !self.dead.contains(&self.links[i].id))
            .collect();
        if index < MAX_LINKS && !live.is_empty() {
            Some(live[index % live.len()])
        } else if self.links.is_empty() {
            None
        } else {
            Some(index % self.links.len())
        }
    }

    /// Bytes arrive on a connection: decoded and handed over as the driver does.
    fn feed(&mut self, index: usize, bytes: &[u8]) -> Result<(), String> {
        match self.slot(index) {
            Some(slot) => self.feed_slot(slot, bytes),
            None => Ok(()),
        }
    }

    fn feed_slot(&mut self, slot: usize, bytes: &[u8]) -> Result<(), String> {
        let now = self.now;
        let max = self.max_packet_size;
        let link = &mut self.links[slot];
        if !link.reading {
            return Ok(());
        }
        let id = link.id;
        link.buf.extend_from_slice(bytes);
        let mut packets = Vec::new();
        let mut error = None;
        loop {
            match protocol::decode(&mut link.buf, max) {
                Ok(Some(packet)) => packets.push(packet),
                Ok(None) => {
                    // The decoder refuses an oversized fixed header before the body is buffered.
                    if link.buf.len() >= max {
                        return Err(format!("{} bytes buffered for one packet, limit {max}", link.buf.len()));
                    }
                    break;
                }
                Err(e) => {
                    link.reading = false;
                    error = Some(e);
                    break;
                }
            }
        }
        for packet in packets {
            self.broker.handle_packet(id, packet, now);
            self.drain()?;
        }
        if let Some(e) = error {
            self.broker.handle_decode_error(id, e, now);
        }
        Ok(())
    }

    /// Drains the broker's outputs, checking where each action goes.
    fn drain(&mut self) -> Result<(), String> {
        while let Some(action) = self.broker.poll_action() {
            let (Action::Send { conn, .. } | Action::Close { conn, .. }) = &action;
            if !self.opened.contains(conn) {
                return Err(format!("action for {conn}, which was never opened: {action:?}"));
            }
            if self.dead.contains(conn) {
                return Err(format!("action for {conn} after it was closed or lost: {action:?}"));
            }
            match action {
                Action::Close { conn, .. } => {
                    self.stats.closes += 1;
                    self.dead.insert(conn);
                }
                Action::Send { conn, packet } => {
                    match &packet {
                        Packet::Connack(Connack { code: ConnackCode::V311(ConnectReturnCode::Accepted), .. }) => {
                            self.stats.connacks_accepted += 1
                        }
                        Packet::Publish(_) => self.stats.publishes_sent += 1,
                        _ => {}
                    }
                    let answer = match packet {
                        Packet::Publish(Publish { qos: QoS::AtLeastOnce, pkid: Some(id), .. }) => Packet::puback(id),
                        Packet::Publish(Publish { qos: QoS::ExactlyOnce, pkid: Some(id), .. }) => Packet::pubrec(id),
                        Packet::Pubrel(a) => Packet::pubcomp(a.id),
                        _ => continue,
                    };
                    if let Some(link) = self.links.iter_mut().find(|l| l.id == conn) {
                        link.owed.push_back(answer);
                    }
                }
            }
        }
        while let Some(event) = self.broker.poll_event() {
            self.stats.drops += u64::from(matches!(event, Event::Dropped { .. }));
        }
        for s in self.broker.inspect().sessions {
            self.stats.max_queued = self.stats.max_queued.max(s.queued.len());
            self.stats.max_inflight = self.stats.max_inflight.max(s.inflight_out.len());
        }
        Ok(())
    }
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    match *m {
        Mutation::Flip(i, bit) if n > 0 => bytes[i % n] ^= 1 << bit,
        Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
        Mutation::Delete(i) if n > 0 => {
            bytes.remove(i % n);
        }
        Mutation::Truncate(i) => bytes.truncate(i % (n + 1)),
        _ => {}
    }
}

/// Runs one case; `Err` names the input that broke an invariant.
pub fn run_case(config: Config, ops: &[Op]) -> Result<Stats, String> {
    let mut model = Model::new(config);
    for (i, op) in ops.iter().enumerate() {
        model.apply(op).map_err(|e| format!("after input {i} ({op:?}): {e}"))?;
    }
    Ok(model.stats)
}

// ---------------------------------------------------------------- the bounded run

fn proptest_config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(proptest_config())]

    #[test]
    fn broker_survives_arbitrary_and_mutated_input((config, ops) in arb_case(200)) {
        if let Err(e) = run_case(config.clone(), &ops) {
            prop_assert!(false, "{e}\nconfig: {config:?}");
        }
    }
}

/// The generator reaches the states worth fuzzing: accepted sessions, deliveries, closes, drops
/// and full queues and windows. A generator that only produced garbage would pass vacuously.
#[test]
fn the_generator_reaches_deep_states() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    let mut runner =
        TestRunner::new_with_rng(ProptestConfig::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let mut total = Stats::default();
    for _ in 0..64 {
        let (config, ops) = arb_case(200).new_tree(&mut runner).unwrap().current();
        total.add(&run_case(config, &ops).unwrap());
    }
    eprintln!("{total:?}");
    assert!(total.connacks_accepted > 100, "{total:?}");
    assert!(total.publishes_sent > 100, "{total:?}");
    assert!(total.closes > 100, "{total:?}");
    assert!(total.drops > 10, "{total:?}");
    assert!(total.max_queued >= 2 && total.max_inflight >= 2, "{total:?}");
}
