//! The subscription index: a trie over topic levels mapping filters to the sessions subscribed
//! with them and the options each asked for. Matching a topic name walks one path per literal
//! level plus the `+` and `#` branches, so its cost follows the topic's depth, not the number of
//! subscriptions. A 5.0 shared subscription `$share/{group}/{filter}` sits at its filter's node,
//! in its group, beside the ordinary ones (section 4.8.2). Children, subscribers and groups are
//! `BTreeMap`s so every walk, and so every fan-out, is in a fixed order.

use std::collections::BTreeMap;

use crate::protocol::QoS;
use crate::topic;

/// What a session asked for with one subscription, as kept for matching (Retain Handling acts
/// only when subscribing and is not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SubOptions {
    /// The QoS granted [MQTT-3.8.4-6].
    pub qos: QoS,
    /// 5.0 No Local: not sent the subscriber's own publications [MQTT5-3.8.3-3].
    pub no_local: bool,
    /// 5.0 Retain As Published: RETAIN forwarded as published [MQTT5-3.3.1-12].
    pub retain_as_published: bool,
    /// 5.0 Subscription Identifier, sent with the messages it matches [MQTT5-3.3.4-3].
    pub id: Option<u32>,
    /// A 5.0 shared subscription: its `$share/{group}/{filter}` gives each message to one
    /// member (section 4.8.2). A 3.1.1 client's `$share/...` filter is an ordinary one.
    pub shared: bool,
}

impl SubOptions {
    /// A 3.1.1 subscription: a QoS and nothing else.
    #[cfg(test)]
    pub fn qos(qos: QoS) -> SubOptions {
        SubOptions { qos, no_local: false, retain_as_published: false, id: None, shared: false }
    }
}

/// How a message reaches one session through its ordinary (not shared) subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The highest QoS granted among the matching subscriptions [MQTT-3.3.5-1].
    pub qos: QoS,
    /// Whether any matching subscription has Retain As Published.
    pub retain_as_published: bool,
    /// The Subscription Identifiers of every matching subscription that has one [MQTT5-3.3.4-4].
    pub ids: Vec<u32>,
}

impl Match {
    fn of(o: &SubOptions) -> Match {
        Match { qos: o.qos, retain_as_published: o.retain_as_published, ids: o.id.into_iter().collect() }
    }
}

/// The members of one shared subscription, by client id.
#[derive(Debug, Default)]
pub struct Group {
    /// The whole filter, `$share/{group}/{filter}`, which names the subscription.
    pub filter: String,
    pub members: BTreeMap<String, SubOptions>,
    /// The members in turn order: the front has the next message, then goes to the back. A new
    /// member joins at the back; a member that subscribes again keeps its place (mosquitto 2.0).
    turns: std::collections::VecDeque<String>,
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// Sessions subscribed with the filter that ends at this node.
    subscribers: BTreeMap<String, SubOptions>,
    /// Shared subscriptions whose filter ends at this node, by share name.
    shared: BTreeMap<String, Group>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.subscribers.is_empty() && self.shared.is_empty()
    }
}

/// Where a filter lives in the trie: its levels, and its share name if it is a 5.0 shared one.
fn place(filter: &str) -> (&str, Option<&str>) {
    match topic::shared(filter) {
        Ok(Some(s)) => (s.filter, Some(s.group)),
        _ => (filter, None),
    }
}

/// Topic filter -> subscribed client ids, with the options each asked for.
#[derive(Debug, Default)]
pub struct SubscriptionTree {
    root: Node,
    /// The `overlap-lower-qos` mutant: overlapping subscriptions combine at their lowest QoS.
    #[cfg(feature = "mutants")]
    lowest_qos: bool,
}

impl SubscriptionTree {
    /// The tree the broker's `config` asks for: the default one, unless a mutant changes it.
    pub fn for_config(config: &super::Config) -> SubscriptionTree {
        #[cfg(feature = "mutants")]
        let lowest_qos = config.mutant == Some(crate::mutants::Mutant::OverlapLowerQos);
        #[cfg(not(feature = "mutants"))]
        let _ = config;
        SubscriptionTree {
            root: Node::default(),
            #[cfg(feature = "mutants")]
            lowest_qos,
        }
    }

