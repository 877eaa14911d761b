//! Fuzzing the broker state machine through the codec, with several connections at once, in
//! MQTT 3.1.1 and 5.0 side by side.
//!
//! Each case builds a broker with small, random limits and feeds it a random sequence of inputs:
//! connections opening, closing and being lost; valid packets (encoded by our codec, then often
//! mutated by flipping, inserting or deleting bytes or truncating) and arbitrary bytes, split at a
//! random point and decoded by `protocol::decode_as` in the version of the connection's CONNECT
//! exactly as the TCP driver does (5.0 packets carry random properties: expiry intervals, topic
//! aliases, subscription options and identifiers, receive maximum, maximum packet size, will
//! delay, reason codes); clients
//! acknowledging what they were sent; and a virtual clock moving on, with `handle_timeout` called
//! when the broker's deadline passes. After every input it drains `poll_action`/`poll_event` and
//! asserts that nothing panicked, `Broker::check_invariants` holds, no action targets a connection
//! after the broker closed it (or was told it was lost), a partial packet never buffers more than
//! the packet size limit, the broker's next deadline lies in the future, and toward a 5.0 client
//! no packet exceeds the Maximum Packet Size it announced [MQTT5-3.1.2-24] and no more QoS 1/2
//! PUBLISHes are unacknowledged than its Receive Maximum [MQTT5-3.3.4-9].
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
    self, Ack, Connack, ConnackCode, Connect, ConnectReturnCode, Disconnect, LastWill, Packet, PacketId, Properties,
    Property, Publish, QoS, ReasonCode, RetainHandling, Subscribe, SubscribeFilter, Unsubscribe, Version,
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

/// Up to a few properties from `choices`, in random order (the codec refuses what a place does
/// not allow, and the mutations break the rest).
fn arb_properties(choices: Vec<(u32, BoxedStrategy<Property>)>) -> impl Strategy<Value = Properties> {
    let pick = proptest::strategy::Union::new_weighted(choices);
    // Mostly valid lists: a property that may appear once appears once (the codec's own tests
    // and the mutations cover duplicates).
    prop_oneof![2 => Just(Vec::new()), 3 => vec(pick, 1..4)].prop_map(|list| {
        let mut seen = Vec::new();
        let list = list
            .into_iter()
            .filter(|p| {
                let kind = std::mem::discriminant(p);
                matches!(p, Property::UserProperty(_))
                    || (!seen.contains(&kind) && {
                        seen.push(kind);
                        true
                    })
            })
            .collect();
        Properties(list)
    })
}

fn arb_user_property() -> BoxedStrategy<Property> {
    (prop_oneof![Just("k"), Just("")], prop_oneof![Just("v"), Just("w")])
        .prop_map(|(k, v)| Property::UserProperty((k.to_owned(), v.to_owned())))
        .boxed()
}

fn arb_connect() -> impl Strategy<Value = Packet> {
    let will_properties = arb_properties(vec![
        (1, prop_oneof![Just(0u32), 1u32..5, Just(100)].prop_map(Property::WillDelayInterval).boxed()),
        (1, prop_oneof![Just(0u32), 1u32..5].prop_map(Property::MessageExpiryInterval).boxed()),
        (1, arb_user_property()),
    ]);
    let will = proptest::option::weighted(
        0.3,
        (arb_topic(), arb_payload(), arb_qos(), any::<bool>(), will_properties)
            .prop_map(|(topic, message, qos, retain, properties)| LastWill { topic, message, qos, retain, properties }),
    );
    let keep_alive = prop_oneof![6 => Just(0u16), 1 => Just(1), 1 => Just(2), 2 => Just(60), 1 => Just(u16::MAX)];
    let properties = arb_properties(vec![
        (6, prop_oneof![Just(0u32), 1u32..5, Just(u32::MAX)].prop_map(Property::SessionExpiryInterval).boxed()),
        (3, (1u16..4).prop_map(Property::ReceiveMaximum).boxed()),
        (2, prop_oneof![Just(20u32), 24u32..60].prop_map(Property::MaximumPacketSize).boxed()),
        (1, (0u16..3).prop_map(Property::TopicAliasMaximum).boxed()),
        (1, (0u8..2).prop_map(Property::RequestProblemInformation).boxed()),
        (1, Just(Property::AuthenticationMethod("x".into())).boxed()),
        (1, arb_user_property()),
    ]);
    (arb_client_id(), any::<bool>(), keep_alive, will, any::<bool>(), properties).prop_map(
        |(id, clean, keep_alive, will, v5, properties)| {
            let mut c = if v5 { Connect::v5(id, clean, keep_alive) } else { Connect::new(id, clean, keep_alive) };
            if v5 {
                c.properties = properties;
            }
            c.will = will.map(|w| if v5 { w } else { LastWill { properties: Properties::new(), ..w } });
            Packet::Connect(c)
        },
    )
}

