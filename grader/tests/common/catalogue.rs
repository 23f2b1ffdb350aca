//! The fixture submissions (`grader/fixtures/fixtures.toml`) and the catalogue of
//! classic mistakes (`grader/fixtures/mistakes.toml`): made at test time from a copy
//! of `solutions/` with one lab broken, graded, and checked against what the grader
//! must say about them. See the fixture catalogue's header for the format; a mistake
//! uses the same format, limited to a patch of its lab file.
//!
//! To save whole-suite grades, the mistakes are graded in rounds: one submission per
//! round, carrying at most one mistake per lab (a lab's grade depends on its own file
//! only, which the one-broken-lab fixtures check). In a round, every patched lab must
//! land exactly where its mistake says, and every other lab must keep full marks.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use super::json::{Grade, Lab as LabGrade};

pub const FIXTURES: &str = "grader/fixtures/fixtures.toml";
pub const MISTAKES: &str = "grader/fixtures/mistakes.toml";

mod files {
    use anyhow::{Context, Result};
    use std::path::Path;

    pub fn read_to_string(path: &Path) -> Result<String> {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }

    pub fn create_dir_all(path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))
    }

    pub fn write(path: &Path, content: impl AsRef<[u8]>) -> Result<()> {
        std::fs::write(path, content).with_context(|| format!("cannot write {}", path.display()))
    }

    /// `write`, creating the folders on the way first.
    pub fn write_creating(path: &Path, content: impl AsRef<[u8]>) -> Result<()> {
        if let Some(parent) = path.parent() {
            create_dir_all(parent)?;
        }
        write(path, content)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    fixture: Vec<Fixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub name: String,
    pub why: String,
    #[serde(default)]
    pub lab: Option<String>,
    #[serde(default)]
    inject: Option<String>,
    #[serde(default)]
    replace: Option<Replace>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    stub: bool,
    #[serde(default)]
    edit: Vec<Edit>,
    #[serde(default)]
    no_labs: bool,
    /// Makes the submission's `labs` folder a symbolic link to this folder of the project.
    #[serde(default)]
    labs_link: Option<String>,
    /// Bytes added at the end of the lab file (what TOML text cannot hold: invalid UTF-8).
    #[serde(default)]
    append_bytes: Vec<u8>,
    /// Graded only where the sandbox is fully enforced (the fixture tries to do damage).
    #[serde(default)]
    pub needs_sandbox: bool,
    #[serde(default)]
    expect: Expect,
}

/// `replace`: one `["old", "new"]` pair, or a list of them, applied in order (a mistake
/// a student repeats in several functions). Each `old` must occur exactly once.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Replace {
    One([String; 2]),
    Many(Vec<[String; 2]>),
}

