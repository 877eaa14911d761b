//! proptest strategies over the scenario model: whole scenarios with 2 to 4 clients (clean and
//! persistent, sometimes sharing a client id, some with wills), in 3.1.1, 5.0 or both
//! (`v5::ProtocolMix`), overlapping wildcard and shared subscriptions, QoS mixes, retain flags,
//! 5.0 session and message expiry, and fault schedules (disconnects, lost connections,
//! partitions, holds, broker crashes, takeovers). Every generated case is a `Scenario`, so it can
//! be written out as YAML; `v5::legalize` keeps it one the loader accepts.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::persistence::{self, PersistenceMix};
use super::v5::{self, ProtocolMix, V5Subscription};
use crate::protocol::QoS;
use crate::scenario::model::{
    BrokerSettings, ClientSpec, ClientStep, ConnectStep, Direction, DisconnectStep, ExpectedOutcome, FilterQos,
    Network, OutcomeKind, PartitionStep, PublishStep, Scenario, Step, SubscribeStep, UnsubscribeStep,
};
use crate::scenario::values::{FromClientName, Qos, Span, TopicFilter, TopicName};

pub(super) const TOPICS: &[&str] = &["a/b", "a/c", "a/b/c", "x"];
pub(super) const FILTERS: &[&str] = &["a/b", "a/+", "a/#", "#", "+/b", "a/b/c", "x"];
/// Keep alive of generated clients: short, so partitions end in reconnects within the run.
pub const KEEP_ALIVE: u16 = 2;

pub(super) fn qos() -> impl Strategy<Value = Qos> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)].prop_map(Qos)
}

fn qos12() -> impl Strategy<Value = Qos> {
    (1u8..=2).prop_map(|q| Qos(QoS::from_u8(q).expect("1 or 2")))
}

pub(super) fn client(n: usize) -> impl Strategy<Value = String> {
    (0..n).prop_map(|i| format!("c{i}"))
}

/// A CONNECT whose outcome is not judged, with a Session Expiry Interval of its own (5.0).
pub(super) fn connect(client: &str, session_expiry: Option<u32>) -> Step {
    Step::Connect(ConnectStep {
        client: client.to_owned(),
        session_expiry,
        outcome: Some(ExpectedOutcome::Any),
        ..Default::default()
    })
}

/// A SUBSCRIBE to one filter, with 5.0 options `o`.
fn subscribe(client: &str, filter: &str, qos: Qos, o: V5Subscription) -> Step {
    let mut s = SubscribeStep {
        client: client.to_owned(),
        topics: vec![FilterQos::new(TopicFilter(filter.to_owned()), qos)],
        outcome: ExpectedOutcome::Any,
        ..Default::default()
    };
    o.apply(&mut s);
    Step::Subscribe(s)
}

fn publish(client: &str, topic: &str, qos: Qos, retain: bool, repeat: u32, no_wait: bool, expiry: Option<u32>) -> Step {
    Step::Publish(PublishStep {
        client: client.to_owned(),
        topic: TopicName(topic.to_owned()),
        payload: String::new(), // numbered after generation, so payloads are unique
        qos,
        retain,
        repeat,
        no_wait,
        outcome: ExpectedOutcome::Any,
        message_expiry: expiry,
        ..Default::default()
    })
}

