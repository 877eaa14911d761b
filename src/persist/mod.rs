//! Persistence of the broker's lasting state across restarts, with mosquitto 2.0's options and
//! meaning: with `persistence true` the broker loads `persistence_location` +
//! `persistence_file` when it starts, and writes a snapshot of its state there every
//! `autosave_interval` seconds (or, with `autosave_on_changes true`, once that many changes have
//! happened: subscription changes, retained messages received, messages queued for a session),
//! and when it shuts down cleanly. `autosave_interval 0` saves only at shutdown. What happened
//! after the last save is lost with the process, as it is with mosquitto's defaults: that is
//! what the durability scenarios make visible.
//!
//! - `format`: the versioned, checksummed file format;
//! - `storage`: the file operations, on the real disk or turmoil's simulated one;
//! - this module: the options and [`Persister`], which the broker's driver calls to load, to ask
//!   whether a save is due, and to save.
//!
//! What is kept (and what is not) is the broker's [`crate::broker::Image`].

pub mod delta;
pub mod format;
pub mod storage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::broker::{Broker, Config};
use crate::time::Time;
pub use storage::{DiskStorage, MemStorage, SimStorage, Storage};

/// mosquitto's persistence options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistenceConf {
    /// `persistence`: keep state across restarts at all (mosquitto's default: false).
    pub enabled: bool,
    /// `persistence_location`: the directory of the file; empty for the working directory.
    pub location: PathBuf,
    /// `persistence_file`: its name (default `mosquitto.db`).
    pub file: String,
    /// `autosave_interval`: seconds between saves, or changes with `autosave_on_changes`;
    /// 0 saves only at shutdown. mosquitto's default: 1800.
    pub autosave_interval: u64,
    /// `autosave_on_changes`: count changes instead of seconds (default false).
    pub autosave_on_changes: bool,
    /// `persistence_sync` (mqtt-sim's own option, default false): durable mode. Every change
    /// is appended to a log and synced before the acknowledgements that depend on it are sent
    /// (group commit: all the inputs of one turn of the driver's loop share one sync).
    pub sync: bool,
    /// `persistence_log_limit` (mqtt-sim's own): durable mode folds the log into a new
    /// snapshot once it is this many bytes long and longer than the snapshot.
    pub log_limit: u64,
    /// `persistence_on_damage start_empty` (mqtt-sim's own; default `refuse`): a persistence
    /// file that cannot be trusted is set aside (renamed with `.damaged` after its name, never
    /// deleted) and the broker starts empty, instead of refusing to start.
    pub start_empty_on_damage: bool,
}

impl Default for PersistenceConf {
    fn default() -> PersistenceConf {
        PersistenceConf {
            enabled: false,
            location: PathBuf::new(),
            file: "mosquitto.db".to_owned(),
            autosave_interval: 1800,
            autosave_on_changes: false,
            sync: false,
            log_limit: 4 << 20,
            start_empty_on_damage: false,
        }
    }
}

impl PersistenceConf {
    /// The options as a broker config states them.
    pub fn of(config: &Config) -> PersistenceConf {
        PersistenceConf {
            enabled: config.persistence,
            location: PathBuf::from(&config.persistence_location),
            file: config.persistence_file.clone(),
            autosave_interval: config.autosave_interval,
            autosave_on_changes: config.autosave_on_changes,
            sync: config.persistence_sync,
            log_limit: config.persistence_log_limit,
            start_empty_on_damage: config.persistence_on_damage == crate::broker::OnDamage::StartEmpty,
        }
    }

    /// The file's whole path.
    pub fn path(&self) -> PathBuf {
        self.location.join(&self.file)
    }
}

/// Why the broker would not start from its persistence file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path} is not a usable persistence file, {error}; move it away to start empty")]
    Format { path: PathBuf, error: format::FormatError },
    #[error("{path} holds a state no broker could have saved: {error}; move it away to start empty")]
    Image { path: PathBuf, error: crate::broker::ImageError },
}

/// Loads and saves one broker's persistence file, and keeps the autosave schedule; in durable
/// mode, also its log.
pub struct Persister<S: Storage> {
    conf: PersistenceConf,
    storage: S,
    /// When the last save was (or the broker started), and its change count then.
    last_save: (Time, u64),
    /// The durable mode's log, once loaded.
    log: Option<Log>,
    /// What `load` found and repaired, for the driver to report.
    repairs: Vec<crate::broker::Event>,
}

