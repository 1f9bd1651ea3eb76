//! Load balancing: the `LoadBalancingPolicy` trait, what a request tells it (`RoutingInfo`),
//! the lazy `QueryPlan` it returns, and the default token-aware, DC-aware, round-robin
//! policy. It reads a `ClusterView`; it never opens connections or tracks health itself.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::host::Host;
use super::partitioner::Token;
use super::view::ClusterView;
use crate::Consistency;

/// How the pool should treat a host: connect fully, sparingly, or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostDistance {
    /// A host in the local data center: full connection pool.
    Local,
    /// A host in another data center the policy may fail over to.
    Remote,
    /// A host this policy never uses: no connections.
    Ignored,
}

/// What a request offers for routing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoutingInfo<'a> {
    /// The keyspace the statement targets, exactly as named in the schema.
    pub keyspace: Option<&'a str>,
    /// The partition's token (Murmur3 of the routing key), when known.
    pub token: Option<Token>,
    /// A lightweight transaction: replicas are tried in ring order, never shuffled, so
    /// concurrent Paxos rounds for a partition meet the same coordinator.
    pub is_lwt: bool,
    /// The statement's consistency, if set; `LOCAL_*` levels keep plans in the local DC.
    pub consistency: Option<Consistency>,
}

impl<'a> RoutingInfo<'a> {
    /// No routing information: plain DC-aware round-robin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the keyspace.
    pub fn with_keyspace(mut self, keyspace: &'a str) -> Self {
        self.keyspace = Some(keyspace);
        self
    }

    /// Sets the token.
    pub fn with_token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// Marks the request as a lightweight transaction.
    pub fn with_lwt(mut self, is_lwt: bool) -> Self {
        self.is_lwt = is_lwt;
        self
    }

    /// Sets the consistency level.
    pub fn with_consistency(mut self, consistency: Consistency) -> Self {
        self.consistency = Some(consistency);
        self
    }
}

/// Chooses, per request, the hosts to try and their order.
pub trait LoadBalancingPolicy: Send + Sync + fmt::Debug {
    /// The hosts to try for one request, best first, each at most once. Plans should be
    /// lazy: most requests only ever look at the first host.
    fn plan<'a>(&'a self, request: &RoutingInfo<'a>, cluster: &'a ClusterView) -> QueryPlan<'a>;

    /// How the connection pool should treat `host`.
    fn distance(&self, host: &Host) -> HostDistance;
}

/// An iterator over the hosts to try for one request.
pub struct QueryPlan<'a>(PlanInner<'a>);

enum PlanInner<'a> {
    Default(DefaultPlan<'a>),
    Boxed(Box<dyn Iterator<Item = &'a Arc<Host>> + Send + 'a>),
}

impl<'a> QueryPlan<'a> {
    /// Wraps any iterator (for custom policies).
    pub fn new(hosts: impl Iterator<Item = &'a Arc<Host>> + Send + 'a) -> Self {
        QueryPlan(PlanInner::Boxed(Box::new(hosts)))
    }
}

impl<'a> Iterator for QueryPlan<'a> {
    type Item = &'a Arc<Host>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            PlanInner::Default(p) => p.next(),
            PlanInner::Boxed(it) => it.next(),
        }
    }
}

impl fmt::Debug for QueryPlan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueryPlan")
    }
}

/// A user predicate: hosts it rejects are never used (`HostDistance::Ignored`).
pub type HostFilter = Arc<dyn Fn(&Host) -> bool + Send + Sync>;

/// The default policy: token-aware, then DC-aware round-robin, avoiding slow nodes.
///
/// A plan is: the token's replicas in the local DC (shuffled; ring order for LWT), then the
/// other local-DC hosts round-robin, then — only if `remote_hosts_per_dc` > 0 and the
/// consistency is not `LOCAL_*` (unless allowed) — up to that many hosts of each remote DC.
/// Hosts the view marks down or the filter rejects are skipped; no host appears twice.
/// Without a local DC every host counts as local.
///
/// Slow nodes: of the first two replicas the shuffle offers, the one with fewer requests
/// outstanding goes first (power of two choices). A host that has had requests
/// outstanding for half a second without a single byte read from it (a frozen or cut-off
/// node) moves to the very end of the plan, behind every responsive host, until it reads
/// again.
pub struct DefaultPolicy {
    local_dc: Option<String>,
    token_aware: bool,
    shuffle_replicas: bool,
    remote_hosts_per_dc: usize,
    remote_for_local_consistency: bool,
    filter: Option<HostFilter>,
    round_robin: AtomicUsize,
    rng: AtomicU64,
}

