//! Broker configuration, with mosquitto 2.0's option names and defaults, and a parser for the
//! subset of mosquitto.conf syntax we support. Parsing works on text; reading the file is the
//! caller's job, so this module stays free of IO.

use std::fmt;
use std::time::Duration;

/// Broker settings. Names and defaults follow mosquitto 2.0 (its `mosquitto.conf(5)`), so a
/// mosquitto user can read them without a glossary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Queued QoS 1/2 messages per session beyond the inflight window; 0 = no limit.
    /// mosquitto 2.0 default 1000 (1.x used 100). When full, new messages are dropped and counted.
    /// Also the slow-reader limit, as in mosquitto: while this many packets wait to be written to
    /// a connected client (as its driver reports through `Broker::handle_backlog`), QoS 0 messages
    /// for it are dropped (`slow_client`) and QoS 1/2 messages wait in its queue.
    pub max_queued_messages: usize,
    /// Payload bytes of queued messages per session; 0 = no limit.
    pub max_queued_bytes: usize,
    /// Queue QoS 0 messages for offline persistent sessions (not something the spec asks for).
    pub queue_qos0_messages: bool,
    /// Outgoing QoS 1/2 messages in flight per client at once, and, as in mosquitto, incoming
    /// QoS 2 messages awaiting PUBREL per client; 0 = no limit (65,535, the packet ids). A QoS 2
    /// PUBLISH beyond the incoming window is refused without PUBREC and its connection closed
    /// (mosquitto acknowledges it and discards it).
    pub max_inflight_messages: usize,
    /// Largest packet accepted from a client, in bytes including the fixed header; 0 = no limit.
    pub max_packet_size: usize,
    /// Largest keep alive a client may ask for, in seconds; 0 = no limit (mosquitto 2.0.16+).
    /// When set, a 3.1.1 client asking for more, or for 0, gets CONNACK 0x02 as in mosquitto.
    pub max_keepalive: u16,
    /// Accept a zero-length client id from a clean-session client and assign one [MQTT-3.1.3-6].
    pub allow_zero_length_clientid: bool,
    /// Where a client's subscriptions overlap, send a copy of a message for each matching
    /// subscription, at that subscription's QoS, instead of one copy at the highest QoS; both
    /// are what [MQTT-3.3.5-1] allows. mosquitto 2.0's option and default (false).
    pub allow_duplicate_messages: bool,
    /// When an incoming QoS 2 message is passed on: one of the two methods of the spec's
    /// Figure 4.3 [MQTT-4.3.3-2]. mqtt-sim's own option (mosquitto has none, and routes on
    /// PUBREL).
    pub qos2_delivery: Qos2Delivery,
    /// Prefix of assigned client ids.
    pub auto_id_prefix: String,
    /// Close a connection that has not sent CONNECT within this time. mosquitto has no option
    /// for this and applies its keep-alive check; we make it explicit. `None` = never.
    pub connect_timeout: Option<Duration>,
    /// Concurrent client connections; `None` = no limit (mosquitto's `max_connections -1`).
    pub max_connections: Option<usize>,
    /// The Topic Alias Maximum announced to 5.0 clients: aliases 1 to this may be used in
    /// their PUBLISHes [MQTT5-3.3.2-12]; 0 = none. mosquitto's option and default (10).
    pub max_topic_alias: u16,
    /// Largest payload accepted in a PUBLISH, in bytes; 0 = no limit. A larger one is
    /// answered (0x95 for a 5.0 client) and dropped, as mosquitto does.
    pub message_size_limit: usize,
    /// How long a session that would never expire (3.1.1 clean session 0, 5.0 Session Expiry
    /// Interval 0xFFFFFFFF) is kept after its connection closes; `None` = for ever. mosquitto's
    /// option, written as it is there (`1h`, `2d`, `1w`, `1m`, `1y`).
    pub persistent_client_expiration: Option<Duration>,
    /// Keep sessions and retained messages across restarts in a file (mosquitto's option and
    /// default, false). The broker's driver loads and saves it (`crate::persist`); the core
    /// only describes its state.
    pub persistence: bool,
    /// The file's directory; empty for the working directory. mosquitto's option.
    pub persistence_location: String,
    /// The file's name. mosquitto's option and default (`mosquitto.db`).
    pub persistence_file: String,
    /// Seconds between saves (or, with `autosave_on_changes`, changes); 0 saves only at a clean
    /// shutdown. mosquitto's option and default (1800).
    pub autosave_interval: u64,
    /// Count changes (subscription changes, retained messages received, messages queued for a
    /// session) instead of seconds. mosquitto's option and default (false).
    pub autosave_on_changes: bool,
    /// mqtt-sim's own option (mosquitto has none): durable mode. Each change to the lasting
    /// state is appended to a log (`persistence_file` + `.log`) and synced before the
    /// acknowledgements that depend on it (PUBACK, PUBREC, SUBACK, CONNACK...) are sent; the log
    /// is folded into the snapshot as it grows. Needs `persistence true`.
    pub persistence_sync: bool,
    /// mqtt-sim's own option: in durable mode, the log is folded into a new snapshot once it is
    /// this many bytes long (and longer than the snapshot), which bounds the work of a recovery.
    /// Default 4 MiB.
    pub persistence_log_limit: u64,
    /// mqtt-sim's own option: what to do with a persistence file that cannot be trusted (another
    /// program's, another version, cut short, corrupted): `refuse` to start (the default), or
    /// `start_empty`, setting the file aside as `<name>.damaged`.
    pub persistence_on_damage: OnDamage,
    /// The known bug to run with, to prove the checks catch it; `None` outside those tests.
    #[cfg(feature = "mutants")]
    pub mutant: Option<crate::mutants::Mutant>,
}

