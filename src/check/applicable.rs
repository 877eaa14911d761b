//! Which scenarios can run against a real broker, and which of their expectations can be seen
//! from outside it. Network faults and client crashes run anywhere (the fault proxy performs
//! them). Against a broker someone else runs (`--broker`), a scenario is not applicable when it
//! crashes or restarts the broker, when it uses `$` topics (which a run-unique prefix would turn
//! into ordinary topics), or when it needs broker settings the target does not have. Against a
//! broker `--launch` starts for each scenario, only the settings its config template cannot give
//! the broker remain. An `expect` clause about the broker's internals (queues, inflight, drops,
//! sessions, the retained store) cannot be observed over MQTT: it is skipped, and the scenario
//! is only partially checked. Nothing here runs anything.

use super::target::{copy_declared, Target, DECLARED};
use crate::broker::Config;
use crate::scenario::model::{Scenario, Step};

/// What can be checked of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// It can run; `skipped` names the expectation clauses that cannot be observed.
    Run { skipped: Vec<Skipped> },
    /// It cannot run against this target, for this reason.
    NotApplicable(String),
}

/// Decides what can be checked of `scenario` against `target`.
pub fn plan(scenario: &Scenario, target: &Target) -> Plan {
    if let Some(why) = &scenario.simulation_only {
        return Plan::NotApplicable(format!("simulation only: {}", why.trim()));
    }
    let Some(launcher) = &target.launcher else {
        let crashes = broker_crashes(scenario);
        if !crashes.is_empty() {
            return Plan::NotApplicable(format!(
                "crashes the broker ({}): only a broker that mqtt-sim check starts (--launch) can be crashed",
                crashes.join(", ")
            ));
        }
        if let Some(topic) = dollar_topic(scenario) {
            return Plan::NotApplicable(format!(
                "uses the $ topic {topic:?}: a run-unique prefix would make it an ordinary topic and change \
                 how wildcards match it (MQTT 3.1.1 section 4.7.2); --launch runs it on a broker of its own"
            ));
        }
        return settings_plan(scenario, &target.config, "target has");
    };
    // The launched broker gets the scenario's settings, where its config can take them.
    let mut settings = Config::default();
    scenario.broker.apply(&mut settings);
    let mut have = target.config.clone();
    let given: Vec<&str> = DECLARED.iter().copied().filter(|o| launcher.can_set(o)).collect();
    copy_declared(&settings, &mut have, &given);
    settings_plan(scenario, &have, "its config template cannot set it, and the broker has")
}

fn settings_plan(scenario: &Scenario, have: &Config, has: &str) -> Plan {
    let unmet = unmet_settings(scenario, have, has);
    if !unmet.is_empty() {
        return Plan::NotApplicable(unmet.join("; "));
    }
    Plan::Run { skipped: unobservable_clauses(scenario) }
}

/// The broker crash steps of the scenario, each keyword once.
fn broker_crashes(scenario: &Scenario) -> Vec<&'static str> {
    let mut found = Vec::new();
    for step in &scenario.steps {
        if matches!(step, Step::CrashBroker | Step::RestartBroker) && !found.contains(&step.keyword()) {
            found.push(step.keyword());
        }
    }
    found
}

/// The first topic name or filter starting with `$`, if any.
fn dollar_topic(scenario: &Scenario) -> Option<String> {
    let wills = scenario.clients.values().filter_map(|c| c.will.as_ref()).map(|w| w.topic.0.clone());
    let steps = scenario.steps.iter().flat_map(|step| -> Vec<String> {
        match step {
            Step::Publish(p) => vec![p.topic.0.clone()],
            Step::Subscribe(s) => {
                s.topic.iter().map(|t| t.0.clone()).chain(s.topics.iter().map(|f| f.filter.0.clone())).collect()
            }
            Step::Unsubscribe(u) => u.topic.iter().chain(u.topics.iter()).map(|t| t.0.clone()).collect(),
            _ => vec![],
        }
    });
    wills.chain(steps).find(|t| t.starts_with('$'))
}

/// The clauses of one `expect` step that are about broker state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 0-based.
    pub step: usize,
    pub line: Option<usize>,
    /// `queued`, `inflight`, `inflight_in`, `drops`, `sessions`, `retained`.
    pub clauses: Vec<&'static str>,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {}", self.step + 1)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        write!(f, ": {}", self.clauses.join(", "))
    }
}

