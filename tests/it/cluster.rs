//! Cluster layer against the real 3-node cluster: our Murmur3 tokens equal the
//! server's `token()`, token-aware routing sends each key to its replica (checked
//! against the ring read from system tables), replica sets per replication factor,
//! the host summary, and the live parts: a killed node's pool goes Down while
//! requests keep succeeding, comes back Up by itself, and the control connection
//! survives its node's death and still delivers events.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ringbolt::{murmur3_token, Consistency, HostEvent, HostState, Session, Token};

use crate::{faults, harness};

const POLL: Duration = Duration::from_millis(50);

/// Polls `check` every 50 ms for up to `limit`; returns the time it took to hold.
async fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !check() {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(POLL).await;
    }
    t0.elapsed()
}

fn state_of(s: &Session, addr: SocketAddr) -> Option<HostState> {
    s.hosts()
        .into_iter()
        .find(|h| h.address == addr)
        .map(|h| h.state)
}

async fn wait_all_up(s: &Session) {
    wait_for("every host Up", Duration::from_secs(30), || {
        let hosts = s.hosts();
        hosts.len() == 3 && hosts.iter().all(|h| h.state == HostState::Up)
    })
    .await;
}

/// The ring as the server tells it: (token, native address) of every node, sorted.
/// Each node's own `system.local` row (read until every node coordinated one), so
/// nothing depends on our topology code.
async fn server_ring(s: &Session) -> Vec<(i64, IpAddr)> {
    let mut by_node: HashMap<IpAddr, Vec<String>> = HashMap::new();
    for _ in 0..100 {
        let local = s
            .query(
                "SELECT rpc_address, tokens FROM system.local WHERE key = 'local'",
                (),
            )
            .await
            .unwrap();
        let (ip, tokens): (IpAddr, Vec<String>) = local.first_row().unwrap();
        assert_eq!(ip, local.coordinator().ip());
        by_node.insert(ip, tokens);
        if by_node.len() == 3 {
            break;
        }
    }
    let mut ring: Vec<(i64, IpAddr)> = by_node
        .into_iter()
        .flat_map(|(ip, tokens)| tokens.into_iter().map(move |t| (t.parse().unwrap(), ip)))
        .collect();
    ring.sort();
    assert_eq!(ring.len(), 3, "one token per node: {ring:?}");
    ring
}

/// SimpleStrategy RF 1: the node owning the first token >= t, wrapping around.
fn owner(ring: &[(i64, IpAddr)], t: i64) -> IpAddr {
    ring.iter().find(|(tok, _)| *tok >= t).unwrap_or(&ring[0]).1
}

fn composite(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
        out.push(0);
    }
    out
}

fn text_key(i: i32) -> String {
    format!("key-{i}-{}", "é".repeat((i % 7) as usize))
}

fn blob_key(i: i32) -> Vec<u8> {
    (0..=(i % 19) as u8)
        .map(|b| b.wrapping_mul(37) ^ 0x80)
        .collect()
}

async fn create_tables(s: &Session, ks: &str) {
    for ddl in [
        format!("CREATE TABLE {ks}.t_int (k int PRIMARY KEY, v int)"),
        format!("CREATE TABLE {ks}.t_bigint (k bigint PRIMARY KEY, v int)"),
        format!("CREATE TABLE {ks}.t_text (k text PRIMARY KEY, v int)"),
        format!("CREATE TABLE {ks}.t_blob (k blob PRIMARY KEY, v int)"),
        format!("CREATE TABLE {ks}.t_comp (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))"),
    ] {
        s.query(ddl, ()).await.unwrap();
    }
}

