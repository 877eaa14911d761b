//! The trace of a simulated run: every packet sent and received on every host, every fault,
//! every scenario step, every delivery to an application and every broker event (drops with their
//! reason, wills, session changes), each with its simulated time (or its real time, for a run
//! against a real broker: `Trace::real_time`). Rendered as aligned text for people and as JSON
//! lines for tools. The same seed gives the same trace, byte for byte.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// One line of the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceEvent {
    /// `host` wrote a packet to its connection with `peer`.
    Send { ms: u64, host: String, peer: String, packet: String },
    /// `host` read a packet from its connection with `peer`.
    Recv { ms: u64, host: String, peer: String, packet: String },
    /// Bytes that do not decode as MQTT.
    Malformed { ms: u64, host: String, peer: String, error: String },
    /// A scenario step started.
    Step { ms: u64, step: String },
    /// A fault was injected.
    Fault { ms: u64, fault: String },
    /// A client's CONNECT was accepted (what the application asked for, and the CONNACK).
    Connected {
        ms: u64,
        client: String,
        client_id: String,
        clean: bool,
        session_present: bool,
        /// The will's topic and payload, if any.
        will: Option<(String, String)>,
    },
    /// A client's application saw its connection end.
    Disconnected { ms: u64, client: String, cause: String },
    /// A client's application asked to publish.
    Publish { ms: u64, client: String, topic: String, payload: String, qos: u8, retain: bool },
    /// The QoS flow of that publication completed: the broker owns the message.
    Published { ms: u64, client: String, topic: String, payload: String, qos: u8 },
    /// A client's application asked to subscribe to these filters.
    Subscribe { ms: u64, client: String, filters: Vec<String> },
    /// SUBACK granted these filters, with their QoS.
    Subscribed { ms: u64, client: String, granted: Vec<(String, u8)> },
    /// UNSUBACK for these filters.
    Unsubscribed { ms: u64, client: String, filters: Vec<String> },
    /// The broker accepted a CONNECT for this client id.
    SessionConnected { ms: u64, client_id: String, clean: bool, session_present: bool },
    /// The broker took a session's connection away (the session itself may stay).
    SessionOffline { ms: u64, client_id: String, reason: String },
    /// The broker discarded a session's state.
    SessionDiscarded { ms: u64, client_id: String },
    /// A client handed a message to its application.
    Deliver { ms: u64, client: String, topic: String, payload: String, qos: u8, retain: bool, dup: bool },
    /// A client-side event other than a message (connected, session lost, disconnected...).
    Client { ms: u64, client: String, event: String },
    /// A broker event other than a drop.
    Broker { ms: u64, event: String },
    /// The broker did not queue a message for a session.
    Drop { ms: u64, client_id: String, topic: String, qos: u8, reason: String },
}

impl TraceEvent {
    /// The client an application-side event belongs to (its lane in a chart), if any.
    pub fn client(&self) -> Option<&str> {
        match self {
            TraceEvent::Deliver { client, .. }
            | TraceEvent::Client { client, .. }
            | TraceEvent::Connected { client, .. }
            | TraceEvent::Disconnected { client, .. }
            | TraceEvent::Publish { client, .. }
            | TraceEvent::Published { client, .. }
            | TraceEvent::Subscribed { client, .. }
            | TraceEvent::Subscribe { client, .. }
            | TraceEvent::Unsubscribed { client, .. } => Some(client),
            _ => None,
        }
    }

