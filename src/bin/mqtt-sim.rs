//! The `mqtt-sim` command: argument parsing only. Each subcommand calls a library function.

use clap::Parser;

/// An MQTT 3.1.1 broker, client and deterministic simulation harness.
#[derive(Debug, Parser)]
#[command(name = "mqtt-sim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        None => {
            use clap::CommandFactory;
            Cli::command().print_help().expect("stdout is writable");
            println!();
        }
        Some(command) => match command {},
    }
}
