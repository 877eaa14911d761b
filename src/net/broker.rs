//! The broker driver: one task owns the sans-IO [`Broker`]; an accept task hands it new streams;
//! one task per connection reads and decodes packets for it and writes what it sends. The
//! broker task runs the fixed loop: take one input, hand it to the broker, route its actions to
//! the connection tasks, log its events, re-arm the timer.
//!
//! Backlog: the broker task counts the packets it routed to each connection task and the
//! connection task reports how many it has written after each write; the difference goes to
//! `Broker::handle_backlog`, which stops sending to a client that does not read once
//! `max_queued_messages` packets wait (see "Slow readers" in `broker`). So the channel to a
//! connection task holds at most about that many packets, and a connection task whose write is
//! stuck stops reading its client, which bounds the answers the client's own packets cause.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::framed::{PacketReader, PacketWriter, ReadError};
use super::Listener;
use crate::broker::{Action, Broker, CloseReason, Config, ConnId, DropReason, Event};
use crate::persist::{LoadError, Persister, Storage};
use crate::protocol::Packet;
use crate::time::Time;

/// What connection tasks and the accept task tell the broker task.
enum Input<Io> {
    Accepted(Io, SocketAddr),
    Packet(ConnId, Packet),
    ReadFailed(ConnId, ReadError),
    Closed(ConnId),
    /// The connection task wrote this many packets to its transport.
    Written(ConnId, usize),
}

/// What the broker task tells one connection task. The packet is boxed: each connection's
/// channel allocates its first block of 32 slots when it is created, and a `Packet` is 152 bytes
/// (CONNECT is inline), so unboxed that was 5 KiB for every connection, idle or not.
enum Output {
    Packet(Box<Packet>),
    Close,
}

/// Watches a running broker: its events as they happen, and its state after each step of the
/// driver loop. The simulation uses this for traces and snapshots; `run_broker` logs instead.
pub trait BrokerMonitor: Send + 'static {
    /// An event from the broker, at `now`.
    fn on_event(&mut self, now: Time, event: &Event);
    /// Called after every loop iteration, once the broker's outputs have been drained.
    fn on_step(&mut self, broker: &Broker);
    /// Completes when the monitor wants an extra loop iteration (to look at the broker now).
    fn wakeup(&self) -> impl Future<Output = ()> + Send + '_ {
        std::future::pending()
    }
}

struct LogOnly;

impl BrokerMonitor for LogOnly {
    fn on_event(&mut self, _now: Time, event: &Event) {
        log_event(event);
    }
    fn on_step(&mut self, _broker: &Broker) {}
}

/// Durable mode: the most inputs one turn of the loop handles before its commit.
const GROUP: usize = 256;

/// How a broker's driver ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A clean shutdown (mosquitto's SIGINT or SIGTERM): the persistence file is saved first.
    Shutdown,
    /// A crash, as the simulation makes one: the connections close, nothing is saved.
    Crash,
}

/// The broker's persistence (`persistence true` and its options): where its file is and the
/// wall clock its times are kept in (Unix time over TCP, the simulation's clock in a world).
pub struct Persistence {
    pub persister: Persister<Box<dyn Storage>>,
    pub wall_ms: Box<dyn Fn() -> u64 + Send>,
    /// How long a sync takes, where the storage's sync is instant but a real one is not (the
    /// simulated disk): the driver waits that long between writing a commit and syncing it, and
    /// a crash in between loses the commit.
    pub sync_delay: Option<std::time::Duration>,
}

/// Serves MQTT on `listener` until `shutdown` completes, then drops every connection.
///
/// Works on any [`Listener`]: tokio TCP for `mqtt-sim broker`, turmoil TCP in the simulation.
pub async fn run_broker<L: Listener>(listener: L, config: Config, shutdown: impl Future<Output = ()>) {
    let shutdown = async {
        shutdown.await;
        Stop::Shutdown
    };
    // Without persistence nothing is loaded, so nothing can fail to load.
    let _ = run_broker_monitored(listener, config, None, shutdown, LogOnly).await;
}

/// `run_broker` with persistence: loads the broker from its file, saves it as the options say
/// and when `shutdown` says `Stop::Shutdown`. Refuses to start from a file it cannot read.
pub async fn run_broker_persistent<L: Listener>(
    listener: L,
    config: Config,
    persistence: Persistence,
    shutdown: impl Future<Output = Stop>,
) -> Result<(), LoadError> {
    run_broker_monitored(listener, config, Some(persistence), shutdown, LogOnly).await
}

