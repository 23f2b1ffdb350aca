//! Each test body runs in a process of its own.
//!
//! Lab code works with raw mappings: a wrong `munmap()` can unmap the test harness
//! itself, a stray access raises SIGSEGV, a bug can loop forever or call
//! `std::process::exit`. In one shared test process any of those would take every
//! other test's result with it. So every test body runs in a test process started for
//! that test alone (`--exact NAME`, as rusty-fork and nextest do), judged from outside
//! by `munmap_lab_protocol`:
//!
//! - when a student runs `cargo test`, [`isolated`] re-runs the current test binary for
//!   this one test and judges it (the judge is this very binary: fine for a student's
//!   own feedback, never used for grades);
//! - when the grader judges, it starts the test process itself, with a one-time token;
//!   [`isolated`] only runs the body there and, after it returned, prints the pass
//!   marker with the token ([`judged`](super::judged)). The grader never runs this
//!   binary as a judge.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;

use munmap_lab_protocol::{self as protocol, Kind, Verdict};

use super::context::TestContext;
use super::judged;

/// Runs `body` in a process dedicated to the current test; fails the test when that
/// process fails, crashes, hangs or exits early.
///
/// Tests of one suite run one at a time: each carries serial_test's `#[serial]`, and
/// `.cargo/config.toml` makes one test thread the default.
pub fn isolated(body: impl FnOnce()) {
    if let Some(token) = judged::take_token() {
        super::panic_hook::install();
        body();
        super::witness::end_of_body();
        judged::emit(Kind::Pass, token, "");
        return;
    }
    let test = TestContext::expect_current("isolated()");
    let (verdict, notes) = run_alone(&test);
    for note in notes {
        past_capture(&format!("note {test}: {note}"));
    }
    match verdict {
        Verdict::Pass => {}
        // Shown past libtest's capture so the student sees why nothing was checked.
        Verdict::Skipped(reason) => past_capture(&format!("skipped {test}: {reason}")),
        Verdict::Fail(msg) | Verdict::Crash(msg) | Verdict::Timeout(msg) => {
            // The message goes to libtest's captured output; resume_unwind then fails the
            // test without a second "panicked at isolate.rs" line and backtrace, which would
            // only point here, never at the student's code.
            println!("{msg}");
            std::panic::resume_unwind(Box::new(msg));
        }
    }
}

/// Writes `line` to standard error, which libtest does not capture, set apart by blank lines.
fn past_capture(line: &str) {
    let _ = std::io::stderr().write_all(format!("\n    {line}\n").as_bytes());
}

/// This test's time limit (a bad [`protocol::TIMEOUT_ENV`] fails the test where it is
/// read for the run; here it is the default).
pub(crate) fn timeout() -> std::time::Duration {
    protocol::timeout_from_env().unwrap_or(protocol::DEFAULT_TIMEOUT)
}

/// Runs this test alone in a new test process and judges how it ended; also returns its notes.
fn run_alone(test: &TestContext) -> (Verdict, Vec<String>) {
    let token = protocol::new_token();
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = Command::new(exe);
    command
        .args(protocol::test_args(&test.test))
        .env(protocol::TOKEN_ENV, &token)
        .env_remove(protocol::WITNESS_ENV)
        // Under `cargo test` every scenario is its default, the one its snapshot shows.
        .env_remove(protocol::DRAW_ENV)
        // A window that differs from its snapshot fails here as it does under plain
        // `cargo test`, also under `cargo insta test`, which sets INSTA_FORCE_PASS to
        // collect every mismatch for review (it still writes them: INSTA_UPDATE stays).
        .env_remove("INSTA_FORCE_PASS")
        .env("INSTA_WORKSPACE_ROOT", super::PROJECT_ROOT);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent. The test
    // process is killed when the thread that started it ends, so a suite killed from
    // outside leaves no test running.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let limit = match protocol::timeout_from_env() {
        Ok(limit) => limit,
        Err(why) => return (Verdict::Fail(why), Vec::new()),
    };
    let ended = match protocol::bounded::run(command, limit, protocol::OUTPUT_CAP) {
        Ok(ended) => ended,
        Err(e) => {
            return (
                Verdict::Fail(format!("could not start the test process: {e}")),
                Vec::new(),
            );
        }
    };
    let output = String::from_utf8_lossy(&ended.output);
    let notes = protocol::markers(&output, Kind::Note, &token)
        .map(String::from)
        .collect();
    (
        protocol::judge(&test.lab, &test.test, ended.status, &output, &token, limit),
        notes,
    )
}
