//! Where things are: the pristine project (the grader's own checkout), the shared
//! target directory, and a clean environment for everything the grader starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result};

/// The grader's own checkout: the project root above `grader/`. It is the pristine
/// copy every submission is laid over.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ lives in the project")
        .to_path_buf()
}

/// The target directory shared by every build the grader makes, so dependencies
/// compile once: the one cargo builds the project into, as `cargo metadata` says
/// (`CARGO_TARGET_DIR`, `build.target-dir` of a cargo config, or `target/`). Asked once
/// per project root.
pub fn target_dir(root: &Path) -> Result<PathBuf> {
    static KNOWN: Mutex<BTreeMap<PathBuf, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = known.get(root) {
        return Ok(dir.clone());
    }
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        // Cargo finds its config files from the folder it runs in.
        .current_dir(root)
        .no_deps()
        .exec()
        .with_context(|| format!("cannot ask cargo for the target directory of {}", root.display()))?;
    let dir = metadata.target_directory.into_std_path_buf();
    known.insert(root.to_path_buf(), dir.clone());
    Ok(dir)
}

/// The grader's own scratch space inside the target directory.
pub fn grader_dir(root: &Path) -> Result<PathBuf> {
    Ok(target_dir(root)?.join("munmap-grader"))
}

/// Variables that would change how lab code is built or judged, whoever set them.
fn is_unwanted(key: &str) -> bool {
    key.starts_with("INSTA_")
        || key.starts_with("MUNMAP_LAB_")
        || key.starts_with("CARGO_BUILD_")
        || key.starts_with("CARGO_PROFILE_")
        || key.starts_with("CARGO_TARGET_")
        || key.starts_with("CARGO_ENCODED_")
        || matches!(
            key,
            "RUSTFLAGS" | "RUSTDOCFLAGS" | "RUSTC_WRAPPER" | "RUSTC_WORKSPACE_WRAPPER" | "RUSTC" | "CARGO_INCREMENTAL"
        )
}

/// A command with the grading environment: CI=true (insta writes nothing), no
/// INSTA_* (so never INSTA_FORCE_PASS or an update mode), no RUSTFLAGS or wrappers.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_none_or(is_unwanted) {
            cmd.env_remove(key);
        }
    }
    cmd.env("CI", "true")
        .env("INSTA_UPDATE", "no")
        .env("RUST_BACKTRACE", "0")
        .env("CARGO_TERM_COLOR", "never");
    cmd
}

/// `cargo` (the one running us, when run through cargo), with the grading environment.
pub fn cargo(root: &Path) -> Result<Command> {
    let mut cmd = clean_command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.env("CARGO_TARGET_DIR", target_dir(root)?);
    Ok(cmd)
}

/// A fresh, empty folder for one unit test: `munmap-grader-NAME-PID` in the system's
/// temporary folder (the pid keeps concurrent test runs apart).
#[cfg(test)]
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("munmap-grader-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grader's target directory is the one cargo built this very test into.
    #[test]
    fn the_target_dir_is_cargos() {
        let dir = target_dir(&root()).unwrap();
        assert!(dir.is_absolute(), "{}", dir.display());
        let exe = std::env::current_exe().unwrap();
        assert!(exe.starts_with(&dir), "{} is not in {}", exe.display(), dir.display());
        assert_eq!(grader_dir(&root()).unwrap(), dir.join("munmap-grader"));
    }

    #[test]
    fn strips_what_could_change_the_build_or_the_verdict() {
        for key in [
            "INSTA_FORCE_PASS",
            "INSTA_UPDATE",
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTC_WRAPPER",
            "MUNMAP_LAB_REPORT",
            "CARGO_BUILD_RUSTFLAGS",
        ] {
            assert!(is_unwanted(key), "{key}");
        }
        for key in ["PATH", "HOME", "CARGO_HOME", "RUSTUP_TOOLCHAIN", "CARGO"] {
            assert!(!is_unwanted(key), "{key}");
        }
    }
}
