//! What the session tells users about hosts: `HostEvent` (added, removed, up, down,
//! broadcast as they happen) and `HostInfo` (one host's description and health, for
//! `Session::hosts`). Producing them is the topology and pool layers' job.

use std::net::SocketAddr;
use std::time::SystemTime;

use super::host::HostId;
use crate::pool::HostState;

/// A change in the driver's view of one host, as received from
/// [`Session::host_events`](crate::Session::host_events).
///
/// `Up` and `Down` follow the host's connection pool, not the cluster's gossip: a node
/// is Down once every connection to it failed and a new one cannot be opened (the pool
/// then probes it with capped, jittered backoff), and Up again as soon as a connection
/// opens. A node that Cassandra reports down while our connections still work stays Up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostEvent {
    /// A node joined the cluster (or was first discovered); its pool starts connecting.
    Added(SocketAddr),
    /// A node left the cluster; its pool was closed.
    Removed(SocketAddr),
    /// A connection to the node opened (first one, or again after it was Down).
    Up(SocketAddr),
    /// No connection to the node could be kept or opened.
    Down {
        /// The node's address.
        address: SocketAddr,
        /// The last connection error, as text.
        reason: String,
    },
}

impl HostEvent {
    /// The address of the host the event is about.
    pub fn address(&self) -> SocketAddr {
        match self {
            Self::Added(a) | Self::Removed(a) | Self::Up(a) => *a,
            Self::Down { address, .. } => *address,
        }
    }
}

/// One host as the session knows it now: identity and placement from the cluster's
/// system tables, health and load from its connection pool.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostInfo {
    /// The address the driver connects to (after address translation).
    pub address: SocketAddr,
    /// The node's `host_id`.
    pub id: HostId,
    /// The node's data center.
    pub datacenter: String,
    /// The node's rack.
    pub rack: String,
    /// The node's Cassandra version, e.g. `5.0.9`.
    pub release_version: String,
    /// How many tokens the node owns.
    pub tokens: usize,
    /// The pool's health (`Ignored` when the load-balancing policy ignores the host).
    pub state: HostState,
    /// When the host entered `state`.
    pub since: SystemTime,
    /// Open connections to the node.
    pub open_connections: usize,
    /// Requests in flight to the node, over all its connections.
    pub in_flight: usize,
    /// True when this node carries the session's control connection (topology reads
    /// and server events).
    pub control: bool,
}
