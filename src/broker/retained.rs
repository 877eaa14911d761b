//! The retained-message store: the last retained message per topic name, kept across sessions
//! [MQTT-3.1.2-7], in topic order.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::protocol::QoS;
use crate::topic;

/// One retained message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    pub payload: Bytes,
    pub qos: QoS,
}

/// Topic name -> its retained message.
#[derive(Debug, Default)]
pub struct RetainedStore {
    messages: BTreeMap<String, Retained>,
}

impl RetainedStore {
    /// Applies a PUBLISH with RETAIN set: a non-empty payload replaces whatever was retained
    /// [MQTT-3.3.1-5] [MQTT-3.3.1-7]; an empty one clears it and is never stored [MQTT-3.3.1-10]
    /// [MQTT-3.3.1-11].
    pub fn apply(&mut self, topic: &str, payload: &Bytes, qos: QoS) {
        if payload.is_empty() {
            self.messages.remove(topic);
        } else {
            self.messages.insert(topic.to_owned(), Retained { payload: payload.clone(), qos });
        }
    }

    /// The retained messages whose topic matches `filter`, in topic order [MQTT-3.3.1-6].
    pub fn matching<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = (&'a String, &'a Retained)> + 'a {
        self.messages.iter().filter(move |(name, _)| topic::matches(filter, name))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Retained)> {
        self.messages.iter()
    }
}
