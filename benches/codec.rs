//! Codec throughput: decode and encode of a realistic packet mix, ours against rumqttc's MQTT 3.1.1
//! codec on exactly the same bytes.
//!
//! Groups:
//! - `decode`, `encode`: one packet per iteration, `Throughput::Bytes`, so criterion prints MB/s;
//!   ids are `decode/mqtt-sim/publish-16B-qos0` beside `decode/rumqttc/publish-16B-qos0`.
//! - `decode-mix`, `encode-mix`: the whole mix (every packet above once) per iteration,
//!   `Throughput::Elements`, so criterion prints packets per second.
//!
//! Decoding consumes its input, so each iteration gets a fresh copy of the bytes from an untimed
//! setup step (`iter_batched_ref`); encoding appends to a buffer that is cleared, not reallocated.
//! Run with `cargo bench --bench codec`.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use mqtt_sim::protocol::{self, Packet, PacketId, Publish, QoS, Subscribe, SubscribeFilter, MAX_PACKET_SIZE};
use rumqttc::mqttbytes::v4 as rq;
use rumqttc::mqttbytes::QoS as RqQoS;

const TOPIC: &str = "sensors/building-7/floor-3/temperature";

/// One benchmark input: the same packet as our value and as rumqttc's, and its bytes.
struct Case {
    name: &'static str,
    ours: Packet,
    theirs: rq::Packet,
    bytes: Bytes,
}

fn pid(raw: u16) -> PacketId {
    PacketId::new(raw).expect("non-zero")
}

fn publish_case(name: &'static str, qos: QoS, len: usize) -> (&'static str, Packet, rq::Packet) {
    let payload = Bytes::from((0..len).map(|i| (i * 31) as u8).collect::<Vec<u8>>());
    let pkid = (qos != QoS::AtMostOnce).then(|| pid(4242));
    let ours = Packet::Publish(Publish::new(TOPIC, qos, payload.clone(), false, pkid));
    let mut theirs = rq::Publish::from_bytes(TOPIC, rq_qos(qos), payload);
    theirs.pkid = pkid.map_or(0, PacketId::get);
    (name, ours, rq::Packet::Publish(theirs))
}

fn rq_qos(qos: QoS) -> RqQoS {
    match qos {
        QoS::AtMostOnce => RqQoS::AtMostOnce,
        QoS::AtLeastOnce => RqQoS::AtLeastOnce,
        QoS::ExactlyOnce => RqQoS::ExactlyOnce,
    }
}

fn cases() -> Vec<Case> {
    let filters = [
        ("sensors/+/floor-3/#", QoS::AtLeastOnce),
        ("alerts/#", QoS::ExactlyOnce),
        ("config/device-42", QoS::AtMostOnce),
    ];
    let subscribe = Packet::Subscribe(Subscribe {
        pkid: pid(7),
        filters: filters.iter().map(|&(f, qos)| SubscribeFilter::new(f, qos)).collect(),
        properties: Default::default(),
    });
    let mut rq_subscribe =
        rq::Subscribe::new_many(filters.iter().map(|&(f, qos)| rq::SubscribeFilter::new(f.to_owned(), rq_qos(qos))));
    rq_subscribe.pkid = 7;

    let raw = vec![
        publish_case("publish-16B-qos0", QoS::AtMostOnce, 16),
        publish_case("publish-16B-qos1", QoS::AtLeastOnce, 16),
        publish_case("publish-256B-qos0", QoS::AtMostOnce, 256),
        publish_case("publish-256B-qos1", QoS::AtLeastOnce, 256),
        publish_case("publish-64KiB-qos0", QoS::AtMostOnce, 64 * 1024),
        publish_case("publish-64KiB-qos1", QoS::AtLeastOnce, 64 * 1024),
        ("puback", Packet::puback(pid(4242)), rq::Packet::PubAck(rq::PubAck::new(4242))),
        ("pubrec", Packet::pubrec(pid(4242)), rq::Packet::PubRec(rq::PubRec::new(4242))),
        ("pubrel", Packet::pubrel(pid(4242)), rq::Packet::PubRel(rq::PubRel::new(4242))),
        ("pubcomp", Packet::pubcomp(pid(4242)), rq::Packet::PubComp(rq::PubComp::new(4242))),
        ("subscribe-3-filters", subscribe, rq::Packet::Subscribe(rq_subscribe)),
        ("pingreq", Packet::Pingreq, rq::Packet::PingReq),
    ];
    raw.into_iter()
        .map(|(name, ours, theirs)| {
            let mut bytes = BytesMut::new();
            ours.encode(&mut bytes, MAX_PACKET_SIZE).expect("valid packet");
            // Both codecs must produce and accept exactly the same bytes, or the comparison is void.
            let mut their_bytes = BytesMut::new();
            theirs.write(&mut their_bytes, MAX_PACKET_SIZE).expect("rumqttc encodes");
            assert_eq!(bytes, their_bytes, "{name}: the two encoders disagree");
            let decoded = rq::Packet::read(&mut their_bytes, MAX_PACKET_SIZE).expect("rumqttc decodes");
            assert_eq!(decoded, theirs, "{name}: rumqttc decodes our bytes differently");
            Case { name, ours, theirs, bytes: bytes.freeze() }
        })
        .collect()
}

