//! A grade as the grader's `--json` file and a batch's `NAME.json` give it
//! (GRADING.md's documented shape): what the suites read, and what they write for the
//! grader to render (the `fixture-hooks` feature's given grade).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    pub score: u32,
    pub max_score: u32,
    pub labs: Vec<Lab>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_started: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_enforced: Vec<String>,
    /// The seed the scenarios were drawn from (None: nothing drawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lab {
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub score: u32,
    pub max_score: u32,
    /// `graded` or `build_error`.
    pub status: String,
    pub message: String,
    pub tests: Vec<Test>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Test {
    pub name: String,
    /// `pass`, `fail`, `crash`, `timeout` or `skipped`.
    pub status: String,
    pub score: u32,
    pub max_score: u32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(default)]
    pub witnessed: bool,
    /// What its scenario drew (`mapping pages = 7`); empty where nothing was drawn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drawn: Vec<String>,
}

impl Test {
    /// A test scored by the rubric's rule: a pass earns its points, a skip counts
    /// neither for nor against (0 of 0), anything else earns 0 of its points.
    pub fn scored(name: &str, points: u32, status: &str, message: &str) -> Test {
        let (score, max_score) = match status {
            "pass" => (points, points),
            "skipped" => (0, 0),
            _ => (0, points),
        };
        Test {
            name: name.into(),
            status: status.into(),
            score,
            max_score,
            message: message.into(),
            seconds: Some(0.5),
            witnessed: false,
            drawn: Vec::new(),
        }
    }

    /// Lost its points (anything but a pass or a skip).
    pub fn lost(&self) -> bool {
        !matches!(self.status.as_str(), "pass" | "skipped")
    }
}

impl Lab {
    /// A lab graded as usual from these tests, the sums filled in.
    pub fn graded(id: &str, tests: Vec<Test>) -> Lab {
        Lab {
            id: id.into(),
            title: String::new(),
            score: tests.iter().map(|t| t.score).sum(),
            max_score: tests.iter().map(|t| t.max_score).sum(),
            status: "graded".into(),
            message: String::new(),
            tests,
        }
    }

    pub fn test(&self, name: &str) -> Option<&Test> {
        self.tests.iter().find(|t| t.name == name)
    }
}

impl Grade {
    /// A grade made of these labs, the sums filled in.
    pub fn of(labs: Vec<Lab>) -> Grade {
        Grade {
            score: labs.iter().map(|l| l.score).sum(),
            max_score: labs.iter().map(|l| l.max_score).sum(),
            labs,
            ..Grade::default()
        }
    }

    pub fn lab(&self, id: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.id == id)
    }

    /// `lab::test` of every test that ended as `status`.
    pub fn tests_with(&self, status: &str) -> Vec<String> {
        self.labs
            .iter()
            .flat_map(|l| {
                l.tests
                    .iter()
                    .filter(|t| t.status == status)
                    .map(|t| format!("{}::{}", l.id, t.name))
            })
            .collect()
    }

    pub fn witnessed(&self) -> usize {
        self.labs.iter().flat_map(|l| &l.tests).filter(|t| t.witnessed).count()
    }
}

/// A file the grader wrote: a grade, or (a batch submission not graded) `{"error": WHY}`.
pub fn read(path: &Path) -> Result<Grade, String> {
    let text = super::read(path);
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    if let Some(error) = value.get("error") {
        return Err(error.as_str().unwrap_or_default().to_string());
    }
    Ok(serde_json::from_value(value).unwrap_or_else(|e| panic!("{} is not a grade: {e}", path.display())))
}

/// The rubric: each lab's id and its tests' points, in file order (labs sorted).
pub fn rubric() -> Vec<(String, Vec<(String, u32)>)> {
    let path = super::root().join("rubric.toml");
    let table: toml::Table = super::read(&path)
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut labs: Vec<(String, Vec<(String, u32)>)> = table
        .iter()
        // `[limits]` is what grading may cost, not a lab.
        .filter(|(id, _)| id.as_str() != "limits")
        .map(|(id, lab)| {
            let points = lab["points"]
                .as_table()
                .expect("[lab.points]")
                .iter()
                .map(|(test, p)| (test.clone(), p.as_integer().expect("points") as u32))
                .collect();
            (id.clone(), points)
        })
        .collect();
    labs.sort();
    labs
}

/// rubric.toml's tests that cannot draw their scenario (`[lab.undrawn]`), as
/// `lab::test`, each with why.
pub fn undrawn() -> BTreeMap<String, String> {
    let path = super::root().join("rubric.toml");
    let table: toml::Table = super::read(&path)
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut undrawn = BTreeMap::new();
    for (id, lab) in table.iter().filter(|(id, _)| id.as_str() != "limits") {
        for (test, why) in lab.get("undrawn").and_then(|u| u.as_table()).into_iter().flatten() {
            undrawn.insert(format!("{id}::{test}"), why.as_str().unwrap_or_default().to_string());
        }
    }
    undrawn
}
