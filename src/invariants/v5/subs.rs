//! Each session's subscriptions as the broker's end of the trace shows them, with how sure the
//! trace is of each at a given line. A subscription may exist from the broker's read of the
//! SUBSCRIBE and surely does from the SUBACK granting it; it may be gone from the read of what
//! ends it (an UNSUBSCRIBE, a SUBSCRIBE replacing it with the same filter [MQTT5-3.8.4-3], a
//! CONNECT that finds or leaves no session, a broker crash) and surely is from the answer
//! (UNSUBACK, SUBACK, a CONNACK with session present 0). The invariants ask which subscriptions
//! *may* have matched a message while it was routed (to excuse a delivery) and which surely did
//! (to require something of it). Only a 5.0 connection's `$share/{group}/{filter}` is shared.
//! This module judges nothing.

use std::collections::BTreeMap;

use super::wire::Seen;
use crate::protocol::PacketSummary;
use crate::topic;
use crate::trace::{Fault, TraceEvent};

/// One subscription of a session.
pub struct Sub {
    /// The filter topics are matched against (a shared one's after its share name).
    pub filter: String,
    /// The shared subscription this is a member of, named by its whole `$share/{ShareName}/{filter}`:
    /// a share name with two filters is two shared subscriptions, each owed its own copy
    /// (section 4.8.2: a Shared Subscription is identified by that Topic Filter).
    pub shared: Option<String>,
    pub no_local: bool,
    /// Its Subscription Identifier.
    pub id: Option<u32>,
    /// The filter as subscribed, `$share/...` included.
    full: String,
    /// The SUBSCRIBE's line, and the granting SUBACK's.
    start: (usize, Option<usize>),
    /// The line from which it may be gone, and the one from which it surely is.
    end: Option<(usize, Option<usize>)>,
    refused: bool,
}

impl Sub {
    /// Whether it may have existed at some moment between lines `from` and `to`.
    pub fn possible(&self, from: usize, to: usize) -> bool {
        !self.refused && self.start.0 <= to && self.end.is_none_or(|(_, surely)| surely.is_none_or(|l| l >= from))
    }

    /// Whether it surely existed from line `from` to line `to`.
    pub fn certain(&self, from: usize, to: usize) -> bool {
        !self.refused && self.start.1.is_some_and(|l| l <= from) && self.end.is_none_or(|(maybe, _)| maybe >= to)
    }

    /// Whether its SUBSCRIBE came before line `line`.
    pub fn started_before(&self, line: usize) -> bool {
        !self.refused && self.start.0 < line
    }

    fn may_end(&mut self, line: usize) {
        if self.end.is_none() {
            self.end = Some((line, None));
        }
    }

    fn surely_ended(&mut self, line: usize) {
        if let Some((_, surely @ None)) = &mut self.end {
            *surely = Some(line);
        }
    }
}

/// The subscriptions of every session, by client id.
#[derive(Default)]
pub struct Subs {
    by_client: BTreeMap<String, Vec<Sub>>,
}

