//! Packets over a byte stream: a reader that buffers and decodes, a writer that encodes and
//! flushes. Generic over tokio's `AsyncRead`/`AsyncWrite`, so the same code runs on tokio TCP and
//! turmoil TCP. Decoding stays in `protocol`; this file only moves bytes.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::protocol::{self, DecodeError, EncodeError, Packet, Version};

/// Why reading a packet failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The bytes are not a valid packet; the connection must be closed [MQTT-4.8.0-1].
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The peer closed the stream in the middle of a packet.
    #[error("connection closed in the middle of a packet ({0} bytes buffered)")]
    Truncated(usize),
    /// The transport failed.
    #[error("transport error: {0}")]
    Io(#[from] std::io::Error),
}

/// Bytes offered to the transport per read at first. Most MQTT packets are smaller, and an idle
/// connection holds this much while its read is pending, so a broker with many quiet clients
/// stays small.
const FIRST_READ: usize = 512;
/// The most offered per read: the read size doubles each time a read fills all it was offered
/// (a peer sending faster than we decode), up to this.
const MAX_READ: usize = 64 * 1024;
/// A write buffer that a burst grew past this is released after the burst is written.
const MAX_IDLE_WRITE_BUFFER: usize = 64 * 1024;

/// Reads whole packets from a stream, in the version the connection's CONNECT named (3.1.1
/// until told otherwise: a CONNECT reads the same in any).
pub struct PacketReader<R> {
    io: R,
    buf: BytesMut,
    read_size: usize,
    max_packet_size: usize,
    version: Version,
}

impl<R: AsyncRead + Unpin> PacketReader<R> {
    pub fn new(io: R, max_packet_size: usize) -> PacketReader<R> {
        PacketReader { io, buf: BytesMut::new(), read_size: FIRST_READ, max_packet_size, version: Version::V311 }
    }

    /// Reads every later packet in `version` (after the connection's CONNECT).
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// The next packet, or `Ok(None)` at a clean end of stream.
    ///
    /// Cancel safe: bytes read before a cancellation stay buffered for the next call. The buffer
    /// never grows past the packet size limit, because the decoder refuses an oversized fixed
    /// header before its body is read.
    pub async fn read_packet(&mut self) -> Result<Option<Packet>, ReadError> {
        loop {
            if let Some(packet) = protocol::decode_as(self.version, &mut self.buf, self.max_packet_size)? {
                return Ok(Some(packet));
            }
            self.buf.reserve(self.read_size);
            let offered = self.buf.capacity() - self.buf.len();
            let n = self.io.read_buf(&mut self.buf).await?;
            if n == 0 {
                return match self.buf.len() {
                    0 => Ok(None),
                    n => Err(ReadError::Truncated(n)),
                };
            }
            if n >= offered && self.read_size < MAX_READ {
                self.read_size *= 2;
            }
        }
    }
}

/// Encodes packets into a buffer, in the connection's version, and writes them out.
pub struct PacketWriter<W> {
    io: W,
    buf: BytesMut,
    version: Version,
}

impl<W: AsyncWrite + Unpin> PacketWriter<W> {
    pub fn new(io: W) -> PacketWriter<W> {
        PacketWriter { io, buf: BytesMut::new(), version: Version::V311 }
    }

    /// Writes every later packet in `version`.
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
    }

    /// Appends a packet to the write buffer. Nothing is sent until `flush`.
    pub fn queue(&mut self, packet: &Packet) -> Result<(), EncodeError> {
        packet.encode_as(self.version, &mut self.buf, protocol::MAX_PACKET_SIZE).map(drop)
    }

    /// Appends raw bytes, valid or not, to the write buffer (for tests and abuse tools).
    pub fn queue_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.io.write_all(&self.buf).await?;
            self.buf.clear();
            if self.buf.capacity() > MAX_IDLE_WRITE_BUFFER {
                self.buf = BytesMut::new();
            }
        }
        self.io.flush().await
    }

    /// Flushes, then shuts the write side down.
    pub async fn shutdown(&mut self) -> std::io::Result<()> {
        self.flush().await?;
        self.io.shutdown().await
    }
}
