//! The subscription index: a trie over topic levels mapping filters to the sessions subscribed
//! with them and the QoS granted. Matching a topic name walks one path per literal level plus the
//! `+` and `#` branches, so its cost follows the topic's depth, not the number of subscriptions.
//! Children and subscribers are `BTreeMap`s so every walk, and so every fan-out, is in a fixed
//! order.

use std::collections::BTreeMap;

use crate::protocol::QoS;

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// Sessions subscribed with the filter that ends at this node.
    subscribers: BTreeMap<String, QoS>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.subscribers.is_empty()
    }
}

/// Topic filter -> subscribed client ids, with the QoS each was granted.
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

    /// Adds or replaces `client_id`'s subscription to `filter` [MQTT-3.8.4-3]. Returns the QoS it
    /// replaced, if any.
    pub fn insert(&mut self, filter: &str, client_id: &str, qos: QoS) -> Option<QoS> {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.children.entry(level.to_owned()).or_default();
        }
        node.subscribers.insert(client_id.to_owned(), qos)
    }

    /// Removes `client_id`'s subscription to exactly `filter`, compared character by character
    /// [MQTT-3.10.4-1]. Returns whether there was one. Empty branches are pruned.
    pub fn remove(&mut self, filter: &str, client_id: &str) -> bool {
        let levels: Vec<&str> = filter.split('/').collect();
        remove_at(&mut self.root, &levels, client_id)
    }

    /// Every session with a subscription matching `topic`, each once, with the highest QoS
    /// granted among its matching subscriptions [MQTT-3.3.5-1].
    pub fn matches(&self, topic: &str) -> BTreeMap<String, QoS> {
        #[cfg(feature = "mutants")]
        let pick: fn(QoS, QoS) -> QoS = if self.lowest_qos { Ord::min } else { Ord::max };
        #[cfg(not(feature = "mutants"))]
        let pick: fn(QoS, QoS) -> QoS = Ord::max;
        let mut out: BTreeMap<String, QoS> = BTreeMap::new();
        self.each_match(topic, &mut |client, qos| {
            let best = out.entry(client.to_owned()).or_insert(qos);
            *best = pick(*best, qos);
        });
        out
    }

    /// Every subscription matching `topic`, one entry per matching filter, in trie order: a
    /// session whose subscriptions overlap appears once for each (`allow_duplicate_messages`).
    pub fn matches_each(&self, topic: &str) -> Vec<(String, QoS)> {
        let mut out = Vec::new();
        self.each_match(topic, &mut |client, qos| out.push((client.to_owned(), qos)));
        out
    }

    /// Whether any subscription matches `topic` (a 5.0 acknowledgement's 0x10 when none does).
    pub fn any_match(&self, topic: &str) -> bool {
        let mut any = false;
        self.each_match(topic, &mut |_, _| any = true);
        any
    }

    fn each_match(&self, topic: &str, visit: &mut dyn FnMut(&str, QoS)) {
        let levels: Vec<&str> = topic.split('/').collect();
        // Wildcards in the first level do not match topics starting with '$' [MQTT-4.7.2-1].
        let dollar = topic.starts_with('$');
        collect(&self.root, &levels, 0, dollar, visit);
    }

    /// Every subscription as (filter, client id, granted QoS), in trie order, and whether any
    /// branch below the root is empty (pruning missed it). For `Broker::check_invariants`.
    pub fn entries(&self) -> (Vec<(String, String, QoS)>, bool) {
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

fn walk<'a>(node: &'a Node, path: &mut Vec<&'a str>, out: &mut Vec<(String, String, QoS)>, empty: &mut bool) {
    for (client, &qos) in &node.subscribers {
        out.push((path.join("/"), client.clone(), qos));
    }
    for (level, child) in &node.children {
        *empty |= child.is_empty();
        path.push(level);
        walk(child, path, out, empty);
        path.pop();
    }
}

fn remove_at(node: &mut Node, levels: &[&str], client_id: &str) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        return node.subscribers.remove(client_id).is_some();
    };
    let Some(child) = node.children.get_mut(*first) else {
        return false;
    };
    let removed = remove_at(child, rest, client_id);
    if child.is_empty() {
        node.children.remove(*first);
    }
    removed
}

/// Adds `subscribers` to `out`, a session already there keeping `pick` of its two QoS.
fn visit_all(subscribers: &BTreeMap<String, QoS>, visit: &mut dyn FnMut(&str, QoS)) {
    for (client, &qos) in subscribers {
        visit(client, qos);
    }
}

fn collect(node: &Node, levels: &[&str], depth: usize, dollar: bool, visit: &mut dyn FnMut(&str, QoS)) {
    let wildcards_allowed = !(depth == 0 && dollar);
    if wildcards_allowed {
        // `#` matches the remaining levels, including none: `sport/#` matches `sport`.
        if let Some(hash) = node.children.get("#") {
            visit_all(&hash.subscribers, visit);
        }
    }
    let Some(level) = levels.get(depth) else {
        visit_all(&node.subscribers, visit);
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
            t.insert(filter, client, *qos);
        }
        t
    }

    #[test]
    fn overlapping_filters_give_one_entry_at_the_highest_qos() {
        // [MQTT-3.3.5-1]
        let t =
            tree(&[("a/b", "c1", QoS::AtMostOnce), ("a/#", "c1", QoS::ExactlyOnce), ("a/+", "c2", QoS::AtLeastOnce)]);
        let m = t.matches("a/b");
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
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
        assert_eq!(t.matches("sport").keys().collect::<Vec<_>>(), vec!["c1", "c2"]);
        assert_eq!(t.matches("$SYS/x").keys().collect::<Vec<_>>(), vec!["c3"]); // [MQTT-4.7.2-1]
    }

    #[test]
    fn remove_prunes_and_is_exact() {
        let mut t = tree(&[("a/+", "c1", QoS::AtMostOnce)]);
        assert!(!t.remove("a/b", "c1")); // [MQTT-3.10.4-1]: no matching, only identical filters
        assert!(!t.remove("a/+", "c2"));
        assert!(t.remove("a/+", "c1"));
        assert!(t.is_empty());
    }

    #[test]
    fn agrees_with_topic_matches() {
        let filters = ["#", "+", "a/#", "a/+", "+/b", "a/b", "+/+", "/+", "+/#", "$x/#", "a/b/#", "a//b", "+//+"];
        let names = ["a", "a/b", "a/b/c", "/", "/a", "b", "$x/a", "$x", "a//b", "x/b"];
        let mut t = SubscriptionTree::default();
        for (i, f) in filters.iter().enumerate() {
            t.insert(f, &format!("c{i:02}"), QoS::AtMostOnce);
        }
        for name in names {
            let expected: Vec<String> = filters
                .iter()
                .enumerate()
                .filter(|(_, f)| topic::matches(f, name))
                .map(|(i, _)| format!("c{i:02}"))
                .collect();
            assert_eq!(t.matches(name).into_keys().collect::<Vec<_>>(), expected, "topic {name}");
        }
    }
}
