//! The trace, reorganised for the invariants: publications in order, deliveries per client,
//! connects, subscriptions per client id over time, and the faults and broker events that
//! excuse a missing delivery.

use std::collections::{BTreeMap, BTreeSet};

use super::matches;
use crate::trace::{BrokerEvent, Fault, TraceEvent};

pub struct Delivery {
    pub line: usize,
    pub topic: String,
    pub payload: String,
    pub qos: u8,
    pub retain: bool,
    /// How many times this client's process had crashed before this delivery.
    pub incarnation: usize,
}

pub struct Pub {
    /// Position among all publications.
    pub seq: usize,
    pub line: usize,
    pub client: String,
    pub topic: String,
    pub payload: String,
    pub qos: u8,
    pub retain: bool,
    /// Where the QoS flow completed, if it did.
    pub acked_line: Option<usize>,
}

/// An accepted CONNECT as the broker saw it: (line, client id, clean, session present).
pub type BrokerConnect = (usize, String, bool, bool, bool);

pub struct Connect {
    pub line: usize,
    pub client: String,
    pub client_id: String,
    pub clean: bool,
}

/// One client id's subscription changes, in order: (line, filter, granted QoS or `None` when
/// removed). A discarded session or a broker crash removes everything (`"*"`). A 5.0 shared
/// subscription keeps its `$share/{group}/{filter}`, a subscription of its own, and the second
/// field maps it to the filter that matches topics (section 4.8.2).
#[derive(Default)]
pub struct Subs(Vec<(usize, String, Option<u8>)>, BTreeMap<String, String>);

impl Subs {
    /// Whether any subscription of this id changed strictly between the two lines, not
    /// counting the removal of them all by a discarded session or a broker crash.
    pub fn changed_between(&self, from: usize, to: usize) -> bool {
        self.0.iter().any(|(l, f, q)| *l > from && *l < to && !(f == "*" && q.is_none()))
    }

    /// The key a subscription to `filter` is kept under: the filter itself, and for a 5.0
    /// client's shared subscription its `$share/...` form, noted with the filter it matches.
    fn key(&mut self, v5: bool, filter: &str) -> String {
        if let (true, Ok(Some(shared))) = (v5, crate::topic::shared(filter)) {
            self.1.insert(filter.to_owned(), shared.filter.to_owned());
        }
        filter.to_owned()
    }

    /// Whether all of this id's subscriptions were removed (a discarded session, a broker
    /// crash) strictly between the two lines.
    pub fn reset_between(&self, from: usize, to: usize) -> bool {
        self.0.iter().any(|(l, f, q)| *l > from && *l < to && f == "*" && q.is_none())
    }

    /// The highest QoS granted among the filters matching `topic` that are in force at `line`.
    pub fn granted_at(&self, topic: &str, line: usize) -> Option<u8> {
        self.granted_each_at(topic, line).into_iter().max()
    }

    /// Like `granted_at`, for the filters that are not shared (`$share/...`) and that `keep`
    /// keeps: a message is owed to each of those, while a shared subscription's goes to one
    /// member of its group (section 4.8.2).
    pub fn granted_unshared_where(&self, topic: &str, line: usize, keep: impl Fn(&str) -> bool) -> Option<u8> {
        let active = self.active_at(line);
        active
            .into_iter()
            .filter(|(f, _)| !self.1.contains_key(*f) && matches(f, topic) && keep(f))
            .map(|(_, q)| q)
            .max()
    }

    /// Whether a shared subscription matching `topic` is in force at `line`: its group's copy
    /// may or may not come to this member (section 4.8.2).
    pub fn shared_match_at(&self, topic: &str, line: usize) -> bool {
        self.active_at(line).into_keys().any(|f| self.1.contains_key(f) && matches(self.filter_of(f), topic))
    }

    /// The filter that matches topics for a subscription's key.
    fn filter_of<'a>(&'a self, key: &'a str) -> &'a str {
        self.1.get(key).map_or(key, String::as_str)
    }

    /// The QoS granted to each filter matching `topic` in force at `line`, one per filter: more
    /// than one where subscriptions overlap, and a server may send a copy for each
    /// [MQTT-3.3.5-1].
    pub fn granted_each_at(&self, topic: &str, line: usize) -> Vec<u8> {
        self.active_at(line).into_iter().filter(|(f, _)| matches(self.filter_of(f), topic)).map(|(_, q)| q).collect()
    }

