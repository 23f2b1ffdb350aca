//! Lab 03: one munmap spanning several mappings and holes (not written yet).
