//! Cargo.toml edits, as TOML (toml_edit): the handout's and the work folder's manifests
//! are the project's with a few keys changed, its comments and layout kept.

use std::path::Path;

use anyhow::{Context, Result};
use toml_edit::DocumentMut;

/// The manifest at `path`, ready to edit.
pub fn read(path: &Path) -> Result<DocumentMut> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))
}

/// Removes `feature` from `[features]` (with the comment above it); a manifest without it is left alone.
pub fn remove_feature(manifest: &mut DocumentMut, feature: &str) {
    if let Some(features) = manifest.get_mut("features").and_then(|f| f.as_table_like_mut()) {
        features.remove(feature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_a_feature_with_its_comment_and_keeps_the_rest() {
        let mut manifest: DocumentMut =
            "[features]\n# Build the labs from `solutions/`.\nsolutions = []\n\n[dependencies]\n# why\nlibc = \"0.2\"\n"
                .parse()
                .unwrap();
        remove_feature(&mut manifest, "solutions");
        remove_feature(&mut manifest, "absent");
        assert_eq!(
            manifest.to_string(),
            "[features]\n\n[dependencies]\n# why\nlibc = \"0.2\"\n"
        );
    }
}
