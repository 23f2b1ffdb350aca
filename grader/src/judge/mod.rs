//! Stage 3 of a grade, the judge: takes the test binaries and gives each lab's grade.
//! Every rubric test runs in its own confined process ([`run`] inside the
//! [`sandbox`]), its pass is held to what the kernel showed the grader at its
//! checkpoints ([`witness`]) with the unmaps it asked for ([`calls`]), and the
//! verdicts become points ([`score`]).

pub mod calls;
pub mod run;
pub mod sandbox;
pub mod score;
pub mod witness;
