//! Always-on, cheap driver metrics: the lock-free recorders the execution core and pools
//! update, the plain [`MetricsSnapshot`] `Session::metrics()` returns, its Prometheus text
//! export and (feature `metrics`) publishing to the `metrics` facade. Deciding *when* an
//! event happened (retry reasons, which error) is the session layer's job, not this one's.
//!
//! # Cost
//!
//! Recording is a handful of relaxed atomic read-modify-writes on pre-allocated memory: no
//! lock, no allocation. `request_started` = one thread-local read + one `fetch_add`;
//! `request_finished` = one thread-local read, two `fetch_add`s (bucket, sum), one load
//! (max; `fetch_max` only on a new maximum), plus one `fetch_add` on failure. The session's
//! hot counters and latency histograms are striped into cache-line-aligned cells picked by
//! a per-thread index (`striped.rs`); in-flight is derived (started − finished) so no
//! counter is decremented. `benches/metrics_overhead.rs`, 2 cores, 2 threads recording in
//! parallel: unstriped ~80 ns per histogram record and ~150 ns per request (started +
//! finished) from cache-line ping-pong; striped ~12 ns and ~19 ns, the same as one thread
//! alone. Per-host gauges pushed by the pool (`in_flight_inc`/`dec`) are single atomics;
//! a pool that already tracks them should register a `PoolGauges` source instead.
//!
//! # Names (Java driver 4 → Prometheus)
//!
//! Java driver 4 metric paths (`DefaultSessionMetric`, `DefaultNodeMetric`) are converted
//! as its tagging id generator plus Micrometer's Prometheus naming do: session metrics get
//! the prefix `session.`, node metrics `nodes.` with a `node` label (`ip:port`), then
//! `ringbolt_` in front, `.` and `-` become `_`, counters end in `_total`, timers become
//! summaries in seconds (`_seconds`, quantiles 0.5/0.95/0.99/0.999, `_sum`, `_count`) plus
//! a `_seconds_max` gauge. The prefixes keep session and node `bytes-sent` apart.
//!
//! | Java path (session) | Prometheus family | snapshot field |
//! |---|---|---|
//! | `cql-requests` (timer) | `ringbolt_session_cql_requests_seconds` (summary), `..._seconds_max` | `requests` |
//! | `cql-client-timeouts` | `ringbolt_session_cql_client_timeouts_total` | `client_timeouts` |
//! | `bytes-sent` / `bytes-received` | `ringbolt_session_bytes_sent_total` / `..._bytes_received_total` | `bytes_sent` / `bytes_received` |
//! | `connected-nodes` | `ringbolt_session_connected_nodes` (gauge) | `connected_nodes` |
//! | `cql-prepared-cache-size` | `ringbolt_session_cql_prepared_cache_size` (gauge) | `prepared_statements` |
//! | — (ringbolt) | `ringbolt_session_cql_requests_in_flight` (gauge) | `requests_in_flight` |
//! | — (ringbolt) | `ringbolt_session_cql_requests_failed_total` | `requests_failed` |
//! | — (ringbolt) | `ringbolt_session_errors_server_total{code="0x1000",error="unavailable"}` (every spec code + `other`) | `server_errors` |
//! | — (ringbolt) | `ringbolt_session_errors_connection_total` | `connection_errors` |
//! | — (ringbolt) | `ringbolt_session_errors_no_host_available_total` | `no_host_available` |
//! | — (ringbolt) | `ringbolt_session_retries_total{reason}`, `ringbolt_session_ignores_total{reason}` | `retries`, `ignores` |
//!
//! | Java path (node) | Prometheus family (label `node`) | `HostMetricsSnapshot` field |
//! |---|---|---|
//! | `pool.open-connections` | `ringbolt_nodes_pool_open_connections` | `open_connections` |
//! | `pool.in-flight` | `ringbolt_nodes_pool_in_flight` | `in_flight` |
//! | `pool.available-streams` | `ringbolt_nodes_pool_available_streams` | `available_streams` |
//! | `pool.orphaned-streams` | `ringbolt_nodes_pool_orphaned_streams` | `orphaned_streams` |
//! | `bytes-sent` / `bytes-received` | `ringbolt_nodes_bytes_sent_total` / `..._bytes_received_total` | `bytes_sent` / `bytes_received` |
//! | `cql-messages` (timer) | `ringbolt_nodes_cql_messages_seconds` (summary), `..._seconds_max` | `latency` |
//! | `errors.request.unsent` | `ringbolt_nodes_errors_request_unsent_total` | `errors.unsent` |
//! | `errors.request.aborted` | `ringbolt_nodes_errors_request_aborted_total` | `errors.aborted` |
//! | `errors.request.write-timeouts` | `ringbolt_nodes_errors_request_write_timeouts_total` | `errors.write_timeouts` |
//! | `errors.request.read-timeouts` | `ringbolt_nodes_errors_request_read_timeouts_total` | `errors.read_timeouts` |
//! | `errors.request.unavailables` | `ringbolt_nodes_errors_request_unavailables_total` | `errors.unavailables` |
//! | `errors.request.others` | `ringbolt_nodes_errors_request_others_total` | `errors.others` |
//! | `errors.connection.init` | `ringbolt_nodes_errors_connection_init_total` | `errors.connection_init` |
//! | `errors.connection.auth` | `ringbolt_nodes_errors_connection_auth_total` | `errors.connection_auth` |
//! | `retries.total` | `ringbolt_nodes_retries_total` | `retries.total()` |
//! | `retries.{aborted,read-timeout,write-timeout,unavailable,other}` | `ringbolt_nodes_retries_{aborted,read_timeout,write_timeout,unavailable,other}_total` | `retries` by [`RetryReason`] |
//! | `ignores.*` | `ringbolt_nodes_ignores_*_total` (as retries) | `ignores` |
//! | — (ringbolt) | `ringbolt_nodes_info{node,dc,state} 1` | `datacenter`, `state` |
//!
//! [`RetryReason`] maps onto the Java categories as: `ConnectionClosed`, `AttemptTimeout`
//! → `aborted`; `Overloaded`, `Bootstrapping`, `Other` → `other`; the rest by name.
//! Not exported yet (nothing records them): Java's `throttling.*`, `send-latency`,
//! `speculative-executions`.
//!
//! Latencies are Prometheus *summaries*, not histograms: the recorder's 464 buckets
//! (3 % error) would be hundreds of series per node, while the few coarse `le` buckets a
//! histogram could afford would report p99 with far worse error; Micrometer exports the
//! Java driver's timers as summaries too. Quantiles are over the whole session lifetime;
//! [`HistogramSnapshot::since`] gives the quantiles of an interval between two snapshots.

