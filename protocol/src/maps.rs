//! A normalised view of `/proc/self/smaps` for one window of the address space.
//!
//! Raw maps lines carry addresses, device numbers, inodes and paths that differ on
//! every run and machine. The view keeps only what a lab teaches: which pages of the
//! window are mapped, with what permissions, backed by what (anonymous memory, a
//! file by base name and file page, or nothing), and whether they are locked.
//! Pages are counted from the window start, so two runs that place the window at
//! different addresses produce the same text.
//!
//! Both judges read it: the harness (its suites' snapshots and assertions, re-exported
//! as `munmap_lab_harness::maps`) and the grader, which reads a witnessed test's window
//! from `/proc/PID/smaps` while the process is stopped. It lives here, beside the rest
//! of what they share, so the grader needs none of the harness.
//!
//! smaps is read whole before it is parsed: the kernel hands it out about a page per
//! `read()`, so parsing while reading (procfs's own `Process::smaps()`) would allocate
//! between reads, and an allocation that needs a new mapping would change the file
//! half-way through. procfs parses it.

use std::fmt;
use std::ptr::NonNull;

use procfs::FromBufRead;
use procfs::process::{MMapPath, MemoryMap, MemoryMaps, VmFlags};

use super::page_size;

/// Every mapping of this process, from one read of `/proc/self/smaps`.
pub fn this_process_smaps() -> Vec<MemoryMap> {
    let bytes = std::fs::read("/proc/self/smaps").expect("reading /proc/self/smaps");
    parse_smaps(&bytes).expect("parsing /proc/self/smaps")
}

/// Every mapping in smaps text (this process's, another's, or one a child wrote out).
pub fn parse_smaps(text: &[u8]) -> procfs::ProcResult<Vec<MemoryMap>> {
    MemoryMaps::from_buf_read(text).map(|maps| maps.0)
}

/// What backs a run of pages in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// No mapping covers these pages: touching them would raise SIGSEGV.
    Unmapped,
    /// Anonymous memory (named `[anon:...]` regions included).
    Anonymous,
    /// A file, by base name, with the file page that the run's first page shows.
    File { name: String, first_file_page: u64 },
    /// A kernel-provided region such as `[heap]` or `[stack]` (never expected in a lab window).
    Special(String),
}

/// A run of consecutive window pages that the kernel reports as one mapping (or one gap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    /// First page of the run, counted from the window start.
    pub first: usize,
    /// One past the last page of the run.
    pub end: usize,
    /// Permissions as in maps: `rw-p`, `r--s`, `---p`; `----` for a gap.
    pub perms: String,
    pub backing: Backing,
    /// The `lo` VmFlag: the pages are mlock'ed.
    pub locked: bool,
}

impl Run {
    /// Number of pages in the run.
    pub fn len(&self) -> usize {
        self.end - self.first
    }

    /// Whether the run is empty (never true for runs in a view).
    pub fn is_empty(&self) -> bool {
        self.first == self.end
    }

    /// Whether window page `page` falls in this run.
    pub fn contains(&self, page: usize) -> bool {
        (self.first..self.end).contains(&page)
    }
}

/// The window's pages as the kernel reported them, in order, gaps included.
///
/// Two views are equal when they show the same pages the same way, wherever their windows lie.
#[derive(Clone, Debug)]
pub struct MapsView {
    window_pages: usize,
    runs: Vec<Run>,
    /// The window's start, for a view of this process's own address space ([`MapsView::of`]).
    own_start: Option<u64>,
    /// The window pages of the lab's mapping, for naming pages in messages (not compared).
    mapping: Option<std::ops::Range<usize>>,
}

impl PartialEq for MapsView {
    fn eq(&self, other: &MapsView) -> bool {
        self.window_pages == other.window_pages && self.runs == other.runs
    }
}

impl Eq for MapsView {}

/// `VmLck` of process `pid` (`/proc/PID/status`), in pages: every page it has locked,
/// in the window or not. The harness reads its own; the grader reads a stopped test's.
pub fn locked_pages_of(pid: i32) -> Result<u64, String> {
    let status = procfs::process::Process::new(pid)
        .and_then(|process| process.status())
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    let kib = status.vmlck.ok_or_else(|| format!("/proc/{pid}/status has no VmLck"))?;
    Ok(kib * 1024 / crate::page_size() as u64)
}

