//! The pristine project (the grader's own checkout) as one value, [`Project`], read
//! once per run and passed to every stage: where it is, its labs (the registry,
//! `rubric.toml`), their stubs and how they were handed out. Also where the builds go
//! (the shared target directory) and a clean environment for everything the grader starts.

pub mod files;
pub mod labs;
pub mod limits;
pub mod manifest;
pub mod rubric;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use rubric::Lab;

/// The registry of labs, relative to the project root: the rubric names every lab (one
/// table per lab, named like its files) and gives each test its points.
pub const REGISTRY: &str = "rubric.toml";

/// The pristine project every source is laid over, read once.
#[derive(Debug)]
pub struct Project {
    /// The project's folder (see [`root`]).
    pub root: PathBuf,
    /// Every lab of the registry, sorted by id: title, summary and each test's points.
    pub labs: Vec<Lab>,
    /// The stubs, `labs/*.rs`, by file stem (in a student's handout: the student's files).
    pub stubs: BTreeMap<String, Vec<u8>>,
    /// Each lab file as it was handed out, by stem: its [`labs::fingerprint`].
    pub handed_out: BTreeMap<String, String>,
    /// What grading one submission may cost (`[limits]` of the registry).
    pub limits: limits::Limits,
    /// The target directory cargo builds the project into, asked once (`cargo metadata`).
    pub target: PathBuf,
}

impl Project {
    /// Reads the project at `root`: the registry (checked; every error names the file
    /// and the entry), the stubs, and the handed-out fingerprints.
    pub fn load(root: &Path) -> Result<Project> {
        let registry = root.join(REGISTRY);
        let text = files::read_to_string(&registry)?;
        let labs = rubric::parse(&text).with_context(|| registry.display().to_string())?;
        let limits = limits::parse(&text).with_context(|| registry.display().to_string())?;
        let stubs = labs::stubs(root)?;
        let handed_out = labs::handed_out_labs(root, &stubs)?;
        Ok(Project {
            root: root.to_path_buf(),
            labs,
            stubs,
            handed_out,
            limits,
            target: cargo_target_dir(root)?,
        })
    }

    /// A project at `root` with nothing read (no labs, no stubs), for unit tests that
    /// need only where it is.
    #[cfg(test)]
    pub fn bare(root: &Path) -> Project {
        Project {
            root: root.to_path_buf(),
            labs: Vec::new(),
            stubs: BTreeMap::new(),
            handed_out: BTreeMap::new(),
            limits: limits::Limits::default(),
            target: root.join("target"),
        }
    }

    /// Whether this is the full project (a student's handout has no `solutions/`).
    pub fn has_solutions(&self) -> bool {
        self.root.join("solutions").is_dir()
    }

    /// The target directory shared by every build the grader makes, so dependencies
    /// compile once: the one cargo builds the project into (asked when it was loaded).
    pub fn target_dir(&self) -> PathBuf {
        self.target.clone()
    }

    /// The grader's own scratch space inside the target directory.
    pub fn grader_dir(&self) -> PathBuf {
        self.target_dir().join("munmap-grader")
    }

    /// `cargo` (the one running us, when run through cargo), with the grading environment.
    pub fn cargo(&self) -> Command {
        let mut cmd = clean_command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.env("CARGO_TARGET_DIR", self.target_dir());
        cmd
    }
}

/// The grader's own checkout: the project root above `grader/`. It is the pristine
/// copy every submission is laid over.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ lives in the project")
        .to_path_buf()
}

/// The target directory cargo builds the project at `root` into, as `cargo metadata`
/// says (`CARGO_TARGET_DIR`, `build.target-dir` of a cargo config, or `target/`).
/// A folder without a manifest builds nothing; its target directory is nominal.
fn cargo_target_dir(root: &Path) -> Result<PathBuf> {
    if !root.join("Cargo.toml").is_file() {
        return Ok(root.join("target"));
    }
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(root.join("Cargo.toml"))
        // Cargo finds its config files from the folder it runs in.
        .current_dir(root)
        .no_deps()
        .exec()
        .with_context(|| format!("cannot ask cargo for the target directory of {}", root.display()))?;
    Ok(metadata.target_directory.into_std_path_buf())
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

/// This checkout, read as a [`Project`], for unit tests.
#[cfg(test)]
pub fn this_project() -> Project {
    Project::load(&root()).expect("this checkout is a project")
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
        let project = this_project();
        let dir = project.target_dir();
        assert!(dir.is_absolute(), "{}", dir.display());
        let exe = std::env::current_exe().unwrap();
        assert!(exe.starts_with(&dir), "{} is not in {}", exe.display(), dir.display());
        assert_eq!(project.grader_dir(), dir.join("munmap-grader"));
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
