//! The `--batch` gradebook: one CSV row per submission, one column per lab.

use crate::model::Grade;

/// One row's source: the submission's folder name and its grade, or why it has none.
pub type Row<'a> = (&'a str, &'a Result<Grade, String>);

/// `submission,<lab>...,total,max_score,note` then one row per submission; a lab
/// that did not compile shows its points and a note, a submission that could not be
/// graded shows empty points and the reason.
pub fn render(lab_ids: &[String], rows: &[Row]) -> String {
    let mut out = String::new();
    let mut header = vec!["submission".to_string()];
    header.extend(lab_ids.iter().cloned());
    header.extend(["total".into(), "max_score".into(), "note".into()]);
    out.push_str(&line(&header));
    for (name, result) in rows {
        let mut fields = vec![name.to_string()];
        match result {
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
                fields.push(if broken.is_empty() {
                    String::new()
                } else {
                    format!("does not compile: {}", broken.join(" "))
                });
            }
            Err(why) => {
                fields.extend(lab_ids.iter().map(|_| String::new()));
                fields.extend([String::new(), String::new(), format!("not graded: {why}")]);
            }
        }
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
        let csv = render(&ids, &[("alice", &alice), ("=cmd", &bob)]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "submission,lab01,lab02,total,max_score,note");
        assert_eq!(lines[1], "alice,3,0,3,17,does not compile: lab02");
        assert_eq!(lines[2], "'=cmd,,,,,\"not graded: `bob` has no labs/ folder, sadly\"");
    }
}
