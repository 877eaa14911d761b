//! Code the benches share.

pub mod broker_process;
