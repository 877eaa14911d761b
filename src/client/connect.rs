//! Connecting and staying connected: CONNECT on a new transport, CONNACK (refusal, session
//! present, what a resumed session re-sends), keep alive (PINGREQ when idle, closing when
//! PINGRESP or CONNACK is overdue) and what a closed connection leaves behind.

use std::time::Duration;

use super::{ClientEvent, ClientSession, CloseCause};
use crate::protocol::{Connack, ConnectReturnCode, Packet};
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
            // A 5.0 refusal without a 3.1.1 counterpart is reported as "server unavailable"
            // until the client's reason codes are its own (issue 18's client work).
            let code = ack.code.v311().unwrap_or(ConnectReturnCode::ServerUnavailable);
            self.events.push_back(ClientEvent::Refused(code));
            self.close(CloseCause::Refused(code));
            return;
        }
        self.state = State::Connected;
        let expected_session = self.had_session && !self.options.clean_session;
        self.had_session = true;
        if self.options.clean_session {
            // A clean session starts with nothing; our side discards too [MQTT-3.1.2-6].
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
        }
        // Re-send unacknowledged PUBLISH (DUP=1) and PUBREL, same ids, original order; then what
        // waited for room in the window, for the first time (DUP=0).
        for packet in self.outbox.resend() {
            self.send(packet, now);
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

    fn keep_alive(&self) -> Option<Duration> {
        match self.options.keep_alive {
            0 => None,
            s => Some(Duration::from_secs(u64::from(s))),
        }
    }

    /// The connection is over: pending SUBSCRIBE/UNSUBSCRIBE requests die with it; a clean
    /// session's state is discarded, a persistent one is kept for the next connection.
    pub(super) fn went_away(&mut self, cause: Option<CloseCause>) {
        self.state = State::Disconnected;
        self.ping_sent = None;
        self.requests.clear();
        if self.options.clean_session {
            self.outbox.clear();
            self.incoming_qos2.clear();
        }
        self.events.push_back(ClientEvent::Disconnected { cause });
    }
}
