//! `rubric.toml`: the points for every graded test, per lab.

use std::collections::BTreeMap;
use std::path::Path;

/// One lab's title and the points of each of its tests, keyed by libtest name.
#[derive(Debug, Clone)]
pub struct Lab {
    pub id: String,
    pub title: String,
    pub points: BTreeMap<String, u32>,
}

/// Reads and checks `rubric.toml`; every error names the file and the entry.
pub fn load(path: &Path) -> Result<Vec<Lab>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))?;
    let mut labs = Vec::new();
    for (id, value) in table {
        let lab = value
            .as_table()
            .ok_or_else(|| format!("{}: `{id}` must be a table ([{id}])", path.display()))?;
        let title = lab
            .get("title")
            .and_then(|t| t.as_str())
            .ok_or_else(|| format!("{}: [{id}] needs a `title` string", path.display()))?
            .to_string();
        let mut points = BTreeMap::new();
        let entries = lab
            .get("points")
            .and_then(|p| p.as_table())
            .ok_or_else(|| format!("{}: [{id}] needs a [{id}.points] table", path.display()))?;
        for (test, value) in entries {
            let n = value.as_integer().filter(|n| (0..=1000).contains(n)).ok_or_else(|| {
                format!(
                    "{}: [{id}.points] \"{test}\" must be a whole number 0-1000",
                    path.display()
                )
            })?;
            points.insert(test.clone(), n as u32);
        }
        labs.push(Lab { id, title, points });
    }
    labs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(labs)
}
