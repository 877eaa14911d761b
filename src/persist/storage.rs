//! Where persistence files live: a small trait with the few file operations persistence needs,
//! and two implementations, the real disk (`std::fs`) and turmoil's simulated one (whose crash
//! semantics are the point: writes not synced are lost with the host). Paths are whole paths.
//!
//! The operations are synchronous: the broker saves in its loop, as mosquitto does. Over real TCP
//! that blocks the loop for the length of a write and an fsync.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file operations persistence uses.
pub trait Storage: Send + 'static {
    /// The whole file, or `None` if there is none.
    fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Replaces the file with `bytes` so a crash leaves either the old file or the new one:
    /// the bytes go to `path` + `.new`, are synced, and the new file is renamed over the old one
    /// and its directory synced (mosquitto 2.0 writes `mosquitto.db.new`, syncs it and renames
    /// it the same way).
    fn replace(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.write_new(path, bytes)?;
        self.install_new(path)
    }
    /// The first half of `replace`: writes `bytes` to `path` + `.new`, not yet synced. Nothing
    /// reads a `.new` file, so a crash now leaves the old file in charge.
    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// The second half of `replace`: syncs `path` + `.new` and renames it over `path`, durably.
    fn install_new(&mut self, path: &Path) -> io::Result<()>;
    /// Appends `bytes` to the file, creating it if there is none (and then syncing its
    /// directory, so the file itself survives a crash). The bytes are durable only after `sync`.
    fn append(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything written to the file durable (fsync).
    fn sync(&mut self, path: &Path) -> io::Result<()>;
    /// Cuts the file to its first `len` bytes, durably.
    fn truncate(&mut self, path: &Path, len: u64) -> io::Result<()>;
    /// Renames `from` to `to` (replacing it), durably; nothing if there is no `from`.
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
}

impl Storage for Box<dyn Storage> {
    fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        (**self).read(path)
    }
    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        (**self).write_new(path, bytes)
    }
    fn install_new(&mut self, path: &Path) -> io::Result<()> {
        (**self).install_new(path)
    }
    fn append(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        (**self).append(path, bytes)
    }
    fn sync(&mut self, path: &Path) -> io::Result<()> {
        (**self).sync(path)
    }
    fn truncate(&mut self, path: &Path, len: u64) -> io::Result<()> {
        (**self).truncate(path, len)
    }
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        (**self).rename(from, to)
    }
}

fn new_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn absent_is_none(r: io::Result<Vec<u8>>) -> io::Result<Option<Vec<u8>>> {
    match r {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The machine's own disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskStorage;

impl Storage for DiskStorage {
    fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        absent_is_none(std::fs::read(path))
    }

    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        std::fs::File::create(new_path(path))?.write_all(bytes)
    }

    fn install_new(&mut self, path: &Path) -> io::Result<()> {
        let new = new_path(path);
        std::fs::File::open(&new)?.sync_all()?;
        std::fs::rename(&new, path)?;
        // The rename is durable once the directory is.
        std::fs::File::open(dir_of(path))?.sync_all()
    }

    fn append(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let new = !path.exists();
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(bytes)?;
        if new {
            file.sync_all()?;
            std::fs::File::open(dir_of(path))?.sync_all()?;
        }
        Ok(())
    }

    fn sync(&mut self, path: &Path) -> io::Result<()> {
        std::fs::OpenOptions::new().append(true).open(path)?.sync_data()
    }

    fn truncate(&mut self, path: &Path, len: u64) -> io::Result<()> {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        match std::fs::rename(from, to) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r.and_then(|()| std::fs::File::open(dir_of(to))?.sync_all()),
        }
    }
}

/// The simulated disk of the turmoil host this runs on: usable only inside a simulation, from
/// the host's own code.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimStorage;

impl Storage for SimStorage {
    fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        absent_is_none(turmoil::fs::shim::std::fs::read(path))
    }

    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use turmoil::fs::shim::std::fs;
        fs::create_dir_all(dir_of(path))?;
        fs::File::create(new_path(path))?.write_all(bytes)
    }

    fn install_new(&mut self, path: &Path) -> io::Result<()> {
        use turmoil::fs::shim::std::fs;
        let new = new_path(path);
        fs::OpenOptions::new().append(true).open(&new)?.sync_all()?;
        fs::rename(&new, path)?;
        fs::sync_dir(dir_of(path))
    }

    fn append(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use turmoil::fs::shim::std::fs;
        let new = !fs::exists(path);
        if new {
            fs::create_dir_all(dir_of(path))?;
        }
        let mut file = fs::OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(bytes)?;
        if new {
            file.sync_all()?;
            fs::sync_dir(dir_of(path))?;
        }
        Ok(())
    }

    fn sync(&mut self, path: &Path) -> io::Result<()> {
        turmoil::fs::shim::std::fs::OpenOptions::new().append(true).open(path)?.sync_data()
    }

    fn truncate(&mut self, path: &Path, len: u64) -> io::Result<()> {
        let file = turmoil::fs::shim::std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        use turmoil::fs::shim::std::fs;
        if !fs::exists(from) {
            return Ok(());
        }
        fs::rename(from, to)?;
        fs::sync_dir(dir_of(to))
    }
}

/// Files in memory: for tests, and for tools that want persistence without a disk. Writes are
/// durable at once (no crash semantics: the simulated disk has those).
#[derive(Debug, Default, Clone)]
pub struct MemStorage {
    pub files: std::collections::BTreeMap<PathBuf, Vec<u8>>,
}

impl Storage for MemStorage {
    fn read(&mut self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        Ok(self.files.get(path).cloned())
    }

    fn write_new(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.files.insert(new_path(path), bytes.to_vec());
        Ok(())
    }

    fn install_new(&mut self, path: &Path) -> io::Result<()> {
        let bytes = self.files.remove(&new_path(path)).ok_or(io::ErrorKind::NotFound)?;
        self.files.insert(path.to_owned(), bytes);
        Ok(())
    }

    fn append(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.files.entry(path.to_owned()).or_default().extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self, _: &Path) -> io::Result<()> {
        Ok(())
    }

    fn truncate(&mut self, path: &Path, len: u64) -> io::Result<()> {
        if let Some(f) = self.files.get_mut(path) {
            f.truncate(len as usize);
        }
        Ok(())
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        if let Some(bytes) = self.files.remove(from) {
            self.files.insert(to.to_owned(), bytes);
        }
        Ok(())
    }
}
