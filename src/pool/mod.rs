//! A per-host connection pool: N connections, the least-busy one picked per request,
//! lost connections refilled in the background (see `refill.rs`), and the host's
//! health (Up / Down with a reason). It does not choose hosts (cluster layer) nor
//! retry requests (session layer).

// Parts are used only once the session drives them (same commit series).
#![allow(dead_code)]

mod refill;
mod stall;

pub(crate) use refill::Backoff;

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::connection::{Connection, ConnectionConfig, MAX_STREAMS};
use crate::defaults;
use crate::metrics::{HostMetrics, PoolGaugeValues, PoolGauges, SessionMetrics};

/// Pool settings shared by every host.
#[derive(Debug, Clone)]
pub(crate) struct PoolConfig {
    pub(crate) connection: ConnectionConfig,
    /// Connections kept open per host.
    pub(crate) connections_per_host: usize,
    pub(crate) reconnect_base: Duration,
    pub(crate) reconnect_max: Duration,
    /// The session's metrics: each pool registers its host there.
    pub(crate) metrics: Option<Arc<SessionMetrics>>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            connection: ConnectionConfig::default(),
            connections_per_host: defaults::CONNECTIONS_PER_HOST,
            reconnect_base: defaults::RECONNECT_BASE,
            reconnect_max: defaults::RECONNECT_MAX,
            metrics: None,
        }
    }
}

/// Whether a host can take requests, as far as its pool knows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostState {
    /// Not connected yet.
    Unknown,
    /// At least one connection is open.
    Up,
    /// No connection could be opened; the pool is probing with backoff.
    Down {
        /// The last connection error, as text.
        reason: String,
    },
    /// The load-balancing policy ignores the host (`HostDistance::Ignored`): no pool,
    /// no requests.
    Ignored,
}

/// Told of every state change of a pool (the cluster layer turns it into host events).
pub(crate) type StateListener = Arc<dyn Fn(SocketAddr, &HostState) + Send + Sync>;

/// Wraps the listener so `PoolShared` stays `Debug`.
pub(crate) struct Listener(pub(crate) Option<StateListener>);

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Listener" } else { "None" })
    }
}

#[derive(Debug)]
pub(crate) struct Health {
    pub(crate) state: HostState,
    pub(crate) since: SystemTime,
}

/// Where state shared between the pool handle and its refill task lives.
#[derive(Debug)]
pub(crate) struct PoolShared {
    pub(crate) addr: SocketAddr,
    pub(crate) config: PoolConfig,
    pub(crate) conns: RwLock<Vec<Connection>>,
    /// `conns` as of its last change, for `pick` (no lock on the request path).
    /// Only written under the `conns` write lock, by `publish`.
    pub(crate) live: ArcSwap<Vec<Connection>>,
    pub(crate) health: Mutex<Health>,
    /// Mirrors `health.state` being `Down`, for the lock-free check of every query plan.
    pub(crate) down: AtomicBool,
    /// Wakes the refill task (a connection died, or a request found none).
    pub(crate) wake: Notify,
    /// Cuts a reconnection backoff short (explicit probe, e.g. a node-up event).
    pub(crate) probe: Notify,
    /// Fires when a state change may interest waiters (first connection open).
    pub(crate) changed: Notify,
    pub(crate) shutdown: CancellationToken,
    /// Keyspace to `USE` on new connections (set by the session).
    pub(crate) keyspace: Mutex<Option<String>>,
    /// Told of state changes (outside the health lock).
    pub(crate) listener: Listener,
    /// This host's metrics recorder (handed to every connection).
    pub(crate) metrics: Option<Arc<HostMetrics>>,
    /// Whether the host has stopped answering while work is outstanding.
    pub(crate) stall: stall::StallDetector,
}

/// What a query plan needs to know of a host right now: read lock-free by every plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HostLoad {
    /// The pool is not `Down`: requests may be sent.
    pub(crate) up: bool,
    /// Requests outstanding on the host's connections (written or queued), orphans included.
    pub(crate) outstanding: usize,
    /// Requests outstanding and nothing read from the host for
    /// [`STALL_AFTER`](stall::STALL_AFTER): alive perhaps, but not answering.
    pub(crate) stalled: bool,
    /// How long a stalled host has been silent (zero when not stalled): of several
    /// stalled hosts, the one silent the shortest is the likeliest to answer.
    pub(crate) silent_for: Duration,
}

