//! One build: the first `cargo grade` of a checkout reuses the dependencies that this
//! checkout's own `cargo test` compiled, instead of compiling them again in the slot's
//! work folder.
//!
//! Cargo names every artifact of a registry crate by a hash of the crate, its
//! features, profile and compiler, not of the folder it was built for, so the
//! work folder's build asks for the very files `target/debug/` already holds. Copied
//! into the slot's own target directory (times kept, so cargo finds them fresh), they
//! make the grader's build compile only the project's own crates (the lab crate, the
//! harness, the protocol and the suites: a few seconds).
//!
//! Only registry crates are copied (the project's `Cargo.lock`, which the work folder
//! builds with, names them),
//! never the project's own crates: those are always compiled from the work folder's
//! sources, so a test binary names the work folder as its home. And only the
//! `checkout` slot is seeded, from the checkout's own target directory: a submission's
//! build (one student of a batch after another) starts from its slot's own target and
//! nothing else, so nothing of one student's build reaches another's.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

use crate::project::Project;

/// The slot whose sources are this checkout's own.
const OWN_SLOT: &str = "checkout";
/// The profile `cargo test` builds the suites with.
const PROFILE_DIR: &str = "debug";
/// What cargo keeps per unit under the profile's folder: artifacts, build scripts'
/// output and fingerprints (never `incremental/`: the project's own crates only).
const UNIT_DIRS: &[&str] = &["deps", "build", ".fingerprint"];

/// What seeding copied.
#[derive(Debug, Default, PartialEq)]
pub struct Seeded {
    pub files: usize,
    pub bytes: u64,
}

/// Seeds the `slot`'s build in `work` from the project's own target directory: only
/// for the `checkout` slot and only while the slot has no build of its own. Returns
/// None when nothing was to be seeded.
pub fn from_own_build(project: &Project, slot: &str, work: &Path) -> Result<Option<Seeded>> {
    let from = project.target_dir().join(PROFILE_DIR);
    let to = work.join("target").join(PROFILE_DIR);
    if slot != OWN_SLOT || to.exists() || !from.join("deps").is_dir() {
        return Ok(None);
    }
    // The work folder's lock file is the project's (the overlay copies it as it is).
    let registry = registry_crates(&project.root)?;
    let mut seeded = Seeded::default();
    for unit_dir in UNIT_DIRS {
        let dir = from.join(unit_dir);
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if crate_of(name).is_some_and(|c| registry.contains(c)) {
                copy_keeping_times(&entry.path(), &to.join(unit_dir).join(name), &mut seeded)?;
            }
        }
    }
    Ok(Some(seeded))
}

