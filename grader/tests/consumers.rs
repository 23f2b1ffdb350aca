//! The grader's outputs as the real consumers show them: the unmodified release bundles
//! in `../shared/consumers/` (beside the project; `MUNMAP_LAB_CONSUMERS` names another
//! folder), run by node as a GitHub runner starts a JavaScript action (that folder's
//! README), and Jenkins' own junit-10.xsd. Where the folder or node is missing, each
//! test says `skipped:` and why (`cargo selftest` shows it). A change to an output that
//! changes what a student or a course sees there fails here.
//!
//! - Classroom's reporter v1: its points are cargo grade's, each failing test's line
//!   says why, `Test code:` runs that test; a Grade step cut short leaves a runner saying
//!   grading did not finish.
//! - mikepenz/action-junit-report: each failure is annotated at its lab file and line.
//! - dorny/test-reporter: its counts are cargo grade's, with each failure's first line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::conform;
use common::json::{Grade, Lab, Test};

/// The consumers' folder, or why there is none.
fn consumers() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("MUNMAP_LAB_CONSUMERS") {
        Some(dir) => PathBuf::from(dir),
        None => common::root().join("../shared/consumers"),
    };
    if dir.join("README.md").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "{} does not exist (set MUNMAP_LAB_CONSUMERS to the consumers' folder)",
            dir.display()
        ))
    }
}

/// The consumers' folder when node can run them too; otherwise says why it skips.
fn runnable(what: &str) -> Option<PathBuf> {
    let why = match consumers() {
        Err(why) => why,
        Ok(dir) => match Command::new("node").arg("--version").output() {
            Ok(out) if out.status.success() => return Some(dir),
            _ => "node is not installed (Debian: apt-get install nodejs)".to_string(),
        },
    };
    eprintln!("skipped: {what}: {why}");
    None
}

/// Every input of the action's `action.yml` with its default, as `INPUT_<NAME>` (the
/// runner's rule); an expression default (`${{ github.token }}`) becomes `x`.
fn input_defaults(action: &Path) -> Vec<(String, String)> {
    let text = common::read(&action.join("action.yml"));
    let mut inputs = Vec::new();
    let mut name = None;
    let mut in_inputs = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_inputs = line.starts_with("inputs:");
            continue;
        }
        if !in_inputs {
            continue;
        }
        if let Some(key) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !key.starts_with(' ')
        {
            name = Some(key.to_string());
        } else if let (Some(value), Some(input)) = (line.strip_prefix("    default:"), &name) {
            let value = value.trim();
            let value = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(value);
            let value = if value.starts_with("${{") { "x" } else { value };
            inputs.push((
                format!("INPUT_{}", input.replace(' ', "_").to_uppercase()),
                value.to_string(),
            ));
        }
    }
    inputs
}

/// What one run of an action printed, and its step summary.
struct Shown {
    stdout: String,
    summary: String,
    success: bool,
}

/// Runs `action`'s `entry` with node in `workspace`, as a runner would: its inputs'
/// defaults, then `env` (the job's earlier `$GITHUB_ENV` lines and the step's inputs);
/// no network (the API is a closed local port).
fn run_action(action: &Path, entry: &str, workspace: &Path, env: &[(String, String)]) -> Shown {
    let files = workspace.join("../runner");
    std::fs::create_dir_all(&files).unwrap();
    let file = |name: &str| {
        let path = files.join(name);
        std::fs::write(&path, "").unwrap();
        path
    };
    common::write(&files.join("event.json"), "{}");
    let summary = file("step_summary");
    let mut command = Command::new("node");
    command
        .arg(action.join(entry))
        .current_dir(workspace)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &files)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_EVENT_PATH", files.join("event.json"))
        .env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", file("output"))
        .env("GITHUB_ENV", file("env"))
        .env("GITHUB_STATE", file("state"))
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .env("GITHUB_REPOSITORY", "course/munmap-lab-student")
        .env("GITHUB_SHA", "0".repeat(40))
        .envs(input_defaults(action))
        .envs(env.iter().map(|(k, v)| (k, v)));
    let out = command.output().expect("node runs");
    let stdout = strip_colours(&String::from_utf8_lossy(&out.stdout)) + &String::from_utf8_lossy(&out.stderr);
    Shown {
        stdout,
        summary: common::read(&summary),
        success: out.status.success(),
    }
}

fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `NAME=value` lines of an env file, the last of a name winning (the runner's rule).
fn env_lines(text: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (name, value) in text.lines().filter_map(|l| l.split_once('=')) {
        vars.retain(|(n, _)| n != name);
        vars.push((name.to_string(), value.to_string()));
    }
    vars
}

/// The reporter's run on a job whose `$GITHUB_ENV` holds `env_file`.
fn reporter(consumers: &Path, dir: &Path, env_file: &str) -> Shown {
    let mut env = env_lines(env_file);
    let runners = env
        .iter()
        .find(|(n, _)| n == "CLASSROOM_RUNNERS")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    env.push(("INPUT_RUNNERS".into(), runners));
    let workspace = dir.join("workspace");
    std::fs::create_dir_all(&workspace).unwrap();
    run_action(
        &consumers.join("autograding-grading-reporter-v1"),
        "dist/main.js",
        &workspace,
        &env,
    )
}

const BUILD_ERROR: &str =
    "labs/lab03_spanning.rs:12:5: error[E0425]: cannot find value `x` in this scope\n  |\n12 |     x";

/// A grade with a pass, a failure with libtest's panic lines, a crash, a skip and a
/// lab that does not compile.
fn sample() -> Grade {
    let timed = |mut t: Test, seconds: f64| {
        t.seconds = Some(seconds);
        t
    };
    let panic = "lab01_full::bad failed: your code panicked at labs/lab01_full.rs:14:9 during \
                 unmap(addr, 4 pages): munmap failed: EINVAL.\n\
                 thread 'bad' (21050) panicked at src/../labs/lab01_full.rs:14:9:\n\
                 munmap failed: EINVAL: Invalid argument";
    let full = Lab::graded(
        "lab01_full",
        vec![
            timed(Test::scored("ok", 1, "pass", ""), 0.1234),
            timed(Test::scored("bad", 2, "fail", panic), 0.5006),
            timed(Test::scored("segv", 1, "crash", "killed by SIGSEGV"), 0.25),
            timed(Test::scored("old", 1, "skipped", "old kernel"), 0.01),
        ],
    );
    let tests = [("a", 2), ("b", 1)]
        .iter()
        .map(|(name, points)| Test {
            seconds: None,
            ..Test::scored(name, *points, "fail", BUILD_ERROR)
        })
        .collect();
    let broken = Lab {
        status: "build_error".into(),
        message: BUILD_ERROR.into(),
        ..Lab::graded("lab03_spanning", tests)
    };
    Grade::of(vec![full, broken])
}

fn write_outputs(dir: &Path, name: &str, grade: &Grade) -> conform::Written {
    let given = dir.join(format!("{name}.given.json"));
    common::write(&given, serde_json::to_string(grade).unwrap());
    conform::write_outputs(dir, name, &given)
}

/// cargo grade's one-line reason for a test that did not pass, as the Classroom entry says it.
fn why(lab: &Lab, test: &Test) -> String {
    let first = |text: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string()
    };
    if lab.status == "build_error" {
        return format!("labs/{}.rs does not compile: {}", lab.id, first(&lab.message));
    }
    // Without the judge's leading `lab::test failed: `: the entry names the test.
    let line = first(&test.message);
    match line.split_once(" failed: ") {
        Some((test, why)) if test.starts_with(&format!("{}::", lab.id)) && !test.contains(' ') => why.to_string(),
        _ => line,
    }
}

#[test]
fn classrooms_reporter_prints_cargo_grades_points_and_why_each_test_failed() {
    let Some(consumers) = runnable("GitHub Classroom's reporter") else {
        return;
    };
    let _serial = common::serial();
    let dir = common::fresh_dir("consumers-reporter");
    let grade = sample();
    let shown = reporter(
        &consumers,
        &dir,
        &common::read(&write_outputs(&dir, "sample", &grade).classroom),
    );
    let out = &shown.stdout;
    let expected = common::reporter::expected(&grade);
    for line in &expected.runner_lines {
        assert!(out.contains(line.as_str()), "no `{line}` in:\n{out}");
    }
    assert!(
        out.contains(&format!(
            "Grand total tests passed: {}/{}",
            grade.score, grade.max_score
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "::notice title=Autograding report::{{\"totalPoints\":{},\"maxPoints\":{}}}",
            grade.score, grade.max_score
        )),
        "{out}"
    );
    for lab in &grade.labs {
        for test in lab.tests.iter().filter(|t| t.status != "pass" && t.status != "skipped") {
            let name = match test.max_score {
                1 => test.name.clone(),
                n => format!("{} (point 1 of {n})", test.name),
            };
            let line = format!(
                "❌ {name}: {}\nTest code:\ncargo test --test {} -- ",
                why(lab, test),
                lab.id
            );
            assert!(out.contains(&line), "no\n{line}\nin:\n{out}");
        }
    }
    assert!(!shown.success, "a failing test fails the reporter's step");
}

#[test]
fn a_grade_step_cut_short_leaves_a_grading_runner_that_says_so() {
    let Some(consumers) = runnable("GitHub Classroom's reporter") else {
        return;
    };
    let _serial = common::serial();
    let dir = common::fresh_dir("consumers-cut-short");
    let written = common::read(&write_outputs(&dir, "sample", &sample()).classroom);
    // What the env file held while grading ran: the lines up to the first runner list.
    let until = written.find("CLASSROOM_RUNNERS=").expect("a runner list");
    let cut = &written[..until + written[until..].find('\n').unwrap() + 1];
    assert_ne!(cut, written, "the grade's lines come after");
    let shown = reporter(&consumers, &dir, cut);
    assert!(
        shown.stdout.contains("Error: grading did not finish"),
        "{}",
        shown.stdout
    );
    assert!(!shown.stdout.contains("comma-separated"), "{}", shown.stdout);
    assert!(
        !shown.stdout.contains("Autograding report"),
        "no points recorded: {}",
        shown.stdout
    );
    assert!(!shown.success);
    // Once grading ends, its lines win.
    let done = reporter(&consumers, &dir, &written);
    assert!(!done.stdout.contains("did not finish"), "{}", done.stdout);
}

