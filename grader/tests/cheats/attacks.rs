//! The attack fixtures (`grader/fixtures/cheats.toml`): each is the stubs of every lab
//! with the cheat's code injected into every `pub fn` and its attack file appended, so
//! one text does for every lab, as one student's file would for every class.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::Problems;
use super::common::{self, catalogue, json};

pub const CATALOGUE: &str = "grader/fixtures/cheats.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    cheat: Vec<Cheat>,
    /// Constants that are a function's right answer: read by `constants`.
    #[serde(default, rename = "right_answer")]
    _right_answers: Vec<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cheat {
    pub name: String,
    pub why: String,
    /// A file beside the catalogue, appended to every lab file.
    attack: String,
    /// Code put at the start of every `pub fn` body.
    inject: String,
    /// What it scored when written: for the record, never checked.
    #[allow(dead_code)]
    measured: String,
    /// Graded tests (`lab::test`) the cheat is known to pass, each said in GRADING.md's
    /// "What this does not stop": printed, not counted as problems. Any other point it
    /// earns fails the check.
    #[serde(default)]
    known: Vec<String>,
}

pub fn load(root: &Path) -> Result<Vec<Cheat>> {
    let path = root.join(CATALOGUE);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let catalogue: Catalogue = toml::from_str(&text).with_context(|| path.display().to_string())?;
    for (i, cheat) in catalogue.cheat.iter().enumerate() {
        if catalogue.cheat[..i].iter().any(|other| other.name == cheat.name) {
            bail!("{}: cheat `{}` is listed twice", path.display(), cheat.name);
        }
    }
    Ok(catalogue.cheat)
}

/// Writes `cheat`'s submission into `dir`: every stub of `labs/`, patched.
pub fn make(root: &Path, cheat: &Cheat, dir: &Path) -> Result<()> {
    let attack_path = root.join("grader/fixtures").join(&cheat.attack);
    let attack = std::fs::read_to_string(&attack_path)
        .with_context(|| format!("cheat `{}`: cannot read {}", cheat.name, attack_path.display()))?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("labs")).with_context(|| format!("cannot create {}", dir.display()))?;
    for lab in lab_names(root)? {
        let stub = root.join("labs").join(format!("{lab}.rs"));
        let text = std::fs::read_to_string(&stub).with_context(|| format!("cannot read {}", stub.display()))?;
        let snapshots = snapshots_of(root, &lab)?;
        let with_lab = |code: &str| code.replace("{lab}", &lab).replace("{snapshots}", &snapshots);
        let patched = catalogue::inject(&text, &with_lab(&cheat.inject))
            .with_context(|| format!("cheat `{}`: no `pub fn` in labs/{lab}.rs", cheat.name))?;
        let file = dir.join("labs").join(format!("{lab}.rs"));
        std::fs::write(&file, format!("{patched}\n{}", with_lab(&attack)))
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    Ok(())
}

/// The lab's public snapshots as a Rust expression, `&[("name", r#"text"#), ...]` (a
/// cheat's `{snapshots}`): what a student can paste into a lab file, now that a graded
/// test process cannot read `snapshots/`.
fn snapshots_of(root: &Path, lab: &str) -> Result<String> {
    let mut items = Vec::new();
    for entry in std::fs::read_dir(root.join("snapshots")).context("cannot list snapshots/")? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if stem.starts_with(&format!("{lab}__")) && path.extension().is_some_and(|e| e == "snap") {
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let hashes = "#".repeat(
                (1..)
                    .find(|&n| !text.contains(&format!("\"{}", "#".repeat(n))))
                    .unwrap_or(1),
            );
            items.push(format!("({stem:?}, r{hashes}\"{text}\"{hashes})"));
        }
    }
    items.sort();
    Ok(format!("&[{}]", items.join(", ")))
}

/// Every lab of the project: the stems of `labs/*.rs`.
pub fn lab_names(root: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("labs")).context("cannot list labs/")? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Makes every cheat's submission, grades them as one batch, and says which scored.
pub fn grade_and_check(root: &Path) -> Problems {
    let cheats = load(root).expect("the cheat catalogue");
    let base = common::fresh_dir("cheats");
    let (dir, out) = (base.join("batch"), base.join("grades"));
    for cheat in &cheats {
        make(root, cheat, &dir.join(&cheat.name)).unwrap();
    }
    super::grade_batch(&dir, &out);
    let mut found = Vec::new();
    for cheat in &cheats {
        match json::read(&out.join(format!("{}.json", cheat.name))) {
            Ok(grade) => {
                for (test, points) in earned(&grade) {
                    if cheat.known.contains(&test) {
                        eprintln!("known: {} passes {test} ({points} point(s))", cheat.name);
                    } else {
                        found.push(format!(
                            "{} ({}): {test} passed (it must earn 0)",
                            cheat.name, cheat.why
                        ));
                    }
                }
            }
            Err(e) => found.push(format!("{}: not graded: {e}", cheat.name)),
        }
    }
    Problems { found, look: base }
}

/// Every test that earned a point (`lab::test`), with its points.
fn earned(grade: &json::Grade) -> Vec<(String, u32)> {
    let tests = grade.labs.iter().flat_map(|lab| {
        let passed = lab.tests.iter().filter(|t| t.score > 0);
        passed.map(move |t| (format!("{}::{}", lab.id, t.name), t.score))
    });
    tests.collect()
}
