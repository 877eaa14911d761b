//! Where each node of a YAML document starts, by path (`steps[3].publish.client`), so checks that
//! run after deserialization (an unknown client, say) can still name a line and column.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Path -> (line, column), both 1-based; and the keys that appear twice in one mapping.
#[derive(Debug, Default)]
pub struct Positions(BTreeMap<String, (usize, usize)>, Vec<Duplicate>);

/// A key written twice in one mapping: YAML readers silently keep the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The key's path (`clients.reader`).
    pub path: String,
    /// Where it is written again, and where first.
    pub at: (usize, usize),
    pub first: (usize, usize),
}

impl Positions {
    /// Indexes `text`; a document that does not parse gives an empty index (serde_yaml reports
    /// the syntax error itself).
    pub fn index(text: &str) -> Positions {
        let mut builder = Builder::default();
        let _ = Parser::new_from_str(text).load(&mut builder, false);
        Positions(builder.out, builder.duplicates)
    }

    /// The first key written twice in one mapping, if any.
    pub fn first_duplicate(&self) -> Option<&Duplicate> {
        self.1.first()
    }

    /// The position of `path`, or of its nearest indexed ancestor.
    pub fn find(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some(&pos) = self.0.get(p) {
                return pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return (1, 1),
            }
        }
    }
}

enum Frame {
    Map { path: String, key: Option<String>, seen: BTreeMap<String, (usize, usize)> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    out: BTreeMap<String, (usize, usize)>,
    duplicates: Vec<Duplicate>,
}

impl Builder {
    /// The path of the node that starts now at `pos`, advancing the parent's state.
    fn child_path(&mut self, is_scalar: bool, value: Option<&str>, pos: (usize, usize)) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, key, seen }) => match key.take() {
                None => {
                    // This node is a key.
                    if is_scalar {
                        *key = value.map(str::to_owned);
                        let k = value.unwrap_or_default();
                        let p = if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
                        match seen.get(k) {
                            Some(&first) => self.duplicates.push(Duplicate { path: p.clone(), at: pos, first }),
                            None => {
                                seen.insert(k.to_owned(), pos);
                            }
                        }
                        Some(p)
                    } else {
                        *key = Some(String::new());
                        None
                    }
                }
                Some(k) => Some(if path.is_empty() { k } else { format!("{path}.{k}") }),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = (mark.line().max(1), mark.col() + 1);
        match ev {
            Event::Scalar(value, ..) => {
                // A block mapping's start mark can fall after its first key; the key is where a
                // reader looks, so the mapping takes the earlier of the two positions.
                if let Some(Frame::Map { path, key: None, .. }) = self.stack.last() {
                    let entry = self.out.entry(path.clone()).or_insert(pos);
                    *entry = (*entry).min(pos);
                }
                if let Some(p) = self.child_path(true, Some(&value), pos) {
                    // Keys and values share a path; the key's position wins (it is first).
                    self.out.entry(p).or_insert(pos);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.child_path(false, None, pos).unwrap_or_default();
                self.out.entry(path.clone()).or_insert(pos);
                self.stack.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map { path, key: None, seen: BTreeMap::new() }
                } else {
                    Frame::Seq { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_lines() {
        let text =
            "name: x\nclients:\n  a: {}\nsteps:\n  - connect: a\n  - publish:\n      client: b\n      topic: t\n";
        let p = Positions::index(text);
        assert_eq!(p.find("name"), (1, 1));
        assert_eq!(p.find("steps[0]"), (5, 5));
        assert_eq!(p.find("steps[1].publish.client"), (7, 7));
        assert_eq!(p.find("steps[1].publish.nothing"), p.find("steps[1].publish"));
        assert_eq!(p.first_duplicate(), None);
    }

    #[test]
    fn a_key_written_twice_in_one_mapping_is_found() {
        let p = Positions::index("name: x\nclients:\n  a: {}\n  b: {}\n  a: { clean_session: false }\n");
        let d = p.first_duplicate().expect("a twice");
        assert_eq!((d.path.as_str(), d.at, d.first), ("clients.a", (5, 3), (3, 3)));
        assert_eq!(Positions::index("a: { x: 1 }\nb: { x: 1 }\n").first_duplicate(), None, "other mappings");
    }
}
