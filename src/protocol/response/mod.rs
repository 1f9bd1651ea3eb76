//! Response bodies (placeholder).
