//! `rubric.toml`: the points for every graded test, per lab (the one source of truth),
//! and the table in GRADING.md generated from it.

use anyhow::{Context, Result, bail};

use crate::files;

use std::path::Path;

/// One lab's title and the points of each of its tests, keyed by graded name
/// ([`munmap_lab_protocol::graded_name`]), in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    pub id: String,
    pub title: String,
    pub points: Vec<(String, u32)>,
}

impl Lab {
    pub fn points_of(&self, test: &str) -> Option<u32> {
        self.points.iter().find(|(t, _)| t == test).map(|(_, p)| *p)
    }

    pub fn max_score(&self) -> u32 {
        self.points.iter().map(|(_, p)| p).sum()
    }
}

/// Reads and checks `rubric.toml`; every error names the file and the entry.
pub fn load(path: &Path) -> Result<Vec<Lab>> {
    let text = files::read_to_string(path)?;
    parse(&text).with_context(|| path.display().to_string())
}

/// Parses the rubric's text; labs come out sorted by id, tests in file order.
pub fn parse(text: &str) -> Result<Vec<Lab>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let mut labs = Vec::new();
    for (id, value) in table {
        if id == crate::limits::TABLE {
            continue; // what grading may cost, not a lab (crate::limits reads it)
        }
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("`{id}` is not a lab name (letters, digits and _ only, like lab02_partial)");
        }
        let lab = value
            .as_table()
            .with_context(|| format!("`{id}` must be a table ([{id}])"))?;
        let title = lab
            .get("title")
            .and_then(|t| t.as_str())
            .with_context(|| format!("[{id}] needs a `title` string"))?
            .to_string();
        let entries = lab
            .get("points")
            .and_then(|p| p.as_table())
            .with_context(|| format!("[{id}] needs a [{id}.points] table"))?;
        let mut points = Vec::new();
        for (test, value) in entries {
            let n = value
                .as_integer()
                .filter(|n| (0..=1000).contains(n))
                .with_context(|| format!("[{id}.points] \"{test}\" must be a whole number 0-1000"))?;
            let graded = munmap_lab_protocol::graded_name(test);
            if graded != *test {
                bail!("[{id}.points] \"{test}\": name rstest cases without their number: \"{graded}\"");
            }
            points.push((test.clone(), n as u32));
        }
        labs.push(Lab { id, title, points });
    }
    labs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(labs)
}

/// Where the generated table sits in GRADING.md.
pub const BEGIN: &str = "<!-- rubric table: generated from rubric.toml by `cargo grade sync`; do not edit -->";
pub const END: &str = "<!-- end of rubric table -->";

/// The Markdown table of points: one row per test function, rstest cases folded
/// into one row (`3 x 1` when every case is worth the same).
pub fn table(labs: &[Lab]) -> String {
    let mut out = String::from("| lab | test | points |\n| --- | --- | ---: |\n");
    for lab in labs {
        let mut rows: Vec<(String, Vec<u32>)> = Vec::new();
        for (test, points) in &lab.points {
            let function = test.split_once("::").map_or(test.as_str(), |(f, _)| f);
            match rows.last_mut() {
                Some((f, cases)) if f == function && test.contains("::") => cases.push(*points),
                _ => rows.push((function.to_string(), vec![*points])),
            }
        }
        for (function, cases) in rows {
            let (name, points) = if cases.len() == 1 {
                (function, cases[0].to_string())
            } else if cases.iter().all(|p| *p == cases[0]) {
                (
                    format!("{function} ({} cases)", cases.len()),
                    format!("{} x {}", cases.len(), cases[0]),
                )
            } else {
                let sum: Vec<String> = cases.iter().map(u32::to_string).collect();
                (format!("{function} ({} cases)", cases.len()), sum.join(" + "))
            };
            out.push_str(&format!("| {} | {name} | {points} |\n", lab.id));
        }
    }
    let total: u32 = labs.iter().map(Lab::max_score).sum();
    out.push_str(&format!("| **total** | | **{total}** |\n"));
    out
}

/// `doc` with the text between the markers replaced by `table`; an error when the markers are missing.
pub fn with_table(doc: &str, table: &str) -> Result<String> {
    with_section(doc, BEGIN, END, table)
}

