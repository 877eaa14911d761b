//! The run-unique namespace of one scenario run against a real broker: every client id and every
//! topic, filter and will topic the scenario names gets a prefix unique to the run, so runs in
//! parallel, earlier runs and other users of the broker cannot interfere; the prefix is stripped
//! from everything recorded, so expectations and snapshots compare unchanged. A broker that
//! `check --launch` started for the one scenario needs no namespace ([`Namespace::none`]): names
//! go out as the scenario writes them, and match the broker's own log. It owns the spelling of
//! names and nothing else.

/// The prefix of one scenario's run: `ms-<run>-<n>`, used as `ms-<run>-<n>/topic` for topics and
/// filters and `ms-<run>-<n>-id` for client ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Empty for no namespace.
    prefix: String,
}

/// A tag for one `mqtt-sim check` invocation: the process id and the time in base 36, so two
/// invocations (even by the same process id, days apart) do not share names.
pub fn run_tag() -> String {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mixed = millis.wrapping_mul(1_000_003) ^ u64::from(std::process::id()).rotate_left(40);
    // Six base-36 digits (~2 billion values): short, since some brokers limit client ids.
    base36(mixed % 36u64.pow(6))
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

impl Namespace {
    /// The namespace of the `n`th scenario of run `tag`.
    pub fn new(tag: &str, n: usize) -> Namespace {
        Namespace { prefix: format!("ms-{tag}-{n}") }
    }

    /// Names as the scenario writes them: the broker is the run's alone.
    pub fn none() -> Namespace {
        Namespace { prefix: String::new() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A client id in the namespace. The empty id stays empty: it asks the broker to assign one
    /// (MQTT 3.1.1 section 3.1.3.1), or to refuse it, and that is what a scenario with it checks.
    pub fn client_id(&self, id: &str) -> String {
        if id.is_empty() || self.prefix.is_empty() {
            id.to_owned()
        } else {
            format!("{}-{id}", self.prefix)
        }
    }

    /// A topic name or filter in the namespace: one more level in front. Matching is unchanged
    /// for topics that do not start with `$` (`#` becomes `prefix/#`, which matches exactly the
    /// namespaced topics `#` matched); `$` topics must not be namespaced (see `applicable`).
    /// A 5.0 shared filter `$share/{group}/{filter}` is namespaced inside, after its group.
    pub fn topic(&self, topic: &str) -> String {
        if self.prefix.is_empty() {
            return topic.to_owned();
        }
        if let Ok(Some(shared)) = crate::topic::shared(topic) {
            return format!("{}{}/{}/{}", crate::topic::SHARE_PREFIX, shared.group, self.prefix, shared.filter);
        }
        format!("{}/{topic}", self.prefix)
    }

    /// A received topic without the namespace; a topic from outside it stays as it is.
    pub fn strip_topic(&self, topic: &str) -> String {
        if self.prefix.is_empty() {
            return topic.to_owned();
        }
        topic.strip_prefix(&self.prefix).and_then(|t| t.strip_prefix('/')).unwrap_or(topic).to_owned()
    }

    /// A client id without the namespace; an id from outside it stays as it is.
    pub fn strip_client_id(&self, id: &str) -> String {
        if self.prefix.is_empty() {
            return id.to_owned();
        }
        id.strip_prefix(&self.prefix).and_then(|t| t.strip_prefix('-')).unwrap_or(id).to_owned()
    }

    /// Whether `topic` (as the run shows it, its own prefix stripped) is in another run's
    /// namespace: a message a broker leaked from another scenario run in parallel, or left from
    /// an earlier run. Such a message is the broker's unsubscribed delivery [MQTT-3.3.2-3], judged
    /// by the invariants, not a message of this scenario.
    pub fn is_other_run(&self, topic: &str) -> bool {
        let first = topic.split('/').next().unwrap_or("");
        let mut parts = first.splitn(3, '-');
        let shaped = parts.next() == Some("ms")
            && parts.next().is_some_and(|tag| !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric()))
            && parts.next().is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        shaped && first != self.prefix && topic.contains('/')
    }

    /// A name the run gave, topic or client id, without the namespace.
    pub fn strip_name(&self, name: &str) -> String {
        let stripped = self.strip_topic(name);
        if stripped != name {
            return stripped;
        }
        self.strip_client_id(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let ns = Namespace::new("abc", 7);
        assert_eq!(ns.client_id("reader"), "ms-abc-7-reader");
        assert_eq!(ns.client_id(""), "");
        assert_eq!(ns.topic("#"), "ms-abc-7/#");
        assert_eq!(ns.topic("/a"), "ms-abc-7//a");
        assert_eq!(ns.strip_topic("ms-abc-7//a"), "/a");
        assert_eq!(ns.strip_topic("other/a"), "other/a");
        assert_eq!(ns.strip_client_id("ms-abc-7-reader"), "reader");
        assert_eq!(ns.strip_client_id("ms-abc-70-reader"), "ms-abc-70-reader");
        assert_eq!(ns.strip_name("ms-abc-7/presence/x"), "presence/x");
        assert_eq!(ns.strip_name("ms-abc-7-reader"), "reader");
    }

    #[test]
    fn another_runs_topics_are_told_apart() {
        let ns = Namespace::new("abc", 7);
        assert!(ns.is_other_run("ms-abc-8/t"));
        assert!(ns.is_other_run("ms-xyz-7/a/b"));
        assert!(!ns.is_other_run("ms-abc-7/t"), "unstripped, but ours");
        assert!(!ns.is_other_run("t"));
        assert!(!ns.is_other_run("ms-abc/t"));
        assert!(!ns.is_other_run("ms-abc-7x/t"));
    }

    #[test]
    fn no_namespace_leaves_names_alone() {
        let ns = Namespace::none();
        assert_eq!(ns.client_id("reader"), "reader");
        assert_eq!(ns.topic("$SYS/#"), "$SYS/#");
        assert_eq!(ns.strip_name("/a"), "/a");
        assert_eq!(ns.strip_client_id("-reader"), "-reader");
    }

    #[test]
    fn run_tags_are_short() {
        let tag = run_tag();
        assert!(!tag.is_empty() && tag.len() <= 6, "{tag}");
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
    }
}
