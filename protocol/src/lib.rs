//! The one place that says how a test process is started and how its end is judged.
//!
//! Two judges use it: the harness, when a student runs `cargo test` (each test body
//! re-runs its own test binary for that one test), and the grader, which starts every
//! graded test process itself and runs no lab code of its own. Both start the test
//! binary as `EXE --exact NAME --test-threads=1 --nocapture` with a one-time token in
//! [`TOKEN_ENV`]; the harness in that process takes the token out of its environment
//! before lab code runs and prints a [`pass`](Kind::Pass) marker carrying it only after
//! the body returned. Whatever else happens (a signal, an early exit, a hang, printed
//! text) is judged here from outside, into a [`Verdict`] whose message a student can
//! act on.
//!
//! The grader can also witness a test: with [`WITNESS_ENV`] it tells the test process
//! where to put its window, the process stops itself at every step that shows it, and
//! [`bounded::run_observed`] lets the grader read the window from the kernel while the
//! process is stopped. A pass then needs the token and the kernel's agreement.

pub mod bounded;
mod judge;
pub mod maps;

pub use judge::{TestStatus, Verdict, judge};
pub use maps::MapsView;

/// The page size and `n` pages in bytes: the lab crate's own file (`src/page.rs`), included
/// rather than depended on, so the grader that uses this crate never builds lab code.
#[path = "../../src/page.rs"]
mod page;
pub use page::{page_size, pages};

use std::time::Duration;

/// Carries the one-time token from the judge to the test process.
pub const TOKEN_ENV: &str = "MUNMAP_LAB_CHILD_TOKEN";
/// Seconds a test body may run before it is killed (default [`DEFAULT_TIMEOUT`]).
pub const TIMEOUT_ENV: &str = "MUNMAP_LAB_TEST_TIMEOUT";
/// A folder of its own where the test process keeps its scratch files (set by the
/// grader, which lets the process write nowhere else).
pub const SCRATCH_ENV: &str = "MUNMAP_LAB_SCRATCH";
/// How long a test body may run by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest and longest per-test time limit a judge accepts.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<f64> = 0.5..=600.0;
/// Most output kept from one test process; the rest is dropped with a note.
pub const OUTPUT_CAP: usize = 1 << 20;
/// Set by the grader (and only the grader) when it witnesses a test: the address, in hex,
/// where the test process must place its first arena's window. The process then stops
/// itself (SIGSTOP) at every step of its story that shows that window, and the grader
/// reads the window from `/proc/PID/smaps` before it lets the process go on.
pub const WITNESS_ENV: &str = "MUNMAP_LAB_WITNESS";
/// Where the grader puts the witnessed window: 232 GiB, far below where the kernel places
/// mmaps, libraries and the stack (top-down from near the top of the address space, or
/// bottom-up from a third of it), below where PIE programs load, and inside even a 39-bit
/// (512 GiB) user address space. Lab 07's fixed window (264 GiB) lies elsewhere.
pub const WITNESS_BASE: usize = 0x3a_0000_0000;
/// How many pages from [`WITNESS_BASE`] the grader reads at a checkpoint: more than any
/// test's window, so the judge never asks the process how big its window is.
pub const WITNESS_PAGES: usize = 64;

/// Set by the grader (and only the grader) when it draws the scenarios: the seed, in
/// decimal, from which every test draws its scenario ([`draw_index`]). The reference
/// solutions run under the same seed, and their run is the expectation; without it each
/// test takes its defaults, which are what its snapshot shows.
pub const DRAW_ENV: &str = "MUNMAP_LAB_DRAW";

/// How a test process's note of a drawn value starts (`drawn mapping pages = 7`).
pub const DRAWN_NOTE: &str = "drawn ";

/// How a witnessed test process's note of what a lab call returned starts
/// (`returned trim_back(addr, 6 pages, 1): Ok((window page 1, 20480))`).
pub const RETURNED_NOTE: &str = "returned ";

const MARKER: &str = "@@munmap-lab";

/// What a marker line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The body returned.
    Pass,
    /// The body ended itself: this machine cannot check the case (the text says why).
    Skip,
    /// A measured fact shown to whoever runs the test.
    Note,
    /// The test is calling lab code: `CALL<TAB>NEEDS`, what it called (with its
    /// arguments) and what it needs that call to do. A panic, crash, hang or exit that
    /// comes before the matching [`Return`](Kind::Return) happened in that call.
    Call,
    /// The lab code the last [`Call`](Kind::Call) named returned.
    Return,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Pass => "pass",
            Kind::Skip => "skip",
            Kind::Note => "note",
            Kind::Call => "call",
            Kind::Return => "return",
        }
    }
}

