//! The cluster layer's pure parts: host descriptions, the Murmur3 partitioner and routing
//! keys, the token ring with per-keyspace replica placement, the `ClusterView` snapshot and
//! load-balancing policies. Topology refresh (control connection, events) and pools feed
//! these types but live elsewhere; nothing here performs I/O.

// The topology, pool and session layers that call the crate-private parts land later.
#![allow(dead_code)]

pub(crate) mod host;
pub(crate) mod load_balancing;
pub(crate) mod partitioner;
pub(crate) mod replication;
pub(crate) mod token_ring;
pub(crate) mod view;

pub use host::{AddressTranslator, Host, HostId, IdentityTranslator};
pub use load_balancing::{
    DefaultPolicy, DefaultPolicyBuilder, HostDistance, HostFilter, LoadBalancingPolicy, QueryPlan,
    RoutingInfo,
};
pub use partitioner::{murmur3_token, Token};
pub use view::ClusterView;
