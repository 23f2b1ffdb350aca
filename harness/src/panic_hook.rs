//! The panic message of a test process, with a backtrace of the student's code only.
//!
//! `RUST_BACKTRACE=1` is common in shell profiles. With std's own hook each failure
//! would then carry some 25 frames of std, libtest, serial_test, rstest and this
//! harness around the one or two frames a student can act on. This hook prints the
//! panic's first lines exactly as std's does (`thread 'NAME' (TID) panicked at
//! FILE:L:C:` and the message: the judge reads them), and then, whatever
//! `RUST_BACKTRACE` says (`1`, `full`), only the frames of lab code and of the suite:
//! the frames of std, the test runner, the test crates' macros and the harness are left
//! out, and a last line says how many.

use std::backtrace::Backtrace;
use std::fmt::Write as _;
use std::panic::PanicHookInfo;

/// Crates whose frames a student never needs (the first path segment of a symbol).
const LEFT_OUT: &[&str] = &[
    "std",
    "core",
    "alloc",
    "__rustc",
    "test",
    "serial_test",
    "rstest",
    "insta",
    "munmap_lab_harness",
    "munmap_lab_protocol",
];

/// Installs the hook in this test process (before lab code runs).
pub(crate) fn install() {
    let wanted = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        let mut text = first_lines(info);
        if wanted {
            text.push_str(&backtrace_of_lab_code(&Backtrace::force_capture().to_string()));
        } else {
            // std's own note, which also ends the message for the judge that reads it.
            text.push_str("note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n");
        }
        eprint!("{text}");
    }));
}

/// `thread 'NAME' (TID) panicked at FILE:L:C:` and the message, as std's hook writes them.
fn first_lines(info: &PanicHookInfo<'_>) -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let location = info.location().map_or_else(
        || "<unknown>".to_string(),
        |l| format!("{}:{}:{}", l.file(), l.line(), l.column()),
    );
    let message = info.payload_as_str().unwrap_or("Box<dyn Any>");
    format!("thread '{name}' ({tid}) panicked at {location}:\n{message}\n")
}

/// std's rendering of a backtrace (`  N: symbol` lines, each followed by its `at
/// FILE:L:C` lines) with only the frames of crates not [`LEFT_OUT`], renumbered.
fn backtrace_of_lab_code(rendered: &str) -> String {
    let mut frames: Vec<Vec<&str>> = Vec::new();
    for line in rendered.lines() {
        let trimmed = line.trim_start();
        let is_frame = trimmed
            .split_once(": ")
            .is_some_and(|(n, _)| n.parse::<usize>().is_ok());
        if is_frame {
            frames.push(vec![line]);
        } else if trimmed.starts_with("at ")
            && let Some(frame) = frames.last_mut()
        {
            frame.push(line);
        }
    }
    let total = frames.len();
    let kept: Vec<&Vec<&str>> = frames.iter().filter(|frame| is_lab_code(frame)).collect();
    // std's own heading, which also ends the message for the judge that reads it.
    let mut out = String::from("stack backtrace:\n");
    for (n, frame) in kept.iter().enumerate() {
        let (_, symbol) = frame[0].trim_start().split_once(": ").unwrap_or_default();
        writeln!(out, "{n:>4}: {symbol}").unwrap();
        for at in &frame[1..] {
            writeln!(out, "{at}").unwrap();
        }
    }
    writeln!(
        out,
        "note: only the frames of lab code and the suite are shown; {} of std, the test runner and the harness are left out",
        total - kept.len()
    )
    .unwrap();
    out
}

