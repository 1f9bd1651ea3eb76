//! Unit tests for `load_balancing.rs`: plan order (replicas, local, remote), uniqueness,
//! filters, down hosts, round-robin rotation, LWT determinism and laziness.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;
use crate::cluster::host::tests::host;
use crate::cluster::replication::ReplicationStrategy;
use crate::cluster::token_ring::tests::{T1, T2, T3};

/// dc1: hosts 1,2,3 (racks a,b,c) on the test cluster tokens; dc2: hosts 4,5.
/// Ring: T1(1) T2(2) -1000(4) 1000(5) T3(3). Keyspace `ks`: NTS {dc1: 2, dc2: 1}, so the
/// replicas of token 0 (entry 1000) are [5, 3, 1].
fn hosts() -> Vec<Arc<Host>> {
    vec![
        host(1, "dc1", "a", &[T1]),
        host(2, "dc1", "b", &[T2]),
        host(3, "dc1", "c", &[T3]),
        host(4, "dc2", "a", &[-1000]),
        host(5, "dc2", "b", &[1000]),
    ]
}

fn view_with(is_up: impl Fn(&Host) -> bool + Send + Sync + 'static) -> ClusterView {
    let nts = ReplicationStrategy::NetworkTopology {
        datacenters: vec![("dc1".into(), 2), ("dc2".into(), 1)],
    };
    ClusterView::new(
        hosts(),
        [("ks".to_owned(), nts)],
        crate::cluster::view::up_only(is_up),
    )
}

fn view() -> ClusterView {
    view_with(|_| true)
}

fn n(h: &Arc<Host>) -> u8 {
    h.id().0[15]
}

fn ids(plan: QueryPlan<'_>) -> Vec<u8> {
    plan.map(n).collect()
}

fn routed() -> RoutingInfo<'static> {
    RoutingInfo::new()
        .with_keyspace("ks")
        .with_token(Token::new(0))
}

fn dc1() -> DefaultPolicyBuilder {
    DefaultPolicy::builder().local_dc("dc1").seed(7)
}

#[test]
fn view_replicas_are_as_documented() {
    let v = view();
    let r: Vec<u8> = v.replicas("ks", Token::new(0)).iter().map(n).collect();
    assert_eq!(r, vec![5, 3, 1]);
}

#[test]
fn local_replicas_first_then_local_dc_and_no_remote_by_default() {
    let (v, p) = (view(), dc1().build());
    for _ in 0..10 {
        let plan = ids(p.plan(&routed(), &v));
        assert_eq!(plan.len(), 3, "{plan:?}");
        let first: HashSet<u8> = plan[..2].iter().copied().collect();
        assert_eq!(first, HashSet::from([1, 3]));
        assert_eq!(plan[2], 2);
    }
}

#[test]
fn remote_dcs_come_after_local_and_respect_the_per_dc_cap() {
    let v = view();
    let one = dc1().remote_hosts_per_dc(1).build();
    let plan = ids(one.plan(&routed(), &v));
    assert_eq!(plan.len(), 4);
    assert!(plan[..3].iter().all(|h| [1, 2, 3].contains(h)));
    assert!([4, 5].contains(&plan[3]));
    let two = dc1().remote_hosts_per_dc(2).build();
    let plan = ids(two.plan(&routed(), &v));
    assert_eq!(plan.len(), 5);
    let tail: HashSet<u8> = plan[3..].iter().copied().collect();
    assert_eq!(tail, HashSet::from([4, 5]));
}

#[test]
fn local_consistency_stays_in_the_local_dc_unless_allowed() {
    let v = view();
    let req = routed().with_consistency(Consistency::LocalQuorum);
    let p = dc1().remote_hosts_per_dc(2).build();
    assert_eq!(p.plan(&req, &v).count(), 3);
    let p = dc1()
        .remote_hosts_per_dc(2)
        .remote_for_local_consistency(true)
        .build();
    assert_eq!(p.plan(&req, &v).count(), 5);
    let quorum = routed().with_consistency(Consistency::Quorum);
    assert_eq!(
        dc1()
            .remote_hosts_per_dc(2)
            .build()
            .plan(&quorum, &v)
            .count(),
        5
    );
}

#[test]
fn no_host_appears_twice_for_any_token() {
    let v = view();
    let p = dc1().remote_hosts_per_dc(5).build();
    let no_dc = DefaultPolicy::builder().seed(3).build();
    for t in [i64::MIN, T1 + 1, -1000, -999, 0, 1000, T3, T3 + 1, i64::MAX] {
        for policy in [&p, &no_dc] {
            let req = routed().with_token(Token::new(t));
            let plan = ids(policy.plan(&req, &v));
            let unique: HashSet<u8> = plan.iter().copied().collect();
            assert_eq!(unique.len(), plan.len(), "token {t}: {plan:?}");
            assert_eq!(plan.len(), 5, "token {t}: {plan:?}");
        }
    }
}

