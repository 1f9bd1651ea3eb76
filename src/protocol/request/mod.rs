//! Request bodies (placeholder).
