//! The trace of a simulated run: every packet sent and received on every host, every fault,
//! every scenario step, every delivery to an application and every broker event (drops with their
//! reason, wills, session changes), each with its simulated time. Rendered as aligned text for
//! people and as JSON lines for tools. The same seed gives the same trace, byte for byte.

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
    pub fn ms(&self) -> u64 {
        match self {
            TraceEvent::Send { ms, .. }
            | TraceEvent::Recv { ms, .. }
            | TraceEvent::Malformed { ms, .. }
            | TraceEvent::Step { ms, .. }
            | TraceEvent::Fault { ms, .. }
            | TraceEvent::Deliver { ms, .. }
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
            TraceEvent::Broker { event, .. } => write!(f, "{:>10} :: {event}", "broker"),
            TraceEvent::Drop { client_id, topic, qos, reason, .. } => {
                write!(f, "{:>10} xx dropped for {client_id:?}: {topic:?} q{qos} ({reason})", "broker")
            }
        }
    }
}

/// A trace shared by every host of one world.
#[derive(Debug, Clone, Default)]
pub struct Trace(Arc<Mutex<Vec<TraceEvent>>>);

impl Trace {
    pub fn push(&self, event: TraceEvent) {
        self.0.lock().expect("trace lock").push(event);
    }

    pub fn events(&self) -> Vec<TraceEvent> {
        self.0.lock().expect("trace lock").clone()
    }

    pub fn len(&self) -> usize {
        self.0.lock().expect("trace lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One line per event.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in self.0.lock().expect("trace lock").iter() {
            writeln!(out, "{e}").expect("writing to a String");
        }
        out
    }

    /// One JSON object per line.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for e in self.0.lock().expect("trace lock").iter() {
            out.push_str(&serde_json::to_string(e).expect("trace events serialize"));
            out.push('\n');
        }
        out
    }

    /// The last `n` lines as text, for failure reports.
    pub fn tail(&self, n: usize) -> String {
        let events = self.0.lock().expect("trace lock");
        let start = events.len().saturating_sub(n);
        events[start..].iter().map(|e| format!("{e}\n")).collect()
    }
}

/// Simulated time since the start of the run, in milliseconds (0 outside a simulation).
pub fn now_ms() -> u64 {
    turmoil::sim_elapsed().unwrap_or(Duration::ZERO).as_millis() as u64
}
