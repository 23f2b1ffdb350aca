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

/// A verdict without its message: what a grade, the JSON and the terminal record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TestStatus {
    Pass,
    Fail,
    Crash,
    Timeout,
    Skipped,
}

impl TestStatus {
    /// The word the JSON, the JUnit XML and the terminal use.
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Pass => "pass",
            TestStatus::Fail => "fail",
            TestStatus::Crash => "crash",
            TestStatus::Timeout => "timeout",
            TestStatus::Skipped => "skipped",
        }
    }
}

impl Verdict {
    /// The verdict's status (its kind, without the message).
    pub fn status(&self) -> TestStatus {
        match self {
            Verdict::Pass => TestStatus::Pass,
            Verdict::Skipped(_) => TestStatus::Skipped,
            Verdict::Fail(_) => TestStatus::Fail,
            Verdict::Crash(_) => TestStatus::Crash,
            Verdict::Timeout(_) => TestStatus::Timeout,
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
///
/// The first line of every message is a summary that stands on its own (the grader's
/// report shows only that line): what went wrong, in which call of lab code when the
/// harness said (a [`Call`](Kind::Call) marker without its [`Return`](Kind::Return)),
/// and for a failed `assert_eq!` both values. The process's output follows.
pub fn judge(lab: &str, test: &str, status: Option<ExitStatus>, output: &str, token: &str, limit: Duration) -> Verdict {
    let shown = readable_output(output, test);
    let with_output = |headline: String| {
        if shown.is_empty() {
            headline
        } else {
            format!("{headline}\n\n--- output of the test process ---\n{shown}")
        }
    };
    let call = open_call(output, token);
    let during = call.map(|c| c.during()).unwrap_or_default();
    let needed = call.map(|c| c.needed()).unwrap_or_default();
    let Some(status) = status else {
        return Verdict::Timeout(with_output(format!(
            "{lab}::{test} did not finish within {:.1} s and was killed{during}. Look for a loop that never \
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
            "{lab}::{test} crashed: the test process was killed by {name}{during}.{hint}{needed}"
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
                 body returned{during}. Lab code must return its result, never call std::process::exit."
            ))),
        },
        Some(101) => {
            let summary = match find_panic(output) {
                Some(panic) => summarize(&panic, call),
                None => "see the output below".to_string(),
            };
            Verdict::Fail(with_output(format!("{lab}::{test} failed: {summary}")))
        }
        Some(code) => Verdict::Fail(with_output(format!(
            "{lab}::{test} did not finish: the test process exited with status {code}{during}. Lab code must \
             return its result, never call std::process::exit."
        ))),
        None => Verdict::Fail(with_output(format!(
            "{lab}::{test}: the test process ended without a status"
        ))),
    }
}

/// The call of lab code that was running when the process ended: the last
/// [`Call`](Kind::Call) marker, unless a [`Return`](Kind::Return) followed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenCall<'a> {
    /// What the test called, with its arguments (`trim_front(addr, 4 pages, 1)`).
    call: &'a str,
    /// What the test needs that call to do (may be empty).
    needs: &'a str,
}

impl OpenCall<'_> {
    /// ` while the test called X`
    fn during(&self) -> String {
        format!(" while the test called {}", self.call)
    }

    /// ` The test needed: ...` (empty when the test did not say).
    fn needed(&self) -> String {
        if self.needs.is_empty() {
            String::new()
        } else {
            format!(" The test needed: {}", sentence(self.needs))
        }
    }
}

fn open_call<'a>(output: &'a str, token: &str) -> Option<OpenCall<'a>> {
    let call = format!("{MARKER}:call:{token}@@");
    let returned = format!("{MARKER}:return:{token}@@");
    let mut open = None;
    for line in output.lines() {
        if let Some(text) = line.strip_prefix(call.as_str()) {
            let (call, needs) = text.split_once('\t').unwrap_or((text, ""));
            open = Some(OpenCall {
                call: call.trim(),
                needs: needs.trim(),
            });
        } else if line.starts_with(returned.as_str()) {
            open = None;
        }
    }
    open
}

