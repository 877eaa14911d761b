//! CONNECT handling: client id rules, keep-alive limits, session takeover, clean-session
//! (5.0: Clean Start and Session Expiry Interval) processing, CONNACK, and the re-sends a resumed
//! session owes its client (spec sections 3.1, 3.2 and 4.4 of both versions).

use super::session::{Expiry, Session};
use super::v5::{keep_alive_limit, server_keep_alive};
use super::{Broker, CloseReason, ConnId, Event};
use crate::protocol::{Connack, ConnackCode, Connect, ConnectReturnCode, Packet, Protocol, ReasonCode};
use crate::qos::Ack;
use crate::time::Time;

impl Broker {
    pub(super) fn handle_connect(&mut self, conn: ConnId, connect: Connect, now: Time) {
        let v5 = connect.protocol == Protocol::V5;
        // The driver writes in this version from now on, and within this size, a refusal included.
        if let Some(c) = self.connections.get_mut(&conn) {
            c.version = connect.protocol.version();
            c.max_packet_size = connect.properties.maximum_packet_size().copied();
        }
        if v5 && connect.properties.authentication_method().is_some() {
            // Enhanced authentication is not offered: the extension point is here, and until
            // then the CONNECT is refused with 0x8C [MQTT5-4.12.0-1].
            return self.refuse(conn, ReasonCode::BAD_AUTHENTICATION_METHOD, now);
        }
        if let Some(levels) = connect.will.as_ref().map(|w| crate::topic::levels(&w.topic)) {
            if levels > crate::topic::MAX_LEVELS {
                // No CONNACK code fits (mosquitto closes too); the will is not stored.
                return self.close(conn, CloseReason::TopicTooDeep { levels }, false, true, now);
            }
        }
        let mut client_id = connect.client_id;
        let mut assigned = false;
        if client_id.is_empty() {
            // mosquitto refuses empty ids from MQTT 3.1 clients, which had no such rule.
            // In 3.1.1 a persistent session needs a real id [MQTT-3.1.3-8]; 5.0 assigns one
            // whatever Clean Start says [MQTT5-3.1.3-6]. Otherwise one is assigned
            // [MQTT-3.1.3-6] unless configured not to [MQTT-3.1.3-9] [MQTT5-3.1.3-8].
            let persistent_311 = !v5 && !connect.clean_session;
            if connect.protocol == Protocol::V31 || persistent_311 || !self.config.allow_zero_length_clientid {
                return self.refuse(conn, ConnectReturnCode::IdentifierRejected, now);
            }
            client_id = self.assign_client_id();
            assigned = true;
        }
        let server_keep_alive = server_keep_alive(connect.keep_alive, self.config.max_keepalive);
        if server_keep_alive.is_some() && !v5 {
            // As mosquitto 2.0.12+ does for 3.1.1 clients, which cannot be told a server keep
            // alive; a 5.0 client is told one in CONNACK instead [MQTT5-3.1.2-21].
            return self.refuse(conn, ConnectReturnCode::IdentifierRejected, now);
        }

        if let (true, Some(&max)) = (v5, connect.properties.maximum_packet_size()) {
            let properties = self.connack_properties(assigned.then_some(client_id.as_str()), server_keep_alive);
            let connack = Packet::Connack(Connack { properties, ..Connack::accepted(true) });
            if connack.size(crate::protocol::Version::V5).is_none_or(|size| size > max as usize) {
                // Even the CONNACK would pass the client's Maximum Packet Size [MQTT5-3.1.2-24].
                return self.refuse(conn, ReasonCode::PACKET_TOO_LARGE, now);
            }
        }

        // An existing connection with this client id is disconnected [MQTT-3.1.4-2]
        // [MQTT5-3.1.4-3]. In 3.1.1 its will is published: the server closed the connection
        // without a DISCONNECT [MQTT-3.1.2-8]. A 5.0 will is published as section 3.1.2.5 says:
        // when the session ends (Clean Start 1), but not when the new connection resumes the
        // session, since that connection came before the Will Delay Interval (even 0) had
        // passed [MQTT5-3.1.3-9], as mosquitto 2.0 does.
        if let Some(old) = self.sessions.get(&client_id).and_then(|s| s.conn) {
            let old_v5 = self.connections.get(&old).is_some_and(|c| c.version == crate::protocol::Version::V5);
            let resumed = !connect.clean_session;
            self.close(old, CloseReason::TakenOver, !(old_v5 && resumed), true, now);
        }

        // Clean session 1 discards any previous session [MQTT-3.1.2-6]; 0 resumes it [MQTT-3.1.2-4].
        #[cfg(feature = "mutants")]
        let resume_anyway = self.config.mutant == Some(crate::mutants::Mutant::CleanSessionResumes);
        #[cfg(not(feature = "mutants"))]
        let resume_anyway = false;
        if connect.clean_session && !resume_anyway {
            // A will waiting for its delay is published as its session ends [MQTT5-3.1.2-8].
            self.discard_session(&client_id);
        } else {
            // The session's client is back in time: its delayed will is not sent [MQTT5-3.1.3-9].
            self.cancel_delayed_will(&client_id);
        }
        let resumed = self.sessions.contains_key(&client_id); // [MQTT-3.2.2-1..3]
        let session = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session::new(client_id.clone(), connect.clean_session));
        session.clean = connect.clean_session;
        session.conn = Some(conn);
        // In 3.1.1 clean session decides how long the session lasts; in 5.0 the Session Expiry
        // Interval does, 0 when absent [MQTT5-3.1.2-23].
        let connect_expiry = connect.properties.session_expiry_interval().copied().unwrap_or(0);
        session.expiry = match (v5, connect.clean_session) {
            (true, _) => Expiry::from_interval(connect_expiry),
            (false, true) => Expiry::AtClose,
            (false, false) => Expiry::Never,
        };
        self.disarm_session_expiry(&client_id);