/// `run_broker`, with persistence if given, reporting to `monitor` as well as logging.
pub async fn run_broker_monitored<L: Listener>(
    mut listener: L,
    config: Config,
    mut persistence: Option<Persistence>,
    shutdown: impl Future<Output = Stop>,
    mut monitor: impl BrokerMonitor,
) -> Result<(), LoadError> {
    let epoch = Instant::now();
    let now = move || Time::from_duration(epoch.elapsed());
    let max_packet_size = config.packet_size_limit();
    let mut broker = match &mut persistence {
        Some(p) => {
            let broker = p.persister.load(config, now(), (p.wall_ms)())?;
            if p.persister.conf().enabled {
                tracing::info!("restored {} sessions from {}", broker.session_count(), p.persister.path().display());
            }
            broker
        }
        None => Broker::new(config),
    };
    // What the restore reports (the sessions it brought back) comes before any input.
    if let Some(p) = persistence.as_mut() {
        if p.persister.durable() {
            monitor.on_event(now(), &Event::Durable);
        }
        for repair in p.persister.take_repairs() {
            monitor.on_event(now(), &repair);
        }
    }
    while let Some(event) = broker.poll_event() {
        monitor.on_event(now(), &event);
    }
    let (input_tx, mut inputs) = mpsc::unbounded_channel::<Input<L::Io>>();
    // Connection tasks end with their connection's id, so the loop can forget them: a finished
    // task's memory is freed only once the `JoinSet` has handed it back and its `AbortHandle`
    // is dropped. The accept task ends with `None` (it only ends on shutdown).
    let mut tasks: JoinSet<Option<ConnId>> = JoinSet::new();
    let accept_tx = input_tx.clone();
    tasks.spawn(async move {
        loop {
            match listener.accept().await {
                Ok((io, addr)) => {
                    if accept_tx.send(Input::Accepted(io, addr)).is_err() {
                        return None;
                    }
                }
                Err(e) => {
                    // Usually a transient resource shortage (EMFILE); keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    });
    let mut outputs: BTreeMap<ConnId, mpsc::UnboundedSender<Output>> = BTreeMap::new();
    let mut conn_tasks: BTreeMap<ConnId, tokio::task::AbortHandle> = BTreeMap::new();
    let mut peers: BTreeMap<ConnId, SocketAddr> = BTreeMap::new();
    // Packets routed to each connection task and not yet reported written.
    let mut pending: BTreeMap<ConnId, usize> = BTreeMap::new();
    tokio::pin!(shutdown);
    loop {
        while let Some(finished) = tasks.try_join_next() {
            if let Ok(Some(conn)) = finished {
                conn_tasks.remove(&conn);
            }
        }
        let save_at = persistence.as_ref().and_then(|p| p.persister.next_save());
        let deadline = match (broker.poll_timeout(), save_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(epoch + at.since_epoch()).await,
                None => std::future::pending().await,
            }
        };
        let mut next = None;
        tokio::select! {
            biased;
            stop = &mut shutdown => {
                if let (Stop::Shutdown, Some(p)) = (stop, &mut persistence) {
                    save(p, &broker, now(), &mut monitor);
                }
                break;
            }
            input = inputs.recv() => {
                let Some(input) = input else { break };
                next = Some(input);
            }
            () = timer => {
                // The deadline may be the next save's, not the broker's.
                if broker.poll_timeout().is_some_and(|at| at <= now()) {
                    broker.handle_timeout(now());
                }
            }
            () = monitor.wakeup() => {}
        }
        // In durable mode the inputs already waiting join this turn, so they share its commit and
        // its one sync (group commit); at most `GROUP` of them, so the acknowledgements of a turn
        // are not held back for long by a flood.
        let group = if persistence.as_ref().is_some_and(|p| p.persister.durable()) { GROUP } else { 1 };
        let mut handled = 0;
        while let Some(input) = next.take() {
            match input {
                Input::Accepted(io, addr) => {
                    let conn = broker.handle_connection_opened(now());
                    let (tx, rx) = mpsc::unbounded_channel();
                    outputs.insert(conn, tx);
                    peers.insert(conn, addr);
                    tracing::debug!(%conn, %addr, "connection opened");
                    let task = connection(conn, io, rx, input_tx.clone(), max_packet_size);
                    let task = tasks.spawn(async move {
                        task.await;
                        Some(conn)
                    });
                    conn_tasks.insert(conn, task);
                }
                Input::Packet(conn, packet) => broker.handle_packet(conn, packet, now()),
                Input::ReadFailed(conn, ReadError::Decode(err)) => broker.handle_decode_error(conn, err, now()),
                Input::ReadFailed(conn, err) => {
                    tracing::debug!(%conn, "read failed: {err}");
                    broker.handle_connection_lost(conn, now());
                    outputs.remove(&conn);
                    peers.remove(&conn);
                    pending.remove(&conn);
                }
                Input::Closed(conn) => {
                    broker.handle_connection_lost(conn, now());
                    outputs.remove(&conn);
                    peers.remove(&conn);
                    pending.remove(&conn);
                }
                Input::Written(conn, n) => {
                    if let Some(p) = pending.get_mut(&conn) {
                        *p = p.saturating_sub(n);
                        broker.handle_backlog(conn, *p);
                    }
                }
            }
            handled += 1;
            if handled < group {
                next = inputs.try_recv().ok();
            }
        }
        // Durable mode: what this turn changed is committed (written, then synced) before the
        // acknowledgements it caused go out; inputs that arrive meanwhile wait for the next turn
        // and its commit (group commit).
        let ack_before_sync = ack_before_sync(&broker);
        if let Some(p) = persistence.as_mut().filter(|p| p.persister.durable() && !ack_before_sync) {
            if let Some(stop) = commit(p, &broker, now(), shutdown.as_mut()).await? {
                stopped(stop, p, &broker, now(), &mut monitor);
                break;
            }
        }
        while let Some(action) = broker.poll_action() {
            match action {
                Action::Send { conn, packet } => {
                    if let Some(tx) = outputs.get(&conn) {
                        let _ = tx.send(Output::Packet(Box::new(packet)));
                        *pending.entry(conn).or_insert(0) += 1;
                    }
                }
                Action::Close { conn, reason } => {
                    if let Some(tx) = outputs.remove(&conn) {
                        let _ = tx.send(Output::Close);
                    }
                    pending.remove(&conn);
                    log_close(conn, peers.remove(&conn).as_ref(), &reason);
                }
            }
        }
        if let Some(p) = persistence.as_mut().filter(|p| p.persister.durable() && ack_before_sync) {
            if let Some(stop) = commit(p, &broker, now(), shutdown.as_mut()).await? {
                stopped(stop, p, &broker, now(), &mut monitor);
                break;
            }
        }
        while let Some(event) = broker.poll_event() {
            monitor.on_event(now(), &event);
        }
        monitor.on_step(&broker);
        if let Some(p) = persistence.as_mut().filter(|p| p.persister.due(&broker, now())) {
            save(p, &broker, now(), &mut monitor);
        }
        // Durable mode: a long log is folded into a new snapshot, after the acknowledgements
        // (which depend on the log only).
        if let Some(p) = persistence.as_mut().filter(|p| p.persister.compaction_due()) {
            if let Some(stop) = compact(p, shutdown.as_mut(), &mut monitor, now()).await? {
                stopped(stop, p, &broker, now(), &mut monitor);
                break;
            }
        }
    }
    // Stop every connection in id order and wait until each is gone, so the sockets close in a
    // fixed order (the runtime's own teardown order depends on process-wide task ids, which
    // would make a simulated crash differ from run to run).
    for task in conn_tasks.values() {
        task.abort();
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Durable mode: commits what changed to the log and syncs it, taking the sync's time. A log
/// that cannot be written or synced stops the broker: it could no longer keep the promise its
/// acknowledgements make.
///
/// A stop that comes while the sync takes its time is returned: a crash then leaves the commit
/// unsynced (lost), a clean shutdown lets it finish first.
async fn commit(
    p: &mut Persistence,
    broker: &Broker,
    now: Time,
    shutdown: std::pin::Pin<&mut impl Future<Output = Stop>>,
) -> Result<Option<Stop>, LoadError> {
    let wall = (p.wall_ms)();
    let failed = io_failed(p.persister.log_path());
    let mut stop = None;
    if p.persister.begin_commit(broker, now, wall).map_err(&failed)? {
        stop = pause(p.sync_delay, shutdown).await;
        if stop == Some(Stop::Crash) {
            return Ok(stop);
        }
        p.persister.finish_commit().map_err(&failed)?;
    }
    Ok(stop)
}

/// Durable mode: folds the log into a new snapshot, in the three steps a crash may fall
/// between (the new snapshot written, then synced and renamed over the old one, then the log
/// emptied), each sync taking `sync_delay`. Any of them leaves files a recovery reads the
/// whole committed state from. A stop during a sync is returned as `commit` does.
async fn compact(
    p: &mut Persistence,
    mut shutdown: std::pin::Pin<&mut impl Future<Output = Stop>>,
    monitor: &mut impl BrokerMonitor,
    now: Time,
) -> Result<Option<Stop>, LoadError> {
    let wall = (p.wall_ms)();
    let snapshot = io_failed(p.persister.path());
    p.persister.compact_write(wall).map_err(&snapshot)?;
    let mut stop = pause(p.sync_delay, shutdown.as_mut()).await;
    if stop == Some(Stop::Crash) {
        return Ok(stop);
    }
    p.persister.compact_install().map_err(&snapshot)?;
    if stop.is_none() {
        stop = pause(p.sync_delay, shutdown).await;
        if stop == Some(Stop::Crash) {
            return Ok(stop);
        }
    }
    let commits = p.persister.compact_truncate().map_err(io_failed(p.persister.log_path()))?;
    monitor.on_event(now, &Event::Compacted { commits });
    Ok(stop)
}

/// Waits `delay` (the simulated disk's sync time; none over real TCP, where the sync itself
/// takes its time), unless `shutdown` comes first: then returns how it stops.
async fn pause(
    delay: Option<std::time::Duration>,
    shutdown: std::pin::Pin<&mut impl Future<Output = Stop>>,
) -> Option<Stop> {
    let delay = delay?;
    tokio::select! {
        biased;
        s = shutdown => Some(s),
        () = tokio::time::sleep(delay) => None,
    }
}

fn io_failed(path: std::path::PathBuf) -> impl Fn(std::io::Error) -> LoadError {
    move |error| LoadError::Io { path: path.clone(), error }
}

/// The driver was told to stop: on a clean shutdown the state is saved first.
fn stopped(stop: Stop, p: &mut Persistence, broker: &Broker, now: Time, monitor: &mut impl BrokerMonitor) {
    if stop == Stop::Shutdown {
        save(p, broker, now, monitor);
    }
}

/// Whether the broker runs with the `ack-before-sync` bug (feature `mutants`).
fn ack_before_sync(broker: &Broker) -> bool {
    #[cfg(feature = "mutants")]
    return broker.config().mutant == Some(crate::mutants::Mutant::AckBeforeSync);
    #[cfg(not(feature = "mutants"))]
    {
        let _ = broker;
        false
    }
}

/// Saves the broker's state; a failure is logged and the broker goes on, as mosquitto does
/// ("Error saving in-memory database"): the next save tries again.
fn save(p: &mut Persistence, broker: &Broker, now: Time, monitor: &mut impl BrokerMonitor) {
    let wall = (p.wall_ms)();
    match p.persister.save(broker, now, wall) {
        Ok(Some(event)) => monitor.on_event(now, &event),
        Ok(None) => {}
        Err(e) => tracing::error!("cannot save the broker's state to {}: {e}", p.persister.path().display()),
    }
}

/// One connection: reads and decodes packets for the broker task, writes what it is sent, and
/// closes when told or when the peer goes away.
async fn connection<Io: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    conn: ConnId,
    io: Io,
    mut rx: mpsc::UnboundedReceiver<Output>,
    tx: mpsc::UnboundedSender<Input<Io>>,
    max_packet_size: usize,
) {
    let (read_half, write_half) = tokio::io::split(io);
    let mut reader = PacketReader::new(read_half, max_packet_size);
    let mut writer = PacketWriter::new(write_half);
    let mut reading = true;
    loop {
        tokio::select! {
            biased;
            out = rx.recv() => {
                let mut close = matches!(out, None | Some(Output::Close));
                let mut batch = 0;
                if let Some(Output::Packet(packet)) = out {
                    queue_or_log(&mut writer, conn, &packet);
                    batch += 1;
                    // Batch whatever else is already waiting into the same write.
                    while let Ok(more) = rx.try_recv() {
                        match more {
                            Output::Packet(packet) => { queue_or_log(&mut writer, conn, &packet); batch += 1; }
                            Output::Close => { close = true; break; }
                        }
                    }
                }
                let written = if close { writer.shutdown().await } else { writer.flush().await };
                if close {
                    return;
                }
                if let Err(e) = written {
                    let _ = tx.send(Input::ReadFailed(conn, ReadError::Io(e)));
                    return;
                }
                let _ = tx.send(Input::Written(conn, batch));
            }
            read = reader.read_packet(), if reading => match read {
                Ok(Some(packet)) => {
                    // The CONNECT names the version both directions speak from now on.
                    if let Packet::Connect(c) = &packet {
                        reader.set_version(c.protocol.version());
                        writer.set_version(c.protocol.version());
                    }
                    let _ = tx.send(Input::Packet(conn, packet));
                }
                Ok(None) => { reading = false; let _ = tx.send(Input::Closed(conn)); }
                Err(e) => { reading = false; let _ = tx.send(Input::ReadFailed(conn, e)); }
            },
        }
    }
}

fn queue_or_log<W: AsyncWrite + Unpin>(writer: &mut PacketWriter<W>, conn: ConnId, packet: &Packet) {
    if let Err(e) = writer.queue(packet) {
        // The broker only builds packets the codec accepts; this would be a bug of ours.
        tracing::error!(%conn, "could not encode {packet:?}: {e}");
    }
}

fn log_close(conn: ConnId, addr: Option<&SocketAddr>, reason: &CloseReason) {
    let addr = addr.map(|a| a.to_string()).unwrap_or_default();
    match reason {
        CloseReason::ClientDisconnected => tracing::debug!(%conn, %addr, "closing: {reason}"),
        _ => tracing::info!(%conn, %addr, "closing: {reason}"),
    }
}

/// Logs a broker event with tracing.
pub fn log_event(event: &Event) {
    match event {
        Event::Connected { conn, client_id, clean_session, session_present } => {
            tracing::info!(%conn, client_id, clean_session, session_present, "client connected")
        }
        Event::Disconnected { conn, client_id, reason } => {
            tracing::info!(%conn, client_id = client_id.as_deref().unwrap_or("-"), %reason, "client disconnected")
        }
        Event::SessionDiscarded { client_id } => tracing::debug!(client_id, "session discarded"),
        Event::Durable => tracing::info!("durable mode: acknowledgements wait for the log's sync"),
        Event::Saved { sessions, messages, retained } => {
            tracing::debug!("saved the broker's state: {sessions} sessions, {messages} messages, {retained} retained")
        }
        Event::LogRepaired { at, dropped, problem } => tracing::warn!(
            "{problem}: cut {dropped} bytes from byte {at} (a commit a crash cut short was never acknowledged)"
        ),
        Event::Compacted { commits } => tracing::debug!("folded {commits} commits of the log into a new snapshot"),
        Event::SessionRestored { client_id, messages, .. } => {
            tracing::debug!(client_id, messages, "session restored from disk")
        }
        Event::WillPublished { client_id, topic } => tracing::info!(client_id, topic, "will published"),
        // One line per message would flood the log exactly when a client cannot keep up.
        Event::Dropped { client_id, topic, qos, reason: reason @ DropReason::SlowClient } => {
            tracing::debug!(client_id, topic, %qos, reason = reason.as_str(), "message dropped")
        }
        Event::Dropped { client_id, topic, qos, reason } => {
            tracing::warn!(client_id, topic, %qos, reason = reason.as_str(), "message dropped")
        }
        Event::PublishRefused { client_id, topic, reason } => {
            tracing::warn!(client_id, topic, %reason, reason_name = reason.name(), "publish refused")
        }
        Event::WillDelayed { client_id, topic, until } => {
            tracing::info!(client_id, topic, until = ?until, "will delayed")
        }
        Event::WillCancelled { client_id, topic } => tracing::info!(client_id, topic, "delayed will cancelled"),
        Event::IncomingPacketIdReused { client_id, pkid, replaced_topic, topic } => {
            tracing::warn!(client_id, %pkid, replaced_topic, topic, "packet id reused: held QoS 2 message discarded")
        }
    }
}