fn step(n: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (client(n), prop::option::weighted(0.15, v5::expiry())).prop_map(|(c, e)| connect(&c, e)),
        6 => (client(n), prop::sample::select(FILTERS), qos(), v5::subscription())
            .prop_map(|(c, f, q, o)| subscribe(&c, f, q, o)),
        1 => (client(n), prop::sample::select(FILTERS), prop::option::weighted(0.2, Just("g"))).prop_map(|(c, f, group)| {
            let filter = group.map_or_else(|| f.to_owned(), |g| format!("$share/{g}/{f}"));
            Step::Unsubscribe(UnsubscribeStep {
                client: c,
                topic: Some(TopicFilter(filter)),
                topics: vec![],
                outcome: ExpectedOutcome::Any,
            })
        }),
        12 => (client(n), prop::sample::select(TOPICS), qos(), prop::bool::weighted(0.15), 1u32..4, any::<bool>(), v5::message_expiry())
            .prop_map(|(c, t, q, retain, repeat, no_wait, expiry)| publish(&c, t, q, retain, repeat, no_wait, expiry)),
        // A DISCONNECT with 5.0 fields fails when the client is not connected, which would end
        // the case: those come only in `offline_episode`, right after a connect.
        5 => client(n).prop_map(|c| Step::Disconnect(DisconnectStep::from_client_name(c))),
        4 => client(n).prop_map(|c| Step::LoseConnection(ClientStep { client: c })),
        1 => (client(n), prop_oneof![Just(Direction::Both), Just(Direction::ToBroker), Just(Direction::FromBroker)])
            .prop_map(|(c, d)| Step::Partition(PartitionStep { client: c, direction: d })),
        1 => client(n).prop_map(|c| Step::Heal(ClientStep { client: c })),
        1 => client(n).prop_map(|c| Step::Hold(ClientStep { client: c })),
        1 => client(n).prop_map(|c| Step::Release(ClientStep { client: c })),
        1 => Just(Step::CrashBroker),
        1 => Just(Step::RestartBroker),
        4 => (1u64..40).prop_map(|tenths| Step::Wait(Span(Duration::from_millis(tenths * 100)))),
    ]
}

/// How a subscriber leaves in an episode.
#[derive(Debug, Clone, Copy)]
enum Leave {
    Lose,
    Disconnect,
    /// 5.0 DISCONNECT with a reason code (0 or 4, which publishes the will) and maybe a new
    /// Session Expiry Interval (section 3.14.2).
    DisconnectV5 {
        reason: u8,
        session_expiry: Option<u32>,
    },
}

fn leave() -> impl Strategy<Value = Leave> {
    prop_oneof![
        2 => Just(Leave::Lose),
        2 => Just(Leave::Disconnect),
        2 => (prop_oneof![Just(0u8), Just(4u8)], prop::option::weighted(0.7, v5::expiry()))
            .prop_map(|(reason, session_expiry)| Leave::DisconnectV5 { reason, session_expiry }),
    ]
}

/// `client` leaves. A 5.0 DISCONNECT needs a connection to be sent on (else the step fails and
/// the case ends), so its episode starts with the client's faults repaired and the broker up.
fn leave_steps(client: &str, how: Leave) -> Step {
    let client = client.to_owned();
    match how {
        Leave::Lose => Step::LoseConnection(ClientStep { client }),
        Leave::Disconnect => Step::Disconnect(DisconnectStep::from_client_name(client)),
        Leave::DisconnectV5 { reason, session_expiry } => Step::Disconnect(DisconnectStep {
            reason: Some(reason),
            session_expiry,
            ..DisconnectStep::from_client_name(client)
        }),
    }
}

fn repair(client: &str, how: Leave) -> Vec<Step> {
    if !matches!(how, Leave::DisconnectV5 { .. }) {
        return Vec::new();
    }
    vec![
        Step::Heal(ClientStep { client: client.to_owned() }),
        Step::Release(ClientStep { client: client.to_owned() }),
        Step::RestartBroker,
    ]
}

/// Time for messages queued for an absent client to expire: none, or a few seconds.
fn absence() -> impl Strategy<Value = Option<Step>> {
    prop_oneof![3 => Just(None), 2 => (1u64..=5).prop_map(|s| Some(Step::Wait(Span(Duration::from_secs(s)))))]
}

