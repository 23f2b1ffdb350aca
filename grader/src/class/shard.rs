//! A class graded on several machines: `cargo grade batch DIR --shard K/N` grades one
//! shard of DIR, and `cargo grade merge OUT SHARD_DIR...` ([`crate::class::merge`])
//! combines the shards' grades into the gradebook one machine would have written for
//! the whole batch. This module is the split and what a shard writes.
//!
//! A submission folder belongs to shard `crc32(name) % N + 1` (the CRC-32 of the
//! folder name's bytes, as zlib computes it; in Python,
//! `zlib.crc32(name.encode()) % N + 1`). So every folder is in exactly one shard, and
//! adding or removing folders moves no other folder to another shard.
//!
//! Besides the usual `NAME.json`, `NAME.txt` and `gradebook.csv` of its submissions, a
//! shard writes [`MANIFEST`]: which shard it is, every folder of the batch (so a merge
//! can tell a missing shard or a different batch), its submissions and the file stem
//! of each (the one a single machine would give it), and the points possible on its
//! machine.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The file a shard writes beside its grades.
pub const MANIFEST: &str = "shard.json";

/// Shard `k` of `n` (1 <= k <= n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Shard {
    /// `K/N`, e.g. `2/4`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let wrong = || format!("give K/N, shard K of N, e.g. --shard 2/4 (1 <= K <= N), not `{text}`");
        let (k, n) = text.split_once('/').ok_or_else(wrong)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| wrong())?,
            n.trim().parse().map_err(|_| wrong())?,
        );
        if k == 0 || k > n {
            return Err(wrong());
        }
        Ok(Shard { k, n })
    }

    /// The shard (1 to `n`) a submission folder named `name` belongs to.
    pub fn of(name: &[u8], n: u32) -> u32 {
        crc32fast::hash(name) % n + 1
    }

    pub fn contains(&self, name: &[u8]) -> bool {
        Shard::of(name, self.n) == self.k
    }
}

/// What a shard writes in [`MANIFEST`].
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// `K/N`.
    pub shard: String,
    /// Every folder of the batch (names as the gradebook shows them), in its order.
    pub batch: Vec<String>,
    /// This shard's submissions, in the batch's order.
    pub submissions: Vec<Entry>,
    /// The rubric's labs, in order.
    pub labs: Vec<String>,
    /// Each lab's points possible on this shard's machine.
    pub points_possible: Vec<u32>,
    /// Whether the reference solutions were graded here (they are not when the shard has
    /// nothing to grade): only then does `points_possible` say what this machine can run.
    pub reference: bool,
}

/// One submission of a shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The folder name, as the gradebook shows it.
    pub name: String,
    /// The stem of its `.json` and `.txt` in the grades folder.
    pub file: String,
}

impl Manifest {
    pub fn render(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest is always valid JSON") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_is_k_of_n() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { k: 2, n: 4 });
        assert_eq!(Shard::parse("1/1").unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "2", "a/b", "2/0", "-1/4", "/4", ""] {
            let err = Shard::parse(bad).unwrap_err();
            assert!(err.to_string().contains("give K/N"), "{bad}: {err}");
        }
    }

    #[test]
    fn every_folder_is_in_exactly_one_shard_and_stays_there() {
        let names: Vec<String> = (0..200).map(|i| format!("student{i:03}")).collect();
        for n in 1..=7 {
            let mut sizes = vec![0; n as usize];
            for name in &names {
                let owners: Vec<u32> = (1..=n).filter(|&k| Shard { k, n }.contains(name.as_bytes())).collect();
                assert_eq!(owners.len(), 1, "{name} in {owners:?} of {n}");
                sizes[owners[0] as usize - 1] += 1;
            }
            // Spread out, roughly evenly.
            assert!(sizes.iter().all(|&s| s > 200 / n as usize / 2), "{n}: {sizes:?}");
        }
        // The split is zlib's CRC-32 of the name: the same on every machine and in any language.
        assert_eq!(crc32fast::hash(b"alice"), 0x278e_bc47);
        assert_eq!(Shard::of(b"alice", 4), 0x278e_bc47 % 4 + 1);
    }
}
