//! What `classroom-resources/autograding-grading-reporter@v1` prints and records for
//! the runners we write, redone in Rust from its source, so a test can check that
//! every number equals `cargo grade`'s.
//!
//! The v1 tag runs `dist/main.js`, built from:
//! - `src/helpers/test-helpers.js`, `getTestScore`: (tests whose `status` is `pass`)
//!   / `tests.length` x (`max_score` || 0); `getMaxScoreForTest`: `max_score` || 0.
//!   (A later revision sums each test's `score` instead: `Printed::runner_scores_by_sum`.)
//! - `src/console-results.js`, `ConsoleResults`: per runner whose `max_score` is not 0,
//!   `Total points for RUNNER: getTestScore.toFixed(2)/max_score`; at the end
//!   `Grand total tests passed: PASSED/TESTS` over every runner.
//! - `src/aggregate-results.js`, `AggregateResults` (the "Test runner summary" table):
//!   a row `[runner, getTestScore, max_score]` per runner and a `Total:` row with the sums.
//! - `src/notify-classroom.js`, `NotifyClassroom`: `Points SCORE/MAX`, where SCORE sums
//!   every test's `score` and MAX every `max_score`, over runners whose `max_score` is
//!   not 0: the number GitHub Classroom records.
//! - `src/main.js`: runners split on `,`; each read from `<RUNNER>_RESULTS` (trimmed,
//!   upper case), base64-decoded.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use serde::Deserialize;

use super::json::{Grade, Lab as LabGrade};

/// The variable that lists the runners, and the longest line the grader may write
/// (GRADING.md; `grader/src/report/classroom.rs`).
const RUNNERS_ENV: &str = "CLASSROOM_RUNNERS";
const PAYLOAD_BYTES: usize = 64 * 1024;

/// The variable the reporter reads a runner's result from (`<RUNNER>_RESULTS`, upper case).
fn results_var(runner: &str) -> String {
    format!("{}_RESULTS", runner.trim().to_uppercase())
}

/// One runner's result, autograding version 1, as the reporter reads it.
#[derive(Debug, Deserialize)]
pub struct RunnerResult {
    pub version: u32,
    pub status: String,
    pub max_score: u32,
    pub tests: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    pub name: String,
    pub status: String,
    pub score: u32,
    pub max_score: u32,
    pub message: String,
    pub test_code: String,
    pub filename: String,
    pub line_no: u32,
    pub execution_time: String,
}

/// Everything the reporter prints with a number in it, as it prints it.
#[derive(Debug, Default, PartialEq)]
pub struct Printed {
    /// `Total points for RUNNER: S/M`, one per runner whose `max_score` is not 0.
    pub runner_lines: Vec<String>,
    /// The summary table: `(runner, score, max_score)` per runner, then `("Total: ", ..)`.
    pub table: Vec<(String, String, String)>,
    /// `Grand total tests passed: P/T`.
    pub tests_passed: String,
    /// `Points S/M`: the notice GitHub Classroom reads.
    pub points: String,
    /// Each runner's score as the later revision computes it (sum of `score`).
    pub runner_scores_by_sum: Vec<String>,
}

/// The runners an environment file sets up, as the reporter reads them: every
/// runner named in `CLASSROOM_RUNNERS`, its variable found, decoded and parsed.
pub fn read_env_file(text: &str) -> Result<Vec<(String, RunnerResult)>> {
    let vars: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |name: &str| vars.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let list = get(RUNNERS_ENV).with_context(|| format!("no {RUNNERS_ENV} line"))?;
    list.split(',')
        .map(|runner| {
            let var = results_var(runner);
            let encoded = get(&var).with_context(|| format!("no {var} line"))?;
            let json = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .with_context(|| format!("{var} is not base64"))?;
            let result = serde_json::from_slice(&json).with_context(|| var.clone())?;
            Ok((runner.to_string(), result))
        })
        .collect()
}

