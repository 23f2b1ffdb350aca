//! Every output form of a grade, as the built grader writes it and as its consumers
//! read it: GitHub Classroom's reporter (`common::reporter`, redone from its source)
//! prints exactly the `--json` grade's numbers, and the `--junit` XML is valid against
//! the strict junit-10.xsd. The grades are given to the grader (its `fixture-hooks`
//! feature's `MUNMAP_LAB_FIXTURE_GRADE`) so every pass/fail/skip pattern over the rubric,
//! a build error and the edge cases can be written; the real grades' outputs are read
//! in `reference.rs`.

mod common;

use std::path::Path;

use common::conform::{self, GIVEN_GRADE_ENV, Validation, Written};
use common::grader::{self, Call, Source};
use common::json::{Grade, Lab, Test};
use common::reporter;

/// Has the grader write every output of `grade` into `dir/NAME.*`.
fn write_outputs(dir: &Path, name: &str, grade: &Grade) -> Written {
    let given = dir.join(format!("{name}.given.json"));
    common::write(&given, serde_json::to_string(grade).unwrap());
    conform::write_outputs(dir, name, &given)
}

fn conform(dir: &Path, name: &str, grade: &Grade) -> Vec<String> {
    let written = write_outputs(dir, name, grade);
    conform::problems(name, &written.json, &written.junit, &written.classroom)
}

fn lab(id: &str, tests: Vec<Test>) -> Lab {
    Lab::graded(id, tests)
}

#[test]
fn every_pattern_of_passes_failures_and_skips_over_the_rubric() {
    let _serial = common::serial();
    let dir = common::fresh_dir("outputs-patterns");
    let labs = common::json::rubric();
    let statuses = ["pass", "fail", "skipped"];
    let mut problems = Vec::new();
    // Every pass/fail/skip pattern of each lab's first four tests (the rest follow the
    // pattern round): all-pass, all-fail and all-skipped grades among them.
    for pattern in 0..3usize.pow(4) {
        let grade = Grade::of(
            labs.iter()
                .map(|(id, points)| {
                    let tests = points
                        .iter()
                        .enumerate()
                        .map(|(i, (name, points))| {
                            let status = statuses[pattern / 3usize.pow((i % 4) as u32) % 3];
                            let message = format!("{id}::{name}: window page 2 should be unmapped ({status})");
                            Test::scored(name, *points, status, &message)
                        })
                        .collect();
                    lab(id, tests)
                })
                .collect(),
        );
        problems.extend(conform(&dir, &format!("pattern-{pattern}"), &grade));
    }
    let broken = Grade::of(
        labs.iter()
            .map(|(id, points)| {
                let error = format!("labs/{id}.rs:1:1: error: expected one of ...");
                let tests = points
                    .iter()
                    .map(|(name, p)| Test::scored(name, *p, "fail", &error))
                    .collect();
                Lab {
                    status: "build_error".into(),
                    message: error,
                    ..lab(id, tests)
                }
            })
            .collect(),
    );
    problems.extend(conform(&dir, "build-error", &broken));
    common::assert_no_problems(&problems, &dir);
}

#[test]
fn unequal_points_and_skips_print_cargo_grades_numbers() {
    let _serial = common::serial();
    let dir = common::fresh_dir("outputs-unequal");
    // One lab, unequal points, a skip: passed / tests x max_score over the tests as
    // they were would print 1/3 x 5 = 1.67, not 3. A lab with nothing to count.
    let grade = Grade::of(vec![
        lab(
            "lab01_full",
            vec![
                Test::scored("a", 3, "pass", ""),
                Test::scored("b", 2, "crash", "killed by SIGSEGV"),
                Test::scored("c", 4, "skipped", "old kernel"),
            ],
        ),
        lab("lab02_partial", vec![Test::scored("d", 1, "skipped", "old kernel")]),
    ]);
    assert_eq!((grade.score, grade.max_score), (3, 5));
    let problems = conform(&dir, "unequal", &grade);
    common::assert_no_problems(&problems, &dir);
    let written = write_outputs(&dir, "unequal", &grade);
    let runners = reporter::read_env_file(&common::read(&written.classroom)).unwrap();
    assert_eq!(runners.len(), 1, "a lab with nothing to count is no runner");
    let printed = reporter::print(&runners);
    assert_eq!(printed.points, "Points 3/5");
}

#[test]
fn a_lab_too_big_for_its_messages_keeps_its_numbers() {
    let _serial = common::serial();
    let dir = common::fresh_dir("outputs-big");
    let long = "é".repeat(5000);
    let many: Vec<Test> = (0..150)
        .map(|i| Test::scored(&format!("t{i}"), 1, "timeout", &long))
        .collect();
    let grade = Grade::of(vec![lab("lab09_release", many)]);
    let problems = conform(&dir, "big", &grade);
    common::assert_no_problems(&problems, &dir);
    let written = write_outputs(&dir, "big", &grade);
    let runners = reporter::read_env_file(&common::read(&written.classroom)).unwrap();
    let message = &runners[0].1.tests[0].message;
    assert!(message.len() <= 100, "{message}");
}

