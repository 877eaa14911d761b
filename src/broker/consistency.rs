//! The broker's own invariants, checked from the outside: `Broker::check_invariants` walks the
//! whole state and reports the first inconsistency it finds. The fuzz harness (`tests/fuzz_broker.rs`)
//! calls it after every input; it is also cheap enough for any test that wants it.
//!
//! It owns no state and changes nothing. Each check states a fact the rest of `broker/` keeps
//! without looking: the configured limits hold for every session at all times, the indexes agree
//! with what they index, and connections and sessions point at each other.

use std::collections::{BTreeMap, BTreeSet};

use super::session::{Expiry, Session};
use super::subscriptions::SubOptions;
use super::{Broker, ConnId};
use crate::protocol::QoS;
use crate::qos::OutState;
use crate::time::Time;

impl Broker {
    /// Checks every invariant of the broker's state; `Err` names the first one broken and where.
    ///
    /// - Limits: no session queues more than `max_queued_messages` messages or more than
    ///   `max_queued_bytes` payload bytes (when non-zero); no session has more deliveries inflight,
    ///   or more incoming QoS 2 messages awaiting PUBREL, than the window;
    ///   open connections stay within `max_connections`.
    /// - Indexes: a session's queued byte and QoS 0 counters equal what its queue holds; its
    ///   inflight packet ids are unique [MQTT-2.3.1-2] and equal its id index; every inflight
    ///   delivery is QoS 1 or 2 and in a state of its QoS's flow; the subscription trie and the
    ///   sessions' subscription lists hold the same (filter, client, QoS) triples, and the trie
    ///   has no empty branch; the retained store holds no empty payload [MQTT-3.3.1-10].
    /// - Links: a connected session points at a live connection that names it; a connection past
    ///   CONNECT belongs to a live session that points back at it; a clean session is connected
    ///   (it is discarded when its connection ends [MQTT-3.1.2-6]); a connection waiting for
    ///   CONNECT, or with a keep alive, has a timer due no later than its deadline.
    /// - Wills: a delayed will waits only in an offline session, with its one timer.
    /// - Timers: every timer entry belongs to an open connection, which has no other entry and
    ///   records that one as its own; so the timer set never outgrows the connection table.
    pub fn check_invariants(&self) -> Result<(), String> {
        if let Some(max) = self.config.max_connections {
            if self.connections.len() > max {
                return Err(format!("{} connections open, max_connections {max}", self.connections.len()));
            }
        }
        for (id, session) in &self.sessions {
            if *id != session.client_id {
                return Err(format!("session stored under {id:?} is for {:?}", session.client_id));
            }
            self.check_session(session).map_err(|e| format!("session {id:?}: {e}"))?;
        }
        let timed = self.sessions.values().filter(|s| s.expires_at.is_some()).count();
        if self.session_timers.len() != timed {
            return Err(format!("{} session timers for {timed} sessions that expire", self.session_timers.len()));
        }
        // A delayed will waits only in an offline session, under its one timer [MQTT5-3.1.2-8].
        for s in self.sessions.values() {
            if let Some((at, _)) = &s.will {
                if s.conn.is_some() || !self.will_timers.contains(&(*at, s.client_id.clone())) {
                    return Err(format!("session {:?} holds a delayed will at {at:?} while {:?}", s.client_id, s.conn));
                }
            }
        }
        let delayed = self.sessions.values().filter(|s| s.will.is_some()).count();
        if self.will_timers.len() != delayed {
            return Err(format!("{} will timers for {delayed} delayed wills", self.will_timers.len()));
        }
        self.check_subscriptions()?;
        self.check_connections()?;
        if let Some((topic, _)) = self.retained.iter().find(|(_, r)| r.payload.is_empty()) {
            return Err(format!("retained message on {topic:?} has an empty payload"));
        }
        Ok(())
    }

