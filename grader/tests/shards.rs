//! A small batch graded on "one machine" and as 3 shards (`--shard K/3`, then
//! `merge`) gives the same `gradebook.csv`, byte for byte, the same files and the same
//! grades (the messages aside, which hold addresses and thread ids). The batch has a
//! case-insensitive name clash across shards (`Alice`, `alice`: files `Alice` and
//! `alice~2`), a submission not graded (no `labs/`), one with a lab left as the stub
//! and one nobody started; every shard has one.

mod common;

use std::path::{Path, PathBuf};

use common::grader::{self, Call};

const N: u32 = 3;

/// Copies every `.rs` file of the project's folder `from` into `dir/labs/`.
fn copy_labs(from: &str, dir: &Path) {
    let source = common::root().join(from);
    for entry in std::fs::read_dir(&source).unwrap().filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rs") {
            common::write(&dir.join("labs").join(path.file_name().unwrap()), common::read(&path));
        }
    }
}

/// The names of the files in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// A grade's JSON without what changes from run to run: test messages (addresses,
/// thread ids) and wall times.
fn without_run_details(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.contains_key("status") && map.contains_key("name") {
                map.remove("message");
                map.remove("seconds");
            }
            map.values_mut().for_each(without_run_details);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_run_details),
        _ => {}
    }
}

#[test]
fn shards_merge_into_one_machines_gradebook() {
    let _serial = common::serial();
    let base = common::fresh_dir("shards");
    let dir = base.join("batch");
    copy_labs("solutions", &dir.join("alice"));
    copy_labs("solutions", &dir.join("Alice"));
    common::write(
        &dir.join("Alice/labs/lab03_spanning.rs"),
        common::read(&common::root().join("labs/lab03_spanning.rs")),
    );
    copy_labs("labs", &dir.join("grace"));
    std::fs::create_dir_all(dir.join("carol")).unwrap();

    let whole = base.join("one-machine");
    // 3: carol (no labs/) is not graded, and says so in her row.
    grader::run(
        &Call::Batch {
            dir: &dir,
            out: &whole,
            shard: None,
        },
        &[],
    )
    .expect_code(3);
    let mut shard_dirs: Vec<PathBuf> = Vec::new();
    for k in 1..=N {
        let out = base.join(format!("shard-{k}"));
        let ran = grader::run(
            &Call::Batch {
                dir: &dir,
                out: &out,
                shard: Some((k, N)),
            },
            &[],
        );
        assert!(
            matches!(ran.code, Some(0 | 3)),
            "shard {k}/{N}: {:?}\n{}",
            ran.code,
            ran.stderr
        );
        assert!(
            names(&out).iter().any(|n| n.ends_with(".json")),
            "shard {k}/{N} holds no submission: choose other names for the sample batch"
        );
        shard_dirs.push(out);
    }
    let merged = base.join("merged");
    grader::run(
        &Call::Merge {
            out: &merged,
            shards: &shard_dirs,
        },
        &[],
    )
    .expect_success();

    let mut problems = Vec::new();
    let (one, many) = (
        common::read(&whole.join("gradebook.csv")),
        common::read(&merged.join("gradebook.csv")),
    );
    if one != many {
        problems.push(format!(
            "gradebook.csv differs:\none machine:\n{one}merged shards:\n{many}"
        ));
    }
    let (one_files, many_files) = (names(&whole), names(&merged));
    if one_files != many_files {
        problems.push(format!(
            "files differ: one machine {one_files:?}, merged {many_files:?}"
        ));
    }
    // stats.json is the class report's numbers: its time and messages belong to its run.
    for name in one_files.iter().filter(|n| n.ends_with(".json") && *n != "stats.json") {
        let value = |dir: &Path| {
            let mut value: serde_json::Value = serde_json::from_str(&common::read(&dir.join(name))).unwrap();
            without_run_details(&mut value);
            value
        };
        if value(&whole) != value(&merged) {
            problems.push(format!("{name}: the grades differ"));
        }
    }
    for file in ["Alice.json", "alice~2.json", "grace.json", "carol.json"] {
        if !one_files.iter().any(|n| n == file) {
            problems.push(format!("one machine's grades lack {file}: {one_files:?}"));
        }
    }
    common::assert_no_problems(&problems, &base);
}
