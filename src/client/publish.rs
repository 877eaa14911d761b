//! Our own publications: QoS 0 sent at once, QoS 1/2 given a packet id and kept in the shared
//! sender flow (`qos::Outbox`) until acknowledged, sent in order as the inflight window
//! (`ClientOptions::max_inflight`, narrowed by a 5.0 server's Receive Maximum) has room; a
//! resumed 5.0 session's re-sends kept within that window too.

use super::{AckKind, ClientError, ClientEvent, ClientSession};
use crate::protocol::{Packet, PacketId, Publish, QoS, ReasonCode, Version};
use crate::qos::{self, Ack, Acked, OutState};
use crate::time::Time;

impl ClientSession {
    pub(super) fn publish_message(
        &mut self,
        mut message: qos::Message,
        now: Time,
    ) -> Result<Option<PacketId>, ClientError> {
        // What the server's CONNACK rules out, and a 5.0 Topic Alias resolved to its topic, so
        // the stored message can be re-sent on a connection without the alias.
        self.check_publication(&mut message)?;
        if message.qos == QoS::AtMostOnce {
            let publish = Packet::Publish(qos::publish(&message, None, false));
            self.check(&publish)?;
            self.send_publish(publish, now);
            return Ok(None);
        }
        let pkid = self.free_id()?;
        self.check(&Packet::Publish(qos::publish(&message, Some(pkid), false)))?;
        self.outbox.push(pkid, message);
        self.send_waiting(now);
        Ok(Some(pkid))
    }

    /// PUBACK, PUBREC or PUBCOMP for one of our publications, with its reason code (Success in
    /// 3.1.1).
    pub(super) fn handle_ack(&mut self, ack: Ack, reason: ReasonCode, now: Time) {
        match self.outbox.acknowledge(ack) {
            Acked::Complete { pkid, .. } => {
                self.v5.held_resends.retain(|&id| id != pkid);
                // A QoS 2 flow's news is in its PUBREC (0x10 No matching subscribers); its
                // PUBCOMP's Success only ends it.
                let pubrec = self.v5.pubrec_reasons.remove(&pkid);
                let reason = if reason.0 == 0 { pubrec.unwrap_or(reason) } else { reason };
                self.events.push_back(ClientEvent::Published { pkid, reason });
                self.send_waiting(now);
            }
            Acked::SendPubrel(pkid) => {
                // Answered, so no longer a PUBLISH to re-send.
                self.v5.held_resends.retain(|&id| id != pkid);
                if reason.0 != 0 {
                    self.v5.pubrec_reasons.insert(pkid, reason);
                }
                self.acknowledge(AckKind::Pubrel, pkid, now)
            }
            Acked::Ignored => {}
        }
    }

    /// Our QoS 1/2 publications on this connection's wire: sent, not fully acknowledged, and
    /// not among the re-sends held back for room.
    pub(super) fn on_the_wire(&self) -> usize {
        self.outbox.in_flight().saturating_sub(self.v5.held_resends.len())
    }

    /// The window: ours (`max_inflight`, 0 = none), in 5.0 no wider than the server's Receive
    /// Maximum [MQTT5-3.3.4-7] [MQTT5-4.9.0-2].
    fn window(&self) -> usize {
        let ours = match self.options.max_inflight {
            0 => usize::MAX,
            n => usize::from(n),
        };
        ours.min(self.v5.send_window())
    }

    /// A resumed 5.0 session's re-sends (`Outbox::resend`, in the original order): every PUBREL
    /// at once, as only PUBLISH may wait for the Receive Maximum [MQTT5-3.3.4-8], and the
    /// PUBLISHes while the window has room [MQTT5-3.3.4-7]; the rest are held and go out, DUP 1
    /// and in order [MQTT5-4.6.0-1], as acknowledgements make room (a server may allow fewer
    /// than the last connection's did).
    pub(super) fn resend_within_window(&mut self, resends: Vec<Packet>, now: Time) {
        let window = self.window();
        let mut on_wire = 0;
        for packet in resends {
            match &packet {
                Packet::Publish(p) if on_wire >= window => {
                    self.v5.held_resends.push_back(p.pkid.expect("a re-sent PUBLISH is QoS 1 or 2"));
                }
                _ => {
                    if self.send_publish(packet, now) {
                        on_wire += 1;
                    }
                }
            }
        }
    }

    /// Sends, in order, the publications waiting for room in the window while there is room and
    /// a connection to send on: first re-sends held back (`resend_within_window`), then those
    /// never sent. Held re-sends count as in flight, so nothing new passes them.
    pub(super) fn send_waiting(&mut self, now: Time) {
        if !self.is_connected() {
            return;
        }
        let window = self.window();
        while self.on_the_wire() < window {
            let Some(pkid) = self.v5.held_resends.pop_front() else {
                break;
            };
            let entry = self.outbox.iter().find(|f| f.pkid == pkid && f.state != OutState::AwaitPubcomp);
            if let Some(f) = entry {
                let packet = Packet::Publish(qos::publish(&f.msg, Some(pkid), true));
                self.send_publish(packet, now);
            }
        }
        while let Some(publish) = self.outbox.send_next(window) {
            self.send_publish(Packet::Publish(publish), now);
        }
    }

    /// Sends one of our PUBLISHes (or a re-sent PUBREL), with a 5.0 Topic Alias applied as this
    /// connection knows it. A stored publication this server does not take (accepted on an
    /// earlier connection, whose server allowed more) is not sent: its flow ends as if it had
    /// been, reported with the reason the server would have given: 0x95 Packet too large
    /// (section 3.2.2.3.6, [MQTT5-3.2.2-15]), 0x9B QoS not supported [MQTT5-3.2.2-11], 0x9A
    /// Retain not supported [MQTT5-3.2.2-14]. Returns whether it was sent.
    pub(super) fn send_publish(&mut self, mut packet: Packet, now: Time) -> bool {
        if let Packet::Publish(publish) = &mut packet {
            if let Some(reason) = self.unsendable(publish) {
                if let Some(pkid) = publish.pkid {
                    let ack = if publish.qos == QoS::ExactlyOnce { Ack::PubrecFailed(pkid) } else { Ack::Puback(pkid) };
                    if let Acked::Complete { .. } = self.outbox.acknowledge(ack) {
                        self.v5.held_resends.retain(|&id| id != pkid);
                        self.events.push_back(ClientEvent::Published { pkid, reason });
                    }
                }
                return false;
            }
            self.v5.alias_outgoing(publish);
        }
        self.send(packet, now);
        true
    }

    /// Why this 5.0 server would refuse `publish` (as stored, with its whole topic), if it would.
    fn unsendable(&self, publish: &Publish) -> Option<ReasonCode> {
        if self.options.version == Version::V311 {
            return None;
        }
        let server = self.server_limits();
        if publish.qos > server.maximum_qos {
            Some(ReasonCode::QOS_NOT_SUPPORTED)
        } else if publish.retain && !server.retain_available {
            Some(ReasonCode::RETAIN_NOT_SUPPORTED)
        } else if Packet::Publish(publish.clone()).size(Version::V5).is_none_or(|n| n > self.max_packet_size()) {
            Some(ReasonCode::PACKET_TOO_LARGE)
        } else {
            None
        }
    }
}
