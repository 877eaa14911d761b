//! Text into HTML and SVG, for every page and chart the reports write: markup characters escaped,
//! control characters (which XML forbids and a payload may carry) shown as `\u{..}`, scenario
//! names made safe as relative links, and paths made safe to paste into a shell.

use std::fmt::Write as _;

/// `s` as element content or a quoted attribute value in HTML or XML.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A file name as a relative link: every byte but ASCII letters, digits and `-._~` percent-encoded
/// (so `#`, `?`, `"` and spaces in a scenario's name still lead to its page).
pub fn href(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `s` as one word for a POSIX shell: as it is when it holds only letters, digits and `_-./+,:=@`,
/// else in single quotes (a `'` inside written `'\''`), so a printed command can be pasted.
pub fn shell(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./+,:=@".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// At most `max` characters of `s`, with `...` when cut (never inside a character).
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_control_characters_are_escaped() {
        assert_eq!(text("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
        assert_eq!(text("a\u{1}b\u{1b}c\nd"), "a\\u{1}b\\u{1b}c\nd");
    }

    #[test]
    fn links_are_percent_encoded() {
        assert_eq!(href("faults__x-y.z"), "faults__x-y.z");
        assert_eq!(href("hash#and?q \"é"), "hash%23and%3Fq%20%22%C3%A9");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell("scenarios/faults/a_b-c.yaml"), "scenarios/faults/a_b-c.yaml");
        assert_eq!(shell("x <b>.yaml"), "'x <b>.yaml'");
        assert_eq!(shell("it's"), "'it'\\''s'");
        assert_eq!(shell(""), "''");
    }

    #[test]
    fn shortening_counts_characters_not_bytes() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("ééééééé", 5), "éé...");
    }
}
