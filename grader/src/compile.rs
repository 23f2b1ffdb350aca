//! Builds the lab suites once; a lab that does not compile costs only that lab.
//!
//! The suites are built with `cargo build --tests --message-format=json --keep-going`.
//! When the build fails, the compiler's diagnostics say which files hold the errors:
//! a `labs/NAME.rs` file (or the suite `tests/NAME.rs`, when a changed signature no
//! longer fits it) has its stub put back, the lab is marked `build_error` with the
//! first error, and the build runs again until it succeeds.
//!
//! When the errors name no lab (or stubbing the labs they name does not fix the
//! build: an impl that conflicts with one elsewhere, an error in expanded code), the
//! guilty lab is found by building: every lab as its stub, then the labs added back
//! one at a time (one build per lab); a lab whose addition breaks the build is charged
//! the compiler's first error, with where it was reported. Only a build that fails
//! with every lab as its stub is the pristine project's own error, and stops grading.
//! The decision is [`blame`], which takes the build as a closure.

use anyhow::{Context, Result, anyhow, bail};

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::project;
use crate::workdir;

/// Longest one build may take (a cold build of every dependency on 2 cores takes ~2 min).
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

/// The test binaries that were built and the labs that could not be.
#[derive(Debug, Default)]
pub struct Built {
    pub binaries: BTreeMap<String, PathBuf>,
    /// Lab id to the compiler's first error for it: its short form on the first line
    /// (`labs/x.rs:3:5: error[E0308]: mismatched types: expected `Pid`, found `i32``),
    /// then the line of code and the compiler's notes and help.
    pub errors: BTreeMap<String, String>,
}

/// Builds `suites` (lab ids with a `tests/ID.rs`) in `dir`, with `labs` as the lab
/// files; a lab that breaks the build is charged a `build_error` and built as its stub
/// (see [`blame`]), and `labs` is left holding what was built. `errors` may already
/// hold labs refused before building (their stub is already in `labs`).
pub fn build(
    root: &Path,
    dir: &Path,
    slot: &str,
    suites: &[String],
    labs: &mut BTreeMap<String, Vec<u8>>,
    stubs: &BTreeMap<String, Vec<u8>>,
    errors: BTreeMap<String, String>,
) -> Result<Built> {
    let submitted = labs.clone();
    let candidates: Vec<String> = submitted
        .iter()
        .filter(|(lab, content)| stubs.get(*lab).is_some_and(|stub| stub != *content) && !errors.contains_key(*lab))
        .map(|(lab, _)| lab.clone())
        .collect();
    let mut build_with = |stubbed: &BTreeSet<String>| {
        let current: BTreeMap<String, Vec<u8>> = submitted
            .iter()
            .map(|(lab, content)| {
                let content = match stubs.get(lab) {
                    Some(stub) if stubbed.contains(lab) => stub,
                    _ => content,
                };
                (lab.clone(), content.clone())
            })
            .collect();
        workdir::sync(dir, &workdir::build_files(root, slot, &current)?)?;
        let outcome = cargo_build(root, dir, suites)?;
        Ok((outcome.attempt(), outcome.binaries))
    };
    let (errors, binaries) = blame(&candidates, errors, &mut build_with)?;
    for lab in errors.keys() {
        if let Some(stub) = stubs.get(lab) {
            labs.insert(lab.clone(), stub.clone());
        }
    }
    Ok(Built { binaries, errors })
}

/// What one build said, as far as [`blame`] is concerned.
#[derive(Clone, Debug, Default)]
pub struct Attempt {
    pub success: bool,
    /// The labs the compiler's errors name, each with its first error (short form, then
    /// code and notes), in the order reported.
    pub named: Vec<(String, String)>,
    /// The compiler's first error on one line, with where it was reported
    /// (`src/x.rs:3:1: error[E0119]: ...`).
    pub first_error: Option<String>,
    /// The first error in full (or cargo's last lines), for a project that does not build.
    pub detail: String,
}

/// What a build closure gives [`blame`]: the attempt, and the value to keep if it is the final choice.
pub type Tried<T> = Result<(Attempt, T)>;

