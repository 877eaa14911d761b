//! The retained-message store: the last retained message per topic name, kept across sessions
//! [MQTT-3.1.2-7], in topic order, as published: with its 5.0 properties and its expiry. An
//! expired message stays until its topic is published again, but is never sent.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::session::Message;
use crate::time::Time;
use crate::topic;

/// Topic name -> its retained message.
#[derive(Debug, Default)]
pub struct RetainedStore {
    messages: BTreeMap<String, Arc<Message>>,
}

impl RetainedStore {
    /// Applies a PUBLISH with RETAIN set: a non-empty payload replaces whatever was retained
    /// [MQTT-3.3.1-5] [MQTT-3.3.1-7]; an empty one clears it and is never stored [MQTT-3.3.1-10]
    /// [MQTT-3.3.1-11].
    pub fn apply(&mut self, msg: &Arc<Message>) {
        if msg.payload.is_empty() {
            self.messages.remove(&msg.topic);
        } else {
            self.messages.insert(msg.topic.clone(), Arc::clone(msg));
        }
    }

    /// The retained messages whose topic matches `filter` and whose Message Expiry Interval has
    /// not passed at `now`, in topic order [MQTT-3.3.1-6] (section 3.3.2.3.3: an expired
    /// retained message is not sent).
    pub fn matching<'a>(&'a self, filter: &'a str, now: Time) -> impl Iterator<Item = &'a Arc<Message>> + 'a {
        self.messages
            .iter()
            .filter(move |(name, m)| topic::matches(filter, name) && m.expires_at.is_none_or(|at| at > now))
            .map(|(_, m)| m)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Arc<Message>)> {
        self.messages.iter()
    }
}
