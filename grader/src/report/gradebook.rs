//! The `batch` gradebooks.
//!
//! - `gradebook.csv`, always: one row per submission folder, one column per lab, a
//!   "Points Possible" row first; with a roster, the roster's identifier columns first
//!   and a row for every roster entry that has no folder. Nothing is left out: a row
//!   that cannot be imported says why in its `note`.
//! - `import.csv`, with a roster: only what a gradebook import takes (the identifier
//!   columns and one column per lab), one row per roster entry whose folder was graded.
//!
//! The roster (`--roster FILE`) is a CSV file with a header: one column named `folder`
//! (the submission's folder name in the batch) and the identifier columns the gradebook
//! matches students by, copied as they are, in their order (Canvas: `Student, ID,
//! SIS User ID, SIS Login ID, Section`; Moodle: any one, e.g. `Email address`).
//!
//! A roster with `Student` and `ID` is Canvas's: its identifier columns are put in
//! Canvas's order ([`CANVAS_COLUMNS`]: Canvas refuses an `import.csv` whose header does
//! not start `Student,ID`, and takes a column after them that is not one of its own for
//! an assignment), and any other identifier column is refused. An empty identifier is
//! refused before grading (Moodle gives a row with a blank identifier to the student
//! before it); in Canvas's roster only `Student` and `ID` must be filled, as in Canvas's
//! own export, where the SIS columns of a student without SIS data are empty.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::model::{Grade, LabStatus};

/// Why a roster entry is not in Canvas's `import.csv` (see [`Roster::reads_as_points_row`]).
const READS_AS_POINTS: &str =
    "its Student holds `Points Possible`, which Canvas reads as the points row: enter this grade by hand";

/// Canvas's identifier columns, in the order its export writes them and its import
/// reads them: the header must start with the first two.
pub const CANVAS_COLUMNS: [&str; 7] = [
    "Student",
    "ID",
    "SIS User ID",
    "SIS Login ID",
    "Integration ID",
    "Root Account",
    "Section",
];

/// What the first column of the points-possible row says (Canvas reads that row by it).
pub const POINTS_POSSIBLE: &str = "Points Possible";

/// One row's source: the submission's folder name and its grade, or why it has none.
pub struct Row<'a> {
    pub name: &'a str,
    pub result: &'a Result<Grade, String>,
    /// The stem of its files in the grades folder (named in the note when it is not `name`).
    pub file: &'a str,
}

/// The roster: which student each submission folder belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Roster {
    /// The identifier columns, in the roster's order (every column but `folder`).
    pub columns: Vec<String>,
    pub entries: Vec<RosterEntry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RosterEntry {
    pub folder: String,
    /// One value per identifier column.
    pub ids: Vec<String>,
}

impl Roster {
    /// Reads and checks the roster at `path` (before anything is graded).
    pub fn read(path: &Path) -> Result<Roster> {
        let text = std::fs::read_to_string(path).with_context(|| format!("--roster {}", path.display()))?;
        Roster::parse(&text).with_context(|| format!("--roster {}", path.display()))
    }

