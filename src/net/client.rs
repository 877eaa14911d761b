//! The async MQTT client: a task that drives a sans-IO [`ClientSession`] over any byte stream a
//! [`Connector`] opens (tokio TCP, turmoil TCP), with an optional reconnect policy whose timing
//! comes from the runtime's clock (so it is simulated inside turmoil). The application holds a
//! [`Client`] handle for requests and an [`Events`] stream for what arrives. The connection speaks
//! the version `ClientOptions::version` names: the reader and writer switch to it as CONNECT goes
//! out, and the reader refuses packets above our 5.0 Maximum Packet Size.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::framed::{PacketReader, PacketWriter};
use crate::client::{
    AckKind, ClientAction, ClientError, ClientEvent, ClientOptions, ClientSession, CloseCause, ServerLimits,
    SessionSummary,
};
use crate::protocol::{
    ConnackCode, Packet, PacketId, Properties, QoS, ReasonCode, SubackCode, SubscribeFilter, Version, MAX_PACKET_SIZE,
};
use crate::time::Time;

/// How long `disconnect` waits for the server to close the connection after DISCONNECT.
pub const DISCONNECT_LINGER: Duration = Duration::from_secs(5);

/// Opens byte streams to one server.
pub trait Connector: Send + Sync + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    fn connect(&self) -> impl Future<Output = io::Result<Self::Io>> + Send;
}

/// Connects with tokio TCP to `host:port`.
#[derive(Debug, Clone)]
pub struct TcpConnector(pub String);

impl Connector for TcpConnector {
    type Io = tokio::net::TcpStream;

    fn connect(&self) -> impl Future<Output = io::Result<Self::Io>> + Send {
        let addr = self.0.clone();
        async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        }
    }
}

/// Reconnect after a lost connection, waiting `initial`, doubling up to `max`, between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> ReconnectPolicy {
        ReconnectPolicy { initial: Duration::from_millis(100), max: Duration::from_secs(10) }
    }
}

/// Why `connect` or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The transport could not be opened or failed.
    #[error("connection failed: {0}")]
    Io(#[from] io::Error),
    /// The server answered CONNACK with a refusal (a 3.1.1 return code or a 5.0 reason code).
    #[error("connection refused by the server: {}", refusal(*.0))]
    Refused(ConnackCode),
    /// A 5.0 server refused our publication: PUBACK or PUBREC with this reason (0x80 or above).
    #[error("the server refused the publication with reason {0} ({name})", name = .0.name())]
    PublishRefused(ReasonCode),
    /// Our half of the session was discarded before the publication completed (a 5.0 Clean
    /// Start or a lost session [MQTT5-3.2.2-5]).
    #[error("the session was discarded before the publication completed")]
    Discarded,
    /// The connection closed before the request completed.
    #[error("connection closed")]
    Closed,
    /// The session refused the request.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server did not answer CONNACK in time or broke the protocol.
    #[error("connection closed: {0:?}")]
    Cause(CloseCause),
}

/// A refusal as `Error::Refused` shows it: a 3.1.1 code by name, as it always was; a 5.0 code
/// with the spec's name.
fn refusal(code: ConnackCode) -> String {
    match code {
        ConnackCode::V311(c) => format!("{c:?}"),
        ConnackCode::V5(r) => format!("{r} ({})", r.name()),
    }
}

enum Request {
    Publish {
        topic: String,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        properties: Properties,
        done: oneshot::Sender<Result<ReasonCode, Error>>,
    },
    Subscribe {
        filters: Vec<SubscribeFilter>,
        properties: Properties,
        done: oneshot::Sender<Result<Vec<SubackCode>, Error>>,
    },
    Unsubscribe {
        filters: Vec<String>,
        properties: Properties,
        done: oneshot::Sender<Result<Vec<ReasonCode>, Error>>,
    },
    /// DISCONNECT; with a 5.0 reason code and properties when `with` is given.
    Disconnect {
        with: Option<(ReasonCode, Properties)>,
        done: oneshot::Sender<Result<(), Error>>,
    },
    Limits {
        done: oneshot::Sender<ServerLimits>,
    },
    Abort {
        done: oneshot::Sender<()>,
    },
    Ack {
        kind: AckKind,
        pkid: Option<PacketId>,
        done: oneshot::Sender<Result<PacketId, Error>>,
    },
    Send {
        packet: Packet,
        raw: bool,
        done: oneshot::Sender<Result<bool, Error>>,
    },
    StopPinging {
        done: oneshot::Sender<()>,
    },
    Inspect {
        done: oneshot::Sender<SessionSummary>,
    },
}