/// Decides which labs are charged a build error and built as their stub.
///
/// `candidates` are the labs submitted with a file of their own (not the stub), in the
/// order to try them; `errors` the labs already refused (built as stubs, never tried);
/// `build(stubbed)` builds with the labs in `stubbed` as their stubs and every other
/// candidate as submitted, and says what happened (with a value kept from the build
/// that made the final choice: `T`, the test executables).
///
/// 1. Follow the compiler: stub the labs its errors name, until the build succeeds.
/// 2. If an error names no lab still submitted (or the named ones do not explain the
///    failure), start again from every lab as its stub (a failure there: the pristine
///    project does not build) and add the candidates back one at a time: one that
///    breaks the build is charged (its own error if the compiler named it, else the
///    first error, with where it was reported) and goes back to its stub. At most one
///    build per lab, plus one with every lab as its stub and, if the last lab tried was
///    charged, one with the final choice.
pub fn blame<T>(
    candidates: &[String],
    errors: BTreeMap<String, String>,
    build: &mut dyn FnMut(&BTreeSet<String>) -> Tried<T>,
) -> Result<(BTreeMap<String, String>, T)> {
    let refused: BTreeSet<String> = errors.keys().cloned().collect();
    let mut all_stubs = refused.clone();
    all_stubs.extend(candidates.iter().cloned());

    let mut stubbed = refused.clone();
    let mut charged = errors.clone();
    let last = loop {
        let (attempt, built) = build(&stubbed)?;
        if attempt.success {
            return Ok((charged, built));
        }
        let mut progress = false;
        for (lab, message) in &attempt.named {
            if candidates.contains(lab) && stubbed.insert(lab.clone()) {
                charged.entry(lab.clone()).or_insert_with(|| message.clone());
                progress = true;
            }
        }
        if !progress {
            break (attempt, stubbed == all_stubs);
        }
    };

    let pristine = |attempt: &Attempt| {
        anyhow!(
            "the pristine project does not build, even with every lab as its stub (its own files hold the error):\n{}",
            attempt.detail
        )
    };
    let (mut built, mut last_is_final) = match last {
        (attempt, true) => return Err(pristine(&attempt)),
        _ => {
            let (attempt, built) = build(&all_stubs)?;
            if !attempt.success {
                return Err(pristine(&attempt));
            }
            (built, true)
        }
    };
    let mut stubbed = all_stubs;
    let mut charged = errors;
    for lab in candidates.iter().filter(|lab| !refused.contains(*lab)) {
        stubbed.remove(lab);
        let (attempt, with_lab) = build(&stubbed)?;
        last_is_final = attempt.success;
        if attempt.success {
            built = with_lab;
            continue;
        }
        stubbed.insert(lab.clone());
        charged.insert(lab.clone(), charge(lab, &attempt));
    }
    if !last_is_final {
        let (attempt, again) = build(&stubbed)?;
        if !attempt.success {
            bail!(
                "the labs that built one at a time do not build together (a build that is not repeatable?): {}",
                attempt.first_error.as_deref().unwrap_or("the build failed")
            );
        }
        built = again;
    }
    Ok((charged, built))
}

/// The build error charged to `lab`, whose file broke the build: its own first error
/// when the compiler named it, else the build's first error and where it was reported.
fn charge(lab: &str, attempt: &Attempt) -> String {
    if let Some((_, message)) = attempt.named.iter().find(|(named, _)| named == lab) {
        return message.clone();
    }
    let first = attempt.first_error.as_deref().unwrap_or("error: the build failed");
    format!("{first} [reported outside labs/{lab}.rs, which breaks the build: the project builds with its stub]")
}

struct Outcome {
    success: bool,
    binaries: BTreeMap<String, PathBuf>,
    /// Lab id to its first error, in the order the compiler reported them.
    lab_errors: Vec<(String, String)>,
    /// The first error as the compiler rendered it.
    first_error: Option<String>,
    /// The first error on one line, with where it was reported.
    first_line: Option<String>,
    stderr_tail: String,
}

impl Outcome {
    fn attempt(&self) -> Attempt {
        Attempt {
            success: self.success,
            named: self.lab_errors.clone(),
            first_error: self.first_line.clone(),
            detail: self.first_error.clone().unwrap_or_else(|| self.stderr_tail.clone()),
        }
    }
}

