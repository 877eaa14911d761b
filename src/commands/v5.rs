//! The MQTT 5.0 flags `pub` and `sub` share with mosquitto_pub and mosquitto_sub: `-V` (protocol
//! version), `-x` (Session Expiry Interval) and `-D COMMAND PROPERTY VALUE` (a property for one
//! packet), named as mosquitto names them (the spec's name in lower case with '-' between
//! words). This file turns those words into a version and property lists, refusing what cannot
//! be sent with a message that says why; it does not connect or send anything.

use bytes::Bytes;

use crate::protocol::properties::Place;
use crate::protocol::{PacketType, Properties, Property, Version};

/// Which command the flags are for: each takes `-D` for its own packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Pub,
    Sub,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Pub => "pub",
            Tool::Sub => "sub",
        }
    }

    /// The `-D` commands this tool sends a packet for.
    fn commands(self) -> &'static [PropertyCommand] {
        match self {
            Tool::Pub => &[PropertyCommand::Connect, PropertyCommand::Publish, PropertyCommand::Disconnect],
            Tool::Sub => &[PropertyCommand::Connect, PropertyCommand::Subscribe, PropertyCommand::Disconnect],
        }
    }
}

/// The packet a `-D` property goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyCommand {
    Connect,
    Publish,
    Subscribe,
    Disconnect,
}

impl PropertyCommand {
    const ALL: [(&'static str, PropertyCommand); 4] = [
        ("connect", PropertyCommand::Connect),
        ("publish", PropertyCommand::Publish),
        ("subscribe", PropertyCommand::Subscribe),
        ("disconnect", PropertyCommand::Disconnect),
    ];

    fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, c)| *c == self).map_or("?", |(n, _)| n)
    }

    fn packet(self) -> PacketType {
        match self {
            PropertyCommand::Connect => PacketType::Connect,
            PropertyCommand::Publish => PacketType::Publish,
            PropertyCommand::Subscribe => PacketType::Subscribe,
            PropertyCommand::Disconnect => PacketType::Disconnect,
        }
    }
}

/// The `-D` properties, one list per packet, each in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandProperties {
    pub connect: Properties,
    pub publish: Properties,
    pub subscribe: Properties,
    pub disconnect: Properties,
}

impl CommandProperties {
    fn list(&mut self, command: PropertyCommand) -> &mut Properties {
        match command {
            PropertyCommand::Connect => &mut self.connect,
            PropertyCommand::Publish => &mut self.publish,
            PropertyCommand::Subscribe => &mut self.subscribe,
            PropertyCommand::Disconnect => &mut self.disconnect,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.connect.is_empty() && self.publish.is_empty() && self.subscribe.is_empty() && self.disconnect.is_empty()
    }

    /// Adds one `-D COMMAND PROPERTY VALUE` (or `-D COMMAND user-property NAME VALUE`), given
    /// as its words, checking the property against the packet it goes into.
    pub fn add(&mut self, tool: Tool, words: &[String]) -> Result<(), String> {
        let shown = format!("-D {}", words.join(" "));
        let [command, name, values @ ..] = words else {
            return Err(format!("{shown}: expected -D COMMAND PROPERTY VALUE"));
        };
        let Some(&(_, command)) = PropertyCommand::ALL.iter().find(|(n, _)| n.eq_ignore_ascii_case(command)) else {
            return Err(format!("{shown}: {command:?} is not a command: {}", allowed_commands(tool)));
        };
        if !tool.commands().contains(&command) {
            return Err(format!("{shown}: {}", allowed_commands(tool)));
        }
        let property = parse_property(name, values).map_err(|e| format!("{shown}: {e}"))?;
        let list = self.list(command);
        list.push(property);
        // The codec's table says where each property may go, how often, and its range.
        if let Err(e) = list.check(Place::Packet(command.packet())) {
            list.0.pop();
            return Err(format!("{shown}: {e}"));
        }
        Ok(())
    }
}

fn allowed_commands(tool: Tool) -> String {
    let names: Vec<&str> = tool.commands().iter().map(|c| c.name()).collect();
    format!("mqtt-sim {} takes -D for {} only", tool.name(), names.join(", "))
}

/// The value types of section 1.5, as `-D` reads them.
#[derive(Clone, Copy)]
enum Kind {
    Byte,
    Two,
    Four,
    VarInt,
    Utf8,
    Binary,
    Pair,
}

/// The properties a client may send, by mosquitto's names (its manual's PROPERTIES section;
/// subscription-identifier is ours: mosquitto_sub does not take it).
const NAMES: &[(&str, Kind)] = &[
    ("payload-format-indicator", Kind::Byte),
    ("message-expiry-interval", Kind::Four),
    ("content-type", Kind::Utf8),
    ("response-topic", Kind::Utf8),
    ("correlation-data", Kind::Binary),
    ("subscription-identifier", Kind::VarInt),
    ("session-expiry-interval", Kind::Four),
    ("request-problem-information", Kind::Byte),
    ("request-response-information", Kind::Byte),
    ("receive-maximum", Kind::Two),
    ("topic-alias-maximum", Kind::Two),
    ("topic-alias", Kind::Two),
    ("maximum-packet-size", Kind::Four),
    ("user-property", Kind::Pair),
];

fn parse_property(name: &str, values: &[String]) -> Result<Property, String> {
    if matches!(name, "authentication-method" | "authentication-data" | "will-delay-interval") {
        return Err(format!("{name} is not supported (no enhanced authentication, no will options)"));
    }
    let Some(&(_, kind)) = NAMES.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
        return Err(format!("{name:?} is not a property a client sends; the properties are {}", names.join(", ")));
    };
    let expected = if matches!(kind, Kind::Pair) { 2 } else { 1 };
    if values.len() != expected {
        let what = if expected == 2 { "a NAME and a VALUE" } else { "one VALUE" };
        return Err(format!("{name} takes {what}"));
    }
    let v = values[0].as_str();
    let number = |max: u64| -> Result<u64, String> {
        v.parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{name} must be a number from 0 to {max}, not {v:?}"))
    };
    Ok(match (name, kind) {
        ("payload-format-indicator", _) => Property::PayloadFormatIndicator(number(1)? as u8),
        ("request-problem-information", _) => Property::RequestProblemInformation(number(1)? as u8),
        ("request-response-information", _) => Property::RequestResponseInformation(number(1)? as u8),
        ("message-expiry-interval", _) => Property::MessageExpiryInterval(number(u32::MAX.into())? as u32),
        ("session-expiry-interval", _) => Property::SessionExpiryInterval(parse_expiry(v)?),
        ("maximum-packet-size", _) => Property::MaximumPacketSize(number(u32::MAX.into())? as u32),
        ("receive-maximum", _) => Property::ReceiveMaximum(number(u16::MAX.into())? as u16),
        ("topic-alias-maximum", _) => Property::TopicAliasMaximum(number(u16::MAX.into())? as u16),
        ("topic-alias", _) => Property::TopicAlias(number(u16::MAX.into())? as u16),
        ("subscription-identifier", _) => Property::SubscriptionIdentifier(number(
            crate::protocol::properties::MAX_SUBSCRIPTION_IDENTIFIER.into(),
        )? as u32),
        ("content-type", _) => Property::ContentType(v.to_owned()),
        ("response-topic", _) => Property::ResponseTopic(v.to_owned()),
        // mosquitto_pub: "binary data - note treated as a string".
        ("correlation-data", _) => Property::CorrelationData(Bytes::from(v.to_owned())),
        (_, Kind::Pair) => Property::UserProperty((values[0].clone(), values[1].clone())),
        _ => unreachable!("every name in NAMES is parsed above"),
    })
}

