//! Lab 04: unmapping what is not mapped (not written yet).