/// A panic as the default panic hook printed it.
#[derive(Debug, PartialEq, Eq)]
struct Panic<'a> {
    /// `FILE:LINE:COL` as printed (`src/../labs/lab05_errors.rs:14:9`).
    location: &'a str,
    /// The message, one entry per line, without `assert_eq!`'s values.
    message: Vec<&'a str>,
    /// `assert_eq!`/`assert_ne!`'s `left:` and `right:` values (the suites put what
    /// they got on the left and what they expected on the right).
    values: Option<(&'a str, &'a str)>,
}

/// The first panic in the output: the `thread '...' panicked at FILE:L:C:` line (or a
/// bare `panicked at FILE:L:C:`, as the harness's hook prints in a process forked to
/// run at vm.max_map_count), then its message, up to the hook's note (or a backtrace,
/// a marker, another panic).
fn find_panic(output: &str) -> Option<Panic<'_>> {
    let mut lines = output.lines();
    let location = lines.find_map(|line| {
        let location = match line.find("thread '") {
            Some(at) => line[at..].split_once(" panicked at ")?.1,
            None => line.strip_prefix("panicked at ")?,
        };
        Some(location.trim().trim_end_matches(':'))
    })?;
    let mut message: Vec<&str> = lines
        .take_while(|l| {
            let t = l.trim_start();
            !(t.starts_with("note: run with `RUST_BACKTRACE")
                || t.starts_with("stack backtrace:")
                || t.starts_with(MARKER)
                || t.starts_with("thread '")
                || t.starts_with("panicked at ")
                || t.starts_with("test result:"))
        })
        .collect();
    while message.last().is_some_and(|l| l.trim().is_empty()) {
        message.pop();
    }
    let compared = message.first().is_some_and(|l| {
        l.starts_with("assertion `left == right` failed") || l.starts_with("assertion `left != right` failed")
    });
    let mut values = None;
    if compared && message.len() >= 3 {
        let n = message.len();
        if let (Some(left), Some(right)) = (
            message[n - 2].strip_prefix("  left: "),
            message[n - 1].strip_prefix(" right: "),
        ) {
            values = Some((left, right));
            message.truncate(n - 2);
        }
    }
    Some(Panic {
        location,
        message,
        values,
    })
}

/// Longest value of a failed comparison folded into a summary line; longer ones (a
/// whole maps view) are left to the message and output below.
const SHOWN_VALUE: usize = 100;

/// One line: whose panic it was (lab code, or the test's own check), where, during
/// which call, what the test needed; for a failed comparison, both values.
fn summarize(panic: &Panic, call: Option<OpenCall>) -> String {
    let first = panic.message.first().map(|l| l.trim()).unwrap_or("");
    let in_lab_file = lab_file(panic.location);
    // Lab code that panics in code it called (std, nix) is located there, not in labs/:
    // an open call says whose it was, unless the panic is in the test's own files.
    let in_test_files = ["tests/", "harness/"].iter().any(|dir| panic.location.contains(dir));
    if in_lab_file.is_some() || (call.is_some() && !in_test_files) {
        let location = in_lab_file.unwrap_or_else(|| panic.location.to_string());
        let during = call.map(|c| c.during()).unwrap_or_default();
        if let Some(todo) = first.strip_prefix("not yet implemented") {
            let todo = todo.trim_start_matches(':').trim();
            return format!("your code at {location} is not written yet (todo!){during}: {todo}");
        }
        let needed = call.map(|c| c.needed()).unwrap_or_default();
        return format!("your code panicked at {location}{during}: {}{needed}", sentence(first));
    }
    if let Some(snapshot) = snapshot_mismatch(first) {
        return snapshot;
    }
    let (message, fold) = match panic.values {
        Some((left, _)) if first.starts_with("assertion `left != right` failed") => (
            first
                .strip_prefix("assertion `left != right` failed: ")
                .unwrap_or(first),
            (left.len() <= SHOWN_VALUE).then(|| format!(" (both are {left})")),
        ),
        Some((got, expected)) => (
            first
                .strip_prefix("assertion `left == right` failed: ")
                .unwrap_or(first),
            (got.len() <= SHOWN_VALUE && expected.len() <= SHOWN_VALUE)
                .then(|| format!(" (expected {expected}, got {got})")),
        ),
        None => (first, None),
    };
    match fold {
        // "... both pages of yours (expected Ok(2), got Ok(3))": a full stop goes after the values.
        Some(fold) => match message.strip_suffix('.') {
            Some(bare) => format!("{bare}{fold}."),
            None => format!("{message}{fold}"),
        },
        None => message.to_string(),
    }
}

