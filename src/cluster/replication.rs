//! Replication strategies parsed from `system_schema.keyspaces.replication`, and replica
//! placement on a `TokenRing` for each of them, precomputed per ring entry so lookups on
//! the request path are a binary search plus a slice. Caching per keyspace is `view.rs`'s.

use std::collections::HashMap;
use std::sync::Arc;

use super::host::Host;
use super::token_ring::TokenRing;

/// How a keyspace places its replicas.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub(crate) enum ReplicationStrategy {
    /// `SimpleStrategy`: the next `replication_factor` distinct hosts clockwise.
    Simple {
        /// Total replicas (transient ones included).
        replication_factor: usize,
    },
    /// `NetworkTopologyStrategy`: a factor per data center, sorted by DC name.
    NetworkTopology {
        /// `(datacenter, total replicas)`, sorted by name, factors > 0 only.
        datacenters: Vec<(String, usize)>,
    },
    /// `LocalStrategy` (system keyspaces): every node holds its own data; no replicas.
    Local,
    /// `EverywhereStrategy` (DSE): every node is a replica.
    Everywhere,
    /// A class this driver does not know; requests are not token-routed.
    Other {
        /// The `class` option as the server reported it.
        class: String,
    },
}

/// Why a replication map could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReplicationError {
    /// The map has no `class` entry.
    #[error("replication options have no 'class'")]
    MissingClass,
    /// `SimpleStrategy` without `replication_factor`.
    #[error("SimpleStrategy without 'replication_factor'")]
    MissingFactor,
    /// A factor is neither `N` nor `N/T` (transient replication).
    #[error("replication option {option:?} = {value:?} is not a replication factor")]
    InvalidFactor {
        /// The option name (`replication_factor` or a DC name).
        option: String,
        /// Its value.
        value: String,
    },
}

/// Parses `N` or Cassandra's transient syntax `N/T` (N counts all replicas, T of which
/// are transient; see `ReplicationFactor.fromString`). Routing needs N.
fn parse_factor(option: &str, value: &str) -> Result<usize, ReplicationError> {
    let all = value.split_once('/').map_or(value, |(all, _)| all);
    all.trim()
        .parse::<usize>()
        .map_err(|_| ReplicationError::InvalidFactor {
            option: option.to_owned(),
            value: value.to_owned(),
        })
}

impl ReplicationStrategy {
    /// Parses a `replication` map (`{'class': '...SimpleStrategy', 'replication_factor':
    /// '3'}`). The class may be fully qualified or short.
    pub(crate) fn from_options<'a>(
        options: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ReplicationError> {
        let options: Vec<(&str, &str)> = options.into_iter().collect();
        let class = options
            .iter()
            .find(|(k, _)| *k == "class")
            .map(|(_, v)| *v)
            .ok_or(ReplicationError::MissingClass)?;
        let short = class.rsplit('.').next().unwrap_or(class);
        Ok(match short {
            "SimpleStrategy" => {
                let (k, v) = options
                    .iter()
                    .find(|(k, _)| *k == "replication_factor")
                    .ok_or(ReplicationError::MissingFactor)?;
                ReplicationStrategy::Simple {
                    replication_factor: parse_factor(k, v)?,
                }
            }
            "NetworkTopologyStrategy" => {
                let mut datacenters = Vec::new();
                // Schema tables hold the expanded per-DC map; a stray 'replication_factor'
                // (only valid in CREATE/ALTER statements) is not a DC.
                for (k, v) in options
                    .iter()
                    .filter(|(k, _)| *k != "class" && *k != "replication_factor")
                {
                    let rf = parse_factor(k, v)?;
                    if rf > 0 {
                        datacenters.push(((*k).to_owned(), rf));
                    }
                }
                datacenters.sort();
                ReplicationStrategy::NetworkTopology { datacenters }
            }
            "LocalStrategy" => ReplicationStrategy::Local,
            "EverywhereStrategy" => ReplicationStrategy::Everywhere,
            _ => ReplicationStrategy::Other {
                class: class.to_owned(),
            },
        })
    }

    /// Replicas for every ring entry, or `None` when this strategy has no token-based
    /// placement (`Local`, `Other`) or the ring is empty.
    pub(crate) fn compute(&self, ring: &TokenRing) -> Option<ReplicaMap> {
        if ring.is_empty() {
            return None;
        }
        let mut builder = Builder::new(ring);
        match self {
            ReplicationStrategy::Simple { replication_factor } => {
                for i in 0..ring.len() {
                    builder.simple(i, *replication_factor);
                }
            }
            ReplicationStrategy::Everywhere => {
                for i in 0..ring.len() {
                    builder.simple(i, usize::MAX);
                }
            }
            ReplicationStrategy::NetworkTopology { datacenters } => {
                let topo = DcTopology::new(ring, datacenters);
                for i in 0..ring.len() {
                    builder.network_topology(i, &topo);
                }
            }
            ReplicationStrategy::Local | ReplicationStrategy::Other { .. } => return None,
        }
        Some(builder.finish())
    }
}

