//! Each test body runs in a process of its own.
//!
//! Lab code works with raw mappings: a wrong `munmap()` can unmap the test
//! harness itself, a stray access raises SIGSEGV, a bug can loop forever or call
//! `std::process::exit`. In one shared test process any of those would take every
//! other test's result with it. So [`isolated`] re-runs the current test binary for
//! just this test (`--exact NAME`, as rusty-fork and nextest do) and judges the
//! child from outside:
//!
//! - it passes only when the body returned and the harness in the child printed a
//!   pass marker carrying a one-time token; an early `exit(0)` or printed text does
//!   not pass (the token is taken out of the environment before lab code runs);
//! - a signal, a timeout or a non-zero exit fails this test alone, with the child's
//!   output (assertion messages and the last maps view) in the failure;
//! - [`skip`] ends the body with a reason when this machine cannot test the case.
//!
//! When `MUNMAP_LAB_REPORT` names a file, the parent appends one line per test to it:
//! `<status>\t<lab>::<test>\t<message>`, status being pass, fail, crash, timeout or
//! skipped, followed by `\t<nonce>` when the grader gave `MUNMAP_LAB_REPORT_NONCE`
//! (a line without this run's nonce was not written by the harness).
//!
//! Secrets stay out of lab code's reach: the parent takes the report path and nonce
//! out of its environment before the first child starts, the child takes its token
//! out before the body runs, and both overwrite the original bytes, which
//! `/proc/PID/environ` would otherwise still show. A child dies with its parent
//! (`PR_SET_PDEATHSIG`), so a killed suite leaves no test running. Whatever
//! `INSTA_*` settings the child started with are put back before a snapshot is
//! compared, so lab code cannot set `INSTA_FORCE_PASS` for itself.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Carries the one-time token from parent to child.
const TOKEN_ENV: &str = "MUNMAP_LAB_CHILD_TOKEN";
/// Where the parent appends verdicts (set by the grader).
pub const REPORT_ENV: &str = "MUNMAP_LAB_REPORT";
/// This run's secret, written at the end of every report line (set by the grader).
pub const NONCE_ENV: &str = "MUNMAP_LAB_REPORT_NONCE";
/// Seconds a test body may run before it is killed (default 10).
pub const TIMEOUT_ENV: &str = "MUNMAP_LAB_TEST_TIMEOUT";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MARKER: &str = "@@munmap-lab";

/// The token of this child process, once taken from the environment.
static CHILD_TOKEN: OnceLock<String> = OnceLock::new();
/// The `INSTA_*` variables the child started with (before any lab code ran).
static CHILD_INSTA_ENV: OnceLock<Vec<(std::ffi::OsString, std::ffi::OsString)>> = OnceLock::new();

/// Where the parent reports verdicts, and the nonce that marks its lines.
struct ReportTarget {
    path: std::path::PathBuf,
    nonce: Option<String>,
}

/// Taken from the parent's environment once, before its first child starts.
static REPORT_TARGET: OnceLock<Option<ReportTarget>> = OnceLock::new();

/// How a test ended, as judged by the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Skipped(String),
    Fail(String),
    Crash(String),
    Timeout(String),
}

impl Verdict {
    /// The status word used in the report file and by the grader.
    pub fn status(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Skipped(_) => "skipped",
            Verdict::Fail(_) => "fail",
            Verdict::Crash(_) => "crash",
            Verdict::Timeout(_) => "timeout",
        }
    }
}

