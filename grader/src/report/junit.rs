//! The `--junit` form: one `<testsuite>` per lab, one `<testcase>` per graded test,
//! valid against the strictest common schema, Jenkins xunit's `junit-10.xsd` (an
//! unmodified copy is `grader/schema/junit-10.xsd`; `grader/tests/outputs.rs` validates
//! every output against it).
//!
//! - every `<testcase>` has a `time` (its process's wall time; 0 for a test not run),
//!   which dorny/test-reporter needs;
//! - every `<testsuite>` has a `timestamp` (when grading started, UTC, in Ant's form
//!   without a zone) and `file="labs/<lab>.rs"`: the file the student fixes, which
//!   mikepenz/action-junit-report takes for a test case that names none (the schema
//!   allows `file` on a suite only);
//! - points are the suite's properties (`score`, `max_score`); the schema allows no
//!   properties on a test case, so each test's points are in the `--json` form only;
//! - fail is `<failure>`, crash and timeout are `<error>`, skipped is `<skipped>`; a lab
//!   that does not compile fails every test with the compiler's error;
//! - every lab file in a failure's text is written ` labs/<lab>.rs:LINE` (see
//!   [`lab_paths`]): mikepenz/action-junit-report annotates the last ` [^ ]*FILE...:LINE`
//!   of the text, FILE being the suite's `file`;
//! - times are milliseconds, and a suite's (and the root's) is the sum of its tests'
//!   written times, so a reader that adds them up shows the number written.

use std::borrow::Cow;
use std::time::SystemTime;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::model::{Grade, LabGrade, LabStatus, TestStatus, first_line};

/// The JUnit XML for `grade`, graded from `started` on.
pub fn render(grade: &Grade, started: SystemTime) -> String {
    let timestamp = timestamp(started);
    let count =
        |f: &dyn Fn(TestStatus) -> bool| grade.labs.iter().flat_map(|l| &l.tests).filter(|t| f(t.status)).count();
    let tests = count(&|_| true).to_string();
    let failures = count(&|s| s == TestStatus::Fail).to_string();
    let errors = count(&|s| matches!(s, TestStatus::Crash | TestStatus::Timeout)).to_string();
    let millis: u64 = grade.labs.iter().map(lab_millis).sum();
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written: std::io::Result<()> = (|| {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        writer
            .create_element("testsuites")
            .with_attributes([
                ("name", "munmap-lab"),
                ("tests", tests.as_str()),
                ("failures", failures.as_str()),
                ("errors", errors.as_str()),
                ("time", time(millis).as_str()),
            ])
            .write_inner_content(|w| {
                for lab in &grade.labs {
                    write_suite(w, lab, grade.seed, &timestamp)?;
                }
                Ok(())
            })?;
        Ok(())
    })();
    written.expect("writing to memory cannot fail");
    String::from_utf8(writer.into_inner()).expect("quick-xml writes UTF-8") + "\n"
}

