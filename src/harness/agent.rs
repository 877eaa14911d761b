//! A client host: an agent that takes scenario commands (connect, subscribe, publish, disconnect,
//! drop the connection) and carries them out with the real async client, keeping the client's
//! half of a persistent session in a `SessionStore` across connections. What the application
//! asks and sees goes to the trace and the record, for invariants, expectations and snapshots.
//!
//! [`serve`] is the agent, generic over the connector: the simulation runs it over turmoil TCP
//! (`sim::hosts`), `mqtt-sim check` over tokio TCP against a real broker (`check::network`), with
//! topics and client ids shown without the run's namespace.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::client::{AckKind, ClientEvent, ClientOptions, CloseCause, Message, SessionSummary};
use crate::net::{Client, ClientError, Connector, Events, SessionStore};
use crate::protocol::{
    ConnackCode, Packet, PacketId, PacketType, Properties, QoS, ReasonCode, SubackCode, SubscribeFilter,
    MAX_PACKET_SIZE,
};
use crate::scenario::model::ConnectionEnd;
use crate::trace::{ClientNote, EndCause};
use crate::trace::{Trace, TraceEvent};

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
        /// 5.0 SUBSCRIBE properties (a Subscription Identifier); empty in 3.1.1.
        properties: Properties,
        reply: Reply<Vec<SubackCode>>,
    },
    Unsubscribe {
        filters: Vec<String>,
        reply: Reply<()>,
    },
    /// With `handed_over`, the reply comes once the client has the message (it was sent, and a
    /// persistent session keeps it): a connection that ends before its QoS flow completes is
    /// not a failure then (`no_wait`: fire and forget). Without, once the flow completes.
    Publish {
        topic: String,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        /// 5.0 PUBLISH properties; empty in 3.1.1.
        properties: Properties,
        handed_over: bool,
        reply: Reply<()>,
    },
    /// DISCONNECT, then close; `with` a 5.0 reason code and properties.
    Disconnect {
        with: Option<(ReasonCode, Properties)>,
        reply: Reply<()>,
    },
    /// Close the connection without DISCONNECT.
    Drop {
        reply: Reply<()>,
    },
    /// A scripted client's acknowledgement: the oldest owed of `kind`, or the one for `pkid`.
    Ack {
        kind: AckKind,
        pkid: Option<PacketId>,
        reply: Reply<u16>,
    },
    /// Write `packet` as given; `raw` past the encoder's checks where it refuses the packet.
    Send {
        packet: Packet,
        raw: bool,
        reply: Reply<()>,
    },
    /// No more PINGREQ on this connection.
    StopPinging {
        reply: Reply<()>,
    },
    /// What the client's half of its session holds (connected or not).
    Inspect {
        reply: Reply<SessionSummary>,
    },
}

/// A CONNACK as the application saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnackSeen {
    Accepted {
        session_present: bool,
    },
    /// The code as the server sent it (a 3.1.1 return code or a 5.0 reason code).
    Refused(ConnackCode),
}

/// What one client's application observed, in order.
#[derive(Debug, Clone, Default)]
pub struct ClientRecord {
    pub messages: Vec<(u64, Message)>,
    pub connacks: Vec<ConnackSeen>,
    /// How its latest connection ended, or `Open`.
    pub connection: ConnectionEnd,
    /// Times the server answered session present = 0 to a resume.
    pub sessions_lost: usize,
    /// 5.0: each reason code other than Success the server answered with, in order, in words
    /// (`publication 0x10 No matching subscribers`, `SUBACK 0x87 Not authorized`,
    /// `DISCONNECT 0x8e Session taken over`). A 3.1.1 client's stays empty.
    pub reasons: Vec<String>,
    /// Whether its latest CONNECT was MQTT 5.0.
    pub v5: bool,
}

/// Shows a topic, filter or client id as the scenario wrote it (without a run's namespace).
pub type Shown = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Where an agent records what its application asks and sees.
#[derive(Clone)]
pub struct AgentContext {
    /// The client's name in the scenario.
    pub name: String,
    pub trace: Trace,
    pub record: Arc<Mutex<ClientRecord>>,
    /// Maps names on the wire to names in the scenario; `None` shows them as they are.
    pub shown: Option<Shown>,
}

impl AgentContext {
    fn show(&self, name: &str) -> String {
        match &self.shown {
            Some(f) => f(name),
            None => name.to_owned(),
        }
    }

    fn push(&self, event: TraceEvent) {
        self.trace.push(event);
    }

