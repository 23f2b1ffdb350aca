//! The `--classroom` form: GitHub Classroom's autograding result, version 1, as
//! `autograding-command-grader` produces it and `autograding-grading-reporter` reads
//! it (base64-encoded, from `<RUNNER>_RESULTS`). The reporter adds up `max_score` and
//! every test's `score`, so it shows the same points as `cargo grade`.

use serde::Serialize;

use crate::model::{Grade, LabStatus, TestStatus, first_line};

#[derive(Serialize)]
struct Result<'a> {
    version: u32,
    status: &'a str,
    max_score: u32,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    status: &'static str,
    score: u32,
    max_score: u32,
    message: String,
    test_code: String,
    filename: String,
    line_no: u32,
    execution_time: String,
}

pub fn render(grade: &Grade) -> String {
    let mut tests = Vec::new();
    for lab in &grade.labs {
        for test in &lab.tests {
            let (status, message) = match test.status {
                TestStatus::Pass => ("pass", String::new()),
                // Not the student's failure, and worth nothing either way.
                TestStatus::Skipped => ("pass", format!("skipped, not counted: {}", first_line(&test.message))),
                _ if lab.status == LabStatus::BuildError => ("fail", first_line(&lab.message).to_string()),
                _ => ("fail", first_line(&test.message).to_string()),
            };
            tests.push(Test {
                name: format!("{}::{}", lab.id, test.name),
                status,
                score: test.score,
                max_score: test.max_score,
                message,
                test_code: format!("cargo test --test {} -- --exact {}", lab.id, test.name),
                filename: format!("tests/{}.rs", lab.id),
                line_no: 0,
                execution_time: String::new(),
            });
        }
    }
    let result = Result {
        version: 1,
        status: if grade.score == grade.max_score { "pass" } else { "fail" },
        max_score: grade.max_score,
        tests,
    };
    serde_json::to_string_pretty(&result).expect("always valid JSON") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, TestGrade};

    #[test]
    fn points_add_up_like_the_reporter_adds_them() {
        let t = |name: &str, status, score, max| TestGrade {
            name: name.into(),
            status,
            score,
            max_score: max,
            message: format!("{name} message"),
            witnessed: false,
        };
        let lab = LabGrade {
            id: "lab02_partial".into(),
            title: "Partial".into(),
            score: 2,
            max_score: 5,
            status: LabStatus::Graded,
            message: String::new(),
            tests: vec![
                t("a", TestStatus::Pass, 2, 2),
                t("b", TestStatus::Crash, 0, 3),
                t("c", TestStatus::Skipped, 0, 0),
            ],
        };
        let text = render(&Grade::new(vec![lab]));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["status"], "fail");
        assert_eq!(v["max_score"], 5);
        let tests = v["tests"].as_array().unwrap();
        let sum: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
        assert_eq!(sum, 2);
        assert_eq!(tests[1]["name"], "lab02_partial::b");
        assert_eq!(tests[1]["status"], "fail");
        assert_eq!(tests[1]["message"], "b message");
        assert_eq!(tests[2]["status"], "pass");
        assert!(tests[2]["message"].as_str().unwrap().starts_with("skipped"));
    }
}