    /// The roster in `text`: a header with one `folder` column and at least one
    /// identifier column, then one line per student, each with a folder name of its own.
    pub fn parse(text: &str) -> Result<Roster> {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader.headers().context("cannot read its header")?.clone();
        let folder_columns: Vec<usize> = (0..header.len())
            .filter(|&i| header[i].eq_ignore_ascii_case("folder"))
            .collect();
        let [folder_column] = folder_columns[..] else {
            bail!(
                "its header needs exactly one `folder` column (the submission folder's name), \
                 then the identifier columns, e.g. `folder,Student,ID,SIS User ID,SIS Login ID,Section`; \
                 it has: {}",
                header.iter().collect::<Vec<_>>().join(",")
            );
        };
        let columns: Vec<String> = (0..header.len())
            .filter(|&i| i != folder_column)
            .map(|i| header[i].to_string())
            .collect();
        if columns.is_empty() {
            bail!(
                "it has no identifier column besides `folder`: add the column your gradebook matches \
                 students by (Canvas: Student,ID,SIS User ID,SIS Login ID,Section; Moodle: e.g. Email address)"
            );
        }
        let mut entries = Vec::new();
        let mut lines: BTreeMap<String, u64> = BTreeMap::new();
        for record in reader.records() {
            let record = record?;
            let line = record.position().map_or(0, |p| p.line());
            let folder = record[folder_column].to_string();
            if folder.is_empty() {
                bail!("line {line} has no folder: give each student's submission folder name");
            }
            if let Some(first) = lines.insert(folder.clone(), line) {
                bail!("folder `{folder}` is on line {first} and on line {line}: one student per folder");
            }
            let ids = (0..record.len())
                .filter(|&i| i != folder_column)
                .map(|i| record[i].to_string())
                .collect();
            entries.push(RosterEntry { folder, ids });
        }
        let roster = Roster { columns, entries }.in_canvas_order()?;
        roster.check_identifiers(&lines)?;
        Ok(roster)
    }

    /// A roster with `Student` and `ID`, its columns in Canvas's order; refused when it
    /// has a column Canvas would read as an assignment. Any other roster as it is.
    fn in_canvas_order(self) -> Result<Roster> {
        let has = |name: &str| self.columns.iter().any(|c| c == name);
        if !(has("Student") && has("ID")) {
            return Ok(self);
        }
        let order = CANVAS_COLUMNS.join(",");
        if let Some(other) = self.columns.iter().find(|c| !CANVAS_COLUMNS.contains(&c.as_str())) {
            bail!(
                "it has Student and ID, so it is Canvas's, and Canvas takes only its own identifier columns,                  in its order (folder,{order}): `{other}` is none of them"
            );
        }
        let at: Vec<usize> = CANVAS_COLUMNS
            .iter()
            .filter_map(|name| self.columns.iter().position(|c| c == name))
            .collect();
        Ok(Roster {
            columns: at.iter().map(|&i| self.columns[i].clone()).collect(),
            entries: self
                .entries
                .into_iter()
                .map(|e| RosterEntry {
                    ids: at.iter().map(|&i| e.ids[i].clone()).collect(),
                    folder: e.folder,
                })
                .collect(),
        })
    }

    /// Every identifier the gradebook matches by is filled in (see the module comment).
    fn check_identifiers(&self, lines: &BTreeMap<String, u64>) -> Result<()> {
        let needed = |column: &str| !self.is_canvas() || column == "Student" || column == "ID";
        for entry in &self.entries {
            for (column, id) in self.columns.iter().zip(&entry.ids) {
                if id.is_empty() && needed(column) {
                    bail!(
                        "line {} (folder `{}`) has no {column}: give every student one (a gradebook \
                         import gives a row with an empty identifier to another student, or drops it)",
                        lines.get(&entry.folder).copied().unwrap_or(0),
                        entry.folder
                    );
                }
            }
        }
        Ok(())
    }

    fn entry(&self, folder: &str) -> Option<&RosterEntry> {
        self.entries.iter().find(|e| e.folder == folder)
    }

    /// Folders of the batch that the roster does not name, and roster entries whose
    /// folder is not in the batch.
    pub fn unmatched<'a>(&'a self, rows: &'a [Row]) -> (Vec<&'a str>, Vec<&'a RosterEntry>) {
        let names: BTreeSet<&str> = rows.iter().map(|r| r.name).collect();
        let folders = rows
            .iter()
            .map(|r| r.name)
            .filter(|name| self.entry(name).is_none())
            .collect();
        let entries = self
            .entries
            .iter()
            .filter(|e| !names.contains(e.folder.as_str()))
            .collect();
        (folders, entries)
    }

    /// Whether Canvas would take `entry`'s row of `import.csv` for its points row (its
    /// `Student` holds `Points Possible`: a name the student chose): it is left out,
    /// and its row of `gradebook.csv` says so.
    fn reads_as_points_row(&self, entry: &RosterEntry) -> bool {
        self.is_canvas() && entry.ids.first().is_some_and(|id| reserved(id).is_some())
    }

    /// Whether the gradebook is Canvas's: its first identifier column is `Student`
    /// (Canvas takes a file only in that form).
    pub fn is_canvas(&self) -> bool {
        self.columns.first().is_some_and(|c| c == "Student")
    }
}