impl Replace {
    fn pairs(&self) -> &[[String; 2]] {
        match self {
            Replace::One(pair) => std::slice::from_ref(pair),
            Replace::Many(pairs) => pairs,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    path: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    append: Option<String>,
    #[serde(default)]
    replace: Option<[String; 2]>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// `fail`, `crash`, `timeout` (the grade's words).
    #[serde(default)]
    statuses: Vec<String>,
    #[serde(default)]
    failing: Vec<String>,
    /// Only these tests of the lab (libtest names, prefixes allowed) keep their points;
    /// every other test must lose (a forged pass that only the unwitnessed tests keep).
    #[serde(default)]
    passing: Vec<String>,
    /// `graded` or `build_error`.
    #[serde(default)]
    lab_status: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    ignored: Vec<String>,
    #[serde(default)]
    error: Option<String>,
    /// The mistake is harmless: the lab keeps full marks (no test may lose).
    #[serde(default)]
    full_marks: bool,
    /// No process whose command line contains this may be left once the batch is graded.
    #[serde(default)]
    pub no_survivor: Option<String>,
}

/// Reads the fixture catalogue.
pub fn load(root: &Path) -> Result<Vec<Fixture>> {
    let path = root.join(FIXTURES);
    let text = files::read_to_string(&path)?;
    parse(&text).with_context(|| path.display().to_string())
}

pub fn parse(text: &str) -> Result<Vec<Fixture>> {
    let catalogue: Catalogue = toml::from_str(text)?;
    for f in &catalogue.fixture {
        let e = &f.expect;
        let loses = !e.failing.is_empty() || !e.statuses.is_empty() || e.lab_status.is_some() || e.message.is_some();
        if e.full_marks && loses {
            bail!(
                "fixture `{}`: `full_marks` cannot go with failing, statuses, lab_status or message",
                f.name
            );
        }
        if f.replace.as_ref().is_some_and(|r| r.pairs().is_empty()) {
            bail!("fixture `{}`: `replace` lists no pair", f.name);
        }
        if !e.passing.is_empty() && (e.full_marks || !e.failing.is_empty()) {
            bail!(
                "fixture `{}`: `passing` names what keeps its points, so it cannot go with failing or full_marks",
                f.name
            );
        }
        let ways = [f.inject.is_some(), f.replace.is_some(), f.text.is_some()]
            .iter()
            .filter(|w| **w)
            .count();
        let whole = !f.no_labs && f.labs_link.is_none();
        if whole
            && (f.lab.is_none()
                || ways > 1
                || (ways == 0 && !f.stub && f.append_bytes.is_empty())
                || (f.stub && f.replace.is_some()))
        {
            bail!(
                "fixture `{}` needs `lab` and one of inject, replace, text, stub (stub may go with inject)",
                f.name
            );
        }
    }
    Ok(catalogue.fixture)
}

/// Writes the fixture's submission into `dir` (a fresh folder).
pub fn make(root: &Path, fixture: &Fixture, dir: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    files::create_dir_all(dir)?;
    if fixture.no_labs {
        return files::write_creating(&dir.join("README.md"), "not a checkout\n");
    }
    copy_solutions(root, dir)?;
    if fixture.lab.is_some() {
        patch_lab(root, fixture, dir)?;
    }
    if let Some(target) = &fixture.labs_link {
        let labs = dir.join("labs");
        std::fs::remove_dir_all(&labs).with_context(|| format!("cannot remove {}", labs.display()))?;
        std::os::unix::fs::symlink(root.join(target), &labs)
            .with_context(|| format!("cannot link {}", labs.display()))?;
    }
    for edit in &fixture.edit {
        let target = dir.join(&edit.path);
        let pristine = std::fs::read_to_string(root.join(&edit.path)).unwrap_or_default();
        let content = if let Some(content) = &edit.content {
            content.clone()
        } else if let Some(extra) = &edit.append {
            pristine + extra
        } else if let Some([from, to]) = &edit.replace {
            replace_once(&pristine, from, to).with_context(|| format!("fixture `{}`: {}", fixture.name, edit.path))?
        } else {
            bail!(
                "fixture `{}`: edit of {} needs content, append or replace",
                fixture.name,
                edit.path
            );
        };
        files::write_creating(&target, &content)?;
    }
    Ok(())
}

/// Writes a copy of `solutions/*.rs` as `dir/labs/*.rs`.
pub fn copy_solutions(root: &Path, dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(root.join("solutions")).context("cannot list solutions/")? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.ends_with(".rs") {
            let content = files::read_to_string(&path)?;
            files::write_creating(&dir.join("labs").join(&name), &content)?;
        }
    }
    Ok(())
}

impl Fixture {
    /// Whether the fixture changes only its lab file (what a catalogued mistake must do).
    pub fn patches_one_lab_only(&self) -> bool {
        self.lab.is_some() && self.edit.is_empty() && !self.no_labs && !self.stub && self.text.is_none()
    }

    /// A mark no process may carry once the batch is graded (a daemon's command line).
    pub fn no_survivor(&self) -> Option<&str> {
        self.expect.no_survivor.as_deref()
    }

    /// Whether the lab must keep full marks.
    pub fn keeps_full_marks(&self) -> bool {
        self.expect.full_marks
    }

