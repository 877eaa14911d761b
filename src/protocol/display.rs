//! One-line, stable text for packets, used by traces, logs and sequence charts: a packet
//! displays as its [`PacketSummary`], the one place the format is written. The format is part of
//! the trace and replay contract: change it and recorded traces change.

use std::fmt;

use super::summary::{PacketSummary, PublishSummary};
use super::{Packet, Publish};

impl fmt::Display for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        PublishSummary::from(self).fmt(f)
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        PacketSummary::from(self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PacketId, QoS};
    use super::*;

    #[test]
    fn publish_text() {
        let mut p = Publish::new("a/b", QoS::AtLeastOnce, "hi", true, PacketId::new(7));
        p.dup = true;
        assert_eq!(Packet::Publish(p).to_string(), r#"PUBLISH id=7 q1 dup retain "a/b" "hi""#);
        let long = Publish::new("t", QoS::AtMostOnce, vec![b'x'; 40], false, None);
        assert_eq!(long.to_string(), format!(r#"PUBLISH q0 "t" "{}"..(40 bytes)"#, "x".repeat(32)));
    }
}