/// `persistence_on_damage`: what a broker does with a persistence file it cannot trust.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnDamage {
    /// Refuse to start, naming the file and the damage (the default: nothing is lost silently).
    #[default]
    Refuse,
    /// Set the file aside as `<name>.damaged` and start empty.
    StartEmpty,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_queued_messages: 1000,
            max_queued_bytes: 0,
            queue_qos0_messages: false,
            max_inflight_messages: 20,
            max_packet_size: 0,
            max_keepalive: 0,
            allow_zero_length_clientid: true,
            allow_duplicate_messages: false,
            qos2_delivery: Qos2Delivery::OnPubrel,
            auto_id_prefix: "auto-".to_owned(),
            connect_timeout: Some(Duration::from_secs(10)),
            max_connections: None,
            max_topic_alias: 10,
            message_size_limit: 0,
            persistent_client_expiration: None,
            persistence: false,
            persistence_location: String::new(),
            persistence_file: "mosquitto.db".to_owned(),
            autosave_interval: 1800,
            autosave_on_changes: false,
            persistence_sync: false,
            persistence_log_limit: 4 << 20,
            persistence_on_damage: OnDamage::Refuse,
            #[cfg(feature = "mutants")]
            mutant: None,
        }
    }
}

/// When a broker passes on an incoming QoS 2 message (the spec's Figure 4.3 shows both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Qos2Delivery {
    /// Method A: store the message, answer PUBREC, pass it on when PUBREL arrives (mosquitto).
    #[default]
    OnPubrel,
    /// Method B: store the packet id, pass the message on at once, answer PUBREC, forget the id
    /// when PUBREL arrives (aedes).
    OnPublish,
}

impl Qos2Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Qos2Delivery::OnPubrel => "on_pubrel",
            Qos2Delivery::OnPublish => "on_publish",
        }
    }
}

impl fmt::Display for Qos2Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Config {
    /// The packet size limit to hand to the codec.
    pub fn packet_size_limit(&self) -> usize {
        match self.max_packet_size {
            0 => crate::protocol::MAX_PACKET_SIZE,
            n => n,
        }
    }

    /// Parses mosquitto.conf text. `source` names the file in error messages.
    ///
    /// Syntax as mosquitto reads it: one `option value` per line, `#` in column 0 starts a
    /// comment, blank lines are ignored. Unlike mosquitto, numbers are checked (mosquitto's
    /// `atoi` reads `10k` as 10) and tabs separate tokens too. Any option we do not support is
    /// an error naming the file and line, so a config is never half applied.
    pub fn parse_conf(text: &str, source: &str) -> Result<Config, ConfigError> {
        ConfFile::parse(text, source).map(|file| file.config)
    }
}