    /// The tests of the lab that must lose (libtest names or prefixes); empty: every test.
    pub fn failing(&self) -> &[String] {
        &self.expect.failing
    }
}

/// Writes the fixture's version of its lab file over `dir/labs/LAB.rs` (a copy of the solution).
pub fn patch_lab(root: &Path, fixture: &Fixture, dir: &Path) -> Result<()> {
    let lab = fixture.lab.as_deref().unwrap_or_default();
    let file = dir.join("labs").join(format!("{lab}.rs"));
    let (base, from) = if fixture.stub {
        let stub = root.join("labs").join(format!("{lab}.rs"));
        let text = files::read_to_string(&stub)?;
        (text, format!("labs/{lab}.rs"))
    } else {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("fixture `{}`: solutions/{lab}.rs does not exist", fixture.name))?;
        (text, format!("solutions/{lab}.rs"))
    };
    let with_root = |text: &str| text.replace("{root}", &root.display().to_string());
    let broken = if let Some(code) = &fixture.inject {
        inject(&base, &with_root(code)).with_context(|| format!("fixture `{}`: no `pub fn` in {from}", fixture.name))?
    } else if let Some(replace) = &fixture.replace {
        let mut text = base;
        for [old, new] in replace.pairs() {
            text = replace_once(&text, old, &with_root(new))
                .with_context(|| format!("fixture `{}`: {from}", fixture.name))?;
        }
        text
    } else if let Some(text) = &fixture.text {
        with_root(text)
    } else {
        base
    };
    files::write_creating(&file, &broken)?;
    if !fixture.append_bytes.is_empty() {
        let mut bytes = broken.into_bytes();
        bytes.extend(&fixture.append_bytes);
        files::write(&file, bytes)?;
    }
    Ok(())
}

/// `code` put at the start of the body of every `pub fn` (and `pub unsafe fn`).
pub fn inject(source: &str, code: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = source;
    let mut found = false;
    while let Some(at) = find_pub_fn(rest) {
        let open = at + rest[at..].find('{')?;
        out.push_str(&rest[..=open]);
        out.push_str(&format!("\n    {code}\n"));
        rest = &rest[open + 1..];
        found = true;
    }
    out.push_str(rest);
    found.then_some(out)
}

fn find_pub_fn(text: &str) -> Option<usize> {
    ["pub fn ", "pub unsafe fn ", "pub const fn "]
        .iter()
        .filter_map(|p| text.find(p))
        .min()
}

pub fn replace_once(text: &str, from: &str, to: &str) -> Result<String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => Err(anyhow!("`{from}` occurs {n} times (it must occur exactly once)")),
    }
}

/// What is wrong with the grade (or error) of `fixture`, compared with the full
/// marks of the solutions in `reference`.
pub fn check(fixture: &Fixture, result: &Result<Grade, String>, reference: &Grade) -> Vec<String> {
    let expect = &fixture.expect;
    let grade = match (result, &expect.error) {
        (Err(e), Some(wanted)) if e.contains(wanted.as_str()) => return Vec::new(),
        (Err(e), Some(wanted)) => return vec![format!("should not be graded because `{wanted}`, but: {e}")],
        (Err(e), None) => return vec![format!("could not be graded: {e}")],
        (Ok(_), Some(wanted)) => return vec![format!("should not be graded (`{wanted}`), but it was")],
        (Ok(grade), None) => grade,
    };
    let mut problems = Vec::new();
    let broken = fixture.lab.as_deref().unwrap_or_default();
    for lab in &grade.labs {
        let Some(full) = reference.lab(&lab.id) else { continue };
        if lab.id == broken {
            problems.extend(check_lab(fixture, lab, full));
        } else {
            problems.extend(check_full_marks(lab, full));
        }
    }
    let ids: BTreeMap<&str, ()> = grade.labs.iter().map(|l| (l.id.as_str(), ())).collect();
    for lab in &reference.labs {
        if !ids.contains_key(lab.id.as_str()) {
            problems.push(format!("{} is missing from the grade", lab.id));
        }
    }
    for file in &expect.ignored {
        if !grade.ignored.contains(file) {
            problems.push(format!(
                "{file} should be listed as ignored (ignored: {:?})",
                grade.ignored
            ));
        }
    }
    problems
}

