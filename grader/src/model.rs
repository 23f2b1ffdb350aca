//! What a grade is: the data every writer (terminal, JSON, JUnit, Classroom, CSV) reads.
//!
//! The JSON form of [`Grade`] is the `--json` interface instructors' scripts rely on:
//! `{"score", "max_score", "labs": [{"id", "score", "max_score", "status", "message", "tests": [...]}]}`.
//! Fields beyond those (`title`, `ignored`, `warnings`, `seconds`, ...) are additions, never
//! renames; the file itself carries [`JSON_VERSION`] (see `report::json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evidence::{Reference, Transcript};

/// A test's status is the protocol's: one set of words for the judge and the grade.
pub use munmap_lab_protocol::TestStatus;

/// The `version` of the `--json` and batch JSON files; raised only when a field changes
/// meaning or goes away.
pub const JSON_VERSION: u32 = 1;

/// The grade of one submission (or of this checkout, or of the solutions).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    pub score: u32,
    pub max_score: u32,
    pub labs: Vec<LabGrade>,
    /// Files of the submission that differ from the pristine copy and were not graded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// Labs nobody has started: the file is the stub handed out (or missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_started: Vec<String>,
    /// Problems of the lab itself (rubric and tests disagree), for the instructor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What the sandbox around the test processes could not enforce on this machine
    /// (an old kernel without Landlock, for instance); empty when it all held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_enforced: Vec<String>,
    /// The seed the tests drew their scenarios from (`--seed N` grades them again the
    /// same way); None where nothing was drawn (no reference to hold a draw to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The window the grader read from the kernel at each checkpoint of every passing
    /// test that stopped at one (`lab::test`): kept to grade others against when this is
    /// the reference solutions' grade, never written out.
    #[serde(skip)]
    pub transcripts: BTreeMap<String, Transcript>,
    /// libtest's name of every test of the build under its graded name (`lab::test`),
    /// from the reference build when there is one: kept to start tests by, never written out.
    #[serde(skip)]
    pub libtest_names: BTreeMap<String, String>,
}

/// One lab: its points and every graded test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabGrade {
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub score: u32,
    pub max_score: u32,
    pub status: LabStatus,
    /// Empty when graded normally; the compiler's first error for `build_error`.
    pub message: String,
    pub tests: Vec<TestGrade>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabStatus {
    Graded,
    BuildError,
}

/// One graded test (its graded name inside the lab's suite: `trim_front::anonymous`
/// for rstest's `trim_front::case_1_anonymous`, see [`munmap_lab_protocol::graded_name`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestGrade {
    pub name: String,
    pub status: TestStatus,
    pub score: u32,
    /// The rubric's points; 0 for a skipped test (it counts neither for nor against).
    pub max_score: u32,
    pub message: String,
    /// Wall time of the test's process, from start to end (absent for a test not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// The grader read the test's window from the kernel at each of its checkpoints and
    /// held its pass to the reference solution's windows (for the reference itself: it
    /// stopped at a checkpoint), so the verdict does not rest on the test process alone.
    #[serde(default)]
    pub witnessed: bool,
    /// What the test's scenario drew in this grading (`mapping pages = 7`), as its
    /// process noted it: empty where nothing was drawn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drawn: Vec<String>,
}

impl TestGrade {
    /// A test scored by the rubric's rule: a pass earns `points` of `points`; a skipped
    /// test counts neither for nor against (0 of 0); anything else earns 0 of `points`.
    pub fn scored(name: impl Into<String>, points: u32, status: TestStatus, message: impl Into<String>) -> TestGrade {
        let (score, max_score) = match status {
            TestStatus::Pass => (points, points),
            TestStatus::Skipped => (0, 0),
            _ => (0, points),
        };
        TestGrade {
            name: name.into(),
            status,
            score,
            max_score,
            message: message.into(),
            seconds: None,
            witnessed: false,
            drawn: Vec::new(),
        }
    }
}

impl LabGrade {
    /// A lab graded as usual (not a build error) from these tests, with the sums filled in.
    pub fn graded(id: impl Into<String>, title: impl Into<String>, tests: Vec<TestGrade>) -> LabGrade {
        LabGrade {
            id: id.into(),
            title: title.into(),
            score: 0,
            max_score: 0,
            status: LabStatus::Graded,
            message: String::new(),
            tests,
        }
        .total()
    }

    /// Recomputes the lab's sums from its tests.
    pub fn total(mut self) -> LabGrade {
        self.score = self.tests.iter().map(|t| t.score).sum();
        self.max_score = self.tests.iter().map(|t| t.max_score).sum();
        self
    }

    pub fn is_complete(&self) -> bool {
        self.status == LabStatus::Graded && self.score == self.max_score
    }

    /// Fills in each test's wall time from `seconds` (keyed `lab::test`).
    pub fn set_seconds(&mut self, seconds: &BTreeMap<String, f64>) {
        for test in &mut self.tests {
            test.seconds = seconds.get(&format!("{}::{}", self.id, test.name)).copied();
        }
    }
}

impl Grade {
    /// A grade made of these labs, with the sums filled in.
    pub fn new(labs: Vec<LabGrade>) -> Grade {
        Grade {
            score: labs.iter().map(|l| l.score).sum(),
            max_score: labs.iter().map(|l| l.max_score).sum(),
            labs,
            ignored: Vec::new(),
            not_started: Vec::new(),
            warnings: Vec::new(),
            not_enforced: Vec::new(),
            seed: None,
            transcripts: BTreeMap::new(),
            libtest_names: BTreeMap::new(),
        }
    }

    /// What this grade of the reference solutions says they did, to grade others against.
    pub fn as_reference(&self) -> Reference {
        let passes: std::collections::BTreeSet<String> = self.tests_with(TestStatus::Pass).collect();
        let transcripts = self
            .transcripts
            .iter()
            .filter(|(test, transcript)| passes.contains(*test) && !transcript.is_empty())
            .map(|(test, transcript)| (test.clone(), transcript.clone()))
            .collect();
        Reference {
            passes,
            transcripts,
            libtest_names: self.libtest_names.clone(),
        }
    }

    /// How many of the graded tests the kernel witnessed.
    pub fn witnessed(&self) -> usize {
        self.labs.iter().flat_map(|l| &l.tests).filter(|t| t.witnessed).count()
    }

    /// `lab::test` for every test that ended as `status`.
    pub fn tests_with(&self, status: TestStatus) -> impl Iterator<Item = String> + '_ {
        self.labs.iter().flat_map(move |lab| {
            lab.tests
                .iter()
                .filter(move |t| t.status == status)
                .map(move |t| format!("{}::{}", lab.id, t.name))
        })
    }

    pub fn lab(&self, id: &str) -> Option<&LabGrade> {
        self.labs.iter().find(|l| l.id == id)
    }

    /// Whether `lab` is a lab nobody has started (its file is the stub; it passes nothing).
    pub fn is_not_started(&self, lab: &LabGrade) -> bool {
        lab.status == LabStatus::Graded && lab.score == 0 && self.not_started.contains(&lab.id)
    }
}

/// The first non-empty line of a message, trimmed (what a one-line report shows).
pub fn first_line(message: &str) -> &str {
    message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("")
}
