//! The catalogue of classic mistakes (`grader/fixtures/mistakes.toml`): wrong code
//! students really write, each a copy of the solutions with ONE lab patched, and
//! where it must land: the tests of that lab it loses, or full marks when harmless.
//!
//! The format is the fixtures' (`crate::fixtures`), limited to a patch of one lab
//! file. To save whole-suite grades, `cargo selftest` grades the mistakes in rounds:
//! one submission per round, carrying at most one mistake per lab (a lab's grade
//! depends on its own file only, which the one-broken-lab fixtures check). In a
//! round, every patched lab must land exactly where its mistake says, and every
//! other lab must keep full marks; every suite still runs.
//!
//! GRADING.md's table of mistakes is generated from the catalogue and the rubric
//! (`crate::generated::mistakes`).

use anyhow::{Context, Result, bail};

use crate::project::files;

use std::path::Path;

use crate::fixtures::{self, Fixture};
use crate::generated;
use crate::model::Grade;
use crate::project::rubric::Lab;

pub use crate::generated::mistakes::CATALOGUE;

/// Reads the catalogue; every entry must patch one lab file and nothing else.
pub fn load(root: &Path) -> Result<Vec<Fixture>> {
    let path = root.join(CATALOGUE);
    let text = files::read_to_string(&path)?;
    parse(&text).with_context(|| path.display().to_string())
}

fn parse(text: &str) -> Result<Vec<Fixture>> {
    let mistakes = fixtures::parse(text)?;
    for m in &mistakes {
        if !m.patches_one_lab_only() {
            bail!(
                "mistake `{}` must patch its lab's solution (replace or inject) and change nothing else",
                m.name
            );
        }
    }
    for (i, m) in mistakes.iter().enumerate() {
        if mistakes[..i].iter().any(|other| other.name == m.name) {
            bail!("mistake `{}` is listed twice", m.name);
        }
    }
    Ok(mistakes)
}

/// The mistakes grouped into rounds, in catalogue order: each goes into the first
/// round that has no mistake in its lab yet.
pub fn rounds(mistakes: &[Fixture]) -> Vec<Vec<&Fixture>> {
    let mut rounds: Vec<Vec<&Fixture>> = Vec::new();
    for m in mistakes {
        match rounds.iter_mut().find(|r| r.iter().all(|other| other.lab != m.lab)) {
            Some(round) => round.push(m),
            None => rounds.push(vec![m]),
        }
    }
    rounds
}

/// Writes one round's submission into `dir` (a fresh folder): the solutions, with
/// each mistake of the round applied to its lab.
pub fn make_round(root: &Path, round: &[&Fixture], dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    fixtures::copy_solutions(root, dir)?;
    for mistake in round {
        fixtures::patch_lab(root, mistake, dir)?;
    }
    Ok(())
}

/// What is wrong with a round's grade: `(mistake name or "round", problem)`.
pub fn check_round(round: &[&Fixture], result: &Result<Grade, String>, reference: &Grade) -> Vec<(String, String)> {
    let grade = match result {
        Ok(grade) => grade,
        Err(e) => return vec![("round".into(), format!("could not be graded: {e}"))],
    };
    let mut problems = Vec::new();
    for full in &reference.labs {
        let Some(lab) = grade.lab(&full.id) else {
            problems.push(("round".into(), format!("{} is missing from the grade", full.id)));
            continue;
        };
        match round.iter().find(|m| m.lab.as_deref() == Some(lab.id.as_str())) {
            Some(mistake) => problems.extend(
                fixtures::check_lab(mistake, lab, full)
                    .into_iter()
                    .map(|p| (mistake.name.clone(), p)),
            ),
            None => problems.extend(
                fixtures::check_full_marks(lab, full)
                    .into_iter()
                    .map(|p| ("round".to_string(), p)),
            ),
        }
    }
    problems
}

