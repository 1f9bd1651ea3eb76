//! The live cluster: topology reads over the control connection (`system.local`,
//! `system.peers_v2` or `system.peers`, `system_schema.keyspaces`), the current
//! `ClusterView` (hosts, ring, replication), one `HostPool` per non-ignored host and
//! the host-event broadcast. It does not route or retry requests. Connecting and the
//! control connection's task (events, failover) live in `control.rs`, which builds on
//! this file, never the reverse.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::events::{HostEvent, HostInfo};
use super::host::{AddressTranslator, Host, PeerRow};
use super::load_balancing::{HostDistance, LoadBalancingPolicy};
use super::replication::ReplicationStrategy;
use super::view::ClusterView;
use crate::connection::{CallError, CallOptions, Connection, ConnectionConfig, Events};
use crate::error::{ConnectionError, ContactPointError, ContactPointFailure};
use crate::pool::{HostPool, HostState, PoolConfig, StateListener};
use crate::protocol::request::{EventType, Query, QueryParameters, Register, Request};
use crate::protocol::response::{Response, ResultBody};
use crate::{Consistency, CqlUuid, Row, RowSet};

/// Longest wait for one control query (topology read, REGISTER, schema version).
pub(crate) const CONTROL_QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Host events kept for a slow subscriber before it sees `Lagged`.
const HOST_EVENTS_CAPACITY: usize = 256;

/// Why a topology read failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TopologyError {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error("{addr} answered `{query}` with {what}")]
    Unexpected {
        addr: SocketAddr,
        query: &'static str,
        what: String,
    },
    #[error("{addr} did not answer `{query}` within {timeout:?}")]
    Timeout {
        addr: SocketAddr,
        query: &'static str,
        timeout: Duration,
    },
}

impl TopologyError {
    /// True when the connection itself is unusable (not just one answer).
    pub(crate) fn is_connection(&self) -> bool {
        matches!(self, Self::Connection(_) | Self::Timeout { .. })
    }
}

impl From<TopologyError> for ContactPointError {
    fn from(e: TopologyError) -> Self {
        match e {
            TopologyError::Connection(e) => Self::Connection(e),
            TopologyError::Unexpected { query, what, .. } => Self::Topology { query, what },
            TopologyError::Timeout { query, timeout, .. } => Self::Topology {
                query,
                what: format!("no answer within {timeout:?}"),
            },
        }
    }
}

/// Settings of the cluster layer.
#[derive(Debug, Clone)]
pub(crate) struct ClusterConfig {
    pub(crate) contact_points: Vec<String>,
    pub(crate) default_port: u16,
    pub(crate) pool: PoolConfig,
    pub(crate) translator: Arc<dyn AddressTranslator>,
    /// Decides which hosts get a pool (`HostDistance::Ignored`: none).
    pub(crate) policy: Arc<dyn LoadBalancingPolicy>,
}

/// The pools of one moment, by address.
pub(crate) type PoolMap = HashMap<SocketAddr, Arc<HostPool>, BuildHasherDefault<AddrHasher>>;

/// What every request reads first: the view and the pools published together. Read
/// without a lock ([`Cluster::snapshot`]); replaced whole by `install` and `shutdown`.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) view: Arc<ClusterView>,
    pub(crate) pools: Arc<PoolMap>,
}

impl Snapshot {
    fn empty() -> Self {
        Snapshot {
            view: Arc::new(ClusterView::new(
                Vec::new(),
                Vec::new(),
                Arc::new(|_: &Host| crate::pool::HostLoad::default()),
            )),
            pools: Arc::default(),
        }
    }
}

/// A cheap hasher for socket-address keys (SipHash's flood resistance buys nothing for
/// a map whose keys come from the cluster's own topology tables).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Debug)]
pub(crate) struct ClusterShared {
    pub(crate) config: ClusterConfig,
    /// Read on every request; written under the `pools` lock.
    snapshot: ArcSwap<Snapshot>,
    /// The pools being managed (the writers' copy; readers use `snapshot`).
    pools: RwLock<HashMap<SocketAddr, Arc<HostPool>>>,
    pub(crate) control: RwLock<Option<Connection>>,
    /// Ends the control task (cancelled by `shutdown` and when the cluster is dropped).
    pub(crate) shutdown: CancellationToken,
    pub(crate) events: broadcast::Sender<HostEvent>,
}

