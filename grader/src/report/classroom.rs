//! The `--classroom FILE` form: GitHub Classroom's autograding results (version 1, the
//! shape `autograding-command-grader` writes), one runner per lab, written as lines of
//! a GitHub Actions environment file (`NAME=value`, appended to FILE, normally
//! `$GITHUB_ENV`):
//!
//! ```text
//! LAB01_FULL_RESULTS=<base64 of the lab's result JSON>
//! ...
//! CLASSROOM_RUNNERS=lab01_full,lab02_partial,...
//! ```
//!
//! The handout's workflow passes `${{ env.CLASSROOM_RUNNERS }}` as the `runners` of
//! `classroom-resources/autograding-grading-reporter@v1`, which reads each runner's
//! `<RUNNER>_RESULTS` from its environment. So no lab list is written in the workflow.
//!
//! The reporter records the sum of every test's `score` (right), but prints, per runner,
//! (tests passed / tests) x `max_score` (`grader/tests/outputs.rs` redoes it from
//! its source and holds these files to it). For every number it prints to
//! be `cargo grade`'s, each lab is a runner of its own and each of its points is one
//! entry: a test worth 3 points is three entries, `name (point 1 of 3)` and so on, all
//! passing or all failing. Then tests passed / tests = score / max_score exactly, for
//! each runner. A skipped test is left out (it counts neither for nor against), and a
//! lab with nothing left to count is not a runner at all.
//!
//! The reporter prints an entry's `message` only when its status is `error`; for a `fail`
//! it prints the name and `Test code:`. So the first entry of a failing test carries
//! cargo grade's message in its name (`name: why`): what the student reads in the log,
//! with the same statuses and scores. `test_code` runs exactly that test, an rstest
//! case by its libtest name (`--exact fn::case_2_middle`).
//!
//! [`render_pending`] is written before grading starts: a step cancelled or timed out
//! then still leaves the `grading` runner, saying that grading did not finish (the
//! runner reads the env file whatever the step's end); the lines written when grading
//! ends come after it, and the last line of a name is the one that counts.

use anyhow::{Context, Result};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::model::{Grade, LabGrade, LabStatus, TestStatus, first_line};

/// The environment variable that lists the runners (comma-separated lab ids).
pub const RUNNERS_ENV: &str = "CLASSROOM_RUNNERS";
/// The runner written when grading itself failed (so the reporter says why).
pub const ERROR_RUNNER: &str = "grading";
/// The longest message an entry carries, in characters.
pub const MESSAGE_CHARS: usize = 500;
/// The most bytes one runner's `NAME=base64` line may take. Linux refuses to start a
/// program with any single environment string over 128 KiB ("Argument list too long"),
/// and every runner's variable goes to the reporter's process: half of that leaves room.
pub const PAYLOAD_BYTES: usize = 64 * 1024;

/// One runner's result, autograding version 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunnerResult {
    pub version: u32,
    /// `pass` when every counted point was earned, `fail` otherwise, `error` when
    /// grading did not run.
    pub status: String,
    pub max_score: u32,
    pub tests: Vec<Entry>,
}

/// One entry: one point of one test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    /// `pass` or `fail` (`error` only in the grading-failed runner).
    pub status: String,
    /// 1 for a passing entry, 0 otherwise.
    pub score: u32,
    pub max_score: u32,
    pub message: String,
    /// How to run the test locally (the reporter prints it under a failing entry).
    pub test_code: String,
    pub filename: String,
    pub line_no: u32,
    pub execution_time: String,
    /// The name without the failure's reason (what is left when even that cannot fit).
    #[serde(skip)]
    pub bare_name: String,
}

/// The longest message a failing entry's name carries, in characters.
pub const NAME_MESSAGE_CHARS: usize = 200;

/// What the `grading` runner says while grading has not finished.
pub const NOT_FINISHED: &str = "grading did not finish: the Grade step was cancelled or timed out before cargo grade \
                                wrote the points (its log says how far it got)";

/// The runners of `grade`: `(lab id, result)` for every lab with points to count.
pub fn runners(grade: &Grade) -> Vec<(String, RunnerResult)> {
    grade
        .labs
        .iter()
        .filter(|lab| lab.max_score > 0)
        .map(|lab| (lab.id.clone(), lab_result(lab, &grade.libtest_names)))
        .collect()
}

/// The one-line reason a test did not pass, as cargo grade says it.
pub fn why(lab: &LabGrade, test: &crate::model::TestGrade) -> String {
    match test.status {
        TestStatus::Pass => String::new(),
        _ if lab.status == LabStatus::BuildError => {
            format!("labs/{}.rs does not compile: {}", lab.id, first_line(&lab.message))
        }
        _ => without_test_name(&lab.id, first_line(&test.message)).to_string(),
    }
}

