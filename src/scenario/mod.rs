//! YAML scenarios: the format (`model`, `values`, `wire` for packet-level expectations, `props` for 5.0
//! properties), reading it with file:line:column errors
//! (`load`, `position`), and finding files (`discover`). Nothing here runs a scenario:
//! `harness::executor` does, on the network `sim` or `check` gives it. docs/scenarios.md is the
//! user's guide.

mod expectations;
pub mod load;
pub mod model;
pub mod position;
pub mod props;
pub mod scripted;
mod steps;
pub mod values;
pub mod wire;

use std::path::{Path, PathBuf};

pub use load::{load, parse, ScenarioError};
pub use model::Scenario;

/// Every `*.yaml` file under `root` (a file or a folder), in path order.
pub fn discover(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A scenario's name for tests and snapshots: its path under `scenarios/` without the
/// extension, with `/` as `__` (`seed/offline_queue.yaml` -> `seed__offline_queue`).
pub fn test_name(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.with_extension("").to_string_lossy().replace(['/', '\\'], "__")
}

/// The `scenarios/` folder a path lies in (its nearest ancestor of that name), else the path
/// itself if it is a folder, else its parent. Test names and snapshot names are relative to it.
pub fn scenarios_root(path: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    for ancestor in abs.ancestors() {
        if ancestor.file_name().is_some_and(|n| n == "scenarios") {
            return ancestor.to_path_buf();
        }
    }
    if abs.is_dir() {
        abs
    } else {
        abs.parent().map(Path::to_path_buf).unwrap_or(abs)
    }
}
