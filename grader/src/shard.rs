//! A class graded on several machines: `cargo grade --batch DIR --shard K/N` grades one
//! shard of DIR, and `cargo grade merge OUT SHARD_DIR...` combines the shards' grades
//! into the gradebook one machine would have written for the whole batch.
//!
//! A submission folder belongs to shard `crc32(name) % N + 1` (the CRC-32 of the
//! folder name's bytes, as zlib computes it; in Python,
//! `zlib.crc32(name.encode()) % N + 1`). So every folder is in exactly one shard, and
//! adding or removing folders moves no other folder to another shard.
//!
//! Besides the usual `NAME.json`, `NAME.txt` and `gradebook.csv` of its submissions, a
//! shard writes [`MANIFEST`]: which shard it is, every folder of the batch (so a merge
//! can tell a missing shard or a different batch), its submissions and the file stem
//! of each (the one a single machine would give it), and the points possible on its
//! machine. The merge refuses shards that do not fit together, with the reason.

use anyhow::{Context, Result, anyhow, bail};

use crate::files;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::batch;
use crate::cli::UsageError;
use crate::model::{Grade, JSON_VERSION};
use crate::output::gradebook::{Roster, Row};
use crate::output::{self, paths};

/// The file a shard writes beside its grades.
pub const MANIFEST: &str = "shard.json";

/// Shard `k` of `n` (1 <= k <= n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Shard {
    /// `K/N`, e.g. `2/4`.
    pub fn parse(text: &str) -> Result<Shard, UsageError> {
        let wrong = || {
            UsageError::from(format!(
                "--shard {text}: give K/N, shard K of N, e.g. --shard 2/4 (1 <= K <= N)"
            ))
        };
        let (k, n) = text.split_once('/').ok_or_else(wrong)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| wrong())?,
            n.trim().parse().map_err(|_| wrong())?,
        );
        if k == 0 || k > n {
            return Err(wrong());
        }
        Ok(Shard { k, n })
    }

    /// The shard (1 to `n`) a submission folder named `name` belongs to.
    pub fn of(name: &[u8], n: u32) -> u32 {
        crc32fast::hash(name) % n + 1
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        Shard::of(name, self.n) == self.k
    }
}

/// What a shard writes in [`MANIFEST`].
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// `K/N`.
    pub shard: String,
    /// Every folder of the batch (names as the gradebook shows them), in its order.
    pub batch: Vec<String>,
    /// This shard's submissions, in the batch's order.
    pub submissions: Vec<Entry>,
    /// The rubric's labs, in order.
    pub labs: Vec<String>,
    /// Each lab's points possible on this shard's machine.
    pub points_possible: Vec<u32>,
    /// Whether the reference solutions were graded here (they are not when the shard has
    /// nothing to grade): only then does `points_possible` say what this machine can run.
    pub reference: bool,
}

/// One submission of a shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The folder name, as the gradebook shows it.
    pub name: String,
    /// The stem of its `.json` and `.txt` in the grades folder.
    pub file: String,
}

impl Manifest {
    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest is always valid JSON") + "\n"
    }
}

/// A shard's grades folder, read back.
struct Read {
    dir: PathBuf,
    shard: Shard,
    manifest: Manifest,
}

fn read_shard(dir: &Path) -> Result<Read> {
    let path = dir.join(MANIFEST);
    if !dir.is_dir() {
        bail!("`{}` does not exist or is not a folder", dir.display());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow!(
            "`{}` holds no shard's grades ({MANIFEST}: {e}): give the --out folders of \
             `cargo grade --batch DIR --shard K/N`",
            dir.display()
        )
    })?;
    let manifest: Manifest =
        serde_json::from_str(&text).with_context(|| format!("{} cannot be read", path.display()))?;
    if manifest.version != JSON_VERSION {
        bail!(
            "{} is version {}, this grader reads version {JSON_VERSION}: merge with the grader that graded the shards",
            path.display(),
            manifest.version
        );
    }
    let shard = Shard::parse(&manifest.shard).with_context(|| path.display().to_string())?;
    Ok(Read {
        dir: dir.to_path_buf(),
        shard,
        manifest,
    })
}

/// What a merge wrote.
pub struct Merged {
    pub submissions: usize,
    pub graded: usize,
    pub shards: u32,
}

