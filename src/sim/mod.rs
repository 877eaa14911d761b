//! The simulation: the real broker and clients in turmoil's deterministic network, with faults
//! and exact replay by seed.
//!
//! - [`world`]: the controller that builds hosts, runs commands, injects faults and steps time;
//! - [`hosts`]: the broker's listener and the client hosts over turmoil TCP, tapped;
//! - [`network`]: the world as the executor's `Network`;
//! - [`runner`]: one scenario at one seed, with its snapshot and invariants;
//! - [`suite`]: one file at many seeds, many files on worker threads.
//!
//! Nothing here adds code paths to the broker or the client: they see tokio-compatible streams.

pub mod hosts;
pub mod network;
pub mod runner;
pub mod suite;
pub mod world;

pub use runner::{run, run_on, Failure, RunResult};
pub use world::{World, WorldConfig, WorldError};
