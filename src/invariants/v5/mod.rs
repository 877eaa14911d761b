//! The MQTT 5.0 delivery invariants, judged from the trace alone like the others: message
//! expiry (`expiry.rs`), flow control by Receive Maximum (`flow.rs`), session expiry and a new
//! session's emptiness (`session.rs`), one delivery per shared subscription group
//! (`shared.rs`), No Local (`no_local.rs`) and Subscription Identifiers (`sub_ids.rs`). Each
//! reads the packets at the broker's end (`wire.rs`; the subscriptions they make, `subs.rs`),
//! so it judges our broker in the simulation and a real broker over TCP alike, and holds
//! vacuously for 3.1.1 traffic, which has none of these properties.

mod expiry;
mod flow;
mod no_local;
mod session;
mod shared;
mod sub_ids;
mod subs;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_routing;
mod wire;

use super::Violation;
use crate::trace::TraceEvent;

/// A server may keep time in whole seconds (mosquitto 2.0 does), and intervals are whole
/// seconds: a message or a session may outlive its interval by up to this, and a forwarded
/// interval be this far off the exact time left.
const WHOLE_SECOND_MS: u64 = 1000;

/// How much longer than it was a real-time trace may make a wait in the broker look: `mqtt-sim
/// check`'s proxy stamps what the broker wrote when it reads it and what the broker read when it
/// hands it over, so a measured wait is never shorter than the real one, and longer by the
/// proxy's scheduling delay. (A simulated trace is stamped by the broker's own clock.)
const STAMP_MS: u64 = 250;

/// Checks the 5.0 invariants against a trace.
pub fn check(events: &[TraceEvent], out: &mut Vec<Violation>) {
    let seen = wire::walk(events);
    let receipts = wire::receipts(&seen);
    let subs = subs::Subs::build(&seen);
    expiry::check(&seen, out);
    flow::check(events, &seen, out);
    session::check(&seen, &receipts, &subs, out);
    shared::check(&seen, &receipts, &subs, out);
    no_local::check(&seen, &receipts, &subs, out);
    sub_ids::check(&seen, &receipts, &subs, out);
}
