//! What MQTT 5.0 adds to the broker's handling of a connection, beside the rules both versions
//! share (which stay where they are): the session's expiry after its connection closes
//! [MQTT5-3.1.2-23] [MQTT5-4.1.0-2], the client's DISCONNECT with its reason code and a new
//! expiry (section 3.14), the DISCONNECT the server sends before it closes a 5.0 connection
//! (section 3.14, [MQTT5-3.1.4-3] for a takeover), the properties of CONNACK (section 3.2.2.3),
//! and the checks of a 5.0 PUBLISH and SUBSCRIBE for what this broker does not offer.

use std::time::Duration;

use super::session::Expiry;
use super::{Broker, CloseReason, ConnId};
use crate::protocol::{Disconnect, Properties, Property, Publish, ReasonCode, Subscribe};
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
    /// (section 3.2.2.3). Absent properties mean the spec's defaults: QoS 2, retain, wildcards
    /// available, no topic aliases from the client [MQTT5-3.2.2-18].
    pub(super) fn connack_properties(&self, assigned: Option<&str>, server_keep_alive: Option<u16>) -> Properties {
        let mut p = Properties::new();
        if let Some(id) = assigned {
            p.push(Property::AssignedClientIdentifier(id.to_owned())); // [MQTT5-3.2.2-16]
        }
        // The incoming QoS 2 window, `max_inflight_messages` [MQTT5-3.3.4-9].
        let window = self.window();
        if window < usize::from(u16::MAX) {
            p.push(Property::ReceiveMaximum(window as u16));
        }
        if let Some(seconds) = server_keep_alive {
            p.push(Property::ServerKeepAlive(seconds)); // [MQTT5-3.2.2-22]
        }
        // Not offered yet: subscription identifiers and shared subscriptions.
        p.push(Property::SubscriptionIdentifierAvailable(0));
        p.push(Property::SharedSubscriptionAvailable(0));
        p
    }

    /// What this broker refuses in a 5.0 PUBLISH: a Topic Alias (it announces no Topic Alias
    /// Maximum, so every alias is above it [MQTT5-3.2.2-18]) and a Subscription Identifier, which
    /// a client never sends [MQTT5-3.3.4-6].
    pub(super) fn refusal_of_publish(publish: &Publish) -> Option<CloseReason> {
        if publish.properties.topic_alias().is_some() {
            let why = "Topic Alias, but the server's Topic Alias Maximum is 0 [MQTT5-3.2.2-18]";
            return Some(CloseReason::V5Violation { why, code: ReasonCode::TOPIC_ALIAS_INVALID });
        }
        if publish.properties.subscription_identifier().is_some() {
            let why = "a client PUBLISH with a Subscription Identifier [MQTT5-3.3.4-6]";
            return Some(CloseReason::V5Violation { why, code: ReasonCode::PROTOCOL_ERROR });
        }
        None
    }

    /// A 5.0 SUBSCRIBE with a Subscription Identifier, which this broker announced it does not
    /// offer (section 3.8.2.1.2: DISCONNECT 0xA1).
    pub(super) fn refusal_of_subscribe(subscribe: &Subscribe) -> Option<CloseReason> {
        subscribe.properties.subscription_identifier().map(|_| CloseReason::V5Violation {
            why: "a Subscription Identifier, which the server announced it does not offer",
            code: ReasonCode::SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED,
        })
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
