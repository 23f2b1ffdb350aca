//! Lab 09: memory given back (not written yet).
