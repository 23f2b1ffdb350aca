//! The lab against its own two ends, graded by the built grader as `cargo grade` does:
//! the reference solutions get full marks (every rubric test present and graded, and
//! GRADING.md lists the tests the kernel witnesses as this run finds them), the stubs
//! fail every graded test, and every snapshot file belongs to a graded test. The
//! outputs of both grades are read as their consumers read them (`common::conform`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::grader::{self, Call, Source};
use common::json;

/// Grades `source` with every output; the grade and the outputs' problems.
fn grade_with_outputs(name: &str, source: Source) -> (json::Grade, Vec<String>) {
    let dir = common::fresh_dir(name);
    let (json_file, junit, classroom) = (dir.join("grade.json"), dir.join("grade.xml"), dir.join("classroom.env"));
    grader::run(
        &Call::Grade {
            source,
            json: Some(&json_file),
            junit: Some(&junit),
            classroom: Some(&classroom),
        },
        &[],
    )
    .expect_success();
    let grade = json::read(&json_file).unwrap_or_else(|e| panic!("{name}: not graded: {e}"));
    (grade, common::conform::problems(name, &json_file, &junit, &classroom))
}

#[test]
fn solutions_get_full_marks() {
    let _serial = common::serial();
    let (grade, mut problems) = grade_with_outputs("solutions", Source::Solutions);
    problems.extend(grade.warnings.iter().map(|w| format!("warning: {w}")));
    for lab in &grade.labs {
        if lab.status == "build_error" {
            problems.push(format!("solutions/{}.rs does not compile: {}", lab.id, lab.message));
        }
        for test in lab.tests.iter().filter(|t| t.lost()) {
            problems.push(format!(
                "{}::{} should pass against the solutions, but is {}: {}",
                lab.id, test.name, test.status, test.message
            ));
        }
    }
    let graded: BTreeSet<String> = grade
        .labs
        .iter()
        .flat_map(|l| l.tests.iter().map(move |t| format!("{}::{}", l.id, t.name)))
        .collect();
    for (lab, points) in json::rubric() {
        for (test, _) in points {
            if !graded.contains(&format!("{lab}::{test}")) {
                problems.push(format!("{lab}::{test} (rubric.toml) was not graded"));
            }
        }
    }
    if !problems.is_empty() {
        problems.push("details: cargo test --features solutions".into());
    }
    problems.extend(witnessed_list_problem(&grade));
    problems.extend(draw_problems(&grade));
    problems.extend(draw_table_problem(&grade));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!(
        "{}/{}, {} kernel-witnessed, skipped here: {:?}",
        grade.score,
        grade.max_score,
        grade.witnessed(),
        grade.tests_with("skipped")
    );
}

/// Every graded test draws its scenario when graded (its process noted what it drew), or
/// rubric.toml's `[lab.undrawn]` says why it cannot; never both.
fn draw_problems(grade: &json::Grade) -> Vec<String> {
    let undrawn = json::undrawn();
    let mut problems = Vec::new();
    for lab in &grade.labs {
        for test in lab.tests.iter().filter(|t| t.status == "pass") {
            let key = format!("{}::{}", lab.id, test.name);
            match (test.drawn.is_empty(), undrawn.get(&key)) {
                (true, None) => problems.push(format!(
                    "{key} drew nothing: draw its scenario (munmap_lab_harness::draw), or say in rubric.toml's \
                     [{}.undrawn] why it cannot vary",
                    lab.id
                )),
                (false, Some(_)) => problems.push(format!(
                    "{key} draws {}, but rubric.toml's [{}.undrawn] says it cannot vary: take it out of there",
                    test.drawn.join(", "),
                    lab.id
                )),
                _ => {}
            }
        }
    }
    problems
}

/// Where GRADING.md lists what each test draws.
const DRAWS_BEGIN: &str =
    "<!-- drawn scenarios: what each test draws when graded; `cargo selftest` checks this table -->";
const DRAWS_END: &str = "<!-- end of drawn scenarios -->";