impl PoolShared {
    /// Makes `conns` (the writer's copy, still locked) what `pick` sees.
    pub(crate) fn publish(&self, conns: &[Connection]) {
        self.live.store(Arc::new(conns.to_vec()));
    }
}

impl PoolGauges for PoolShared {
    fn pool_gauges(&self) -> PoolGaugeValues {
        let mut v = PoolGaugeValues::default();
        if let Ok(conns) = self.conns.read() {
            let max = self.config.connection.max_streams.min(MAX_STREAMS) as u64;
            for c in conns.iter().filter(|c| c.is_usable()) {
                let in_use = c.in_flight() as u64;
                let orphans = c.orphans() as u64;
                v.open_connections += 1;
                v.in_flight += in_use.saturating_sub(orphans);
                v.orphaned_streams += orphans;
                v.available_streams += max.saturating_sub(in_use);
            }
        }
        v.state = self.health.lock().ok().map(|h| match h.state {
            HostState::Unknown => "unknown",
            HostState::Up => "up",
            HostState::Down { .. } => "down",
            HostState::Ignored => "ignored",
        });
        v
    }
}

/// The pool of one host. Dropping it (or calling `shutdown`) stops the refill task;
/// open connections close when their last request is answered.
#[derive(Debug)]
pub(crate) struct HostPool {
    shared: Arc<PoolShared>,
}

impl HostPool {
    /// Creates the pool and starts filling it in the background; `listener` hears
    /// every state change (Unknown -> Up, Up -> Down with the reason, Down -> Up).
    pub(crate) fn new(
        addr: SocketAddr,
        config: PoolConfig,
        listener: Option<StateListener>,
    ) -> Self {
        let keyspace = config.connection.keyspace.clone();
        let metrics = config.metrics.as_ref().map(|m| m.host(addr, None));
        let shared = Arc::new(PoolShared {
            addr,
            config,
            conns: RwLock::new(Vec::new()),
            live: ArcSwap::default(),
            health: Mutex::new(Health {
                state: HostState::Unknown,
                since: SystemTime::now(),
            }),
            down: AtomicBool::new(false),
            wake: Notify::new(),
            probe: Notify::new(),
            changed: Notify::new(),
            shutdown: CancellationToken::new(),
            keyspace: Mutex::new(keyspace),
            listener: Listener(listener),
            metrics,
            stall: stall::StallDetector::default(),
        });
        if let Some(m) = &shared.metrics {
            let source: Arc<dyn PoolGauges> = shared.clone();
            m.set_gauge_source(Arc::downgrade(&source));
        }
        tokio::spawn(refill::run(shared.clone()));
        Self { shared }
    }

    /// The host's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The host's metrics recorder, when the session keeps metrics.
    pub(crate) fn host_metrics(&self) -> Option<&Arc<HostMetrics>> {
        self.shared.metrics.as_ref()
    }

    /// The least-busy usable connection, or `None` (and a refill wake-up) when
    /// there is none.
    pub(crate) fn pick(&self) -> Option<Connection> {
        let conns = self.shared.live.load();
        let mut best: Option<&Connection> = None;
        let mut dead = false;
        for c in conns.iter() {
            if !c.is_usable() {
                dead = true;
                continue;
            }
            if best.is_none_or(|b| c.in_flight() < b.in_flight()) {
                best = Some(c);
            }
        }
        if dead || best.is_none() {
            self.shared.wake.notify_one();
        }
        best.cloned()
    }

