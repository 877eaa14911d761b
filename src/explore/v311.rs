//! The 3.1.1 generator as it was before 5.0 came (`explore --protocol 3.1.1`, the default): the
//! same strategies drawn in the same order, so a seed gives the same cases, and the regressions
//! and reports written from earlier explorations still name what a seed explores. The mixed and
//! 5.0 generator (`generate.rs`) draws more per step, so its 3.1.1 clients differ.
//!
//! It must not change what it draws; a new 3.1.1 idea goes into `generate.rs`, which the mixed
//! exploration also runs with 3.1.1 clients.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::generate::{client, connect, epilogue, frame, number_payloads, qos, FILTERS, KEEP_ALIVE, TOPICS};
use crate::protocol::QoS;
use crate::scenario::model::{
    ClientSpec, ClientStep, Direction, DisconnectStep, ExpectedOutcome, FilterQos, PartitionStep, PublishStep,
    Scenario, Step, SubscribeStep, UnsubscribeStep,
};
use crate::scenario::values::{FromClientName, Qos, Span, TopicFilter, TopicName};

fn step(n: usize) -> impl Strategy<Value = Step> {
    let unchecked = ExpectedOutcome::Any;
    prop_oneof![
        8 => client(n).prop_map(|c| connect(&c, None)),
        6 => (client(n), prop::sample::select(FILTERS), qos()).prop_map(move |(c, f, q)| Step::Subscribe(SubscribeStep {
            client: c,
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
            let leave = if abrupt {
                Step::LoseConnection(ClientStep { client: sub.clone() })
            } else {
                Step::Disconnect(DisconnectStep::from_client_name(sub.clone()))
            };
            vec![
                connect(&sub, None),
                Step::Subscribe(SubscribeStep {
                    client: sub.clone(),
                    topics: vec![FilterQos::new(
                        TopicFilter(topic.to_owned()),
                        Qos(QoS::from_u8(sub_qos).expect("1 or 2")),
                    )],
                    outcome: ExpectedOutcome::Any,
                    ..Default::default()
                }),
                leave,
                Step::Wait(Span(Duration::from_millis(100))),
                connect(&publisher, None),
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
                connect(&sub, None),
            ]
        },
    )
}

/// Whole 3.1.1 scenarios. The steps before the epilogue shrink (proptest drops and simplifies
/// them).
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
                let spec =
                    ClientSpec { client_id, clean_session: !persistent, keep_alive: KEEP_ALIVE, ..Default::default() };
                clients.insert(format!("c{i}"), spec);
            }
            number_payloads(&mut steps);
            steps.extend(epilogue(n));
            frame(clients, limit, steps)
        })
}
