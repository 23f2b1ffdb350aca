//! `cargo grade handout DIR`: the repository students get.
//!
//! Stubs, suites, snapshots, rubric, GRADING.md, the support code, the grader (so
//! `cargo grade` works for them and on every push), a student README and a GitHub
//! Actions workflow. Never `solutions/`, CI scripts, the `solutions` feature, or the
//! grader's own test rig: its fixtures (near-solutions with one mistake), its tests
//! (`grader/tests/`) and its fixture hooks (the `fixture-hooks` feature and its file).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::generated;
use crate::project::{Project, REGISTRY, labs, manifest};

const STUDENT_README: &str = include_str!("../handout/README.md");
const WORKFLOW: &str = include_str!("../handout/grade.yml");
const CARGO_CONFIG: &str = "[alias]\n\
# Grade this checkout: every lab's points, as GitHub Classroom shows them (see GRADING.md).\n\
# Not --quiet: a first run compiles the grader, and cargo's progress shows it.\n\
grade = \"run --package munmap-grader --\"\n\
\n\
# One test thread by default: the suites' tests are #[serial].\n\
[env]\n\
RUST_TEST_THREADS = \"1\"\n";

/// Top-level files copied as they are.
/// `.config/insta.yaml`: a snapshot mismatch fails and leaves no `.snap.new`, under
/// `cargo test` and `cargo insta test` alike.
const AS_IS: &[&str] = &[
    "Cargo.lock",
    "rustfmt.toml",
    ".gitignore",
    ".config/insta.yaml",
    REGISTRY,
    "GRADING.md",
];
/// Folders copied as they are (with the exceptions in [`is_withheld`]).
const FOLDERS: &[&str] = &["labs", "tests", "snapshots", "src", "harness", "protocol", "grader"];

/// The grader's test rig: what only its own tests use.
const RIG: &[&str] = &["grader/fixtures/", "grader/tests/", "grader/src/fixture_hooks.rs"];
/// The grader's feature that compiles its fixture hooks in.
const HOOKS_FEATURE: &str = "fixture-hooks";

/// Paths inside the copied folders that never go to students.
fn is_withheld(rel: &str) -> bool {
    RIG.iter().any(|rig| rel.starts_with(rig))
        || rel.starts_with("grader/target/")
        || rel.ends_with(".snap.new")
        || rel.ends_with(".pending-snap")
}

/// Every file of the handout: relative path to content.
pub fn files(project: &Project) -> Result<BTreeMap<String, Vec<u8>>> {
    let root = &project.root;
    let mut files = BTreeMap::new();
    for name in AS_IS {
        let path = root.join(name);
        if path.is_file() {
            files.insert(name.to_string(), crate::project::files::read(&path)?);
        }
    }
    for folder in FOLDERS {
        let dir = root.join(folder);
        if !dir.is_dir() {
            continue;
        }
        crate::project::files::walk(root, &dir, &mut |rel, path| {
            if !is_withheld(rel) {
                files.insert(rel.to_string(), crate::project::files::read(path)?);
            }
            Ok(())
        })?;
    }
    files.insert("Cargo.toml".into(), student_manifest(root)?);
    files.insert("grader/Cargo.toml".into(), grader_manifest(root)?);
    if let Some(grading) = files.get("GRADING.md") {
        let grading = for_students(&String::from_utf8_lossy(grading));
        files.insert("GRADING.md".into(), grading.into_bytes());
    }
    let lib = generated::labs::lib_rs(&project.labs, generated::labs::Lib::Handout);
    files.insert("src/lib.rs".into(), lib.into_bytes());
    let handed_out = labs::handed_out_file(&project.handed_out);
    files.insert(labs::HANDED_OUT.into(), handed_out.into_bytes());
    files.insert("README.md".into(), STUDENT_README.as_bytes().to_vec());
    files.insert(".cargo/config.toml".into(), CARGO_CONFIG.as_bytes().to_vec());
    files.insert(".github/workflows/grade.yml".into(), WORKFLOW.as_bytes().to_vec());
    Ok(files)
}

/// Writes the handout into `dir`, which must be new or empty.
pub fn export(project: &Project, dir: &Path) -> Result<usize> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!("`{}` is not empty: export the handout into a new folder", dir.display());
    }
    let files = files(project)?;
    for (rel, content) in &files {
        crate::project::files::write_creating(&dir.join(rel), content)?;
    }
    Ok(files.len())
}

