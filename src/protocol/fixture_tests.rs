//! Golden fixture tests (placeholder).