/// A `listener PORT [ADDRESS]` line: where the broker's driver listens. mosquitto listens on
/// every address when none is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConf {
    pub port: u16,
    pub address: Option<String>,
}

/// A whole mosquitto.conf-style file: the broker's settings, and the listeners for its driver
/// (the core never listens; the binary does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFile {
    pub config: Config,
    pub listeners: Vec<ListenerConf>,
}

impl ConfFile {
    /// See [`Config::parse_conf`]; `listener` lines are collected, and `allow_anonymous true`
    /// (every mosquitto 2.0 config that listens beyond loopback has it) is accepted.
    pub fn parse(text: &str, source: &str) -> Result<ConfFile, ConfigError> {
        let mut config = Config::default();
        let mut listeners = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let err = |message: String| ConfigError { file: source.to_owned(), line, message };
            let trimmed = raw.trim();
            if trimmed.is_empty() || raw.starts_with('#') {
                continue;
            }
            let mut tokens = trimmed.split_whitespace();
            let option = tokens.next().expect("a non-empty line has a token");
            let value = tokens.next();
            let extra = tokens.next();
            let value = |what: &str| value.ok_or_else(|| err(format!("{option} needs a value ({what})")));
            match option {
                "listener" => {
                    let port = value("a port, and optionally an address")?;
                    let port = port
                        .parse::<u16>()
                        .map_err(|_| err(format!("listener expects a port from 0 to 65535, found {port:?}")))?;
                    listeners.push(ListenerConf { port, address: extra.map(str::to_owned) });
                }
                "sys_interval" => {
                    // We publish no $SYS tree: mosquitto's `sys_interval 0`.
                    if parse_count(value("seconds")?, option).map_err(err)? != 0 {
                        return Err(err(
                            "only sys_interval 0 is supported: this broker publishes no $SYS topics".into()
                        ));
                    }
                }
                "allow_anonymous" => {
                    if !parse_bool(value("true or false")?, option).map_err(err)? {
                        return Err(err("allow_anonymous false is not supported: this broker has no \
                                        authentication yet, so it would let every client in"
                            .into()));
                    }
                }
                "max_queued_messages" => {
                    config.max_queued_messages = parse_count(value("a count")?, option).map_err(err)?
                }
                "max_queued_bytes" => {
                    config.max_queued_bytes = parse_count(value("a byte count")?, option).map_err(err)?
                }
                "max_inflight_messages" => {
                    // mosquitto reads 65535 as "no limit" too.
                    let n = parse_count(value("a count")?, option).map_err(err)?;
                    if n > 65535 {
                        return Err(err(format!("max_inflight_messages must be <= 65535, found {n}")));
                    }
                    config.max_inflight_messages = if n == 65535 { 0 } else { n };
                }
                "max_packet_size" => {
                    let n = parse_count(value("a byte count")?, option).map_err(err)?;
                    if n != 0 && n < 20 {
                        return Err(err(format!("max_packet_size must be 0 or at least 20, found {n}")));
                    }
                    config.max_packet_size = n;
                }
                "max_keepalive" => {
                    let n = parse_count(value("seconds, 0 to 65535")?, option).map_err(err)?;
                    config.max_keepalive =
                        u16::try_from(n).map_err(|_| err(format!("max_keepalive must be 0 to 65535, found {n}")))?;
                }
                "queue_qos0_messages" => {
                    config.queue_qos0_messages = parse_bool(value("true or false")?, option).map_err(err)?
                }
                "allow_zero_length_clientid" => {
                    config.allow_zero_length_clientid = parse_bool(value("true or false")?, option).map_err(err)?
                }
                "allow_duplicate_messages" => {
                    config.allow_duplicate_messages = parse_bool(value("true or false")?, option).map_err(err)?
                }
                "qos2_delivery" => {
                    config.qos2_delivery = match value("on_pubrel or on_publish")? {
                        "on_pubrel" => Qos2Delivery::OnPubrel,
                        "on_publish" => Qos2Delivery::OnPublish,
                        other => {
                            return Err(err(format!("qos2_delivery expects on_pubrel or on_publish, found {other:?}")))
                        }
                    }
                }
                "auto_id_prefix" => config.auto_id_prefix = value("a string")?.to_owned(),
                "max_topic_alias" => {
                    let n = parse_count(value("a count, 0 to 65535")?, option).map_err(err)?;
                    config.max_topic_alias =
                        u16::try_from(n).map_err(|_| err(format!("max_topic_alias must be 0 to 65535, found {n}")))?;
                }
                "message_size_limit" => {
                    config.message_size_limit = parse_count(value("a byte count")?, option).map_err(err)?
                }
                "persistent_client_expiration" => {
                    let v = value("a duration such as 1h, 2d, 1w, 1m or 1y")?;
                    config.persistent_client_expiration = Some(parse_expiration(v).map_err(err)?);
                }
                "max_connections" => {
                    let v = value("a count, or -1 for no limit")?;
                    config.max_connections = if v == "-1" { None } else { Some(parse_count(v, option).map_err(err)?) };
                }
                "persistence" => config.persistence = parse_bool(value("true or false")?, option).map_err(err)?,
                "persistence_location" => config.persistence_location = value("a directory")?.to_owned(),
                "persistence_file" => config.persistence_file = value("a file name")?.to_owned(),
                "autosave_interval" => {
                    config.autosave_interval = parse_count(value("seconds, or changes")?, option).map_err(err)? as u64
                }
                "autosave_on_changes" => {
                    config.autosave_on_changes = parse_bool(value("true or false")?, option).map_err(err)?
                }
                "persistence_sync" => {
                    config.persistence_sync = parse_bool(value("true or false")?, option).map_err(err)?
                }
                "persistence_on_damage" => {
                    config.persistence_on_damage = match value("refuse or start_empty")? {
                        "refuse" => OnDamage::Refuse,
                        "start_empty" => OnDamage::StartEmpty,
                        other => {
                            return Err(err(format!(
                                "persistence_on_damage expects refuse or start_empty, found {other:?}"
                            )))
                        }
                    }
                }
                "persistence_log_limit" => {
                    config.persistence_log_limit = parse_count(value("a byte count")?, option).map_err(err)? as u64
                }
                other => {
                    return Err(err(format!(
                        "unknown option {other:?}; supported options are: {}",
                        SUPPORTED.join(", ")
                    )))
                }
            }
        }
        Ok(ConfFile { config, listeners })
    }
}

