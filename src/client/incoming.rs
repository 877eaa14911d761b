//! Messages from the server: handed to the application and acknowledged at once, a QoS 2 one
//! handed over exactly once while its id awaits PUBREL (the receiver's side of QoS 2, which
//! differs from the broker's and so is not in `qos`). A 5.0 message's Topic Alias is resolved
//! first (`v5`), and its properties go to the application with it.

use super::{AckKind, ClientEvent, ClientSession, Message};
use crate::protocol::{PacketId, Publish, QoS, ReasonCode};
use crate::time::Time;

impl ClientSession {
    pub(super) fn handle_publish(&mut self, mut publish: Publish, now: Time) {
        if let Err((reason, what)) = self.v5.alias_incoming(&mut publish, self.options.topic_alias_maximum) {
            return self.violation_with(reason, what);
        }
        let message = Message {
            topic: publish.topic,
            payload: publish.payload,
            qos: publish.qos,
            retain: publish.retain,
            dup: publish.dup,
            properties: publish.properties,
        };
        // Acknowledged at once, so acknowledgements leave in receive order [MQTT-4.6.0-2]
        // [MQTT-4.6.0-3] [MQTT-4.5.0-2].
        match (publish.qos, publish.pkid) {
            (QoS::AtMostOnce, _) => self.events.push_back(ClientEvent::Message(message)),
            (QoS::AtLeastOnce, Some(pkid)) => {
                self.events.push_back(ClientEvent::Message(message));
                self.acknowledge(AckKind::Puback, pkid, now);
            }
            (QoS::ExactlyOnce, Some(pkid)) => {
                // Handed over on first receipt only; a re-sent PUBLISH with an id still awaiting
                // PUBREL is the same message [MQTT-4.3.3-2].
                if self.incoming_qos2.insert(pkid) {
                    // A 5.0 server keeps within our Receive Maximum; one more is 0x93
                    // (section 3.3.4, [MQTT5-3.3.4-9] binds the server).
                    if self.incoming_qos2.len() > self.v5.receive_maximum(&self.options) {
                        self.incoming_qos2.remove(&pkid);
                        return self.violation_with(
                            ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
                            "more QoS 2 messages unacknowledged than our Receive Maximum [MQTT5-3.3.4-9]",
                        );
                    }
                    self.events.push_back(ClientEvent::Message(message));
                }
                self.acknowledge(AckKind::Pubrec, pkid, now);
            }
            // The codec never yields this; a hand-built packet is refused, not a crash.
            (_, None) => self.violation("QoS 1/2 PUBLISH without a packet identifier [MQTT-2.3.1-1]"),
        }
    }

    pub(super) fn handle_pubrel(&mut self, pkid: PacketId, now: Time) {
        // The id may be reused from here on; PUBCOMP even if unknown, as the PUBREL may
        // repeat one answered before a reconnect. PUBRELs answered in order [MQTT-4.6.0-4].
        self.incoming_qos2.remove(&pkid);
        self.acknowledge(AckKind::Pubcomp, pkid, now);
    }
}
