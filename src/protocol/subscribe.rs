//! SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK (spec sections 3.8 to 3.11), in 3.1.1 and 5.0.
//! 5.0 adds properties to all four, subscription options beside each filter's QoS, reason codes
//! to UNSUBACK, and gives `$share/{group}/{filter}` its meaning (section 4.8.2).

use bytes::{BufMut, BytesMut};

use super::connect::check_properties;
use super::properties::{Place, Properties};
use super::wire::{field_len, put_string, Reader};
use super::{DecodeError, EncodeError, PacketId, PacketType, QoS, ReasonCode, Version};
use crate::topic;

/// When the server sends retained messages for a subscription (5.0 section 3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// Send them whenever the subscription is made [MQTT5-3.3.1-9]; the only 3.1.1 behaviour.
    #[default]
    OnSubscribe = 0,
    /// Send them only if the subscription did not exist [MQTT5-3.3.1-10].
    OnNewSubscription = 1,
    /// Never send them [MQTT5-3.3.1-11].
    Never = 2,
}

/// One topic filter with the maximum QoS requested for it, and its 5.0 subscription options
/// (all off, Retain Handling 0, in 3.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    pub filter: String,
    pub qos: QoS,
    /// Never forward this client's own publications to it [MQTT5-3.8.3-3].
    pub no_local: bool,
    /// Forward RETAIN as published instead of clearing it [MQTT5-3.3.1-12] [MQTT5-3.3.1-13].
    pub retain_as_published: bool,
    pub retain_handling: RetainHandling,
}

impl SubscribeFilter {
    /// A filter with default options (the 3.1.1 meaning).
    pub fn new(filter: impl Into<String>, qos: QoS) -> SubscribeFilter {
        SubscribeFilter {
            filter: filter.into(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::OnSubscribe,
        }
    }

    fn has_v5_options(&self) -> bool {
        self.no_local || self.retain_as_published || self.retain_handling != RetainHandling::OnSubscribe
    }

    fn options_byte(&self) -> u8 {
        self.qos.as_u8()
            | (self.no_local as u8) << 2
            | (self.retain_as_published as u8) << 3
            | (self.retain_handling as u8) << 4
    }

    /// Reads a 5.0 options byte (section 3.8.3.1).
    fn from_v5(filter: String, options: u8) -> Result<SubscribeFilter, DecodeError> {
        if options & 0xC0 != 0 {
            return Err(DecodeError::SubscriptionOptionsReserved(options)); // [MQTT5-3.8.3-5]
        }
        let qos = QoS::from_u8(options & 0x03).ok_or(DecodeError::SubscriptionQos(options))?;
        let retain_handling = match (options >> 4) & 0x03 {
            0 => RetainHandling::OnSubscribe,
            1 => RetainHandling::OnNewSubscription,
            2 => RetainHandling::Never,
            _ => return Err(DecodeError::RetainHandling(options)),
        };
        let no_local = options & 0x04 != 0;
        // [MQTT5-4.8.2-1] [MQTT5-4.8.2-2]
        let shared = topic::shared(&filter).map_err(DecodeError::InvalidTopicFilter)?.is_some();
        if no_local && shared {
            return Err(DecodeError::NoLocalOnShared(filter)); // [MQTT5-3.8.3-4]
        }
        Ok(SubscribeFilter { filter, qos, no_local, retain_as_published: options & 0x08 != 0, retain_handling })
    }
}

/// A SUBSCRIBE packet: never empty [MQTT-3.8.3-3] [MQTT5-3.8.3-2].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub pkid: PacketId,
    pub filters: Vec<SubscribeFilter>,
    /// 5.0: a Subscription Identifier and user properties; empty in 3.1.1.
    pub properties: Properties,
}

impl Subscribe {
    pub fn new(pkid: PacketId, filters: Vec<SubscribeFilter>) -> Subscribe {
        Subscribe { pkid, filters, properties: Properties::new() }
    }

