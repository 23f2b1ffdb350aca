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
//!   this module only runs the body there and, after it returned, prints the pass
//!   marker with the token. The grader never runs this binary as a judge.
//!
//! The token is taken out of the environment (and its bytes in the process's original
//! environment block overwritten, which `/proc/self/environ` shows) before lab code
//! runs. Whatever `INSTA_*` settings the process started with are put back before a
//! snapshot is compared, so lab code cannot set `INSTA_FORCE_PASS` for itself.
//!
//! When the grader witnesses the test ([`protocol::WITNESS_ENV`], read with the token),
//! the test's first arena goes where the grader said, and every step of the story that
//! shows that window stops the process ([`checkpoint`]) until the grader has read the
//! window from the kernel. Under `cargo test` nothing is witnessed and nothing stops.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use munmap_lab_protocol::{self as protocol, Kind, Verdict};

use super::maps::MapsView;

/// The token of this test process, once taken from the environment.
static TOKEN: OnceLock<String> = OnceLock::new();
/// The `INSTA_*` variables the test process started with (before any lab code ran).
static STARTING_INSTA_ENV: OnceLock<Vec<(OsString, OsString)>> = OnceLock::new();
/// Whether, and where, the grader witnesses this test process (read with the token).
static WITNESS: OnceLock<Option<Witness>> = OnceLock::new();
/// Whether the first arena has been placed at the witnessed window already.
static WINDOW_TAKEN: AtomicBool = AtomicBool::new(false);

/// What the grader said about witnessing this test process.
#[derive(Clone, Copy, Debug)]
struct Witness {
    /// Page 0 of the window the grader reads at each checkpoint.
    base: usize,
    /// The test process the grader watches (a forked copy of it is not watched, so it never stops).
    pid: u32,
}

/// Runs `body` in a process dedicated to the current test; fails the test when that
/// process fails, crashes, hangs or exits early.
///
/// Tests of one suite run one at a time (a process-wide lock here), so scenarios never
/// compete for the machine even under `--test-threads=N`.
pub fn isolated(body: impl FnOnce()) {
    if let Some(token) = take_token() {
        body();
        emit(Kind::Pass, token, "");
        return;
    }
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let test = current_test();
    let (verdict, notes) = run_alone(&test);
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
            drop(turn);
            std::panic::resume_unwind(Box::new(msg));
        }
    }
}

/// Ends the current test body as skipped, with the reason shown to the student and
/// the grader. Use it only for limits of the machine, never for wrong lab code.
pub fn skip(reason: impl AsRef<str>) -> ! {
    let token = TOKEN.get().expect("skip() is only meaningful inside isolated(|| ...)");
    super::scratch::remove_live(); // exit() below runs no destructors
    emit(Kind::Skip, token, reason.as_ref());
    std::process::exit(0);
}

/// Shows a measured fact (how long a case took, what limit the machine has) to whoever
/// runs the test, whether it passes or fails.
pub fn note(text: impl AsRef<str>) {
    match TOKEN.get() {
        Some(token) => emit(Kind::Note, token, text.as_ref()),
        None => println!("{}", text.as_ref()),
    }
}

/// Tells the judge that the test now calls lab code, described as `call`, which must do
/// `needs` (see [`expect::call`](crate::expect::call)); [`returned`] ends it. Outside a
/// judged test process (no token), nothing is printed.
pub(crate) fn calling(call: &str, needs: &str) {
    if let Some(token) = TOKEN.get() {
        // A tab separates the two parts of the marker; the texts keep none of their own.
        let clean = |text: &str| text.replace('\t', " ");
        emit(Kind::Call, token, &format!("{}\t{}", clean(call), clean(needs)));
    }
}