/// Runs `body` in a fresh process dedicated to the current test; fails the test
/// when that process fails, crashes, hangs or exits early.
///
/// Tests of one suite run one at a time (a process-wide lock here), so scenarios
/// never compete for the machine even under `--test-threads=N`. The lock lives here
/// rather than in serial_test's `#[serial]`: serial_test 4.0.1 wakes a waiting test
/// before it releases its lock, so every hand-over under contention waited up to 1 s
/// (lab02's 9 cases: 0.19 s with one test thread, 3.07 s with eight).
pub fn isolated(body: impl FnOnce()) {
    if let Some(token) = take_child_token() {
        body();
        emit_marker("pass", token, "");
        return;
    }
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    REPORT_TARGET.get_or_init(|| {
        let path = take_secret_env(REPORT_ENV)?;
        Some(ReportTarget {
            path: path.into(),
            nonce: take_secret_env(NONCE_ENV),
        })
    });
    let test = current_test();
    let (verdict, notes) = run_child(&test);
    report(&test, &verdict);
    for note in notes {
        let line = format!("\n    note {}::{test}: {note}\n", lab_name());
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    match verdict {
        Verdict::Pass => {}
        Verdict::Skipped(reason) => {
            // Written past libtest's capture so the student sees why nothing was checked.
            let line = format!("\n    skipped {}::{test}: {reason}\n", lab_name());
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
        Verdict::Fail(msg) | Verdict::Crash(msg) | Verdict::Timeout(msg) => {
            // The message goes to libtest's captured output; resume_unwind then fails the
            // test without a second "panicked at isolate.rs" line and backtrace, which would
            // only point here, never at the student's code.
            println!("{msg}");
            drop(_turn);
            std::panic::resume_unwind(Box::new(msg));
        }
    }
}

/// Ends the current test body as skipped, with the reason shown to the student and
/// the grader. Use it only for limits of the machine, never for wrong lab code.
pub fn skip(reason: impl AsRef<str>) -> ! {
    let token = CHILD_TOKEN
        .get()
        .expect("skip() is only meaningful inside isolated(|| ...)");
    super::scratch::remove_live(); // exit() below runs no destructors
    emit_marker("skip", token, reason.as_ref());
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

/// Shows a measured fact (how long a case took, what limit the machine has) to whoever
/// runs the test, whether it passes or fails.
pub fn note(text: impl AsRef<str>) {
    match CHILD_TOKEN.get() {
        Some(token) => emit_marker("note", token, text.as_ref()),
        None => println!("{}", text.as_ref()),
    }
}

/// The lab this test binary checks: its file stem without cargo's hash (`lab02_partial`).
pub fn lab_name() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let exe = std::env::current_exe().expect("current_exe");
        let stem = exe.file_stem().and_then(OsStr::to_str).unwrap_or("lab").to_string();
        match stem.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => stem,
        }
    })
    .clone()
}

/// In the child: takes the token out of the environment before any lab code runs.
fn take_child_token() -> Option<&'static String> {
    if let Some(token) = CHILD_TOKEN.get() {
        return Some(token);
    }
    let token = take_secret_env(TOKEN_ENV)?;
    CHILD_INSTA_ENV.get_or_init(|| {
        std::env::vars_os()
            .filter(|(k, _)| k.to_string_lossy().starts_with("INSTA_"))
            .collect()
    });
    Some(CHILD_TOKEN.get_or_init(|| token))
}

/// Takes `name` out of the environment and overwrites its value where it was stored,
/// so neither `std::env` nor `/proc/self/environ` (the process's original environment
/// block) shows it any more.
fn take_secret_env(name: &str) -> Option<String> {
    let value = std::env::var(name).ok()?;
    let c_name = std::ffi::CString::new(name).ok()?;
    // SAFETY: called before any child or lab code runs, in a test process that runs its
    // tests on one thread (the child runs one test; the grader runs suites with
    // --test-threads=1), so no other thread reads the environment now. getenv points at
    // the value inside its "NAME=value" string, which is writable memory of this process;
    // we overwrite exactly its strlen bytes, then remove the variable.
    unsafe {
        let stored = libc::getenv(c_name.as_ptr());
        if !stored.is_null() {
            std::ptr::write_bytes(stored.cast::<u8>(), b'x', libc::strlen(stored));
        }
        std::env::remove_var(name);
    }
    Some(value)
}

/// In the child: puts the `INSTA_*` variables back as they were before lab code ran
/// (lab code could have set `INSTA_FORCE_PASS` or an update mode). Called right before
/// a snapshot is compared.
pub(crate) fn restore_insta_env() {
    let Some(saved) = CHILD_INSTA_ENV.get() else {
        return;
    };
    let now: Vec<std::ffi::OsString> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_string_lossy().starts_with("INSTA_"))
        .collect();
    // SAFETY: the child runs this one test on one thread; libtest's main thread is
    // blocked waiting for it. (Threads lab code left running are its own risk.)
    unsafe {
        for key in now {
            std::env::remove_var(key);
        }
        for (key, value) in saved {
            std::env::set_var(key, value);
        }
    }
}

