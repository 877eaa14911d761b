//! Broker process control for `mqtt-sim check --launch 'CMD'`: a fresh broker for each scenario,
//! on a free loopback port, with a config file written for the scenario's `broker:` settings;
//! killed with SIGKILL for `crash_broker`, launched again on the same port with the same config
//! for `restart_broker`, and killed after the scenario. CMD may contain `{port}` and `{config}`;
//! it is split into words as a POSIX shell would (quotes, backslashes), and run directly, not
//! through a shell; the broker runs in a process group of its own, and the whole group is
//! killed, so a wrapper that does not `exec` its broker leaves nothing behind.
//!
//! The config is a mosquitto.conf (`listener {port} 127.0.0.1`, `allow_anonymous true`,
//! `sys_interval 0` so that a scenario's `$SYS/#` subscription sees only what it publishes, and
//! the settings the scenario states) unless a template is given (`--config-template FILE`):
//! then `{port}` and one placeholder per setting (`{max_queued_messages}`...) are filled in, and
//! a setting the template has no placeholder for cannot be given to the broker (`applicable`
//! says so). Process groups are killed on drop too, so none outlives `check`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::target::{declared_value, DECLARED, MQTT_SIM_ONLY};
use crate::broker::Config;
use crate::scenario::model::BrokerSettings;

/// How long a launched broker may take to accept connections on its port.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Lines of a broker's output kept to explain a failure.
const OUTPUT_KEPT: usize = 12;

/// How to start the broker under test.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The command line, with `{port}` and `{config}`.
    pub command: String,
    /// The config template's path and text; `None` writes a mosquitto.conf.
    pub template: Option<(PathBuf, String)>,
}

impl Launcher {
    /// Checks `command` splits into words and reads the template.
    pub fn new(command: &str, template: Option<&Path>) -> Result<Launcher, String> {
        let words = shell_words::split(command).map_err(|e| format!("--launch {command:?}: {e}"))?;
        if words.is_empty() {
            return Err("--launch needs a command".into());
        }
        let template = match template {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                if !text.contains("{port}") && !command.contains("{port}") {
                    return Err(format!(
                        "{}: neither the config template nor the launch command has {{port}}: the broker \
                         would not listen where check connects",
                        path.display()
                    ));
                }
                Some((path.to_path_buf(), text))
            }
            None => None,
        };
        Ok(Launcher { command: command.to_owned(), template })
    }

    /// Whether the broker can be given option `option` (one of `target::DECLARED`): a generated
    /// mosquitto.conf takes every mosquitto option, a template the ones it has a placeholder for.
    pub fn can_set(&self, option: &str) -> bool {
        match &self.template {
            None => !MQTT_SIM_ONLY.contains(&option),
            Some((_, text)) => text.contains(&format!("{{{option}}}")),
        }
    }

    /// The config file for a broker on `port` with `settings` (mosquitto 2.0's defaults, with
    /// what the scenario states).
    pub fn config_text(&self, port: u16, settings: &Config, stated: &BrokerSettings, dir: &Path) -> String {
        match &self.template {
            Some((_, text)) => DECLARED.iter().fold(text.replace("{port}", &port.to_string()), |t, o| {
                t.replace(&format!("{{{o}}}"), &declared_value(settings, o))
            }),
            None => {
                let mut out = format!(
                    "# Written by mqtt-sim check for one scenario.\nlistener {port} 127.0.0.1\nallow_anonymous true\nsys_interval 0\n"
                );
                let mut stated_config = Config::default();
                stated.apply(&mut stated_config);
                for option in DECLARED.iter().filter(|o| !MQTT_SIM_ONLY.contains(o)) {
                    // Only what the scenario states: the rest stays at the broker's defaults,
                    // which for mosquitto 2.0 are ours.
                    if declared_value(&stated_config, option) != declared_value(&Config::default(), option) {
                        out.push_str(&format!("{option} {}\n", declared_value(settings, option)));
                    }
                }
                if stated_config.persistence {
                    // One file per scenario, in its own directory, kept across `crash_broker`
                    // and `restart_broker` (mosquitto wants the trailing slash).
                    out.push_str(&format!("persistence_location {}/\n", dir.display()));
                }
                out
            }
        }
    }
}