    fn now(&self) -> u64 {
        self.trace.now_ms()
    }

    fn note(&self, event: ClientNote) {
        self.push(TraceEvent::Client { ms: self.now(), client: self.name.clone(), event });
    }

    fn record(&self) -> std::sync::MutexGuard<'_, ClientRecord> {
        self.record.lock().expect("agent lock")
    }

    /// Records a 5.0 client's reason codes other than Success from one packet of `kind` (a
    /// publication's: its PUBACK's, or for QoS 2 its PUBREC's or a failing PUBCOMP's).
    fn reason(&self, kind: PacketType, reasons: &[ReasonCode]) {
        let mut record = self.record();
        if record.v5 {
            let packet = match kind {
                PacketType::Puback => "publication".to_owned(),
                other => format!("{other:?}").to_uppercase(),
            };
            for r in reasons.iter().filter(|r| r.0 != 0) {
                record.reasons.push(format!("{packet} {r} {}", r.name_in(kind)));
            }
        }
    }

    /// Records a CONNACK the application saw, and what it made of the connection.
    fn connack(&self, seen: ConnackSeen) {
        let mut record = self.record();
        record.connection = match seen {
            ConnackSeen::Accepted { .. } => ConnectionEnd::Open,
            ConnackSeen::Refused(_) => ConnectionEnd::Refused,
        };
        record.connacks.push(seen);
    }
}

