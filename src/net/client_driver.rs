//! The async client's task: it owns the sans-IO [`ClientSession`], connects through the
//! [`Connector`], reads and writes packets in the CONNECT's version, takes requests from the
//! [`super::Client`] handle, hands events to [`super::client::Events`], and reconnects by the
//! policy. One task per client; nothing else touches the session while it runs.

use std::collections::BTreeMap;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::client::{Error, ReconnectPolicy, Request, SessionStore, DISCONNECT_LINGER};
use super::framed::{PacketReader, PacketWriter};
use super::Connector;
use crate::client::{ClientAction, ClientError, ClientEvent, ClientOptions, ClientSession, CloseCause};
use crate::protocol::{Packet, PacketId, ReasonCode, SubackCode, Version, MAX_PACKET_SIZE};
use crate::time::Time;

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A connected stream, split for reading and writing.
struct Transport<Io> {
    reader: PacketReader<ReadHalf<Io>>,
    writer: PacketWriter<WriteHalf<Io>>,
}

impl<Io: AsyncRead + AsyncWrite + Unpin> Transport<Io> {
    /// A transport for a session with `options`: the reader refuses what is above our 5.0
    /// Maximum Packet Size, if we set one.
    fn new(io: Io, options: &ClientOptions) -> Transport<Io> {
        let (r, w) = tokio::io::split(io);
        let max = options.maximum_packet_size.map_or(MAX_PACKET_SIZE, |m| (m as usize).min(MAX_PACKET_SIZE));
        Transport { reader: PacketReader::new(r, max), writer: PacketWriter::new(w) }
    }

    /// Writes the session's queued packets; returns the cause if the session closed the
    /// transport (or `Disconnect` if writing failed).
    async fn apply(&mut self, session: &mut ClientSession, now: Time) -> Option<CloseCause> {
        let mut closed = None;
        while let Some(action) = session.poll_action() {
            match action {
                ClientAction::Send(packet) => {
                    if let Err(e) = self.writer.queue(&packet) {
                        tracing::error!("could not encode {packet:?}: {e}");
                    }
                    if let Packet::Connect(connect) = &packet {
                        // Every later packet, both ways, is in the version CONNECT asked for.
                        let version = connect.protocol.version();
                        self.writer.set_version(version);
                        self.reader.set_version(version);
                    }
                }
                ClientAction::SendRaw(bytes) => self.writer.queue_raw(&bytes),
                ClientAction::Close(cause) => {
                    closed = Some(cause);
                    break;
                }
            }
        }
        let written = match closed {
            Some(_) => self.writer.shutdown().await,
            None => self.writer.flush().await,
        };
        if written.is_err() && closed.is_none() {
            session.handle_connection_lost(now);
            return Some(CloseCause::Disconnect);
        }
        closed
    }
}

/// Requests waiting for the server.
#[derive(Default)]
struct Pending {
    publishes: BTreeMap<PacketId, oneshot::Sender<Result<ReasonCode, Error>>>,
    subscribes: BTreeMap<PacketId, oneshot::Sender<Result<Vec<SubackCode>, Error>>>,
    unsubscribes: BTreeMap<PacketId, oneshot::Sender<Result<Vec<ReasonCode>, Error>>>,
}

pub(super) struct Driver<C: Connector> {
    connector: C,
    session: ClientSession,
    reconnect: Option<ReconnectPolicy>,
    events: mpsc::UnboundedSender<ClientEvent>,
    pending: Pending,
    /// Where the session goes when the driver ends, however it ends.
    store: Option<SessionStore>,
}

impl<C: Connector> Drop for Driver<C> {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let fresh = ClientSession::new(self.session.options().clone());
            store.put(std::mem::replace(&mut self.session, fresh));
        }
    }
}

impl<C: Connector> Driver<C> {
    pub(super) fn new(
        connector: C,
        session: ClientSession,
        reconnect: Option<ReconnectPolicy>,
        events: mpsc::UnboundedSender<ClientEvent>,
        store: Option<SessionStore>,
    ) -> Driver<C> {
        Driver { connector, session, reconnect, events, pending: Pending::default(), store }
    }