/// One lab's suite; `seed` (the draw's, when there was one) is one of its properties.
fn write_suite(w: &mut Writer<Vec<u8>>, lab: &LabGrade, seed: Option<u64>, timestamp: &str) -> std::io::Result<()> {
    let count = |f: &dyn Fn(TestStatus) -> bool| lab.tests.iter().filter(|t| f(t.status)).count().to_string();
    let file = format!("labs/{}.rs", lab.id);
    w.create_element("testsuite")
        .with_attributes([
            ("name", lab.id.as_str()),
            ("tests", lab.tests.len().to_string().as_str()),
            ("failures", count(&|s| s == TestStatus::Fail).as_str()),
            (
                "errors",
                count(&|s| matches!(s, TestStatus::Crash | TestStatus::Timeout)).as_str(),
            ),
            ("skipped", count(&|s| s == TestStatus::Skipped).as_str()),
            ("time", time(lab_millis(lab)).as_str()),
            ("timestamp", timestamp),
            ("file", file.as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("properties").write_inner_content(|w| {
                let seed = seed.map(|seed| ("seed", seed.to_string()));
                for (name, value) in [
                    ("title", lab.title.clone()),
                    ("score", lab.score.to_string()),
                    ("max_score", lab.max_score.to_string()),
                ]
                .into_iter()
                .chain(seed)
                {
                    w.create_element("property")
                        .with_attributes([("name", name), ("value", &xml_chars(&value))])
                        .write_empty()?;
                }
                Ok(())
            })?;
            for test in &lab.tests {
                let case = w.create_element("testcase").with_attributes([
                    ("name", test.name.as_str()),
                    ("classname", lab.id.as_str()),
                    ("time", time(test_millis(test.seconds)).as_str()),
                ]);
                let (tag, kind, message, text) = match test.status {
                    TestStatus::Pass => {
                        case.write_empty()?;
                        continue;
                    }
                    _ if lab.status == LabStatus::BuildError => (
                        "failure",
                        "build_error",
                        format!("{file} does not compile: {}", first_line(&lab.message)),
                        // A first line of its own: readers trim the text, and the
                        // compiler's own first line may start with the path.
                        format!("{file} does not compile:\n{}", lab_paths(&lab.message)),
                    ),
                    TestStatus::Skipped => ("skipped", "skipped", test.message.clone(), String::new()),
                    TestStatus::Fail => (
                        "failure",
                        "fail",
                        first_line(&test.message).into(),
                        lab_paths(&test.message),
                    ),
                    TestStatus::Crash | TestStatus::Timeout => (
                        "error",
                        test.status.as_str(),
                        first_line(&test.message).into(),
                        lab_paths(&test.message),
                    ),
                };
                case.write_inner_content(|w| {
                    let outcome = w
                        .create_element(tag)
                        .with_attributes([("type", kind), ("message", &xml_chars(&message))]);
                    if text.is_empty() {
                        outcome.write_empty()?;
                    } else {
                        outcome.write_text_content(BytesText::new(&xml_chars(&text)))?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// A test's wall time as written: whole milliseconds (0 for a test not run).
fn test_millis(seconds: Option<f64>) -> u64 {
    (seconds.unwrap_or(0.0).max(0.0) * 1000.0).round() as u64
}

/// The lab's time: its tests' written times added up.
fn lab_millis(lab: &LabGrade) -> u64 {
    lab.tests.iter().map(|t| test_millis(t.seconds)).sum()
}

/// Milliseconds as JUnit writes seconds: `12.345` (at most 3 decimals: Jenkins' pattern).
fn time(millis: u64) -> String {
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// `text` with every path to a lab file written ` labs/<lab>.rs:...`: libtest's
/// `src/../labs/x.rs:3:5` (the work folder's path, which the student's repository does
/// not have) loses its folders, and a path at the start of a line or after a bracket
/// gets a space before it, as mikepenz/action-junit-report's reader needs.
pub fn lab_paths(text: &str) -> String {
    text.split('\n').map(lab_paths_in_line).collect::<Vec<_>>().join("\n")
}

fn lab_paths_in_line(line: &str) -> String {
    let path_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '~');
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(at) = find_lab_file(rest) {
        // The path holding `labs/` starts after the last character no path has.
        let start = rest[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| path_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        out.push_str(&rest[..start]);
        if !out.ends_with(' ') {
            out.push(' ');
        }
        out.push_str("labs/");
        rest = &rest[at + "labs/".len()..];
    }
    out.push_str(rest);
    out
}

/// Where the next `labs/NAME.rs:DIGIT` of `text` starts (`labs` a whole path component).
fn find_lab_file(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find("labs/") {
        let at = from + found;
        let whole = at == 0 || !text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        let after = &text[at + "labs/".len()..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let rs = after[name_len..].strip_prefix(".rs:");
        if whole && name_len > 0 && rs.is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())) {
            return Some(at);
        }
        from = at + "labs/".len();
    }
    None
}

/// `2025-06-01T12:00:00`: UTC, to the second, without a zone (Ant's form; the stricter
/// JUnit schemas' timestamp pattern has none).
fn timestamp(at: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.trim_end_matches('Z').to_string()
}

/// `text` with every character XML 1.0 cannot hold, even escaped (most control
/// characters: a test's output may have any), replaced by U+FFFD.
fn xml_chars(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'));
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().map(|c| if allowed(c) { c } else { '\u{FFFD}' }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TestGrade;
    use std::time::{Duration, UNIX_EPOCH};

    fn t(name: &str, status: TestStatus, message: &str, seconds: Option<f64>) -> TestGrade {
        TestGrade {
            name: name.into(),
            status,
            score: u32::from(status == TestStatus::Pass),
            max_score: u32::from(status != TestStatus::Skipped),
            message: message.into(),
            seconds,
            witnessed: false,
            drawn: Vec::new(),
        }
    }

    fn sample() -> Grade {
        let lab = LabGrade {
            id: "lab01_full".into(),
            title: "Full & \"complete\"".into(),
            score: 0,
            max_score: 0,
            status: LabStatus::Graded,
            message: String::new(),
            tests: vec![
                t("ok", TestStatus::Pass, "", Some(0.1234)),
                t(
                    "bad",
                    TestStatus::Fail,
                    "expected <4> & got \"3\"\n  page 0 ---p\u{1b}[0m\0",
                    Some(1.5),
                ),
                t("segv", TestStatus::Crash, "killed by SIGSEGV", Some(0.25)),
                t("hung", TestStatus::Timeout, "still running after 10 s", Some(10.0)),
                t("old", TestStatus::Skipped, "old kernel", Some(0.01)),
            ],
        }
        .total();
        let broken = crate::judge::score::build_error_grade(
            &crate::project::rubric::Lab {
                id: "lab03_spanning".into(),
                title: "Spanning".into(),
                summary: None,
                points: vec![("a".into(), 2), ("b".into(), 1)],
                undrawn: Vec::new(),
            },
            "error[E0425]: cannot find value `x` in this scope\n --> labs/lab03_spanning.rs:12:5",
        );
        Grade::new(vec![lab, broken])
    }

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_748_779_200) // 2025-06-01T12:00:00Z
    }

    #[test]
    fn statuses_times_and_files_are_where_consumers_look() {
        let xml = render(&sample(), at());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"munmap-lab\" tests=\"7\" failures=\"3\" errors=\"2\" time=\"11.883\">"), "{xml}");
        assert!(
            xml.contains(r#"<testsuite name="lab01_full" tests="5" failures="1" errors="2" skipped="1" time="11.883" timestamp="2025-06-01T12:00:00" file="labs/lab01_full.rs">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="title" value="Full &amp; &quot;complete&quot;"/>"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<property name="score" value="1"/>"#), "{xml}");
        assert!(
            xml.contains(r#"<testcase name="ok" classname="lab01_full" time="0.123"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure type="fail" message="expected &lt;4&gt; &amp; got &quot;3&quot;">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error type="crash" message="killed by SIGSEGV">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error type="timeout" message="still running after 10 s">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped type="skipped" message="old kernel"/>"#),
            "{xml}"
        );
        assert!(
            !xml.contains('\u{1b}') && !xml.contains('\0'),
            "control characters are replaced"
        );
        // Every test case has a time, a test not run too.
        assert_eq!(
            xml.matches("<testcase ").count(),
            xml.matches("<testcase name=\"").count()
        );
        for case in xml.split("<testcase ").skip(1) {
            assert!(case.split('>').next().unwrap().contains(" time=\""), "{case}");
        }
    }

    #[test]
    fn a_lab_that_does_not_compile_shows_the_compilers_error_in_every_failure() {
        let xml = render(&sample(), at());
        let suite = xml.split("<testsuite name=\"lab03_spanning\"").nth(1).unwrap();
        assert!(
            suite.contains(r#"tests="2" failures="2" errors="0" skipped="0" time="0.000""#),
            "{suite}"
        );
        assert_eq!(
            suite
                .matches(
                    "<failure type=\"build_error\" message=\"labs/lab03_spanning.rs does not compile: \
                     error[E0425]: cannot find value `x` in this scope\">labs/lab03_spanning.rs does not compile:\n\
                     error[E0425]: cannot find value `x` in this scope\n --&gt; labs/lab03_spanning.rs:12:5</failure>"
                )
                .count(),
            2,
            "{suite}"
        );
        assert!(
            suite.contains(r#"<testcase name="a" classname="lab03_spanning" time="0.000">"#),
            "{suite}"
        );
    }

    #[test]
    fn every_lab_path_in_a_failures_text_is_labs_lab_rs_after_a_space() {
        for (text, expected) in [
            (
                "thread 't' (21050) panicked at src/../labs/lab05_errors.rs:14:9:",
                "thread 't' (21050) panicked at labs/lab05_errors.rs:14:9:",
            ),
            (
                "labs/lab07_exec.rs:37:18: error[E0425]: x\n --> /w/slot/work/src/../labs/lab07_exec.rs:37:18",
                " labs/lab07_exec.rs:37:18: error[E0425]: x\n --> labs/lab07_exec.rs:37:18",
            ),
            ("at (src/../labs/a.rs:1:2)", "at ( labs/a.rs:1:2)"),
            (
                "tests/lab01_full.rs:12:5 and mylabs/x.rs:1 and labs/ alone",
                "tests/lab01_full.rs:12:5 and mylabs/x.rs:1 and labs/ alone",
            ),
        ] {
            assert_eq!(lab_paths(text), expected, "{text}");
        }
        // Where mikepenz/action-junit-report looks: ` [^ ]*labs/x.rs.*?:\d+`, the last one.
        let text = lab_paths("your code panicked at labs/a.rs:3:1: boom\nthread 'x' panicked at src/../labs/a.rs:3:1:");
        for found in text.match_indices("labs/a.rs") {
            assert_eq!(&text[found.0 - 1..found.0], " ", "{text}");
        }
        assert!(!text.contains("src/"), "{text}");
    }

    #[test]
    fn suite_times_are_the_sum_of_the_written_test_times() {
        let tests = [0.0006, 0.0006, 0.0006, 1.0004]
            .iter()
            .enumerate()
            .map(|(i, s)| t(&format!("t{i}"), TestStatus::Pass, "", Some(*s)))
            .collect();
        let lab = LabGrade::graded("lab01_full", "", tests);
        let xml = render(&Grade::new(vec![lab]), at());
        // Written: 0.001 x 3 + 1.000 = 1.003, where the unrounded sum, 1.0022, would say 1.002.
        assert!(
            xml.contains(r#"<testsuites name="munmap-lab" tests="4" failures="0" errors="0" time="1.003">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"skipped="0" time="1.003""#), "{xml}");
        assert_eq!(time(12_345), "12.345");
        assert_eq!(time(7), "0.007");
    }
}
