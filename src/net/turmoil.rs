//! Adapters that let the drivers run inside turmoil's simulated network: its listener and its
//! streams are tokio-compatible, so this is all the simulation needs from `net/`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use super::client::Connector;
use super::Listener;

impl Listener for turmoil::net::TcpListener {
    type Io = turmoil::net::TcpStream;

    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send {
        turmoil::net::TcpListener::accept(self)
    }
}

/// Connects over turmoil TCP to `host:port` (turmoil resolves host names itself).
#[derive(Debug, Clone)]
pub struct TurmoilConnector(pub String);

impl Connector for TurmoilConnector {
    type Io = turmoil::net::TcpStream;

    fn connect(&self) -> impl Future<Output = io::Result<Self::Io>> + Send {
        let addr = self.0.clone();
        async move { turmoil::net::TcpStream::connect(addr).await }
    }
}