/// Why a broker could not be started.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the broker launched with `{command}` {reason}{}", output_text(.output))]
pub struct LaunchError {
    pub command: String,
    pub reason: String,
    /// Its last lines of output.
    pub output: Vec<String>,
}

fn output_text(output: &[String]) -> String {
    if output.is_empty() {
        "; it printed nothing".into()
    } else {
        format!("; its last output:\n  {}", output.join("\n  "))
    }
}

/// A broker process started for one scenario.
pub struct BrokerProcess {
    launcher: Arc<Launcher>,
    command: String,
    port: u16,
    /// Holds the config file; removed when the process is dropped.
    _dir: tempfile::TempDir,
    config: PathBuf,
    child: Option<Child>,
    output: Arc<Mutex<VecDeque<String>>>,
    /// How it exited by itself, once seen.
    died: Option<String>,
}

impl BrokerProcess {
    /// Writes the config for `settings` and starts the broker on a free port, returning once
    /// the port accepts connections.
    pub async fn launch(
        launcher: Arc<Launcher>,
        settings: &Config,
        stated: &BrokerSettings,
    ) -> Result<BrokerProcess, LaunchError> {
        let fail = |reason: String| LaunchError { command: launcher.command.clone(), reason, output: vec![] };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| fail(format!("could not get a free port: {e}")))?
            .port();
        let dir = tempfile::Builder::new()
            .prefix("mqtt-sim-check-")
            .tempdir()
            .map_err(|e| fail(format!("could not get a directory for its config: {e}")))?;
        // Writable by the broker whatever user it runs as: mosquitto started as root drops to
        // its `mosquitto` user, and must still write its persistence file here.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
                .map_err(|e| fail(format!("could not open its directory to the broker's user: {e}")))?;
        }
        let name = match &launcher.template {
            Some((path, _)) => path.file_name().map(PathBuf::from).unwrap_or_else(|| "broker.conf".into()),
            None => PathBuf::from("mosquitto.conf"),
        };
        let config = dir.path().join(name);
        std::fs::write(&config, launcher.config_text(port, settings, stated, dir.path()))
            .map_err(|e| fail(format!("could not write its config {}: {e}", config.display())))?;
        let command =
            launcher.command.replace("{port}", &port.to_string()).replace("{config}", &config.to_string_lossy());
        let mut process = BrokerProcess {
            launcher,
            command,
            port,
            _dir: dir,
            config,
            child: None,
            output: Arc::default(),
            died: None,
        };
        process.start().await?;
        Ok(process)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The config file the broker was started with.
    pub fn config(&self) -> &Path {
        &self.config
    }

    fn error(&self, reason: String) -> LaunchError {
        let output = self.output.lock().expect("output lock").iter().cloned().collect();
        LaunchError { command: self.command.clone(), reason, output }
    }

    async fn start(&mut self) -> Result<(), LaunchError> {
        let words = shell_words::split(&self.command).map_err(|e| self.error(format!("does not split: {e}")))?;
        let (program, args) = words.split_first().ok_or_else(|| self.error("is empty".into()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so a broker behind a wrapper (a shell, `timeout`, npm) dies
            // with it: see `kill_group`.
            .process_group(0)
            .spawn()
            .map_err(|e| self.error(format!("does not start: {e}")))?;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(keep_lines(out, self.output.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(keep_lines(err, self.output.clone()));
        }
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // Let the output readers catch up with its last words.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(self.error(format!("exited ({status}) before accepting connections on port {}", self.port)));
            }
            if tokio::net::TcpStream::connect(self.addr()).await.is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                kill_group(&mut child);
                let _ = child.wait().await;
                return Err(self.error(format!(
                    "did not accept connections on port {} within {} s",
                    self.port,
                    READY_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the broker with SIGKILL, as a crash would; nothing if it is not running.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
            let _ = child.wait().await;
        }
    }

    /// Whether the broker process is running.
    pub fn running(&mut self) -> bool {
        self.exited();
        self.child.is_some()
    }

    /// Starts the broker again on the same port with the same config; nothing if it runs.
    pub async fn restart(&mut self) -> Result<(), LaunchError> {
        if self.running() {
            return Ok(());
        }
        self.start().await
    }

    /// If the broker ever exited by itself (not killed by us), how, with its last output.
    pub fn exited(&mut self) -> Option<String> {
        if self.died.is_none() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                self.died = Some(self.error(format!("exited by itself ({status})")).to_string());
            }
        }
        self.died.clone()
    }

    /// The broker's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// The launcher it was started with.
    pub fn launcher(&self) -> &Launcher {
        &self.launcher
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            kill_group(child);
        }
    }
}

