//! Compile-fail checks without trybuild: does a small snippet compile against the
//! very build of this crate that the running test binary links?
//!
//! trybuild builds a whole copy of the crate and its dependencies in a target
//! directory of its own (tens of seconds on a small machine, the first time). A
//! snippet only needs the crate's metadata, so [`check`] runs `rustc --emit=metadata`
//! on it with `--extern munmap_lab=<rlib>` from the test binary's own `deps/`
//! directory: a fraction of a second per snippet.
//!
//! The right rlib: `deps/` may hold two builds of this crate (stubs and, with the
//! `solutions` feature, solutions). Each rlib records its module source paths, so the
//! one whose metadata names `labs/<lab>.rs` (or `solutions/<lab>.rs`, whichever this
//! build uses) is the one this test binary links; the newest wins if several do.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What `rustc` said about a snippet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compiled {
    /// It compiled.
    Yes,
    /// It did not; the diagnostics (`--error-format=short`).
    No(String),
}

impl Compiled {
    /// The error codes in the diagnostics (`E0382`, ...), in order.
    pub fn error_codes(&self) -> Vec<String> {
        match self {
            Compiled::Yes => Vec::new(),
            Compiled::No(text) => text
                .match_indices("error[E")
                .map(|(at, _)| {
                    text[at + 6..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect()
                })
                .collect(),
        }
    }
}

/// Error codes that mean the toolchain cannot read this build (a different rustc, a
/// missing crate), not that the snippet is wrong.
const SETUP_ERRORS: [&str; 3] = ["E0460", "E0463", "E0514"];

/// Compiles `source` as a library crate named `name` against the lab crate (the build
/// from `lab_file`, e.g. `labs/lab08_ownership.rs`, that the test binary links), in `work_dir`. `Err` says why it could not be
/// tried at all (no rustc, no rlib, an incompatible toolchain): a reason to skip.
pub fn check(name: &str, source: &str, lab_file: &str, work_dir: &Path) -> Result<Compiled, String> {
    let deps = deps_dir()?;
    let rustc = find_rustc(&deps)?;
    let rlib = own_rlib(&deps, lab_file)?;
    let file = work_dir.join(format!("{name}.rs"));
    std::fs::write(&file, source).map_err(|e| format!("writing {}: {e}", file.display()))?;
    let output = Command::new(&rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "--error-format=short",
        ])
        .args(["-A", "warnings", "--crate-name", name])
        .arg("-o")
        .arg(work_dir.join(format!("lib{name}.rmeta")))
        .arg("-L")
        .arg(format!("dependency={}", deps.display()))
        .arg("--extern")
        .arg(format!("munmap_lab={}", rlib.display()))
        .arg(&file)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", rustc.to_string_lossy()))?;
    if output.status.success() {
        return Ok(Compiled::Yes);
    }
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    let result = Compiled::No(text.clone());
    if result.error_codes().iter().any(|c| SETUP_ERRORS.contains(&c.as_str())) {
        return Err(format!("rustc cannot use this build of munmap_lab: {}", text.trim()));
    }
    Ok(result)
}

/// A rustc this process can run, tried in order: `$RUSTC` (when set, the only one), the
/// rustc of the toolchain that built this test (its sysroot, which cargo recorded in
/// `target/.rustc_info.json`: found without rustup, so a user whose home has no rustup
/// settings can use a toolchain installed elsewhere), then `rustc` on PATH. `Err` says
/// what each attempt said and how to make the checks run.
fn find_rustc(deps: &Path) -> Result<PathBuf, String> {
    if let Some(rustc) = std::env::var_os("RUSTC") {
        let rustc = PathBuf::from(rustc);
        return runs(&rustc)
            .map(|()| rustc.clone())
            .map_err(|why| format!("RUSTC={}: {why}", rustc.display()));
    }
    // target/<profile>/deps, or a copy of deps/ beside the info file (scripts/hunt's).
    let sysroot = deps.ancestors().skip(1).take(2).find_map(build_sysroot);
    let mut tried = Vec::new();
    for rustc in sysroot
        .iter()
        .map(|s| s.join("bin/rustc"))
        .chain([PathBuf::from("rustc")])
    {
        match runs(&rustc) {
            Ok(()) => return Ok(rustc),
            Err(why) => tried.push(format!("{}: {why}", rustc.display())),
        }
    }
    let uid = unsafe { libc::getuid() };
    let toolchain = sysroot.map_or_else(
        || "the toolchain".to_string(),
        |s| format!("the toolchain that built this test ({})", s.display()),
    );
    Err(format!(
        "no rustc runs here as uid {uid} ({}). To run these checks, make {toolchain} readable by this user \
         (every directory above it too), or set RUSTC to a rustc of the same version this user can run, or \
         RUSTUP_HOME/CARGO_HOME to a readable copy of the toolchain",
        tried.join("; ")
    ))
}