/// `gradebook.csv`: `[identifier columns...,]submission,<lab>...,total,max_score,seed,note`
/// (`seed`: what the submission's scenarios were drawn from, to grade it again alike),
/// then the points-possible row (`possible`: each lab's points), then one row per
/// submission folder; with a roster, a row for each roster entry without a folder. A lab
/// that did not compile shows its points and a note, a submission that could not be
/// graded shows empty points and the reason; a row whose files are not `NAME.json` and
/// `NAME.txt` says where they are.
pub fn render(lab_ids: &[String], possible: &[u32], rows: &[Row], roster: Option<&Roster>) -> String {
    let no_ids = Vec::new();
    let id_columns = roster.map_or(&no_ids, |r| &r.columns);
    let mut out = csv_writer();
    let mut header: Vec<String> = guarded(id_columns);
    header.push("submission".into());
    header.extend(lab_ids.iter().cloned());
    header.extend(["total".into(), "max_score".into(), "seed".into(), "note".into()]);
    out.write_record(&header).expect("writing to memory");

    let total: u32 = possible.iter().sum();
    let mut points_row = vec![String::new(); id_columns.len() + 1];
    points_row[0] = POINTS_POSSIBLE.into();
    points_row.extend(possible.iter().map(u32::to_string));
    points_row.extend([
        total.to_string(),
        total.to_string(),
        String::new(),
        "each lab's points on this machine".into(),
    ]);
    out.write_record(&points_row).expect("writing to memory");

    for row in rows {
        let entry = roster.and_then(|r| r.entry(row.name));
        let mut fields: Vec<String> = match entry {
            Some(entry) => guarded(&entry.ids),
            None => vec![String::new(); id_columns.len()],
        };
        fields.push(guard(&row_name(row.name)));
        let mut notes = Vec::new();
        if roster.is_some() && entry.is_none() {
            notes.push("not in the roster".to_string());
        }
        if let (Some(roster), Some(entry)) = (roster, entry)
            && roster.reads_as_points_row(entry)
            && row.result.is_ok()
        {
            notes.push(format!("not in import.csv: {READS_AS_POINTS}"));
        }
        match row.result {
            Ok(grade) => {
                for id in lab_ids {
                    fields.push(grade.lab(id).map(|l| l.score.to_string()).unwrap_or_default());
                }
                fields.push(grade.score.to_string());
                fields.push(grade.max_score.to_string());
                fields.push(grade.seed.map(|seed| seed.to_string()).unwrap_or_default());
                let broken: Vec<&str> = grade
                    .labs
                    .iter()
                    .filter(|l| l.status == LabStatus::BuildError)
                    .map(|l| l.id.as_str())
                    .collect();
                if !broken.is_empty() {
                    notes.push(format!("does not compile: {}", broken.join(" ")));
                }
            }
            Err(why) => {
                fields.extend(lab_ids.iter().map(|_| String::new()));
                fields.extend([String::new(), String::new(), String::new()]);
                notes.push(format!("not graded: {why}"));
            }
        }
        if row.file != row.name {
            notes.push(format!("files: {}.json, {}.txt", row.file, row.file));
        }
        fields.push(guard(&notes.join("; ")));
        out.write_record(&fields).expect("writing to memory");
    }
    if let Some(roster) = roster {
        for entry in roster.unmatched(rows).1 {
            let mut fields = guarded(&entry.ids);
            fields.push(String::new());
            fields.extend(lab_ids.iter().map(|_| String::new()));
            fields.extend([String::new(), String::new(), String::new()]);
            fields.push(guard(&format!(
                "no submission: the batch has no folder `{}`",
                entry.folder
            )));
            out.write_record(&fields).expect("writing to memory");
        }
    }
    finish(out)
}

