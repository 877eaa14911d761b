//! One scenario client against a real broker: a task that takes the same commands as a simulated
//! client host (`sim::agent::Command`) and carries them out with the real async client over tokio
//! TCP, keeping the client's half of a persistent session in a `SessionStore` across connections,
//! as the simulated host does. Every stream is tapped into the run's trace; what the application
//! receives and every CONNACK are recorded with the run's namespace stripped.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::names::Namespace;
use crate::client::ClientEvent;
use crate::net::{Client, ClientError, Connector, Events, SessionStore, TcpConnector};
use crate::sim::agent::{Command, Reply};
use crate::sim::tap::Tap;
use crate::sim::{ClientRecord, ConnackSeen, Trace, TraceEvent, BROKER};

/// Opens tapped TCP streams to the broker; the trace shows them as `client <-> broker`.
#[derive(Clone)]
pub struct TappedTcp {
    pub addr: String,
    pub host: String,
    pub trace: Trace,
}

impl Connector for TappedTcp {
    type Io = Tap<tokio::net::TcpStream>;

    fn connect(&self) -> impl Future<Output = io::Result<Self::Io>> + Send {
        let (inner, host, trace) = (TcpConnector(self.addr.clone()), self.host.clone(), self.trace.clone());
        async move {
            let io = inner.connect().await?;
            Ok(Tap::new(io, host, BROKER.to_owned(), trace))
        }
    }
}

/// What the host's task shares with the runner.
#[derive(Clone)]
struct Shared {
    name: String,
    trace: Trace,
    namespace: Arc<Namespace>,
    record: Arc<Mutex<ClientRecord>>,
}

/// A running client host.
pub struct Host {
    pub commands: mpsc::UnboundedSender<Command>,
    pub record: Arc<Mutex<ClientRecord>>,
    task: JoinHandle<()>,
}

impl Host {
    /// Starts the host task for client `name`.
    pub fn start(name: &str, addr: &str, trace: &Trace, namespace: Arc<Namespace>) -> Host {
        let shared = Shared { name: name.to_owned(), trace: trace.clone(), namespace, record: Arc::default() };
        let connector = TappedTcp { addr: addr.to_owned(), host: name.to_owned(), trace: trace.clone() };
        let (tx, rx) = mpsc::unbounded_channel();
        let record = shared.record.clone();
        let task = tokio::spawn(run(rx, connector, shared));
        Host { commands: tx, record, task }
    }

    /// What the application has seen so far.
    pub fn record(&self) -> ClientRecord {
        self.record.lock().expect("record lock").clone()
    }

