//! The command line's arguments: one clap struct per subcommand, with mosquitto's flag and
//! option names where a mosquitto tool has them, and the small parsers they use.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args};
use mqtt_sim::broker::{ConfFile, Config};
use mqtt_sim::commands::{ConnectOptions, Tool, VersionOptions};
use mqtt_sim::protocol::QoS;

/// The load and abuse run; defaults are the numbers `tests/tcp_abuse.rs` uses.
#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// The broker to load.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) broker: String,
    /// Connections open at once, well-behaved and hostile.
    #[arg(long, default_value_t = 1000)]
    pub(crate) connections: usize,
    /// Well-behaved publisher/subscriber pairs among them.
    #[arg(long, default_value_t = 20)]
    pub(crate) pairs: usize,
    /// Messages each well-behaved publisher sends, alternating QoS 1 and 2.
    #[arg(long, default_value_t = 100)]
    pub(crate) messages: u32,
    /// How long to wait for the broker to close a hostile connection (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_span, default_value = "30s")]
    pub(crate) patience: std::time::Duration,
    /// Kinds of abuse, comma-separated (default all): garbage, oversized-length, second-connect,
    /// wildcard-publish, no-connect-first, silent, silent-after-connect.
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_parser = parse_abuse)]
    pub(crate) abuse: Vec<mqtt_sim::loadtest::Abuse>,
}

pub(crate) fn parse_abuse(s: &str) -> Result<mqtt_sim::loadtest::Abuse, String> {
    mqtt_sim::loadtest::Abuse::by_name(s).ok_or_else(|| {
        let names: Vec<&str> = mqtt_sim::loadtest::Abuse::ALL.iter().map(|a| a.name()).collect();
        format!("{s:?} is not a kind of abuse; the kinds are {}", names.join(", "))
    })
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The broker to check, run by someone else.
    #[arg(long, value_name = "HOST:PORT", required_unless_present = "launch", conflicts_with = "launch")]
    pub(crate) broker: Option<String>,
    /// Start a fresh broker for each scenario with this command; `{port}` and `{config}` are
    /// replaced by a free port and the config written for the scenario (a mosquitto.conf unless
    /// --config-template). Makes broker crashes and every broker setting checkable.
    #[arg(long, value_name = "CMD")]
    pub(crate) launch: Option<String>,
    /// With --launch: the broker's config file, with `{port}` and placeholders for the settings
    /// (`{max_queued_messages}`...), for a broker that does not read mosquitto.conf.
    #[arg(long, value_name = "FILE", requires = "launch")]
    pub(crate) config_template: Option<PathBuf>,
    /// Scenario files or folders.
    #[arg(default_value = "scenarios")]
    pub(crate) paths: Vec<PathBuf>,
    /// Write an HTML report with sequence charts to this folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
    /// User name every client presents (unless its scenario gives one).
    #[arg(long)]
    pub(crate) username: Option<String>,
    /// Password every client presents.
    #[arg(long, requires = "username")]
    pub(crate) password: Option<String>,
    /// The broker's name in the scenarios' `known_deviations` (e.g. mosquitto).
    #[arg(long, value_name = "NAME")]
    pub(crate) broker_name: Option<String>,
    /// The broker's mosquitto.conf-style settings (default: mosquitto 2.0's defaults); only the
    /// options a scenario's `broker:` section can set are read.
    #[arg(long, value_name = "FILE")]
    pub(crate) broker_config: Option<PathBuf>,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) parallel: usize,
    /// Skip scenarios whose waits add up to more than this (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_span)]
    pub(crate) max_wait: Option<std::time::Duration>,
}