/// Writes the marker straight to file descriptor 1, past libtest's output capture.
fn emit_marker(kind: &str, token: &str, text: &str) {
    let line = format!("\n{MARKER}:{kind}:{token}@@ {text}\n");
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
    let _ = std::io::stdout().flush();
}

fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .expect("isolated() must be called from a #[test] (libtest names the thread after it)")
        .to_string()
}

fn timeout() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("reading /dev/urandom for a one-time token");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs this test alone in a child process and judges how it ended; also returns its notes.
fn run_child(test: &str) -> (Verdict, Vec<String>) {
    let token = new_token();
    let (mut reader, writer) = std::io::pipe().expect("creating a pipe for the child's output");
    let writer_err = writer.try_clone().expect("cloning the pipe");
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = Command::new(exe);
    command
        .args(["--exact", test, "--test-threads=1", "--nocapture", "--color=never"])
        .env(TOKEN_ENV, &token)
        .env_remove(REPORT_ENV)
        .env_remove(NONCE_ENV)
        .env("INSTA_WORKSPACE_ROOT", env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(writer_err)
        .process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent. The child
    // is killed when the thread that started it ends, so a suite killed from outside
    // leaves no test running (lab code could undo this; the grader's timeout remains).
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return (
                Verdict::Fail(format!("could not start the test process: {e}")),
                Vec::new(),
            );
        }
    };
    drop(command); // closes our copies of the pipe's write end
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let collector = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = reader.read_to_end(&mut out);
        out
    });

    let limit = timeout();
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= limit => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return (Verdict::Fail(format!("waiting for the test process: {e}")), Vec::new()),
        }
    };
    // Whatever the child left behind (a forked grandchild, a hung loop) goes with its group.
    let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
    if status.is_none() {
        let _ = child.wait(); // reap the killed child
    }
    let output = String::from_utf8_lossy(&collector.join().unwrap_or_default()).into_owned();
    let note_marker = format!("{MARKER}:note:{token}@@");
    let notes = output
        .lines()
        .filter_map(|l| l.strip_prefix(&note_marker))
        .map(|n| n.trim().to_string())
        .collect();
    (judge(test, status, &output, &token, limit), notes)
}

/// Turns how the child ended into a verdict with a message a student can act on.
fn judge(test: &str, status: Option<ExitStatus>, output: &str, token: &str, limit: Duration) -> Verdict {
    let lab = lab_name();
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
            "{lab}::{test} did not finish within {:.0} s and was killed. Look for a loop that never \
             ends or a child process that is never waited for.",
            limit.as_secs_f64()
        )));
    };
    let marker = |kind: &str| {
        output
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{MARKER}:{kind}:{token}@@")))
            .map(|rest| rest.trim().to_string())
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
            _ => "",
        };
        return Verdict::Crash(with_output(format!(
            "{lab}::{test} crashed: the test process was killed by {name}.{hint}"
        )));
    }
    match status.code() {
        Some(0) => {
            if marker("pass").is_some() {
                Verdict::Pass
            } else if let Some(reason) = marker("skip") {
                Verdict::Skipped(reason)
            } else {
                Verdict::Fail(with_output(format!(
                    "{lab}::{test} did not finish: the test process exited with status 0 before the test \
                     body returned. Lab code must return its result, never call std::process::exit."
                )))
            }
        }
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

/// The first line of the panic message in the child's output.
fn panic_message(output: &str) -> Option<&str> {
    let mut lines = output.lines();
    lines.find(|l| l.contains("panicked at"))?;
    lines.next().map(str::trim).filter(|l| !l.is_empty())
}

/// The child's output without libtest's own bookkeeping lines and the harness markers.
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

/// Appends the verdict to the grader's report file, when one is named.
fn report(test: &str, verdict: &Verdict) {
    let Some(Some(target)) = REPORT_TARGET.get() else {
        return;
    };
    let path = &target.path;
    let message = match verdict {
        Verdict::Pass => String::new(),
        Verdict::Skipped(m) | Verdict::Fail(m) | Verdict::Crash(m) | Verdict::Timeout(m) => m
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .replace('\t', " "),
    };
    let nonce = target.nonce.as_deref().map(|n| format!("\t{n}")).unwrap_or_default();
    let line = format!("{}\t{}::{test}\t{message}{nonce}\n", verdict.status(), lab_name());
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(&path))
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!("writing the grading report {}: {e}", Path::new(&path).display());
    }
}
