//! The class's numbers, from its grades alone: what `stats.json` holds and the page shows.
//!
//! Who counts where:
//! - a submission that was not graded counts in no number but `not_graded`;
//! - a lab's mean, median and spread are over every graded submission (a lab not
//!   started or not compiling scores 0 there, as in the gradebook);
//! - a test's facility and discrimination are over the graded submissions in which it
//!   counts, that is, every one but those that skipped it (this machine cannot run it):
//!   not started and build errors count as not passed, and the status mix shows them;
//! - failure reasons are those of students who started the lab.

use std::collections::BTreeMap;

use serde::Serialize;

use super::reasons::{self, Reason};
use crate::model::{Grade, LabStatus, TestStatus, first_line};

/// The discrimination index the report computes, by its name in `stats.json`.
pub const DISCRIMINATION: &str = "point_biserial_rest";

/// What [`DISCRIMINATION`] is, in the words the page and `stats.json` use.
pub const DISCRIMINATION_MEANS: &str = "point-biserial correlation between passing the test (1 or 0) and the \
     rest of the score (the submission's points less this test's), over the students the test counts for; \
     from -1 to 1, empty when everyone or no one passed";

/// The failure reasons kept per test (the rest are counted together).
const REASONS_KEPT: usize = 5;

/// The histogram's bins: tenths of the maximum score, the last one closed (100% is in it).
pub const BINS: u32 = 10;

#[derive(Debug, Serialize)]
pub struct ClassStats {
    pub version: u32,
    /// When the grades were made (RFC 3339, UTC).
    pub graded_at: String,
    /// The seed of the draw of test cases; null: no draw, the suites' defaults.
    pub seed: Option<u64>,
    pub discrimination: Method,
    /// Submission folders, graded or not.
    pub submissions: usize,
    pub graded: usize,
    pub not_graded: usize,
    /// The maximum score (the largest of the graded submissions'; they are all the same
    /// when graded on one kind of machine).
    pub max_score: u32,
    /// The graded submissions' total scores.
    pub score: Summary,
    pub histogram: Vec<Bin>,
    pub labs: Vec<LabStats>,
    pub tests: Vec<TestStats>,
    pub notes: Notes,
}

#[derive(Debug, Serialize)]
pub struct Method {
    pub name: &'static str,
    pub description: &'static str,
}

/// Mean, median and spread (population standard deviation) of some points; all null
/// when there are none.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub sd: Option<f64>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

/// Scores from `from_percent` of the submission's maximum up to (not including, but
/// for the last bin) `to_percent`.
#[derive(Debug, PartialEq, Serialize)]
pub struct Bin {
    pub from_percent: u32,
    pub to_percent: u32,
    pub count: usize,
}

#[derive(Debug, Serialize)]
pub struct LabStats {
    pub id: String,
    pub title: String,
    /// The lab's lesson and the file a student writes: `labs/<id>.rs`.
    pub lesson: String,
    /// Its tests: `tests/<id>.rs`.
    pub suite: String,
    pub max_score: u32,
    pub score: Summary,
    pub not_started: usize,
    pub build_errors: usize,
}

#[derive(Debug, Serialize)]
pub struct TestStats {
    pub lab: String,
    /// The graded name inside the lab's suite.
    pub name: String,
    pub lesson: String,
    pub suite: String,
    /// The rubric's points (the largest seen: a skip is worth 0).
    pub points: u32,
    /// Graded submissions it counts for (all but those that skipped it).
    pub counted: usize,
    pub passed: usize,
    /// `passed / counted`, from 0 to 1.
    pub facility: Option<f64>,
    /// See [`DISCRIMINATION_MEANS`].
    pub discrimination: Option<f64>,
    pub statuses: StatusMix,
    /// The most common first lines of the messages of those who started the lab and
    /// did not pass, most first.
    pub reasons: Vec<Reason>,
    /// Students whose reasons are not among `reasons`.
    pub other_reasons: usize,
    pub flags: Vec<Flag>,
}

/// How a test ended, over the graded submissions: a test of a lab that did not compile
/// is a `build_error`, one of a lab not started is `not_started`, whatever its status
/// (but `skipped`: a test this machine cannot run counts for no one).
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct StatusMix {
    pub pass: usize,
    pub fail: usize,
    pub crash: usize,
    pub timeout: usize,
    pub build_error: usize,
    pub skipped: usize,
    pub not_started: usize,
}