impl Drop for ClusterShared {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The hosts and pools of one session.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub(crate) shared: Arc<ClusterShared>,
}

impl Cluster {
    /// A cluster that knows no host yet (`control::connect` opens its control
    /// connection).
    pub(super) fn new(config: ClusterConfig) -> Self {
        let (events, _) = broadcast::channel(HOST_EVENTS_CAPACITY);
        let shared = Arc::new(ClusterShared {
            config,
            snapshot: ArcSwap::from_pointee(Snapshot::empty()),
            pools: RwLock::new(HashMap::new()),
            control: RwLock::new(None),
            shutdown: CancellationToken::new(),
            events,
        });
        Cluster { shared }
    }

    /// Opens a control connection to `addr`, registers for events (before reading, so
    /// no change falls between the read and the registration), refreshes over it and
    /// makes it the control connection. Returns its event receiver.
    pub(crate) async fn open_control(&self, addr: SocketAddr) -> Result<Events, ContactPointError> {
        let mut cfg: ConnectionConfig = self.shared.config.pool.connection.clone();
        cfg.keyspace = None;
        cfg.metrics = self
            .shared
            .config
            .pool
            .metrics
            .as_ref()
            .map(|m| m.host(addr, None));
        let opened = Connection::open(addr, &cfg, true)
            .await
            .map_err(ContactPointError::Connection)?;
        let conn = opened.connection;
        let Some(events) = opened.events else {
            conn.close();
            return Err(ContactPointError::Topology {
                query: "REGISTER",
                what: "a connection without an event channel".into(),
            });
        };
        let ready = async {
            register(&conn).await?;
            self.refresh(&conn).await
        };
        if let Err(e) = ready.await {
            conn.close();
            return Err(e.into());
        }
        tracing::info!(%addr, "control connection established");
        if let Ok(mut c) = self.shared.control.write() {
            if let Some(old) = c.replace(conn) {
                old.close();
            }
        }
        Ok(events)
    }

    /// The current control connection, if any.
    pub(crate) fn control(&self) -> Option<Connection> {
        self.shared.control.read().ok().and_then(|c| c.clone())
    }

    /// Subscribes to host events (added, removed, up, down).
    pub(crate) fn host_events(&self) -> broadcast::Receiver<HostEvent> {
        self.shared.events.subscribe()
    }

    /// Every known host with its pool's health.
    pub(crate) fn hosts(&self) -> Vec<HostInfo> {
        let control = self.control().map(|c| c.addr());
        self.view()
            .hosts()
            .iter()
            .map(|h| {
                let pool = self.pool(h.address());
                let (state, since) = match &pool {
                    Some(p) => p.health(),
                    None => (HostState::Ignored, std::time::SystemTime::now()),
                };
                HostInfo {
                    address: h.address(),
                    id: h.id(),
                    datacenter: h.datacenter().to_owned(),
                    rack: h.rack().to_owned(),
                    release_version: h.release_version().to_owned(),
                    tokens: h.tokens().len(),
                    state,
                    since,
                    open_connections: pool.as_ref().map_or(0, |p| p.open_connections()),
                    in_flight: pool.as_ref().map_or(0, |p| p.in_flight()),
                    control: control == Some(h.address()),
                }
            })
            .collect()
    }

    /// The pool state of the host at `addr` (`Ignored` when it has no pool).
    pub(crate) fn state(&self, addr: SocketAddr) -> HostState {
        self.pool(addr).map_or(HostState::Ignored, |p| p.state())
    }

    /// The current view (hosts, ring, replication).
    pub(crate) fn view(&self) -> Arc<ClusterView> {
        self.shared.snapshot.load().view.clone()
    }