/// Combines the shards' grades in `dirs` into `out`: every submission's `NAME.json`
/// and `NAME.txt`, `gradebook.csv` (and with a roster `import.csv`), exactly as one
/// machine grading the whole batch writes them. Refused, before anything is written,
/// when the shards do not make up one batch: a shard missing or given twice, shards of
/// different batches or counts, a submission in no shard or in two, or machines that
/// disagree on the points possible.
pub fn merge(root: &Path, out: &Path, dirs: &[PathBuf], roster: Option<&Roster>) -> Result<Merged> {
    let shards: Vec<Read> = dirs.iter().map(|d| read_shard(d)).collect::<Result<_, _>>()?;
    let first = shards.first().context("give at least one shard's grades folder")?;
    let n = first.shard.n;
    let show = |r: &Read| format!("{} (shard {})", r.dir.display(), r.shard);
    for other in &shards {
        if other.shard.n != first.shard.n {
            bail!(
                "{} and {} split the batch in different numbers of shards: merge the shards of one run",
                show(first),
                show(other)
            );
        }
        if other.manifest.batch != first.manifest.batch {
            let only = first
                .manifest
                .batch
                .iter()
                .find(|name| !other.manifest.batch.contains(name))
                .or_else(|| {
                    other
                        .manifest
                        .batch
                        .iter()
                        .find(|name| !first.manifest.batch.contains(name))
                })
                .map(|name| format!(" (`{name}` is in one only)"))
                .unwrap_or_default();
            bail!(
                "{} and {} graded different batches{only}: grade every shard from the same batch folder",
                show(first),
                show(other)
            );
        }
        if other.manifest.labs != first.manifest.labs {
            bail!(
                "{} and {} were graded with different rubrics: grade every shard with the same checkout",
                show(first),
                show(other)
            );
        }
    }
    let mut by_k: BTreeMap<u32, &Read> = BTreeMap::new();
    for read in &shards {
        if let Some(twice) = by_k.insert(read.shard.k, read) {
            bail!(
                "shard {} is given twice: {} and {}",
                read.shard,
                twice.dir.display(),
                read.dir.display()
            );
        }
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !by_k.contains_key(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard{} {} missing: give the grades folder of every shard from 1/{n} to {n}/{n}",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ") + if missing.len() == 1 { " is" } else { " are" },
        );
    }

    // Every submission of the batch in exactly one shard, with the file one machine gives it.
    let batch_names = &first.manifest.batch;
    let stems = batch::file_stems(batch_names);
    let mut owner: BTreeMap<&str, (&Read, &Entry)> = BTreeMap::new();
    for read in &shards {
        for entry in &read.manifest.submissions {
            if let Some((other, _)) = owner.insert(entry.file.as_str(), (read, entry)) {
                bail!(
                    "`{}` is in two shards, {} and {}: a submission belongs to one shard only",
                    entry.name,
                    show(other),
                    show(read)
                );
            }
        }
    }
    let mut rows_of = Vec::new();
    for (name, stem) in batch_names.iter().zip(&stems) {
        match owner.remove(stem.as_str()) {
            Some((read, entry)) if entry.name == *name => rows_of.push((read, entry)),
            _ => {
                bail!(
                    "`{name}` is in the batch but in no shard's grades (it belongs to shard {}/{n} \
                     if its name is as shown): grade that shard again",
                    Shard::of(name.as_bytes(), n)
                );
            }
        }
    }
    if let Some((_, (read, entry))) = owner.into_iter().next() {
        bail!(
            "{} lists `{}`, which is not in the batch it was graded from",
            show(read),
            entry.name
        );
    }

    // The points possible: what the machines that graded the reference say, all the same.
    let graded_here: Vec<&Read> = shards.iter().filter(|r| r.manifest.reference).collect();
    let possible = graded_here.first().copied().unwrap_or(first);
    for other in &graded_here {
        if other.manifest.points_possible != possible.manifest.points_possible {
            let labs = &first.manifest.labs;
            let differ: Vec<String> = labs
                .iter()
                .enumerate()
                .filter(|(i, _)| other.manifest.points_possible.get(*i) != possible.manifest.points_possible.get(*i))
                .map(|(i, lab)| {
                    format!(
                        "{lab}: {} in shard {}, {} in shard {}",
                        possible.manifest.points_possible.get(i).copied().unwrap_or_default(),
                        possible.shard,
                        other.manifest.points_possible.get(i).copied().unwrap_or_default(),
                        other.shard
                    )
                })
                .collect();
            bail!(
                "the shards' machines can run different tests ({}), so their grades do not compare: \
                 grade every shard on the same kind of machine",
                differ.join("; ")
            );
        }
    }

    let mut keep_out = paths::project_keep_out(root);
    for read in &shards {
        if paths::resolve(out).starts_with(paths::resolve(&read.dir)) {
            bail!(
                "{} is inside {}: write the merged gradebook somewhere else",
                out.display(),
                show(read)
            );
        }
        keep_out.push((read.dir.clone(), "a shard's grades".to_string()));
    }
    paths::check_out_dir(out, &first.dir, &keep_out)?;

    let mut results = Vec::new();
    for (read, entry) in &rows_of {
        let json_path = read.dir.join(format!("{}.json", entry.file));
        let json = files::read_to_string(&json_path)?;
        let text_path = read.dir.join(format!("{}.txt", entry.file));
        let text = files::read_to_string(&text_path)?;
        results.push((
            grade_of(&json).with_context(|| json_path.display().to_string())?,
            json,
            text,
        ));
    }
    files::create_dir_all(out)?;
    for ((_, entry), (_, json, text)) in rows_of.iter().zip(&results) {
        output::write_file(&out.join(format!("{}.json", entry.file)), json)?;
        output::write_file(&out.join(format!("{}.txt", entry.file)), text)?;
    }
    let rows: Vec<Row> = rows_of
        .iter()
        .zip(&results)
        .map(|((_, entry), (result, _, _))| Row {
            name: &entry.name,
            result,
            file: &entry.file,
        })
        .collect();
    batch::write_gradebooks(
        out,
        &first.manifest.labs,
        &possible.manifest.points_possible,
        &rows,
        roster,
    )?;
    Ok(Merged {
        submissions: rows.len(),
        graded: rows.iter().filter(|r| r.result.is_ok()).count(),
        shards: n,
    })
}

