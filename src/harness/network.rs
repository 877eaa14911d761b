//! The one interface between the scenario executor and the network that carries a run: turmoil's
//! simulated world (`sim::World`) or real TCP against any broker (`check::TcpNetwork`). The
//! executor says what to do (send a client command, wait, inject a fault, look at the broker);
//! the network does it in its own time, simulated or real, and records it in its trace.
//!
//! A network that cannot do something says so (`NetworkError::Unsupported`, or
//! `BrokerState::NotObservable`) rather than pretending; what a scenario needs is checked before
//! it runs (`check::applicable`), so a run never reaches one of those in practice.

use std::future::Future;
use std::time::Duration;

use super::agent::{ClientRecord, Command, Reply};
use super::Outcome;
use crate::broker::BrokerView;
use crate::client::ClientOptions;
use crate::trace::{Fault, Trace, TraceEvent};

/// What a network could not do.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The network itself failed (a simulated host panicked, say): the run cannot go on.
    #[error("simulation failed: {0}")]
    Failed(String),
    /// The scenario named a client the network does not have.
    #[error("no client named {0:?}")]
    UnknownClient(String),
    /// This network cannot perform the step (a fault over real TCP, say).
    #[error("{0} cannot be performed on this network")]
    Unsupported(String),
}

/// What the network can tell of the broker's state now.
pub enum BrokerState {
    Up(Box<BrokerView>),
    /// The broker is down (crashed and not restarted).
    Down,
    /// The network cannot see inside the broker (a real broker over TCP).
    NotObservable,
}

/// A network a scenario runs on. Every method that takes time is async; the simulation's are
/// always ready at once (it steps its own clock), so a simulated run is driven without a runtime
/// (see `executor::run_ready`).
pub trait Network {
    /// Sends a command to `client`'s host and waits for the reply, at most the network's command
    /// timeout (then `Pending`: the command may still complete later).
    fn command<T: Send + 'static>(
        &mut self,
        client: &str,
        make: impl FnOnce(Reply<T>) -> Command + Send,
    ) -> impl Future<Output = Result<Outcome<T>, NetworkError>>;

    /// Sends a command to `client`'s host without waiting for it.
    fn send(&mut self, client: &str, command: Command) -> Result<(), NetworkError>;

    /// How long `command` waits for a reply before it reports `Pending`.
    fn command_timeout(&self) -> Duration;

    /// Lets `d` of the network's time pass.
    fn sleep(&mut self, d: Duration) -> impl Future<Output = Result<(), NetworkError>>;

    /// Injects a fault (recording it in the trace).
    fn fault(&mut self, fault: Fault) -> impl Future<Output = Result<(), NetworkError>>;

    /// What `client`'s application has seen so far.
    fn record(&self, client: &str) -> Result<ClientRecord, NetworkError>;

    /// The broker's state now.
    fn broker(&mut self) -> impl Future<Output = Result<BrokerState, NetworkError>>;

    /// The run's trace.
    fn trace(&self) -> &Trace;

    /// Milliseconds since the start of the run, on the network's clock.
    fn now_ms(&self) -> u64;

    /// Records an event at the current time.
    fn note(&self, event: impl FnOnce(u64) -> TraceEvent) {
        self.trace().push(event(self.now_ms()));
    }

    /// How long an expectation that does not hold yet is watched for late messages before it
    /// counts as failed: zero in simulation, where time stands still between steps; a little on
    /// a real network, where the scenario's waits are only a guess at the broker's speed.
    fn grace(&self) -> Duration {
        Duration::ZERO
    }

    /// The client id a scenario's client id is on this network (a run-unique namespace, say).
    fn client_id(&self, id: &str) -> String {
        id.to_owned()
    }

    /// The topic name or filter a scenario's topic is on this network.
    fn topic(&self, topic: &str) -> String {
        topic.to_owned()
    }

    /// The network's last word on a client's CONNECT options (the simulation switches on the
    /// world's mutant, with the `mutants` feature); as given by default.
    fn client_options(&self, options: ClientOptions) -> ClientOptions {
        options
    }

    /// The user name and password to present where the scenario gives none.
    fn credentials(&self) -> (Option<String>, Option<String>) {
        (None, None)
    }
}