/// A fresh copy of the input per iteration; batches of about a megabyte bound the memory held.
fn batch_size(bytes: &[u8]) -> BatchSize {
    BatchSize::NumIterations((1 << 20) / bytes.len().max(4096) as u64)
}

fn bench_single(c: &mut Criterion) {
    let cases = cases();

    let mut group = c.benchmark_group("decode");
    for case in &cases {
        group.throughput(Throughput::Bytes(case.bytes.len() as u64));
        let bytes = &case.bytes[..];
        group.bench_with_input(BenchmarkId::new("mqtt-sim", case.name), bytes, |b, bytes| {
            b.iter_batched_ref(
                || BytesMut::from(bytes),
                |buf| protocol::decode(buf, MAX_PACKET_SIZE).unwrap().unwrap(),
                batch_size(bytes),
            )
        });
        group.bench_with_input(BenchmarkId::new("rumqttc", case.name), bytes, |b, bytes| {
            b.iter_batched_ref(
                || BytesMut::from(bytes),
                |buf| rq::Packet::read(buf, MAX_PACKET_SIZE).unwrap(),
                batch_size(bytes),
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("encode");
    for case in &cases {
        group.throughput(Throughput::Bytes(case.bytes.len() as u64));
        let mut out = BytesMut::with_capacity(case.bytes.len());
        group.bench_function(BenchmarkId::new("mqtt-sim", case.name), |b| {
            b.iter(|| {
                out.clear();
                black_box(&case.ours).encode(&mut out, MAX_PACKET_SIZE).unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("rumqttc", case.name), |b| {
            b.iter(|| {
                out.clear();
                black_box(&case.theirs).write(&mut out, MAX_PACKET_SIZE).unwrap()
            })
        });
    }
    group.finish();
}

fn bench_mix(c: &mut Criterion) {
    let cases = cases();
    let stream: Vec<u8> = cases.iter().flat_map(|c| c.bytes.iter().copied()).collect();
    let n = cases.len();

    let mut group = c.benchmark_group("decode-mix");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("mqtt-sim", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                let mut count = 0;
                while let Some(p) = protocol::decode(buf, MAX_PACKET_SIZE).unwrap() {
                    black_box(p);
                    count += 1;
                }
                assert_eq!(count, n);
            },
            batch_size(&stream),
        )
    });
    group.bench_function("rumqttc", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                let mut count = 0;
                while !buf.is_empty() {
                    black_box(rq::Packet::read(buf, MAX_PACKET_SIZE).unwrap());
                    count += 1;
                }
                assert_eq!(count, n);
            },
            batch_size(&stream),
        )
    });
    group.finish();

    let mut group = c.benchmark_group("encode-mix");
    group.throughput(Throughput::Elements(n as u64));
    let mut out = BytesMut::with_capacity(stream.len());
    group.bench_function("mqtt-sim", |b| {
        b.iter(|| {
            out.clear();
            for case in black_box(&cases) {
                case.ours.encode(&mut out, MAX_PACKET_SIZE).unwrap();
            }
        })
    });
    group.bench_function("rumqttc", |b| {
        b.iter(|| {
            out.clear();
            for case in black_box(&cases) {
                case.theirs.write(&mut out, MAX_PACKET_SIZE).unwrap();
            }
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_single, bench_mix
}
criterion_main!(benches);
