//! (placeholder, filled by the segment work)