/// Kills a launched broker with SIGKILL: its whole process group, so nothing it started (the
/// broker behind a wrapper that does not `exec`) outlives it, then the process itself.
fn kill_group(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.start_kill();
}

/// Keeps the last lines of a process's output.
async fn keep_lines(from: impl AsyncRead + Unpin, kept: Arc<Mutex<VecDeque<String>>>) {
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut kept = kept.lock().expect("output lock");
        if kept.len() == OUTPUT_KEPT {
            kept.pop_front();
        }
        kept.push_back(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mosquitto_conf_has_the_listener_and_only_the_stated_settings() {
        let launcher = Launcher::new("mosquitto -c {config}", None).unwrap();
        let stated = BrokerSettings { max_queued_messages: Some(5), ..BrokerSettings::default() };
        let mut settings = Config::default();
        stated.apply(&mut settings);
        assert_eq!(
            launcher.config_text(4242, &settings, &stated, Path::new("/tmp")),
            "# Written by mqtt-sim check for one scenario.\nlistener 4242 127.0.0.1\nallow_anonymous true\n\
             sys_interval 0\nmax_queued_messages 5\n"
        );
        assert!(launcher.can_set("max_keepalive"));
    }

    #[test]
    fn a_template_gets_every_placeholder_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.toml");
        std::fs::write(&path, "port = {port}\nqueue = {max_queued_messages}\nqos0 = {queue_qos0_messages}\n").unwrap();
        let launcher = Launcher::new("rumqttd -c {config}", Some(&path)).unwrap();
        assert!(launcher.can_set("max_queued_messages"));
        assert!(!launcher.can_set("max_inflight_messages"));
        let text = launcher.config_text(7, &Config::default(), &BrokerSettings::default(), Path::new("/tmp"));
        assert_eq!(text, "port = 7\nqueue = 1000\nqos0 = false\n");
    }

    #[test]
    fn bad_launch_commands_and_templates_are_refused_up_front() {
        assert!(Launcher::new("", None).is_err());
        assert!(Launcher::new("mosquitto -c '{config}", None).unwrap_err().contains("--launch"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.conf");
        std::fs::write(&path, "no port here\n").unwrap();
        assert!(Launcher::new("b {config}", Some(&path)).unwrap_err().contains("{port}"));
        assert!(Launcher::new("b -p {port} {config}", Some(&path)).is_ok(), "the port on the command line will do");
    }

    #[tokio::test]
    async fn a_command_that_exits_at_once_is_reported_with_its_output() {
        let launcher = Arc::new(Launcher::new("sh -c 'echo no such option >&2; exit 3'", None).unwrap());
        let e = BrokerProcess::launch(launcher, &Config::default(), &BrokerSettings::default()).await.err().unwrap();
        let text = e.to_string();
        assert!(text.contains("exited") && text.contains("no such option"), "{text}");
    }

    #[tokio::test]
    async fn a_command_that_does_not_exist_is_named() {
        let launcher = Arc::new(Launcher::new("/nonexistent/broker -p {port}", None).unwrap());
        let e = BrokerProcess::launch(launcher, &Config::default(), &BrokerSettings::default()).await.err().unwrap();
        assert!(e.to_string().contains("/nonexistent/broker") && e.reason.contains("does not start"), "{e}");
    }
}