/// Requests to the client task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    requests: mpsc::UnboundedSender<Request>,
}

/// Everything the session reports: messages, (re)connections, session loss, disconnections.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<ClientEvent>,
}

impl Events {
    /// The next event; `None` once the client task has ended.
    pub async fn recv(&mut self) -> Option<ClientEvent> {
        self.rx.recv().await
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<ClientEvent> {
        self.rx.try_recv().ok()
    }
}

impl Client {
    /// Connects with a new session and waits for CONNACK. Returns the handle and the event
    /// stream, which starts with `Connected`.
    pub async fn connect<C: Connector>(
        connector: C,
        options: ClientOptions,
        reconnect: Option<ReconnectPolicy>,
    ) -> Result<(Client, Events), Error> {
        options.validate()?;
        Self::start(connector, ClientSession::new(options), reconnect, None).await
    }

    /// Connects, resuming the client's half of the session kept in `store` by an earlier
    /// connection with the same client id (unacknowledged publications, QoS 2 ids awaiting
    /// PUBREL), and keeps it there again when this connection ends [MQTT-4.1.0-1].
    pub async fn connect_resuming<C: Connector>(
        connector: C,
        options: ClientOptions,
        reconnect: Option<ReconnectPolicy>,
        store: &SessionStore,
    ) -> Result<(Client, Events), Error> {
        options.validate()?;
        Self::connect_resuming_unchecked(connector, options, reconnect, store).await
    }

    /// `connect_resuming` without the client-side CONNECT checks, for harnesses that script a
    /// client breaking a client rule to see what the server does (e.g. [MQTT-3.1.3-8]).
    pub async fn connect_resuming_unchecked<C: Connector>(
        connector: C,
        options: ClientOptions,
        reconnect: Option<ReconnectPolicy>,
        store: &SessionStore,
    ) -> Result<(Client, Events), Error> {
        let session = match store.take() {
            Some(mut s) if s.options().client_id == options.client_id => {
                s.set_options(options);
                s
            }
            _ => ClientSession::new(options),
        };
        Self::start(connector, session, reconnect, Some(store.clone())).await
    }

    async fn start<C: Connector>(
        connector: C,
        session: ClientSession,
        reconnect: Option<ReconnectPolicy>,
        store: Option<SessionStore>,
    ) -> Result<(Client, Events), Error> {
        let epoch = Instant::now();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (tx, rx) = mpsc::unbounded_channel();
        let (connected_tx, connected_rx) = oneshot::channel();
        let driver = Driver { connector, session, reconnect, events: events_tx, pending: Pending::default(), store };
        tokio::spawn(driver.run(rx, connected_tx, epoch));
        connected_rx.await.map_err(|_| Error::Closed)??;
        Ok((Client { requests: tx }, Events { rx: events_rx }))
    }

