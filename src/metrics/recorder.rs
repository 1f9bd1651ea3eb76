//! The live, always-on recorders: `SessionMetrics` (one per session) and `HostMetrics`
//! (one per host, handed to the pool as `Arc`). Hot-path methods are a few relaxed
//! atomic ops, never a lock or an allocation; the host list lock is taken only when a
//! host is added or removed and at snapshot time. Export formats live elsewhere.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::histogram::Histogram;
use super::kinds::{ErrorCodeCounters, ReasonCounters, RetryReason};
use super::snapshot::{HostErrorCounts, HostMetricsSnapshot, MetricsSnapshot};
use super::striped::{default_stripes, StripedCounter};

/// How a whole request (all its attempts) ended, for [`SessionMetrics::request_finished`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestOutcome {
    /// The caller got a result.
    Success,
    /// The caller got an error (server error, NoHostAvailable, client timeout...).
    Failure,
}

/// Pool gauges computed on demand, read only when a snapshot is taken. A pool that
/// implements this need not push gauge updates on its hot path.
pub(crate) trait PoolGauges: Send + Sync {
    /// The current values.
    fn pool_gauges(&self) -> PoolGaugeValues;
}

/// The per-host gauges a pool reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolGaugeValues {
    pub(crate) open_connections: u64,
    pub(crate) in_flight: u64,
    pub(crate) available_streams: u64,
    pub(crate) orphaned_streams: u64,
    /// A short health word (`"up"`, `"down"`, ...), if the pool knows one.
    pub(crate) state: Option<&'static str>,
}

/// One host's recorder. The pool and the execution core keep an `Arc` of it.
///
/// Where each event is recorded (each exactly once per attempt):
/// - connection task: `bytes_sent`/`bytes_received` per frame;
/// - pool: the gauges (push with `set_*`/`in_flight_*`, or register a [`PoolGauges`]),
///   `connection_init_error`, `auth_error`;
/// - execution core, per attempt on this host: `response(latency)` for any response
///   (including ERROR), `server_error(code)` for ERROR, `unsent()` when the request never
///   reached the socket, `aborted()` when it was written but no response came (connection
///   closed, attempt timeout), and the retry policy's `retry`/`ignore` decision.
#[derive(Debug)]
pub(crate) struct HostMetrics {
    address: SocketAddr,
    datacenter: Option<String>,
    latency: Histogram,
    open_connections: AtomicU64,
    in_flight: AtomicI64,
    available_streams: AtomicU64,
    orphaned_streams: AtomicU64,
    unsent: AtomicU64,
    aborted: AtomicU64,
    server_errors: ErrorCodeCounters,
    connection_init: AtomicU64,
    connection_auth: AtomicU64,
    retries: ReasonCounters,
    ignores: ReasonCounters,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    gauge_source: Mutex<Option<Weak<dyn PoolGauges>>>,
}

/// Stripes per host histogram: at most 4 (~15 KiB per host), since hosts already
/// split the load and clusters can have hundreds of them.
fn host_stripes() -> usize {
    default_stripes().min(4)
}

impl HostMetrics {
    fn new(address: SocketAddr, datacenter: Option<String>) -> Self {
        HostMetrics {
            address,
            datacenter,
            latency: Histogram::with_shards(host_stripes()),
            open_connections: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
            available_streams: AtomicU64::new(0),
            orphaned_streams: AtomicU64::new(0),
            unsent: AtomicU64::new(0),
            aborted: AtomicU64::new(0),
            server_errors: ErrorCodeCounters::default(),
            connection_init: AtomicU64::new(0),
            connection_auth: AtomicU64::new(0),
            retries: ReasonCounters::default(),
            ignores: ReasonCounters::default(),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            gauge_source: Mutex::new(None),
        }
    }

    /// A response (any opcode, ERROR included) arrived `latency` after the write.
    #[inline]
    pub(crate) fn response(&self, latency: Duration) {
        self.latency.record(latency);
    }

    /// The host answered with ERROR `code`.
    #[inline]
    pub(crate) fn server_error(&self, code: i32) {
        self.server_errors.incr(code);
    }