/// A submission's grade from its `NAME.json`, or why it was not graded.
fn grade_of(json: &str) -> Result<Result<Grade, String>> {
    let value: serde_json::Value = serde_json::from_str(json).context("not a grade")?;
    if let Some(error) = value.get("error") {
        return Ok(Err(error.as_str().unwrap_or_default().to_string()));
    }
    let grade: Grade = serde_json::from_value(value).context("not a grade")?;
    Ok(Ok(grade))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, LabStatus};

    fn temp(name: &str) -> PathBuf {
        crate::project::temp_dir(&format!("shard-{name}"))
    }

    fn grade(score: u32) -> Grade {
        Grade::new(vec![LabGrade {
            id: "lab01".into(),
            title: String::new(),
            score,
            max_score: 8,
            status: LabStatus::Graded,
            message: String::new(),
            tests: vec![],
        }])
    }

    const BATCH: [&str; 6] = ["Bob", "Dave", "alice", "bob", "carol", "grace"];

    /// What one machine writes for [`BATCH`] (carol not graded), and the folders of
    /// `n` shards of it (from `shards_of`, each written like `--shard K/N` writes it).
    fn class(name: &str, n: u32) -> (String, Vec<PathBuf>) {
        let base = temp(name);
        let names: Vec<String> = BATCH.map(String::from).to_vec();
        let stems = batch::file_stems(&names);
        let results: Vec<Result<Grade, String>> = (0..names.len())
            .map(|i| {
                if names[i] == "carol" {
                    Err("no labs/".into())
                } else {
                    Ok(grade(i as u32))
                }
            })
            .collect();
        let rows: Vec<Row> = (0..names.len())
            .map(|i| Row {
                name: &names[i],
                result: &results[i],
                file: &stems[i],
            })
            .collect();
        let labs = vec!["lab01".to_string()];
        let one = crate::output::gradebook::render(&labs, &[8], &rows, None);
        let mut dirs = Vec::new();
        for k in 1..=n {
            let shard = Shard { k, n };
            let dir = base.join(format!("shard-{k}"));
            std::fs::create_dir_all(&dir).unwrap();
            let mut submissions = Vec::new();
            for (i, name) in names
                .iter()
                .enumerate()
                .filter(|(_, name)| shard.contains(name.as_bytes()))
            {
                let json = match &results[i] {
                    Ok(g) => output::json(g),
                    Err(e) => output::json_not_graded(e),
                };
                std::fs::write(dir.join(format!("{}.json", stems[i])), json).unwrap();
                std::fs::write(dir.join(format!("{}.txt", stems[i])), name).unwrap();
                submissions.push(Entry {
                    name: name.clone(),
                    file: stems[i].clone(),
                });
            }
            let manifest = Manifest {
                version: JSON_VERSION,
                shard: shard.to_string(),
                batch: names.clone(),
                submissions,
                labs: labs.clone(),
                points_possible: vec![8],
                reference: true,
            };
            std::fs::write(dir.join(MANIFEST), manifest.render()).unwrap();
            dirs.push(dir);
        }
        (one, dirs)
    }

    fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Manifest)) {
        let mut manifest = read_shard(dir).unwrap().manifest;
        edit(&mut manifest);
        std::fs::write(dir.join(MANIFEST), manifest.render()).unwrap();
    }

    #[test]
    fn shards_merge_into_the_gradebook_of_one_machine() {
        let root = crate::project::root();
        for n in [1, 2, 3, 5] {
            let (one, dirs) = class(&format!("merge{n}"), n);
            let out = dirs[0].parent().unwrap().join("merged");
            let merged = merge(&root, &out, &dirs, None).unwrap();
            assert_eq!((merged.submissions, merged.graded, merged.shards), (6, 5, n));
            assert_eq!(
                std::fs::read_to_string(out.join("gradebook.csv")).unwrap(),
                one,
                "{n} shards"
            );
            assert!(out.join("bob~2.json").is_file() && out.join("carol.txt").is_file());
            std::fs::remove_dir_all(dirs[0].parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn shards_that_do_not_make_up_one_batch_are_refused() {
        let root = crate::project::root();
        let (_, dirs) = class("refused", 3);
        let out = dirs[0].parent().unwrap().join("merged");
        let refused = |dirs: &[PathBuf]| format!("{:#}", merge(&root, &out, dirs, None).err().unwrap());
        let err = refused(&dirs[..2]);
        assert!(err.starts_with("shard 3/3 is missing"), "{err}");
        let err = refused(&[dirs[0].clone()]);
        assert!(err.starts_with("shards 2/3, 3/3 are missing"), "{err}");
        let err = refused(&[dirs[0].clone(), dirs[1].clone(), dirs[2].clone(), dirs[1].clone()]);
        assert!(err.starts_with("shard 2/3 is given twice"), "{err}");
        let err = refused(&[dirs[0].clone(), out.clone()]);
        assert!(err.contains("does not exist"), "{err}");
        let err = refused(&[dirs[0].clone(), dirs[0].parent().unwrap().to_path_buf()]);
        assert!(err.contains("holds no shard's grades"), "{err}");
        let err = format!(
            "{:#}",
            merge(&root, &dirs[0].join("merged"), &dirs, None).err().unwrap()
        );
        assert!(err.contains("is inside"), "{err}");
        assert!(!out.exists(), "nothing is written when refused");

        let (_, other) = class("refused-other", 2);
        let err = refused(&[dirs[0].clone(), dirs[1].clone(), other[1].clone()]);
        assert!(err.contains("different numbers of shards"), "{err}");
        std::fs::remove_dir_all(other[0].parent().unwrap()).unwrap();

        edit_manifest(&dirs[2], |m| m.batch.push("zed".into()));
        let err = refused(&dirs);
        assert!(err.contains("graded different batches (`zed` is in one only)"), "{err}");
        edit_manifest(&dirs[2], |m| {
            m.batch.pop();
            m.points_possible = vec![6];
        });
        let err = refused(&dirs);
        assert!(
            err.contains("can run different tests (lab01: 8 in shard 1/3, 6 in shard 3/3)"),
            "{err}"
        );
        // A shard that graded nothing (no reference) does not count for the points possible.
        edit_manifest(&dirs[2], |m| m.reference = false);
        let one_empty = merge(&root, &out, &dirs, None);
        assert!(one_empty.is_ok(), "{:?}", one_empty.err());
        std::fs::remove_dir_all(&out).unwrap();

        let moved = read_shard(&dirs[0]).unwrap().manifest.submissions[0].clone();
        edit_manifest(&dirs[1], |m| m.submissions.push(moved.clone()));
        let err = refused(&dirs);
        assert!(err.contains(&format!("`{}` is in two shards", moved.name)), "{err}");
        edit_manifest(&dirs[1], |m| {
            m.submissions.pop();
        });
        edit_manifest(&dirs[0], |m| {
            m.submissions.remove(0);
        });
        let err = refused(&dirs);
        assert!(
            err.contains(&format!("`{}` is in the batch but in no shard's grades", moved.name)),
            "{err}"
        );
        std::fs::remove_dir_all(dirs[0].parent().unwrap()).unwrap();
    }

    /// The `cargo grade` commands of the class workflow instructors copy, as its jobs
    /// run them (shard 2 of its matrix).
    #[test]
    fn the_class_workflow_grades_every_shard_and_merges_them() {
        let root = crate::project::root();
        // An instructors' file, read at run time: the student handout has no docs/ (nor
        // solutions/), and its `cargo test` of the grader must still build and pass.
        let Ok(workflow) = std::fs::read_to_string(root.join("docs/grade-class.yml")) else {
            assert!(!root.join("solutions").exists(), "docs/grade-class.yml is missing");
            return;
        };
        let shards = workflow
            .lines()
            .find_map(|l| l.trim().strip_prefix("shard: ["))
            .expect("a matrix of shards")
            .trim_end_matches(']')
            .split(", ")
            .count();
        let commands: Vec<crate::cli::Command> = workflow
            .lines()
            .filter_map(|line| match line.split_once("run: cargo grade ") {
                Some((_, command)) => Some(command),
                None => line.trim().strip_prefix("cargo grade "),
            })
            .map(|command| {
                let command = command
                    .replace("${{ matrix.shard }}", "2")
                    .replace("${{ strategy.job-total }}", &shards.to_string())
                    .replace("\"$SUBMISSIONS\"", "submissions")
                    .replace("\"$ROSTER\"", "roster.csv")
                    .replace("shards/grades-*", "shards/grades-1 shards/grades-2")
                    .replace(" || [ $? -eq 3 ]", ""); // status 3: some submission not graded
                let words: Vec<String> = command.split_whitespace().map(String::from).collect();
                crate::cli::parse(&words).unwrap_or_else(|e| panic!("{command}: {e}"))
            })
            .collect();
        assert_eq!(commands.len(), 3, "{commands:?}");
        let shard = Shard { k: 2, n: shards as u32 };
        assert!(
            matches!(&commands[0], crate::cli::Command::Batch { shard: Some(s), out, .. }
                if *s == shard && out == Path::new("grades")),
            "{commands:?}"
        );
        for merge in &commands[1..] {
            assert!(
                matches!(merge, crate::cli::Command::Merge { out, shards, .. }
                    if out == Path::new("gradebook") && shards.len() == 2),
                "{merge:?}"
            );
        }
        assert!(workflow.contains("name: grades-${{ matrix.shard }}") && workflow.contains("pattern: grades-*"));
    }

    #[test]
    fn a_shard_is_k_of_n() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { k: 2, n: 4 });
        assert_eq!(Shard::parse("1/1").unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "2", "a/b", "2/0", "-1/4", "/4", ""] {
            let err = Shard::parse(bad).unwrap_err();
            assert!(err.to_string().contains("give K/N"), "{bad}: {err}");
        }
    }

    #[test]
    fn every_folder_is_in_exactly_one_shard_and_stays_there() {
        let names: Vec<String> = (0..200).map(|i| format!("student{i:03}")).collect();
        for n in 1..=7 {
            let mut sizes = vec![0; n as usize];
            for name in &names {
                let owners: Vec<u32> = (1..=n).filter(|&k| Shard { k, n }.contains(name.as_bytes())).collect();
                assert_eq!(owners.len(), 1, "{name} in {owners:?} of {n}");
                sizes[owners[0] as usize - 1] += 1;
            }
            // Spread out, roughly evenly.
            assert!(sizes.iter().all(|&s| s > 200 / n as usize / 2), "{n}: {sizes:?}");
        }
        // The split is zlib's CRC-32 of the name: the same on every machine and in any language.
        assert_eq!(crc32fast::hash(b"alice"), 0x278e_bc47);
        assert_eq!(Shard::of(b"alice", 4), 0x278e_bc47 % 4 + 1);
    }
}
