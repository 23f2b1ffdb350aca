//! What lists the labs outside the registry: `src/lib.rs` (one module per lab, for
//! the project and for a student's handout) and README.md's lab table.

use crate::project::rubric::Lab;

/// Which `src/lib.rs`: the project's, whose lab modules come from `labs/` or, with the
/// `solutions` feature, from `solutions/`; or the student handout's, from `labs/` only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lib {
    Project,
    Handout,
}

const PROJECT_DOC: &str = "\
//! munmap-lab: a teaching lab for Linux `munmap()`.
//!
//! Each lab is one module. By default the modules are the student stubs in `labs/`;
//! with the cargo feature `solutions` the same modules come from `solutions/`, so the
//! suites in `tests/` are written once and run against either.
//!
//! This crate holds lab code and nothing else a lab could misuse: the test harness
//! (arena, maps view, isolation, snapshots) is the crate `munmap-lab-harness`, a
//! dev-dependency that only the suites can name.

// Generated from rubric.toml by `cargo grade sync` (the text is in grader/src/generated/labs.rs): do not edit.
";

const HANDOUT_DOC: &str = "\
//! munmap-lab: a teaching lab for Linux `munmap()`.
//!
//! Each lab is one module, from `labs/`; its suite is `tests/<lab>.rs`.
//! The suites' harness is the crate `munmap-lab-harness` (`harness/`), which lab code cannot use.
";

const PAGE: &str = "
mod page;
pub use page::{page_size, pages};
";

const PROJECT_LABS: &str = "
// Each lab module comes from `labs/` or, with `--features solutions`, from `solutions/`.
// Every lab spells out both paths: `#[path]` takes only a literal, and tools that read
// the module tree without expanding `cfg_attr` (cargo-mutants) need a plain `#[path]`.
";

/// `src/lib.rs` for these labs: plain `#[path]` attributes (cargo-mutants reads the
/// module tree without expanding `cfg_attr`), no build script or `include!`.
pub fn lib_rs(labs: &[Lab], lib: Lib) -> String {
    let mut out = String::from(match lib {
        Lib::Project => PROJECT_DOC,
        Lib::Handout => HANDOUT_DOC,
    });
    out.push_str(PAGE);
    if lib == Lib::Project {
        out.push_str(PROJECT_LABS);
    }
    for Lab { id, .. } in labs {
        out.push('\n');
        match lib {
            Lib::Project => out.push_str(&format!(
                "#[cfg(not(feature = \"solutions\"))]\n#[path = \"../labs/{id}.rs\"]\npub mod {id};\n\
                 #[cfg(feature = \"solutions\")]\n#[path = \"../solutions/{id}.rs\"]\npub mod {id};\n"
            )),
            Lib::Handout => out.push_str(&format!("#[path = \"../labs/{id}.rs\"]\npub mod {id};\n")),
        }
    }
    out
}

/// Where README.md's lab table sits.
pub const README_BEGIN: &str = "<!-- labs: generated from rubric.toml by `cargo grade sync`; do not edit -->";
pub const README_END: &str = "<!-- end of labs -->";

/// README.md's lab table: each lab and its summary.
pub fn readme_table(labs: &[Lab]) -> String {
    let mut out = String::from("| lab | behaviour |\n| --- | --- |\n");
    for lab in labs {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            lab.id,
            lab.summary.as_deref().unwrap_or("")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handout_lib_has_no_solutions_branch() {
        let labs = [Lab {
            id: "lab01_a".into(),
            title: "A".into(),
            summary: None,
            points: Vec::new(),
            undrawn: Vec::new(),
        }];
        let lib = lib_rs(&labs, Lib::Handout);
        assert!(!lib.contains("solutions"), "{lib}");
        assert!(
            lib.ends_with("\n#[path = \"../labs/lab01_a.rs\"]\npub mod lab01_a;\n"),
            "{lib}"
        );
    }
}
