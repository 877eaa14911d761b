//! The harness: what a scenario run is made of, whichever network carries it (turmoil's
//! simulated TCP or real TCP).
//!
//! - [`agent`]: what runs on a client host: commands in, the application's view recorded;
//! - [`snapshot`]: what a run's end looked like, in the reviewed `snapshots/` form;
//! - [`received`]: received messages compared as the spec orders and copies them, stream by stream;
//! - [`tap`]: stream wrappers that record every packet in the trace;
//! - [`executor`]: what each scenario step means, once, and under which statement a difference
//!   is reported;
//! - [`expect`]: judging an `expect` step;
//! - [`network`]: the interface the executor drives, implemented by the simulation and by TCP.
//!
//! Nothing here adds code paths to the broker or the client: they see tokio-compatible streams.

pub mod agent;
pub mod executor;
mod expect;
pub mod network;
pub mod received;
mod scripted;
pub mod snapshot;
pub mod tap;

pub use agent::{ClientRecord, ConnackSeen};
pub use expect::ever_subscribed;

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
