//! munmap-grader: `cargo grade` scores labs, `cargo selftest` checks the lab itself.
//!
//! ```text
//! cargo grade [--solutions | --submission DIR] [--json F] [--junit F] [--classroom F] [--timeout S]
//! cargo grade --batch DIR [--out DIR] [--roster FILE | --shard K/N] [--timeout S]
//! cargo grade merge OUT SHARD_DIR... [--roster FILE]
//! cargo grade handout DIR
//! cargo grade rubric [--write FILE | --check FILE]
//! cargo grade sync
//! cargo selftest [CHECK]
//! ```

mod batch;
mod blame;
mod cargo_build;
mod cli;
mod files;
#[cfg(feature = "fixture-hooks")]
mod fixture_hooks;
mod grade;
mod handout;
mod manifest;
mod mistakes;
mod model;
mod output;
mod progress;
mod project;
mod registry;
mod rubric;
mod run;
mod sandbox;
mod scan;
mod score;
mod selftest;
mod shard;
mod witness;
mod workdir;

use std::process::ExitCode;

use anyhow::{Context, Result};

use cli::Command;
use workdir::Source;

/// The exit status of a usage error (the command line or the environment); 1 is a runtime error.
const USAGE_ERROR: u8 = 2;

/// Exit status of a batch that ran but could not grade every submission (each such
/// submission has a row saying why): neither success nor a failure of the grader.
const SOME_NOT_GRADED: u8 = 3;

/// How a command that ran to its end went.
enum Finished {
    /// Everything it was asked to do is done.
    Done,
    /// A batch with a submission it could not grade.
    SomeNotGraded,
}