    /// Ends the host: the client disconnects cleanly (so no will is published after the run),
    /// then the task ends.
    pub async fn stop(self) {
        let (reply, done) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::Disconnect { reply }).is_ok() {
            let _ = tokio::time::timeout(super::runner::COMMAND_TIMEOUT, done).await;
        }
        drop(self.commands);
        let mut task = self.task;
        if tokio::time::timeout(super::runner::COMMAND_TIMEOUT, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// The host's task: one command at a time, as `sim::agent::run` does.
async fn run(mut commands: mpsc::UnboundedReceiver<Command>, connector: TappedTcp, shared: Shared) {
    let mut client: Option<Client> = None;
    let store = SessionStore::new();
    while let Some(command) = commands.recv().await {
        match command {
            Command::Connect { options, checked, reply } => {
                if let Some(old) = client.take() {
                    old.abort().await;
                }
                let connected = if checked {
                    Client::connect_resuming(connector.clone(), options, None, &store).await
                } else {
                    Client::connect_resuming_unchecked(connector.clone(), options, None, &store).await
                };
                match connected {
                    Ok((c, mut events)) => {
                        client = Some(c);
                        // The stream starts with `Connected`; record it before replying.
                        let session_present = match events.recv().await {
                            Some(first) => {
                                let sp = matches!(first, ClientEvent::Connected { session_present: true });
                                record_event(&shared, first);
                                sp
                            }
                            None => false,
                        };
                        tokio::spawn(pump(events, shared.clone()));
                        let _ = reply.send(Ok(session_present));
                    }
                    Err(ClientError::Refused(code)) => {
                        shared.record.lock().expect("record lock").connacks.push(ConnackSeen::Refused(code));
                        note(&shared, format!("connection refused: CONNACK rc={}", code as u8));
                        let _ = reply.send(Err(format!("refused with CONNACK rc={}", code as u8)));
                    }
                    Err(e) => {
                        note(&shared, format!("connect failed: {e}"));
                        let _ = reply.send(Err(e.to_string()));
                    }
                }
            }
            Command::Subscribe { filters, reply } => {
                with_client(&client, reply, |c| async move { c.subscribe(filters).await.map_err(|e| e.to_string()) })
            }
            Command::Unsubscribe { filters, reply } => {
                with_client(&client, reply, |c| async move { c.unsubscribe(filters).await.map_err(|e| e.to_string()) })
            }
            Command::Publish { topic, payload, qos, retain, reply } => with_client(&client, reply, |c| async move {
                c.publish(topic, payload, qos, retain).await.map_err(|e| e.to_string())
            }),
            Command::Disconnect { reply } => {
                if let Some(c) = client.take() {
                    c.disconnect().await;
                }
                let _ = reply.send(Ok(()));
            }
            Command::Drop { reply } => {
                if let Some(c) = client.take() {
                    c.abort().await;
                }
                let _ = reply.send(Ok(()));
            }
        }
    }
    if let Some(c) = client.take() {
        c.abort().await;
    }
}

/// Runs a request in its own task so the host keeps taking commands while it is pending.
fn with_client<T, F, Fut>(client: &Option<Client>, reply: Reply<T>, f: F)
where
    T: Send + 'static,
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    match client {
        Some(c) => {
            let fut = f(c.clone());
            start_in_order(async move {
                let _ = reply.send(fut.await);
            });
        }
        None => {
            let _ = reply.send(Err("not connected".into()));
        }
    }
}

/// Polls `fut` once here, then lets a task finish it. A `Client` request is handed to the
/// client's driver on its first poll, so this keeps requests in the order the commands came:
/// with a plain `spawn`, a multi-threaded runtime may start the tasks in another order (its
/// LIFO slot runs the newest first), which would reorder `no_wait` publications. (In the
/// simulation each host is a single-threaded runtime, where spawned tasks start in order.)
fn start_in_order(fut: impl Future<Output = ()> + Send + 'static) {
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    // The task's first poll registers its own waker, replacing the no-op one.
    if fut.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}

fn note(shared: &Shared, event: String) {
    shared.trace.push(TraceEvent::Client { ms: shared.trace.now_ms(), client: shared.name.clone(), event });
}

async fn pump(mut events: Events, shared: Shared) {
    while let Some(event) = events.recv().await {
        record_event(&shared, event);
    }
}

fn record_event(shared: &Shared, event: ClientEvent) {
    let ms = shared.trace.now_ms();
    match event {
        ClientEvent::Message(mut m) => {
            m.topic = shared.namespace.strip_topic(&m.topic);
            shared.trace.push(TraceEvent::Deliver {
                ms,
                client: shared.name.clone(),
                topic: m.topic.clone(),
                payload: String::from_utf8_lossy(&m.payload).into_owned(),
                qos: m.qos.as_u8(),
                retain: m.retain,
                dup: m.dup,
            });
            shared.record.lock().expect("record lock").messages.push((ms, m));
        }
        ClientEvent::Connected { session_present } => {
            shared.record.lock().expect("record lock").connacks.push(ConnackSeen::Accepted { session_present });
            note(shared, format!("connected, session present = {}", session_present as u8));
        }
        ClientEvent::SessionLost { unacknowledged } => {
            shared.record.lock().expect("record lock").sessions_lost += 1;
            note(shared, format!("session lost on the server ({unacknowledged} unacknowledged re-sent)"));
        }
        ClientEvent::Disconnected { cause } => note(shared, format!("disconnected ({cause:?})")),
        ClientEvent::Refused(code) => note(shared, format!("refused rc={}", code as u8)),
        ClientEvent::Published(_) | ClientEvent::Subscribed { .. } | ClientEvent::Unsubscribed(_) => {}
    }
}
