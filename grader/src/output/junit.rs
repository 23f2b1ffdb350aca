//! The `--junit` form: one test suite per lab, one test case per graded test, points
//! as properties (CI dashboards show failures; the points stay in the data).

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::model::{Grade, LabStatus, TestStatus, first_line};

pub fn render(grade: &Grade) -> String {
    let mut report = Report::new("munmap-lab");
    for lab in &grade.labs {
        let mut suite = TestSuite::new(lab.id.as_str());
        suite.add_property(Property::new("score", lab.score.to_string()));
        suite.add_property(Property::new("max_score", lab.max_score.to_string()));
        if lab.status == LabStatus::BuildError {
            suite.add_property(Property::new("build_error", lab.message.as_str()));
        }
        for test in &lab.tests {
            let mut status = match test.status {
                TestStatus::Pass => TestCaseStatus::success(),
                TestStatus::Skipped => TestCaseStatus::skipped(),
                TestStatus::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
                TestStatus::Crash | TestStatus::Timeout => TestCaseStatus::non_success(NonSuccessKind::Error),
            };
            if test.status != TestStatus::Pass {
                status.set_message(first_line(&test.message));
                status.set_type(test.status.as_str());
                status.set_description(test.message.as_str());
            }
            let mut case = TestCase::new(test.name.as_str(), status);
            case.set_classname(lab.id.as_str());
            case.add_property(Property::new("score", test.score.to_string()));
            case.add_property(Property::new("max_score", test.max_score.to_string()));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().expect("quick-junit serializes any report")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, TestGrade};

    #[test]
    fn statuses_map_to_junit_and_text_is_escaped() {
        let t = |name: &str, status, message: &str| TestGrade {
            name: name.into(),
            status,
            score: u32::from(status == TestStatus::Pass),
            max_score: 1,
            message: message.into(),
            witnessed: false,
        };
        let lab = LabGrade {
            id: "lab01_full".into(),
            title: "Full".into(),
            score: 1,
            max_score: 4,
            status: LabStatus::Graded,
            message: String::new(),
            tests: vec![
                t("ok", TestStatus::Pass, ""),
                t("bad", TestStatus::Fail, "expected <4> & got \"3\""),
                t("segv", TestStatus::Crash, "killed by SIGSEGV"),
                t("old", TestStatus::Skipped, "old kernel"),
            ],
        };
        let xml = render(&Grade::new(vec![lab]));
        assert!(xml.contains(r#"<testsuite name="lab01_full" tests="4""#), "{xml}");
        assert!(xml.contains("failures=\"1\""), "{xml}");
        assert!(xml.contains("errors=\"1\""), "{xml}");
        assert!(xml.contains("skipped=\"1\""), "{xml}");
        assert!(xml.contains("expected &lt;4&gt; &amp; got"), "{xml}");
        assert!(xml.contains(r#"<property name="score" value="1"/>"#), "{xml}");
    }
}
