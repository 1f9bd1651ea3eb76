//! The one integration test binary: every test here runs against a real Cassandra.
//! Start it with `scripts/cassandra up --nodes 3 --auth-node` (scripts/test does);
//! `harness` says where the nodes are. Tests never skip: no node means a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// File locking (1.89) is used by the test harness only; the library keeps its MSRV.
#![allow(clippy::incompatible_msrv)]

mod auth;
mod cluster;
mod connection;
mod faults;
mod harness;
mod observe;
mod observe_spans;
mod paging;
mod session_basic;
mod session_faults;
mod session_load;
mod session_rules;
mod smoke;
mod types;
mod types_canon;
mod types_derive;
