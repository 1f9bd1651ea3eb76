//! The live cluster: a control connection that reads `system.local`,
//! `system.peers_v2` (or `system.peers`) and `system_schema.keyspaces`, the current
//! `ClusterView` (hosts, ring, replication) and one `HostPool` per host. The session
//! asks it for a view and for pools; it does not route or retry requests.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use super::host::{AddressTranslator, Host, PeerRow};
use super::replication::ReplicationStrategy;
use super::view::ClusterView;
use crate::connection::{parse_response, Connection, ConnectionConfig};
use crate::error::ConnectionError;
use crate::pool::{HostPool, HostState, PoolConfig};
use crate::protocol::request::{Query, QueryParameters, Request};
use crate::protocol::response::{Response, ResultBody};
use crate::{Consistency, CqlUuid, Row, RowSet};

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
}

/// Settings of the cluster layer.
#[derive(Debug, Clone)]
pub(crate) struct ClusterConfig {
    pub(crate) contact_points: Vec<String>,
    pub(crate) default_port: u16,
    pub(crate) pool: PoolConfig,
    pub(crate) translator: Arc<dyn AddressTranslator>,
}

#[derive(Debug)]
pub(crate) struct ClusterShared {
    pub(crate) config: ClusterConfig,
    view: RwLock<Arc<ClusterView>>,
    pools: RwLock<HashMap<SocketAddr, Arc<HostPool>>>,
    pub(crate) control: RwLock<Option<Connection>>,
}

/// The hosts and pools of one session.
#[derive(Debug, Clone)]
pub(crate) struct Cluster {
    pub(crate) shared: Arc<ClusterShared>,
}

impl Cluster {
    /// Resolves the contact points, opens a control connection to the first that
    /// answers, reads the topology and starts a pool per host.
    pub(crate) async fn connect(config: ClusterConfig) -> Result<Self, Vec<(String, String)>> {
        let mut failures = Vec::new();
        let addrs = resolve(&config.contact_points, config.default_port, &mut failures).await;
        let shared = Arc::new(ClusterShared {
            config,
            view: RwLock::new(Arc::new(ClusterView::new(
                Vec::new(),
                Vec::new(),
                Arc::new(|_: &Host| false),
            ))),
            pools: RwLock::new(HashMap::new()),
            control: RwLock::new(None),
        });
        let cluster = Cluster { shared };
        for addr in addrs {
            let mut cfg: ConnectionConfig = cluster.shared.config.pool.connection.clone();
            cfg.keyspace = None;
            match Connection::open(addr, &cfg, true).await {
                Ok(opened) => match cluster.refresh(&opened.connection).await {
                    Ok(()) => {
                        if let Ok(mut c) = cluster.shared.control.write() {
                            *c = Some(opened.connection);
                        }
                        return Ok(cluster);
                    }
                    Err(e) => failures.push((addr.to_string(), e.to_string())),
                },
                Err(e) => failures.push((addr.to_string(), e.to_string())),
            }
        }
        Err(failures)
    }

    /// The current view (hosts, ring, replication).
    pub(crate) fn view(&self) -> Arc<ClusterView> {
        match self.shared.view.read() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The pool of the host at `addr`.
    pub(crate) fn pool(&self, addr: SocketAddr) -> Option<Arc<HostPool>> {
        self.shared.pools.read().ok()?.get(&addr).cloned()
    }

    /// Every pool.
    pub(crate) fn pools(&self) -> Vec<Arc<HostPool>> {
        self.shared
            .pools
            .read()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Stops every pool and the control connection.
    pub(crate) fn shutdown(&self) {
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
            .or_else(|| self.shared.control.read().ok().and_then(|c| c.clone()));
        let Some(conn) = conn else {
            return false;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let agreed = schema_agrees(&conn).await;
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

    fn install(&self, hosts: Vec<Arc<Host>>, keyspaces: Vec<(String, ReplicationStrategy)>) {
        let cfg = &self.shared.config;
        if let Ok(mut pools) = self.shared.pools.write() {
            pools.retain(|addr, pool| {
                let keep = hosts.iter().any(|h| h.address() == *addr);
                if !keep {
                    pool.shutdown();
                }
                keep
            });
            for h in &hosts {
                pools
                    .entry(h.address())
                    .or_insert_with(|| Arc::new(HostPool::new(h.address(), cfg.pool.clone())));
            }
        }
        let weak = Arc::downgrade(&self.shared);
        let is_up = Arc::new(move |h: &Host| {
            weak.upgrade()
                .and_then(|s| s.pools.read().ok()?.get(&h.address()).map(|p| p.state()))
                .is_some_and(|s| !matches!(s, HostState::Down { .. }))
        });
        let view = Arc::new(ClusterView::new(hosts, keyspaces, is_up));
        if let Ok(mut v) = self.shared.view.write() {
            *v = view;
        }
    }
}

const SCHEMA_POLL: std::time::Duration = std::time::Duration::from_millis(100);

async fn schema_agrees(conn: &Connection) -> Result<bool, TopologyError> {
    let local = select(
        conn,
        "SELECT schema_version FROM system.local WHERE key = 'local'",
    )
    .await?;
    let peers = select(conn, "SELECT schema_version FROM system.peers").await?;
    let mut versions = std::collections::HashSet::new();
    for row in local.iter().chain(peers.iter()) {
        let row = row.map_err(|e| TopologyError::Unexpected {
            addr: conn.addr(),
            query: "schema_version",
            what: e.to_string(),
        })?;
        match row.get::<Option<CqlUuid>>(0) {
            Ok(Some(v)) => {
                versions.insert(v.0);
            }
            // A peer without a version is not part of the ring yet.
            Ok(None) => {}
            Err(e) => {
                return Err(TopologyError::Unexpected {
                    addr: conn.addr(),
                    query: "schema_version",
                    what: e.to_string(),
                })
            }
        }
    }
    tracing::debug!(versions = versions.len(), "schema versions seen");
    Ok(versions.len() == 1)
}

async fn resolve(
    points: &[String],
    default_port: u16,
    failures: &mut Vec<(String, String)>,
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
            Err(e) => failures.push((p.clone(), format!("cannot resolve: {e}"))),
        }
    }
    out.dedup();
    out
}

async fn select(conn: &Connection, query: &'static str) -> Result<RowSet, TopologyError> {
    let q = Query::new(query, QueryParameters::new(Consistency::One));
    let frame = conn
        .send(&Request::Query(q))
        .await
        .map_err(|e| TopologyError::Connection(e.error))?;
    let addr = conn.addr();
    let unexpected = |what: String| TopologyError::Unexpected { addr, query, what };
    match parse_response(&frame) {
        Ok((_, Response::Result(ResultBody::Rows(rows)))) => Ok(RowSet::new(
            rows.metadata.columns.into(),
            rows.rows_count,
            rows.rows_content,
        )),
        Ok((_, Response::Error(e))) => Err(unexpected(format!("error: {}", e.message))),
        Ok((_, other)) => Err(unexpected(format!("{:?}", other.opcode()))),
        Err(e) => Err(unexpected(e.to_string())),
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
