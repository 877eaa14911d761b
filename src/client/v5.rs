//! What only an MQTT 5.0 session has, kept apart so a 3.1.1 session never meets it: the limits a
//! server's CONNACK sets on this connection ([`ServerLimits`]: Receive Maximum, Maximum Packet
//! Size, Topic Alias Maximum, Maximum QoS, Retain Available, Server Keep Alive, what it does not
//! support), the Assigned Client Identifier, the Session Expiry Interval in force, topic aliases
//! in both directions, and a server's DISCONNECT. Every limit defaults to "none", which is what a
//! 3.1.1 server is, so the 3.1.1 paths read the same values and behave as before.

use std::collections::{BTreeMap, VecDeque};

use super::{ClientError, ClientOptions, ClientSession, CloseCause};
use crate::protocol::{properties, Connect, Disconnect, PacketId, Properties, Publish, QoS, ReasonCode, Version};
use crate::qos;

/// What the server's CONNACK allows on this connection. Absent properties mean no limit
/// (section 3.2.2.3); a 3.1.1 server has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// QoS 1/2 PUBLISHes we may have unacknowledged at once (65,535 when absent).
    pub receive_maximum: u16,
    /// The largest packet the server accepts, if it said.
    pub maximum_packet_size: Option<u32>,
    /// The highest Topic Alias we may send; 0: none.
    pub topic_alias_maximum: u16,
    /// The highest QoS we may publish with.
    pub maximum_qos: QoS,
    /// Whether we may publish with RETAIN 1.
    pub retain_available: bool,
    /// The keep alive the server set instead of ours, if it did.
    pub keep_alive: Option<u16>,
    pub wildcard_subscriptions: bool,
    pub subscription_identifiers: bool,
    pub shared_subscriptions: bool,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits {
            receive_maximum: u16::MAX,
            maximum_packet_size: None,
            topic_alias_maximum: 0,
            maximum_qos: QoS::ExactlyOnce,
            retain_available: true,
            keep_alive: None,
            wildcard_subscriptions: true,
            subscription_identifiers: true,
            shared_subscriptions: true,
        }
    }
}

impl ServerLimits {
    /// The limits a 5.0 CONNACK's properties set.
    fn from_connack(p: &Properties) -> ServerLimits {
        let flag = |v: Option<&u8>| v.is_none_or(|&b| b == 1);
        ServerLimits {
            receive_maximum: p.receive_maximum().copied().unwrap_or(u16::MAX),
            maximum_packet_size: p.maximum_packet_size().copied(),
            topic_alias_maximum: p.topic_alias_maximum().copied().unwrap_or(0),
            maximum_qos: p.maximum_qos_or_default(),
            retain_available: flag(p.retain_available()),
            keep_alive: p.server_keep_alive().copied(),
            wildcard_subscriptions: flag(p.wildcard_subscription_available()),
            subscription_identifiers: flag(p.subscription_identifier_available()),
            shared_subscriptions: flag(p.shared_subscription_available()),
        }
    }
}

/// The 5.0 part of a client session.
#[derive(Debug, Clone)]
pub(super) struct State {
    /// This connection's limits; reset with each transport.
    pub server: ServerLimits,
    /// The client id a server assigned to our zero-length one; CONNECT uses it while the
    /// session outlives connections, so a reconnect resumes it.
    pub assigned_client_id: Option<String>,
    /// The Session Expiry Interval in force: CONNECT's, the server's from CONNACK, or
    /// DISCONNECT's.
    pub session_expiry: u32,
    /// The Session Expiry Interval the last CONNECT sent (DISCONNECT may not raise it from 0).
    pub sent_expiry: u32,
    /// Topic aliases the server set on this connection, for incoming PUBLISHes.
    incoming_aliases: BTreeMap<u16, String>,
    /// Topic aliases we set on this connection.
    outgoing_aliases: BTreeMap<u16, String>,
    /// Re-sends of a resumed session held back for room in the server's Receive Maximum, in
    /// order (`ClientSession::resend_within_window`).
    pub held_resends: VecDeque<PacketId>,
    /// A PUBREC's reason code below 0x80 other than Success (0x10 No matching subscribers) for
    /// our QoS 2 publications awaiting PUBCOMP: the flow's outcome the application is told when
    /// PUBCOMP ends it with Success.
    pub pubrec_reasons: BTreeMap<PacketId, ReasonCode>,
}