/// GRADING.md without its instructors-only parts (between `<!-- instructors only` and
/// `<!-- end of instructors only -->`): students read how they are graded, not an
/// inventory of what the judge cannot stop.
fn for_students(grading: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in grading.lines() {
        if line.starts_with("<!-- instructors only") {
            skipping = true;
        } else if line.starts_with("<!-- end of instructors only") {
            skipping = false;
        } else if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The project's manifest without the `solutions` feature (and the comment above it).
fn student_manifest(root: &Path) -> anyhow::Result<Vec<u8>> {
    let mut manifest = manifest::read(&root.join("Cargo.toml"))?;
    manifest::remove_feature(&mut manifest, "solutions");
    // tests/lab08 names the feature in `cfg!` (which file its compile checks read).
    let why = "\n# The `solutions` feature is not handed out; the suites' `cfg` lines naming it are inert here.\n";
    quiet_cfg(&mut manifest, "solutions", why);
    Ok(manifest.to_string().into_bytes())
}

/// The grader's manifest without its test rig: no `fixture-hooks` feature, no test
/// targets (their files are withheld). The hooks' `cfg` lines stay in the sources, so
/// the feature's name stays known to the compiler, which would warn about it otherwise.
fn grader_manifest(root: &Path) -> anyhow::Result<Vec<u8>> {
    let mut manifest = manifest::read(&root.join("grader/Cargo.toml"))?;
    manifest.remove("features");
    manifest.remove("test");
    quiet_cfg(
        &mut manifest,
        HOOKS_FEATURE,
        "\n# The test rig's feature is not handed out; its `cfg` lines are inert here.\n",
    );
    Ok(manifest.to_string().into_bytes())
}

/// Declares `feature` to the compiler's cfg check (`[lints.rust] unexpected_cfgs`), so
/// code naming a feature that is not handed out builds without a warning that points
/// students at a file they cannot change; `why` is the comment above the table.
fn quiet_cfg(manifest: &mut toml_edit::DocumentMut, feature: &str, why: &str) {
    let quiet: toml_edit::DocumentMut =
        format!("unexpected_cfgs = {{ level = \"warn\", check-cfg = ['cfg(feature, values(\"{feature}\"))'] }}")
            .parse()
            .expect("a valid lint");
    let mut rust = toml_edit::Table::new();
    rust.insert("unexpected_cfgs", quiet["unexpected_cfgs"].clone());
    rust.decor_mut().set_prefix(why);
    let mut lints = toml_edit::Table::new();
    lints.set_implicit(true);
    lints.insert("rust", toml_edit::Item::Table(rust));
    manifest.insert("lints", toml_edit::Item::Table(lints));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `grade` alias of a `.cargo/config.toml`.
    fn grade_alias(config: &str) -> String {
        let config: toml::Table = config.parse().unwrap();
        config["alias"]["grade"].as_str().unwrap().to_string()
    }

    #[test]
    fn the_handout_grades_like_the_project() {
        let project = std::fs::read_to_string(crate::project::root().join(".cargo/config.toml")).unwrap();
        assert_eq!(grade_alias(CARGO_CONFIG), grade_alias(&project));
        let env = |config: &str| config.parse::<toml::Table>().unwrap()["env"].clone();
        assert_eq!(
            env(CARGO_CONFIG),
            env(&project),
            "students' tests run as the project's do"
        );
        assert!(
            !grade_alias(CARGO_CONFIG).contains("--quiet"),
            "a first run must show cargo's progress"
        );
    }

    #[test]
    fn students_get_the_insta_settings() {
        let files = files(&crate::project::this_project()).unwrap();
        let config = String::from_utf8(files[".config/insta.yaml"].clone()).unwrap();
        assert!(config.contains("update: \"no\""), "{config}");
        assert!(config.contains("force_pass: false"), "{config}");
    }

    #[test]
    fn the_lib_takes_labs_only() {
        let lib = String::from_utf8(files(&crate::project::this_project()).unwrap()["src/lib.rs"].clone()).unwrap();
        assert!(!lib.contains("solutions"), "{lib}");
        assert!(
            lib.contains("#[path = \"../labs/lab01_full.rs\"]\npub mod lab01_full;\n"),
            "{lib}"
        );
        assert!(lib.contains("pub use page::{page_size, pages};"), "{lib}");
    }

    #[test]
    fn students_get_grading_without_the_instructors_parts() {
        let doc = "# Grading\nrules\n<!-- instructors only: x -->\n### holes\nsecret\n<!-- end of instructors only -->\nmore\n";
        assert_eq!(for_students(doc), "# Grading\nrules\nmore\n");
    }

    #[test]
    fn the_manifest_loses_the_feature_and_its_comment() {
        let out = String::from_utf8(student_manifest(&crate::project::root()).unwrap()).unwrap();
        let features = &out.parse::<toml::Table>().unwrap()["features"];
        assert!(features.get("solutions").is_none(), "{out}");
        assert!(
            !out.contains("from `solutions/`"),
            "the comment goes with the feature: {out}"
        );
        assert!(out.contains("[dev-dependencies]\nmunmap-lab-harness"), "{out}");
        let lint = &out.parse::<toml::Table>().unwrap()["lints"]["rust"]["unexpected_cfgs"]["check-cfg"][0];
        assert_eq!(lint.as_str(), Some("cfg(feature, values(\"solutions\"))"), "{out}");
    }

    #[test]
    fn the_grader_manifest_loses_the_test_rig_and_keeps_its_cfg_quiet() {
        let out = String::from_utf8(grader_manifest(&crate::project::root()).unwrap()).unwrap();
        let manifest: toml::Table = out.parse().unwrap();
        assert!(manifest.get("features").is_none(), "{out}");
        assert!(manifest.get("test").is_none(), "{out}");
        assert!(!out.contains("Hooks for the grader's own tests"), "{out}");
        let lint = &manifest["lints"]["rust"]["unexpected_cfgs"]["check-cfg"][0];
        assert_eq!(lint.as_str(), Some("cfg(feature, values(\"fixture-hooks\"))"));
        assert!(manifest["dependencies"].get("toml_edit").is_some(), "{out}");
        assert!(is_withheld("grader/tests/common/mod.rs") && is_withheld("grader/src/fixture_hooks.rs"));
        assert!(!is_withheld("grader/src/run.rs"));
        // Idempotent: the handout's own manifest (already without the rig) comes out valid.
        let dir = crate::project::temp_dir("grader-manifest");
        std::fs::create_dir_all(dir.join("grader")).unwrap();
        std::fs::write(dir.join("grader/Cargo.toml"), &out).unwrap();
        let again = String::from_utf8(grader_manifest(&dir).unwrap()).unwrap();
        assert_eq!(again, out);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
