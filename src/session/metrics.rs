//! `Session::metrics()` and `Session::metrics_prometheus()`: the recorders' snapshot
//! completed with what only the session knows (each host's rack, version and data
//! center from the cluster view; since when and why it is up or down from its pool).
//! Recording itself lives in `observe.rs` and `crate::metrics`.

use crate::metrics::MetricsSnapshot;
use crate::pool::HostState;
use crate::Session;

impl Session {
    /// Every metric of the session at this instant: requests and their latency,
    /// client timeouts, errors by kind, retries and ignores by reason, bytes, prepared
    /// statements, connected nodes, and per host its pool gauges, latency, errors,
    /// health (state, since when, why) and where it sits (DC, rack, version). A plain
    /// struct; take two and use [`HistogramSnapshot::since`](crate::HistogramSnapshot::since)
    /// for the latency of an interval.
    pub fn metrics(&self) -> MetricsSnapshot {
        let inner = self.inner();
        let mut snap = inner.observability.metrics.snapshot();
        let view = inner.cluster.view();
        for h in &mut snap.hosts {
            if let Some(host) = view.hosts().iter().find(|x| x.address() == h.address) {
                if h.datacenter.is_none() {
                    h.datacenter = Some(host.datacenter().to_owned());
                }
                h.rack = Some(host.rack().to_owned());
                h.release_version = Some(host.release_version().to_owned());
            }
            if let Some(pool) = inner.cluster.pool(h.address) {
                let (state, since) = pool.health();
                h.state_since = Some(since);
                if let HostState::Down { reason } = state {
                    h.down_reason = Some(reason);
                }
            }
        }
        snap
    }

    /// [`metrics`](Self::metrics) in the Prometheus text exposition format 0.0.4 (see
    /// [`MetricsSnapshot::to_prometheus`] for the names).
    pub fn metrics_prometheus(&self) -> String {
        self.metrics().to_prometheus()
    }
}
