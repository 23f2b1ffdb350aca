//! Points from verdicts: the rubric decides what counts, the grader's own judging what passed.
//!
//! - pass: the rubric's points; fail, crash, timeout: 0.
//! - skipped (this machine cannot check it): counts neither for nor against, so its
//!   points leave both the score and the maximum (where the reference skips too).
//! - a rubric test the suite does not have fails, with the reason.

use std::collections::{BTreeMap, BTreeSet};

use munmap_lab_protocol::Verdict;

use crate::model::{LabGrade, LabStatus, TestGrade, TestStatus};
use crate::project::rubric::Lab;

/// Grades `lab` from the grader's verdict on each of its rubric tests.
pub fn lab_grade(lab: &Lab, verdicts: &BTreeMap<String, Verdict>) -> LabGrade {
    let tests = lab
        .points
        .iter()
        .map(|(name, points)| match verdicts.get(name) {
            Some(verdict) => TestGrade::scored(name, *points, verdict.status(), verdict.message().to_string()),
            None => TestGrade::scored(
                name,
                *points,
                TestStatus::Crash,
                format!("{}::{name} got no verdict", lab.id),
            ),
        })
        .collect();
    LabGrade::graded(&lab.id, &lab.title, tests)
}

/// A lab that did not compile: every test fails with the compiler's first error.
pub fn build_error_grade(lab: &Lab, error: &str) -> LabGrade {
    let tests = lab
        .points
        .iter()
        .map(|(name, points)| {
            TestGrade::scored(
                name,
                *points,
                TestStatus::Fail,
                format!("not run: labs/{}.rs does not compile", lab.id),
            )
        })
        .collect();
    LabGrade {
        id: lab.id.clone(),
        title: lab.title.clone(),
        score: 0,
        max_score: 0,
        status: LabStatus::BuildError,
        message: error.to_string(),
        tests,
    }
    .total()
}

/// A skip is honoured only where the reference solution skips the same test on this
/// machine: lab code can call `skip()` (it lives in the same crate) or break what a
/// test needs to run, and a skip takes the test's points out of the maximum. Every
/// skipped test of `lab` that `reference_passes` holds (as `lab::test`) becomes a
/// failure with the reason; returns how many were overruled.
pub fn overrule_skips(lab: &mut LabGrade, rubric: &Lab, reference_passes: &BTreeSet<String>) -> usize {
    let mut overruled = 0;
    for test in &mut lab.tests {
        if test.status == TestStatus::Skipped && reference_passes.contains(&format!("{}::{}", lab.id, test.name)) {
            let points = rubric
                .points
                .iter()
                .find(|(n, _)| *n == test.name)
                .map_or(0, |(_, p)| *p);
            let witnessed = test.witnessed;
            *test = TestGrade::scored(
                &test.name,
                points,
                TestStatus::Fail,
                format!(
                    "skipped ({}), but the reference solution runs this test on this machine: \
                     lab code must not skip, so it counts as a failure",
                    test.message
                ),
            );
            test.witnessed = witnessed;
            overruled += 1;
        }
    }
    if overruled > 0 {
        *lab = lab.clone().total();
    }
    overruled
}

/// A test that lost its points under a drawn scenario says what was drawn: the
/// student's `cargo test` ran the defaults (the snapshots'), and may have passed.
pub fn tell_what_was_drawn(test: &mut TestGrade, lab: &str, seed: u64) {
    if test.drawn.is_empty() || matches!(test.status, TestStatus::Pass | TestStatus::Skipped) {
        return;
    }
    let function = test.name.split("::").next().unwrap_or(&test.name);
    test.message.push_str(&format!(
        "\n\nThis grading drew the scenario from seed {seed}: {}. `cargo test` runs the defaults \
         (what the snapshots show), so code that works only for those passes there and fails here; \
         `{}={seed} cargo test --test {lab} -- {function}` runs this test under the same draw.",
        test.drawn.join(", "),
        munmap_lab_protocol::DRAW_ENV,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn lab() -> Lab {
        Lab {
            id: "lab02".into(),
            title: "Partial".into(),
            summary: None,
            points: vec![
                ("a".into(), 1),
                ("b".into(), 2),
                ("c".into(), 3),
                ("d".into(), 4),
                ("e".into(), 5),
                ("f".into(), 6),
            ],
            undrawn: Vec::new(),
        }
    }

    #[test]
    fn scores_each_status() {
        let mut verdicts = BTreeMap::new();
        verdicts.insert("a".to_string(), Verdict::Pass);
        verdicts.insert("b".to_string(), Verdict::Fail("boom".into()));
        verdicts.insert("c".to_string(), Verdict::Skipped("old kernel".into()));
        verdicts.insert("d".to_string(), Verdict::Timeout("hung".into()));
        verdicts.insert("e".to_string(), Verdict::Crash("SIGSEGV".into()));
        let grade = lab_grade(&lab(), &verdicts);
        let by_name: BTreeMap<&str, &TestGrade> = grade.tests.iter().map(|t| (t.name.as_str(), t)).collect();
        assert_eq!((by_name["a"].score, by_name["a"].max_score), (1, 1));
        assert_eq!((by_name["b"].score, by_name["b"].max_score), (0, 2));
        assert_eq!(
            (by_name["c"].score, by_name["c"].max_score),
            (0, 0),
            "skipped is not counted"
        );
        assert_eq!(by_name["d"].status, TestStatus::Timeout);
        assert_eq!(by_name["e"].status, TestStatus::Crash);
        assert_eq!(by_name["f"].status, TestStatus::Crash, "no verdict");
        assert_eq!((grade.score, grade.max_score), (1, 1 + 2 + 4 + 5 + 6));
    }

    #[test]
    fn a_build_error_fails_every_test_and_keeps_the_message() {
        let grade = build_error_grade(&lab(), "labs/lab02.rs:1:1: error: boom");
        assert_eq!(grade.status, LabStatus::BuildError);
        assert_eq!((grade.score, grade.max_score), (0, 21));
        assert!(grade.tests.iter().all(|t| t.status == TestStatus::Fail));
        assert_eq!(grade.message, "labs/lab02.rs:1:1: error: boom");
    }

    #[test]
    fn a_skip_where_the_reference_passes_is_a_failure() {
        let lab = lab();
        let mut verdicts = BTreeMap::new();
        verdicts.insert("a".to_string(), (TestStatus::Skipped, "cachestat missing".to_string()));
        verdicts.insert("b".to_string(), (TestStatus::Skipped, "old kernel".to_string()));
        let mut grade = LabGrade {
            id: lab.id.clone(),
            title: lab.title.clone(),
            score: 0,
            max_score: 0,
            status: LabStatus::Graded,
            message: String::new(),
            tests: verdicts
                .iter()
                .map(|(name, (status, message))| {
                    let points = lab.points.iter().find(|(n, _)| n == name).map_or(0, |(_, p)| *p);
                    TestGrade::scored(name, points, *status, message.clone())
                })
                .collect(),
        }
        .total();
        assert_eq!((grade.score, grade.max_score), (0, 0));
        let reference: BTreeSet<String> = ["lab02::a".to_string()].into();
        assert_eq!(overrule_skips(&mut grade, &lab, &reference), 1);
        assert_eq!(
            (grade.score, grade.max_score),
            (0, 1),
            "a's point is back in the maximum"
        );
        assert_eq!(grade.tests[0].status, TestStatus::Fail);
        assert!(grade.tests[0].message.contains("reference solution runs this test"));
        assert_eq!(
            grade.tests[1].status,
            TestStatus::Skipped,
            "the reference skips b too: honoured"
        );
    }
}