#[test]
fn a_failed_grading_run_reports_the_reason_and_records_no_points() {
    let _serial = common::serial();
    let dir = common::fresh_dir("outputs-failed");
    let given = dir.join("not-a-grade.json");
    common::write(&given, "{}");
    let classroom = dir.join("classroom.env");
    let ran = grader::run(
        &Call::Grade {
            source: Source::Checkout,
            json: None,
            junit: None,
            classroom: Some(&classroom),
        },
        &[(GIVEN_GRADE_ENV, given.as_os_str())],
    )
    .expect_code(1);
    assert!(ran.stderr.contains("is not a grade"), "{}", ran.stderr);
    let text = common::read(&classroom);
    let runners = reporter::read_env_file(&text).unwrap();
    assert_eq!(runners.len(), 1);
    assert_eq!(runners[0].0, "grading");
    assert_eq!(runners[0].1.tests[0].status, "error");
    assert!(runners[0].1.tests[0].message.contains("is not a grade"), "{text}");
    let printed = reporter::print(&runners);
    assert!(printed.runner_lines.is_empty());
    assert_eq!(printed.points, "Points 0/0", "max 0: the reporter posts no notice");
}

#[test]
fn every_partial_score_of_every_lab_is_exact_in_the_reporters_arithmetic() {
    // (passed / tests) x max_score in binary floating point is exactly `passed` for
    // every count up to 21 (15 / 22 x 22 is not): every lab's points must stay below.
    for (id, points) in common::json::rubric() {
        let max: u32 = points.iter().map(|(_, p)| p).sum();
        for n in 1..=max {
            for a in 0..=n {
                let printed = f64::from(a) / f64::from(n) * f64::from(n);
                assert_eq!(
                    reporter::js_string(printed),
                    a.to_string(),
                    "{id}: {a} of {n} points would print as {printed}: split the lab"
                );
            }
        }
    }
    assert_ne!(reporter::js_string(15.0 / 22.0 * 22.0), "15");
}

/// A grade with every status, awkward characters and a build error.
fn sample() -> Grade {
    let timed = |mut t: Test, seconds: f64| {
        t.seconds = Some(seconds);
        t
    };
    let full = Lab {
        title: "Full & \"complete\"".into(),
        ..lab(
            "lab01_full",
            vec![
                timed(Test::scored("ok", 1, "pass", ""), 0.1234),
                timed(
                    Test::scored("bad", 1, "fail", "expected <4> & got \"3\"\n  page 0 ---p\u{1b}[0m\0"),
                    1.5,
                ),
                timed(Test::scored("segv", 1, "crash", "killed by SIGSEGV"), 0.25),
                timed(Test::scored("hung", 1, "timeout", "still running after 10 s"), 10.0),
                timed(Test::scored("old", 1, "skipped", "old kernel"), 0.01),
            ],
        )
    };
    let error = "error[E0425]: cannot find value `x` in this scope\n --> labs/lab03_spanning.rs:12:5";
    let tests = ["a", "b"]
        .iter()
        .map(|name| Test {
            seconds: None,
            ..Test::scored(name, 1, "fail", error)
        })
        .collect();
    let broken = Lab {
        status: "build_error".into(),
        message: error.into(),
        ..lab("lab03_spanning", tests)
    };
    Grade::of(vec![full, broken])
}

#[test]
fn the_xml_is_valid_and_the_schema_rejects_what_strict_consumers_reject() {
    let _serial = common::serial();
    let dir = common::fresh_dir("outputs-junit");
    let xml = common::read(&write_outputs(&dir, "sample", &sample()).junit);
    let empty = common::read(&write_outputs(&dir, "empty", &Grade::of(vec![])).junit);
    for xml in [&xml, &empty] {
        match conform::validate(xml) {
            Ok(Validation::Valid) => {}
            Ok(Validation::Skipped(why)) => {
                eprintln!("skipped: JUnit XML not validated against junit-10.xsd: {why}");
                return;
            }
            Err(e) => panic!("{e}\n{xml}"),
        }
    }
    for bad in [
        xml.replacen("<testsuites ", "<testsuites skipped=\"1\" ", 1),
        xml.replacen(
            " classname=\"lab01_full\"",
            " classname=\"lab01_full\" file=\"labs/lab01_full.rs\"",
            1,
        ),
        xml.replacen(
            "<testcase name=\"ok\" classname=\"lab01_full\" time=\"0.123\"/>",
            "<testcase name=\"ok\"><properties><property name=\"score\" value=\"1\"/></properties></testcase>",
            1,
        ),
        xml.replacen("time=\"11.883\"", "time=\"NaNms\"", 1),
    ] {
        assert_ne!(bad, xml);
        assert!(conform::validate(&bad).is_err(), "accepted:\n{bad}");
    }
}