/// A Session Expiry Interval as mosquitto's `-x` reads it: 0 to 4294967295 seconds, or -1 or ∞
/// for a session that never expires (4294967295).
pub fn parse_expiry(v: &str) -> Result<u32, String> {
    match v {
        "-1" | "∞" => Ok(u32::MAX),
        _ => v.parse::<u32>().map_err(|_| {
            format!("the session expiry interval must be 0 to 4294967295 seconds, or -1 or ∞ for never, not {v:?}")
        }),
    }
}

/// A protocol version as mosquitto's `-V` names it.
pub fn parse_version(v: &str) -> Result<Version, String> {
    match v {
        "5" | "mqttv5" => Ok(Version::V5),
        "311" | "mqttv311" => Ok(Version::V311),
        "31" | "mqttv31" => Err("MQTT 3.1 (-V 31) is not supported: use -V 311 or -V 5".into()),
        _ => Err(format!("{v:?} is not a protocol version: use 5 (mqttv5) or 311 (mqttv311)")),
    }
}

/// What `-V`, `-x` and `-D` make, checked together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionOptions {
    pub version: Version,
    /// `-x` (or `-D connect session-expiry-interval`): `None` is mosquitto's default (never
    /// with `-c`, else 0).
    pub session_expiry: Option<u32>,
    pub properties: CommandProperties,
}

impl VersionOptions {
    /// Reads `-V`, `-x` and every `-D` of `tool`. As with mosquitto, `-D` makes the client a 5.0
    /// client when `-V` is not given; `-D` with `-V 311` and `-x` with 3.1.1 are refused, as 3.1.1
    /// cannot carry them.
    pub fn parse(
        tool: Tool,
        version: Option<&str>,
        session_expiry: Option<&str>,
        properties: &[Vec<String>],
    ) -> Result<VersionOptions, String> {
        let asked = version.map(parse_version).transpose()?;
        let mut props = CommandProperties::default();
        for words in properties {
            props.add(tool, words)?;
        }
        let version = match asked {
            Some(v) => v,
            None if !props.is_empty() => Version::V5,
            None => Version::V311,
        };
        if version == Version::V311 && !props.is_empty() {
            return Err("-D sets MQTT 5.0 properties, which MQTT 3.1.1 (-V 311) cannot carry".into());
        }
        let mut expiry = session_expiry.map(parse_expiry).transpose()?;
        if expiry.is_some() && version == Version::V311 {
            return Err("-x sets the MQTT 5.0 Session Expiry Interval: add -V 5".into());
        }
        if let Some(&from_d) = props.connect.session_expiry_interval() {
            if expiry.is_some() {
                return Err("-x and -D connect session-expiry-interval both set the session expiry: give one".into());
            }
            expiry = Some(from_d);
            // `ConnectOptions` carries it as the session expiry, not as a raw property.
            props.connect.remove(0x11);
        }
        Ok(VersionOptions { version, session_expiry: expiry, properties: props })
    }
}
