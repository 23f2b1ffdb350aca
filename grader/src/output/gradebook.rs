//! The `--batch` gradebook: one CSV row per submission, one column per lab.

use crate::model::Grade;

/// One row's source: the submission's folder name and its grade, or why it has none.
pub struct Row<'a> {
    pub name: &'a str,
    pub result: &'a Result<Grade, String>,
    /// The stem of its files in the grades folder (named in the note when it is not `name`).
    pub file: &'a str,
}

/// `submission,<lab>...,total,max_score,note` then one row per submission; a lab
/// that did not compile shows its points and a note, a submission that could not be
/// graded shows empty points and the reason; a row whose files are not `NAME.json` and
/// `NAME.txt` says where they are.
pub fn render(lab_ids: &[String], rows: &[Row]) -> String {
    let mut out = String::new();
    let mut header = vec!["submission".to_string()];
    header.extend(lab_ids.iter().cloned());
    header.extend(["total".into(), "max_score".into(), "note".into()]);
    out.push_str(&line(&header));
    for row in rows {
        let mut fields = vec![row.name.to_string()];
        let mut notes = Vec::new();
        match row.result {
            Ok(grade) => {
                for id in lab_ids {
                    fields.push(grade.lab(id).map(|l| l.score.to_string()).unwrap_or_default());
                }
                fields.push(grade.score.to_string());
                fields.push(grade.max_score.to_string());
                let broken: Vec<&str> = grade
                    .labs
                    .iter()
                    .filter(|l| l.status == crate::model::LabStatus::BuildError)
                    .map(|l| l.id.as_str())
                    .collect();
                if !broken.is_empty() {
                    notes.push(format!("does not compile: {}", broken.join(" ")));
                }
            }
            Err(why) => {
                fields.extend(lab_ids.iter().map(|_| String::new()));
                fields.extend([String::new(), String::new()]);
                notes.push(format!("not graded: {why}"));
            }
        }
        if row.file != row.name {
            notes.push(format!("files: {}.json, {}.txt", row.file, row.file));
        }
        fields.push(notes.join("; "));
        out.push_str(&line(&fields));
    }
    out
}

fn line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
    quoted.join(",") + "\n"
}

/// RFC 4180 quoting, and a leading quote mark for text a spreadsheet would run as a formula.
fn quote(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_string()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LabGrade, LabStatus};

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

    #[test]
    fn one_row_per_submission_with_notes() {
        let ids = vec!["lab01".to_string(), "lab02".to_string()];
        let alice = Ok(Grade::new(vec![
            lab("lab01", 3, 8, LabStatus::Graded),
            lab("lab02", 0, 9, LabStatus::BuildError),
        ]));
        let bob: Result<Grade, String> = Err("`bob` has no labs/ folder, sadly".into());
        let link: Result<Grade, String> = Err("is a symbolic link".into());
        let row = |name, result, file| Row { name, result, file };
        let csv = render(
            &ids,
            &[
                row("alice", &alice, "alice"),
                row("=cmd", &bob, "=cmd"),
                row("Alice", &alice, "Alice~2"),
                row("x\u{FFFD}", &link, "x\u{FFFD}"),
            ],
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "submission,lab01,lab02,total,max_score,note");
        assert_eq!(lines[1], "alice,3,0,3,17,does not compile: lab02");
        assert_eq!(lines[2], "'=cmd,,,,,\"not graded: `bob` has no labs/ folder, sadly\"");
        assert_eq!(
            lines[3],
            "Alice,3,0,3,17,\"does not compile: lab02; files: Alice~2.json, Alice~2.txt\""
        );
        assert_eq!(lines[4], "x\u{FFFD},,,,,not graded: is a symbolic link");
    }
}