/// `line` without a leading `lab::test failed: ` (the judge's form): the entry, the
/// summary's line, already name the test.
fn without_test_name<'a>(lab: &str, line: &'a str) -> &'a str {
    line.strip_prefix(lab)
        .and_then(|rest| rest.strip_prefix("::"))
        .and_then(|rest| rest.split_once(" failed: "))
        .filter(|(test, _)| !test.contains(' '))
        .map_or(line, |(_, why)| why)
}

fn lab_result(lab: &LabGrade, libtest_names: &std::collections::BTreeMap<String, String>) -> RunnerResult {
    let mut tests = Vec::new();
    for test in lab.tests.iter().filter(|t| t.status != TestStatus::Skipped) {
        let passed = test.status == TestStatus::Pass;
        let message = match test.status {
            TestStatus::Pass => String::new(),
            _ if lab.status == LabStatus::BuildError => {
                format!("labs/{}.rs does not compile: {}", lab.id, lab.message)
            }
            _ => test.message.clone(),
        };
        let points = test.max_score;
        let libtest = libtest_names.get(&format!("{}::{}", lab.id, test.name));
        for point in 1..=points {
            let name = if points == 1 {
                test.name.clone()
            } else {
                format!("{} (point {point} of {points})", test.name)
            };
            tests.push(Entry {
                bare_name: name.clone(),
                name: if !passed && point == 1 {
                    format!("{name}: {}", cut_chars(&why(lab, test), NAME_MESSAGE_CHARS))
                } else {
                    name
                },
                status: if passed { "pass" } else { "fail" }.to_string(),
                score: u32::from(passed),
                max_score: 1,
                message: cut_chars(&message, MESSAGE_CHARS),
                test_code: test_command(&lab.id, &test.name, libtest.map(String::as_str)),
                filename: format!("labs/{}.rs", lab.id),
                line_no: 0,
                execution_time: test.seconds.map(|s| format!("{s:.2}s")).unwrap_or_default(),
            });
        }
    }
    RunnerResult {
        version: 1,
        status: if lab.score == lab.max_score { "pass" } else { "fail" }.to_string(),
        max_score: lab.max_score,
        tests,
    }
}

/// The runner for a grading run that failed before there was a grade: one `error`
/// entry with the reason and no points (the reporter then records nothing, rather
/// than a score of 0).
pub fn error_runner(why: &str) -> (String, RunnerResult) {
    let entry = Entry {
        name: "cargo grade".into(),
        status: "error".into(),
        score: 0,
        max_score: 0,
        message: cut_chars(why, MESSAGE_CHARS),
        test_code: "cargo grade".into(),
        filename: String::new(),
        line_no: 0,
        execution_time: String::new(),
        bare_name: "cargo grade".into(),
    };
    let result = RunnerResult {
        version: 1,
        status: "error".into(),
        max_score: 0,
        tests: vec![entry],
    };
    (ERROR_RUNNER.to_string(), result)
}

/// The environment-file lines for `grade` (see the module comment).
pub fn render(grade: &Grade) -> Result<String> {
    let mut runners = runners(grade);
    if runners.is_empty() {
        // Every test skipped: the reporter fails on an empty runner list; say why instead.
        runners.push(error_runner(
            "no test could run on this machine: every test was skipped",
        ));
    }
    env_lines(&runners)
}

/// The environment-file lines for a grading run that failed with `why`.
pub fn render_error(why: &str) -> String {
    env_lines(&[error_runner(first_line(why))]).expect("one short entry always fits")
}

/// The environment-file lines written before grading starts (see the module comment).
pub fn render_pending() -> String {
    render_error(NOT_FINISHED)
}

fn env_lines(runners: &[(String, RunnerResult)]) -> Result<String> {
    let mut out = String::new();
    for (name, result) in runners {
        let var = results_var(name);
        let payload = fit(result, PAYLOAD_BYTES - var.len() - 1).with_context(|| {
            format!(
                "the Classroom result of {name} does not fit in {PAYLOAD_BYTES} bytes even without \
                 messages ({} entries): give the lab fewer points, or split it",
                result.tests.len()
            )
        })?;
        out.push_str(&format!("{var}={payload}\n"));
    }
    let names: Vec<&str> = runners.iter().map(|(name, _)| name.as_str()).collect();
    out.push_str(&format!("{RUNNERS_ENV}={}\n", names.join(",")));
    Ok(out)
}

/// The variable the reporter reads a runner's result from (`<RUNNER>_RESULTS`, upper case).
pub fn results_var(runner: &str) -> String {
    format!("{}_RESULTS", runner.trim().to_uppercase())
}