/// A persistent-session story as one unit: a client subscribes, goes away (cleanly or not),
/// another publishes QoS 1/2 messages it matches, and it comes back. Random single steps rarely
/// line up like this, and it is where the interesting bugs live. With 5.0 the messages may
/// expire while it is away, and more come back than its Receive Maximum lets in at once.
fn offline_episode(n: usize) -> impl Strategy<Value = Vec<Step>> {
    (
        (0..n, 0..n, prop::sample::select(TOPICS), qos12(), qos12(), leave(), 1u32..6),
        (v5::subscription(), prop::option::weighted(0.15, v5::expiry()), v5::message_expiry(), absence()),
    )
        .prop_map(
            move |((sub, publisher, topic, sub_qos, pub_qos, how, repeat), (o, expiry, msg_expiry, away))| {
                let (sub, publisher) =
                    (format!("c{sub}"), format!("c{}", (publisher + usize::from(publisher == sub)) % n));
                let mut steps = repair(&sub, how);
                steps.extend([
                    connect(&sub, expiry),
                    subscribe(&sub, topic, sub_qos, V5Subscription { group: None, no_local: false, ..o }),
                    leave_steps(&sub, how),
                    Step::Wait(Span(Duration::from_millis(100))),
                    connect(&publisher, None),
                    publish(&publisher, topic, pub_qos, false, repeat, false, msg_expiry),
                ]);
                steps.extend(away);
                steps.push(connect(&sub, None));
                steps
            },
        )
}

/// A shared subscription with a persistent member away: two members share `$share/g/{topic}`
/// (section 4.8.2), one leaves, messages are published, and it comes back. (For 3.1.1 members
/// `v5::legalize` makes the filter a plain one.)
fn shared_episode(n: usize) -> impl Strategy<Value = Vec<Step>> {
    (0..n, 1..n, 0..n, prop::sample::select(TOPICS), qos12(), qos12(), qos12(), any::<bool>(), 2u32..6, absence())
        .prop_map(move |(a, offset, publisher, topic, qos_a, qos_b, pub_qos, abrupt, repeat, away)| {
            let b = (a + offset) % n;
            let publisher = if publisher == a { b } else { publisher };
            let (a, b, publisher) = (format!("c{a}"), format!("c{b}"), format!("c{publisher}"));
            let filter = format!("$share/g/{topic}");
            let member = V5Subscription::default();
            let mut steps = vec![
                connect(&a, None),
                subscribe(&a, &filter, qos_a, member),
                connect(&b, None),
                subscribe(&b, &filter, qos_b, member),
                leave_steps(&a, if abrupt { Leave::Lose } else { Leave::Disconnect }),
                connect(&publisher, None),
                publish(&publisher, topic, pub_qos, false, repeat, false, None),
            ];
            steps.extend(away);
            steps.push(connect(&a, None));
            steps
        })
}

/// Numbers publish payloads `m1`, `m2`, ... in step order (`{n}` adds the repeat index).
pub(super) fn number_payloads(steps: &mut [Step]) {
    let mut n = 0;
    for s in steps {
        if let Step::Publish(p) = s {
            n += 1;
            p.payload = if p.repeat > 1 { format!("m{n}.{{n}}") } else { format!("m{n}") };
        }
    }
}

/// Ends every case the same way: faults repaired, the broker up, keep alive given time to notice
/// dead streams (and the short 5.0 session expiries to run out), then every client connected and
/// time for re-sends, so the at-least-once invariant can judge what persistent sessions were owed.
pub(super) fn epilogue(n: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    for i in 0..n {
        steps.push(Step::Heal(ClientStep { client: format!("c{i}") }));
        steps.push(Step::Release(ClientStep { client: format!("c{i}") }));
    }
    steps.push(Step::RestartBroker);
    steps.push(Step::Wait(Span(Duration::from_secs(u64::from(KEEP_ALIVE) * 2 + 3))));
    for i in 0..n {
        steps.push(connect(&format!("c{i}"), None));
    }
    steps.push(Step::Wait(Span(Duration::from_secs(3))));
    steps
}

/// One client's generated flags: persistent, shares c0's client id, speaks 5.0, has a will, and
/// its 5.0 options.
type ClientFlags = (bool, bool, bool, Option<crate::scenario::model::Will>, v5::V5Client);

