//! The `mqtt-sim` command: argument parsing only. Each subcommand calls a library function.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Args, Parser, Subcommand};
use mqtt_sim::broker::Config;
use mqtt_sim::commands::{self, CommandError, ConnectOptions, Payload, PubOptions, SubOptions};
use mqtt_sim::protocol::QoS;

/// An MQTT 3.1.1 broker, client and deterministic simulation harness.
#[derive(Debug, Parser)]
#[command(name = "mqtt-sim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the MQTT 3.1.1 broker on TCP.
    Broker(BrokerArgs),
    /// Run the scenario suite in simulation (the main job).
    Run(RunArgs),
    /// Re-run one scenario at one seed, exactly, and show what happened.
    Replay(ReplayArgs),
    /// Generate scenarios, run them, check the delivery invariants, shrink failures to YAML.
    Explore(ExploreArgs),
    /// Write docs/conformance.md: which normative statements the scenarios and tests check.
    Conformance(ConformanceArgs),
    /// Publish a message, like mosquitto_pub.
    Pub(PubArgs),
    /// Subscribe and print messages, like mosquitto_sub.
    Sub(SubArgs),
    /// Run the scenarios against a real broker over TCP and report where it differs from the spec.
    Check(CheckArgs),
    /// Throw many hostile connections and a few well-behaved sessions at a broker over TCP.
    Load(LoadArgs),
}

/// The load and abuse run; defaults are the numbers `tests/tcp_abuse.rs` uses.
#[derive(Debug, Args)]
struct LoadArgs {
    /// The broker to load.
    #[arg(long, value_name = "HOST:PORT")]
    broker: String,
    /// Connections open at once, well-behaved and hostile.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Well-behaved publisher/subscriber pairs among them.
    #[arg(long, default_value_t = 20)]
    pairs: usize,
    /// Messages each well-behaved publisher sends, alternating QoS 1 and 2.
    #[arg(long, default_value_t = 100)]
    messages: u32,
    /// How long to wait for the broker to close a hostile connection (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_span, default_value = "30s")]
    patience: std::time::Duration,
    /// Kinds of abuse, comma-separated (default all): garbage, oversized-length, second-connect,
    /// wildcard-publish, no-connect-first, silent, silent-after-connect.
    #[arg(long, value_name = "KINDS", value_delimiter = ',', value_parser = parse_abuse)]
    abuse: Vec<mqtt_sim::load::Abuse>,
}

fn parse_abuse(s: &str) -> Result<mqtt_sim::load::Abuse, String> {
    mqtt_sim::load::Abuse::by_name(s).ok_or_else(|| {
        let names: Vec<&str> = mqtt_sim::load::Abuse::ALL.iter().map(|a| a.name()).collect();
        format!("{s:?} is not a kind of abuse; the kinds are {}", names.join(", "))
    })
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The broker to check.
    #[arg(long, value_name = "HOST:PORT")]
    broker: String,
    /// Scenario files or folders.
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Write an HTML report with sequence charts to this folder.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// User name every client presents (unless its scenario gives one).
    #[arg(long)]
    username: Option<String>,
    /// Password every client presents.
    #[arg(long, requires = "username")]
    password: Option<String>,
    /// The broker's name in the scenarios' `known_deviations` (e.g. mosquitto).
    #[arg(long, value_name = "NAME")]
    broker_name: Option<String>,
    /// The broker's mosquitto.conf-style settings (default: mosquitto 2.0's defaults); only the
    /// options a scenario's `broker:` section can set are read.
    #[arg(long, value_name = "FILE")]
    broker_config: Option<PathBuf>,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
    /// Skip scenarios whose waits add up to more than this (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = parse_span)]
    max_wait: Option<std::time::Duration>,
}

