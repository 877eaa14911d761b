//! The fault-injecting proxy of `mqtt-sim check`. Each scenario client reaches the broker under
//! test through a loopback TCP proxy of its own (a [`Link`], bound to 127.0.0.1 port 0), which
//! performs the scenario's network faults with the simulation's meaning (docs/scenarios.md,
//! "Faults"), so a verdict does not depend on which network ran the scenario:
//! - `partition` (both ways, `to_broker`, `from_broker`): bytes sent across the cut are lost.
//!   turmoil's TCP never retransmits, so a stream that lost bytes in one direction stays stuck
//!   in that direction after `heal`: its later bytes and its FIN never arrive. A stream that sent
//!   nothing across the cut works again after `heal`. New connections are refused during a
//!   partition.
//! - `hold` / `release`: bytes wait, and arrive all at once, in order, at release; a connection
//!   opened during a hold completes at release.
//! - `latency`: every chunk arrives this much later, in order (one way; a round trip takes twice).
//!   A partition that starts while a chunk is on its way loses it, as in the simulation.
//! - `packet_loss`: each chunk read is lost with the given probability (the simulation draws per
//!   1 ms tick instead), and the stream is then stuck as after a partition: TCP cannot lose a
//!   segment and go on, so a loss is a silent stall, as in the simulation.
//!
//! The proxy also records the broker's side of every connection in the run's trace, decoded with
//! our codec as the simulation's broker tap does: what the broker sent, when it sent it, and what
//! reached it, when it arrived, and when the broker closed its end of the connection, and whether
//! that close came after the proxy had delivered the client's own close (its FIN) to the broker:
//! the client's note of its close is written by another task than the proxy's, so the trace
//! alone cannot order the two. The client's side is recorded by the client's own tap.
//!
//! Real-time code for `check` only; nothing here runs inside the simulation.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use crate::harness::tap::{PacketRecorder, Tap};
use crate::net::Connector;
use crate::trace::{BrokerEvent, Direction, Trace, TraceEvent, BROKER};

/// The faults on a link now.
#[derive(Debug, Clone, Default)]
struct Faults {
    cut: Option<Direction>,
    held: bool,
    latency: Duration,
    loss: f64,
}

impl Faults {
    fn cuts(&self, way: Way) -> bool {
        matches!(
            (self.cut, way),
            (Some(Direction::Both), _)
                | (Some(Direction::ToBroker), Way::Up)
                | (Some(Direction::FromBroker), Way::Down)
        )
    }
}

/// A direction of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// From the client to the broker.
    Up,
    /// From the broker to the client.
    Down,
}

/// What the proxy knows of one link, shared by its connections.
struct Shared {
    /// The client's name in the scenario, the broker's peer in the trace.
    client: String,
    /// The broker's `HOST:PORT`.
    broker: String,
    trace: Trace,
    faults: watch::Receiver<Faults>,
    /// Draws packet losses; seeded, so a run's choices can be repeated.
    rng: Mutex<fastrand::Rng>,
}

/// One client's link to the broker: a proxy listening on loopback, and the faults on it.
/// Dropping it ends every connection it carries.
pub struct Link {
    addr: SocketAddr,
    faults: watch::Sender<Faults>,
    accept: JoinHandle<()>,
}

impl Link {
    /// Starts the proxy for `client` to the broker at `broker`; `seed` seeds its packet losses.
    pub async fn start(client: &str, broker: &str, trace: &Trace, seed: u64) -> io::Result<Link> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (faults, watching) = watch::channel(Faults::default());
        let shared = Arc::new(Shared {
            client: client.to_owned(),
            broker: broker.to_owned(),
            trace: trace.clone(),
            faults: watching,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        });
        let accept = tokio::spawn(accept_loop(listener, shared));
        Ok(Link { addr, faults, accept })
    }

    /// A connector that opens the client's connections through this link, tapping them into
    /// `trace` as `host`'s.
    pub fn connector(&self, host: &str, trace: &Trace) -> ProxyConnector {
        ProxyConnector { addr: self.addr, faults: self.faults.subscribe(), host: host.to_owned(), trace: trace.clone() }
    }

    /// Cuts the link one way or both; replaces any earlier partition.
    pub fn partition(&self, direction: Direction) {
        self.faults.send_modify(|f| f.cut = Some(direction));
    }

    /// Repairs a partition; streams that lost bytes stay stuck.
    pub fn heal(&self) {
        self.faults.send_modify(|f| f.cut = None);
    }

    pub fn hold(&self) {
        self.faults.send_modify(|f| f.held = true);
    }

    pub fn release(&self) {
        self.faults.send_modify(|f| f.held = false);
    }

    pub fn set_latency(&self, latency: Duration) {
        self.faults.send_modify(|f| f.latency = latency);
    }

    /// Each chunk is lost with probability `rate` (0 turns losses off).
    pub fn set_packet_loss(&self, rate: f64) {
        self.faults.send_modify(|f| f.loss = rate.clamp(0.0, 1.0));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // The accept task owns every connection task: aborting it drops them, and their sockets.
        self.accept.abort();
    }
}

/// Opens a client's connections through its link, refusing them during a partition and
/// completing them only after a hold is released, as the simulation does.
#[derive(Clone)]
pub struct ProxyConnector {
    addr: SocketAddr,
    faults: watch::Receiver<Faults>,
    host: String,
    trace: Trace,
}

impl Connector for ProxyConnector {
    type Io = Tap<TcpStream>;

