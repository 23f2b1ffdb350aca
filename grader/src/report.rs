//! Reads the harness report a lab's test binary wrote (`src/support/isolate.rs`).
//!
//! Each line is `status\tlab::test\tmessage\tnonce`, appended by the PARENT test
//! process after judging the child that ran the test. The nonce is this run's
//! secret (given only to the parent, removed from its environment before any child
//! starts), so a line without it was not written by the harness. A test named twice
//! means someone else wrote a line for it too: it is not believed either.

use std::collections::BTreeMap;

use crate::model::TestStatus;

/// The harness's verdicts for one lab, by test name (without the `lab::` prefix).
#[derive(Debug, Default, PartialEq)]
pub struct Verdicts {
    pub tests: BTreeMap<String, (TestStatus, String)>,
    /// Tests whose lines cannot be trusted (forged or duplicated), with the reason.
    pub distrusted: BTreeMap<String, String>,
    /// Lines that were not the harness's at all (wrong nonce, other lab, garbage).
    pub foreign_lines: usize,
}

/// Parses `text` as the report for `lab`, believing only lines carrying `nonce`.
pub fn parse(text: &str, lab: &str, nonce: &str) -> Verdicts {
    let mut out = Verdicts::default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((status, test, message)) = parse_line(line, lab, nonce) else {
            out.foreign_lines += 1;
            continue;
        };
        *seen.entry(test.clone()).or_default() += 1;
        out.tests.insert(test, (status, message));
    }
    for (test, count) in seen {
        if count > 1 {
            out.tests.remove(&test);
            out.distrusted.insert(
                test,
                format!("the report names this test {count} times: a line was forged, so none is believed"),
            );
        }
    }
    out
}

fn parse_line(line: &str, lab: &str, nonce: &str) -> Option<(TestStatus, String, String)> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [status, name, message, line_nonce] = fields[..] else {
        return None;
    };
    if line_nonce != nonce || nonce.is_empty() {
        return None;
    }
    let test = name.strip_prefix(lab)?.strip_prefix("::")?;
    Some((TestStatus::parse(status)?, test.to_string(), message.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "n0nce";

    #[test]
    fn reads_verdicts_with_the_nonce() {
        let text = "pass\tlab02::a::case_1\t\tn0nce\nfail\tlab02::b\tlab02::b failed: boom\tn0nce\n";
        let v = parse(text, "lab02", N);
        assert_eq!(v.tests["a::case_1"], (TestStatus::Pass, String::new()));
        assert_eq!(v.tests["b"], (TestStatus::Fail, "lab02::b failed: boom".into()));
        assert_eq!(v.foreign_lines, 0);
        assert!(v.distrusted.is_empty());
    }

    #[test]
    fn ignores_lines_without_the_nonce_or_for_another_lab() {
        let text = "pass\tlab02::a\t\twrong\npass\tlab02::b\t\npass\tlab01::c\t\tn0nce\nnot a line\n";
        let v = parse(text, "lab02", N);
        assert!(v.tests.is_empty());
        assert_eq!(v.foreign_lines, 4);
    }

    #[test]
    fn a_test_reported_twice_is_not_believed() {
        let text = "pass\tlab02::a\t\tn0nce\nfail\tlab02::a\tboom\tn0nce\n";
        let v = parse(text, "lab02", N);
        assert!(!v.tests.contains_key("a"));
        assert!(v.distrusted["a"].contains("2 times"));
    }

    #[test]
    fn an_empty_nonce_believes_nothing() {
        let v = parse("pass\tlab02::a\t\t\n", "lab02", "");
        assert!(v.tests.is_empty());
    }

    #[test]
    fn unknown_status_words_are_foreign() {
        let v = parse("passed\tlab02::a\t\tn0nce\n", "lab02", N);
        assert_eq!(v.foreign_lines, 1);
    }
}
