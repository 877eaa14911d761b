//! Message flow: PUBLISH from clients (QoS 0/1/2 receiver side), routing to matching sessions,
//! the outgoing inflight window and queue (QoS 1/2 sender side), retained messages, wills, and
//! SUBSCRIBE/UNSUBSCRIBE (spec sections 3.3 to 3.11 and 4.3 to 4.6).

use std::sync::Arc;

use bytes::Bytes;

use super::session::{DropReason, Message, Outgoing, Session};
use super::{push_send, Broker, CloseReason, ConnId, Event, Qos2Delivery};
use crate::protocol::properties::id;
use crate::protocol::{
    Ack as AckPacket, LastWill, Packet, PacketId, Publish, QoS, ReasonCode, Suback, SubackCode, Subscribe, Unsuback,
    Unsubscribe, Version,
};
use crate::qos::{self, Ack, Acked};
use crate::time::Time;
use crate::topic;

impl Broker {
    pub(super) fn handle_publish(&mut self, conn: ConnId, client_id: &str, publish: Publish, now: Time) {
        let levels = topic::levels(&publish.topic);
        if levels > topic::MAX_LEVELS {
            // Neither acknowledged nor forwarded; the will is published as for any close the
            // client did not ask for [MQTT-3.1.2-8].
            return self.close(conn, CloseReason::TopicTooDeep { levels }, true, true, now);
        }
        let version = self.version(conn);
        if version == Version::V5 {
            if let Some(reason) = Broker::refusal_of_publish(&publish) {
                return self.close(conn, reason, true, true, now);
            }
        }
        #[cfg(feature = "mutants")]
        let dup = publish.dup;
        // A 5.0 publisher's properties are forwarded unchanged and in order [MQTT5-3.3.2-4]
        // [MQTT5-3.3.2-15] [MQTT5-3.3.2-16] [MQTT5-3.3.2-17] [MQTT5-3.3.2-18] [MQTT5-3.3.2-20],
        // less those that belong to the connection (Topic Alias) or to the receiver's
        // subscription (Subscription Identifier) [MQTT5-3.3.4-6].
        let mut properties = publish.properties;
        properties.remove(id::TOPIC_ALIAS);
        properties.remove(id::SUBSCRIPTION_IDENTIFIER);
        let msg = Arc::new(Message {
            // A copy: a slice of the read buffer would keep the whole buffer alive while the
            // message waits in queues or the retained store.
            payload: Bytes::copy_from_slice(&publish.payload),
            properties,
            ..Message::new(publish.topic, Bytes::new(), publish.qos, publish.retain)
        });
        // A 5.0 acknowledgement says when nobody subscribes (0x10), as mosquitto's does; the
        // message is still taken [MQTT5-3.4.2-1] [MQTT5-3.5.2-1].
        let reason = match version {
            Version::V5 if !self.subscriptions.any_match(&msg.topic) => ReasonCode::NO_MATCHING_SUBSCRIBERS,
            _ => ReasonCode::SUCCESS,
        };
        match (publish.qos, publish.pkid) {
            (QoS::AtMostOnce, _) => self.route(msg),
            (QoS::AtLeastOnce, Some(pkid)) => {
                self.is_held_resend(client_id, pkid, &msg);
                // Route first, then PUBACK [MQTT-4.3.2-2]: the message is owned once acknowledged.
                self.route(msg);
                self.send(conn, Packet::Puback(AckPacket::with_reason(pkid, reason)));
            }
            (QoS::ExactlyOnce, Some(pkid)) => {
                if self.is_held_resend(client_id, pkid, &msg) {
                    #[cfg(feature = "mutants")]
                    if dup && self.config.mutant == Some(crate::mutants::Mutant::DropOnDupBeforePubrel) {
                        return self.violation(conn, "a second PUBLISH before PUBREL", now);
                    }
                    // Answered with PUBREC again, not routed twice [MQTT-4.3.3-2].
                    return self.send(conn, Packet::pubrec(pkid));
                }
                let limit = self.window();
                let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
                if session.incoming.len() >= limit {
                    // The window of messages awaiting PUBREL is full. PUBREC would accept
                    // ownership [MQTT-4.3.3-2], so it is not sent and the message is neither
                    // stored nor forwarded; 3.1.1 has no negative acknowledgement, so the
                    // connection is closed as for a transient error [MQTT-4.8.0-2], and the will
                    // published as for any close without DISCONNECT [MQTT-3.1.2-8]. mosquitto 2.0
                    // caps this window too, but sends PUBREC and discards the message: an
                    // acknowledged message silently lost.
                    session.incoming_refused += 1;
                    let reason = CloseReason::IncomingWindowFull { pkid, topic: msg.topic.clone(), limit };
                    return self.close(conn, reason, true, true, now);
                }
                // Held until PUBREL [MQTT-4.3.3-2]: the message, routed then (method A), or with
                // `qos2_delivery on_publish` routed now and held only to know a re-send (method B).
                session.incoming.insert(pkid, Arc::clone(&msg));
                if self.config.qos2_delivery == Qos2Delivery::OnPublish {
                    self.route(msg);
                }
                self.send(conn, Packet::Pubrec(AckPacket::with_reason(pkid, reason)));
            }
            // The codec never yields this; a hand-built packet is refused, not a crash.
            (_, None) => self.violation(conn, "QoS 1/2 PUBLISH without a packet identifier [MQTT-2.3.1-1]", now),
        }
    }

