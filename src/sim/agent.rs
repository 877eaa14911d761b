//! A simulated client host: an agent that takes commands from the world (connect, subscribe,
//! publish, disconnect, drop the connection) and carries them out with the real async client over
//! turmoil TCP. Everything the application sees is recorded for expectations and snapshots.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::tap::TappedConnector;
use super::trace::{now_ms, Trace, TraceEvent};
use crate::client::{ClientEvent, ClientOptions, Message};
use crate::net::{Client, ClientError, Events, SessionStore, TurmoilConnector};
use crate::protocol::{ConnectReturnCode, QoS, SubackCode, SubscribeFilter};

/// The result of a command, as text for reports; `Ok` carries a detail where there is one.
pub type Reply<T> = oneshot::Sender<Result<T, String>>;

/// What the world asks a client host to do.
pub enum Command {
    /// `checked: false` skips the client-side CONNECT rules (to test the broker's side).
    Connect {
        options: ClientOptions,
        checked: bool,
        reply: Reply<bool>,
    },
    Subscribe {
        filters: Vec<SubscribeFilter>,
        reply: Reply<Vec<SubackCode>>,
    },
    Unsubscribe {
        filters: Vec<String>,
        reply: Reply<()>,
    },
    Publish {
        topic: String,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        reply: Reply<()>,
    },
    /// DISCONNECT, then close.
    Disconnect {
        reply: Reply<()>,
    },
    /// Close the connection without DISCONNECT.
    Drop {
        reply: Reply<()>,
    },
}

/// A CONNACK as the application saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnackSeen {
    Accepted { session_present: bool },
    Refused(ConnectReturnCode),
}

/// What one client's application observed, in order.
#[derive(Debug, Clone, Default)]
pub struct ClientRecord {
    pub messages: Vec<(u64, Message)>,
    pub connacks: Vec<ConnackSeen>,
    /// Times the server answered session present = 0 to a resume.
    pub sessions_lost: usize,
}

/// State shared between the world and one client host.
#[derive(Clone)]
pub struct AgentShared {
    pub name: String,
    pub broker: String,
    pub trace: Trace,
    pub record: Arc<Mutex<ClientRecord>>,
    /// The command receiver for the next start of the host (taken at start, refilled on restart).
    pub commands: Arc<Mutex<Option<mpsc::UnboundedReceiver<Command>>>>,
}

