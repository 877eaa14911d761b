//! Running one applicable scenario against a real broker, in real time: a broker launched for it
//! (with `--launch`), then the scenario executor (`harness::executor`, the same code the
//! simulation runs) driving the steps over a [`TcpNetwork`], then a settling second, the
//! clients' view compared with the recorded snapshot, and the broker killed, or cleaned of the
//! run's sessions and retained messages when someone else runs it; last, the delivery
//! invariants that a client-side trace can judge. Every difference is reported (see
//! `harness::executor` for which end the run); a launched broker that exits by itself is the
//! finding, and what follows from its death is not. It judges what it observes; what applies is
//! `applicable`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::launch::{BrokerProcess, LaunchError};
use super::names::Namespace;
use super::network::{TcpNetwork, COMMAND_TIMEOUT, GRACE};
use super::recorded::{self, Recorded};
use super::target::Target;
use crate::broker::Config;
use crate::client::ClientOptions;
use crate::harness::executor::{broken_invariants, run_steps, Failure, SETTLE};
use crate::harness::network::Network;
use crate::harness::received;
use crate::harness::snapshot::{client_snapshot, ClientSnapshot};
use crate::net::{Client, TcpConnector};
use crate::protocol::{PacketSummary, QoS};
use crate::scenario::model::{Scenario, Step};
use crate::scenario::values::normative_ids;
use crate::trace::TraceEvent;

/// A difference between what the scenario expects and what the broker did.
pub type Deviation = Failure;

/// What one run observed.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub deviation: Option<Deviation>,
    /// Each client's CONNACKs and received messages at the end, namespace stripped.
    pub clients: BTreeMap<String, ClientSnapshot>,
    /// The run's trace, namespace stripped.
    pub trace: Vec<TraceEvent>,
    pub elapsed: Duration,
}

/// Runs `scenario` against `target` in `namespace`; `recorded` is its stored snapshot, compared
/// when given. Fails only if the target's launcher cannot start a broker for it.
pub async fn run(
    scenario: &Scenario,
    target: &Target,
    namespace: Namespace,
    recorded: Option<&Recorded>,
) -> Result<RunOutput, LaunchError> {
    let started = Instant::now();
    let process = match &target.launcher {
        Some(launcher) => {
            let mut settings = Config::default();
            scenario.broker.apply(&mut settings);
            Some(BrokerProcess::launch(launcher.clone(), &settings, &scenario.broker).await?)
        }
        None => None,
    };
    let launched = process.is_some();
    let mut net = match TcpNetwork::start(target, namespace, scenario.clients.keys(), process, scenario.seed).await {
        Ok(net) => net,
        Err(e) => {
            let deviation = Some(Failure::of_run(e.to_string(), "a network mqtt-sim check can set up", ""));
            return Ok(RunOutput { deviation, clients: BTreeMap::new(), trace: vec![], elapsed: started.elapsed() });
        }
    };
    let mut failures = match run_steps(&mut net, scenario).await {
        Ok(found) => found,
        Err(e) => vec![Failure::of_run(e.to_string(), "a step mqtt-sim check can perform", "")],
    };
    if let Some(exit) = net.broker_exited() {
        // What went wrong after the broker died follows from its death.
        failures = vec![Failure::of_run(
            "the broker process exited during the scenario, without a crash_broker step",
            "the broker keeps running",
            exit,
        )];
    }
    if failures.is_empty() {
        let step = format!("settle {} ms, then compare with the recorded snapshot", SETTLE.as_millis());
        net.note(|ms| TraceEvent::Step { ms, step });
        tokio::time::sleep(SETTLE).await;
        if let Some(recorded) = recorded {
            let differences = || {
                let publishers = received::publishers(&net.trace().events());
                recorded::differences(scenario, recorded, &observed(&net), &publishers)
            };
            if let Some((expected, observed, blame)) = eventually(differences).await {
                // Under the statements the kind of difference breaks, else the scenario's.
                let spec: Vec<String> = if blame.is_empty() {
                    scenario.spec.iter().map(|s| s.0.clone()).collect()
                } else {
                    blame.iter().map(|s| s.to_string()).collect()
                };
                failures.push(
                    Failure::of_run(
                        "at the end, what the clients saw differs from the simulation's reviewed snapshot",
                        expected,
                        observed,
                    )
                    .under(&spec),
                );
            }
        }
    }
    let clients = observed(&net);
    let step = "end of the run: the clients disconnect".to_owned();
    net.note(|ms| TraceEvent::Step { ms, step });
    let namespace = net.namespace().clone();
    let trace = net.stop().await;
    if !launched {
        cleanup(scenario, target, &namespace).await;
    }
    let trace: Vec<TraceEvent> = trace.events().into_iter().map(|e| strip(e, &namespace)).collect();
    failures.extend(broken_invariants(&trace, true));
    let deviation = Failure::first_of(failures.into_iter().map(broker_statements).collect());
    Ok(RunOutput { deviation, clients, trace, elapsed: started.elapsed() })
}

