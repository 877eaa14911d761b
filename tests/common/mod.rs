//! Shared helpers for the TCP tests: an in-process broker on an ephemeral loopback port and a
//! raw MQTT client that sends and receives exact packets, so tests see the broker as a black box.

#![allow(dead_code)] // each test binary uses its own subset

pub mod mosquitto;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use mqtt_sim::broker::Config;
use mqtt_sim::net::{PacketReader, PacketWriter};
use mqtt_sim::protocol::{
    Connack, Connect, ConnectReturnCode, Packet, PacketId, Publish, QoS, Subscribe, SubscribeFilter,
};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How long a test waits for a packet that must come. Generous: CI machines are slow.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Our broker, serving on 127.0.0.1:0 until dropped.
pub struct TestBroker {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl TestBroker {
    pub async fn start(config: Config) -> TestBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(mqtt_sim::net::run_broker(listener, config, async move {
            let _ = stopped.await;
        }));
        TestBroker { addr, _stop: stop }
    }
}

/// A client that speaks raw MQTT 3.1.1 packets.
pub struct RawClient {
    reader: PacketReader<OwnedReadHalf>,
    writer: PacketWriter<OwnedWriteHalf>,
}

pub fn pid(n: u16) -> PacketId {
    PacketId::new(n).expect("non-zero packet id")
}

impl RawClient {
    pub async fn open(addr: SocketAddr) -> RawClient {
        let stream = TcpStream::connect(addr).await.expect("connect to the broker");
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        RawClient { reader: PacketReader::new(r, mqtt_sim::protocol::MAX_PACKET_SIZE), writer: PacketWriter::new(w) }
    }

    /// Opens a connection and sends CONNECT; returns the client and the CONNACK.
    pub async fn connect(addr: SocketAddr, client_id: &str, clean_session: bool) -> (RawClient, Connack) {
        Self::connect_with(addr, Connect::new(client_id, clean_session, 60)).await
    }

