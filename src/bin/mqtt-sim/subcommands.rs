//! The subcommands that run something: the broker, the scenario suite, replay, exploration,
//! checking another broker (`check`) and the load run. Each maps its arguments onto a library call
//! and the result onto an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use mqtt_sim::broker::Config;

use crate::args::{BrokerArgs, CheckArgs, ExploreArgs, Format, LoadArgs, ReplayArgs, RunArgs};

pub(crate) fn broker(args: BrokerArgs) -> ExitCode {
    let (config, addresses) = match args.config() {
        Ok(found) => found,
        Err(e) => {
            eprintln!("mqtt-sim broker: {e}");
            return ExitCode::from(2);
        }
    };
    raise_open_files_limit("broker");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    runtime.block_on(async {
        let mut listeners = Vec::new();
        for address in &addresses {
            match tokio::net::TcpListener::bind(address).await {
                Ok(l) => {
                    tracing::info!("listening on {}", l.local_addr().map(|a| a.to_string()).unwrap_or_default());
                    listeners.push(l);
                }
                Err(e) => {
                    eprintln!("mqtt-sim broker: cannot listen on {address}: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        // SIGINT and SIGTERM shut down cleanly, saving the persistence file first, as
        // mosquitto does; SIGKILL is a crash.
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let term = async {
                match term.as_mut() {
                    Some(t) => t.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
            tracing::info!("shutting down");
            mqtt_sim::net::Stop::Shutdown
        };
        let persistence = mqtt_sim::net::Persistence {
            persister: mqtt_sim::persist::Persister::new(
                mqtt_sim::persist::PersistenceConf::of(&config),
                Box::new(mqtt_sim::persist::DiskStorage),
            ),
            wall_ms: Box::new(mqtt_sim::persist::unix_ms),
            sync_delay: None,
        };
        let listeners = mqtt_sim::net::TcpListeners(listeners);
        match mqtt_sim::net::run_broker_persistent(listeners, config, persistence, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mqtt-sim broker: {e}");
                ExitCode::from(1)
            }
        }
    })
}

pub(crate) fn run(args: RunArgs) -> ExitCode {
    use mqtt_sim::scenario;
    use mqtt_sim::sim::suite;
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
        root.get_or_insert_with(|| scenario::scenarios_root(path));
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
            print!("{}", mqtt_sim::report::claims_table(&reports));
            for r in reports.iter().filter(|r| !r.passed()) {
                println!("\n{}", r.failure_text().unwrap_or_default());
            }
        }
        Format::Json => println!("{}", mqtt_sim::report::json(&reports)),
    }
    if let Some(dir) = &args.report {
        if let Err(e) = mqtt_sim::report::html::write(dir, &reports) {
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

pub(crate) fn check(args: CheckArgs) -> ExitCode {
    use mqtt_sim::check::{self, report, target};
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
    let launcher = match &args.launch {
        Some(command) => match check::launch::Launcher::new(command, args.config_template.as_deref()) {
            Ok(l) => Some(std::sync::Arc::new(l)),
            Err(e) => {
                eprintln!("mqtt-sim check: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let command = reproduce_command(&args);
    let options = check::CheckOptions {
        command,
        target: check::Target {
            addr: args.broker.unwrap_or_default(),
            username: args.username,
            password: args.password,
            name: args.broker_name,
            config,
            launcher,
        },
        paths: args.paths,
        parallel: args.parallel,
        max_wait: args.max_wait,
    };
    let report = match check::check_blocking(&options) {
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
        if let Err(e) = check::html::write(dir, &report) {
            eprintln!("mqtt-sim check: writing the report to {}: {e}", dir.display());
            return ExitCode::from(2);
        }
        eprintln!("report: {}", dir.join("index.html").display());
    }
    ExitCode::from(report.exit_code())
}

/// The command line that checks one scenario as `args` do, without the paths: what each
/// deviation prints to reproduce it alone. A password is shown as a placeholder.
fn reproduce_command(args: &CheckArgs) -> String {
    let mut words: Vec<String> = vec!["mqtt-sim".into(), "check".into()];
    let mut option = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            words.push(format!("--{name}"));
            words.push(value);
        }
    };
    option("launch", args.launch.clone());
    option("config-template", args.config_template.as_ref().map(|p| p.display().to_string()));
    option("broker", args.broker.clone());
    option("username", args.username.clone());
    option("password", args.password.as_ref().map(|_| "PASSWORD".to_owned()));
    option("broker-name", args.broker_name.clone());
    option("broker-config", args.broker_config.as_ref().map(|p| p.display().to_string()));
    shell_words::join(words)
}

/// Each connection is a file descriptor, and the usual soft limit of 1024 is below what a broker
/// or a load run needs; raise it to the hard limit, as systemd's LimitNOFILE would.
fn raise_open_files_limit(command: &str) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!("open files limit: {limit}"),
        Err(e) => tracing::warn!("mqtt-sim {command}: could not raise the open files limit: {e}"),
    }
}

pub(crate) fn load(args: LoadArgs) -> ExitCode {
    let addr = match std::net::ToSocketAddrs::to_socket_addrs(&args.broker).map(|mut a| a.next()) {
        Ok(Some(addr)) => addr,
        Ok(None) | Err(_) => {
            eprintln!("mqtt-sim load: {:?} is not a reachable HOST:PORT", args.broker);
            return ExitCode::from(2);
        }
    };
    raise_open_files_limit("load");
    let plan = mqtt_sim::loadtest::Plan {
        connections: args.connections,
        pairs: args.pairs,
        messages: args.messages,
        patience: args.patience,
        kinds: args.abuse,
        ..mqtt_sim::loadtest::Plan::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let report = runtime.block_on(mqtt_sim::loadtest::run(addr, &plan));
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

pub(crate) fn replay(args: ReplayArgs) -> ExitCode {
    let scenario = match mqtt_sim::scenario::load(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let seed = args.seed.unwrap_or(scenario.seed);
    let result = mqtt_sim::sim::run(&scenario, seed);
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
            eprintln!("{at}{step}{}\n(seed {seed})", f);
            ExitCode::from(1)
        }
    }
}

pub(crate) fn explore(args: ExploreArgs) -> ExitCode {
    use mqtt_sim::explore::{self, ExploreOptions};
    let opts = ExploreOptions {
        cases: args.cases,
        seed: args.seed,
        protocol: args.protocol,
        persistence: args.persistence,
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
            let word = mqtt_sim::report::escape::shell(&path.display().to_string());
            println!("written to {}\nreplay: cargo run --release -- replay {word} --trace", path.display());
        }
    }
    if summary.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
