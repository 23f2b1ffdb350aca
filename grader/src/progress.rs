//! What the grader is doing during long work, on stderr: the build of the suites
//! (crates compiled so far), which suite runs, how many tests have run.
//!
//! - At a terminal ([`Mode::Live`]): one line that changes in place (indicatif), gone
//!   before anything else is printed (see [`note`] and [`clear`]).
//! - In a log, e.g. CI ([`Mode::Lines`]): only during long work, at most one line every
//!   [`LOG_EVERY`] (what is being done at that moment), plus the start of a first build
//!   and the end of any stage that took that long. A quick grade adds no line.
//! - [`Mode::Off`]: nothing (unit tests, `cargo selftest`, a batch outside a terminal,
//!   which prints a line per submission itself).
//!
//! A grade reports through a [`Progress`] value it is given (its `Options`): the
//! reference solutions' grade, going on beside the build of the source being graded, is
//! given [`Progress::Silent`]. What is on the terminal (the mode, the live line) is one
//! state for the process, set by [`start`].

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a log gets a line while the build goes on.
const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Off,
    Lines,
    Live,
}

impl Mode {
    /// Live at a terminal; otherwise lines, or nothing when `quiet_in_logs` (a batch).
    pub fn detect(quiet_in_logs: bool) -> Mode {
        if std::io::stderr().is_terminal() {
            Mode::Live
        } else if quiet_in_logs {
            Mode::Off
        } else {
            Mode::Lines
        }
    }
}

struct State {
    mode: Mode,
    bar: Option<ProgressBar>,
    /// Whose grade this is: `[labs]`, `[solutions]`, `[3/10 alice]`.
    label: String,
    /// Put before the label: the place in a batch (`3/10 `).
    prefix: String,
    /// When the current stage (build, tests) began.
    since: Instant,
    /// When a log line was last printed.
    logged: Instant,
    compiled: usize,
    tests_done: usize,
    tests_total: usize,
    suite: String,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

/// Whether a grade's progress is shown (on the terminal as [`start`] set it up).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Progress {
    /// The grade someone waits for.
    #[default]
    Shown,
    /// Work beside it (the reference solutions' grade during the source's build).
    Silent,
}

/// What a build reports as it goes: [`crate::cargo_build`] reads cargo's messages and
/// tells this sink each crate it compiled.
pub trait BuildEvents: Sync {
    /// `name` was compiled (not fresh; a build script is a step of its crate, not a crate).
    fn compiled(&self, name: &str);
}

impl BuildEvents for Progress {
    fn compiled(&self, name: &str) {
        self.with(|s| {
            s.compiled += 1;
            let text = format!(
                "building the suites: {} crate{} compiled ({name}), {:.0} s",
                s.compiled,
                plural(s.compiled),
                s.since.elapsed().as_secs_f64()
            );
            s.status(&text);
        });
    }
}

/// The terminal's state, when progress is on.
fn with_state<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    let mut guard = STATE.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_mut().filter(|s| s.mode != Mode::Off).map(f)
}

/// Turns progress on (or off) for this process.
pub fn start(mode: Mode) {
    let now = Instant::now();
    *STATE.lock().unwrap_or_else(|e| e.into_inner()) = Some(State {
        mode,
        bar: None,
        label: String::new(),
        prefix: String::new(),
        since: now,
        logged: now,
        compiled: 0,
        tests_done: 0,
        tests_total: 0,
        suite: String::new(),
    });
}

impl State {
    /// What is being done now: shown at a terminal, a line in a log only when the last
    /// line is [`LOG_EVERY`] old.
    fn status(&mut self, text: &str) {
        if self.mode == Mode::Lines && self.logged.elapsed() < LOG_EVERY {
            return;
        }
        self.show(text);
    }

    /// Shown at a terminal, and a line in a log in any case.
    fn show(&mut self, text: &str) {
        let line = format!("[{}] {text}", self.label);
        match self.mode {
            Mode::Live => self.bar().set_message(line),
            Mode::Lines => {
                eprintln!("{line}");
                self.logged = Instant::now();
            }
            Mode::Off => {}
        }
    }

    /// The end of a stage: in a log only when the stage was long.
    fn finish(&mut self, text: &str) {
        if self.mode == Mode::Live || self.since.elapsed() >= LOG_EVERY {
            self.show(text);
        }
    }

