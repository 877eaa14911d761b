//! Where each node of a YAML document starts, by path (`steps[3].publish.client`), so checks that
//! run after deserialization (an unknown client, say) can still name a line and column.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Path -> (line, column), both 1-based.
#[derive(Debug, Default)]
pub struct Positions(BTreeMap<String, (usize, usize)>);

impl Positions {
    /// Indexes `text`; a document that does not parse gives an empty index (serde_yaml reports
    /// the syntax error itself).
    pub fn index(text: &str) -> Positions {
        let mut builder = Builder::default();
        let _ = Parser::new_from_str(text).load(&mut builder, false);
        Positions(builder.out)
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
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    out: BTreeMap<String, (usize, usize)>,
}

impl Builder {
    /// The path of the node that starts now, advancing the parent's state.
    fn child_path(&mut self, is_scalar: bool, value: Option<&str>) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    // This node is a key.
                    if is_scalar {
                        *key = value.map(str::to_owned);
                        let k = value.unwrap_or_default();
                        Some(if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") })
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
                if let Some(Frame::Map { path, key: None }) = self.stack.last() {
                    let entry = self.out.entry(path.clone()).or_insert(pos);
                    *entry = (*entry).min(pos);
                }
                if let Some(p) = self.child_path(true, Some(&value)) {
                    // Keys and values share a path; the key's position wins (it is first).
                    self.out.entry(p).or_insert(pos);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.child_path(false, None).unwrap_or_default();
                self.out.entry(path.clone()).or_insert(pos);
                self.stack.push(if matches!(ev, Event::MappingStart(..)) {
                    Frame::Map { path, key: None }
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
    }
}
