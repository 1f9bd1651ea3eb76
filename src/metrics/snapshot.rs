//! The public, plain snapshot types returned by `Session::metrics()`: session totals and
//! one entry per host. Pure data (Clone + Debug); recording lives in `recorder.rs`,
//! the Prometheus text in `prometheus.rs`.

use std::net::SocketAddr;
use std::time::SystemTime;

use super::histogram::HistogramSnapshot;
use super::kinds::{ReasonCounts, ServerErrorCounts};

/// Every session metric at one instant. Counters count since the session was built;
/// gauges are current values. Java driver 4 names are given as `[java: name]`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Latency of whole requests (from entering the execution core to the caller's
    /// result, all attempts and retries included), successes and failures alike;
    /// `requests.count` is the number of finished requests. [java: `cql-requests`]
    pub requests: HistogramSnapshot,
    /// Requests started and not yet finished.
    pub requests_in_flight: u64,
    /// Finished requests whose caller got an error (or dropped the request first).
    pub requests_failed: u64,
    /// Requests that hit their overall deadline. [java: `cql-client-timeouts`]
    pub client_timeouts: u64,
    /// ERROR responses received, by code, over all attempts.
    pub server_errors: ServerErrorCounts,
    /// Attempts lost to a connection failure (closed, reset, broken), sent or not.
    pub connection_errors: u64,
    /// Requests that failed with NoHostAvailable.
    pub no_host_available: u64,
    /// Retry-policy decisions to retry, by reason.
    pub retries: ReasonCounts,
    /// Retry-policy decisions to ignore an error, by reason.
    pub ignores: ReasonCounts,
    /// Bytes written to every socket of the session. [java: `bytes-sent`]
    pub bytes_sent: u64,
    /// Bytes read from every socket of the session. [java: `bytes-received`]
    pub bytes_received: u64,
    /// Entries in the prepared-statement cache. [java: `cql-prepared-cache-size`]
    pub prepared_statements: u64,
    /// Hosts with at least one open connection. [java: `connected-nodes`]
    pub connected_nodes: u64,
    /// Per-host metrics, sorted by address.
    pub hosts: Vec<HostMetricsSnapshot>,
}

/// One host's metrics at one instant. Java driver 4 node-metric names as `[java: name]`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HostMetricsSnapshot {
    /// The address the driver connects to.
    pub address: SocketAddr,
    /// The host's data center, when known.
    pub datacenter: Option<String>,
    /// A short health word from the pool (`"up"`, `"down"`, `"unknown"`), when it
    /// reports one.
    pub state: Option<String>,
    /// Since when the host has been in `state` (filled by `Session::metrics`).
    pub state_since: Option<SystemTime>,
    /// Why the host is down: the last connection error (filled by `Session::metrics`).
    pub down_reason: Option<String>,
    /// The host's rack, when known (filled by `Session::metrics`).
    pub rack: Option<String>,
    /// The host's Cassandra version, when known (filled by `Session::metrics`).
    pub release_version: Option<String>,
    /// Open connections to the host. [java: `pool.open-connections`]
    pub open_connections: u64,
    /// Requests written to the host and not yet answered. [java: `pool.in-flight`]
    pub in_flight: u64,
    /// Free stream ids over the host's connections. [java: `pool.available-streams`]
    pub available_streams: u64,
    /// Stream ids held by abandoned requests awaiting their late response.
    /// [java: `pool.orphaned-streams`]
    pub orphaned_streams: u64,
    /// Latency of every response from this host (one per attempt, ERROR included);
    /// `latency.count` is the number of responses. [java: `cql-messages`]
    pub latency: HistogramSnapshot,
    /// Errors by Java driver category.
    pub errors: HostErrorCounts,
    /// Retries after an error from this host, by reason. [java: `retries.*`]
    pub retries: ReasonCounts,
    /// Ignored errors from this host, by reason. [java: `ignores.*`]
    pub ignores: ReasonCounts,
    /// Bytes written to this host. [java: node `bytes-sent`]
    pub bytes_sent: u64,
    /// Bytes read from this host. [java: node `bytes-received`]
    pub bytes_received: u64,
}

impl HostMetricsSnapshot {
    /// An all-zero snapshot for `address`.
    #[cfg(test)]
    pub(crate) fn empty(address: SocketAddr) -> Self {
        HostMetricsSnapshot {
            address,
            datacenter: None,
            state: None,
            state_since: None,
            down_reason: None,
            rack: None,
            release_version: None,
            open_connections: 0,
            in_flight: 0,
            available_streams: 0,
            orphaned_streams: 0,
            latency: HistogramSnapshot::default(),
            errors: HostErrorCounts::default(),
            retries: ReasonCounts::default(),
            ignores: ReasonCounts::default(),
            bytes_sent: 0,
            bytes_received: 0,
        }
    }
}

/// A host's error counters, in the Java driver's categories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostErrorCounts {
    /// Attempts that never reached the socket. [java: `errors.request.unsent`]
    pub unsent: u64,
    /// Attempts written but never answered (connection closed, attempt timeout).
    /// [java: `errors.request.aborted`]
    pub aborted: u64,
    /// WRITE_TIMEOUT (0x1100) responses. [java: `errors.request.write-timeouts`]
    pub write_timeouts: u64,
    /// READ_TIMEOUT (0x1200) responses. [java: `errors.request.read-timeouts`]
    pub read_timeouts: u64,
    /// UNAVAILABLE (0x1000) responses. [java: `errors.request.unavailables`]
    pub unavailables: u64,
    /// Every other ERROR response. [java: `errors.request.others`]
    pub others: u64,
    /// Failed connection attempts (before READY, not auth). [java: `errors.connection.init`]
    pub connection_init: u64,
    /// Failed authentications. [java: `errors.connection.auth`]
    pub connection_auth: u64,
}

impl HostErrorCounts {
    /// Request-level errors (everything but the two connection counters).
    pub fn request_errors(&self) -> u64 {
        self.unsent
            + self.aborted
            + self.write_timeouts
            + self.read_timeouts
            + self.unavailables
            + self.others
    }
}