#[test]
fn without_local_dc_every_host_is_local_and_all_replicas_lead() {
    let (v, p) = (view(), DefaultPolicy::builder().seed(1).build());
    let plan = ids(p.plan(&routed(), &v));
    let first: HashSet<u8> = plan[..3].iter().copied().collect();
    assert_eq!(first, HashSet::from([5, 3, 1]));
    assert_eq!(plan.len(), 5);
    assert_eq!(p.distance(&v.hosts()[4]), HostDistance::Local);
}

#[test]
fn lwt_keeps_ring_order_while_others_are_shuffled() {
    let (v, p) = (view(), dc1().build());
    let lwt = routed().with_lwt(true);
    for _ in 0..20 {
        assert_eq!(ids(p.plan(&lwt, &v)), vec![3, 1, 2]);
    }
    let firsts: HashSet<u8> = (0..64)
        .map(|_| n(p.plan(&routed(), &v).next().unwrap()))
        .collect();
    assert_eq!(firsts, HashSet::from([1, 3]));
    let fixed = dc1().shuffle_replicas(false).build();
    assert_eq!(ids(fixed.plan(&routed(), &v)), vec![3, 1, 2]);
}

#[test]
fn filter_is_respected_and_makes_hosts_ignored() {
    let v = view();
    let p = dc1()
        .remote_hosts_per_dc(2)
        .host_filter(|h| h.id().0[15] != 3 && h.id().0[15] != 4)
        .build();
    let plan = ids(p.plan(&routed(), &v));
    assert_eq!(plan, vec![1, 2, 5]);
    assert_eq!(p.distance(&v.hosts()[2]), HostDistance::Ignored);
    assert_eq!(p.distance(&v.hosts()[0]), HostDistance::Local);
    assert_eq!(p.distance(&v.hosts()[4]), HostDistance::Remote);
    assert_eq!(dc1().build().distance(&v.hosts()[4]), HostDistance::Ignored);
}

#[test]
fn down_hosts_are_skipped() {
    let v = view_with(|h| h.id().0[15] != 1);
    let p = dc1().build();
    assert_eq!(ids(p.plan(&routed(), &v)), vec![3, 2]);
    let v = view_with(|h| h.datacenter() != "dc1");
    assert_eq!(p.plan(&routed(), &v).count(), 0);
    let p = dc1().remote_hosts_per_dc(1).build();
    assert_eq!(p.plan(&routed(), &v).count(), 1);
}

#[test]
fn round_robin_rotates_across_calls() {
    let (v, p) = (view(), dc1().build());
    let plans: Vec<Vec<u8>> = (0..3)
        .map(|_| ids(p.plan(&RoutingInfo::new(), &v)))
        .collect();
    for plan in &plans {
        let set: HashSet<u8> = plan.iter().copied().collect();
        assert_eq!(set, HashSet::from([1, 2, 3]));
    }
    let firsts: HashSet<u8> = plans.iter().map(|p| p[0]).collect();
    assert_eq!(firsts.len(), 3, "{plans:?}");
    assert_eq!(plans[1][0], plans[0][1]); // each call starts one further
}

#[test]
fn unknown_keyspace_or_token_unaware_falls_back_to_round_robin() {
    let v = view();
    let p = dc1().token_aware(false).build();
    let req = routed();
    let plans: HashSet<u8> = (0..3)
        .map(|_| n(p.plan(&req, &v).next().unwrap()))
        .collect();
    assert_eq!(plans.len(), 3);
    let other = RoutingInfo::new()
        .with_keyspace("nope")
        .with_token(Token::new(0));
    assert_eq!(dc1().build().plan(&other, &v).count(), 3);
}

#[test]
fn plans_are_lazy() {
    let v = view();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let p = dc1()
        .remote_hosts_per_dc(2)
        .host_filter(move |_| {
            c.fetch_add(1, Ordering::Relaxed);
            true
        })
        .build();
    let mut plan = p.plan(&routed(), &v);
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    assert!(plan.next().is_some());
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(plan.count(), 4);
    assert_eq!(calls.load(Ordering::Relaxed), 5);
}