    /// The subscriptions matching `topic` that may have routed a message between lines `from`
    /// and `to`: those in force at `from` and those granted in between, each with the QoS it
    /// had then (more than one where it was granted again).
    pub fn matching_between(&self, topic: &str, from: usize, to: usize) -> BTreeMap<&str, Vec<u8>> {
        let mut keys: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        for (key, q) in self.active_at(from) {
            keys.entry(key).or_default().push(q);
        }
        for (_, key, q) in self.0.iter().filter(|(l, ..)| from <= *l && *l < to) {
            if let Some(q) = q {
                keys.entry(key.as_str()).or_default().push(*q);
            }
        }
        keys.retain(|key, _| matches(self.filter_of(key), topic));
        keys
    }

    /// The filters in force at `line`, with the QoS granted to each.
    fn active_at(&self, line: usize) -> BTreeMap<&str, u8> {
        let mut active: BTreeMap<&str, u8> = BTreeMap::new();
        for (l, filter, q) in self.0.iter().filter(|(l, ..)| *l < line) {
            let _ = l;
            match q {
                _ if filter == "*" && q.is_none() => active.clear(),
                Some(q) => {
                    active.insert(filter, *q);
                }
                None => {
                    active.remove(filter.as_str());
                }
            }
        }
        active
    }
}

#[derive(Default)]
pub struct Timeline {
    pub deliveries: BTreeMap<String, Vec<Delivery>>,
    pub publishes: Vec<Pub>,
    pub connects: Vec<Connect>,
    /// By client id.
    pub subscriptions: BTreeMap<String, Subs>,
    pub wills: BTreeSet<(String, String)>,
    pub broker_crashes: Vec<usize>,
    /// (line, client id, topic).
    pub drops: Vec<(usize, String, String)>,
    /// (line, client id).
    pub discards: Vec<(usize, String)>,
    /// PUBLISH packets a client re-sent (DUP=1): (line, client name, topic, payload as shown).
    pub resends: Vec<(usize, String, String, String)>,
    /// Per client name: lines where it connected (true) or lost its connection/process (false).
    pub presence: BTreeMap<String, Vec<(usize, bool)>>,
    client_crashes: BTreeMap<String, Vec<usize>>,
    /// Accepted CONNECTs as the broker saw them.
    pub broker_connects: Vec<BrokerConnect>,
    /// (client id, filter) last subscribed with No Local (5.0): the client's own messages are
    /// not owed to it there [MQTT5-3.8.3-3].
    pub no_local: BTreeSet<(String, String)>,
    /// Subscription requests by client id: (line, filter). A retained message may arrive before
    /// the application sees the SUBACK, but never before it asked.
    subscribe_requests: BTreeMap<String, Vec<(usize, String)>>,
    /// Subscription requests the application made (not implied by a SUBACK), by client id:
    /// (line, the subscription's key, the filter that matches topics). A shared subscription's
    /// key is its `$share/...` form, answered only by its own SUBACK, not by an ordinary
    /// subscription to the same filter.
    subscribe_asked: BTreeMap<String, Vec<(usize, String, String)>>,
    /// (line, client id) where the broker took a session offline.
    offline: Vec<(usize, String)>,
    /// (line, client id) where the broker restored a session from its persistence file.
    pub restores: Vec<(usize, String)>,
    /// The broker runs in durable mode: a crash loses nothing it acknowledged.
    pub durable: bool,
}