fn cargo_build(root: &Path, dir: &Path, suites: &[String]) -> Result<Outcome> {
    let mut cmd = project::cargo(root);
    // The slot's own target directory: a submission's build shares no folder with the
    // reference solutions' build.
    cmd.env("CARGO_TARGET_DIR", dir.join("target"));
    cmd.args(["build", "--keep-going", "--message-format=json", "--manifest-path"])
        .arg(dir.join("Cargo.toml"));
    for suite in suites {
        cmd.args(["--test", suite]);
    }
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().context("cannot run cargo")?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stdout = std::thread::spawn(move || crate::progress::read_build_output(stdout));
    let mut stderr = child.stderr.take().expect("piped stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = Vec::new();
        stderr
            .read_to_end(&mut text)
            .map(|_| String::from_utf8_lossy(&text).into_owned())
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > BUILD_TIMEOUT => {
                // SAFETY: killpg on the process group made for this cargo run.
                unsafe { libc::killpg(child.id() as libc::pid_t, libc::SIGKILL) };
                let _ = child.wait();
                bail!(
                    "the build did not finish within {} s (a lab file that makes the compiler loop?)",
                    BUILD_TIMEOUT.as_secs()
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e).context("waiting for cargo"),
        }
    };
    // Cargo's messages cut short would read as a build without some test binaries: a
    // failure to read them stops grading instead.
    let stdout = stdout
        .join()
        .map_err(|_| anyhow!("the thread reading cargo's messages panicked"))?
        .context("cannot read cargo's messages")?;
    let stderr = stderr
        .join()
        .map_err(|_| anyhow!("the thread reading cargo's errors panicked"))?
        .context("cannot read cargo's errors")?;
    let mut outcome = parse_messages(&stdout);
    outcome.success &= status.success();
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    outcome.stderr_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    Ok(outcome)
}

#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    executable: Option<PathBuf>,
    #[serde(default)]
    message: Option<Diagnostic>,
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    #[serde(default)]
    code: Option<Code>,
    #[serde(default)]
    spans: Vec<Span>,
    /// Notes and help, each a diagnostic of its own (without `rendered`).
    #[serde(default)]
    children: Vec<Diagnostic>,
    #[serde(default)]
    rendered: Option<String>,
}

#[derive(Deserialize)]
struct Code {
    code: String,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    line_start: usize,
    column_start: usize,
    is_primary: bool,
    /// What the compiler says at this place (`expected `Pid`, found `i32``).
    #[serde(default)]
    label: Option<String>,
    /// The source lines the span covers, with the part it marks.
    #[serde(default)]
    text: Vec<SpanLine>,
    /// For a help's suggestion: what the marked part should become.
    #[serde(default)]
    suggested_replacement: Option<String>,
    /// For code a macro wrote: where the macro was used (and so on outwards).
    #[serde(default)]
    expansion: Option<Box<Expansion>>,
}

#[derive(Deserialize)]
struct Expansion {
    span: Span,
}

#[derive(Deserialize)]
struct SpanLine {
    text: String,
    /// 1-based columns (in characters) of the marked part: `[start, end)`.
    highlight_start: usize,
    highlight_end: usize,
}

impl Span {
    /// The lab this span is in, or (for code a macro wrote) whose macro call wrote it.
    fn lab(&self) -> Option<String> {
        let mut span = Some(self);
        while let Some(s) = span {
            if let Some(lab) = lab_of_file(&normalize(&s.file_name)) {
                return Some(lab);
            }
            span = s.expansion.as_ref().map(|e| &e.span);
        }
        None
    }
}