/// What the instructor should look at: the test or the lesson.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    NobodyPasses,
    EverybodyPasses,
    NegativeDiscrimination,
}

impl Flag {
    pub fn words(self) -> &'static str {
        match self {
            Flag::NobodyPasses => "nobody passes",
            Flag::EverybodyPasses => "everybody passes",
            Flag::NegativeDiscrimination => "negative discrimination",
        }
    }
}

/// The machine's notes, with how many grades carry each.
#[derive(Debug, Default, Serialize)]
pub struct Notes {
    /// What the sandbox could not enforce.
    pub not_enforced: Vec<Reason>,
    /// Problems of the lab itself (rubric and tests disagree).
    pub warnings: Vec<Reason>,
    /// Tests some graded submission skipped, and why.
    pub skipped: Vec<Skip>,
}

#[derive(Debug, Serialize)]
pub struct Skip {
    /// `lab::test`.
    pub test: String,
    pub reasons: Vec<Reason>,
}

/// One test as one graded submission ended it.
struct Outcome<'a> {
    status: Status,
    points: u32,
    score: u32,
    /// The submission's total score.
    total: u32,
    message: &'a str,
}

#[derive(Clone, Copy, PartialEq)]
enum Status {
    Test(TestStatus),
    BuildError,
    NotStarted,
}

/// The numbers of a class from its `results` (one per submission folder: its grade,
/// or why it has none).
pub fn class_stats(results: &[&Result<Grade, String>], graded_at: String, seed: Option<u64>) -> ClassStats {
    let grades: Vec<&Grade> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let max_score = grades.iter().map(|g| g.max_score).max().unwrap_or(0);
    let totals: Vec<u32> = grades.iter().map(|g| g.score).collect();

    // Labs and tests in the order of the grades (the rubric's), each seen once.
    let mut lab_order: Vec<(String, String)> = Vec::new();
    let mut test_order: Vec<(String, String)> = Vec::new();
    let mut outcomes: BTreeMap<(String, String), Vec<Outcome>> = BTreeMap::new();
    for grade in &grades {
        for lab in &grade.labs {
            if !lab_order.iter().any(|(id, _)| *id == lab.id) {
                lab_order.push((lab.id.clone(), lab.title.clone()));
            }
            let status = if lab.status == LabStatus::BuildError {
                Some(Status::BuildError)
            } else if grade.is_not_started(lab) {
                Some(Status::NotStarted)
            } else {
                None
            };
            for test in &lab.tests {
                // A test this machine skips counts for no one, whatever the lab's state.
                let status = status.filter(|_| test.status != TestStatus::Skipped);
                let key = (lab.id.clone(), test.name.clone());
                if !outcomes.contains_key(&key) {
                    test_order.push(key.clone());
                }
                outcomes.entry(key).or_default().push(Outcome {
                    status: status.unwrap_or(Status::Test(test.status)),
                    points: test.max_score,
                    score: test.score,
                    total: grade.score,
                    message: &test.message,
                });
            }
        }
    }

    let labs = lab_order
        .iter()
        .map(|(id, title)| {
            let scores: Vec<u32> = grades.iter().map(|g| g.lab(id).map_or(0, |l| l.score)).collect();
            LabStats {
                id: id.clone(),
                title: title.clone(),
                lesson: format!("labs/{id}.rs"),
                suite: format!("tests/{id}.rs"),
                max_score: grades
                    .iter()
                    .filter_map(|g| g.lab(id))
                    .map(|l| l.max_score)
                    .max()
                    .unwrap_or(0),
                score: summary(&scores),
                not_started: grades
                    .iter()
                    .filter(|g| g.lab(id).is_some_and(|l| g.is_not_started(l)))
                    .count(),
                build_errors: grades
                    .iter()
                    .filter(|g| g.lab(id).is_some_and(|l| l.status == LabStatus::BuildError))
                    .count(),
            }
        })
        .collect();

    let mut notes = Notes::default();
    let tests = test_order
        .iter()
        .map(|key| {
            let test = test_stats(&key.0, &key.1, &outcomes[key]);
            let skips: Vec<&str> = outcomes[key]
                .iter()
                .filter(|o| o.status == Status::Test(TestStatus::Skipped))
                .map(|o| first_line(o.message))
                .collect();
            if !skips.is_empty() {
                notes.skipped.push(Skip {
                    test: format!("{}::{}", key.0, key.1),
                    reasons: reasons::group(&skips, REASONS_KEPT).0,
                });
            }
            test
        })
        .collect();
    let not_enforced: Vec<&str> = grades
        .iter()
        .flat_map(|g| &g.not_enforced)
        .map(|s| s.as_str())
        .collect();
    notes.not_enforced = reasons::group(&not_enforced, usize::MAX).0;
    let warnings: Vec<&str> = grades.iter().flat_map(|g| &g.warnings).map(|s| s.as_str()).collect();
    notes.warnings = reasons::group(&warnings, usize::MAX).0;

    ClassStats {
        version: crate::model::JSON_VERSION,
        graded_at,
        seed,
        discrimination: Method {
            name: DISCRIMINATION,
            description: DISCRIMINATION_MEANS,
        },
        submissions: results.len(),
        graded: grades.len(),
        not_graded: results.len() - grades.len(),
        max_score,
        score: summary(&totals),
        histogram: histogram(&grades),
        labs,
        tests,
        notes,
    }
}