    /// Whether `msg`, published at QoS 1 or 2 with `pkid`, re-sends the QoS 2 message held under
    /// `pkid` awaiting PUBREL: the same QoS, topic, payload and RETAIN, whatever the DUP flag.
    /// A different message under a held id is a new one, from a publisher that lost the old one's
    /// state (the id is free as far as it knows [MQTT-2.3.1-2]) and will never release it: the
    /// held message is discarded, as mosquitto does ("Reused message ID ... Clearing from
    /// storage"), and a QoS 2 one takes its place, so PUBREL releases what the publisher now
    /// means rather than a stale message. mosquitto compares QoS, topic and payload only; we
    /// compare RETAIN too, which a re-send keeps, so a new message differing only there is not
    /// released with the old flag.
    fn is_held_resend(&mut self, client_id: &str, pkid: PacketId, msg: &Message) -> bool {
        let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
        match session.incoming.get(&pkid) {
            None => false,
            Some(held) if **held == *msg => true,
            Some(_) => {
                let held = session.incoming.remove(&pkid).expect("just found");
                self.events.push_back(Event::IncomingPacketIdReused {
                    client_id: client_id.to_owned(),
                    pkid,
                    replaced_topic: held.topic.clone(),
                    topic: msg.topic.clone(),
                });
                false
            }
        }
    }

    pub(super) fn handle_pubrel(&mut self, conn: ConnId, client_id: &str, pkid: PacketId) {
        let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
        if let Some(msg) = session.incoming.remove(&pkid) {
            if self.config.qos2_delivery == Qos2Delivery::OnPubrel {
                self.route(msg);
            }
        }
        // PUBCOMP even for an unknown id: the PUBREL may repeat one answered before a reconnect.
        self.send(conn, Packet::pubcomp(pkid));
    }

    /// PUBACK, PUBREC or PUBCOMP for one of our deliveries (`qos::Outbox::acknowledge`).
    pub(super) fn handle_ack(&mut self, conn: ConnId, client_id: &str, ack: Ack) {
        let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
        match session.inflight.acknowledge(ack) {
            Acked::Complete { .. } => self.fill_window(client_id),
            Acked::SendPubrel(pkid) => self.send(conn, Packet::pubrel(pkid)),
            Acked::Ignored => {}
        }
    }

    pub(super) fn handle_subscribe(&mut self, conn: ConnId, client_id: &str, subscribe: Subscribe, now: Time) {
        let v5 = self.version(conn) == Version::V5;
        if v5 {
            if let Some(reason) = Broker::refusal_of_subscribe(&subscribe) {
                return self.close(conn, reason, true, true, now);
            }
        }
        // Handled as a sequence of single subscriptions, answered by one SUBACK with a code per
        // filter, in order [MQTT-3.8.4-4] [MQTT-3.8.4-5] [MQTT-3.9.3-1] [MQTT5-3.8.4-5]
        // [MQTT5-3.8.4-6] [MQTT5-3.9.3-1].
        let mut codes = Vec::with_capacity(subscribe.filters.len());
        for f in &subscribe.filters {
            if topic::levels(&f.filter) > topic::MAX_LEVELS {
                // Refused alone, with the failure code [MQTT-3.9.3-2]; the other filters stand.
                codes.push(SubackCode::Failure);
                continue;
            }
            if v5 && topic::shared(&f.filter).ok().flatten().is_some() {
                // Announced as not offered in CONNACK; refused alone (section 3.9.3).
                codes.push(SubackCode::Refused(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED));
                continue;
            }
            // An identical filter replaces the old subscription [MQTT-3.8.4-3].
            self.subscriptions.insert(&f.filter, client_id, f.qos);
            let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
            session.subscriptions.insert(f.filter.clone(), f.qos);
            codes.push(SubackCode::Granted(f.qos));
        }
        // Same packet id as the SUBSCRIBE [MQTT-3.8.4-2] [MQTT-2.3.1-7].
        self.send(conn, Packet::Suback(Suback::new(subscribe.pkid, codes.clone())));
        // Retained messages follow the SUBACK, as in mosquitto, with RETAIN=1 [MQTT-3.3.1-6]
        // [MQTT-3.3.1-8], also for a replaced subscription [MQTT-3.8.4-3].
        for (f, _) in subscribe.filters.iter().zip(&codes).filter(|(_, c)| matches!(c, SubackCode::Granted(_))) {
            let retained: Vec<Outgoing> = self
                .retained
                .matching(&f.filter)
                .map(|(topic, r)| Outgoing {
                    msg: Arc::new(Message::new(topic.clone(), r.payload.clone(), r.qos, true)),
                    qos: r.qos.min(f.qos),
                    retain: true,
                })
                .collect();
            #[cfg(feature = "mutants")]
            let retained: Vec<Outgoing> =
                if self.config.mutant == Some(crate::mutants::Mutant::RetainedWithoutRetainFlag) {
                    retained.into_iter().map(|o| Outgoing { retain: false, ..o }).collect()
                } else {
                    retained
                };
            for out in retained {
                self.deliver(client_id, out);
            }
        }
    }

