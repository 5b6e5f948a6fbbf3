//! Reading a model folder from disk into [`ModelFiles`] and writing one back: the file
//! IO that `holdco-core` (pure) leaves to its callers, shared by the command-line tool and
//! the test suites that load the bundled example.
//!
//! Both directions treat the folder as the boundary of what holdco touches: reading refuses
//! links that lead out of it and anything that is not a regular file (a FIFO would block, a
//! device never ends) and says which; writing never goes through a link, stages the files
//! beside the target and moves each into place with a rename, so a failure leaves either the
//! old file or the new one, never half of one.
#![forbid(unsafe_code)]

use anyhow::{bail, Context, Result};
use holdco_core::format::{
    is_model_file, read_model, ModelFiles, FACTS_DIR, FACTS_FILE, SCENARIOS_DIR,
};
use std::collections::BTreeMap;
use std::fs::FileType;
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

/// What a directory entry is, for the messages about entries holdco won't read.
fn kind_of(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a link"
    } else {
        "not a regular file"
    }
}

/// The path `path` (an entry of the model folder, itself canonical as `root`) leads to, when
/// it stays inside the folder; an error naming `name` otherwise. The content of a file
/// outside is never read, so no message can quote it.
fn inside(root: &Path, name: &str, path: &Path) -> Result<PathBuf> {
    let metadata =
        std::fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !metadata.file_type().is_symlink() {
        return Ok(path.to_path_buf());
    }
    let target = std::fs::canonicalize(path).with_context(|| {
        format!("{name} is a link that leads nowhere (its target does not exist)")
    })?;
    if !target.starts_with(root) {
        bail!(
            "{name} is a link to a file outside the model folder; holdco reads only files inside the folder (copy the file in, or link within the folder)"
        );
    }
    Ok(target)
}

/// The model files [`read`] reads: their names in the folder and their paths. Refuses links
/// that leave the folder and model-file names that are not regular files (FIFOs, devices,
/// sockets), naming each; other files are none of holdco's business and are left alone.
pub fn read_names(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    if !dir.is_dir() {
        bail!("{} is not a folder (expected a model folder holding group.toml and timeline.toml; see docs/format.md)", dir.display());
    }
    let root = std::fs::canonicalize(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut candidates: Vec<(String, PathBuf)> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        let is_subfolder = name == FACTS_DIR || name == SCENARIOS_DIR;
        if !is_subfolder && !is_model_file(&name) {
            continue;
        }
        let path = match inside(&root, &name, &entry.path()) {
            Ok(path) => path,
            Err(error) => {
                refused.push(format!("{error:#}"));
                continue;
            }
        };
        if is_subfolder && path.is_dir() {
            for inner in
                std::fs::read_dir(&path).with_context(|| format!("reading {}", path.display()))?
            {
                let inner = inner?;
                let inner_name = format!("{name}/{}", inner.file_name().to_string_lossy());
                if is_model_file(&inner_name) {
                    match inside(&root, &inner_name, &inner.path()) {
                        Ok(path) => candidates.push((inner_name, path)),
                        Err(error) => refused.push(format!("{error:#}")),
                    }
                }
            }
        } else if !is_subfolder {
            candidates.push((name, path));
        }
    }
    for (name, path) in &candidates {
        let file_type = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .file_type();
        if !file_type.is_file() {
            refused.push(format!(
                "{name} is {}, not a regular file; holdco reads only regular files",
                kind_of(file_type)
            ));
        }
    }
    if !refused.is_empty() {
        refused.sort();
        bail!(
            "{} in {}:\n  {}",
            if refused.len() == 1 {
                "a file holdco won't read"
            } else {
                "files holdco won't read"
            },
            dir.display(),
            refused.join("\n  ")
        );
    }
    candidates.sort();
    Ok(candidates)
}

/// Writes `files` as the model files of `dir`. A new or empty folder is written whole
/// beside it and renamed into place. An existing folder keeps everything that is not a
/// model file (README, charts, .git); its model files become exactly `files`: each written
/// beside and renamed over the old one (a link there is replaced, never written through),
/// and model files that `files` lacks are removed, so no stale fact file survives.
pub fn write(dir: &Path, files: &ModelFiles) -> Result<()> {
    if let Some(bad) = files.keys().find(|name| !is_model_file(name)) {
        bail!("{bad} is not a model file name; nothing was written");
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".holdco-write-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a temporary folder in {}", parent.display()))?;
    for (name, bytes) in files {
        let path = staging.path().join(name);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating {}", folder.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let metadata = std::fs::symlink_metadata(dir).ok();
    let empty = match &metadata {
        None => true,
        Some(m) if m.is_dir() => std::fs::read_dir(dir)?.next().is_none(),
        Some(m) if m.file_type().is_symlink() => bail!(
            "{} is a link; holdco won't write through it (give the folder it leads to)",
            dir.display()
        ),
        Some(_) => bail!("{} exists and is not a folder", dir.display()),
    };
    if empty {
        if metadata.is_some() {
            std::fs::remove_dir(dir)
                .with_context(|| format!("replacing the empty folder {}", dir.display()))?;
        }
        std::fs::rename(staging.path(), dir)
            .with_context(|| format!("moving the written folder into {}", dir.display()))?;
        let _ = staging.keep();
        return Ok(());
    }
    replace_model_files(dir, staging.path(), files)
}

