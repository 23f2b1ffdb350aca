//! `cargo selftest`: the project's own tests, quiet unless something is wrong.
//!
//! 1. the harness's, the protocol's and the grader's unit tests;
//! 2. GRADING.md's points table matches rubric.toml, and every lab of rubric.toml (the
//!    registry) has its files, src/lib.rs and README.md list exactly those labs;
//! 3. the solutions get full marks, with every rubric test present and every test graded;
//! 4. the stubs: every graded test fails;
//! 5. the fixture submissions (`grader/fixtures/fixtures.toml`), graded as one batch:
//!    a crash, hang, exit, wiped process or compile error in one lab costs only that
//!    lab, and tampering gains nothing;
//! 6. the catalogue of classic mistakes (`grader/fixtures/mistakes.toml`): each loses
//!    exactly the tests it names in its own lab, or keeps full marks when harmless;
//! 7. shards: a small batch graded on "one machine" and as 3 shards merges into the
//!    same gradebook.csv and the same grades;
//! 8. the grade outputs of every grade above: GitHub Classroom's reporter (redone from
//!    its source) prints `cargo grade`'s numbers, and the JUnit XML is valid against
//!    `grader/schema/junit-10.xsd` (with xmllint, where it is installed);
//! 9. the student handout has no solutions and builds.
//!
//! Each check prints one line; a failing one prints what went wrong and the command
//! that fixes it. The last line is `selftest: N passed, M failed`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::class::batch;
use crate::generated;
use crate::grade::{self, Options};
use crate::model::{Grade, LabGrade, LabStatus, TestStatus};
use crate::project::{Project, files};
use crate::report::{classroom, junit};
use crate::source::overlay::Source;
use crate::{fixtures, handout, mistakes, registry};

struct Checks<'a> {
    /// Run only the checks whose name contains this (all when None).
    only: Option<&'a str>,
    passed: usize,
    failed: Vec<String>,
    started: Instant,
}

impl Checks<'_> {
    fn wanted(&self, name: &str) -> bool {
        self.only.is_none_or(|only| name.contains(only))
    }

    /// Runs one check (if wanted) and prints its line (and, on failure, its explanation).
    fn run_if_wanted<T>(&mut self, name: &str, check: impl FnOnce() -> Result<(T, String)>) -> Option<T> {
        if !self.wanted(name) {
            return None;
        }
        self.run_anyway(name, check)
    }

    /// Runs one check, wanted or not (other checks need its result).
    fn run_anyway<T>(&mut self, name: &str, check: impl FnOnce() -> Result<(T, String)>) -> Option<T> {
        let started = Instant::now();
        let result = check();
        let secs = started.elapsed().as_secs_f64();
        match result {
            Ok((value, summary)) => {
                println!("selftest: ok    {name}: {summary} ({secs:.0} s)");
                self.passed += 1;
                Some(value)
            }
            Err(why) => {
                println!("selftest: FAIL  {name} ({secs:.0} s)");
                for line in format!("{why:#}").lines() {
                    println!("    {line}");
                }
                self.failed.push(name.to_string());
                None
            }
        }
    }
}