/// Replicas of each ring entry, primary first, flattened into one vector.
#[derive(Debug, Default)]
pub(crate) struct ReplicaMap {
    /// `offsets[i]..offsets[i + 1]` is entry `i`'s slice of `flat`.
    offsets: Vec<usize>,
    flat: Vec<Arc<Host>>,
}

impl ReplicaMap {
    /// The replicas of ring entry `i` (see `TokenRing::entry_index`), primary first.
    pub(crate) fn replicas_at(&self, i: usize) -> &[Arc<Host>] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.flat[a..b],
            _ => &[],
        }
    }
}

/// Per-owner facts NetworkTopologyStrategy needs, computed once per map.
struct DcTopology {
    /// Per owner: its DC's slot in the strategy (None: DC not replicated).
    slot: Vec<Option<usize>>,
    /// Per owner: an id for its (dc, rack) pair.
    rack: Vec<usize>,
    rack_count: usize,
    /// Per slot: (replicas wanted, capped at the DC's node count; racks in the DC).
    want: Vec<(usize, usize, usize)>,
}

impl DcTopology {
    fn new(ring: &TokenRing, datacenters: &[(String, usize)]) -> Self {
        let owners = ring.owners();
        let mut rack_ids: HashMap<(&str, &str), usize> = HashMap::new();
        let mut nodes = vec![0usize; datacenters.len()];
        let mut racks_per_slot: Vec<Vec<usize>> = vec![Vec::new(); datacenters.len()];
        let mut slot = Vec::with_capacity(owners.len());
        let mut rack = Vec::with_capacity(owners.len());
        for h in owners {
            let next = rack_ids.len();
            let r = *rack_ids
                .entry((h.datacenter.as_str(), h.rack.as_str()))
                .or_insert(next);
            let s = datacenters
                .binary_search_by(|(dc, _)| dc.as_str().cmp(&h.datacenter))
                .ok();
            if let Some(s) = s {
                nodes[s] += 1;
                if !racks_per_slot[s].contains(&r) {
                    racks_per_slot[s].push(r);
                }
            }
            slot.push(s);
            rack.push(r);
        }
        let want = datacenters
            .iter()
            .enumerate()
            .map(|(s, (_, rf))| (*rf, nodes[s], racks_per_slot[s].len()))
            .collect();
        DcTopology {
            slot,
            rack,
            rack_count: rack_ids.len(),
            want,
        }
    }
}

/// Accumulates a `ReplicaMap`, reusing scratch "seen" stamps across entries.
struct Builder<'r> {
    ring: &'r TokenRing,
    map: ReplicaMap,
    host_seen: Vec<usize>,
    rack_seen: Vec<usize>,
    /// Per slot scratch: (replicas left, rack repeats still acceptable).
    dc_left: Vec<(usize, isize)>,
    generation: usize,
}

impl<'r> Builder<'r> {
    fn new(ring: &'r TokenRing) -> Self {
        Builder {
            ring,
            map: ReplicaMap {
                offsets: vec![0],
                flat: Vec::new(),
            },
            host_seen: vec![0; ring.owners().len()],
            rack_seen: Vec::new(),
            dc_left: Vec::new(),
            generation: 0,
        }
    }

    fn push(&mut self, owner: usize) {
        self.host_seen[owner] = self.generation;
        self.map.flat.push(Arc::clone(&self.ring.owners()[owner]));
    }

    fn end_entry(&mut self) {
        self.map.offsets.push(self.map.flat.len());
    }

    /// SimpleStrategy (and Everywhere with `rf = usize::MAX`): distinct owners clockwise
    /// from entry `i` until `rf` are found or the ring is exhausted.
    fn simple(&mut self, i: usize, rf: usize) {
        self.generation += 1;
        let want = rf.min(self.ring.owners().len());
        let mut found = 0;
        for owner in self.ring.walk_from(i) {
            if found == want {
                break;
            }
            if self.host_seen[owner] != self.generation {
                self.push(owner);
                found += 1;
            }
        }
        self.end_entry();
    }

