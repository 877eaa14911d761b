//! proptest strategies over the scenario model: whole scenarios with 2 to 4 clients (clean and
//! persistent, sometimes sharing a client id), overlapping wildcard subscriptions, QoS mixes,
//! retain flags and fault schedules (disconnects, lost connections, partitions, holds, broker
//! crashes, takeovers). Every generated case is a `Scenario`, so it can be written out as YAML.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use crate::protocol::QoS;
use crate::scenario::model::{
    BrokerSettings, ClientSpec, ClientStep, ConnectStep, Direction, DisconnectStep, ExpectedOutcome, FilterQos,
    Network, OutcomeKind, PartitionStep, PublishStep, Scenario, Step, SubscribeStep, UnsubscribeStep,
};
use crate::scenario::values::{FromClientName, Qos, Span, TopicFilter, TopicName};

const TOPICS: &[&str] = &["a/b", "a/c", "a/b/c", "x"];
const FILTERS: &[&str] = &["a/b", "a/+", "a/#", "#", "+/b", "a/b/c", "x"];
/// Keep alive of generated clients: short, so partitions end in reconnects within the run.
pub const KEEP_ALIVE: u16 = 2;

fn qos() -> impl Strategy<Value = Qos> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)].prop_map(Qos)
}

fn client(n: usize) -> impl Strategy<Value = String> {
    (0..n).prop_map(|i| format!("c{i}"))
}