/// Swaps the staged files into the existing folder `dir` and removes its other model files.
fn replace_model_files(dir: &Path, staged: &Path, files: &ModelFiles) -> Result<()> {
    for sub in [FACTS_DIR, SCENARIOS_DIR] {
        let path = dir.join(sub);
        if let Ok(m) = std::fs::symlink_metadata(&path) {
            if m.file_type().is_symlink() {
                bail!(
                    "{} is a link; export won't write through it (replace it with a folder)",
                    path.display()
                );
            }
        }
    }
    // Every entry named like a model file goes, links included (removing a link removes the
    // link, not what it points to).
    let mut old: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name == FACTS_DIR || name == SCENARIOS_DIR {
            if entry.file_type()?.is_dir() {
                for inner in std::fs::read_dir(entry.path())? {
                    let inner = inner?;
                    if is_model_file(&format!("{name}/{}", inner.file_name().to_string_lossy()))
                        && !inner.file_type()?.is_dir()
                    {
                        old.push(inner.path());
                    }
                }
            }
        } else if is_model_file(&name) && !entry.file_type()?.is_dir() {
            old.push(entry.path());
        }
    }
    for name in files.keys() {
        let target = dir.join(name);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating {}", folder.display()))?;
        }
        // rename(2) replaces whatever is at `target` (a file or a link) as one step.
        std::fs::rename(staged.join(name), &target)
            .with_context(|| format!("moving {name} into {}", dir.display()))?;
    }
    for path in old {
        let name = path
            .strip_prefix(dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !files.contains_key(&name) {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the stale {}", path.display()))?;
        }
    }
    Ok(())
}

/// Where each fact of the model folder `dir` is written now (its key to its file), so that an
/// export into the folder a model came from keeps its layout (`facts/*.csv` stays split).
/// Empty when the folder holds no readable model.
pub fn fact_layout(dir: &Path) -> BTreeMap<holdco_core::FactKey, String> {
    let Ok(files) = read(dir) else {
        return BTreeMap::new();
    };
    let (model, _) = read_model(&files);
    model
        .map(|m| {
            m.facts
                .into_iter()
                .filter(|f| f.origin.file == FACTS_FILE || f.origin.file.starts_with("facts/"))
                .map(|f| (f.key, f.origin.file))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn files(pairs: &[(&str, &str)]) -> ModelFiles {
        pairs
            .iter()
            .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    /// Item 14: a link already in the target folder was followed and a file outside it
    /// overwritten; now the link itself is replaced and the outside file is untouched.
    #[test]
    fn writing_replaces_links_and_never_writes_through_them() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("secret.txt");
        std::fs::write(&outside, "keep me").unwrap();
        let target = dir.path().join("model");
        std::fs::create_dir_all(target.join("facts")).unwrap();
        std::fs::write(target.join("README.md"), "mine").unwrap();
        symlink(&outside, target.join("group.toml")).unwrap();
        symlink(&outside, target.join("facts/old.csv")).unwrap();
        write(
            &target,
            &files(&[
                ("group.toml", "g"),
                ("timeline.toml", "t"),
                ("facts/a.csv", "f"),
            ]),
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
        assert_eq!(
            std::fs::read_to_string(target.join("group.toml")).unwrap(),
            "g"
        );
        assert!(!std::fs::symlink_metadata(target.join("group.toml"))
            .unwrap()
            .file_type()
            .is_symlink());
        // Stale model files go (the link only), everything else stays.
        assert!(std::fs::symlink_metadata(target.join("facts/old.csv")).is_err());
        assert_eq!(
            std::fs::read_to_string(target.join("README.md")).unwrap(),
            "mine"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".holdco"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // A linked facts folder is refused rather than written through.
        let other = dir.path().join("elsewhere");
        std::fs::create_dir(&other).unwrap();
        std::fs::remove_dir_all(target.join("facts")).unwrap();
        symlink(&other, target.join("facts")).unwrap();
        let error = write(
            &target,
            &files(&[("group.toml", "g"), ("facts/a.csv", "f")]),
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("is a link"), "{error:#}");
        assert!(std::fs::read_dir(&other).unwrap().next().is_none());
    }

    /// Item 15: a fact file linked to a file outside the folder was read (and its first line
    /// quoted in an error); now it is refused by name and never opened.
    #[test]
    fn links_leaving_the_folder_are_refused_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("secrets");
        std::fs::write(&outside, "password=hunter2\n").unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir_all(model.join("facts")).unwrap();
        std::fs::write(model.join("group.toml"), "").unwrap();
        symlink(&outside, model.join("facts/leak.csv")).unwrap();
        let error = format!("{:#}", read(&model).unwrap_err());
        assert!(
            error.contains("facts/leak.csv is a link to a file outside the model folder"),
            "{error}"
        );
        assert!(!error.contains("hunter2"));
        // A link within the folder is fine.
        std::fs::remove_file(model.join("facts/leak.csv")).unwrap();
        std::fs::write(model.join("facts/real.csv"), "x").unwrap();
        symlink(model.join("facts/real.csv"), model.join("facts/alias.csv")).unwrap();
        assert_eq!(read(&model).unwrap().len(), 3);
    }

    /// Item 17: a FIFO or a link to /dev/zero named *.csv was skipped silently; now each is
    /// named as what it is.
    #[test]
    fn fifos_and_devices_are_named_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model");
        std::fs::create_dir_all(model.join("facts")).unwrap();
        std::fs::write(model.join("group.toml"), "").unwrap();
        let fifo = model.join("facts/pipe.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if made {
            let error = format!("{:#}", read(&model).unwrap_err());
            assert!(
                error.contains("facts/pipe.csv is a FIFO (named pipe), not a regular file"),
                "{error}"
            );
            std::fs::remove_file(&fifo).unwrap();
        }
        symlink("/dev/zero", model.join("fx.csv")).unwrap();
        let error = format!("{:#}", read(&model).unwrap_err());
        assert!(
            error.contains("fx.csv is a link to a file outside the model folder"),
            "{error}"
        );
    }
}