/// The `expect` clauses about broker state, by step.
fn unobservable_clauses(scenario: &Scenario) -> Vec<Skipped> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let Step::Expect(e) = step else { continue };
        let mut clauses = Vec::new();
        for (name, empty) in [
            ("queued", e.queued.is_empty()),
            ("inflight", e.inflight.is_empty()),
            ("inflight_in", e.inflight_in.is_empty()),
            ("drops", e.drops.is_empty()),
            ("sessions", e.sessions.is_empty()),
            ("retained", e.retained.is_none()),
        ] {
            if !empty {
                clauses.push(name);
            }
        }
        if !clauses.is_empty() {
            out.push(Skipped { step: i, line: scenario.step_lines.get(i).copied(), clauses });
        }
    }
    out
}

/// What a run of the scenario can use up: the figures that decide whether a broker limit can
/// change its outcome.
#[derive(Debug, Default)]
struct Usage {
    /// Messages published, wills included.
    messages: usize,
    /// Their payload bytes.
    payload_bytes: usize,
    /// Whether a QoS 0 message may be published while a client with a persistent session is
    /// offline: the only time `queue_qos0_messages` can change a run.
    qos0_offline: bool,
    /// An upper bound on the size of any packet a client sends.
    largest_packet: usize,
    keep_alives: Vec<u16>,
    empty_client_id: bool,
}

/// Room for fixed headers, lengths, the namespace prefix, the packet id, the CONNECT header.
const PACKET_OVERHEAD: usize = 256;

fn usage(scenario: &Scenario) -> Usage {
    let mut u = Usage::default();
    for c in scenario.clients.values() {
        u.keep_alives.push(c.keep_alive);
        u.empty_client_id |= c.client_id.as_deref() == Some("");
        let credentials = c.username.as_ref().map_or(0, String::len) + c.password.as_ref().map_or(0, String::len);
        let id = c.client_id.as_ref().map_or(64, String::len);
        let mut connect = PACKET_OVERHEAD + id + credentials;
        if let Some(w) = &c.will {
            u.messages += 1;
            u.payload_bytes += w.payload.len();
            connect += w.topic.0.len() + w.payload.len();
        }
        u.largest_packet = u.largest_packet.max(connect);
    }
    u.qos0_offline = qos0_while_persistent_offline(scenario);
    for step in &scenario.steps {
        match step {
            Step::Publish(p) => {
                for n in p.numbers() {
                    let payload = p.payload.replace("{n}", &n.to_string()).len();
                    u.messages += 1;
                    u.payload_bytes += payload;
                    u.largest_packet = u.largest_packet.max(PACKET_OVERHEAD + p.topic.0.len() + payload);
                }
            }
            Step::Subscribe(s) => {
                let filters: usize = s.topic.iter().map(|t| t.0.len() + PACKET_OVERHEAD).sum::<usize>()
                    + s.topics.iter().map(|f| f.filter.0.len() + PACKET_OVERHEAD).sum::<usize>();
                u.largest_packet = u.largest_packet.max(filters);
            }
            _ => {}
        }
    }
    u
}

