//! The cluster layer: host descriptions, the Murmur3 partitioner and routing keys, the
//! token ring with per-keyspace replica placement, the `ClusterView` snapshot and
//! load-balancing policies (all pure), plus `topology.rs`, the live cluster: control
//! connection, topology reads and a pool per host, and `control.rs`, connecting and its
//! event-driven refresh and failover; `events.rs` holds what users see of hosts.

// The topology, pool and session layers that call the crate-private parts land later.
#![allow(dead_code)]

mod control;
pub(crate) mod events;
pub(crate) mod host;
pub(crate) mod load_balancing;
pub(crate) mod partitioner;
pub(crate) mod replication;
pub(crate) mod token_ring;
pub(crate) mod topology;
pub(crate) mod view;

pub use events::{HostEvent, HostInfo};
pub use host::{AddressTranslator, Host, HostId, IdentityTranslator};
pub use load_balancing::{
    DefaultPolicy, DefaultPolicyBuilder, HostDistance, HostFilter, LoadBalancingPolicy, QueryPlan,
    RoutingInfo,
};
pub(crate) use partitioner::routing_token;
pub use partitioner::{murmur3_token, Token};
pub(crate) use topology::{Cluster, ClusterConfig};
pub use view::ClusterView;
