//! GRADING.md's table of points, generated from the rubric: one row per test
//! function, rstest cases folded.

use anyhow::Result;

use crate::project::rubric::Lab;

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
    super::with_section(doc, BEGIN, END, table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::rubric::parse;
    use crate::project::rubric::tests::RUBRIC;

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