    pub(super) fn read(r: &mut Reader, v: Version) -> Result<Subscribe, DecodeError> {
        let pkid = r.packet_id()?; // [MQTT-2.3.1-1]
        let properties = match v {
            Version::V5 => Properties::read(r, Place::Packet(PacketType::Subscribe))?,
            Version::V311 => Properties::new(),
        };
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = r.string("topic filter")?; // [MQTT-3.8.3-1] [MQTT5-3.8.3-1]
            topic::validate_filter(&filter).map_err(DecodeError::InvalidTopicFilter)?;
            let options = r.u8(if v == Version::V5 { "subscription options" } else { "requested QoS" })?;
            let f = match v {
                Version::V5 => SubscribeFilter::from_v5(filter, options)?,
                // Upper six bits reserved, QoS 3 forbidden [MQTT-3.8.3-4].
                Version::V311 => match QoS::from_u8(options) {
                    Some(qos) => SubscribeFilter::new(filter, qos),
                    None => return Err(DecodeError::InvalidSubscribeOptions(options)),
                },
            };
            filters.push(f);
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptySubscribe); // [MQTT-3.8.3-3] [MQTT5-3.8.3-2]
        }
        Ok(Subscribe { pkid, filters, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptySubscribe); // [MQTT-3.8.3-3]
        }
        for f in &self.filters {
            topic::validate_filter(&f.filter).map_err(EncodeError::InvalidTopicFilter)?;
            match v {
                Version::V311 if f.has_v5_options() => return Err(EncodeError::NotInV311("a subscription option")),
                Version::V311 => {}
                Version::V5 => {
                    let shared = topic::shared(&f.filter).map_err(EncodeError::InvalidTopicFilter)?.is_some();
                    if shared && f.no_local {
                        return Err(EncodeError::NoLocalOnShared(f.filter.clone()));
                        // [MQTT5-3.8.3-4]
                    }
                }
            }
        }
        check_properties(&self.properties, Place::Packet(PacketType::Subscribe), v == Version::V5)
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        2 + props_len(&self.properties, v)
            + self.filters.iter().map(|f| field_len(f.filter.as_bytes()) + 1).sum::<usize>()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        out.put_u16(self.pkid.get());
        if v == Version::V5 {
            self.properties.write(out)?;
        }
        for f in &self.filters {
            put_string(out, "topic filter", &f.filter)?;
            out.put_u8(f.options_byte());
        }
        Ok(())
    }
}

/// A SUBACK code: the QoS granted, failure (0x80), or in 5.0 a more specific failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubackCode {
    Granted(QoS),
    /// 0x80: "Failure" in 3.1.1, "Unspecified error" in 5.0.
    Failure,
    /// A 5.0 failure other than 0x80 (0x87 Not authorized, 0x8F Topic Filter invalid, ...).
    Refused(ReasonCode),
}

impl SubackCode {
    fn from_u8(v: u8, version: Version) -> Result<SubackCode, DecodeError> {
        match v {
            0..=2 => Ok(SubackCode::Granted(QoS::from_u8(v).expect("0..=2 is a QoS"))),
            0x80 => Ok(SubackCode::Failure),
            // [MQTT5-3.9.3-2]
            other if version == Version::V5 && ReasonCode(other).allowed_in(PacketType::Suback) => {
                Ok(SubackCode::Refused(ReasonCode(other)))
            }
            other => Err(DecodeError::InvalidSubackCode(other)), // [MQTT-3.9.3-2]
        }
    }

    pub fn as_u8(self) -> u8 {
        match self {
            SubackCode::Granted(q) => q.as_u8(),
            SubackCode::Failure => 0x80,
            SubackCode::Refused(r) => r.0,
        }
    }
}

/// A SUBACK packet: one code per filter of the SUBSCRIBE, in order [MQTT-3.9.3-1]
/// [MQTT5-3.9.3-1].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suback {
    pub pkid: PacketId,
    pub codes: Vec<SubackCode>,
    /// 5.0: a Reason String and user properties; empty in 3.1.1.
    pub properties: Properties,
}

impl Suback {
    pub fn new(pkid: PacketId, codes: Vec<SubackCode>) -> Suback {
        Suback { pkid, codes, properties: Properties::new() }
    }

    pub(super) fn read(r: &mut Reader, v: Version) -> Result<Suback, DecodeError> {
        let pkid = r.packet_id()?;
        let properties = match v {
            Version::V5 => Properties::read(r, Place::Packet(PacketType::Suback))?,
            Version::V311 => Properties::new(),
        };
        let mut codes = Vec::new();
        while !r.is_empty() {
            codes.push(SubackCode::from_u8(r.u8("return code")?, v)?);
        }
        if codes.is_empty() {
            return Err(DecodeError::EmptySuback);
        }
        Ok(Suback { pkid, codes, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        if self.codes.is_empty() {
            return Err(EncodeError::EmptySuback);
        }
        for c in &self.codes {
            if let SubackCode::Refused(r) = c {
                if v == Version::V311 {
                    return Err(EncodeError::NotInV311("a SUBACK reason code other than 0x80"));
                }
                // 0x00-0x02 are `Granted`, 0x80 is `Failure`: `Refused` is for the others.
                if !r.allowed_in(PacketType::Suback) || r.0 <= 0x80 {
                    return Err(EncodeError::InvalidReasonCode { packet: PacketType::Suback, code: r.0 });
                }
            }
        }
        check_properties(&self.properties, Place::Packet(PacketType::Suback), v == Version::V5)
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        2 + props_len(&self.properties, v) + self.codes.len()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        out.put_u16(self.pkid.get());
        if v == Version::V5 {
            self.properties.write(out)?;
        }
        for c in &self.codes {
            out.put_u8(c.as_u8());
        }
        Ok(())
    }
}

/// An UNSUBSCRIBE packet: never empty [MQTT-3.10.3-2] [MQTT5-3.10.3-2].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub pkid: PacketId,
    pub filters: Vec<String>,
    /// 5.0: user properties; empty in 3.1.1.
    pub properties: Properties,
}

impl Unsubscribe {
    pub fn new(pkid: PacketId, filters: Vec<String>) -> Unsubscribe {
        Unsubscribe { pkid, filters, properties: Properties::new() }
    }

