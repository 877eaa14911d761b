//! The drivers that await on the core's behalf (the harness and `check` await too, for their own
//! ends): they connect the sans-IO broker (and client) to byte streams. Everything here is
//! generic over tokio's `AsyncRead + AsyncWrite` and a small [`Listener`] trait, so the same drivers
//! serve real TCP and turmoil's simulated TCP.
//! A driver loop is fixed: read, handle, drain outputs, write, arm the next timer.

mod broker;
mod client;
mod client_driver;
mod framed;
mod turmoil;

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};

pub use self::turmoil::TurmoilConnector;
pub use broker::{
    log_event, run_broker, run_broker_monitored, run_broker_persistent, BrokerMonitor, Persistence, Stop,
};
pub use client::{
    Client, Connector, Error as ClientError, Events, ReconnectPolicy, SessionStore, TcpConnector, DISCONNECT_LINGER,
};
pub use framed::{PacketReader, PacketWriter, ReadError};

/// A source of accepted byte streams: tokio's `TcpListener`, turmoil's, or a test's.
pub trait Listener: Send + 'static {
    /// One accepted connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Waits for the next connection.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send;
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        let (stream, addr) = tokio::net::TcpListener::accept(self).await?;
        // MQTT packets are small and latency matters more than batching.
        stream.set_nodelay(true)?;
        Ok((stream, addr))
    }
}

/// Several TCP listeners as one (mosquitto.conf's several `listener` lines): accepts from
/// whichever has a connection first, trying them in order.
pub struct TcpListeners(pub Vec<tokio::net::TcpListener>);

impl Listener for TcpListeners {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, SocketAddr)> {
        let (stream, addr) = std::future::poll_fn(|cx| {
            for listener in &self.0 {
                if let std::task::Poll::Ready(accepted) = listener.poll_accept(cx) {
                    return std::task::Poll::Ready(accepted);
                }
            }
            std::task::Poll::Pending
        })
        .await?;
        stream.set_nodelay(true)?;
        Ok((stream, addr))
    }
}
