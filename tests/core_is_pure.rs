//! Guard: the sans-IO core stays pure. Every `.rs` file under `src/protocol/`, `src/topic.rs`,
//! `src/time.rs`, `src/broker/`, `src/client/` and the shared QoS flow `src/qos/`
//! is read as text and must not name an async runtime or network stack
//! (tokio, turmoil, `std::net`), threads (`std::thread`), a random number generator (rand,
//! getrandom, fastrand, proptest, std's `RandomState`), the clock (`Instant`, `SystemTime`,
//! `UNIX_EPOCH`), or other OS inputs (`std::fs`, `std::process`, `std::env`).
//!
//! Why: the core is sans-IO, so one broker serves real TCP (tokio) and the simulation (turmoil)
//! unchanged, and a simulated run replays exactly from its seed because every input — bytes,
//! `now`, randomness — is handed to the state machines by their caller. One stray `Instant::now()`
//! or `tokio::spawn` in the core silently breaks both. See DESIGN.md rule 1 and ARCHITECTURE.md's
//! invariants.
//!
//! How: a small lexer drops comments (doc comments too), string, byte-string, raw-string and
//! character literals and lifetimes, so prose like "never imports tokio" passes; what is left is
//! split into identifiers and `::`, `use` groups (`use std::{net, thread}`) are expanded into full
//! paths, and each path is checked. It reads identifiers, not resolved names, so it errs on the
//! side of failing: a local variable called `rand` trips it too (rename it). It does not follow
//! aliases (`use std as s; s::net`) or macro-generated names; review still covers those.
//!
//! Scope: `#[cfg(test)]` code counts, including the unit tests in `src/broker/tests/` and
//! `src/client/tests/`. They are the proof that the core runs with no runtime, on a hand-set
//! clock, with nothing but what a caller passes in; a unit test that needed tokio, a thread or
//! the real clock to drive the broker would mean the core had grown a dependency on it, and would
//! itself be a test whose outcome depends on timing. They comply today, so including them costs
//! nothing, and a scanner that does not parse `cfg` attributes has no exemption to be fooled by.
//! There is no opt-out comment, for the same reason.

use std::fmt;
use std::path::{Path, PathBuf};

/// Folders and files that must exist: if one moves, this guard must move with it, not go quiet.
const REQUIRED_ROOTS: &[&str] = &["src/protocol", "src/topic.rs", "src/time.rs", "src/qos", "src/broker", "src/client"];
/// Parts of the core that may come and go; none today.
const OPTIONAL_ROOTS: &[&str] = &[];

/// Names that are forbidden wherever they appear as an identifier, and why.
const FORBIDDEN_NAMES: &[(&str, &str)] = &[
    ("tokio", "an async runtime: the core performs no IO and never awaits"),
    ("turmoil", "the simulated network: the core must not know which network it runs on"),
    ("rand", "a random number generator: randomness comes from a seeded RNG the caller owns"),
    ("rand_core", "a random number generator: randomness comes from a seeded RNG the caller owns"),
    ("rand_chacha", "a random number generator: randomness comes from a seeded RNG the caller owns"),
    ("getrandom", "OS randomness: randomness comes from a seeded RNG the caller owns"),
    ("fastrand", "a random number generator: randomness comes from a seeded RNG the caller owns"),
    ("proptest", "proptest and its RNG: randomness comes from a seeded RNG the caller owns"),
    ("thread_rng", "an unseeded RNG: randomness comes from a seeded RNG the caller owns"),
    ("OsRng", "OS randomness: randomness comes from a seeded RNG the caller owns"),
    ("ThreadRng", "an unseeded RNG: randomness comes from a seeded RNG the caller owns"),
    ("RandomState", "std's randomly seeded hasher: iteration order would differ from run to run"),
    ("Instant", "the monotonic clock: time comes in as `now: Time` from the driver"),
    ("SystemTime", "the wall clock: time comes in as `now: Time` from the driver"),
    ("UNIX_EPOCH", "the wall clock: time comes in as `now: Time` from the driver"),
];

/// Modules of `std` (or `core`) that are forbidden, and why.
const FORBIDDEN_STD: &[(&str, &str)] = &[
    ("net", "sockets: the drivers in `net/` own the transport"),
    ("thread", "threads: the core runs on its caller's task, which turmoil schedules"),
    ("fs", "file IO: the caller reads files and hands the core their contents"),
    ("process", "processes: the core performs no IO"),
    ("env", "environment variables, a hidden input: behaviour depends only on config and inputs"),
];