    /// Adds or replaces `client_id`'s subscription to `filter` [MQTT-3.8.4-3]. Returns the
    /// options it replaced, if any.
    pub fn insert(&mut self, filter: &str, client_id: &str, options: SubOptions) -> Option<SubOptions> {
        let (path, group) = if options.shared { place(filter) } else { (filter, None) };
        let mut node = &mut self.root;
        for level in path.split('/') {
            node = node.children.entry(level.to_owned()).or_default();
        }
        match group {
            None => node.subscribers.insert(client_id.to_owned(), options),
            Some(g) => {
                let group = node.shared.entry(g.to_owned()).or_default();
                group.filter = filter.to_owned();
                let replaced = group.members.insert(client_id.to_owned(), options);
                if replaced.is_none() {
                    group.turns.push_back(client_id.to_owned());
                }
                replaced
            }
        }
    }

    /// Removes `client_id`'s subscription to exactly `filter`, compared character by character
    /// [MQTT-3.10.4-1], shared or not as it was subscribed. Returns whether there was one. Empty
    /// branches are pruned.
    pub fn remove(&mut self, filter: &str, shared: bool, client_id: &str) -> bool {
        let (path, group) = if shared { place(filter) } else { (filter, None) };
        let levels: Vec<&str> = path.split('/').collect();
        remove_at(&mut self.root, &levels, group, client_id)
    }

    /// Every session with an ordinary subscription matching `topic`, each once, with the highest
    /// QoS granted among its matching subscriptions [MQTT-3.3.5-1] and all their identifiers;
    /// subscriptions with No Local are skipped for their own client, `publisher` [MQTT5-3.8.3-3].
    pub fn matches(&self, topic: &str, publisher: Option<&str>) -> BTreeMap<String, Match> {
        #[cfg(feature = "mutants")]
        let pick: fn(QoS, QoS) -> QoS = if self.lowest_qos { Ord::min } else { Ord::max };
        #[cfg(not(feature = "mutants"))]
        let pick: fn(QoS, QoS) -> QoS = Ord::max;
        let mut out: BTreeMap<String, Match> = BTreeMap::new();
        self.each_match(topic, &mut |client, o| {
            if o.no_local && Some(client) == publisher {
                return;
            }
            match out.get_mut(client) {
                None => {
                    out.insert(client.to_owned(), Match::of(o));
                }
                Some(m) => {
                    m.qos = pick(m.qos, o.qos);
                    m.retain_as_published |= o.retain_as_published;
                    m.ids.extend(o.id);
                }
            }
        });
        out
    }

    /// Every ordinary subscription matching `topic`, one entry per matching filter, in trie
    /// order: a session whose subscriptions overlap appears once for each
    /// (`allow_duplicate_messages`). No Local as in [`SubscriptionTree::matches`].
    pub fn matches_each(&self, topic: &str, publisher: Option<&str>) -> Vec<(String, Match)> {
        let mut out = Vec::new();
        self.each_match(topic, &mut |client, o| {
            if !(o.no_local && Some(client) == publisher) {
                out.push((client.to_owned(), Match::of(o)));
            }
        });
        out
    }

    /// The shared subscriptions matching `topic`, by their whole `$share/` filters, in trie
    /// order: each gets the message once.
    pub fn shared_matches(&self, topic: &str) -> Vec<String> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut out = Vec::new();
        collect(&self.root, &levels, 0, topic.starts_with('$'), &mut |node: &Node| {
            out.extend(node.shared.values().map(|g| g.filter.clone()))
        });
        out
    }

    /// The member of the shared subscription `filter` whose turn it is, and its options: the
    /// members take turns in the order they subscribed (round robin, as mosquitto 2.0); `None`
    /// if the group has no member.
    pub fn take_turn(&mut self, filter: &str) -> Option<(String, SubOptions)> {
        let (path, Some(group)) = place(filter) else {
            return None;
        };
        let mut node = &mut self.root;
        for level in path.split('/') {
            node = node.children.get_mut(level)?;
        }
        let group = node.shared.get_mut(group)?;
        let client = group.turns.pop_front()?;
        group.turns.push_back(client.clone());
        let options = *group.members.get(&client)?;
        Some((client, options))
    }

    /// Every member of the shared subscription `filter` with its options, by client id (for the
    /// `shared-to-all` mutant, which gives a message to them all).
    #[cfg(feature = "mutants")]
    pub fn members(&self, filter: &str) -> Vec<(String, SubOptions)> {
        let (path, Some(group)) = place(filter) else {
            return Vec::new();
        };
        let mut node = &self.root;
        for level in path.split('/') {
            let Some(child) = node.children.get(level) else {
                return Vec::new();
            };
            node = child;
        }
        node.shared.get(group).map_or_else(Vec::new, |g| g.members.iter().map(|(c, o)| (c.clone(), *o)).collect())
    }

    /// Whether any subscription, ordinary or shared, matches `topic` (a 5.0 acknowledgement's
    /// 0x10 when none does).
    pub fn any_match(&self, topic: &str) -> bool {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut any = false;
        collect(&self.root, &levels, 0, topic.starts_with('$'), &mut |node: &Node| {
            any |= !node.subscribers.is_empty() || !node.shared.is_empty()
        });
        any
    }

    fn each_match(&self, topic: &str, visit: &mut dyn FnMut(&str, &SubOptions)) {
        let levels: Vec<&str> = topic.split('/').collect();
        // Wildcards in the first level do not match topics starting with '$' [MQTT-4.7.2-1].
        let dollar = topic.starts_with('$');
        collect(&self.root, &levels, 0, dollar, &mut |node: &Node| {
            for (client, o) in &node.subscribers {
                visit(client, o);
            }
        });
    }

    /// Every subscription as (filter, client id, options), in trie order, shared ones under
    /// their whole `$share/` filter, and whether any branch below the root is empty (pruning
    /// missed it). For `Broker::check_invariants`.
    pub fn entries(&self) -> (Vec<(String, String, SubOptions)>, bool) {
        let mut out = Vec::new();
        let mut empty_branch = false;
        walk(&self.root, &mut Vec::new(), &mut out, &mut empty_branch);
        (out, empty_branch)
    }

    /// Whether nothing is subscribed.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }
}