fn test_stats(lab: &str, name: &str, outcomes: &[Outcome]) -> TestStats {
    let mut statuses = StatusMix::default();
    for outcome in outcomes {
        let count = match outcome.status {
            Status::BuildError => &mut statuses.build_error,
            Status::NotStarted => &mut statuses.not_started,
            Status::Test(TestStatus::Pass) => &mut statuses.pass,
            Status::Test(TestStatus::Fail) => &mut statuses.fail,
            Status::Test(TestStatus::Crash) => &mut statuses.crash,
            Status::Test(TestStatus::Timeout) => &mut statuses.timeout,
            Status::Test(TestStatus::Skipped) => &mut statuses.skipped,
        };
        *count += 1;
    }
    let counted: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status != Status::Test(TestStatus::Skipped))
        .collect();
    let passed = counted
        .iter()
        .filter(|o| o.status == Status::Test(TestStatus::Pass))
        .count();
    let facility = (!counted.is_empty()).then(|| passed as f64 / counted.len() as f64);
    let discrimination = point_biserial(&counted);
    let failures: Vec<&str> = counted
        .iter()
        .filter(|o| !matches!(o.status, Status::Test(TestStatus::Pass) | Status::NotStarted))
        .map(|o| first_line(o.message))
        .collect();
    let (reasons, other_reasons) = reasons::group(&failures, REASONS_KEPT);
    let mut flags = Vec::new();
    if !counted.is_empty() && passed == 0 {
        flags.push(Flag::NobodyPasses);
    }
    if !counted.is_empty() && passed == counted.len() {
        flags.push(Flag::EverybodyPasses);
    }
    if discrimination.is_some_and(|d| d < 0.0) {
        flags.push(Flag::NegativeDiscrimination);
    }
    TestStats {
        lab: lab.to_string(),
        name: name.to_string(),
        lesson: format!("labs/{lab}.rs"),
        suite: format!("tests/{lab}.rs"),
        points: outcomes.iter().map(|o| o.points).max().unwrap_or(0),
        counted: counted.len(),
        passed,
        facility,
        discrimination,
        statuses,
        reasons,
        other_reasons,
        flags,
    }
}

/// Pearson's correlation of passing (1 or 0) with the rest of the score; None when
/// either does not vary.
fn point_biserial(outcomes: &[&Outcome]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = outcomes
        .iter()
        .map(|o| {
            let passed = f64::from(u8::from(o.status == Status::Test(TestStatus::Pass)));
            (passed, f64::from(o.total.saturating_sub(o.score)))
        })
        .collect();
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return None;
    }
    let (mean_x, mean_y) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mean_x) * (y - mean_y);
        sxx += (x - mean_x) * (x - mean_x);
        syy += (y - mean_y) * (y - mean_y);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

