//! The simulation: the real broker and clients in turmoil's deterministic network, with faults,
//! a trace, and exact replay by seed.
//!
//! - [`world`]: the controller that builds hosts, runs commands, injects faults and steps time;
//! - [`agent`]: what runs on a client host;
//! - [`tap`]: stream wrappers that record every packet in the trace;
//! - [`trace`]: the trace and its text and JSON-lines forms.
//!
//! Nothing here adds code paths to the broker or the client: they see tokio-compatible streams.

pub mod agent;
pub mod tap;
pub mod trace;
pub mod world;

pub use agent::{ClientRecord, ConnackSeen};
pub use trace::{Trace, TraceEvent};
pub use world::{Outcome, World, WorldConfig, WorldError, BROKER};
