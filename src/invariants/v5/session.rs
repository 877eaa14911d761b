//! A 5.0 session's lifetime, judged from the packets at the broker's end and the broker's
//! closes (`BrokerEvent::ClosedConnection`, which the simulation's tap and the fault proxy of
//! `mqtt-sim check` both record):
//! - `session-expiry`: a session lasts as long as its last connection plus its Session Expiry
//!   Interval [MQTT5-4.1.0-2]: the CONNECT's (or the CONNACK's, where the server chose another),
//!   as the client's DISCONNECT last set it; 0 or absent, the session ends with the connection.
//!   A CONNECT with Clean Start 0 that the broker reads after that, when no connection of that
//!   client id is open, finds no session: session present 0 [MQTT5-3.2.2-3]. The interval counts
//!   from the broker's close of the last connection, and a server may keep time in whole
//!   seconds, so a session may outlive a non-zero interval by up to a second (and the stamps'
//!   delay, `STAMP_MS`). Only a session whose last connection was 5.0 is judged: 3.1.1 has no
//!   expiry.
//! - `new-session-empty`: after a CONNACK with session present 0 on a 5.0 connection (or on any
//!   connection to a session that had expired), the session starts empty [MQTT5-3.1.2-4]
//!   [MQTT5-3.1.2-6]: a PUBLISH the broker writes to it that a subscription of the old session
//!   matches must match one the new session made (a SUBSCRIBE read after that CONNECT; where
//!   none does, `no-unsubscribed-delivery` speaks), and a message the broker had
//!   finished routing (its PUBACK or PUBCOMP written) before the first such SUBSCRIBE can only
//!   come as a retained copy for it (RETAIN=1, of a message published retained), not from the
//!   old session's queue.
//!   Only while the client host has one connection open at the broker: a connection taken over
//!   may still be flushing what the old session was sent.

use std::collections::BTreeMap;

use super::subs::Subs;
use super::wire::{Receipts, Seen};
use super::{STAMP_MS, WHOLE_SECOND_MS};
use crate::invariants::Violation;
use crate::protocol::PacketSummary;
use crate::topic;
use crate::trace::{BrokerEvent, Fault, TraceEvent};

/// A connection as the broker's end sees it, from CONNECT to the broker's close.
struct Conn {
    line: usize,
    /// The client id once the CONNACK accepted it.
    client_id: Option<String>,
    v5: bool,
    /// The CONNECT's Session Expiry Interval (0 when absent).
    expiry: u32,
    /// The CONNACK's return code, once written.
    answered: Option<u8>,
    /// Where the session this CONNECT asked to resume had expired: the line of the close it
    /// counted from, how long before the CONNECT, and its interval.
    expired: Option<(usize, u64, u32)>,
}

/// A session, by client id.
#[derive(Default)]
struct Session {
    /// Its connections the broker has accepted and not closed.
    open: usize,
    /// When the broker closed the last of them: (line, ms).
    closed: Option<(usize, u64)>,
    /// Its Session Expiry Interval in force; `None` for a 3.1.1 session.
    expiry: Option<u32>,
    /// Since a CONNACK with session present 0: the CONNECT's line, the client host, and the
    /// lines of the session's SUBSCRIBE packets since, with their filters.
    fresh: Option<Fresh>,
}

type Fresh = (usize, String, Vec<(usize, String)>);

