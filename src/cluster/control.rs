//! Connecting a cluster and its control task: the first control connection, then the
//! task that consumes its server events (topology, status, schema), refreshes the
//! topology after a debounce, asks a pool to probe its host when the node announces
//! UP, and moves the control connection to another node when it dies. The live cluster
//! and its topology reads live in `topology.rs`.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::topology::{resolve, Cluster, ClusterConfig, ClusterShared};
use crate::connection::Events;
use crate::defaults::EVENT_DEBOUNCE;
use crate::error::ContactPointFailure;
use crate::pool::{Backoff, HostState};
use crate::protocol::response::{Event, SchemaChangeTarget, StatusChangeType, TopologyChangeType};

/// What one server event asks of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// Re-read hosts and keyspaces (debounced).
    Refresh,
    /// The node says it is up: probe its pool now (the advertised address, untranslated).
    Probe(SocketAddr),
    /// Informational only (a DOWN: the pool decides from its own connections).
    Note,
}

fn classify(event: &Event) -> Action {
    match event {
        Event::TopologyChange { change, addr } => {
            tracing::info!(%addr, ?change, "topology change event");
            match change {
                TopologyChangeType::NewNode
                | TopologyChangeType::RemovedNode
                | TopologyChangeType::MovedNode => Action::Refresh,
            }
        }
        Event::StatusChange { change, addr } => {
            tracing::info!(%addr, ?change, "status change event");
            match change {
                StatusChangeType::Up => Action::Probe(*addr),
                // Gossip may call a node down while our connections to it still work
                // (or the reverse); the pool's own connections are the authority.
                StatusChangeType::Down => Action::Note,
            }
        }
        // Only keyspace changes can change replication (and so routing).
        Event::SchemaChange(sc) => match sc.target {
            SchemaChangeTarget::Keyspace { .. } => Action::Refresh,
            _ => Action::Note,
        },
        #[allow(unreachable_patterns)] // `Event` is non-exhaustive
        _ => Action::Note,
    }
}

/// Coalesces bursts of events into one refresh: the first event of a burst arms a
/// deadline `delay` later; events before it fire add nothing. So a refresh follows
/// any event within `delay`, and a storm of events costs one refresh per `delay`.
#[derive(Debug)]
struct Debounce {
    delay: Duration,
    due: Option<Instant>,
}

impl Debounce {
    fn new(delay: Duration) -> Self {
        Self { delay, due: None }
    }

    fn event(&mut self, now: Instant) {
        if self.due.is_none() {
            self.due = Some(now + self.delay);
        }
    }

    /// Waits until the armed deadline (forever when none), then disarms.
    async fn fired(&mut self) {
        match self.due {
            Some(t) => {
                tokio::time::sleep_until(t).await;
                self.due = None;
            }
            None => std::future::pending().await,
        }
    }
}

impl Cluster {
    /// Resolves the contact points, opens a control connection to the first that
    /// answers, registers for events, reads the topology, starts a pool per host and
    /// the control task that keeps all of it current.
    pub(crate) async fn connect(config: ClusterConfig) -> Result<Self, Vec<ContactPointFailure>> {
        let mut failures = Vec::new();
        let addrs = resolve(&config.contact_points, config.default_port, &mut failures).await;
        let cluster = Cluster::new(config);
        for addr in addrs {
            match cluster.open_control(addr).await {
                Ok(events) => {
                    spawn(&cluster, events);
                    return Ok(cluster);
                }
                Err(error) => failures.push(ContactPointFailure {
                    contact_point: addr.to_string(),
                    error,
                }),
            }
        }
        Err(failures)
    }
}

/// Starts the control task for `cluster`, whose control connection is open and
/// registered; `events` is that connection's event receiver. The task ends when the
/// cluster shuts down or is dropped.
fn spawn(cluster: &Cluster, events: Events) {
    let weak = Arc::downgrade(&cluster.shared);
    let token = cluster.shared.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            biased;
            _ = token.cancelled() => {}
            _ = run(weak, events) => {}
        }
        tracing::debug!("control task ended");
    });
}

fn upgrade(weak: &Weak<ClusterShared>) -> Option<Cluster> {
    weak.upgrade().map(|shared| Cluster { shared })
}

async fn run(weak: Weak<ClusterShared>, mut events: Events) {
    loop {
        watch(&weak, &mut events).await;
        let Some(cluster) = upgrade(&weak) else {
            return;
        };
        let lost = cluster.control().map(|c| c.addr());
        tracing::warn!(addr = ?lost, "control connection lost; moving to another node");
        drop(cluster);
        match reconnect(&weak, lost).await {
            Some(e) => events = e,
            None => return,
        }
    }
}

/// Serves the current control connection until it dies (or the cluster is gone).
async fn watch(weak: &Weak<ClusterShared>, events: &mut Events) {
    let mut debounce = Debounce::new(EVENT_DEBOUNCE);
    let Some(conn) = upgrade(weak).and_then(|c| c.control()) else {
        return;
    };
    loop {
        tokio::select! {
            _ = conn.closed() => return,
            event = events.recv() => {
                let Some(event) = event else { return };
                let Some(cluster) = upgrade(weak) else { return };
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::warn!(error = %e, "undecodable event");
                        continue;
                    }
                };
                match on_event(&cluster, &event) {
                    Action::Refresh => debounce.event(Instant::now()),
                    Action::Probe(_) | Action::Note => {}
                }
            }
            _ = debounce.fired() => {
                let Some(cluster) = upgrade(weak) else { return };
                if let Err(e) = cluster.refresh(&conn).await {
                    tracing::warn!(addr = %conn.addr(), error = %e, "topology refresh failed");
                    if e.is_connection() {
                        conn.close();
                        return;
                    }
                }
            }
        }
    }
}

