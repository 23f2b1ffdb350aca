//! A class: many submissions graded one after another with one reference
//! ([`batch`]), on one machine or split over several ([`shard`]) and merged back into
//! the gradebook one machine would have written. Takes a folder of submissions, gives
//! a grades folder (`NAME.json`, `NAME.txt`, `gradebook.csv`), and the class report
//! read back from those grades ([`stats`]: `report.html`, `stats.json`).

pub mod batch;
pub mod merge;
pub mod shard;
pub mod stats;