    /// The view and pools of this moment, read without a lock (the request path).
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        self.shared.snapshot.load_full()
    }

    /// The pool of the host at `addr`.
    pub(crate) fn pool(&self, addr: SocketAddr) -> Option<Arc<HostPool>> {
        self.shared.snapshot.load().pools.get(&addr).cloned()
    }

    /// Every pool.
    pub(crate) fn pools(&self) -> Vec<Arc<HostPool>> {
        self.shared
            .pools
            .read()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Stops the control task, every pool and the control connection.
    pub(crate) fn shutdown(&self) {
        self.shared.shutdown.cancel();
        if let Ok(mut c) = self.shared.control.write() {
            if let Some(c) = c.take() {
                c.close();
            }
        }
        if let Ok(mut pools) = self.shared.pools.write() {
            for p in pools.values() {
                p.shutdown();
            }
            pools.clear();
            self.shared.snapshot.store(Arc::new(Snapshot::empty()));
        }
    }

    /// Re-reads hosts and keyspaces over `conn` and swaps in a new view; starts pools
    /// for new hosts and stops pools of hosts that left.
    pub(crate) async fn refresh(&self, conn: &Connection) -> Result<(), TopologyError> {
        let cfg = &self.shared.config;
        let local = select(conn, "SELECT * FROM system.local WHERE key = 'local'").await?;
        let mut hosts = Vec::new();
        for row in local.iter().flatten() {
            match host_from_row(
                &row,
                "broadcast_address",
                "rpc_address",
                cfg,
                Some(conn.addr()),
            ) {
                Some(h) => hosts.push(h),
                None => tracing::warn!(addr = %conn.addr(), "system.local row unusable"),
            }
        }
        let peers = match select(conn, "SELECT * FROM system.peers_v2").await {
            Ok(rows) => rows,
            Err(_) => select(conn, "SELECT * FROM system.peers").await?,
        };
        let v2 = peers.columns().iter().any(|c| c.name == "native_address");
        let rpc_col = if v2 { "native_address" } else { "rpc_address" };
        for row in peers.iter().flatten() {
            if let Some(h) = host_from_row(&row, "peer", rpc_col, cfg, None) {
                hosts.push(h);
            }
        }
        let keyspaces = select(
            conn,
            "SELECT keyspace_name, replication FROM system_schema.keyspaces",
        )
        .await?;
        let mut strategies = Vec::new();
        for row in keyspaces.iter().flatten() {
            let name: Result<&str, _> = row.get(0);
            let repl: Result<Option<HashMap<&str, &str>>, _> = row.get(1);
            if let (Ok(name), Ok(Some(repl))) = (name, repl) {
                match ReplicationStrategy::from_options(repl) {
                    Ok(strategy) => strategies.push((name.to_owned(), strategy)),
                    Err(e) => tracing::warn!(keyspace = name, error = %e, "unusable replication"),
                }
            }
        }
        self.install(hosts, strategies);
        Ok(())
    }

    /// Waits until every node reports the same schema version (after DDL), up to
    /// `timeout`. The check runs on the node that coordinated the change: its own
    /// version is already the new one, so agreement cannot be seen before the change
    /// reached the others (on any other node, all could still agree on the old one).
    pub(crate) async fn await_schema_agreement(
        &self,
        coordinator: SocketAddr,
        timeout: std::time::Duration,
    ) -> bool {
        let conn = self
            .pool(coordinator)
            .and_then(|p| p.pick())
            .or_else(|| self.control());
        let Some(conn) = conn else {
            return false;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let agreed = self.schema_agrees(&conn).await;
            if let Err(e) = &agreed {
                tracing::warn!(error = %e, "schema agreement check failed");
            }
            if let Ok(true) = agreed {
                // New keyspaces change replication: pick them up for routing.
                if let Err(e) = self.refresh(&conn).await {
                    tracing::debug!(error = %e, "refresh after schema change failed");
                }
                return true;
            }
            if tokio::time::Instant::now() + SCHEMA_POLL > deadline {
                tracing::warn!("schema agreement not reached within {timeout:?}");
                return false;
            }
            tokio::time::sleep(SCHEMA_POLL).await;
        }
    }

    /// Schema versions of the nodes we can reach agree. Peers whose pool is Down are
    /// left out: a dead node keeps its last version in `system.peers` and would block
    /// agreement until the timeout (the Java driver skips them likewise).
    async fn schema_agrees(&self, conn: &Connection) -> Result<bool, TopologyError> {
        let local = select(
            conn,
            "SELECT schema_version FROM system.local WHERE key = 'local'",
        )
        .await?;
        let peers = select(conn, "SELECT host_id, schema_version FROM system.peers").await?;
        let view = self.view();
        let unexpected = |e: &dyn std::fmt::Display| TopologyError::Unexpected {
            addr: conn.addr(),
            query: "schema_version",
            what: e.to_string(),
        };
        let mut versions = std::collections::HashSet::new();
        for row in local.iter() {
            let row = row.map_err(|e| unexpected(&e))?;
            if let Some(v) = row.get::<Option<CqlUuid>>(0).map_err(|e| unexpected(&e))? {
                versions.insert(v.0);
            }
        }
        for row in peers.iter() {
            let row = row.map_err(|e| unexpected(&e))?;
            let id = row.get::<Option<CqlUuid>>(0).map_err(|e| unexpected(&e))?;
            let down = id
                .and_then(|id| view.hosts().iter().find(|h| h.id().0 == id.0))
                .is_some_and(|h| matches!(self.state(h.address()), HostState::Down { .. }));
            if down {
                continue;
            }
            // A peer without a version is not part of the ring yet.
            if let Some(v) = row.get::<Option<CqlUuid>>(1).map_err(|e| unexpected(&e))? {
                versions.insert(v.0);
            }
        }
        tracing::debug!(versions = versions.len(), "schema versions seen");
        Ok(versions.len() <= 1)
    }

    fn install(&self, hosts: Vec<Arc<Host>>, keyspaces: Vec<(String, ReplicationStrategy)>) {
        let cfg = &self.shared.config;
        let old = self.view();
        for h in old.hosts() {
            if !hosts.iter().any(|n| n.address() == h.address()) {
                tracing::info!(addr = %h.address(), "host removed");
                let _ = self.shared.events.send(HostEvent::Removed(h.address()));
            }
        }
        for h in &hosts {
            if !old.hosts().iter().any(|o| o.address() == h.address()) {
                tracing::info!(addr = %h.address(), dc = h.datacenter(), "host added");
                let _ = self.shared.events.send(HostEvent::Added(h.address()));
            }
        }
        let events = self.shared.events.clone();
        let listener: StateListener = Arc::new(move |addr, state: &HostState| {
            let event = match state {
                HostState::Up => HostEvent::Up(addr),
                HostState::Down { reason } => HostEvent::Down {
                    address: addr,
                    reason: reason.clone(),
                },
                _ => return,
            };
            let _ = events.send(event);
        });
        let Ok(mut pools) = self.shared.pools.write() else {
            return;
        };
        let wanted = |h: &Host| cfg.policy.distance(h) != HostDistance::Ignored;
        pools.retain(|addr, pool| {
            let keep = hosts
                .iter()
                .any(|h| h.address() == *addr && wanted(h.as_ref()));
            if !keep {
                if let Some(m) = &cfg.pool.metrics {
                    m.remove_host(*addr);
                }
                pool.shutdown();
            }
            keep
        });
        for h in hosts.iter().filter(|h| wanted(h.as_ref())) {
            pools.entry(h.address()).or_insert_with(|| {
                Arc::new(HostPool::new(
                    h.address(),
                    cfg.pool.clone(),
                    Some(listener.clone()),
                ))
            });
        }
        // The view and the pools are published together, still under the writers'
        // lock so two installs cannot publish out of order.
        let published: Arc<PoolMap> =
            Arc::new(pools.iter().map(|(a, p)| (*a, p.clone())).collect());
        let load_pools = published.clone();
        let probe = Arc::new(move |h: &Host| {
            load_pools
                .get(&h.address())
                .map(|p| p.load())
                .unwrap_or_default()
        });
        let view = Arc::new(ClusterView::new(hosts, keyspaces, probe));
        self.shared.snapshot.store(Arc::new(Snapshot {
            view,
            pools: published,
        }));
    }
}

