//! The trace of a run, as data: every packet sent and received on every host (a
//! `protocol::PacketSummary`), every fault, every scenario step, every delivery to an application
//! and every broker event (drops with their reason, wills, session changes), each stamped by the
//! clock its owner gives (simulated time in `sim`, real time for `mqtt-sim check`). Code reads the
//! fields; the text (`Display`) is for people and the JSON lines for tools, and nothing in the
//! crate parses either back. The same seed gives the same trace, byte for byte.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use serde::Serialize;

mod events;

use crate::protocol::PacketSummary;
pub use events::{BrokerEvent, ClientNote, Direction, EndCause, Fault};

/// The broker's name in every trace, and its host name in the simulation (`broker:1883`).
pub const BROKER: &str = "broker";

/// One line of the trace. Every field is data; `Display` is the text for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceEvent {
    /// `host` wrote a packet to its connection with `peer`.
    Send { ms: u64, host: String, peer: String, packet: PacketSummary },
    /// `host` read a packet from its connection with `peer`.
    Recv { ms: u64, host: String, peer: String, packet: PacketSummary },
    /// Bytes that do not decode as MQTT: `host` read them from `peer` (recorded once, by the
    /// reader's end).
    Malformed { ms: u64, host: String, peer: String, error: String },
    /// A scenario step started.
    Step { ms: u64, step: String },
    /// A fault was injected.
    Fault { ms: u64, fault: Fault },
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
    Disconnected { ms: u64, client: String, cause: EndCause },
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
    /// A client handed a message to its application.
    Deliver { ms: u64, client: String, topic: String, payload: String, qos: u8, retain: bool, dup: bool },
    /// A client-side event other than a message, a connect or a disconnect.
    Client { ms: u64, client: String, event: ClientNote },
    /// Something the broker reports (sessions, drops, wills).
    Broker { ms: u64, event: BrokerEvent },
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
            | TraceEvent::Client { ms, .. }
            | TraceEvent::Broker { ms, .. } => *ms,
        }
    }
}

impl TraceEvent {
    /// What a client's application asked or was told, in words (the text after its lane in the
    /// trace and on a chart); nothing for other events.
    fn application(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceEvent::Client { event, .. } => write!(f, "{event}"),
            TraceEvent::Connected { client_id, clean, session_present, will, .. } => {
                write!(
                    f,
                    "connected as {client_id:?}, clean={}, session present={}",
                    *clean as u8, *session_present as u8
                )?;
                if let Some((topic, _)) = will {
                    write!(f, ", will on {topic:?}")?;
                }
                Ok(())
            }
            TraceEvent::Disconnected { cause, .. } => write!(f, "disconnected ({cause})"),
            TraceEvent::Publish { topic, payload, qos, retain, .. } => {
                write!(f, "app publishes {topic:?} {payload:?} q{qos}{}", if *retain { " retain" } else { "" })
            }
            TraceEvent::Published { topic, payload, qos, .. } => {
                write!(f, "publish complete {topic:?} {payload:?} q{qos}")
            }
            TraceEvent::Subscribed { granted, .. } => {
                let g: Vec<String> = granted.iter().map(|(f, q)| format!("{f:?}:q{q}")).collect();
                write!(f, "subscribed {}", g.join(" "))
            }
            TraceEvent::Subscribe { filters, .. } => write!(f, "app subscribes {filters:?}"),
            TraceEvent::Unsubscribed { filters, .. } => write!(f, "unsubscribed {filters:?}"),
            _ => Ok(()),
        }
    }

    /// [`TraceEvent::application`] as a string, for a chart's lane.
    pub fn application_text(&self) -> String {
        struct Words<'a>(&'a TraceEvent);
        impl fmt::Display for Words<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.application(f)
            }
        }
        Words(self).to_string()
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
            TraceEvent::Connected { client, .. }
            | TraceEvent::Disconnected { client, .. }
            | TraceEvent::Publish { client, .. }
            | TraceEvent::Published { client, .. }
            | TraceEvent::Subscribe { client, .. }
            | TraceEvent::Subscribed { client, .. }
            | TraceEvent::Unsubscribed { client, .. }
            | TraceEvent::Client { client, .. } => {
                write!(f, "{client:>10} :: ")?;
                self.application(f)
            }
            TraceEvent::Broker { event: event @ BrokerEvent::Dropped { .. }, .. } => {
                write!(f, "{BROKER:>10} xx {event}")
            }
            TraceEvent::Broker { event, .. } => write!(f, "{BROKER:>10} :: {event}"),
        }
    }
}

/// The clock a trace stamps its events with: milliseconds since the start of the run.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// A trace shared by every host of one world (or of one run against a real broker).
#[derive(Clone)]
pub struct Trace {
    events: Arc<Mutex<Vec<TraceEvent>>>,
    /// The run's clock: the simulation's (`sim::World` gives it) or real time.
    clock: Clock,
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace").field("events", &self.len()).finish_non_exhaustive()
    }
}

impl Trace {
    /// An empty trace whose events are stamped by `clock`.
    pub fn new(clock: Clock) -> Trace {
        Trace { events: Arc::default(), clock }
    }

    /// A trace whose times are real time since now, for a run outside a simulation.
    pub fn real_time() -> Trace {
        let epoch = tokio::time::Instant::now();
        Trace::new(Arc::new(move || epoch.elapsed().as_millis() as u64))
    }

    /// Milliseconds since the start of the run on this trace's clock.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// A copy of the trace as it is now, which later pushes to this one do not reach: a run's
    /// result keeps the run, not what tearing its world down records after it (the broker's
    /// connections closing as the simulation is dropped).
    pub fn frozen(&self) -> Trace {
        Trace { events: Arc::new(Mutex::new(self.events())), clock: Arc::clone(&self.clock) }
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
