//! Golden request bodies (added in the next commit).