/// Tells the judge that the lab code named by the last [`calling`] returned.
pub(crate) fn returned() {
    if let Some(token) = TOKEN.get() {
        emit(Kind::Return, token, "");
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

/// libtest's name for the running test (the thread it runs on is named after it).
pub fn current_test() -> String {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .expect("isolated() must be called from a #[test] (libtest names the thread after it)")
        .to_string()
}

/// In a test process started by a judge: takes the token out of the environment
/// before any lab code runs.
fn take_token() -> Option<&'static String> {
    if let Some(token) = TOKEN.get() {
        return Some(token);
    }
    let token = take_secret_env(protocol::TOKEN_ENV)?;
    STARTING_INSTA_ENV.get_or_init(|| {
        std::env::vars_os()
            .filter(|(k, _)| k.to_string_lossy().starts_with("INSTA_"))
            .collect()
    });
    WITNESS.get_or_init(take_witness);
    Some(TOKEN.get_or_init(|| token))
}

/// The grader's witness window, taken out of the environment with the token.
fn take_witness() -> Option<Witness> {
    let value = std::env::var_os(protocol::WITNESS_ENV)?;
    // SAFETY: as in take_secret_env: before lab code runs, with no other thread reading.
    unsafe { std::env::remove_var(protocol::WITNESS_ENV) };
    let base = value
        .to_str()
        .and_then(protocol::parse_witness)
        .unwrap_or_else(|| panic!("{}={value:?} is not a window address", protocol::WITNESS_ENV));
    Some(Witness {
        base,
        pid: std::process::id(),
    })
}

/// The witnessed window's address, the first time it is asked for in a witnessed test
/// process (the test's first arena goes there); None otherwise.
pub(crate) fn take_witnessed_window() -> Option<usize> {
    let witness = WITNESS.get().copied().flatten()?;
    (witness.pid == std::process::id() && !WINDOW_TAKEN.swap(true, Ordering::SeqCst)).then_some(witness.base)
}

/// A checkpoint: when the grader witnesses this process and `view` shows the witnessed
/// window as this process sees it, stops the process (SIGSTOP) so that the grader reads
/// the window from the kernel; the grader continues it. Anything else returns at once.
pub(crate) fn checkpoint(view: &MapsView) {
    let Some(witness) = WITNESS.get().copied().flatten() else {
        return;
    };
    if witness.pid != std::process::id() || view.start_in_this_process() != Some(witness.base as u64) {
        return;
    }
    let _ = std::io::stdout().flush();
    // SAFETY: raise sends a signal to this thread; SIGSTOP stops the whole process.
    unsafe { libc::raise(libc::SIGSTOP) };
}

/// Takes `name` out of the environment and overwrites its value where it was stored,
/// so neither `std::env` nor `/proc/self/environ` (the process's original environment
/// block) shows it any more.
fn take_secret_env(name: &str) -> Option<String> {
    let value = std::env::var(name).ok()?;
    let c_name = std::ffi::CString::new(name).ok()?;
    // SAFETY: called before lab code runs, on the test's thread; libtest's main thread is
    // blocked waiting for it and no other thread reads the environment now. getenv points
    // at the value inside its "NAME=value" string, which is writable memory of this
    // process; we overwrite exactly its strlen bytes, then remove the variable.
    unsafe {
        let stored = libc::getenv(c_name.as_ptr());
        if !stored.is_null() {
            std::ptr::write_bytes(stored.cast::<u8>(), b'x', libc::strlen(stored));
        }
        std::env::remove_var(name);
    }
    Some(value)
}

/// Puts the `INSTA_*` variables back as they were before lab code ran (lab code could
/// have set `INSTA_FORCE_PASS` or an update mode) and names the project root for insta.
/// Called right before a snapshot is compared.
pub(crate) fn restore_insta_env() {
    let now: Vec<OsString> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.to_string_lossy().starts_with("INSTA_"))
        .collect();
    // SAFETY: the test process runs this one test on one thread; libtest's main thread
    // is blocked waiting for it. (Threads lab code left running are its own risk.)
    unsafe {
        if let Some(saved) = STARTING_INSTA_ENV.get() {
            for key in now {
                std::env::remove_var(key);
            }
            for (key, value) in saved {
                std::env::set_var(key, value);
            }
        }
        std::env::set_var("INSTA_WORKSPACE_ROOT", super::PROJECT_ROOT);
    }
}

/// Writes a marker straight to file descriptor 1, past libtest's output capture.
fn emit(kind: Kind, token: &str, text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(protocol::marker(kind, token, text).as_bytes());
    let _ = out.flush();
}

fn timeout() -> std::time::Duration {
    std::env::var(protocol::TIMEOUT_ENV)
        .ok()
        .and_then(|s| protocol::parse_timeout(&s).ok())
        .unwrap_or(protocol::DEFAULT_TIMEOUT)
}

/// Runs this test alone in a new test process and judges how it ended; also returns its notes.
fn run_alone(test: &str) -> (Verdict, Vec<String>) {
    let token = protocol::new_token();
    let exe = std::env::current_exe().expect("current_exe");
    let mut command = Command::new(exe);
    command
        .args(protocol::test_args(test))
        .env(protocol::TOKEN_ENV, &token)
        .env_remove(protocol::WITNESS_ENV)
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
    let limit = timeout();
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
        protocol::judge(&lab_name(), test, ended.status, &output, &token, limit),
        notes,
    )
}
