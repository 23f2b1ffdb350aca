//! `cargo grade batch DIR`: every subfolder of DIR is one submission. One work directory and
//! one target directory serve them all, so only what a submission changed is
//! rebuilt. A submission that cannot be graded is a row with the reason; the batch
//! goes on. So is a subfolder the grader will not take (a symbolic link, a name that
//! is not UTF-8): nothing in the batch folder is left out silently.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::class::shard::{self, Shard};
use crate::class::stats;
use crate::escape::shown;
use crate::evidence::Reference;
use crate::grade::{self, Options};
use crate::model::Grade;
use crate::project::{Project, files, rubric};
use crate::report::gradebook::{self, Roster};
use crate::report::{self, terminal};
use crate::source::overlay::Source;

/// Why a subfolder whose name is not UTF-8 is not graded (its row shows the name with U+FFFD).
pub const NOT_UTF8: &str = "folder name is not UTF-8: rename it";
/// Why a subfolder that is a symbolic link is not graded.
pub const IS_A_LINK: &str = "is a symbolic link: the grader follows no links; copy the submission in instead";

/// The stems of the files a batch writes beside the submissions' `NAME.json` and
/// `NAME.txt` (`gradebook.csv`, `import.csv`, a shard's `shard.json`, the class report's
/// `stats.json`): no submission's files take them, on a grades folder that tells case
/// apart or not.
pub const BATCH_FILES: &[&str] = &["gradebook", "import", "shard", "stats"];

/// Longest output file stem, in bytes (a file name has at most 255).
const MAX_STEM: usize = 200;

/// One graded submission: its folder name and the grade (or why there is none).
pub struct Graded {
    pub name: String,
    /// The stem of its `.json` and `.txt` in the grades folder (the name, unless that
    /// file is another row's already).
    pub file: String,
    /// The grade, or why there is none: the reason as the gradebook and `NAME.json`
    /// record it (the error's whole chain on one line).
    pub result: Result<Grade, String>,
}

/// Each lab's points possible on this machine: the rubric's points of the tests the
/// reference solutions pass here (a test this machine cannot run is worth nothing to
/// anyone), or all of them when there is no reference.
pub fn points_possible(labs: &[rubric::Lab], reference: Option<&Reference>) -> Vec<u32> {
    labs.iter()
        .map(|lab| {
            lab.points
                .iter()
                .filter(|(test, _)| reference.is_none_or(|r| r.passes.contains(&format!("{}::{test}", lab.id))))
                .map(|(_, points)| points)
                .sum()
        })
        .collect()
}

/// One subfolder of the batch folder.
#[derive(Debug, PartialEq)]
pub struct Folder {
    pub path: PathBuf,
    /// The folder name (lossy: U+FFFD for bytes that are not UTF-8).
    pub name: String,
    /// Why it is listed but not graded.
    pub refused: Option<&'static str>,
}

