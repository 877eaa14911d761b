//! Broker subprocesses for the benches that compare our broker with mosquitto 2.0 in the same
//! run: start either on a free loopback port with the same mosquitto.conf settings, read its
//! memory, CPU time and open files from /proc, and kill it (removing its scratch folder) on drop.

#![allow(dead_code)] // each bench uses its own subset

use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
}

impl BrokerProcess {
    /// Starts `kind` on a free loopback port with `settings` (mosquitto.conf lines both brokers
    /// understand) and, for ours only, the extra command-line flags `ours_flags`.
    pub fn start(kind: Kind, settings: &str, ours_flags: &[&str]) -> BenchResult<BrokerProcess> {
        let dir =
            std::env::temp_dir().join(format!("mqtt-sim-bench-{}-{}-{}", kind.name(), std::process::id(), unique()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = std::fs::File::create(dir.join("broker.log")).map_err(|e| format!("create a log file: {e}"))?;
        let conf = dir.join("broker.conf");
        let mut command = match kind {
            Kind::Ours => {
                std::fs::write(&conf, settings).map_err(|e| format!("write {}: {e}", conf.display()))?;
                let mut c = Command::new(env!("CARGO_BIN_EXE_mqtt-sim"));
                c.args(["broker", "--listen", &addr.to_string(), "-c"]).arg(&conf).args(ours_flags);
                c
            }
            Kind::Mosquitto => {
                let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\n{settings}");
                std::fs::write(&conf, text).map_err(|e| format!("write {}: {e}", conf.display()))?;
                let mut c = Command::new("mosquitto");
                c.arg("-c").arg(&conf);
                c
            }
        };
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(log));
        let child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(format!("cannot start {} (is it installed?): {e}", kind.name()));
            }
        };
        // From here on, drop kills the child whatever happens.
        let mut broker = BrokerProcess { kind, addr, child, dir };
        let started = Instant::now();
        while StdTcpStream::connect(addr).is_err() {
            broker.check_alive()?;
            if started.elapsed() > START_TIMEOUT {
                return Err(format!("{} did not listen on {addr} within {START_TIMEOUT:?}", kind.name()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
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
