//! Topic names and topic filters: validation and matching (spec section 4.7).
//!
//! Owns the rules for what a valid name or filter is and whether a filter matches a name.
//! Matching compares levels byte for byte with no normalisation [MQTT-4.7.3-4]: case, spaces and
//! Unicode forms all count. The subscription trie that indexes many filters lives in `broker/`.

/// The longest topic a two-byte length prefix can carry [MQTT-4.7.3-3].
pub const MAX_TOPIC_LEN: usize = 65_535;

/// The most levels a broker accepts in a topic name or filter: mosquitto's limit (at most 200
/// `/`, `TOPIC_HIERARCHY_LIMIT`, added for CVE-2019-11779, where a SUBSCRIBE of about 65,400 `/`
/// crashed the broker). The spec sets none; our broker needs one for the same reason, since its
/// subscription trie walks one level per call.
pub const MAX_LEVELS: usize = 201;

/// The number of levels of a topic name or filter (`a/b` has 2, `/` has 2, `a` has 1).
pub fn levels(topic: &str) -> usize {
    topic.bytes().filter(|&b| b == b'/').count() + 1
}

/// Why a string is not a valid topic name or topic filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Topic names and filters are at least one character long.
    #[error("topic is empty [MQTT-4.7.3-1]")]
    Empty,
    /// Topic names and filters are at most 65,535 bytes.
    #[error("topic is {0} bytes, longer than 65535 [MQTT-4.7.3-3]")]
    TooLong(usize),
    /// Topic names and filters must not contain U+0000.
    #[error("topic contains U+0000 [MQTT-4.7.3-2]")]
    NullCharacter,
    /// Wildcards are only allowed in topic filters.
    #[error("topic name contains a wildcard [MQTT-3.3.2-2] [MQTT-4.7.1-1]")]
    WildcardInName,
    /// `#` must stand alone in the last level of a filter.
    #[error("'#' is not alone in the last level [MQTT-4.7.1-2]")]
    MultiLevelNotLast,
    /// `+` must occupy a whole level of a filter.
    #[error("'+' does not occupy a whole level [MQTT-4.7.1-3]")]
    SingleLevelNotAlone,
    /// A 5.0 shared filter is `$share/`, a share name of at least one character without `/`,
    /// `+` or `#`, then `/` and a topic filter [MQTT5-4.8.2-1] [MQTT5-4.8.2-2].
    #[error("shared subscription is not $share/{{name}}/{{filter}} with a share name free of / + # [MQTT5-4.8.2-1] [MQTT5-4.8.2-2]")]
    InvalidShareName,
}

impl TopicError {
    /// The normative statement this error breaks.
    pub fn rule(&self) -> &'static str {
        match self {
            TopicError::Empty => "MQTT-4.7.3-1",
            TopicError::TooLong(_) => "MQTT-4.7.3-3",
            TopicError::NullCharacter => "MQTT-4.7.3-2",
            TopicError::WildcardInName => "MQTT-3.3.2-2",
            TopicError::MultiLevelNotLast => "MQTT-4.7.1-2",
            TopicError::SingleLevelNotAlone => "MQTT-4.7.1-3",
            TopicError::InvalidShareName => "MQTT5-4.8.2-2",
        }
    }

    /// The MQTT 5.0 statement this error breaks.
    pub fn rule_v5(&self) -> &'static str {
        match self {
            TopicError::Empty => "MQTT5-4.7.3-1",
            TopicError::TooLong(_) => "MQTT5-4.7.3-3",
            TopicError::NullCharacter => "MQTT5-4.7.3-2",
            TopicError::WildcardInName => "MQTT5-3.3.2-2",
            TopicError::MultiLevelNotLast => "MQTT5-4.7.1-1",
            TopicError::SingleLevelNotAlone => "MQTT5-4.7.1-2",
            TopicError::InvalidShareName => "MQTT5-4.8.2-2",
        }
    }
}

/// A 5.0 shared subscription's parts: `$share/{group}/{filter}` (section 4.8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFilter<'a> {
    pub group: &'a str,
    pub filter: &'a str,
}

/// The prefix that makes a 5.0 filter shared.
pub const SHARE_PREFIX: &str = "$share/";

/// Splits a 5.0 shared filter into its share name and filter; `Ok(None)` for a filter that is
/// not shared. Only 5.0 gives `$share/` this meaning: in 3.1.1 it is an ordinary filter.
pub fn shared(filter: &str) -> Result<Option<SharedFilter<'_>>, TopicError> {
    let Some(rest) = filter.strip_prefix(SHARE_PREFIX) else {
        return Ok(None);
    };
    let (group, inner) = rest.split_once('/').ok_or(TopicError::InvalidShareName)?; // [MQTT5-4.8.2-2]
    if group.is_empty() || group.contains(['+', '#']) {
        return Err(TopicError::InvalidShareName); // [MQTT5-4.8.2-1] [MQTT5-4.8.2-2]
    }
    validate_filter(inner)?;
    Ok(Some(SharedFilter { group, filter: inner }))
}

