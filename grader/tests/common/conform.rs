//! Every grade output as its consumers read it: GitHub Classroom's reporter
//! ([`super::reporter`]) must print exactly the `--json` grade's numbers, and the
//! JUnit XML must be valid against `grader/schema/junit-10.xsd` (Jenkins
//! xunit's own, unmodified), with xmllint where it is installed.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::grader::{self, Call, Source};
use super::json::Grade;

/// The `fixture-hooks` feature's variable: the grade file `cargo grade` renders
/// instead of grading (`grader/src/fixture_hooks.rs`).
pub const GIVEN_GRADE_ENV: &str = "MUNMAP_LAB_FIXTURE_GRADE";

/// What the grader wrote for a given grade.
pub struct Written {
    pub json: std::path::PathBuf,
    pub junit: std::path::PathBuf,
    pub classroom: std::path::PathBuf,
}

/// Has the grader (built with `fixture-hooks`) write every output of the grade in the
/// file `given` into `dir/NAME.*`.
pub fn write_outputs(dir: &Path, name: &str, given: &Path) -> Written {
    let written = Written {
        json: dir.join(format!("{name}.json")),
        junit: dir.join(format!("{name}.xml")),
        classroom: dir.join(format!("{name}.env")),
    };
    grader::run(
        &Call::Grade {
            source: Source::Checkout,
            json: Some(&written.json),
            junit: Some(&written.junit),
            classroom: Some(&written.classroom),
        },
        &[(GIVEN_GRADE_ENV, given.as_os_str())],
    )
    .expect_success();
    written
}

/// [`problems`] of the outputs the grader writes for the grade in the file `given`.
pub fn problems_of_given(dir: &Path, name: &str, given: &Path) -> Vec<String> {
    let written = write_outputs(dir, name, given);
    problems(name, &written.json, &written.junit, &written.classroom)
}

/// How a validation came out when it could run at all.
#[derive(Debug, PartialEq)]
pub enum Validation {
    Valid,
    /// Not checked, and why (xmllint is not installed).
    Skipped(String),
}

/// The schema the JUnit output is held to.
pub fn schema() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/junit-10.xsd")
}

/// Checks `xml` against the schema with `xmllint --schema`; an invalid document is an
/// error with xmllint's explanation.
pub fn validate(xml: &str) -> Result<Validation, String> {
    let schema = schema();
    let child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&schema)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Validation::Skipped(
                "xmllint is not installed (Debian and Ubuntu: apt-get install libxml2-utils)".into(),
            ));
        }
        Err(e) => return Err(format!("cannot run xmllint: {e}")),
    };
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let fed = stdin.write_all(xml.as_bytes());
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| format!("xmllint did not finish: {e}"))?;
    fed.map_err(|e| format!("cannot give xmllint the XML: {e}"))?;
    if output.status.success() {
        Ok(Validation::Valid)
    } else {
        Err(format!(
            "the JUnit XML does not validate against {}:\n{}",
            schema.display(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        ))
    }
}

/// The problems of one grade's outputs (`--json`, `--junit`, `--classroom` files the
/// grader wrote in one run), each prefixed with `name`; a skipped validation is said
/// on stderr once per call.
pub fn problems(name: &str, json: &Path, junit: &Path, classroom: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let grade: Grade = match super::json::read(json) {
        Ok(grade) => grade,
        Err(e) => return vec![format!("{name}: --json says it was not graded: {e}")],
    };
    if let Err(e) = super::reporter::check(&grade, &super::read(classroom)) {
        problems.push(format!("{name}: --classroom: {e:#}"));
    }
    match validate(&super::read(junit)) {
        Ok(Validation::Valid) => {}
        Ok(Validation::Skipped(why)) => eprintln!("skipped: JUnit XML not validated against junit-10.xsd: {why}"),
        Err(e) => problems.push(format!("{name}: --junit: {e}")),
    }
    problems
}
