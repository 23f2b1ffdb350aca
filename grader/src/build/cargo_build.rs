//! Builds the lab suites once, in a slot's work folder; a lab that does not compile
//! costs only that lab.
//!
//! The suites are built with `cargo build --tests --message-format=json --keep-going`.
//! The compiler's JSON diagnostics say which files hold the errors (a `labs/NAME.rs`
//! file, or the suite `tests/NAME.rs` when a changed signature no longer fits it);
//! [`blame`] decides from them which labs are charged a `build_error` and built as
//! their stub, and this module shows each such error the way rustc's short form does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::build::blame::{Attempt, blame};
use crate::project::Project;
use crate::source::overlay;

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
    project: &Project,
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
        overlay::sync(dir, &overlay::build_files(project, slot, &current)?)?;
        let outcome = cargo_build(project, dir, suites)?;
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

fn cargo_build(project: &Project, dir: &Path, suites: &[String]) -> Result<Outcome> {
    let mut cmd = project.cargo();
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
    // Kept: the reference solutions' tests may run meanwhile, killing what they leave behind.
    let mut child = crate::children::spawn_kept(&mut cmd).context("cannot run cargo")?;
    let stdout = child.stdout.take().expect("piped stdout");
    let silent = crate::progress::is_silent();
    let stdout = std::thread::spawn(move || crate::progress::read_build_output(stdout, silent));
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