/// The names of every registry crate the lock file in `dir` lists, as package
/// names and as the library names cargo derives from them (`proc-macro2`,
/// `proc_macro2`), since artifacts are named by either. Read from `Cargo.lock` rather
/// than `cargo metadata`, which would want every platform's crates downloaded; a crate
/// whose library is named otherwise is only not copied, and compiles.
fn registry_crates(dir: &Path) -> Result<BTreeSet<String>> {
    let path = dir.join("Cargo.lock");
    let lock: toml::Table = crate::project::files::read_to_string(&path)?
        .parse()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let packages = lock
        .get("package")
        .and_then(|p| p.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut names = BTreeSet::new();
    for package in packages {
        let from_registry = package
            .get("source")
            .and_then(|s| s.as_str())
            .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"));
        if let (true, Some(name)) = (from_registry, package.get("name").and_then(|n| n.as_str())) {
            names.insert(name.to_string());
            names.insert(name.replace('-', "_"));
        }
    }
    Ok(names)
}

/// The crate an entry of `deps/`, `build/` or `.fingerprint/` belongs to: its name
/// without the `-HASH` and the extension (`libnix-0123456789abcdef.rlib` is `nix`).
fn crate_of(entry: &str) -> Option<&str> {
    let stem = entry.split_once('.').map_or(entry, |(stem, _)| stem);
    let (name, hash) = stem.rsplit_once('-')?;
    if hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let is_library = [".rlib", ".rmeta", ".so"].iter().any(|ext| entry.ends_with(ext));
    Some(if is_library {
        name.strip_prefix("lib").unwrap_or(name)
    } else {
        name
    })
}

/// Copies a file or a folder, each file keeping its modification time (cargo compares
/// them: an artifact newer than what it was built from is fresh).
fn copy_keeping_times(from: &Path, to: &Path, seeded: &mut Seeded) -> Result<()> {
    let meta = fs::symlink_metadata(from).with_context(|| format!("cannot read {}", from.display()))?;
    if meta.is_dir() {
        for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
            let entry = entry.with_context(|| format!("cannot read {}", from.display()))?;
            copy_keeping_times(&entry.path(), &to.join(entry.file_name()), seeded)?;
        }
        return Ok(());
    }
    if !meta.is_file() {
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        crate::project::files::create_dir_all(parent)?;
    }
    let bytes = fs::copy(from, to).with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    let file = fs::File::options()
        .write(true)
        .open(to)
        .with_context(|| format!("cannot open {}", to.display()))?;
    file.set_modified(meta.modified()?)
        .with_context(|| format!("cannot set the time of {}", to.display()))?;
    seeded.files += 1;
    seeded.bytes += bytes;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_names_its_crate() {
        assert_eq!(crate_of("libnix-0123456789abcdef.rlib"), Some("nix"));
        assert_eq!(crate_of("libnix-0123456789abcdef.rmeta"), Some("nix"));
        assert_eq!(crate_of("nix-0123456789abcdef.d"), Some("nix"));
        assert_eq!(crate_of("librstest_macros-0123456789abcdef.so"), Some("rstest_macros"));
        assert_eq!(crate_of("proc-macro2-0123456789abcdef"), Some("proc-macro2"));
        assert_eq!(crate_of("libc-0123456789abcdef"), Some("libc"), "a fingerprint folder");
        assert_eq!(crate_of("liblibc-0123456789abcdef.rlib"), Some("libc"));
        assert_eq!(crate_of("lab01_full-0123456789abcdef"), Some("lab01_full"));
        assert_eq!(crate_of("munmap-lab-probe"), None, "no hash: an uplifted binary");
        assert_eq!(crate_of(".cargo-lock"), None);
    }

    #[test]
    fn only_registry_crates_of_the_lock_file_are_copied() {
        let dir = crate::project::temp_dir("seed-lock");
        std::fs::write(
            dir.join("Cargo.lock"),
            "version = 4\n\n[[package]]\nname = \"munmap-lab\"\nversion = \"0.1.0\"\n\n[[package]]\n\
             name = \"proc-macro2\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        )
        .unwrap();
        let names = registry_crates(&dir).unwrap();
        assert_eq!(names, ["proc-macro2", "proc_macro2"].map(String::from).into());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_copy_keeps_its_time_and_only_the_checkout_is_seeded() {
        let dir = crate::project::temp_dir("seed-copy");
        let from = dir.join("from/x-0123456789abcdef");
        fs::create_dir_all(&from).unwrap();
        fs::write(from.join("out"), "12345").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        fs::File::options()
            .write(true)
            .open(from.join("out"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut seeded = Seeded::default();
        copy_keeping_times(&from, &dir.join("to/x-0123456789abcdef"), &mut seeded).unwrap();
        assert_eq!(seeded, Seeded { files: 1, bytes: 5 });
        let copied = fs::metadata(dir.join("to/x-0123456789abcdef/out")).unwrap();
        assert_eq!(copied.modified().unwrap(), old);

        let project = Project::bare(&dir);
        fs::create_dir_all(dir.join("target/debug/deps")).unwrap();
        assert_eq!(from_own_build(&project, "submission", &dir.join("work")).unwrap(), None);
        assert_eq!(from_own_build(&project, "solutions", &dir.join("work")).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }
}