/// What is wrong with `lab` when it should keep the full marks of `full` (the solutions' grade).
pub fn check_full_marks(lab: &LabGrade, full: &LabGrade) -> Vec<String> {
    if lab.score != full.max_score || lab.max_score != full.max_score {
        return vec![format!(
            "{} should keep full marks ({}/{}), but got {}/{}",
            lab.id, full.max_score, full.max_score, lab.score, lab.max_score
        )];
    }
    Vec::new()
}

/// What is wrong with `lab`, the lab `fixture` changed, against its expectation; `full`
/// is the solutions' grade of the lab (a test it skipped on this machine cannot be judged).
pub fn check_lab(fixture: &Fixture, lab: &LabGrade, full: &LabGrade) -> Vec<String> {
    let expect = &fixture.expect;
    let mut problems = Vec::new();
    let wanted_status = expect.lab_status.as_deref().unwrap_or("graded");
    if lab.status != wanted_status {
        problems.push(format!("{} should be {wanted_status}, but is {}", lab.id, lab.status));
    }
    if lab.status == "build_error"
        && let Some(text) = &expect.message
        && !lab.message.contains(text.as_str())
    {
        problems.push(format!("{}'s message should contain `{text}`: {}", lab.id, lab.message));
    }
    let named = |names: &[String], test: &str| names.iter().any(|n| test.starts_with(n.as_str()));
    for test in &lab.tests {
        let should_lose = !expect.full_marks
            && !named(&expect.passing, &test.name)
            && (expect.failing.is_empty() || named(&expect.failing, &test.name));
        let lost = test.lost();
        let skipped_here =
            test.status == "skipped" && full.tests.iter().any(|t| t.name == test.name && t.status == "skipped");
        if should_lose && !lost && !skipped_here {
            problems.push(format!(
                "{}::{} should lose its points, but is {}",
                lab.id, test.name, test.status
            ));
        }
        if !should_lose && lost {
            problems.push(format!(
                "{}::{} should pass, but is {}: {}",
                lab.id, test.name, test.status, test.message
            ));
        }
        if should_lose && lost && lab.status == "graded" {
            if !expect.statuses.is_empty() && !expect.statuses.contains(&test.status) {
                problems.push(format!(
                    "{}::{} should end as {:?}, but is {}: {}",
                    lab.id, test.name, expect.statuses, test.status, test.message
                ));
            }
            if let Some(text) = &expect.message
                && !test.message.contains(text.as_str())
            {
                problems.push(format!(
                    "{}::{}'s message should contain `{text}`: {}",
                    lab.id, test.name, test.message
                ));
            }
        }
    }
    for prefix in expect.failing.iter().chain(&expect.passing) {
        if !lab.tests.iter().any(|t| t.name.starts_with(prefix.as_str())) {
            problems.push(format!("{}: `{prefix}` names no test of the lab", lab.id));
        }
    }
    problems
}

/// Reads the catalogue; every entry must patch one lab file and nothing else.
pub fn load_mistakes(root: &Path) -> Result<Vec<Fixture>> {
    let path = root.join(MISTAKES);
    let text = files::read_to_string(&path)?;
    parse_mistakes(&text).with_context(|| path.display().to_string())
}

pub fn parse_mistakes(text: &str) -> Result<Vec<Fixture>> {
    let mistakes = parse(text)?;
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
    copy_solutions(root, dir)?;
    for mistake in round {
        patch_lab(root, mistake, dir)?;
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
                check_lab(mistake, lab, full)
                    .into_iter()
                    .map(|p| (mistake.name.clone(), p)),
            ),
            None => problems.extend(
                check_full_marks(lab, full)
                    .into_iter()
                    .map(|p| ("round".to_string(), p)),
            ),
        }
    }
    problems
}
