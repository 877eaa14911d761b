//! Our own publications: QoS 0 sent at once, QoS 1/2 given a packet id and kept in the shared
//! sender flow (`qos::Outbox`) until acknowledged, sent in order as the inflight window
//! (`ClientOptions::max_inflight`) has room.

use bytes::Bytes;

use super::{AckKind, ClientError, ClientEvent, ClientSession};
use crate::protocol::{Packet, PacketId, QoS};
use crate::qos::{self, Ack, Acked};
use crate::time::Time;

impl ClientSession {
    pub(super) fn publish_message(
        &mut self,
        topic: String,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        now: Time,
    ) -> Result<Option<PacketId>, ClientError> {
        let publication = qos::Message::new(topic, payload, qos, retain);
        if qos == QoS::AtMostOnce {
            let publish = Packet::Publish(qos::publish(&publication, None, false));
            self.check(&publish)?;
            self.send(publish, now);
            return Ok(None);
        }
        let pkid = self.free_id()?;
        self.check(&Packet::Publish(qos::publish(&publication, Some(pkid), false)))?;
        self.outbox.push(pkid, publication);
        self.send_waiting(now);
        Ok(Some(pkid))
    }

    /// PUBACK, PUBREC or PUBCOMP for one of our publications.
    pub(super) fn handle_ack(&mut self, ack: Ack, now: Time) {
        match self.outbox.acknowledge(ack) {
            Acked::Complete { pkid, .. } => {
                self.events.push_back(ClientEvent::Published(pkid));
                self.send_waiting(now);
            }
            Acked::SendPubrel(pkid) => self.acknowledge(AckKind::Pubrel, pkid, now),
            Acked::Ignored => {}
        }
    }

    /// Sends, in order, the publications waiting for room in the window while there is room and
    /// a connection to send on.
    pub(super) fn send_waiting(&mut self, now: Time) {
        if !self.is_connected() {
            return;
        }
        let window = match self.options.max_inflight {
            0 => usize::MAX,
            n => usize::from(n),
        };
        while let Some(publish) = self.outbox.send_next(window) {
            self.send(Packet::Publish(publish), now);
        }
    }
}