/// Whether a frame (its symbol line, then its `at` lines) is the student's or the
/// suite's: where it has a location, that is a file of the project outside the
/// harness and the protocol (a generic function inlined elsewhere is named without
/// its crate, but still says where it is); without one, its symbol's crate decides.
fn is_lab_code(frame: &[&str]) -> bool {
    let location = frame.get(1).and_then(|l| l.trim_start().strip_prefix("at "));
    match location {
        Some(path) => {
            let outside =
                path.starts_with("/rustc/") || path.contains("/.cargo/registry/") || path.contains("/.cargo/git/");
            let support = ["harness/src/", "protocol/src/"].iter().any(|dir| path.contains(dir));
            !outside && !support
        }
        // A Rust path (`crate::item`); a C function of libc (`start_thread`) has none.
        None => frame
            .first()
            .filter(|l| l.contains("::"))
            .and_then(|l| symbol_crate(l))
            .is_some_and(|c| !LEFT_OUT.contains(&c)),
    }
}

/// The crate a frame's symbol belongs to: `munmap_lab` for `munmap_lab::lab02::trim`,
/// `alloc` for `<alloc::boxed::Box<F> as core::ops::FnOnce>::call_once`.
fn symbol_crate(frame_line: &str) -> Option<&str> {
    let (_, symbol) = frame_line.trim_start().split_once(": ")?;
    if symbol.trim() == "<unknown>" {
        return None;
    }
    let symbol = symbol.trim_start_matches('<');
    let end = symbol.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&symbol[..end]).filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backtrace as std rendered it for a `todo!()` in lab 03 (RUST_BACKTRACE=1).
    const RENDERED: &str = "   0: __rustc::rust_begin_unwind
             at /rustc/5980/library/std/src/panicking.rs:689:5
   1: core::panicking::panic_fmt
             at /rustc/5980/library/core/src/panicking.rs:80:14
   2: munmap_lab::lab03_spanning::release_range
             at ./src/../labs/lab03_spanning.rs:37:5
   3: lab03_spanning::release_range_removes_every_piece::{{closure}}
             at ./tests/lab03_spanning.rs:60:9
   4: munmap_lab_harness::isolate::isolated
             at ./harness/src/isolate.rs:35:9
   5: serial_test::serial_code_lock::local_serial_core
             at /home/u/.cargo/registry/src/serial_test-4.0.1/src/serial_code_lock.rs:20:5
   6: <alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once
             at /rustc/5980/library/alloc/src/boxed.rs:1985:9
   7: test::run_test_in_process
             at /rustc/5980/library/test/src/lib.rs:663:18
   8: isolated<lab03_spanning::release_range_removes_every_piece::{closure#0}>
             at ./harness/src/isolate.rs:35:9
   9: <fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once
             at /rustc/5980/library/core/src/ops/function.rs:250:5
  10: std::rt::lang_start_internal
  11: start_thread
  12: munmap_lab::lab03_spanning::inlined_without_location
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.
";

    #[test]
    fn only_lab_code_and_the_suite_stay() {
        let shown = backtrace_of_lab_code(RENDERED);
        assert_eq!(
            shown,
            "stack backtrace:
   0: munmap_lab::lab03_spanning::release_range
             at ./src/../labs/lab03_spanning.rs:37:5
   1: lab03_spanning::release_range_removes_every_piece::{{closure}}
             at ./tests/lab03_spanning.rs:60:9
   2: munmap_lab::lab03_spanning::inlined_without_location
note: only the frames of lab code and the suite are shown; 10 of std, the test runner and the harness are left out
"
        );
    }

    #[test]
    fn a_symbol_names_its_crate() {
        assert_eq!(symbol_crate("  12: munmap_lab::lab02::trim"), Some("munmap_lab"));
        assert_eq!(
            symbol_crate("   6: <alloc::boxed::Box<F> as core::ops::FnOnce>::call_once"),
            Some("alloc")
        );
        assert_eq!(
            symbol_crate("   6: <munmap_lab::lab08_ownership::Mapping as core::ops::drop::Drop>::drop"),
            Some("munmap_lab")
        );
        assert_eq!(
            symbol_crate("   9: <unknown>"),
            None,
            "a frame without a symbol is left out"
        );
    }
}
