//! Scenarios drawn per grading: sizes, cut positions and lengths a test takes from the
//! grader's seed instead of its defaults.
//!
//! A snapshot is public, so a window that always ends up as its snapshot shows can be
//! painted by code that implements no lab. When the grader grades, it hands every test
//! process a seed ([`protocol::DRAW_ENV`]); each value a test draws here then comes from
//! that seed (the same seed, the same value: [`protocol::draw_index`]), and the grader
//! holds the windows to the reference solutions' under the same draw. Under `cargo test`
//! there is no seed, every draw is its default, and the snapshot is what the test
//! asserts. The lesson stays the same whatever is drawn: each test declares only choices
//! that keep it.

use std::ops::RangeInclusive;
use std::sync::OnceLock;

use munmap_lab_protocol as protocol;

use super::context::TestContext;

/// The grader's seed for this test process (None: every draw is its default).
static SEED: OnceLock<Option<u64>> = OnceLock::new();

/// Takes the grader's seed out of the environment (once, with the token, before lab code runs).
pub(crate) fn take_from_env() {
    SEED.get_or_init(|| {
        let text = super::secret_env::take(protocol::DRAW_ENV)?;
        let seed = protocol::parse_draw(&text)
            .unwrap_or_else(|| panic!("{}={text:?} is not a seed (a decimal number)", protocol::DRAW_ENV));
        Some(seed)
    });
}

/// Whether this test's scenario is drawn (graded with a seed), not its defaults: its
/// snapshot then shows another scenario, and the grader holds it to the reference's.
pub fn is_drawn() -> bool {
    seed().is_some()
}

fn seed() -> Option<u64> {
    SEED.get().copied().flatten()
}

/// A count (of pages, mostly) for `what`: `default` under `cargo test`, any other of
/// `choices` when graded (see [`one_of`]).
pub fn count(what: &str, default: usize, choices: RangeInclusive<usize>) -> usize {
    let values: Vec<usize> = choices.collect();
    one_of(what, default, &values)
}

/// One of `choices` for `what`: `default` under `cargo test`; when graded, any of them
/// but the default, where there is another (the default is what the snapshot shows, and
/// code that only repaints the snapshot must meet something else). What was drawn is
/// told to the grader (a note), which shows it with a failure: the student's `cargo test`
/// ran the defaults.
pub fn one_of<T: Copy + std::fmt::Debug + PartialEq>(what: &str, default: T, choices: &[T]) -> T {
    let Some(seed) = seed() else {
        return default;
    };
    assert!(!choices.is_empty(), "draw {what:?}: no choices");
    let others: Vec<T> = choices.iter().copied().filter(|c| *c != default).collect();
    let choices = if others.is_empty() { choices } else { &others[..] };
    let test = TestContext::expect_current("draw");
    let graded = format!("{}::{}", test.lab, protocol::graded_name(&test.test));
    let value = choices[protocol::draw_index(seed, &graded, what, choices.len())];
    super::note(format!("{}{what} = {value:?}", protocol::DRAWN_NOTE));
    value
}