/// Runs every check, or with `only` the checks whose name contains it; `options` are the
/// command line's (its timeout grades the solutions and the stubs).
pub fn check_project(project: &Project, only: Option<&str>, options: &Options) -> Result<()> {
    let root = &project.root;
    if !root.join("solutions").is_dir() {
        bail!(
            "selftest checks the full project, and this checkout has no solutions/ (a student handout): \
             use `cargo test` and `cargo grade`"
        );
    }
    let mut checks = Checks {
        only,
        passed: 0,
        failed: Vec::new(),
        started: Instant::now(),
    };
    checks.run_if_wanted("harness and protocol unit tests", || {
        cargo_tests(
            project,
            root,
            &[
                "test",
                "--quiet",
                "--package",
                "munmap-lab-harness",
                "--package",
                "munmap-lab-protocol",
            ],
        )
    });
    checks.run_if_wanted("grader unit tests", || {
        cargo_tests(project, root, &["test", "--quiet", "--package", "munmap-grader"])
    });
    checks.run_if_wanted("labs registry", || registry::selftest(project));
    checks.run_if_wanted("snapshots belong to graded tests", || snapshot_files(project));
    let graded_against_solutions = ["fixture submissions", "mistakes catalogue", SHARDS];
    let solutions = if graded_against_solutions.iter().any(|n| checks.wanted(n)) {
        checks.run_anyway("solutions get full marks", || {
            solutions_get_full_marks(project, options)
        })
    } else {
        checks.run_if_wanted("solutions get full marks", || {
            solutions_get_full_marks(project, options)
        })
    };
    checks.run_if_wanted("stubs fail every graded test", || {
        stubs_fail_every_test(project, options)
    });
    let mut graded: Vec<(String, Grade)> = Vec::new();
    if let Some(solutions) = &solutions {
        graded.push(("solutions".into(), solutions.clone()));
    }
    match &solutions {
        Some(reference) => {
            if let Some(grades) = checks.run_if_wanted("fixture submissions", || fixture_batch(project, reference)) {
                graded.extend(grades);
            }
            if let Some(grades) = checks.run_if_wanted("mistakes catalogue", || mistake_rounds(project, reference)) {
                graded.extend(grades);
            }
            if let Some(grades) = checks.run_if_wanted(SHARDS, || shards_merge(project, reference)) {
                graded.extend(grades);
            }
        }
        None if graded_against_solutions.iter().any(|n| checks.wanted(n)) => {
            println!("selftest: skip  fixture submissions and mistakes (they need the solutions' full marks)")
        }
        None => {}
    }
    checks.run_if_wanted("grade outputs", || grade_outputs(project, &graded));
    checks.run_if_wanted("student handout", || handout_check(project));

    println!("selftest: took {:.0} s", checks.started.elapsed().as_secs_f64());
    // The closing line CI reads: `N passed, N failed` alone.
    println!("selftest: {} passed, {} failed", checks.passed, checks.failed.len());
    if checks.passed + checks.failed.len() == 0 {
        bail!("no selftest check has `{}` in its name", only.unwrap_or_default());
    }
    if checks.failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("selftest failed: {}", checks.failed.join(", ")))
    }
}

/// Every file in `snapshots/` is `<lab>__<test>.snap` for a test in rubric.toml (a
/// renamed or deleted test leaves an orphan that nobody reviews), and none is pending.
fn snapshot_files(project: &Project) -> Result<((), String)> {
    let root = &project.root;
    let labs = &project.labs;
    let expected: std::collections::BTreeSet<String> = labs
        .iter()
        .flat_map(|lab| {
            lab.points
                .iter()
                .map(move |(test, _)| format!("{}.snap", munmap_lab_protocol::snapshot_name(&lab.id, test)))
        })
        .collect();
    let dir = root.join("snapshots");
    let entries = std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let problems: Vec<String> = names
        .iter()
        .filter(|name| !expected.contains(*name))
        .map(|name| {
            if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
                format!("snapshots/{name} is pending: review it with `cargo insta review`, or delete it")
            } else {
                format!("snapshots/{name} belongs to no test in rubric.toml: delete it, or fix its name")
            }
        })
        .collect();
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(((), format!("{} files", names.len())))
}

/// Runs `cargo ARGS` with its output captured; shows it only when it fails.
fn cargo_tests(project: &Project, cwd: &Path, args: &[&str]) -> Result<((), String)> {
    cargo_in(project, cwd, &project.target_dir(), args)
}

