//! Codec throughput: decode and encode of a realistic packet mix, ours against rumqttc's codec on
//! exactly the same bytes, for MQTT 3.1.1 (rumqttc's `mqttbytes::v4`) and MQTT 5.0 (its
//! `v5::mqttbytes::v5`).
//!
//! Groups:
//! - `decode`, `encode`: one packet per iteration, `Throughput::Bytes`, so criterion prints MB/s;
//!   ids are `decode/mqtt-sim/publish-16B-qos0` beside `decode/rumqttc/publish-16B-qos0`, and the
//!   5.0 cases end in `-v5`.
//! - `decode-mix`, `encode-mix` (3.1.1) and `decode-mix-v5`, `encode-mix-v5`: the whole mix of
//!   that version (every packet above once) per iteration, `Throughput::Elements`, so criterion
//!   prints packets per second.
//!
//! Decoding consumes its input, so each iteration gets a fresh copy of the bytes from an untimed
//! setup step (`iter_batched_ref`); encoding appends to a buffer that is cleared, not reallocated.
//! Run with `cargo bench --bench codec`.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use mqtt_sim::protocol::{
    self, Ack, Packet, PacketId, Property, Publish, QoS, ReasonCode, RetainHandling, Subscribe, SubscribeFilter,
    Version, MAX_PACKET_SIZE,
};
use rumqttc::mqttbytes::v4 as rq;
use rumqttc::mqttbytes::QoS as RqQoS;
use rumqttc::v5::mqttbytes::v5 as r5;
use rumqttc::v5::mqttbytes::QoS as R5QoS;

const TOPIC: &str = "sensors/building-7/floor-3/temperature";

/// rumqttc's value of a packet, in its 3.1.1 or its 5.0 codec. (A bench value: the size of the
/// variants does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq)]
enum Theirs {
    V4(rq::Packet),
    V5(r5::Packet),
}

impl Theirs {
    fn write(&self, out: &mut BytesMut) -> usize {
        match self {
            Theirs::V4(p) => p.write(out, MAX_PACKET_SIZE).expect("rumqttc encodes"),
            Theirs::V5(p) => p.write(out, Some(MAX_PACKET_SIZE as u32)).expect("rumqttc encodes"),
        }
    }

    /// Reads one packet of this codec's version.
    fn read(&self, buf: &mut BytesMut) -> Theirs {
        match self {
            Theirs::V4(_) => Theirs::V4(rq::Packet::read(buf, MAX_PACKET_SIZE).expect("rumqttc decodes")),
            Theirs::V5(_) => Theirs::V5(r5::Packet::read(buf, Some(MAX_PACKET_SIZE as u32)).expect("rumqttc decodes")),
        }
    }
}

/// One benchmark input: the same packet as our value and as rumqttc's, and its bytes.
struct Case {
    name: &'static str,
    version: Version,
    ours: Packet,
    theirs: Theirs,
    bytes: Bytes,
}

fn pid(raw: u16) -> PacketId {
    PacketId::new(raw).expect("non-zero")
}

fn payload(len: usize) -> Bytes {
    Bytes::from((0..len).map(|i| (i * 31) as u8).collect::<Vec<u8>>())
}

fn publish_case(name: &'static str, qos: QoS, len: usize) -> (&'static str, Packet, rq::Packet) {
    let payload = payload(len);
    let pkid = (qos != QoS::AtMostOnce).then(|| pid(4242));
    let ours = Packet::Publish(Publish::new(TOPIC, qos, payload.clone(), false, pkid));
    let mut theirs = rq::Publish::from_bytes(TOPIC, rq_qos(qos), payload);
    theirs.pkid = pkid.map_or(0, PacketId::get);
    (name, ours, rq::Packet::Publish(theirs))
}

