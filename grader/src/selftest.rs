//! `cargo selftest`: the project's own tests, one line per check, quiet unless
//! something is wrong. The checks are `cargo test` suites (the grader's are in
//! `grader/tests/`, driving the built grader as a user does); this only runs them in
//! order and sums them up. Not `cargo test --workspace`: the lab's own suites fail on
//! the stubs by design (stubs-fail-every-graded-test checks exactly that).
//!
//! Each check prints one line; a failing one prints the end of its output, which
//! names what went wrong and the command that fixes it. A check whose test reports a
//! table (constant bodies) prints it under its line, passed or failed. The last line is
//! `selftest: N passed, M failed`.

use std::time::Instant;

use anyhow::{Result, anyhow, bail};

use crate::project::Project;
use crate::registry;

/// The grader's test suites are built with its fixture hooks (`fixture-hooks`): the
/// fixture and output suites need them, and one feature set for every grader suite
/// builds the grader once.
const GRADER: &[&str] = &["--package", "munmap-grader", "--features", "fixture-hooks"];

/// One check: its name (what `cargo selftest NAME` matches) and what it runs.
struct Check {
    name: &'static str,
    run: Run,
}

enum Run {
    /// `cargo test --quiet ARGS`.
    CargoTest(Vec<&'static str>),
    /// An author check of the product itself.
    Registry,
}

/// `cargo test` of the grader's suite `suite` (`grader/tests/SUITE.rs`), with libtest's `ARGS`.
fn suite(suite: &'static str, args: &[&'static str]) -> Run {
    let mut all = GRADER.to_vec();
    all.extend(["--test", suite, "--"]);
    all.extend(args);
    Run::CargoTest(all)
}

fn checks() -> Vec<Check> {
    let mut unit = GRADER.to_vec();
    unit.push("--bins");
    vec![
        Check {
            name: "harness and protocol unit tests",
            run: Run::CargoTest(vec![
                "--package",
                "munmap-lab-harness",
                "--package",
                "munmap-lab-protocol",
            ]),
        },
        Check {
            name: "grader unit tests",
            run: Run::CargoTest(unit),
        },
        Check {
            name: "labs registry",
            run: Run::Registry,
        },
        Check {
            name: "snapshots belong to graded tests",
            run: suite("reference", &["--exact", "snapshots_belong_to_graded_tests"]),
        },
        Check {
            name: "solutions get full marks",
            run: suite("reference", &["--exact", "solutions_get_full_marks"]),
        },
        Check {
            name: "solutions get full marks under other seeds",
            run: suite("reference", &["--exact", "solutions_get_full_marks_under_other_seeds"]),
        },
        Check {
            name: "stubs fail every graded test",
            run: suite("reference", &["--exact", "stubs_fail_every_graded_test"]),
        },
        Check {
            name: "fixture submissions and mistakes catalogue",
            run: suite("fixtures", &[]),
        },
        Check {
            name: "constant bodies lose every test that calls them",
            // Not captured: the check's table (`report:` lines) is shown under its line.
            run: suite(
                "cheats",
                &[
                    "--exact",
                    "constant_bodies_fail_every_test_of_their_function",
                    "--nocapture",
                ],
            ),
        },
        Check {
            name: "attack fixtures earn no point",
            run: suite("cheats", &["--exact", "attack_fixtures_earn_no_point"]),
        },
        Check {
            name: "shards merge into one machine's gradebook",
            run: suite("shards", &[]),
        },
        Check {
            name: "grade outputs",
            run: suite("outputs", &[]),
        },
        Check {
            name: "grade outputs in the real consumers",
            // Not captured: a consumer it could not run is a `skipped:` line in the summary.
            run: suite("consumers", &["--nocapture"]),
        },
        Check {
            name: "student handout",
            run: suite("handout", &[]),
        },
    ]
}

/// Runs every check, or with `only` the checks whose name contains it.
pub fn check_project(project: &Project, only: Option<&str>) -> Result<()> {
    if !project.has_solutions() {
        bail!(
            "selftest checks the full project, and this checkout has no solutions/ (a student handout): \
             use `cargo test` and `cargo grade`"
        );
    }
    let started = Instant::now();
    let (mut passed, mut failed) = (0, Vec::new());
    for check in checks().into_iter().filter(|c| only.is_none_or(|o| c.name.contains(o))) {
        let began = Instant::now();
        let (result, report) = match &check.run {
            Run::CargoTest(args) => cargo_test(project, args),
            Run::Registry => (registry::selftest(project).map(|((), summary)| summary), Vec::new()),
        };
        let secs = began.elapsed().as_secs_f64();
        match result {
            Ok(summary) => {
                println!("selftest: ok    {}: {summary} ({secs:.0} s)", check.name);
                passed += 1;
            }
            Err(why) => {
                println!("selftest: FAIL  {} ({secs:.0} s)", check.name);
                for line in format!("{why:#}").lines() {
                    println!("    {line}");
                }
                failed.push(check.name);
            }
        }
        for line in report {
            println!("    {line}");
        }
    }
    println!("selftest: took {:.0} s", started.elapsed().as_secs_f64());
    // The closing line CI reads: `N passed, N failed` alone.
    println!("selftest: {passed} passed, {} failed", failed.len());
    if passed + failed.len() == 0 {
        bail!("no selftest check has `{}` in its name", only.unwrap_or_default());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("selftest failed: {}", failed.join(", ")))
    }
}

/// What a check's test prints for the reader whether it passes or fails (a table):
/// the lines it starts with this, uncaptured, on its standard error.
const REPORT: &str = "report: ";

/// Runs `cargo test --quiet ARGS` with its output captured; shows its end only when it
/// fails, and the lines its tests reported ([`REPORT`]) always, after the result.
fn cargo_test(project: &Project, args: &[&str]) -> (Result<String>, Vec<String>) {
    let output = project
        .cargo()
        .args(["test", "--quiet"])
        .args(args)
        .current_dir(&project.root)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => return (Err(anyhow!("cannot run cargo: {e}")), Vec::new()),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = stderr
        .lines()
        .filter_map(|l| l.strip_prefix(REPORT))
        .map(str::to_string)
        .collect();
    (summarize(args, &output), report)
}

/// The summary of a `cargo test` run: the tests that passed (and says so when none
/// ran: a filter that matches no test is a mistake, not a pass), or its output's end.
fn summarize(args: &[&str], output: &std::process::Output) -> Result<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let command = format!("cargo test {}", args.join(" "));
    if !output.status.success() {
        let all = format!("{stdout}\n{stderr}");
        // The reported lines are shown after the result: not twice.
        let tail: Vec<&str> = all.lines().filter(|l| !l.starts_with(REPORT)).rev().take(80).collect();
        bail!(
            "`{command}` failed:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    if passed == 0 {
        bail!("`{command}` ran no test");
    }
    // What a test could not check here, and why, as it said (`skipped: ...`, uncaptured).
    let mut skipped: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("skipped: "))
        .collect();
    skipped.sort_unstable();
    skipped.dedup();
    match skipped.is_empty() {
        true => Ok(format!("{passed} passed")),
        false => Ok(format!("{passed} passed; skipped: {}", skipped.join("; "))),
    }
}