fn walk<'a>(node: &'a Node, path: &mut Vec<&'a str>, out: &mut Vec<(String, String, SubOptions)>, empty: &mut bool) {
    for (client, o) in &node.subscribers {
        out.push((path.join("/"), client.clone(), *o));
    }
    for group in node.shared.values() {
        *empty |= group.members.is_empty();
        for (client, o) in &group.members {
            out.push((group.filter.clone(), client.clone(), *o));
        }
    }
    for (level, child) in &node.children {
        *empty |= child.is_empty();
        path.push(level);
        walk(child, path, out, empty);
        path.pop();
    }
}

fn remove_at(node: &mut Node, levels: &[&str], group: Option<&str>, client_id: &str) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        return match group {
            None => node.subscribers.remove(client_id).is_some(),
            Some(g) => {
                let Some(members) = node.shared.get_mut(g) else {
                    return false;
                };
                let removed = members.members.remove(client_id).is_some();
                members.turns.retain(|c| c != client_id);
                if members.members.is_empty() {
                    node.shared.remove(g);
                }
                removed
            }
        };
    };
    let Some(child) = node.children.get_mut(*first) else {
        return false;
    };
    let removed = remove_at(child, rest, group, client_id);
    if child.is_empty() {
        node.children.remove(*first);
    }
    removed
}