/// The mosquitto.conf options `parse_conf` understands.
pub const SUPPORTED: &[&str] = &[
    "allow_anonymous",
    "autosave_interval",
    "autosave_on_changes",
    "allow_duplicate_messages",
    "allow_zero_length_clientid",
    "auto_id_prefix",
    "max_connections",
    "max_inflight_messages",
    "max_keepalive",
    "max_packet_size",
    "max_queued_bytes",
    "listener",
    "max_queued_messages",
    "max_topic_alias",
    "message_size_limit",
    "persistence",
    "persistence_file",
    "persistence_location",
    "persistence_log_limit",
    "persistence_on_damage",
    "persistence_sync",
    "persistent_client_expiration",
    "qos2_delivery",
    "queue_qos0_messages",
    "sys_interval",
];

fn parse_count(value: &str, option: &str) -> Result<usize, String> {
    value.parse::<usize>().map_err(|_| format!("{option} expects a non-negative integer, found {value:?}"))
}

/// mosquitto's duration for `persistent_client_expiration`: a positive integer and a unit,
/// h(our), d(ay), w(eek), m(onth, 30 days) or y(ear, 365 days).
fn parse_expiration(value: &str) -> Result<Duration, String> {
    let bad =
        || format!("persistent_client_expiration expects an integer and h, d, w, m or y (such as 2d), found {value:?}");
    let unit = match value.chars().last().ok_or_else(bad)? {
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'm' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return Err(bad()),
    };
    let n: u64 = value[..value.len() - 1].parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    n.checked_mul(unit).map(Duration::from_secs).ok_or_else(bad)
}

fn parse_bool(value: &str, option: &str) -> Result<bool, String> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(format!("{option} expects true or false, found {other:?}")),
    }
}

