//! The packets between the broker and each client as the broker's end saw them
//! (`flags::broker_view`: its own tap in the simulation, the fault proxy's broker side over real
//! TCP), each with what the 5.0 invariants read besides the packet: the client id and protocol
//! version of the connection it belongs to, and a PUBLISH's topic with its Topic Alias resolved
//! (section 3.3.2.3.4: an alias stands for the topic it was last given on that connection, in
//! that direction). The other events the 5.0 invariants read (faults, broker events) come in
//! the same order, so each invariant is one pass.

use std::collections::BTreeMap;

use crate::invariants::flags::broker_view;
use crate::protocol::{PacketSummary, PublishSummary};
use crate::trace::{TraceEvent, BROKER};

/// One packet between the broker and a client.
pub struct Wire<'a> {
    pub line: usize,
    pub ms: u64,
    /// The client's host: its name in the scenario.
    pub host: &'a str,
    /// Whether the broker wrote it; else the broker read it.
    pub by_broker: bool,
    pub packet: &'a PacketSummary,
    /// The connection's client id, once known: the CONNECT's, or the CONNACK's Assigned Client
    /// Identifier for an empty one.
    pub client_id: Option<String>,
    /// Whether the connection's CONNECT was MQTT 5.0.
    pub v5: bool,
    /// A PUBLISH's topic with its Topic Alias resolved; `None` for an alias never given a topic.
    pub topic: Option<String>,
}

impl Wire<'_> {
    /// The PUBLISH, if this is one.
    pub fn publish(&self) -> Option<&PublishSummary> {
        self.packet.publish()
    }
}

/// A packet between the broker and a client, or another event of the trace.
pub enum Seen<'a> {
    Wire(Wire<'a>),
    Event(usize, &'a TraceEvent),
}

/// What the walk knows of a host's current connection.
#[derive(Default)]
struct Conn {
    client_id: Option<String>,
    v5: bool,
    /// Topic aliases from the client, and from the broker.
    aliases: [BTreeMap<u16, String>; 2],
}

/// The trace in order, packets between the broker and its clients read from the broker's end.
pub fn walk(events: &[TraceEvent]) -> Vec<Seen<'_>> {
    let tapped = events.iter().any(|e| matches!(e, TraceEvent::Send { host, .. } if host == BROKER));
    let mut conns: BTreeMap<&str, Conn> = BTreeMap::new();
    let mut out = Vec::with_capacity(events.len());
    for (line, e) in events.iter().enumerate() {
        let Some((host, by_broker, packet)) = broker_view(e, tapped) else {
            if !matches!(e, TraceEvent::Send { .. } | TraceEvent::Recv { .. }) {
                out.push(Seen::Event(line, e));
            }
            continue;
        };
        if let (false, PacketSummary::Connect { client_id, v5, .. }) = (by_broker, packet) {
            let client_id = (!client_id.is_empty()).then(|| client_id.clone());
            conns.insert(host, Conn { client_id, v5: *v5, ..Conn::default() });
        }
        let conn = conns.entry(host).or_default();
        if let (true, PacketSummary::Connack { props: Some(p), .. }) = (by_broker, packet) {
            if let Some(id) = &p.assigned_client_id {
                conn.client_id = Some(id.clone());
            }
        }
        let topic = packet.publish().and_then(|p| {
            let aliases = &mut conn.aliases[usize::from(by_broker)];
            match p.props.as_ref().and_then(|props| props.topic_alias) {
                Some(alias) if p.topic.is_empty() => aliases.get(&alias).cloned(),
                Some(alias) => {
                    aliases.insert(alias, p.topic.clone());
                    Some(p.topic.clone())
                }
                None => Some(p.topic.clone()),
            }
        });
        out.push(Seen::Wire(Wire {
            line,
            ms: e.ms(),
            host,
            by_broker,
            packet,
            client_id: conn.client_id.clone(),
            v5: conn.v5,
            topic,
        }));
    }
    out
}

/// Whether a client's acknowledgement ends the QoS 1/2 flow of the broker's PUBLISH with its
/// packet id: PUBACK, PUBCOMP, or PUBREC with a reason code of 0x80 or more [MQTT5-4.3.3-4]
/// (the same three free a slot of the Receive Maximum [MQTT5-3.3.4-9]).
pub fn ends_flow(packet: &PacketSummary) -> Option<u16> {
    match packet {
        PacketSummary::Puback { pkid, .. } | PacketSummary::Pubcomp { pkid, .. } => Some(*pkid),
        PacketSummary::Pubrec { pkid, reason } if *reason >= 0x80 => Some(*pkid),
        _ => None,
    }
}

/// A PUBLISH the broker read from a client.
pub struct Receipt {
    pub line: usize,
    /// The publisher's client id, once known.
    pub client_id: Option<String>,
    pub qos: u8,
    pub retain: bool,
    pub pkid: Option<u16>,
    /// The line of the broker's PUBACK (QoS 1) or PUBCOMP (QoS 2) that ended the flow: by then
    /// the broker had routed the message (a QoS 2 one at PUBREL at the latest). `None` at QoS 0
    /// or while the trace shows no end.
    pub routed_by: Option<usize>,
}

/// A message as the invariants know it: (topic, payload).
pub type Message = (String, String);

/// The messages the broker read, each with every PUBLISH that carried it, in order.
pub type Receipts = BTreeMap<Message, Vec<Receipt>>;

/// Every PUBLISH the broker read, by message.
pub fn receipts(seen: &[Seen]) -> Receipts {
    let mut out = Receipts::new();
    // Per client host, its QoS 1/2 PUBLISH packets the broker has not ended the flow of.
    let mut open: BTreeMap<(&str, u16), (Message, usize)> = BTreeMap::new();
    for s in seen {
        let Seen::Wire(w) = s else { continue };
        if w.by_broker {
            let end = match w.packet {
                PacketSummary::Puback { pkid, .. } | PacketSummary::Pubcomp { pkid, .. } => Some(*pkid),
                _ => None,
            };
            if let Some((key, i)) = end.and_then(|pkid| open.remove(&(w.host, pkid))) {
                if let Some(r) = out.get_mut(&key).and_then(|rs| rs.get_mut(i)) {
                    r.routed_by = Some(w.line);
                }
            }
            continue;
        }
        let (Some(p), Some(topic)) = (w.publish(), &w.topic) else { continue };
        let key = (topic.clone(), p.payload.clone());
        let copies = out.entry(key.clone()).or_default();
        if let Some(pkid) = p.pkid {
            open.insert((w.host, pkid), (key, copies.len()));
        }
        copies.push(Receipt {
            line: w.line,
            client_id: w.client_id.clone(),
            qos: p.qos,
            retain: p.retain,
            pkid: p.pkid,
            routed_by: None,
        });
    }
    out
}
