//! Hostile connections: each kind misbehaves in one way a broken client or a scanner on the
//! network does, then waits for the broker to close it and reports how long that took and what
//! it received first. The bytes are written raw, since our encoder refuses to build most of them.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::protocol::{put_remaining_length, Connect, Packet, MAX_PACKET_SIZE};

/// One way of misbehaving. Every kind must end with the broker closing the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abuse {
    /// Bytes that are no MQTT packet as the first thing on the connection (an HTTP request, a
    /// reserved packet type, a remaining length of five bytes...) [MQTT-4.8.0-1].
    Garbage,
    /// A fixed header announcing a packet of 268,435,455 bytes, then a trickle of body: the
    /// broker must refuse it from the header (`max_packet_size`), not wait for the body.
    OversizedLength,
    /// A valid CONNECT, then a second one on the same connection [MQTT-3.1.0-2].
    SecondConnect,
    /// A valid CONNECT, then a PUBLISH to a topic name with wildcards [MQTT-3.3.2-2].
    WildcardPublish,
    /// A first packet that is not CONNECT [MQTT-3.1.0-1].
    NoConnectFirst,
    /// A TCP connection that never sends a byte: closed by the connect timeout.
    Silent,
    /// A valid CONNECT with a keep alive of 1 s, then nothing: reaped by the keep-alive rule
    /// [MQTT-3.1.2-24], as a half-open socket would be.
    SilentAfterConnect,
    /// A SUBSCRIBE to a filter of 30,000 levels (refused with 0x80), then a PUBLISH to a topic of
    /// as many: the packets that crash a broker whose topic tree recurses per level
    /// (mosquitto's CVE-2019-11779; ours too, before `topic::MAX_LEVELS`).
    DeepTopic,
}

impl Abuse {
    /// Every kind, in the order connections are assigned to them.
    pub const ALL: [Abuse; 8] = [
        Abuse::Garbage,
        Abuse::OversizedLength,
        Abuse::SecondConnect,
        Abuse::WildcardPublish,
        Abuse::NoConnectFirst,
        Abuse::Silent,
        Abuse::SilentAfterConnect,
        Abuse::DeepTopic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Abuse::Garbage => "garbage",
            Abuse::OversizedLength => "oversized-length",
            Abuse::SecondConnect => "second-connect",
            Abuse::WildcardPublish => "wildcard-publish",
            Abuse::NoConnectFirst => "no-connect-first",
            Abuse::Silent => "silent",
            Abuse::SilentAfterConnect => "silent-after-connect",
            Abuse::DeepTopic => "deep-topic",
        }
    }

    pub fn by_name(name: &str) -> Option<Abuse> {
        Abuse::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Part of the text our broker logs when it closes a connection of this kind (see
    /// `CloseReason`'s `Display`); the load test matches log lines against it.
    pub fn close_reason(self) -> &'static str {
        match self {
            Abuse::Garbage => "malformed packet",
            Abuse::OversizedLength => "exceeds the maximum packet size",
            Abuse::SecondConnect => "second CONNECT [MQTT-3.1.0-2]",
            Abuse::WildcardPublish => "[MQTT-3.3.2-2]",
            Abuse::NoConnectFirst => "first packet is not CONNECT [MQTT-3.1.0-1]",
            Abuse::Silent => "no CONNECT in time",
            Abuse::SilentAfterConnect => "keep alive expired [MQTT-3.1.2-24]",
            Abuse::DeepTopic => "levels refused",
        }
    }
}

impl fmt::Display for Abuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What became of one hostile connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbuseOutcome {
    pub kind: Abuse,
    /// The connection's local address: the peer address in the broker's log.
    pub local_addr: SocketAddr,
    /// Time from the misbehaviour to the broker closing the connection; `None` if it was still
    /// open when the patience ran out, or could not be opened.
    pub closed_after: Option<Duration>,
    /// Bytes received from the broker before the close (a CONNACK for the kinds that connect).
    pub received: usize,
    /// Why the connection failed before it could misbehave, if it did.
    pub error: Option<String>,
}

/// A connection opened and waiting for its cue.
pub(super) struct Opened {
    pub stream: TcpStream,
    pub local_addr: SocketAddr,
}

pub(super) async fn open(addr: SocketAddr) -> std::io::Result<Opened> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let local_addr = stream.local_addr()?;
    Ok(Opened { stream, local_addr })
}

