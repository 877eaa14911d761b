//! The harness: what a scenario run is made of, whichever network carries it (turmoil's
//! simulated TCP or real TCP).
//!
//! - [`agent`]: what runs on a client host: commands in, the application's view recorded;
//! - [`tap`]: stream wrappers that record every packet in the trace;
//! - [`trace`]: the structured trace and its text and JSON-lines forms.
//!
//! Nothing here adds code paths to the broker or the client: they see tokio-compatible streams.

pub mod agent;
pub mod tap;
pub mod trace;

pub use agent::{ClientRecord, ConnackSeen};
pub use trace::{Trace, TraceEvent};

/// The broker's name in every trace, and its host name in the simulation (`broker:1883`).
pub const BROKER: &str = "broker";

/// How a client command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    Done(T),
    /// It completed with an error (refused, not connected, host crashed...).
    Failed(String),
    /// Still not complete after the network's command timeout; it may complete later.
    Pending,
}

impl<T> Outcome<T> {
    pub fn done(self) -> Option<T> {
        match self {
            Outcome::Done(v) => Some(v),
            _ => None,
        }
    }
}
