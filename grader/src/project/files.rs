//! File operations whose errors say what was being done and to which file
//! (`cannot read PATH: No such file or directory`): every message of the grader names
//! the file it could not handle, and no call site spells that out again.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn write(path: &Path, content: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))
}

pub fn create_dir_all(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))
}

/// `write`, creating the folders on the way first.
pub fn write_creating(path: &Path, content: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    write(path, content)
}

/// The entries of the folder `dir`, in no particular order.
pub fn list(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let cannot = || format!("cannot list {}", dir.display());
    std::fs::read_dir(dir)
        .with_context(cannot)?
        .map(|entry| entry.with_context(cannot))
        .collect()
}

/// Calls `visit(relative path, path)` for every file under `dir`, skipping `target/`
/// at the top and every `.git/`. Symbolic links are reported, never followed.
///
/// An entry that cannot be listed is an error, never skipped: the work folder's sync
/// would leave a file it should remove, and its build files would lack one.
pub fn walk(base: &Path, dir: &Path, visit: &mut dyn FnMut(&str, &Path) -> Result<()>) -> Result<()> {
    let mut entries: Vec<PathBuf> = list(dir)?.iter().map(std::fs::DirEntry::path).collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(base)
            .expect("walk stays under its base")
            .to_string_lossy()
            .replace('\\', "/");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let meta = std::fs::symlink_metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            if name == ".git" || (rel == "target" && dir == base) {
                continue;
            }
            walk(base, &path, visit)?;
        } else {
            visit(&rel, &path)?;
        }
    }
    Ok(())
}