/// Reads cargo's JSON messages: test executables, and each error with the lab it belongs to.
fn parse_messages(stdout: &str) -> Outcome {
    let mut outcome = Outcome {
        success: false,
        binaries: BTreeMap::new(),
        lab_errors: Vec::new(),
        first_error: None,
        first_line: None,
        stderr_tail: String::new(),
    };
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let Ok(msg) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        match msg.reason.as_str() {
            "compiler-artifact" => {
                if let (Some(target), Some(exe)) = (msg.target, msg.executable)
                    && target.kind.iter().any(|k| k == "test")
                {
                    outcome.binaries.insert(target.name, exe);
                }
            }
            "compiler-message" => {
                let (Some(diag), Some(target)) = (msg.message, msg.target) else {
                    continue;
                };
                if diag.level != "error" {
                    continue;
                }
                let primary = diag.spans.iter().find(|s| s.is_primary);
                let file = primary.map(|s| normalize(&s.file_name));
                let lab = primary
                    .and_then(Span::lab)
                    .or_else(|| target.kind.iter().any(|k| k == "test").then(|| target.name.clone()));
                let file = file.map(|f| match lab_of_file(&f) {
                    Some(lab) => format!("labs/{lab}.rs"),
                    None => f,
                });
                let line = short_form(&diag, primary, file.as_deref());
                if outcome.first_error.is_none() && primary.is_some() {
                    outcome.first_error = Some(diag.rendered.clone().unwrap_or_else(|| line.clone()));
                    outcome.first_line = Some(line.clone());
                }
                if let Some(lab) = lab
                    && primary.is_some()
                    && !outcome.lab_errors.iter().any(|(l, _)| *l == lab)
                {
                    let detail = detail(&diag, primary);
                    let message = if detail.is_empty() {
                        line
                    } else {
                        format!("{line}\n{detail}")
                    };
                    outcome.lab_errors.push((lab, message));
                }
            }
            "build-finished" => outcome.success = msg.success.unwrap_or(false),
            _ => {}
        }
    }
    outcome
}

/// The error on one line, as rustc's short form writes it: where, the code, the
/// message and what the compiler says at that place
/// (`labs/x.rs:16:44: error[E0308]: mismatched types: expected `Pid`, found `i32``).
fn short_form(diag: &Diagnostic, primary: Option<&Span>, file: Option<&str>) -> String {
    let code = diag.code.as_ref().map(|c| format!("[{}]", c.code)).unwrap_or_default();
    let label = primary
        .and_then(|s| s.label.as_deref())
        .filter(|l| !l.is_empty())
        .map(|l| format!(": {}", one_line(l)))
        .unwrap_or_default();
    let message = one_line(&diag.message);
    match (primary, file) {
        (Some(span), Some(file)) => format!(
            "{file}:{}:{}: error{code}: {message}{label}",
            span.line_start, span.column_start
        ),
        _ => format!("error{code}: {message}{label}"),
    }
}

/// What follows the short form: the line of code with the error marked, then the
/// compiler's notes and help (a help that suggests a change shows the changed line).
/// Notes about code outside the project (the standard library's) are left out.
fn detail(diag: &Diagnostic, primary: Option<&Span>) -> String {
    let mut lines = Vec::new();
    if let Some(span) = primary
        && let Some(code) = span.text.first()
    {
        let number = span.line_start.to_string();
        let start = code.highlight_start.saturating_sub(1);
        let end = code.highlight_end.saturating_sub(1).max(start + 1);
        lines.push(format!("    {number} | {}", code.text.trim_end()));
        lines.push(format!(
            "    {} | {}{}",
            " ".repeat(number.len()),
            " ".repeat(start),
            "^".repeat(end - start)
        ));
    }
    for child in &diag.children {
        let outside = child.spans.iter().any(|s| s.file_name.starts_with('/'));
        if outside || child.message.is_empty() {
            continue;
        }
        let suggestion = child
            .spans
            .iter()
            .find_map(|s| Some((s, s.suggested_replacement.as_deref()?, s.text.first()?)))
            .filter(|(s, _, code)| s.text.len() == 1 && code.highlight_start >= 1)
            .map(|(_, replacement, code)| {
                let chars: Vec<char> = code.text.chars().collect();
                let (start, end) = (code.highlight_start - 1, (code.highlight_end - 1).min(chars.len()));
                let before: String = chars[..start.min(end)].iter().collect();
                let after: String = chars[end..].iter().collect();
                format!(": `{}`", format!("{before}{replacement}{after}").trim())
            })
            .unwrap_or_default();
        lines.push(format!("    {}: {}{suggestion}", child.level, one_line(&child.message)));
    }
    lines.join("\n")
}

