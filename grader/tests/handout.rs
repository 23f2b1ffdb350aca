//! The student handout (`cargo grade handout DIR`): everything a student needs and
//! nothing of the solutions or of the grader's test rig (its fixtures, these tests,
//! its fixture hooks); built in a target directory of its own, its `cargo test` of the
//! support crates and the grader passes, its suites build, and its `cargo grade` grades.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::grader::{self, Call};

/// Every file beneath `dir` (relative path to content), `target/` and `.git/` left out.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
            let path = entry.path();
            let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                if rel != "target" && !rel.ends_with(".git") {
                    walk(base, &path, out);
                }
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `cargo ARGS` in the handout, with a target directory of its own: the handout's
/// packages have the same names and workspace-relative paths as this project's, so
/// sharing one would mix their builds.
fn cargo_in(handout: &Path, target: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(handout)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .output()
        .expect("cannot run cargo");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The lines of the solutions that no stub, suite, harness or grader source has: none
/// may appear anywhere in the handout.
fn telltales(root: &Path) -> Vec<(String, String)> {
    let mut shared = String::new();
    for dir in ["labs", "src", "tests", "harness", "protocol", "grader/src"] {
        for content in files(&root.join(dir)).values() {
            shared.push_str(&String::from_utf8_lossy(content));
        }
    }
    let mut telltales = Vec::new();
    for (name, solution) in files(&root.join("solutions")) {
        for line in String::from_utf8_lossy(&solution).lines().map(str::trim) {
            if line.len() >= 24 && !line.starts_with("//") && !shared.contains(line) {
                telltales.push((name.clone(), line.to_string()));
            }
        }
    }
    telltales
}

#[test]
fn the_handout_has_no_solutions_and_no_test_rig_and_builds_tests_and_grades() {
    let _serial = common::serial();
    let root = common::root();
    let base = common::fresh_dir("handout");
    let handout = base.join("handout");
    grader::run(&Call::Handout { dir: &handout }, &[]).expect_success();
    let files = files(&handout);

    let mut problems = Vec::new();
    for required in [
        "README.md",
        "GRADING.md",
        ".github/workflows/grade.yml",
        "rubric.toml",
        "src/lib.rs",
        "grader/Cargo.toml",
    ] {
        if !files.contains_key(required) {
            problems.push(format!("the handout lacks {required}"));
        }
    }
    let withheld = [
        "solutions/",
        "grader/fixtures/",
        "grader/tests/",
        "grader/src/fixture_hooks.rs",
        ".ci/",
        "mutants/",
    ];
    let telltales = telltales(&root);
    for (rel, content) in &files {
        if withheld.iter().any(|w| rel.starts_with(w)) {
            problems.push(format!("the handout contains {rel}"));
        }
        let text = String::from_utf8_lossy(content);
        if rel == "GRADING.md" && text.contains("instructors only") {
            problems.push("the handout's GRADING.md keeps the instructors-only section".into());
        }
        if rel == "src/lib.rs" && text.contains("solutions") {
            problems.push("the handout's src/lib.rs still mentions solutions".into());
        }
        if let Some((name, line)) = telltales.iter().find(|(_, line)| text.contains(line.as_str())) {
            problems.push(format!("{rel} reveals solutions/{name}: `{line}`"));
        }
    }
    let manifest: toml::Table = String::from_utf8_lossy(&files["grader/Cargo.toml"]).parse().unwrap();
    for rig in ["features", "test"] {
        if manifest.contains_key(rig) {
            problems.push(format!("the handout's grader/Cargo.toml keeps the test rig's [{rig}]"));
        }
    }
    let root_manifest: toml::Table = String::from_utf8_lossy(&files["Cargo.toml"]).parse().unwrap();
    if root_manifest
        .get("features")
        .is_some_and(|f| f.get("solutions").is_some())
    {
        problems.push("the handout's Cargo.toml keeps the `solutions` feature".into());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Kept between runs: a first build of the handout compiles the grader again.
    let target: PathBuf = common::target_dir().join("munmap-grader").join("handout-target");
    let (ok, out) = cargo_in(&handout, &target, &["build", "--package", "munmap-lab", "--tests"]);
    assert!(ok, "the handout's suites do not build:\n{out}");
    let (ok, out) = cargo_in(
        &handout,
        &target,
        &[
            "test",
            "--package",
            "munmap-grader",
            "--package",
            "munmap-lab-harness",
            "--package",
            "munmap-lab-protocol",
        ],
    );
    assert!(
        ok,
        "the handout's `cargo test` of its support crates and grader fails:\n{out}"
    );
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning")).collect();
    assert!(warnings.is_empty(), "the handout builds with warnings:\n{out}");
    let (ok, out) = cargo_in(&handout, &target, &["grade"]);
    assert!(ok, "the handout's `cargo grade` fails:\n{out}");
    assert!(
        out.contains("Score: 0/"),
        "the handout's `cargo grade` prints no score for the stubs:\n{out}"
    );
    eprintln!(
        "{} files, no solutions, no test rig; builds, tests and grades",
        files.len()
    );
}