const SCHEMA_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Sends REGISTER for topology, status and schema events; the node answers READY.
async fn register(conn: &Connection) -> Result<(), TopologyError> {
    let query = "REGISTER";
    let req = Request::Register(Register::new(vec![
        EventType::TopologyChange,
        EventType::StatusChange,
        EventType::SchemaChange,
    ]));
    let addr = conn.addr();
    match control_request(conn, query, &req).await? {
        Response::Ready => Ok(()),
        other => Err(TopologyError::Unexpected {
            addr,
            query,
            what: format!("{:?}", other.opcode()),
        }),
    }
}

/// Resolves contact points (host names through DNS, every address they map to).
pub(crate) async fn resolve(
    points: &[String],
    default_port: u16,
    failures: &mut Vec<ContactPointFailure>,
) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for p in points {
        if let Ok(addr) = p.parse::<SocketAddr>() {
            out.push(addr);
            continue;
        }
        if let Ok(ip) = p.parse::<IpAddr>() {
            out.push(SocketAddr::new(ip, default_port));
            continue;
        }
        let with_port = if p.contains(':') {
            p.clone()
        } else {
            format!("{p}:{default_port}")
        };
        let resolved = tokio::net::lookup_host(with_port.clone()).await;
        match resolved {
            Ok(addrs) => out.extend(addrs),
            Err(e) => failures.push(ContactPointFailure {
                contact_point: p.clone(),
                error: ContactPointError::Resolve(Arc::new(e)),
            }),
        }
    }
    // Several names may map to one address; keep the first occurrence of each.
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(*a));
    out
}