impl State {
    pub fn new(options: &ClientOptions) -> State {
        State {
            server: ServerLimits::default(),
            assigned_client_id: None,
            session_expiry: options.session_expiry,
            sent_expiry: options.session_expiry,
            incoming_aliases: BTreeMap::new(),
            outgoing_aliases: BTreeMap::new(),
            held_resends: VecDeque::new(),
            pubrec_reasons: BTreeMap::new(),
        }
    }

    /// A transport is open: the CONNECT to send. The limits of the last connection are gone;
    /// an assigned client id is reused for the session it names.
    pub fn connecting(&mut self, options: &ClientOptions) -> Connect {
        self.server = ServerLimits::default();
        self.sent_expiry = options.session_expiry;
        self.session_expiry = options.session_expiry;
        let mut connect = options.connect_packet();
        if options.version == Version::V5 && connect.client_id.is_empty() {
            if let Some(id) = &self.assigned_client_id {
                connect.client_id = id.clone();
            }
        }
        connect
    }

    /// A 5.0 CONNACK accepted the connection: its properties set this connection's limits
    /// [MQTT5-3.2.2-11] [MQTT5-3.2.2-14] [MQTT5-3.2.2-15] [MQTT5-3.2.2-17] [MQTT5-3.2.2-21],
    /// the session expiry if the server chose another (section 3.2.2.3.2), and the client id
    /// it assigned (section 3.2.2.3.7).
    pub fn connack(&mut self, p: &Properties) {
        self.server = ServerLimits::from_connack(p);
        if let Some(&expiry) = p.session_expiry_interval() {
            self.session_expiry = expiry;
        }
        if let Some(id) = p.assigned_client_identifier() {
            self.assigned_client_id = Some(id.clone());
        }
    }

    /// Aliases belong to one connection [MQTT5-3.3.2-7]; held re-sends are owed again, in full,
    /// on the next.
    pub fn connection_closed(&mut self) {
        self.incoming_aliases.clear();
        self.outgoing_aliases.clear();
        self.held_resends.clear();
    }

    /// How many QoS 1/2 PUBLISHes the server lets us have unacknowledged [MQTT5-3.3.4-7].
    pub fn send_window(&self) -> usize {
        usize::from(self.server.receive_maximum)
    }

    /// How many incoming QoS 2 messages awaiting PUBREL we take; no limit in 3.1.1.
    pub fn receive_maximum(&self, options: &ClientOptions) -> usize {
        match options.version {
            Version::V311 => usize::MAX,
            Version::V5 => usize::from(options.receive_maximum.unwrap_or(u16::MAX)),
        }
    }

    /// Resolves an incoming PUBLISH's Topic Alias (section 3.3.2.3.4): with a topic it sets the
    /// mapping, without one it uses it. The alias leaves the properties the application sees.
    /// An alias of 0 or above our Topic Alias Maximum is 0x94 [MQTT5-3.3.2-10]; an empty topic
    /// with an alias not mapped on this connection is a Protocol Error.
    pub fn alias_incoming(&mut self, publish: &mut Publish, maximum: u16) -> Result<(), (ReasonCode, &'static str)> {
        let Some(&alias) = publish.properties.topic_alias() else {
            return Ok(());
        };
        if alias == 0 || alias > maximum {
            return Err((ReasonCode::TOPIC_ALIAS_INVALID, "Topic Alias 0 or above our Topic Alias Maximum"));
        }
        if publish.topic.is_empty() {
            match self.incoming_aliases.get(&alias) {
                Some(topic) => publish.topic = topic.clone(),
                None => return Err((ReasonCode::PROTOCOL_ERROR, "empty topic with a Topic Alias not mapped")),
            }
        } else {
            self.incoming_aliases.insert(alias, publish.topic.clone());
        }
        publish.properties.remove(properties::id::TOPIC_ALIAS);
        Ok(())
    }