/// Misbehaves as `kind` on `opened` (the `index`-th connection of that kind picks among
/// variants), then waits up to `patience` for the broker to close the connection.
pub(super) async fn misbehave(kind: Abuse, index: usize, opened: Opened, patience: Duration) -> AbuseOutcome {
    let Opened { mut stream, local_addr } = opened;
    let mut outcome = AbuseOutcome { kind, local_addr, closed_after: None, received: 0, error: None };
    let client_id = format!("abuse-{}-{index}", kind.name());
    let script: Vec<Step> = match kind {
        Abuse::Garbage => vec![Step::Send(GARBAGE[index % GARBAGE.len()].to_vec())],
        Abuse::OversizedLength if index % 2 == 0 => {
            // A CONNECT header of 256 MiB with the start of a body.
            vec![Step::Send([&[0x10, 0xFF, 0xFF, 0xFF, 0x7F][..], &[0, 4, b'M', b'Q', b'T', b'T']].concat())]
        }
        Abuse::OversizedLength => {
            // Accepted first, then a 256 MiB PUBLISH header.
            vec![connect(&client_id, 60), Step::ReadConnack, Step::Send(vec![0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0, 1, b'x'])]
        }
        Abuse::SecondConnect => vec![connect(&client_id, 60), Step::ReadConnack, connect(&client_id, 60)],
        Abuse::WildcardPublish => {
            let topic = if index % 2 == 0 { &b"load/+/x"[..] } else { &b"load/#"[..] };
            let mut publish = vec![0x30, (2 + topic.len() + 2) as u8, 0, topic.len() as u8];
            publish.extend_from_slice(topic);
            publish.extend_from_slice(b"hi");
            vec![connect(&client_id, 60), Step::ReadConnack, Step::Send(publish)]
        }
        // A well-formed PINGREQ, or SUBSCRIBE, before any CONNECT.
        Abuse::NoConnectFirst if index % 2 == 0 => vec![Step::Send(vec![0xC0, 0x00])],
        Abuse::NoConnectFirst => vec![Step::Send(vec![0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'b', 0x01])],
        Abuse::Silent => vec![],
        Abuse::SilentAfterConnect => vec![connect(&client_id, 1), Step::ReadConnack],
        Abuse::DeepTopic => {
            let topic = vec!["a"; DEEP_LEVELS].join("/");
            let filter = format!("{topic}/#");
            let mut subscribe = vec![0x00, 0x01]; // packet id 1
            subscribe.extend_from_slice(&(filter.len() as u16).to_be_bytes());
            subscribe.extend_from_slice(filter.as_bytes());
            subscribe.push(1);
            let mut publish = (topic.len() as u16).to_be_bytes().to_vec();
            publish.extend_from_slice(topic.as_bytes());
            publish.extend_from_slice(b"deep");
            vec![
                connect(&client_id, 60),
                Step::ReadConnack,
                Step::Send(packet(0x82, &subscribe)),
                Step::Send(packet(0x30, &publish)),
            ]
        }
    };
    for step in script {
        let done = match step {
            Step::Send(bytes) => stream.write_all(&bytes).await.map_err(|e| format!("write: {e}")),
            Step::ReadConnack => {
                let mut connack = [0u8; 4];
                match tokio::time::timeout(patience, stream.read_exact(&mut connack)).await {
                    Ok(Ok(_)) if connack[..2] == [0x20, 0x02] && connack[3] == 0 => {
                        outcome.received += 4;
                        Ok(())
                    }
                    Ok(Ok(_)) => Err(format!("expected an accepting CONNACK, got {connack:02x?}")),
                    Ok(Err(e)) => Err(format!("waiting for CONNACK: {e}")),
                    Err(_) => Err("no CONNACK in time".to_owned()),
                }
            }
        };
        if let Err(e) = done {
            outcome.error = Some(e);
            return outcome;
        }
    }
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(started + patience, stream.read(&mut buf)).await {
            Err(_) => return outcome,
            Ok(Ok(0)) | Ok(Err(_)) => {
                outcome.closed_after = Some(started.elapsed());
                return outcome;
            }
            Ok(Ok(n)) => outcome.received += n,
        }
    }
}

enum Step {
    Send(Vec<u8>),
    ReadConnack,
}

/// Levels of the deep topic: 60 KB, within a 64 KiB `max_packet_size`.
const DEEP_LEVELS: usize = 30_000;

/// A packet with this first byte and body, whatever the body holds (the encoder would refuse it).
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::from(&[first][..]);
    put_remaining_length(&mut out, body.len()).expect("a body within the remaining length's range");
    out.extend_from_slice(body);
    out.to_vec()
}

fn connect(client_id: &str, keep_alive: u16) -> Step {
    let mut buf = BytesMut::new();
    Packet::Connect(Connect::new(client_id, true, keep_alive))
        .encode(&mut buf, MAX_PACKET_SIZE)
        .expect("a valid CONNECT encodes");
    Step::Send(buf.to_vec())
}

/// First bytes that are not a packet a broker may accept.
const GARBAGE: [&[u8]; 5] = [
    // An HTTP request: 'G' is packet type 4 (PUBACK) with flags 0b0111 [MQTT-2.2.2-2].
    b"GET / HTTP/1.1\r\nHost: broker\r\n\r\n",
    // Reserved packet type 0.
    &[0x00, 0x00],
    // Reserved packet type 15.
    &[0xF0, 0x00],
    // A remaining length of five bytes.
    &[0x10, 0x80, 0x80, 0x80, 0x80, 0x01],
    // A CONNECT whose protocol name is not UTF-8 [MQTT-1.5.3-1].
    &[0x10, 0x0C, 0x00, 0x04, 0xFF, 0xFE, 0xFD, 0xFC, 0x04, 0x02, 0x00, 0x3C, 0x00, 0x00],
];