fn check_common(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty); // [MQTT-4.7.3-1]
    }
    if topic.len() > MAX_TOPIC_LEN {
        return Err(TopicError::TooLong(topic.len())); // [MQTT-4.7.3-3]
    }
    if topic.contains('\0') {
        return Err(TopicError::NullCharacter); // [MQTT-4.7.3-2]
    }
    Ok(())
}

/// Checks a topic name, as carried by PUBLISH and by a will.
pub fn validate_name(name: &str) -> Result<(), TopicError> {
    // One pass over the bytes for the common case (every PUBLISH is checked on encode and decode);
    // the slower checks only run to name what is wrong.
    if !name.is_empty() && name.len() <= MAX_TOPIC_LEN && !name.bytes().any(|b| matches!(b, 0 | b'+' | b'#')) {
        return Ok(());
    }
    check_common(name)?;
    Err(TopicError::WildcardInName) // [MQTT-3.3.2-2] [MQTT-4.7.1-1]
}

/// Checks a topic filter, as carried by SUBSCRIBE and UNSUBSCRIBE.
pub fn validate_filter(filter: &str) -> Result<(), TopicError> {
    check_common(filter)?;
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(TopicError::MultiLevelNotLast); // [MQTT-4.7.1-2]
        }
        if level.contains('+') && level != "+" {
            return Err(TopicError::SingleLevelNotAlone); // [MQTT-4.7.1-3]
        }
    }
    Ok(())
}

/// Whether a valid `filter` matches a valid topic `name`.
///
/// A filter whose first level is a wildcard does not match a name that starts with `$`
/// [MQTT-4.7.2-1]. `sport/#` matches `sport` itself, since `#` also matches the parent level.
pub fn matches(filter: &str, name: &str) -> bool {
    if name.starts_with('$') && filter.starts_with(['+', '#']) {
        return false; // [MQTT-4.7.2-1]
    }
    let mut names = name.split('/');
    for level in filter.split('/') {
        match level {
            "#" => return true,
            "+" => {
                if names.next().is_none() {
                    return false;
                }
            }
            exact => {
                // Byte-for-byte comparison, no normalisation [MQTT-4.7.3-4].
                if names.next() != Some(exact) {
                    return false;
                }
            }
        }
    }
    names.next().is_none()
}

/// Whether a filter contains a wildcard.
pub fn has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(validate_name("a/b"), Ok(()));
        assert_eq!(validate_name("/"), Ok(()));
        assert_eq!(validate_name(" "), Ok(()));
        assert_eq!(validate_name(""), Err(TopicError::Empty));
        assert_eq!(validate_name("a/+"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a/#"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a+b"), Err(TopicError::WildcardInName));
        assert_eq!(validate_name("a\0b"), Err(TopicError::NullCharacter));
        let long = "a".repeat(MAX_TOPIC_LEN + 1);
        assert_eq!(validate_name(&long), Err(TopicError::TooLong(65_536)));
        assert_eq!(validate_name(&long[1..]), Ok(()));
    }

    #[test]
    fn filters() {
        for ok in ["#", "+", "a/#", "+/+", "/+", "a/+/b", "+/#", "sport/tennis/#", "a//b", "$SYS/#"] {
            assert_eq!(validate_filter(ok), Ok(()), "{ok}");
        }
        for bad in ["a#", "a/#/b", "#/a", "a/b#", "##"] {
            assert_eq!(validate_filter(bad), Err(TopicError::MultiLevelNotLast), "{bad}");
        }
        for bad in ["a+", "+a", "a/b+/c", "++"] {
            assert_eq!(validate_filter(bad), Err(TopicError::SingleLevelNotAlone), "{bad}");
        }
        assert_eq!(validate_filter(""), Err(TopicError::Empty));
        assert_eq!(validate_filter("a\0"), Err(TopicError::NullCharacter));
    }

    #[test]
    fn matching_from_the_spec_examples() {
        // Section 4.7.1.2 and 4.7.1.3.
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
        assert!(matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
        assert!(matches("sport/#", "sport"));
        assert!(matches("#", "sport/tennis"));
        assert!(matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(!matches("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!matches("sport/+", "sport"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(matches("/+", "/finance"));
        assert!(!matches("+", "/finance"));
        assert!(matches("+", "finance"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
    }

    #[test]
    fn dollar_topics_need_an_explicit_first_level() {
        // [MQTT-4.7.2-1]
        assert!(!matches("#", "$SYS/broker"));
        assert!(!matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/#", "$SYS/monitor/Clients"));
        assert!(matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
        assert!(matches("a/#", "a/$b"));
    }

    #[test]
    fn no_normalisation() {
        // [MQTT-4.7.3-4]
        assert!(!matches("ACCOUNTS", "accounts"));
        assert!(!matches("a /b", "a/b"));
        assert!(!matches("caf\u{e9}", "cafe\u{301}"));
    }
}