    pub fn ms(&self) -> u64 {
        match self {
            TraceEvent::Send { ms, .. }
            | TraceEvent::Recv { ms, .. }
            | TraceEvent::Malformed { ms, .. }
            | TraceEvent::Step { ms, .. }
            | TraceEvent::Fault { ms, .. }
            | TraceEvent::Deliver { ms, .. }
            | TraceEvent::Connected { ms, .. }
            | TraceEvent::Disconnected { ms, .. }
            | TraceEvent::Publish { ms, .. }
            | TraceEvent::Published { ms, .. }
            | TraceEvent::Subscribed { ms, .. }
            | TraceEvent::Subscribe { ms, .. }
            | TraceEvent::Unsubscribed { ms, .. }
            | TraceEvent::SessionDiscarded { ms, .. }
            | TraceEvent::SessionOffline { ms, .. }
            | TraceEvent::SessionConnected { ms, .. }
            | TraceEvent::Client { ms, .. }
            | TraceEvent::Broker { ms, .. }
            | TraceEvent::Drop { ms, .. } => *ms,
        }
    }
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.ms();
        write!(f, "{:>6}.{:03}s ", ms / 1000, ms % 1000)?;
        match self {
            TraceEvent::Send { host, peer, packet, .. } => write!(f, "{host:>10} -> {peer:<10} {packet}"),
            TraceEvent::Recv { host, peer, packet, .. } => write!(f, "{host:>10} <- {peer:<10} {packet}"),
            TraceEvent::Malformed { host, peer, error, .. } => write!(f, "{host:>10} <- {peer:<10} MALFORMED {error}"),
            TraceEvent::Step { step, .. } => write!(f, "---- step: {step}"),
            TraceEvent::Fault { fault, .. } => write!(f, "!!!! fault: {fault}"),
            TraceEvent::Deliver { client, topic, payload, qos, retain, dup, .. } => {
                write!(f, "{client:>10} => app      {topic:?} {payload:?} q{qos}")?;
                if *retain {
                    write!(f, " retain")?;
                }
                if *dup {
                    write!(f, " dup")?;
                }
                Ok(())
            }
            TraceEvent::Client { client, event, .. } => write!(f, "{client:>10} :: {event}"),
            TraceEvent::Connected { client, client_id, clean, session_present, will, .. } => {
                write!(
                    f,
                    "{client:>10} :: connected as {client_id:?}, clean={}, session present={}",
                    *clean as u8, *session_present as u8
                )?;
                if let Some((topic, _)) = will {
                    write!(f, ", will on {topic:?}")?;
                }
                Ok(())
            }
            TraceEvent::Disconnected { client, cause, .. } => write!(f, "{client:>10} :: disconnected ({cause})"),
            TraceEvent::Publish { client, topic, payload, qos, retain, .. } => {
                write!(
                    f,
                    "{client:>10} :: app publishes {topic:?} {payload:?} q{qos}{}",
                    if *retain { " retain" } else { "" }
                )
            }
            TraceEvent::Published { client, topic, payload, qos, .. } => {
                write!(f, "{client:>10} :: publish complete {topic:?} {payload:?} q{qos}")
            }
            TraceEvent::Subscribed { client, granted, .. } => {
                let g: Vec<String> = granted.iter().map(|(f, q)| format!("{f:?}:q{q}")).collect();
                write!(f, "{client:>10} :: subscribed {}", g.join(" "))
            }
            TraceEvent::Subscribe { client, filters, .. } => write!(f, "{client:>10} :: app subscribes {filters:?}"),
            TraceEvent::Unsubscribed { client, filters, .. } => write!(f, "{client:>10} :: unsubscribed {filters:?}"),
            TraceEvent::SessionDiscarded { client_id, .. } => {
                write!(f, "{:>10} :: session {client_id:?} discarded", "broker")
            }
            TraceEvent::SessionConnected { client_id, clean, session_present, .. } => write!(
                f,
                "{:>10} :: session {client_id:?} connected (clean={}, present={})",
                "broker", *clean as u8, *session_present as u8
            ),
            TraceEvent::SessionOffline { client_id, reason, .. } => {
                write!(f, "{:>10} :: {client_id:?} closed: {reason}", "broker")
            }
            TraceEvent::Broker { event, .. } => write!(f, "{:>10} :: {event}", "broker"),
            TraceEvent::Drop { client_id, topic, qos, reason, .. } => {
                write!(f, "{:>10} xx dropped for {client_id:?}: {topic:?} q{qos} ({reason})", "broker")
            }
        }
    }
}

/// A trace shared by every host of one world (or of one run against a real broker).
#[derive(Debug, Clone, Default)]
pub struct Trace {
    events: Arc<Mutex<Vec<TraceEvent>>>,
    /// Where its times count from: `None` (the default) is the simulation's clock, `Some` is real
    /// time since that instant, for runs over real TCP (`mqtt-sim check`).
    epoch: Option<tokio::time::Instant>,
}

impl Trace {
    /// A trace whose times are real time since now, for a run outside a simulation.
    pub fn real_time() -> Trace {
        Trace { events: Arc::default(), epoch: Some(tokio::time::Instant::now()) }
    }

    /// Milliseconds since the start of the run on this trace's clock.
    pub fn now_ms(&self) -> u64 {
        match self.epoch {
            Some(epoch) => epoch.elapsed().as_millis() as u64,
            None => now_ms(),
        }
    }

    pub fn push(&self, event: TraceEvent) {
        self.events.lock().expect("trace lock").push(event);
    }

    pub fn events(&self) -> Vec<TraceEvent> {
        self.events.lock().expect("trace lock").clone()
    }

    pub fn len(&self) -> usize {
        self.events.lock().expect("trace lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One line per event.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in self.events.lock().expect("trace lock").iter() {
            writeln!(out, "{e}").expect("writing to a String");
        }
        out
    }

    /// One JSON object per line.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for e in self.events.lock().expect("trace lock").iter() {
            out.push_str(&serde_json::to_string(e).expect("trace events serialize"));
            out.push('\n');
        }
        out
    }

    /// The last `n` lines as text, for failure reports.
    pub fn tail(&self, n: usize) -> String {
        let events = self.events.lock().expect("trace lock");
        let start = events.len().saturating_sub(n);
        events[start..].iter().map(|e| format!("{e}\n")).collect()
    }
}

/// Simulated time since the start of the run, in milliseconds (0 outside a simulation).
pub fn now_ms() -> u64 {
    turmoil::sim_elapsed().unwrap_or(Duration::ZERO).as_millis() as u64
}