#[test]
fn custom_policies_return_boxed_plans() {
    #[derive(Debug)]
    struct Reverse;
    impl LoadBalancingPolicy for Reverse {
        fn plan<'a>(&'a self, _: &RoutingInfo<'a>, cluster: &'a ClusterView) -> QueryPlan<'a> {
            QueryPlan::new(cluster.hosts().iter().rev())
        }
        fn distance(&self, _: &Host) -> HostDistance {
            HostDistance::Local
        }
    }
    let v = view();
    let policy: Arc<dyn LoadBalancingPolicy> = Arc::new(Reverse);
    assert_eq!(
        ids(policy.plan(&RoutingInfo::new(), &v)),
        vec![5, 4, 3, 2, 1]
    );
}

#[test]
fn shuffle_is_a_permutation_for_every_size() {
    let p = dc1().build();
    for size in 0..=20usize {
        let order = ReplicaOrder::new(&p, size, false);
        let mut seen: Vec<usize> = (0..size).map(|k| order.slot(k, size)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..size).collect::<Vec<_>>(), "size {size}");
    }
}

#[test]
fn plans_and_views_can_cross_await_points() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<QueryPlan<'static>>();
    sync::<ClusterView>();
    send::<ClusterView>();
    sync::<DefaultPolicy>();
}

/// A view whose probe gives each host (by its last id byte) a load.
fn view_loaded(load: impl Fn(u8) -> crate::pool::HostLoad + Send + Sync + 'static) -> ClusterView {
    let nts = ReplicationStrategy::NetworkTopology {
        datacenters: vec![("dc1".into(), 2), ("dc2".into(), 1)],
    };
    ClusterView::new(
        hosts(),
        [("ks".to_owned(), nts)],
        Arc::new(move |h: &Host| load(h.id().0[15])),
    )
}

fn up(outstanding: usize, stalled: bool) -> crate::pool::HostLoad {
    crate::pool::HostLoad {
        up: true,
        outstanding,
        stalled,
        silent_for: std::time::Duration::from_millis(if stalled { 600 } else { 0 }),
    }
}

#[test]
fn stalled_hosts_go_to_the_end_of_every_plan() {
    // Replica 3 stalled: the other replica, then the local non-replica, then 3.
    let v = view_loaded(|id| up(0, id == 3));
    let p = dc1().build();
    for _ in 0..20 {
        assert_eq!(ids(p.plan(&routed(), &v)), vec![1, 2, 3]);
    }
    // Behind remote hosts too, and once only.
    let p = dc1().remote_hosts_per_dc(2).build();
    let plan = ids(p.plan(&Default::default(), &v));
    assert_eq!(plan.len(), 5, "{plan:?}");
    assert_eq!(plan[4], 3, "{plan:?}");
    // Every host stalled: all still offered (the plan never empties for slowness).
    let v = view_loaded(|_| up(7, true));
    assert_eq!(ids(dc1().build().plan(&routed(), &v)).len(), 3);
    // A stalled host that is down is not offered at all.
    let v = view_loaded(|id| crate::pool::HostLoad {
        up: id != 3,
        outstanding: 1,
        stalled: true,
        silent_for: std::time::Duration::from_secs(1),
    });
    assert_eq!(ids(dc1().build().plan(&routed(), &v)).len(), 2);
    // Every host stalled: the one silent the longest (a frozen node, not a busy one)
    // comes last.
    let v = view_loaded(|id| crate::pool::HostLoad {
        up: true,
        outstanding: 1,
        stalled: true,
        silent_for: std::time::Duration::from_millis(if id == 3 { 9_000 } else { 600 }),
    });
    for _ in 0..10 {
        assert_eq!(ids(dc1().build().plan(&routed(), &v))[2], 3);
    }
}

#[test]
fn of_the_first_two_replicas_the_less_busy_leads() {
    // Every host local: replicas of token 0 are [5, 3, 1]; host 1 is idle, the others busy.
    let v = view_loaded(|id| up(if id == 1 { 0 } else { 10 }, false));
    let p = DefaultPolicy::builder().seed(3).build();
    let mut first = HashSet::new();
    for _ in 0..200 {
        let plan = ids(p.plan(&routed(), &v));
        assert_ne!(plan[1], 1, "the idle replica was second: {plan:?}");
        first.insert(plan[0]);
    }
    assert!(first.contains(&1) && first.len() > 1, "{first:?}");
    // LWTs keep ring order whatever the load.
    let lwt = routed().with_lwt(true);
    let v = view_loaded(|id| up(if id == 3 { 0 } else { 10 }, false));
    assert_eq!(ids(p.plan(&lwt, &v))[..3], [5, 3, 1]);
}