fn step(n: usize) -> impl Strategy<Value = Step> {
    let unchecked = ExpectedOutcome::Any;
    prop_oneof![
        8 => client(n).prop_map(move |c| Step::Connect(ConnectStep {
            client: c,
            clean_session: None,
            session_present: None,
            refused: None,
            outcome: Some(unchecked),
            ..Default::default()
        })),
        6 => (client(n), prop::sample::select(FILTERS), qos()).prop_map(move |(c, f, q)| Step::Subscribe(SubscribeStep {
            client: c,
            topic: None,
            qos: None,
            topics: vec![FilterQos::new(TopicFilter(f.to_owned()), q)],
            outcome: unchecked,
            ..Default::default()
        })),
        1 => (client(n), prop::sample::select(FILTERS)).prop_map(move |(c, f)| Step::Unsubscribe(UnsubscribeStep {
            client: c,
            topic: Some(TopicFilter(f.to_owned())),
            topics: vec![],
            outcome: unchecked,
        })),
        12 => (client(n), prop::sample::select(TOPICS), qos(), prop::bool::weighted(0.15), 1u32..4, any::<bool>())
            .prop_map(move |(c, t, q, retain, repeat, no_wait)| Step::Publish(PublishStep {
                client: c,
                topic: TopicName(t.to_owned()),
                payload: String::new(), // numbered after generation, so payloads are unique
                qos: q,
                retain,
                repeat,
                start: 1,
                no_wait,
                outcome: unchecked,
                ..Default::default()
            })),
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

/// A persistent-session story as one unit: a client subscribes, goes away (cleanly or not),
/// another publishes QoS 1/2 messages it matches, and it comes back. Random single steps rarely
/// line up like this, and it is where the interesting bugs live.
fn offline_episode(n: usize) -> impl Strategy<Value = Vec<Step>> {
    (0..n, 0..n, prop::sample::select(TOPICS), 1u8..=2, 1u8..=2, any::<bool>(), 1u32..4).prop_map(
        move |(sub, publisher, topic, sub_qos, pub_qos, abrupt, repeat)| {
            let (sub, publisher) = (format!("c{sub}"), format!("c{}", (publisher + usize::from(publisher == sub)) % n));
            let connect = |c: &str| {
                Step::Connect(ConnectStep {
                    client: c.to_owned(),
                    clean_session: None,
                    session_present: None,
                    refused: None,
                    outcome: Some(ExpectedOutcome::Any),
                    ..Default::default()
                })
            };
            let leave = if abrupt {
                Step::LoseConnection(ClientStep { client: sub.clone() })
            } else {
                Step::Disconnect(DisconnectStep::from_client_name(sub.clone()))
            };
            vec![
                connect(&sub),
                Step::Subscribe(SubscribeStep {
                    client: sub.clone(),
                    topic: None,
                    qos: None,
                    topics: vec![FilterQos::new(
                        TopicFilter(topic.to_owned()),
                        Qos(QoS::from_u8(sub_qos).expect("1 or 2")),
                    )],
                    outcome: ExpectedOutcome::Any,
                    ..Default::default()
                }),
                leave,
                Step::Wait(Span(Duration::from_millis(100))),
                connect(&publisher),
                Step::Publish(PublishStep {
                    client: publisher,
                    topic: TopicName(topic.to_owned()),
                    payload: String::new(),
                    qos: Qos(QoS::from_u8(pub_qos).expect("1 or 2")),
                    retain: false,
                    repeat,
                    start: 1,
                    no_wait: false,
                    outcome: ExpectedOutcome::Any,
                    ..Default::default()
                }),
                connect(&sub),
            ]
        },
    )
}

/// Numbers publish payloads `m1`, `m2`, ... in step order (`{n}` adds the repeat index).
fn number_payloads(steps: &mut [Step]) {
    let mut n = 0;
    for s in steps {
        if let Step::Publish(p) = s {
            n += 1;
            p.payload = if p.repeat > 1 { format!("m{n}.{{n}}") } else { format!("m{n}") };
        }
    }
}

/// Ends every case the same way: faults repaired, the broker up, keep alive given time to notice
/// dead streams, then every client connected and time for re-sends, so the at-least-once
/// invariant can judge what persistent sessions were owed.
fn epilogue(n: usize) -> Vec<Step> {
    let mut steps = Vec::new();
    for i in 0..n {
        steps.push(Step::Heal(ClientStep { client: format!("c{i}") }));
        steps.push(Step::Release(ClientStep { client: format!("c{i}") }));
    }
    steps.push(Step::RestartBroker);
    steps.push(Step::Wait(Span(Duration::from_secs(u64::from(KEEP_ALIVE) * 2 + 3))));
    for i in 0..n {
        steps.push(Step::Connect(ConnectStep {
            client: format!("c{i}"),
            clean_session: None,
            session_present: None,
            refused: None,
            outcome: Some(ExpectedOutcome::Any),
            ..Default::default()
        }));
    }
    steps.push(Step::Wait(Span(Duration::from_secs(3))));
    steps
}

/// Whole scenarios. The steps before the epilogue shrink (proptest drops and simplifies them).
pub fn scenario() -> impl Strategy<Value = Scenario> {
    (2usize..=4)
        .prop_flat_map(|n| {
            let clients = prop::collection::vec((prop::bool::weighted(0.7), prop::bool::weighted(0.2)), n);
            let limit = prop_oneof![4 => Just(None), 1 => (1usize..6).prop_map(Some)];
            let unit = prop_oneof![6 => step(n).prop_map(|s| vec![s]), 1 => offline_episode(n)];
            (Just(n), clients, limit, prop::collection::vec(unit, 1..30))
        })
        .prop_map(|(n, flags, limit, units)| {
            let mut steps: Vec<Step> = units.into_iter().flatten().collect();
            let mut clients = BTreeMap::new();
            for (i, (persistent, share_id)) in flags.into_iter().enumerate() {
                // Some clients share c0's client id, to exercise takeovers.
                let client_id = (share_id && i > 0).then(|| "c0".to_owned());
                clients.insert(
                    format!("c{i}"),
                    ClientSpec {
                        client_id,
                        clean_session: !persistent,
                        keep_alive: KEEP_ALIVE,
                        will: None,
                        username: None,
                        password: None,
                        break_client_rules: false,
                        acks: Default::default(),
                        max_inflight: crate::client::DEFAULT_MAX_INFLIGHT,
                        ..Default::default()
                    },
                );
            }
            number_payloads(&mut steps);
            steps.extend(epilogue(n));
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
                clients,
                steps,
                step_lines: vec![],
            }
        })
}
