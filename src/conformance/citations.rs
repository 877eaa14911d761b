//! Where the Rust sources cite a normative statement, and whether the citation is an assertion.
//!
//! A citation is an ID such as `MQTT-3.1.2-4` (usually written `[MQTT-3.1.2-4]`). In test code
//! (a `tests.rs` file, a file under a `tests/` folder, or an inline `mod tests { .. }`) it is
//! *asserted* when it stands, outside any comment, inside the arguments of an assertion: an
//! assertion macro ([`ASSERTION_MACROS`], its message included), a test helper called
//! `assert_*(..)` (as `assert_rule(&err, Some("MQTT-2.2.2-2"))`), or `.expect(..)`. Anywhere else
//! in test code (a comment, even one between an assertion's arguments, or a string bound with
//! `let` and used by an assertion later) it is only *mentioned*. Outside test code it is a *code*
//! citation: where the rule is enforced.
//!
//! [`scan`] is a small lexer, not a parser: it knows comments (`//`, nested `/* */`), string
//! literals (escapes, raw `r#".."#`, byte strings), character literals against lifetimes, and
//! balanced `()`, `[]`, `{}`. That is enough for this code base, whose files compile.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

/// Macros whose arguments, message included, are an assertion.
pub const ASSERTION_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "assert_matches",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "prop_assert",
    "prop_assert_eq",
    "prop_assert_ne",
    "panic",
    "unreachable",
];

/// Where one file's citations stand, as byte ranges of its text.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Comments, doc comments included.
    pub comments: Vec<Range<usize>>,
    /// The delimited arguments of an assertion, delimiters included.
    pub assertions: Vec<Range<usize>>,
    /// The bodies of inline `mod tests { .. }`, braces included.
    pub test_modules: Vec<Range<usize>>,
}

/// What a citation is, by where it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// In non-test code: where the rule is enforced (comments included).
    Code,
    /// In a test's assertion.
    Asserted,
    /// In test code, but in a comment or outside any assertion.
    Mentioned,
}

/// Every citation in a Rust file, in order: its byte offset, its ID and its kind.
pub fn classify(text: &str, test_file: bool) -> Vec<(usize, &str, Kind)> {
    let scan = scan(text);
    let within = |ranges: &[Range<usize>], at: usize| ranges.iter().any(|r| r.contains(&at));
    ids(text)
        .map(|(at, id)| {
            let kind = if !test_file && !within(&scan.test_modules, at) {
                Kind::Code
            } else if !within(&scan.comments, at) && within(&scan.assertions, at) {
                Kind::Asserted
            } else {
                Kind::Mentioned
            };
            (at, id, kind)
        })
        .collect()
}

/// Every `MQTT-x` (3.1.1) and `MQTT5-x` (5.0) ID in `text` with its byte offset
/// (`MQTT-3.1.2-4` out of `[MQTT-3.1.2-4].`).
pub fn ids(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.match_indices("MQTT").filter_map(move |(at, _)| {
        let rest = &text[at..];
        let prefix = ["MQTT-", "MQTT5-"].into_iter().find(|p| rest.starts_with(p))?.len();
        let end = rest[prefix..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            .map_or(rest.len(), |e| e + prefix);
        Some((at, rest[..end].trim_end_matches(['.', '-'])))
    })
}

/// What an opening delimiter opened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opened {
    Assertion,
    TestModule,
    Other,
}

/// Comments, assertion arguments and inline test modules of a Rust source text.
pub fn scan(text: &str) -> Scan {
    let b = text.as_bytes();
    let mut out = Scan::default();
    // Open delimiters: what each opened and where.
    let mut stack: Vec<(Opened, usize)> = Vec::new();
    // The next opening delimiter at this offset opens an assertion or a test module.
    let mut pending: Option<(usize, Opened)> = None;
    let mut previous_word = "";
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |e| i + e);
                out.comments.push(i..end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = block_comment_end(b, i);
                out.comments.push(i..end);
                i = end;
            }
            b'"' => i = string_end(b, i + 1),
            b'\'' => i = char_end(text, i),
            b'(' | b'[' | b'{' => {
                let opened = match pending.take() {
                    Some((at, what)) if at == i => what,
                    _ => Opened::Other,
                };
                stack.push((opened, i));
                i += 1;
            }
            b')' | b']' | b'}' => {
                match stack.pop() {
                    Some((Opened::Assertion, start)) => out.assertions.push(start..i + 1),
                    Some((Opened::TestModule, start)) => out.test_modules.push(start..i + 1),
                    _ => {}
                }
                i += 1;
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let word = &text[start..i];
                if let Some(end) = raw_string_end(b, word, i) {
                    i = end;
                    continue;
                }
                if let Some(next) = opens(text, start, i, word, previous_word) {
                    pending = Some(next);
                }
                previous_word = word;
            }
            _ => i += 1,
        }
    }
    out.comments.sort_by_key(|r| r.start);
    out.assertions.sort_by_key(|r| r.start);
    out.test_modules.sort_by_key(|r| r.start);
    out
}

