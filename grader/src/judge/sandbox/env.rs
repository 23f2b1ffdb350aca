//! The environment of a test process: made from an allow-list, never inherited.
//!
//! The grader's own environment holds what a grading job was given (a `GH_TOKEN`, an
//! `SSH_AUTH_SOCK`, cloud credentials): lab code must see none of it. A deny-list can
//! only name the secrets someone thought of, so a test process starts from nothing and
//! gets the few variables the harness and the lessons read, plus those the grader sets.

use std::path::Path;
use std::process::Command;

/// Whether the grader passes `key` on from its own environment: the program search path,
/// the locale, and where rustup keeps the toolchain (lab08's compile checks run `rustc`).
fn is_passed_on(key: &str) -> bool {
    matches!(
        key,
        "PATH" | "LANG" | "LANGUAGE" | "TZ" | "RUSTUP_HOME" | "RUSTUP_TOOLCHAIN"
    ) || key.starts_with("LC_")
}

/// A command for `exe` with only the allowed variables: those passed on, `HOME` and
/// `TMPDIR` in the test's `scratch` folder, and the settings every test is judged with
/// (CI=true so insta writes nothing, no snapshot update, no backtrace). The grader adds
/// its own `MUNMAP_LAB_*` variables (token, scratch, witness) and `INSTA_WORKSPACE_ROOT`.
pub fn command(exe: &Path, scratch: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env_clear();
    for (key, value) in std::env::vars_os() {
        if key.to_str().is_some_and(is_passed_on) {
            cmd.env(key, value);
        }
    }
    cmd.env("HOME", scratch)
        .env("TMPDIR", scratch)
        .env("CI", "true")
        .env("INSTA_UPDATE", "no")
        .env("RUST_BACKTRACE", "0");
    cmd
}

/// The variables `cmd` was given, by name (for the tests and for debugging).
#[cfg(test)]
fn names(cmd: &Command) -> Vec<String> {
    cmd.get_envs()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_allow_list_is_passed_on() {
        for key in ["PATH", "LANG", "LC_ALL", "LC_CTYPE", "RUSTUP_TOOLCHAIN"] {
            assert!(is_passed_on(key), "{key}");
        }
        for key in [
            "GH_TOKEN",
            "GITHUB_TOKEN",
            "SSH_AUTH_SOCK",
            "AWS_SECRET_ACCESS_KEY",
            "HOME",
            "TMPDIR",
            "MUNMAP_LAB_REPORT",
            "INSTA_FORCE_PASS",
            "RUSTFLAGS",
            "LD_PRELOAD",
            "PATHX",
        ] {
            assert!(!is_passed_on(key), "{key}");
        }
    }

    #[test]
    fn a_test_process_sees_nothing_else() {
        let scratch = crate::project::temp_dir("test-env");
        // What the exec'd program was given: cat's own initial environment, as /proc shows
        // it (no shell, which adds SHLVL and PWD; no /usr/bin/env in the kernel matrix's guest).
        let mut cmd = command(Path::new("/bin/cat"), &scratch);
        cmd.arg("/proc/self/environ");
        let out = cmd.output().unwrap();
        let seen = String::from_utf8_lossy(&out.stdout).replace('\0', "\n");
        let keys: Vec<&str> = seen.lines().filter_map(|l| l.split_once('=')).map(|(k, _)| k).collect();
        for key in &keys {
            assert!(
                is_passed_on(key) || ["HOME", "TMPDIR", "CI", "INSTA_UPDATE", "RUST_BACKTRACE"].contains(key),
                "{key} leaked: {seen}"
            );
        }
        assert!(seen.contains(&format!("HOME={}", scratch.display())), "{seen}");
        assert!(names(&cmd).contains(&"TMPDIR".to_string()));
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
