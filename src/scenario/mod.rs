//! YAML scenarios: the format (`model`, `values`), reading it with file:line:column errors
//! (`load`, `position`), running it in simulation (`runner`, `expect`), and the snapshot of a
//! run (`snapshot`). docs/scenarios.md is the user's guide.

pub mod expect;
pub mod load;
pub mod model;
pub mod position;
pub mod runner;
pub mod snapshot;
pub mod suite;
pub mod values;

use std::path::{Path, PathBuf};

pub use load::{load, parse, ScenarioError};
pub use model::Scenario;
#[cfg(feature = "mutants")]
pub use runner::run_with_mutant;
pub use runner::{run, Failure, RunResult};

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