fn arb_reason() -> impl Strategy<Value = ReasonCode> {
    prop_oneof![
        3 => Just(ReasonCode::SUCCESS),
        1 => Just(ReasonCode::NO_MATCHING_SUBSCRIBERS),
        1 => Just(ReasonCode::UNSPECIFIED_ERROR),
        1 => Just(ReasonCode::DISCONNECT_WITH_WILL),
    ]
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let publish_properties = arb_properties(vec![
        (10, prop_oneof![Just(0u32), 1u32..5, Just(1000)].prop_map(Property::MessageExpiryInterval).boxed()),
        (6, prop_oneof![20 => 1u16..4, 1 => Just(11)].prop_map(Property::TopicAlias).boxed()),
        (3, Just(Property::ContentType("t".into())).boxed()),
        (1, Just(Property::SubscriptionIdentifier(1)).boxed()),
        (3, arb_user_property()),
    ]);
    let topic = prop_oneof![30 => arb_topic(), 1 => Just(String::new())];
    let publish = (topic, arb_qos(), arb_payload(), any::<bool>(), any::<bool>(), arb_pkid(), publish_properties)
        .prop_map(|(topic, qos, payload, retain, dup, pkid, properties)| {
            let mut p = Publish::new(topic, qos, payload, retain, Some(pkid));
            p.dup = dup && qos != QoS::AtMostOnce; // DUP is 0 for QoS 0 [MQTT-3.3.1-2]
            p.properties = properties;
            Packet::Publish(p)
        });
    let retain_handling = prop_oneof![
        Just(RetainHandling::OnSubscribe),
        Just(RetainHandling::OnNewSubscription),
        Just(RetainHandling::Never)
    ];
    let filter = (arb_filter(), arb_qos(), any::<bool>(), any::<bool>(), retain_handling).prop_map(
        |(filter, qos, no_local, retain_as_published, retain_handling)| SubscribeFilter {
            no_local: no_local && !filter.starts_with("$share/"),
            retain_as_published,
            retain_handling,
            ..SubscribeFilter::new(filter, qos)
        },
    );
    let subscribe_properties = arb_properties(vec![
        (3, (1u32..4).prop_map(Property::SubscriptionIdentifier).boxed()),
        (1, arb_user_property()),
    ]);
    let subscribe = (arb_pkid(), vec(filter, 1..4), subscribe_properties)
        .prop_map(|(pkid, filters, properties)| Packet::Subscribe(Subscribe { pkid, filters, properties }));
    let ack = |make: fn(PacketId) -> Packet| {
        (arb_pkid(), arb_reason()).prop_map(move |(pkid, reason)| match make(pkid) {
            Packet::Puback(_) => Packet::Puback(Ack::with_reason(pkid, reason)),
            Packet::Pubrec(_) => Packet::Pubrec(Ack::with_reason(pkid, reason)),
            other => other,
        })
    };
    let disconnect = (arb_reason(), proptest::option::of(prop_oneof![Just(0u32), Just(3), Just(u32::MAX)])).prop_map(
        |(reason, expiry)| {
            let mut d = Disconnect::with_reason(reason);
            d.properties.0.extend(expiry.map(Property::SessionExpiryInterval));
            Packet::Disconnect(d)
        },
    );
    let unsubscribe = (arb_pkid(), vec(arb_filter(), 1..3))
        .prop_map(|(pkid, filters)| Packet::Unsubscribe(Unsubscribe::new(pkid, filters)));
    prop_oneof![
        1 => arb_connect(),
        14 => publish,
        2 => ack(Packet::puback),
        2 => ack(Packet::pubrec),
        2 => arb_pkid().prop_map(Packet::pubrel),
        2 => arb_pkid().prop_map(Packet::pubcomp),
        4 => subscribe,
        1 => unsubscribe,
        1 => Just(Packet::Pingreq),
        1 => Just(Packet::disconnect()),
        1 => disconnect,
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
    /// The version of its CONNECT: how both directions are encoded from then on.
    version: Version,
    sent_connect: bool,
    /// What its 5.0 CONNECT announced: Maximum Packet Size and Receive Maximum.
    max_packet_size: Option<u32>,
    receive_maximum: u16,
    /// QoS 1/2 PUBLISHes the broker sent it that it has not acknowledged yet.
    unacknowledged: usize,
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
    /// 5.0 CONNECTs accepted.
    pub v5_connacks: u64,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.connacks_accepted += other.connacks_accepted;
        self.publishes_sent += other.publishes_sent;
        self.closes += other.closes;
        self.drops += other.drops;
        self.max_queued = self.max_queued.max(other.max_queued);
        self.max_inflight = self.max_inflight.max(other.max_inflight);
        self.v5_connacks += other.v5_connacks;
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
                let version = self.link(*conn).map_or(Version::V311, |l| l.version);
                let packet = in_version(packet.clone(), version);
                let mut bytes = BytesMut::new();
                if packet.encode_as(version, &mut bytes, protocol::MAX_PACKET_SIZE).is_err() {
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
                    if let Some(answer) = link.owed.front().cloned() {
                        let mut bytes = BytesMut::new();
                        answer
                            .encode_as(link.version, &mut bytes, protocol::MAX_PACKET_SIZE)
                            .map_err(|e| e.to_string())?;
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
        let link = Link {
            id,
            buf: BytesMut::new(),
            reading: true,
            owed: VecDeque::new(),
            version: Version::V311,
            sent_connect: false,
            max_packet_size: None,
            receive_maximum: u16::MAX,
            unacknowledged: 0,
        };
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
            match protocol::decode_as(link.version, &mut link.buf, max) {
                Ok(Some(packet)) => {
                    // The CONNECT names the version both directions speak from now on.
                    // (A second CONNECT is a violation that changes nothing [MQTT-3.1.0-2].)
                    if let (Packet::Connect(c), false) = (&packet, link.sent_connect) {
                        link.sent_connect = true;
                        link.version = c.protocol.version();
                        if link.version == Version::V5 {
                            link.max_packet_size = c.properties.maximum_packet_size().copied();
                            link.receive_maximum = c.properties.receive_maximum().copied().unwrap_or(u16::MAX);
                        }
                    }
                    // An answer the client owes, sent by `Op::Ack` or as a generated packet, is
                    // no longer owed; a QoS 1 delivery ends with PUBACK, a QoS 2 one with PUBCOMP
                    // or a PUBREC of 0x80 or more [MQTT5-3.3.4-9].
                    let answered = |owed: &Packet| match (owed, &packet) {
                        (Packet::Puback(a), Packet::Puback(b))
                        | (Packet::Pubrec(a), Packet::Pubrec(b))
                        | (Packet::Pubcomp(a), Packet::Pubcomp(b)) => a.id == b.id,
                        _ => false,
                    };
                    if let Some(i) = link.owed.iter().position(answered) {
                        let answer = link.owed.remove(i).expect("found");
                        let refused = matches!(&packet, Packet::Pubrec(a) if !a.reason.is_success());
                        if refused || matches!(answer, Packet::Puback(_) | Packet::Pubcomp(_)) {
                            link.unacknowledged = link.unacknowledged.saturating_sub(1);
                        }
                    }
                    packets.push(packet)
                }
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
                    if let Some(link) = self.links.iter_mut().find(|l| l.id == conn) {
                        let size = packet.size(link.version).ok_or_else(|| format!("unencodable {packet:?}"))?;
                        if link.max_packet_size.is_some_and(|max| size > max as usize) {
                            return Err(format!(
                                "{size}-byte packet to {conn} past its Maximum Packet Size: {packet:?}"
                            ));
                        }
                        // Re-sends on a resumed session all go out, as in mosquitto, even past
                        // a Receive Maximum smaller than before; a first sending never does.
                        if let Packet::Publish(Publish { qos: QoS::AtLeastOnce | QoS::ExactlyOnce, dup, .. }) = packet {
                            link.unacknowledged += 1;
                            if !dup && link.unacknowledged > usize::from(link.receive_maximum) {
                                return Err(format!(
                                    "{} QoS 1/2 PUBLISHes unacknowledged by {conn}, Receive Maximum {}",
                                    link.unacknowledged, link.receive_maximum
                                ));
                            }
                        }
                    }
                    match &packet {
                        Packet::Connack(Connack { code: ConnackCode::V311(ConnectReturnCode::Accepted), .. }) => {
                            self.stats.connacks_accepted += 1
                        }
                        Packet::Connack(Connack { code: ConnackCode::V5(ReasonCode::SUCCESS), .. }) => {
                            self.stats.connacks_accepted += 1;
                            self.stats.v5_connacks += 1;
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

/// The packet as a client of `version` would send it: a 3.1.1 client's has no properties,
/// subscription options or reason codes (a CONNECT names its own version).
fn in_version(mut packet: Packet, version: Version) -> Packet {
    if version == Version::V5 || matches!(packet, Packet::Connect(_)) {
        return packet;
    }
    if let Some(properties) = packet.properties_mut() {
        *properties = Properties::new();
    }
    match &mut packet {
        Packet::Puback(a) | Packet::Pubrec(a) | Packet::Pubrel(a) | Packet::Pubcomp(a) => {
            a.reason = ReasonCode::SUCCESS
        }
        Packet::Disconnect(d) => d.reason = ReasonCode::SUCCESS,
        Packet::Subscribe(s) => {
            for f in &mut s.filters {
                *f = SubscribeFilter::new(std::mem::take(&mut f.filter), f.qos);
            }
        }
        _ => {}
    }
    packet
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
    assert!(total.v5_connacks > 50, "{total:?}");
}