        let c = self.connections.get_mut(&conn).expect("handle_packet checked the connection");
        c.client_id = Some(client_id.clone());
        c.will = connect.will; // [MQTT-3.1.2-8] [MQTT5-3.1.2-7]
        c.version = connect.protocol.version();
        c.connect_expiry = connect_expiry;
        c.receive_maximum = connect.properties.receive_maximum().copied().unwrap_or(u16::MAX);
        c.problem_information = connect.properties.request_problem_information() != Some(&0);
        // 1.5 times the keep alive [MQTT-3.1.2-24], the server's if it sets one [MQTT5-3.1.2-22].
        c.keep_alive_limit = keep_alive_limit(server_keep_alive.unwrap_or(connect.keep_alive));
        // The keep-alive deadline replaces the connect timeout; keep alive 0 leaves no timer.
        let deadline = c.keep_alive_limit.map(|limit| now + limit);
        self.set_timer(conn, deadline);

        // The first packet from the server is CONNACK [MQTT-3.2.0-1] [MQTT-3.1.4-4]. MQTT 3.1 has a
        // reserved byte where 3.1.1 put session present; like mosquitto, a 3.1 client gets 0 there.
        let session_present = resumed && connect.protocol != Protocol::V31;
        let mut connack = Connack::accepted(session_present);
        if v5 {
            connack.code = ReasonCode::SUCCESS.into();
            connack.properties = self.connack_properties(assigned.then_some(client_id.as_str()), server_keep_alive);
        }
        self.send(conn, Packet::Connack(connack));
        self.events.push_back(Event::Connected {
            conn,
            client_id: client_id.clone(),
            clean_session: connect.clean_session,
            session_present: resumed,
        });
        if resumed {
            self.resend_inflight(conn, &client_id);
        }
        self.fill_window(&client_id);
    }

    /// Re-sends, in their original order, every unacknowledged PUBLISH (DUP=1, same packet id)
    /// and every PUBREL still waiting for PUBCOMP (`qos::Outbox::resend`).
    /// A re-sent PUBLISH carries what is left of its Message Expiry Interval [MQTT5-3.3.2-6].
    /// All go out, as in mosquitto, even when the client now announces a Receive Maximum below
    /// their number: [MQTT5-4.4.0-1] asks for every one, [MQTT5-3.3.4-9] for no more than the
    /// maximum, and only new deliveries wait for room.
    /// A PUBLISH now too large for the client's Maximum Packet Size is not re-sent but dropped
    /// as if delivered [MQTT5-3.1.2-25], its flow ended.
    fn resend_inflight(&mut self, conn: ConnId, client_id: &str) {
        let inflight = &self.sessions[client_id].inflight;
        let mut packets = inflight.resend();
        let mut too_large = Vec::new();
        for (packet, f) in packets.iter_mut().zip(inflight.iter()) {
            if let Packet::Publish(publish) = packet {
                super::deliver::stamp_expiry(publish, f.msg.msg.expires_at, self.now);
                if self.too_large_for(conn, &f.msg) {
                    too_large.push((f.pkid, f.msg.qos));
                }
            }
        }
        packets.retain(
            |p| !matches!(p, Packet::Publish(publish) if too_large.iter().any(|(id, _)| Some(*id) == publish.pkid)),
        );
        for (pkid, qos) in too_large {
            let session = self.sessions.get_mut(client_id).expect("resumed");
            let ack =
                if qos == crate::protocol::QoS::AtLeastOnce { Ack::Puback(pkid) } else { Ack::PubrecFailed(pkid) };
            if let crate::qos::Acked::Complete { msg, .. } = session.inflight.acknowledge(ack) {
                self.drop_message(client_id, &msg, super::DropReason::TooLargeForClient);
            }
        }
        #[cfg(feature = "mutants")]
        let packets = mutate_resend(self.config.mutant, packets, &self.sessions[client_id].inflight);
        for packet in packets {
            self.send(conn, packet);
        }
    }

    /// Answers CONNACK with a refusal (session present 0 [MQTT-3.2.2-4]) and closes the
    /// connection [MQTT-3.2.2-5]; nothing else from this CONNECT is processed [MQTT-3.1.4-5].
    /// A 5.0 client gets the 5.0 code of the same meaning (2 is 0x85, ...), written by the
    /// driver in its version.
    /// A 5.0 client is told why in a reason string too, which CONNACK may always carry
    /// [MQTT5-3.1.2-29].
    pub(super) fn refuse(&mut self, conn: ConnId, code: impl Into<ConnackCode>, now: Time) {
        let code = code.into();
        let mut connack = Connack::refused(code);
        if self.version(conn) == crate::protocol::Version::V5 {
            connack.properties.push(crate::protocol::Property::ReasonString(code.v5().name().to_owned()));
        }
        self.send(conn, Packet::Connack(connack));
        self.close(conn, CloseReason::Refused(code), false, true, now);
    }

    /// A client id unique among sessions, shaped like mosquitto's (`auto-` and 36 characters).
    /// Derived from a counter rather than randomness, so runs replay exactly.
    fn assign_client_id(&mut self) -> String {
        loop {
            let n = self.next_auto_id;
            self.next_auto_id += 1;
            let id =
                format!("{}{:08X}-0000-4000-8000-{:012X}", self.config.auto_id_prefix, n >> 48, n & 0xFFFF_FFFF_FFFF);
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }
}