pub(crate) fn parse_span(s: &str) -> Result<std::time::Duration, String> {
    mqtt_sim::scenario::values::parse_duration(s).ok_or_else(|| format!("{s:?} is not a duration like 30s or 2m"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Scenario files or folders.
    #[arg(default_value = "scenarios")]
    pub(crate) paths: Vec<PathBuf>,
    /// Extra seeds per scenario, besides its recorded one.
    #[arg(long, default_value_t = 3)]
    pub(crate) seeds: u64,
    /// Run every scenario at exactly this seed instead.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
    /// Write an HTML report with sequence charts to this folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) report: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    /// The project folder (with scenarios/, src/, tests/).
    #[arg(long, default_value = ".")]
    pub(crate) project: PathBuf,
    /// Where to write the MQTT 3.1.1 table.
    #[arg(long, default_value = "docs/conformance.md")]
    pub(crate) output: PathBuf,
    /// Where to write the MQTT 5.0 table.
    #[arg(long, default_value = "docs/conformance-5.0.md")]
    pub(crate) output_v5: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ExploreArgs {
    /// How many generated cases.
    #[arg(long, default_value_t = 200)]
    pub(crate) cases: u64,
    /// The exploration seed (cases and their simulation seeds derive from it).
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Which MQTT versions the generated clients speak: 3.1.1 (the generator explore always had,
    /// so a seed gives the cases it gave), 5, or mixed (each client either).
    #[arg(long, value_name = "3.1.1|5|mixed", default_value = "3.1.1")]
    pub(crate) protocol: mqtt_sim::explore::ProtocolMix,
    /// How the broker keeps its state across the crashes each case gets: off (in memory, the
    /// cases explore always generated), autosave (mosquitto's persistence, saving every few
    /// changes or seconds), durable (mqtt-sim's persistence_sync) or mixed; on simulated disks
    /// that sometimes flush or tear unsynced writes.
    #[arg(long, value_name = "off|autosave|durable|mixed", default_value = "off")]
    pub(crate) persistence: mqtt_sim::explore::PersistenceMix,
    /// Run shard I of N (cases whose index is I modulo N), e.g. 0/2.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, default_value = "0/1")]
    pub(crate) shard: (u64, u64),
    /// Stop after this many seconds of wall time.
    #[arg(long, value_name = "SECS")]
    pub(crate) time_limit: Option<u64>,
    /// Where shrunk failures are written as scenario files.
    #[arg(long, value_name = "DIR", default_value = "scenarios/regressions")]
    pub(crate) regressions: PathBuf,
    /// Activate a known bug (built with --features mutants): drop-offline-qos1,
    /// forget-pubrel-state, resend-out-of-order, clean-session-resumes, overlap-lower-qos,
    /// resend-without-dup, retained-without-retain-flag, resend-publish-after-pubrec,
    /// ignore-receive-maximum, deliver-expired, shared-to-all.
    #[cfg(feature = "mutants")]
    #[arg(long, value_name = "NAME")]
    pub(crate) mutant: Option<String>,
}

pub(crate) fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/2")?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| "I is a number")?, n.parse().map_err(|_| "N is a number")?);
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The scenario file.
    pub(crate) file: PathBuf,
    /// The seed to replay (default: the scenario's recorded seed).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Print the trace as text.
    #[arg(long)]
    pub(crate) trace: bool,
    /// Print the trace as JSON lines.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write a sequence chart of the run as SVG.
    #[arg(long, value_name = "FILE")]
    pub(crate) chart: Option<PathBuf>,
}

/// Connection flags shared by `pub` and `sub`, spelled as mosquitto_pub/mosquitto_sub spell them.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// Broker host.
    #[arg(short = 'h', long = "host", default_value = "localhost")]
    pub(crate) host: String,
    /// Broker port.
    #[arg(short = 'p', long = "port", default_value_t = 1883)]
    pub(crate) port: u16,
    /// Client id (default: mqtt-sim- and the process id).
    #[arg(short = 'i', long = "id")]
    pub(crate) id: Option<String>,
    /// Disable clean session: keep a persistent session on the broker (needs -i).
    #[arg(short = 'c', long = "disable-clean-session")]
    pub(crate) persistent: bool,
    /// Keep alive in seconds.
    #[arg(short = 'k', long = "keepalive", default_value_t = 60)]
    pub(crate) keep_alive: u16,
    /// User name.
    #[arg(short = 'u', long = "username")]
    pub(crate) username: Option<String>,
    /// Password.
    #[arg(short = 'P', long = "pw", requires = "username")]
    pub(crate) password: Option<String>,
    /// Quality of service: 0, 1 or 2.
    #[arg(short = 'q', long = "qos", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub(crate) qos: u8,
    /// MQTT version: 5 (or mqttv5) or 311 (or mqttv311). Default 311, or 5 when -D is given.
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION")]
    pub(crate) protocol_version: Option<String>,
    /// MQTT 5.0 Session Expiry Interval in seconds; -1 or ∞ for never. Default: never with -c,
    /// else 0.
    #[arg(short = 'x', value_name = "SECONDS", allow_negative_numbers = true)]
    pub(crate) session_expiry: Option<String>,
    /// An MQTT 5.0 property for one packet, named as mosquitto_pub/sub name it:
    /// -D COMMAND PROPERTY VALUE, or -D COMMAND user-property NAME VALUE. COMMAND is connect,
    /// disconnect, and publish (pub) or subscribe (sub). Repeat for several.
    #[arg(
        short = 'D',
        long = "property",
        value_names = ["COMMAND", "PROPERTY", "VALUE"],
        num_args = 3..=4,
        action = ArgAction::Append
    )]
    pub(crate) properties: Vec<String>,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub(crate) help: Option<bool>,
}