    pub async fn connect_with(addr: SocketAddr, connect: Connect) -> (RawClient, Connack) {
        let mut c = RawClient::open(addr).await;
        c.send(Packet::Connect(connect)).await;
        match c.recv().await {
            Packet::Connack(ack) => (c, ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Connects and asserts the CONNACK accepted with the given session present flag.
    pub async fn connect_ok(addr: SocketAddr, client_id: &str, clean: bool, session_present: bool) -> RawClient {
        let (c, ack) = Self::connect(addr, client_id, clean).await;
        assert_eq!(
            ack,
            Connack { session_present, code: ConnectReturnCode::Accepted.into(), properties: Default::default() },
            "CONNACK for {client_id}"
        );
        c
    }

    pub async fn send(&mut self, packet: Packet) {
        self.writer.queue(&packet).expect("encode");
        self.writer.flush().await.expect("write to the broker");
    }

    /// Writes raw bytes, for malformed input.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.queue_raw(bytes);
        self.writer.flush().await.expect("write to the broker");
    }

    /// The next packet; panics if none comes within `PATIENCE` or the connection closes.
    pub async fn recv(&mut self) -> Packet {
        match tokio::time::timeout(PATIENCE, self.reader.read_packet()).await {
            Ok(Ok(Some(p))) => p,
            Ok(Ok(None)) => panic!("connection closed while waiting for a packet"),
            Ok(Err(e)) => panic!("read failed: {e}"),
            Err(_) => panic!("no packet within {PATIENCE:?}"),
        }
    }

    /// Waits until the broker closes the connection; panics on a packet or on timeout.
    pub async fn expect_closed(&mut self) {
        match tokio::time::timeout(PATIENCE, self.reader.read_packet()).await {
            Ok(Ok(None)) | Ok(Err(_)) => {}
            Ok(Ok(Some(p))) => panic!("expected the connection to close, got {p:?}"),
            Err(_) => panic!("connection still open after {PATIENCE:?}"),
        }
    }

    pub async fn subscribe(&mut self, id: u16, filters: &[(&str, QoS)]) -> Vec<mqtt_sim::protocol::SubackCode> {
        let filters = filters.iter().map(|(f, q)| SubscribeFilter::new(f.to_string(), *q)).collect();
        self.send(Packet::Subscribe(Subscribe { pkid: pid(id), filters, properties: Default::default() })).await;
        match self.recv().await {
            Packet::Suback(s) if s.pkid == pid(id) => s.codes,
            other => panic!("expected SUBACK {id}, got {other:?}"),
        }
    }

    /// Publishes and completes the QoS flow as a well-behaved publisher.
    pub async fn publish(&mut self, topic: &str, payload: &str, qos: QoS, retain: bool, id: u16) {
        let pkid = (qos != QoS::AtMostOnce).then(|| pid(id));
        self.send(Packet::Publish(Publish::new(topic, qos, Bytes::copy_from_slice(payload.as_bytes()), retain, pkid)))
            .await;
        match qos {
            // No acknowledgement at QoS 0: a PINGREQ round trip shows the broker has processed
            // the PUBLISH (it handles a connection's packets in order), so tests do not race.
            QoS::AtMostOnce => self.sync().await,
            QoS::AtLeastOnce => assert_eq!(self.recv().await, Packet::puback(pid(id))),
            QoS::ExactlyOnce => {
                assert_eq!(self.recv().await, Packet::pubrec(pid(id)));
                self.send(Packet::pubrel(pid(id))).await;
                assert_eq!(self.recv().await, Packet::pubcomp(pid(id)));
            }
        }
    }

    /// PINGREQ, then waits for the PINGRESP: everything sent before has been processed.
    pub async fn sync(&mut self) {
        self.expect_nothing_before_pingresp("sync").await;
    }

    /// Sends PINGREQ and returns every packet that arrives before its PINGRESP, without
    /// acknowledging any: what the broker had to say to this connection up to now.
    ///
    /// Sound because a broker handles one connection's packets in order and writes its answers to
    /// a connection in order. Ours: one task steps the sans-IO broker, finishing each input (and
    /// queuing all the packets it causes) before taking the next, then one FIFO channel and one
    /// writer per connection. mosquitto: one thread and one outgoing packet queue per client, the
    /// PINGRESP included. So whatever the broker sent this client while handling the packets it
    /// sent before the PINGREQ comes before the PINGRESP.
    ///
    /// Another connection's effects are ordered too, but only those whose cause the test saw
    /// answered before sending this PINGREQ (a PUBACK or PUBCOMP to the publisher, a SUBACK, a
    /// PINGRESP, the close of a connection the broker closed): that answer shows the broker has
    /// finished the step, and its output to this client is queued ahead of the PINGRESP. Where
    /// the cause is on another connection and has no answer, call `sync` on that connection
    /// first. Unlike waiting a few hundred milliseconds, this holds however slow the machine is.
    ///
    /// The exception is output a broker defers on its own, to a timer or until its writes drain:
    /// ours holds QoS 1/2 messages back from a connection while `max_queued_messages` packets to
    /// it are unwritten ("Slow readers" in `broker`), so a barrier says nothing about a client
    /// that has stopped reading that much.
    pub async fn packets_before_pingresp(&mut self) -> Vec<Packet> {
        self.send(Packet::Pingreq).await;
        let mut before = Vec::new();
        loop {
            match self.recv().await {
                Packet::Pingresp => return before,
                other => before.push(other),
            }
        }
    }

    /// A barrier asserting silence: the next packet after a PINGREQ must be its PINGRESP; anything
    /// else (a PUBLISH that should not have come) fails the test, naming `what` and the packets.
    /// See [`RawClient::packets_before_pingresp`] for why this is sound and what it orders against.
    pub async fn expect_nothing_before_pingresp(&mut self, what: &str) {
        let before = self.packets_before_pingresp().await;
        assert!(before.is_empty(), "{what}: expected only PINGRESP after PINGREQ, but first got {before:?}");
    }

    /// Receives one packet; a PUBLISH is acknowledged as a well-behaved subscriber would.
    pub async fn recv_acking(&mut self) -> Packet {
        let packet = self.recv().await;
        if let Packet::Publish(p) = &packet {
            match (p.qos, p.pkid) {
                (QoS::AtLeastOnce, Some(id)) => self.send(Packet::puback(id)).await,
                (QoS::ExactlyOnce, Some(id)) => {
                    self.send(Packet::pubrec(id)).await;
                    assert_eq!(self.recv().await, Packet::pubrel(id));
                    self.send(Packet::pubcomp(id)).await;
                }
                _ => {}
            }
        }
        packet
    }

    /// Receives one PUBLISH and acknowledges it as a well-behaved subscriber; returns it.
    pub async fn recv_publish(&mut self) -> Publish {
        match self.recv_acking().await {
            Packet::Publish(p) => p,
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    /// Sends DISCONNECT and waits for the broker to close the connection.
    pub async fn disconnect(mut self) {
        self.send(Packet::disconnect()).await;
        self.expect_closed().await;
    }

    /// Drops the connection without DISCONNECT.
    pub fn drop_connection(self) {}
}

/// The fields of a received PUBLISH that tests compare: topic, payload, QoS, retain, DUP.
pub fn summary(p: &Publish) -> (String, String, u8, bool, bool) {
    (p.topic.clone(), String::from_utf8_lossy(&p.payload).into_owned(), p.qos.as_u8(), p.retain, p.dup)
}
