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
// Not wired into the runner yet: the next change starts test processes through them.
mod cli;
mod compile;
mod fixtures;
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

use cli::Command;
use workdir::Source;

/// The exit status of a usage error (the command line or the environment); 1 is a runtime error.
const USAGE_ERROR: u8 = 2;

/// Exit status of a batch that ran but could not grade every submission (each such
/// submission has a row saying why): neither success nor a failure of the grader.
const SOME_NOT_GRADED: u8 = 3;
/// Set by a batch with a submission it could not grade.
static NOT_ALL_GRADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() -> ExitCode {
    let args: Result<Vec<String>, String> = std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string().map_err(|arg| {
                format!(
                    "argument `{}` is not UTF-8: give a path without such bytes (rename it, or use a link)",
                    arg.to_string_lossy()
                )
            })
        })
        .collect();
    let command = match args.and_then(|args| cli::parse(&args)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match run(command) {
        Ok(()) if NOT_ALL_GRADED.load(std::sync::atomic::Ordering::Relaxed) => ExitCode::from(SOME_NOT_GRADED),
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            progress::clear();
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    let root = project::root();
    match command {
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Command::Version => {
            println!("munmap-grader {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Grade {
            source,
            outputs,
            options,
        } => {
            let mut keep_out = output::paths::project_keep_out(&root);
            if let Source::Submission(dir) = &source {
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
            let what = match &source {
                Source::Checkout => "this checkout's labs/".to_string(),
                Source::Solutions => "the reference solutions".to_string(),
                Source::Submission(dir) => format!("the submission in {}", dir.display()),
            };
            progress::start(progress::Mode::detect(false));
            eprintln!("munmap-grader: grading {what} (building, then one process per test)...");
            let started = std::time::SystemTime::now();
            let graded = || {
                // A skip counts only where the reference solutions skip too: grade them first,
                // before any lab code of the source runs.
                let reference = match source {
                    Source::Solutions => None,
                    _ => grade::reference(&root, &options)?,
                };
                grade::grade(&root, &source, &options, reference.as_ref())
            };
            let graded = graded();
            progress::clear();
            let grade = match graded {
                Ok(grade) => grade,
                Err(e) => {
                    // GitHub Classroom's reporter still runs: it shows why there are no points.
                    if let Some(path) = &outputs.classroom {
                        let _ = output::append_file(path, &output::classroom::render_error(&e));
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
            let how = batch::Run {
                roster: roster.as_ref(),
                shard,
                progress: true,
                ..batch::Run::default()
            };
            let graded = batch::run(&root, &dir, &out, &options, &how)?;
            if graded.iter().any(|g| g.result.is_err()) {
                NOT_ALL_GRADED.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(())
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
            Ok(())
        }
        Command::Handout { dir } => {
            let count = handout::export(&root, &dir)?;
            println!(
                "Wrote the student repository ({count} files) to {}: no solutions, a README for students \
                 and .github/workflows/grade.yml (grades every push for GitHub Classroom).",
                dir.display()
            );
            Ok(())
        }
        Command::Rubric { write, check } => rubric_command(&root, write, check),
        Command::Sync => {
            for line in registry::sync(&root).map_err(|e| format!("{e:#}"))? {
                println!("{line}");
            }
            Ok(())
        }
        Command::Selftest { only } => selftest::run(&root, only.as_deref()),
    }
}

/// Prints the points table, or rewrites / checks the generated tables (points and
/// mistakes) inside a Markdown file.
fn rubric_command(
    root: &std::path::Path,
    write: Option<std::path::PathBuf>,
    check: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let Some(path) = write.as_ref().or(check.as_ref()) else {
        print!("{}", rubric::table(&rubric::load(&root.join("rubric.toml"))?));
        return Ok(());
    };
    let doc = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let updated = rubric::update_grading(root, &doc).map_err(|e| format!("{}: {e}", path.display()))?;
    if check.is_some() {
        if updated != doc {
            return Err(format!(
                "{}'s generated tables are out of date with rubric.toml or {}: run `cargo grade rubric --write {}`",
                path.display(),
                mistakes::CATALOGUE,
                path.display()
            ));
        }
        println!("{}'s generated tables are up to date", path.display());
    } else if updated != doc {
        std::fs::write(path, updated).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("updated the points and mistakes tables in {}", path.display());
    } else {
        println!("{}'s generated tables are already up to date", path.display());
    }
    Ok(())
}
