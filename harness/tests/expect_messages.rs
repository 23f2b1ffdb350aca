//! The `expect` checks point at the test line that made them (`#[track_caller]`) and
//! name pages as the calls count them and as the maps view prints them. One test in this binary: it sets the
//! process's panic hook to see where a failure points.

use std::sync::Mutex;

use munmap_lab_harness::maps::MapsView;
use munmap_lab_harness::{expect, page_size};

const WINDOW: u64 = 0x7f00_0000_0000;

/// A 6-page window: page 0 and 5 a PROT_NONE reservation, pages 1-4 anonymous read-write,
/// the lab's mapping (as a slot's view knows it).
fn view() -> MapsView {
    untold().with_mapping(1..5)
}

/// The same window, not told where the lab's mapping is.
fn untold() -> MapsView {
    let p = page_size() as u64;
    let text = format!(
        "{:x}-{:x} ---p 00000000 00:00 0 \n{:x}-{:x} rw-p 00000000 00:00 0 \n{:x}-{:x} ---p 00000000 00:00 0 \n",
        WINDOW,
        WINDOW + p,
        WINDOW + p,
        WINDOW + 5 * p,
        WINDOW + 5 * p,
        WINDOW + 6 * p
    );
    let maps = munmap_lab_harness::smaps::parse(text.as_bytes()).unwrap();
    MapsView::from_maps(&maps, WINDOW, 6)
}

static WHERE: Mutex<Option<(String, u32)>> = Mutex::new(None);

/// The failure message of `check` and the file and line its panic pointed at.
fn failure(check: impl FnOnce() + std::panic::UnwindSafe) -> (String, String, u32) {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| (l.file().to_string(), l.line()));
        *WHERE.lock().unwrap() = location;
    }));
    let payload = std::panic::catch_unwind(check).expect_err("the check should fail");
    let _ = std::panic::take_hook();
    let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    let (file, line) = WHERE.lock().unwrap().take().expect("the hook saw the panic");
    (message, file, line)
}

#[test]
fn failed_checks_point_at_the_test_and_name_pages_both_ways() {
    // Mapping pages count from where the view was told the lab's mapping starts (a drawn
    // neighbour before it, a view of the mapping alone); a view not told names window pages.
    let (message, _, _) = failure(|| expect::unmapped(&untold(), 2..3, "a front trim"));
    assert!(message.starts_with("window page 2 should be unmapped"), "{message}");
    let after_a_neighbour = untold().with_mapping(3..5);
    let (message, _, _) = failure(|| expect::unmapped(&after_a_neighbour, 3..4, "a front trim"));
    assert!(
        message.starts_with("mapping page 0 (window page 3) should be unmapped"),
        "{message}"
    );
    let (message, _, _) = failure(|| expect::unmapped(&after_a_neighbour, 2..3, "a front trim"));
    assert!(message.starts_with("window page 2 should be unmapped"), "{message}");

    let view = view();
    let line = line!() + 1;
    let (message, file, at) = failure(|| expect::unmapped(&view, 4..6, "a back trim removes the last pages"));
    assert_eq!((file.as_str(), at), ("harness/tests/expect_messages.rs", line));
    assert_eq!(
        message,
        "mapping page 3 (window page 4) should be unmapped (a back trim removes the last pages), but it is still \
         mapped (rw-p anonymous).\nwindow pages 4-5 should all be gone; the window is:\n  page  0     ---p  anonymous\n  \
         pages 1-4   rw-p  anonymous\n  page  5     ---p  anonymous\n"
    );

    let line = line!() + 1;
    let (message, file, at) = failure(|| expect::mapped(&view, 4..6, "rw-p", "the last pages stay"));
    assert_eq!((file.as_str(), at), ("harness/tests/expect_messages.rs", line));
    assert!(
        message.starts_with(
            "window page 5 should be mapped rw-p (the last pages stay), but it is ---p anonymous.\nwindow pages 4-5 \
             should be mapped rw-p; the window is:\n"
        ),
        "{message}"
    );

    // One page is named as the view names it, and a page outside the window points at the test too.
    let (message, _, _) = failure(|| expect::unmapped(&view, 2..3, "a front trim removes the first pages"));
    assert!(
        message.starts_with("mapping page 1 (window page 2) should be unmapped"),
        "{message}"
    );
    assert!(message.contains("(rw-p anonymous).\nthe window is:\n"), "{message}");
    // Pages of the mapping, both ways; a range that reaches a guard page (above) by its window name only.
    let (message, _, _) = failure(|| expect::unmapped(&view, 2..4, "a hole"));
    assert!(
        message.contains("\nmapping pages 1-2 (window pages 2-3) should all be gone; the window is:\n"),
        "{message}"
    );
    let line = line!() + 1;
    let (_, file, at) = failure(|| expect::unmapped(&view, 6..7, "past the end"));
    assert_eq!((file.as_str(), at), ("harness/tests/expect_messages.rs", line));
}