impl ConnectArgs {
    /// The options these flags make; `properties` holds each `-D`'s words (`property_groups`).
    pub(crate) fn options(&self, tool: Tool, properties: &[Vec<String>]) -> Result<ConnectOptions, String> {
        if self.persistent && self.id.is_none() {
            return Err("-c needs a client id (-i): a persistent session is found by its client id".into());
        }
        let v5 =
            VersionOptions::parse(tool, self.protocol_version.as_deref(), self.session_expiry.as_deref(), properties)?;
        if v5.session_expiry == Some(u32::MAX) && self.id.is_none() {
            // As mosquitto: a session that never expires is found again only by its client id.
            return Err("a session that never expires (-x -1) needs a client id (-i)".into());
        }
        let name = match tool {
            Tool::Pub => "pub",
            Tool::Sub => "sub",
        };
        Ok(ConnectOptions {
            host: self.host.clone(),
            port: self.port,
            client_id: self.id.clone().unwrap_or_else(|| format!("mqtt-sim-{name}-{}", std::process::id())),
            persistent: self.persistent,
            keep_alive: self.keep_alive,
            username: self.username.clone(),
            password: self.password.clone(),
            version: v5.version,
            session_expiry: v5.session_expiry,
            properties: v5.properties,
        })
    }

    pub(crate) fn qos(&self) -> QoS {
        QoS::from_u8(self.qos).expect("clap checked the range")
    }
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
#[command(group(clap::ArgGroup::new("payload").required(true).args(["message", "lines", "null"])))]
pub(crate) struct PubArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// Topic to publish to.
    #[arg(short = 't', long = "topic")]
    pub(crate) topic: String,
    /// The message.
    #[arg(short = 'm', long = "message")]
    pub(crate) message: Option<String>,
    /// Publish each line of standard input as a message.
    #[arg(short = 'l', long = "stdin-line")]
    pub(crate) lines: bool,
    /// Publish a zero-length message.
    #[arg(short = 'n', long = "null-message")]
    pub(crate) null: bool,
    /// Retain the message.
    #[arg(short = 'r', long = "retain")]
    pub(crate) retain: bool,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub(crate) struct SubArgs {
    #[command(flatten)]
    pub(crate) connect: ConnectArgs,
    /// Topic filter to subscribe to; repeat for several.
    #[arg(short = 't', long = "topic", required = true)]
    pub(crate) topics: Vec<String>,
    /// Exit after this many messages.
    #[arg(short = 'C', value_name = "COUNT")]
    pub(crate) count: Option<usize>,
    /// Exit with code 4 if -C messages did not arrive within this many seconds.
    #[arg(short = 'W', value_name = "SECONDS")]
    pub(crate) timeout: Option<u64>,
    /// Print "topic payload".
    #[arg(short = 'v', long = "verbose")]
    pub(crate) verbose: bool,
    /// Do not print messages with RETAIN set.
    #[arg(short = 'R')]
    pub(crate) no_retained: bool,
    /// Exit once the subscription is acknowledged.
    #[arg(short = 'E')]
    pub(crate) exit_after_subscribe: bool,
}

/// Options named after mosquitto.conf's; flags override the config file.
#[derive(Debug, Args)]
pub(crate) struct BrokerArgs {
    /// Address to listen on, instead of the config file's `listener` lines. Without either,
    /// 127.0.0.1:1883: loopback only, as mosquitto 2.0 without a listener.
    #[arg(long)]
    pub(crate) listen: Option<SocketAddr>,
    /// Read options from a mosquitto.conf-style file (supported options only).
    #[arg(short = 'c', long = "config-file", value_name = "FILE")]
    pub(crate) config_file: Option<PathBuf>,
    /// Queued QoS 1/2 messages per session; 0 = no limit (default 1000).
    #[arg(long, value_name = "N")]
    pub(crate) max_queued_messages: Option<usize>,
    /// Queued payload bytes per session; 0 = no limit (default 0).
    #[arg(long, value_name = "N")]
    pub(crate) max_queued_bytes: Option<usize>,
    /// Queue QoS 0 messages for offline persistent sessions too.
    #[arg(long)]
    queue_qos0_messages: bool,
    /// Outgoing QoS 1/2 messages in flight, and incoming QoS 2 messages awaiting PUBREL, per
    /// client; 0 = no limit (default 20).
    #[arg(long, value_name = "N")]
    pub(crate) max_inflight_messages: Option<usize>,
    /// Largest packet accepted, in bytes; 0 = no limit (default 0).
    #[arg(long, value_name = "N")]
    pub(crate) max_packet_size: Option<usize>,
    /// Largest keep alive a client may ask for, in seconds; 0 = no limit (default 0).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) max_keepalive: Option<u16>,
    /// Concurrent client connections; -1 = no limit (default -1).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(crate) max_connections: Option<i64>,
    /// Close a connection that sends no CONNECT within this many seconds; 0 = never (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) connect_timeout: Option<u64>,
}

impl BrokerArgs {
    /// The settings, and the addresses to listen on (`host:port`).
    pub(crate) fn config(&self) -> Result<(Config, Vec<String>), String> {
        let (mut config, listeners) = match &self.config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let file = ConfFile::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
                (file.config, file.listeners)
            }
            None => (Config::default(), vec![]),
        };
        let addresses = match self.listen {
            Some(addr) => vec![addr.to_string()],
            None if listeners.is_empty() => vec!["127.0.0.1:1883".to_owned()],
            // mosquitto listens on every address when a listener names none.
            None => {
                listeners.iter().map(|l| format!("{}:{}", l.address.as_deref().unwrap_or("0.0.0.0"), l.port)).collect()
            }
        };
        if let Some(n) = self.max_queued_messages {
            config.max_queued_messages = n;
        }
        if let Some(n) = self.max_queued_bytes {
            config.max_queued_bytes = n;
        }
        if self.queue_qos0_messages {
            config.queue_qos0_messages = true;
        }
        if let Some(n) = self.max_inflight_messages {
            config.max_inflight_messages = n;
        }
        if let Some(n) = self.max_packet_size {
            config.max_packet_size = n;
        }
        if let Some(n) = self.max_keepalive {
            config.max_keepalive = n;
        }
        match self.max_connections {
            Some(-1) => config.max_connections = None,
            Some(n) if n >= 0 => config.max_connections = Some(n as usize),
            Some(n) => return Err(format!("--max-connections must be -1 or more, found {n}")),
            None => {}
        }
        if let Some(secs) = self.connect_timeout {
            config.connect_timeout = (secs > 0).then(|| std::time::Duration::from_secs(secs));
        }
        Ok((config, addresses))
    }
}

/// The words of each `-D`, one group per occurrence. The derived `ConnectArgs::properties` has
/// them all in one list (grouping by occurrence in a derive needs clap's unstable-v5), so they are
/// read from the subcommand's matches.
pub(crate) fn property_groups(matches: &clap::ArgMatches) -> Vec<Vec<String>> {
    let Some((_, sub)) = matches.subcommand() else {
        return Vec::new();
    };
    match sub.try_get_occurrences::<String>("properties") {
        Ok(Some(groups)) => groups.map(|g| g.cloned().collect()).collect(),
        _ => Vec::new(),
    }
}
