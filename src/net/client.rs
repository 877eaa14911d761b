//! The async MQTT client: a task that drives a sans-IO [`ClientSession`] over any byte stream a
//! [`Connector`] opens (tokio TCP, turmoil TCP), with an optional reconnect policy whose timing
//! comes from the runtime's clock (so it is simulated inside turmoil). The application holds a
//! [`Client`] handle for requests and an [`Events`] stream for what arrives. The connection speaks
//! the version `ClientOptions::version` names: the reader and writer switch to it as CONNECT goes
//! out, and the reader refuses packets above our 5.0 Maximum Packet Size. This file holds the
//! handles (`Client`, `Events`, `SessionStore`); the task that drives the session over a
//! connection is `client_driver.rs`.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::client_driver::Driver;
use crate::client::{
    AckKind, ClientError, ClientEvent, ClientOptions, ClientSession, CloseCause, ServerLimits, SessionSummary,
};
use crate::protocol::{ConnackCode, Packet, PacketId, Properties, QoS, ReasonCode, SubackCode, SubscribeFilter};

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

pub(super) enum Request {
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
        let driver = Driver::new(connector, session, reconnect, events_tx, store);
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

    pub(super) fn put(&self, session: ClientSession) {
        *self.0.lock().expect("session store lock") = Some(session);
    }
}
