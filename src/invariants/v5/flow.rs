//! `receive-maximum`, flow control both ways (section 4.9): the broker never has more than the
//! client's Receive Maximum (its CONNECT's, 65,535 when absent) QoS 1/2 PUBLISH packets
//! unacknowledged on a connection to that client [MQTT5-3.3.4-9], and a client never more than
//! the server's (its CONNACK's) on its connection to the broker [MQTT5-3.3.4-7].
//!
//! A PUBLISH stays unacknowledged until PUBACK, PUBCOMP, or a PUBREC with a reason code of 0x80
//! or more; an accepting PUBREC does not end it. The count is per connection: the send quota
//! starts afresh with each (section 4.9), so a new connection starts empty and every QoS 1/2
//! PUBLISH sent on it counts, a re-send after a reconnect (DUP=1) included; a PUBREL re-sent for
//! a PUBLISH of an earlier connection is not a PUBLISH, and its PUBCOMP frees nothing counted
//! here. The same packet id sent twice counts once. The broker is judged by what its end wrote
//! and read, so an acknowledgement still on its way does not count as received; a client by
//! its own tap. Only 5.0 connections are judged: 3.1.1 has no Receive Maximum.

use std::collections::BTreeMap;

use super::wire::{ends_flow, Seen};
use crate::invariants::Violation;
use crate::protocol::{PacketSummary, PublishSummary};
use crate::trace::{TraceEvent, BROKER};

/// One direction of one connection: the peer's Receive Maximum, the sent PUBLISH packets not
/// yet acknowledged (packet id -> line), and whether it was already reported.
struct Window {
    max: u16,
    connect_line: usize,
    unacknowledged: BTreeMap<u16, usize>,
    reported: bool,
}

impl Window {
    fn new(max: Option<u16>, connect_line: usize) -> Window {
        Window { max: max.unwrap_or(u16::MAX), connect_line, unacknowledged: BTreeMap::new(), reported: false }
    }

    /// Counts a PUBLISH sent with `pkid` at `line`; reports the first time the count passes
    /// the maximum.
    fn sent(&mut self, pkid: u16, line: usize, what: impl FnOnce(usize, u16) -> String, out: &mut Vec<Violation>) {
        self.unacknowledged.entry(pkid).or_insert(line);
        if self.unacknowledged.len() > usize::from(self.max) && !self.reported {
            self.reported = true;
            let mut lines = vec![self.connect_line];
            lines.extend(self.unacknowledged.values().copied().take(8));
            lines.sort_unstable();
            out.push(Violation {
                invariant: "receive-maximum",
                message: what(self.unacknowledged.len(), self.max),
                lines,
            });
        }
    }
}

pub fn check(events: &[TraceEvent], seen: &[Seen], out: &mut Vec<Violation>) {
    // The broker toward each client host.
    let mut server: BTreeMap<&str, Window> = BTreeMap::new();
    for s in seen {
        let Seen::Wire(w) = s else { continue };
        match (w.by_broker, w.packet) {
            (false, PacketSummary::Connect { v5, props, .. }) => {
                server.remove(w.host);
                if *v5 {
                    let max = props.as_ref().and_then(|p| p.receive_maximum);
                    server.insert(w.host, Window::new(max, w.line));
                }
            }
            (true, PacketSummary::Publish(PublishSummary { pkid: Some(pkid), .. })) => {
                if let Some(window) = server.get_mut(w.host) {
                    let what = |n, max| {
                        format!(
                            "the broker had {n} QoS 1/2 PUBLISH packets unacknowledged on its connection to {}, whose Receive Maximum is {max} [MQTT5-3.3.4-9]",
                            w.host
                        )
                    };
                    window.sent(*pkid, w.line, what, out);
                }
            }
            (false, packet) => {
                if let (Some(pkid), Some(window)) = (ends_flow(packet), server.get_mut(w.host)) {
                    window.unacknowledged.remove(&pkid);
                }
            }
            _ => {}
        }
    }
    // Each client toward the broker, by its own tap.
    let mut clients: BTreeMap<&str, Window> = BTreeMap::new();
    for (line, e) in events.iter().enumerate() {
        match e {
            TraceEvent::Send { host, peer, packet, .. } if peer == BROKER => match packet {
                PacketSummary::Connect { v5, .. } => {
                    clients.remove(host.as_str());
                    if *v5 {
                        clients.insert(host, Window::new(None, line));
                    }
                }
                PacketSummary::Publish(PublishSummary { pkid: Some(pkid), .. }) => {
                    if let Some(window) = clients.get_mut(host.as_str()) {
                        let what = |n, max| {
                            format!(
                                "{host} had {n} QoS 1/2 PUBLISH packets unacknowledged on its connection to the broker, whose Receive Maximum is {max} [MQTT5-3.3.4-7]"
                            )
                        };
                        window.sent(*pkid, line, what, out);
                    }
                }
                _ => {}
            },
            TraceEvent::Recv { host, peer, packet, .. } if peer == BROKER => {
                let Some(window) = clients.get_mut(host.as_str()) else { continue };
                match packet {
                    PacketSummary::Connack { props, .. } => {
                        window.max = props.as_ref().and_then(|p| p.receive_maximum).unwrap_or(u16::MAX);
                    }
                    packet => {
                        if let Some(pkid) = ends_flow(packet) {
                            window.unacknowledged.remove(&pkid);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}
