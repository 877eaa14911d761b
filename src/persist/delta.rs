//! What changed in the broker's lasting state between two images, as the durable mode's log
//! records it: the whole state of each session that changed (or that it ended), and each retained
//! topic that changed (or was cleared). Applying the changes of every record, in order, to the
//! snapshot they follow gives the state at the last record. Pure functions on [`Image`]s.
//!
//! A record holds whole sessions, not single messages: simple to apply and to check, at the cost
//! of writing a session's queue again each time it changes (the note on the durable mode says
//! what a finer log would save).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::broker::persist::{DeliveryImage, Image, MessageImage, SessionImage};

/// One group commit's changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// The sessions that changed, whole, and the retained messages set, with their messages.
    pub image: Image,
    /// Sessions that ended.
    pub gone: Vec<String>,
    /// Retained topics cleared.
    pub unretained: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.image.sessions.is_empty()
            && self.image.retained.is_empty()
            && self.gone.is_empty()
            && self.unretained.is_empty()
    }
}

/// An image taken apart: each session with its own messages, and each retained message by topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts {
    pub sessions: BTreeMap<String, (SessionImage, Vec<MessageImage>)>,
    pub retained: BTreeMap<String, MessageImage>,
}

/// Re-numbers the messages `s` refers to into a table of its own.
fn own_messages(s: &SessionImage, table: &[MessageImage]) -> (SessionImage, Vec<MessageImage>) {
    let mut index: BTreeMap<u32, u32> = BTreeMap::new();
    let mut messages = Vec::new();
    let mut renumber = |i: u32| -> u32 {
        *index.entry(i).or_insert_with(|| {
            messages.push(table.get(i as usize).cloned().unwrap_or_else(empty_message));
            (messages.len() - 1) as u32
        })
    };
    let mut s = s.clone();
    let delivery = |d: &mut DeliveryImage, renumber: &mut dyn FnMut(u32) -> u32| d.message = renumber(d.message);
    for i in &mut s.inflight {
        delivery(&mut i.delivery, &mut renumber);
    }
    for d in &mut s.queue {
        delivery(d, &mut renumber);
    }
    for (_, m) in &mut s.incoming {
        *m = renumber(*m);
    }
    (s, messages)
}

fn empty_message() -> MessageImage {
    MessageImage {
        topic: String::new(),
        payload: vec![],
        qos: 0,
        retain: false,
        properties: vec![],
        expires_at_ms: None,
    }
}

/// Takes `image` apart.
pub fn parts(image: &Image) -> Parts {
    let sessions = image.sessions.iter().map(|s| (s.client_id.clone(), own_messages(s, &image.messages))).collect();
    let retained = image
        .retained
        .iter()
        .filter_map(|&i| image.messages.get(i as usize))
        .map(|m| (m.topic.clone(), m.clone()))
        .collect();
    Parts { sessions, retained }
}

/// Puts parts back together into one image.
pub fn assemble(parts: &Parts) -> Image {
    let mut image = Image { messages: Vec::new(), retained: Vec::new(), sessions: Vec::new() };
    for m in parts.retained.values() {
        image.messages.push(m.clone());
        image.retained.push((image.messages.len() - 1) as u32);
    }
    for (s, messages) in parts.sessions.values() {
        let offset = image.messages.len() as u32;
        image.messages.extend(messages.iter().cloned());
        let mut s = s.clone();
        for i in &mut s.inflight {
            i.delivery.message += offset;
        }
        for d in &mut s.queue {
            d.message += offset;
        }
        for (_, m) in &mut s.incoming {
            *m += offset;
        }
        image.sessions.push(s);
    }
    image
}

/// What changed from `before` to `after`.
pub fn diff(before: &Parts, after: &Parts) -> Changes {
    let mut changed = Parts::default();
    for (id, s) in &after.sessions {
        if before.sessions.get(id) != Some(s) {
            changed.sessions.insert(id.clone(), s.clone());
        }
    }
    for (topic, m) in &after.retained {
        if before.retained.get(topic) != Some(m) {
            changed.retained.insert(topic.clone(), m.clone());
        }
    }
    Changes {
        image: assemble(&changed),
        gone: before.sessions.keys().filter(|id| !after.sessions.contains_key(*id)).cloned().collect(),
        unretained: before.retained.keys().filter(|t| !after.retained.contains_key(*t)).cloned().collect(),
    }
}

/// Applies `changes` to `parts`.
pub fn apply(parts: &mut Parts, changes: &Changes) {
    let changed = self::parts(&changes.image);
    parts.sessions.extend(changed.sessions);
    parts.retained.extend(changed.retained);
    for id in &changes.gone {
        parts.sessions.remove(id);
    }
    for topic in &changes.unretained {
        parts.retained.remove(topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::persist_image_for_test as sample;

    #[test]
    fn parts_put_together_again_give_the_same_state() {
        let image = sample();
        let p = parts(&image);
        assert_eq!(parts(&assemble(&p)), p);
    }

    #[test]
    fn the_diff_applied_to_the_old_state_gives_the_new_one() {
        let after = parts(&sample());
        let mut before = after.clone();
        // One session changed, one gone, one new; one retained message changed, one cleared.
        let (first, _) = before.sessions.keys().next().cloned().map(|k| (k, ())).unwrap();
        before.sessions.get_mut(&first).unwrap().0.clean = true;
        let last = before.sessions.keys().last().cloned().unwrap();
        before.sessions.remove(&last);
        before.sessions.insert("old".into(), before.sessions[&first].clone());
        before.retained.insert("gone/topic".into(), empty_message());
        let changes = diff(&before, &after);
        assert_eq!(changes.gone, vec!["old".to_owned()]);
        assert_eq!(changes.unretained, vec!["gone/topic".to_owned()]);
        assert_eq!(changes.image.sessions.len(), 2, "the changed one and the new one");
        let mut replayed = before;
        apply(&mut replayed, &changes);
        assert_eq!(replayed, after);
        assert!(diff(&after, &after).is_empty());
    }
}
