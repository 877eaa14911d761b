//! The broker under test: where it listens, the credentials to present, the name its known
//! deviations are listed under, and the settings the user says it has (mosquitto.conf syntax, or
//! mosquitto 2.0's defaults). It owns reading those settings, not deciding what a scenario needs
//! (that is `applicable`).

use std::path::Path;
use std::sync::Arc;

use super::launch::Launcher;
use crate::broker::{Config, ConfigError};
use crate::scenario::model::broker_options;

/// A broker reachable over TCP.
#[derive(Debug, Clone)]
pub struct Target {
    /// `HOST:PORT`.
    pub addr: String,
    /// Presented by every client whose scenario does not give its own.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The key under which scenarios list this broker's known deviations (`mosquitto`).
    pub name: Option<String>,
    /// The settings the user declares the broker has; mosquitto 2.0's defaults unless stated.
    /// With a launcher, the settings it can give the broker are the scenario's instead.
    pub config: Config,
    /// How to start a fresh broker for each scenario (`--launch`); `None` checks the broker at
    /// `addr` that someone else runs.
    pub launcher: Option<Arc<Launcher>>,
}

impl Target {
    /// A broker at `addr` with mosquitto 2.0's defaults, no credentials and no name.
    pub fn new(addr: impl Into<String>) -> Target {
        Target {
            addr: addr.into(),
            username: None,
            password: None,
            name: None,
            config: Config::default(),
            launcher: None,
        }
    }

    /// A broker that `launcher` starts for each scenario.
    pub fn launched(launcher: Launcher) -> Target {
        Target { launcher: Some(Arc::new(launcher)), ..Target::new("") }
    }
}

macro_rules! names {
    ($($field:ident),*) => { &[$(stringify!($field)),*] };
}

/// The options a scenario's `broker:` and `requires:` sections can state: the only ones that
/// decide whether a scenario applies. All are mosquitto.conf options but `qos2_delivery`,
/// mqtt-sim's own (see [`MQTT_SIM_ONLY`]).
pub const DECLARED: &[&str] = broker_options!(names);

/// Declared options that describe how a broker behaves rather than configure it: no generated
/// mosquitto.conf can set them, so a broker has them only if a template sets them or
/// `--broker-config` declares them.
pub const MQTT_SIM_ONLY: &[&str] = &["qos2_delivery", "persistence_sync", "persistence_log_limit"];

/// The value of one of the [`DECLARED`] options in `config`, as mosquitto.conf writes it.
pub fn declared_value(config: &Config, option: &str) -> String {
    macro_rules! get {
        ($($field:ident),*) => {
            match option {
                $(stringify!($field) => config.$field.to_string(),)*
                other => panic!("{other} is not a declared option"),
            }
        };
    }
    broker_options!(get)
}

/// Sets `options` (of [`DECLARED`]) in `to` as they are in `from`.
pub fn copy_declared(from: &Config, to: &mut Config, options: &[&str]) {
    macro_rules! copy {
        ($($field:ident),*) => {
            for option in options {
                match *option {
                    $(stringify!($field) => to.$field = from.$field.clone(),)*
                    other => panic!("{other} is not a declared option"),
                }
            }
        };
    }
    broker_options!(copy)
}

/// The settings declared in mosquitto.conf text. Only the options in [`DECLARED`] are read (with
/// `Config::parse_conf`, so a bad value names the file and line); every other line (listeners,
/// authentication, persistence, logging...) is left alone, so a broker's real mosquitto.conf can
/// be given as it is.
pub fn config_from_conf(text: &str, source: &str) -> Result<Config, ConfigError> {
    // Lines not read are blanked rather than removed, so error line numbers stay right.
    let kept: Vec<&str> = text
        .lines()
        .map(|line| {
            let option = line.split_whitespace().next().unwrap_or("");
            if !line.starts_with('#') && DECLARED.contains(&option) {
                line
            } else {
                ""
            }
        })
        .collect();
    Config::parse_conf(&kept.join("\n"), source)
}

/// Reads [`config_from_conf`] from a file.
pub fn config_from_file(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    config_from_conf(&text, &path.display().to_string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_mosquitto_conf_is_read_for_the_declared_options_only() {
        let text = "listener 1883 0.0.0.0\nallow_anonymous true\npersistence true\n# max_queued_messages 5\n\
                    max_queued_messages 100\nlog_type all\nqueue_qos0_messages true\n";
        let c = config_from_conf(text, "m.conf").unwrap();
        assert_eq!(c.max_queued_messages, 100);
        assert!(c.queue_qos0_messages);
        assert_eq!(c.max_inflight_messages, 20);
    }

    #[test]
    fn every_declared_option_has_a_value_that_reads_back() {
        let config = Config { max_queued_messages: 7, queue_qos0_messages: true, ..Config::default() };
        let text: String = DECLARED.iter().map(|o| format!("{o} {}\n", declared_value(&config, o))).collect();
        assert_eq!(config_from_conf(&text, "t").unwrap(), config);
    }

    #[test]
    fn a_bad_value_names_its_line() {
        let e = config_from_conf("listener 1883\n\nmax_queued_messages lots\n", "m.conf").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }
}
