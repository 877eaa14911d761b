//! What runs on the simulated hosts besides the broker driver: the broker's listener and each
//! client's connector over turmoil TCP, tapping every stream into the trace, and a client host's
//! main future (the harness's agent, with its command channel refilled on a restart). The only
//! turmoil-specific code of the harness.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::harness::agent::{self, AgentContext, ClientRecord, Command};
use crate::harness::tap::Tap;
use crate::net::{Connector, Listener, TurmoilConnector};
use crate::trace::Trace;

/// The broker's listener, tapping each accepted stream.
pub struct TappedListener {
    pub inner: turmoil::net::TcpListener,
    pub host: String,
    pub trace: Trace,
}

impl Listener for TappedListener {
    type Io = Tap<turmoil::net::TcpStream>;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        let (io, addr) = self.inner.accept().await?;
        let peer = turmoil::reverse_lookup(addr.ip()).unwrap_or_else(|| addr.ip().to_string());
        Ok((Tap::new(io, self.host.clone(), peer, self.trace.clone()), addr))
    }
}

/// A client's connector to the broker host, tapping each stream it opens.
#[derive(Clone)]
pub struct TappedConnector {
    pub inner: TurmoilConnector,
    pub host: String,
    pub peer: String,
    pub trace: Trace,
}

impl Connector for TappedConnector {
    type Io = Tap<turmoil::net::TcpStream>;

    fn connect(&self) -> impl std::future::Future<Output = io::Result<Self::Io>> + Send {
        let (inner, host, peer, trace) = (self.inner.clone(), self.host.clone(), self.peer.clone(), self.trace.clone());
        async move {
            let io = inner.connect().await?;
            Ok(Tap::new(io, host, peer, trace))
        }
    }
}

/// State shared between the world and one simulated client host.
#[derive(Clone)]
pub struct AgentShared {
    pub name: String,
    pub broker: String,
    pub trace: Trace,
    pub record: Arc<Mutex<ClientRecord>>,
    /// The command receiver for the next start of the host (taken at start, refilled on restart).
    pub commands: Arc<Mutex<Option<mpsc::UnboundedReceiver<Command>>>>,
}

/// The simulated host's main future: the agent over turmoil TCP to the broker host.
pub async fn run(shared: AgentShared) -> turmoil::Result {
    let Some(commands) = shared.commands.lock().expect("agent lock").take() else {
        return Ok(());
    };
    let connector = TappedConnector {
        inner: TurmoilConnector(format!("{}:1883", shared.broker)),
        host: shared.name.clone(),
        peer: shared.broker.clone(),
        trace: shared.trace.clone(),
    };
    let context = AgentContext { name: shared.name, trace: shared.trace, record: shared.record, shown: None };
    agent::serve(commands, connector, context).await;
    Ok(())
}