/// The line a test process prints (on its own line) to tell the judge `kind`; line
/// breaks in `text` become spaces (a marker is one line).
pub fn marker(kind: Kind, token: &str, text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    format!("\n{MARKER}:{}:{token}@@ {text}\n", kind.word())
}

/// The texts of every `kind` marker carrying `token` in `output`.
pub fn markers<'a>(output: &'a str, kind: Kind, token: &str) -> impl Iterator<Item = &'a str> {
    let prefix = format!("{MARKER}:{}:{token}@@", kind.word());
    output
        .lines()
        .filter_map(move |l| l.strip_prefix(prefix.as_str()))
        .map(str::trim)
}

/// A fresh one-time token: 128 random bits as hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: getrandom writes at most the given length into the buffer.
        let n = unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0) };
        assert!(n > 0 || std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted);
        filled += n.max(0) as usize;
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The per-test time limit in seconds from `text` (an environment value or a command-line
/// argument), or why it is not one. Every judge reads the limit with this parser.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let secs = text.trim().parse::<f64>().ok().filter(|secs| secs.is_finite());
    match secs {
        Some(secs) if TIMEOUT_RANGE.contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "`{text}` is not a number of seconds from {} to {}",
            TIMEOUT_RANGE.start(),
            TIMEOUT_RANGE.end()
        )),
    }
}

/// The per-test time limit [`TIMEOUT_ENV`] sets ([`DEFAULT_TIMEOUT`] when it is unset), or
/// why its value is unusable: a bad value is an error, never quietly replaced.
pub fn timeout_from_env() -> Result<Duration, String> {
    let Some(value) = std::env::var_os(TIMEOUT_ENV) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let text = value.to_string_lossy();
    value
        .to_str()
        .ok_or_else(|| format!("`{text}` is not UTF-8"))
        .and_then(parse_timeout)
        .map_err(|why| format!("{TIMEOUT_ENV}={text}: {why}: set it to one, or unset it"))
}

/// The value of [`WITNESS_ENV`] for a window at `base`.
pub fn witness_value(base: usize) -> String {
    format!("{base:#x}")
}

/// The window base in a value of [`WITNESS_ENV`]: a non-zero hex address (`0x` optional).
pub fn parse_witness(text: &str) -> Option<usize> {
    let hex = text.trim();
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    usize::from_str_radix(hex, 16).ok().filter(|base| *base != 0)
}