/// What the reporter prints for `runners`.
pub fn print(runners: &[(String, RunnerResult)]) -> Printed {
    let mut printed = Printed::default();
    let (mut passed, mut tests) = (0usize, 0usize);
    let (mut table_score, mut table_max) = (0f64, 0f64);
    let (mut points, mut points_max) = (0u64, 0u64);
    for (runner, result) in runners {
        let max = f64::from(result.max_score); // `max_score || 0`
        let passing = result.tests.iter().filter(|t| t.status == "pass").count();
        let score = passing as f64 / result.tests.len() as f64 * max; // getTestScore
        if result.max_score != 0 {
            printed.runner_lines.push(format!(
                "Total points for {runner}: {}/{}",
                to_fixed_2(score),
                js_string(max)
            ));
            points_max += u64::from(result.max_score);
            points += result.tests.iter().map(|t| u64::from(t.score)).sum::<u64>();
        }
        printed
            .table
            .push((runner.trim().to_string(), js_string(score), js_string(max)));
        table_score += score;
        table_max += max;
        passed += passing;
        tests += result.tests.len();
        let sum: u32 = result.tests.iter().map(|t| t.score).sum();
        printed.runner_scores_by_sum.push(sum.to_string());
    }
    printed
        .table
        .push(("Total: ".into(), js_string(table_score), js_string(table_max)));
    printed.tests_passed = format!("Grand total tests passed: {passed}/{tests}");
    printed.points = format!("Points {points}/{points_max}");
    printed
}

/// What the reporter must print for `grade`: `cargo grade`'s numbers, everywhere.
pub fn expected(grade: &Grade) -> Printed {
    let counted: Vec<&LabGrade> = grade.labs.iter().filter(|l| l.max_score > 0).collect();
    let mut table: Vec<(String, String, String)> = counted
        .iter()
        .map(|l| (l.id.clone(), l.score.to_string(), l.max_score.to_string()))
        .collect();
    table.push(("Total: ".into(), grade.score.to_string(), grade.max_score.to_string()));
    Printed {
        runner_lines: counted
            .iter()
            .map(|l| format!("Total points for {}: {}.00/{}", l.id, l.score, l.max_score))
            .collect(),
        table,
        tests_passed: format!("Grand total tests passed: {}/{}", grade.score, grade.max_score),
        points: format!("Points {}/{}", grade.score, grade.max_score),
        runner_scores_by_sum: counted.iter().map(|l| l.score.to_string()).collect(),
    }
}

/// Reads `text` (what `--classroom` wrote for `grade`) as the reporter does, and
/// checks that every number the reporter prints and records is `cargo grade`'s,
/// and that no environment line is too long.
pub fn check(grade: &Grade, text: &str) -> Result<()> {
    if let Some(line) = text.lines().find(|l| l.len() > PAYLOAD_BYTES) {
        bail!("a line of {} bytes, over {PAYLOAD_BYTES}", line.len());
    }
    let printed = print(&read_env_file(text)?);
    if grade.max_score == 0 {
        // Nothing to count: the reporter records nothing and says why.
        return match printed.points.as_str() {
            "Points 0/0" => Ok(()),
            other => Err(anyhow!("nothing to count, yet the reporter records {other}")),
        };
    }
    let expected = expected(grade);
    if printed == expected {
        Ok(())
    } else {
        Err(anyhow!(
            "GitHub Classroom's reporter would print\n{printed:#?}\nwhere cargo grade has\n{expected:#?}"
        ))
    }
}

/// JavaScript's `String(x)` for the numbers met here: an integer without a point,
/// otherwise the shortest digits that read back (Rust's `{}` gives the same digits).
pub fn js_string(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.fract() == 0.0 && x.abs() < 1e21 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// JavaScript's `x.toFixed(2)`. Rust rounds an exact tie to even where JavaScript
/// rounds it up; a tie needs a fraction of exactly .xx5 in binary, which no score
/// here has.
pub fn to_fixed_2(x: f64) -> String {
    if x.is_nan() { "NaN".into() } else { format!("{x:.2}") }
}
