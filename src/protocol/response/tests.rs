//! Round-trip and hostile-input tests of the response bodies (filled below).