/// One control request, answered within [`CONTROL_QUERY_TIMEOUT`] (the connection task
/// enforces it).
async fn control_request(
    conn: &Connection,
    query: &'static str,
    req: &Request<'_>,
) -> Result<Response, TopologyError> {
    let addr = conn.addr();
    let deadline = tokio::time::Instant::now() + CONTROL_QUERY_TIMEOUT;
    match conn.call(req, CallOptions::by(deadline)).await {
        Ok(reply) => Ok(reply.response),
        Err(CallError::Connection { error, .. }) => Err(TopologyError::Connection(error)),
        Err(CallError::TimedOut { .. }) => Err(TopologyError::Timeout {
            addr,
            query,
            timeout: CONTROL_QUERY_TIMEOUT,
        }),
        Err(e @ (CallError::Encode(_) | CallError::Decode(_))) => Err(TopologyError::Unexpected {
            addr,
            query,
            what: e.to_string(),
        }),
    }
}

async fn select(conn: &Connection, query: &'static str) -> Result<RowSet, TopologyError> {
    let q = Query::new(query, QueryParameters::new(Consistency::One));
    let addr = conn.addr();
    let unexpected = |what: String| TopologyError::Unexpected { addr, query, what };
    match control_request(conn, query, &Request::Query(q)).await? {
        Response::Result(ResultBody::Rows(rows)) => Ok(RowSet::new(
            rows.metadata.columns.into(),
            rows.rows_count,
            rows.rows_content,
        )),
        Response::Error(e) => Err(unexpected(format!("error: {}", e.message))),
        other => Err(unexpected(format!("{:?}", other.opcode()))),
    }
}

