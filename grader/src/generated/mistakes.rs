//! GRADING.md's table of the catalogue of classic mistakes
//! (`grader/fixtures/mistakes.toml`): lab, mistake, the tests that catch it, points lost.
//!
//! It reads of each entry only what the table shows (name, why, lab, which tests must
//! lose); how a mistake patches its lab, and whether it lands where it says, is for
//! the test rig (`cargo selftest`'s mistakes check), which checks the whole entry.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::project::files;
use crate::project::rubric::Lab;

pub const CATALOGUE: &str = "grader/fixtures/mistakes.toml";

#[derive(Debug, Deserialize)]
struct Catalogue {
    fixture: Vec<Mistake>,
}

/// One entry of the catalogue, as far as the table is concerned.
#[derive(Debug, Deserialize)]
pub struct Mistake {
    pub name: String,
    pub why: String,
    #[serde(default)]
    pub lab: Option<String>,
    #[serde(default)]
    pub expect: Expect,
}

/// Where a mistake must land.
#[derive(Debug, Default, Deserialize)]
pub struct Expect {
    /// The tests of the lab that must lose (libtest names or prefixes); empty: every test.
    #[serde(default)]
    pub failing: Vec<String>,
    /// The mistake is harmless: the lab keeps full marks.
    #[serde(default)]
    pub full_marks: bool,
}

/// Reads the catalogue of `root`.
pub fn load(root: &Path) -> Result<Vec<Mistake>> {
    let path = root.join(CATALOGUE);
    let text = files::read_to_string(&path)?;
    parse(&text).with_context(|| path.display().to_string())
}

fn parse(text: &str) -> Result<Vec<Mistake>> {
    let catalogue: Catalogue = toml::from_str(text)?;
    Ok(catalogue.fixture)
}

/// The rubric's tests that `mistake` must lose (none when it is harmless).
/// `failing`: the tests (libtest names or prefixes) that must lose, empty for every
/// test; `full_marks`: the mistake is harmless.
pub fn tests_lost<'a>(failing: &[String], full_marks: bool, lab: &'a Lab) -> Vec<(&'a str, u32)> {
    if full_marks {
        return Vec::new();
    }
    lab.points
        .iter()
        .filter(|(test, _)| failing.is_empty() || failing.iter().any(|f| test.starts_with(f.as_str())))
        .map(|(test, points)| (test.as_str(), *points))
        .collect()
}

/// Where the generated table sits in GRADING.md.
pub const BEGIN: &str = "<!-- mistakes table: generated from grader/fixtures/mistakes.toml by \
                         `cargo grade sync`; do not edit -->";
pub const END: &str = "<!-- end of mistakes table -->";

/// The Markdown table of the catalogue: lab, mistake, the tests that catch it, points lost.
pub fn table(mistakes: &[Mistake], labs: &[Lab]) -> Result<String> {
    let mut out = String::from("| lab | mistake | caught by | points lost |\n| --- | --- | --- | ---: |\n");
    for mistake in mistakes {
        let id = mistake.lab.as_deref().unwrap_or_default();
        let lab = labs
            .iter()
            .find(|l| l.id == id)
            .with_context(|| format!("mistake `{}`: rubric.toml has no lab {id}", mistake.name))?;
        let lost = tests_lost(&mistake.expect.failing, mistake.expect.full_marks, lab);
        if lost.is_empty() && !mistake.expect.full_marks {
            bail!(
                "mistake `{}`: its failing tests name no test in rubric.toml",
                mistake.name
            );
        }
        let caught = if lost.is_empty() {
            "nothing (harmless)".to_string()
        } else {
            folded(&lost, lab)
        };
        let points: u32 = lost.iter().map(|(_, p)| p).sum();
        out.push_str(&format!(
            "| {id} | {} | {caught} | {points} of {} |\n",
            mistake.why.replace('|', "\\|"),
            lab.max_score()
        ));
    }
    Ok(out)
}

/// The lost tests by function: `f`, or `f (2 of 3 cases)` for rstest cases.
fn folded(lost: &[(&str, u32)], lab: &Lab) -> String {
    let function = |test: &str| test.split_once("::").map(|(f, _)| f.to_string());
    let mut rows: Vec<(String, usize)> = Vec::new();
    for (test, _) in lost {
        let name = function(test).unwrap_or_else(|| test.to_string());
        match rows.last_mut() {
            Some((f, n)) if *f == name => *n += 1,
            _ => rows.push((name, 1)),
        }
    }
    rows.iter()
        .map(|(f, n)| {
            let cases = lab
                .points
                .iter()
                .filter(|(t, _)| function(t).as_deref() == Some(f.as_str()))
                .count();
            match cases {
                0 => format!("`{f}`"),
                all if all == *n => format!("`{f}` ({n} case{})", if *n == 1 { "" } else { "s" }),
                all => format!("`{f}` ({n} of {all} cases)"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOGUE_TEXT: &str = r#"
[[fixture]]
name = "a1"
why = "first mistake in a"
lab = "a"
replace = ["x", "y"]
expect = { failing = ["t1"] }

[[fixture]]
name = "b1"
why = "harmless in b"
lab = "b"
replace = ["x", "y"]
expect = { full_marks = true }

[[fixture]]
name = "a2"
why = "second mistake in a"
lab = "a"
inject = "z"
"#;

    #[test]
    fn the_catalogue_of_this_project_reads() {
        let root = crate::project::root();
        // The student handout withholds the catalogue (and the solutions it patches).
        if !root.join("solutions").exists() {
            return;
        }
        let mistakes = load(&root).unwrap();
        assert!(mistakes.len() >= 12);
    }

    #[test]
    fn the_table_names_the_catching_tests_and_the_points_lost() {
        let labs = crate::project::rubric::parse(
            "[a]\ntitle='A'\n[a.points]\nt1 = 2\n\"t3::x\" = 1\n\"t3::y\" = 1\n\
             [b]\ntitle='B'\n[b.points]\nt1 = 1\n",
        )
        .unwrap();
        let mut mistakes = parse(CATALOGUE_TEXT).unwrap();
        mistakes.truncate(2);
        let table = table(&mistakes, &labs).unwrap();
        assert!(table.contains("| a | first mistake in a | `t1` | 2 of 4 |"), "{table}");
        assert!(
            table.contains("| b | harmless in b | nothing (harmless) | 0 of 1 |"),
            "{table}"
        );
        assert_eq!(
            folded(&[("t1", 2), ("t3::x", 1), ("t3::y", 1)], &labs[0]),
            "`t1`, `t3` (2 cases)"
        );
        assert_eq!(folded(&[("t3::y", 1)], &labs[0]), "`t3` (1 of 2 cases)");
    }
}
