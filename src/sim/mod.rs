//! The simulation: the real broker and clients in turmoil's deterministic network, with faults
//! and exact replay by seed.
//!
//! - [`world`]: the controller that builds hosts, runs commands, injects faults and steps time.
//!
//! Nothing here adds code paths to the broker or the client: they see tokio-compatible streams.

pub mod world;

pub use world::{World, WorldConfig, WorldError};