    fn check_session(&self, s: &Session) -> Result<(), String> {
        let (max_msgs, max_bytes) = (self.config.max_queued_messages, self.config.max_queued_bytes);
        if max_msgs > 0 && s.queue.len() > max_msgs {
            return Err(format!("{} messages queued, max_queued_messages {max_msgs}", s.queue.len()));
        }
        let bytes: usize = s.queue.iter().map(|o| o.msg.payload.len()).sum();
        if bytes != s.queued_bytes {
            return Err(format!("queued_bytes {} but the queue holds {bytes} payload bytes", s.queued_bytes));
        }
        if max_bytes > 0 && bytes > max_bytes {
            return Err(format!("{bytes} payload bytes queued, max_queued_bytes {max_bytes}"));
        }
        let qos0 = s.queue.iter().filter(|o| o.qos == QoS::AtMostOnce).count();
        if qos0 != s.queued_qos0 {
            return Err(format!("queued_qos0 {} but the queue holds {qos0} QoS 0 messages", s.queued_qos0));
        }
        if s.inflight.len() > self.window() {
            return Err(format!("{} deliveries inflight, window {}", s.inflight.len(), self.window()));
        }
        if s.incoming.len() > self.window() {
            return Err(format!("{} incoming QoS 2 messages await PUBREL, window {}", s.incoming.len(), self.window()));
        }
        let mut ids = BTreeSet::new();
        if s.inflight.in_flight() != s.inflight.len() {
            return Err(format!(
                "{} of {} inflight deliveries were never sent",
                s.inflight.len() - s.inflight.in_flight(),
                s.inflight.len()
            ));
        }
        for f in s.inflight.iter() {
            if !ids.insert(f.pkid) {
                return Err(format!("packet id {} inflight twice [MQTT-2.3.1-2]", f.pkid));
            }
            let state_fits = match f.msg.qos {
                QoS::AtMostOnce => false,
                QoS::AtLeastOnce => f.state == OutState::AwaitPuback,
                QoS::ExactlyOnce => f.state != OutState::AwaitPuback,
            };
            if !state_fits {
                return Err(format!("inflight {} at QoS {} is in state {:?}", f.pkid, f.msg.qos, f.state));
            }
            if f.msg.qos > f.msg.msg.qos {
                return Err(format!("inflight {} delivered above its published QoS [MQTT-3.8.4-6]", f.pkid));
            }
        }
        if &ids != s.inflight.ids() {
            return Err(format!("inflight ids {ids:?} but the id index holds {:?}", s.inflight.ids()));
        }
        if let Some(o) = s.queue.iter().find(|o| o.qos > o.msg.qos) {
            return Err(format!("queued message on {:?} above its published QoS [MQTT-3.8.4-6]", o.msg.topic));
        }
        match s.conn {
            Some(conn) => match self.connections.get(&conn) {
                None => return Err(format!("connected to {conn}, which is not open")),
                Some(c) if c.client_id.as_deref() != Some(s.client_id.as_str()) => {
                    return Err(format!("connected to {conn}, which belongs to {:?}", c.client_id))
                }
                Some(_) => {}
            },
            None if s.expiry == Expiry::AtClose => {
                return Err("a session that ends with its connection outlived it [MQTT-3.1.2-6] [MQTT5-3.1.2-23]".into())
            }
            None => {}
        }
        // An offline session with a finite expiry (or any, under `persistent_client_expiration`)
        // has exactly one timer, and no other has one.
        let capped = self.config.persistent_client_expiration.is_some();
        let timed = match (s.conn, s.expiry) {
            (None, Expiry::After(_)) => true,
            (None, Expiry::Never) => capped,
            _ => false,
        };
        match s.expires_at {
            Some(at) if timed && self.session_timers.contains(&(at, s.client_id.clone())) => {}
            None if !timed => {}
            other => return Err(format!("session expiry timer {other:?} for {:?} while {:?}", s.expiry, s.conn)),
        }
        Ok(())
    }