/// `import.csv`: the roster's identifier columns and one column per lab, one row per
/// roster entry whose folder was graded, in the roster's order. For Canvas (see
/// [`Roster::is_canvas`]) the points-possible row comes first, as in Canvas's own export
/// (it sets a new assignment's points); for anything else it is left out: Moodle would
/// take it for a student it cannot match, and aborts the whole import on one.
pub fn render_import(lab_ids: &[String], possible: &[u32], rows: &[Row], roster: &Roster) -> String {
    let mut out = csv_writer();
    let mut header = guarded(&roster.columns);
    header.extend(lab_ids.iter().cloned());
    out.write_record(&header).expect("writing to memory");
    if roster.is_canvas() {
        let mut points_row = vec![String::new(); roster.columns.len()];
        points_row[0] = POINTS_POSSIBLE.into();
        points_row.extend(possible.iter().map(u32::to_string));
        out.write_record(&points_row).expect("writing to memory");
    }
    for entry in roster.entries.iter().filter(|e| !roster.reads_as_points_row(e)) {
        let Some(Ok(grade)) = rows.iter().find(|r| r.name == entry.folder).map(|r| r.result) else {
            continue;
        };
        let mut fields = guarded(&entry.ids);
        for id in lab_ids {
            fields.push(grade.lab(id).map(|l| l.score.to_string()).unwrap_or_default());
        }
        out.write_record(&fields).expect("writing to memory");
    }
    finish(out)
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().flexible(false).from_writer(Vec::new())
}

fn finish(out: csv::Writer<Vec<u8>>) -> String {
    let bytes = out.into_inner().expect("writing to memory");
    String::from_utf8(bytes).expect("every field is UTF-8")
}

/// A leading quote mark for text a spreadsheet would run as a formula: what starts
/// with one of OWASP's CSV-injection characters (`=`, `+`, `-`, `@`, TAB, CR), or a
/// line feed. A folder name and a reason come from the submissions; a roster's cells
/// from an LMS export, which carries names students chose.
fn guard(field: &str) -> String {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']) {
        format!("'{field}")
    } else {
        field.to_string()
    }
}

