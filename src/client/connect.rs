//! Connecting and staying connected: CONNACK (refusal, session present, what a resumed session
//! re-sends), keep alive (PINGREQ when idle, closing when PINGRESP or CONNACK is overdue) and
//! what a closed connection leaves behind. What a 5.0 CONNACK's properties set is read in `v5`.

use std::time::Duration;

use super::{ClientEvent, ClientSession, CloseCause};
use crate::protocol::{Connack, Packet, Version};
use crate::time::Time;

/// How long to wait for CONNACK when keep alive is off.
const CONNACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Disconnected,
    /// CONNECT sent, waiting for CONNACK.
    Connecting {
        since: Time,
    },
    Connected,
}

impl ClientSession {
    pub(super) fn handle_connack(&mut self, ack: Connack, now: Time) {
        if !ack.code.is_success() {
            // The code as the server sent it: a 3.1.1 return code or a 5.0 reason code; either
            // way the connection is over [MQTT5-4.13.2-1].
            self.events.push_back(ClientEvent::Refused(ack.code));
            self.close(CloseCause::Refused(ack.code));
            return;
        }
        let v5 = self.options.version == Version::V5;
        if v5 && ack.session_present && self.options.clean_session {
            // A server that was asked for Clean Start answers session present 0 [MQTT5-3.2.2-2];
            // the client closes on a session it cannot have [MQTT5-3.2.2-4].
            return self.violation("session present 1 after Clean Start 1 [MQTT5-3.2.2-2] [MQTT5-3.2.2-4]");
        }
        self.state = State::Connected;
        if v5 {
            self.v5.connack(&ack.properties);
        }
        let expected_session = self.had_session && !self.options.clean_session;
        self.had_session = true;
        if self.options.clean_session {
            // A clean session starts with nothing; our side discards too [MQTT-3.1.2-6]
            // [MQTT5-3.1.2-4].
            self.outbox.clear();
            self.incoming_qos2.clear();
        }
        #[cfg(feature = "mutants")]
        if self.options.mutant == Some(crate::mutants::Mutant::ForgetPubrelState) {
            self.incoming_qos2.clear();
        }
        self.events.push_back(ClientEvent::Connected { session_present: ack.session_present });
        if expected_session && !ack.session_present {
            // The server lost its half: it will not re-send or release anything it held for us.
            self.incoming_qos2.clear();
            self.events.push_back(ClientEvent::SessionLost { unacknowledged: self.outbox.len() });
            if v5 {
                // A 5.0 client discards its half too [MQTT5-3.2.2-5].
                self.outbox.clear();
                self.v5.pubrec_reasons.clear();
            }
        }
        // Re-send unacknowledged PUBLISH (DUP=1) and PUBREL, same ids, original order; then what
        // waited for room in the window, for the first time (DUP=0). A 5.0 server's Receive
        // Maximum bounds the re-sent PUBLISHes too.
        let resends = self.outbox.resend();
        if v5 {
            self.resend_within_window(resends, now);
        } else {
            for packet in resends {
                self.send_publish(packet, now);
            }
        }
        self.send_waiting(now);
    }

    /// Sends PINGREQ when idle for the keep alive [MQTT-3.1.2-23]; closes when a PINGRESP or
    /// CONNACK is overdue.
    pub(super) fn check_keep_alive(&mut self, now: Time) {
        let Some(keep_alive) = self.keep_alive() else {
            if let State::Connecting { since } = self.state {
                if now >= since + CONNACK_TIMEOUT {
                    self.close(CloseCause::ConnackTimeout);
                }
            }
            return;
        };
        match self.state {
            State::Disconnected => {}
            State::Connecting { since } => {
                if now >= since + keep_alive {
                    self.close(CloseCause::ConnackTimeout);
                }
            }
            State::Connected => {
                if let Some(sent) = self.ping_sent {
                    if now >= sent + keep_alive {
                        self.close(CloseCause::PingTimeout);
                    }
                } else if self.pinging && now >= self.last_sent + keep_alive {
                    self.ping_sent = Some(now);
                    self.send(Packet::Pingreq, now);
                }
            }
        }
    }

    /// When `check_keep_alive` must next run, if ever.
    pub(super) fn deadline(&self) -> Option<Time> {
        match (self.state, self.keep_alive()) {
            (State::Disconnected, _) => None,
            (State::Connecting { since }, ka) => Some(since + ka.unwrap_or(CONNACK_TIMEOUT)),
            (State::Connected, None) => None,
            (State::Connected, Some(ka)) => match self.ping_sent {
                Some(sent) => Some(sent + ka),
                None if self.pinging => Some(self.last_sent + ka),
                None => None,
            },
        }
    }

    /// Ours, or once a 5.0 CONNACK has set one, the server's [MQTT5-3.1.2-21] [MQTT5-3.2.2-21].
    fn keep_alive(&self) -> Option<Duration> {
        match self.v5.server.keep_alive.unwrap_or(self.options.keep_alive) {
            0 => None,
            s => Some(Duration::from_secs(u64::from(s))),
        }
    }

    /// The connection is over: pending SUBSCRIBE/UNSUBSCRIBE requests die with it; a session
    /// that ends with the connection is discarded, one that outlives it is kept for the next
    /// connection (`keeps_session`) [MQTT5-3.1.2-23].
    pub(super) fn went_away(&mut self, cause: Option<CloseCause>) {
        self.state = State::Disconnected;
        self.ping_sent = None;
        self.requests.clear();
        if !self.keeps_session() {
            self.outbox.clear();
            self.incoming_qos2.clear();
            if self.options.version == Version::V5 {
                // The server discards its half too: the next CONNACK's session present 0 is
                // expected, not a loss, and an assigned client id names nothing any more.
                self.had_session = false;
                self.v5.assigned_client_id = None;
            }
        }
        self.v5.connection_closed();
        self.events.push_back(ClientEvent::Disconnected { cause });
    }
}
