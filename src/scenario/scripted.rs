//! The steps of a scripted client, which does by hand what a client library does by itself, to
//! state the broker bugs that live at the packet level: `ack` sends one acknowledgement of a
//! client with `acks: manual` (which answers nothing by itself), `send` writes an exact packet
//! given as YAML (packet id, DUP, RETAIN, topic, payload; through our codec, or as raw bytes
//! where the client `break_client_rules`), and `stop_pinging` lets the broker's keep alive run
//! out. Building the packet is pure: the executor hands in the variables bound by `wire:`
//! expectations and the network's names.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::model::ExpectedOutcome;
use super::values::Qos;
use super::wire::{Bindings, IdPattern, PacketKind};
use crate::client::AckKind;
use crate::protocol::{
    Auth, Connack, Packet, PacketId, Properties, Publish, QoS, Suback, SubackCode, Subscribe, SubscribeFilter,
    Unsubscribe,
};

/// Whether a client answers what it receives by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Acks {
    /// PUBACK, PUBREC, PUBREL and PUBCOMP go out at once, as the spec asks of a client.
    #[default]
    Auto,
    /// None goes out until an `ack` step sends it.
    Manual,
}

impl Acks {
    pub fn is_auto(&self) -> bool {
        *self == Acks::Auto
    }
}

/// The acknowledgement kinds an `ack` step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckName {
    Puback,
    Pubrec,
    Pubrel,
    Pubcomp,
}

impl From<AckName> for AckKind {
    fn from(a: AckName) -> AckKind {
        match a {
            AckName::Puback => AckKind::Puback,
            AckName::Pubrec => AckKind::Pubrec,
            AckName::Pubrel => AckKind::Pubrel,
            AckName::Pubcomp => AckKind::Pubcomp,
        }
    }
}

/// `ack: { client, kind, id | message }`: sends one acknowledgement; for the packet id given, or
/// of the PUBLISH with this payload (received, or for `pubrel` sent, latest first); with
/// neither, the oldest owed of that kind.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AckStep {
    pub client: String,
    pub kind: AckName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<IdPattern>,
    /// The payload of the message to acknowledge (as a trace shows it: its first 32 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ExpectedOutcome>,
}

/// `send: { client, packet: {...} }`: writes one packet exactly as given.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SendStep {
    pub client: String,
    pub packet: PacketSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ExpectedOutcome>,
}

/// A packet as a scenario writes it. Fields a kind does not have are refused when the scenario
/// loads (`problem`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PacketSpec {
    pub kind: PacketKind,
    /// The packet id: a number, or a variable bound by a `wire:` expectation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<IdPattern>,
    /// A PUBLISH's QoS, or the QoS a SUBSCRIBE asks for (or a SUBACK grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<Qos>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dup: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain: bool,
    /// A PUBLISH's topic, or a SUBSCRIBE's or UNSUBSCRIBE's filter, as the scenario names it
    /// (the network adds its namespace). Not checked here: a scripted client may send a topic a
    /// conforming one would not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

impl PacketSpec {
    /// What is wrong with this packet as written, if anything: an id where the kind has none or
    /// none where it needs one, fields of a PUBLISH or a SUBSCRIBE on another kind.
    pub fn problem(&self) -> Option<String> {
        use PacketKind as K;
        let kind = self.kind;
        let needs_id = matches!(
            kind,
            K::Puback | K::Pubrec | K::Pubrel | K::Pubcomp | K::Subscribe | K::Suback | K::Unsubscribe | K::Unsuback
        ) || (kind == K::Publish && self.qos.is_some_and(|q| q.0 != QoS::AtMostOnce));
        let takes_id = needs_id || kind == K::Publish;
        let takes_topic = matches!(kind, K::Publish | K::Subscribe | K::Unsubscribe);
        let takes_qos = matches!(kind, K::Publish | K::Subscribe | K::Suback);
        let is_publish = kind == K::Publish;
        let name = kind.to_string();
        if needs_id && self.id.is_none() {
            return Some(format!("a {name} needs an `id`"));
        }
        if !takes_id && self.id.is_some() {
            return Some(format!("a {name} has no packet id"));
        }
        if !takes_topic && self.topic.is_some() {
            return Some(format!("a {name} has no topic"));
        }
        if takes_topic && self.topic.is_none() {
            return Some(format!("a {name} needs a `topic`"));
        }
        if !takes_qos && self.qos.is_some() {
            return Some(format!("a {name} has no QoS"));
        }
        if !is_publish && (self.dup || self.retain || self.payload.is_some()) {
            return Some(format!("`dup`, `retain` and `payload` belong to a PUBLISH, not a {name}"));
        }
        None
    }

