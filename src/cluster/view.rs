//! `ClusterView`: one immutable snapshot of what load balancing needs — hosts by DC, the
//! token ring, each keyspace's replication with lazily computed replica maps — plus a live
//! up/down predicate. The topology layer builds a new view on change; it does no I/O.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use super::host::Host;
use super::partitioner::Token;
use super::replication::{ReplicaMap, ReplicationStrategy};
use super::token_ring::TokenRing;
use crate::pool::HostLoad;

/// Answers "may a request be sent to this host now, and how is it doing?" (the pool
/// layer's live state: up or down, outstanding requests, stalled).
pub(crate) type LoadProbe = Arc<dyn Fn(&Host) -> HostLoad + Send + Sync>;

/// A probe from a plain up/down predicate (no load, never stalled): for tests and
/// views without pools.
#[cfg(test)]
pub(crate) fn up_only(is_up: impl Fn(&Host) -> bool + Send + Sync + 'static) -> LoadProbe {
    Arc::new(move |h: &Host| HostLoad {
        up: is_up(h),
        ..HostLoad::default()
    })
}

struct Keyspace {
    strategy: ReplicationStrategy,
    replicas: OnceLock<Option<Arc<ReplicaMap>>>,
}

/// A snapshot of the cluster as load-balancing policies see it.
///
/// Built by the topology layer; cheap to query on every request: replica lookup is a hash
/// lookup, a binary search and a borrowed slice, with no allocation once the keyspace's
/// replica map has been computed (on its first use; keyspaces with the same replication
/// share one map).
pub struct ClusterView {
    hosts: Vec<Arc<Host>>,
    /// Sorted by DC name.
    datacenters: Vec<(String, Vec<Arc<Host>>)>,
    ring: TokenRing,
    keyspaces: HashMap<String, Keyspace>,
    shared: Mutex<HashMap<ReplicationStrategy, Option<Arc<ReplicaMap>>>>,
    probe: LoadProbe,
}

impl ClusterView {
    /// Builds a view. `hosts` should list each node once (the ring keeps the first claimant
    /// of a duplicated token); `keyspaces` maps keyspace names, exactly as in
    /// `system_schema.keyspaces`, to their parsed replication; `probe` is consulted lazily,
    /// each time a plan considers a host.
    pub(crate) fn new(
        hosts: Vec<Arc<Host>>,
        keyspaces: impl IntoIterator<Item = (String, ReplicationStrategy)>,
        probe: LoadProbe,
    ) -> Self {
        let ring = TokenRing::new(&hosts);
        let mut datacenters: Vec<(String, Vec<Arc<Host>>)> = Vec::new();
        for h in &hosts {
            match datacenters.binary_search_by(|(dc, _)| dc.as_str().cmp(h.datacenter())) {
                Ok(i) => datacenters[i].1.push(Arc::clone(h)),
                Err(i) => datacenters.insert(i, (h.datacenter.clone(), vec![Arc::clone(h)])),
            }
        }
        let keyspaces = keyspaces
            .into_iter()
            .map(|(name, strategy)| {
                let ks = Keyspace {
                    strategy,
                    replicas: OnceLock::new(),
                };
                (name, ks)
            })
            .collect();
        ClusterView {
            hosts,
            datacenters,
            ring,
            keyspaces,
            shared: Mutex::new(HashMap::new()),
            probe,
        }
    }

    /// Every known host.
    pub fn hosts(&self) -> &[Arc<Host>] {
        &self.hosts
    }

