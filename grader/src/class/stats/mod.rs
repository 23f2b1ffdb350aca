//! The class report: `OUT/report.html` and `OUT/stats.json`, from a batch's grades.
//!
//! One stage, after grading: it reads the grades a batch or a merge wrote (the
//! [`Grade`] values, or the `NAME.json` files of a grades folder for `cargo grade
//! report`) and never grades anything itself.
//!
//! ```text
//! grade_batch / merge ──rows──┐
//!                             ├─> compute::class_stats ─> stats.json
//! cargo grade report OUT ─────┘            └──> html::render (+ charts) ─> report.html
//!      (read::rows: OUT/NAME.json)
//! ```
//!
//! What it says of each test is item analysis, as Moodle's quiz statistics show it:
//! facility (who passed), discrimination (does passing go with a higher score
//! elsewhere: [`compute::DISCRIMINATION_MEANS`]), the statuses and the most common
//! failure reasons ([`reasons`]). `stats.json` names no student; the page names them
//! by the roster when one is given, by folder otherwise, and not at all when anonymous.

mod charts;
pub mod compute;
mod html;
mod read;
pub mod reasons;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Result;

use crate::model::Grade;
use crate::report::gradebook::{Roster, Row};

/// The page, in the grades folder.
pub const PAGE: &str = "report.html";
/// The numbers, in the grades folder.
pub const STATS: &str = "stats.json";

/// How the report is made, besides from which grades.
pub struct Settings<'a> {
    /// Names students by its first identifier column.
    pub roster: Option<&'a Roster>,
    /// Names no student at all (a report to show the class).
    pub anonymous: bool,
    /// When the grades were made.
    pub graded_at: SystemTime,
    /// The seed of the draw of test cases (none yet: the suites' defaults).
    pub seed: Option<u64>,
}

/// The submissions as the page names them.
pub struct Named<'a> {
    pub rows: Vec<NamedRow<'a>>,
    /// How: "folder name", or the roster's column.
    pub by: String,
}

pub struct NamedRow<'a> {
    pub name: String,
    pub result: &'a Result<Grade, String>,
    /// What the name needs said of it (a folder the roster does not list).
    pub note: String,
}

fn named<'a>(rows: &[Row<'a>], roster: Option<&Roster>) -> Named<'a> {
    let Some(roster) = roster else {
        return Named {
            rows: rows
                .iter()
                .map(|row| NamedRow {
                    name: row.name.to_string(),
                    result: row.result,
                    note: String::new(),
                })
                .collect(),
            by: "folder name".to_string(),
        };
    };
    let column = roster.columns.first().cloned().unwrap_or_default();
    Named {
        rows: rows
            .iter()
            .map(|row| match roster.entries.iter().find(|e| e.folder == row.name) {
                Some(entry) => NamedRow {
                    name: entry.ids.first().cloned().unwrap_or_default(),
                    result: row.result,
                    note: String::new(),
                },
                None => NamedRow {
                    name: row.name.to_string(),
                    result: row.result,
                    note: "folder not in the roster".to_string(),
                },
            })
            .collect(),
        by: format!("the roster's `{column}` (a folder it does not list: by folder name)"),
    }
}

/// Writes `out/report.html` and `out/stats.json` for `rows` (every submission of the
/// batch, graded or not); returns the page's path.
pub fn write(out: &Path, rows: &[Row], settings: &Settings) -> Result<PathBuf> {
    let results: Vec<&Result<Grade, String>> = rows.iter().map(|r| r.result).collect();
    let graded_at = humantime::format_rfc3339_seconds(settings.graded_at).to_string();
    let stats = compute::class_stats(&results, graded_at, settings.seed);
    let json = serde_json::to_string_pretty(&stats).expect("the class's numbers are always valid JSON") + "\n";
    let names = (!settings.anonymous).then(|| named(rows, settings.roster));
    let page = html::render(&stats, names.as_ref());
    crate::report::write_file(&out.join(STATS), &json)?;
    let path = out.join(PAGE);
    crate::report::write_file(&path, &page)?;
    Ok(path)
}

/// `cargo grade report DIR`: the report of the grades already in `dir`, rebuilt.
pub fn rebuild(dir: &Path, roster: Option<&Roster>, anonymous: bool) -> Result<PathBuf> {
    let read = read::rows(dir)?;
    let rows: Vec<Row> = read
        .iter()
        .map(|r| Row {
            name: &r.name,
            result: &r.result,
            file: &r.file,
        })
        .collect();
    let graded_at = read::newest(dir, &read);
    write(
        dir,
        &rows,
        &Settings {
            roster,
            anonymous,
            graded_at,
            seed: None,
        },
    )
}

