//! `cargo grade merge OUT SHARD_DIR...`: the shards' grades folders (see
//! [`crate::class::shard`]) combined into the gradebook one machine would have written
//! for the whole batch. The merge refuses shards that do not fit together, with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::class::batch;
use crate::class::shard::{Entry, MANIFEST, Manifest, Shard};
use crate::escape::shown;
use crate::model::{Grade, JSON_VERSION};
use crate::project::{Project, files};
use crate::report::gradebook::{self, Roster, Row};
use crate::report::{self, paths};

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
             `cargo grade batch DIR --shard K/N`",
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
    let shard = Shard::parse(&manifest.shard)
        .map_err(anyhow::Error::msg)
        .with_context(|| path.display().to_string())?;
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
/// disagree on the points possible. The class report (`stats`) follows, naming no
/// student when `anonymous`.
pub fn merge(
    project: &Project,
    out: &Path,
    dirs: &[PathBuf],
    roster: Option<&Roster>,
    anonymous: bool,
) -> Result<Merged> {
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
                .map(|name| format!(" (`{}` is in one only)", shown(name)))
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
                    shown(&entry.name),
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
                    "`{}` is in the batch but in no shard's grades (it belongs to shard {}/{n} \
                     if its name is as shown): grade that shard again",
                    shown(name),
                    Shard::of(name.as_bytes(), n)
                );
            }
        }
    }
    if let Some((_, (read, entry))) = owner.into_iter().next() {
        bail!(
            "{} lists `{}`, which is not in the batch it was graded from",
            show(read),
            shown(&entry.name)
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

    let mut keep_out = paths::project_keep_out(project);
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
    let mut grade_files = Vec::new();
    for (read, entry) in &rows_of {
        let json_path = read.dir.join(format!("{}.json", entry.file));
        grade_files.push(json_path.clone());
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
        report::write_file(&out.join(format!("{}.json", entry.file)), json)?;
        report::write_file(&out.join(format!("{}.txt", entry.file)), text)?;
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
    gradebook::write(
        out,
        &first.manifest.labs,
        &possible.manifest.points_possible,
        &rows,
        roster,
    )?;
    crate::class::stats::write(
        out,
        &rows,
        &crate::class::stats::Settings {
            roster,
            anonymous,
            graded_at: crate::class::stats::newest_file(&grade_files),
            seed: None,
        },
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

    /// `shard` writes `shard~2.json`: its grade is not the shard's manifest.
    const BATCH: [&str; 7] = ["Bob", "Dave", "alice", "bob", "carol", "grace", "shard"];

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
        let one = crate::report::gradebook::render(&labs, &[8], &rows, None);
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
                    Ok(g) => report::json(g),
                    Err(e) => report::json_not_graded(e),
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
        let project = crate::project::this_project();
        for n in [1, 2, 3, 5] {
            let (one, dirs) = class(&format!("merge{n}"), n);
            let out = dirs[0].parent().unwrap().join("merged");
            let merged = merge(&project, &out, &dirs, None, false).unwrap();
            assert_eq!((merged.submissions, merged.graded, merged.shards), (7, 6, n));
            assert_eq!(
                std::fs::read_to_string(out.join("gradebook.csv")).unwrap(),
                one,
                "{n} shards"
            );
            assert!(out.join("bob~2.json").is_file() && out.join("carol.txt").is_file());
            let shard = files::read_to_string(&out.join("shard~2.json")).unwrap();
            assert_eq!(grade_of(&shard).unwrap(), Ok(grade(6)), "{n} shards");
            assert!(!out.join("shard.json").exists(), "a merge writes no manifest");
            let stats = std::fs::read_to_string(out.join(crate::class::stats::STATS)).unwrap();
            assert!(
                stats.contains("\"submissions\": 7") && stats.contains("\"graded\": 6"),
                "{stats}"
            );
            std::fs::remove_dir_all(dirs[0].parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn shards_that_do_not_make_up_one_batch_are_refused() {
        let project = crate::project::this_project();
        let (_, dirs) = class("refused", 3);
        let out = dirs[0].parent().unwrap().join("merged");
        let refused = |dirs: &[PathBuf]| format!("{:#}", merge(&project, &out, dirs, None, false).err().unwrap());
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
            merge(&project, &dirs[0].join("merged"), &dirs, None, false)
                .err()
                .unwrap()
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
        let one_empty = merge(&project, &out, &dirs, None, false);
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
}
