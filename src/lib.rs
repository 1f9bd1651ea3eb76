//! ringbolt: an async, pure-Rust driver for Apache Cassandra's CQL native protocol.
//!
//! Work in progress: the protocol layer comes first.

#![cfg_attr(not(feature = "unstable-protocol"), allow(dead_code, unreachable_pub))]

mod cluster;
mod consistency;
mod metrics;
#[cfg(feature = "unstable-protocol")]
pub mod protocol;
#[cfg(not(feature = "unstable-protocol"))]
mod protocol;

#[cfg(feature = "unstable-protocol")]
#[doc(hidden)]
pub use crate::metrics::bench_support;
#[cfg(feature = "metrics")]
pub use crate::metrics::publish_to_metrics_facade;
pub use crate::metrics::{
    Bucket, HistogramSnapshot, HostErrorCounts, HostMetricsSnapshot, MetricsSnapshot, ReasonCounts,
    RetryReason, ServerErrorCounts,
};
pub use cluster::{
    murmur3_token, AddressTranslator, ClusterView, DefaultPolicy, DefaultPolicyBuilder, Host,
    HostDistance, HostFilter, HostId, IdentityTranslator, LoadBalancingPolicy, QueryPlan,
    RoutingInfo, Token,
};
pub use consistency::Consistency;
