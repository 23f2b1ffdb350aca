//! Stage 1 of a grade, the source: takes what is graded (this checkout, the solutions
//! or a submission folder) and gives the lab files to build, each read without
//! following a link ([`overlay`]), with every file that may not be built refused like
//! a compile error ([`scan`]) and what else the submission holds listed as ignored.

pub mod overlay;
pub mod scan;
