//! Stage 4 of a grade, the report: takes a [`Grade`] and gives every form it is
//! written in (terminal, JSON, JUnit, GitHub Classroom, the class's gradebooks). Each
//! writer is pure (grade in, text out), so each is unit-tested; `write_file` puts the
//! text where the user asked, and [`paths`] checks those places before anything is built.

pub mod cap;
pub mod classroom;
pub mod gradebook;
pub mod junit;
pub mod paths;
pub mod summary;
pub mod terminal;

use std::path::Path;

use serde::Serialize;

use crate::model::{Grade, JSON_VERSION};

/// A JSON file's body with the format's `version` first.
#[derive(Serialize)]
struct Versioned<'a, T: Serialize> {
    version: u32,
    #[serde(flatten)]
    body: &'a T,
}

fn versioned<T: Serialize>(body: &T) -> String {
    let file = Versioned {
        version: JSON_VERSION,
        body,
    };
    serde_json::to_string_pretty(&file).expect("a grade is always valid JSON") + "\n"
}

/// The `--json` form, and a batch's `NAME.json` for a graded submission:
/// `{"version": 1, "score", "max_score", "labs": [...], ...}` (GRADING.md).
pub fn json(grade: &Grade) -> String {
    versioned(grade)
}

/// A batch's `NAME.json` for a submission that was not graded: `{"version": 1, "error": WHY}`.
pub fn json_not_graded(why: &str) -> String {
    #[derive(Serialize)]
    struct NotGraded<'a> {
        error: &'a str,
    }
    versioned(&NotGraded { error: why })
}

/// Writes `text` to `path`, creating its folder; the error names the file.
pub fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    crate::project::files::write_creating(path, text)
}

/// Appends `text` to `path` (created when missing): an environment file such as
/// `$GITHUB_ENV` holds other steps' lines too.
pub fn append_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, LabStatus, TestGrade, TestStatus};

    #[test]
    fn json_has_the_documented_shape_and_reads_back() {
        let lab = LabGrade {
            id: "lab01_full".into(),
            title: "Full".into(),
            score: 1,
            max_score: 2,
            status: LabStatus::BuildError,
            message: "m".into(),
            tests: vec![TestGrade {
                name: "t::a".into(),
                status: TestStatus::Timeout,
                score: 0,
                max_score: 2,
                message: "hung".into(),
                seconds: Some(10.5),
                witnessed: false,
                drawn: Vec::new(),
            }],
        };
        let grade = Grade::new(vec![lab]);
        let text = json(&grade);
        assert!(text.starts_with("{\n  \"version\": 1,\n  \"score\": 1,"), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["version"], JSON_VERSION);
        assert_eq!(value["score"], 1);
        assert_eq!(value["max_score"], 2);
        assert_eq!(value["labs"][0]["id"], "lab01_full");
        assert_eq!(value["labs"][0]["status"], "build_error");
        assert_eq!(value["labs"][0]["message"], "m");
        let test = &value["labs"][0]["tests"][0];
        for key in ["name", "status", "score", "max_score", "message"] {
            assert!(test.get(key).is_some(), "{key}");
        }
        assert_eq!(test["status"], "timeout");
        assert_eq!(test["seconds"], 10.5);
        assert!(value.get("ignored").is_none(), "empty extras are left out");
        let back: Grade = serde_json::from_str(&text).unwrap();
        assert_eq!(back, grade);
    }

    #[test]
    fn a_submission_not_graded_has_the_version_and_the_error_only() {
        let text = json_not_graded("`bob` has no labs/ folder");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"version": 1, "error": "`bob` has no labs/ folder"})
        );
    }
}
