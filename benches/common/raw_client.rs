//! A raw MQTT 3.1.1 client for the benches that load a broker subprocess: our codec
//! (`PacketReader`/`PacketWriter`) over a tokio TCP stream, with a pipelined QoS 1 publisher (a
//! window of unacknowledged PUBLISHes) and a subscriber loop that acknowledges what it receives.
//! Neither is `mosquitto_pub -l`, which disconnects with messages unsent on large inputs.

#![allow(dead_code)] // each bench uses its own subset

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mqtt_sim::net::{PacketReader, PacketWriter};
use mqtt_sim::protocol::{
    Connect, Packet, PacketId, Publish, QoS, SubackCode, Subscribe, SubscribeFilter, MAX_PACKET_SIZE,
};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::broker_process::BenchResult;

/// A raw MQTT client: our codec over a tokio TCP stream.
pub struct Client {
    reader: PacketReader<OwnedReadHalf>,
    writer: PacketWriter<OwnedWriteHalf>,
}

impl Client {
    /// Connects with keep alive off; returns the client and CONNACK's session-present flag.
    pub async fn connect(addr: SocketAddr, client_id: &str, clean_session: bool) -> BenchResult<(Client, bool)> {
        let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect to {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (r, w) = stream.into_split();
        let mut client = Client { reader: PacketReader::new(r, MAX_PACKET_SIZE), writer: PacketWriter::new(w) };
        client.send(&Packet::Connect(Connect::new(client_id, clean_session, 0))).await?;
        match client.recv().await? {
            Packet::Connack(c) if c.code.is_success() => Ok((client, c.session_present)),
            other => Err(format!("{client_id}: expected an accepting CONNACK, got {other:?}")),
        }
    }

    pub async fn send(&mut self, packet: &Packet) -> BenchResult<()> {
        self.queue(packet)?;
        self.flush().await
    }

    pub fn queue(&mut self, packet: &Packet) -> BenchResult<()> {
        self.writer.queue(packet).map_err(|e| format!("encode {packet:?}: {e}"))
    }

    pub async fn flush(&mut self) -> BenchResult<()> {
        self.writer.flush().await.map_err(|e| format!("write: {e}"))
    }

    pub async fn recv(&mut self) -> BenchResult<Packet> {
        match self.reader.read_packet().await {
            Ok(Some(packet)) => Ok(packet),
            Ok(None) => Err("the broker closed the connection".to_owned()),
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// The next packet if one can be had without waiting. `read_packet` is cancel safe, so
    /// abandoning it after one poll loses nothing.
    pub async fn try_recv(&mut self) -> BenchResult<Option<Packet>> {
        ready_now(self.recv()).await.transpose()
    }

    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> BenchResult<()> {
        let filters = vec![SubscribeFilter::new(filter.to_owned(), qos)];
        self.send(&Packet::Subscribe(Subscribe { pkid: packet_id(1), filters, properties: Default::default() }))
            .await?;
        match self.recv().await? {
            Packet::Suback(s) if s.codes == [SubackCode::Granted(qos)] => Ok(()),
            other => Err(format!("expected SUBACK granting {qos}, got {other:?}")),
        }
    }

    /// A PINGREQ round trip: the broker has handled everything this client sent before it.
    pub async fn ping(&mut self) -> BenchResult<()> {
        self.send(&Packet::Pingreq).await?;
        loop {
            match self.recv().await? {
                Packet::Pingresp => return Ok(()),
                Packet::Puback(_) => {}
                other => return Err(format!("expected PINGRESP, got {other:?}")),
            }
        }
    }

    pub async fn disconnect(mut self) {
        let _ = self.writer.queue(&Packet::disconnect());
        let _ = self.writer.shutdown().await;
    }
}

/// Polls `f` once: its output if ready at once, `None` otherwise.
async fn ready_now<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    std::future::poll_fn(|cx| match f.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(Some(v)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

pub fn packet_id(raw: u16) -> PacketId {
    PacketId::new(raw).expect("non-zero packet id")
}

/// What a QoS 1 publisher got back.
pub struct Published {
    /// PUBACKs received, one per message.
    pub acked: u64,
    /// Each message's round trip, from its PUBLISH being queued for writing to its PUBACK, in
    /// the order the PUBACKs came.
    pub round_trips: Vec<Duration>,
}

/// Publishes `n` QoS 1 messages on `topic`, the `i`th (from 0) with `payload(i)`, keeping up to
/// `window` unacknowledged, and returns once every one has its PUBACK. A PUBACK for an identifier
/// not in flight is an error.
pub async fn publish_qos1(
    client: &mut Client,
    topic: &str,
    n: u64,
    window: u64,
    mut payload: impl FnMut(u64) -> Bytes,
) -> BenchResult<Published> {
    // When each identifier in flight was sent, by identifier.
    let mut sent_at: Vec<Option<Instant>> = vec![None; usize::from(u16::MAX) + 1];
    let mut packet = Packet::Publish(Publish::new(topic, QoS::AtLeastOnce, Bytes::new(), false, Some(packet_id(1))));
    let mut round_trips = Vec::with_capacity(n as usize);
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut next_id = packet_id(1);
    while acked < n {
        let mut queued = false;
        while sent < n && sent - acked < window {
            if let Packet::Publish(p) = &mut packet {
                p.pkid = Some(next_id);
                p.payload = payload(sent);
            }
            client.queue(&packet)?;
            sent_at[usize::from(next_id.get())] = Some(Instant::now());
            next_id = next_id.next();
            sent += 1;
            queued = true;
        }
        if queued {
            client.flush().await?;
        }
        let mut next = Some(client.recv().await?);
        while let Some(p) = next {
            let Packet::Puback(ack) = p else { return Err(format!("publisher: expected PUBACK, got {p:?}")) };
            let Some(at) = sent_at[usize::from(ack.id.get())].take() else {
                return Err(format!("publisher: PUBACK for {}, which is not in flight", ack.id));
            };
            round_trips.push(at.elapsed());
            acked += 1;
            next = if acked < sent { client.try_recv().await? } else { None };
        }
    }
    Ok(Published { acked, round_trips })
}

/// What one subscriber received.
pub struct Received {
    pub count: u64,
    /// When the last PUBLISH was read.
    pub last: Option<Instant>,
}

/// Receives up to `expect` PUBLISHes, handing each to `on_publish` and acknowledging QoS 1 ones
/// (PUBACKs batched per read); stops early after `idle` without a packet.
pub async fn consume(
    client: &mut Client,
    expect: u64,
    idle: Duration,
    mut on_publish: impl FnMut(&Publish),
) -> BenchResult<Received> {
    let mut got = Received { count: 0, last: None };
    while got.count < expect {
        let first = match tokio::time::timeout(idle, client.recv()).await {
            Ok(p) => p?,
            Err(_) => break,
        };
        let mut next = Some(first);
        while let Some(p) = next {
            let Packet::Publish(p) = p else { return Err(format!("subscriber: expected PUBLISH, got {p:?}")) };
            got.count += 1;
            on_publish(&p);
            if let Some(pkid) = p.pkid {
                client.queue(&Packet::puback(pkid))?;
            }
            next = if got.count < expect { client.try_recv().await? } else { None };
        }
        got.last = Some(Instant::now());
        client.flush().await?;
    }
    Ok(got)
}