    /// Cassandra's `NetworkTopologyStrategy.calculateNaturalReplicas`: one clockwise pass;
    /// per DC, a host on a rack not yet used is taken; a host on a used rack is taken only
    /// while `rf - racks_in_dc` repeats remain; each DC wants `min(rf, nodes_in_dc)`.
    fn network_topology(&mut self, i: usize, topo: &DcTopology) {
        self.generation += 1;
        if self.rack_seen.len() < topo.rack_count {
            self.rack_seen.resize(topo.rack_count, 0);
        }
        self.dc_left.clear();
        let mut dcs_to_fill = 0;
        for &(rf, nodes, racks) in &topo.want {
            let left = rf.min(nodes);
            if left > 0 {
                dcs_to_fill += 1;
            }
            let repeats = isize::try_from(rf).unwrap_or(isize::MAX)
                - isize::try_from(racks).unwrap_or(isize::MAX);
            self.dc_left.push((left, repeats));
        }
        for owner in self.ring.walk_from(i) {
            if dcs_to_fill == 0 {
                break;
            }
            let Some(s) = topo.slot[owner] else { continue };
            let (left, repeats) = self.dc_left[s];
            if left == 0 || self.host_seen[owner] == self.generation {
                continue;
            }
            let rack = topo.rack[owner];
            if self.rack_seen[rack] != self.generation {
                self.rack_seen[rack] = self.generation;
                self.dc_left[s].0 -= 1;
            } else if repeats > 0 {
                self.dc_left[s] = (left - 1, repeats - 1);
            } else {
                continue;
            }
            self.push(owner);
            if self.dc_left[s].0 == 0 {
                dcs_to_fill -= 1;
            }
        }
        self.end_entry();
    }

