//! Running a scripted client's steps (`scenario::scripted`): `ack`, `send` and `stop_pinging`.
//! Each is a command to the client's agent, judged like any other command; a packet id variable
//! that its `wire:` expectation did not bind (because that expectation did not hold) is a
//! difference of its own, not a guess.

use std::time::Duration;

use super::agent::Command;
use super::executor::{connect_options, differs, judge, Difference};
use super::network::{Network, NetworkError};
use crate::client::AckKind;
use crate::protocol::{Packet, PacketId, PacketSummary};
use crate::scenario::model::{ConnectStep, Scenario, Step};
use crate::scenario::scripted::{AckStep, SendStep};
use crate::scenario::values::FromClientName;
use crate::scenario::wire::{Bindings, IdPattern};
use crate::trace::TraceEvent;

/// Runs one scripted step; `None` for a step of another kind.
pub(super) async fn execute<N: Network>(
    net: &mut N,
    scenario: &Scenario,
    step: &Step,
    bound: &Bindings,
    within: Duration,
) -> Option<Result<Difference, NetworkError>> {
    Some(match step {
        Step::Ack(a) => ack(net, a, bound, within).await,
        Step::Send(s) => send(net, scenario, s, bound, within).await,
        Step::StopPinging(c) => {
            let got = net.command(&c.client, |reply| Command::StopPinging { reply }).await;
            got.map(|got| judge(&format!("stop_pinging {}", c.client), &got, Default::default(), ("", ""), within))
        }
        _ => return None,
    })
}

async fn ack<N: Network>(
    net: &mut N,
    a: &AckStep,
    bound: &Bindings,
    within: Duration,
) -> Result<Difference, NetworkError> {
    let kind = AckKind::from(a.kind);
    let what = format!("ack {}: {}", a.client, kind.name());
    let pkid = match (&a.id, &a.message) {
        (None, Some(payload)) => match id_of_message(net, &a.client, kind, payload) {
            Some(id) => Some(id),
            None => {
                let packet = if kind == AckKind::Pubrel { "sent" } else { "received" };
                let expected = format!("a PUBLISH with payload {payload:?} the client {packet}");
                return Ok(Some(differs(what, expected, "none on its connection")));
            }
        },
        (None, None) => None,
        (Some(IdPattern::Exactly(n)), _) => PacketId::new(*n),
        (Some(IdPattern::Variable(v)), _) => match bound.get(v).and_then(|n| PacketId::new(*n)) {
            Some(id) => Some(id),
            None => return Ok(Some(unbound(what, v))),
        },
    };
    let got = net.command(&a.client, |reply| Command::Ack { kind, pkid, reply }).await?;
    Ok(judge(&what, &got, a.outcome.unwrap_or_default(), ("", ""), within))
}

async fn send<N: Network>(
    net: &mut N,
    scenario: &Scenario,
    s: &SendStep,
    bound: &Bindings,
    within: Duration,
) -> Result<Difference, NetworkError> {
    let what = format!("send {}: {}", s.client, s.packet.kind);
    let options = connect_options(net, scenario, &ConnectStep::from_client_name(s.client.clone()));
    let built = s.packet.build(bound, &|t| net.topic(t), || Packet::Connect(options.connect_packet()));
    let packet = match built {
        Ok(p) => p,
        Err(e) => return Ok(Some(differs(what, "a packet built from the step", e))),
    };
    let raw = scenario.clients[&s.client].break_client_rules;
    let got = net.command(&s.client, |reply| Command::Send { packet, raw, reply }).await?;
    Ok(judge(&what, &got, s.outcome.unwrap_or_default(), ("", ""), within))
}

/// The packet id of the latest PUBLISH with `payload` that `client` received (or, for a PUBREL,
/// sent: its own QoS 2 publication), from its end of the connection.
fn id_of_message<N: Network>(net: &N, client: &str, kind: AckKind, payload: &str) -> Option<PacketId> {
    let events = net.trace().events();
    events.iter().rev().find_map(|e| match e {
        TraceEvent::Recv { host, packet: PacketSummary::Publish(p), .. }
            if kind != AckKind::Pubrel && host == client && p.payload == payload =>
        {
            p.pkid.and_then(PacketId::new)
        }
        TraceEvent::Send { host, packet: PacketSummary::Publish(p), .. }
            if kind == AckKind::Pubrel && host == client && p.payload == payload =>
        {
            p.pkid.and_then(PacketId::new)
        }
        _ => None,
    })
}

/// A variable the step needs was never bound: the `wire:` expectation that names it did not hold.
fn unbound(what: String, variable: &str) -> super::executor::Differs {
    differs(
        what,
        format!("the packet id {variable}, bound by an earlier `wire:` expectation"),
        format!("{variable} is not bound: the expectation that names it did not hold"),
    )
}