/// What the durable mode's log holds.
struct Log {
    /// The state the snapshot and the log's commits add up to.
    committed: delta::Parts,
    /// The last commit's sequence number.
    seq: u64,
    /// The log file's length.
    len: u64,
    /// A commit written and not yet synced: the state it leads to.
    pending: Option<delta::Parts>,
    /// The snapshot's length: compaction waits until the log is longer, so a recovery reads
    /// at most about twice the state's size.
    snapshot_len: u64,
    /// Commits since the last compaction.
    commits: u64,
}

impl<S: Storage> Persister<S> {
    pub fn new(conf: PersistenceConf, storage: S) -> Persister<S> {
        Persister { conf, storage, last_save: (Time::ZERO, 0), log: None, repairs: Vec::new() }
    }

    pub fn conf(&self) -> &PersistenceConf {
        &self.conf
    }

    /// Whether acknowledgements wait for the log (`persistence_sync true`).
    pub fn durable(&self) -> bool {
        self.conf.enabled && self.conf.sync
    }

    /// The log's path: the file's, with `.log` after it.
    pub fn log_path(&self) -> PathBuf {
        let mut name = self.conf.path().into_os_string();
        name.push(".log");
        PathBuf::from(name)
    }

    /// The broker to start with: the one the file keeps (and, in durable mode, the commits of its
    /// log after it), or an empty one if there is no file (or persistence is off). A snapshot
    /// that cannot be read or trusted is an error: the broker refuses to start rather than
    /// silently lose what the file holds. A log's damaged tail (a commit a crash cut short, or
    /// one corrupted) is cut off, with a log line saying how many bytes from where.
    ///
    /// With `persistence_on_damage start_empty`, damaged files are set aside instead (the
    /// snapshot and the log renamed with `.damaged` after their names), with a warning naming
    /// them and the damage, and the broker starts empty.
    pub fn load(&mut self, config: Config, now: Time, wall_ms: u64) -> Result<Broker, LoadError> {
        match self.load_files(config.clone(), now, wall_ms) {
            Err(e @ (LoadError::Format { .. } | LoadError::Image { .. })) if self.conf.start_empty_on_damage => {
                for path in [self.conf.path(), self.log_path()] {
                    let mut aside = path.clone().into_os_string();
                    aside.push(".damaged");
                    self.storage.rename(&path, Path::new(&aside)).map_err(|error| LoadError::Io { path, error })?;
                }
                tracing::warn!("{e}: set aside as .damaged, starting empty (persistence_on_damage start_empty)");
                self.log = None;
                self.load_files(config, now, wall_ms)
            }
            other => other,
        }
    }