/// insta's panic for a window that differs from its snapshot (`snapshot assertion for
/// 'LAB__TEST' failed in line N`), said as what it means here, with our advice in
/// place of insta's (which is to accept the new window).
fn snapshot_mismatch(first: &str) -> Option<String> {
    let name = first.strip_prefix("snapshot assertion for '")?.split_once('\'')?.0;
    let lab = name.split_once("__").map_or(name, |(lab, _)| lab);
    Some(format!(
        "the window differs from its snapshot, snapshots/{name}.snap (in the diff, - is what the kernel \
         should show, + what it showed): fix labs/{lab}.rs, and do not accept the new window, which \
         would change only your own copy (README, \"Snapshots\")."
    ))
}

/// `text` ending as a sentence does (a full stop added unless it has one).
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// The lab file a source location is in, as `labs/x.rs:3:5` (from `src/../labs/x.rs:3:5`;
/// the reference solutions' `solutions/x.rs:3:5` likewise), or None for any other file.
fn lab_file(location: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in location.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let at = parts.iter().rposition(|p| *p == "labs" || *p == "solutions")?;
    (parts.len() == at + 2 && parts[at + 1].contains(".rs:")).then(|| parts[at..].join("/"))
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

    /// The summary line a one-line report shows.
    fn first_line(verdict: &Verdict) -> &str {
        verdict.message().lines().next().unwrap_or("")
    }

    #[test]
    fn a_pass_needs_the_token_and_a_clean_exit() {
        let out = marker(Kind::Pass, "tok", "");
        assert_eq!(judge("lab", "t", exited(0), &out, "tok", LIMIT), Verdict::Pass);
        let forged = marker(Kind::Pass, "guess", "");
        assert_eq!(
            judge("lab", "t", exited(0), &forged, "tok", LIMIT).status(),
            TestStatus::Fail
        );
        assert_eq!(
            judge("lab", "t", exited(3), &out, "tok", LIMIT).status(),
            TestStatus::Fail
        );
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

    /// What a test process printed when lab code panicked (real output, lab05 with
    /// `panic!("munmap failed: {}", Errno::last())` where the errno should be returned),
    /// after the harness's marker for the call in progress.
    fn lab05_panics(call: &str) -> String {
        format!(
            "\nrunning 1 test\ntest unmap_rejects_with_einval::case_1_unaligned_address ... {call}\n\
             thread 'unmap_rejects_with_einval::case_1_unaligned_address' (21050) panicked at src/../labs/lab05_errors.rs:14:9:\n\
             munmap failed: EINVAL: Invalid argument\n\
             note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\nFAILED\n\nfailures:\n\n\
             failures:\n    unmap_rejects_with_einval::case_1_unaligned_address\n\n\
             test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 9 filtered out; finished in 0.00s\n"
        )
    }

    const EINVAL_TEST: &str = "unmap_rejects_with_einval::case_1_unaligned_address";

    #[test]
    fn a_panic_in_lab_code_says_where_during_which_call_and_what_the_test_needed() {
        let call = marker(
            Kind::Call,
            "tok",
            "unmap(addr + 1 byte, 1 page)\tErr(EINVAL): munmap(addr + 1 byte, 1 page) fails with EINVAL \
             (the address must be a multiple of the page size); unmap must return the kernel's errno unchanged",
        );
        let verdict = judge(
            "lab05_errors",
            EINVAL_TEST,
            exited(101),
            &lab05_panics(&call),
            "tok",
            LIMIT,
        );
        assert_eq!(
            first_line(&verdict),
            "lab05_errors::unmap_rejects_with_einval::case_1_unaligned_address failed: your code panicked at \
             labs/lab05_errors.rs:14:9 while the test called unmap(addr + 1 byte, 1 page): munmap failed: EINVAL: \
             Invalid argument. The test needed: Err(EINVAL): munmap(addr + 1 byte, 1 page) fails with EINVAL (the \
             address must be a multiple of the page size); unmap must return the kernel's errno unchanged."
        );
        // The full output follows, markers left out.
        assert!(
            verdict.message().contains("\n--- output of the test process ---\n"),
            "{verdict:?}"
        );
        assert!(!verdict.message().contains(MARKER), "{verdict:?}");
    }

    #[test]
    fn a_panic_in_lab_code_without_a_call_marker_still_says_where() {
        let verdict = judge(
            "lab05_errors",
            EINVAL_TEST,
            exited(101),
            &lab05_panics(""),
            "tok",
            LIMIT,
        );
        assert_eq!(
            first_line(&verdict),
            "lab05_errors::unmap_rejects_with_einval::case_1_unaligned_address failed: your code panicked at \
             labs/lab05_errors.rs:14:9: munmap failed: EINVAL: Invalid argument."
        );
        // Real output: an overflow in the lab's own arithmetic.
        let overflow = "test t ... \nthread 't' (21056) panicked at src/../labs/lab05_errors.rs:12:16:\n\
                        attempt to add with overflow\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\nFAILED\n";
        let call = marker(
            Kind::Call,
            "tok",
            "unmap(addr, a length past the top of the address space)",
        );
        let verdict = judge(
            "lab05_errors",
            "t",
            exited(101),
            &format!("{call}{overflow}"),
            "tok",
            LIMIT,
        );
        assert_eq!(
            first_line(&verdict),
            "lab05_errors::t failed: your code panicked at labs/lab05_errors.rs:12:16 while the test called \
             unmap(addr, a length past the top of the address space): attempt to add with overflow."
        );
        // Real output: unwrap() in lab01 where the error should be returned; under solutions/ too.
        let unwrap = "thread 'map_shared_reports_a_missing_file' (21062) panicked at src/../solutions/lab01_full.rs:19:10:\n\
                      called `Option::unwrap()` on a `None` value\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        let verdict = judge("lab01_full", "t", exited(101), unwrap, "tok", LIMIT);
        assert_eq!(
            first_line(&verdict),
            "lab01_full::t failed: your code panicked at solutions/lab01_full.rs:19:10: called `Option::unwrap()` \
             on a `None` value."
        );
    }

    #[test]
    fn a_panic_in_a_process_forked_by_the_test_is_found_first() {
        // Real output (lab05 at vm.max_map_count, lab code that panics where it should
        // return ENOMEM): the forked process's hook prints a bare "panicked at".
        let out = "test at_the_map_count_limit::case_1_hole_in_the_middle_fails_with_enomem ... \n\
                   @@munmap-lab:call:tok@@ unmap(mapping page 1, 2 page(s)) at vm.max_map_count\tErr(ENOMEM): at the limit\n\
                   panicked at src/../labs/lab05_errors.rs:14:9:\nmunmap failed: ENOMEM: Out of memory\n\n\
                   thread 'at_the_map_count_limit::case_1_hole_in_the_middle_fails_with_enomem' (31956) panicked at tests/lab05_errors.rs:294:38:\n\
                   unmap panicked while the process was at vm.max_map_count (its message is above)\n";
        let verdict = judge("lab05_errors", "t", exited(101), out, "tok", LIMIT);
        assert_eq!(
            first_line(&verdict),
            "lab05_errors::t failed: your code panicked at labs/lab05_errors.rs:14:9 while the test called \
             unmap(mapping page 1, 2 page(s)) at vm.max_map_count: munmap failed: ENOMEM: Out of memory. The test \
             needed: Err(ENOMEM): at the limit."
        );
    }

    #[test]
    fn a_panic_inside_code_the_lab_called_is_blamed_on_the_open_call() {
        let out = format!(
            "{}thread 't' (7) panicked at /root/.cargo/registry/src/index/nix-0.32.0/src/x.rs:3:5:\nboom\n",
            marker(
                Kind::Call,
                "tok",
                "trim_front(addr, 4 pages, 1)\ta front trim should succeed"
            )
        );
        let verdict = judge("lab02_partial", "t", exited(101), &out, "tok", LIMIT);
        assert_eq!(
            first_line(&verdict),
            "lab02_partial::t failed: your code panicked at /root/.cargo/registry/src/index/nix-0.32.0/src/x.rs:3:5 \
             while the test called trim_front(addr, 4 pages, 1): boom. The test needed: a front trim should succeed."
        );
    }

    #[test]
    fn a_call_that_returned_is_not_blamed_for_what_follows() {
        let out = format!(
            "{}{}{}",
            marker(Kind::Call, "tok", "trim_front(addr, 4 pages, 1)\tneeds"),
            marker(Kind::Return, "tok", ""),
            "thread 't' (7) panicked at tests/lab02_partial.rs:130:9:\nwindow page 1 should be unmapped\n"
        );
        let verdict = judge("lab02_partial", "t", exited(101), &out, "tok", LIMIT);
        assert_eq!(
            first_line(&verdict),
            "lab02_partial::t failed: window page 1 should be unmapped"
        );
        // A marker with another token (printed by lab code) is nobody's call.
        let forged = format!(
            "{}thread 't' (7) panicked at tests/x.rs:1:1:\nboom\n",
            marker(Kind::Call, "guess", "a call")
        );
        let verdict = judge("lab", "t", exited(101), &forged, "tok", LIMIT);
        assert_eq!(first_line(&verdict), "lab::t failed: boom");
    }

    #[test]
    fn crashes_hangs_and_exits_name_the_call_in_progress() {
        let call = marker(Kind::Call, "tok", "unmap_and_clear(&mut slot)\tthe slot emptied");
        let segv = judge("lab", "t", Some(ExitStatus::from_raw(11)), &call, "tok", LIMIT);
        assert!(
            first_line(&segv).starts_with(
                "lab::t crashed: the test process was killed by SIGSEGV while the test called unmap_and_clear(&mut slot). The code"
            ),
            "{segv:?}"
        );
        assert!(
            first_line(&segv).ends_with(" The test needed: the slot emptied."),
            "{segv:?}"
        );
        let hung = judge("lab", "t", None, &call, "tok", LIMIT);
        assert!(
            first_line(&hung).contains("killed while the test called unmap_and_clear(&mut slot)."),
            "{hung:?}"
        );
        let exit = judge("lab", "t", exited(3), &call, "tok", LIMIT);
        assert!(
            first_line(&exit).contains("status 3 while the test called unmap_and_clear"),
            "{exit:?}"
        );
    }

    #[test]
    fn a_todo_says_the_code_is_not_written_yet() {
        let out = format!(
            "{}thread 't' (382) panicked at src/../labs/lab05_errors.rs:40:5:\n\
             not yet implemented: lab05_errors::unmap(0x7f948b552001, 4096): call munmap and return the kernel's errno unchanged\n",
            marker(Kind::Call, "tok", "unmap(addr + 1 byte, 1 page)\tErr(EINVAL)")
        );
        let verdict = judge("lab05_errors", "t", exited(101), &out, "tok", LIMIT);
        assert_eq!(
            first_line(&verdict),
            "lab05_errors::t failed: your code at labs/lab05_errors.rs:40:5 is not written yet (todo!) while the test \
             called unmap(addr + 1 byte, 1 page): lab05_errors::unmap(0x7f948b552001, 4096): call munmap and return \
             the kernel's errno unchanged"
        );
    }

    #[test]
    fn a_failed_comparison_keeps_both_values_in_the_summary() {
        // Real output of lab04's suite against an unmap_and_count that counts one page too many.
        let out = "test a_stale_second_unmap_destroys_the_new_mapping ... yours, before:\n  page  0     ---p  anonymous\n\n\
                   thread 'a_stale_second_unmap_destroys_the_new_mapping' (21068) panicked at tests/lab04_unmapped.rs:196:9:\n\
                   assertion `left == right` failed: the first unmap finds both pages of yours\n  left: Ok(3)\n right: Ok(2)\n\
                   note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\nFAILED\n";
        let verdict = judge(
            "lab04_unmapped",
            "a_stale_second_unmap_destroys_the_new_mapping",
            exited(101),
            out,
            "tok",
            LIMIT,
        );
        assert_eq!(
            first_line(&verdict),
            "lab04_unmapped::a_stale_second_unmap_destroys_the_new_mapping failed: the first unmap finds both pages \
             of yours (expected Ok(2), got Ok(3))"
        );
        // Real output of lab02's suite against a punch_hole that returns the upper side first.
        let out = "thread 'p' (14421) panicked at tests/lab02_partial.rs:197:9:\n\
                   assertion `left == right` failed: punch_hole should return the two mappings on either side of the hole, lower first\n\
                   \x20 left: [(0x7fef5fa2e000, 4096), (0x7fef5fa2b000, 8192)]\n\
                   \x20right: [(0x7fef5fa2b000, 8192), (0x7fef5fa2e000, 4096)]\n";
        let verdict = judge("lab02_partial", "p", exited(101), out, "tok", LIMIT);
        assert_eq!(
            first_line(&verdict),
            "lab02_partial::p failed: punch_hole should return the two mappings on either side of the hole, lower \
             first (expected [(0x7fef5fa2b000, 8192), (0x7fef5fa2e000, 4096)], got [(0x7fef5fa2e000, 4096), \
             (0x7fef5fa2b000, 8192)])"
        );
        // A message that ends a sentence, without a message, assert_ne!, and values too long for one line.
        let panic = |text: &str| format!("thread 't' (1) panicked at tests/x.rs:1:1:\n{text}\n");
        let summary = |text: &str| first_line(&judge("lab", "t", exited(101), &panic(text), "tok", LIMIT)).to_string();
        assert_eq!(
            summary("assertion `left == right` failed: counts pages.\nsecond line\n  left: 1\n right: 2"),
            "lab::t failed: counts pages (expected 2, got 1)."
        );
        assert_eq!(
            summary("assertion `left == right` failed\n  left: 1\n right: 2"),
            "lab::t failed: assertion `left == right` failed (expected 2, got 1)"
        );
        assert_eq!(
            summary("assertion `left != right` failed: two mappings\n  left: 1\n right: 1"),
            "lab::t failed: two mappings (both are 1)"
        );
        let long = "x".repeat(SHOWN_VALUE + 1);
        assert_eq!(
            summary(&format!(
                "assertion `left == right` failed: same view\n  left: {long}\n right: y"
            )),
            "lab::t failed: same view"
        );
    }

    /// insta's panic, from a real run (a window that differs from its snapshot), with
    /// insta's advice before it; the summary says what it means and what to do instead.
    #[test]
    fn a_snapshot_mismatch_says_what_to_do() {
        let out = "Stopped on the first failure. Run `cargo insta test` to run all snapshots.\n\
                   thread 'trim_front_removes_the_first_pages::case_1_anonymous_one_page' (22732) panicked at \
                   /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/insta-1.49.0/src/runtime.rs:734:13:\n\
                   snapshot assertion for 'lab02_partial__trim_front_removes_the_first_pages__anonymous_one_page' \
                   failed in line 76\n";
        let verdict = judge("lab02_partial", "t", exited(101), out, "tok", LIMIT);
        assert_eq!(
            first_line(&verdict),
            "lab02_partial::t failed: the window differs from its snapshot, \
             snapshots/lab02_partial__trim_front_removes_the_first_pages__anonymous_one_page.snap (in the diff, - is \
             what the kernel should show, + what it showed): fix labs/lab02_partial.rs, and do not accept the new \
             window, which would change only your own copy (README, \"Snapshots\")."
        );
    }

    #[test]
    fn lab_files_are_found_through_module_paths() {
        assert_eq!(lab_file("src/../labs/x.rs:3:5").as_deref(), Some("labs/x.rs:3:5"));
        assert_eq!(lab_file("./solutions/x.rs:3:5").as_deref(), Some("solutions/x.rs:3:5"));
        assert_eq!(
            lab_file("/w/slot/work/src/../labs/x.rs:1:1").as_deref(),
            Some("labs/x.rs:1:1")
        );
        assert_eq!(lab_file("tests/lab02.rs:1:1"), None);
        assert_eq!(lab_file("harness/src/expect.rs:13:9"), None);
        assert_eq!(lab_file("labs/sub/x.rs:1:1"), None);
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
