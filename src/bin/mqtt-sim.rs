//! The `mqtt-sim` command: argument parsing only. Each subcommand calls a library function.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mqtt_sim::broker::Config;

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
        Ok(config)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Broker(args) => broker(args),
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
