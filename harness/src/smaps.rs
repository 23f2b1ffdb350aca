//! `/proc/PID/smaps` and `smaps_rollup`: fields summed in pages.
//!
//! The file is read whole and parsed by procfs in one place, the protocol's maps view
//! ([`munmap_lab_protocol::maps`] says why whole). Fields are looked up by key (their set
//! varies between kernels); procfs gives their values in bytes.

use std::ptr::NonNull;

use procfs::process::{MMapPath, MemoryMap};

pub use munmap_lab_protocol::maps::{parse_smaps as parse, this_process_smaps as this_process};

use super::{page_size, pages};

/// The pages smaps' `field` (`Locked`, `Rss`, ...) counts in this process's mappings
/// that start inside the window of `window_pages` pages at `start`: the lab's own
/// mappings, not the reservation around them, which starts before the window.
pub fn window_field_pages(start: NonNull<u8>, window_pages: usize, field: &str) -> u64 {
    let from = start.as_ptr() as u64;
    let window = from..from + pages(window_pages) as u64;
    field_pages(this_process().iter().filter(|m| window.contains(&m.address.0)), field)
}

/// The pages smaps' `field` counts in every mapping of this process of the file named `name`.
pub fn file_field_pages(name: &str, field: &str) -> u64 {
    let maps = this_process();
    let of_file = maps
        .iter()
        .filter(|m| matches!(&m.pathname, MMapPath::Path(p) if p.file_name().is_some_and(|f| f == name)));
    field_pages(of_file, field)
}

/// The sum of `field` over `maps`, in pages.
pub fn field_pages<'a>(maps: impl IntoIterator<Item = &'a MemoryMap>, field: &str) -> u64 {
    let bytes: u64 = maps
        .into_iter()
        .map(|m| m.extension.map.get(field).copied().unwrap_or(0))
        .sum();
    bytes / page_size() as u64
}

/// Every `Name: N kB` field of `/proc/self/smaps_rollup`, in kB, sorted by name.
pub fn rollup_kib() -> Vec<(String, u64)> {
    let rollup = procfs::process::Process::myself()
        .and_then(|me| me.smaps_rollup())
        .expect("reading /proc/self/smaps_rollup");
    let mut fields: Vec<(String, u64)> = rollup
        .memory_map_rollup
        .0
        .into_iter()
        .flat_map(|m| m.extension.map)
        .map(|(name, bytes)| (name, bytes / 1024))
        .collect();
    fields.sort();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_summed_in_pages_by_key() {
        let p = page_size() as u64;
        let kib = p / 1024;
        let text = format!(
            "1000-{:x} rw-p 00000000 00:00 0 \nRss: {} kB\nLocked: {kib} kB\n{:x}-{:x} r--s 00000000 08:01 7 /x/lab.data\nRss: {kib} kB\n",
            0x1000 + 2 * p,
            2 * kib,
            0x1000 + 2 * p,
            0x1000 + 3 * p,
        );
        let maps = parse(text.as_bytes()).unwrap();
        assert_eq!(field_pages(&maps, "Rss"), 3);
        assert_eq!(field_pages(&maps, "Locked"), 1);
        assert_eq!(
            field_pages(&maps, "Swap"),
            0,
            "a field the kernel does not show counts 0"
        );
    }

    #[test]
    fn the_rollup_has_anonymous_memory() {
        assert!(rollup_kib().iter().any(|(name, _)| name == "Anonymous"));
    }
}
