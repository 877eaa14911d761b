//! The client's record of one of its own QoS 1/2 publications until it is fully acknowledged:
//! waiting for room in the inflight window, then in flight.

use crate::protocol::{PacketId, Publish};

/// Where our publication stands.
// Each state is named for the acknowledgement it waits for; the shared prefix says so.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutState {
    /// QoS 1 PUBLISH sent, waiting for PUBACK.
    AwaitPuback,
    /// QoS 2 PUBLISH sent, waiting for PUBREC.
    AwaitPubrec,
    /// PUBREL sent, waiting for PUBCOMP.
    AwaitPubcomp,
}

/// One unacknowledged publication.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub pkid: PacketId,
    pub publish: Publish,
    pub state: OutState,
    /// Whether it was ever sent; `false` while it waits for room in the inflight window.
    pub sent: bool,
}