    fn check_subscriptions(&self) -> Result<(), String> {
        let (entries, empty_branch) = self.subscriptions.entries();
        if empty_branch {
            return Err("the subscription trie has an empty branch".into());
        }
        let in_trie: BTreeSet<(String, String, SubOptions)> = entries.into_iter().collect();
        let in_sessions: BTreeSet<(String, String, SubOptions)> = self
            .sessions
            .values()
            .flat_map(|s| s.subscriptions.iter().map(|(f, q)| (f.clone(), s.client_id.clone(), *q)))
            .collect();
        if let Some(extra) = in_trie.difference(&in_sessions).next() {
            return Err(format!("trie holds {extra:?}, which no session lists"));
        }
        if let Some(missing) = in_sessions.difference(&in_trie).next() {
            return Err(format!("session subscription {missing:?} is missing from the trie"));
        }
        Ok(())
    }

    fn check_connections(&self) -> Result<(), String> {
        let mut timer_of: BTreeMap<ConnId, Time> = BTreeMap::new();
        for &(at, conn) in &self.timers {
            let Some(c) = self.connections.get(&conn) else {
                return Err(format!("timer at {at:?} for {conn}, which is not open"));
            };
            if let Some(earlier) = timer_of.insert(conn, at) {
                return Err(format!("{conn} has two timers, at {earlier:?} and {at:?}"));
            }
            if c.timer != Some(at) {
                return Err(format!("{conn} has a timer at {at:?} but records {:?}", c.timer));
            }
        }
        for (conn, c) in &self.connections {
            let due = timer_of.get(conn).copied();
            if c.timer.is_some() && due.is_none() {
                return Err(format!("{conn} records a timer at {:?} that is not armed", c.timer));
            }
            match &c.client_id {
                Some(id) => match self.sessions.get(id) {
                    Some(s) if s.conn == Some(*conn) => {}
                    Some(s) => return Err(format!("{conn} is {id:?}, whose session is on {:?}", s.conn)),
                    None => return Err(format!("{conn} is {id:?}, which has no session")),
                },
                None => {
                    if let Some(timeout) = self.config.connect_timeout {
                        if due.is_none_or(|at| at > c.opened + timeout) {
                            return Err(format!("{conn} waits for CONNECT with no timer due by its timeout"));
                        }
                    }
                }
            }
            if let Some(limit) = c.keep_alive_limit {
                if due.is_none_or(|at| at > c.last_packet + limit) {
                    return Err(format!("{conn} has a keep alive but no timer due by its deadline"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{Harness, Q1};
    use super::Session;
    use crate::broker::Config;

    fn session(h: &mut Harness) -> &mut Session {
        h.broker.sessions.get_mut("sub").unwrap()
    }

    #[test]
    fn a_broken_index_or_limit_is_reported() {
        let mut h = Harness::with_config(Config { max_queued_messages: 1, ..Config::default() });
        let sub = h.client("sub", false);
        h.subscribe(sub, "t", Q1);
        h.broker.handle_connection_lost(sub, h.now);
        let publisher = h.client("pub", true);
        h.publish(publisher, "t", "m1", Q1);
        assert_eq!(h.broker.check_invariants(), Ok(()));

        session(&mut h).queued_bytes += 1;
        let e = h.broker.check_invariants().unwrap_err();
        assert!(e.contains("queued_bytes"), "{e}");
        session(&mut h).queued_bytes -= 1;

        let extra = session(&mut h).queue[0].clone();
        session(&mut h).push_queue(extra);
        let e = h.broker.check_invariants().unwrap_err();
        assert!(e.contains("max_queued_messages 1"), "{e}");
        session(&mut h).pop_queue();

        session(&mut h).subscriptions.insert("other".into(), crate::broker::subscriptions::SubOptions::qos(Q1));
        let e = h.broker.check_invariants().unwrap_err();
        assert!(e.contains("missing from the trie"), "{e}");
    }
}