    /// An attempt on this host never reached the socket.
    #[inline]
    pub(crate) fn unsent(&self) {
        self.unsent.fetch_add(1, Relaxed);
    }

    /// An attempt was written but got no response (connection closed, attempt timeout).
    #[inline]
    pub(crate) fn aborted(&self) {
        self.aborted.fetch_add(1, Relaxed);
    }

    /// The retry policy retried after an error from this host.
    #[inline]
    pub(crate) fn retry(&self, reason: RetryReason) {
        self.retries.incr(reason);
    }

    /// The retry policy ignored an error from this host.
    #[inline]
    pub(crate) fn ignore(&self, reason: RetryReason) {
        self.ignores.incr(reason);
    }

    /// Opening a connection failed before READY (I/O, protocol negotiation).
    pub(crate) fn connection_init_error(&self) {
        self.connection_init.fetch_add(1, Relaxed);
    }

    /// Opening a connection failed in authentication.
    pub(crate) fn auth_error(&self) {
        self.connection_auth.fetch_add(1, Relaxed);
    }

    /// Bytes written to a socket of this host.
    #[inline]
    pub(crate) fn bytes_sent(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Relaxed);
    }

    /// Bytes read from a socket of this host.
    #[inline]
    pub(crate) fn bytes_received(&self, n: u64) {
        self.bytes_received.fetch_add(n, Relaxed);
    }

    /// Sets the open-connections gauge.
    #[allow(dead_code)] // push-style alternative; the pool registers a gauge source
    pub(crate) fn set_open_connections(&self, n: u64) {
        self.open_connections.store(n, Relaxed);
    }

    /// Sets the available-stream-ids gauge (summed over the host's connections).
    #[allow(dead_code)] // push-style alternative; the pool registers a gauge source
    pub(crate) fn set_available_streams(&self, n: u64) {
        self.available_streams.store(n, Relaxed);
    }

    /// Sets the orphaned-stream-ids gauge (summed over the host's connections).
    #[allow(dead_code)] // push-style alternative; the pool registers a gauge source
    pub(crate) fn set_orphaned_streams(&self, n: u64) {
        self.orphaned_streams.store(n, Relaxed);
    }

    /// One more request in flight on this host.
    #[allow(dead_code)] // push-style alternative; the pool registers a gauge source
    #[inline]
    pub(crate) fn in_flight_inc(&self) {
        self.in_flight.fetch_add(1, Relaxed);
    }

    /// One request fewer in flight on this host.
    #[allow(dead_code)] // push-style alternative; the pool registers a gauge source
    #[inline]
    pub(crate) fn in_flight_dec(&self) {
        self.in_flight.fetch_sub(1, Relaxed);
    }

    /// Reads the gauges from `source` at snapshot time instead of the pushed values.
    /// Held weakly: a dropped pool falls back to the pushed values.
    pub(crate) fn set_gauge_source(&self, source: Weak<dyn PoolGauges>) {
        *self
            .gauge_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(source);
    }

    fn gauges(&self) -> PoolGaugeValues {
        let source = self
            .gauge_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(Weak::upgrade);
        match source {
            Some(s) => s.pool_gauges(),
            None => PoolGaugeValues {
                open_connections: self.open_connections.load(Relaxed),
                in_flight: self.in_flight.load(Relaxed).max(0) as u64,
                available_streams: self.available_streams.load(Relaxed),
                orphaned_streams: self.orphaned_streams.load(Relaxed),
                state: None,
            },
        }
    }

    /// A plain copy of every number.
    pub(crate) fn snapshot(&self) -> HostMetricsSnapshot {
        let g = self.gauges();
        let codes = self.server_errors.snapshot();
        let (wt, rt, un) = (codes.get(0x1100), codes.get(0x1200), codes.get(0x1000));
        HostMetricsSnapshot {
            address: self.address,
            datacenter: self.datacenter.clone(),
            state: g.state.map(str::to_owned),
            state_since: None,
            down_reason: None,
            rack: None,
            release_version: None,
            open_connections: g.open_connections,
            in_flight: g.in_flight,
            available_streams: g.available_streams,
            orphaned_streams: g.orphaned_streams,
            latency: self.latency.snapshot(),
            errors: HostErrorCounts {
                unsent: self.unsent.load(Relaxed),
                aborted: self.aborted.load(Relaxed),
                write_timeouts: wt,
                read_timeouts: rt,
                unavailables: un,
                others: codes.total() - wt - rt - un,
                connection_init: self.connection_init.load(Relaxed),
                connection_auth: self.connection_auth.load(Relaxed),
            },
            retries: self.retries.snapshot(),
            ignores: self.ignores.snapshot(),
            bytes_sent: self.bytes_sent.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
        }
    }
}