const KEYS: i32 = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn murmur3_matches_server_token_for_every_key_type() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "ring", 1).await;
    create_tables(&s, &ks).await;
    for i in 0..KEYS {
        let big = i64::from(i) * 0x0123_4567_89ab + i64::from(i % 3) * (i64::MIN / 3);
        s.query(
            format!("INSERT INTO {ks}.t_int (k, v) VALUES (?, 0)"),
            (i * 7919 - 200_000,),
        )
        .await
        .unwrap();
        s.query(
            format!("INSERT INTO {ks}.t_bigint (k, v) VALUES (?, 0)"),
            (big,),
        )
        .await
        .unwrap();
        s.query(
            format!("INSERT INTO {ks}.t_text (k, v) VALUES (?, 0)"),
            (text_key(i),),
        )
        .await
        .unwrap();
        s.query(
            format!("INSERT INTO {ks}.t_blob (k, v) VALUES (?, 0)"),
            (blob_key(i),),
        )
        .await
        .unwrap_or_else(|e| panic!("blob {:?}: {e}", blob_key(i)));
        s.query(
            format!("INSERT INTO {ks}.t_comp (a, b, c, v) VALUES (?, ?, 1, 0)"),
            (i, text_key(i)),
        )
        .await
        .unwrap();
    }
    let mut checked = 0;
    let rs = s
        .query(format!("SELECT k, token(k) FROM {ks}.t_int"), ())
        .await
        .unwrap();
    for row in rs.rows_typed::<(i32, i64)>().unwrap() {
        let (k, t) = row.unwrap();
        assert_eq!(murmur3_token(&k.to_be_bytes()).value(), t, "int {k}");
        checked += 1;
    }
    let rs = s
        .query(format!("SELECT k, token(k) FROM {ks}.t_bigint"), ())
        .await
        .unwrap();
    for row in rs.rows_typed::<(i64, i64)>().unwrap() {
        let (k, t) = row.unwrap();
        assert_eq!(murmur3_token(&k.to_be_bytes()).value(), t, "bigint {k}");
        checked += 1;
    }
    let rs = s
        .query(format!("SELECT k, token(k) FROM {ks}.t_text"), ())
        .await
        .unwrap();
    for row in rs.rows_typed::<(String, i64)>().unwrap() {
        let (k, t) = row.unwrap();
        assert_eq!(murmur3_token(k.as_bytes()).value(), t, "text {k:?}");
        checked += 1;
    }
    let rs = s
        .query(format!("SELECT k, token(k) FROM {ks}.t_blob"), ())
        .await
        .unwrap();
    for row in rs.rows_typed::<(Vec<u8>, i64)>().unwrap() {
        let (k, t) = row.unwrap();
        assert_eq!(murmur3_token(&k).value(), t, "blob {k:?}");
        checked += 1;
    }
    let rs = s
        .query(format!("SELECT a, b, token(a, b) FROM {ks}.t_comp"), ())
        .await
        .unwrap();
    for row in rs.rows_typed::<(i32, String, i64)>().unwrap() {
        let (a, b, t) = row.unwrap();
        let key = composite(&[&a.to_be_bytes(), b.as_bytes()]);
        assert_eq!(murmur3_token(&key).value(), t, "composite ({a}, {b:?})");
        checked += 1;
    }
    // Blob keys repeat (i % 19), the others are distinct.
    assert_eq!(checked, 4 * KEYS as usize + 19);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_aware_coordinator_is_the_single_replica() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "route", 1).await;
    create_tables(&s, &ks).await;
    wait_all_up(&s).await;
    let ring = server_ring(&s).await;
    let view = s.cluster_view();
    // Our ring agrees with the server's.
    let mut ours: Vec<(i64, IpAddr)> = view
        .hosts()
        .iter()
        .flat_map(|h| {
            h.tokens()
                .iter()
                .map(move |t| (t.value(), h.address().ip()))
        })
        .collect();
    ours.sort();
    assert_eq!(ours, ring);

    let int = s
        .prepare(format!("INSERT INTO {ks}.t_int (k, v) VALUES (?, ?)"))
        .await
        .unwrap();
    let text = s
        .prepare(format!("SELECT v FROM {ks}.t_text WHERE k = ?"))
        .await
        .unwrap();
    // Bind markers in another order than the key columns: the routing key follows
    // the partition-key indexes, not the marker order.
    let comp = s
        .prepare(format!(
            "INSERT INTO {ks}.t_comp (c, b, v, a) VALUES (1, ?, 0, ?)"
        ))
        .await
        .unwrap();
    assert_eq!(comp.partition_key_indexes(), &[1, 0]);
    let mut per_node: HashMap<IpAddr, usize> = HashMap::new();
    for i in 0..KEYS {
        let k = i * 7919 - 200_000;
        let t = murmur3_token(&k.to_be_bytes());
        let want = owner(&ring, t.value());
        let replicas = view.replicas(&ks, t);
        assert_eq!(replicas.len(), 1);
        assert_eq!(replicas[0].address().ip(), want, "view replica for int {k}");
        let r = s.execute(&int, (k, i)).await.unwrap();
        assert_eq!(r.coordinator().ip(), want, "coordinator for int {k}");
        *per_node.entry(want).or_default() += 1;

        let key = text_key(i);
        let want = owner(&ring, murmur3_token(key.as_bytes()).value());
        let r = s.execute(&text, (key.as_str(),)).await.unwrap();
        assert_eq!(r.coordinator().ip(), want, "coordinator for text {key:?}");

        let b = text_key(i);
        let t = murmur3_token(&composite(&[&i.to_be_bytes(), b.as_bytes()]));
        let want = owner(&ring, t.value());
        let r = s.execute(&comp, (b.as_str(), i)).await.unwrap();
        assert_eq!(r.coordinator().ip(), want, "coordinator for ({i}, {b:?})");
    }
    // The keys spread over the whole ring, so every node coordinated some.
    assert_eq!(per_node.len(), 3, "{per_node:?}");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_sets_follow_the_replication_factor() {
    let s = harness::session().await;
    let ks3 = harness::keyspace(&s, "rf3", 3).await;
    let ks2 = harness::keyspace(&s, "rf2", 2).await;
    let ring = server_ring(&s).await;
    let view = s.cluster_view();
    let all: BTreeSet<SocketAddr> = view.hosts().iter().map(|h| h.address()).collect();
    assert_eq!(all, harness::nodes().into_iter().collect());
    for i in 0..200_i64 {
        let t = murmur3_token(&(i * 104_729).to_be_bytes());
        let rf3: BTreeSet<SocketAddr> =
            view.replicas(&ks3, t).iter().map(|h| h.address()).collect();
        assert_eq!(rf3, all, "RF 3 replicas of {t}");
        let rf2: Vec<IpAddr> = view
            .replicas(&ks2, t)
            .iter()
            .map(|h| h.address().ip())
            .collect();
        // SimpleStrategy: the owner, then the next node clockwise.
        let first = ring
            .iter()
            .position(|(tok, _)| *tok >= t.value())
            .unwrap_or(0);
        let want = vec![ring[first].1, ring[(first + 1) % 3].1];
        assert_eq!(rf2, want, "RF 2 replicas of {t}");
    }
    // A keyspace the session has not read yet (system keyspaces are local): none.
    assert!(view.replicas("system", Token::new(0)).is_empty());
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_summary_describes_the_cluster() {
    let s = harness::session().await;
    wait_all_up(&s).await;
    let hosts = s.hosts();
    let addrs: BTreeSet<SocketAddr> = hosts.iter().map(|h| h.address).collect();
    assert_eq!(addrs, harness::nodes().into_iter().collect());
    let ids: BTreeSet<_> = hosts.iter().map(|h| h.id).collect();
    assert_eq!(ids.len(), 3);
    for h in &hosts {
        assert_eq!(h.datacenter, "datacenter1");
        assert!(!h.rack.is_empty());
        assert!(h.release_version.starts_with("5."), "{}", h.release_version);
        assert_eq!(h.tokens, 1);
        assert!(h.open_connections >= 1);
        assert!(h.since <= std::time::SystemTime::now());
    }
    assert_eq!(hosts.iter().filter(|h| h.control).count(), 1);
    s.close().await;
}

/// An idempotent write loop on a fresh RF 3 keyspace: counts successes and failures
/// and which node coordinated each request.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failures: Arc<Mutex<Vec<(Instant, String)>>>,
    served: Arc<Mutex<Vec<(Instant, SocketAddr)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    async fn start(s: &Session, ks: &str) -> Load {
        s.query(
            format!("CREATE TABLE {ks}.kv (k int PRIMARY KEY, v int)"),
            (),
        )
        .await
        .unwrap();
        let insert = s
            .prepare(format!("INSERT INTO {ks}.kv (k, v) VALUES (?, ?)"))
            .await
            .unwrap()
            .with_idempotent(true)
            .with_consistency(Consistency::One);
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let served = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let (s, stop, ok, failures, served) = (
                s.clone(),
                stop.clone(),
                ok.clone(),
                failures.clone(),
                served.clone(),
            );
            tokio::spawn(async move {
                let mut i = 0_i32;
                while !stop.load(Ordering::Relaxed) {
                    i = i.wrapping_add(1);
                    match s.execute(&insert, (i % 1000, i)).await {
                        Ok(r) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            served
                                .lock()
                                .unwrap()
                                .push((Instant::now(), r.coordinator()));
                        }
                        Err(e) => failures
                            .lock()
                            .unwrap()
                            .push((Instant::now(), e.to_string())),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        Load {
            stop,
            ok,
            failures,
            served,
            task,
        }
    }

    fn ok(&self) -> usize {
        self.ok.load(Ordering::Relaxed)
    }

    fn served_by_since(&self, addr: SocketAddr, since: Instant) -> bool {
        self.first_success(addr, since).is_some()
    }

    fn first_success(&self, addr: SocketAddr, since: Instant) -> Option<Instant> {
        self.served
            .lock()
            .unwrap()
            .iter()
            .find(|(t, a)| *a == addr && *t >= since)
            .map(|(t, _)| *t)
    }

    async fn wait_more(&self, n: usize) {
        let target = self.ok() + n;
        wait_for("requests keep succeeding", Duration::from_secs(30), || {
            self.ok() >= target
        })
        .await;
    }

    /// Stops the loop and returns (successes, tolerated failures). No request may fail,
    /// except — after `restarted_at` — a restarted `node` answering that the keyspace
    /// does not exist: a SIGKILLed Cassandra may come back with a stale schema and
    /// serve CQL for a few seconds before it pulls the current one from its peers.
    async fn finish(self, restarted: Option<(Instant, SocketAddr)>) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        let failures = self.failures.lock().unwrap().clone();
        let (stale, real): (Vec<_>, Vec<_>) = failures.into_iter().partition(|(t, e)| {
            restarted.is_some_and(|(at, node)| {
                *t >= at && e.contains(&node.to_string()) && e.contains("does not exist")
            })
        });
        let shown: Vec<_> = real.iter().take(5).map(|(_, e)| e).collect();
        assert!(
            real.is_empty(),
            "{} requests failed, first: {shown:?}",
            real.len()
        );
        (self.ok.load(Ordering::Relaxed), stale.len())
    }
}

async fn build(contact_points: &[SocketAddr]) -> Session {
    Session::builder()
        .contact_points(contact_points.iter().map(ToString::to_string))
        .local_dc("datacenter1")
        .build()
        .await
        .unwrap()
}

/// Host events with the time each arrived.
struct Recorder {
    seen: Arc<Mutex<Vec<(Instant, HostEvent)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    fn start(s: &Session) -> Recorder {
        let mut rx = s.host_events();
        let seen: Arc<Mutex<Vec<(Instant, HostEvent)>>> = Arc::default();
        let task = {
            let seen = seen.clone();
            tokio::spawn(async move {
                while let Ok(e) = rx.recv().await {
                    seen.lock().unwrap().push((Instant::now(), e));
                }
            })
        };
        Recorder { seen, task }
    }

    /// When the first event about `addr` matching `want` arrived at or after `since`.
    fn first(&self, since: Instant, want: impl Fn(&HostEvent) -> bool) -> Option<Instant> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .find(|(t, e)| *t >= since && want(e))
            .map(|(t, _)| *t)
    }

    async fn wait(
        &self,
        what: &str,
        since: Instant,
        want: impl Fn(&HostEvent) -> bool,
    ) -> Duration {
        wait_for(what, Duration::from_secs(120), || {
            self.first(since, &want).is_some()
        })
        .await;
        self.first(since, &want).unwrap() - since
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Kills the control node (node 1, the only contact point): its pool goes Down while
/// requests keep succeeding on the others, the control connection moves and still
/// delivers events (a keyspace created by another session appears in our view), and
/// after a restart the node comes back Up by itself and serves requests again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_goes_down_then_comes_back_and_control_moves() {
    let _exclusive = harness::exclusive().await;
    let nodes = harness::nodes();
    let victim = nodes[0];
    let s = build(&[victim]).await;
    let other = build(&nodes[1..]).await;
    wait_all_up(&s).await;
    wait_all_up(&other).await;
    let control = s.hosts().into_iter().find(|h| h.control).unwrap().address;
    assert_eq!(
        control, victim,
        "the only contact point carries the control connection"
    );
    let ks = harness::keyspace(&s, "faults", 3).await;
    let events = Recorder::start(&s);
    let load = Load::start(&s, &ks).await;
    load.wait_more(20).await;

    let killed_at = Instant::now();
    let fault = faults::kill(1);
    let to_down = events
        .wait("Down event for the killed node", killed_at, |e| {
            matches!(e, HostEvent::Down { address, reason } if *address == victim && !reason.is_empty())
        })
        .await;
    assert!(matches!(state_of(&s, victim), Some(HostState::Down { .. })));
    wait_for("control connection moved", Duration::from_secs(60), || {
        s.hosts().iter().any(|h| h.control && h.address != victim)
    })
    .await;
    let to_control = killed_at.elapsed();
    load.wait_more(50).await;

    // Events still arrive over the moved control connection: a keyspace created by
    // another session shows up in this session's view without any DDL of its own.
    let seen_ks = harness::keyspace(&other, "seen", 2).await;
    let to_refresh = wait_for("keyspace event seen", Duration::from_secs(30), || {
        !s.cluster_view()
            .replicas(&seen_ks, Token::new(42))
            .is_empty()
    })
    .await;

    let restart_at = Instant::now();
    tokio::task::spawn_blocking(move || drop(fault))
        .await
        .unwrap();
    let cql_ready = restart_at.elapsed();
    let to_up = events
        .wait("Up event for the restarted node", restart_at, |e| {
            *e == HostEvent::Up(victim)
        })
        .await;
    let up_at = restart_at + to_up;
    wait_for(
        "restarted node serves requests",
        Duration::from_secs(120),
        || load.served_by_since(victim, up_at),
    )
    .await;
    let to_served = load.first_success(victim, up_at).unwrap() - up_at;
    let served_again = killed_at.elapsed();
    let (total, stale) = load.finish(Some((restart_at, victim))).await;
    eprintln!(
        "cluster faults: kill -> Down {to_down:?}; kill -> control moved <= {to_control:?}; \
         keyspace event -> view {to_refresh:?}; restart -> node answers CQL {cql_ready:?}; \
         restart -> Up {to_up:?}; Up -> first success on it {to_served:?}; \
         kill -> served again {served_again:?}; {total} requests, none failed \
         (+{stale} stale-schema answers of the restarted node)"
    );
    s.query(format!("DROP KEYSPACE {seen_ks}"), ())
        .await
        .unwrap();
    other.close().await;
    s.close().await;
}

/// Resets every connection to node 3 (iptables REJECT): its pool goes Down while the
/// other nodes serve the requests; once the rule is gone the pool's own probing
/// (no UP event: the node never left gossip) brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_node_goes_down_and_pool_probing_brings_it_back() {
    let _exclusive = harness::exclusive().await;
    let nodes = harness::nodes();
    let victim = nodes[2];
    let s = build(&nodes).await;
    wait_all_up(&s).await;
    let ks = harness::keyspace(&s, "reject", 3).await;
    let events = Recorder::start(&s);
    let load = Load::start(&s, &ks).await;
    load.wait_more(20).await;
    let blocked_at = Instant::now();
    let fault = faults::block_reject(3);
    let to_down = events
        .wait(
            "Down event for the rejected node",
            blocked_at,
            |e| matches!(e, HostEvent::Down { address, .. } if *address == victim),
        )
        .await;
    load.wait_more(50).await;
    let unblocked_at = Instant::now();
    drop(fault);
    let to_up = events
        .wait("Up event for the unblocked node", unblocked_at, |e| {
            *e == HostEvent::Up(victim)
        })
        .await;
    let up_at = unblocked_at + to_up;
    wait_for(
        "unblocked node serves requests",
        Duration::from_secs(30),
        || load.served_by_since(victim, up_at),
    )
    .await;
    let to_served = load.first_success(victim, up_at).unwrap() - up_at;
    let (total, _) = load.finish(None).await;
    eprintln!(
        "cluster faults: reject -> Down {to_down:?}; unblock -> Up {to_up:?}; \
         Up -> first success on it {to_served:?}; {total} requests, none failed"
    );
    s.close().await;
}

/// Contact points may be host names: `localhost` resolves (to 127.0.0.1, and maybe
/// ::1 which refuses) and the whole cluster is discovered from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_name_contact_point_discovers_the_cluster() {
    let _shared = harness::shared().await;
    let s = Session::builder()
        .contact_points(["localhost"])
        .port(harness::nodes()[0].port())
        .local_dc("datacenter1")
        .build()
        .await
        .unwrap();
    wait_all_up(&s).await;
    let addrs: BTreeSet<SocketAddr> = s.hosts().iter().map(|h| h.address).collect();
    assert_eq!(addrs, harness::nodes().into_iter().collect());
    s.close().await;
}