/// The newest modification time of these grade files: when they were graded.
pub fn newest_file(paths: &[PathBuf]) -> SystemTime {
    paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
        .unwrap_or_else(SystemTime::now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, TestGrade, TestStatus};

    const HOSTILE: &str = "<script>alert('x')</script> & \"quoted\"";

    fn grade(status: TestStatus) -> Result<Grade, String> {
        let test = TestGrade::scored("t::a", 2, status, format!("{HOSTILE}\nmore"));
        Ok(Grade::new(vec![LabGrade::graded("lab01_full", "Full <b>", vec![test])]))
    }

    fn rows<'a>(names: &'a [String], results: &'a [Result<Grade, String>]) -> Vec<Row<'a>> {
        names
            .iter()
            .zip(results)
            .map(|(name, result)| Row {
                name,
                result,
                file: name,
            })
            .collect()
    }

    #[test]
    fn every_student_string_is_escaped_and_anonymous_names_no_one() {
        let names: Vec<String> = ["<img src=x onerror=alert(1)>", "bob", "carol"]
            .map(String::from)
            .to_vec();
        let results = [
            grade(TestStatus::Fail),
            grade(TestStatus::Pass),
            Err(format!("no labs/ {HOSTILE}")),
        ];
        let rows = rows(&names, &results);
        let stats = compute::class_stats(&rows.iter().map(|r| r.result).collect::<Vec<_>>(), "t".into(), None);
        let named = named(&rows, None);
        let page = html::render(&stats, Some(&named));
        assert!(
            !page.contains("<script>alert") && !page.contains("<img src") && !page.contains("Full <b>"),
            "{page}"
        );
        assert!(
            page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
            "{page}"
        );
        assert!(
            page.contains("&#60;img src=x") || page.contains("&lt;img src=x"),
            "{page}"
        );
        assert!(page.contains("Content-Security-Policy") && page.contains(html::NO_DRAW));
        let anonymous = html::render(&stats, None);
        assert!(
            !anonymous.contains("bob") && !anonymous.contains("img src"),
            "{anonymous}"
        );
        assert!(
            !anonymous.contains("no labs/"),
            "a not-graded reason may name its folder"
        );
    }

    #[test]
    fn a_roster_names_by_its_first_column_and_says_which_folders_it_lacks() {
        let roster = Roster::parse("folder,Student,ID\nbob,\"Roe, Bob\",1\n").unwrap();
        let names: Vec<String> = ["bob", "carol"].map(String::from).to_vec();
        let results = [grade(TestStatus::Pass), grade(TestStatus::Fail)];
        let rows = rows(&names, &results);
        let named = named(&rows, Some(&roster));
        let shown: Vec<(&str, &str)> = named.rows.iter().map(|r| (r.name.as_str(), r.note.as_str())).collect();
        assert_eq!(shown, [("Roe, Bob", ""), ("carol", "folder not in the roster")]);
        assert!(named.by.contains("`Student`"), "{}", named.by);
    }

    #[test]
    fn the_report_is_rebuilt_from_the_grades_folder_alone() {
        let dir = crate::project::temp_dir("stats-rebuild");
        let names: Vec<String> = ["alice", "bob"].map(String::from).to_vec();
        let results = [grade(TestStatus::Pass), grade(TestStatus::Fail)];
        for (name, result) in names.iter().zip(&results) {
            let json = crate::report::json(result.as_ref().unwrap());
            std::fs::write(dir.join(format!("{name}.json")), json).unwrap();
        }
        let settings = Settings {
            roster: None,
            anonymous: false,
            graded_at: newest_file(&[dir.join("alice.json"), dir.join("bob.json")]),
            seed: None,
        };
        write(&dir, &rows(&names, &results), &settings).unwrap();
        let (page, stats) = (
            std::fs::read_to_string(dir.join(PAGE)).unwrap(),
            std::fs::read_to_string(dir.join(STATS)).unwrap(),
        );
        assert!(stats.starts_with("{\n  \"version\": 1,"), "{stats}");
        assert!(stats.contains("\"seed\": null"), "{stats}");
        // stats.json is not read as a grade, and the rebuilt files are the same.
        rebuild(&dir, None, false).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join(STATS)).unwrap(), stats);
        assert_eq!(std::fs::read_to_string(dir.join(PAGE)).unwrap(), page);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