    /// Applies a Topic Alias to one of our PUBLISHes as it goes out: the topic is left out
    /// when the alias already stands for it on this connection, and sent (setting the alias)
    /// otherwise. A stored message re-sent on a connection whose server allows fewer aliases
    /// goes without one [MQTT5-3.2.2-17] [MQTT5-3.2.2-18].
    pub fn alias_outgoing(&mut self, publish: &mut Publish) {
        let Some(&alias) = publish.properties.topic_alias() else {
            return;
        };
        if alias > self.server.topic_alias_maximum {
            publish.properties.remove(properties::id::TOPIC_ALIAS);
        } else if self.outgoing_aliases.get(&alias) == Some(&publish.topic) {
            publish.topic.clear();
        } else {
            self.outgoing_aliases.insert(alias, publish.topic.clone());
        }
    }
}

impl ClientSession {
    /// The limits the server's CONNACK set on this connection (all "none" for 3.1.1).
    pub fn server_limits(&self) -> &ServerLimits {
        &self.v5.server
    }

    /// The client id the server assigned to our zero-length one (5.0), if it did.
    pub fn assigned_client_id(&self) -> Option<&str> {
        self.v5.assigned_client_id.as_deref()
    }

    /// Refuses a publication the server's CONNACK rules out, before it takes a packet id:
    /// above its Maximum QoS [MQTT5-3.2.2-11], RETAIN without Retain Available
    /// [MQTT5-3.2.2-14], a Topic Alias it does not allow [MQTT5-3.2.2-17] [MQTT5-3.2.2-18]
    /// [MQTT5-3.3.2-9], a Subscription Identifier [MQTT5-3.3.4-6]. An empty topic with an alias
    /// mapped on this connection is replaced by the topic it stands for. (The size is checked
    /// with the packet, in `check`.)
    pub(super) fn check_publication(&self, message: &mut qos::Message) -> Result<(), ClientError> {
        if self.options.version == Version::V311 {
            return Ok(());
        }
        let server = &self.v5.server;
        if message.qos > server.maximum_qos {
            return Err(ClientError::QosNotSupported { qos: message.qos, maximum: server.maximum_qos });
        }
        if message.retain && !server.retain_available {
            return Err(ClientError::RetainNotSupported);
        }
        if message.properties.subscription_identifier().is_some() {
            return Err(ClientError::SubscriptionIdentifierInPublish);
        }
        if let Some(&alias) = message.properties.topic_alias() {
            let invalid = ClientError::TopicAliasInvalid { alias, maximum: server.topic_alias_maximum };
            if alias > server.topic_alias_maximum {
                return Err(invalid);
            }
            if message.topic.is_empty() {
                message.topic = self.v5.outgoing_aliases.get(&alias).ok_or(invalid)?.clone();
            }
        }
        Ok(())
    }

    /// A 5.0 server's DISCONNECT: the connection is over, for the reason it gives (not a
    /// protocol violation). A server may not set the Session Expiry Interval in it
    /// [MQTT5-3.14.2-2].
    pub(super) fn handle_server_disconnect(&mut self, d: Disconnect) {
        if d.properties.session_expiry_interval().is_some() {
            return self.violation("server DISCONNECT with a Session Expiry Interval [MQTT5-3.14.2-2]");
        }
        self.close(CloseCause::ServerDisconnect(d.reason));
    }

    /// The maximum size of a packet we send: the server's, or the protocol's.
    pub(super) fn max_packet_size(&self) -> usize {
        self.v5.server.maximum_packet_size.map_or(crate::protocol::MAX_PACKET_SIZE, |m| m as usize)
    }
}

impl ClientSession {
    /// The server's bytes could not be read as a packet: a 5.0 client sends DISCONNECT with
    /// `reason` (0x81 Malformed Packet, 0x95 Packet too large, ... as `DecodeError::reason_code`
    /// gives) and closes (section 4.13.1). A 3.1.1 driver treats this as a lost connection.
    pub fn handle_malformed(&mut self, reason: ReasonCode, _now: crate::time::Time) {
        if !self.is_connected() && !matches!(self.state, super::connect::State::Connecting { .. }) {
            return;
        }
        self.violation_with(reason, "the server sent a malformed packet");
    }
}
