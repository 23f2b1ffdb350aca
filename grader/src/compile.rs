//! Builds the lab suites once; a lab that does not compile costs only that lab.
//!
//! The suites are built with `cargo build --tests --message-format=json --keep-going`.
//! When the build fails, the compiler's diagnostics say which files hold the errors:
//! a `labs/NAME.rs` file (or the suite `tests/NAME.rs`, when a changed signature no
//! longer fits it) has its stub put back, the lab is marked `build_error` with the
//! first error, and the build runs again until it succeeds. An error the stubs cannot
//! explain is the pristine project's own, and stops grading.

use std::collections::BTreeMap;
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
    /// Lab id to the compiler's first error for it.
    pub errors: BTreeMap<String, String>,
}

/// Builds `suites` (lab ids with a `tests/ID.rs`) in `dir`, with `labs` as the lab
/// files; replaces a failing lab file by its stub and retries. `errors` may already
/// hold labs refused before building (their stub is already in `labs`).
pub fn build(
    root: &Path,
    dir: &Path,
    slot: &str,
    suites: &[String],
    labs: &mut BTreeMap<String, Vec<u8>>,
    stubs: &BTreeMap<String, Vec<u8>>,
    mut errors: BTreeMap<String, String>,
) -> Result<Built, String> {
    for _ in 0..labs.len() + 2 {
        workdir::sync(dir, &workdir::build_files(root, slot, labs)?)?;
        let outcome = cargo_build(root, dir, suites)?;
        if outcome.success {
            return Ok(Built {
                binaries: outcome.binaries,
                errors,
            });
        }
        let mut progress = false;
        for (lab, message) in &outcome.lab_errors {
            let Some(stub) = stubs.get(lab) else { continue };
            if labs.get(lab) != Some(stub) {
                labs.insert(lab.clone(), stub.clone());
                errors.entry(lab.clone()).or_insert_with(|| message.clone());
                progress = true;
            }
        }
        if !progress {
            return Err(format!(
                "the pristine project does not build (its own files, not a lab, hold the error):\n{}",
                outcome.first_error.as_deref().unwrap_or(outcome.stderr_tail.as_str())
            ));
        }
    }
    Err("the build kept failing after every broken lab was replaced by its stub".into())
}

struct Outcome {
    success: bool,
    binaries: BTreeMap<String, PathBuf>,
    /// Lab id to its first error, in the order the compiler reported them.
    lab_errors: Vec<(String, String)>,
    first_error: Option<String>,
    stderr_tail: String,
}

fn cargo_build(root: &Path, dir: &Path, suites: &[String]) -> Result<Outcome, String> {
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
    let mut child = cmd.spawn().map_err(|e| format!("cannot run cargo: {e}"))?;
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > BUILD_TIMEOUT => {
                // SAFETY: killpg on the process group made for this cargo run.
                unsafe { libc::killpg(child.id() as libc::pid_t, libc::SIGKILL) };
                let _ = child.wait();
                return Err(format!(
                    "the build did not finish within {} s (a lab file that makes the compiler loop?)",
                    BUILD_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for cargo: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
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
}

/// Reads cargo's JSON messages: test executables, and each error with the lab it belongs to.
fn parse_messages(stdout: &str) -> Outcome {
    let mut outcome = Outcome {
        success: false,
        binaries: BTreeMap::new(),
        lab_errors: Vec::new(),
        first_error: None,
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
                let lab = file
                    .as_deref()
                    .and_then(lab_of_file)
                    .or_else(|| target.kind.iter().any(|k| k == "test").then(|| target.name.clone()));
                let file = file.map(|f| match lab_of_file(&f) {
                    Some(lab) => format!("labs/{lab}.rs"),
                    None => f,
                });
                let code = diag.code.map(|c| format!("[{}]", c.code)).unwrap_or_default();
                let line = match (primary, &file) {
                    (Some(span), Some(file)) => format!(
                        "{file}:{}:{}: error{code}: {}",
                        span.line_start, span.column_start, diag.message
                    ),
                    _ => format!("error{code}: {}", diag.message),
                };
                if outcome.first_error.is_none() && primary.is_some() {
                    outcome.first_error = Some(diag.rendered.clone().unwrap_or_else(|| line.clone()));
                }
                if let Some(lab) = lab
                    && primary.is_some()
                    && !outcome.lab_errors.iter().any(|(l, _)| *l == lab)
                {
                    outcome.lab_errors.push((lab, line));
                }
            }
            "build-finished" => outcome.success = msg.success.unwrap_or(false),
            _ => {}
        }
    }
    outcome
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

    #[test]
    fn an_error_outside_the_labs_is_not_a_labs_fault() {
        let stdout = r#"{"reason":"compiler-message","target":{"name":"munmap_lab","kind":["lib"]},"message":{"level":"error","message":"boom","spans":[{"file_name":"src/support/maps.rs","line_start":1,"column_start":1,"is_primary":true}]}}"#;
        let outcome = parse_messages(stdout);
        assert!(outcome.lab_errors.is_empty());
        assert!(outcome.first_error.is_some());
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