/// One forbidden thing found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    /// The forbidden path as written, e.g. `tokio::sync::mpsc` or `std::time::Instant`.
    path: String,
    /// The forbidden part of it, e.g. `tokio` or `std::net`.
    what: String,
    why: &'static str,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: `{}` names `{}`, {}", self.file, self.line, self.path, self.what, self.why)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// The code of `src` as tokens with their 1-based line, without comments, literals or lifetimes.
fn tokens(src: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let is_ident_start = |c: char| c == '_' || c.is_alphabetic();
    let is_ident_char = |c: char| c == '_' || c.is_alphanumeric();
    // Skips a quoted literal whose opening quote is at `i`, honouring backslash escapes; returns
    // the index after the closing quote and the newlines it contained.
    let skip_quoted = |mut i: usize, quote: char| -> (usize, usize) {
        let mut lines = 0;
        i += 1;
        while i < chars.len() && chars[i] != quote {
            if chars[i] == '\\' {
                i += 1;
            }
            if chars.get(i) == Some(&'\n') {
                lines += 1;
            }
            i += 1;
        }
        (i + 1, lines)
    };
    // Skips a raw string `#*"..."#*` whose first `#` or `"` is at `i`.
    let skip_raw = |mut i: usize| -> (usize, usize) {
        let mut hashes = 0;
        while chars.get(i) == Some(&'#') {
            hashes += 1;
            i += 1;
        }
        i += 1; // the opening quote
        let mut lines = 0;
        while i < chars.len() {
            if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                return (i + 1 + hashes, lines);
            }
            if chars[i] == '\n' {
                lines += 1;
            }
            i += 1;
        }
        (i, lines)
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            let (end, lines) = skip_quoted(i, '"');
            (i, line) = (end, line + lines);
        } else if c == '\'' {
            if next == Some('\\') || chars.get(i + 2) == Some(&'\'') {
                let (end, lines) = skip_quoted(i, '\'');
                (i, line) = (end, line + lines);
            } else {
                // A lifetime or loop label: skip its name.
                i += 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            let after = chars.get(i).copied();
            let after2 = chars.get(i + 1).copied();
            // `r"`, `r#"`, `br##"`...: the quote after the run of `#`.
            let raw_quote = chars[i..].iter().find(|&&c| c != '#') == Some(&'"');
            match (ident.as_str(), after) {
                ("r" | "br" | "cr", Some('"' | '#')) if raw_quote => {
                    let (end, lines) = skip_raw(i);
                    (i, line) = (end, line + lines);
                }
                ("b" | "c", Some('"')) => {
                    let (end, lines) = skip_quoted(i, '"');
                    (i, line) = (end, line + lines);
                }
                ("b", Some('\'')) => {
                    let (end, lines) = skip_quoted(i, '\'');
                    (i, line) = (end, line + lines);
                }
                // A raw identifier, `r#tokio`, is the identifier `tokio`.
                ("r", Some('#')) if after2.is_some_and(is_ident_start) => i += 1,
                _ => out.push((Tok::Ident(ident), line)),
            }
        } else if c == ':' && next == Some(':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// Every path in the code as its segments and the line of its last one, with `use` groups
/// expanded: `use std::{net::TcpStream, time};` gives `std::net::TcpStream` and `std::time`.
fn paths(tokens: &[(Tok, usize)]) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    // The prefixes of the `use` groups we are inside, and for every open `{` whether it opened one.
    let mut prefixes: Vec<Vec<String>> = Vec::new();
    let mut braces: Vec<bool> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut current_line = 0;
    // True right after a `::`, so the next identifier continues the current path.
    let mut continues = false;
    // Where a path starts: inside a use group, at the group's prefix.
    fn base(prefixes: &[Vec<String>], braces: &[bool]) -> Vec<String> {
        match (braces.last(), prefixes.last()) {
            (Some(true), Some(prefix)) => prefix.clone(),
            _ => Vec::new(),
        }
    }
    fn flush(current: &mut Vec<String>, line: usize, out: &mut Vec<(Vec<String>, usize)>) {
        if !current.is_empty() {
            out.push((std::mem::take(current), line));
        }
    }
    for (tok, line) in tokens {
        match tok {
            Tok::Ident(name) => {
                if !continues {
                    flush(&mut current, current_line, &mut out);
                    current = base(&prefixes, &braces);
                }
                current.push(name.clone());
                current_line = *line;
                continues = false;
            }
            Tok::PathSep => {
                if !continues && current.is_empty() {
                    current = base(&prefixes, &braces); // a leading `::`
                }
                continues = true;
            }
            Tok::Punct('{') if continues => {
                // `prefix::{`: a use group.
                prefixes.push(std::mem::take(&mut current));
                braces.push(true);
                continues = false;
            }
            Tok::Punct(c) => {
                flush(&mut current, current_line, &mut out);
                continues = false;
                match c {
                    '{' => braces.push(false),
                    '}' => {
                        let closes_group = braces.pop() == Some(true);
                        if closes_group {
                            prefixes.pop();
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    flush(&mut current, current_line, &mut out);
    out
}

/// What `src` (the text of `file`) names that the core must not.
fn violations(file: &str, src: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    for (segments, line) in paths(&tokens(src)) {
        let path = segments.join("::");
        let named = segments.iter().find_map(|s| FORBIDDEN_NAMES.iter().find(|(name, _)| s == name));
        let from_std = segments.windows(2).find_map(|w| {
            let root = matches!(w[0].as_str(), "std" | "core" | "alloc");
            FORBIDDEN_STD
                .iter()
                .find(|(module, _)| root && w[1] == *module)
                .map(|(m, why)| (format!("{}::{m}", w[0]), *why))
        });
        let what = match (named, from_std) {
            (Some((name, why)), _) => Some((name.to_string(), *why)),
            (None, Some(std)) => Some(std),
            (None, None) => None,
        };
        if let Some((what, why)) = what {
            found.push(Violation { file: file.to_owned(), line, path, what, why });
        }
    }
    found
}

/// The `.rs` files of the core, sorted, relative to the crate root.
fn core_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for rel in REQUIRED_ROOTS.iter().chain(OPTIONAL_ROOTS) {
        let path = root.join(rel);
        if !path.exists() {
            assert!(
                OPTIONAL_ROOTS.contains(rel),
                "{rel} does not exist: the core moved, so update REQUIRED_ROOTS in tests/core_is_pure.rs to match"
            );
            continue;
        }
        if path.is_dir() {
            walk(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn the_sans_io_core_names_no_runtime_network_thread_rng_or_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = core_files(root);
    // A guard that reads nothing passes: make sure it read the core.
    assert!(files.iter().any(|f| f.ends_with("src/broker/mod.rs")), "the walk missed src/broker/mod.rs: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let rel = file.strip_prefix(root).unwrap_or(file).display().to_string();
        found.extend(violations(&rel, &src));
    }
    assert!(
        found.is_empty(),
        "the sans-IO core must not name a runtime, the network, threads, an RNG or the clock:\n{}\n\n\
         Why: protocol/, topic.rs, time.rs, broker/, client/ and the QoS flow take bytes, packets and \
         `now` in and give packets, actions and deadlines out. That is what lets one broker serve real \
         TCP and the turmoil simulation unchanged, and what makes a simulated run replay exactly from \
         its seed. Do the IO, the clock reading or the randomness in the driver (`net/`) or the harness \
         and pass the result in. ({} files checked; see the module docs of tests/core_is_pure.rs)",
        found.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n"),
        files.len()
    );
}

/// The forbidden things `snippet` names, as `line: what`.
fn caught(snippet: &str) -> Vec<String> {
    violations("snippet.rs", snippet).into_iter().map(|v| format!("{}: {}", v.line, v.what)).collect()
}

#[test]
fn scanner_catches_imports_and_paths() {
    assert_eq!(caught("use tokio::net;"), ["1: tokio"]);
    assert_eq!(caught("use tokio::sync::mpsc;"), ["1: tokio"]);
    assert_eq!(caught("use tokio;"), ["1: tokio"]);
    assert_eq!(caught("extern crate turmoil;"), ["1: turmoil"]);
    assert_eq!(caught("fn f() {\n    let _ = ::tokio::spawn(async {});\n}"), ["2: tokio"]);
    assert_eq!(caught("fn f() { tokio :: spawn(g()); }"), ["1: tokio"]);
    assert_eq!(caught("use std::net::TcpStream;"), ["1: std::net"]);
    assert_eq!(caught("fn f() { std::thread::spawn(|| ()); }"), ["1: std::thread"]);
    assert_eq!(caught("use core::net::Ipv4Addr;"), ["1: core::net"]);
    assert_eq!(caught("use rand::Rng;"), ["1: rand"]);
    assert_eq!(caught("let x = fastrand::u8(..);"), ["1: fastrand"]);
    assert_eq!(caught("use proptest::test_runner::TestRng;"), ["1: proptest"]);
    assert_eq!(caught("fn f() { let mut b = [0u8; 4]; getrandom::fill(&mut b); }"), ["1: getrandom"]);
    assert_eq!(caught("use std::collections::hash_map::RandomState;"), ["1: RandomState"]);
    assert_eq!(caught("let r = r#tokio::spawn(f);"), ["1: tokio"]);
}

#[test]
fn scanner_catches_the_clock() {
    assert_eq!(caught("let t = Instant::now();"), ["1: Instant"]);
    assert_eq!(caught("use std::time::Instant;"), ["1: Instant"]);
    assert_eq!(caught("let t = std::time::SystemTime::now();"), ["1: SystemTime"]);
    assert_eq!(caught("let e = std::time::UNIX_EPOCH;"), ["1: UNIX_EPOCH"]);
    // `Duration` is a value, not a clock: the core uses it for keep alive and timers.
    assert_eq!(caught("use std::time::Duration;"), Vec::<String>::new());
}

#[test]
fn scanner_expands_use_groups() {
    assert_eq!(caught("use std::{fmt, net::TcpStream};"), ["1: std::net"]);
    assert_eq!(caught("use std::{\n    collections::BTreeMap,\n    time::{Duration, Instant},\n};"), ["3: Instant"]);
    assert_eq!(caught("use std::{fmt, thread};"), ["1: std::thread"]);
    assert_eq!(caught("use {std::fmt, tokio::io};"), ["1: tokio"]);
    // After a group closes, paths start afresh.
    assert_eq!(caught("use std::{fmt};\nfn net() {}\nfn f() { thread(); }"), Vec::<String>::new());
}

#[test]
fn scanner_counts_test_modules() {
    let src = "pub fn f() {}\n\n#[cfg(test)]\nmod tests {\n    use tokio::sync::mpsc;\n}\n";
    assert_eq!(caught(src), ["5: tokio"]);
    assert_eq!(caught("#[tokio::test]\nasync fn t() {}"), ["1: tokio"]);
}

#[test]
fn scanner_ignores_comments_and_literals() {
    assert_eq!(caught("// tokio\nfn f() {}"), Vec::<String>::new());
    assert_eq!(caught("//! The broker never imports tokio or calls Instant::now().\nfn f() {}"), Vec::<String>::new());
    assert_eq!(caught("/// Unlike `std::thread::spawn`, ...\nfn f() {}"), Vec::<String>::new());
    assert_eq!(caught("/* use tokio; /* nested std::net */ still a comment */ fn f() {}"), Vec::<String>::new());
    assert_eq!(caught(r#"let s = "tokio";"#), Vec::<String>::new());
    assert_eq!(caught(r#"let s = "say \"tokio::spawn\" twice";"#), Vec::<String>::new());
    assert_eq!(caught(r####"let s = r##"use tokio; "# still "##;"####), Vec::<String>::new());
    assert_eq!(caught(r#"let s = b"rand"; let c = b'r'; let d = '"'; let e = '\'';"#), Vec::<String>::new());
    assert_eq!(caught(r#"#[doc = "uses tokio"] fn f() {}"#), Vec::<String>::new());
    assert_eq!(caught("fn f<'tokio>(x: &'tokio u8) -> char { 'r' }"), Vec::<String>::new());
    // Code after a literal or comment is still read, on the right line.
    assert_eq!(caught("let s = \"a\nb\"; /* c\n */ use tokio;"), ["3: tokio"]);
    assert_eq!(caught("let c = '\"'; use tokio::net;"), ["1: tokio"]);
}

#[test]
fn scanner_reports_file_line_and_reason() {
    let v = violations("src/broker/mod.rs", "\nuse tokio::sync::mpsc;\n");
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].to_string(),
        "src/broker/mod.rs:2: `tokio::sync::mpsc` names `tokio`, an async runtime: the core performs no IO and never awaits"
    );
}

#[test]
fn scanner_allows_what_the_core_uses() {
    let src = "use std::collections::{BTreeMap, VecDeque};\nuse crate::time::Time;\n\
               use crate::protocol::{Packet, QoS};\nfn now(t: Time) -> Time { t }\nlet net = 1; let thread = 2;";
    assert_eq!(caught(src), Vec::<String>::new());
}
