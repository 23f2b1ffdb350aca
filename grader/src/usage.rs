//! The one error a caller tells apart from every other: a command line (or an
//! environment) the grader cannot run. It sits below every stage that can reject what
//! it was given (`--shard K/N`, a shard's manifest) and the command line that reports it.

/// A command line the grader cannot run: `main` exits with status 2 for it, where
/// every other error is status 1 (GRADING.md, "Commands"). One line, saying what to change.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl From<String> for UsageError {
    fn from(message: String) -> Self {
        UsageError(message)
    }
}

impl From<&str> for UsageError {
    fn from(message: &str) -> Self {
        UsageError(message.to_string())
    }
}