mod histogram;
mod kinds;
mod prometheus;
mod recorder;
mod snapshot;
mod striped;

#[cfg(feature = "metrics")]
mod facade;

#[cfg(feature = "metrics")]
pub use facade::publish_to_metrics_facade;
pub use histogram::{Bucket, HistogramSnapshot};
pub use kinds::{ReasonCounts, RetryReason, ServerErrorCounts};
pub(crate) use recorder::{
    HostMetrics, PoolGaugeValues, PoolGauges, RequestOutcome, SessionMetrics,
};
pub use snapshot::{HostErrorCounts, HostMetricsSnapshot, MetricsSnapshot};

/// Hooks for `benches/metrics_overhead.rs`; not part of the API.
#[cfg(feature = "unstable-protocol")]
#[doc(hidden)]
pub mod bench_support {
    use std::time::Duration;

    /// A session recorder whose hot counters and request histogram have `stripes` stripes.
    pub struct Recorder(super::SessionMetrics);

    impl Recorder {
        /// A fresh recorder.
        pub fn new(stripes: usize) -> Self {
            Recorder(super::SessionMetrics::with_stripes(stripes))
        }

        /// `request_started` + `request_finished(latency, Success)`: one request's cost.
        #[inline]
        pub fn request(&self, latency: Duration) {
            self.0.request_started();
            self.0
                .request_finished(latency, super::RequestOutcome::Success);
        }

        /// The number of finished requests.
        pub fn count(&self) -> u64 {
            self.0.snapshot().requests.count
        }
    }

    /// A bare latency histogram with `shards` stripes.
    pub struct Histogram(super::histogram::Histogram);

    impl Histogram {
        /// A fresh histogram.
        pub fn new(shards: usize) -> Self {
            Histogram(super::histogram::Histogram::with_shards(shards))
        }

        /// Records one value.
        #[inline]
        pub fn record(&self, latency: Duration) {
            self.0.record(latency);
        }

        /// The number of recorded values.
        pub fn count(&self) -> u64 {
            self.0.snapshot().count
        }
    }
}