/// Whether the word at `start..end` opens an assertion or a test module with its next delimiter,
/// and that delimiter's offset.
fn opens(text: &str, start: usize, end: usize, word: &str, previous_word: &str) -> Option<(usize, Opened)> {
    let after = skip_space(text, end);
    let b = text.as_bytes();
    let is_open = |at: usize| matches!(b.get(at), Some(b'(' | b'[' | b'{'));
    if b.get(after) == Some(&b'!') {
        let at = skip_space(text, after + 1);
        return (ASSERTION_MACROS.contains(&word) && is_open(at)).then_some((at, Opened::Assertion));
    }
    let method = text[..start].trim_end().ends_with('.');
    let call = b.get(after) == Some(&b'(') && previous_word != "fn";
    if call && ((method && word == "expect") || word.starts_with("assert_")) {
        return Some((after, Opened::Assertion));
    }
    if word == "mod" {
        let name_end = skip_word(text, after);
        let at = skip_space(text, name_end);
        if &text[after..name_end] == "tests" && b.get(at) == Some(&b'{') {
            return Some((at, Opened::TestModule));
        }
    }
    None
}

fn skip_space(text: &str, from: usize) -> usize {
    text[from..].find(|c: char| !c.is_whitespace()).map_or(text.len(), |e| from + e)
}

fn skip_word(text: &str, from: usize) -> usize {
    text[from..].find(|c: char| !(c == '_' || c.is_ascii_alphanumeric())).map_or(text.len(), |e| from + e)
}

/// The end of a `/* */` comment starting at `start`; they nest.
fn block_comment_end(b: &[u8], start: usize) -> usize {
    let (mut depth, mut i) = (0, start);
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// The offset after the closing quote of a string whose body starts at `from`.
fn string_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// After the word `r` or `br` ending at `end`: the end of the raw string it starts, if it does.
fn raw_string_end(b: &[u8], word: &str, end: usize) -> Option<usize> {
    if word != "r" && word != "br" {
        return None;
    }
    let hashes = b[end..].iter().take_while(|&&c| c == b'#').count();
    if b.get(end + hashes) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = end + hashes + 1;
    Some(b[body..].windows(close.len()).position(|w| w == close.as_slice()).map_or(b.len(), |p| body + p + close.len()))
}

/// After a `'` at `start`: the end of the character literal it opens, or of the lifetime's quote.
fn char_end(text: &str, start: usize) -> usize {
    let b = text.as_bytes();
    if b.get(start + 1) == Some(&b'\\') {
        // An escape: '\n', '\'', '\u{..}'.
        return text.get(start + 3..).and_then(|t| t.find('\'')).map_or(b.len(), |e| start + 3 + e + 1);
    }
    match text[start + 1..].chars().next() {
        Some(c) if b.get(start + 1 + c.len_utf8()) == Some(&b'\'') => start + 2 + c.len_utf8(),
        _ => start + 1, // a lifetime or a label
    }
}

/// The citations of a project's Rust files, by ID.
#[derive(Debug, Default)]
pub struct Citations {
    /// Citations in `src/` outside tests.
    pub code: BTreeMap<String, usize>,
    /// Citations inside a test's assertion.
    pub asserted: BTreeMap<String, usize>,
    /// The files that cite an ID outside a test's assertion, tests first, by path from the project.
    pub mentioned: BTreeMap<String, BTreeSet<(Place, String)>>,
}

/// Where a mention stands; mentions are listed in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    Test,
    Scenario,
    Code,
}

impl Citations {
    /// Reads every `.rs` file under `project`'s `dir` (`src` or `tests`). The conformance table's
    /// own code and test are left out: the IDs there are data, not citations.
    pub fn read(&mut self, project: &Path, dir: &str) {
        let mut files = Vec::new();
        rust_files(&project.join(dir), &mut files);
        for path in files {
            let rel = path.strip_prefix(project).unwrap_or(&path);
            let name = rel.to_string_lossy().replace('\\', "/");
            if name.starts_with("src/conformance") || name == "tests/conformance.rs" {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let test_file =
                dir == "tests" || rel.components().any(|c| c.as_os_str() == "tests") || name.ends_with("/tests.rs");
            for (_, id, kind) in classify(&text, test_file) {
                match kind {
                    Kind::Code => {
                        *self.code.entry(id.to_owned()).or_insert(0) += 1;
                        self.mention(id, Place::Code, &name);
                    }
                    Kind::Asserted => *self.asserted.entry(id.to_owned()).or_insert(0) += 1,
                    Kind::Mentioned => self.mention(id, Place::Test, &name),
                }
            }
        }
    }

    /// Notes that `file` names `id` without checking it.
    pub fn mention(&mut self, id: &str, place: Place, file: &str) {
        self.mentioned.entry(id.to_owned()).or_default().insert((place, file.to_owned()));
    }
}

/// The `.rs` files under `dir`, in path order.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
