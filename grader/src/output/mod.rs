//! Every form a grade is written in. Each writer is pure (grade in, text out), so
//! each is unit-tested; `write_file` puts the text where the user asked.

pub mod classroom;
pub mod gradebook;
pub mod junit;
pub mod paths;
pub mod terminal;

use std::path::Path;

use crate::model::Grade;

/// The `--json` form.
pub fn json(grade: &Grade) -> String {
    serde_json::to_string_pretty(grade).expect("a grade is always valid JSON") + "\n"
}

/// Writes `text` to `path`, creating its folder; the error names the file.
pub fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
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
                name: "t::case_1_a".into(),
                status: TestStatus::Timeout,
                score: 0,
                max_score: 2,
                message: "hung".into(),
                witnessed: false,
            }],
        };
        let grade = Grade::new(vec![lab]);
        let text = json(&grade);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
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
        assert!(value.get("ignored").is_none(), "empty extras are left out");
        let back: Grade = serde_json::from_str(&text).unwrap();
        assert_eq!(back, grade);
    }
}
