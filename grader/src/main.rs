//! munmap-grader: `cargo selftest` checks the lab itself (more commands come with the grader).

mod rubric;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("selftest") => selftest(&project_root()),
        None => grade(&project_root(), &[]),
        Some("--solutions") => grade(&project_root(), &["--features", "solutions"]),
        Some(other) => Err(format!(
            "unknown argument `{other}`; usage: cargo grade [--solutions] | cargo selftest"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("grader/ lives in the project")
        .to_path_buf()
}

/// Runs every lab's suite (each test isolated by the harness) and prints the points.
fn grade(root: &Path, features: &[&str]) -> Result<(), String> {
    let labs = rubric::load(&root.join("rubric.toml"))?;
    let report = root.join("target/grade-report.tsv");
    let mut args = vec!["test", "--tests", "--no-fail-fast", "--quiet"];
    args.extend_from_slice(features);
    let _ = cargo(root, &args, Some(&report));
    let seen = read_report(&report)?;
    let (mut score, mut max) = (0, 0);
    for lab in &labs {
        let (mut got, mut out_of) = (0, 0);
        for (test, points) in &lab.points {
            out_of += points;
            if seen.get(&format!("{}::{test}", lab.id)).map(String::as_str) == Some("pass") {
                got += points;
            }
        }
        println!("{:<16} {got:>3}/{out_of:<3} {}", lab.id, lab.title);
        score += got;
        max += out_of;
    }
    println!("Score: {score}/{max}");
    Ok(())
}

/// Reads the harness's report: test name to status.
fn read_report(report: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(report).map_err(|e| format!("no report at {}: {e}", report.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            Some((parts.nth(1)?.to_string(), line.split('\t').next()?.to_string()))
        })
        .collect())
}

/// Support unit tests, the suite against the solutions, and every graded test failing against the stubs.
fn selftest(root: &Path) -> Result<(), String> {
    let labs = rubric::load(&root.join("rubric.toml"))?;
    for lab in &labs {
        let points: u32 = lab.points.values().sum();
        println!(
            "selftest: {} ({}): {} tests, {points} points",
            lab.id,
            lab.title,
            lab.points.len()
        );
    }
    step("support layer unit tests", cargo(root, &["test", "--lib"], None))?;
    let report = root.join("target/selftest-solutions.tsv");
    step(
        "suite against the solutions",
        cargo(root, &["test", "--features", "solutions", "--tests"], Some(&report)),
    )?;
    check_report(
        &labs,
        &report,
        |s| s == "pass" || s == "skipped",
        "pass (or skip) against the solutions",
    )?;
    let report = root.join("target/selftest-stubs.tsv");
    let _ = cargo(root, &["test", "--tests", "--no-fail-fast"], Some(&report));
    check_report(
        &labs,
        &report,
        |s| s != "pass" && s != "skipped",
        "FAIL against the stubs",
    )?;
    println!("selftest: all checks passed");
    Ok(())
}

fn step(what: &str, ok: Result<(), String>) -> Result<(), String> {
    ok.map_err(|e| format!("{what}: {e}"))
}

/// Runs cargo in the project with CI=true (insta writes nothing) and, optionally, a report file.
fn cargo(root: &Path, args: &[&str], report: Option<&Path>) -> Result<(), String> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args).current_dir(root).env("CI", "true");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("INSTA_")) {
        cmd.env_remove(key);
    }
    if let Some(report) = report {
        let _ = std::fs::remove_file(report);
        cmd.env("MUNMAP_LAB_REPORT", report);
    }
    println!("selftest: cargo {}", args.join(" "));
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo {} failed ({status})", args.join(" ")))
    }
}

/// Every rubric test must appear in the report with a status that `ok` accepts, and
/// every reported test must carry points.
fn check_report(labs: &[rubric::Lab], report: &Path, ok: impl Fn(&str) -> bool, wanted: &str) -> Result<(), String> {
    let seen = read_report(report)?;
    let mut problems = Vec::new();
    for lab in labs {
        for test in lab.points.keys() {
            let name = format!("{}::{test}", lab.id);
            match seen.get(&name) {
                None => problems.push(format!("{name} is in rubric.toml but did not run")),
                Some(status) if !ok(status) => problems.push(format!("{name} should {wanted}, but was {status}")),
                Some(_) => {}
            }
        }
    }
    for name in seen.keys() {
        let (lab, test) = name.split_once("::").unwrap_or((name, ""));
        if !labs.iter().any(|l| l.id == lab && l.points.contains_key(test)) {
            problems.push(format!("{name} ran but carries no points in rubric.toml"));
        }
    }
    if problems.is_empty() {
        println!("selftest: every graded test did {wanted} ({} tests)", seen.len());
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