fn summary(points: &[u32]) -> Summary {
    if points.is_empty() {
        return Summary::default();
    }
    let n = points.len() as f64;
    let mean = points.iter().map(|&p| f64::from(p)).sum::<f64>() / n;
    let variance = points.iter().map(|&p| (f64::from(p) - mean).powi(2)).sum::<f64>() / n;
    let mut sorted = points.to_vec();
    sorted.sort_unstable();
    let middle = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        f64::from(sorted[middle])
    } else {
        (f64::from(sorted[middle - 1]) + f64::from(sorted[middle])) / 2.0
    };
    Summary {
        count: points.len(),
        mean: Some(mean),
        median: Some(median),
        sd: Some(variance.sqrt()),
        min: sorted.first().copied(),
        max: sorted.last().copied(),
    }
}

/// The bin of a score: `score * BINS / max`, the maximum itself in the last bin.
pub fn bin_of(score: u32, max_score: u32) -> usize {
    if max_score == 0 {
        return 0;
    }
    (u64::from(score) * u64::from(BINS) / u64::from(max_score)).min(u64::from(BINS - 1)) as usize
}

/// Each submission in the bin of its score as a share of its own maximum (a test
/// skipped on one machine is worth nothing there).
fn histogram(grades: &[&Grade]) -> Vec<Bin> {
    let mut bins: Vec<Bin> = (0..BINS)
        .map(|i| Bin {
            from_percent: i * 100 / BINS,
            to_percent: (i + 1) * 100 / BINS,
            count: 0,
        })
        .collect();
    for grade in grades {
        bins[bin_of(grade.score, grade.max_score)].count += 1;
    }
    bins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, TestGrade};

    fn grade(passes: &[bool], other_lab_score: u32) -> Result<Grade, String> {
        let tests = passes
            .iter()
            .enumerate()
            .map(|(i, &pass)| {
                let status = if pass { TestStatus::Pass } else { TestStatus::Fail };
                TestGrade::scored(format!("t{i}"), 1, status, format!("expected Ok(2), got Ok({i})"))
            })
            .collect();
        let other = LabGrade::graded("lab02", "Two", vec![TestGrade::scored("u", 4, TestStatus::Pass, "")]);
        let mut other = other;
        other.tests[0].score = other_lab_score;
        Ok(Grade::new(vec![LabGrade::graded("lab01", "One", tests), other.total()]))
    }

    #[test]
    fn facility_discrimination_and_flags() {
        let results = [
            grade(&[true, false, true], 4),
            grade(&[true, false, true], 4),
            grade(&[true, false, false], 0),
            grade(&[true, false, false], 0),
            Err("no labs/".to_string()),
        ];
        let refs: Vec<&Result<Grade, String>> = results.iter().collect();
        let stats = class_stats(&refs, "now".into(), None);
        assert_eq!((stats.submissions, stats.graded, stats.not_graded), (5, 4, 1));
        let t = |name: &str| stats.tests.iter().find(|t| t.name == name).unwrap();
        assert_eq!(t("t0").facility, Some(1.0));
        assert_eq!(t("t0").flags, [Flag::EverybodyPasses]);
        assert_eq!(t("t0").discrimination, None);
        assert_eq!(t("t1").flags, [Flag::NobodyPasses]);
        assert_eq!(t("t1").reasons[0].text, "expected Ok(2), got Ok(1)");
        assert_eq!(t("t1").reasons[0].count, 4);
        assert_eq!(t("t2").facility, Some(0.5));
        // Those who pass t2 have 5 other points, those who fail it 1: a perfect separation.
        let d = t("t2").discrimination.unwrap();
        assert!((d - 1.0).abs() < 1e-12, "{d}");
        assert_eq!(stats.labs[1].score.mean, Some(2.0));
        assert_eq!(stats.labs[1].score.median, Some(2.0));
        assert_eq!(stats.labs[1].score.sd, Some(2.0));
        assert_eq!((stats.score.max, stats.max_score), (Some(6), 7));
        assert_eq!(stats.histogram.iter().map(|b| b.count).sum::<usize>(), 4);
        assert_eq!(stats.histogram[1].count, 2, "1 of 7 is in 10-20%");
        assert_eq!(stats.histogram[8].count, 2, "6 of 7 is in 80-90%");
    }

    #[test]
    fn the_maximum_is_in_the_last_bin() {
        assert_eq!(bin_of(94, 94), 9);
        assert_eq!(bin_of(0, 94), 0);
        assert_eq!(bin_of(93, 94), 9);
        assert_eq!(bin_of(84, 94), 8);
        assert_eq!(bin_of(0, 0), 0);
    }
}