    fn load_files(&mut self, config: Config, now: Time, wall_ms: u64) -> Result<Broker, LoadError> {
        self.last_save = (now, 0);
        if !self.conf.enabled {
            return Ok(Broker::new(config));
        }
        let path = self.conf.path();
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |error| LoadError::Io { path, error }
        };
        let bytes = self.storage.read(&path).map_err(io(&path))?;
        let snapshot_len = bytes.as_ref().map_or(0, |b| b.len() as u64);
        let (image, seq) = match bytes {
            Some(bytes) => {
                let (image, _saved_at, seq) = format::decode_snapshot_at(&bytes)
                    .map_err(|error| LoadError::Format { path: path.clone(), error })?;
                (image, seq)
            }
            None => (crate::broker::Image::default(), 0),
        };
        let log_path = self.log_path();
        let log = self.storage.read(&log_path).map_err(io(&log_path))?;
        if !self.durable() && log.is_none() {
            return Broker::restore(config, &image, now, wall_ms).map_err(|error| LoadError::Image { path, error });
        }
        // Durable mode, or a log left by it (the option since turned off): its commits count.
        let mut committed = delta::parts(&image);
        let mut last = seq;
        let mut len = 0;
        // A log cut inside its header (the first write a crash interrupted) holds no commit.
        let header = format::log_header();
        let torn_header = log.as_ref().is_some_and(|b| b.len() < header.len() && header.starts_with(b));
        if let Some(cut) = log.as_ref().filter(|_| torn_header) {
            self.storage.truncate(&log_path, 0).map_err(io(&log_path))?;
            let problem = format!("{}: cut inside its header, emptied", log_path.display());
            self.repairs.push(crate::broker::Event::LogRepaired { at: 0, dropped: cut.len() as u64, problem });
        }
        if let Some(bytes) = log.filter(|_| !torn_header) {
            format::check_header(&bytes, format::FileKind::Log)
                .map_err(|error| LoadError::Format { path: log_path.clone(), error })?;
            let (records, problem) = format::records(&bytes);
            for (_, record) in records {
                if let format::Record::Commit { seq, changes } = record {
                    // Commits the snapshot already holds (a crash during compaction) are skipped.
                    if seq > last {
                        delta::apply(&mut committed, &changes);
                        last = seq;
                    }
                }
            }
            len = bytes.len() as u64;
            if let Some(damage) = problem {
                self.storage.truncate(&log_path, damage.offset as u64).map_err(io(&log_path))?;
                len = damage.offset as u64;
                let dropped = (bytes.len() - damage.offset) as u64;
                let problem = format!("{}: {}", log_path.display(), damage.problem);
                self.repairs.push(crate::broker::Event::LogRepaired { at: len, dropped, problem });
            }
        }
        #[cfg(feature = "mutants")]
        let committed = if config.mutant == Some(crate::mutants::Mutant::RecoverWithoutLastRecord) && last > seq {
            // The bug: the last commit of the log is not applied.
            self.recover_without_last(&image, seq, &log_path)
        } else {
            committed
        };
        let image = delta::assemble(&committed);
        let commits = last - seq;
        self.log = Some(Log { committed, seq: last, len, pending: None, snapshot_len, commits });
        if !self.durable() {
            // Out of durable mode: fold the log into the snapshot once, and keep no log.
            self.compact(wall_ms).map_err(io(&log_path))?;
            self.log = None;
        }
        Broker::restore(config, &image, now, wall_ms).map_err(|error| LoadError::Image { path: log_path, error })
    }

    #[cfg(feature = "mutants")]
    fn recover_without_last(&mut self, image: &crate::broker::Image, seq: u64, log: &std::path::Path) -> delta::Parts {
        let mut parts = delta::parts(image);
        let bytes = self.storage.read(log).ok().flatten().unwrap_or_default();
        let commits: Vec<_> = format::records(&bytes)
            .0
            .into_iter()
            .filter_map(|(_, r)| match r {
                format::Record::Commit { seq: s, changes } if s > seq => Some(changes),
                _ => None,
            })
            .collect();
        for changes in &commits[..commits.len().saturating_sub(1)] {
            delta::apply(&mut parts, changes);
        }
        parts
    }

    /// What the last `load` repaired (`Event::LogRepaired`), once: the driver reports it (a
    /// warning in the broker's log, a line in a simulation's trace).
    pub fn take_repairs(&mut self) -> Vec<crate::broker::Event> {
        std::mem::take(&mut self.repairs)
    }

    /// Durable mode: writes what changed since the last commit to the log, not yet synced.
    /// Returns whether there was anything; `finish_commit` must follow before what depends on
    /// it (the acknowledgements) goes out.
    pub fn begin_commit(&mut self, broker: &Broker, now: Time, wall_ms: u64) -> std::io::Result<bool> {
        let log_path = self.log_path();
        let Some(log) = self.log.as_mut() else { return Ok(false) };
        let parts = delta::parts(&broker.image(now, wall_ms));
        let changes = delta::diff(&log.committed, &parts);
        if changes.is_empty() {
            return Ok(false);
        }
        let mut bytes = if log.len == 0 { format::log_header() } else { Vec::new() };
        format::put_record(&mut bytes, &format::Record::Commit { seq: log.seq + 1, changes });
        self.storage.append(&log_path, &bytes)?;
        log.len += bytes.len() as u64;
        log.seq += 1;
        log.commits += 1;
        log.pending = Some(parts);
        Ok(true)
    }

    /// Durable mode: makes the commit `begin_commit` wrote durable.
    pub fn finish_commit(&mut self) -> std::io::Result<()> {
        let log_path = self.log_path();
        let Some(log) = self.log.as_mut() else { return Ok(()) };
        let Some(parts) = log.pending.take() else { return Ok(()) };
        self.storage.sync(&log_path)?;
        log.committed = parts;
        Ok(())
    }

    /// Durable mode: whether the log is long enough to fold into a new snapshot
    /// (`persistence_log_limit`, and longer than the snapshot it follows).
    pub fn compaction_due(&self) -> bool {
        self.log
            .as_ref()
            .is_some_and(|log| log.pending.is_none() && log.len >= self.conf.log_limit && log.len > log.snapshot_len)
    }

    /// Folds the log into a new snapshot in one go; returns how many commits it held.
    fn compact(&mut self, wall_ms: u64) -> std::io::Result<u64> {
        self.compact_write(wall_ms)?;
        self.compact_install()?;
        self.compact_truncate()
    }

    /// Compaction, first step: writes the committed state as the new snapshot beside the old
    /// one (`.new`), not yet synced. A crash now leaves the old snapshot and the whole log.
    pub fn compact_write(&mut self, wall_ms: u64) -> std::io::Result<()> {
        let Some(log) = self.log.as_mut() else { return Ok(()) };
        let image = delta::assemble(&log.committed);
        let bytes = format::encode_snapshot_at(&image, wall_ms, log.seq);
        log.snapshot_len = bytes.len() as u64;
        self.storage.write_new(&self.conf.path(), &bytes)
    }

    /// Compaction, second step: syncs the new snapshot and renames it over the old one. A crash
    /// now leaves a snapshot that names the last commit it holds, and the log's commits up to
    /// it are skipped on recovery.
    pub fn compact_install(&mut self) -> std::io::Result<()> {
        self.storage.install_new(&self.conf.path())
    }

    /// Compaction, last step: empties the log (keeping its header). Returns how many commits
    /// the new snapshot took from it.
    pub fn compact_truncate(&mut self) -> std::io::Result<u64> {
        let log_path = self.log_path();
        let Some(log) = self.log.as_mut() else { return Ok(0) };
        let header = format::header_len() as u64;
        if log.len > header {
            self.storage.truncate(&log_path, header)?;
            log.len = header;
        }
        Ok(std::mem::take(&mut log.commits))
    }

    /// When the next save by time is due, if saves go by time (not in durable mode, where every
    /// change is committed).
    pub fn next_save(&self) -> Option<Time> {
        (self.conf.enabled && !self.durable() && !self.conf.autosave_on_changes && self.conf.autosave_interval > 0)
            .then(|| self.last_save.0 + Duration::from_secs(self.conf.autosave_interval))
    }

    /// Whether a save is due at `now`.
    pub fn due(&self, broker: &Broker, now: Time) -> bool {
        if !self.conf.enabled || self.durable() || self.conf.autosave_interval == 0 {
            return false;
        }
        if self.conf.autosave_on_changes {
            broker.changes().saturating_sub(self.last_save.1) >= self.conf.autosave_interval
        } else {
            self.next_save().is_some_and(|at| at <= now)
        }
    }

    /// Writes the broker's state to the file (nothing when persistence is off); in durable
    /// mode, commits it and compacts the log into the snapshot. Returns the `Event::Saved` that
    /// reports what was written (`None` when persistence is off).
    pub fn save(&mut self, broker: &Broker, now: Time, wall_ms: u64) -> std::io::Result<Option<crate::broker::Event>> {
        self.last_save = (now, broker.changes());
        if !self.conf.enabled {
            return Ok(None);
        }
        let image = broker.image(now, wall_ms);
        if self.durable() {
            if self.begin_commit(broker, now, wall_ms)? {
                self.finish_commit()?;
            }
            self.compact(wall_ms)?;
        } else {
            self.storage.replace(&self.conf.path(), &format::encode_snapshot(&image, wall_ms))?;
        }
        Ok(Some(image.saved_event()))
    }

    /// The path saves go to.
    pub fn path(&self) -> PathBuf {
        self.conf.path()
    }
}

/// Milliseconds since the Unix epoch on this machine's clock: the wall clock of a broker over
/// real TCP (a simulated one uses the simulation's).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests;