impl Timeline {
    pub fn build(events: &[TraceEvent]) -> Timeline {
        let mut t = Timeline::default();
        let mut current_id: BTreeMap<String, String> = BTreeMap::new();
        // Client names whose last CONNECT was MQTT 5.0: their `$share/{group}/{filter}` is a
        // shared subscription to `filter` (section 4.8.2), which is what matches a topic.
        let mut v5: BTreeSet<String> = BTreeSet::new();
        let effective = |v5: &BTreeSet<String>, client: &str, filter: &str| -> String {
            match crate::topic::shared(filter) {
                Ok(Some(shared)) if v5.contains(client) => shared.filter.to_owned(),
                _ => filter.to_owned(),
            }
        };
        // Client ids whose last CONNECT the broker read was MQTT 5.0.
        let mut broker_v5: BTreeMap<String, bool> = BTreeMap::new();
        for (line, e) in events.iter().enumerate() {
            match e {
                TraceEvent::Recv {
                    host,
                    packet: crate::protocol::PacketSummary::Connect { client_id, v5: is_v5, .. },
                    ..
                } if host == crate::trace::BROKER => {
                    broker_v5.insert(client_id.clone(), *is_v5);
                }
                TraceEvent::Send {
                    host, packet: crate::protocol::PacketSummary::Connect { v5: is_v5, .. }, ..
                } => {
                    if *is_v5 {
                        v5.insert(host.clone());
                    } else {
                        v5.remove(host);
                    }
                }
                TraceEvent::Send {
                    host,
                    packet: crate::protocol::PacketSummary::Subscribe { filters, options, .. },
                    ..
                } => {
                    // What a 5.0 client asked with No Local (set at the SUBSCRIBE; a later
                    // SUBSCRIBE to the filter replaces it [MQTT5-3.8.4-3]).
                    let id = current_id.get(host).cloned().unwrap_or_else(|| host.clone());
                    for ((filter, _), o) in filters.iter().zip(options) {
                        let key = (id.clone(), filter.clone());
                        if o.no_local {
                            t.no_local.insert(key);
                        } else {
                            t.no_local.remove(&key);
                        }
                    }
                }
                TraceEvent::Connected { client, client_id, clean, will, .. } => {
                    current_id.insert(client.clone(), client_id.clone());
                    if let Some(w) = will {
                        t.wills.insert(w.clone());
                    }
                    t.connects.push(Connect {
                        line,
                        client: client.clone(),
                        client_id: client_id.clone(),
                        clean: *clean,
                    });
                    t.presence.entry(client.clone()).or_default().push((line, true));
                }
                TraceEvent::Disconnected { client, .. } => {
                    t.presence.entry(client.clone()).or_default().push((line, false));
                }
                TraceEvent::Publish { client, topic, payload, qos, retain, .. } => {
                    let seq = t.publishes.len();
                    t.publishes.push(Pub {
                        seq,
                        line,
                        client: client.clone(),
                        topic: topic.clone(),
                        payload: payload.clone(),
                        qos: *qos,
                        retain: *retain,
                        acked_line: None,
                    });
                }
                TraceEvent::Published { client, topic, payload, .. } => {
                    if let Some(p) = t.publishes.iter_mut().find(|p| {
                        p.acked_line.is_none() && &p.client == client && &p.topic == topic && &p.payload == payload
                    }) {
                        p.acked_line = Some(line);
                    }
                }
                TraceEvent::Subscribed { client, granted, .. } => {
                    let id = current_id.get(client).cloned().unwrap_or_else(|| client.clone());
                    // A SUBACK implies the request (for traces that do not record requests).
                    let requests = t.subscribe_requests.entry(id.clone()).or_default();
                    requests.extend(granted.iter().map(|(f, _)| (line, effective(&v5, client, f))));
                    let subs = t.subscriptions.entry(id).or_default();
                    for (f, q) in granted {
                        let key = subs.key(v5.contains(client), f);
                        subs.0.push((line, key, Some(*q)));
                    }
                }
                TraceEvent::Subscribe { client, filters, .. } => {
                    let id = current_id.get(client).cloned().unwrap_or_else(|| client.clone());
                    let requests = t.subscribe_requests.entry(id.clone()).or_default();
                    requests.extend(filters.iter().map(|f| (line, effective(&v5, client, f))));
                    let asked = t.subscribe_asked.entry(id).or_default();
                    asked.extend(filters.iter().map(|f| (line, f.clone(), effective(&v5, client, f))));
                }
                TraceEvent::Unsubscribed { client, filters, .. } => {
                    let id = current_id.get(client).cloned().unwrap_or_else(|| client.clone());
                    let subs = t.subscriptions.entry(id).or_default();
                    for f in filters {
                        let key = subs.key(v5.contains(client), f);
                        subs.0.push((line, key, None));
                    }
                }
                TraceEvent::Broker { event, .. } => match event {
                    BrokerEvent::SessionDiscarded { client_id } => {
                        t.discards.push((line, client_id.clone()));
                        t.subscriptions.entry(client_id.clone()).or_default().0.push((line, "*".into(), None));
                    }
                    BrokerEvent::SessionConnected { client_id, clean, session_present } => {
                        let v5 = broker_v5.get(client_id).copied().unwrap_or(false);
                        t.broker_connects.push((line, client_id.clone(), *clean, *session_present, v5))
                    }
                    BrokerEvent::SessionOffline { client_id, .. } => t.offline.push((line, client_id.clone())),
                    BrokerEvent::Durable => t.durable = true,
                    BrokerEvent::SessionRestored { client_id, subscriptions, .. } => {
                        // Back from disk after a crash: the session and these subscriptions.
                        t.restores.push((line, client_id.clone()));
                        let subs = t.subscriptions.entry(client_id.clone()).or_default();
                        for (f, q) in subscriptions {
                            let key = subs.key(broker_v5.get(client_id).copied().unwrap_or(false), f);
                            subs.0.push((line, key, Some(*q)));
                        }
                    }
                    BrokerEvent::Dropped { client_id, topic, .. } => {
                        t.drops.push((line, client_id.clone(), topic.clone()))
                    }
                    _ => {}
                },
                TraceEvent::Fault { fault: Fault::CrashBroker, .. } => {
                    t.broker_crashes.push(line);
                    for subs in t.subscriptions.values_mut() {
                        subs.0.push((line, "*".into(), None));
                    }
                }
                TraceEvent::Send { host, peer, packet: crate::protocol::PacketSummary::Publish(p), .. }
                    if peer == crate::trace::BROKER && p.dup && p.pkid.is_some() =>
                {
                    t.resends.push((line, host.clone(), p.topic.clone(), p.payload.clone()));
                }
                TraceEvent::Fault { fault: Fault::CrashClient { client }, .. } => {
                    t.client_crashes.entry(client.clone()).or_default().push(line);
                    t.presence.entry(client.clone()).or_default().push((line, false));
                }
                TraceEvent::Deliver { client, topic, payload, qos, retain, .. } => {
                    let incarnation = t.client_crashes.get(client).map_or(0, Vec::len);
                    t.deliveries.entry(client.clone()).or_default().push(Delivery {
                        line,
                        topic: topic.clone(),
                        payload: payload.clone(),
                        qos: *qos,
                        retain: *retain,
                        incarnation,
                    });
                }
                _ => {}
            }
        }
        t
    }