fn host_from_row(
    row: &Row<'_>,
    peer_col: &str,
    rpc_col: &str,
    cfg: &ClusterConfig,
    connected: Option<SocketAddr>,
) -> Option<Arc<Host>> {
    let tokens: Vec<&str> = row
        .get_by_name::<Option<Vec<&str>>>("tokens")
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut rpc = row.get_by_name::<Option<IpAddr>>(rpc_col).ok().flatten();
    if rpc.is_none() {
        rpc = connected.map(|a| a.ip());
    }
    let peer_row = PeerRow {
        host_id: row
            .get_by_name::<Option<CqlUuid>>("host_id")
            .ok()
            .flatten()
            .map(|u| u.0),
        rpc_address: rpc,
        native_port: row
            .get_by_name::<Option<i32>>("native_port")
            .ok()
            .flatten()
            .and_then(|p| u16::try_from(p).ok()),
        peer: row.get_by_name::<Option<IpAddr>>(peer_col).ok().flatten(),
        datacenter: row
            .get_by_name::<Option<&str>>("data_center")
            .ok()
            .flatten(),
        rack: row.get_by_name::<Option<&str>>("rack").ok().flatten(),
        tokens: &tokens,
        release_version: row
            .get_by_name::<Option<&str>>("release_version")
            .ok()
            .flatten(),
    };
    let port = connected.map_or(cfg.default_port, |a| a.port());
    match Host::from_row(&peer_row, port, cfg.translator.as_ref()) {
        Ok(h) => Some(Arc::new(h)),
        Err(e) => {
            tracing::warn!(error = %e, "skipping topology row");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::host::tests::host;
    use crate::cluster::{DefaultPolicy, IdentityTranslator};

    /// A host of DC `dc` on a local port nobody listens on (its pool goes Down).
    fn unreachable(n: u8, dc: &str) -> Arc<Host> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut h = (*host(n, dc, "r1", &[i64::from(n)])).clone();
        h.address = SocketAddr::from(([127, 0, 0, 1], port));
        Arc::new(h)
    }

    #[tokio::test]
    async fn install_pools_used_hosts_and_reports_changes() {
        let config = ClusterConfig {
            contact_points: Vec::new(),
            default_port: 9042,
            pool: PoolConfig {
                reconnect_base: Duration::from_millis(1),
                reconnect_max: Duration::from_millis(5),
                ..PoolConfig::default()
            },
            translator: Arc::new(IdentityTranslator),
            policy: Arc::new(DefaultPolicy::builder().local_dc("dc1").build()),
        };
        let cluster = Cluster::new(config);
        let mut rx = cluster.host_events();
        let (a, b, remote) = (
            unreachable(1, "dc1"),
            unreachable(2, "dc1"),
            unreachable(3, "dc2"),
        );
        cluster.install(vec![a.clone(), b.clone(), remote.clone()], Vec::new());
        let mut added = Vec::new();
        let mut down = Vec::new();
        while down.len() < 2 {
            match rx.recv().await.unwrap() {
                HostEvent::Added(addr) => added.push(addr),
                HostEvent::Down { address, reason } => {
                    assert!(!reason.is_empty());
                    down.push(address);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(added, vec![a.address(), b.address(), remote.address()]);
        down.sort();
        let mut want = vec![a.address(), b.address()];
        want.sort();
        assert_eq!(down, want);
        // The remote DC is ignored by the policy: no pool, never up.
        assert_eq!(cluster.pools().len(), 2);
        assert_eq!(cluster.state(remote.address()), HostState::Ignored);
        let view = cluster.view();
        assert!(!view.is_up(&a) && !view.is_up(&remote));
        let infos = cluster.hosts();
        assert_eq!(infos.len(), 3);
        assert!(infos.iter().all(|h| !h.control && h.open_connections == 0));

        cluster.install(vec![a.clone()], Vec::new());
        let mut removed = vec![
            rx.recv().await.unwrap().address(),
            rx.recv().await.unwrap().address(),
        ];
        removed.sort();
        let mut want = vec![b.address(), remote.address()];
        want.sort();
        assert_eq!(removed, want);
        assert_eq!(cluster.pools().len(), 1);
        cluster.shutdown();
        assert!(cluster.shared.shutdown.is_cancelled());
        assert!(cluster.pools().is_empty());
    }
}