/// Whether `rustc --version` runs and succeeds (a rustup proxy that cannot choose a
/// toolchain for this user fails here, not in the middle of a check).
fn runs(rustc: &Path) -> Result<(), String> {
    let output = Command::new(rustc)
        .arg("--version")
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    Err(said
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed")
        .trim()
        .to_string())
}

/// The sysroot of the rustc that cargo used for this target directory: the one absolute
/// path among the outputs `target/.rustc_info.json` records (`--print=sysroot`).
fn build_sysroot(target: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(target.join(".rustc_info.json")).ok()?;
    text.split(['"'])
        .flat_map(|field| field.split("\\n"))
        .filter(|line| line.starts_with('/') && !line.contains(' '))
        .map(PathBuf::from)
        .find(|path| path.join("lib").join("rustlib").is_dir() || path.join("bin").join("rustc").exists())
        .or_else(|| {
            // Unreadable (so nothing can be checked): still the path to name in the message.
            text.split('"')
                .flat_map(|field| field.split("\\n"))
                .find(|line| line.starts_with('/') && line.contains("toolchains") && !line.contains(' '))
                .map(PathBuf::from)
        })
}

/// `target/<profile>/deps`, where the running test binary lives.
fn deps_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    exe.parent()
        .filter(|dir| dir.file_name().is_some_and(|n| n == "deps"))
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("the test binary {} is not in a cargo deps/ directory", exe.display()))
}

/// The rlib of this crate built with the same lab sources as this test binary: the
/// newest `libmunmap_lab-HASH.rlib` whose dep-info file (`munmap_lab-HASH.d`, a few
/// lines of text) lists `lab_file` (`labs/LAB.rs`, or `solutions/LAB.rs` in a build
/// with the `solutions` feature: the suite knows which, this crate does not).
fn own_rlib(deps: &Path, lab_file: &str) -> Result<PathBuf, String> {
    let marker = lab_file;
    let entries = std::fs::read_dir(deps).map_err(|e| format!("listing {}: {e}", deps.display()))?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let Some(hash) = name
                .strip_prefix("libmunmap_lab-")
                .and_then(|n| n.strip_suffix(".rlib"))
            else {
                return false;
            };
            std::fs::read_to_string(deps.join(format!("munmap_lab-{hash}.d"))).is_ok_and(|d| d.contains(marker))
        })
        .max_by_key(|path| path.metadata().and_then(|m| m.modified()).ok())
        .ok_or_else(|| format!("no build of munmap_lab from {marker} in {}", deps.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_short_diagnostics() {
        let out = Compiled::No(
            "a.rs:3:9: error[E0382]: use of moved value: `m`\na.rs:4:1: error[E0505]: cannot move\n".into(),
        );
        assert_eq!(out.error_codes(), ["E0382", "E0505"]);
        assert!(Compiled::Yes.error_codes().is_empty());
    }

    #[test]
    fn the_sysroot_is_read_from_cargo_s_rustc_info() {
        let dir = std::env::temp_dir().join(format!("munmap-lab-rustc-info-{}", std::process::id()));
        let sysroot = dir.join("toolchains/stable");
        std::fs::create_dir_all(sysroot.join("lib/rustlib")).unwrap();
        let info = format!(
            r#"{{"rustc_fingerprint":1,"outputs":{{"2":{{"success":true,"status":"","code":0,"stdout":"___\nlib___.rlib\n{}\noff\n","stderr":""}},"3":{{"success":true,"status":"","code":0,"stdout":"rustc 1.95.0 (x 2026-04-14)\nbinary: rustc\n","stderr":""}}}},"successes":{{}}}}"#,
            sysroot.display()
        );
        std::fs::write(dir.join(".rustc_info.json"), info).unwrap();
        let found = build_sysroot(&dir);
        let none = build_sysroot(&dir.join("nothing-here"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found, Some(sysroot));
        assert_eq!(none, None);
    }

    #[test]
    fn picks_the_rlib_whose_dep_info_names_this_build_s_lab_file() {
        let dir = std::env::temp_dir().join(format!("munmap-lab-own-rlib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (hash, tree) in [("aaa", "labs"), ("bbb", "solutions")] {
            std::fs::write(dir.join(format!("libmunmap_lab-{hash}.rlib")), b"").unwrap();
            std::fs::write(
                dir.join(format!("munmap_lab-{hash}.d")),
                format!("x: src/../{tree}/lab08.rs\n"),
            )
            .unwrap();
        }
        let labs = own_rlib(&dir, "labs/lab08.rs");
        let solutions = own_rlib(&dir, "solutions/lab08.rs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(labs.unwrap().ends_with("libmunmap_lab-aaa.rlib"));
        assert!(solutions.unwrap().ends_with("libmunmap_lab-bbb.rlib"));
    }
}