    fn finish(self) -> ReplicaMap {
        self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::host::tests::host;
    use crate::cluster::partitioner::Token;
    use crate::cluster::token_ring::tests::{T1, T2, T3};

    fn ids(hosts: &[Arc<Host>]) -> Vec<u8> {
        hosts.iter().map(|h| h.id().0[15]).collect()
    }

    fn replicas_of(map: &ReplicaMap, ring: &TokenRing, t: i64) -> Vec<u8> {
        ids(map.replicas_at(ring.entry_index(Token::new(t)).unwrap()))
    }

    fn strategy(opts: &[(&str, &str)]) -> Result<ReplicationStrategy, ReplicationError> {
        ReplicationStrategy::from_options(opts.iter().copied())
    }

    #[test]
    fn parses_schema_replication_maps() {
        assert_eq!(
            strategy(&[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", "3")
            ]),
            Ok(ReplicationStrategy::Simple {
                replication_factor: 3
            })
        );
        assert_eq!(
            strategy(&[
                (
                    "class",
                    "org.apache.cassandra.locator.NetworkTopologyStrategy"
                ),
                ("dc2", "2"),
                ("dc1", "3/1"),
                ("dc3", "0"),
            ]),
            Ok(ReplicationStrategy::NetworkTopology {
                datacenters: vec![("dc1".into(), 3), ("dc2".into(), 2)]
            })
        );
        assert_eq!(
            strategy(&[("class", "org.apache.cassandra.locator.LocalStrategy")]),
            Ok(ReplicationStrategy::Local)
        );
        assert_eq!(
            strategy(&[("class", "EverywhereStrategy")]),
            Ok(ReplicationStrategy::Everywhere)
        );
        assert_eq!(
            strategy(&[("class", "com.example.Custom")]),
            Ok(ReplicationStrategy::Other {
                class: "com.example.Custom".into()
            })
        );
    }

    #[test]
    fn rejects_bad_replication_maps() {
        assert_eq!(
            strategy(&[("replication_factor", "3")]),
            Err(ReplicationError::MissingClass)
        );
        assert_eq!(
            strategy(&[("class", "SimpleStrategy")]),
            Err(ReplicationError::MissingFactor)
        );
        assert!(matches!(
            strategy(&[("class", "SimpleStrategy"), ("replication_factor", "three")]),
            Err(ReplicationError::InvalidFactor { .. })
        ));
        assert!(matches!(
            strategy(&[("class", "NetworkTopologyStrategy"), ("dc1", "-1")]),
            Err(ReplicationError::InvalidFactor { .. })
        ));
    }

    fn three_node_ring() -> TokenRing {
        TokenRing::new(&[
            host(1, "dc1", "r1", &[T1]),
            host(2, "dc1", "r1", &[T2]),
            host(3, "dc1", "r1", &[T3]),
        ])
    }

    #[test]
    fn simple_strategy_rf_1_2_3_on_the_test_cluster_ring() {
        let ring = three_node_ring();
        let rf = |n| {
            ReplicationStrategy::Simple {
                replication_factor: n,
            }
            .compute(&ring)
            .unwrap()
        };
        let (m1, m2, m3, m5) = (rf(1), rf(2), rf(3), rf(5));
        // Token 0 falls in (T2, T3]: node 3 is primary, then wrap to 1, then 2.
        assert_eq!(replicas_of(&m1, &ring, 0), vec![3]);
        assert_eq!(replicas_of(&m2, &ring, 0), vec![3, 1]);
        assert_eq!(replicas_of(&m3, &ring, 0), vec![3, 1, 2]);
        assert_eq!(replicas_of(&m2, &ring, T1), vec![1, 2]);
        assert_eq!(replicas_of(&m2, &ring, T1 + 1), vec![2, 3]);
        assert_eq!(replicas_of(&m3, &ring, T3 + 1), vec![1, 2, 3]);
        // RF above the node count is capped, never duplicated.
        assert_eq!(replicas_of(&m5, &ring, 0), vec![3, 1, 2]);
    }

    #[test]
    fn simple_strategy_skips_repeated_owners_with_vnodes() {
        let ring = TokenRing::new(&[
            host(1, "dc1", "r1", &[0, 10]),
            host(2, "dc1", "r1", &[20]),
            host(3, "dc1", "r1", &[30]),
        ]);
        let map = ReplicationStrategy::Simple {
            replication_factor: 2,
        }
        .compute(&ring)
        .unwrap();
        assert_eq!(replicas_of(&map, &ring, -5), vec![1, 2]); // 0 and 10 both node 1
    }

    /// Two DCs, three racks each, tokens interleaved so that rack choice matters.
    fn two_dc_ring() -> TokenRing {
        TokenRing::new(&[
            host(1, "dc1", "a", &[0]),
            host(2, "dc1", "a", &[10]),
            host(3, "dc1", "b", &[20]),
            host(4, "dc1", "c", &[30]),
            host(5, "dc1", "b", &[40]),
            host(6, "dc1", "c", &[50]),
            host(11, "dc2", "x", &[5]),
            host(12, "dc2", "y", &[15]),
            host(13, "dc2", "y", &[25]),
            host(14, "dc2", "z", &[35]),
        ])
    }

    fn nts(dcs: &[(&str, usize)]) -> ReplicationStrategy {
        ReplicationStrategy::NetworkTopology {
            datacenters: dcs.iter().map(|(d, n)| ((*d).to_owned(), *n)).collect(),
        }
    }

    #[test]
    fn nts_prefers_distinct_racks_per_dc() {
        let ring = two_dc_ring();
        let map = nts(&[("dc1", 3), ("dc2", 2)]).compute(&ring).unwrap();
        // From token 0: 1(a) 11(x) 2(a: skip, racks enough) 12(y) -> dc2 done,
        // 3(b) 4(c) -> dc1 done. Order is clockwise discovery order.
        assert_eq!(replicas_of(&map, &ring, 0), vec![1, 11, 12, 3, 4]);
        // From token 26 (entry 30): 4(c) 14(z) 5(b) 6(c: rack used, no repeats) 1(a) 11(x).
        assert_eq!(replicas_of(&map, &ring, 26), vec![4, 14, 5, 1, 11]);
        // From token 21 (entry 25, a dc2 host): 13(y) 4(c) 14(z) 5(b) 6(c: skip) 1(a).
        assert_eq!(replicas_of(&map, &ring, 21), vec![13, 4, 14, 5, 1]);
    }

    #[test]
    fn nts_takes_rack_repeats_first_come_when_racks_are_fewer_than_rf() {
        let ring = two_dc_ring();
        // dc1 has 3 racks and RF 4: one repeat allowed, given to the first repeated-rack
        // host met (2, rack a), after which only new racks are accepted.
        let map = nts(&[("dc1", 4)]).compute(&ring).unwrap();
        assert_eq!(replicas_of(&map, &ring, 0), vec![1, 2, 3, 4]);
        // dc2 has 4 nodes on 3 racks, RF 4 takes all of them.
        let map = nts(&[("dc2", 4)]).compute(&ring).unwrap();
        assert_eq!(replicas_of(&map, &ring, 16), vec![13, 14, 11, 12]);
        // RF above the DC's node count is capped at the node count.
        let map = nts(&[("dc2", 9)]).compute(&ring).unwrap();
        assert_eq!(replicas_of(&map, &ring, 0).len(), 4);
    }

    #[test]
    fn nts_ignores_unknown_dcs_and_strategies_without_placement() {
        let ring = two_dc_ring();
        let map = nts(&[("dc9", 3)]).compute(&ring).unwrap();
        assert!(replicas_of(&map, &ring, 0).is_empty());
        assert!(ReplicationStrategy::Local.compute(&ring).is_none());
        let everywhere = ReplicationStrategy::Everywhere.compute(&ring).unwrap();
        assert_eq!(replicas_of(&everywhere, &ring, 0).len(), 10);
        assert!(ReplicationStrategy::Everywhere
            .compute(&TokenRing::default())
            .is_none());
    }
}
