//! Lab 07: mappings end at exec and exit (not written yet).