/// A broker's deviation is reported under statements that bind the server: a statement only a
/// client must keep ("client" in the list of normative statements) is left out, unless nothing
/// else is named. Our own client's conformance is the simulation's to check.
fn broker_statements(failure: Failure) -> Failure {
    let binds_server = |id: &String| normative_ids().any(|(i, binds, _)| i == id && binds != "client");
    if failure.spec.iter().any(binds_server) {
        let spec: Vec<String> = failure.spec.iter().filter(|id| binds_server(id)).cloned().collect();
        return failure.under(&spec);
    }
    failure
}

/// What each client saw, as snapshots write it.
fn observed(net: &TcpNetwork) -> BTreeMap<String, ClientSnapshot> {
    net.records().iter().map(|(name, r)| (name.clone(), client_snapshot(r))).collect()
}

/// Polls `differs` until it reports nothing or `GRACE` has passed; returns its last report.
async fn eventually<T>(mut differs: impl FnMut() -> Option<T>) -> Option<T> {
    let until = Instant::now() + GRACE;
    loop {
        let found = differs()?;
        if Instant::now() >= until {
            return Some(found);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Removes the run's namespace from a trace event's packet, so charts read as the scenario does.
fn strip(event: TraceEvent, ns: &Namespace) -> TraceEvent {
    let names = |packet: PacketSummary| packet.map_names(|t| ns.strip_topic(t), |id| ns.strip_client_id(id));
    match event {
        TraceEvent::Send { ms, host, peer, packet } => TraceEvent::Send { ms, host, peer, packet: names(packet) },
        TraceEvent::Recv { ms, host, peer, packet } => TraceEvent::Recv { ms, host, peer, packet: names(packet) },
        other => other,
    }
}

/// Leaves the broker as the run found it: every client id of the run connects once with clean
/// session 1, which discards a persistent session left behind (section 3.1.2.4), and every topic
/// the run retained a message on gets an empty retained message, which clears it
/// (section 3.3.1.3). Failures are ignored: the names are unique to the run anyway.
async fn cleanup(scenario: &Scenario, target: &Target, ns: &Namespace) {
    let options = |id: String| ClientOptions {
        username: target.username.clone(),
        password: target.password.clone().map(Bytes::from),
        ..ClientOptions::new(id, true)
    };
    let connector = TcpConnector(target.addr.clone());
    let ids: BTreeSet<String> = scenario
        .clients
        .iter()
        .map(|(name, c)| ns.client_id(c.client_id.as_deref().unwrap_or(name)))
        .filter(|id| !id.is_empty())
        .collect();
    for id in ids {
        let connected =
            tokio::time::timeout(COMMAND_TIMEOUT, Client::connect(connector.clone(), options(id), None)).await;
        if let Ok(Ok((client, _events))) = connected {
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.disconnect()).await;
        }
    }
    let wills =
        scenario.clients.values().filter_map(|c| c.will.as_ref()).filter(|w| w.retain).map(|w| w.topic.0.clone());
    let published = scenario.steps.iter().filter_map(|s| match s {
        Step::Publish(p) if p.retain => Some(p.topic.0.clone()),
        _ => None,
    });
    let retained: BTreeSet<String> = wills.chain(published).map(|t| ns.topic(&t)).collect();
    if retained.is_empty() {
        return;
    }
    let cleaner = options(ns.client_id("-cleanup"));
    let connected = tokio::time::timeout(COMMAND_TIMEOUT, Client::connect(connector, cleaner, None)).await;
    if let Ok(Ok((client, _events))) = connected {
        for topic in retained {
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.publish(topic, Bytes::new(), QoS::AtLeastOnce, true))
                .await;
        }
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.disconnect()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brokers_deviation_names_no_client_only_statement_unless_it_is_all_there_is() {
        let under =
            |ids: &[&str]| Failure::of_run("x", "", "").under(&ids.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // MQTT-4.5.0-2 binds the client only; MQTT-4.4.0-1 both.
        assert_eq!(broker_statements(under(&["MQTT-4.4.0-1", "MQTT-4.5.0-2"])).spec, ["MQTT-4.4.0-1"]);
        assert_eq!(broker_statements(under(&["MQTT-4.5.0-2"])).spec, ["MQTT-4.5.0-2"]);
    }
}
