//! What a session tells about the cluster: the hosts with their health
//! (`Session::hosts`), a live stream of host events (`Session::host_events`) and the
//! topology snapshot load balancing uses (`Session::cluster_view`). Read-only.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::Session;
use crate::cluster::{ClusterView, HostEvent, HostInfo};

impl Session {
    /// Every node the session knows, with its pool's health (Up, Down with the reason,
    /// Unknown before the first connection, Ignored when the load-balancing policy
    /// ignores it), open connections and in-flight requests. A cheap snapshot: call it
    /// for a cluster summary or a health check.
    ///
    /// ```no_run
    /// # async fn demo(session: ringbolt::Session) {
    /// for h in session.hosts() {
    ///     println!("{} {}/{} {:?} since {:?}", h.address, h.datacenter, h.rack, h.state, h.since);
    /// }
    /// # }
    /// ```
    pub fn hosts(&self) -> Vec<HostInfo> {
        self.inner().cluster.hosts()
    }

    /// Subscribes to host events: a node added or removed (topology change), up (a
    /// connection opened) or down (no connection could be kept or opened, with the
    /// reason). Only events after the call are received; a receiver that falls more
    /// than 256 events behind gets `RecvError::Lagged` and then continues.
    ///
    /// ```no_run
    /// # async fn demo(session: ringbolt::Session) {
    /// let mut events = session.host_events();
    /// while let Ok(event) = events.recv().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn host_events(&self) -> broadcast::Receiver<HostEvent> {
        self.inner().cluster.host_events()
    }

    /// The current topology snapshot: hosts by data center, the token ring and each
    /// keyspace's replicas (refreshed on topology and keyspace events).
    pub fn cluster_view(&self) -> Arc<ClusterView> {
        self.inner().cluster.view()
    }
}
