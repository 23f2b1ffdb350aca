//! Runs one lab's test binary and collects the harness's verdicts.
//!
//! The binary runs in the clean grading environment with `MUNMAP_LAB_REPORT` (where
//! its parent process appends one verdict per test) and `MUNMAP_LAB_REPORT_NONCE`
//! (this run's secret, which the harness removes from its environment before any
//! test child starts). Each test body runs in a child of that process
//! (`src/support/isolate.rs`) with its own timeout; the grader adds an outer timeout
//! for the whole binary in case something takes the parent down.

use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::project;
use crate::report::{self, Verdicts};

/// What running a lab's suite gave.
#[derive(Debug)]
pub struct LabRun {
    /// The tests the binary says it has (`--list`); None when it could not list them.
    pub listed: Option<Vec<String>>,
    pub verdicts: Verdicts,
    /// How the binary ended (and where its output is kept), for a test that got no verdict.
    pub ended: String,
}

/// Runs `exe` (the suite of `lab`) from `workdir`; `scratch` holds its report and log.
pub fn run_lab(exe: &Path, lab: &str, workdir: &Path, scratch: &Path, timeout: Duration) -> LabRun {
    let _ = fs::create_dir_all(scratch);
    let log = scratch.join(format!("{lab}.log"));
    let listed = list_tests(exe, workdir);
    let report = scratch.join(format!("{lab}.report"));
    // Created empty up front, so a line forged before the first verdict still lands
    // in it (and is caught as a duplicate) instead of failing to open.
    let _ = fs::write(&report, "");
    let nonce = project::random_hex();
    let count = listed.as_ref().map_or(50, Vec::len) as u32;
    let outer = (timeout + Duration::from_secs(3)) * count + Duration::from_secs(30);

    let ended = match fs::File::create(&log) {
        Err(e) => format!("could not create its log {}: {e}", log.display()),
        Ok(log_file) => {
            let mut cmd = project::clean_command(exe);
            cmd.args(["--test-threads=1", "--color=never"])
                .env("MUNMAP_LAB_REPORT", &report)
                .env("MUNMAP_LAB_REPORT_NONCE", &nonce)
                .env("MUNMAP_LAB_TEST_TIMEOUT", format!("{}", timeout.as_secs_f64()))
                .current_dir(workdir)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().map(Stdio::from).unwrap_or_else(|_| Stdio::null()))
                .stderr(Stdio::from(log_file))
                .process_group(0);
            run_with_timeout(cmd, outer)
        }
    };
    let text = fs::read_to_string(&report).unwrap_or_default();
    LabRun {
        listed,
        verdicts: report::parse(&text, lab, &nonce),
        ended: format!("{ended} (its output: {})", log.display()),
    }
}

/// `exe --list --format terse`: the libtest names of its tests.
fn list_tests(exe: &Path, workdir: &Path) -> Option<Vec<String>> {
    let output = project::clean_command(exe)
        .args(["--list", "--format", "terse"])
        .current_dir(workdir)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_list(&String::from_utf8_lossy(&output.stdout)))
}

fn parse_list(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(String::from)
        .collect()
}

/// Runs `cmd` (in a process group of its own) and kills the group after `limit`.
fn run_with_timeout(mut cmd: std::process::Command, limit: Duration) -> String {
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return format!("could not be started: {e}"),
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= limit => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return format!("could not be waited for: {e}"),
        }
    };
    // SAFETY: killpg on the group we created for this child; no memory is involved.
    unsafe { libc::killpg(child.id() as libc::pid_t, libc::SIGKILL) };
    match status {
        Some(status) => describe(status),
        None => {
            let _ = child.wait();
            format!(
                "the suite was still running after {:.0} s and was killed",
                limit.as_secs_f64()
            )
        }
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(0), _) => "the suite exited normally".into(),
        (Some(101), _) => "the suite exited normally (some tests failed)".into(),
        (Some(code), _) => format!("the suite exited with status {code}"),
        (None, Some(signal)) => format!("the suite was killed by signal {signal}"),
        (None, None) => "the suite ended without a status".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtests_terse_list() {
        let out = "a: test\nb::case_1_x: test\nbench_it: benchmark\n\n";
        assert_eq!(parse_list(out), ["a", "b::case_1_x"]);
    }
}
