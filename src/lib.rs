//! ringbolt: an async, pure-Rust driver for Apache Cassandra's CQL native protocol.
//!
//! Work in progress: the protocol layer comes first.

#![cfg_attr(not(feature = "unstable-protocol"), allow(dead_code, unreachable_pub))]

mod cluster;
#[cfg(feature = "unstable-protocol")]
pub mod codec;
#[cfg(not(feature = "unstable-protocol"))]
mod codec;
mod consistency;
#[cfg(feature = "unstable-protocol")]
pub mod protocol;
#[cfg(not(feature = "unstable-protocol"))]
mod protocol;

pub use cluster::{
    murmur3_token, AddressTranslator, ClusterView, DefaultPolicy, DefaultPolicyBuilder, Host,
    HostDistance, HostFilter, HostId, IdentityTranslator, LoadBalancingPolicy, QueryPlan,
    RoutingInfo, Token,
};
pub use consistency::Consistency;
