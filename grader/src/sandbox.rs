//! Placeholder until the Landlock sandbox lands (same API).
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Sandbox {
    not_enforced: Vec<String>,
}

impl Sandbox {
    pub fn new(_hidden: &[PathBuf], _readable: &[PathBuf]) -> std::io::Result<Sandbox> {
        Ok(Sandbox {
            not_enforced: vec!["placeholder sandbox".into()],
        })
    }
    pub fn not_enforced(&self) -> &[String] {
        &self.not_enforced
    }
    pub fn confine(&self, _cmd: &mut Command, _scratch: &Path) {}
}

pub fn become_subreaper() -> std::io::Result<()> {
    Ok(())
}

pub fn kill_orphans(_keep: &[u32]) -> usize {
    0
}
