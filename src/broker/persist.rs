//! What of the broker outlives its process (mosquitto's `persistence true`), as plain data: an
//! [`Image`] of the sessions that outlive their connections (their subscriptions, queued and
//! in-flight messages, QoS 2 state and delayed wills) and of the retained messages, taken from a
//! running broker and restored into a new one. Encoding an image to bytes and writing it are
//! `crate::persist`'s job: the core performs no IO.
//!
//! Times are kept as wall-clock milliseconds: the driver hands in a clock that goes on across a
//! restart (Unix time over TCP, the simulation's own clock in a simulated world), so a session
//! or message expiry counts the time the broker was down, as mosquitto's does.
//!
//! What is not kept, as in mosquitto: sessions that end with their connection (clean session 1,
//! Session Expiry Interval 0), connections, and the will of a client connected when the image was
//! taken (a delayed will, already due to be published, is kept). Every restored session is
//! offline, as if its connection had closed when the broker restarted: its expiry starts then.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::session::{Expiry, Outgoing, Session};
use super::subscriptions::SubOptions;
use super::Broker;
use crate::protocol::properties::Place;
use crate::protocol::{LastWill, PacketId, PacketType, Properties, QoS};
use crate::qos::{Inflight, Message, OutState, Outbox};
use crate::time::Time;

/// A broker's lasting state at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Every message a session or the retained store holds, once each; the rest refer to them
    /// by index.
    pub messages: Vec<MessageImage>,
    /// Indexes into `messages`, in topic order.
    pub retained: Vec<u32>,
    /// In client id order.
    pub sessions: Vec<SessionImage>,
}

