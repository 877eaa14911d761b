//! The `mqtt-sim` command: argument parsing only. Each subcommand calls a library function.
//! `args` holds the arguments, `subcommands` the ones that run something; `pub` and `sub` are
//! here.

mod args;
mod subcommands;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use mqtt_sim::commands::{self, CommandError, ConnectOptions, Payload, PubOptions, SubOptions, Tool};
use mqtt_sim::protocol::Version;

use args::{
    BrokerArgs, CheckArgs, ConformanceArgs, ConnectArgs, ExploreArgs, LoadArgs, PubArgs, ReplayArgs, RunArgs, SubArgs,
};
use subcommands::{broker, check, explore, load, replay, run};

/// An MQTT 3.1.1 and 5.0 broker, client and deterministic simulation harness.
#[derive(Debug, Parser)]
#[command(name = "mqtt-sim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the MQTT broker (3.1.1 and 5.0) on TCP.
    Broker(BrokerArgs),
    /// Run the scenario suite in simulation (the main job).
    Run(RunArgs),
    /// Re-run one scenario at one seed, exactly, and show what happened.
    Replay(ReplayArgs),
    /// Generate scenarios, run them, check the delivery invariants, shrink failures to YAML.
    Explore(ExploreArgs),
    /// Write docs/conformance.md and docs/conformance-5.0.md: which normative statements the scenarios, invariants and test assertions check.
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

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let properties = args::property_groups(&matches);
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
            let tables = mqtt_sim::conformance::build(&args.project);
            let outputs = [
                (&args.output, mqtt_sim::conformance::markdown(&tables.v311, Version::V311)),
                (&args.output_v5, mqtt_sim::conformance::markdown(&tables.v5, Version::V5)),
            ];
            for (path, table) in outputs {
                if let Err(e) = std::fs::write(path, &table) {
                    eprintln!("mqtt-sim conformance: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
                let summary: Vec<&str> = table.lines().filter(|l| l.starts_with("- ")).collect();
                println!("wrote {}\n{}", path.display(), summary.join("\n"));
            }
            ExitCode::SUCCESS
        }
        Command::Check(args) => check(args),
        Command::Load(args) => load(args),
        Command::Pub(args) => client_command(Tool::Pub, &args.connect, &properties, |connect| {
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
        Command::Sub(args) => client_command(Tool::Sub, &args.connect, &properties, |connect| {
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
fn client_command<F, Fut>(which: Tool, args: &ConnectArgs, properties: &[Vec<String>], make: F) -> ExitCode
where
    F: FnOnce(ConnectOptions) -> Fut,
    Fut: std::future::Future<Output = Result<(), CommandError>>,
{
    let tool = match which {
        Tool::Pub => "pub",
        Tool::Sub => "sub",
    };
    let connect = match args.options(which, properties) {
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
