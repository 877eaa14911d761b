//! mqtt-sim: an MQTT 3.1.1 broker and client that run unchanged on real TCP and inside turmoil's
//! deterministic simulated network, and a harness that checks persistent-session delivery
//! promises against YAML scenarios.
//!
//! The layers, bottom up (see ARCHITECTURE.md):
//! - [`protocol`]: the pure codec, every control packet to and from bytes;
//! - [`topic`]: topic name and filter validation and matching;
//! - [`time`]: the `now` the sans-IO state machines are given;
//! - [`qos`]: the sender's side of QoS 1/2, shared by both ends;
//! - [`broker`]: the broker state machine; [`client`]: the client session state machine;
//! - [`net`]: the tokio drivers (broker server, async client) over any byte stream;
//! - [`trace`]: the structured trace of a run; [`harness`]: agents, taps, the network interface;
//! - [`sim`]: the turmoil world and its faults; [`scenario`]: YAML scenarios and snapshots;
//! - [`invariants`]: delivery invariants judged from a trace; [`explore`]: generated scenarios;
//! - [`check`]: `mqtt-sim check`, the scenarios against another broker over TCP;
//! - [`loadtest`]: `mqtt-sim load`, many hostile connections at once;
//! - [`report`], [`conformance`], [`commands`]: what the binary prints.

pub mod broker;
pub mod check;
pub mod client;
pub mod commands;
pub mod conformance;
pub mod explore;
pub mod harness;
pub mod invariants;
pub mod loadtest;
#[cfg(feature = "mutants")]
pub mod mutants;
pub mod net;
pub mod persist;
pub mod protocol;
pub mod qos;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod time;
pub mod topic;
pub mod trace;