/// The seed in a value of [`DRAW_ENV`]: a decimal `u64`.
pub fn parse_draw(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Which of `count` choices the test `test` (its graded name, `lab::test`) draws for
/// `what` under `seed`: the same for the same three, whatever else was drawn before, so
/// adding a drawn value to one test changes no other draw. `count` must be at least 1.
pub fn draw_index(seed: u64, test: &str, what: &str, count: usize) -> usize {
    let key = format!("{test}\u{0}{what}");
    // Mixed first: seeds 1, 2, 3 would otherwise start the generator at neighbouring
    // states, whose first draws come out alike (seen over seeds 1-40).
    fastrand::Rng::with_seed(splitmix64(seed ^ fnv1a(key.as_bytes()))).usize(..count.max(1))
}

/// SplitMix64's output function (Steele, Lea and Flood, 2014): neighbouring inputs give
/// unrelated outputs.
fn splitmix64(x: u64) -> u64 {
    let x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// 64-bit FNV-1a: a hash that is the same on every machine and toolchain (std's
/// `DefaultHasher` promises neither), so `--seed N` draws the same scenarios everywhere.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The name a test is graded, listed in `rubric.toml` and snapshotted under: libtest's
/// name with rstest's case number taken out (`trim::case_2_anonymous` is graded as
/// `trim::anonymous`), so inserting a case renames no other. An unnamed case
/// (`trim::case_2`) has nothing else to go by and keeps its number.
pub fn graded_name(libtest: &str) -> String {
    let (function, last) = match libtest.rsplit_once("::") {
        Some((function, last)) => (Some(function), last),
        None => (None, libtest),
    };
    let description = last
        .strip_prefix("case_")
        .map(|rest| rest.trim_start_matches(|c: char| c.is_ascii_digit()))
        .filter(|rest| rest.len() < last.len() - "case_".len())
        .and_then(|rest| rest.strip_prefix('_'))
        .filter(|description| !description.is_empty());
    match (function, description) {
        (Some(function), Some(description)) => format!("{function}::{description}"),
        _ => libtest.to_string(),
    }
}

/// The insta snapshot name of `lab`'s test graded as `graded` (see [`graded_name`]):
/// `<lab>__<graded with :: as __>`, stored as `snapshots/<name>.snap`. The harness names
/// snapshots by it and the grader checks every snapshot file against the rubric by it.
pub fn snapshot_name(lab: &str, graded: &str) -> String {
    format!("{lab}__{}", graded.replace("::", "__"))
}

/// The arguments that make a libtest binary run exactly `test`, alone, uncaptured.
pub fn test_args(test: &str) -> [&str; 5] {
    ["--exact", test, "--test-threads=1", "--nocapture", "--color=never"]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graded_names_drop_only_rstest_case_numbers() {
        assert_eq!(
            graded_name("trim::case_2_anonymous_one_page"),
            "trim::anonymous_one_page"
        );
        assert_eq!(graded_name("trim::case_10_b"), "trim::b");
        assert_eq!(graded_name("trim::case_07_b"), "trim::b");
        assert_eq!(graded_name("trim::case_2"), "trim::case_2");
        assert_eq!(graded_name("trim::case_x_b"), "trim::case_x_b");
        assert_eq!(graded_name("trim::case__b"), "trim::case__b");
        assert_eq!(graded_name("case_1_a"), "case_1_a");
        assert_eq!(
            graded_name("release_forgets_the_pointer"),
            "release_forgets_the_pointer"
        );
    }

    #[test]
    fn snapshot_names_join_the_lab_and_the_graded_path() {
        assert_eq!(
            snapshot_name("lab02_partial", "trim::anonymous"),
            "lab02_partial__trim__anonymous"
        );
        assert_eq!(snapshot_name("lab01_full", "map"), "lab01_full__map");
    }

    #[test]
    fn markers_carry_the_token() {
        let out = format!(
            "noise{}{}",
            marker(Kind::Pass, "t1", ""),
            marker(Kind::Note, "t1", "took 3 ms")
        );
        assert_eq!(markers(&out, Kind::Pass, "t1").count(), 1);
        assert_eq!(markers(&out, Kind::Pass, "other").count(), 0);
        assert_eq!(markers(&out, Kind::Note, "t1").collect::<Vec<_>>(), ["took 3 ms"]);
    }

    #[test]
    fn tokens_are_fresh() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn the_witness_base_goes_there_and_back() {
        assert_eq!(parse_witness(&witness_value(WITNESS_BASE)), Some(WITNESS_BASE));
    }

    #[test]
    fn a_draw_depends_on_the_seed_the_test_and_what_is_drawn_only() {
        let draw = |seed, test, what| draw_index(seed, test, what, 1000);
        assert_eq!(draw(7, "lab::t", "pages"), draw(7, "lab::t", "pages"));
        // Over a few seeds the three inputs each change the draw somewhere.
        assert!((0..8).any(|s| draw(s, "lab::t", "pages") != draw(s + 100, "lab::t", "pages")));
        assert!((0..8).any(|s| draw(s, "lab::t", "pages") != draw(s, "lab::u", "pages")));
        assert!((0..8).any(|s| draw(s, "lab::t", "pages") != draw(s, "lab::t", "cut")));
        assert_eq!(draw_index(7, "lab::t", "one", 1), 0);
        // Neighbouring seeds draw unlike values: over seeds 1-40, no run of four alike.
        let runs: Vec<usize> = (1..=40).map(|s| draw_index(s, "lab::t", "bytes", 6)).collect();
        assert!(runs.windows(4).all(|w| w.iter().any(|&v| v != w[0])), "{runs:?}");
        assert_eq!(parse_draw(" 42 "), Some(42));
        assert_eq!(parse_draw("x"), None);
        assert_eq!(parse_witness("3a00000000"), Some(0x3a_0000_0000));
        for bad in ["", "0", "0x", "zz", "-1"] {
            assert_eq!(parse_witness(bad), None, "{bad}");
        }
    }

    #[test]
    fn timeouts_outside_the_range_are_refused() {
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout(" 600 "), Ok(Duration::from_secs(600)));
        for bad in [
            "1e308", "1e19", "1e-9", "0", "-1", "0.49", "600.5", "NaN", "inf", "-inf", "", "ten",
        ] {
            assert_eq!(
                parse_timeout(bad),
                Err(format!("`{bad}` is not a number of seconds from 0.5 to 600")),
                "{bad}"
            );
        }
    }
}