    /// Names of the data centers with at least one host, sorted.
    pub fn datacenters(&self) -> impl Iterator<Item = &str> + '_ {
        self.datacenters.iter().map(|(dc, _)| dc.as_str())
    }

    /// The hosts of data center `dc` (empty when unknown).
    pub fn hosts_in_dc(&self, dc: &str) -> &[Arc<Host>] {
        match self
            .datacenters
            .binary_search_by(|(name, _)| name.as_str().cmp(dc))
        {
            Ok(i) => &self.datacenters[i].1,
            Err(_) => &[],
        }
    }

    pub(crate) fn datacenter_groups(&self) -> &[(String, Vec<Arc<Host>>)] {
        &self.datacenters
    }

    /// Whether the host may receive requests now, per the connection pool's health state.
    pub fn is_up(&self, host: &Host) -> bool {
        (self.probe)(host).up
    }

    /// The host's live state (up, outstanding requests, stalled), for plans.
    pub(crate) fn load(&self, host: &Host) -> HostLoad {
        (self.probe)(host)
    }

    /// The host whose token range contains `token`.
    pub fn primary(&self, token: Token) -> Option<&Arc<Host>> {
        self.ring.primary(token)
    }

    /// The replicas of `token` in `keyspace`, primary first then clockwise (per DC rules for
    /// NetworkTopologyStrategy). Empty when the keyspace is unknown, its strategy has no
    /// token placement (LocalStrategy, unknown classes) or no host owns a token.
    pub fn replicas(&self, keyspace: &str, token: Token) -> &[Arc<Host>] {
        let Some(ks) = self.keyspaces.get(keyspace) else {
            return &[];
        };
        let map = ks.replicas.get_or_init(|| self.replica_map(&ks.strategy));
        match (map, self.ring.entry_index(token)) {
            (Some(map), Some(i)) => map.replicas_at(i),
            _ => &[],
        }
    }

    /// The replica map for a strategy, shared by all keyspaces that use it.
    fn replica_map(&self, strategy: &ReplicationStrategy) -> Option<Arc<ReplicaMap>> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared
            .entry(strategy.clone())
            .or_insert_with(|| strategy.compute(&self.ring).map(Arc::new))
            .clone()
    }
}

impl fmt::Debug for ClusterView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterView")
            .field("hosts", &self.hosts.len())
            .field("datacenters", &self.datacenters().collect::<Vec<_>>())
            .field("tokens", &self.ring.len())
            .field("keyspaces", &self.keyspaces.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::host::tests::host;
    use crate::cluster::token_ring::tests::{T1, T2, T3};

    fn ids(hosts: &[Arc<Host>]) -> Vec<u8> {
        hosts.iter().map(|h| h.id().0[15]).collect()
    }

    fn view() -> ClusterView {
        let hosts = vec![
            host(1, "dc1", "r1", &[T1]),
            host(2, "dc1", "r1", &[T2]),
            host(3, "dc1", "r1", &[T3]),
            host(4, "dc2", "r1", &[]),
        ];
        let simple = |n| ReplicationStrategy::Simple {
            replication_factor: n,
        };
        ClusterView::new(
            hosts,
            [
                ("ks2".to_owned(), simple(2)),
                ("ks2b".to_owned(), simple(2)),
                ("sys".to_owned(), ReplicationStrategy::Local),
            ],
            up_only(|h: &Host| h.id().0[15] != 2),
        )
    }

    #[test]
    fn groups_hosts_by_dc_and_reports_health() {
        let v = view();
        assert_eq!(v.datacenters().collect::<Vec<_>>(), vec!["dc1", "dc2"]);
        assert_eq!(ids(v.hosts_in_dc("dc1")), vec![1, 2, 3]);
        assert_eq!(ids(v.hosts_in_dc("dc2")), vec![4]);
        assert!(v.hosts_in_dc("dc9").is_empty());
        assert!(v.is_up(&v.hosts()[0]));
        assert!(!v.is_up(&v.hosts()[1]));
        assert_eq!(v.primary(Token::new(0)).map(|h| h.id().0[15]), Some(3));
    }

    #[test]
    fn replicas_per_keyspace_with_shared_maps() {
        let v = view();
        assert_eq!(ids(v.replicas("ks2", Token::new(0))), vec![3, 1]);
        assert_eq!(ids(v.replicas("ks2b", Token::new(T1 + 1))), vec![2, 3]);
        assert!(v.replicas("sys", Token::new(0)).is_empty());
        assert!(v.replicas("nope", Token::new(0)).is_empty());
        // Two keyspaces with equal replication computed one map.
        let shared = v.shared.lock().unwrap();
        assert_eq!(shared.len(), 2); // Simple{2} and Local
        let a = v.keyspaces["ks2"].replicas.get().unwrap().as_ref().unwrap();
        let b = v.keyspaces["ks2b"]
            .replicas
            .get()
            .unwrap()
            .as_ref()
            .unwrap();
        assert!(Arc::ptr_eq(a, b));
    }
}