    /// The one driver loop: open a transport, then read, hand to the session, write what it
    /// asks, arm its timer, again. Until the first CONNACK the loop is in its handshake state
    /// (`handshake` holds the reply to `Client::connect`): it serves no requests, any failure
    /// ends it and is that reply's error, and it makes no reconnect. Afterwards a lost
    /// connection is retried under the reconnect policy, if any.
    pub(super) async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        handshake: oneshot::Sender<Result<(), Error>>,
        epoch: Instant,
    ) {
        let now = move || Time::from_duration(epoch.elapsed());
        let mut handshake = Some(handshake);
        let mut transport: Option<Transport<C::Io>> = None;
        let mut connect_now = true;
        let mut backoff = self.reconnect.map(|p| p.initial);
        let mut retry_at: Option<Instant> = None;
        let mut disconnect_done: Option<oneshot::Sender<Result<(), Error>>> = None;
        loop {
            if std::mem::take(&mut connect_now) {
                match self.connector.connect().await {
                    Ok(io) => {
                        transport = Some(Transport::new(io, self.session.options()));
                        self.session.handle_connected_transport(now());
                    }
                    Err(e) => match handshake.take() {
                        Some(reply) => return self.fail_handshake(reply, Error::Io(e)),
                        None => tracing::debug!("reconnect failed: {e}"),
                    },
                }
            } else {
                let deadline = self.session.poll_timeout().map(|t| epoch + t.since_epoch());
                tokio::select! {
                    biased;
                    () = caller_gone(&mut handshake) => {
                        // `connect` was given up on: its session goes, as its future would.
                        self.store = None;
                        return;
                    }
                    request = requests.recv(), if handshake.is_none() => match request {
                        None => { self.session.disconnect(now()); }
                        Some(Request::Disconnect { with: None, done }) => {
                            self.session.disconnect(now());
                            disconnect_done = Some(done);
                        }
                        Some(Request::Disconnect { with: Some((reason, properties)), done }) => {
                            match self.session.disconnect_with(reason, properties, now()) {
                                Ok(()) => disconnect_done = Some(done),
                                // Not connected: there is nothing to close but the task.
                                Err(ClientError::NotConnected) => disconnect_done = Some(done),
                                Err(e) => { let _ = done.send(Err(e.into())); }
                            }
                        }
                        Some(Request::Abort { done }) => {
                            // Dropping the stream closes it with no DISCONNECT on the wire.
                            drop(transport.take());
                            self.session.handle_connection_lost(now());
                            self.dispatch_events();
                            self.fail_all();
                            let _ = done.send(());
                            return;
                        }
                        Some(request) => self.request(request, now()),
                    },
                    read = read_packet(&mut transport) => match read {
                        Ok(Some(packet)) => self.session.handle_packet(packet, now()),
                        // A 5.0 client says why before it closes (section 4.13.1); the transport
                        // stays for that DISCONNECT to be written.
                        Err(super::ReadError::Decode(e)) if self.session.options().version == Version::V5 => {
                            tracing::debug!("malformed packet from the server: {e}");
                            self.session.handle_malformed(e.reason_code(), now());
                        }
                        Ok(None) | Err(_) if handshake.is_some() => {
                            self.session.handle_connection_lost(now());
                            let error = match read {
                                Err(e) => Error::Io(io::Error::other(e.to_string())),
                                _ => Error::Closed,
                            };
                            return self.fail_handshake(handshake.take().expect("checked"), error);
                        }
                        Ok(None) | Err(_) => {
                            transport = None;
                            self.session.handle_connection_lost(now());
                        }
                    },
                    () = sleep_until(deadline), if transport.is_some() => self.session.handle_timeout(now()),
                    () = sleep_until(retry_at), if transport.is_none() && retry_at.is_some() => {
                        retry_at = None;
                        connect_now = true;
                        continue;
                    }
                }
            }
            if let Some(t) = transport.as_mut() {
                if let Some(cause) = t.apply(&mut self.session, now()).await {
                    if let Some(reply) = handshake.take() {
                        let refused = std::iter::from_fn(|| self.session.poll_event()).find_map(|e| {
                            if let ClientEvent::Refused(code) = e {
                                Some(code)
                            } else {
                                None
                            }
                        });
                        return self.fail_handshake(reply, refused.map_or(Error::Cause(cause), Error::Refused));
                    }
                    if cause == CloseCause::Disconnect {
                        // The server closes its side once it has read DISCONNECT; waiting for
                        // that makes `disconnect` complete when the server has processed it.
                        let drain = async { while let Ok(Some(_)) = t.reader.read_packet().await {} };
                        let _ = tokio::time::timeout(DISCONNECT_LINGER, drain).await;
                    }
                    transport = None;
                }
            } else {
                // Drop anything queued for a transport that is gone.
                while self.session.poll_action().is_some() {}
            }
            if let Some(reply) = handshake.take() {
                // Events up to the first `Connected` go out now; any after it (`SessionLost`)
                // wait for the next turn of the loop, as they always have.
                if self.dispatch_until_connected() {
                    let _ = reply.send(Ok(()));
                    // Let the caller of `connect` see its `Connected` before this loop handles
                    // what arrived right behind the CONNACK, as when the handshake was a function
                    // of its own and the driver a task started after it: a simulated trace
                    // keeps its order.
                    tokio::task::yield_now().await;
                } else {
                    handshake = Some(reply);
                }
                continue;
            }
            self.dispatch_events();
            if let Some(done) = disconnect_done.take() {
                self.fail_all();
                let _ = done.send(Ok(()));
                return;
            }
            if transport.is_none() {
                // Requests that cannot complete without a connection fail now; publications of a
                // persistent session stay pending, to complete after the reconnect re-sends them.
                self.fail_requests(self.session.keeps_session() && self.reconnect.is_some());
                match (self.reconnect, backoff) {
                    (Some(policy), Some(wait)) => {
                        if retry_at.is_none() {
                            retry_at = Some(Instant::now() + wait);
                            backoff = Some((wait * 2).min(policy.max));
                        }
                    }
                    _ => {
                        self.fail_all();
                        return;
                    }
                }
            } else if self.session.is_connected() {
                backoff = self.reconnect.map(|p| p.initial);
            }
        }
    }

    /// Ends a handshake that failed: the session goes back to its store first, so a caller
    /// that retries at once resumes it, then `connect` gets the error.
    fn fail_handshake(mut self, reply: oneshot::Sender<Result<(), Error>>, error: Error) {
        if let Some(store) = self.store.take() {
            let fresh = ClientSession::new(self.session.options().clone());
            store.put(std::mem::replace(&mut self.session, fresh));
        }
        let _ = reply.send(Err(error));
    }

    /// Hands the application the session's events up to and including the first `Connected`;
    /// whether there was one.
    fn dispatch_until_connected(&mut self) -> bool {
        while let Some(event) = self.session.poll_event() {
            let connected = matches!(event, ClientEvent::Connected { .. });
            let _ = self.events.send(event);
            if connected {
                return true;
            }
        }
        false
    }

    fn request(&mut self, request: Request, now: Time) {
        match request {
            Request::Publish { topic, payload, qos, retain, properties, done } => {
                match self.session.publish_with(topic, payload, qos, retain, properties, now) {
                    Ok(Some(pkid)) => {
                        self.pending.publishes.insert(pkid, done);
                    }
                    Ok(None) => {
                        let _ = done.send(Ok(ReasonCode::SUCCESS));
                    }
                    Err(e) => {
                        let _ = done.send(Err(e.into()));
                    }
                }
            }
            Request::Subscribe { filters, properties, done } => {
                match self.session.subscribe_with(filters, properties, now) {
                    Ok(pkid) => {
                        self.pending.subscribes.insert(pkid, done);
                    }
                    Err(e) => {
                        let _ = done.send(Err(e.into()));
                    }
                }
            }
            Request::Unsubscribe { filters, properties, done } => {
                match self.session.unsubscribe_with(filters, properties, now) {
                    Ok(pkid) => {
                        self.pending.unsubscribes.insert(pkid, done);
                    }
                    Err(e) => {
                        let _ = done.send(Err(e.into()));
                    }
                }
            }
            Request::Ack { kind, pkid, done } => {
                let _ = done.send(self.session.ack(kind, pkid, now).map_err(Error::from));
            }
            Request::Send { packet, raw, done } => {
                let sent = match self.session.send_packet(packet.clone(), now) {
                    Err(ClientError::Invalid(_)) if raw => {
                        let mut bytes = bytes::BytesMut::new();
                        match packet.encode_unchecked(self.session.options().version, &mut bytes) {
                            Ok(_) => self.session.send_raw(bytes.freeze(), now).map(|()| true),
                            Err(e) => Err(ClientError::Invalid(e)),
                        }
                    }
                    other => other.map(|()| false),
                };
                let _ = done.send(sent.map_err(Error::from));
            }
            Request::Inspect { done } => {
                let _ = done.send(self.session.summary());
            }
            Request::Limits { done } => {
                let _ = done.send(self.session.server_limits().clone());
            }
            Request::StopPinging { done } => {
                self.session.stop_pinging();
                let _ = done.send(());
            }
            Request::Disconnect { .. } | Request::Abort { .. } => unreachable!("handled by the loop"),
        }
    }

    fn dispatch_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match &event {
                ClientEvent::Published { pkid, reason } => {
                    if let Some(done) = self.pending.publishes.remove(pkid) {
                        let _ = done.send(if reason.is_success() {
                            Ok(*reason)
                        } else {
                            Err(Error::PublishRefused(*reason))
                        });
                    }
                }
                ClientEvent::Connected { .. } | ClientEvent::SessionLost { .. } => {
                    // Publications our half of the session no longer holds (discarded at a 5.0
                    // Clean Start or session loss) will never complete.
                    let held: std::collections::BTreeSet<PacketId> =
                        self.session.unacknowledged().map(|(id, _)| id).collect();
                    let gone: Vec<PacketId> =
                        self.pending.publishes.keys().filter(|id| !held.contains(id)).copied().collect();
                    for id in gone {
                        if let Some(done) = self.pending.publishes.remove(&id) {
                            let _ = done.send(Err(Error::Discarded));
                        }
                    }
                }
                ClientEvent::Subscribed { pkid, codes } => {
                    if let Some(done) = self.pending.subscribes.remove(pkid) {
                        let _ = done.send(Ok(codes.clone()));
                    }
                }
                ClientEvent::Unsubscribed { pkid, reasons } => {
                    if let Some(done) = self.pending.unsubscribes.remove(pkid) {
                        let _ = done.send(Ok(reasons.clone()));
                    }
                }
                _ => {}
            }
            let _ = self.events.send(event);
        }
    }

    /// Fails SUBSCRIBE/UNSUBSCRIBE waits (they die with the connection), and publications too
    /// unless `keep_publishes`.
    fn fail_requests(&mut self, keep_publishes: bool) {
        for (_, done) in std::mem::take(&mut self.pending.subscribes) {
            let _ = done.send(Err(Error::Closed));
        }
        for (_, done) in std::mem::take(&mut self.pending.unsubscribes) {
            let _ = done.send(Err(Error::Closed));
        }
        if !keep_publishes {
            for (_, done) in std::mem::take(&mut self.pending.publishes) {
                let _ = done.send(Err(Error::Closed));
            }
        }
    }

    fn fail_all(&mut self) {
        self.fail_requests(false);
    }
}

/// Completes when the caller of `connect` is gone while the handshake runs; never otherwise.
async fn caller_gone(handshake: &mut Option<oneshot::Sender<Result<(), Error>>>) {
    match handshake {
        Some(reply) => reply.closed().await,
        None => std::future::pending().await,
    }
}

async fn read_packet<Io: AsyncRead + AsyncWrite + Unpin>(
    transport: &mut Option<Transport<Io>>,
) -> Result<Option<crate::protocol::Packet>, super::ReadError> {
    match transport {
        Some(t) => t.reader.read_packet().await,
        None => std::future::pending().await,
    }
}
