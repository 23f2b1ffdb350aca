//! Lab 05: EINVAL and ENOMEM (not written yet).