/// The subfolders of `dir`, sorted by name: hidden ones and plain files skipped, a
/// symbolic link to a folder, a folder named in bytes that are not UTF-8 and one whose
/// name a gradebook reserves ([`gradebook::reserved`]) listed with the reason they are
/// not graded.
pub fn folders(dir: &Path) -> Result<Vec<Folder>> {
    if !dir.is_dir() {
        bail!(
            "batch directory `{}` does not exist or is not a directory",
            dir.display()
        );
    }
    let mut found = Vec::new();
    for entry in files::list(dir)? {
        let file_name = entry.file_name();
        if file_name.as_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let refused = if meta.file_type().is_symlink() {
            if !path.is_dir() {
                continue;
            }
            Some(IS_A_LINK)
        } else if meta.is_dir() {
            match file_name.to_str() {
                None => Some(NOT_UTF8),
                Some(name) => gradebook::reserved(name),
            }
        } else {
            continue;
        };
        let name = file_name.to_string_lossy().into_owned();
        found.push(Folder { path, name, refused });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    if found.is_empty() {
        bail!("`{}` has no submission folders in it", dir.display());
    }
    Ok(found)
}

/// The output file stem of each row: its name (cut to [`MAX_STEM`] bytes), or, when an
/// earlier row already has that stem — the same, or the same but for case, since the
/// grades folder may not tell case apart — or it is one of [`BATCH_FILES`], `NAME~2`,
/// `NAME~3`, ... (never another row's own name). No row's files overwrite another's,
/// nor the batch's own.
pub fn file_stems(names: &[String]) -> Vec<String> {
    let key = |s: &str| s.to_lowercase();
    let names_taken: BTreeSet<String> = names.iter().map(|n| key(&cut(n, MAX_STEM))).collect();
    let mut taken: BTreeSet<String> = BATCH_FILES.iter().map(|f| key(f)).collect();
    names
        .iter()
        .map(|name| {
            let base = cut(name, MAX_STEM);
            let mut stem = base.clone();
            let mut n = 1;
            while taken.contains(&key(&stem)) || (n > 1 && names_taken.contains(&key(&stem))) {
                n += 1;
                stem = format!("{base}~{n}");
            }
            taken.insert(key(&stem));
            stem
        })
        .collect()
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// How a batch is graded, besides where from and where to.
#[derive(Default)]
pub struct BatchSettings<'a> {
    /// What the solutions pass here; graded first when not given.
    pub reference: Option<&'a Reference>,
    /// Student identifiers for the gradebooks.
    pub roster: Option<&'a Roster>,
    /// Grade only this shard of the batch (and write its [`shard::MANIFEST`]).
    pub shard: Option<Shard>,
    /// The class report names no student.
    pub anonymous: bool,
    /// A line per submission on stderr.
    pub progress: bool,
}

/// Grades every submission in `dir` (or of one shard of it), writing `out/NAME.json`,
/// `out/NAME.txt` and `out/gradebook.csv` (with a roster, also `out/import.csv`; with a
/// shard, `out/shard.json`). The reference (what the solutions pass here) is graded
/// first when not given.
pub fn grade_batch(
    project: &Project,
    dir: &Path,
    out: &Path,
    options: &Options,
    how: &BatchSettings,
) -> Result<Vec<Graded>> {
    let BatchSettings {
        reference,
        roster,
        shard,
        anonymous,
        progress,
    } = *how;
    let labs = &project.labs;
    let lab_ids: Vec<String> = labs.iter().map(|l| l.id.clone()).collect();
    let all = folders(dir)?;
    report::paths::check_out_dir(out, dir, &report::paths::project_keep_out(project))?;
    files::create_dir_all(out)?;
    // Stems over the whole batch: a shard names each file as one machine would.
    let batch_names: Vec<String> = all.iter().map(|f| f.name.clone()).collect();
    let stems = file_stems(&batch_names);
    let folders: Vec<(Folder, String)> = all
        .into_iter()
        .zip(stems)
        .filter(|(folder, _)| {
            let name = folder.path.file_name().map_or(&[][..], |n| n.as_bytes());
            shard.is_none_or(|s| s.contains(name))
        })
        .collect();
    // Test processes may read neither the other submissions nor anyone's grades.
    let mut options = options.clone();
    options.hidden.extend([dir.to_path_buf(), out.to_path_buf()]);
    let options = &options;
    let computed;
    let reference = match reference {
        Some(reference) => Some(reference),
        None if folders.iter().all(|(f, _)| f.refused.is_some()) => None,
        None => {
            if progress {
                eprintln!("grading the reference solutions first (a skip counts only where they skip too) ...");
            }
            computed = grade::reference(project, options)?;
            computed.as_ref()
        }
    };
    let count = folders.len();
    let started = Instant::now();
    let mut graded = Vec::new();
    for (i, (folder, file)) in folders.into_iter().enumerate() {
        let name = folder.name;
        let place = format!("[{}/{count}] {} ... ", i + 1, shown(&name));
        // At a terminal the live line shows the submission until its line is complete.
        let live = progress && crate::progress::is_live();
        if progress && !live {
            eprint!("{place}");
        }
        crate::progress::in_batch(i + 1, count);
        let one = Instant::now();
        let result = match folder.refused {
            Some(why) => Err(why.to_string()),
            None => grade::grade(project, &Source::Submission(folder.path), options, reference)
                .map_err(|e| format!("{e:#}")),
        };
        let seconds = one.elapsed().as_secs_f64();
        let outcome = match &result {
            Ok(g) => format!("{}/{} ({seconds:.1} s)", g.score, g.max_score),
            Err(e) => format!("not graded: {} ({seconds:.1} s)", shown(crate::model::first_line(e))),
        };
        if live {
            crate::progress::note(&format!("{place}{outcome}"));
        } else if progress {
            eprintln!("{outcome}");
        }
        let (json, text) = match &result {
            Ok(g) => (report::json(g), terminal::render(g)),
            Err(e) => (report::json_not_graded(e), format!("not graded: {}\n", shown(e))),
        };
        report::write_file(&out.join(format!("{file}.json")), &json)?;
        report::write_file(&out.join(format!("{file}.txt")), &text)?;
        graded.push(Graded { name, file, result });
    }
    crate::progress::clear();
    let rows: Vec<gradebook::Row> = graded
        .iter()
        .map(|g| gradebook::Row {
            name: &g.name,
            result: &g.result,
            file: &g.file,
        })
        .collect();
    let possible = points_possible(labs, reference);
    gradebook::write(out, &lab_ids, &possible, &rows, roster)?;
    let report = stats::write(
        out,
        &rows,
        &stats::Settings {
            roster,
            anonymous,
            graded_at: std::time::SystemTime::now(),
            seed: None,
        },
    )?;
    if let Some(shard) = shard {
        let manifest = shard::Manifest {
            version: crate::model::JSON_VERSION,
            shard: shard.to_string(),
            batch: batch_names.clone(),
            submissions: graded
                .iter()
                .map(|g| shard::Entry {
                    name: g.name.clone(),
                    file: g.file.clone(),
                })
                .collect(),
            labs: lab_ids.clone(),
            points_possible: possible.clone(),
            reference: reference.is_some(),
        };
        report::write_file(&out.join(shard::MANIFEST), &manifest.render())?;
    }
    let total = started.elapsed().as_secs_f64();
    if !progress {
        return Ok(graded);
    }
    let of_shard = match shard {
        Some(shard) => format!(
            " of shard {shard} ({} in the batch; `cargo grade merge` combines the shards)",
            batch_names.len()
        ),
        None => String::new(),
    };
    eprintln!(
        "graded {} of {} submission(s){of_shard} in {total:.1} s ({:.1} s each); gradebook: {}; class report: {}",
        graded.iter().filter(|g| g.result.is_ok()).count(),
        graded.len(),
        total / graded.len().max(1) as f64,
        out.join("gradebook.csv").display(),
        report.display()
    );
    Ok(graded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::fs;

    fn temp(name: &str) -> PathBuf {
        crate::project::temp_dir(&format!("batch-{name}"))
    }

    /// A batch folder with one of everything the grader will not grade.
    fn odd_batch(name: &str) -> PathBuf {
        let dir = temp(name);
        fs::create_dir_all(dir.join("alice/labs")).unwrap();
        fs::create_dir_all(dir.join(".git")).unwrap();
        fs::write(dir.join("README.md"), "x").unwrap();
        fs::create_dir_all(dir.join(OsStr::from_bytes(b"bad\xffname"))).unwrap();
        std::os::unix::fs::symlink(dir.join("alice"), dir.join("linked")).unwrap();
        std::os::unix::fs::symlink(dir.join("README.md"), dir.join("readme-link")).unwrap();
        dir
    }

    #[test]
    fn every_subfolder_is_a_row_links_and_bad_names_with_the_reason() {
        let dir = odd_batch("folders");
        fs::create_dir_all(dir.join("Points Possible")).unwrap();
        let found = folders(&dir).unwrap();
        let rows: Vec<(&str, Option<&str>)> = found.iter().map(|f| (f.name.as_str(), f.refused)).collect();
        assert_eq!(
            rows,
            [
                ("Points Possible", gradebook::reserved("Points Possible")),
                ("alice", None),
                ("bad\u{FFFD}name", Some(NOT_UTF8)),
                ("linked", Some(IS_A_LINK)),
            ]
        );
        assert!(IS_A_LINK.starts_with("is a symbolic link"));
        assert!(found[0].refused.unwrap().contains("Canvas reads as the points row"));
        fs::remove_dir_all(&dir).unwrap();

        let empty = temp("empty");
        fs::write(empty.join("notes.txt"), "x").unwrap();
        assert!(
            folders(&empty)
                .unwrap_err()
                .to_string()
                .contains("has no submission folders")
        );
        fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn no_two_rows_share_an_output_file() {
        let names: Vec<String> = ["a\u{FFFD}", "a\u{FFFD}", "a\u{FFFD}~2", "Bob", "bob", "carol"]
            .map(String::from)
            .to_vec();
        let stems = file_stems(&names);
        assert_eq!(
            stems,
            ["a\u{FFFD}", "a\u{FFFD}~3", "a\u{FFFD}~2", "Bob", "bob~2", "carol"]
        );
        // Nor the batch's own files: a folder named `shard` or `Gradebook` keeps its grade.
        let names: Vec<String> = ["shard", "Gradebook", "import", "shard~2", "alice"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            file_stems(&names),
            ["shard~3", "Gradebook~2", "import~2", "shard~2", "alice"]
        );
        let manifest = shard::MANIFEST.strip_suffix(".json").unwrap();
        assert!(BATCH_FILES.contains(&manifest), "{manifest}");
        let stats = stats::STATS.strip_suffix(".json").unwrap();
        assert!(BATCH_FILES.contains(&stats), "{stats}");
        let stems = file_stems(&["Stats".to_string(), "shard".to_string(), "stats~2".to_string()]);
        assert_eq!(
            stems,
            ["Stats~3", "shard~2", "stats~2"],
            "never the report's or the manifest's file"
        );
        let long = "é".repeat(150);
        let stems = file_stems(&[long.clone(), long.clone() + "x"]);
        assert!(stems.iter().all(|s| s.len() <= MAX_STEM + 3), "{stems:?}");
        assert_ne!(stems[0], stems[1]);
        assert!(long.starts_with(&stems[0]));
    }

    #[test]
    fn rows_that_are_not_graded_are_written_without_a_build() {
        let dir = odd_batch("rows");
        fs::remove_dir_all(dir.join("alice")).unwrap();
        let out = temp("rows-grades");
        let graded = grade_batch(
            &crate::project::this_project(),
            &dir,
            &out,
            &Options::default(),
            &BatchSettings::default(),
        )
        .unwrap();
        let rows: Vec<(&str, &str)> = graded
            .iter()
            .map(|g| (g.name.as_str(), g.result.as_ref().unwrap_err().as_str()))
            .collect();
        assert_eq!(rows, [("bad\u{FFFD}name", NOT_UTF8)]);
        let csv = fs::read_to_string(out.join("gradebook.csv")).unwrap();
        assert!(csv.lines().nth(1).unwrap().starts_with("Points Possible,"), "{csv}");
        let row = csv.lines().nth(2).unwrap();
        assert!(row.starts_with("bad\u{FFFD}name,,"), "{csv}");
        assert!(row.ends_with(&format!(",not graded: {NOT_UTF8}")), "{csv}");
        assert!(out.join("bad\u{FFFD}name.json").is_file());
        // The class report follows every batch, from the same rows.
        let stats = fs::read_to_string(out.join(stats::STATS)).unwrap();
        assert!(stats.contains("\"not_graded\": 1"), "{stats}");
        assert!(out.join(stats::PAGE).is_file());
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn a_folder_name_that_redraws_the_terminal_is_shown_escaped_in_its_report() {
        let dir = temp("escapes");
        let name = "\u{1b}[2J\u{1b}[8mevil\rScore: 94 of 94";
        fs::create_dir_all(dir.join(name)).unwrap();
        let out = temp("escapes-grades");
        let reference = Reference::default();
        let how = BatchSettings {
            reference: Some(&reference),
            ..BatchSettings::default()
        };
        let graded = grade_batch(&crate::project::this_project(), &dir, &out, &Options::default(), &how).unwrap();
        let why = graded[0].result.as_ref().unwrap_err();
        assert!(why.contains(name), "the JSON keeps the name as it is: {why}");
        let text = fs::read_to_string(out.join(format!("{name}.txt"))).unwrap();
        assert!(text.starts_with("not graded: "), "{text}");
        assert!(text.contains("\\x1b[2J\\x1b[8mevil\\rScore: 94 of 94"), "{text}");
        assert!(!text.trim_end_matches('\n').chars().any(char::is_control), "{text:?}");
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn grades_inside_the_batch_folder_are_refused_before_grading() {
        let dir = odd_batch("inside");
        let reference = Reference::default();
        let how = BatchSettings {
            reference: Some(&reference),
            ..BatchSettings::default()
        };
        let err = grade_batch(
            &crate::project::this_project(),
            &dir,
            &dir.join("grades"),
            &Options::default(),
            &how,
        )
        .err()
        .unwrap();
        let err = format!("{err:#}");
        assert!(err.contains("is inside the batch folder"), "{err}");
        assert!(!dir.join("grades").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