impl MapsView {
    /// Reads `/proc/self/smaps` and keeps the `window_pages` pages starting at `start`.
    pub fn of(start: NonNull<u8>, window_pages: usize) -> MapsView {
        let smaps = this_process_smaps();
        let start = start.as_ptr() as u64;
        MapsView {
            own_start: Some(start),
            ..MapsView::from_maps(&smaps, start, window_pages)
        }
    }

    /// The window of `window_pages` pages at `start` in process `pid`, from its
    /// `/proc/PID/smaps`, for a judge outside that process: never panics, whatever the
    /// process mapped (the error says why the window could not be read).
    pub fn of_process(pid: u32, start: u64, window_pages: usize) -> Result<MapsView, String> {
        let path = format!("/proc/{pid}/smaps");
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let parsed = std::panic::catch_unwind(|| {
            parse_smaps(&bytes).map(|maps| MapsView::from_maps(&maps, start, window_pages))
        });
        match parsed {
            Ok(Ok(view)) => Ok(view),
            Ok(Err(e)) => Err(format!("cannot parse {path}: {e}")),
            Err(_) => Err(format!("cannot parse {path}: the parser panicked")),
        }
    }

    /// The view, knowing that window pages `pages` are the lab's mapping, so that messages
    /// can name a page both ways ("mapping page 0 (window page 3)"). A view knows none
    /// until told: its pages are then named as window pages only.
    pub fn with_mapping(self, pages: std::ops::Range<usize>) -> MapsView {
        MapsView {
            mapping: Some(pages),
            ..self
        }
    }

    /// The window pages of the lab's mapping, when the view was told ([`MapsView::with_mapping`]).
    pub fn mapping(&self) -> Option<std::ops::Range<usize>> {
        self.mapping.clone()
    }

    /// Where the window starts, when this is a view of this process's own address space
    /// (None for a view of another process's, or one built from text).
    pub fn start_in_this_process(&self) -> Option<u64> {
        self.own_start
    }

    /// Builds the view from parsed maps (also how tests feed it text).
    pub fn from_maps(maps: &[MemoryMap], start: u64, window_pages: usize) -> MapsView {
        let page = page_size() as u64;
        let end = start + window_pages as u64 * page;
        let mut runs = Vec::new();
        let mut cursor = start;
        let mut sorted: Vec<&MemoryMap> = maps
            .iter()
            .filter(|m| m.address.0 < end && m.address.1 > start)
            .collect();
        sorted.sort_by_key(|m| m.address.0);
        for map in sorted {
            let from = map.address.0.max(start);
            let to = map.address.1.min(end);
            if from > cursor {
                runs.push(gap(cursor, from, start, page));
            }
            runs.push(Run {
                first: ((from - start) / page) as usize,
                end: ((to - start) / page) as usize,
                perms: map.perms.as_str(),
                backing: backing_of(map, from, page),
                locked: map.extension.vm_flags.contains(VmFlags::LO),
            });
            cursor = to;
        }
        if cursor < end {
            runs.push(gap(cursor, end, start, page));
        }
        MapsView {
            window_pages,
            runs,
            own_start: None,
            mapping: None,
        }
    }

    /// The runs, in address order, covering the whole window.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The run that holds window page `page`.
    #[track_caller]
    pub fn run_at(&self, page: usize) -> &Run {
        match self.runs.iter().find(|r| r.contains(page)) {
            Some(run) => run,
            None => panic!("window page {page} is outside the {}-page window", self.window_pages),
        }
    }

    /// Whether no mapping covers window page `page`.
    #[track_caller]
    pub fn is_unmapped(&self, page: usize) -> bool {
        self.run_at(page).backing == Backing::Unmapped
    }

    /// Window pages that carry the `lo` (mlock'ed) flag.
    pub fn locked_pages(&self) -> Vec<usize> {
        self.runs
            .iter()
            .filter(|r| r.locked)
            .flat_map(|r| r.first..r.end)
            .collect()
    }
}

impl fmt::Display for MapsView {
    /// One line per run, e.g. `pages 1-2  rw-s  file lab.data, file pages 0-1  locked`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for run in &self.runs {
            let pages = if run.len() == 1 {
                format!("page  {}", run.first)
            } else {
                format!("pages {}-{}", run.first, run.end - 1)
            };
            let lock = if run.locked { "  locked" } else { "" };
            writeln!(f, "{pages:<11} {:<4}  {}{lock}", run.perms, run.backing_text())?;
        }
        Ok(())
    }
}