/// A compiler message on one line (`expected X\n   found Y` becomes `expected X, found Y`).
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lab a source file is, when it is `labs/NAME.rs` (relative or absolute).
fn lab_of_file(file: &str) -> Option<String> {
    let mut parts = file.rsplit('/');
    let name = parts.next()?.strip_suffix(".rs")?;
    (parts.next()? == "labs").then(|| name.to_string())
}

/// `src/../labs/x.rs` as `labs/x.rs` (rustc names module files through `#[path]`).
fn normalize(path: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_test_executables_and_attributes_errors_to_labs() {
        let stdout = [
            r#"{"reason":"compiler-artifact","target":{"name":"lab01_full","kind":["test"]},"executable":"/t/lab01_full-abc"}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"munmap_lab","kind":["lib"]},"executable":null}"#,
            r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"level":"warning","message":"unused","spans":[{"file_name":"src/../labs/lab01_full.rs","line_start":1,"column_start":1,"is_primary":true}]}}"#,
            r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"level":"error","message":"mismatched types","code":{"code":"E0308"},"spans":[{"file_name":"src/../labs/lab02_partial.rs","line_start":12,"column_start":5,"is_primary":true}],"rendered":"error[E0308]: mismatched types"}}"#,
            r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"level":"error","message":"second","spans":[{"file_name":"src/../labs/lab02_partial.rs","line_start":20,"column_start":1,"is_primary":true}]}}"#,
            r#"{"reason":"compiler-message","target":{"name":"lab03_x","kind":["test"]},"message":{"level":"error","message":"wrong args","spans":[{"file_name":"tests/lab03_x.rs","line_start":3,"column_start":9,"is_primary":true}]}}"#,
            r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"level":"error","message":"aborting due to 2 previous errors","spans":[]}}"#,
            r#"{"reason":"build-finished","success":false}"#,
        ]
        .join("\n");
        let outcome = parse_messages(&stdout);
        assert!(!outcome.success);
        assert_eq!(outcome.binaries["lab01_full"], PathBuf::from("/t/lab01_full-abc"));
        assert_eq!(outcome.binaries.len(), 1);
        assert_eq!(
            outcome.lab_errors,
            [
                (
                    "lab02_partial".to_string(),
                    "labs/lab02_partial.rs:12:5: error[E0308]: mismatched types".to_string()
                ),
                (
                    "lab03_x".to_string(),
                    "tests/lab03_x.rs:3:9: error: wrong args".to_string()
                ),
            ]
        );
        assert_eq!(outcome.first_error.as_deref(), Some("error[E0308]: mismatched types"));
    }

    /// A real diagnostic (cargo's {"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"rendered":"error[E0308]: mismatched types","$message_type":"diagnostic","children":[{"children":[],"code":null,"level":"help","message":"the type constructed contains `i32` due to the type of the argument passed","rendered":null,"spans":[{"byte_end":747,"byte_start":733,"column_end":58,"column_start":44,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":false,"label":"this argument influences the type of `Ok`","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":58,"highlight_start":44,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]},{"byte_end":748,"byte_start":730,"column_end":59,"column_start":41,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":null,"line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":59,"highlight_start":41,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}]},{"children":[],"code":null,"level":"note","message":"tuple variant defined here","rendered":null,"spans":[{"byte_end":21355,"byte_start":21353,"column_end":7,"column_start":5,"expansion":null,"file_name":"/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/result.rs","is_primary":true,"label":null,"line_end":561,"line_start":561,"suggested_replacement":null,"suggestion_applicability":null,"text":[]}]},{"children":[],"code":null,"level":"help","message":"try removing the method call","rendered":null,"spans":[{"byte_end":747,"byte_start":738,"column_end":58,"column_start":49,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":null,"line_end":16,"line_start":16,"suggested_replacement":"","suggestion_applicability":"MachineApplicable","text":[{"highlight_end":58,"highlight_start":49,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}]}],"level":"error","message":"mismatched types","spans":[{"byte_end":747,"byte_start":733,"column_end":58,"column_start":44,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":"expected `Pid`, found `i32`","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":58,"highlight_start":44,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]},{"byte_end":732,"byte_start":730,"column_end":43,"column_start":41,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":false,"label":"arguments to this enum variant are incorrect","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":43,"highlight_start":41,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}],"code":{"code":"E0308"}}}, its long explanation left out): lab 07 returns
    /// `child.as_raw()` (an i32) where a `Pid` is wanted.
    const MISMATCHED_PID: &str = r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"rendered":"error[E0308]: mismatched types","$message_type":"diagnostic","children":[{"children":[],"code":null,"level":"help","message":"the type constructed contains `i32` due to the type of the argument passed","rendered":null,"spans":[{"byte_end":747,"byte_start":733,"column_end":58,"column_start":44,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":false,"label":"this argument influences the type of `Ok`","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":58,"highlight_start":44,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]},{"byte_end":748,"byte_start":730,"column_end":59,"column_start":41,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":null,"line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":59,"highlight_start":41,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}]},{"children":[],"code":null,"level":"note","message":"tuple variant defined here","rendered":null,"spans":[{"byte_end":21355,"byte_start":21353,"column_end":7,"column_start":5,"expansion":null,"file_name":"/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/result.rs","is_primary":true,"label":null,"line_end":561,"line_start":561,"suggested_replacement":null,"suggestion_applicability":null,"text":[]}]},{"children":[],"code":null,"level":"help","message":"try removing the method call","rendered":null,"spans":[{"byte_end":747,"byte_start":738,"column_end":58,"column_start":49,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":null,"line_end":16,"line_start":16,"suggested_replacement":"","suggestion_applicability":"MachineApplicable","text":[{"highlight_end":58,"highlight_start":49,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}]}],"level":"error","message":"mismatched types","spans":[{"byte_end":747,"byte_start":733,"column_end":58,"column_start":44,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":"expected `Pid`, found `i32`","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":58,"highlight_start":44,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]},{"byte_end":732,"byte_start":730,"column_end":43,"column_start":41,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":false,"label":"arguments to this enum variant are incorrect","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":43,"highlight_start":41,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}],"code":{"code":"E0308"}}}"#;

    #[test]
    fn a_build_error_keeps_the_compilers_detail() {
        let outcome = parse_messages(MISMATCHED_PID);
        let (lab, message) = &outcome.lab_errors[0];
        assert_eq!(lab, "lab07_exec");
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(
            lines[0],
            "labs/lab07_exec.rs:16:44: error[E0308]: mismatched types: expected `Pid`, found `i32`"
        );
        assert_eq!(
            lines[1],
            "    16 |         ForkResult::Parent { child } => Ok(child.as_raw()),"
        );
        assert_eq!(
            lines[2],
            "       |                                            ^^^^^^^^^^^^^^"
        );
        assert_eq!(
            lines[3],
            "    help: the type constructed contains `i32` due to the type of the argument passed"
        );
        // The note about the standard library's `Ok` is left out; the suggestion shows the line changed.
        assert!(lines[4].starts_with("    help: try removing the method call: `ForkResult::Parent { child } => Ok(ch"));
        assert_eq!(lines.len(), 5, "{message}");
        // One line still says it all where only one line is shown.
        assert_eq!(outcome.first_line.as_deref(), Some(lines[0]));
    }

    #[test]
    fn an_error_outside_the_labs_is_not_a_labs_fault() {
        let stdout = r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"level":"error","message":"boom","spans":[{"file_name":"src/support/maps.rs","line_start":1,"column_start":1,"is_primary":true}]}}"#;
        let outcome = parse_messages(stdout);
        assert!(outcome.lab_errors.is_empty());
        assert!(outcome.first_error.is_some());
    }

    #[test]
    fn an_error_in_code_a_macro_wrote_belongs_to_the_lab_that_called_it() {
        let stdout = r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"level":"error","message":"expanded","spans":[{"file_name":"src/support/macros.rs","line_start":4,"column_start":9,"is_primary":true,"expansion":{"span":{"file_name":"src/../labs/lab05_errors.rs","line_start":30,"column_start":1,"is_primary":false,"expansion":null}}}]}}"#;
        let outcome = parse_messages(stdout);
        assert_eq!(
            outcome.lab_errors,
            [(
                "lab05_errors".to_string(),
                "src/support/macros.rs:4:9: error: expanded".to_string()
            )]
        );
        assert_eq!(
            outcome.attempt().first_error.as_deref(),
            Some("src/support/macros.rs:4:9: error: expanded")
        );
    }

    /// What [`blame`] decides: the labs charged, and the labs built as submitted in the end.
    type Verdict = Result<(BTreeMap<String, String>, BTreeSet<String>), String>;

    /// A fake compiler for [`blame`]: `rule(real)` is the attempt for a build with the
    /// labs in `real` as submitted (the others as stubs). Returns the verdict and every
    /// build's set of submitted labs; the value kept is the set of the final build.
    fn run_blame(
        candidates: &[&str],
        refused: &[&str],
        rule: impl Fn(&BTreeSet<String>) -> Attempt,
    ) -> (Verdict, Vec<BTreeSet<String>>) {
        let candidates: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
        let errors: BTreeMap<String, String> = refused.iter().map(|r| (r.to_string(), "refused".to_string())).collect();
        let mut builds = Vec::new();
        let mut build = |stubbed: &BTreeSet<String>| {
            for r in refused {
                assert!(stubbed.contains(*r), "a refused lab is never built: {r}");
            }
            let real: BTreeSet<String> = candidates.iter().filter(|c| !stubbed.contains(*c)).cloned().collect();
            builds.push(real.clone());
            Ok((rule(&real), real))
        };
        let verdict = blame(&candidates, errors, &mut build).map_err(|e| format!("{e:#}"));
        (verdict, builds)
    }

    fn ok() -> Attempt {
        Attempt {
            success: true,
            ..Attempt::default()
        }
    }

    fn failed(named: &[&str], first: &str) -> Attempt {
        Attempt {
            success: false,
            named: named
                .iter()
                .map(|lab| (lab.to_string(), format!("labs/{lab}.rs:1:1: error: in {lab}")))
                .collect(),
            first_error: Some(first.to_string()),
            detail: format!("{first}\n  --> the full rendering"),
        }
    }

    fn set(labs: &[&str]) -> BTreeSet<String> {
        labs.iter().map(|l| l.to_string()).collect()
    }

    const CONFLICT: &str = "src/support/maps.rs:3:1: error[E0119]: conflicting implementations of trait `Drop`";

    #[test]
    fn a_build_that_succeeds_charges_nobody() {
        let (verdict, builds) = run_blame(&["a", "b"], &[], |_| ok());
        let (errors, built) = verdict.unwrap();
        assert!(errors.is_empty());
        assert_eq!(built, set(&["a", "b"]));
        assert_eq!(builds.len(), 1);
    }

    #[test]
    fn a_lab_the_compiler_names_is_charged_its_own_error() {
        let (verdict, builds) = run_blame(&["a", "b", "c"], &[], |real| {
            if real.contains("b") {
                failed(&["b"], "labs/b.rs:1:1: error: in b")
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(
            errors,
            BTreeMap::from([("b".to_string(), "labs/b.rs:1:1: error: in b".to_string())])
        );
        assert_eq!(built, set(&["a", "c"]));
        assert_eq!(builds.len(), 2);
    }

    #[test]
    fn an_error_reported_outside_the_labs_lands_on_the_lab_that_causes_it() {
        let (verdict, builds) = run_blame(&["a", "b", "c", "d"], &[], |real| {
            if real.contains("c") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors["c"],
            format!(
                "{CONFLICT} [reported outside labs/c.rs, which breaks the build: the project builds with its stub]"
            )
        );
        assert!(!errors["c"].contains('\n'));
        assert_eq!(built, set(&["a", "b", "d"]));
        // The failed build, every lab a stub, then one build per lab.
        assert_eq!(builds.len(), 2 + 4);
        assert_eq!(builds[1], set(&[]));
    }

    #[test]
    fn when_the_last_lab_tried_is_charged_the_final_choice_is_built_again() {
        let (verdict, builds) = run_blame(&["a", "b", "c"], &[], |real| {
            if real.contains("c") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["c"]);
        assert_eq!(built, set(&["a", "b"]));
        assert_eq!(builds.len(), 2 + 3 + 1);
        assert_eq!(builds.last(), Some(&set(&["a", "b"])));
    }

    #[test]
    fn a_named_lab_that_does_not_explain_the_failure_is_not_charged() {
        // c breaks the build, but the error is reported in b's file while b is submitted.
        let (verdict, _) = run_blame(&["a", "b", "c"], &[], |real| {
            match (real.contains("b"), real.contains("c")) {
                (_, false) => ok(),
                (true, true) => failed(&["b"], "labs/b.rs:1:1: error: in b"),
                (false, true) => failed(&[], CONFLICT),
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["c"]);
        assert!(
            errors["c"].starts_with("labs/b.rs:1:1: error: in b [reported outside labs/c.rs"),
            "{errors:?}"
        );
        assert_eq!(built, set(&["a", "b"]));
    }

    #[test]
    fn every_lab_that_breaks_the_build_is_charged_named_or_not() {
        let (verdict, builds) = run_blame(&["a", "b", "c", "d"], &[], |real| {
            if real.contains("b") {
                failed(&["b"], "labs/b.rs:1:1: error: in b")
            } else if real.contains("d") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors["b"], "labs/b.rs:1:1: error: in b");
        assert!(errors["d"].starts_with(CONFLICT));
        assert_eq!(built, set(&["a", "c"]));
        assert!(builds.len() <= 2 + 4 + 2, "{}", builds.len());
    }

    #[test]
    fn only_a_failure_with_every_lab_a_stub_blames_the_pristine_project() {
        let (verdict, builds) = run_blame(&["a", "b"], &[], |_| failed(&[], CONFLICT));
        let err = verdict.unwrap_err();
        assert!(
            err.starts_with("the pristine project does not build, even with every lab as its stub"),
            "{err}"
        );
        assert!(err.contains(CONFLICT));
        assert_eq!(builds, [set(&["a", "b"]), set(&[])]);
        // The compiler named every lab, and the build with all stubs still failed: no extra build.
        let (verdict, builds) = run_blame(&["a"], &[], |real| {
            if real.contains("a") {
                failed(&["a"], "x")
            } else {
                failed(&[], CONFLICT)
            }
        });
        assert!(
            verdict
                .unwrap_err()
                .to_string()
                .contains("pristine project does not build")
        );
        assert_eq!(builds.len(), 2);
        // No lab submitted at all.
        let (verdict, builds) = run_blame(&[], &[], |_| failed(&[], CONFLICT));
        assert!(
            verdict
                .unwrap_err()
                .to_string()
                .contains("pristine project does not build")
        );
        assert_eq!(builds.len(), 1);
    }

    #[test]
    fn refused_labs_stay_stubs_and_keep_their_reason() {
        let (verdict, _) = run_blame(&["a", "r"], &["r"], |real| {
            if real.contains("a") {
                failed(&[], CONFLICT)
            } else {
                ok()
            }
        });
        let (errors, built) = verdict.unwrap();
        assert_eq!(errors["r"], "refused");
        assert!(errors["a"].starts_with(CONFLICT));
        assert_eq!(built, set(&[]));
    }

    #[test]
    fn a_build_that_cannot_run_stops_at_once() {
        let mut calls = 0;
        let mut build = |_: &BTreeSet<String>| -> Tried<()> {
            calls += 1;
            Err(anyhow!("cannot run cargo: not found"))
        };
        let err = blame(&["a".to_string()], BTreeMap::new(), &mut build).unwrap_err();
        assert_eq!(err.to_string(), "cannot run cargo: not found");
        assert_eq!(calls, 1);
    }

    #[test]
    fn normalizes_module_paths() {
        assert_eq!(normalize("src/../labs/lab01_full.rs"), "labs/lab01_full.rs");
        assert_eq!(normalize("./tests/x.rs"), "tests/x.rs");
        assert_eq!(
            lab_of_file("/w/slot/labs/lab02_partial.rs").as_deref(),
            Some("lab02_partial")
        );
        assert_eq!(lab_of_file("src/support/maps.rs"), None);
    }
}