    pub fn publish_count(&self, (topic, payload): (&str, &str)) -> usize {
        self.publishes.iter().filter(|p| p.topic == topic && p.payload == payload).count()
    }

    pub fn max_published_qos(&self, (topic, payload): (&str, &str)) -> Option<u8> {
        self.publishes.iter().filter(|p| p.topic == topic && p.payload == payload).map(|p| p.qos).max()
    }

    pub fn unique_publish(&self, key: (&str, &str)) -> Option<&Pub> {
        if self.publish_count(key) != 1 {
            return None;
        }
        self.publishes.iter().find(|p| (p.topic.as_str(), p.payload.as_str()) == key)
    }

    /// The client ids `client` connected with before `line`.
    fn ids_of(&self, client: &str, line: usize) -> BTreeSet<&str> {
        self.connects.iter().filter(|c| c.client == client && c.line < line).map(|c| c.client_id.as_str()).collect()
    }

    /// Whether any client id `client` used had asked, before `line`, for a subscription
    /// matching `topic` (a message may arrive before the application sees the SUBACK).
    /// Whether `client` re-sent a PUBLISH on `topic` after `line`.
    pub fn resent_after(&self, client: &str, topic: &str, line: usize) -> bool {
        self.resends.iter().any(|(l, c, t, _)| *l > line && c == client && t == topic)
    }

    /// Whether, before `line`, `key` was delivered to another client name connected with the
    /// client id `client` had at `line` (two clients taking one session over in turn).
    pub fn delivered_to_session_elsewhere(&self, client: &str, key: (&str, &str), line: usize) -> bool {
        let Some(id) = self.connect_before(client, line).map(|c| &c.client_id) else { return false };
        self.deliveries.iter().filter(|(name, _)| name.as_str() != client).any(|(name, ds)| {
            ds.iter().any(|d| {
                d.line < line
                    && (d.topic.as_str(), d.payload.as_str()) == key
                    && self.connect_before(name, d.line).is_some_and(|c| c.client_id == *id)
            })
        })
    }

    /// Whether the publisher of `p` re-sent it (DUP=1) strictly between the two lines: a QoS 1
    /// re-send reaches the broker as a new publication, routed after what came in between. (A
    /// wire PUBLISH shows the payload's first bytes.)
    pub fn republished_between(&self, p: &Pub, from: usize, to: usize) -> bool {
        self.resends.iter().any(|(l, c, t, m)| {
            from < *l && *l < to && *c == p.client && *t == p.topic && p.payload.starts_with(m.as_str())
        })
    }

    pub fn ever_subscribed(&self, client: &str, topic: &str, line: usize) -> bool {
        self.last_subscribe_before(client, topic, line).is_some()
    }

    /// The line of the last subscription request before `line`, for any id `client` used,
    /// covering `topic`.
    pub fn last_subscribe_before(&self, client: &str, topic: &str, line: usize) -> Option<usize> {
        self.ids_of(client, line)
            .iter()
            .filter_map(|id| self.subscribe_requests.get(*id))
            .flat_map(|r| r.iter())
            .filter(|(l, f)| *l < line && matches(f, topic))
            .map(|(l, _)| *l)
            .max()
    }

