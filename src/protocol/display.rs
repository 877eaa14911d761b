//! One-line, stable text for packets, used by traces, logs and sequence charts. The format is
//! part of the trace and replay contract: change it and recorded traces change.

use std::fmt;

use super::{Connect, Packet, Publish, SubackCode};

/// Payloads longer than this are shown cut, with their length.
const PAYLOAD_SHOWN: usize = 32;

fn payload(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let shown = &bytes[..bytes.len().min(PAYLOAD_SHOWN)];
    write!(f, "{:?}", String::from_utf8_lossy(shown))?;
    if bytes.len() > PAYLOAD_SHOWN {
        write!(f, "..({} bytes)", bytes.len())?;
    }
    Ok(())
}

impl fmt::Display for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PUBLISH")?;
        if let Some(id) = self.pkid {
            write!(f, " id={id}")?;
        }
        write!(f, " q{}", self.qos.as_u8())?;
        if self.dup {
            write!(f, " dup")?;
        }
        if self.retain {
            write!(f, " retain")?;
        }
        write!(f, " {:?} ", self.topic)?;
        payload(f, &self.payload)
    }
}

fn connect(f: &mut fmt::Formatter<'_>, c: &Connect) -> fmt::Result {
    write!(f, "CONNECT id={:?} clean={} keepalive={}", c.client_id, c.clean_session as u8, c.keep_alive)?;
    if let Some(w) = &c.will {
        write!(f, " will={:?}:q{}{}", w.topic, w.qos.as_u8(), if w.retain { ":retain" } else { "" })?;
    }
    if let Some(u) = &c.username {
        write!(f, " user={u:?}")?;
    }
    Ok(())
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Packet::Connect(c) => connect(f, c),
            Packet::Connack(a) => write!(f, "CONNACK sp={} rc={}", a.session_present as u8, a.code as u8),
            Packet::Publish(p) => p.fmt(f),
            Packet::Puback(id) => write!(f, "PUBACK id={id}"),
            Packet::Pubrec(id) => write!(f, "PUBREC id={id}"),
            Packet::Pubrel(id) => write!(f, "PUBREL id={id}"),
            Packet::Pubcomp(id) => write!(f, "PUBCOMP id={id}"),
            Packet::Subscribe(s) => {
                write!(f, "SUBSCRIBE id={}", s.pkid)?;
                for sub in &s.filters {
                    write!(f, " {:?}:q{}", sub.filter, sub.qos.as_u8())?;
                }
                Ok(())
            }
            Packet::Suback(s) => {
                write!(f, "SUBACK id={}", s.pkid)?;
                for c in &s.codes {
                    match c {
                        SubackCode::Granted(q) => write!(f, " q{}", q.as_u8())?,
                        SubackCode::Failure => write!(f, " failure")?,
                    }
                }
                Ok(())
            }
            Packet::Unsubscribe(u) => {
                write!(f, "UNSUBSCRIBE id={}", u.pkid)?;
                for filter in &u.filters {
                    write!(f, " {filter:?}")?;
                }
                Ok(())
            }
            Packet::Unsuback(id) => write!(f, "UNSUBACK id={id}"),
            Packet::Pingreq => write!(f, "PINGREQ"),
            Packet::Pingresp => write!(f, "PINGRESP"),
            Packet::Disconnect => write!(f, "DISCONNECT"),
        }
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
