//! Broker subprocesses for the benches that compare our broker with mosquitto 2.0 in the same
//! run: start either on a free loopback port with the same mosquitto.conf settings, read its
//! memory, CPU time and open files from /proc, stop it with a signal and start it again on the
//! same port and files, and kill it (removing its scratch folder) on drop.

#![allow(dead_code)] // each bench uses its own subset

use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

pub type BenchResult<T> = Result<T, String>;

/// How long a broker may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Mosquitto,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "mqtt-sim",
            Kind::Mosquitto => "mosquitto",
        }
    }
}

/// A broker subprocess on a loopback port, killed (and its scratch directory removed) on drop,
/// also when the bench panics.
pub struct BrokerProcess {
    pub kind: Kind,
    pub addr: SocketAddr,
    child: Child,
    dir: PathBuf,
    /// Our broker's extra command-line flags, kept for [`BrokerProcess::restart`].
    ours_flags: Vec<String>,
}

impl BrokerProcess {
    /// Starts `kind` on a free loopback port with `settings` (mosquitto.conf lines both brokers
    /// understand) and, for ours only, the extra command-line flags `ours_flags`.
    pub fn start(kind: Kind, settings: &str, ours_flags: &[&str]) -> BenchResult<BrokerProcess> {
        BrokerProcess::start_with_data(kind, |_| settings.to_owned(), ours_flags)
    }

