//! Stage 2 of a grade, the build: takes the chosen lab files and gives the suites'
//! test binaries, built once in the slot's work folder ([`cargo_build`]), and the labs
//! charged a build error, each built as its stub ([`blame`] decides which). A
//! checkout's first build starts from what its own `cargo test` compiled ([`seed`]).

pub mod blame;
pub mod cargo_build;
pub mod seed;
