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
//! The state is global: the build's output is read on another thread, and grading
//! passes no reporter through its layers.

use std::cell::Cell;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;

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

thread_local! {
    /// This thread's work goes on beside the work the progress line is about: it shows nothing.
    static SILENT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` on this thread without showing its progress (the reference solutions'
/// grade, going on beside the build of the source being graded).
pub fn silently<T>(work: impl FnOnce() -> T) -> T {
    let was = SILENT.replace(true);
    let result = work();
    SILENT.set(was);
    result
}

/// Whether this thread's progress is not shown (see [`silently`]).
pub fn is_silent() -> bool {
    SILENT.get()
}

fn with<T>(f: impl FnOnce(&mut State) -> T) -> Option<T> {
    if is_silent() {
        return None;
    }
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

/// A new grade begins: `label` says whose (`labs`, `solutions`, a submission's folder).
pub fn grading(label: &str) {
    with(|s| {
        // A submission's folder name: escaped, it cannot redraw the terminal.
        s.label = format!("{}{}", s.prefix, crate::output::escape::shown(label));
        s.compiled = 0;
        s.tests_done = 0;
        s.tests_total = 0;
    });
}

/// Whether progress is a live line at a terminal.
pub fn is_live() -> bool {
    with(|s| s.mode == Mode::Live).unwrap_or(false)
}

/// The grades that follow are submission `n` of `of` in a batch.
pub fn in_batch(n: usize, of: usize) {
    with(|s| s.prefix = format!("{n}/{of} "));
}

/// The build of `suites` suites begins (`first`: nothing was built here before, so the
/// dependencies are built too).
pub fn building(suites: usize, first: bool) {
    with(|s| {
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

/// One line of the build's `--message-format=json` output, as it comes.
pub fn cargo_message(line: &str) {
    #[derive(Deserialize)]
    struct Message {
        reason: String,
        #[serde(default)]
        fresh: bool,
        #[serde(default)]
        target: Option<Target>,
    }
    #[derive(Deserialize)]
    struct Target {
        name: String,
        #[serde(default)]
        kind: Vec<String>,
    }
    if !line.starts_with("{\"reason\":\"compiler-artifact\"") {
        return;
    }
    let Ok(message) = serde_json::from_str::<Message>(line) else {
        return;
    };
    // A build script is a step of its crate, not a crate.
    let Some(target) = message.target.filter(|t| !t.kind.iter().any(|k| k == "custom-build")) else {
        return;
    };
    if message.reason != "compiler-artifact" || message.fresh {
        return;
    }
    let name = target.name;
    with(|s| {
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

/// The build is done.
pub fn built() {
    with(|s| {
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
pub fn waiting_for_reference() {
    with(|s| s.status("waiting for the reference solutions' grade, which goes on beside the build ..."));
}

/// The tests are about to run: `total` of them.
pub fn testing(total: usize) {
    with(|s| {
        s.since = Instant::now();
        s.tests_done = 0;
        s.tests_total = total;
    });
}

/// Suite `n` of `of` (`lab`, with `tests` graded tests) begins.
pub fn suite(n: usize, of: usize, lab: &str, tests: usize) {
    with(|s| {
        s.suite = format!("suite {n} of {of}: {lab}");
        let text = match s.mode {
            Mode::Live => s.tests_line(),
            _ => format!("{} ({tests} test{})", s.suite, plural(tests)),
        };
        s.status(&text);
    });
}

/// One more test has run.
pub fn test_done() {
    with(|s| {
        s.tests_done += 1;
        if s.mode == Mode::Live {
            let text = s.tests_line();
            s.status(&text);
        }
    });
}

/// Every test has run.
pub fn tested() {
    with(|s| {
        let text = format!(
            "{} test{} run in {:.1} s",
            s.tests_done,
            plural(s.tests_done),
            s.since.elapsed().as_secs_f64()
        );
        s.finish(&text);
    });
}

/// A line for the person waiting, shown whatever the mode (above the live line, if any).
pub fn note(text: &str) {
    let shown = with(|s| match &s.bar {
        Some(bar) => bar.suspend(|| eprintln!("{text}")),
        None => eprintln!("{text}"),
    });
    if shown.is_none() {
        eprintln!("{text}");
    }
}

/// Takes the live line away (before the report, or any other output).
pub fn clear() {
    with(|s| {
        if let Some(bar) = s.bar.take() {
            bar.finish_and_clear();
        }
    });
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads the build's JSON messages to the end, showing progress as they come (unless
/// `silent`, the build's own thread's setting); returns them all.
pub fn read_build_output(pipe: impl std::io::Read, silent: bool) -> std::io::Result<String> {
    if silent {
        return silently(|| read_build_output(pipe, false));
    }
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(pipe);
    let mut text = String::new();
    let mut line = Vec::new();
    while reader.read_until(b'\n', &mut line)? > 0 {
        let piece = String::from_utf8_lossy(&line);
        cargo_message(piece.trim_end());
        text.push_str(&piece);
        line.clear();
    }
    Ok(text)
}
