//! The registry check: the lab files and everything generated from the registry
//! (`rubric.toml`, read as the [`Project`]'s labs) agree with it.
//!
//! A lab is a `[NAME]` table of the registry (title, summary, points) plus its mirrored
//! files: `labs/NAME.rs`, `solutions/NAME.rs`, `tests/NAME.rs` and, when the suite takes
//! snapshots, `snapshots/NAME__*.snap`. The rubric is the registry because it already
//! names every lab, one table per lab named like its files, and goes to students with
//! the labs: a second list would be one more thing to keep in step. What lists the labs
//! elsewhere is generated from it by `cargo grade sync` (`crate::generated`: `src/lib.rs`,
//! README.md's lab table, GRADING.md's tables), and [`problems`] checks the rest,
//! rustlings-style: one line per problem, naming the file and the command or edit that
//! fixes it.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};

use crate::generated;
use crate::project::{Project, REGISTRY};

/// What makes the lab files disagree with the registry, one line per problem, each
/// naming the file and the command or edit that fixes it. Empty when all agree.
pub fn problems(project: &Project) -> Result<Vec<String>> {
    let (root, labs) = (&project.root, &project.labs);
    let ids: BTreeSet<&str> = labs.iter().map(|lab| lab.id.as_str()).collect();
    let mut problems = Vec::new();
    for lab in labs {
        problems.extend(missing_files(root, &lab.id));
    }
    for folder in ["labs", "solutions", "tests"] {
        for stem in rs_stems(&root.join(folder))? {
            if !ids.contains(stem.as_str()) {
                problems.push(format!(
                    "{folder}/{stem}.rs is a lab file {REGISTRY} does not list: add a [{stem}] table to {REGISTRY} \
                     (title, summary, [{stem}.points]) and run `cargo grade sync`, or delete {folder}/{stem}.rs"
                ));
            }
        }
    }
    match generated::files(project) {
        Ok(files) => {
            for (rel, text) in files {
                let path = root.join(rel);
                if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                    problems.push(format!("{rel} is out of date with {REGISTRY}: run `cargo grade sync`"));
                }
            }
        }
        Err(e) => problems.push(format!("{e:#}")),
    }
    // Last: recording snapshots needs the lab declared in src/lib.rs first.
    problems.extend(labs.iter().filter_map(|lab| missing_snapshots(root, &lab.id)));
    Ok(problems)
}

/// The mirrored files `id` lacks, each with what to do.
fn missing_files(root: &Path, id: &str) -> Vec<String> {
    let or_remove = format!("or remove [{id}] and [{id}.points] from {REGISTRY}");
    let mut problems = Vec::new();
    let mirrored = [
        (
            "labs",
            format!(
                "write the stub there, the solution's API with `todo!()` bodies (`cp solutions/{id}.rs labs/{id}.rs`, then replace each body)"
            ),
        ),
        (
            "solutions",
            format!(
                "write the reference solution there, with the stub's API (`cp labs/{id}.rs solutions/{id}.rs`, then fill in each `todo!()`)"
            ),
        ),
        (
            "tests",
            format!("write {id}'s suite there, one test per key of [{id}.points] (see tests/lab01_full.rs)"),
        ),
    ];
    for (folder, what) in mirrored {
        if !root.join(folder).join(format!("{id}.rs")).is_file() {
            problems.push(format!(
                "{folder}/{id}.rs is missing ({REGISTRY} lists {id}): {what}, {or_remove}"
            ));
        }
    }
    problems
}

/// When `id`'s suite takes snapshots and none is recorded: what to run.
fn missing_snapshots(root: &Path, id: &str) -> Option<String> {
    let suite = std::fs::read_to_string(root.join("tests").join(format!("{id}.rs"))).unwrap_or_default();
    let recorded = std::fs::read_dir(root.join("snapshots")).is_ok_and(|entries| {
        entries
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with(&format!("{id}__")))
    });
    (suite.contains(".assert_snapshot(") && !recorded).then(|| {
        format!(
            "snapshots/{id}__*.snap is missing (tests/{id}.rs takes snapshots): record them with \
             `INSTA_UPDATE=always cargo test --features solutions --test {id}`, then read each new file (every submission is held to it)"
        )
    })
}

/// The stems of the `.rs` files directly in `dir` (none when it does not exist).
fn rs_stems(dir: &Path) -> Result<Vec<String>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut stems = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry.with_context(|| format!("cannot list {}", dir.display()))?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
            stems.extend(path.file_stem().and_then(|s| s.to_str()).map(String::from));
        }
    }
    stems.sort();
    Ok(stems)
}