/// `cargo ARGS` run in `cwd` with `target` as its target directory.
fn cargo_in(project: &Project, cwd: &Path, target: &Path, args: &[&str]) -> Result<((), String)> {
    let output = project
        .cargo()
        .env("CARGO_TARGET_DIR", target)
        .args(args)
        .current_dir(cwd)
        .output()
        .context("cannot run cargo")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let all = format!("{stdout}\n{stderr}");
        let tail: Vec<&str> = all.lines().rev().take(60).collect();
        bail!(
            "`cargo {}` failed:\n{}",
            args.join(" "),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let passed: usize = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|l| l.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    Ok(((), format!("{passed} passed")))
}

fn solutions_get_full_marks(project: &Project, options: &Options) -> Result<(Grade, String)> {
    let grade = grade::grade(project, &Source::Solutions, options, None)?;
    let mut problems: Vec<String> = grade.warnings.iter().map(|w| format!("warning: {w}")).collect();
    for lab in &grade.labs {
        if lab.status == LabStatus::BuildError {
            problems.push(format!("solutions/{}.rs does not compile: {}", lab.id, lab.message));
        }
        for test in &lab.tests {
            if !matches!(test.status, TestStatus::Pass | TestStatus::Skipped) {
                problems.push(format!(
                    "{}::{} should pass against the solutions, but is {}: {}",
                    lab.id,
                    test.name,
                    test.status.as_str(),
                    test.message
                ));
            }
        }
    }
    if !problems.is_empty() {
        problems.push("details: cargo test --features solutions".into());
        bail!("{}", problems.join("\n"));
    }
    witnessed_list(project, &grade)?;
    let skipped: Vec<String> = grade.tests_with(TestStatus::Skipped).collect();
    let note = if skipped.is_empty() {
        String::new()
    } else {
        format!(", skipped on this machine: {}", skipped.join(", "))
    };
    let summary = format!(
        "{}/{}, {} kernel-witnessed{note}",
        grade.score,
        grade.max_score,
        grade.witnessed()
    );
    Ok((grade, summary))
}

/// GRADING.md lists the tests the kernel witnesses as this run of the reference solutions found them.
fn witnessed_list(project: &Project, grade: &Grade) -> Result<()> {
    let root = &project.root;
    let path = root.join("GRADING.md");
    let doc = files::read_to_string(&path)?;
    let section = doc
        .split_once(generated::witnessed::BEGIN)
        .and_then(|(_, rest)| rest.split_once(generated::witnessed::END))
        .map(|(section, _)| section.strip_prefix('\n').unwrap_or(section))
        .with_context(|| {
            format!(
                "GRADING.md lacks the list of kernel-witnessed tests (`{}`)",
                generated::witnessed::BEGIN
            )
        })?;
    let labs = &project.labs;
    let expected = generated::witnessed::expected_list(labs, grade, &generated::witnessed::listed(section));
    if section != expected {
        bail!(
            "GRADING.md's list of kernel-witnessed tests is not what the reference solutions' run shows: \
             put this between its markers:\n{expected}"
        );
    }
    Ok(())
}

/// The stubs graded as `cargo grade` grades this checkout: against the reference
/// solutions, built while those are graded.
fn stubs_fail_every_test(project: &Project, options: &Options) -> Result<((), String)> {
    let grade = grade::against_reference(project, &Source::Checkout, options)?;
    let mut problems = Vec::new();
    let mut count = 0;
    for lab in &grade.labs {
        if lab.status == LabStatus::BuildError {
            problems.push(format!(
                "labs/{}.rs (the stub) does not compile: {}",
                lab.id, lab.message
            ));
        }
        for test in &lab.tests {
            count += 1;
            if matches!(test.status, TestStatus::Pass | TestStatus::Skipped) {
                problems.push(format!(
                    "{}::{} should FAIL against the stub, but is {}: a test that cannot fail is a defect",
                    lab.id,
                    test.name,
                    test.status.as_str()
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(((), format!("{count} tests, {}/{}", grade.score, grade.max_score)))
}

/// The grades of a batch's graded submissions, by name.
fn grades_of(graded: &[batch::Graded]) -> Vec<(String, Grade)> {
    graded
        .iter()
        .filter_map(|g| Some((g.name.clone(), g.result.as_ref().ok()?.clone())))
        .collect()
}

/// Every grade's outputs, as their consumers read them: GitHub Classroom's reporter
/// must print exactly `cargo grade`'s numbers (see `report::classroom::reporter`), and
/// the JUnit XML must be valid against the strict junit-10.xsd. `graded` are the
/// grades of the checks above (real messages, build errors, partial points); a grade
/// of every pattern of passes, failures and skips over the rubric is added, so the
/// check means something when run alone (`cargo selftest outputs`).
fn grade_outputs(project: &Project, graded: &[(String, Grade)]) -> Result<((), String)> {
    let root = &project.root;
    let labs = &project.labs;
    let mut grades: Vec<(String, Grade)> = graded.to_vec();
    let statuses = [TestStatus::Pass, TestStatus::Fail, TestStatus::Skipped];
    for pattern in 0..27usize {
        let lab_grades = labs
            .iter()
            .map(|lab| {
                let tests = lab
                    .points
                    .iter()
                    .enumerate()
                    .map(|(i, (name, points))| {
                        let status = statuses[pattern / 3usize.pow((i % 3) as u32) % 3];
                        let message = format!("{}::{name}: sample {}", lab.id, status.as_str());
                        crate::model::TestGrade {
                            seconds: Some(0.5),
                            ..crate::model::TestGrade::scored(name, *points, status, message)
                        }
                    })
                    .collect();
                LabGrade::graded(&lab.id, &lab.title, tests)
            })
            .collect();
        grades.push((format!("pattern {pattern}"), Grade::new(lab_grades)));
    }
    let schema = root.join("grader").join(junit::SCHEMA);
    let mut problems = Vec::new();
    let mut skipped = None;
    for (name, grade) in &grades {
        if let Err(e) = classroom::reporter::check(grade) {
            problems.push(format!("{name}: --classroom: {e:#}"));
        }
        let xml = junit::render(grade, std::time::SystemTime::now());
        match junit::validate(&xml, &schema) {
            Ok(junit::Validation::Valid) => {}
            Ok(junit::Validation::Skipped(why)) => skipped = Some(why),
            Err(e) => problems.push(format!("{name}: --junit: {e:#}")),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let xml = match skipped {
        Some(why) => {
            println!("selftest: skip  JUnit XML against junit-10.xsd: {why}");
            "JUnit XML not validated (xmllint missing)".to_string()
        }
        None => "JUnit XML valid against junit-10.xsd".to_string(),
    };
    Ok((
        (),
        format!(
            "{} grades: GitHub Classroom's reporter prints cargo grade's numbers; {xml}",
            grades.len()
        ),
    ))
}

fn fixture_batch(project: &Project, reference: &Grade) -> Result<(Vec<(String, Grade)>, String)> {
    let root = &project.root;
    let mut fixtures = fixtures::load(root)?;
    // Fixtures that try to do damage run only where the sandbox would stop them.
    let unenforced = crate::judge::sandbox::Sandbox::new(&[], &[])
        .map(|s| s.not_enforced().to_vec())
        .unwrap_or_else(|e| vec![e.to_string()]);
    if !unenforced.is_empty() {
        for fixture in fixtures.iter().filter(|f| f.needs_sandbox) {
            println!(
                "    skip {}: the sandbox is not fully enforced here ({})",
                fixture.name,
                unenforced.join("; ")
            );
        }
        fixtures.retain(|f| !f.needs_sandbox);
    }
    let base = project.grader_dir().join("selftest");
    let dir = base.join("fixtures");
    let _ = std::fs::remove_dir_all(&dir);
    for fixture in &fixtures {
        fixtures::make(root, fixture, &dir.join(&fixture.name))?;
    }
    // Short per-test timeout: the hanging fixture costs seconds, not minutes. The token
    // in each scratch folder stands for lab code that found it in memory (forge_*).
    let options = Options {
        timeout: Duration::from_secs(5),
        token_in_scratch: true,
        ..Options::default()
    };
    let before = project_digest(root)?;
    let passes = reference.as_reference();
    let how = batch::BatchSettings {
        reference: Some(&passes),
        ..batch::BatchSettings::default()
    };
    let graded = batch::grade_batch(project, &dir, &base.join("fixtures-grades"), &options, &how)?;
    let mut problems = Vec::new();
    let after = project_digest(root)?;
    for (path, _) in before.iter().filter(|(path, digest)| after.get(*path) != Some(*digest)) {
        problems.push(format!("{path} was changed or removed while the fixtures were graded"));
    }
    for path in after.keys().filter(|path| !before.contains_key(*path)) {
        problems.push(format!("{path} appeared while the fixtures were graded"));
    }
    for fixture in &fixtures {
        if let Some(mark) = fixture.no_survivor() {
            for pid in processes_with(mark) {
                problems.push(format!(
                    "{}: process {pid} (`{mark}`) outlived grading: every process a test leaves is killed",
                    fixture.name
                ));
            }
        }
    }
    let mut lines = Vec::new();
    for fixture in &fixtures {
        let Some(result) = graded.iter().find(|g| g.name == fixture.name) else {
            problems.push(format!("{}: not graded", fixture.name));
            continue;
        };
        let found = fixtures::check(fixture, &result.result, reference);
        let verdict = match &result.result {
            Ok(g) => format!("{}/{}", g.score, g.max_score),
            Err(_) => "not graded".into(),
        };
        lines.push(format!(
            "{:<20} {verdict:>7} {:>5.1} s  {}",
            fixture.name, result.seconds, fixture.why
        ));
        for problem in found {
            problems.push(format!("{} ({}): {problem}", fixture.name, fixture.why));
        }
    }
    show_lines_or_fail(problems, &base, &lines)?;
    let total: f64 = graded.iter().map(|g| g.seconds).sum();
    Ok((
        grades_of(&graded),
        format!(
            "{} submissions, {:.1} s each",
            graded.len(),
            total / graded.len().max(1) as f64
        ),
    ))
}

/// Fails with every problem and where the grades and logs are, or prints each line of
/// the check (a batch check's line per submission).
fn show_lines_or_fail(mut problems: Vec<String>, logs: &Path, lines: &[String]) -> Result<()> {
    if !problems.is_empty() {
        problems.push(format!("grades and logs: {}", logs.display()));
        bail!("{}", problems.join("\n"));
    }
    for line in lines {
        println!("    {line}");
    }
    Ok(())
}

/// The name of the shard check.
const SHARDS: &str = "shards merge into one machine's gradebook";

/// A small batch graded whole and as 3 shards (`--shard K/3`, then `merge`) gives the
/// same `gradebook.csv`, byte for byte, and the same grades (the messages aside, which
/// hold addresses and thread ids). The batch has a case-insensitive name clash across
/// shards (`Alice`, `alice`: files `Alice` and `alice~2`), a submission not graded (no
/// `labs/`), one with a lab left as the stub and one nobody started; every shard has one.
fn shards_merge(project: &Project, reference: &Grade) -> Result<(Vec<(String, Grade)>, String)> {
    let root = &project.root;
    const N: u32 = 3;
    let base = project.grader_dir().join("selftest").join("shards");
    let _ = std::fs::remove_dir_all(&base);
    let dir = base.join("batch");
    for name in ["alice", "Alice", "grace"] {
        let sub = dir.join(name);
        match name {
            "grace" => {
                for (stem, stub) in &project.stubs {
                    files::write_creating(&sub.join("labs").join(format!("{stem}.rs")), stub)?;
                }
            }
            _ => fixtures::copy_solutions(root, &sub)?,
        }
        if name == "Alice" {
            let stub = files::read_to_string(&root.join("labs/lab03_spanning.rs"))?;
            files::write_creating(&sub.join("labs/lab03_spanning.rs"), &stub)?;
        }
    }
    files::create_dir_all(&dir.join("carol"))?;
    let owners: Vec<u32> = ["Alice", "alice", "carol", "grace"]
        .iter()
        .map(|name| crate::class::shard::Shard::of(name.as_bytes(), N))
        .collect();
    if (1..=N).any(|k| !owners.contains(&k)) {
        bail!("the sample batch leaves a shard empty (shards {owners:?}): choose other names");
    }
    let options = Options {
        timeout: Duration::from_secs(5),
        ..Options::default()
    };
    let passes = reference.as_reference();
    let whole = base.join("one-machine");
    let how = batch::BatchSettings {
        reference: Some(&passes),
        ..batch::BatchSettings::default()
    };
    let graded = batch::grade_batch(project, &dir, &whole, &options, &how)?;
    let mut shard_dirs = Vec::new();
    for k in 1..=N {
        let out = base.join(format!("shard-{k}"));
        let how = batch::BatchSettings {
            reference: Some(&passes),
            shard: Some(crate::class::shard::Shard { k, n: N }),
            ..batch::BatchSettings::default()
        };
        batch::grade_batch(project, &dir, &out, &options, &how)?;
        shard_dirs.push(out);
    }
    let merged = base.join("merged");
    crate::class::merge::merge(project, &merged, &shard_dirs, None)?;

    let mut problems = Vec::new();
    let (one, many) = (
        files::read_to_string(&whole.join("gradebook.csv"))?,
        files::read_to_string(&merged.join("gradebook.csv"))?,
    );
    if one != many {
        problems.push(format!(
            "gradebook.csv differs:\none machine:\n{one}merged shards:\n{many}"
        ));
    }
    let names = |dir: &Path| -> Result<Vec<String>> {
        let mut names: Vec<String> = files::list(dir)?
            .iter()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    };
    let (one_files, many_files) = (names(&whole)?, names(&merged)?);
    if one_files != many_files {
        problems.push(format!(
            "files differ: one machine {one_files:?}, merged {many_files:?}"
        ));
    }
    // stats.json is the class report's, not a grade: its time and messages are the run's.
    for name in one_files
        .iter()
        .filter(|n| n.ends_with(".json") && *n != crate::class::stats::STATS)
    {
        let value = |dir: &Path| -> Result<serde_json::Value> {
            let mut value: serde_json::Value =
                serde_json::from_str(&files::read_to_string(&dir.join(name))?).with_context(|| name.clone())?;
            without_run_details(&mut value);
            Ok(value)
        };
        if value(&whole)? != value(&merged)? {
            problems.push(format!("{name}: the grades differ"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("grades: {}", base.display()));
        bail!("{}", problems.join("\n"));
    }
    Ok((
        grades_of(&graded),
        format!(
            "{} submissions in {N} shards: gradebook.csv and every grade the same",
            graded.len()
        ),
    ))
}

/// A grade's JSON without what changes from run to run: test messages (addresses,
/// thread ids) and wall times.
fn without_run_details(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.contains_key("status") && map.contains_key("name") {
                map.remove("message");
                map.remove("seconds");
            }
            map.values_mut().for_each(without_run_details);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_run_details),
        _ => {}
    }
}

/// Every file of the project that grading must never change (the grader's own binary
/// included), with a digest of its content: path to digest.
fn project_digest(root: &Path) -> Result<std::collections::BTreeMap<String, u64>> {
    use std::hash::{Hash, Hasher};
    let digest = |bytes: &[u8]| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        hasher.finish()
    };
    let mut files = std::collections::BTreeMap::new();
    for dir in [
        "labs",
        "solutions",
        "src",
        "tests",
        "snapshots",
        "harness",
        "protocol",
        "grader",
    ] {
        crate::project::files::walk(root, &root.join(dir), &mut |rel, path| {
            if !rel.starts_with("grader/target") {
                files.insert(rel.to_string(), digest(&crate::project::files::read(path)?));
            }
            Ok(())
        })?;
    }
    for name in ["Cargo.toml", "Cargo.lock", "rubric.toml", "GRADING.md"] {
        files.insert(
            name.to_string(),
            digest(&std::fs::read(root.join(name)).unwrap_or_default()),
        );
    }
    if let Ok(exe) = std::env::current_exe() {
        files.insert(
            exe.display().to_string(),
            digest(&std::fs::read(&exe).unwrap_or_default()),
        );
    }
    Ok(files)
}

/// Processes whose command line contains `mark`.
fn processes_with(mark: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(mark))
        })
        .collect()
}

/// The catalogue of classic mistakes, graded in rounds (see `crate::mistakes`): each
/// mistake must land exactly where it says, every unpatched lab keeps full marks.
fn mistake_rounds(project: &Project, reference: &Grade) -> Result<(Vec<(String, Grade)>, String)> {
    let root = &project.root;
    let catalogue = mistakes::load(root)?;
    let rounds = mistakes::rounds(&catalogue);
    let base = project.grader_dir().join("selftest");
    let dir = base.join("mistakes");
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<String> = (1..=rounds.len()).map(|n| format!("round-{n:02}")).collect();
    for (round, name) in rounds.iter().zip(&names) {
        mistakes::make_round(root, round, &dir.join(name))?;
    }
    let options = Options {
        timeout: Duration::from_secs(5),
        ..Options::default()
    };
    let passes = reference.as_reference();
    let how = batch::BatchSettings {
        reference: Some(&passes),
        ..batch::BatchSettings::default()
    };
    let graded = batch::grade_batch(project, &dir, &base.join("mistakes-grades"), &options, &how)?;
    let labs = &project.labs;
    let mut problems = Vec::new();
    let mut lines = Vec::new();
    for (round, name) in rounds.iter().zip(&names) {
        let Some(result) = graded.iter().find(|g| &g.name == name) else {
            problems.push(format!("{name}: not graded"));
            continue;
        };
        for (who, problem) in mistakes::check_round(round, &result.result, reference) {
            let why = round.iter().find(|m| m.name == who).map(|m| format!(" ({})", m.why));
            problems.push(format!("{name}: {who}{}: {problem}", why.unwrap_or_default()));
        }
        for mistake in round {
            let id = mistake.lab.as_deref().unwrap_or_default();
            let landed = result
                .result
                .as_ref()
                .ok()
                .and_then(|g| g.lab(id))
                .map_or("?".into(), |l| format!("{}/{}", l.score, l.max_score));
            let lost = labs
                .iter()
                .find(|l| l.id == id)
                .map(|l| mistakes::tests_lost(mistake, l).len())
                .unwrap_or_default();
            lines.push(format!(
                "{name} {:<16} {:<36} {landed:>5}  {lost} test(s) lost",
                id, mistake.name
            ));
        }
    }
    show_lines_or_fail(problems, &base.join("mistakes-grades"), &lines)?;
    let total: f64 = graded.iter().map(|g| g.seconds).sum();
    Ok((
        grades_of(&graded),
        format!("{} mistakes in {} rounds, {total:.0} s", catalogue.len(), rounds.len()),
    ))
}

fn handout_check(project: &Project) -> Result<((), String)> {
    let root = &project.root;
    let files = handout::files(project)?;
    let mut problems = Vec::new();
    for required in [
        "README.md",
        "GRADING.md",
        ".github/workflows/grade.yml",
        "rubric.toml",
        "src/lib.rs",
    ] {
        if !files.contains_key(required) {
            problems.push(format!("the handout lacks {required}"));
        }
    }
    // A line of a solution that no stub, suite, harness or grader source has must appear nowhere
    // in the handout.
    let mut shared = String::new();
    for dir in ["labs", "src", "tests", "harness", "protocol", "grader/src"] {
        crate::project::files::walk(root, &root.join(dir), &mut |_, path| {
            shared.push_str(&std::fs::read_to_string(path).unwrap_or_default());
            Ok(())
        })?;
    }
    let mut telltales = Vec::new();
    for stem in project.stubs.keys() {
        let path = root.join("solutions").join(format!("{stem}.rs"));
        let solution = files::read_to_string(&path)?;
        for line in solution.lines().map(str::trim) {
            if line.len() >= 24 && !line.starts_with("//") && !shared.contains(line) {
                telltales.push((stem.clone(), line.to_string()));
            }
        }
    }
    for (rel, content) in &files {
        if rel.starts_with("solutions/") || rel.starts_with("grader/fixtures/") {
            problems.push(format!("the handout contains {rel}"));
        }
        let text = String::from_utf8_lossy(content);
        if rel == "GRADING.md" && text.contains("instructors only") {
            problems.push("the handout's GRADING.md keeps the instructors-only section".into());
        }
        if rel == "src/lib.rs" && text.contains("solutions") {
            problems.push("the handout's src/lib.rs still mentions solutions".into());
        }
        if let Some((stem, line)) = telltales.iter().find(|(_, line)| text.contains(line.as_str())) {
            problems.push(format!("{rel} reveals solutions/{stem}.rs: `{line}`"));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let dir = project.grader_dir().join("selftest").join("handout");
    let _ = std::fs::remove_dir_all(&dir);
    handout::export(project, &dir)?;
    // A target directory of its own: the handout's packages have the same names and
    // workspace-relative paths as this project's, so sharing one would mix their builds.
    // Its lab package needs only the suites' light dependencies; the grader is this code.
    let target = project.grader_dir().join("handout-target");
    cargo_in(
        project,
        &dir,
        &target,
        &["build", "--quiet", "--package", "munmap-lab", "--tests"],
    )
    .context("the handout does not build")?;
    Ok(((), format!("{} files, no solutions, builds", files.len())))
}