    /// Publishes; completes when the QoS flow does (at once for QoS 0, on PUBACK for QoS 1, on
    /// PUBCOMP for QoS 2), surviving reconnects when the session is persistent.
    pub async fn publish(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<(), Error> {
        self.publish_with(topic, payload, qos, retain, Properties::new()).await.map(drop)
    }

    /// [`Client::publish`] with 5.0 PUBLISH properties. Returns the acknowledgement's reason
    /// code (Success, or 0x10 No matching subscribers; always Success for QoS 0 and in 3.1.1);
    /// a refusal (0x80 or above) is `Error::PublishRefused`.
    pub async fn publish_with(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
        properties: Properties,
    ) -> Result<ReasonCode, Error> {
        let (done, rx) = oneshot::channel();
        let request = Request::Publish { topic: topic.into(), payload: payload.into(), qos, retain, properties, done };
        self.requests.send(request).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Subscribes; returns the SUBACK's return codes.
    pub async fn subscribe(&self, filters: Vec<SubscribeFilter>) -> Result<Vec<SubackCode>, Error> {
        self.subscribe_with(filters, Properties::new()).await
    }

    /// [`Client::subscribe`] with 5.0 SUBSCRIBE properties (a Subscription Identifier, User
    /// Properties); each filter carries its own subscription options.
    pub async fn subscribe_with(
        &self,
        filters: Vec<SubscribeFilter>,
        properties: Properties,
    ) -> Result<Vec<SubackCode>, Error> {
        let (done, rx) = oneshot::channel();
        self.requests.send(Request::Subscribe { filters, properties, done }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    pub async fn unsubscribe(&self, filters: Vec<String>) -> Result<(), Error> {
        self.unsubscribe_with(filters, Properties::new()).await.map(drop)
    }

    /// [`Client::unsubscribe`] with 5.0 UNSUBSCRIBE properties; returns the UNSUBACK's reason
    /// codes, one per filter (none in 3.1.1).
    pub async fn unsubscribe_with(
        &self,
        filters: Vec<String>,
        properties: Properties,
    ) -> Result<Vec<ReasonCode>, Error> {
        let (done, rx) = oneshot::channel();
        self.requests.send(Request::Unsubscribe { filters, properties, done }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// The limits the server's CONNACK set on the current connection (none for 3.1.1).
    pub async fn server_limits(&self) -> Result<ServerLimits, Error> {
        let (done, rx) = oneshot::channel();
        self.requests.send(Request::Limits { done }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// Closes the transport without DISCONNECT, as a crash or a pulled cable would (the broker
    /// then publishes the will), and ends the client task. No reconnect follows.
    pub async fn abort(&self) {
        let (done, rx) = oneshot::channel();
        if self.requests.send(Request::Abort { done }).is_ok() {
            let _ = rx.await;
        }
    }

    /// A scripted client's acknowledgement (`ClientOptions::manual_acks`): the oldest owed of
    /// `kind`, or the one for `pkid`. Returns the packet id acknowledged.
    pub async fn ack(&self, kind: AckKind, pkid: Option<PacketId>) -> Result<PacketId, Error> {
        let (done, rx) = oneshot::channel();
        self.requests.send(Request::Ack { kind, pkid, done }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Writes `packet` exactly as given, with no change to the session's state; `raw` writes it
    /// even where the encoder refuses it (a packet that breaks the protocol, on purpose).
    /// Returns whether it went out raw, past the encoder's checks.
    pub async fn send_packet(&self, packet: Packet, raw: bool) -> Result<bool, Error> {
        let (done, rx) = oneshot::channel();
        self.requests.send(Request::Send { packet, raw, done }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Sends no more PINGREQ on this connection.
    pub async fn stop_pinging(&self) {
        let (done, rx) = oneshot::channel();
        if self.requests.send(Request::StopPinging { done }).is_ok() {
            let _ = rx.await;
        }
    }

    /// What the client's half of the session holds now.
    pub async fn inspect(&self) -> Result<SessionSummary, Error> {
        let (done, rx) = oneshot::channel();
        self.requests.send(Request::Inspect { done }).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// Sends DISCONNECT, closes the connection and ends the client task.
    pub async fn disconnect(&self) {
        let (done, rx) = oneshot::channel();
        if self.requests.send(Request::Disconnect { with: None, done }).is_ok() {
            let _ = rx.await;
        }
    }

    /// [`Client::disconnect`] with a 5.0 reason code (0x04 publishes the will) and properties
    /// (a new Session Expiry Interval, User Properties). A DISCONNECT the session refuses (a
    /// Session Expiry Interval above 0 after CONNECT sent 0, anything but Normal disconnection
    /// in 3.1.1) is an error, and the connection stays open.
    pub async fn disconnect_with(&self, reason: ReasonCode, properties: Properties) -> Result<(), Error> {
        let (done, rx) = oneshot::channel();
        self.requests
            .send(Request::Disconnect { with: Some((reason, properties)), done })
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }
}

/// Where a client's half of a persistent session waits between connections. Cheap to clone;
/// drop it (or crash the process) and the state is gone.
#[derive(Debug, Clone, Default)]
pub struct SessionStore(std::sync::Arc<std::sync::Mutex<Option<ClientSession>>>);

impl SessionStore {
    pub fn new() -> SessionStore {
        SessionStore::default()
    }

    fn take(&self) -> Option<ClientSession> {
        self.0.lock().expect("session store lock").take()
    }

    /// What the session kept here holds; empty when none is kept.
    pub fn summary(&self) -> SessionSummary {
        self.0.lock().expect("session store lock").as_ref().map(ClientSession::summary).unwrap_or_default()
    }

    fn put(&self, session: ClientSession) {
        *self.0.lock().expect("session store lock") = Some(session);
    }
}

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

struct Driver<C: Connector> {
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
    /// The one driver loop: open a transport, then read, hand to the session, write what it
    /// asks, arm its timer, again. Until the first CONNACK the loop is in its handshake state
    /// (`handshake` holds the reply to `Client::connect`): it serves no requests, any failure
    /// ends it and is that reply's error, and it makes no reconnect. Afterwards a lost
    /// connection is retried under the reconnect policy, if any.
    async fn run(
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
