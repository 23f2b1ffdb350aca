//! `cargo grade --watch`: a round of grading now, and another each time a lab file in
//! `labs/` is saved, as rustlings' watch mode does for its exercises.
//!
//! This module only watches: it tells the round which lab was saved (none for the
//! first round), and the caller decides what a round runs (main.rs: that lab's
//! `cargo test`, then every lab's points). Saves are read from the kernel (inotify,
//! through the `notify` crate) and settled for a moment, so an editor that writes a
//! file in several steps (a temporary file, a rename) starts one round, not three.
//! A lab counts as saved only when its content changed: a round reads every lab file
//! (cargo, the grader), and the kernel reports those reads too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, new_debouncer};

/// How long saves must settle before a round starts (an editor's write, rename and
/// touch of one save come within a few milliseconds).
const SETTLE: Duration = Duration::from_millis(300);

/// Runs `round(None)`, then `round(Some(lab))` each time `labs/LAB.rs` under `root` is
/// saved, for every lab id in `labs`, until the process is stopped (Ctrl-C). Saves
/// made while a round runs start one round after it.
pub fn watch(root: &Path, labs: &BTreeSet<String>, mut round: impl FnMut(Option<&str>)) -> Result<()> {
    let dir = root.join("labs");
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(SETTLE, tx).context("cannot watch for saved files")?;
    debouncer
        .watcher()
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    let mut seen: BTreeMap<String, Option<Vec<u8>>> =
        labs.iter().map(|lab| (lab.clone(), content(&dir, lab))).collect();
    round(None);
    waiting();
    loop {
        let events = rx.recv().context("the file watcher stopped")?;
        // Saves that came while the last round ran: one round for all of them.
        let more = rx.try_iter().collect::<Vec<_>>();
        let touched: BTreeSet<String> = std::iter::once(events)
            .chain(more)
            .filter_map(|result| result.ok())
            .flatten()
            .filter_map(|event| saved_lab(&event.path, labs))
            .collect();
        let mut saved = None;
        for lab in touched {
            let now = content(&dir, &lab);
            if seen.get(&lab) != Some(&now) {
                seen.insert(lab.clone(), now);
                saved = Some(lab);
            }
        }
        if let Some(lab) = saved {
            round(Some(&lab));
            waiting();
        }
    }
}

/// What `labs/LAB.rs` holds now (None while it is missing, as in the middle of a save).
fn content(dir: &Path, lab: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(format!("{lab}.rs"))).ok()
}

/// Says, after each round, that the next one waits for a save.
fn waiting() {
    eprintln!("\nWatching labs/: save a lab file to run its tests again (Ctrl-C stops).");
}

/// The lab whose file `path` is (`labs/LAB.rs` for a lab of `labs`), or None: an
/// editor's swap and backup files (`.lab02.rs.swp`, `lab02.rs~`, `4913`) start no round.
fn saved_lab(path: &Path, labs: &BTreeSet<String>) -> Option<String> {
    let stem = path.file_name()?.to_str()?.strip_suffix(".rs")?;
    labs.contains(stem).then(|| stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labs() -> BTreeSet<String> {
        ["lab01_full", "lab02_partial"].map(String::from).into()
    }

    #[test]
    fn only_a_lab_file_starts_a_round() {
        let labs = labs();
        assert_eq!(
            saved_lab(Path::new("/x/labs/lab02_partial.rs"), &labs).as_deref(),
            Some("lab02_partial")
        );
        for other in [
            "/x/labs/.lab02_partial.rs.swp",
            "/x/labs/lab02_partial.rs~",
            "/x/labs/4913",
            "/x/labs/lab03_spanning.rs",
            "/x/labs/notes.txt",
        ] {
            assert_eq!(saved_lab(Path::new(other), &labs), None, "{other}");
        }
    }

    /// A real save, seen through the kernel: the first round, then the saved lab's.
    #[test]
    fn a_save_starts_a_round_for_its_lab() {
        let root = crate::project::temp_dir("watch");
        std::fs::create_dir_all(root.join("labs")).unwrap();
        std::fs::write(root.join("labs/lab01_full.rs"), "// stub").unwrap();
        std::fs::write(root.join("labs/lab02_partial.rs"), "// stub").unwrap();
        let (tx, rx) = mpsc::channel();
        let watched = root.clone();
        std::thread::spawn(move || {
            let _ = watch(&watched, &labs(), |saved| {
                let _ = tx.send(saved.map(String::from));
            });
        });
        let first = rx.recv_timeout(Duration::from_secs(60)).expect("the first round");
        assert_eq!(first, None);
        // A read and a write of the same content start no round.
        std::fs::read(root.join("labs/lab01_full.rs")).unwrap();
        std::fs::write(root.join("labs/lab01_full.rs"), "// stub").unwrap();
        // An editor's swap file, then the lab itself: one round, for the lab.
        std::fs::write(root.join("labs/.lab02_partial.rs.swp"), "x").unwrap();
        std::fs::write(root.join("labs/lab02_partial.rs"), "// answer").unwrap();
        let saved = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a round after the save");
        assert_eq!(saved.as_deref(), Some("lab02_partial"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