/// The rubric's tests that `mistake` must lose (none when it is harmless).
pub fn tests_lost<'a>(mistake: &Fixture, lab: &'a Lab) -> Vec<(&'a str, u32)> {
    generated::mistakes::tests_lost(mistake.failing(), mistake.keeps_full_marks(), lab)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, TestGrade, TestStatus};

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
    fn the_catalogue_parses_and_every_entry_patches_one_lab() {
        let mistakes = load(&crate::project::root()).unwrap();
        assert!(mistakes.len() >= 12);
        assert!(parse(CATALOGUE_TEXT).is_ok());
        let stub = "[[fixture]]\nname='x'\nwhy='y'\nlab='l'\nstub=true\n";
        assert!(parse(stub).unwrap_err().to_string().contains("change nothing else"));
        let twice = format!("{CATALOGUE_TEXT}\n[[fixture]]\nname='a1'\nwhy='y'\nlab='c'\ninject='q'\n");
        assert!(parse(&twice).unwrap_err().to_string().contains("listed twice"));
        let contradiction = "[[fixture]]\nname='x'\nwhy='y'\nlab='l'\ninject='q'\n\
                             expect = { full_marks = true, failing = ['t'] }\n";
        assert!(parse(contradiction).unwrap_err().to_string().contains("full_marks"));
    }

    #[test]
    fn rounds_hold_at_most_one_mistake_per_lab() {
        let mistakes = parse(CATALOGUE_TEXT).unwrap();
        let names: Vec<Vec<&str>> = rounds(&mistakes)
            .iter()
            .map(|r| r.iter().map(|m| m.name.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["a1", "b1"], vec!["a2"]]);
    }

    fn lab(id: &str, tests: &[(&str, TestStatus, u32)]) -> LabGrade {
        let tests = tests
            .iter()
            .map(|(name, status, points)| TestGrade::scored(*name, *points, *status, ""))
            .collect();
        LabGrade::graded(id, "", tests)
    }

    #[test]
    fn a_round_checks_each_mistake_in_its_lab_and_full_marks_elsewhere() {
        use TestStatus::{Fail, Pass, Skipped};
        let mistakes = parse(CATALOGUE_TEXT).unwrap();
        let round = &rounds(&mistakes)[0];
        let reference = Grade::new(vec![
            lab("a", &[("t1", Pass, 2), ("t2", Pass, 1)]),
            lab("b", &[("t1", Pass, 1)]),
            lab("c", &[("t1", Pass, 1), ("t2", Skipped, 1)]),
        ]);
        let right = Grade::new(vec![
            lab("a", &[("t1", Fail, 2), ("t2", Pass, 1)]),
            lab("b", &[("t1", Pass, 1)]),
            lab("c", &[("t1", Pass, 1), ("t2", Skipped, 1)]),
        ]);
        assert_eq!(check_round(round, &Ok(right), &reference), vec![]);

        // The harmless mistake lost a test, a1 lost one test too many, and c lost points.
        let wrong = Grade::new(vec![
            lab("a", &[("t1", Fail, 2), ("t2", Fail, 1)]),
            lab("b", &[("t1", Fail, 1)]),
            lab("c", &[("t1", Fail, 1), ("t2", Skipped, 1)]),
        ]);
        let problems = check_round(round, &Ok(wrong), &reference);
        let who: Vec<&str> = problems.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(who, vec!["a1", "b1", "round"], "{problems:?}");
        assert!(problems[0].1.contains("a::t2 should pass"));
        assert!(problems[1].1.contains("b::t1 should pass"));
        assert!(problems[2].1.contains("c should keep full marks"));

        // A test this machine skipped even for the solutions cannot be judged: no problem.
        let skipping = Grade::new(vec![
            lab("a", &[("t1", Skipped, 2), ("t2", Pass, 1)]),
            lab("b", &[("t1", Pass, 1)]),
            lab("c", &[("t1", Pass, 1), ("t2", Skipped, 1)]),
        ]);
        let mut reference_skipping = reference.clone();
        reference_skipping.labs[0] = lab("a", &[("t1", Skipped, 2), ("t2", Pass, 1)]);
        assert_eq!(check_round(round, &Ok(skipping), &reference_skipping), vec![]);

        // A harmful mistake that loses nothing is reported.
        let untouched = reference.clone();
        let problems = check_round(round, &Ok(untouched), &reference);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].1.contains("a::t1 should lose its points"));
    }
}