    /// Whether `client_id` asked, before `line`, for a subscription matching `topic`.
    pub fn subscribe_requested_before(&self, client_id: &str, topic: &str, line: usize) -> bool {
        self.subscribe_requests.get(client_id).is_some_and(|r| r.iter().any(|(l, f)| *l < line && matches(f, topic)))
    }

    /// Whether `client_id` asked, before `line`, for a subscription matching `topic` whose SUBACK
    /// its application had not seen by `line`: the broker may have granted it (replacing an
    /// existing subscription's QoS [MQTT-3.8.4-3]) with the answer lost on the way.
    pub fn unanswered_subscribe_before(&self, client_id: &str, topic: &str, line: usize) -> bool {
        !self.unanswered_keys_before(client_id, topic, line).is_empty()
    }

    /// The keys of the subscriptions matching `topic` that `client_id` asked for before `line`
    /// without its application seeing the SUBACK by then (see `unanswered_subscribe_before`).
    pub fn unanswered_keys_before(&self, client_id: &str, topic: &str, line: usize) -> BTreeSet<&str> {
        let answered = |asked: usize, key: &str| {
            self.subscriptions
                .get(client_id)
                .is_some_and(|s| s.0.iter().any(|(l, f, q)| *l > asked && *l < line && f == key && q.is_some()))
        };
        let asked = self.subscribe_asked.get(client_id).map_or(&[][..], Vec::as_slice);
        asked
            .iter()
            .filter(|(l, key, f)| *l < line && matches(f, topic) && !answered(*l, key))
            .map(|(_, key, _)| key.as_str())
            .collect()
    }

    /// Whether `client_id` asked for a subscription strictly between the two lines.
    pub fn subscribe_requested_between(&self, client_id: &str, from: usize, to: usize) -> bool {
        self.subscribe_requests.get(client_id).is_some_and(|r| r.iter().any(|(l, _)| *l > from && *l < to))
    }

    /// Whether `key` was published with RETAIN=1, or is a will, before `line`.
    pub fn retained_publish_before(&self, key: (&str, &str), line: usize) -> bool {
        self.wills.contains(&(key.0.to_owned(), key.1.to_owned()))
            || self.publishes.iter().any(|p| p.retain && p.line < line && (p.topic.as_str(), p.payload.as_str()) == key)
    }

    /// The last accepted connect of `client` before `line`.
    pub fn connect_before(&self, client: &str, line: usize) -> Option<&Connect> {
        self.connects.iter().rev().find(|c| c.client == client && c.line < line)
    }

    /// Whether the trace explains why `client_id` may not get a message on `topic` asked to be
    /// published at `sent`: a drop, a discarded session, a broker crash or an unsubscribe after
    /// that. (Not only after the publisher saw the acknowledgement: the broker acknowledges
    /// before that, and a crash while the PUBACK or PUBCOMP is on its way loses the message too.)
    ///
    /// In durable mode the broker acknowledges only what it synced: a crash after the publisher
    /// saw the acknowledgement (`acked`) excuses nothing, nor does the removal of the
    /// subscriptions it stands for (they come back from the log).
    pub fn excused(&self, client_id: &str, topic: &str, sent: usize, acked: usize) -> bool {
        let crash_excuses = |l: usize| l > sent && (!self.durable || l < acked);
        // A crash removes every subscription ("*"), and excuses only as a crash does.
        let removal_excuses = |l: usize, f: &str| !(f == "*" && self.broker_crashes.contains(&l)) || crash_excuses(l);
        self.drops.iter().any(|(l, id, t)| *l > sent && id == client_id && t == topic)
            || self.discards.iter().any(|(l, id)| *l > sent && id == client_id)
            || self.broker_crashes.iter().any(|&l| crash_excuses(l))
            || self
                .subscriptions
                .get(client_id)
                .is_some_and(|s| s.0.iter().any(|(l, f, q)| *l > sent && q.is_none() && removal_excuses(*l, f)))
    }

    /// Whether `client` ends the run connected, as both it and the broker see it.
    pub fn connected_at_end(&self, client: &str) -> bool {
        let Some(&(line, up)) = self.presence.get(client).and_then(|p| p.last()) else { return false };
        let id = self.connects.iter().rfind(|c| c.client == client).map(|c| c.client_id.as_str());
        up && !self.offline.iter().any(|(l, i)| *l > line && Some(i.as_str()) == id)
    }

    /// Client names that connected with `client_id` at some point.
    pub fn clients_with_id(&self, client_id: &str) -> BTreeSet<&str> {
        self.connects.iter().filter(|c| c.client_id == client_id).map(|c| c.client.as_str()).collect()
    }
}