/// A 5.0 PUBLISH, with a typical set of properties when `props`: a message expiry, a content
/// type, correlation data and one user property (written in rumqttc's order, which is the
/// order of its `PublishProperties` fields).
fn publish_case_v5(name: &'static str, qos: QoS, len: usize, props: bool) -> (&'static str, Packet, Theirs) {
    let payload = payload(len);
    let pkid = (qos != QoS::AtMostOnce).then(|| pid(4242));
    let mut ours = Publish::new(TOPIC, qos, payload.clone(), false, pkid);
    let mut theirs = r5::Publish::new(TOPIC, r5_qos(qos), payload, None);
    theirs.pkid = pkid.map_or(0, PacketId::get);
    if props {
        ours.properties = [
            Property::MessageExpiryInterval(3600),
            Property::CorrelationData(Bytes::from_static(b"req-81723")),
            Property::UserProperty(("site".into(), "plant-4".into())),
            Property::ContentType("application/json".into()),
        ]
        .into_iter()
        .collect();
        theirs.properties = Some(r5::PublishProperties {
            message_expiry_interval: Some(3600),
            correlation_data: Some(Bytes::from_static(b"req-81723")),
            user_properties: vec![("site".into(), "plant-4".into())],
            content_type: Some("application/json".into()),
            ..Default::default()
        });
    }
    (name, Packet::Publish(ours), Theirs::V5(r5::Packet::Publish(theirs)))
}

fn r5_qos(qos: QoS) -> R5QoS {
    match qos {
        QoS::AtMostOnce => R5QoS::AtMostOnce,
        QoS::AtLeastOnce => R5QoS::AtLeastOnce,
        QoS::ExactlyOnce => R5QoS::ExactlyOnce,
    }
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

    let v4 = vec![
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
    let v4 = v4.into_iter().map(|(name, ours, theirs)| (name, ours, Theirs::V4(theirs)));

    // 5.0: the same shapes, plus properties, a reason code and subscription options.
    let mut sub5 = Subscribe::new(pid(7), filters.iter().map(|&(f, qos)| SubscribeFilter::new(f, qos)).collect());
    sub5.filters[0].no_local = true;
    sub5.filters[1].retain_handling = RetainHandling::OnNewSubscription;
    sub5.properties.push(Property::SubscriptionIdentifier(42));
    let mut r5_filters: Vec<r5::Filter> = filters.iter().map(|&(f, qos)| r5::Filter::new(f, r5_qos(qos))).collect();
    r5_filters[0].nolocal = true;
    r5_filters[1].retain_forward_rule = r5::RetainForwardRule::OnNewSubscribe;
    let r5_sub = r5::Subscribe {
        pkid: 7,
        filters: r5_filters,
        properties: Some(r5::SubscribeProperties { id: Some(42), user_properties: vec![] }),
    };
    // With a reason string: without properties rumqttc writes a property length of 0 where we
    // leave it out (both allowed, section 3.4.2.2.1), and the bytes must be the same.
    let r5_props = r5::PubAckProperties { reason_string: Some("no subscribers".into()), user_properties: vec![] };
    let mut r5_puback_nms = r5::PubAck::new(4242, Some(r5_props));
    r5_puback_nms.reason = r5::PubAckReason::NoMatchingSubscribers;
    let mut puback_nms = Ack::with_reason(pid(4242), ReasonCode::NO_MATCHING_SUBSCRIBERS);
    puback_nms.properties.push(Property::ReasonString("no subscribers".into()));
    let v5 = vec![
        publish_case_v5("publish-16B-qos0-v5", QoS::AtMostOnce, 16, false),
        publish_case_v5("publish-16B-qos1-props-v5", QoS::AtLeastOnce, 16, true),
        publish_case_v5("publish-256B-qos1-props-v5", QoS::AtLeastOnce, 256, true),
        publish_case_v5("publish-64KiB-qos1-props-v5", QoS::AtLeastOnce, 64 * 1024, true),
        ("puback-v5", Packet::puback(pid(4242)), Theirs::V5(r5::Packet::PubAck(r5::PubAck::new(4242, None)))),
        ("puback-reason-v5", Packet::Puback(puback_nms), Theirs::V5(r5::Packet::PubAck(r5_puback_nms))),
        ("pubrel-v5", Packet::pubrel(pid(4242)), Theirs::V5(r5::Packet::PubRel(r5::PubRel::new(4242, None)))),
        ("subscribe-3-filters-v5", Packet::Subscribe(sub5), Theirs::V5(r5::Packet::Subscribe(r5_sub))),
        ("pingreq-v5", Packet::Pingreq, Theirs::V5(r5::Packet::PingReq(r5::PingReq))),
    ];
    v4.chain(v5)
        .map(|(name, ours, theirs)| {
            let version = if matches!(theirs, Theirs::V5(_)) { Version::V5 } else { Version::V311 };
            let mut bytes = BytesMut::new();
            ours.encode_as(version, &mut bytes, MAX_PACKET_SIZE).expect("valid packet");
            // Both codecs must produce and accept exactly the same bytes, or the comparison is void.
            let mut their_bytes = BytesMut::new();
            theirs.write(&mut their_bytes);
            assert_eq!(bytes, their_bytes, "{name}: the two encoders disagree");
            assert_eq!(theirs.read(&mut their_bytes), theirs, "{name}: rumqttc decodes our bytes differently");
            let mut ours_again = bytes.clone();
            assert_eq!(protocol::decode_as(version, &mut ours_again, MAX_PACKET_SIZE), Ok(Some(ours.clone())));
            Case { name, version, ours, theirs, bytes: bytes.freeze() }
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
                |buf| protocol::decode_as(case.version, buf, MAX_PACKET_SIZE).unwrap().unwrap(),
                batch_size(bytes),
            )
        });
        group.bench_with_input(BenchmarkId::new("rumqttc", case.name), bytes, |b, bytes| {
            b.iter_batched_ref(|| BytesMut::from(bytes), |buf| case.theirs.read(buf), batch_size(bytes))
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
                black_box(&case.ours).encode_as(case.version, &mut out, MAX_PACKET_SIZE).unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("rumqttc", case.name), |b| {
            b.iter(|| {
                out.clear();
                black_box(&case.theirs).write(&mut out)
            })
        });
    }
    group.finish();
}