/// A workspace as the student's repository: `labs/*.rs` and the JUnit file, committed
/// (dorny/test-reporter lists the files with git).
fn student_workspace(dir: &Path, junit: &Path) -> PathBuf {
    let workspace = dir.join("workspace");
    for lab in ["lab01_full", "lab03_spanning"] {
        common::write(&workspace.join(format!("labs/{lab}.rs")), "// lab\n".repeat(30));
    }
    std::fs::copy(junit, workspace.join("junit.xml")).unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(&workspace)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "git {args:?}");
    };
    git(&["init", "--quiet"]);
    git(&["add", "-A"]);
    git(&["commit", "--quiet", "-m", "submission"]);
    workspace
}

#[test]
fn mikepenz_annotates_each_failure_at_its_lab_file_and_line() {
    let Some(consumers) = runnable("mikepenz/action-junit-report") else {
        return;
    };
    let _serial = common::serial();
    let dir = common::fresh_dir("consumers-mikepenz");
    let workspace = student_workspace(&dir, &write_outputs(&dir, "sample", &sample()).junit);
    let inputs = [("INPUT_REPORT_PATHS", "junit.xml"), ("INPUT_ANNOTATE_ONLY", "true")];
    let shown = run_action(
        &consumers.join("action-junit-report"),
        "dist/index.js",
        &workspace,
        &inputs.map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let annotations: Vec<&str> = shown.stdout.lines().filter(|l| l.starts_with("::error ")).collect();
    let at = |test: &str| {
        annotations
            .iter()
            .find(|a| a.contains(&format!(".rs.{test},")))
            .map(|a| a.split("::").nth(1).unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no annotation of {test} in:\n{}", shown.stdout))
    };
    assert!(at("bad").contains("file=labs/lab01_full.rs,line=14,"), "{}", at("bad"));
    for test in ["a", "b"] {
        assert!(
            at(test).contains("file=labs/lab03_spanning.rs,line=12,"),
            "{}",
            at(test)
        );
    }
    assert!(at("segv").contains("file=labs/lab01_full.rs,"), "{}", at("segv"));
    assert_eq!(annotations.len(), 4, "{}", shown.stdout);
}

#[test]
fn dorny_test_reporter_counts_what_cargo_grade_counts() {
    let Some(consumers) = runnable("dorny/test-reporter") else {
        return;
    };
    let _serial = common::serial();
    let dir = common::fresh_dir("consumers-dorny");
    let grade = sample();
    let workspace = student_workspace(&dir, &write_outputs(&dir, "sample", &grade).junit);
    let inputs = [
        ("INPUT_NAME", "grade"),
        ("INPUT_PATH", "junit.xml"),
        ("INPUT_REPORTER", "java-junit"),
        ("INPUT_FAIL-ON-ERROR", "false"),
    ];
    let shown = run_action(
        &consumers.join("test-reporter"),
        "dist/index.js",
        &workspace,
        &inputs.map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let summary = &shown.summary;
    let count = |status: &str| grade.tests_with(status).len();
    let lost = count("fail") + count("crash") + count("timeout");
    let line = format!(
        "## {} passed, {lost} failed and {} skipped",
        count("pass"),
        count("skipped")
    );
    assert!(summary.contains(&line), "no `{line}` in:\n{summary}\n{}", shown.stdout);
    for lab in &grade.labs {
        for test in lab.tests.iter().filter(|t| t.status == "fail") {
            assert!(
                summary.contains(&why(lab, test)),
                "no `{}` in:\n{summary}",
                why(lab, test)
            );
        }
    }
    assert!(!summary.contains("NaN"), "{summary}");
}

#[test]
fn the_schema_is_jenkins_own_and_the_xml_is_valid_against_it() {
    let consumers = match consumers() {
        Ok(dir) => dir,
        Err(why) => return eprintln!("skipped: Jenkins' junit-10.xsd: {why}"),
    };
    let jenkins = consumers.join("jenkins-xunit/junit-10.xsd");
    assert_eq!(
        common::read(&conform::schema()),
        common::read(&jenkins),
        "grader/schema/junit-10.xsd must be {} unmodified",
        jenkins.display()
    );
    let _serial = common::serial();
    let dir = common::fresh_dir("consumers-schema");
    let xml = common::read(&write_outputs(&dir, "sample", &sample()).junit);
    match conform::validate(&xml) {
        Ok(conform::Validation::Valid) => {}
        Ok(conform::Validation::Skipped(why)) => eprintln!("skipped: JUnit XML not validated: {why}"),
        Err(e) => panic!("{e}\n{xml}"),
    }
}
