//! The report a person reads: one row per lab, the first line of every failure (a
//! build error with its line of code and the compiler's notes), what to do next, and
//! `Score: X/Y` last (scripts may read that line).
//!
//! Text a student controls (messages, the compiler's quotes of their code, file names)
//! is shown [escaped](crate::escape::shown), one line of it per row, always after the
//! row's own indent or label: no line that starts at the left margin comes from a
//! student, so the last line, `Score:`, cannot be forged, hidden or redrawn.

use std::fmt::Write as _;

use crate::escape::shown;
use crate::model::{Grade, LabGrade, LabStatus, TestStatus, first_line};

/// How many ignored files are named before "and N more".
const IGNORED_SHOWN: usize = 8;
/// Lines of a build error shown under its first (the code, the compiler's notes).
const BUILD_DETAIL_SHOWN: usize = 8;
/// Longest FAIL row, in characters: one line on a terminal of 120 columns.
const ROW_CHARS: usize = 120;
/// The message keeps at least this much of a row under a very long test name.
const MESSAGE_CHARS_AT_LEAST: usize = 40;

pub fn render(grade: &Grade) -> String {
    let mut out = String::new();
    let width = grade.labs.iter().map(|l| l.id.len()).max().unwrap_or(0);
    for lab in &grade.labs {
        if grade.is_not_started(lab) {
            out.push_str(&not_started_row(lab, width));
            continue;
        }
        let points = format!("{}/{}", lab.score, lab.max_score);
        let mark = if lab.is_complete() { "ok" } else { "  " };
        writeln!(out, "{mark} {:<width$}  {points:>7}  {}", lab.id, lab.title).unwrap();
        if lab.status == LabStatus::BuildError {
            writeln!(out, "       does not compile: {}", shown(first_line(&lab.message))).unwrap();
            let detail = lab
                .message
                .trim_start()
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty());
            for line in detail.take(BUILD_DETAIL_SHOWN) {
                writeln!(out, "         {}", shown(line)).unwrap();
            }
            continue;
        }
        for test in &lab.tests {
            let word = match test.status {
                TestStatus::Pass => continue,
                TestStatus::Skipped => "skipped",
                TestStatus::Fail => "FAIL",
                TestStatus::Crash => "CRASH",
                TestStatus::Timeout => "TIMEOUT",
            };
            let row = format!("       {word:<7} {}: ", test.name);
            let message = strip_test_prefix(first_line(&test.message), &lab.id, &test.name);
            let room = ROW_CHARS
                .saturating_sub(row.chars().count())
                .max(MESSAGE_CHARS_AT_LEAST);
            writeln!(out, "{row}{}", shown(&shortened(message, room))).unwrap();
        }
        if !lab.message.is_empty() {
            writeln!(out, "       note: {}", shown(first_line(&lab.message))).unwrap();
        }
    }
    if grade.witnessed() > 0 {
        let tests = grade.labs.iter().map(|l| l.tests.len()).sum::<usize>();
        writeln!(
            out,
            "\nKernel-witnessed: {} of {tests} tests (the grader read their windows from the kernel at each \
             checkpoint and held them to the reference solution's; GRADING.md lists them)",
            grade.witnessed()
        )
        .unwrap();
    }
    if let Some(seed) = grade.seed {
        writeln!(
            out,
            "Scenarios drawn from seed {seed} (sizes and cuts differ from the snapshots'; `--seed {seed}` \
             draws them again)"
        )
        .unwrap();
    }
    if !grade.ignored.is_empty() {
        let names: Vec<String> = grade
            .ignored
            .iter()
            .take(IGNORED_SHOWN)
            .map(|f| shown(f).into_owned())
            .collect();
        let more = grade.ignored.len().saturating_sub(IGNORED_SHOWN);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        writeln!(out, "\nIgnored (only labs/*.rs is graded): {}{more}", names.join(", ")).unwrap();
    }
    writeln!(out, "\n{}", next_step(grade)).unwrap();
    writeln!(out, "Score: {}/{}", grade.score, grade.max_score).unwrap();
    out
}

