//! The `--summary FILE` form: the grade in Markdown, appended to FILE (in the handout's
//! workflow `$GITHUB_STEP_SUMMARY`, which GitHub shows on the run's page): one row per
//! lab, the first line of every failure, and the next step. Written by the grader, not
//! by shell in the workflow, so it is unit-tested and says what `cargo grade` says.

use crate::model::{Grade, LabStatus, TestStatus, first_line};
use crate::report::classroom;

/// The Markdown summary of `grade`.
pub fn render(grade: &Grade) -> String {
    let mut out = format!("## cargo grade: {} / {} points\n\n", grade.score, grade.max_score);
    out.push_str("| Lab | Points | Passed | State |\n|---|---:|---:|---|\n");
    for lab in &grade.labs {
        let counted = lab.tests.iter().filter(|t| t.status != TestStatus::Skipped);
        let passed = counted.clone().filter(|t| t.status == TestStatus::Pass).count();
        let state = match lab.status {
            LabStatus::BuildError => "does not compile",
            _ if lab.max_score == 0 => "nothing to count here",
            _ if lab.score == lab.max_score => "done",
            _ if lab.score == 0 => "to do",
            _ => "partly done",
        };
        out.push_str(&format!(
            "| `{}` {} | {} / {} | {passed} / {} | {state} |\n",
            lab.id,
            escape(&lab.title),
            lab.score,
            lab.max_score,
            counted.count()
        ));
    }
    let failures: Vec<(&str, &str, String)> = grade
        .labs
        .iter()
        .flat_map(|lab| {
            lab.tests
                .iter()
                .filter(|t| !matches!(t.status, TestStatus::Pass | TestStatus::Skipped))
                .map(move |t| (lab.id.as_str(), t.name.as_str(), classroom::why(lab, t)))
        })
        .collect();
    if !failures.is_empty() {
        out.push_str("\n### Failures\n\n");
        for (lab, test, why) in &failures {
            out.push_str(&format!("- `{lab}` {}: {}\n", escape(test), escape(why)));
        }
    }
    out.push_str("\n### Next step\n\n");
    out.push_str(&next_step(grade));
    out.push('\n');
    out
}

/// A grading run that failed before there was a grade.
pub fn render_error(why: &str) -> String {
    format!(
        "## cargo grade: no points\n\nGrading did not finish: {}\n\n### Next step\n\nRun `cargo grade` on your \
         machine: it says the same, and what to do.\n",
        escape(first_line(why))
    )
}

/// What to do next: fix the first lab that does not compile, else the first failing test.
fn next_step(grade: &Grade) -> String {
    if let Some(lab) = grade.labs.iter().find(|l| l.status == LabStatus::BuildError) {
        return format!(
            "Make `labs/{}.rs` compile (`cargo build --tests`), then run `cargo grade`.",
            lab.id
        );
    }
    let first = grade.labs.iter().find_map(|lab| {
        lab.tests
            .iter()
            .find(|t| !matches!(t.status, TestStatus::Pass | TestStatus::Skipped))
            .map(|t| (lab, t))
    });
    match first {
        Some((lab, test)) => format!(
            "Fix `labs/{}.rs` for {}, run `cargo test --test {}` until it passes, then `cargo grade`.",
            lab.id,
            escape(&test.name),
            lab.id
        ),
        None => "Every lab is done: nothing left to fix.".to_string(),
    }
}

/// `text` with every character Markdown could read as markup inside a line escaped with
/// a backslash (CommonMark takes any ASCII punctuation so), on one line.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, TestGrade};

    #[test]
    fn one_row_per_lab_every_failures_first_line_and_the_next_step() {
        let grade = Grade::new(vec![
            LabGrade::graded(
                "lab01_full",
                "Full",
                vec![
                    TestGrade::scored("a", 2, TestStatus::Pass, ""),
                    TestGrade::scored(
                        "b|c",
                        1,
                        TestStatus::Fail,
                        "window page 2 <x> should be *unmapped*\nmore",
                    ),
                    TestGrade::scored("d", 1, TestStatus::Skipped, "old kernel"),
                ],
            ),
            LabGrade::graded(
                "lab02_partial",
                "Partial",
                vec![TestGrade::scored("e", 1, TestStatus::Pass, "")],
            ),
        ]);
        let md = render(&grade);
        assert!(md.starts_with("## cargo grade: 3 / 4 points\n"), "{md}");
        assert!(
            md.contains("| `lab01_full` Full | 2 / 3 | 1 / 2 | partly done |\n"),
            "{md}"
        );
        assert!(
            md.contains("| `lab02_partial` Partial | 1 / 1 | 1 / 1 | done |\n"),
            "{md}"
        );
        assert!(
            md.contains("- `lab01_full` b\\|c: window page 2 \\<x\\> should be \\*unmapped\\*\n"),
            "{md}"
        );
        assert!(!md.contains("more"), "first lines only: {md}");
        assert!(
            md.contains("Fix `labs/lab01_full.rs` for b\\|c, run `cargo test --test lab01_full`"),
            "{md}"
        );
    }

    #[test]
    fn a_build_error_comes_first_and_a_full_grade_says_so() {
        let rubric = crate::project::rubric::Lab {
            id: "lab03_spanning".into(),
            title: "Spanning".into(),
            summary: None,
            points: vec![("a".into(), 2)],
            undrawn: Vec::new(),
        };
        let broken = crate::judge::score::build_error_grade(&rubric, "labs/lab03_spanning.rs:4:5: error[E0425]: x");
        let md = render(&Grade::new(vec![broken]));
        assert!(md.contains("| does not compile |"), "{md}");
        assert!(md.contains("Make `labs/lab03_spanning.rs` compile"), "{md}");
        let done = Grade::new(vec![LabGrade::graded(
            "lab01_full",
            "",
            vec![TestGrade::scored("a", 1, TestStatus::Pass, "")],
        )]);
        assert!(render(&done).contains("Every lab is done"));
        assert!(render_error("boom\nmore").contains("Grading did not finish: boom\n"));
    }
}