/// A config file line we cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or other source) the text came from.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_mosquitto_2_0() {
        let c = Config::default();
        assert_eq!(c.max_queued_messages, 1000);
        assert_eq!(c.max_queued_bytes, 0);
        assert!(!c.queue_qos0_messages);
        assert_eq!(c.max_inflight_messages, 20);
        assert_eq!(c.max_keepalive, 0);
        assert!(c.allow_zero_length_clientid);
    }

    #[test]
    fn parses_supported_options_and_comments() {
        let text = "# mosquitto.conf\n\nmax_queued_messages 100\nqueue_qos0_messages true\nmax_inflight_messages 65535\nmax_packet_size 1024\nmax_connections -1\npersistence false\n";
        let c = Config::parse_conf(text, "m.conf").unwrap();
        assert_eq!(c.max_queued_messages, 100);
        assert!(c.queue_qos0_messages);
        assert_eq!(c.max_inflight_messages, 0);
        assert_eq!(c.max_packet_size, 1024);
        assert_eq!(c.max_connections, None);
    }

    #[test]
    fn parses_the_persistence_options_ours_included() {
        let text = "persistence true\npersistence_location /var/lib/m/\nautosave_interval 10\nautosave_on_changes true\npersistence_sync true\npersistence_log_limit 65536\npersistence_on_damage start_empty\n";
        let c = Config::parse_conf(text, "m.conf").unwrap();
        assert!(c.persistence && c.autosave_on_changes && c.persistence_sync);
        assert_eq!((c.persistence_location.as_str(), c.autosave_interval), ("/var/lib/m/", 10));
        assert_eq!((c.persistence_log_limit, c.persistence_on_damage), (65536, OnDamage::StartEmpty));
        let e = Config::parse_conf("persistence_on_damage delete\n", "m.conf").unwrap_err();
        assert!(e.to_string().contains("expects refuse or start_empty, found \"delete\""), "{e}");
    }

    #[test]
    fn unknown_option_names_file_and_line() {
        let e = Config::parse_conf("max_queued_messages 5\npassword_file /etc/p\n", "m.conf").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("m.conf", 2));
        assert!(e.to_string().starts_with("m.conf:2: unknown option \"password_file\""), "{e}");
    }

    #[test]
    fn listeners_and_allow_anonymous_as_every_mosquitto_2_0_config_has_them() {
        let text = "listener 1883 127.0.0.1\nlistener 8883\nallow_anonymous true\nmax_queued_messages 7\n";
        let file = ConfFile::parse(text, "m.conf").unwrap();
        assert_eq!(
            file.listeners,
            [
                ListenerConf { port: 1883, address: Some("127.0.0.1".into()) },
                ListenerConf { port: 8883, address: None }
            ]
        );
        assert_eq!(file.config.max_queued_messages, 7);
        let e = ConfFile::parse("\nallow_anonymous false\n", "m.conf").unwrap_err();
        assert!(e.to_string().starts_with("m.conf:2: allow_anonymous false is not supported"), "{e}");
        assert!(ConfFile::parse("sys_interval 0\n", "m.conf").is_ok());
        let e = ConfFile::parse("sys_interval 10\n", "m.conf").unwrap_err();
        assert!(e.message.starts_with("only sys_interval 0"), "{e}");
        let e = ConfFile::parse("listener http\n", "m.conf").unwrap_err();
        assert_eq!(e.to_string(), "m.conf:1: listener expects a port from 0 to 65535, found \"http\"");
    }

    #[test]
    fn bad_values_are_refused() {
        let e = Config::parse_conf("max_queued_messages 10k\n", "c").unwrap_err();
        assert_eq!(e.to_string(), "c:1: max_queued_messages expects a non-negative integer, found \"10k\"");
        let e = Config::parse_conf("\n\nqueue_qos0_messages yes\n", "c").unwrap_err();
        assert_eq!(e.to_string(), "c:3: queue_qos0_messages expects true or false, found \"yes\"");
        let e = Config::parse_conf("max_keepalive\n", "c").unwrap_err();
        assert_eq!(e.to_string(), "c:1: max_keepalive needs a value (seconds, 0 to 65535)");
        let e = Config::parse_conf("max_packet_size 10\n", "c").unwrap_err();
        assert_eq!(e.line, 1);
        let e = Config::parse_conf(" # indented comment\n", "c").unwrap_err();
        assert!(e.message.starts_with("unknown option \"#\""), "{e}");
    }
}