    /// Whether only a server sends this kind (a client that sends it breaks the protocol).
    pub fn server_only(&self) -> bool {
        matches!(self.kind, PacketKind::Connack | PacketKind::Suback | PacketKind::Unsuback | PacketKind::Pingresp)
    }

    /// The packet, with variables taken from `bound` and topics named by `topic`; `connect` is
    /// the client's own CONNECT, for a `connect` kind (a second CONNECT [MQTT-3.1.0-2]).
    pub fn build(
        &self,
        bound: &Bindings,
        topic: &dyn Fn(&str) -> String,
        connect: impl FnOnce() -> Packet,
    ) -> Result<Packet, String> {
        let id = || -> Result<PacketId, String> {
            let raw = match &self.id {
                Some(IdPattern::Exactly(n)) => *n,
                Some(IdPattern::Variable(v)) => *bound
                    .get(v)
                    .ok_or_else(|| format!("{v} is not bound by any `wire:` expectation before this step"))?,
                None => return Err("no packet id".into()),
            };
            PacketId::new(raw).ok_or_else(|| "a packet id is from 1 to 65535 [MQTT-2.3.1-1]".to_owned())
        };
        let qos = self.qos.map_or(QoS::AtMostOnce, |q| q.0);
        let name = || topic(self.topic.as_deref().unwrap_or_default());
        Ok(match self.kind {
            PacketKind::Connect => connect(),
            PacketKind::Connack => Packet::Connack(Connack::accepted(false)),
            PacketKind::Publish => Packet::Publish(Publish {
                dup: self.dup,
                qos,
                retain: self.retain,
                topic: name(),
                pkid: if self.id.is_some() { Some(id()?) } else { None },
                payload: Bytes::from(self.payload.clone().unwrap_or_default()),
                properties: Properties::new(),
            }),
            PacketKind::Puback => Packet::puback(id()?),
            PacketKind::Pubrec => Packet::pubrec(id()?),
            PacketKind::Pubrel => Packet::pubrel(id()?),
            PacketKind::Pubcomp => Packet::pubcomp(id()?),
            PacketKind::Subscribe => Packet::Subscribe(Subscribe::new(id()?, vec![SubscribeFilter::new(name(), qos)])),
            PacketKind::Suback => Packet::Suback(Suback::new(id()?, vec![SubackCode::Granted(qos)])),
            PacketKind::Unsubscribe => Packet::Unsubscribe(Unsubscribe::new(id()?, vec![name()])),
            PacketKind::Unsuback => Packet::unsuback(id()?),
            PacketKind::Pingreq => Packet::Pingreq,
            PacketKind::Pingresp => Packet::Pingresp,
            PacketKind::Disconnect => Packet::disconnect(),
            PacketKind::Auth => Packet::Auth(Auth::default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PacketSpec {
        serde_yaml::from_str(yaml).expect("a packet spec")
    }

    #[test]
    fn a_publish_is_built_with_its_flags_id_and_the_networks_topic() {
        let bound = Bindings::from([("$m".to_owned(), 7)]);
        let p = spec("{ kind: publish, id: $m, qos: 2, dup: true, topic: t, payload: x }");
        assert_eq!(p.problem(), None);
        let built = p.build(&bound, &|t| format!("ns/{t}"), Packet::disconnect).unwrap();
        let Packet::Publish(publish) = built else { panic!("{built:?}") };
        assert_eq!((publish.pkid.map(PacketId::get), publish.qos, publish.dup), (Some(7), QoS::ExactlyOnce, true));
        assert_eq!((publish.topic.as_str(), &publish.payload[..]), ("ns/t", &b"x"[..]));
    }

    #[test]
    fn an_unbound_variable_is_an_error_naming_it() {
        let p = spec("{ kind: pubrel, id: $m }");
        let err = p.build(&Bindings::new(), &|t| t.to_owned(), Packet::disconnect).unwrap_err();
        assert!(err.contains("$m is not bound"), "{err}");
    }

    #[test]
    fn fields_a_kind_does_not_have_are_refused() {
        assert_eq!(spec("{ kind: puback }").problem().as_deref(), Some("a PUBACK needs an `id`"));
        assert_eq!(spec("{ kind: pingreq, id: 3 }").problem().as_deref(), Some("a PINGREQ has no packet id"));
        assert_eq!(spec("{ kind: publish, qos: 1, topic: t }").problem().as_deref(), Some("a PUBLISH needs an `id`"));
        assert!(spec("{ kind: pubrel, id: 1, dup: true }")
            .problem()
            .is_some_and(|p| p.contains("belong to a PUBLISH")));
        assert!(spec("{ kind: publish, topic: t }").problem().is_none());
    }
}