    pub(super) fn handle_unsubscribe(&mut self, conn: ConnId, client_id: &str, unsubscribe: Unsubscribe) {
        let mut reasons = Vec::with_capacity(unsubscribe.filters.len());
        for filter in &unsubscribe.filters {
            // Exact comparison [MQTT-3.10.4-1]; new messages stop [MQTT-3.10.4-2]; deliveries
            // already inflight or queued complete [MQTT-3.10.4-3].
            self.subscriptions.remove(filter, client_id);
            let session = self.sessions.get_mut(client_id).expect("a connected client has a session");
            let existed = session.subscriptions.remove(filter).is_some();
            reasons.push(if existed { ReasonCode::SUCCESS } else { ReasonCode::NO_SUBSCRIPTION_EXISTED });
        }
        // Always answered, even if nothing matched [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6];
        // in 5.0 with a code per filter, in order [MQTT5-3.11.3-1] [MQTT5-3.10.4-5].
        let mut unsuback = Unsuback::new(unsubscribe.pkid);
        if self.version(conn) == Version::V5 {
            unsuback.reasons = reasons;
        }
        self.send(conn, Packet::Unsuback(unsuback));
    }

    /// Publishes a will as if its client had sent it [MQTT-3.1.2-8], with its retain flag
    /// [MQTT-3.1.2-16] [MQTT-3.1.2-17].
    pub(super) fn publish_will(&mut self, client_id: &str, will: LastWill, _now: Time) {
        self.events.push_back(Event::WillPublished { client_id: client_id.to_owned(), topic: will.topic.clone() });
        // The will's properties travel with it, less Will Delay Interval, which is the server's
        // (section 3.1.3.2).
        let mut msg = Message::new(will.topic, will.message, will.qos, will.retain);
        msg.properties = will.properties;
        msg.properties.remove(id::WILL_DELAY_INTERVAL);
        self.route(Arc::new(msg));
    }

    /// Takes ownership of a published message: updates the retained store and adds it to every
    /// session with a matching subscription [MQTT-4.5.0-1].
    fn route(&mut self, msg: Arc<Message>) {
        if msg.retain {
            self.retained.apply(&msg.topic, &msg.payload, msg.qos); // [MQTT-3.3.1-5] [MQTT-3.3.1-10..12]
        }
        // Once per session, at the highest granted QoS of its matching subscriptions [MQTT-3.3.5-1]
        // (mosquitto 2.0 uses the most specific filter's QoS instead); or, with
        // `allow_duplicate_messages`, once per matching subscription at its own QoS, the further
        // copies the same statement allows.
        let targets: Vec<(String, QoS)> = if self.config.allow_duplicate_messages {
            self.subscriptions.matches_each(&msg.topic)
        } else {
            self.subscriptions.matches(&msg.topic).into_iter().collect()
        };
        for (client_id, granted) in targets {
            let out = Outgoing {
                msg: Arc::clone(&msg),
                qos: msg.qos.min(granted), // [MQTT-3.8.4-6]
                retain: false,             // an established subscription [MQTT-3.3.1-9]
            };
            self.deliver(&client_id, out);
        }
    }