impl Run {
    /// What backs the run, as the view prints it: `anonymous`, `unmapped`,
    /// `file lab.data, file pages 0-1`.
    pub fn backing_text(&self) -> String {
        match &self.backing {
            Backing::Unmapped => "unmapped".to_string(),
            Backing::Anonymous => "anonymous".to_string(),
            Backing::Special(name) => format!("[{name}]"),
            Backing::File { name, first_file_page } if self.len() == 1 => {
                format!("file {name}, file page {first_file_page}")
            }
            Backing::File { name, first_file_page } => format!(
                "file {name}, file pages {first_file_page}-{}",
                first_file_page + self.len() as u64 - 1
            ),
        }
    }
}

/// Window pages in the view's own notation: `window page 4`, `window pages 4-5`.
pub fn window_pages(pages: std::ops::Range<usize>) -> String {
    match pages.len() {
        0 => "no window page".to_string(),
        1 => format!("window page {}", pages.start),
        _ => format!("window pages {}-{}", pages.start, pages.end - 1),
    }
}

fn gap(from: u64, to: u64, start: u64, page: u64) -> Run {
    Run {
        first: ((from - start) / page) as usize,
        end: ((to - start) / page) as usize,
        perms: "----".to_string(),
        backing: Backing::Unmapped,
        locked: false,
    }
}

/// What backs `map`, as seen from window address `from` (a clipped run starts further into the file).
fn backing_of(map: &MemoryMap, from: u64, page: u64) -> Backing {
    match &map.pathname {
        MMapPath::Anonymous => Backing::Anonymous,
        MMapPath::Other(name) if name.starts_with("anon:") => Backing::Anonymous,
        MMapPath::Path(path) => {
            let shown = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // A file removed while mapped is listed as "name (deleted)"; the mapping is the same.
            let name = shown.strip_suffix(" (deleted)").unwrap_or(&shown).to_string();
            Backing::File {
                name,
                first_file_page: (map.offset + (from - map.address.0)) / page,
            }
        }
        MMapPath::Heap => Backing::Special("heap".into()),
        MMapPath::Stack | MMapPath::TStack(_) => Backing::Special("stack".into()),
        other => Backing::Special(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<MemoryMap> {
        parse_smaps(text.as_bytes()).unwrap()
    }

    const WINDOW: u64 = 0x7f00_0000_0000;

    #[test]
    fn clips_to_window_and_fills_gaps() {
        let p = page_size() as u64;
        let text = format!(
            "{:x}-{:x} ---p 00000000 00:00 0 \n{:x}-{:x} rw-s {:08x} 08:01 1234 /tmp/x/lab.data\n",
            WINDOW - p,
            WINDOW + p,
            WINDOW + 2 * p,
            WINDOW + 5 * p,
            2 * p
        );
        let view = MapsView::from_maps(&parse(&text), WINDOW, 4);
        assert_eq!(
            view.to_string(),
            "page  0     ---p  anonymous\n\
             page  1     ----  unmapped\n\
             pages 2-3   rw-s  file lab.data, file pages 2-3\n"
        );
    }

    #[test]
    fn clipped_file_run_starts_at_the_right_file_page() {
        let p = page_size() as u64;
        let text = format!(
            "{:x}-{:x} r--p {:08x} 08:01 9 /data/f (deleted)\n",
            WINDOW - 2 * p,
            WINDOW + p,
            p
        );
        let view = MapsView::from_maps(&parse(&text), WINDOW, 2);
        assert_eq!(
            view.run_at(0).backing,
            Backing::File {
                name: "f".into(),
                first_file_page: 3
            }
        );
        assert!(view.is_unmapped(1));
    }

    #[test]
    fn locked_flag_comes_from_smaps_vmflags() {
        let p = page_size() as u64;
        let text = format!(
            "{:x}-{:x} rw-p 00000000 00:00 0 \nSize: 8 kB\nLocked: 8 kB\nVmFlags: rd wr mr mw me lo ac \n",
            WINDOW,
            WINDOW + 2 * p
        );
        let view = MapsView::from_maps(&parse(&text), WINDOW, 3);
        assert_eq!(view.locked_pages(), vec![0, 1]);
        assert!(view.to_string().contains("locked"));
    }

    #[test]
    fn page_ranges_read_like_the_view() {
        assert_eq!(window_pages(4..5), "window page 4");
        assert_eq!(window_pages(4..6), "window pages 4-5");
        assert_eq!(window_pages(2..2), "no window page");
    }

    #[test]
    fn empty_window_is_one_gap() {
        let view = MapsView::from_maps(&[], WINDOW, 3);
        assert_eq!(view.to_string(), "pages 0-2   ----  unmapped\n");
    }
}