/// The agent: one command at a time until the command channel closes, then the connection is
/// dropped. Requests that wait on the broker (subscribe, publish...) run in their own tasks, so a
/// pending one does not hold up the next command.
pub async fn serve<C: Connector + Clone>(
    mut commands: mpsc::UnboundedReceiver<Command>,
    connector: C,
    ctx: AgentContext,
) {
    let mut client: Option<Client> = None;
    // The task recording the current connection's events; awaited before the next connection
    // so a late `Disconnected` of the old one never lands after the new `Connected`.
    let mut pump_task: Option<tokio::task::JoinHandle<()>> = None;
    // The client's half of its session lives in this process: kept across connections, lost
    // with a crash of the host.
    let store = SessionStore::new();
    // The messages (topic, payload) this client sent by hand: a later copy is a re-send.
    let mut sent_by_hand: BTreeSet<(String, Bytes)> = BTreeSet::new();
    while let Some(command) = commands.recv().await {
        match command {
            Command::Connect { options, checked, reply } => {
                end_connection(&mut client, &mut pump_task, false).await;
                ctx.record().v5 = options.version == crate::protocol::Version::V5;
                let (client_id, clean) = (ctx.show(&options.client_id), options.clean_session);
                let will = options
                    .will
                    .as_ref()
                    .map(|w| (ctx.show(&w.topic), String::from_utf8_lossy(&w.message).into_owned()));
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
                                ctx.connack(ConnackSeen::Accepted { session_present });
                                ctx.push(TraceEvent::Connected {
                                    ms: ctx.now(),
                                    client: ctx.name.clone(),
                                    client_id,
                                    clean,
                                    session_present,
                                    will,
                                });
                                session_present
                            }
                            Some(other) => {
                                record_event(&ctx, other);
                                false
                            }
                            None => false,
                        };
                        pump_task = Some(tokio::spawn(pump(events, ctx.clone())));
                        let _ = reply.send(Ok(session_present));
                    }
                    Err(ClientError::Refused(code)) => {
                        ctx.connack(ConnackSeen::Refused(code));
                        ctx.note(ClientNote::ConnectRefused { code: code.raw() });
                        let _ = reply.send(Err(format!("refused with CONNACK rc={}", code.raw())));
                    }
                    Err(e) => {
                        ctx.record().connection = match &e {
                            ClientError::Cause(cause) => ended(Some(*cause)),
                            _ => ConnectionEnd::Lost,
                        };
                        ctx.note(ClientNote::ConnectFailed { error: e.to_string() });
                        let _ = reply.send(Err(e.to_string()));
                    }
                }
            }
            Command::Subscribe { filters, properties, reply } => {
                let asked: Vec<String> = filters.iter().map(|f| ctx.show(&f.filter)).collect();
                if client.is_some() {
                    ctx.push(TraceEvent::Subscribe { ms: ctx.now(), client: ctx.name.clone(), filters: asked.clone() });
                }
                let ctx = ctx.clone();
                with_client(&client, reply, |c| async move {
                    let codes = c.subscribe_with(filters, properties).await.map_err(|e| e.to_string())?;
                    let granted = asked
                        .into_iter()
                        .zip(&codes)
                        .filter_map(|(f, code)| match code {
                            SubackCode::Granted(q) => Some((f, q.as_u8())),
                            SubackCode::Failure | SubackCode::Refused(_) => None,
                        })
                        .collect();
                    ctx.push(TraceEvent::Subscribed { ms: ctx.now(), client: ctx.name.clone(), granted });
                    Ok(codes)
                })
            }
            Command::Unsubscribe { filters, reply } => {
                let ctx = ctx.clone();
                with_client(&client, reply, |c| async move {
                    let shown = filters.iter().map(|f| ctx.show(f)).collect();
                    c.unsubscribe(filters).await.map_err(|e| e.to_string())?;
                    ctx.push(TraceEvent::Unsubscribed { ms: ctx.now(), client: ctx.name.clone(), filters: shown });
                    Ok(())
                })
            }
            Command::Publish { topic, payload, qos, retain, properties, handed_over, reply } => {
                let (shown, text) = (ctx.show(&topic), String::from_utf8_lossy(&payload).into_owned());
                if client.is_some() {
                    ctx.push(TraceEvent::Publish {
                        ms: ctx.now(),
                        client: ctx.name.clone(),
                        topic: shown.clone(),
                        payload: text.clone(),
                        qos: qos.as_u8(),
                        retain,
                    });
                }
                if client.is_none() {
                    let error = "not connected".to_owned();
                    ctx.note(ClientNote::PublishFailed { topic: shown.clone(), payload: text.clone(), error });
                }
                let ctx = ctx.clone();
                with_client(&client, reply, |c| async move {
                    if let Err(e) = c.publish_with(topic, payload, qos, retain, properties).await {
                        // Cut short by the end of the connection, after the client had it.
                        let cut = matches!(e, ClientError::Closed | ClientError::Cause(_) | ClientError::Io(_));
                        let error = e.to_string();
                        let note = ClientNote::PublishFailed { topic: shown, payload: text, error: error.clone() };
                        ctx.note(note);
                        return if handed_over && cut { Ok(()) } else { Err(error) };
                    }
                    ctx.push(TraceEvent::Published {
                        ms: ctx.now(),
                        client: ctx.name.clone(),
                        topic: shown,
                        payload: text,
                        qos: qos.as_u8(),
                    });
                    Ok(())
                })
            }
            Command::Ack { kind, pkid, reply } => {
                with_client(&client, reply, |c| async move {
                    c.ack(kind, pkid).await.map(PacketId::get).map_err(|e| e.to_string())
                });
            }
            Command::Send { packet, raw, reply } => {
                // Said before the bytes go, so the trace reads in order.
                let refused = packet.encode(&mut bytes::BytesMut::new(), MAX_PACKET_SIZE).is_err();
                if raw && refused && client.is_some() {
                    ctx.note(ClientNote::SentRaw { packet: crate::protocol::PacketSummary::from(&packet).to_string() });
                }
                // A PUBLISH written by hand publishes a message, as the application would, the
                // first time; a copy of one sent before is a re-send of it, not a new message.
                if let (Packet::Publish(p), Some(_)) = (&packet, &client) {
                    if sent_by_hand.insert((p.topic.clone(), p.payload.clone())) {
                        ctx.push(TraceEvent::Publish {
                            ms: ctx.now(),
                            client: ctx.name.clone(),
                            topic: ctx.show(&p.topic),
                            payload: String::from_utf8_lossy(&p.payload).into_owned(),
                            qos: p.qos.as_u8(),
                            retain: p.retain,
                        });
                    }
                }
                with_client(&client, reply, |c| async move {
                    c.send_packet(packet, raw).await.map(|_| ()).map_err(|e| e.to_string())
                });
            }
            Command::Inspect { reply } => match client.clone() {
                Some(c) => {
                    let store = store.clone();
                    start_in_order(async move {
                        // A connection that has ended left the session in the store.
                        let summary = c.inspect().await.unwrap_or_else(|_| store.summary());
                        let _ = reply.send(Ok(summary));
                    });
                }
                None => {
                    let _ = reply.send(Ok(store.summary()));
                }
            },
            Command::StopPinging { reply } => {
                with_client(&client, reply, |c| async move {
                    c.stop_pinging().await;
                    Ok(())
                });
            }
            Command::Disconnect { with: None, reply } => {
                end_connection(&mut client, &mut pump_task, true).await;
                let _ = reply.send(Ok(()));
            }
            Command::Disconnect { with: Some((reason, properties)), reply } => {
                let result = match &client {
                    Some(c) => c.disconnect_with(reason, properties).await.map_err(|e| e.to_string()),
                    None => Err("not connected".to_owned()),
                };
                if result.is_ok() {
                    // The client closed after its DISCONNECT; what is left is the task.
                    end_connection(&mut client, &mut pump_task, false).await;
                }
                let _ = reply.send(result);
            }
            Command::Drop { reply } => {
                end_connection(&mut client, &mut pump_task, false).await;
                let _ = reply.send(Ok(()));
            }
        }
    }
    end_connection(&mut client, &mut pump_task, false).await;
}