/// Harness messages start with `lab::test failed: `, the test named as libtest names it
/// (`case_2_middle` for the rubric's `middle`); the row already names the test once.
fn strip_test_prefix<'a>(message: &'a str, lab: &str, test: &str) -> &'a str {
    let full = format!("{lab}::{test}");
    if let Some(rest) = message.strip_prefix(full.as_str())
        && let Some(rest) = rest.strip_prefix(" failed:").or_else(|| rest.strip_prefix(':'))
    {
        return rest.trim();
    }
    // libtest's name of an rstest case: one word (no space) from `lab::` to ` failed:`.
    let libtest = message
        .strip_prefix(lab)
        .and_then(|rest| rest.strip_prefix("::"))
        .and_then(|rest| rest.split_once(" failed:"))
        .filter(|(name, _)| !name.contains(char::is_whitespace));
    match libtest {
        Some((_, rest)) => rest.trim(),
        None => message.trim(),
    }
}

/// `text` cut to `room` characters, an ellipsis marking the cut (the full message is
/// one `cargo test` away, and the next step names it).
fn shortened(text: &str, room: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= room {
        return text.into();
    }
    let kept: String = text.chars().take(room.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end()).into()
}

/// A lab nobody has started, in one line instead of a failure per test.
fn not_started_row(lab: &LabGrade, width: usize) -> String {
    let points = format!("{}/{}", lab.score, lab.max_score);
    let tests = lab.tests.iter().filter(|t| t.status != TestStatus::Skipped).count();
    let s = if tests == 1 { "" } else { "s" };
    format!(
        "   {:<width$}  {points:>7}  not started: {tests} test{s} ({})\n",
        lab.id, lab.title
    )
}

/// The lab to work on next: the first started one that is not complete, else the first
/// not started.
fn next_lab(grade: &Grade) -> Option<&LabGrade> {
    let open = || grade.labs.iter().filter(|l| !l.is_complete());
    open().find(|l| !grade.is_not_started(l)).or_else(|| open().next())
}

/// The first step of a lab nobody has started.
fn start_step(id: &str) -> String {
    format!(
        "Next: start labs/{id}.rs: read the lesson at the top of the file, replace each todo!(), \
         then run `cargo test --test {id}`."
    )
}

