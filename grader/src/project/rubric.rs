//! `rubric.toml`, the registry of labs: every lab's title, summary and the points for
//! each of its graded tests (the one source of truth), and its one parser. It is read
//! once per run, as the [`crate::project::Project`]'s labs; the tables shown of it are
//! generated in `crate::generated`.

use anyhow::{Context, Result, bail};

/// One lab of the registry: its title, what it teaches (README.md's lab table) and
/// the points of each of its tests, keyed by graded name
/// ([`munmap_lab_protocol::graded_name`]), in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    pub id: String,
    pub title: String,
    pub summary: Option<String>,
    pub points: Vec<(String, u32)>,
    /// Tests whose scenario is the same under every seed (`[NAME.undrawn]`), each with
    /// why it cannot vary: every other test draws its scenario when graded.
    pub undrawn: Vec<(String, String)>,
}

impl Lab {
    pub fn points_of(&self, test: &str) -> Option<u32> {
        self.points.iter().find(|(t, _)| t == test).map(|(_, p)| *p)
    }

    pub fn max_score(&self) -> u32 {
        self.points.iter().map(|(_, p)| p).sum()
    }
}

/// Parses the rubric's text; labs come out sorted by id, tests in file order.
pub fn parse(text: &str) -> Result<Vec<Lab>> {
    let table: toml::Table = text.parse().context("not valid TOML")?;
    let mut labs = Vec::new();
    for (id, value) in table {
        if id == super::limits::TABLE {
            continue; // what grading may cost, not a lab (project::limits reads it)
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
        let summary = lab.get("summary").and_then(|s| s.as_str()).map(String::from);
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
        let mut undrawn = Vec::new();
        if let Some(entries) = lab.get("undrawn") {
            let entries = entries
                .as_table()
                .with_context(|| format!("[{id}] `undrawn` must be a table ([{id}.undrawn])"))?;
            for (test, why) in entries {
                let why = why
                    .as_str()
                    .filter(|why| !why.trim().is_empty())
                    .with_context(|| format!("[{id}.undrawn] \"{test}\" must say why it cannot vary (a string)"))?;
                if !points.iter().any(|(t, _)| t == test) {
                    bail!("[{id}.undrawn] \"{test}\" is not a graded test of [{id}.points]");
                }
                undrawn.push((test.clone(), why.to_string()));
            }
        }
        labs.push(Lab {
            id,
            title,
            summary,
            points,
            undrawn,
        });
    }
    labs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(labs)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small rubric for the unit tests of what reads one (here and `generated::points`).
    pub(crate) const RUBRIC: &str = r#"
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
}
