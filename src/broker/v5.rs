//! What MQTT 5.0 adds to the broker's handling of a connection, beside the rules both versions
//! share (which stay where they are): the session's expiry after its connection closes
//! [MQTT5-3.1.2-23] [MQTT5-4.1.0-2], the client's DISCONNECT with its reason code and a new
//! expiry (section 3.14), the DISCONNECT the server sends before it closes a 5.0 connection
//! (section 3.14, [MQTT5-3.1.4-3] for a takeover), the properties of CONNACK (section 3.2.2.3),
//! topic aliases from the client (section 3.3.2.3.4), the Will Delay Interval
//! [MQTT5-3.1.2-8] [MQTT5-3.1.3-9], and the checks of a 5.0 PUBLISH.

use std::time::Duration;

use super::session::Expiry;
use super::{Broker, CloseReason, ConnId, Event};
use crate::protocol::properties::id;
use crate::protocol::{Disconnect, LastWill, Properties, Property, Publish, ReasonCode};
use crate::time::Time;

impl CloseReason {
    /// The reason code of the DISCONNECT a 5.0 client gets before the broker closes, for the
    /// closes the broker decides; `None` where the client asked, the network failed, or no
    /// CONNACK has been sent.
    pub fn disconnect_code(&self) -> Option<ReasonCode> {
        Some(match self {
            CloseReason::Malformed(e) => e.reason_code(),
            CloseReason::ProtocolViolation(_) => ReasonCode::PROTOCOL_ERROR,
            CloseReason::V5Violation { code, .. } => *code,
            CloseReason::KeepAliveTimeout => ReasonCode::KEEP_ALIVE_TIMEOUT,
            CloseReason::TakenOver => ReasonCode::SESSION_TAKEN_OVER, // [MQTT5-3.1.4-3]
            CloseReason::IncomingWindowFull { .. } => ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
            CloseReason::TopicTooDeep { .. } => ReasonCode::TOPIC_NAME_INVALID,
            CloseReason::ClientDisconnected
            | CloseReason::ConnectionLost
            | CloseReason::ConnectTimeout
            | CloseReason::Refused(_)
            | CloseReason::TooManyConnections => return None,
        })
    }
}

impl Broker {
    /// The client's DISCONNECT. In 3.1.1 and for 5.0's Normal disconnection the will is
    /// discarded [MQTT-3.14.4-3] [MQTT5-3.14.4-3]; 5.0's 0x04 (Disconnect with Will Message) has
    /// it published. A 5.0 DISCONNECT may change the session's expiry, but not from 0: that is a
    /// Protocol Error, and the packet is not taken as a DISCONNECT (section 3.14.2.2.2).
    pub(super) fn handle_disconnect(&mut self, conn: ConnId, client_id: &str, d: Disconnect, now: Time) {
        let connect_expiry = self.connections.get(&conn).map_or(0, |c| c.connect_expiry);
        if let Some(&seconds) = d.properties.session_expiry_interval() {
            if connect_expiry == 0 && seconds != 0 {
                let why = "DISCONNECT sets a Session Expiry Interval after CONNECT set 0 (5.0 section 3.14.2.2.2)";
                return self.close(
                    conn,
                    CloseReason::V5Violation { why, code: ReasonCode::PROTOCOL_ERROR },
                    true,
                    true,
                    now,
                );
            }
            if let Some(session) = self.sessions.get_mut(client_id) {
                session.expiry = Expiry::from_interval(seconds);
            }
        }
        let publish_will = d.reason == ReasonCode::DISCONNECT_WITH_WILL;
        self.close(conn, CloseReason::ClientDisconnected, publish_will, true, now);
    }

    /// Schedules an offline session's end.
    pub(super) fn arm_session_expiry(&mut self, client_id: &str, at: Time) {
        if let Some(session) = self.sessions.get_mut(client_id) {
            if let Some(old) = session.expires_at.replace(at) {
                self.session_timers.remove(&(old, client_id.to_owned()));
            }
            self.session_timers.insert((at, client_id.to_owned()));
        }
    }