    /// [`BrokerProcess::start`] with the settings written by `settings` from the path of an empty
    /// directory for the broker's files (its `persistence_location`), which every user may write
    /// to: mosquitto started as root drops to the user `mosquitto`, and with a directory it cannot
    /// write it only logs "Error saving in-memory database" and persists nothing.
    pub fn start_with_data(
        kind: Kind,
        settings: impl FnOnce(&Path) -> String,
        ours_flags: &[&str],
    ) -> BenchResult<BrokerProcess> {
        let dir =
            std::env::temp_dir().join(format!("mqtt-sim-bench-{}-{}-{}", kind.name(), std::process::id(), unique()));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(|e| format!("create {}: {e}", data.display()))?;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777))
            .map_err(|e| format!("chmod {}: {e}", data.display()))?;
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        if let Err(e) = write_conf(kind, addr, &dir, settings(&data)) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let ours_flags: Vec<String> = ours_flags.iter().map(|f| f.to_string()).collect();
        let child = match spawn(kind, addr, &dir, &ours_flags) {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        // From here on, drop kills the child whatever happens.
        let mut broker = BrokerProcess { kind, addr, child, dir, ours_flags };
        broker.wait_listening()?;
        Ok(broker)
    }

    /// Waits until the broker accepts TCP connections on its port.
    fn wait_listening(&mut self) -> BenchResult<()> {
        let started = Instant::now();
        while StdTcpStream::connect(self.addr).is_err() {
            self.check_alive()?;
            if started.elapsed() > START_TIMEOUT {
                return Err(format!("{} did not listen on {} within {START_TIMEOUT:?}", self.kind.name(), self.addr));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// The directory `start_with_data` gave the broker for its files.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The name and size in bytes of each file in [`BrokerProcess::data_dir`], by name.
    pub fn data_files(&self) -> BenchResult<Vec<(String, u64)>> {
        let data = self.data_dir();
        let entries = std::fs::read_dir(&data).map_err(|e| format!("read {}: {e}", data.display()))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("read {}: {e}", data.display()))?;
            let len = entry.metadata().map_err(|e| format!("stat {}: {e}", entry.path().display()))?.len();
            files.push((entry.file_name().to_string_lossy().into_owned(), len));
        }
        files.sort();
        Ok(files)
    }

    /// Sends `signal` to the broker and waits (up to `timeout`) until it has exited; returns how
    /// long it took to exit. SIGKILL is a crash; on SIGTERM both brokers save their state first.
    pub fn stop(&mut self, signal: Signal, timeout: Duration) -> BenchResult<Duration> {
        let pid = Pid::from_raw(self.child.id() as i32);
        let sent = Instant::now();
        nix::sys::signal::kill(pid, signal).map_err(|e| format!("kill -{signal} {pid}: {e}"))?;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return Ok(sent.elapsed()),
                Ok(None) if sent.elapsed() > timeout => {
                    return Err(format!("{} did not exit within {timeout:?} of {signal}", self.kind.name()))
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => return Err(format!("wait for {}: {e}", self.kind.name())),
            }
        }
    }

    /// Replaces the settings the next [`BrokerProcess::restart`] starts with, written as for
    /// [`BrokerProcess::start_with_data`].
    pub fn reconfigure(&mut self, settings: impl FnOnce(&Path) -> String) -> BenchResult<()> {
        write_conf(self.kind, self.addr, &self.dir, settings(&self.data_dir()))
    }

    /// Starts the broker again, after [`BrokerProcess::stop`], with the same port, directory and
    /// configuration (or the one [`BrokerProcess::reconfigure`] wrote), and returns at once,
    /// without waiting for it to listen, with the moment the process was spawned.
    pub fn restart(&mut self) -> BenchResult<Instant> {
        if self.child.try_wait().map_err(|e| e.to_string())?.is_none() {
            return Err(format!("{} is still running; stop it first", self.kind.name()));
        }
        let spawned = Instant::now();
        self.child = spawn(self.kind, self.addr, &self.dir, &self.ours_flags)?;
        Ok(spawned)
    }

    /// An error with the end of the broker's log if the process has exited.
    pub fn check_alive(&mut self) -> BenchResult<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                let log = std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().collect();
                Err(format!("{} exited ({status}); its log ends with:\n{}", self.kind.name(), tail.join("\n")))
            }
            Err(e) => Err(format!("cannot check on {}: {e}", self.kind.name())),
        }
    }

    /// Resident set size of the broker process.
    pub fn rss_bytes(&self) -> BenchResult<u64> {
        self.status_bytes("VmRSS:")
    }

    /// Peak resident set size of the broker process so far.
    pub fn peak_rss_bytes(&self) -> BenchResult<u64> {
        self.status_bytes("VmHWM:")
    }

    /// User plus system CPU time of the broker process, all threads, from /proc/PID/stat.
    pub fn cpu_seconds(&self) -> BenchResult<f64> {
        /// Linux reports these times in USER_HZ ticks, 100 per second on every architecture.
        const TICKS_PER_SECOND: f64 = 100.0;
        let path = format!("/proc/{}/stat", self.child.id());
        let stat = std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
        // Fields 14 and 15 (utime, stime); the command name before them is in parentheses.
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        match (ticks(11), ticks(12)) {
            (Some(user), Some(system)) => Ok((user + system) as f64 / TICKS_PER_SECOND),
            _ => Err(format!("no CPU times in {path}")),
        }
    }

    /// A `kB` field of /proc/PID/status, in bytes.
    pub fn status_bytes(&self, field: &str) -> BenchResult<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
        let line = status.lines().find(|l| l.starts_with(field)).ok_or_else(|| format!("no {field} in {path}"))?;
        let kb: u64 = line
            .trim_start_matches(field)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .map_err(|e| format!("bad {field} line {line:?}: {e}"))?;
        Ok(kb * 1024)
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes the configuration file of `kind` on `addr` in `dir`: `settings`, after the listener
/// lines for mosquitto (ours takes its address on the command line).
fn write_conf(kind: Kind, addr: SocketAddr, dir: &Path, settings: String) -> BenchResult<()> {
    let conf = dir.join("broker.conf");
    let text = match kind {
        Kind::Ours => settings,
        Kind::Mosquitto => format!("listener {} 127.0.0.1\nallow_anonymous true\n{settings}", addr.port()),
    };
    std::fs::write(&conf, text).map_err(|e| format!("write {}: {e}", conf.display()))
}

/// Spawns `kind` on `addr` with the configuration file in `dir`, its standard error appended to
/// the log file there.
fn spawn(kind: Kind, addr: SocketAddr, dir: &Path, ours_flags: &[String]) -> BenchResult<Child> {
    let conf = dir.join("broker.conf");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("broker.log"))
        .map_err(|e| format!("open a log file: {e}"))?;
    let mut command = match kind {
        Kind::Ours => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_mqtt-sim"));
            c.args(["broker", "--listen", &addr.to_string(), "-c"]).arg(&conf).args(ours_flags);
            c
        }
        Kind::Mosquitto => {
            let mut c = Command::new("mosquitto");
            c.arg("-c").arg(&conf);
            c
        }
    };
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log));
    command.spawn().map_err(|e| format!("cannot start {} (is it installed?): {e}", kind.name()))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> BenchResult<u16> {
    let listener = StdTcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl BrokerProcess {
    /// File descriptors the broker process has open.
    pub fn open_files(&self) -> BenchResult<usize> {
        let path = format!("/proc/{}/fd", self.child.id());
        Ok(std::fs::read_dir(&path).map_err(|e| format!("read {path}: {e}"))?.count())
    }
}