/// One hint: the lab to work on next, and the command that shows the details.
fn next_step(grade: &Grade) -> String {
    let Some(lab) = next_lab(grade) else {
        return "Every lab is complete.".into();
    };
    let id = &lab.id;
    if grade.is_not_started(lab) {
        return start_step(id);
    }
    if lab.status == LabStatus::BuildError {
        return format!("Next: make labs/{id}.rs compile; `cargo test --test {id}` shows every error.");
    }
    let open = lab.tests.iter().filter(|t| t.score < t.max_score).count();
    let first = lab.tests.iter().find(|t| t.score < t.max_score);
    let stuck = first.map(|t| t.status);
    let why = match stuck {
        Some(TestStatus::Crash) => " A crash means the process died (SIGSEGV: memory that is not mapped).",
        Some(TestStatus::Timeout) => " A timeout means the code never returned (a loop that does not end?).",
        _ => "",
    };
    let filter = first.map(|t| format!(" {}", t.name.split("::").next().unwrap_or(&t.name)));
    format!(
        "Next: labs/{id}.rs ({open} test{} to go): read the lesson at the top of the file, then run \
         `cargo test --test {id}{}` for the full messages.{why}",
        if open == 1 { "" } else { "s" },
        filter.unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestGrade;

    fn test(name: &str, status: TestStatus, score: u32, max: u32, message: &str) -> TestGrade {
        TestGrade {
            name: name.into(),
            status,
            score,
            max_score: max,
            message: message.into(),
            seconds: None,
            witnessed: false,
            drawn: Vec::new(),
        }
    }

    fn sample() -> Grade {
        let lab1 = LabGrade {
            id: "lab01_full".into(),
            title: "Full".into(),
            score: 2,
            max_score: 3,
            status: LabStatus::Graded,
            message: String::new(),
            tests: vec![
                test("map", TestStatus::Pass, 2, 2, ""),
                test(
                    "sync",
                    TestStatus::Fail,
                    0,
                    1,
                    "lab01_full::sync failed: not yet implemented: lab01_full::sync\nsecond line",
                ),
                test("dirty", TestStatus::Skipped, 0, 0, "old kernel"),
            ],
        };
        let lab2 = LabGrade {
            id: "lab02_partial".into(),
            title: "Partial".into(),
            score: 0,
            max_score: 1,
            status: LabStatus::BuildError,
            message: "labs/lab02_partial.rs:3:5: error[E0308]: mismatched types: expected `Pid`, found `i32`\n    \
                      3 |     Ok(pid)\n      |        ^^^\n    help: try `Pid::from_raw`"
                .into(),
            tests: vec![test("trim", TestStatus::Fail, 0, 1, "not run")],
        };
        let mut grade = Grade::new(vec![lab1, lab2]);
        grade.ignored = vec!["Cargo.toml".into(), "tests/lab01_full.rs".into()];
        grade
    }

    #[test]
    fn shows_rows_first_lines_hint_and_score_last() {
        let text = render(&sample());
        assert!(text.contains("   lab01_full         2/3  Full\n"), "{text}");
        assert!(
            text.contains("       FAIL    sync: not yet implemented: lab01_full::sync\n"),
            "{text}"
        );
        assert!(!text.contains("second line"));
        assert!(text.contains("       skipped dirty: old kernel\n"), "{text}");
        assert!(text.contains(
            "       does not compile: labs/lab02_partial.rs:3:5: error[E0308]: mismatched types: expected `Pid`, found \
             `i32`\n             3 |     Ok(pid)\n               |        ^^^\n             help: try `Pid::from_raw`\n"
        ));
        assert!(text.contains("Ignored (only labs/*.rs is graded): Cargo.toml, tests/lab01_full.rs\n"));
        assert!(text.contains("Next: labs/lab01_full.rs (1 test to go)"), "{text}");
        assert!(text.contains("`cargo test --test lab01_full sync`"), "{text}");
        assert!(text.ends_with("Score: 2/4\n"), "{text}");
    }

    #[test]
    fn a_lab_nobody_started_is_one_line_and_the_started_one_comes_first() {
        let mut grade = sample();
        grade.labs[0].tests[0].status = TestStatus::Fail;
        grade.labs[0].tests[0].score = 0;
        grade.labs[0] = grade.labs[0].clone().total();
        grade.labs[1].status = LabStatus::Graded;
        grade.not_started = vec!["lab01_full".into()];
        let grade = Grade {
            not_started: grade.not_started.clone(),
            ..Grade::new(grade.labs)
        };
        let text = render(&grade);
        assert!(
            text.starts_with("   lab01_full         0/3  not started: 2 tests (Full)\n   lab02_partial"),
            "{text}"
        );
        assert!(!text.contains("FAIL    map"), "{text}");
        assert!(text.contains("FAIL    trim: not run"), "{text}");
        assert!(text.contains("Next: labs/lab02_partial.rs (1 test to go)"), "{text}");

        let grade = Grade {
            not_started: vec!["lab01_full".into(), "lab02_partial".into()],
            ..grade
        };
        let text = render(&grade);
        assert!(
            text.contains("   lab02_partial      0/1  not started: 1 test (Partial)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "Next: start labs/lab01_full.rs: read the lesson at the top of the file, replace each \
                 todo!(), then run `cargo test --test lab01_full`.\n"
            ),
            "{text}"
        );
    }

    /// libtest names an rstest case `case_N_NAME`, the rubric `NAME`: the row names it
    /// once, and a long message is cut to one row.
    #[test]
    fn a_fail_row_names_the_test_once_and_stays_short() {
        let mut grade = sample();
        grade.labs[0].tests[1].name = "skips_the_holes::longer_than_the_mapping".into();
        grade.labs[0].tests[1].message = format!(
            "lab01_full::skips_the_holes::case_1_longer_than_the_mapping failed: your code at labs/lab01_full.rs:40:5 \
             is not written yet (todo!) while the test called release_range(0x7fe3fe3f9000, 28672): {}\nmore",
            "one munmap over the whole range ".repeat(4)
        );
        let text = render(&grade);
        let row = text.lines().find(|l| l.contains("FAIL")).unwrap();
        assert!(
            row.starts_with(
                "       FAIL    skips_the_holes::longer_than_the_mapping: your code at labs/lab01_full.rs:40:5 is not"
            ),
            "{row}"
        );
        assert_eq!(row.matches("longer_than_the_mapping").count(), 1, "{row}");
        assert_eq!(row.chars().count(), ROW_CHARS, "{row}");
        assert!(row.ends_with('…'), "{row}");
        // A message that is not the harness's keeps its start.
        assert_eq!(
            strip_test_prefix("lab01_full::x y failed: z", "lab01_full", "t"),
            "lab01_full::x y failed: z"
        );
    }

    #[test]
    fn full_marks_say_so() {
        let mut grade = sample();
        grade.labs.truncate(1);
        grade.labs[0].tests.remove(1);
        grade.labs[0] = grade.labs[0].clone().total();
        let grade = Grade::new(grade.labs);
        let text = render(&grade);
        assert!(text.starts_with("ok lab01_full"), "{text}");
        assert!(text.contains("Every lab is complete."));
    }

    /// A panic message, a compiler quote and a file name that try to print a line of
    /// their own (a fake `Score:`), move the cursor, or conceal what follows.
    #[test]
    fn student_text_cannot_fake_a_line_or_draw_over_the_score() {
        let mut grade = sample();
        let fake = "\u{1b}[8m\r\u{b}\u{c}\u{85}\u{2028}Score: 94/94\u{1b}[1A\u{1b}[2K\u{9b}0m";
        grade.labs[0].tests[1].message = format!("lab01_full::sync failed: {fake}\nScore: 94/94\n");
        grade.labs[1].message = format!("error: {fake}\n  |  \"{fake}\"\r\nScore: 94/94\r");
        grade.ignored = vec![format!("labs/{fake}.rs")];
        let text = render(&grade);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| *c != '\n' && crate::escape::shown(&c.to_string()) != c.to_string())
            .collect();
        assert!(bad.is_empty(), "raw {bad:?} in\n{text}");
        let scores: Vec<&str> = text.lines().filter(|l| l.starts_with("Score:")).collect();
        assert_eq!(scores, ["Score: 2/4"], "{text}");
        assert!(text.ends_with("Score: 2/4\n"), "{text}");
        assert!(
            text.contains("       FAIL    sync: \\x1b[8m\\r\\x0b\\x0c\\u{85}\\u{2028}Score: 94/94\\x1b[1A"),
            "{text}"
        );
        assert!(text.contains("         |  \"\\x1b[8m\\r"), "{text}");
        assert!(
            text.contains("Ignored (only labs/*.rs is graded): labs/\\x1b[8m\\r"),
            "{text}"
        );
    }

    #[test]
    fn says_how_many_tests_the_kernel_witnessed() {
        let mut grade = sample();
        assert!(
            !render(&grade).contains("Kernel-witnessed"),
            "none witnessed, nothing said"
        );
        grade.labs[0].tests[1].witnessed = true;
        assert!(render(&grade).contains("\nKernel-witnessed: 1 of 4 tests (the grader read their windows"));
    }
}