    /// Waits until a usable connection exists or `timeout` passes.
    pub(crate) async fn wait_connected(&self, timeout: Duration) -> Option<Connection> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            if let Some(c) = self.pick() {
                return Some(c);
            }
            if matches!(self.state(), HostState::Down { .. }) {
                return None;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.pick();
            }
        }
    }

    /// True while the pool is `Down` (no lock: read by every query plan).
    pub(crate) fn is_down(&self) -> bool {
        self.shared.down.load(Ordering::Acquire)
    }

    /// Up or down, outstanding requests, and whether the host stalled (lock-free; the
    /// clock is read only when the host looks busy and silent).
    pub(crate) fn load(&self) -> HostLoad {
        if self.is_down() {
            return HostLoad::default();
        }
        let conns = self.shared.live.load();
        let (mut outstanding, mut bytes) = (0, 0u64);
        for c in conns.iter() {
            outstanding += c.in_flight();
            bytes = bytes.wrapping_add(c.bytes_received());
        }
        let silent = self
            .shared
            .stall
            .check(outstanding, bytes, std::time::Instant::now);
        HostLoad {
            up: true,
            outstanding,
            stalled: silent.is_some(),
            silent_for: silent.unwrap_or_default(),
        }
    }

    /// Current health.
    pub(crate) fn state(&self) -> HostState {
        self.shared
            .health
            .lock()
            .map(|h| h.state.clone())
            .unwrap_or(HostState::Unknown)
    }

    /// Current health and when the pool entered it.
    pub(crate) fn health(&self) -> (HostState, SystemTime) {
        self.shared
            .health
            .lock()
            .map(|h| (h.state.clone(), h.since))
            .unwrap_or((HostState::Unknown, SystemTime::now()))
    }

    /// Open, usable connections.
    pub(crate) fn open_connections(&self) -> usize {
        self.shared
            .conns
            .read()
            .map(|c| c.iter().filter(|c| c.is_usable()).count())
            .unwrap_or(0)
    }

    /// Requests in flight over all connections.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared
            .conns
            .read()
            .map(|c| c.iter().map(Connection::in_flight).sum())
            .unwrap_or(0)
    }

    /// Sets the keyspace new connections `USE` (existing ones are switched by the
    /// session with a `USE` request on each).
    pub(crate) fn set_keyspace(&self, keyspace: Option<String>) {
        if let Ok(mut k) = self.shared.keyspace.lock() {
            *k = keyspace;
        }
    }

    /// Every currently open connection.
    pub(crate) fn connections(&self) -> Vec<Connection> {
        self.shared
            .conns
            .read()
            .map(|c| c.iter().filter(|c| c.is_usable()).cloned().collect())
            .unwrap_or_default()
    }

    /// Every connection the pool holds, retiring ones included (for shutdown).
    pub(crate) fn all_connections(&self) -> Vec<Connection> {
        self.shared
            .conns
            .read()
            .map(|c| c.to_vec())
            .unwrap_or_default()
    }

    /// Asks for a reconnection attempt now (e.g. a topology event said the node is up)
    /// and restarts the backoff from its base delay: Cassandra announces UP before its
    /// native transport listens, so the probe may fail and the next ones come quickly.
    pub(crate) fn probe_now(&self) {
        self.shared.probe.notify_one();
    }

    /// Stops refilling and closes every connection once idle.
    pub(crate) fn shutdown(&self) {
        self.shared.shutdown.cancel();
        if let Ok(mut conns) = self.shared.conns.write() {
            conns.clear();
            self.shared.publish(&conns);
        }
    }

    /// The last error that took the host down, if it is down.
    pub(crate) fn down_reason(&self) -> Option<String> {
        match self.state() {
            HostState::Down { reason } => Some(reason),
            _ => None,
        }
    }
}

impl Drop for HostPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_host_goes_down_once_with_the_reason() {
        // A port nobody listens on: every attempt is refused at once.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let heard: Arc<Mutex<Vec<HostState>>> = Arc::default();
        let h = heard.clone();
        let listener: StateListener = Arc::new(move |a, s: &HostState| {
            assert_eq!(a, addr);
            h.lock().unwrap().push(s.clone());
        });
        let config = PoolConfig {
            reconnect_base: Duration::from_millis(1),
            reconnect_max: Duration::from_millis(2),
            ..PoolConfig::default()
        };
        let pool = HostPool::new(addr, config, Some(listener));
        assert!(pool.wait_connected(Duration::from_secs(10)).await.is_none());
        let reason = pool.down_reason().expect("down");
        assert!(!reason.is_empty());
        assert!(pool.pick().is_none());
        // Several more failed probes: still one Down for listeners.
        for _ in 0..3 {
            let changed = pool.shared.changed.notified();
            pool.probe_now();
            changed.await;
        }
        let heard = heard.lock().unwrap().clone();
        assert_eq!(heard.len(), 1, "{heard:?}");
        assert!(matches!(heard[0], HostState::Down { .. }));
        pool.shutdown();
    }
}
