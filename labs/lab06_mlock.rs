//! Lab 06: munmap removes mlock (not written yet).
