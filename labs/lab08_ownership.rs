//! Lab 08: use after unmap and an owning wrapper (not written yet).