/// The re-sends as the mutants that break them would send them.
#[cfg(feature = "mutants")]
fn mutate_resend(
    mutant: Option<crate::mutants::Mutant>,
    mut packets: Vec<Packet>,
    inflight: &crate::qos::Outbox<super::session::Outgoing>,
) -> Vec<Packet> {
    use crate::mutants::Mutant;
    match mutant {
        Some(Mutant::ResendPublishAfterPubrec) => {
            for (packet, f) in packets.iter_mut().zip(inflight.iter()) {
                if matches!(packet, Packet::Pubrel(_)) {
                    *packet = Packet::Publish(crate::qos::publish(&f.msg, Some(f.pkid), true));
                }
            }
        }
        Some(Mutant::ResendWithoutDup) => {
            for packet in &mut packets {
                if let Packet::Publish(publish) = packet {
                    publish.dup = false;
                }
            }
        }
        Some(Mutant::ResendOutOfOrder) => packets.reverse(),
        Some(Mutant::ResendUnderFreshIds) => {
            for packet in &mut packets {
                if let Packet::Publish(crate::protocol::Publish { pkid: Some(pkid), .. }) = packet {
                    *pkid = crate::protocol::PacketId::new(pkid.get().wrapping_add(1000).max(1)).expect("not zero");
                }
            }
        }
        _ => {}
    }
    packets
}