/// Ends the current connection, with DISCONNECT or by dropping it, and waits until its events
/// are recorded.
async fn end_connection(
    client: &mut Option<Client>,
    pump_task: &mut Option<tokio::task::JoinHandle<()>>,
    disconnect: bool,
) {
    if let Some(c) = client.take() {
        if disconnect {
            c.disconnect().await;
        } else {
            c.abort().await;
        }
    }
    if let Some(task) = pump_task.take() {
        let _ = task.await;
    }
}

/// Runs a request in its own task so the agent keeps taking commands while it is pending.
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

/// Records what the application sees.
async fn pump(mut events: Events, ctx: AgentContext) {
    while let Some(event) = events.recv().await {
        record_event(&ctx, event);
    }
}

fn record_event(ctx: &AgentContext, event: ClientEvent) {
    let ms = ctx.now();
    match event {
        ClientEvent::Message(mut m) => {
            m.topic = ctx.show(&m.topic);
            // A Response Topic is a topic name too: shown as the scenario wrote it.
            for p in &mut m.properties.0 {
                if let crate::protocol::Property::ResponseTopic(t) = p {
                    *t = ctx.show(t);
                }
            }
            ctx.push(TraceEvent::Deliver {
                ms,
                client: ctx.name.clone(),
                topic: m.topic.clone(),
                payload: String::from_utf8_lossy(&m.payload).into_owned(),
                qos: m.qos.as_u8(),
                retain: m.retain,
                dup: m.dup,
            });
            ctx.record().messages.push((ms, m));
        }
        ClientEvent::Connected { session_present } => {
            ctx.connack(ConnackSeen::Accepted { session_present });
            ctx.note(ClientNote::Reconnected { session_present });
        }
        ClientEvent::SessionLost { unacknowledged } => {
            ctx.record().sessions_lost += 1;
            ctx.note(ClientNote::SessionLost { unacknowledged });
        }
        ClientEvent::Disconnected { cause } => {
            if let Some(CloseCause::ServerDisconnect(reason)) = cause {
                ctx.reason(PacketType::Disconnect, &[reason]);
            }
            ctx.record().connection = ended(cause);
            ctx.push(TraceEvent::Disconnected { ms, client: ctx.name.clone(), cause: EndCause(cause) })
        }
        ClientEvent::Refused(code) => ctx.note(ClientNote::Refused { code: code.raw() }),
        ClientEvent::Published { reason, .. } => ctx.reason(PacketType::Puback, &[reason]),
        ClientEvent::Subscribed { codes, .. } => {
            let reasons: Vec<ReasonCode> = codes
                .iter()
                .filter_map(|c| match c {
                    SubackCode::Granted(_) => None,
                    SubackCode::Failure => Some(ReasonCode(0x80)),
                    SubackCode::Refused(r) => Some(*r),
                })
                .collect();
            ctx.reason(PacketType::Suback, &reasons)
        }
        ClientEvent::Unsubscribed { reasons, .. } => ctx.reason(PacketType::Unsuback, &reasons),
    }
}

/// How a connection ended, from why the client closed it (`None`: it was lost, or the server
/// or a fault closed it).
fn ended(cause: Option<CloseCause>) -> ConnectionEnd {
    match cause {
        // A 5.0 server's DISCONNECT is the server closing the connection.
        None | Some(CloseCause::ServerDisconnect(_)) => ConnectionEnd::Lost,
        Some(CloseCause::Disconnect) => ConnectionEnd::Disconnect,
        Some(CloseCause::PingTimeout) => ConnectionEnd::PingTimeout,
        Some(CloseCause::ConnackTimeout) => ConnectionEnd::ConnackTimeout,
        Some(CloseCause::Refused(_)) => ConnectionEnd::Refused,
        Some(CloseCause::ProtocolViolation(_)) => ConnectionEnd::ProtocolViolation,
    }
}
