//! Scratch files for file mappings, in a directory that is removed when the test ends.
//!
//! Tests pass `env!("CARGO_TARGET_TMPDIR")` (via [`crate::scratch_dir!`]): it lies in
//! the target directory, so it is on a real disk-backed filesystem (where page-cache
//! dirtiness can be observed) and writable by whoever builds, root or not. When the
//! grader runs a test it names a folder of the test's own instead
//! (`MUNMAP_LAB_SCRATCH`, also on disk): the only place that test process may write.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::context::TestContext;
use super::page_size;

/// A private directory for one test; deleted, with its files, on drop.
pub struct ScratchDir {
    path: PathBuf,
}

/// Scratch directories alive in this process, so [`remove_live`] can delete them when
/// [`crate::skip`] ends the process without running destructors.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Deletes every scratch directory this process still has (used right before `skip()` exits).
pub(crate) fn remove_live() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|p| p.into_inner()));
    for path in live {
        let _ = fs::remove_dir_all(path);
    }
}

/// A [`ScratchDir`] under this test binary's `CARGO_TARGET_TMPDIR`.
#[macro_export]
macro_rules! scratch_dir {
    () => {
        $crate::ScratchDir::new(env!("CARGO_TARGET_TMPDIR"))
    };
}

impl ScratchDir {
    /// Creates `<base>/<test name>-<pid>`; the pid keeps concurrent runs apart. The
    /// grader's folder for this test (`MUNMAP_LAB_SCRATCH`) takes the place of `base`.
    pub fn new(base: impl AsRef<Path>) -> ScratchDir {
        let test = TestContext::current().map_or_else(|| "unnamed".to_string(), |t| t.test_as_file_name());
        let base = std::env::var_os(munmap_lab_protocol::SCRATCH_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| base.as_ref().to_path_buf());
        let path = base.join(format!("{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating scratch dir {}: {e}", path.display()));
        LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(path.clone());
        ScratchDir { path }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` holding `pages` pages; every byte of page `n` is `fill(n)`.
    pub fn file(&self, name: &str, pages: usize, fill: impl Fn(usize) -> u8) -> PathBuf {
        let path = self.path.join(name);
        let mut file = File::create(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        for n in 0..pages {
            file.write_all(&vec![fill(n); page_size()])
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        file.sync_all()
            .unwrap_or_else(|e| panic!("syncing {}: {e}", path.display()));
        path
    }

    /// Opens `path` read-write (for mapping it MAP_SHARED).
    pub fn open_rw(path: &Path) -> File {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
    }
}

/// How many of this process's file descriptors are open on `path` (a scratch file,
/// say: a lab that maps it must not leave its fd open).
pub fn open_fds_to(path: &std::path::Path) -> usize {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    std::fs::read_dir("/proc/self/fd")
        .expect("listing /proc/self/fd")
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_link(entry.path()).ok())
        .filter(|link| *link == target)
        .count()
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
        LIVE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p| *p != self.path);
    }
}