/// Whether a QoS 0 message (a QoS 0 publication, a publication that a QoS 0 subscription makes
/// QoS 0, or a will when its client's connection ends) may be published while a client that
/// connected with clean session 0 is, or may be, offline: after
/// it disconnects, loses its connection or crashes, and until it connects again; a partitioned,
/// held or lossy link counts as offline, since keep alive may end the connection meanwhile, and
/// so does a broker crash. Over-approximates: it only decides what is not applicable.
fn qos0_while_persistent_offline(scenario: &Scenario) -> bool {
    let mut persistent: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut offline: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    // Each client's filters and the QoS it asked for (an over-approximation of what is granted).
    let mut subscriptions: std::collections::BTreeMap<&str, Vec<(String, u8)>> = Default::default();
    let will_qos0 =
        |client: &str| scenario.clients.get(client).and_then(|c| c.will.as_ref()).is_some_and(|w| w.qos.0.as_u8() == 0);
    for step in &scenario.steps {
        match step {
            Step::Connect(c) => {
                let clean = c.clean_session.or_else(|| scenario.clients.get(&c.client).map(|s| s.clean_session));
                if clean == Some(false) {
                    persistent.insert(&c.client);
                }
                offline.remove(c.client.as_str());
            }
            Step::Disconnect(c) => {
                offline.insert(&c.client);
            }
            Step::LoseConnection(c) | Step::CrashClient(c) => {
                offline.insert(&c.client);
                if will_qos0(&c.client) && persistent.iter().any(|p| offline.contains(p) && *p != c.client) {
                    return true;
                }
            }
            Step::Partition(p) => {
                offline.insert(&p.client);
                if will_qos0(&p.client) && persistent.iter().any(|p| offline.contains(p)) {
                    return true;
                }
            }
            Step::Hold(c) => {
                offline.insert(&c.client);
            }
            Step::PacketLoss(l) => {
                offline.insert(&l.client);
            }
            Step::CrashBroker => offline.extend(persistent.iter().copied()),
            Step::Subscribe(sub) => {
                let asked = sub.topic.iter().zip(sub.qos).map(|(t, q)| (t.0.clone(), q.0.as_u8()));
                let filters = subscriptions.entry(sub.client.as_str()).or_default();
                filters.extend(asked.chain(sub.topics.iter().map(|f| (f.filter.0.clone(), f.qos.0.as_u8()))));
            }
            Step::Publish(p) => {
                // A message reaches a session at min(published, granted) [MQTT-3.8.4-6]: a QoS 1
                // publication is a QoS 0 message for a session subscribed at QoS 0.
                let as_qos0 = |client: &&str| {
                    let granted = subscriptions.get(client).and_then(|filters| {
                        filters.iter().filter(|(f, _)| crate::topic::matches(f, &p.topic.0)).map(|(_, q)| *q).max()
                    });
                    p.qos.0.as_u8() == 0 || granted == Some(0)
                };
                if persistent.iter().any(|c| offline.contains(c) && as_qos0(c)) {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// A limit where 0 means none.
fn limit(n: usize) -> usize {
    if n == 0 {
        usize::MAX
    } else {
        n
    }
}

/// Whether two limits (0 = none) can tell apart a run that uses `used`.
fn limits_differ_for(need: usize, have: usize, used: usize) -> bool {
    need != have && used >= limit(need).min(limit(have))
}

/// Whether a client with this keep alive is refused under `max_keepalive` (as mosquitto does).
fn keep_alive_refused(max_keepalive: u16, keep_alive: u16) -> bool {
    max_keepalive != 0 && (keep_alive == 0 || keep_alive > max_keepalive)
}

/// The settings the scenario needs that the target does not have, as sentences. A setting the
/// scenario states must match exactly. One it leaves at mosquitto 2.0's default matters only if
/// the run could tell the default from the target's value: a queue limit of 100 cannot change a
/// run that publishes 10 messages, so such a scenario still applies.
fn unmet_settings(scenario: &Scenario, target: &Config, has: &str) -> Vec<String> {
    let mut need = Config::default();
    scenario.broker.apply(&mut need);
    let b = &scenario.broker;
    let u = usage(scenario);
    let mut out = Vec::new();
    let mut check = |name: &str, explicit: bool, need: String, have: String, matters: bool, why: String| {
        if need == have || !(explicit || matters) {
            return;
        }
        let because = if explicit { String::new() } else { format!(" (the default; {why})") };
        out.push(format!("needs {name} {need}{because}, {has} {have}"));
    };
    check(
        "max_queued_messages",
        b.max_queued_messages.is_some(),
        need.max_queued_messages.to_string(),
        target.max_queued_messages.to_string(),
        limits_differ_for(need.max_queued_messages, target.max_queued_messages, u.messages),
        format!("it publishes {} messages", u.messages),
    );
    check(
        "max_queued_bytes",
        b.max_queued_bytes.is_some(),
        need.max_queued_bytes.to_string(),
        target.max_queued_bytes.to_string(),
        limits_differ_for(need.max_queued_bytes, target.max_queued_bytes, u.payload_bytes),
        format!("it publishes {} payload bytes", u.payload_bytes),
    );
    check(
        "queue_qos0_messages",
        b.queue_qos0_messages.is_some(),
        need.queue_qos0_messages.to_string(),
        target.queue_qos0_messages.to_string(),
        u.qos0_offline,
        "it publishes QoS 0 messages while a persistent session may be offline".into(),
    );
    check(
        "max_inflight_messages",
        b.max_inflight_messages.is_some(),
        need.max_inflight_messages.to_string(),
        target.max_inflight_messages.to_string(),
        limits_differ_for(need.max_inflight_messages, target.max_inflight_messages, u.messages),
        format!("it publishes {} messages", u.messages),
    );
    check(
        "max_packet_size",
        b.max_packet_size.is_some(),
        need.max_packet_size.to_string(),
        target.max_packet_size.to_string(),
        limits_differ_for(need.max_packet_size, target.max_packet_size, u.largest_packet),
        format!("its packets may reach {} bytes", u.largest_packet),
    );
    check(
        "max_keepalive",
        b.max_keepalive.is_some(),
        need.max_keepalive.to_string(),
        target.max_keepalive.to_string(),
        u.keep_alives
            .iter()
            .any(|&k| keep_alive_refused(need.max_keepalive, k) != keep_alive_refused(target.max_keepalive, k)),
        "a client's keep alive is accepted under one and refused under the other".into(),
    );
    check(
        "allow_zero_length_clientid",
        b.allow_zero_length_clientid.is_some(),
        need.allow_zero_length_clientid.to_string(),
        target.allow_zero_length_clientid.to_string(),
        u.empty_client_id,
        "a client has an empty client id".into(),
    );
    // Choices the spec leaves to the server, which `received` does not already accept either
    // way: they matter only where the scenario states them (in `requires:`, say).
    check(
        "allow_duplicate_messages",
        b.allow_duplicate_messages.is_some(),
        need.allow_duplicate_messages.to_string(),
        target.allow_duplicate_messages.to_string(),
        false,
        String::new(),
    );
    check(
        "qos2_delivery",
        b.qos2_delivery.is_some(),
        need.qos2_delivery.to_string(),
        target.qos2_delivery.to_string(),
        false,
        String::new(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::launch::Launcher;
    use crate::scenario::parse;

    fn scenario(text: &str) -> Scenario {
        parse(text, "test.yaml").unwrap()
    }

    fn borrowed(config: Config) -> Target {
        Target { config, ..Target::new("localhost:1883") }
    }

    #[test]
    fn network_faults_run_anywhere_and_broker_crashes_need_a_launched_broker() {
        let s = scenario(
            "name: n\nclients: { a: {} }\nsteps:\n  - connect: a\n  - partition: a\n  - heal: a\n  - crash_client: a\n  - crash_broker\n  - restart_broker\n",
        );
        assert_eq!(
            plan(&s, &borrowed(Config::default())),
            Plan::NotApplicable(
                "crashes the broker (crash_broker, restart_broker): only a broker that mqtt-sim check starts (--launch) can be crashed"
                    .into()
            )
        );
        let launched = Target::launched(Launcher::new("mosquitto -c {config}", None).unwrap());
        assert_eq!(plan(&s, &launched), Plan::Run { skipped: vec![] });
        let faults_only =
            scenario("name: n\nclients: { a: {} }\nsteps:\n  - connect: a\n  - hold: a\n  - release: a\n");
        assert_eq!(plan(&faults_only, &borrowed(Config::default())), Plan::Run { skipped: vec![] });
    }

    #[test]
    fn a_launched_broker_gets_the_settings_its_template_can_take() {
        let s = scenario("name: n\nbroker: { max_queued_messages: 5, queue_qos0_messages: true }\nclients: { a: {} }\nsteps:\n  - connect: a\n  - subscribe: { client: a, topic: \"$SYS/x\", qos: 0 }\n");
        let launched = Target::launched(Launcher::new("mosquitto -c {config}", None).unwrap());
        assert_eq!(plan(&s, &launched), Plan::Run { skipped: vec![] }, "a mosquitto.conf takes every setting");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.conf");
        std::fs::write(&path, "port {port}\nqueue {max_queued_messages}\n").unwrap();
        let templated = Target::launched(Launcher::new("b -c {config}", Some(&path)).unwrap());
        assert_eq!(
            plan(&s, &templated),
            Plan::NotApplicable(
                "needs queue_qos0_messages true, its config template cannot set it, and the broker has false".into()
            )
        );
    }

    #[test]
    fn dollar_topics_are_not_namespaced() {
        let s = scenario("name: n\nclients: { a: {} }\nsteps:\n  - connect: a\n  - subscribe: { client: a, topic: \"$SYS/#\", qos: 0 }\n");
        assert!(matches!(plan(&s, &borrowed(Config::default())), Plan::NotApplicable(r) if r.contains("\"$SYS/#\"")));
    }

    #[test]
    fn stated_settings_must_match_and_defaults_only_where_they_can_matter() {
        let s = scenario("name: n\nbroker: { max_queued_messages: 100 }\nclients: { a: {} }\nsteps:\n  - connect: a\n");
        assert_eq!(
            plan(&s, &borrowed(Config::default())),
            Plan::NotApplicable("needs max_queued_messages 100, target has 1000".into())
        );
        let small = Config { max_queued_messages: 100, ..Config::default() };
        let few = scenario(
            "name: n\nclients: { a: {} }\nsteps:\n  - connect: a\n  - publish: { client: a, topic: t, qos: 1, repeat: 10 }\n",
        );
        assert_eq!(plan(&few, &borrowed(small.clone())), Plan::Run { skipped: vec![] });
        let many = scenario(
            "name: n\nclients: { a: {} }\nsteps:\n  - connect: a\n  - publish: { client: a, topic: t, qos: 1, repeat: 101 }\n",
        );
        assert_eq!(
            plan(&many, &borrowed(small)),
            Plan::NotApplicable(
                "needs max_queued_messages 1000 (the default; it publishes 101 messages), target has 100".into()
            )
        );
    }

    #[test]
    fn queue_qos0_messages_matters_only_while_a_persistent_session_may_be_offline() {
        let qos0 = Config { queue_qos0_messages: true, ..Config::default() };
        let online = scenario(
            "name: n\nclients: { r: { clean_session: false }, w: {} }\nsteps:\n  - connect: r\n  - connect: w\n  - publish: { client: w, topic: t, qos: 0 }\n",
        );
        assert_eq!(plan(&online, &borrowed(qos0.clone())), Plan::Run { skipped: vec![] });
        let offline = scenario(
            "name: n\nclients: { r: { clean_session: false }, w: {} }\nsteps:\n  - connect: r\n  - disconnect: r\n  - connect: w\n  - publish: { client: w, topic: t, qos: 0 }\n",
        );
        assert_eq!(
            plan(&offline, &borrowed(qos0.clone())),
            Plan::NotApplicable(
                "needs queue_qos0_messages false (the default; it publishes QoS 0 messages while a persistent \
                 session may be offline), target has true"
                    .into()
            )
        );
        let back = scenario(
            "name: n\nclients: { r: { clean_session: false }, w: {} }\nsteps:\n  - connect: r\n  - disconnect: r\n  - connect: r\n  - connect: w\n  - publish: { client: w, topic: t, qos: 0 }\n",
        );
        assert_eq!(plan(&back, &borrowed(qos0.clone())), Plan::Run { skipped: vec![] }, "it is back online");
        let downgraded = scenario(
            "name: n\nclients: { r: { clean_session: false }, w: {} }\nsteps:\n  - connect: r\n  - subscribe: { client: r, topic: t, qos: 0 }\n  - disconnect: r\n  - connect: w\n  - publish: { client: w, topic: t, qos: 1 }\n",
        );
        assert!(
            matches!(plan(&downgraded, &borrowed(qos0)), Plan::NotApplicable(_)),
            "a QoS 1 publication is a QoS 0 message for a QoS 0 subscription [MQTT-3.8.4-6]"
        );
    }

    #[test]
    fn a_required_qos2_method_applies_only_to_a_broker_declaring_it() {
        let s =
            scenario("name: n\nrequires: { qos2_delivery: on_pubrel }\nclients: { a: {} }\nsteps:\n  - connect: a\n");
        assert_eq!(plan(&s, &borrowed(Config::default())), Plan::Run { skipped: vec![] }, "mosquitto's method");
        let method_b = Config { qos2_delivery: crate::broker::Qos2Delivery::OnPublish, ..Config::default() };
        assert_eq!(
            plan(&s, &borrowed(method_b.clone())),
            Plan::NotApplicable("needs qos2_delivery on_pubrel, target has on_publish".into())
        );
        let unstated = scenario("name: n\nclients: { a: {} }\nsteps:\n  - connect: a\n");
        assert_eq!(plan(&unstated, &borrowed(method_b.clone())), Plan::Run { skipped: vec![] });
        // A generated mosquitto.conf cannot change a broker's method: the declared one counts.
        let launched =
            Target { config: method_b, ..Target::launched(Launcher::new("mosquitto -c {config}", None).unwrap()) };
        assert_eq!(
            plan(&s, &launched),
            Plan::NotApplicable(
                "needs qos2_delivery on_pubrel, its config template cannot set it, and the broker has on_publish"
                    .into()
            )
        );
    }

    #[test]
    fn broker_state_expectations_are_skipped() {
        let s = scenario(
            "name: n\nclients: { a: {} }\nsteps:\n  - connect: a\n  - expect:\n      received: { a: [] }\n      queued: { a: 0 }\n      sessions: { a: connected }\n",
        );
        let Plan::Run { skipped } = plan(&s, &borrowed(Config::default())) else { panic!("it applies") };
        assert_eq!(skipped.iter().map(|s| s.to_string()).collect::<Vec<_>>(), ["step 2 (line 5): queued, sessions"]);
    }
}
