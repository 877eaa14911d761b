//! A transparent tap on a byte stream: it passes every byte through untouched and decodes a copy
//! of each direction with the project codec, recording the packets in the trace. Wrapping the
//! streams, rather than hooking the drivers, keeps the broker and client free of sim-only code.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::protocol::{self, Packet, PacketSummary, Version, MAX_PACKET_SIZE};
use crate::trace::{BrokerEvent, Trace, TraceEvent, BROKER};

/// Decodes one direction of a stream for the trace.
#[derive(Debug, Default)]
struct Decoder {
    buf: BytesMut,
    broken: bool,
}

/// Records the packets one host sends to and receives from a peer, from the bytes as they
/// pass: the tap's decoding, for code that sees the bytes without owning the stream (the fault
/// proxy of `mqtt-sim check` records the broker's side this way).
#[derive(Debug)]
pub struct PacketRecorder {
    host: String,
    peer: String,
    trace: Trace,
    sent: Decoder,
    received: Decoder,
    /// The version the connection's CONNECT named, whichever way it went.
    version: Version,
}

impl PacketRecorder {
    pub fn new(host: String, peer: String, trace: Trace) -> PacketRecorder {
        PacketRecorder {
            host,
            peer,
            trace,
            sent: Decoder::default(),
            received: Decoder::default(),
            version: Version::V311,
        }
    }

    /// Bytes the host wrote.
    pub fn sent(&mut self, bytes: &[u8]) {
        self.record(bytes, true);
    }

    /// Bytes the host read.
    pub fn received(&mut self, bytes: &[u8]) {
        self.record(bytes, false);
    }

    fn record(&mut self, bytes: &[u8], sending: bool) {
        let decoder = if sending { &mut self.sent } else { &mut self.received };
        if decoder.broken {
            return;
        }
        decoder.buf.extend_from_slice(bytes);
        loop {
            match protocol::decode_as(self.version, &mut decoder.buf, MAX_PACKET_SIZE) {
                Ok(Some(packet)) => {
                    if let Packet::Connect(c) = &packet {
                        self.version = c.protocol.version();
                    }
                    let (ms, host, peer, packet) =
                        (self.trace.now_ms(), self.host.clone(), self.peer.clone(), PacketSummary::from(&packet));
                    self.trace.push(if sending {
                        TraceEvent::Send { ms, host, peer, packet }
                    } else {
                        TraceEvent::Recv { ms, host, peer, packet }
                    });
                }
                Ok(None) => return,
                Err(e) => {
                    decoder.broken = true;
                    // Said once, by the reader's end: every stream is tapped where it is read
                    // (both ends in the simulation; over TCP the client's tap and the proxy's
                    // record of what the broker read), so the writer's end stays silent.
                    if !sending {
                        self.trace.push(TraceEvent::Malformed {
                            ms: self.trace.now_ms(),
                            host: self.host.clone(),
                            peer: self.peer.clone(),
                            error: e.to_string(),
                        });
                    }
                    return;
                }
            }
        }
    }
}

/// A stream whose traffic is recorded in a trace. On the broker's end it also records when the
/// broker closes the stream (shuts it down or drops it), as the fault proxy of `mqtt-sim check`
/// does over real TCP, for the `no-unprovoked-close` invariant.
pub struct Tap<Io> {
    io: Io,
    recorder: PacketRecorder,
    closed: bool,
}

impl<Io> Tap<Io> {
    pub fn new(io: Io, host: String, peer: String, trace: Trace) -> Tap<Io> {
        Tap { io, recorder: PacketRecorder::new(host, peer, trace), closed: false }
    }

    fn record_close(&mut self) {
        if !std::mem::replace(&mut self.closed, true) && self.recorder.host == BROKER {
            let r = &self.recorder;
            let event = BrokerEvent::ClosedConnection { client: r.peer.clone(), after_client_close: false };
            r.trace.push(TraceEvent::Broker { ms: r.trace.now_ms(), event });
        }
    }
}

impl<Io> Drop for Tap<Io> {
    fn drop(&mut self) {
        self.record_close();
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Tap<Io> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let new = buf.filled()[before..].to_vec();
            self.recorder.received(&new);
        }
        result
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Tap<Io> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            self.recorder.sent(&buf[..n]);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_shutdown(cx);
        if result.is_ready() {
            self.record_close();
        }
        result
    }
}
