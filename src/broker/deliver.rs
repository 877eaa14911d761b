//! Message flow: PUBLISH from clients (QoS 0/1/2 receiver side), routing to matching sessions
//! (ordinary and 5.0 shared subscriptions), the outgoing inflight window and queue (QoS 1/2
//! sender side), message expiry, the retained store's updates and wills (spec sections 3.3 to
//! 3.7 and 4.3 to 4.6, and 4.8.2 for shared subscriptions).

use std::sync::Arc;

use bytes::Bytes;

use super::session::{DropReason, Message, Outgoing, Session};
use super::{push_send, Broker, CloseReason, ConnId, Event, Qos2Delivery};
use crate::protocol::properties::id;
use crate::protocol::{Ack as AckPacket, LastWill, Packet, PacketId, Property, Publish, QoS, ReasonCode, Version};
use crate::qos::{self, Ack, Acked};
use crate::time::Time;
use crate::topic;

impl Broker {
    pub(super) fn handle_publish(&mut self, conn: ConnId, client_id: &str, mut publish: Publish, now: Time) {
        let version = self.version(conn);
        if version == Version::V5 {
            let refused = self.resolve_topic_alias(conn, &mut publish).err();
            if let Some(reason) = refused.or_else(|| Broker::refusal_of_publish(&publish)) {
                return self.close(conn, reason, true, true, now);
            }
        }
        let levels = topic::levels(&publish.topic);
        if levels > topic::MAX_LEVELS {
            // Neither acknowledged nor forwarded; the will is published as for any close the
            // client did not ask for [MQTT-3.1.2-8].
            return self.close(conn, CloseReason::TopicTooDeep { levels }, true, true, now);
        }
        let limit = self.config.message_size_limit;
        if limit > 0 && publish.payload.len() > limit {
            // mosquitto's `message_size_limit`: a larger payload is not taken.
            return self.refuse_publication(conn, client_id, &publish, ReasonCode::PACKET_TOO_LARGE);
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
        // It expires its Message Expiry Interval after it arrived (section 3.3.2.3.3).
        let expires_at = properties.message_expiry_interval().map(|&s| now + std::time::Duration::from_secs(s.into()));
        let msg = Arc::new(Message {
            // A copy: a slice of the read buffer would keep the whole buffer alive while the
            // message waits in queues or the retained store.
            payload: Bytes::copy_from_slice(&publish.payload),
            properties,
            expires_at,
            ..Message::new(publish.topic, Bytes::new(), publish.qos, publish.retain)
        });
        let from = Some(client_id);
        // A 5.0 acknowledgement says when nobody subscribes (0x10), as mosquitto's does; the
        // message is still taken [MQTT5-3.4.2-1] [MQTT5-3.5.2-1].
        let reason = match version {
            Version::V5 if !self.subscriptions.any_match(&msg.topic) => ReasonCode::NO_MATCHING_SUBSCRIBERS,
            _ => ReasonCode::SUCCESS,
        };
        match (publish.qos, publish.pkid) {
            (QoS::AtMostOnce, _) => self.route(msg, from),
            (QoS::AtLeastOnce, Some(pkid)) => {
                self.is_held_resend(client_id, pkid, &msg);
                // Route first, then PUBACK [MQTT-4.3.2-2]: the message is owned once acknowledged.
                self.route(msg, from);
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
                    self.route(msg, from);
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
            Some(held) if held.same_as(msg) => true,
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
                self.route(msg, Some(client_id));
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

    /// A PUBLISH this broker will not take, though it is valid: answered as its QoS requires,
    /// with `reason` for a 5.0 client [MQTT5-3.4.2-1] [MQTT5-3.5.2-1] (a 3.1.1 client, which
    /// cannot be told, is answered as usual, as mosquitto does), and neither stored nor
    /// forwarded. A refused QoS 2 message holds no state: its flow ends with the PUBREC
    /// [MQTT5-4.3.3-9] and a 3.1.1 client's PUBREL gets the PUBCOMP owed for an unknown id.
    fn refuse_publication(&mut self, conn: ConnId, client_id: &str, publish: &Publish, reason: ReasonCode) {
        self.events.push_back(Event::PublishRefused {
            client_id: client_id.to_owned(),
            topic: publish.topic.clone(),
            reason,
        });
        let reason = if self.version(conn) == Version::V5 { reason } else { ReasonCode::SUCCESS };
        let ack = |pkid| {
            let mut ack = AckPacket::with_reason(pkid, reason);
            if self.problem_information(conn) && reason != ReasonCode::SUCCESS {
                ack.properties.push(Property::ReasonString(reason.name().to_owned()));
            }
            ack
        };
        let packet = match (publish.qos, publish.pkid) {
            (QoS::AtLeastOnce, Some(pkid)) => Packet::Puback(ack(pkid)),
            (QoS::ExactlyOnce, Some(pkid)) => Packet::Pubrec(ack(pkid)),
            _ => return,
        };
        self.send(conn, packet);
    }

    /// Publishes a will as if its client had sent it [MQTT-3.1.2-8], with its retain flag
    /// [MQTT-3.1.2-16] [MQTT-3.1.2-17] [MQTT5-3.1.2-14] [MQTT5-3.1.2-15], its properties
    /// (user properties in order [MQTT5-3.1.3-10]) less Will Delay Interval, which is the
    /// server's (section 3.1.3.2), and its Message Expiry Interval counted from now.
    pub(super) fn publish_will(&mut self, client_id: &str, will: LastWill) {
        self.events.push_back(Event::WillPublished { client_id: client_id.to_owned(), topic: will.topic.clone() });
        let mut msg = Message::new(will.topic, will.message, will.qos, will.retain);
        msg.properties = will.properties;
        msg.properties.remove(id::WILL_DELAY_INTERVAL);
        msg.expires_at =
            msg.properties.message_expiry_interval().map(|&s| self.now + std::time::Duration::from_secs(s.into()));
        self.route(Arc::new(msg), Some(client_id));
    }

    /// Takes ownership of a published message: updates the retained store and adds it to every
    /// session with a matching subscription [MQTT-4.5.0-1], and to one member of each matching
    /// shared subscription [MQTT5-4.8.2-3]. `publisher` is the client it came from, which No
    /// Local subscriptions skip [MQTT5-3.8.3-3].
    fn route(&mut self, msg: Arc<Message>, publisher: Option<&str>) {
        if msg.retain {
            self.retained.apply(&msg); // [MQTT-3.3.1-5] [MQTT-3.3.1-10..12]
            self.changes += 1;
        }
        // Once per session, at the highest granted QoS of its matching subscriptions [MQTT-3.3.5-1]
        // [MQTT5-3.3.4-2] with all their identifiers [MQTT5-3.3.4-4] (mosquitto 2.0 uses the
        // most specific filter's QoS instead); or, with `allow_duplicate_messages`, once per
        // matching subscription at its own QoS with its own identifier [MQTT5-3.3.4-5], the
        // further copies the same statement allows.
        let targets: Vec<(String, super::subscriptions::Match)> = if self.config.allow_duplicate_messages {
            self.subscriptions.matches_each(&msg.topic, publisher)
        } else {
            self.subscriptions.matches(&msg.topic, publisher).into_iter().collect()
        };
        for (client_id, m) in targets {
            let out = Outgoing {
                msg: Arc::clone(&msg),
                qos: msg.qos.min(m.qos), // [MQTT-3.8.4-6] [MQTT5-3.8.4-8]
                // RETAIN 0 on an established subscription [MQTT-3.3.1-9] [MQTT5-3.3.1-12],
                // unless it asked for RETAIN as published [MQTT5-3.3.1-13].
                retain: m.retain_as_published && msg.retain,
                ids: m.ids.into(),
            };
            self.deliver(&client_id, out);
        }
        // Each shared subscription gives the message to one member, in turn, connected or not,
        // as mosquitto 2.0 does: a persistent member that is offline has it queued, and gets it
        // when it comes back (or loses it with its session) [MQTT5-4.8.2-5].
        for filter in self.subscriptions.shared_matches(&msg.topic) {
            #[cfg(feature = "mutants")]
            if self.config.mutant == Some(crate::mutants::Mutant::SharedToAll) {
                // The mutant gives the message to every member instead of one.
                for (client_id, options) in self.subscriptions.members(&filter) {
                    let out = Outgoing {
                        ids: options.id.into_iter().collect(),
                        ..Outgoing::new(Arc::clone(&msg), msg.qos.min(options.qos), false)
                    };
                    self.deliver(&client_id, out);
                }
                continue;
            }
            if let Some((client_id, options)) = self.subscriptions.take_turn(&filter) {
                let out = Outgoing {
                    ids: options.id.into_iter().collect(),
                    ..Outgoing::new(Arc::clone(&msg), msg.qos.min(options.qos), false)
                };
                self.deliver(&client_id, out);
            }
        }
    }

    /// Sends `out` now if the session is connected, its client is not a slow reader, and its
    /// window has room (QoS 0 needs none); otherwise queues it within the configured limits.
    /// A message whose expiry has passed is dropped [MQTT5-3.3.2-5], and one too large for the
    /// client's Maximum Packet Size is dropped for it as if delivered [MQTT5-3.1.2-25].
    pub(super) fn deliver(&mut self, client_id: &str, out: Outgoing) {
        let now = self.now;
        if out.expired(now) {
            return self.drop_message(client_id, &out, DropReason::Expired);
        }
        let conn = self.sessions.get(client_id).and_then(|s| s.conn);
        let (max_inflight, budget) = match conn {
            Some(conn) => {
                if self.too_large_for(conn, &out) {
                    return self.drop_message(client_id, &out, DropReason::TooLargeForClient);
                }
                (self.out_window(conn), self.send_budget(conn))
            }
            None => (0, 0),
        };
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
                let packet = Packet::Publish(publish_now(&out, None, now));
                return push_send(&mut self.actions, &mut self.connections, conn, packet);
            } else if session.queue.is_empty() && session.inflight.len() < max_inflight {
                self.changes += 1;
                let packet = start_inflight(session, out, now);
                return push_send(&mut self.actions, &mut self.connections, conn, packet);
            }
        } else if out.qos == QoS::AtMostOnce && !self.config.queue_qos0_messages {
            // Only QoS 1 and 2 are stored for an offline session [MQTT-3.1.2-5].
            return self.drop_message(client_id, &out, DropReason::Qos0Offline);
        }
        let (max_msgs, max_bytes) = (self.config.max_queued_messages, self.config.max_queued_bytes);
        let full = |s: &Session| {
            (max_msgs > 0 && s.queue.len() >= max_msgs)
                || (max_bytes > 0 && s.queued_bytes + out.msg.payload.len() > max_bytes)
        };
        if full(session) {
            // Expired messages make room before a live one is refused.
            let expired = session.take_expired(now);
            for old in &expired {
                self.drop_message(client_id, old, DropReason::Expired);
            }
        }
        let session = self.sessions.get_mut(client_id).expect("looked up above");
        if max_msgs > 0 && session.queue.len() >= max_msgs {
            return self.drop_message(client_id, &out, DropReason::QueueFull);
        }
        if max_bytes > 0 && session.queued_bytes + out.msg.payload.len() > max_bytes {
            return self.drop_message(client_id, &out, DropReason::QueueBytesFull);
        }
        session.push_queue(out);
        self.changes += 1;
    }

    /// Moves queued messages into the window while the session is connected, its client is not a
    /// slow reader, and there is room; drops those that expired while queued [MQTT5-3.3.2-5] or
    /// are too large for the client [MQTT5-3.1.2-25].
    pub(super) fn fill_window(&mut self, client_id: &str) {
        let Some(conn) = self.sessions.get(client_id).and_then(|s| s.conn) else {
            return;
        };
        let (max_inflight, now) = (self.out_window(conn), self.now);
        let mut budget = self.send_budget(conn);
        let mut dropped = Vec::new();
        loop {
            let session = self.sessions.get_mut(client_id).expect("looked up above");
            let Some(next) = session.queue.front() else {
                break;
            };
            if budget == 0 {
                break;
            }
            // A queued QoS 0 message takes no slot: a full window does not hold it back.
            if next.qos != QoS::AtMostOnce && session.inflight.len() >= max_inflight {
                break;
            }
            let out = session.pop_queue().expect("the queue has a front");
            #[cfg(feature = "mutants")]
            let expired = out.expired(now) && self.config.mutant != Some(crate::mutants::Mutant::DeliverExpired);
            #[cfg(not(feature = "mutants"))]
            let expired = out.expired(now);
            if expired {
                dropped.push((out, DropReason::Expired));
                continue;
            }
            if self.too_large_for(conn, &out) {
                dropped.push((out, DropReason::TooLargeForClient));
                continue;
            }
            let session = self.sessions.get_mut(client_id).expect("looked up above");
            let packet = if out.qos == QoS::AtMostOnce {
                // QoS 0 queued while offline (queue_qos0_messages): sent, not tracked.
                Packet::Publish(publish_now(&out, None, now))
            } else {
                start_inflight(session, out, now)
            };
            push_send(&mut self.actions, &mut self.connections, conn, packet);
            budget -= 1;
        }
        for (out, reason) in dropped {
            self.drop_message(client_id, &out, reason);
        }
    }

    /// The effective inflight window: `max_inflight_messages`, with 0 meaning as many as there
    /// are packet identifiers. It bounds the incoming QoS 2 messages awaiting PUBREL and is
    /// announced to 5.0 clients as Receive Maximum.
    pub(super) fn window(&self) -> usize {
        match self.config.max_inflight_messages {
            0 => usize::from(u16::MAX),
            n => n.min(usize::from(u16::MAX)),
        }
    }

    /// The outgoing window toward `conn`: the broker's, and no more than the Receive Maximum a
    /// 5.0 client announced [MQTT5-3.3.4-9].
    pub(super) fn out_window(&self, conn: ConnId) -> usize {
        #[cfg(feature = "mutants")]
        if self.config.mutant == Some(crate::mutants::Mutant::IgnoreReceiveMaximum) {
            return self.window(); // the mutant forgets the client's Receive Maximum
        }
        let client = self.connections.get(&conn).map_or(u16::MAX, |c| c.receive_maximum);
        self.window().min(usize::from(client))
    }

    /// Whether the PUBLISH carrying `out` would pass the Maximum Packet Size `conn`'s client
    /// announced [MQTT5-3.1.2-24].
    pub(super) fn too_large_for(&self, conn: ConnId, out: &Outgoing) -> bool {
        let Some(c) = self.connections.get(&conn) else {
            return false;
        };
        let Some(max) = c.max_packet_size else {
            return false;
        };
        // The packet id's two bytes count whatever id it gets.
        let pkid = (out.qos != QoS::AtMostOnce).then_some(PacketId::new(1).expect("not zero"));
        let packet = Packet::Publish(qos::publish(out, pkid, false));
        packet.size(c.version).is_none_or(|size| size > max as usize)
    }

    pub(super) fn drop_message(&mut self, client_id: &str, out: &Outgoing, reason: DropReason) {
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

/// The PUBLISH that carries `out` at `now` (`qos::publish`), its Message Expiry Interval less
/// the time the message waited here, rounded up to whole seconds [MQTT5-3.3.2-6]. A re-send of
/// a delivery whose expiry passed after it was first sent carries 0: once sent it is no longer
/// subject to expiry [MQTT5-4.3.3-7] [MQTT5-4.3.3-13].
pub(super) fn publish_now(out: &Outgoing, pkid: Option<PacketId>, now: Time) -> Publish {
    let mut publish = qos::publish(out, pkid, false);
    stamp_expiry(&mut publish, out.msg.expires_at, now);
    publish
}

/// Rewrites the Message Expiry Interval of a PUBLISH whose message expires `at`, for sending at
/// `now`.
pub(super) fn stamp_expiry(publish: &mut Publish, at: Option<Time>, now: Time) {
    if let Some(at) = at {
        publish.properties.set(Property::MessageExpiryInterval(seconds_left(at, now)));
    }
}

/// Whole seconds from `now` until `at`, rounded up (0 once it has passed): what is left of a
/// Message Expiry Interval as it is forwarded [MQTT5-3.3.2-6].
pub(super) fn seconds_left(at: Time, now: Time) -> u32 {
    let left = at.saturating_since(now);
    u32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0)).unwrap_or(u32::MAX)
}

/// Gives a QoS 1/2 delivery a fresh packet id [MQTT-2.3.1-4], records it as inflight and returns
/// the PUBLISH to send. The caller checked that the window has room, and the window holds fewer
/// than 65,535 deliveries, so an id is free.
fn start_inflight(session: &mut Session, out: Outgoing, now: Time) -> Packet {
    let pkid = session.inflight.free_id(|_| false).expect("the window leaves a packet id free");
    let expires_at = out.msg.expires_at;
    session.inflight.push(pkid, out);
    let mut publish = session.inflight.send_next(usize::MAX).expect("a delivery was just pushed");
    stamp_expiry(&mut publish, expires_at, now);
    Packet::Publish(publish)
}