fn parse_span(s: &str) -> Result<std::time::Duration, String> {
    mqtt_sim::scenario::values::parse_duration(s).ok_or_else(|| format!("{s:?} is not a duration like 30s or 2m"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenario files or folders.
    #[arg(default_value = "scenarios")]
    paths: Vec<PathBuf>,
    /// Extra seeds per scenario, besides its recorded one.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Run every scenario at exactly this seed instead.
    #[arg(long)]
    seed: Option<u64>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write an HTML report with sequence charts to this folder.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ConformanceArgs {
    /// The project folder (with scenarios/, src/, tests/).
    #[arg(long, default_value = ".")]
    project: PathBuf,
    /// Where to write the table.
    #[arg(long, default_value = "docs/conformance.md")]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct ExploreArgs {
    /// How many generated cases.
    #[arg(long, default_value_t = 200)]
    cases: u64,
    /// The exploration seed (cases and their simulation seeds derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Run shard I of N (cases whose index is I modulo N), e.g. 0/2.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, default_value = "0/1")]
    shard: (u64, u64),
    /// Stop after this many seconds of wall time.
    #[arg(long, value_name = "SECS")]
    time_limit: Option<u64>,
    /// Where shrunk failures are written as scenario files.
    #[arg(long, value_name = "DIR", default_value = "scenarios/regressions")]
    regressions: PathBuf,
    /// Activate a known bug (built with --features mutants): drop-offline-qos1,
    /// forget-pubrel-state, resend-out-of-order, clean-session-resumes, overlap-lower-qos,
    /// resend-without-dup, retained-without-retain-flag.
    #[cfg(feature = "mutants")]
    #[arg(long, value_name = "NAME")]
    mutant: Option<String>,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/2")?;
    let (i, n): (u64, u64) = (i.parse().map_err(|_| "I is a number")?, n.parse().map_err(|_| "N is a number")?);
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The scenario file.
    file: PathBuf,
    /// The seed to replay (default: the scenario's recorded seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Print the trace as text.
    #[arg(long)]
    trace: bool,
    /// Print the trace as JSON lines.
    #[arg(long)]
    json: bool,
    /// Write a sequence chart of the run as SVG.
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
}

/// Connection flags shared by `pub` and `sub`, spelled as mosquitto_pub/mosquitto_sub spell them.
#[derive(Debug, Args)]
struct ConnectArgs {
    /// Broker host.
    #[arg(short = 'h', long = "host", default_value = "localhost")]
    host: String,
    /// Broker port.
    #[arg(short = 'p', long = "port", default_value_t = 1883)]
    port: u16,
    /// Client id (default: mqtt-sim- and the process id).
    #[arg(short = 'i', long = "id")]
    id: Option<String>,
    /// Disable clean session: keep a persistent session on the broker (needs -i).
    #[arg(short = 'c', long = "disable-clean-session")]
    persistent: bool,
    /// Keep alive in seconds.
    #[arg(short = 'k', long = "keepalive", default_value_t = 60)]
    keep_alive: u16,
    /// User name.
    #[arg(short = 'u', long = "username")]
    username: Option<String>,
    /// Password.
    #[arg(short = 'P', long = "pw", requires = "username")]
    password: Option<String>,
    /// Quality of service: 0, 1 or 2.
    #[arg(short = 'q', long = "qos", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    qos: u8,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

impl ConnectArgs {
    fn options(&self, tool: &str) -> Result<ConnectOptions, String> {
        if self.persistent && self.id.is_none() {
            return Err("-c needs a client id (-i): a persistent session is found by its client id".into());
        }
        Ok(ConnectOptions {
            host: self.host.clone(),
            port: self.port,
            client_id: self.id.clone().unwrap_or_else(|| format!("mqtt-sim-{tool}-{}", std::process::id())),
            persistent: self.persistent,
            keep_alive: self.keep_alive,
            username: self.username.clone(),
            password: self.password.clone(),
        })
    }

    fn qos(&self) -> QoS {
        QoS::from_u8(self.qos).expect("clap checked the range")
    }
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
#[command(group(clap::ArgGroup::new("payload").required(true).args(["message", "lines", "null"])))]
struct PubArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Topic to publish to.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// The message.
    #[arg(short = 'm', long = "message")]
    message: Option<String>,
    /// Publish each line of standard input as a message.
    #[arg(short = 'l', long = "stdin-line")]
    lines: bool,
    /// Publish a zero-length message.
    #[arg(short = 'n', long = "null-message")]
    null: bool,
    /// Retain the message.
    #[arg(short = 'r', long = "retain")]
    retain: bool,
}

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
struct SubArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Topic filter to subscribe to; repeat for several.
    #[arg(short = 't', long = "topic", required = true)]
    topics: Vec<String>,
    /// Exit after this many messages.
    #[arg(short = 'C', value_name = "COUNT")]
    count: Option<usize>,
    /// Exit with code 4 if -C messages did not arrive within this many seconds.
    #[arg(short = 'W', value_name = "SECONDS")]
    timeout: Option<u64>,
    /// Print "topic payload".
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// Do not print messages with RETAIN set.
    #[arg(short = 'R')]
    no_retained: bool,
    /// Exit once the subscription is acknowledged.
    #[arg(short = 'E')]
    exit_after_subscribe: bool,
}

/// Options named after mosquitto.conf's; flags override the config file.
#[derive(Debug, Args)]
struct BrokerArgs {
    /// Address to listen on. Loopback only by default, as mosquitto 2.0 without a listener.
    #[arg(long, default_value = "127.0.0.1:1883")]
    listen: SocketAddr,
    /// Read options from a mosquitto.conf-style file (supported options only).
    #[arg(short = 'c', long = "config-file", value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Queued QoS 1/2 messages per session; 0 = no limit (default 1000).
    #[arg(long, value_name = "N")]
    max_queued_messages: Option<usize>,
    /// Queued payload bytes per session; 0 = no limit (default 0).
    #[arg(long, value_name = "N")]
    max_queued_bytes: Option<usize>,
    /// Queue QoS 0 messages for offline persistent sessions too.
    #[arg(long)]
    queue_qos0_messages: bool,
    /// Outgoing QoS 1/2 messages in flight per client; 0 = no limit (default 20).
    #[arg(long, value_name = "N")]
    max_inflight_messages: Option<usize>,
    /// Largest packet accepted, in bytes; 0 = no limit (default 0).
    #[arg(long, value_name = "N")]
    max_packet_size: Option<usize>,
    /// Largest keep alive a client may ask for, in seconds; 0 = no limit (default 0).
    #[arg(long, value_name = "SECONDS")]
    max_keepalive: Option<u16>,
    /// Concurrent client connections; -1 = no limit (default -1).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    max_connections: Option<i64>,
    /// Close a connection that sends no CONNECT within this many seconds; 0 = never (default 10).
    #[arg(long, value_name = "SECONDS")]
    connect_timeout: Option<u64>,
}

impl BrokerArgs {
    fn config(&self) -> Result<Config, String> {
        let mut config = match &self.config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                Config::parse_conf(&text, &path.display().to_string()).map_err(|e| e.to_string())?
            }
            None => Config::default(),
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
        Ok(config)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The broker logs connections at info; the other commands speak only about problems.
    let default_level = if matches!(cli.command, Command::Broker(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Broker(args) => broker(args),
        Command::Run(args) => run(args),
        Command::Replay(args) => replay(args),
        Command::Explore(args) => explore(args),
        Command::Conformance(args) => {
            let table = mqtt_sim::conformance::markdown(&mqtt_sim::conformance::build(&args.project));
            match std::fs::write(&args.output, &table) {
                Ok(()) => {
                    let summary: Vec<&str> = table.lines().filter(|l| l.starts_with("- ")).collect();
                    println!("wrote {}\n{}", args.output.display(), summary.join("\n"));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mqtt-sim conformance: {}: {e}", args.output.display());
                    ExitCode::from(2)
                }
            }
        }
        Command::Check(args) => check(args),
        Command::Load(args) => load(args),
        Command::Pub(args) => client_command("pub", &args.connect, |connect| {
            let payload = match (&args.message, args.lines) {
                (Some(m), _) => Payload::Message(m.clone()),
                (None, true) => Payload::Lines,
                (None, false) => Payload::Null,
            };
            let opts = PubOptions {
                connect,
                topic: args.topic.clone(),
                payload,
                qos: args.connect.qos(),
                retain: args.retain,
            };
            async move { commands::publish(&opts, std::io::stdin().lock()).await }
        }),
        Command::Sub(args) => client_command("sub", &args.connect, |connect| {
            let opts = SubOptions {
                connect,
                topics: args.topics.clone(),
                qos: args.connect.qos(),
                count: args.count,
                timeout: args.timeout,
                verbose: args.verbose,
                no_retained: args.no_retained,
                exit_after_subscribe: args.exit_after_subscribe,
            };
            async move { commands::subscribe(&opts, &mut std::io::stdout()).await }
        }),
    }
}

/// Runs `pub` or `sub` on a single-threaded runtime and maps the result to an exit code.
fn client_command<F, Fut>(tool: &str, args: &ConnectArgs, make: F) -> ExitCode
where
    F: FnOnce(ConnectOptions) -> Fut,
    Fut: std::future::Future<Output = Result<(), CommandError>>,
{
    let connect = match args.options(tool) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqtt-sim {tool}: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
    match runtime.block_on(make(connect)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqtt-sim {tool}: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn broker(args: BrokerArgs) -> ExitCode {
    let config = match args.config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mqtt-sim broker: {e}");
            return ExitCode::from(2);
        }
    };
    raise_open_files_limit("broker");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("mqtt-sim broker: cannot listen on {}: {e}", args.listen);
                return ExitCode::from(1);
            }
        };
        tracing::info!("listening on {}", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        };
        mqtt_sim::net::run_broker(listener, config, shutdown).await;
        ExitCode::SUCCESS
    })
}

