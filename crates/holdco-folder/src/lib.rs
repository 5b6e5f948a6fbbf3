//! Reading a model folder from disk into [`ModelFiles`] and writing one back: the file
//! IO that `holdco-core` (pure) leaves to its callers, shared by the command-line tool and
//! the test suites that load the bundled example.

use anyhow::{bail, Context, Result};
use holdco_core::format::{is_model_file, ModelFiles};
use std::path::{Path, PathBuf};

/// Reads every model file under `dir` (group.toml, timeline.toml, facts.csv, facts/*.csv,
/// fx.csv, the strategy documents and scenarios/*.toml).
pub fn read(dir: &Path) -> Result<ModelFiles> {
    let mut files = ModelFiles::new();
    for (name, path) in read_names(dir)? {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        files.insert(name, bytes);
    }
    Ok(files)
}

/// The model files [`read`] reads: their names in the folder and their paths.
pub fn read_names(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    if !dir.is_dir() {
        bail!("{} is not a folder (expected a model folder holding group.toml and timeline.toml; see docs/format.md)", dir.display());
    }
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_dir() && (name == "facts" || name == "scenarios") {
            for inner in std::fs::read_dir(entry.path())? {
                let inner = inner?;
                let inner_name = format!("{name}/{}", inner.file_name().to_string_lossy());
                candidates.push((inner_name, inner.path()));
            }
        } else {
            candidates.push((name, entry.path()));
        }
    }
    candidates.retain(|(name, path)| is_model_file(name) && path.is_file());
    Ok(candidates)
}

/// Writes files into `dir`, creating folders as needed.
pub fn write(dir: &Path, files: &ModelFiles) -> Result<()> {
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