/// Configures a [`DefaultPolicy`].
pub struct DefaultPolicyBuilder {
    policy: DefaultPolicy,
}

impl DefaultPolicy {
    /// A builder with the defaults: no local DC, token-aware, replicas shuffled, no
    /// remote DCs, no filter.
    pub fn builder() -> DefaultPolicyBuilder {
        DefaultPolicyBuilder {
            policy: DefaultPolicy {
                local_dc: None,
                token_aware: true,
                shuffle_replicas: true,
                remote_hosts_per_dc: 0,
                remote_for_local_consistency: false,
                filter: None,
                round_robin: AtomicUsize::new(0),
                rng: AtomicU64::new(RandomState::new().build_hasher().finish()),
            },
        }
    }

    fn is_local(&self, host: &Host) -> bool {
        self.local_dc
            .as_deref()
            .is_none_or(|dc| host.datacenter() == dc)
    }

    fn accepts(&self, host: &Host) -> bool {
        self.filter.as_ref().is_none_or(|f| f(host))
    }

    /// A fresh random 64-bit value (SplitMix64 over an atomic Weyl sequence).
    fn random(&self) -> u64 {
        splitmix64(self.rng.fetch_add(GOLDEN_GAMMA, Ordering::Relaxed))
    }
}

impl Default for DefaultPolicy {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl DefaultPolicyBuilder {
    /// The local data center: the only one used unless remote DCs are allowed.
    pub fn local_dc(mut self, dc: impl Into<String>) -> Self {
        self.policy.local_dc = Some(dc.into());
        self
    }

    /// Whether replicas of the request's token go first (default true).
    pub fn token_aware(mut self, on: bool) -> Self {
        self.policy.token_aware = on;
        self
    }

    /// Whether replicas are shuffled to spread load (default true; LWTs never are).
    pub fn shuffle_replicas(mut self, on: bool) -> Self {
        self.policy.shuffle_replicas = on;
        self
    }

    /// Allows failing over to at most `n` hosts per remote DC (default 0: never).
    pub fn remote_hosts_per_dc(mut self, n: usize) -> Self {
        self.policy.remote_hosts_per_dc = n;
        self
    }

    /// Whether `LOCAL_*` consistency requests may fail over to remote DCs (default false).
    pub fn remote_for_local_consistency(mut self, on: bool) -> Self {
        self.policy.remote_for_local_consistency = on;
        self
    }

    /// Only hosts for which `filter` returns true are ever used.
    pub fn host_filter(mut self, filter: impl Fn(&Host) -> bool + Send + Sync + 'static) -> Self {
        self.policy.filter = Some(Arc::new(filter));
        self
    }

    #[cfg(test)]
    fn seed(self, seed: u64) -> Self {
        self.policy.rng.store(seed, Ordering::Relaxed);
        self
    }

    /// The configured policy.
    pub fn build(self) -> DefaultPolicy {
        self.policy
    }
}

impl fmt::Debug for DefaultPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultPolicy")
            .field("local_dc", &self.local_dc)
            .field("token_aware", &self.token_aware)
            .field("shuffle_replicas", &self.shuffle_replicas)
            .field("remote_hosts_per_dc", &self.remote_hosts_per_dc)
            .field(
                "remote_for_local_consistency",
                &self.remote_for_local_consistency,
            )
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl fmt::Debug for DefaultPolicyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.policy.fmt(f)
    }
}

