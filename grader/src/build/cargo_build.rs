//! Builds the lab suites once, in a slot's work folder; a lab that does not compile
//! costs only that lab.
//!
//! The suites are built with `cargo build --tests --message-format=json --keep-going`.
//! The compiler's JSON diagnostics say which files hold the errors (a `labs/NAME.rs`
//! file, or the suite `tests/NAME.rs` when a changed signature no longer fits it);
//! [`blame`] decides from them which labs are charged a `build_error` and built as
//! their stub, and this module shows each such error the way rustc's short form does.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use cargo_metadata::Message;
use cargo_metadata::diagnostic::{Diagnostic, DiagnosticLevel, DiagnosticSpan};
use munmap_lab_protocol::bounded;

use crate::build::blame::{Attempt, blame};
use crate::progress::BuildEvents;
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
/// hold labs refused before building (their stub is already in `labs`). Each crate
/// compiled is told to `events` as cargo reports it.
#[allow(clippy::too_many_arguments)]
pub fn build(
    project: &Project,
    dir: &Path,
    slot: &str,
    suites: &[String],
    labs: &mut BTreeMap<String, Vec<u8>>,
    stubs: &BTreeMap<String, Vec<u8>>,
    errors: BTreeMap<String, String>,
    events: &dyn BuildEvents,
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
        let outcome = cargo_build(project, dir, suites, events)?;
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

/// What one `cargo build` reported.
#[derive(Default)]
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

fn cargo_build(project: &Project, dir: &Path, suites: &[String], events: &dyn BuildEvents) -> Result<Outcome> {
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
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (status, stdout, stderr) = std::thread::scope(|scope| {
        let messages = scope.spawn(|| read_messages(BufReader::new(stdout), events));
        let errors = scope.spawn(move || {
            let mut text = Vec::new();
            stderr
                .read_to_end(&mut text)
                .map(|_| String::from_utf8_lossy(&text).into_owned())
        });
        // The protocol's time limit: the group is killed at the end, so the pipes close.
        let status = bounded::wait(&mut child, BUILD_TIMEOUT);
        (status, messages.join(), errors.join())
    });
    let Some(status) = status.context("waiting for cargo")? else {
        bail!(
            "the build did not finish within {} s (a lab file that makes the compiler loop?)",
            BUILD_TIMEOUT.as_secs()
        );
    };
    // Cargo's messages cut short would read as a build without some test binaries: a
    // failure to read them stops grading instead.
    let mut outcome = stdout
        .map_err(|_| anyhow!("the thread reading cargo's messages panicked"))?
        .context("cannot read cargo's messages")?;
    let stderr = stderr
        .map_err(|_| anyhow!("the thread reading cargo's errors panicked"))?
        .context("cannot read cargo's errors")?;
    outcome.success &= status.success();
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    outcome.stderr_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    Ok(outcome)
}

/// The lab `span` is in, or (for code a macro wrote) whose macro call wrote it.
fn lab_of_span(span: &DiagnosticSpan) -> Option<String> {
    let mut span = Some(span);
    while let Some(s) = span {
        if let Some(lab) = lab_of_file(&normalize(&s.file_name)) {
            return Some(lab);
        }
        span = s.expansion.as_ref().map(|e| &e.span);
    }
    None
}

/// Reads cargo's JSON messages to the end (cargo_metadata's reader): test executables,
/// and each error with the lab it belongs to; each crate compiled goes to `events` as it comes.
fn read_messages(stdout: impl BufRead, events: &dyn BuildEvents) -> std::io::Result<Outcome> {
    let mut outcome = Outcome::default();
    for message in Message::parse_stream(stdout) {
        outcome.take(message?, events);
    }
    Ok(outcome)
}

impl Outcome {
    /// One of cargo's messages.
    fn take(&mut self, message: Message, events: &dyn BuildEvents) {
        match message {
            Message::CompilerArtifact(artifact) => {
                // A build script is a step of its crate, not a crate.
                if !artifact.fresh && !artifact.target.is_custom_build() {
                    events.compiled(&artifact.target.name);
                }
                if let Some(exe) = artifact.executable
                    && artifact.target.is_test()
                {
                    self.binaries.insert(artifact.target.name, exe.into_std_path_buf());
                }
            }
            Message::CompilerMessage(message) => {
                let is_test = message.target.is_test();
                self.error(&message.message, is_test.then_some(message.target.name));
            }
            Message::BuildFinished(finished) => self.success = finished.success,
            _ => {}
        }
    }

    /// A compiler diagnostic about `test_target` (the suite, when the target is a test):
    /// an error counts against the lab its primary span is in, else the suite's lab.
    fn error(&mut self, diag: &Diagnostic, test_target: Option<String>) {
        if diag.level != DiagnosticLevel::Error {
            return;
        }
        let primary = diag.spans.iter().find(|s| s.is_primary);
        let file = primary.map(|s| normalize(&s.file_name));
        let lab = primary.and_then(lab_of_span).or(test_target);
        let file = file.map(|f| match lab_of_file(&f) {
            Some(lab) => format!("labs/{lab}.rs"),
            None => f,
        });
        let line = short_form(diag, primary, file.as_deref());
        if self.first_error.is_none() && primary.is_some() {
            self.first_error = Some(diag.rendered.clone().unwrap_or_else(|| line.clone()));
            self.first_line = Some(line.clone());
        }
        if let Some(lab) = lab
            && primary.is_some()
            && !self.lab_errors.iter().any(|(l, _)| *l == lab)
        {
            let detail = detail(diag, primary);
            let message = if detail.is_empty() {
                line
            } else {
                format!("{line}\n{detail}")
            };
            self.lab_errors.push((lab, message));
        }
    }
}

/// The error on one line, as rustc's short form writes it: where, the code, the
/// message and what the compiler says at that place
/// (`labs/x.rs:16:44: error[E0308]: mismatched types: expected `Pid`, found `i32``).
fn short_form(diag: &Diagnostic, primary: Option<&DiagnosticSpan>, file: Option<&str>) -> String {
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
fn detail(diag: &Diagnostic, primary: Option<&DiagnosticSpan>) -> String {
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
        lines.push(format!(
            "    {}: {}{suggestion}",
            level_name(child.level),
            one_line(&child.message)
        ));
    }
    lines.join("\n")
}

/// The level as the compiler writes it (`help`, `note`).
fn level_name(level: DiagnosticLevel) -> String {
    serde_json::to_value(level)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "note".to_string())
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
    use serde_json::{Value, json};
    use std::sync::Mutex;

    /// The crates a build reported compiled, in order.
    #[derive(Default)]
    struct Compiled(Mutex<Vec<String>>);

    impl BuildEvents for Compiled {
        fn compiled(&self, name: &str) {
            self.0.lock().unwrap().push(name.to_string());
        }
    }

    /// cargo's messages, one per line, read as a build reads them.
    fn read(lines: &[String]) -> (Outcome, Vec<String>) {
        let events = Compiled::default();
        let outcome = read_messages(lines.join("\n").as_bytes(), &events).unwrap();
        (outcome, events.0.into_inner().unwrap())
    }

    fn target(name: &str, kind: &str) -> Value {
        json!({"name": name, "kind": [kind], "crate_types": [kind], "src_path": "/p/src/lib.rs",
               "edition": "2024", "doctest": false, "test": true, "doc": false})
    }

    fn artifact(name: &str, kind: &str, executable: Option<&str>, fresh: bool) -> String {
        json!({"reason": "compiler-artifact", "package_id": "path+file:///p#munmap-lab@0.1.0",
               "manifest_path": "/p/Cargo.toml", "target": target(name, kind),
               "profile": {"opt_level": "0", "debuginfo": "line-tables-only", "debug_assertions": true,
                           "overflow_checks": true, "test": kind == "test"},
               "features": [], "filenames": [], "executable": executable, "fresh": fresh})
        .to_string()
    }

    fn span(file: &str, line: usize, column: usize, primary: bool) -> Value {
        json!({"file_name": file, "byte_start": 0, "byte_end": 1, "line_start": line, "line_end": line,
               "column_start": column, "column_end": column + 1, "is_primary": primary, "text": [],
               "label": null, "suggested_replacement": null, "suggestion_applicability": null,
               "expansion": null})
    }

    fn diagnostic(level: &str, message: &str, code: Option<&str>, spans: Vec<Value>) -> Value {
        json!({"message": message, "code": code.map(|code| json!({"code": code, "explanation": null})),
               "level": level, "spans": spans, "children": [],
               "rendered": format!("{level}: {message}")})
    }

    fn compiler_message(target_name: &str, kind: &str, message: Value) -> String {
        json!({"reason": "compiler-message", "package_id": "path+file:///p#munmap-lab@0.1.0",
               "manifest_path": "/p/Cargo.toml", "target": target(target_name, kind), "message": message})
        .to_string()
    }

    #[test]
    fn finds_test_executables_and_attributes_errors_to_labs() {
        let lines = [
            artifact("lab01_full", "test", Some("/t/lab01_full-abc"), false),
            artifact("munmap_lab", "lib", None, true),
            compiler_message(
                "munmap_lab",
                "lib",
                diagnostic(
                    "warning",
                    "unused",
                    None,
                    vec![span("src/../labs/lab01_full.rs", 1, 1, true)],
                ),
            ),
            compiler_message(
                "munmap_lab",
                "lib",
                diagnostic(
                    "error",
                    "mismatched types",
                    Some("E0308"),
                    vec![span("src/../labs/lab02_partial.rs", 12, 5, true)],
                ),
            ),
            compiler_message(
                "munmap_lab",
                "lib",
                diagnostic(
                    "error",
                    "second",
                    None,
                    vec![span("src/../labs/lab02_partial.rs", 20, 1, true)],
                ),
            ),
            compiler_message(
                "lab03_x",
                "test",
                diagnostic("error", "wrong args", None, vec![span("tests/lab03_x.rs", 3, 9, true)]),
            ),
            compiler_message(
                "munmap_lab",
                "lib",
                diagnostic("error", "aborting due to 2 previous errors", None, vec![]),
            ),
            "   Compiling munmap-lab v0.1.0 (a line that is not JSON)".to_string(),
            json!({"reason": "build-finished", "success": false}).to_string(),
        ];
        let (outcome, compiled) = read(&lines);
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
        assert_eq!(outcome.first_error.as_deref(), Some("error: mismatched types"));
        // The fresh library was not compiled.
        assert_eq!(compiled, ["lab01_full"]);
    }

    #[test]
    fn a_crate_compiled_is_reported_and_its_build_script_is_not() {
        let lines = [
            artifact("libc", "custom-build", None, false),
            artifact("libc", "lib", None, false),
            artifact("nix", "lib", None, true),
            artifact("lab02_partial", "test", Some("/t/lab02"), false),
            json!({"reason": "build-finished", "success": true}).to_string(),
        ];
        let (outcome, compiled) = read(&lines);
        assert!(outcome.success);
        assert_eq!(compiled, ["libc", "lab02_partial"]);
    }

    /// A real diagnostic from cargo, its long explanation left out: lab 07 returns
    /// `child.as_raw()` (an i32) where a `Pid` is wanted.
    const MISMATCHED_PID: &str = r#"{"rendered":"error[E0308]: mismatched types","$message_type":"diagnostic","children":[{"children":[],"code":null,"level":"help","message":"the type constructed contains `i32` due to the type of the argument passed","rendered":null,"spans":[{"byte_end":747,"byte_start":733,"column_end":58,"column_start":44,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":false,"label":"this argument influences the type of `Ok`","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":58,"highlight_start":44,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]},{"byte_end":748,"byte_start":730,"column_end":59,"column_start":41,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":null,"line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":59,"highlight_start":41,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}]},{"children":[],"code":null,"level":"note","message":"tuple variant defined here","rendered":null,"spans":[{"byte_end":21355,"byte_start":21353,"column_end":7,"column_start":5,"expansion":null,"file_name":"/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/result.rs","is_primary":true,"label":null,"line_end":561,"line_start":561,"suggested_replacement":null,"suggestion_applicability":null,"text":[]}]},{"children":[],"code":null,"level":"help","message":"try removing the method call","rendered":null,"spans":[{"byte_end":747,"byte_start":738,"column_end":58,"column_start":49,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":null,"line_end":16,"line_start":16,"suggested_replacement":"","suggestion_applicability":"MachineApplicable","text":[{"highlight_end":58,"highlight_start":49,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}]}],"level":"error","message":"mismatched types","spans":[{"byte_end":747,"byte_start":733,"column_end":58,"column_start":44,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":true,"label":"expected `Pid`, found `i32`","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":58,"highlight_start":44,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]},{"byte_end":732,"byte_start":730,"column_end":43,"column_start":41,"expansion":null,"file_name":"src/../labs/lab07_exec.rs","is_primary":false,"label":"arguments to this enum variant are incorrect","line_end":16,"line_start":16,"suggested_replacement":null,"suggestion_applicability":null,"text":[{"highlight_end":43,"highlight_start":41,"text":"        ForkResult::Parent { child } => Ok(child.as_raw()),"}]}],"code":{"code":"E0308"}}"#;

    #[test]
    fn a_build_error_keeps_the_compilers_detail() {
        let message: Value = serde_json::from_str(MISMATCHED_PID).unwrap();
        let (outcome, _) = read(&[compiler_message("munmap_lab", "lib", message)]);
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
        let (outcome, _) = read(&[compiler_message(
            "munmap_lab",
            "lib",
            diagnostic("error", "boom", None, vec![span("src/support/maps.rs", 1, 1, true)]),
        )]);
        assert!(outcome.lab_errors.is_empty());
        assert!(outcome.first_error.is_some());
    }

    #[test]
    fn an_error_in_code_a_macro_wrote_belongs_to_the_lab_that_called_it() {
        let mut expanded = span("src/support/macros.rs", 4, 9, true);
        expanded["expansion"] = json!({"span": span("src/../labs/lab05_errors.rs", 30, 1, false),
                                       "macro_decl_name": "check!", "def_site_span": null});
        let (outcome, _) = read(&[compiler_message(
            "munmap_lab",
            "lib",
            diagnostic("error", "expanded", None, vec![expanded]),
        )]);
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