pub fn check(seen: &[Seen], receipts: &Receipts, subs: &Subs, out: &mut Vec<Violation>) {
    let mut conns: BTreeMap<&str, Vec<Conn>> = BTreeMap::new();
    let mut sessions: BTreeMap<String, Session> = BTreeMap::new();
    for s in seen {
        let w = match s {
            Seen::Wire(w) => w,
            Seen::Event(_, TraceEvent::Fault { fault: Fault::CrashBroker, .. }) => {
                conns.clear();
                sessions.clear();
                continue;
            }
            Seen::Event(line, TraceEvent::Broker { ms, event: BrokerEvent::ClosedConnection { client, .. } }) => {
                closed(&mut conns, &mut sessions, client, *line, *ms);
                continue;
            }
            Seen::Event(..) => continue,
        };
        match (w.by_broker, w.packet) {
            (false, PacketSummary::Connect { client_id, clean_session, v5, props, .. }) => {
                let session = sessions.get(client_id.as_str()).filter(|s| s.open == 0 && !client_id.is_empty());
                let expired = match session.and_then(|s| Some((s.closed?, s.expiry?))) {
                    Some(((line, ms), interval)) if interval != u32::MAX && !clean_session => {
                        let away = w.ms.saturating_sub(ms);
                        let limit = match interval {
                            0 => 0,
                            n => u64::from(n) * 1000 + WHOLE_SECOND_MS + STAMP_MS,
                        };
                        (line < w.line && away >= limit).then_some((line, away, interval))
                    }
                    _ => None,
                };
                let expiry = props.as_ref().and_then(|p| p.session_expiry).unwrap_or(0);
                let conn = Conn { line: w.line, client_id: None, v5: *v5, expiry, answered: None, expired };
                conns.entry(w.host).or_default().push(conn);
            }
            (true, PacketSummary::Connack { session_present, return_code, props }) => {
                let Some(conn) =
                    conns.get_mut(w.host).and_then(|cs| cs.iter_mut().rev().find(|c| c.answered.is_none()))
                else {
                    continue;
                };
                conn.answered = Some(*return_code);
                let Some(id) = w.client_id.clone().filter(|_| *return_code == 0) else { continue };
                conn.client_id = Some(id.clone());
                let session = sessions.entry(id.clone()).or_default();
                session.open += 1;
                let chosen = props.as_ref().and_then(|p| p.session_expiry);
                session.expiry = conn.v5.then(|| chosen.unwrap_or(conn.expiry));
                if let (Some((close, away, interval)), true) = (conn.expired, *session_present) {
                    out.push(Violation {
                        invariant: "session-expiry",
                        message: format!(
                            "{} ({id:?}) came back with Clean Start 0 {away} ms after the broker closed its last connection, past its Session Expiry Interval of {interval} s, and got session present 1 [MQTT5-4.1.0-2] [MQTT5-3.2.2-3]",
                            w.host
                        ),
                        lines: vec![close, conn.line, w.line],
                    });
                }
                if !session_present && (conn.v5 || conn.expired.is_some()) {
                    session.fresh = Some((conn.line, w.host.to_owned(), Vec::new()));
                } else if let Some(fresh) = session.fresh.as_mut().filter(|_| *session_present) {
                    fresh.1 = w.host.to_owned();
                } else {
                    session.fresh = None;
                }
            }
            (false, PacketSummary::Disconnect { props: Some(p), .. }) => {
                let Some(e) = p.session_expiry else { continue };
                let newest = conns.get(w.host).and_then(|cs| cs.iter().rev().find(|c| c.client_id.is_some()));
                let Some(session) = newest.and_then(|c| sessions.get_mut(c.client_id.as_deref()?)) else { continue };
                // From 0 to more is a protocol error, not a valid DISCONNECT (section 3.14.2.2.2).
                if session.expiry.is_some_and(|now| now != 0 || e == 0) {
                    session.expiry = Some(e);
                }
            }
            (false, PacketSummary::Subscribe { filters, .. }) => {
                let Some(fresh) = w.client_id.as_ref().and_then(|id| sessions.get_mut(id)?.fresh.as_mut()) else {
                    continue;
                };
                for (filter, _) in filters {
                    let plain = if w.v5 { topic::shared(filter).ok().flatten().map(|s| s.filter) } else { None };
                    fresh.2.push((w.line, plain.unwrap_or(filter).to_owned()));
                }
            }
            (true, PacketSummary::Publish(p)) => {
                let (Some(id), Some(topic)) = (&w.client_id, &w.topic) else { continue };
                let Some((since, host, subscribed)) = sessions.get(id).and_then(|s| s.fresh.as_ref()) else { continue };
                if host != w.host || conns.get(w.host).is_none_or(|cs| cs.len() != 1) {
                    continue;
                }
                let first_match = subscribed.iter().find(|(_, f)| topic::matches(f, topic)).map(|(l, _)| *l);
                let key = (topic.clone(), p.payload.clone());
                let rs = receipts.get(&key).map_or(&[][..], Vec::as_slice);
                let routed_before =
                    |first: usize| !rs.is_empty() && rs.iter().all(|r| r.routed_by.is_some_and(|l| l < first));
                let retained_copy = p.retain && rs.iter().any(|r| r.retain);
                let why = match first_match {
                    None if subs.matching(id, topic).any(|s| s.started_before(*since)) => {
                        Some("only a subscription of the old session matches it")
                    }
                    None => None,
                    Some(first) if !retained_copy && routed_before(first) => {
                        Some("the broker had routed it before the session's first subscription matching it")
                    }
                    _ => None,
                };
                if let Some(why) = why {
                    out.push(Violation {
                        invariant: "new-session-empty",
                        message: format!(
                            "the broker sent {topic:?} {:?} to {} ({id:?}) after a CONNACK with session present 0, but {why}: it came from the old session [MQTT5-3.1.2-4] [MQTT5-3.1.2-6]",
                            p.payload, w.host
                        ),
                        lines: vec![*since, w.line],
                    });
                }
            }
            _ => {}
        }
    }
}

/// The broker closed one of `host`'s connections: a refused one if any, else the oldest.
fn closed(
    conns: &mut BTreeMap<&str, Vec<Conn>>,
    sessions: &mut BTreeMap<String, Session>,
    host: &str,
    line: usize,
    ms: u64,
) {
    let Some(list) = conns.get_mut(host) else { return };
    let Some(i) = list.iter().position(|c| c.answered.is_some_and(|rc| rc != 0)).or((!list.is_empty()).then_some(0))
    else {
        return;
    };
    let conn = list.remove(i);
    let Some(session) = conn.client_id.and_then(|id| sessions.get_mut(&id)) else { return };
    session.open = session.open.saturating_sub(1);
    if session.open == 0 {
        session.closed = Some((line, ms));
    }
}