/// Acts on what one event asks that needs no refresh (probes).
fn on_event(cluster: &Cluster, event: &Event) -> Action {
    match classify(event) {
        Action::Probe(advertised) => {
            let addr = cluster.shared.config.translator.translate(advertised);
            match cluster.pool(addr) {
                Some(pool) => {
                    pool.probe_now();
                    Action::Probe(addr)
                }
                // Up, but not ours: a host we ignore, or one we have not read yet.
                None if cluster.view().hosts().iter().any(|h| h.address() == addr) => Action::Note,
                None => Action::Refresh,
            }
        }
        other => other,
    }
}

/// Opens a new control connection: Up hosts first, then the others, the lost node
/// last; when no known host is Up, the contact points are resolved again (the
/// cluster may have moved behind its names) and tried first. Retries with backoff
/// until it succeeds or the cluster is gone.
async fn reconnect(weak: &Weak<ClusterShared>, lost: Option<SocketAddr>) -> Option<Events> {
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    let mut backoff = {
        let cluster = upgrade(weak)?;
        let cfg = &cluster.shared.config.pool;
        Backoff::new(cfg.reconnect_base, cfg.reconnect_max, seed)
    };
    loop {
        let cluster = upgrade(weak)?;
        for addr in candidates(&cluster, lost).await {
            match cluster.open_control(addr).await {
                Ok(events) => return Some(events),
                Err(e) => tracing::debug!(%addr, error = %e, "control connection attempt failed"),
            }
        }
        drop(cluster);
        let delay = backoff.next_delay();
        tracing::warn!(?delay, "no node accepted the control connection; retrying");
        tokio::time::sleep(delay).await;
    }
}

async fn candidates(cluster: &Cluster, lost: Option<SocketAddr>) -> Vec<SocketAddr> {
    let view = cluster.view();
    let (mut up, mut other, mut ignored) = (Vec::new(), Vec::new(), Vec::new());
    for h in view.hosts() {
        let addr = h.address();
        if Some(addr) == lost {
            continue;
        }
        match cluster.state(addr) {
            HostState::Up => up.push(addr),
            HostState::Ignored => ignored.push(addr),
            _ => other.push(addr),
        }
    }
    let mut out = Vec::new();
    if up.is_empty() {
        let cfg = &cluster.shared.config;
        let mut failures = Vec::new();
        out = resolve(&cfg.contact_points, cfg.default_port, &mut failures).await;
        for f in failures {
            tracing::warn!(point = %f.contact_point, error = %f.error, "contact point not resolved");
        }
    }
    for addr in up.into_iter().chain(other).chain(ignored).chain(lost) {
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::response::{SchemaChange, SchemaChangeType};

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, n], 9042))
    }

    #[test]
    fn events_map_to_actions() {
        let topo = |change| Event::TopologyChange {
            change,
            addr: addr(1),
        };
        assert_eq!(
            classify(&topo(TopologyChangeType::NewNode)),
            Action::Refresh
        );
        assert_eq!(
            classify(&topo(TopologyChangeType::RemovedNode)),
            Action::Refresh
        );
        assert_eq!(
            classify(&topo(TopologyChangeType::MovedNode)),
            Action::Refresh
        );
        let status = |change| Event::StatusChange {
            change,
            addr: addr(2),
        };
        assert_eq!(
            classify(&status(StatusChangeType::Up)),
            Action::Probe(addr(2))
        );
        assert_eq!(classify(&status(StatusChangeType::Down)), Action::Note);
        let schema = |target| {
            Event::SchemaChange(SchemaChange {
                change_type: SchemaChangeType::Created,
                target,
            })
        };
        assert_eq!(
            classify(&schema(SchemaChangeTarget::Keyspace {
                keyspace: "ks".into()
            })),
            Action::Refresh
        );
        assert_eq!(
            classify(&schema(SchemaChangeTarget::Table {
                keyspace: "ks".into(),
                table: "t".into()
            })),
            Action::Note
        );
    }

    #[tokio::test(start_paused = true)]
    async fn debounce_coalesces_a_burst_into_one_deadline() {
        let mut d = Debounce::new(Duration::from_millis(500));
        let t0 = Instant::now();
        d.event(t0);
        tokio::time::advance(Duration::from_millis(300)).await;
        d.event(Instant::now()); // inside the window: no new deadline
        assert_eq!(d.due, Some(t0 + Duration::from_millis(500)));
        d.fired().await;
        assert_eq!(Instant::now(), t0 + Duration::from_millis(500));
        assert!(d.due.is_none());
        // Disarmed: waits forever until the next event.
        let never = tokio::time::timeout(Duration::from_secs(60), d.fired()).await;
        assert!(never.is_err());
        d.event(Instant::now());
        let t1 = Instant::now();
        d.fired().await;
        assert_eq!(Instant::now(), t1 + Duration::from_millis(500));
    }
}