    /// A session resumed: its expiry is off until its connection closes again.
    pub(super) fn disarm_session_expiry(&mut self, client_id: &str) {
        if let Some(at) = self.sessions.get_mut(client_id).and_then(|s| s.expires_at.take()) {
            self.session_timers.remove(&(at, client_id.to_owned()));
        }
    }

    /// Discards every offline session whose expiry has passed [MQTT5-4.1.0-2].
    pub(super) fn expire_sessions(&mut self, now: Time) {
        while let Some((at, client_id)) = self.session_timers.first().cloned() {
            if at > now {
                break;
            }
            self.session_timers.pop_first();
            let session = self.sessions.get_mut(&client_id);
            if let Some(session) = session.filter(|s| s.conn.is_none() && s.expires_at == Some(at)) {
                session.expires_at = None;
                self.discard_session(&client_id);
            }
        }
    }

    /// The properties of a 5.0 CONNACK: what the client must know of this server
    /// (section 3.2.2.3). Absent properties mean the spec's defaults: QoS 2, retain, wildcards,
    /// subscription identifiers and shared subscriptions available, all of which this broker
    /// offers.
    pub(super) fn connack_properties(&self, assigned: Option<&str>, server_keep_alive: Option<u16>) -> Properties {
        let mut p = Properties::new();
        if let Some(id) = assigned {
            p.push(Property::AssignedClientIdentifier(id.to_owned())); // [MQTT5-3.1.3-7]
        }
        // The incoming QoS 2 window, `max_inflight_messages` (section 3.2.2.3.3).
        let window = self.window();
        if window < usize::from(u16::MAX) {
            p.push(Property::ReceiveMaximum(window as u16));
        }
        if let Some(seconds) = server_keep_alive {
            p.push(Property::ServerKeepAlive(seconds)); // [MQTT5-3.1.2-21]
        }
        // Aliases 1 to `max_topic_alias` may be used [MQTT5-3.3.2-12]; absent means none.
        if self.config.max_topic_alias > 0 {
            p.push(Property::TopicAliasMaximum(self.config.max_topic_alias));
        }
        if self.config.max_packet_size > 0 {
            p.push(Property::MaximumPacketSize(self.config.max_packet_size as u32));
            // [MQTT5-3.2.2-15]
        }
        p
    }

    /// Resolves a 5.0 PUBLISH's Topic Alias (section 3.3.2.3.4): with a topic name it maps the
    /// alias to it for the rest of this connection [MQTT5-3.3.2-7]; without one it stands for
    /// the name mapped before. An alias above `max_topic_alias` is refused with 0x94
    /// [MQTT5-3.3.2-12] (the codec refuses 0 [MQTT5-3.3.2-8]), an alias never mapped with 0x82.
    /// The alias is removed: it is this connection's, never forwarded.
    pub(super) fn resolve_topic_alias(&mut self, conn: ConnId, publish: &mut Publish) -> Result<(), CloseReason> {
        let Some(&alias) = publish.properties.topic_alias() else {
            return Ok(());
        };
        if alias > self.config.max_topic_alias {
            let why = "Topic Alias above the server's Topic Alias Maximum [MQTT5-3.3.2-12]";
            return Err(CloseReason::V5Violation { why, code: ReasonCode::TOPIC_ALIAS_INVALID });
        }
        let Some(c) = self.connections.get_mut(&conn) else {
            return Ok(());
        };
        if publish.topic.is_empty() {
            match c.aliases.get(&alias) {
                Some(topic) => publish.topic = topic.clone(),
                None => {
                    let why = "a Topic Alias with no topic name that was never mapped (section 3.3.2.3.4)";
                    return Err(CloseReason::V5Violation { why, code: ReasonCode::PROTOCOL_ERROR });
                }
            }
        } else {
            c.aliases.insert(alias, publish.topic.clone());
        }
        publish.properties.remove(id::TOPIC_ALIAS);
        Ok(())
    }