fn clients(flags: Vec<ClientFlags>) -> BTreeMap<String, ClientSpec> {
    // Some clients share c0's client id, to exercise takeovers.
    let ids: Vec<String> = flags
        .iter()
        .enumerate()
        .map(|(i, (_, share_id, ..))| if *share_id && i > 0 { "c0".to_owned() } else { format!("c{i}") })
        .collect();
    let mut clients = BTreeMap::new();
    for (i, (persistent, _, is_v5, will, o)) in flags.into_iter().enumerate() {
        let name = format!("c{i}");
        let mut spec = ClientSpec {
            client_id: (ids[i] != name).then(|| ids[i].clone()),
            clean_session: !persistent,
            keep_alive: KEEP_ALIVE,
            will: will.map(|w| crate::scenario::model::Will { payload: format!("will of {name}"), ..w }),
            ..Default::default()
        };
        if is_v5 {
            let id_shared = ids.iter().filter(|id| **id == ids[i]).count() > 1;
            v5::make_v5(&mut spec, &o, id_shared);
        }
        clients.insert(name, spec);
    }
    clients
}

/// Whole scenarios whose clients speak the versions `mix` asks for, on a broker that keeps its
/// state as `persistence` asks (`persistence::plan`).
pub fn scenario(mix: ProtocolMix, persistence: PersistenceMix) -> BoxedStrategy<Scenario> {
    let cases = versions(mix);
    if persistence == PersistenceMix::Off {
        return cases;
    }
    (cases, persistence::plan(persistence))
        .prop_map(|(mut scenario, plan)| {
            if let Some(plan) = plan {
                // The plan goes among the generated steps, before the epilogue.
                let kept = scenario.steps.len() - epilogue(scenario.clients.len()).len();
                let tail = scenario.steps.split_off(kept);
                let mut steps = std::mem::take(&mut scenario.steps);
                persistence::apply(&plan, &mut scenario, &mut steps);
                steps.extend(tail);
                scenario.steps = steps;
            }
            scenario
        })
        .boxed()
}

/// Whole scenarios whose clients speak the versions `mix` asks for: 3.1.1 alone is the
/// generator `explore` always had (`v311.rs`), the others the one above. The steps before the
/// epilogue shrink (proptest drops and simplifies them).
fn versions(mix: ProtocolMix) -> BoxedStrategy<Scenario> {
    if mix == ProtocolMix::V311 {
        return super::v311::scenario().boxed();
    }
    (2usize..=4)
        .prop_flat_map(move |n| {
            let flags = (
                prop::bool::weighted(0.7),
                prop::bool::weighted(0.2),
                mix.version(),
                prop::option::weighted(0.25, v5::will(TOPICS)),
                v5::client_options(),
            );
            let flags = prop::collection::vec(flags, n);
            let limit = prop_oneof![4 => Just(None), 1 => (1usize..6).prop_map(Some)];
            let unit = prop_oneof![
                12 => step(n).prop_map(|s| vec![s]),
                2 => offline_episode(n),
                1 => shared_episode(n),
            ];
            (Just(n), flags, limit, prop::collection::vec(unit, 1..30))
        })
        .prop_map(|(n, flags, limit, units)| {
            let clients = clients(flags);
            let mut steps: Vec<Step> = units.into_iter().flatten().collect();
            v5::legalize(&clients, &mut steps);
            number_payloads(&mut steps);
            steps.extend(epilogue(n));
            frame(clients, limit, steps)
        })
        .boxed()
}

/// A generated case: its clients, the broker's queue limit and its steps.
pub(super) fn frame(clients: BTreeMap<String, ClientSpec>, limit: Option<usize>, steps: Vec<Step>) -> Scenario {
    Scenario {
        name: "generated by mqtt-sim explore".into(),
        description: String::new(),
        spec: vec![],
        claim: None,
        known_deviations: BTreeMap::new(),
        simulation_only: None,
        seed: 1,
        outcome: OutcomeKind::MayVary,
        broker: BrokerSettings { max_queued_messages: limit, ..BrokerSettings::default() },
        requires: BrokerSettings::default(),
        network: Network::default(),
        disk: Default::default(),
        clients,
        steps,
        step_lines: vec![],
    }
}