fn main() -> ExitCode {
    let command = match cli::args().and_then(|args| cli::parse(&args)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match execute(command) {
        Ok(Finished::Done) => ExitCode::SUCCESS,
        Ok(Finished::SomeNotGraded) => ExitCode::from(SOME_NOT_GRADED),
        Err(e) => {
            progress::clear();
            // `{:#}`: the whole chain on one line (`cannot read X: No such file ...`).
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Carries out a parsed command.
fn execute(command: Command) -> Result<Finished> {
    let root = project::root();
    match command {
        Command::Help => print!("{}", cli::USAGE),
        Command::Version => println!("munmap-grader {}", env!("CARGO_PKG_VERSION")),
        Command::Grade {
            source,
            outputs,
            options,
        } => grade_command(&root, &source, &outputs, &options)?,
        Command::Batch {
            dir,
            out,
            roster,
            shard,
            options,
        } => {
            // Read and checked before anything is graded.
            let roster = roster.as_deref().map(output::gradebook::Roster::read).transpose()?;
            progress::start(progress::Mode::detect(true));
            let how = batch::BatchSettings {
                roster: roster.as_ref(),
                shard,
                progress: true,
                ..batch::BatchSettings::default()
            };
            let graded = batch::grade_batch(&root, &dir, &out, &options, &how)?;
            if graded.iter().any(|g| g.result.is_err()) {
                return Ok(Finished::SomeNotGraded);
            }
        }
        Command::Merge { out, shards, roster } => {
            let roster = roster.as_deref().map(output::gradebook::Roster::read).transpose()?;
            let merged = shard::merge(&root, &out, &shards, roster.as_ref())?;
            println!(
                "merged {} shards: {} submission(s), {} graded; gradebook: {}",
                merged.shards,
                merged.submissions,
                merged.graded,
                out.join("gradebook.csv").display()
            );
        }
        Command::Handout { dir } => {
            let count = handout::export(&root, &dir)?;
            println!(
                "Wrote the student repository ({count} files) to {}: no solutions, a README for students \
                 and .github/workflows/grade.yml (grades every push for GitHub Classroom).",
                dir.display()
            );
        }
        Command::Rubric { write, check } => rubric_command(&root, write, check)?,
        Command::Sync => {
            for line in registry::sync(&root)? {
                println!("{line}");
            }
        }
        Command::Selftest { only } => selftest::check_project(&root, only.as_deref())?,
    }
    Ok(Finished::Done)
}

/// `cargo grade [--solutions | --submission DIR]`: one grade, on the terminal and in
/// the forms asked for.
fn grade_command(
    root: &std::path::Path,
    source: &Source,
    outputs: &cli::Outputs,
    options: &grade::Options,
) -> Result<()> {
    let mut keep_out = output::paths::project_keep_out(root);
    if let Source::Submission(dir) = source {
        workdir::check_submission_dir(dir)?;
        keep_out.push((dir.clone(), "the submission being graded".to_string()));
    }
    let files: Vec<(&str, &std::path::Path)> = [
        ("--json", &outputs.json),
        ("--junit", &outputs.junit),
        ("--classroom", &outputs.classroom),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.as_deref().map(|p| (flag, p)))
    .collect();
    output::paths::check_files(&files, &keep_out)?;
    let what = match source {
        Source::Checkout => "this checkout's labs/".to_string(),
        Source::Solutions => "the reference solutions".to_string(),
        Source::Submission(dir) => format!("the submission in {}", dir.display()),
    };
    progress::start(progress::Mode::detect(false));
    eprintln!("munmap-grader: grading {what} (building, then one process per test)...");
    let started = std::time::SystemTime::now();
    // A skip counts only where the reference solutions skip too: they are graded first,
    // before any lab code of the source runs.
    let grade_it = || match source {
        Source::Solutions => grade::grade(root, source, options, None),
        _ => grade::against_reference(root, source, options),
    };
    #[cfg(feature = "fixture-hooks")]
    let grade_it = || fixture_hooks::given_grade().unwrap_or_else(grade_it);
    let graded = grade_it();
    progress::clear();
    let grade = match graded {
        Ok(grade) => grade,
        Err(e) => {
            // GitHub Classroom's reporter still runs: it shows why there are no points.
            if let Some(path) = &outputs.classroom {
                let _ = output::append_file(path, &output::classroom::render_error(&format!("{e:#}")));
            }
            return Err(e);
        }
    };
    for warning in &grade.warnings {
        eprintln!("warning: {warning}");
    }
    for gap in &grade.not_enforced {
        eprintln!("note: not enforced on this machine: {gap}");
    }
    if let Some(path) = &outputs.json {
        output::write_file(path, &output::json(&grade))?;
    }
    if let Some(path) = &outputs.junit {
        output::write_file(path, &output::junit::render(&grade, started))?;
    }
    if let Some(path) = &outputs.classroom {
        output::append_file(path, &output::classroom::render(&grade)?)?;
    }
    print!("{}", output::terminal::render(&grade));
    Ok(())
}

/// Prints the points table, or rewrites / checks the generated tables (points and
/// mistakes) inside a Markdown file.
fn rubric_command(
    root: &std::path::Path,
    write: Option<std::path::PathBuf>,
    check: Option<std::path::PathBuf>,
) -> Result<()> {
    let Some(path) = write.as_ref().or(check.as_ref()) else {
        print!("{}", rubric::table(&rubric::load(&root.join("rubric.toml"))?));
        return Ok(());
    };
    let doc = files::read_to_string(path)?;
    let updated = rubric::update_grading(root, &doc).with_context(|| path.display().to_string())?;
    if check.is_some() {
        if updated != doc {
            anyhow::bail!(
                "{}'s generated tables are out of date with rubric.toml or {}: run `cargo grade rubric --write {}`",
                path.display(),
                mistakes::CATALOGUE,
                path.display()
            );
        }
        println!("{}'s generated tables are up to date", path.display());
    } else if updated != doc {
        files::write(path, updated)?;
        println!("updated the points and mistakes tables in {}", path.display());
    } else {
        println!("{}'s generated tables are already up to date", path.display());
    }
    Ok(())
}
