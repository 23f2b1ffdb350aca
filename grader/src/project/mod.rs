//! Where things are: the pristine project (the grader's own checkout), the shared
//! target directory, and a clean environment for everything the grader starts.

pub mod files;
pub mod labs;
pub mod manifest;
pub mod rubric;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The grader's own checkout: the project root above `grader/`. It is the pristine
/// copy every submission is laid over.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ lives in the project")
        .to_path_buf()
}

/// The target directory shared by every build the grader makes, so dependencies
/// compile once: cargo's own (`CARGO_TARGET_DIR` or `target/` of the project).
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The grader's own scratch space inside the target directory.
pub fn grader_dir(root: &Path) -> PathBuf {
    target_dir(root).join("munmap-grader")
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
pub fn cargo(root: &Path) -> Command {
    let mut cmd = clean_command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.env("CARGO_TARGET_DIR", target_dir(root));
    cmd
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