impl Subs {
    /// Reads the subscriptions from the packets at the broker's end.
    pub fn build(seen: &[Seen]) -> Subs {
        let mut subs = Subs::default();
        // SUBSCRIBE and UNSUBSCRIBE read and not yet answered, by (client host, packet id): the
        // client id and the indices of the subscriptions they started, or the filters they end.
        let mut subscribing: BTreeMap<(&str, u16), (String, Vec<usize>)> = BTreeMap::new();
        let mut unsubscribing: BTreeMap<(&str, u16), (String, usize, Vec<String>)> = BTreeMap::new();
        // The line of each host's CONNECT awaiting its CONNACK.
        let mut connecting: BTreeMap<&str, usize> = BTreeMap::new();
        for s in seen {
            let w = match s {
                Seen::Wire(w) => w,
                Seen::Event(line, TraceEvent::Fault { fault: Fault::CrashBroker, .. }) => {
                    subs.by_client.values_mut().flatten().for_each(|s| s.may_end(*line));
                    continue;
                }
                Seen::Event(..) => continue,
            };
            match (w.by_broker, w.packet) {
                (false, PacketSummary::Connect { .. }) => {
                    connecting.insert(w.host, w.line);
                }
                (true, PacketSummary::Connack { session_present: false, return_code: 0, .. }) => {
                    let (Some(id), Some(connect)) = (&w.client_id, connecting.remove(w.host)) else { continue };
                    for s in subs.by_client.get_mut(id).into_iter().flatten().filter(|s| s.start.0 < connect) {
                        s.may_end(connect);
                        s.surely_ended(w.line);
                    }
                }
                (false, PacketSummary::Subscribe { pkid, filters, options, props }) => {
                    let Some(id) = &w.client_id else { continue };
                    let list = subs.by_client.entry(id.clone()).or_default();
                    let mut started = Vec::new();
                    for (i, (full, _)) in filters.iter().enumerate() {
                        list.iter_mut().filter(|s| s.full == *full).for_each(|s| s.may_end(w.line));
                        let shared = if w.v5 { topic::shared(full).ok().flatten() } else { None };
                        started.push(list.len());
                        list.push(Sub {
                            filter: shared.map_or(full.as_str(), |s| s.filter).to_owned(),
                            shared: shared.map(|_| full.clone()),
                            no_local: options.get(i).is_some_and(|o| o.no_local),
                            id: props.as_ref().and_then(|p| p.subscription_ids.first().copied()),
                            full: full.clone(),
                            start: (w.line, None),
                            end: None,
                            refused: false,
                        });
                    }
                    subscribing.insert((w.host, *pkid), (id.clone(), started));
                }
                (true, PacketSummary::Suback { pkid, codes, .. }) => {
                    let Some((id, started)) = subscribing.remove(&(w.host, *pkid)) else { continue };
                    let list = subs.by_client.entry(id).or_default();
                    for (&i, code) in started.iter().zip(codes) {
                        let (before, rest) = list.split_at_mut(i);
                        let new = &mut rest[0];
                        // The subscriptions this one replaces, or leaves in place if refused.
                        let replaced =
                            before.iter_mut().filter(|s| s.full == new.full && s.end == Some((new.start.0, None)));
                        if code.is_some() {
                            new.start.1 = Some(w.line);
                            replaced.for_each(|s| s.surely_ended(w.line));
                        } else {
                            new.refused = true;
                            replaced.for_each(|s| s.end = None);
                        }
                    }
                }
                (false, PacketSummary::Unsubscribe { pkid, filters }) => {
                    let Some(id) = &w.client_id else { continue };
                    for s in subs.by_client.get_mut(id).into_iter().flatten().filter(|s| filters.contains(&s.full)) {
                        s.may_end(w.line);
                    }
                    unsubscribing.insert((w.host, *pkid), (id.clone(), w.line, filters.clone()));
                }
                (true, PacketSummary::Unsuback { pkid, reasons }) => {
                    let Some((id, from, filters)) = unsubscribing.remove(&(w.host, *pkid)) else { continue };
                    for (i, filter) in filters.iter().enumerate() {
                        let failed = reasons.get(i).is_some_and(|r| *r >= 0x80);
                        let ended = |s: &&mut Sub| s.full == *filter && s.end.is_some_and(|(maybe, _)| maybe == from);
                        for s in subs.by_client.get_mut(&id).into_iter().flatten().filter(ended) {
                            if failed {
                                s.end = None;
                            } else {
                                s.surely_ended(w.line);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        subs
    }

    /// The subscriptions of `client_id` whose filter matches `topic`, whenever they existed.
    pub fn matching<'a>(&'a self, client_id: &str, topic: &'a str) -> impl Iterator<Item = &'a Sub> + 'a {
        self.by_client.get(client_id).into_iter().flatten().filter(move |s| topic::matches(&s.filter, topic))
    }
}
