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

pub mod format;
pub mod storage;

use std::path::PathBuf;
use std::time::Duration;

use crate::broker::{Broker, Config};
use crate::time::Time;
pub use storage::{DiskStorage, SimStorage, Storage};

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
}

impl Default for PersistenceConf {
    fn default() -> PersistenceConf {
        PersistenceConf {
            enabled: false,
            location: PathBuf::new(),
            file: "mosquitto.db".to_owned(),
            autosave_interval: 1800,
            autosave_on_changes: false,
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

/// Loads and saves one broker's persistence file, and keeps the autosave schedule.
pub struct Persister<S: Storage> {
    conf: PersistenceConf,
    storage: S,
    /// When the last save was (or the broker started), and its change count then.
    last_save: (Time, u64),
}

impl<S: Storage> Persister<S> {
    pub fn new(conf: PersistenceConf, storage: S) -> Persister<S> {
        Persister { conf, storage, last_save: (Time::ZERO, 0) }
    }

    pub fn conf(&self) -> &PersistenceConf {
        &self.conf
    }

    /// The broker to start with: the one the file keeps, or an empty one if there is no file
    /// (or persistence is off). A file that cannot be read or trusted is an error: the broker
    /// refuses to start rather than silently lose what the file holds.
    pub fn load(&mut self, config: Config, now: Time, wall_ms: u64) -> Result<Broker, LoadError> {
        self.last_save = (now, 0);
        if !self.conf.enabled {
            return Ok(Broker::new(config));
        }
        let path = self.conf.path();
        let bytes = self.storage.read(&path).map_err(|error| LoadError::Io { path: path.clone(), error })?;
        let Some(bytes) = bytes else {
            return Ok(Broker::new(config));
        };
        let (image, _saved_at) =
            format::decode_snapshot(&bytes).map_err(|error| LoadError::Format { path: path.clone(), error })?;
        Broker::restore(config, &image, now, wall_ms).map_err(|error| LoadError::Image { path, error })
    }

    /// When the next save by time is due, if saves go by time.
    pub fn next_save(&self) -> Option<Time> {
        (self.conf.enabled && !self.conf.autosave_on_changes && self.conf.autosave_interval > 0)
            .then(|| self.last_save.0 + Duration::from_secs(self.conf.autosave_interval))
    }

    /// Whether a save is due at `now`.
    pub fn due(&self, broker: &Broker, now: Time) -> bool {
        if !self.conf.enabled || self.conf.autosave_interval == 0 {
            return false;
        }
        if self.conf.autosave_on_changes {
            broker.changes().saturating_sub(self.last_save.1) >= self.conf.autosave_interval
        } else {
            self.next_save().is_some_and(|at| at <= now)
        }
    }

    /// Writes the broker's state to the file (nothing when persistence is off).
    pub fn save(&mut self, broker: &Broker, now: Time, wall_ms: u64) -> std::io::Result<()> {
        self.last_save = (now, broker.changes());
        if !self.conf.enabled {
            return Ok(());
        }
        let bytes = format::encode_snapshot(&broker.image(now, wall_ms), wall_ms);
        self.storage.replace(&self.conf.path(), &bytes)
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