    fn connect(&self) -> impl Future<Output = io::Result<Self::Io>> + Send {
        let mut faults = self.faults.clone();
        let (addr, host, trace) = (self.addr, self.host.clone(), self.trace.clone());
        async move {
            if faults.borrow().cut.is_some() {
                return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "the link is partitioned"));
            }
            if faults.wait_for(|f| !f.held).await.is_err() {
                return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "the link is gone"));
            }
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(Tap::new(stream, host, BROKER.to_owned(), trace))
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(carry(stream, shared.clone()));
                }
                // Out of file descriptors, say: try again shortly rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Closes a connection with a reset, as a refused connection looks to its client.
fn refuse(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Carries one client connection to the broker and back, through the link's faults.
async fn carry(client: TcpStream, shared: Arc<Shared>) {
    if shared.faults.borrow().cut.is_some() {
        refuse(client);
        return;
    }
    let broker = match TcpStream::connect(&shared.broker).await {
        Ok(s) => s,
        Err(_) => {
            refuse(client);
            return;
        }
    };
    let _ = (client.set_nodelay(true), broker.set_nodelay(true));
    let recorder =
        Arc::new(Mutex::new(PacketRecorder::new(BROKER.to_owned(), shared.client.clone(), shared.trace.clone())));
    let (from_client, to_client) = client.into_split();
    let (from_broker, to_broker) = broker.into_split();
    // Set when the client's FIN is delivered to the broker, read when the broker's arrives:
    // shared by the two directions of this connection only.
    let client_fin_delivered = AtomicBool::new(false);
    tokio::join!(
        one_way(Way::Up, from_client, to_broker, &shared, &recorder, &client_fin_delivered),
        one_way(Way::Down, from_broker, to_client, &shared, &recorder, &client_fin_delivered),
    );
}

/// A chunk read, due for delivery at its instant; `None` is the end of the stream (a FIN).
struct Chunk {
    due: Instant,
    bytes: Option<Bytes>,
}

/// One direction of a connection: a reader that decides each chunk's fate when it is read, and
/// a writer that delivers the survivors when they are due and the link is not held.
/// `client_fin_delivered`: whether the client's FIN has reached the broker (set going up, read
/// going down).
async fn one_way(
    way: Way,
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    shared: &Shared,
    recorder: &Mutex<PacketRecorder>,
    client_fin_delivered: &AtomicBool,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::join!(
        read_side(way, from, tx, shared, recorder, client_fin_delivered),
        write_side(way, to, rx, shared, recorder, client_fin_delivered)
    );
}

async fn read_side(
    way: Way,
    mut from: OwnedReadHalf,
    tx: mpsc::UnboundedSender<Chunk>,
    shared: &Shared,
    recorder: &Mutex<PacketRecorder>,
    client_fin_delivered: &AtomicBool,
) {
    let mut stuck = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await.unwrap_or(0);
        if way == Way::Down && n > 0 {
            recorder.lock().expect("recorder lock").sent(&buf[..n]);
        }
        if way == Way::Down && n == 0 {
            // The broker closed its end: when, and after what, the trace shows; and whether the
            // client's own close had reached it, which the trace cannot show (the client's note
            // of it comes from another task, and may be written after this).
            let after_client_close = client_fin_delivered.load(Ordering::SeqCst);
            let event = BrokerEvent::ClosedConnection { client: shared.client.clone(), after_client_close };
            shared.trace.push(TraceEvent::Broker { ms: shared.trace.now_ms(), event });
        }
        let faults = shared.faults.borrow().clone();
        let lost = stuck
            || faults.cuts(way)
            || (n > 0 && faults.loss > 0.0 && shared.rng.lock().expect("rng lock").f64() < faults.loss);
        if lost {
            // A gap in the stream: nothing after it arrives, its FIN included.
            stuck = true;
            if n == 0 {
                return;
            }
            continue;
        }
        let due = Instant::now() + faults.latency;
        let bytes = (n > 0).then(|| Bytes::copy_from_slice(&buf[..n]));
        if tx.send(Chunk { due, bytes }).is_err() || n == 0 {
            return;
        }
    }
}

async fn write_side(
    way: Way,
    mut to: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Chunk>,
    shared: &Shared,
    recorder: &Mutex<PacketRecorder>,
    client_fin_delivered: &AtomicBool,
) {
    let mut faults = shared.faults.clone();
    while let Some(chunk) = rx.recv().await {
        tokio::time::sleep_until(chunk.due).await;
        if faults.wait_for(|f| !f.held).await.is_err() {
            return;
        }
        if faults.borrow().cuts(way) {
            // Cut while in flight (behind a latency, or held): lost, as the simulation loses
            // what is on the wire when a partition starts, and the stream is stuck from here.
            break;
        }
        let Some(bytes) = chunk.bytes else {
            // The client's FIN, delivered now (not while held, nor when lost to a partition):
            // a close of the broker's that follows answers it.
            if way == Way::Up {
                client_fin_delivered.store(true, Ordering::SeqCst);
            }
            let _ = to.shutdown().await;
            return;
        };
        if way == Way::Up {
            recorder.lock().expect("recorder lock").received(&bytes);
        }
        if to.write_all(&bytes).await.is_err() {
            return;
        }
    }
    // The reader stopped at a gap, or a chunk was lost in flight: like turmoil's stream, this one
    // neither delivers nor closes (dropping the write half would send a FIN) until the link ends.
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests;