/// `result` as base64 JSON of at most `limit` bytes: messages are cut to
/// [`MESSAGE_CHARS`], then to 100 characters (names, which carry a failure's reason, to
/// 160), then left out (names without the reason), until it fits.
fn fit(result: &RunnerResult, limit: usize) -> Option<String> {
    for (chars, name_chars) in [(MESSAGE_CHARS, usize::MAX), (100, 160), (0, 0)] {
        let mut cut = result.clone();
        for entry in &mut cut.tests {
            entry.message = match chars {
                0 if !entry.message.is_empty() => "(message left out: see the Grade step's log)".into(),
                _ => cut_chars(&entry.message, chars),
            };
            entry.name = match name_chars {
                0 => entry.bare_name.clone(),
                _ => cut_chars(&entry.name, name_chars),
            };
        }
        let json = serde_json::to_string(&cut).expect("always valid JSON");
        let encoded = base64::engine::general_purpose::STANDARD.encode(json);
        if encoded.len() <= limit {
            return Some(encoded);
        }
    }
    None
}

/// `text` cut to at most `max` characters, with `...` where it was cut.
fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(3)).collect();
    kept + "..."
}

/// The command that runs `test` of `lab` alone: by its libtest name when the build
/// told it (an rstest case's carries a number its graded name does not); otherwise, for
/// a case, every case of its function.
fn test_command(lab: &str, test: &str, libtest: Option<&str>) -> String {
    match (libtest, test.split_once("::")) {
        (Some(libtest), _) => format!("cargo test --test {lab} -- --exact {libtest}"),
        (None, Some((function, _))) => format!("cargo test --test {lab} -- {function}::"),
        (None, None) => format!("cargo test --test {lab} -- --exact {test}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestGrade;

    fn test_grade(name: &str, status: TestStatus, points: u32, message: &str) -> TestGrade {
        TestGrade {
            seconds: Some(0.25),
            ..TestGrade::scored(name, points, status, message)
        }
    }

    fn lab(id: &str, tests: Vec<TestGrade>) -> LabGrade {
        LabGrade::graded(id, "", tests)
    }

    #[test]
    fn each_point_is_an_entry_and_a_skip_is_left_out() {
        // Unequal points and a skip: passed / tests x max_score over the tests as they
        // were would print 1/3 x 5 = 1.67, not 3 (grader/tests/outputs.rs checks the sums).
        let grade = Grade::new(vec![
            lab(
                "lab01_full",
                vec![
                    test_grade("a", TestStatus::Pass, 3, ""),
                    test_grade("b", TestStatus::Crash, 2, "killed by SIGSEGV"),
                    test_grade("c", TestStatus::Skipped, 4, "old kernel"),
                ],
            ),
            lab(
                "lab02_partial",
                vec![test_grade("d", TestStatus::Skipped, 1, "old kernel")],
            ),
        ]);
        assert_eq!((grade.score, grade.max_score), (3, 5));
        let runners = runners(&grade);
        assert_eq!(runners.len(), 1, "a lab with nothing to count is no runner");
        let names: Vec<&str> = runners[0].1.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "a (point 1 of 3)",
                "a (point 2 of 3)",
                "a (point 3 of 3)",
                "b (point 1 of 2): killed by SIGSEGV",
                "b (point 2 of 2)"
            ]
        );
        assert_eq!(runners[0].1.tests[3].message, "killed by SIGSEGV");
        assert_eq!(
            runners[0].1.tests[3].test_code,
            "cargo test --test lab01_full -- --exact b"
        );
        assert_eq!(
            test_command("lab02_partial", "trim::anonymous", None),
            "cargo test --test lab02_partial -- trim::"
        );
        assert_eq!(
            test_command("lab02_partial", "trim::anonymous", Some("trim::case_2_anonymous")),
            "cargo test --test lab02_partial -- --exact trim::case_2_anonymous"
        );
        assert_eq!(runners[0].1.tests[0].execution_time, "0.25s");
        assert_eq!(runners[0].1.status, "fail");
    }

    #[test]
    fn a_build_error_puts_the_compilers_error_in_every_entry() {
        let rubric = crate::project::rubric::Lab {
            id: "lab03_spanning".into(),
            title: String::new(),
            summary: None,
            points: vec![("a".into(), 2), ("b".into(), 1)],
            undrawn: Vec::new(),
        };
        let broken = crate::judge::score::build_error_grade(&rubric, "labs/lab03_spanning.rs:4:5: error[E0425]: x");
        let (_, result) = &runners(&Grade::new(vec![broken]))[0];
        assert_eq!(result.tests.len(), 3);
        for entry in &result.tests {
            assert_eq!(
                entry.message,
                "labs/lab03_spanning.rs does not compile: labs/lab03_spanning.rs:4:5: error[E0425]: x"
            );
        }
    }

    #[test]
    fn messages_and_payloads_are_capped() {
        let long = "é".repeat(5000);
        let grade = Grade::new(vec![lab(
            "lab09_release",
            vec![test_grade("t", TestStatus::Fail, 3, &long)],
        )]);
        let (_, result) = &runners(&grade)[0];
        assert_eq!(result.tests[0].message.chars().count(), MESSAGE_CHARS);
        assert!(result.tests[0].message.ends_with("..."));

        // A lab so big that its messages must go still fits (grader/tests/outputs.rs
        // reads it back as the reporter does: the same numbers, messages cut to 100).
        let many: Vec<TestGrade> = (0..150)
            .map(|i| test_grade(&format!("t{i}"), TestStatus::Timeout, 1, &long))
            .collect();
        let text = render(&Grade::new(vec![lab("lab09_release", many)])).unwrap();
        let line = text.lines().next().unwrap();
        assert!(line.len() <= PAYLOAD_BYTES, "{}", line.len());

        // One that cannot fit at all is an error, not a step that fails on GitHub.
        let huge: Vec<TestGrade> = (0..5000)
            .map(|i| test_grade(&format!("t{i}"), TestStatus::Fail, 1, ""))
            .collect();
        let err = render(&Grade::new(vec![lab("lab09_release", huge)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not fit"), "{err}");
    }

    #[test]
    fn the_handout_workflow_passes_our_runners_to_the_reporter() {
        let workflow = include_str!("../../handout/grade.yml");
        assert!(
            workflow.contains(r#"cargo grade --classroom "$GITHUB_ENV""#),
            "{workflow}"
        );
        assert!(
            workflow.contains(&format!("runners: ${{{{ env.{RUNNERS_ENV} }}}}")),
            "{workflow}"
        );
        assert!(workflow.contains("classroom-resources/autograding-grading-reporter@v1"));
        // The reporter runs even when grading failed (it then says why), and needs no
        // write permission for checks any more.
        let reporter = workflow.split("- name: Autograding Reporter").nth(1).unwrap();
        assert!(reporter.contains("if: always()"), "{reporter}");
        assert!(!workflow.contains("checks: write"));
        // The run's page shows the grade in Markdown, written by cargo grade.
        assert!(workflow.contains(r#"--summary "$GITHUB_STEP_SUMMARY""#), "{workflow}");
        assert!(workflow.contains("persist-credentials: false"), "{workflow}");
    }

    #[test]
    fn a_failed_grading_run_is_one_error_runner() {
        // grader/tests/outputs.rs reads it as the reporter does: the reason, no points.
        let text = render_error("cannot prepare the sandbox: boom\nmore");
        assert!(text.starts_with(&format!("{}=", results_var(ERROR_RUNNER))), "{text}");
        assert!(text.ends_with(&format!("{RUNNERS_ENV}={ERROR_RUNNER}\n")), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn a_failing_entry_names_why_and_runs_exactly_its_case() {
        let mut grade = Grade::new(vec![lab(
            "lab02_partial",
            vec![
                test_grade(
                    "trim::middle",
                    TestStatus::Fail,
                    1,
                    "window page 2 should be unmapped\nmore",
                ),
                test_grade("trim::front", TestStatus::Pass, 1, ""),
            ],
        )]);
        grade
            .libtest_names
            .insert("lab02_partial::trim::middle".into(), "trim::case_2_middle".into());
        let (_, result) = &runners(&grade)[0];
        assert_eq!(result.tests[0].name, "trim::middle: window page 2 should be unmapped");
        assert_eq!(result.tests[0].status, "fail");
        assert_eq!(
            result.tests[0].test_code,
            "cargo test --test lab02_partial -- --exact trim::case_2_middle"
        );
        assert_eq!(result.tests[1].name, "trim::front", "a pass is named as it is");
        assert_eq!(
            without_test_name(
                "lab02_partial",
                "lab02_partial::trim::case_2_middle failed: your code at x"
            ),
            "your code at x"
        );
        assert_eq!(
            without_test_name("lab02_partial", "an odd failed: line"),
            "an odd failed: line"
        );
    }

    #[test]
    fn before_grading_the_runner_says_grading_did_not_finish() {
        let text = render_pending();
        assert!(text.ends_with(&format!("{RUNNERS_ENV}={ERROR_RUNNER}\n")), "{text}");
        let payload = text.lines().next().unwrap().split_once('=').unwrap().1;
        let json = base64::engine::general_purpose::STANDARD.decode(payload).unwrap();
        let result: RunnerResult = serde_json::from_slice(&json).unwrap();
        assert!(
            result.tests[0].message.starts_with("grading did not finish"),
            "{result:?}"
        );
    }
}