    /// Sends `out` now if the session is connected, its client is not a slow reader, and its
    /// window has room (QoS 0 needs none); otherwise queues it within the configured limits.
    fn deliver(&mut self, client_id: &str, out: Outgoing) {
        let max_inflight = self.window();
        let budget = self.sessions.get(client_id).and_then(|s| s.conn).map_or(0, |conn| self.send_budget(conn));
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        #[cfg(feature = "mutants")]
        if session.conn.is_none()
            && out.qos == QoS::AtLeastOnce
            && self.config.mutant == Some(crate::mutants::Mutant::DropOfflineQos1)
        {
            return; // the mutant loses the message, and says nothing
        }
        if let Some(conn) = session.conn {
            if budget == 0 {
                // The client is not reading (see "Slow readers" in the module docs of `broker`).
                // QoS 0 is at most once [MQTT-4.3.1-1]: dropped, as mosquitto does. QoS 1/2 is
                // queued below and moves into the window once the backlog drains.
                if out.qos == QoS::AtMostOnce {
                    return self.drop_message(client_id, &out, DropReason::SlowClient);
                }
            } else if out.qos == QoS::AtMostOnce && session.queued_qos0 == 0 {
                // QoS 0 needs no window slot, so it goes out at once, unless an older QoS 0
                // message still waits in the queue: same topic and QoS keep their order
                // [MQTT-4.6.0-6].
                let packet = Packet::Publish(qos::publish(&out, None, false));
                return push_send(&mut self.actions, &mut self.connections, conn, packet);
            } else if session.queue.is_empty() && session.inflight.len() < max_inflight {
                let packet = start_inflight(session, out);
                return push_send(&mut self.actions, &mut self.connections, conn, packet);
            }
        } else if out.qos == QoS::AtMostOnce && !self.config.queue_qos0_messages {
            // Only QoS 1 and 2 are stored for an offline session [MQTT-3.1.2-5].
            return self.drop_message(client_id, &out, DropReason::Qos0Offline);
        }
        let (max_msgs, max_bytes) = (self.config.max_queued_messages, self.config.max_queued_bytes);
        if max_msgs > 0 && session.queue.len() >= max_msgs {
            return self.drop_message(client_id, &out, DropReason::QueueFull);
        }
        if max_bytes > 0 && session.queued_bytes + out.msg.payload.len() > max_bytes {
            return self.drop_message(client_id, &out, DropReason::QueueBytesFull);
        }
        session.push_queue(out);
    }

    /// Moves queued messages into the window while the session is connected, its client is not a
    /// slow reader, and there is room.
    pub(super) fn fill_window(&mut self, client_id: &str) {
        let max_inflight = self.window();
        let Some(conn) = self.sessions.get(client_id).and_then(|s| s.conn) else {
            return;
        };
        let mut budget = self.send_budget(conn);
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        while let Some(next) = session.queue.front() {
            if budget == 0 {
                break;
            }
            // A queued QoS 0 message takes no slot: a full window does not hold it back.
            if next.qos != QoS::AtMostOnce && session.inflight.len() >= max_inflight {
                break;
            }
            let out = session.pop_queue().expect("the queue has a front");
            let packet = if out.qos == QoS::AtMostOnce {
                // QoS 0 queued while offline (queue_qos0_messages): sent, not tracked.
                Packet::Publish(qos::publish(&out, None, false))
            } else {
                start_inflight(session, out)
            };
            push_send(&mut self.actions, &mut self.connections, conn, packet);
            budget -= 1;
        }
    }

    /// The effective inflight window: `max_inflight_messages`, with 0 meaning as many as there
    /// are packet identifiers.
    pub(super) fn window(&self) -> usize {
        match self.config.max_inflight_messages {
            0 => usize::from(u16::MAX),
            n => n.min(usize::from(u16::MAX)),
        }
    }

    fn drop_message(&mut self, client_id: &str, out: &Outgoing, reason: DropReason) {
        if let Some(session) = self.sessions.get_mut(client_id) {
            session.count_drop(reason);
        }
        self.events.push_back(Event::Dropped {
            client_id: client_id.to_owned(),
            topic: out.msg.topic.clone(),
            qos: out.qos,
            reason,
        });
    }
}

/// Gives a QoS 1/2 delivery a fresh packet id [MQTT-2.3.1-4], records it as inflight and returns
/// the PUBLISH to send. The caller checked that the window has room, and the window holds fewer
/// than 65,535 deliveries, so an id is free.
fn start_inflight(session: &mut Session, out: Outgoing) -> Packet {
    let pkid = session.inflight.free_id(|_| false).expect("the window leaves a packet id free");
    session.inflight.push(pkid, out);
    Packet::Publish(session.inflight.send_next(usize::MAX).expect("a delivery was just pushed"))
}
