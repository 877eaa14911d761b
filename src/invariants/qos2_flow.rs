//! The QoS 2 sender's rule a trace can judge from packets: once it has sent PUBREL for a packet
//! id, it never sends that PUBLISH again, on this connection or after a reconnect; it re-sends
//! the PUBREL [MQTT-4.3.3-1] [MQTT-4.4.0-1]. A PUBREL written is proof the sender processed the
//! PUBREC (a PUBREC merely read by its socket is not, over real TCP), so the rule is judged from
//! the PUBREL on, until the PUBCOMP that frees the id. Judged for the broker (by the packets its
//! end wrote, or where it is not tapped what its clients read) and for each client.

use std::collections::BTreeMap;

use super::flags::broker_view;
use super::Violation;
use crate::protocol::{PacketSummary, PublishSummary};
use crate::trace::{BrokerEvent, Fault, TraceEvent, BROKER};

/// One sender's QoS 2 messages by packet id: the message (topic, payload) of its last PUBLISH,
/// and the line of its PUBREL once sent.
type Flows = BTreeMap<u16, ((String, String), Option<usize>)>;

pub fn no_publish_after_pubrel(events: &[TraceEvent], out: &mut Vec<Violation>) {
    let tapped = events.iter().any(|e| matches!(e, TraceEvent::Send { host, .. } if host == BROKER));
    let mut id_of_host: BTreeMap<&str, &str> = BTreeMap::new();
    let mut broker: BTreeMap<&str, Flows> = BTreeMap::new();
    let mut clients: BTreeMap<&str, Flows> = BTreeMap::new();
    for (line, e) in events.iter().enumerate() {
        if let Some((client, by_broker, packet)) = broker_view(e, tapped) {
            if !by_broker {
                if let PacketSummary::Connect { client_id, .. } = packet {
                    id_of_host.insert(client, client_id);
                }
                if let (PacketSummary::Pubcomp { pkid, .. }, Some(id)) = (packet, id_of_host.get(client)) {
                    broker.entry(id).or_default().remove(pkid);
                }
            } else if let Some(&id) = id_of_host.get(client).filter(|id| !id.is_empty()) {
                if let PacketSummary::Connack { session_present: false, return_code: 0, .. } = packet {
                    broker.remove(id);
                } else {
                    let what = || format!("the broker, to {client}");
                    sent(broker.entry(id).or_default(), packet, line, what, out);
                }
            }
        }
        match e {
            TraceEvent::Send { host, peer, packet, .. } if peer == BROKER => {
                if let PacketSummary::Connect { clean_session: true, .. } = packet {
                    clients.remove(host.as_str());
                } else {
                    sent(clients.entry(host).or_default(), packet, line, || host.clone(), out);
                }
            }
            TraceEvent::Recv { host, peer, packet: PacketSummary::Pubcomp { pkid, .. }, .. } if peer == BROKER => {
                clients.entry(host).or_default().remove(pkid);
            }
            TraceEvent::Broker { event: BrokerEvent::SessionDiscarded { client_id }, .. } => {
                broker.remove(client_id.as_str());
            }
            TraceEvent::Fault { fault: Fault::CrashBroker, .. } => broker.clear(),
            TraceEvent::Fault { fault: Fault::CrashClient { client }, .. } => {
                clients.remove(client.as_str());
            }
            _ => {}
        }
    }
}

/// Follows one packet a sender wrote.
fn sent(
    flows: &mut Flows,
    packet: &PacketSummary,
    line: usize,
    who: impl FnOnce() -> String,
    out: &mut Vec<Violation>,
) {
    match packet {
        PacketSummary::Publish(PublishSummary { pkid: Some(pkid), qos: 2, topic, payload, .. }) => {
            let message = (topic.clone(), payload.clone());
            match flows.get(pkid) {
                Some((held, Some(pubrel))) if *held == message => out.push(Violation {
                    invariant: "no-publish-after-pubrel",
                    message: format!(
                        "{} sent PUBLISH id={pkid} {topic:?} again after its PUBREL at line {pubrel}: it must re-send the PUBREL [MQTT-4.3.3-1]",
                        who()
                    ),
                    lines: vec![*pubrel, line],
                }),
                _ => {
                    flows.insert(*pkid, (message, None));
                }
            }
        }
        PacketSummary::Pubrel { pkid, .. } => {
            if let Some(flow) = flows.get_mut(pkid) {
                flow.1.get_or_insert(line);
            }
        }
        _ => {}
    }
}
