//! What a scripted client does by hand, to show how a broker reacts to a client that is slow,
//! stubborn or wrong: acknowledgements withheld until asked for (`ClientOptions::manual_acks`),
//! packets sent exactly as given, and keep alive pings stopped. Nothing here runs for a client
//! that does not ask for it.

use bytes::Bytes;

use super::{ClientAction, ClientError, ClientSession};
use crate::protocol::{Packet, PacketId};
use crate::time::Time;

/// An acknowledgement a client sends for a packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AckKind {
    /// For a QoS 1 PUBLISH received.
    Puback,
    /// For a QoS 2 PUBLISH received.
    Pubrec,
    /// For the PUBREC of our own QoS 2 publication.
    Pubrel,
    /// For a PUBREL received.
    Pubcomp,
}

impl AckKind {
    pub fn packet(self, pkid: PacketId) -> Packet {
        match self {
            AckKind::Puback => Packet::puback(pkid),
            AckKind::Pubrec => Packet::pubrec(pkid),
            AckKind::Pubrel => Packet::pubrel(pkid),
            AckKind::Pubcomp => Packet::pubcomp(pkid),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AckKind::Puback => "PUBACK",
            AckKind::Pubrec => "PUBREC",
            AckKind::Pubrel => "PUBREL",
            AckKind::Pubcomp => "PUBCOMP",
        }
    }
}

impl ClientSession {
    /// Sends `packet` if acknowledgements are automatic, else keeps it owed until `ack`.
    pub(super) fn acknowledge(&mut self, kind: AckKind, pkid: PacketId, now: Time) {
        if self.options.manual_acks {
            self.owed.push((kind, pkid));
        } else {
            self.send(kind.packet(pkid), now);
        }
    }

    /// With manual acknowledgements, those owed and not yet sent, oldest first.
    pub fn owed_acks(&self) -> &[(AckKind, PacketId)] {
        &self.owed
    }

    /// Sends an acknowledgement by hand: the oldest owed of `kind` when `pkid` is `None`, else
    /// the one for `pkid` (owed or not: a scripted client may acknowledge what it was never
    /// sent). Returns the packet id acknowledged.
    pub fn ack(&mut self, kind: AckKind, pkid: Option<PacketId>, now: Time) -> Result<PacketId, ClientError> {
        if !self.is_connected() {
            return Err(ClientError::NotConnected);
        }
        let owed = self.owed.iter().position(|&(k, id)| k == kind && pkid.is_none_or(|p| p == id));
        let pkid = match (owed, pkid) {
            (Some(i), _) => self.owed.remove(i).1,
            (None, Some(pkid)) => pkid,
            (None, None) => return Err(ClientError::NothingOwed(kind.name())),
        };
        self.send(kind.packet(pkid), now);
        Ok(pkid)
    }

    /// Sends `packet` as given, without any change to the session's state (a PUBLISH sent this
    /// way is not in the outbox: its acknowledgements are the script's to send). The codec's
    /// rules still apply: a packet the encoder refuses is an error.
    pub fn send_packet(&mut self, packet: Packet, now: Time) -> Result<(), ClientError> {
        if !self.is_connected() {
            return Err(ClientError::NotConnected);
        }
        self.check(&packet)?;
        self.send(packet, now);
        Ok(())
    }

    /// Sends bytes as given: a packet the encoder refuses, written by a client that breaks the
    /// rules on purpose.
    pub fn send_raw(&mut self, bytes: Bytes, now: Time) -> Result<(), ClientError> {
        if !self.is_connected() {
            return Err(ClientError::NotConnected);
        }
        self.last_sent = now;
        self.actions.push_back(ClientAction::SendRaw(bytes));
        Ok(())
    }

    /// Stops sending PINGREQ on this connection (and so any packet when idle), to let the
    /// server's keep alive run out [MQTT-3.1.2-24]. The next connection pings again.
    pub fn stop_pinging(&mut self) {
        self.pinging = false;
    }
}