impl LoadBalancingPolicy for DefaultPolicy {
    fn plan<'a>(&'a self, request: &RoutingInfo<'a>, cluster: &'a ClusterView) -> QueryPlan<'a> {
        QueryPlan(PlanInner::Default(DefaultPlan::new(self, request, cluster)))
    }

    fn distance(&self, host: &Host) -> HostDistance {
        if !self.accepts(host) {
            HostDistance::Ignored
        } else if self.is_local(host) {
            HostDistance::Local
        } else if self.remote_hosts_per_dc > 0 {
            HostDistance::Remote
        } else {
            HostDistance::Ignored
        }
    }
}

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Up to this many replicas are fully shuffled on the stack; larger sets (EverywhereStrategy)
/// start at a random rotation instead.
const SHUFFLE_MAX: usize = 16;

/// The order in which replica slots are visited, fixed when the plan is created.
enum ReplicaOrder {
    /// Ring order starting at an offset (0 for LWT / no shuffle).
    Rotated(usize),
    /// A permutation of `0..n`, `n <= SHUFFLE_MAX`.
    Shuffled([u8; SHUFFLE_MAX]),
}

impl ReplicaOrder {
    fn new(policy: &DefaultPolicy, n: usize, deterministic: bool) -> Self {
        if deterministic || n < 2 {
            return ReplicaOrder::Rotated(0);
        }
        let mut state = policy.random();
        if n > SHUFFLE_MAX {
            return ReplicaOrder::Rotated((state % n as u64) as usize);
        }
        let mut perm = [0u8; SHUFFLE_MAX];
        for (i, p) in perm.iter_mut().enumerate() {
            *p = i as u8;
        }
        // Fisher-Yates over the first n slots.
        for i in (1..n).rev() {
            state = splitmix64(state);
            let j = (state % (i as u64 + 1)) as usize;
            perm.swap(i, j);
        }
        ReplicaOrder::Shuffled(perm)
    }

    fn slot(&self, k: usize, n: usize) -> usize {
        match self {
            ReplicaOrder::Rotated(r) => (r + k) % n,
            ReplicaOrder::Shuffled(perm) => usize::from(perm[k]),
        }
    }

    /// Power of two choices: of the first two replicas offered (both local, up and
    /// responsive), the one with fewer requests outstanding goes first.
    fn less_busy_first(
        &mut self,
        policy: &DefaultPolicy,
        view: &ClusterView,
        replicas: &[Arc<Host>],
    ) {
        let n = replicas.len();
        if n < 2 || !matches!(self, ReplicaOrder::Shuffled(_)) {
            return;
        }
        let (a, b) = (&replicas[self.slot(0, n)], &replicas[self.slot(1, n)]);
        if !(policy.is_local(a) && policy.is_local(b)) {
            return;
        }
        let (la, lb) = (view.load(a), view.load(b));
        let fit = |l: &crate::pool::HostLoad| l.up && !l.stalled;
        // (A rotation, used past SHUFFLE_MAX replicas, is left as it is.)
        if let ReplicaOrder::Shuffled(perm) = self {
            if fit(&la) && fit(&lb) && lb.outstanding < la.outstanding {
                perm.swap(0, 1);
            }
        }
    }
}

enum Stage {
    Replicas(usize),
    Local(usize),
    Remote {
        dc: usize,
        k: usize,
        taken: usize,
    },
    /// The stalled hosts met on the way, in the order met.
    Deferred(usize),
    Done,
}

/// The default policy's plan: a small state machine that computes one host per `next`.
struct DefaultPlan<'a> {
    policy: &'a DefaultPolicy,
    view: &'a ClusterView,
    replicas: &'a [Arc<Host>],
    order: ReplicaOrder,
    local: &'a [Arc<Host>],
    start: usize,
    remote: bool,
    stage: Stage,
    /// Usable hosts that stalled, with how long each has been silent: offered last,
    /// the most recently heard from first (allocated only when one is met).
    deferred: Vec<(&'a Arc<Host>, std::time::Duration)>,
}

