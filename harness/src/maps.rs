//! The normalised maps view of one window: [`munmap_lab_protocol::maps`], where the
//! grader reads it too (it judges witnessed tests by it), re-exported for the suites.

pub use munmap_lab_protocol::maps::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_judge_outside_sees_the_same_window_but_not_as_its_own() {
        let arena = crate::Arena::new(3);
        let own = arena.view();
        let outside = MapsView::of_process(std::process::id(), arena.page(0).as_ptr() as u64, 3).unwrap();
        assert_eq!(own, outside, "same pages, same view");
        assert_eq!(own.start_in_this_process(), Some(arena.page(0).as_ptr() as u64));
        assert_eq!(outside.start_in_this_process(), None);
        assert!(
            MapsView::of_process(u32::MAX, 0x7f00_0000_0000, 1)
                .unwrap_err()
                .contains("cannot read")
        );
    }
}