/// `cargo selftest`'s check: the summary, or every problem on its own line.
pub fn selftest(project: &Project) -> Result<((), String)> {
    let problems = problems(project)?;
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    let labs = &project.labs;
    Ok((
        (),
        format!(
            "{} labs, each with its files; src/lib.rs, README.md and GRADING.md",
            labs.len()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    const RUBRIC: &str = "[lab01_a]\ntitle = \"A\"\nsummary = \"the first\"\n[lab01_a.points]\nx = 1\n\n\
                          [lab02_b]\ntitle = \"B\"\nsummary = \"the second\"\n[lab02_b.points]\ny = 2\n";

    /// A project whose lab files all agree with its registry (labs lab01_a and lab02_b;
    /// lab01_a's suite takes a snapshot).
    fn project(name: &str) -> PathBuf {
        let root = crate::project::temp_dir(name);
        for dir in ["labs", "solutions", "tests", "snapshots", "src"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        fs::write(root.join(REGISTRY), RUBRIC).unwrap();
        for id in ["lab01_a", "lab02_b"] {
            fs::write(root.join(format!("labs/{id}.rs")), "pub fn f() { todo!() }\n").unwrap();
            fs::write(root.join(format!("solutions/{id}.rs")), "pub fn f() {}\n").unwrap();
        }
        fs::write(
            root.join("tests/lab01_a.rs"),
            "#[test]\nfn x() { story.assert_snapshot(); }\n",
        )
        .unwrap();
        fs::write(root.join("tests/lab02_b.rs"), "#[test]\nfn y() {}\n").unwrap();
        fs::write(root.join("snapshots/lab01_a__x.snap"), "snapshot\n").unwrap();
        fs::write(
            root.join("README.md"),
            format!(
                "# lab\n{}\n{}\n",
                generated::labs::README_BEGIN,
                generated::labs::README_END
            ),
        )
        .unwrap();
        fs::write(
            root.join("GRADING.md"),
            format!("# Grading\n{}\n{}\n", generated::points::BEGIN, generated::points::END),
        )
        .unwrap();
        sync(&root).unwrap();
        root
    }

    /// `cargo grade sync` on the project at `root`, read afresh.
    fn sync(root: &Path) -> Result<Vec<String>> {
        generated::sync(&Project::load(root)?)
    }

    /// The registry check of the project at `root`, read afresh.
    fn problems(root: &Path) -> Result<Vec<String>> {
        super::problems(&Project::load(root)?)
    }

    /// The problems of `root`, each expected to contain every one of `wanted` (in order).
    fn assert_problems(root: &Path, wanted: &[&[&str]]) {
        let problems = problems(root).unwrap();
        assert_eq!(problems.len(), wanted.len(), "{problems:#?}");
        for (problem, parts) in problems.iter().zip(wanted) {
            for part in *parts {
                assert!(problem.contains(part), "`{part}` not in: {problem}");
            }
        }
    }

    #[test]
    fn a_project_that_agrees_has_no_problem() {
        let root = project("registry-ok");
        assert_problems(&root, &[]);
        let lib = fs::read_to_string(root.join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("#[path = \"../solutions/lab02_b.rs\"]\npub mod lab02_b;\n"),
            "{lib}"
        );
        let readme = fs::read_to_string(root.join("README.md")).unwrap();
        assert!(
            readme.contains("| `lab01_a` | the first |\n| `lab02_b` | the second |\n"),
            "{readme}"
        );
        assert!(sync(&root).unwrap().iter().all(|line| line.ends_with("up to date")));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn each_missing_mirrored_file_is_named_with_its_fix() {
        for (file, fix) in [
            ("labs/lab02_b.rs", "cp solutions/lab02_b.rs labs/lab02_b.rs"),
            ("solutions/lab02_b.rs", "cp labs/lab02_b.rs solutions/lab02_b.rs"),
            ("tests/lab02_b.rs", "one test per key of [lab02_b.points]"),
            (
                "snapshots/lab01_a__x.snap",
                "INSTA_UPDATE=always cargo test --features solutions --test lab01_a",
            ),
        ] {
            let root = project("registry-missing");
            fs::remove_file(root.join(file)).unwrap();
            let named = file.replace("lab01_a__x", "lab01_a__*");
            assert_problems(&root, &[&[named.as_str(), fix]]);
            fs::remove_dir_all(&root).unwrap();
        }
    }

    #[test]
    fn a_lab_file_the_registry_does_not_list_fails() {
        let root = project("registry-extra");
        fs::write(root.join("labs/lab10_x.rs"), "").unwrap();
        fs::write(root.join("tests/lab10_x.rs"), "").unwrap();
        let fix = "add a [lab10_x] table to rubric.toml";
        assert_problems(&root, &[&["labs/lab10_x.rs", fix], &["tests/lab10_x.rs", fix]]);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_registry_entry_without_its_files_fails_and_sync_declares_it() {
        let root = project("registry-new");
        let rubric = format!("{RUBRIC}\n[lab03_c]\ntitle = \"C\"\nsummary = \"the third\"\n[lab03_c.points]\nz = 1\n");
        fs::write(root.join(REGISTRY), rubric).unwrap();
        let sync_it = "run `cargo grade sync`";
        assert_problems(
            &root,
            &[
                &["labs/lab03_c.rs is missing"],
                &["solutions/lab03_c.rs is missing"],
                &["tests/lab03_c.rs is missing"],
                &["src/lib.rs", sync_it],
                &["README.md", sync_it],
                &["GRADING.md", sync_it],
            ],
        );
        sync(&root).unwrap();
        assert!(
            fs::read_to_string(root.join("src/lib.rs"))
                .unwrap()
                .contains("pub mod lab03_c;")
        );
        assert_eq!(problems(&root).unwrap().len(), 3);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_hand_edited_lib_or_a_missing_summary_is_named() {
        let root = project("registry-edited");
        fs::write(root.join("src/lib.rs"), "pub mod lab01_a;\n").unwrap();
        assert_problems(&root, &[&["src/lib.rs is out of date", "cargo grade sync"]]);
        fs::write(root.join(REGISTRY), RUBRIC.replace("summary = \"the second\"\n", "")).unwrap();
        assert_problems(&root, &[&["[lab02_b]", "add `summary = "]]);
        assert!(sync(&root).is_err());
        fs::remove_dir_all(&root).unwrap();
    }
}
