//! `report.html`: the class's numbers as one page, from `grader/templates/report.html`.
//!
//! askama escapes every value the template prints (the template's name ends in
//! `.html`); only the charts, which plotters drew (escaping its own text), go in as
//! they are. The page carries a Content-Security-Policy that allows no script, no
//! request and no file but itself, so it opens the same anywhere, offline.

use askama::Template;

use super::compute::{ClassStats, Summary, TestStats};
use super::reasons::Reason;
use super::{Named, charts};

/// What the page shows instead of a number there is none of.
pub const NONE: &str = "–";

/// What the page says of the seed when the tests were not drawn.
pub const NO_DRAW: &str = "no draw (defaults)";

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    stats: &'a ClassStats,
    seed: String,
    score: SummaryView,
    histogram_svg: String,
    labs_svg: String,
    histogram: Vec<(String, usize)>,
    labs: Vec<LabView<'a>>,
    tests: Vec<TestView<'a>>,
    /// How many tests are flagged.
    flagged: usize,
    /// The submissions table, unless the report is anonymous.
    students: Option<Vec<StudentView>>,
    /// How the students are named (by folder, or by the roster).
    named_by: String,
}

struct SummaryView {
    mean: String,
    median: String,
    sd: String,
    min: String,
    max: String,
}

struct LabView<'a> {
    index: usize,
    id: &'a str,
    title: &'a str,
    lesson: &'a str,
    suite: &'a str,
    max_score: u32,
    score: SummaryView,
    not_started: usize,
    build_errors: usize,
}

struct TestView<'a> {
    index: usize,
    /// The index of its lab's row.
    lab_index: usize,
    /// `lab::test`, the key of its `data-test`.
    key: String,
    stats: &'a TestStats,
    facility: String,
    discrimination: String,
    reasons: &'a [Reason],
    flags: Vec<&'static str>,
}

struct StudentView {
    name: String,
    score: String,
    labs: Vec<String>,
    note: String,
}

fn number(value: Option<f64>) -> String {
    value.map_or(NONE.to_string(), |v| format!("{v:.1}"))
}

fn summary(summary: &Summary) -> SummaryView {
    let whole = |v: Option<u32>| v.map_or(NONE.to_string(), |v| v.to_string());
    SummaryView {
        mean: number(summary.mean),
        median: number(summary.median),
        sd: number(summary.sd),
        min: whole(summary.min),
        max: whole(summary.max),
    }
}

/// The page for `stats`; `named`, when given, names each submission (None: anonymous).
pub fn render(stats: &ClassStats, named: Option<&Named>) -> String {
    let labs: Vec<LabView> = stats
        .labs
        .iter()
        .enumerate()
        .map(|(index, lab)| LabView {
            index,
            id: &lab.id,
            title: &lab.title,
            lesson: &lab.lesson,
            suite: &lab.suite,
            max_score: lab.max_score,
            score: summary(&lab.score),
            not_started: lab.not_started,
            build_errors: lab.build_errors,
        })
        .collect();
    let tests = stats
        .tests
        .iter()
        .enumerate()
        .map(|(index, test)| TestView {
            index,
            lab_index: stats.labs.iter().position(|l| l.id == test.lab).unwrap_or(0),
            key: format!("{}::{}", test.lab, test.name),
            stats: test,
            facility: test.facility.map_or(NONE.to_string(), |f| format!("{:.0}%", f * 100.0)),
            discrimination: test.discrimination.map_or(NONE.to_string(), |d| format!("{d:.2}")),
            reasons: &test.reasons,
            flags: test.flags.iter().map(|f| f.words()).collect(),
        })
        .collect();
    let students = named.map(|named| {
        named
            .rows
            .iter()
            .map(|row| match row.result {
                Ok(grade) => StudentView {
                    name: row.name.clone(),
                    score: format!("{}/{}", grade.score, grade.max_score),
                    labs: stats
                        .labs
                        .iter()
                        .map(|lab| grade.lab(&lab.id).map_or(NONE.to_string(), |l| l.score.to_string()))
                        .collect(),
                    note: row.note.clone(),
                },
                Err(why) => StudentView {
                    name: row.name.clone(),
                    score: NONE.to_string(),
                    labs: stats.labs.iter().map(|_| NONE.to_string()).collect(),
                    note: [row.note.as_str(), &format!("not graded: {why}")]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("; "),
                },
            })
            .collect()
    });
    let page = Page {
        stats,
        seed: stats.seed.map_or(NO_DRAW.to_string(), |s| s.to_string()),
        score: summary(&stats.score),
        histogram_svg: charts::histogram(stats),
        labs_svg: charts::lab_means(&stats.labs),
        histogram: stats
            .histogram
            .iter()
            .map(|b| (format!("{}–{}%", b.from_percent, b.to_percent), b.count))
            .collect(),
        labs,
        flagged: stats.tests.iter().filter(|t| !t.flags.is_empty()).count(),
        tests,
        students,
        named_by: named.map_or(String::new(), |n| n.by.clone()),
    };
    page.render()
        .expect("the report's template renders every value it is given")
}