    fn bar(&mut self) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(ProgressStyle::with_template("{spinner} {wide_msg}").expect("a valid template"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
    }

    fn tests_line(&self) -> String {
        format!("{}, {} of {} tests run", self.suite, self.tests_done, self.tests_total)
    }
}

impl Progress {
    /// The terminal's state, unless this grade is silent or progress is off.
    fn with<T>(self, f: impl FnOnce(&mut State) -> T) -> Option<T> {
        match self {
            Progress::Shown => with_state(f),
            Progress::Silent => None,
        }
    }

    /// A new grade begins: `label` says whose (`labs`, `solutions`, a submission's folder).
    pub fn grading(self, label: &str) {
        self.with(|s| {
            // A submission's folder name: escaped, it cannot redraw the terminal.
            s.label = format!("{}{}", s.prefix, crate::escape::shown(label));
            s.compiled = 0;
            s.tests_done = 0;
            s.tests_total = 0;
        });
    }

    /// The build of `suites` suites begins (`first`: nothing was built here before, so the
    /// dependencies are built too).
    pub fn building(self, suites: usize, first: bool) {
        self.with(|s| {
            s.since = Instant::now();
            s.compiled = 0;
            if first {
                s.show(&format!(
                    "building the {suites} suites and their dependencies (1-2 min) ..."
                ));
            } else {
                s.status(&format!("building the {suites} suites ..."));
            }
        });
    }

    /// The build starts from `files` (`bytes`) that the checkout's own `cargo test` compiled.
    pub fn reused(self, files: usize, bytes: u64) {
        self.with(|s| {
            s.show(&format!(
                "reusing the dependencies `cargo test` built ({files} files, {} MiB copied)",
                bytes >> 20
            ))
        });
    }

    /// The build is done.
    pub fn built(self) {
        self.with(|s| {
            let text = format!(
                "built in {:.1} s ({} crate{} compiled)",
                s.since.elapsed().as_secs_f64(),
                s.compiled,
                plural(s.compiled)
            );
            s.finish(&text);
        });
    }

    /// The build is done and the reference solutions' grade, going on beside it, is not.
    pub fn waiting_for_reference(self) {
        self.with(|s| s.status("waiting for the reference solutions' grade, which goes on beside the build ..."));
    }

    /// The tests are about to run: `total` of them.
    pub fn testing(self, total: usize) {
        self.with(|s| {
            s.since = Instant::now();
            s.tests_done = 0;
            s.tests_total = total;
        });
    }

    /// Suite `n` of `of` (`lab`, with `tests` graded tests) begins.
    pub fn suite(self, n: usize, of: usize, lab: &str, tests: usize) {
        self.with(|s| {
            s.suite = format!("suite {n} of {of}: {lab}");
            let text = match s.mode {
                Mode::Live => s.tests_line(),
                _ => format!("{} ({tests} test{})", s.suite, plural(tests)),
            };
            s.status(&text);
        });
    }

    /// One more test has run.
    pub fn test_done(self) {
        self.with(|s| {
            s.tests_done += 1;
            if s.mode == Mode::Live {
                let text = s.tests_line();
                s.status(&text);
            }
        });
    }

    /// Every test has run.
    pub fn tested(self) {
        self.with(|s| {
            let text = format!(
                "{} test{} run in {:.1} s",
                s.tests_done,
                plural(s.tests_done),
                s.since.elapsed().as_secs_f64()
            );
            s.finish(&text);
        });
    }
}

/// Whether progress is a live line at a terminal.
pub fn is_live() -> bool {
    with_state(|s| s.mode == Mode::Live).unwrap_or(false)
}

/// The grades that follow are submission `n` of `of` in a batch.
pub fn in_batch(n: usize, of: usize) {
    with_state(|s| s.prefix = format!("{n}/{of} "));
}

/// A line for the person waiting, shown whatever the mode (above the live line, if any).
pub fn note(text: &str) {
    let shown = with_state(|s| match &s.bar {
        Some(bar) => bar.suspend(|| eprintln!("{text}")),
        None => eprintln!("{text}"),
    });
    if shown.is_none() {
        eprintln!("{text}");
    }
}

/// Takes the live line away (before the report, or any other output).
pub fn clear() {
    with_state(|s| {
        if let Some(bar) = s.bar.take() {
            bar.finish_and_clear();
        }
    });
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