/// The host's main future.
pub async fn run(shared: AgentShared) -> turmoil::Result {
    let Some(mut commands) = shared.commands.lock().expect("agent lock").take() else {
        return Ok(());
    };
    let connector = TappedConnector {
        inner: TurmoilConnector(format!("{}:1883", shared.broker)),
        host: shared.name.clone(),
        peer: shared.broker.clone(),
        trace: shared.trace.clone(),
    };
    let mut client: Option<Client> = None;
    // The task recording the current connection's events; awaited before the next connection
    // so a late `Disconnected` of the old one never lands after the new `Connected`.
    let mut pump_task: Option<tokio::task::JoinHandle<()>> = None;
    // The client's half of its session lives in this process: kept across connections, lost
    // with a crash of the host.
    let store = SessionStore::new();
    while let Some(command) = commands.recv().await {
        match command {
            Command::Connect { options, checked, reply } => {
                if let Some(old) = client.take() {
                    old.abort().await;
                }
                if let Some(task) = pump_task.take() {
                    let _ = task.await;
                }
                let (client_id, clean) = (options.client_id.clone(), options.clean_session);
                let will =
                    options.will.as_ref().map(|w| (w.topic.clone(), String::from_utf8_lossy(&w.message).into_owned()));
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
                            Some(ClientEvent::Connected { session_present }) => {
                                shared
                                    .record
                                    .lock()
                                    .expect("agent lock")
                                    .connacks
                                    .push(ConnackSeen::Accepted { session_present });
                                shared.trace.push(TraceEvent::Connected {
                                    ms: now_ms(),
                                    client: shared.name.clone(),
                                    client_id,
                                    clean,
                                    session_present,
                                    will,
                                });
                                session_present
                            }
                            Some(other) => {
                                record_event(&shared, other);
                                false
                            }
                            None => false,
                        };
                        pump_task = Some(tokio::spawn(pump(events, shared.clone())));
                        let _ = reply.send(Ok(session_present));
                    }
                    Err(ClientError::Refused(code)) => {
                        shared.record.lock().expect("agent lock").connacks.push(ConnackSeen::Refused(code));
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
                let (trace, name) = (shared.trace.clone(), shared.name.clone());
                if client.is_some() {
                    let filters = filters.iter().map(|f| f.filter.clone()).collect();
                    trace.push(TraceEvent::Subscribe { ms: now_ms(), client: name.clone(), filters });
                }
                with_client(&client, reply, |c| async move {
                    let asked: Vec<String> = filters.iter().map(|f| f.filter.clone()).collect();
                    let codes = c.subscribe(filters).await.map_err(|e| e.to_string())?;
                    let granted = asked
                        .into_iter()
                        .zip(&codes)
                        .filter_map(|(f, code)| match code {
                            SubackCode::Granted(q) => Some((f, q.as_u8())),
                            SubackCode::Failure => None,
                        })
                        .collect();
                    trace.push(TraceEvent::Subscribed { ms: now_ms(), client: name, granted });
                    Ok(codes)
                })
            }
            Command::Unsubscribe { filters, reply } => {
                let (trace, name) = (shared.trace.clone(), shared.name.clone());
                with_client(&client, reply, |c| async move {
                    c.unsubscribe(filters.clone()).await.map_err(|e| e.to_string())?;
                    trace.push(TraceEvent::Unsubscribed { ms: now_ms(), client: name, filters });
                    Ok(())
                })
            }
            Command::Publish { topic, payload, qos, retain, reply } => {
                let (trace, name) = (shared.trace.clone(), shared.name.clone());
                let text = String::from_utf8_lossy(&payload).into_owned();
                if client.is_some() {
                    trace.push(TraceEvent::Publish {
                        ms: now_ms(),
                        client: name.clone(),
                        topic: topic.clone(),
                        payload: text.clone(),
                        qos: qos.as_u8(),
                        retain,
                    });
                }
                with_client(&client, reply, |c| async move {
                    c.publish(topic.clone(), payload, qos, retain).await.map_err(|e| e.to_string())?;
                    trace.push(TraceEvent::Published {
                        ms: now_ms(),
                        client: name,
                        topic,
                        payload: text,
                        qos: qos.as_u8(),
                    });
                    Ok(())
                })
            }
            Command::Disconnect { reply } => {
                if let Some(c) = client.take() {
                    c.disconnect().await;
                }
                if let Some(task) = pump_task.take() {
                    let _ = task.await;
                }
                let _ = reply.send(Ok(()));
            }
            Command::Drop { reply } => {
                if let Some(c) = client.take() {
                    c.abort().await;
                }
                if let Some(task) = pump_task.take() {
                    let _ = task.await;
                }
                let _ = reply.send(Ok(()));
            }
        }
    }
    Ok(())
}

/// Runs a request in its own task so the agent keeps taking commands while it is pending.
fn with_client<T, F, Fut>(client: &Option<Client>, reply: Reply<T>, f: F)
where
    T: Send + 'static,
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>> + Send + 'static,
{
    match client {
        Some(c) => {
            let fut = f(c.clone());
            tokio::spawn(async move {
                let _ = reply.send(fut.await);
            });
        }
        None => {
            let _ = reply.send(Err("not connected".into()));
        }
    }
}

fn note(shared: &AgentShared, event: String) {
    shared.trace.push(TraceEvent::Client { ms: now_ms(), client: shared.name.clone(), event });
}

/// Records what the application sees.
async fn pump(mut events: Events, shared: AgentShared) {
    while let Some(event) = events.recv().await {
        record_event(&shared, event);
    }
}

fn record_event(shared: &AgentShared, event: ClientEvent) {
    {
        match event {
            ClientEvent::Message(m) => {
                shared.trace.push(TraceEvent::Deliver {
                    ms: now_ms(),
                    client: shared.name.clone(),
                    topic: m.topic.clone(),
                    payload: String::from_utf8_lossy(&m.payload).into_owned(),
                    qos: m.qos.as_u8(),
                    retain: m.retain,
                    dup: m.dup,
                });
                shared.record.lock().expect("agent lock").messages.push((now_ms(), m));
            }
            ClientEvent::Connected { session_present } => {
                shared.record.lock().expect("agent lock").connacks.push(ConnackSeen::Accepted { session_present });
                note(shared, format!("connected, session present = {}", session_present as u8));
            }
            ClientEvent::SessionLost { unacknowledged } => {
                shared.record.lock().expect("agent lock").sessions_lost += 1;
                note(shared, format!("session lost on the server ({unacknowledged} unacknowledged re-sent)"));
            }
            ClientEvent::Disconnected { cause } => shared.trace.push(TraceEvent::Disconnected {
                ms: now_ms(),
                client: shared.name.clone(),
                cause: format!("{cause:?}"),
            }),
            ClientEvent::Refused(code) => note(shared, format!("refused rc={}", code as u8)),
            ClientEvent::Published(_) | ClientEvent::Subscribed { .. } | ClientEvent::Unsubscribed(_) => {}
        }
    }
}