    pub(super) fn read(r: &mut Reader, v: Version) -> Result<Unsubscribe, DecodeError> {
        let pkid = r.packet_id()?; // [MQTT-2.3.1-1]
        let properties = match v {
            Version::V5 => Properties::read(r, Place::Packet(PacketType::Unsubscribe))?,
            Version::V311 => Properties::new(),
        };
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = r.string("topic filter")?; // [MQTT-3.10.3-1] [MQTT5-3.10.3-1]
            topic::validate_filter(&filter).map_err(DecodeError::InvalidTopicFilter)?;
            if v == Version::V5 {
                topic::shared(&filter).map_err(DecodeError::InvalidTopicFilter)?;
                // [MQTT5-4.8.2-2]
            }
            filters.push(filter);
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptyUnsubscribe); // [MQTT-3.10.3-2] [MQTT5-3.10.3-2]
        }
        Ok(Unsubscribe { pkid, filters, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptyUnsubscribe); // [MQTT-3.10.3-2]
        }
        for f in &self.filters {
            topic::validate_filter(f).map_err(EncodeError::InvalidTopicFilter)?;
            if v == Version::V5 {
                topic::shared(f).map_err(EncodeError::InvalidTopicFilter)?;
            }
        }
        check_properties(&self.properties, Place::Packet(PacketType::Unsubscribe), v == Version::V5)
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        2 + props_len(&self.properties, v) + self.filters.iter().map(|f| field_len(f.as_bytes())).sum::<usize>()
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        out.put_u16(self.pkid.get());
        if v == Version::V5 {
            self.properties.write(out)?;
        }
        for f in &self.filters {
            put_string(out, "topic filter", f)?;
        }
        Ok(())
    }
}

/// An UNSUBACK: the UNSUBSCRIBE's packet identifier [MQTT5-3.10.4-5], and in 5.0 one reason
/// code per filter, in order [MQTT5-3.11.3-1], and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuback {
    pub pkid: PacketId,
    /// Empty in 3.1.1; one per filter in 5.0.
    pub reasons: Vec<ReasonCode>,
    pub properties: Properties,
}

impl Unsuback {
    /// The 3.1.1 form.
    pub fn new(pkid: PacketId) -> Unsuback {
        Unsuback { pkid, reasons: Vec::new(), properties: Properties::new() }
    }

    pub(super) fn read(r: &mut Reader, v: Version) -> Result<Unsuback, DecodeError> {
        let pkid = r.packet_id()?;
        if v == Version::V311 {
            return Ok(Unsuback::new(pkid));
        }
        let properties = Properties::read(r, Place::Packet(PacketType::Unsuback))?;
        let mut reasons = Vec::new();
        while !r.is_empty() {
            let code = r.u8("reason code")?;
            if !ReasonCode(code).allowed_in(PacketType::Unsuback) {
                return Err(DecodeError::InvalidReasonCode { packet: PacketType::Unsuback, code });
                // [MQTT5-3.11.3-2]
            }
            reasons.push(ReasonCode(code));
        }
        if reasons.is_empty() {
            return Err(DecodeError::EmptyUnsuback);
        }
        Ok(Unsuback { pkid, reasons, properties })
    }

    pub(super) fn validate(&self, v: Version) -> Result<(), EncodeError> {
        match v {
            Version::V311 if !self.reasons.is_empty() => return Err(EncodeError::NotInV311("an UNSUBACK reason code")),
            Version::V311 => {}
            Version::V5 if self.reasons.is_empty() => return Err(EncodeError::EmptyUnsuback),
            Version::V5 => {
                if let Some(r) = self.reasons.iter().find(|r| !r.allowed_in(PacketType::Unsuback)) {
                    return Err(EncodeError::InvalidReasonCode { packet: PacketType::Unsuback, code: r.0 });
                }
            }
        }
        check_properties(&self.properties, Place::Packet(PacketType::Unsuback), v == Version::V5)
    }

    pub(super) fn body_len(&self, v: Version) -> usize {
        match v {
            Version::V311 => 2,
            Version::V5 => 2 + self.properties.wire_len() + self.reasons.len(),
        }
    }

    pub(super) fn write_body(&self, out: &mut BytesMut, v: Version) -> Result<(), EncodeError> {
        out.put_u16(self.pkid.get());
        if v == Version::V5 {
            self.properties.write(out)?;
            for r in &self.reasons {
                out.put_u8(r.0);
            }
        }
        Ok(())
    }
}

fn props_len(props: &Properties, v: Version) -> usize {
    match v {
        Version::V5 => props.wire_len(),
        Version::V311 => 0,
    }
}