/// Writes `out/gradebook.csv` and, with a roster, `out/import.csv`, saying on stderr
/// which folders and roster entries did not match (each is a row with a note, never
/// dropped silently).
pub fn write(out: &Path, lab_ids: &[String], possible: &[u32], rows: &[Row], roster: Option<&Roster>) -> Result<()> {
    crate::report::write_file(&out.join("gradebook.csv"), &render(lab_ids, possible, rows, roster))?;
    let Some(roster) = roster else { return Ok(()) };
    crate::report::write_file(&out.join("import.csv"), &render_import(lab_ids, possible, rows, roster))?;
    let (folders, entries) = roster.unmatched(rows);
    if !folders.is_empty() {
        eprintln!(
            "warning: not in the roster, so not in import.csv ({} folder(s)): {}",
            folders.len(),
            folders
                .iter()
                .map(|f| crate::escape::shown(f))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !entries.is_empty() {
        let names: Vec<_> = entries.iter().map(|e| crate::escape::shown(&e.folder)).collect();
        eprintln!(
            "warning: in the roster but without a submission folder ({}): {}",
            entries.len(),
            names.join(", ")
        );
    }
    Ok(())
}

/// Every cell [`guard`]ed (a roster's identifiers, its header).
fn guarded(cells: &[String]) -> Vec<String> {
    cells.iter().map(|c| guard(c)).collect()
}

/// Why a folder of this name is not graded: its row would be read as something else
/// than a student's (Canvas reads a first cell holding `Points Possible` as the points
/// of each assignment). Moodle's import has no such row: it matches every row to a user.
pub fn reserved(name: &str) -> Option<&'static str> {
    name.to_lowercase()
        .contains(&POINTS_POSSIBLE.to_lowercase())
        .then_some("its name holds `Points Possible`, which Canvas reads as the points row: rename the folder")
}

/// A folder's name in its row: as it is, unless [`reserved`] (its spaces then written
/// `_`, so that no gradebook takes the row for anything but this folder's).
fn row_name(name: &str) -> std::borrow::Cow<'_, str> {
    if reserved(name).is_some() {
        name.replace(' ', "_").into()
    } else {
        name.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabGrade;

    fn lab(id: &str, score: u32, max: u32, status: LabStatus) -> LabGrade {
        LabGrade {
            id: id.into(),
            title: String::new(),
            score,
            max_score: max,
            status,
            message: String::new(),
            tests: vec![],
        }
    }

    fn alice() -> Result<Grade, String> {
        Ok(Grade::new(vec![
            lab("lab01", 3, 8, LabStatus::Graded),
            lab("lab02", 0, 9, LabStatus::BuildError),
        ]))
    }

    #[test]
    fn one_row_per_submission_with_notes_after_the_points_possible() {
        let ids = vec!["lab01".to_string(), "lab02".to_string()];
        let alice = alice();
        let bob: Result<Grade, String> = Err("`bob` has no labs/ folder, sadly".into());
        let link: Result<Grade, String> = Err("is a symbolic link".into());
        let row = |name, result, file| Row { name, result, file };
        let csv = render(
            &ids,
            &[8, 9],
            &[
                row("alice", &alice, "alice"),
                row("=cmd", &bob, "=cmd"),
                row("Alice", &alice, "Alice~2"),
                row("x\u{FFFD}", &link, "x\u{FFFD}"),
            ],
            None,
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "submission,lab01,lab02,total,max_score,seed,note");
        assert_eq!(lines[1], "Points Possible,8,9,17,17,,each lab's points on this machine");
        assert_eq!(lines[2], "alice,3,0,3,17,,does not compile: lab02");
        assert_eq!(lines[3], "'=cmd,,,,,,\"not graded: `bob` has no labs/ folder, sadly\"");
        assert_eq!(
            lines[4],
            "Alice,3,0,3,17,,\"does not compile: lab02; files: Alice~2.json, Alice~2.txt\""
        );
        assert_eq!(lines[5], "x\u{FFFD},,,,,,not graded: is a symbolic link");
        assert_eq!(lines.len(), 6);
    }

    /// The cells of `csv`, row by row, its header too.
    fn cells(csv: &str) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn nothing_a_student_named_runs_as_a_formula() {
        let ids = vec!["lab01".to_string(), "lab02".to_string()];
        let alice = alice();
        let names = ["a", "b", "\t=2+5", "\r=2+5", "\n=2+5", "-2+5", "@x", "+x"];
        let rows: Vec<Row> = names
            .iter()
            .map(|name| Row {
                name,
                result: &alice,
                file: name,
            })
            .collect();
        let roster = Roster::parse("folder,Student,=ID\na,=HYPERLINK(\"x\"),@SUM(1)\nb,+1,-2\nnone,@a,-b\n").unwrap();
        let dangerous = ['=', '+', '-', '@', '\t', '\r', '\n'];
        for csv in [
            render(&ids, &[8, 9], &rows, Some(&roster)),
            render(&ids, &[8, 9], &rows, None),
            render_import(&ids, &[8, 9], &rows, &roster),
        ] {
            for cell in cells(&csv).iter().flatten() {
                assert!(!cell.starts_with(dangerous), "{cell:?} in\n{csv}");
            }
        }
        let import = cells(&render_import(&ids, &[8, 9], &rows, &roster));
        assert_eq!(import[0], ["Student", "'=ID", "lab01", "lab02"]);
        assert_eq!(import[2], ["'=HYPERLINK(\"x\")", "'@SUM(1)", "3", "0"]);
        assert_eq!(import[3], ["'+1", "'-2", "3", "0"]);
        let plain = cells(&render(&ids, &[8, 9], &rows, None));
        let firsts: Vec<&str> = plain.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(firsts[4..], ["'\t=2+5", "'\r=2+5", "'\n=2+5", "'-2+5", "'@x", "'+x"]);
    }

    #[test]
    fn a_folder_named_like_the_points_row_is_a_row_saying_why() {
        let ids = vec!["lab01".to_string()];
        let why = reserved("Points Possible").unwrap();
        assert_eq!(reserved("my points possible"), Some(why));
        assert_eq!(reserved("Points"), None);
        let refused: Result<Grade, String> = Err(why.to_string());
        let rows: Vec<Row> = ["Points Possible", "my points possible"]
            .iter()
            .map(|name| Row {
                name,
                result: &refused,
                file: name,
            })
            .collect();
        let csv = render(&ids, &[8], &rows, None);
        let firsts: Vec<String> = cells(&csv).into_iter().map(|r| r[0].clone()).collect();
        // Canvas takes every row whose first cell holds `Points Possible` for its points.
        assert_eq!(
            firsts.iter().filter(|f| f.contains(POINTS_POSSIBLE)).count(),
            1,
            "{csv}"
        );
        assert_eq!(firsts[2..], ["Points_Possible", "my_points_possible"], "{csv}");
        assert_eq!(
            cells(&csv)[2],
            ["Points_Possible", "", "", "", "", &format!("not graded: {why}")]
        );
    }

    #[test]
    fn a_student_named_like_the_points_row_is_left_out_of_canvass_import_with_a_note() {
        let roster = Roster::parse("folder,Student,ID\nalice,Alice,1\npp,My Points Possible,2\n").unwrap();
        let ids = vec!["lab01".to_string(), "lab02".to_string()];
        let alice = alice();
        let rows = [
            Row {
                name: "alice",
                result: &alice,
                file: "alice",
            },
            Row {
                name: "pp",
                result: &alice,
                file: "pp",
            },
        ];
        let import = render_import(&ids, &[8, 9], &rows, &roster);
        assert_eq!(import, "Student,ID,lab01,lab02\nPoints Possible,,8,9\nAlice,1,3,0\n");
        let csv = render(&ids, &[8, 9], &rows, Some(&roster));
        assert!(csv.contains(&format!("not in import.csv: {READS_AS_POINTS}")), "{csv}");
    }

    const CANVAS: &str = "\u{FEFF}folder,Student,ID,SIS User ID,SIS Login ID,Section\n\
                          alice ,\"Liddell, Alice\" ,101,S1,alice,Lab A\n\
                          carol,\"Doe, Carol\",103,S3,carol,Lab A\n\
                          bob,\"Roe, Bob\",102,S2,bob,Lab B\n";

    #[test]
    fn a_roster_adds_identifiers_and_reports_every_mismatch_both_ways() {
        let roster = Roster::parse(CANVAS).unwrap();
        assert_eq!(
            roster.columns,
            ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        );
        assert_eq!(roster.entries[0].ids[0], "Liddell, Alice", "fields are trimmed");
        let ids = vec!["lab01".to_string(), "lab02".to_string()];
        let alice = alice();
        let bob: Result<Grade, String> = Err("`bob` has no labs/ folder".into());
        let row = |name, result| Row {
            name,
            result,
            file: name,
        };
        let rows = [row("alice", &alice), row("bob", &bob), row("dave", &alice)];
        let (folders, entries) = roster.unmatched(&rows);
        assert_eq!(folders, ["dave"]);
        assert_eq!(entries.iter().map(|e| e.folder.as_str()).collect::<Vec<_>>(), ["carol"]);

        let csv = render(&ids, &[8, 9], &rows, Some(&roster));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "Student,ID,SIS User ID,SIS Login ID,Section,submission,lab01,lab02,total,max_score,seed,note"
        );
        assert_eq!(
            lines[1],
            "Points Possible,,,,,,8,9,17,17,,each lab's points on this machine"
        );
        assert_eq!(
            lines[2],
            "\"Liddell, Alice\",101,S1,alice,Lab A,alice,3,0,3,17,,does not compile: lab02"
        );
        assert_eq!(
            lines[3],
            "\"Roe, Bob\",102,S2,bob,Lab B,bob,,,,,,not graded: `bob` has no labs/ folder"
        );
        assert_eq!(
            lines[4],
            ",,,,,dave,3,0,3,17,,not in the roster; does not compile: lab02"
        );
        assert_eq!(
            lines[5],
            "\"Doe, Carol\",103,S3,carol,Lab A,,,,,,,no submission: the batch has no folder `carol`"
        );
        assert_eq!(lines.len(), 6);

        // Canvas's import: its identifier columns, the points possible, graded students only.
        let import = render_import(&ids, &[8, 9], &rows, &roster);
        assert_eq!(
            import,
            "Student,ID,SIS User ID,SIS Login ID,Section,lab01,lab02\n\
             Points Possible,,,,,8,9\n\
             \"Liddell, Alice\",101,S1,alice,Lab A,3,0\n"
        );
    }

    #[test]
    fn a_moodle_import_has_no_row_moodle_cannot_match() {
        let roster = Roster::parse("Email address,Folder\nalice@example.org,alice\nbob@example.org,bob\n").unwrap();
        assert!(!roster.is_canvas());
        let ids = vec!["lab01".to_string(), "lab02".to_string()];
        let alice = alice();
        let rows = [Row {
            name: "alice",
            result: &alice,
            file: "alice",
        }];
        assert_eq!(
            render_import(&ids, &[8, 9], &rows, &roster),
            "Email address,lab01,lab02\nalice@example.org,3,0\n"
        );
    }

    #[test]
    fn a_roster_that_cannot_be_matched_is_refused_with_the_reason() {
        for (text, expected) in [
            ("Student,ID\nx,1\n", "exactly one `folder` column"),
            ("folder,Folder,ID\na,b,1\n", "exactly one `folder` column"),
            ("folder\nalice\n", "no identifier column"),
            ("folder,ID\nalice,1\n,2\n", "line 3 has no folder"),
            (
                "folder,ID\nalice,1\nbob,2\nalice,3\n",
                "folder `alice` is on line 2 and on line 4",
            ),
            ("folder,ID\nalice,1,extra\n", "found record with 3 fields"),
        ] {
            let err = Roster::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_canvas_roster_in_another_order_is_put_in_canvass_order() {
        let roster = Roster::parse("folder,Section,ID,Student\nalice,Lab A,101,\"Liddell, Alice\"\n").unwrap();
        assert_eq!(roster.columns, ["Student", "ID", "Section"]);
        assert_eq!(roster.entries[0].ids, ["Liddell, Alice", "101", "Lab A"]);
        assert!(roster.is_canvas());
        let err = Roster::parse("folder,ID,Student,Email\nalice,101,Alice,a@x\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("folder,Student,ID,SIS User ID,SIS Login ID,Integration ID,Root Account,Section"),
            "{err}"
        );
        assert!(err.contains("`Email`"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn an_empty_identifier_is_refused() {
        for (text, expected) in [
            (
                "folder,Email address\nalice,a@x\nbob,\n",
                "line 3 (folder `bob`) has no Email address",
            ),
            ("folder,Student,ID\nalice,Alice,\n", "line 2 (folder `alice`) has no ID"),
            ("folder,Student,ID\nalice,,1\n", "has no Student"),
        ] {
            let err = Roster::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        // Canvas's own export leaves the SIS columns of a student without SIS data empty.
        Roster::parse("folder,Student,ID,SIS User ID\nalice,Alice,1,\n").unwrap();
    }
}
