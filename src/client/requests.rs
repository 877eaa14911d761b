//! SUBSCRIBE and UNSUBSCRIBE and their acks, and the packet ids every request takes: one
//! counter with our publications (`qos::Outbox` holds it), none in use twice [MQTT-2.3.1-2].
//! Requests are not session state: they die with the connection.

use super::{ClientError, ClientSession};
use crate::protocol::{EncodeError, Packet, PacketId};
use crate::time::Time;

/// Which request a SUBSCRIBE/UNSUBSCRIBE packet id is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request {
    Subscribe,
    Unsubscribe,
}

impl ClientSession {
    /// Sends the SUBSCRIBE or UNSUBSCRIBE that `packet` builds with a free id, and waits for its
    /// ack under that id.
    pub(super) fn request(
        &mut self,
        kind: Request,
        packet: impl FnOnce(PacketId) -> Packet,
        now: Time,
    ) -> Result<PacketId, ClientError> {
        if !self.is_connected() {
            return Err(ClientError::NotConnected);
        }
        let pkid = self.free_id()?;
        let packet = packet(pkid);
        self.check(&packet)?;
        self.outbox.claim_id(pkid);
        self.requests.insert(pkid, kind);
        self.send(packet, now);
        Ok(pkid)
    }

    /// A packet id not used by any unacknowledged PUBLISH, SUBSCRIBE or UNSUBSCRIBE
    /// [MQTT-2.3.1-2]; it is taken when the request is accepted.
    pub(super) fn free_id(&self) -> Result<PacketId, ClientError> {
        self.outbox.free_id(|id| self.requests.contains_key(&id)).ok_or(ClientError::NoPacketId)
    }

    /// Removes the request waiting on `pkid` if it is of `kind`; whether it was.
    pub(super) fn take_request(&mut self, pkid: PacketId, kind: Request) -> bool {
        if self.requests.get(&pkid) != Some(&kind) {
            return false;
        }
        self.requests.remove(&pkid);
        true
    }

    /// Refuses requests the encoder would refuse in the connection's version, before they
    /// change any state: the packet id is taken only after it passes, so an invalid request does
    /// not shift the ids of the requests after it. A packet larger than a 5.0 server's Maximum
    /// Packet Size is refused, not sent [MQTT5-3.2.2-15].
    pub(super) fn check(&self, packet: &Packet) -> Result<(), ClientError> {
        let max = self.max_packet_size();
        match packet.encode_as(self.options.version, &mut bytes::BytesMut::new(), max) {
            Ok(_) => Ok(()),
            Err(EncodeError::ExceedsMaximum { size, max }) if max < crate::protocol::MAX_PACKET_SIZE => {
                Err(ClientError::TooLarge { size, max })
            }
            Err(e) => Err(e.into()),
        }
    }
}
