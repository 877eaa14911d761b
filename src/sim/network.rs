//! The simulated world as a [`Network`] for the scenario executor: each method is the world's
//! own, already complete when it returns (the world steps its simulated clock itself), so the
//! executor's futures are always ready and a run needs no async runtime.

use std::time::Duration;

use super::world::{World, WorldError};
use crate::harness::agent::{ClientRecord, Command, Reply};
use crate::harness::network::{BrokerState, Network, NetworkError};
use crate::harness::Outcome;
use crate::trace::{Fault, Trace};

impl From<WorldError> for NetworkError {
    fn from(e: WorldError) -> NetworkError {
        match e {
            WorldError::Sim(e) => NetworkError::Failed(e),
            WorldError::UnknownClient(c) => NetworkError::UnknownClient(c),
        }
    }
}

impl Network for World {
    async fn command<T: Send + 'static>(
        &mut self,
        client: &str,
        make: impl FnOnce(Reply<T>) -> Command + Send,
    ) -> Result<Outcome<T>, NetworkError> {
        Ok(World::command(self, client, make)?)
    }

    fn send(&mut self, client: &str, command: Command) -> Result<(), NetworkError> {
        Ok(World::send(self, client, command)?)
    }

    fn command_timeout(&self) -> Duration {
        self.config().command_timeout
    }

    async fn sleep(&mut self, d: Duration) -> Result<(), NetworkError> {
        Ok(World::sleep(self, d)?)
    }

    async fn fault(&mut self, fault: Fault) -> Result<(), NetworkError> {
        match fault {
            Fault::Partition { client, direction } => self.partition(&client, direction),
            Fault::Heal { client } => self.repair(&client),
            Fault::Hold { client } => self.hold(&client),
            Fault::Release { client } => self.release(&client),
            Fault::Latency { client, ms } => self.set_latency(&client, Duration::from_millis(ms)),
            Fault::PacketLoss { client, rate } => self.set_packet_loss(&client, rate),
            Fault::CrashBroker => self.crash_broker()?,
            Fault::RestartBroker => self.restart_broker()?,
            Fault::CrashClient { client } => self.crash_client(&client)?,
            Fault::RestartClient { client } => self.restart_client(&client)?,
            // A client command with an outcome: the executor sends `Command::Drop` itself.
            Fault::LoseConnection { .. } => return Err(NetworkError::Unsupported("lose_connection as a fault".into())),
        }
        Ok(())
    }

    fn record(&self, client: &str) -> Result<ClientRecord, NetworkError> {
        Ok(World::record(self, client)?)
    }

    async fn broker(&mut self) -> Result<BrokerState, NetworkError> {
        Ok(match self.broker_view()? {
            Some(view) => BrokerState::Up(Box::new(view)),
            None => BrokerState::Down,
        })
    }

    fn trace(&self) -> &Trace {
        World::trace(self)
    }

    fn now_ms(&self) -> u64 {
        self.elapsed().as_millis() as u64
    }

    #[cfg(feature = "mutants")]
    fn client_options(&self, options: crate::client::ClientOptions) -> crate::client::ClientOptions {
        crate::client::ClientOptions { mutant: self.config().mutant, ..options }
    }
}
