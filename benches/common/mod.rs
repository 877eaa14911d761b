//! Code the benches share.

pub mod broker_process;
pub mod raw_client;

/// The positive whole number in the environment variable `name`, or `default` if it is not set.
/// Anything else ends the bench with a message.
#[allow(dead_code)] // not every bench takes a count
pub fn count_from_env(name: &str, default: usize) -> usize {
    match std::env::var(name).map(|s| s.parse::<usize>()) {
        Err(_) => default,
        Ok(Ok(n)) if n > 0 => n,
        Ok(_) => {
            eprintln!("{name} must be a positive number");
            std::process::exit(2);
        }
    }
}

/// The 1, 5 and 15 minute load averages from /proc/loadavg: the brokers share the CPUs with the
/// load generator and whatever else runs.
#[allow(dead_code)] // not every bench reports it
pub fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    if fields.is_empty() {
        "unknown".to_owned()
    } else {
        fields.join(" ")
    }
}
