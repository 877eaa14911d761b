//! Our own publications: QoS 0 sent at once, QoS 1/2 given a packet id and kept in the shared
//! sender flow (`qos::Outbox`) until acknowledged, sent in order as the inflight window
//! (`ClientOptions::max_inflight`, narrowed by a 5.0 server's Receive Maximum) has room.

use super::{AckKind, ClientError, ClientEvent, ClientSession};
use crate::protocol::{Packet, PacketId, QoS, ReasonCode};
use crate::qos::{self, Ack, Acked};
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
                self.events.push_back(ClientEvent::Published { pkid, reason });
                self.send_waiting(now);
            }
            Acked::SendPubrel(pkid) => self.acknowledge(AckKind::Pubrel, pkid, now),
            Acked::Ignored => {}
        }
    }

    /// Sends, in order, the publications waiting for room in the window while there is room and
    /// a connection to send on. The window is ours (`max_inflight`, 0 = none) and, in 5.0, no
    /// wider than the server's Receive Maximum [MQTT5-3.3.4-7] [MQTT5-4.9.0-2].
    pub(super) fn send_waiting(&mut self, now: Time) {
        if !self.is_connected() {
            return;
        }
        let ours = match self.options.max_inflight {
            0 => usize::MAX,
            n => usize::from(n),
        };
        let window = ours.min(self.v5.send_window());
        while let Some(publish) = self.outbox.send_next(window) {
            self.send_publish(Packet::Publish(publish), now);
        }
    }

    /// Sends one of our PUBLISHes, with a 5.0 Topic Alias applied as this connection knows it.
    pub(super) fn send_publish(&mut self, mut packet: Packet, now: Time) {
        if let Packet::Publish(publish) = &mut packet {
            self.v5.alias_outgoing(publish);
        }
        self.send(packet, now);
    }
}