    /// A 5.0 client PUBLISH with a Subscription Identifier, which only a server sends
    /// [MQTT5-3.3.4-6].
    pub(super) fn refusal_of_publish(publish: &Publish) -> Option<CloseReason> {
        publish.properties.subscription_identifier().map(|_| CloseReason::V5Violation {
            why: "a client PUBLISH with a Subscription Identifier [MQTT5-3.3.4-6]",
            code: ReasonCode::PROTOCOL_ERROR,
        })
    }

    /// Whether `conn`'s client accepts reason strings on acknowledgements [MQTT5-3.1.2-29].
    pub(super) fn problem_information(&self, conn: ConnId) -> bool {
        self.connections.get(&conn).is_none_or(|c| c.problem_information)
    }

    /// The will of a connection that closed without a Normal DISCONNECT: published now, or,
    /// with a Will Delay Interval and a session that outlives the connection, kept in the
    /// session until the delay passes (or the session ends first) [MQTT5-3.1.2-8].
    pub(super) fn publish_or_delay_will(&mut self, client_id: &str, will: LastWill, now: Time) {
        let delay = will.properties.will_delay_interval().copied().unwrap_or(0);
        let session = self.sessions.get_mut(client_id).filter(|s| s.conn.is_none() && s.expiry != Expiry::AtClose);
        let Some(session) = session.filter(|_| delay > 0) else {
            return self.publish_will(client_id, will);
        };
        let at = now + Duration::from_secs(delay.into());
        self.events.push_back(Event::WillDelayed {
            client_id: client_id.to_owned(),
            topic: will.topic.clone(),
            until: at,
        });
        if let Some((old, _)) = session.will.replace((at, will)) {
            self.will_timers.remove(&(old, client_id.to_owned()));
        }
        self.will_timers.insert((at, client_id.to_owned()));
    }

    /// Takes a session's delayed will out, with its timer.
    pub(super) fn take_delayed_will(&mut self, client_id: &str) -> Option<LastWill> {
        let (at, will) = self.sessions.get_mut(client_id)?.will.take()?;
        self.will_timers.remove(&(at, client_id.to_owned()));
        Some(will)
    }

    /// A connection for a session holding a delayed will came in time: the will is not sent
    /// [MQTT5-3.1.3-9].
    pub(super) fn cancel_delayed_will(&mut self, client_id: &str) {
        if let Some(will) = self.take_delayed_will(client_id) {
            self.events.push_back(Event::WillCancelled { client_id: client_id.to_owned(), topic: will.topic });
        }
    }

    /// Publishes every delayed will whose delay has passed [MQTT5-3.1.2-8].
    pub(super) fn publish_delayed_wills(&mut self, now: Time) {
        while let Some((at, client_id)) = self.will_timers.first().cloned() {
            if at > now {
                break;
            }
            if let Some(will) = self.take_delayed_will(&client_id) {
                self.publish_will(&client_id, will);
            } else {
                self.will_timers.pop_first();
            }
        }
    }
}

/// The keep alive the broker holds a 5.0 client to when `max_keepalive` caps it: the client's
/// own when within the cap, else the cap, sent as Server Keep Alive [MQTT5-3.1.2-21].
pub(super) fn server_keep_alive(asked: u16, max: u16) -> Option<u16> {
    (max > 0 && (asked == 0 || asked > max)).then_some(max)
}

/// The duration of a keep alive in seconds, times 1.5 [MQTT-3.1.2-24] [MQTT5-3.1.2-22].
pub(super) fn keep_alive_limit(seconds: u16) -> Option<Duration> {
    match seconds {
        0 => None,
        secs => Some(Duration::from_millis(u64::from(secs) * 1500)),
    }
}