fn run(args: RunArgs) -> ExitCode {
    use mqtt_sim::scenario::{self, suite};
    let mut files = Vec::new();
    let mut root = None;
    for path in &args.paths {
        match scenario::discover(path) {
            Ok(found) => files.extend(found),
            Err(e) => {
                eprintln!("mqtt-sim run: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
        root.get_or_insert_with(|| suite::scenarios_root(path));
    }
    let root = root.unwrap_or_else(|| PathBuf::from("scenarios"));
    let files: Vec<PathBuf> = files.iter().map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())).collect();
    let project = root.parent().map(PathBuf::from).unwrap_or_default();
    let snapshots = project.join("snapshots");
    let seeds = match args.seed {
        Some(s) => suite::Seeds::Only(s),
        None => suite::Seeds::Recorded { extra: args.seeds },
    };
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("a valid progress template"),
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let reports = suite::check_files(&root, &files, &snapshots, seeds, threads, &|r: &suite::FileReport| {
        bar.set_message(r.name.clone());
        bar.inc(1);
    });
    bar.finish_and_clear();
    match args.format {
        Format::Text => {
            print!("{}", mqtt_sim::report::summary_table(&reports));
            for r in reports.iter().filter(|r| !r.passed()) {
                println!("\n{}", r.failure_text().unwrap_or_default());
            }
        }
        Format::Json => println!("{}", mqtt_sim::report::json(&reports)),
    }
    if let Some(dir) = &args.report {
        if let Err(e) = mqtt_sim::report::html::write(dir, &project, &reports) {
            eprintln!("mqtt-sim run: writing the report to {}: {e}", dir.display());
            return ExitCode::from(2);
        }
        eprintln!("report: {}", dir.join("index.html").display());
    }
    if reports.iter().all(|r| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn check(args: CheckArgs) -> ExitCode {
    use mqtt_sim::external::{self, report, target};
    let config = match &args.broker_config {
        Some(path) => match target::config_from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("mqtt-sim check: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    let options = external::CheckOptions {
        target: external::Target {
            addr: args.broker,
            username: args.username,
            password: args.password,
            name: args.broker_name,
            config,
        },
        paths: args.paths,
        parallel: args.parallel,
        max_wait: args.max_wait,
    };
    let report = match external::check_blocking(&options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mqtt-sim check: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report::table(&report));
    let details = report::details(&report);
    if !details.is_empty() {
        print!("\n{details}");
    }
    if let Some(dir) = &args.report {
        if let Err(e) = external::html::write(dir, &report) {
            eprintln!("mqtt-sim check: writing the report to {}: {e}", dir.display());
            return ExitCode::from(2);
        }
        eprintln!("report: {}", dir.join("index.html").display());
    }
    ExitCode::from(report.exit_code())
}

/// Each connection is a file descriptor, and the usual soft limit of 1024 is below what a broker
/// or a load run needs; raise it to the hard limit, as systemd's LimitNOFILE would.
fn raise_open_files_limit(command: &str) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!("open files limit: {limit}"),
        Err(e) => tracing::warn!("mqtt-sim {command}: could not raise the open files limit: {e}"),
    }
}

fn load(args: LoadArgs) -> ExitCode {
    let addr = match std::net::ToSocketAddrs::to_socket_addrs(&args.broker).map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        Ok(None) | Err(_) => {
            eprintln!("mqtt-sim load: {:?} is not a reachable HOST:PORT", args.broker);
            return ExitCode::from(2);
        }
    };
    raise_open_files_limit("load");
    let plan = mqtt_sim::load::Plan {
        connections: args.connections,
        pairs: args.pairs,
        messages: args.messages,
        patience: args.patience,
        kinds: args.abuse,
        ..mqtt_sim::load::Plan::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let report = runtime.block_on(mqtt_sim::load::run(addr, &plan));
    print!("{}", report.summary());
    let problems = report.problems();
    if problems.is_empty() {
        return ExitCode::SUCCESS;
    }
    println!("\n{} problems:", problems.len());
    for p in problems.iter().take(50) {
        println!("  {p}");
    }
    if problems.len() > 50 {
        println!("  ... and {} more", problems.len() - 50);
    }
    ExitCode::from(1)
}

fn replay(args: ReplayArgs) -> ExitCode {
    let scenario = match mqtt_sim::scenario::load(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    let result = mqtt_sim::scenario::run(&scenario, seed);
    if args.trace {
        print!("{}", result.trace.to_text());
    }
    if args.json {
        print!("{}", result.trace.to_json_lines());
    }
    if let Some(path) = &args.chart {
        let title = format!("{} — seed {seed}", args.file.display());
        if let Err(e) = std::fs::write(path, mqtt_sim::report::chart::render(&result.trace.events(), &title)) {
            eprintln!("mqtt-sim replay: writing {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    match &result.failure {
        None => {
            eprintln!(
                "{} at seed {seed}: expectations hold ({} simulated ms)",
                args.file.display(),
                result.elapsed.as_millis()
            );
            ExitCode::SUCCESS
        }
        Some(f) => {
            let at = f.line.map(|l| format!("{}:{l}: ", args.file.display())).unwrap_or_default();
            let step = f.step.map(|s| format!("step {} failed: ", s + 1)).unwrap_or_default();
            eprintln!("{at}{step}{}\n(seed {seed})", f.message);
            ExitCode::from(1)
        }
    }
}

fn explore(args: ExploreArgs) -> ExitCode {
    use mqtt_sim::explore::{self, ExploreOptions};
    let opts = ExploreOptions {
        cases: args.cases,
        seed: args.seed,
        shard: args.shard,
        time_limit: args.time_limit.map(std::time::Duration::from_secs),
        regressions: Some(args.regressions.clone()),
        #[cfg(feature = "mutants")]
        mutant: match args.mutant.as_deref().map(|n| (n, mqtt_sim::mutants::Mutant::by_name(n))) {
            None => None,
            Some((_, Some(m))) => Some(m),
            Some((name, None)) => {
                eprintln!("mqtt-sim explore: unknown mutant {name:?}");
                return ExitCode::from(2);
            }
        },
        ..ExploreOptions::default()
    };
    let bar = indicatif::ProgressBar::new(args.cases.div_ceil(args.shard.1));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}").expect("a valid progress template"),
    );
    let summary = explore::explore(&opts, &|_, s: &explore::Summary| {
        bar.set_message(format!("{} failures", s.failures.len()));
        bar.inc(1);
    });
    bar.finish_and_clear();
    println!("cases              {}", summary.cases);
    println!("simulated time     {:.1} s", summary.simulated.as_secs_f64());
    println!("wall time          {:.1} s", summary.wall.as_secs_f64());
    println!("cases per second   {:.1}", summary.cases as f64 / summary.wall.as_secs_f64().max(1e-9));
    println!("distinct outcomes  {}", summary.distinct_outcomes);
    println!("failures           {}", summary.failures.len());
    for f in &summary.failures {
        println!(
            "\ncase {} (simulation seed {}), shrunk from {} to {} steps:\n{}",
            f.case, f.sim_seed, f.steps.0, f.steps.1, f.message
        );
        if let Some(path) = &f.written_to {
            println!("written to {}\nreplay: cargo run --release -- replay {} --trace", path.display(), path.display());
        }
    }
    if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