/// `doc` with the text between the lines `begin` and `end` replaced by `text`.
pub fn with_section(doc: &str, begin: &str, end: &str, text: &str) -> Result<String> {
    let start = doc
        .find(begin)
        .with_context(|| format!("the marker line `{begin}` is missing"))?;
    let stop = doc[start..]
        .find(end)
        .map(|i| start + i)
        .with_context(|| format!("the marker line `{end}` is missing after the first marker"))?;
    Ok(format!("{}{begin}\n{text}{}", &doc[..start], &doc[stop..]))
}

/// GRADING.md's text `doc` with both generated tables brought up to date: the points
/// (from rubric.toml) and the catalogue of mistakes (from grader/fixtures/mistakes.toml).
pub fn update_grading(root: &Path, doc: &str) -> Result<String> {
    let labs = load(&root.join("rubric.toml"))?;
    let with_points = with_table(doc, &table(&labs))?;
    if !root.join(crate::mistakes::CATALOGUE).is_file() {
        // A student handout has no catalogue (it is withheld): its table stays as it was.
        return Ok(with_points);
    }
    let mistakes = crate::mistakes::table(&crate::mistakes::load(root)?, &labs)?;
    with_section(&with_points, crate::mistakes::BEGIN, crate::mistakes::END, &mistakes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUBRIC: &str = r#"
[lab02_partial]
title = "Partial"
[lab02_partial.points]
"trim::a" = 1
"trim::b" = 1
"hole::a" = 2
"hole::b" = 1
single = 3

[lab01_full]
title = "Full"
[lab01_full.points]
map = 2
"#;

    #[test]
    fn parses_labs_sorted_and_tests_in_file_order() {
        let labs = parse(&format!("{RUBRIC}\n[limits]\noutput_mib = 4\n")).unwrap();
        assert_eq!(labs.len(), 2, "[limits] is no lab");
        assert_eq!(labs[0].id, "lab01_full");
        assert_eq!(labs[1].points[0], ("trim::a".to_string(), 1));
        assert_eq!(labs[1].points[4], ("single".to_string(), 3));
        assert_eq!(labs[1].max_score(), 8);
        assert_eq!(labs[1].points_of("hole::a"), Some(2));
        assert_eq!(labs[1].points_of("nope"), None);
    }

    #[test]
    fn rejects_bad_entries_with_the_entry_named() {
        assert!(parse("[lab]\n").unwrap_err().to_string().contains("title"));
        assert!(
            parse("[lab]\ntitle='t'\n")
                .unwrap_err()
                .to_string()
                .contains("[lab.points]")
        );
        let err = parse("[lab]\ntitle='t'\n[lab.points]\nx = -1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"x\""), "{err}");
        assert!(parse("x = 1\n").unwrap_err().to_string().contains("table"));
        assert!(
            parse("[\"a b\"]\ntitle='t'\n")
                .unwrap_err()
                .to_string()
                .contains("lab name")
        );
        let err = parse("[lab]\ntitle='t'\n[lab.points]\n'trim::case_2_b' = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"trim::b\""), "{err}");
    }

    #[test]
    fn table_folds_cases_and_totals() {
        let table = table(&parse(RUBRIC).unwrap());
        assert!(table.contains("| lab01_full | map | 2 |\n"), "{table}");
        assert!(
            table.contains("| lab02_partial | trim (2 cases) | 2 x 1 |\n"),
            "{table}"
        );
        assert!(
            table.contains("| lab02_partial | hole (2 cases) | 2 + 1 |\n"),
            "{table}"
        );
        assert!(table.contains("| lab02_partial | single | 3 |\n"), "{table}");
        assert!(table.ends_with("| **total** | | **10** |\n"), "{table}");
    }

    #[test]
    fn replaces_only_the_marked_section() {
        let doc = format!("intro\n{BEGIN}\nold table\n{END}\noutro\n");
        let new = with_table(&doc, "NEW\n").unwrap();
        assert_eq!(new, format!("intro\n{BEGIN}\nNEW\n{END}\noutro\n"));
        assert_eq!(with_table(&new, "NEW\n").unwrap(), new);
        assert!(with_table("no markers", "x").is_err());
    }
}