impl Image {
    /// What it holds, as `Event::Saved` reports it: sessions; messages queued, in flight or
    /// received and not yet released; retained messages.
    pub fn saved_event(&self) -> super::Event {
        let messages = self.sessions.iter().map(|s| s.queue.len() + s.inflight.len() + s.incoming.len()).sum();
        super::Event::Saved { sessions: self.sessions.len(), messages, retained: self.retained.len() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageImage {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    /// Its 5.0 properties as they are on the wire (length first); empty for none.
    pub properties: Vec<u8>,
    /// Wall-clock milliseconds when its Message Expiry Interval passes.
    pub expires_at_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionImage {
    pub client_id: String,
    pub clean: bool,
    /// `None`: never; else seconds after its connection closes.
    pub expiry_secs: Option<u32>,
    /// Wall-clock milliseconds when it ends, if it was offline with a finite expiry.
    pub expires_at_ms: Option<u64>,
    pub subscriptions: Vec<SubscriptionImage>,
    /// Sent and not fully acknowledged, in send order.
    pub inflight: Vec<InflightImage>,
    /// Waiting, in order.
    pub queue: Vec<DeliveryImage>,
    /// Incoming QoS 2 messages acknowledged with PUBREC and not yet released: (packet id,
    /// message index).
    pub incoming: Vec<(u16, u32)>,
    /// A will waiting out its Will Delay Interval: when it is due (wall-clock ms), and it.
    pub will: Option<(u64, WillImage)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionImage {
    pub filter: String,
    pub qos: u8,
    pub no_local: bool,
    pub retain_as_published: bool,
    pub id: Option<u32>,
    pub shared: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryImage {
    pub message: u32,
    pub qos: u8,
    pub retain: bool,
    pub ids: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InflightImage {
    pub pkid: u16,
    /// 1: waiting for PUBACK, 2: for PUBREC, 3: PUBREL sent, waiting for PUBCOMP.
    pub state: u8,
    pub delivery: DeliveryImage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WillImage {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub properties: Vec<u8>,
}

/// Why an image cannot be restored: it decoded, but says something no broker could have saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImageError(pub String);

/// Converts between the broker's clock and the wall clock at one moment.
#[derive(Debug, Clone, Copy)]
struct Clock {
    now: Time,
    wall_ms: u64,
}

impl Clock {
    fn wall(self, t: Time) -> u64 {
        let ms = |t: Time| t.since_epoch().as_millis() as i128;
        (self.wall_ms as i128 + ms(t) - ms(self.now)).max(0) as u64
    }

    fn local(self, ms: u64) -> Time {
        if ms >= self.wall_ms {
            self.now + std::time::Duration::from_millis(ms - self.wall_ms)
        } else {
            let back = std::time::Duration::from_millis(self.wall_ms - ms);
            Time::from_duration(self.now.since_epoch().saturating_sub(back))
        }
    }
}

fn wire_properties(p: &Properties) -> Vec<u8> {
    if p.is_empty() {
        return Vec::new();
    }
    let mut out = BytesMut::new();
    // Properties the broker holds were decoded from the wire, so they encode again.
    let _ = p.write(&mut out);
    out.to_vec()
}

fn read_properties(bytes: &[u8], place: Place) -> Result<Properties, ImageError> {
    if bytes.is_empty() {
        return Ok(Properties::new());
    }
    Properties::from_wire(bytes, place).map_err(|e| ImageError(format!("bad properties: {e}")))
}

fn qos(n: u8) -> Result<QoS, ImageError> {
    QoS::from_u8(n).ok_or_else(|| ImageError(format!("QoS {n}")))
}

/// Builds the message table: each `Arc<Message>` once.
#[derive(Default)]
struct Table {
    messages: Vec<MessageImage>,
    index: BTreeMap<*const Message, u32>,
}

impl Table {
    fn add(&mut self, m: &Arc<Message>, clock: Clock) -> u32 {
        *self.index.entry(Arc::as_ptr(m)).or_insert_with(|| {
            self.messages.push(MessageImage {
                topic: m.topic.clone(),
                payload: m.payload.to_vec(),
                qos: m.qos.as_u8(),
                retain: m.retain,
                properties: wire_properties(&m.properties),
                expires_at_ms: m.expires_at.map(|t| clock.wall(t)),
            });
            (self.messages.len() - 1) as u32
        })
    }

    fn delivery(&mut self, o: &Outgoing, clock: Clock) -> DeliveryImage {
        DeliveryImage { message: self.add(&o.msg, clock), qos: o.qos.as_u8(), retain: o.retain, ids: o.ids.to_vec() }
    }
}

impl Broker {
    /// The lasting part of this broker's state at `now`, whose wall-clock time is `wall_ms`.
    pub fn image(&self, now: Time, wall_ms: u64) -> Image {
        let clock = Clock { now, wall_ms };
        let mut table = Table::default();
        let retained = self.retained.iter().map(|(_, m)| table.add(m, clock)).collect();
        let sessions = self
            .sessions
            .values()
            .filter(|s| s.expiry != Expiry::AtClose)
            .map(|s| SessionImage {
                client_id: s.client_id.clone(),
                clean: s.clean,
                expiry_secs: match s.expiry {
                    Expiry::After(n) => Some(n),
                    _ => None,
                },
                expires_at_ms: s.expires_at.map(|t| clock.wall(t)),
                subscriptions: s
                    .subscriptions
                    .iter()
                    .map(|(filter, o)| SubscriptionImage {
                        filter: filter.clone(),
                        qos: o.qos.as_u8(),
                        no_local: o.no_local,
                        retain_as_published: o.retain_as_published,
                        id: o.id,
                        shared: o.shared,
                    })
                    .collect(),
                inflight: s
                    .inflight
                    .iter()
                    .map(|i| InflightImage {
                        pkid: i.pkid.get(),
                        state: match i.state {
                            OutState::AwaitPuback => 1,
                            OutState::AwaitPubrec => 2,
                            OutState::AwaitPubcomp => 3,
                        },
                        delivery: table.delivery(&i.msg, clock),
                    })
                    .collect(),
                queue: s.queue.iter().map(|o| table.delivery(o, clock)).collect(),
                incoming: s.incoming.iter().map(|(pkid, m)| (pkid.get(), table.add(m, clock))).collect(),
                will: s.will.as_ref().map(|(at, w)| {
                    let will = WillImage {
                        topic: w.topic.clone(),
                        payload: w.message.to_vec(),
                        qos: w.qos.as_u8(),
                        retain: w.retain,
                        properties: wire_properties(&w.properties),
                    };
                    (clock.wall(*at), will)
                }),
            })
            .collect();
        Image { messages: table.messages, retained, sessions }
    }

    /// A broker with `config` holding what `image` kept, at `now` (wall-clock `wall_ms`): its
    /// sessions offline, their expiry and delayed wills counting from the times kept (or, for a
    /// session connected when the image was taken, from now).
    pub fn restore(config: super::Config, image: &Image, now: Time, wall_ms: u64) -> Result<Broker, ImageError> {
        let clock = Clock { now, wall_ms };
        let mut messages = Vec::with_capacity(image.messages.len());
        for m in &image.messages {
            messages.push(Arc::new(Message {
                topic: m.topic.clone(),
                payload: Bytes::copy_from_slice(&m.payload),
                qos: qos(m.qos)?,
                retain: m.retain,
                properties: read_properties(&m.properties, Place::Packet(PacketType::Publish))?,
                expires_at: m.expires_at_ms.map(|ms| clock.local(ms)),
            }));
        }
        let message = |i: u32| {
            messages.get(i as usize).cloned().ok_or_else(|| ImageError(format!("message {i} is not in the image")))
        };
        let delivery = |d: &DeliveryImage| -> Result<Outgoing, ImageError> {
            Ok(Outgoing { msg: message(d.message)?, qos: qos(d.qos)?, retain: d.retain, ids: d.ids.clone().into() })
        };
        let mut broker = Broker::new(config);
        broker.now = now;
        for &i in &image.retained {
            broker.retained.apply(&message(i)?);
        }
        for s in &image.sessions {
            let mut session = Session::new(s.client_id.clone(), s.clean);
            session.expiry = s.expiry_secs.map_or(Expiry::Never, Expiry::After);
            for sub in &s.subscriptions {
                let options = SubOptions {
                    qos: qos(sub.qos)?,
                    no_local: sub.no_local,
                    retain_as_published: sub.retain_as_published,
                    id: sub.id,
                    shared: sub.shared,
                };
                broker.subscriptions.insert(&sub.filter, &s.client_id, options);
                session.subscriptions.insert(sub.filter.clone(), options);
            }
            let mut inflight = Vec::with_capacity(s.inflight.len());
            for i in &s.inflight {
                let pkid = PacketId::new(i.pkid).ok_or_else(|| ImageError("packet id 0".into()))?;
                let state = match i.state {
                    1 => OutState::AwaitPuback,
                    2 => OutState::AwaitPubrec,
                    3 => OutState::AwaitPubcomp,
                    n => return Err(ImageError(format!("in-flight state {n}"))),
                };
                inflight.push(Inflight { pkid, msg: delivery(&i.delivery)?, state });
            }
            session.inflight = Outbox::restored(inflight);
            for d in &s.queue {
                session.push_queue(delivery(d)?);
            }
            for &(pkid, m) in &s.incoming {
                let pkid = PacketId::new(pkid).ok_or_else(|| ImageError("packet id 0".into()))?;
                session.incoming.insert(pkid, message(m)?);
            }
            let id = s.client_id.clone();
            broker.events.push_back(super::Event::SessionRestored {
                client_id: id.clone(),
                subscriptions: session.subscriptions.iter().map(|(f, o)| (f.clone(), o.qos)).collect(),
                messages: session.inflight.len() + session.queue.len() + session.incoming.len(),
            });
            broker.sessions.insert(id.clone(), session);
            let expires_at = match (s.expires_at_ms, session_expiry(&broker, &id)) {
                (Some(ms), _) => Some(clock.local(ms)),
                (None, Some(after)) => Some(now + after),
                (None, None) => None,
            };
            if let Some(at) = expires_at {
                broker.arm_session_expiry(&id, at);
            }
            if let Some((due_ms, w)) = &s.will {
                let will = LastWill {
                    topic: w.topic.clone(),
                    message: Bytes::copy_from_slice(&w.payload),
                    qos: qos(w.qos)?,
                    retain: w.retain,
                    properties: read_properties(&w.properties, Place::Will)?,
                };
                let at = clock.local(*due_ms);
                if let Some(session) = broker.sessions.get_mut(&id) {
                    session.will = Some((at, will));
                    broker.will_timers.insert((at, id));
                }
            }
        }
        Ok(broker)
    }
}

/// How long the session `id` lasts once offline, if not for ever: as when its connection
/// closes (`Broker::close`).
fn session_expiry(broker: &Broker, id: &str) -> Option<std::time::Duration> {
    match broker.sessions.get(id)?.expiry {
        Expiry::AtClose => Some(std::time::Duration::ZERO),
        Expiry::After(n) => Some(std::time::Duration::from_secs(n.into())),
        Expiry::Never => broker.config.persistent_client_expiration,
    }
}
