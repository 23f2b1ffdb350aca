//! From how a test process ended to a verdict with a message a student can act on.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use crate::{Kind, MARKER, markers};

/// How a test ended, as judged from outside its process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Skipped(String),
    Fail(String),
    Crash(String),
    Timeout(String),
}

impl Verdict {
    /// The status word (pass, skipped, fail, crash, timeout).
    pub fn status(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Skipped(_) => "skipped",
            Verdict::Fail(_) => "fail",
            Verdict::Crash(_) => "crash",
            Verdict::Timeout(_) => "timeout",
        }
    }

    /// The message (empty for a pass).
    pub fn message(&self) -> &str {
        match self {
            Verdict::Pass => "",
            Verdict::Skipped(m) | Verdict::Fail(m) | Verdict::Crash(m) | Verdict::Timeout(m) => m,
        }
    }
}

/// Judges the process that ran `lab::test` with `token`: `status` is None when it was
/// killed at `limit`; `output` is what it printed.
pub fn judge(lab: &str, test: &str, status: Option<ExitStatus>, output: &str, token: &str, limit: Duration) -> Verdict {
    let shown = readable_output(output, test);
    let with_output = |headline: String| {
        if shown.is_empty() {
            headline
        } else {
            format!("{headline}\n\n--- output of the test process ---\n{shown}")
        }
    };
    let Some(status) = status else {
        return Verdict::Timeout(with_output(format!(
            "{lab}::{test} did not finish within {:.1} s and was killed. Look for a loop that never \
             ends or a child process that is never waited for.",
            limit.as_secs_f64()
        )));
    };
    if let Some(signal) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(signal)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {signal}"));
        let hint = match name.as_str() {
            "SIGSEGV" | "SIGBUS" => {
                " The code touched memory that is not mapped (or unmapped memory the test still needed): \
                 check the address and length of every munmap."
            }
            "SIGABRT" => " Something aborted the process (a double panic, or abort()).",
            "SIGKILL" => " Something killed it (the out-of-memory killer, or the code itself).",
            _ => "",
        };
        return Verdict::Crash(with_output(format!(
            "{lab}::{test} crashed: the test process was killed by {name}.{hint}"
        )));
    }
    let never_ran = output.lines().any(|l| l.trim() == "running 0 tests");
    match status.code() {
        Some(0) if markers(output, Kind::Pass, token).next().is_some() => Verdict::Pass,
        Some(0) => match markers(output, Kind::Skip, token).next() {
            Some(reason) => Verdict::Skipped(reason.to_string()),
            None if never_ran => Verdict::Fail(format!("tests/{lab}.rs has no test named {test}")),
            None => Verdict::Fail(with_output(format!(
                "{lab}::{test} did not finish: the test process exited with status 0 before the test \
                 body returned. Lab code must return its result, never call std::process::exit."
            ))),
        },
        Some(101) => Verdict::Fail(with_output(format!(
            "{lab}::{test} failed: {}",
            panic_message(output).unwrap_or("see the output below")
        ))),
        Some(code) => Verdict::Fail(with_output(format!(
            "{lab}::{test} did not finish: the test process exited with status {code}. Lab code must \
             return its result, never call std::process::exit."
        ))),
        None => Verdict::Fail(with_output(format!(
            "{lab}::{test}: the test process ended without a status"
        ))),
    }
}

/// The first line of the panic message in the output.
fn panic_message(output: &str) -> Option<&str> {
    let mut lines = output.lines();
    lines.find(|l| l.contains("panicked at"))?;
    lines.next().map(str::trim).filter(|l| !l.is_empty())
}

/// The output without libtest's own bookkeeping lines and the markers.
fn readable_output(output: &str, test: &str) -> String {
    let noise = |line: &str| {
        let t = line.trim();
        t.is_empty()
            || t.starts_with(MARKER)
            || t.starts_with("running 1 test")
            || t.starts_with("test result:")
            || (t.starts_with("test ") && t.contains(" ... "))
            || t == "failures:"
            || t == "FAILED"
            || t == "ok"
            || t == "successes:"
            || t == test
            || t.starts_with(&format!("---- {test} "))
            || t.starts_with("note: run with `RUST_BACKTRACE=1`")
    };
    // libtest prints "test NAME ... " without a newline, so the body's first line follows it.
    let prefix = format!("test {test} ... ");
    let lines: Vec<&str> = output
        .lines()
        .map(|l| l.strip_prefix(&prefix).unwrap_or(l))
        .filter(|l| !noise(l))
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marker;

    fn exited(code: i32) -> Option<ExitStatus> {
        Some(ExitStatus::from_raw(code << 8))
    }

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn a_pass_needs_the_token_and_a_clean_exit() {
        let out = marker(Kind::Pass, "tok", "");
        assert_eq!(judge("lab", "t", exited(0), &out, "tok", LIMIT), Verdict::Pass);
        let forged = marker(Kind::Pass, "guess", "");
        assert_eq!(judge("lab", "t", exited(0), &forged, "tok", LIMIT).status(), "fail");
        assert_eq!(judge("lab", "t", exited(3), &out, "tok", LIMIT).status(), "fail");
    }

    #[test]
    fn signals_timeouts_and_missing_tests_say_what_happened() {
        let segv = judge("lab", "t", Some(ExitStatus::from_raw(11)), "", "tok", LIMIT);
        assert!(segv.message().contains("SIGSEGV"), "{segv:?}");
        let hung = judge("lab", "t", None, "", "tok", LIMIT);
        assert!(hung.message().contains("within 10.0 s"), "{hung:?}");
        let missing = judge("lab", "t", exited(0), "running 0 tests\n", "tok", LIMIT);
        assert_eq!(missing, Verdict::Fail("tests/lab.rs has no test named t".into()));
        let panicked = judge(
            "lab",
            "t",
            exited(101),
            "thread 't' panicked at x.rs:1:1:\nboom\n",
            "tok",
            LIMIT,
        );
        assert!(panicked.message().starts_with("lab::t failed: boom"), "{panicked:?}");
    }

    #[test]
    fn a_skip_carries_its_reason() {
        let out = marker(Kind::Skip, "tok", "no cachestat before 6.5");
        assert_eq!(
            judge("lab", "t", exited(0), &out, "tok", LIMIT),
            Verdict::Skipped("no cachestat before 6.5".into())
        );
    }
}