fn bench_mix(c: &mut Criterion) {
    let all = cases();
    for (version, suffix) in [(Version::V311, ""), (Version::V5, "-v5")] {
        let cases: Vec<&Case> = all.iter().filter(|c| c.version == version).collect();
        mix(c, &cases, version, suffix);
    }
}

fn mix(c: &mut Criterion, cases: &[&Case], version: Version, suffix: &str) {
    let stream: Vec<u8> = cases.iter().flat_map(|c| c.bytes.iter().copied()).collect();
    let n = cases.len();

    let mut group = c.benchmark_group(format!("decode-mix{suffix}"));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("mqtt-sim", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                let mut count = 0;
                while let Some(p) = protocol::decode_as(version, buf, MAX_PACKET_SIZE).unwrap() {
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
                    black_box(cases[0].theirs.read(buf));
                    count += 1;
                }
                assert_eq!(count, n);
            },
            batch_size(&stream),
        )
    });
    group.finish();

    let mut group = c.benchmark_group(format!("encode-mix{suffix}"));
    group.throughput(Throughput::Elements(n as u64));
    let mut out = BytesMut::with_capacity(stream.len());
    group.bench_function("mqtt-sim", |b| {
        b.iter(|| {
            out.clear();
            for case in black_box(cases) {
                case.ours.encode_as(version, &mut out, MAX_PACKET_SIZE).unwrap();
            }
        })
    });
    group.bench_function("rumqttc", |b| {
        b.iter(|| {
            out.clear();
            for case in black_box(cases) {
                case.theirs.write(&mut out);
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
