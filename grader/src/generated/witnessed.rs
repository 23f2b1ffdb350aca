//! GRADING.md's list of the kernel-witnessed tests: those whose reference run stops at
//! a checkpoint (see `crate::judge::witness`). It depends on the machine the
//! reference ran on, so `cargo selftest` checks it against its own run of the
//! solutions rather than `cargo grade sync` writing it.

use std::collections::BTreeSet;

use crate::model::{Grade, TestStatus};
use crate::project::rubric::Lab;

/// Where GRADING.md lists the witnessed tests (checked by `cargo selftest`).
pub const BEGIN: &str =
    "<!-- witnessed tests: those whose reference run stops at a checkpoint; `cargo selftest` checks this list -->";
pub const END: &str = "<!-- end of witnessed tests -->";

/// The list of witnessed tests for GRADING.md: one row per lab, test functions with
/// their rstest cases folded (`functions` holds `(lab, function)`), then the totals.
pub fn table(labs: &[Lab], functions: &BTreeSet<(String, String)>) -> String {
    let mut out = String::from("| lab | kernel-witnessed tests |\n| --- | --- |\n");
    let (mut tests, mut points) = (0, 0);
    for lab in labs {
        let mut names: Vec<(String, usize)> = Vec::new();
        for (test, test_points) in &lab.points {
            let function = function_of(test);
            if !functions.contains(&(lab.id.clone(), function.to_string())) {
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
        out.push_str(&format!("| {} | {shown} |\n", lab.id));
    }
    let all_tests: usize = labs.iter().map(|l| l.points.len()).sum();
    let all_points: u32 = labs.iter().map(Lab::max_score).sum();
    out.push_str(&format!(
        "| **total** | {tests} of {all_tests} tests, {points} of {all_points} points |\n"
    ));
    out
}

/// The `(lab, function)` pairs a [`table`] lists.
pub fn listed(table: &str) -> BTreeSet<(String, String)> {
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
pub fn expected_list(labs: &[Lab], grade: &Grade, listed: &BTreeSet<(String, String)>) -> String {
    let mut functions = BTreeSet::new();
    let mut ran = BTreeSet::new();
    for lab in &grade.labs {
        for test in lab.tests.iter().filter(|t| t.status == TestStatus::Pass) {
            let key = (lab.id.clone(), function_of(&test.name).to_string());
            if test.witnessed {
                functions.insert(key.clone());
            }
            ran.insert(key);
        }
    }
    functions.extend(listed.iter().filter(|f| !ran.contains(*f)).cloned());
    table(labs, &functions)
}

/// The test function of a libtest name (`function::case_1_x` for an rstest case).
fn function_of(test: &str) -> &str {
    test.split_once("::").map_or(test, |(function, _)| function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_folds_cases_keeps_what_was_skipped_here_and_reads_back() {
        let labs = crate::project::rubric::parse(
            "[lab01]\ntitle = 'One'\n[lab01.points]\n'a::x' = 1\n'a::y' = 2\nb = 3\nc = 4\n\
             [lab02]\ntitle = 'Two'\n[lab02.points]\nd = 5\n",
        )
        .unwrap();
        let pair = |lab: &str, f: &str| (lab.to_string(), f.to_string());
        let functions = BTreeSet::from([pair("lab01", "a"), pair("lab01", "c")]);
        let text = table(&labs, &functions);
        assert_eq!(
            text,
            "| lab | kernel-witnessed tests |\n| --- | --- |\n| lab01 | a (2 cases), c |\n| lab02 | none |\n\
             | **total** | 3 of 5 tests, 7 of 15 points |\n"
        );
        assert_eq!(listed(&text), functions);

        // The reference here: a witnessed, b not, c skipped (so it stays as listed).
        let test = |name: &str, status, witnessed| crate::model::TestGrade {
            name: name.into(),
            status,
            score: 0,
            max_score: 0,
            message: String::new(),
            seconds: None,
            witnessed,
        };
        let grade = Grade::new(vec![crate::model::LabGrade {
            id: "lab01".into(),
            title: String::new(),
            score: 0,
            max_score: 0,
            status: crate::model::LabStatus::Graded,
            message: String::new(),
            tests: vec![
                test("a::x", TestStatus::Pass, true),
                test("a::y", TestStatus::Pass, true),
                test("b", TestStatus::Pass, false),
                test("c", TestStatus::Skipped, false),
            ],
        }]);
        assert_eq!(expected_list(&labs, &grade, &functions), text);
        let without_c = BTreeSet::from([pair("lab01", "a")]);
        assert_eq!(expected_list(&labs, &grade, &without_c), table(&labs, &without_c));
    }
}
