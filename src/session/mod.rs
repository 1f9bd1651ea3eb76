//! The session: the public API (query, prepare, execute, batch, close) over the
//! one execution core. This file grows into the `Session` handle; policies and
//! defaults live in their own files.

// Parts are used only once the session drives them (same commit series).
#![allow(dead_code)]

pub mod defaults;
pub(crate) mod retry;