/// The session's recorder. The execution core records per *request* here (and per
/// *attempt* on the attempt's [`HostMetrics`]).
///
/// - `request_started` when a request enters the core, `request_finished` exactly once
///   when its caller gets a result or an error (latency = the caller's wait);
/// - `client_timeout` when the overall deadline ended it (in addition to finished);
/// - `server_error(code)` per ERROR response of any attempt, `connection_error` per
///   attempt lost to a connection failure, `no_host_available` per request that ran out
///   of hosts;
/// - `retry`/`ignore` per retry-policy decision;
/// - `bytes_*` only for sockets that have no `HostMetrics` (hosts' bytes are added in);
/// - `prepared_cached(n)` whenever the prepared cache size changes.
#[derive(Debug)]
pub(crate) struct SessionMetrics {
    requests: Histogram,
    /// Requests started; in flight = started - `requests.count`.
    started: StripedCounter,
    failed: StripedCounter,
    client_timeouts: AtomicU64,
    server_errors: ErrorCodeCounters,
    connection_errors: AtomicU64,
    no_host_available: AtomicU64,
    retries: ReasonCounters,
    ignores: ReasonCounters,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    prepared_cached: AtomicU64,
    hosts: Mutex<Vec<Arc<HostMetrics>>>,
}

impl Default for SessionMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionMetrics {
    /// Empty metrics.
    pub(crate) fn new() -> Self {
        Self::with_stripes(default_stripes())
    }

    /// Empty metrics whose hot counters and request histogram have `stripes` stripes.
    pub(crate) fn with_stripes(stripes: usize) -> Self {
        SessionMetrics {
            requests: Histogram::with_shards(stripes),
            started: StripedCounter::new(stripes),
            failed: StripedCounter::new(stripes),
            client_timeouts: AtomicU64::new(0),
            server_errors: ErrorCodeCounters::default(),
            connection_errors: AtomicU64::new(0),
            no_host_available: AtomicU64::new(0),
            retries: ReasonCounters::default(),
            ignores: ReasonCounters::default(),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            prepared_cached: AtomicU64::new(0),
            hosts: Mutex::new(Vec::new()),
        }
    }

    /// A request entered the execution core.
    #[inline]
    pub(crate) fn request_started(&self) {
        self.started.add(1);
    }

    /// A request ended after `latency` (its caller's whole wait).
    #[inline]
    pub(crate) fn request_finished(&self, latency: Duration, outcome: RequestOutcome) {
        self.requests.record(latency);
        if outcome == RequestOutcome::Failure {
            self.failed.add(1);
        }
    }

    /// A request hit its overall deadline.
    pub(crate) fn client_timeout(&self) {
        self.client_timeouts.fetch_add(1, Relaxed);
    }

    /// Some attempt got ERROR `code`.
    pub(crate) fn server_error(&self, code: i32) {
        self.server_errors.incr(code);
    }

    /// Some attempt was lost to a connection failure.
    pub(crate) fn connection_error(&self) {
        self.connection_errors.fetch_add(1, Relaxed);
    }

    /// A request failed with NoHostAvailable.
    pub(crate) fn no_host_available(&self) {
        self.no_host_available.fetch_add(1, Relaxed);
    }

    /// The retry policy decided to retry.
    pub(crate) fn retry(&self, reason: RetryReason) {
        self.retries.incr(reason);
    }

    /// The retry policy decided to ignore an error.
    pub(crate) fn ignore(&self, reason: RetryReason) {
        self.ignores.incr(reason);
    }