/// GRADING.md's table of what each test function draws (the names its cases noted in
/// the solutions' run, folded), or why it draws nothing (rubric.toml's `undrawn`).
fn draw_table_problem(grade: &json::Grade) -> Option<String> {
    let undrawn = json::undrawn();
    let mut rows: Vec<(String, String, BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    for lab in &grade.labs {
        for test in lab.tests.iter().filter(|t| t.status == "pass") {
            let function = function_of(&test.name).to_string();
            if rows.last().is_none_or(|(l, f, ..)| *l != lab.id || *f != function) {
                rows.push((lab.id.clone(), function.clone(), BTreeSet::new(), BTreeSet::new()));
            }
            let (_, _, draws, undrawn_cases) = rows.last_mut().expect("just pushed");
            // Each value by its name, a number in it left out (`touched page 3`: `touched page N`).
            let name = |d: &String| {
                let name = d.split(" = ").next().unwrap_or(d);
                let words = name.split(' ').map(|w| match w.chars().all(|c| c.is_ascii_digit()) {
                    true => "N",
                    false => w,
                });
                words.collect::<Vec<_>>().join(" ")
            };
            draws.extend(test.drawn.iter().map(name));
            if undrawn.contains_key(&format!("{}::{}", lab.id, test.name)) {
                undrawn_cases.insert(test.name.split_once("::").map_or("", |(_, case)| case).to_string());
            }
        }
    }
    let mut expected = String::from("| lab | test | what its scenario draws |\n| --- | --- | --- |\n");
    for (lab, function, draws, undrawn_cases) in rows {
        let mut shown: Vec<String> = draws.into_iter().collect();
        let why = "rubric.toml's `undrawn` says why";
        match (shown.is_empty(), undrawn_cases.is_empty()) {
            (_, true) => {}
            (true, false) => shown.push(format!("nothing ({why})")),
            (false, false) => {
                let cases: Vec<String> = undrawn_cases.into_iter().collect();
                shown.push(format!("nothing in {} ({why})", cases.join(", ")));
            }
        }
        expected.push_str(&format!("| {lab} | {function} | {} |\n", shown.join("; ")));
    }
    let doc = common::read(&common::root().join("GRADING.md"));
    let section = doc
        .split_once(DRAWS_BEGIN)
        .and_then(|(_, rest)| rest.split_once(DRAWS_END))
        .map(|(section, _)| section.strip_prefix('\n').unwrap_or(section));
    (section != Some(expected.as_str())).then(|| {
        format!(
            "GRADING.md's table of drawn scenarios is not what the reference solutions' run shows: put this \
             between `{DRAWS_BEGIN}` and `{DRAWS_END}`:\n{expected}"
        )
    })
}

/// Honest code scores the same under every seed: the solutions under two more.
#[test]
fn solutions_get_full_marks_under_other_seeds() {
    let _serial = common::serial();
    for seed in ["1", "18446744073709551615"] {
        let dir = common::fresh_dir(&format!("solutions-seed-{}", &seed[..1]));
        let json_file = dir.join("grade.json");
        grader::run(
            &Call::Grade {
                source: Source::Solutions,
                json: Some(&json_file),
                junit: None,
                classroom: None,
            },
            &[("MUNMAP_LAB_SEED", std::ffi::OsStr::new(seed))],
        )
        .expect_success();
        let grade = json::read(&json_file).unwrap_or_else(|e| panic!("seed {seed}: not graded: {e}"));
        let lost: Vec<String> = grade
            .labs
            .iter()
            .flat_map(|l| {
                l.tests
                    .iter()
                    .filter(|t| t.lost())
                    .map(move |t| format!("{}::{}: {}", l.id, t.name, t.message))
            })
            .collect();
        assert!(
            lost.is_empty(),
            "under seed {seed} the solutions lose:\n{}",
            lost.join("\n")
        );
        assert_eq!(grade.seed, Some(seed.parse().unwrap()), "the grade names its seed");
    }
}

#[test]
fn stubs_fail_every_graded_test() {
    let _serial = common::serial();
    // Plain `cargo grade`: this checkout's labs/ (the stubs), against the reference solutions.
    let (grade, mut problems) = grade_with_outputs("stubs", Source::Checkout);
    for lab in &grade.labs {
        if lab.status == "build_error" {
            problems.push(format!(
                "labs/{}.rs (the stub) does not compile: {}",
                lab.id, lab.message
            ));
        }
        for test in lab.tests.iter().filter(|t| !t.lost()) {
            problems.push(format!(
                "{}::{} should FAIL against the stub, but is {}: a test that cannot fail is a defect",
                lab.id, test.name, test.status
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(grade.labs.iter().map(|l| l.tests.len()).sum::<usize>() > 0, "{grade:?}");
}

/// Every file in `snapshots/` is `<lab>__<test>.snap` for a test in rubric.toml (a
/// renamed or deleted test leaves an orphan that nobody reviews), and none is pending.
#[test]
fn snapshots_belong_to_graded_tests() {
    let expected: BTreeSet<String> = json::rubric()
        .iter()
        .flat_map(|(lab, points)| {
            points
                .iter()
                .map(move |(test, _)| format!("{}.snap", munmap_lab_protocol::snapshot_name(lab, test)))
        })
        .collect();
    let dir = common::root().join("snapshots");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
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
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(!names.is_empty());
}

/// Where GRADING.md lists the witnessed tests.
const BEGIN: &str =
    "<!-- witnessed tests: those whose reference run stops at a checkpoint; `cargo selftest` checks this list -->";
const END: &str = "<!-- end of witnessed tests -->";

/// GRADING.md lists the tests the kernel witnesses as this run of the reference
/// solutions found them; the problem says what to put between its markers.
fn witnessed_list_problem(grade: &json::Grade) -> Option<String> {
    let doc = common::read(&common::root().join("GRADING.md"));
    let Some(section) = doc
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(section, _)| section.strip_prefix('\n').unwrap_or(section))
    else {
        return Some(format!(
            "GRADING.md lacks the list of kernel-witnessed tests (`{BEGIN}`)"
        ));
    };
    let expected = expected_list(grade, &listed(section));
    (section != expected).then(|| {
        format!(
            "GRADING.md's list of kernel-witnessed tests is not what the reference solutions' run shows: \
             put this between its markers:\n{expected}"
        )
    })
}

/// The test function of a libtest name (`function::case_1_x` for an rstest case).
fn function_of(test: &str) -> &str {
    test.split_once("::").map_or(test, |(function, _)| function)
}

/// The list of witnessed tests for GRADING.md: one row per lab, test functions with
/// their rstest cases folded (`functions` holds `(lab, function)`), then the totals.
fn table(functions: &BTreeSet<(String, String)>) -> String {
    let labs = json::rubric();
    let mut out = String::from("| lab | kernel-witnessed tests |\n| --- | --- |\n");
    let (mut tests, mut points) = (0, 0);
    for (lab, lab_points) in &labs {
        let mut names: Vec<(String, usize)> = Vec::new();
        for (test, test_points) in lab_points {
            let function = function_of(test);
            if !functions.contains(&(lab.clone(), function.to_string())) {
                continue;
            }
            tests += 1;
            points += test_points;
            match names.last_mut() {
                Some((name, cases)) if name == function => *cases += 1,
                _ => names.push((function.to_string(), 1)),
            }
        }
        let names: Vec<String> = names
            .into_iter()
            .map(|(name, cases)| match cases {
                1 => name,
                n => format!("{name} ({n} cases)"),
            })
            .collect();
        let shown = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        out.push_str(&format!("| {lab} | {shown} |\n"));
    }
    let all_tests: usize = labs.iter().map(|(_, p)| p.len()).sum();
    let all_points: u32 = labs.iter().flat_map(|(_, p)| p.iter().map(|(_, n)| n)).sum();
    out.push_str(&format!(
        "| **total** | {tests} of {all_tests} tests, {points} of {all_points} points |\n"
    ));
    out
}

/// The `(lab, function)` pairs a [`table`] lists.
fn listed(table: &str) -> BTreeSet<(String, String)> {
    let mut functions = BTreeSet::new();
    for row in table.lines().filter_map(|l| l.strip_prefix("| ")) {
        let Some((lab, names)) = row.split_once(" | ") else {
            continue;
        };
        if lab == "lab" || lab.starts_with("---") || lab.starts_with("**") {
            continue;
        }
        for name in names.trim_end_matches(" |").split(", ").filter(|n| *n != "none") {
            let function = name.split(" (").next().unwrap_or(name);
            functions.insert((lab.to_string(), function.to_string()));
        }
    }
    functions
}

/// The list GRADING.md should show, from the reference solutions' `grade` on this
/// machine and the `listed` functions: a function whose tests the reference skipped
/// here keeps its place in the list, or leaves it, as listed.
fn expected_list(grade: &json::Grade, listed: &BTreeSet<(String, String)>) -> String {
    let mut functions = BTreeSet::new();
    let mut ran = BTreeSet::new();
    for lab in &grade.labs {
        for test in lab.tests.iter().filter(|t| t.status == "pass") {
            let key = (lab.id.clone(), function_of(&test.name).to_string());
            if test.witnessed {
                functions.insert(key.clone());
            }
            ran.insert(key);
        }
    }
    functions.extend(listed.iter().filter(|f| !ran.contains(*f)).cloned());
    table(&functions)
}

#[test]
fn the_witnessed_list_folds_cases_and_reads_back() {
    let labs: BTreeMap<String, Vec<(String, u32)>> = json::rubric().into_iter().collect();
    let (lab, points) = labs
        .iter()
        .find(|(_, p)| p.iter().any(|(t, _)| t.contains("::")))
        .unwrap();
    let function = function_of(&points.iter().find(|(t, _)| t.contains("::")).unwrap().0).to_string();
    let functions = BTreeSet::from([(lab.clone(), function.clone())]);
    let text = table(&functions);
    assert!(text.contains(&format!("| {lab} | {function} (")), "{text}");
    assert_eq!(listed(&text), functions);
}