impl<'a> DefaultPlan<'a> {
    fn new(policy: &'a DefaultPolicy, req: &RoutingInfo<'a>, view: &'a ClusterView) -> Self {
        let replicas = match (policy.token_aware, req.keyspace, req.token) {
            (true, Some(ks), Some(token)) => view.replicas(ks, token),
            _ => &[],
        };
        let deterministic = req.is_lwt || !policy.shuffle_replicas;
        let local_consistency = matches!(
            req.consistency,
            Some(Consistency::LocalOne | Consistency::LocalQuorum | Consistency::LocalSerial)
        );
        let (local, remote) = match &policy.local_dc {
            None => (view.hosts(), false),
            Some(dc) => (
                view.hosts_in_dc(dc),
                policy.remote_hosts_per_dc > 0
                    && (!local_consistency || policy.remote_for_local_consistency),
            ),
        };
        let mut order = ReplicaOrder::new(policy, replicas.len(), deterministic);
        if !deterministic {
            order.less_busy_first(policy, view, replicas);
        }
        DefaultPlan {
            policy,
            view,
            replicas,
            order,
            local,
            start: policy.round_robin.fetch_add(1, Ordering::Relaxed),
            remote,
            stage: Stage::Replicas(0),
            deferred: Vec::new(),
        }
    }

    /// Whether to offer `host` now: usable and responsive. A usable host that stalled
    /// is kept for the end of the plan.
    fn offer(&mut self, host: &'a Arc<Host>) -> bool {
        if !self.policy.accepts(host) {
            return false;
        }
        let load = self.view.load(host);
        if load.up && load.stalled {
            self.deferred.push((host, load.silent_for));
            return false;
        }
        load.up
    }

    fn is_replica(&self, host: &Host) -> bool {
        self.replicas.iter().any(|r| r.id() == host.id())
    }
}

impl<'a> Iterator for DefaultPlan<'a> {
    type Item = &'a Arc<Host>;

    fn next(&mut self) -> Option<&'a Arc<Host>> {
        loop {
            match self.stage {
                Stage::Replicas(k) => {
                    let n = self.replicas.len();
                    if k >= n {
                        self.stage = Stage::Local(0);
                        continue;
                    }
                    self.stage = Stage::Replicas(k + 1);
                    let host = &self.replicas[self.order.slot(k, n)];
                    if self.policy.is_local(host) && self.offer(host) {
                        return Some(host);
                    }
                }
                Stage::Local(k) => {
                    let n = self.local.len();
                    if k >= n {
                        self.stage = if self.remote {
                            Stage::Remote {
                                dc: 0,
                                k: 0,
                                taken: 0,
                            }
                        } else {
                            Stage::Deferred(0)
                        };
                        continue;
                    }
                    self.stage = Stage::Local(k + 1);
                    let host = &self.local[(self.start + k) % n];
                    // Local replicas were offered in the first stage.
                    if !self.is_replica(host) && self.offer(host) {
                        return Some(host);
                    }
                }
                Stage::Remote { dc, k, taken } => {
                    let groups = self.view.datacenter_groups();
                    let Some((name, hosts)) = groups.get(dc) else {
                        self.stage = Stage::Deferred(0);
                        continue;
                    };
                    let next_dc = Stage::Remote {
                        dc: dc + 1,
                        k: 0,
                        taken: 0,
                    };
                    let local = self.policy.local_dc.as_deref() == Some(name.as_str());
                    if local || k >= hosts.len() || taken >= self.policy.remote_hosts_per_dc {
                        self.stage = next_dc;
                        continue;
                    }
                    let host = &hosts[(self.start + k) % hosts.len()];
                    if self.offer(host) {
                        self.stage = Stage::Remote {
                            dc,
                            k: k + 1,
                            taken: taken + 1,
                        };
                        return Some(host);
                    }
                    self.stage = Stage::Remote {
                        dc,
                        k: k + 1,
                        taken,
                    };
                }
                Stage::Deferred(i) => {
                    if i == 0 {
                        // Stable: equal silences keep the plan's order.
                        self.deferred.sort_by_key(|(_, silent)| *silent);
                    }
                    let Some((host, _)) = self.deferred.get(i) else {
                        self.stage = Stage::Done;
                        continue;
                    };
                    self.stage = Stage::Deferred(i + 1);
                    return Some(host);
                }
                Stage::Done => return None,
            }
        }
    }
}

#[cfg(test)]
#[path = "load_balancing_tests.rs"]
mod tests;