/// Visits every node whose filter matches the topic `levels` from `depth` on.
fn collect<'a>(node: &'a Node, levels: &[&str], depth: usize, dollar: bool, visit: &mut dyn FnMut(&'a Node)) {
    let wildcards_allowed = !(depth == 0 && dollar);
    if wildcards_allowed {
        // `#` matches the remaining levels, including none: `sport/#` matches `sport`.
        if let Some(hash) = node.children.get("#") {
            visit(hash);
        }
    }
    let Some(level) = levels.get(depth) else {
        visit(node);
        return;
    };
    if wildcards_allowed {
        if let Some(plus) = node.children.get("+") {
            collect(plus, levels, depth + 1, dollar, visit);
        }
    }
    // A literal "+" or "#" level cannot occur in a valid topic name, so this never double counts.
    if let Some(child) = node.children.get(*level) {
        collect(child, levels, depth + 1, dollar, visit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic;

    fn tree(subs: &[(&str, &str, QoS)]) -> SubscriptionTree {
        let mut t = SubscriptionTree::default();
        for (filter, client, qos) in subs {
            t.insert(filter, client, SubOptions::qos(*qos));
        }
        t
    }

    #[test]
    fn overlapping_filters_give_one_entry_at_the_highest_qos() {
        // [MQTT-3.3.5-1]
        let t =
            tree(&[("a/b", "c1", QoS::AtMostOnce), ("a/#", "c1", QoS::ExactlyOnce), ("a/+", "c2", QoS::AtLeastOnce)]);
        let m = t.matches("a/b", None);
        assert_eq!(
            m.into_iter().map(|(c, m)| (c, m.qos)).collect::<Vec<_>>(),
            vec![("c1".into(), QoS::ExactlyOnce), ("c2".into(), QoS::AtLeastOnce)]
        );
    }

    #[test]
    fn hash_matches_parent_and_dollar_rule() {
        let t = tree(&[
            ("sport/#", "c1", QoS::AtMostOnce),
            ("#", "c2", QoS::AtMostOnce),
            ("$SYS/#", "c3", QoS::AtMostOnce),
        ]);
        assert_eq!(t.matches("sport", None).keys().collect::<Vec<_>>(), vec!["c1", "c2"]);
        assert_eq!(t.matches("$SYS/x", None).keys().collect::<Vec<_>>(), vec!["c3"]);
        // [MQTT-4.7.2-1]
    }

    #[test]
    fn remove_prunes_and_is_exact() {
        let mut t = tree(&[("a/+", "c1", QoS::AtMostOnce)]);
        assert!(!t.remove("a/b", false, "c1")); // [MQTT-3.10.4-1]: no matching, only identical filters
        assert!(!t.remove("a/+", false, "c2"));
        assert!(t.remove("a/+", false, "c1"));
        assert!(t.is_empty());
    }

    #[test]
    fn agrees_with_topic_matches() {
        let filters = ["#", "+", "a/#", "a/+", "+/b", "a/b", "+/+", "/+", "+/#", "$x/#", "a/b/#", "a//b", "+//+"];
        let names = ["a", "a/b", "a/b/c", "/", "/a", "b", "$x/a", "$x", "a//b", "x/b"];
        let mut t = SubscriptionTree::default();
        for (i, f) in filters.iter().enumerate() {
            t.insert(f, &format!("c{i:02}"), SubOptions::qos(QoS::AtMostOnce));
        }
        for name in names {
            let expected: Vec<String> = filters
                .iter()
                .enumerate()
                .filter(|(_, f)| topic::matches(f, name))
                .map(|(i, _)| format!("c{i:02}"))
                .collect();
            assert_eq!(t.matches(name, None).into_keys().collect::<Vec<_>>(), expected, "topic {name}");
        }
    }

    #[test]
    fn no_local_skips_the_publisher_and_ids_are_collected() {
        // [MQTT5-3.8.3-3] [MQTT5-3.3.4-4]
        let mut t = SubscriptionTree::default();
        let own = SubOptions { no_local: true, id: Some(7), ..SubOptions::qos(QoS::AtLeastOnce) };
        t.insert("a/#", "c1", own);
        t.insert("a/b", "c1", SubOptions { id: Some(9), ..SubOptions::qos(QoS::AtMostOnce) });
        t.insert("a/+", "c2", SubOptions { retain_as_published: true, ..SubOptions::qos(QoS::AtMostOnce) });
        let from_c1 = t.matches("a/b", Some("c1"));
        assert_eq!(from_c1["c1"], Match { qos: QoS::AtMostOnce, retain_as_published: false, ids: vec![9] });
        assert!(from_c1["c2"].retain_as_published);
        let from_other = t.matches("a/b", Some("c3"));
        assert_eq!(from_other["c1"].qos, QoS::AtLeastOnce);
        let mut ids = from_other["c1"].ids.clone();
        ids.sort();
        assert_eq!(ids, vec![7, 9]);
    }

    #[test]
    fn shared_subscriptions_sit_in_their_group_beside_ordinary_ones() {
        // Section 4.8.2: `$share/g/a/+` matches like `a/+`, in group g.
        let mut t = SubscriptionTree::default();
        let shared = |qos| SubOptions { shared: true, ..SubOptions::qos(qos) };
        t.insert("$share/g/a/+", "c1", shared(QoS::AtLeastOnce));
        t.insert("$share/g/a/+", "c2", shared(QoS::AtMostOnce));
        t.insert("$share/h/a/#", "c1", shared(QoS::AtMostOnce));
        // A 3.1.1 client's `$share/...` is an ordinary filter.
        t.insert("$share/g/a/+", "c3", SubOptions::qos(QoS::AtMostOnce));
        assert!(t.matches("a/b", None).is_empty());
        assert_eq!(t.shared_matches("a/b"), vec!["$share/h/a/#", "$share/g/a/+"]);
        // Round robin in the order of subscribing; subscribing again keeps the place.
        t.insert("$share/g/a/+", "c1", shared(QoS::AtLeastOnce));
        let turns: Vec<String> = (0..3).map(|_| t.take_turn("$share/g/a/+").unwrap().0).collect();
        assert_eq!(turns, vec!["c1", "c2", "c1"]);
        assert_eq!(t.take_turn("$share/g/a/+").unwrap().1.qos, QoS::AtMostOnce);
        assert!(t.any_match("a/b"));
        assert!(t.remove("$share/g/a/+", true, "c1"));
        assert!(t.remove("$share/g/a/+", true, "c2"));
        assert!(t.remove("$share/h/a/#", true, "c1"));
        assert!(!t.any_match("a/b"));
        assert!(t.remove("$share/g/a/+", false, "c3"));
        assert!(t.is_empty());
    }
}
