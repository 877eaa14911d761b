//! Checking a real broker: the scenarios run over real TCP (tokio) against any MQTT 3.1.1 broker,
//! at HOST:PORT or started fresh for each scenario (`--launch`), with the same client code the
//! simulation runs and the same faults, and every difference from the spec is reported with the
//! statement it breaks. The steps run through the same executor as in
//! the simulation (`harness::executor`); this module adds only what differs for a borrowed broker
//! over real TCP. `mqtt-sim check` is the command;
//! docs/checking-a-broker.md is the user's guide.
//!
//! - [`target`]: the broker under test and the settings the user says it has;
//! - [`launch`]: starting, crashing and restarting a broker process for one scenario;
//! - [`applicable`]: which scenarios can run against it and which expectations can be observed;
//! - [`names`]: the run-unique prefix of client ids and topics;
//! - [`proxy`]: the fault-injecting loopback proxy on each client's link to the broker;
//! - [`network`]: real TCP as the executor's network: one client host per scenario client;
//! - [`runner`]: one scenario in real time, judged against its expectations and its snapshot;
//! - [`recorded`]: the simulation's reviewed snapshot, reduced to what clients observe;
//! - [`suite`]: many scenarios in parallel, and their verdicts;
//! - [`report`], [`html`]: the table and the details, as text and as HTML.
//!
//! Nothing here adds code paths to the broker or the client, and nothing here runs inside the
//! simulation: real time is read only through tokio's clock.

pub mod applicable;
pub mod html;
pub mod launch;
pub mod names;
pub mod network;
pub mod proxy;
pub mod recorded;
pub mod report;
pub mod runner;
pub mod suite;
pub mod target;

pub use suite::{check, check_blocking, CheckError, CheckOptions, CheckReport, ScenarioCheck, Verdict};
pub use target::Target;