    /// Bytes written on a socket with no host recorder (see the type doc).
    #[allow(dead_code)] // every socket has a host recorder today
    pub(crate) fn bytes_sent(&self, n: u64) {
        self.bytes_sent.fetch_add(n, Relaxed);
    }

    /// Bytes read on a socket with no host recorder (see the type doc).
    #[allow(dead_code)] // every socket has a host recorder today
    pub(crate) fn bytes_received(&self, n: u64) {
        self.bytes_received.fetch_add(n, Relaxed);
    }

    /// The prepared-statement cache now holds `n` entries.
    pub(crate) fn prepared_cached(&self, n: u64) {
        self.prepared_cached.store(n, Relaxed);
    }

    /// The recorder for `address`, created on first use. `datacenter` is kept from the
    /// first call.
    pub(crate) fn host(&self, address: SocketAddr, datacenter: Option<&str>) -> Arc<HostMetrics> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = hosts.iter().find(|h| h.address == address) {
            return Arc::clone(h);
        }
        let h = Arc::new(HostMetrics::new(address, datacenter.map(str::to_owned)));
        hosts.push(Arc::clone(&h));
        h
    }

    /// Forgets a host that left the cluster; its series disappear from later snapshots.
    pub(crate) fn remove_host(&self, address: SocketAddr) {
        self.hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|h| h.address != address);
    }

    /// A plain copy of every number; hosts sorted by address.
    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let hosts: Vec<Arc<HostMetrics>> = self
            .hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut hosts: Vec<HostMetricsSnapshot> = hosts.iter().map(|h| h.snapshot()).collect();
        hosts.sort_by_key(|h| h.address);
        // The histogram first: a request finishing meanwhile then shows as still in flight
        // rather than as a negative count.
        let requests = self.requests.snapshot();
        let started = self.started.sum();
        MetricsSnapshot {
            requests_in_flight: started.saturating_sub(requests.count),
            requests,
            requests_failed: self.failed.sum(),
            client_timeouts: self.client_timeouts.load(Relaxed),
            server_errors: self.server_errors.snapshot(),
            connection_errors: self.connection_errors.load(Relaxed),
            no_host_available: self.no_host_available.load(Relaxed),
            retries: self.retries.snapshot(),
            ignores: self.ignores.snapshot(),
            bytes_sent: self.bytes_sent.load(Relaxed)
                + hosts.iter().map(|h| h.bytes_sent).sum::<u64>(),
            bytes_received: self.bytes_received.load(Relaxed)
                + hosts.iter().map(|h| h.bytes_received).sum::<u64>(),
            prepared_statements: self.prepared_cached.load(Relaxed),
            connected_nodes: hosts.iter().filter(|h| h.open_connections > 0).count() as u64,
            hosts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn session_counts_requests_errors_and_reasons() {
        let m = SessionMetrics::new();
        for i in 0..10u64 {
            m.request_started();
            let outcome = if i < 7 {
                RequestOutcome::Success
            } else {
                RequestOutcome::Failure
            };
            m.request_finished(Duration::from_millis(i + 1), outcome);
        }
        m.request_started();
        m.client_timeout();
        m.server_error(0x1200);
        m.server_error(0x9999);
        m.connection_error();
        m.no_host_available();
        m.retry(RetryReason::ReadTimeout);
        m.retry(RetryReason::ReadTimeout);
        m.ignore(RetryReason::WriteTimeout);
        m.bytes_sent(10);
        m.bytes_received(20);
        m.prepared_cached(3);
        let s = m.snapshot();
        assert_eq!(s.requests.count, 10);
        assert_eq!(s.requests.max_micros, 10_000);
        assert_eq!(s.requests_in_flight, 1);
        assert_eq!(s.requests_failed, 3);
        assert_eq!(s.client_timeouts, 1);
        assert_eq!(s.server_errors.get(0x1200), 1);
        assert_eq!(s.server_errors.other(), 1);
        assert_eq!((s.connection_errors, s.no_host_available), (1, 1));
        assert_eq!(s.retries.get(RetryReason::ReadTimeout), 2);
        assert_eq!(s.ignores.total(), 1);
        assert_eq!((s.bytes_sent, s.bytes_received), (10, 20));
        assert_eq!(s.prepared_statements, 3);
        assert_eq!(s.connected_nodes, 0);
        assert!(s.hosts.is_empty());
    }

    #[test]
    fn hosts_are_registered_once_sorted_and_summed() {
        let m = SessionMetrics::new();
        let b = m.host(addr("127.0.0.2:9042"), Some("dc2"));
        let a = m.host(addr("127.0.0.1:9042"), Some("dc1"));
        assert!(Arc::ptr_eq(&a, &m.host(addr("127.0.0.1:9042"), None)));
        a.set_open_connections(2);
        a.set_available_streams(65_000);
        a.set_orphaned_streams(1);
        a.in_flight_inc();
        a.in_flight_inc();
        a.in_flight_dec();
        a.response(Duration::from_micros(500));
        a.server_error(0x1100);
        a.server_error(0x1000);
        a.server_error(0x2200);
        a.unsent();
        a.aborted();
        a.connection_init_error();
        a.auth_error();
        a.retry(RetryReason::AttemptTimeout);
        a.ignore(RetryReason::Overloaded);
        a.bytes_sent(100);
        b.bytes_sent(5);
        b.bytes_received(7);
        b.in_flight_dec(); // a pool bug must not show as 2^64 - 1
        m.bytes_sent(1);
        let s = m.snapshot();
        assert_eq!(s.hosts.len(), 2);
        let h = &s.hosts[0];
        assert_eq!(h.address, addr("127.0.0.1:9042"));
        assert_eq!(h.datacenter.as_deref(), Some("dc1"));
        assert_eq!(
            (h.open_connections, h.available_streams, h.orphaned_streams),
            (2, 65_000, 1)
        );
        assert_eq!(h.in_flight, 1);
        assert_eq!(h.latency.count, 1);
        let e = h.errors;
        assert_eq!(
            (e.write_timeouts, e.unavailables, e.read_timeouts),
            (1, 1, 0)
        );
        assert_eq!((e.others, e.unsent, e.aborted), (1, 1, 1));
        assert_eq!((e.connection_init, e.connection_auth), (1, 1));
        assert_eq!(h.retries.get(RetryReason::AttemptTimeout), 1);
        assert_eq!(h.ignores.get(RetryReason::Overloaded), 1);
        assert_eq!(s.hosts[1].in_flight, 0);
        assert_eq!((s.bytes_sent, s.bytes_received), (106, 7));
        assert_eq!(s.connected_nodes, 1);
        m.remove_host(addr("127.0.0.2:9042"));
        assert_eq!(m.snapshot().hosts.len(), 1);
    }

    struct FakePool;
    impl PoolGauges for FakePool {
        fn pool_gauges(&self) -> PoolGaugeValues {
            PoolGaugeValues {
                open_connections: 3,
                in_flight: 9,
                available_streams: 100,
                orphaned_streams: 4,
                state: Some("up"),
            }
        }
    }

    #[test]
    fn gauge_source_is_read_at_snapshot_time_and_held_weakly() {
        let m = SessionMetrics::new();
        let h = m.host(addr("[::1]:9042"), None);
        h.set_open_connections(1);
        let pool: Arc<dyn PoolGauges> = Arc::new(FakePool);
        h.set_gauge_source(Arc::downgrade(&pool));
        let s = h.snapshot();
        assert_eq!((s.open_connections, s.in_flight), (3, 9));
        assert_eq!((s.available_streams, s.orphaned_streams), (100, 4));
        assert_eq!(s.state.as_deref(), Some("up"));
        drop(pool);
        let s = h.snapshot();
        assert_eq!((s.open_connections, s.state), (1, None));
    }

    #[test]
    fn concurrent_requests_are_all_counted() {
        let m = Arc::new(SessionMetrics::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = Arc::clone(&m);
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        m.request_started();
                        m.request_finished(Duration::from_micros(i), RequestOutcome::Success);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = m.snapshot();
        assert_eq!((s.requests.count, s.requests_in_flight), (40_000, 0));
    }
}
