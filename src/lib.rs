//! ringbolt: an async, pure-Rust driver for Apache Cassandra's CQL native protocol.
//!
//! Work in progress: the protocol layer comes first.

#![cfg_attr(not(feature = "unstable-protocol"), allow(dead_code, unreachable_pub))]

mod consistency;
#[cfg(feature = "unstable-protocol")]
pub mod protocol;
#[cfg(not(feature = "unstable-protocol"))]
mod protocol;

pub use consistency::Consistency;
pub use protocol::types::{
    ColumnType, Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid,
    CqlUuid, CqlValue, CqlVarint, UdtType,
};
