//! Faults in the middle of a write load (under `harness::exclusive()`): node 2 frozen
//! (SIGSTOP) or reset (iptables REJECT) while idempotent inserts and non-idempotent
//! counter increments run. Proves that no non-idempotent write was retried after it
//! was written (retry decisions, every error's attempts, and the counters themselves:
//! never 2, and 0 whenever the driver said the write was not executed), and that
//! idempotent writes move on to other hosts and succeed.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbolt::{Consistency, Error, RetryDecision, Session, Statement};
use tokio::task::JoinSet;

use crate::faults;
use crate::harness;
use crate::session_rules::Recording;

/// Writes done before the fault, during it, and after it is undone.
const BEFORE: usize = 300;
const DURING: usize = 900;
const AFTER: usize = 300;
const TASKS: usize = 60;

#[derive(Debug)]
struct Outcome {
    key: i32,
    /// 0 before the fault, 1 during, 2 after (by writes done when it started).
    phase: usize,
    idempotent: bool,
    result: Result<(), Error>,
}

/// Waits (bounded) until every node has coordinated a request, so that the pools
/// are all connected before a fault is applied.
async fn all_pools_up(s: &Session) {
    let t0 = Instant::now();
    let mut seen = std::collections::HashSet::new();
    while seen.len() < harness::nodes().len() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "pools never all up: {seen:?}"
        );
        let rs = s
            .query(
                Statement::new("SELECT key FROM system.local").with_idempotent(true),
                (),
            )
            .await
            .unwrap();
        seen.insert(rs.coordinator());
    }
}

/// The attempt timeout for a fault test, derived from what it proves: long next to a
/// healthy node's latency on this machine right now (measured: the slowest of `n`
/// requests run by `tasks` tasks at once, times 5), short next to a frozen node's
/// silence, which lasts the whole fault phase. Clamped to [300 ms, 4 s].
async fn attempt_timeout_from_healthy_latency<F, Fut>(
    what: &str,
    n: usize,
    tasks: usize,
    op: F,
) -> Duration
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), Error>> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let (op, next, what) = (op.clone(), next.clone(), what.to_owned());
        set.spawn(async move {
            let mut slowest = Duration::ZERO;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return slowest;
                }
                let t0 = Instant::now();
                match op(i).await {
                    Ok(()) => {}
                    Err(e) if harness::server_was_slow(&e) => {}
                    Err(e) => panic!("{what}: healthy request {i} failed: {e}"),
                }
                slowest = slowest.max(t0.elapsed());
            }
        });
    }
    let mut slowest = Duration::ZERO;
    while let Some(r) = set.join_next().await {
        slowest = slowest.max(r.unwrap());
    }
    let timeout = (slowest * 5).clamp(Duration::from_millis(300), Duration::from_secs(4));
    eprintln!("{what}: slowest of {n} healthy requests {slowest:?}: attempt timeout {timeout:?}");
    timeout
}

/// Attempts that may have run, per error (`None`: the error lists no attempts).
fn attempts_that_may_have_run(e: &Error) -> Option<Vec<bool>> {
    match e {
        Error::NoHostAvailable(n) => {
            Some(n.attempts().iter().map(|a| a.maybe_executed()).collect())
        }
        _ => None,
    }
}

/// The schema and timing every fault-under-load test starts from: a plain session (no
/// attempt timeout: DDL is slow and not idempotent) with every pool up, a fresh RF 3
/// keyspace with table `t (k int PRIMARY KEY, v int)`, and the attempt timeout measured
/// from `n` healthy idempotent inserts into it by `tasks` tasks (negative keys).
async fn fault_test_setup(
    name: &str,
    prefix: &str,
    n: usize,
    tasks: usize,
) -> (Session, String, Duration) {
    let plain = Session::builder()
        .contact_points(harness::contact_points())
        .local_dc("datacenter1")
        .build()
        .await
        .unwrap();
    all_pools_up(&plain).await;
    let ks = harness::keyspace(&plain, prefix, 3).await;
    plain
        .query(
            format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"),
            (),
        )
        .await
        .unwrap();
    let probe = plain
        .prepare(format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await
        .unwrap()
        .with_idempotent(true);
    let attempt_timeout = {
        let (plain, probe) = (plain.clone(), probe.clone());
        attempt_timeout_from_healthy_latency(name, n, tasks, move |i| {
            let (plain, probe) = (plain.clone(), probe.clone());
            async move {
                let k = -1 - i as i32;
                plain.execute(&probe, (k, k)).await.map(|_| ())
            }
        })
        .await
    };
    (plain, ks, attempt_timeout)
}

async fn write_load_through(fault_name: &str, fault: impl FnOnce() -> faults::Fault) {
    let _x = harness::exclusive().await;
    // Healthy latency of this very workload sets the attempt timeout; the request
    // deadline leaves room for several runs of the 3-host plan, so an idempotent write
    // has time to find a live replica.
    let (plain, ks, attempt_timeout) = fault_test_setup(fault_name, "faults", 300, TASKS).await;
    plain
        .query(
            format!("CREATE TABLE {ks}.c (k int PRIMARY KEY, n counter)"),
            (),
        )
        .await
        .unwrap();
    let rec = Recording::new();
    let s = Session::builder()
        .contact_points(harness::contact_points())
        .local_dc("datacenter1")
        .attempt_timeout(attempt_timeout)
        .request_timeout(attempt_timeout * 8)
        .retry_policy(rec.clone())
        .build()
        .await
        .unwrap();
    all_pools_up(&s).await;
    let incr = s
        .prepare(format!("UPDATE {ks}.c SET n = n + 1 WHERE k = ?"))
        .await
        .unwrap();
    let insert = s
        .prepare(format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await
        .unwrap()
        .with_idempotent(true);
    rec.take();

    let next_key = Arc::new(AtomicI32::new(0));
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(0_usize);
    let done_tx = Arc::new(done_tx);
    let total = BEFORE + DURING + AFTER;
    let mut tasks = JoinSet::new();
    for _ in 0..TASKS {
        let (s, incr, insert) = (s.clone(), incr.clone(), insert.clone());
        let (next_key, done_tx) = (next_key.clone(), done_tx.clone());
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            loop {
                let key = next_key.fetch_add(1, Ordering::Relaxed);
                if key as usize >= total {
                    return outcomes;
                }
                let idempotent = key % 2 == 0;
                let done = *done_tx.borrow();
                let phase = usize::from(done >= BEFORE) + usize::from(done >= BEFORE + DURING);
                let result = if idempotent {
                    s.execute(&insert, (key, key)).await
                } else {
                    s.execute(&incr, (key,)).await
                };
                outcomes.push(Outcome {
                    key,
                    phase,
                    idempotent,
                    result: result.map(|_| ()),
                });
                done_tx.send_modify(|n| *n += 1);
            }
        });
    }
    done_rx.wait_for(|n| *n >= BEFORE).await.unwrap();
    let t_fault = Instant::now();
    let guard = fault();
    done_rx.wait_for(|n| *n >= BEFORE + DURING).await.unwrap();
    drop(guard);
    let held = t_fault.elapsed();
    let mut outcomes = Vec::new();
    while let Some(r) = tasks.join_next().await {
        outcomes.extend(r.unwrap());
    }
    assert_eq!(outcomes.len(), total);

    // 1. The policy never moved a written non-idempotent request on.
    let decisions = rec.take();
    for (cause, idempotent, decision) in &decisions {
        let written = cause == "connection:written=true" || cause == "attempt-timeout";
        if written && !idempotent {
            assert_eq!(*decision, RetryDecision::Fail, "{cause}");
        }
    }
    // 2. Every error of a non-idempotent write: at most its last attempt may have run.
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    for o in &outcomes {
        let Err(e) = &o.result else { continue };
        let kind = match e {
            Error::Server(s) => format!(
                "phase {} idempotent {} Server({:#x})",
                o.phase, o.idempotent, s.code
            ),
            other => format!(
                "phase {} idempotent {} {}",
                o.phase,
                o.idempotent,
                format!("{other:?}")
                    .split(['(', '{', ' '])
                    .next()
                    .unwrap_or("")
            ),
        };
        *errors.entry(kind).or_default() += 1;
        if !o.idempotent {
            if let Some(ran) = attempts_that_may_have_run(e) {
                let earlier = &ran[..ran.len().saturating_sub(1)];
                assert!(!earlier.contains(&true), "retried after written: {e}");
            }
        }
    }
    // A coordinator's own write timeout (a live node of a loaded 2-core cluster
    // answering "too slow") is the server's answer, not the driver failing to move on;
    // every other error of an idempotent write is a failure to find a live replica.
    let failed_idempotent: Vec<_> = outcomes
        .iter()
        .filter(|o| o.idempotent)
        .filter_map(|o| o.result.as_ref().err())
        .filter(|e| !harness::server_was_slow(e))
        .collect();
    let retries = decisions
        .iter()
        .filter(|(_, _, d)| !matches!(d, RetryDecision::Fail))
        .count();
    // The fault was really met and moved past: written idempotent attempts on the
    // faulty node (timed out or cut) were moved to another host.
    let moved_on = decisions
        .iter()
        .filter(|(cause, idempotent, d)| {
            *idempotent
                && (cause == "attempt-timeout" || cause == "connection:written=true")
                && matches!(d, RetryDecision::RetryNextHost(_))
        })
        .count();
    eprintln!(
        "{fault_name}: fault held {held:?} over {DURING} writes; {} retry decisions ({retries} retries, \
         {moved_on} written idempotent attempts moved on); errors by (idempotent, kind): {errors:?}",
        decisions.len()
    );
    assert!(
        failed_idempotent.is_empty(),
        "idempotent writes move on and succeed: {} failed, first: {}",
        failed_idempotent.len(),
        failed_idempotent[0]
    );
    // The fault was met at all: some attempt failed on a connection or timed out (a
    // reset may catch only non-idempotent writes in flight, then the pool goes down).
    let met = decisions
        .iter()
        .filter(|(cause, _, _)| cause == "attempt-timeout" || cause.starts_with("connection:"))
        .count();
    assert!(met > 0, "the fault was never met: nothing to prove");
    if fault_name.starts_with("SIGSTOP") {
        // A frozen node keeps its connections: a third of the plans lead with it, so
        // written idempotent attempts there time out and must have moved on.
        assert!(moved_on > 0, "no idempotent write met the frozen node");
    }

    // 3. The counters: the node may run frozen requests once it resumes, so read until
    // two reads agree (bounded), then check: successful -> 1; refused ("not
    // executed") -> 0; never more than 1.
    let read = plain
        .prepare(format!("SELECT k, n FROM {ks}.c"))
        .await
        .unwrap()
        .with_consistency(Consistency::All)
        .with_page_size(5_000);
    let t_read = Instant::now();
    let mut previous = None;
    let counters = loop {
        let rs = harness::until_not_slow("read the counters", || plain.execute(&read, ())).await;
        let mut now = std::collections::HashMap::new();
        for row in rs.rows_typed::<(i32, i64)>().unwrap() {
            let (k, n) = row.unwrap();
            now.insert(k, n);
        }
        if previous.as_ref() == Some(&now) {
            break now;
        }
        assert!(
            t_read.elapsed() < Duration::from_secs(30),
            "counters never settled"
        );
        previous = Some(now);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for o in outcomes.iter().filter(|o| !o.idempotent) {
        let n = counters.get(&o.key).copied().unwrap_or(0);
        assert!(
            n <= 1,
            "key {}: counter {n}: a written write ran twice",
            o.key
        );
        match &o.result {
            Ok(()) => assert_eq!(n, 1, "key {}", o.key),
            Err(e) if !e.maybe_executed() => assert_eq!(n, 0, "key {}: {e}", o.key),
            Err(_) => {}
        }
    }
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    eprintln!(
        "{fault_name}: {ok}/{total} writes ok; counters settled {:?} after the fault ended",
        t_read.elapsed()
    );
    s.close().await;
    let cleanup = Session::builder()
        .contact_points(harness::contact_points())
        .build()
        .await
        .unwrap();
    cleanup
        .query(format!("DROP KEYSPACE {ks}"), ())
        .await
        .unwrap();
    cleanup.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_node_mid_load_no_written_non_idempotent_retry() {
    write_load_through("SIGSTOP node 2", || faults::pause(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_node_mid_load_no_written_non_idempotent_retry() {
    write_load_through("iptables REJECT node 2", || faults::block_reject(2)).await;
}

/// Requests to a frozen cluster: the deadline covers every attempt and every run of
/// the plan, the timeout says how many ran, a written non-idempotent request stops
/// after one, and the session recovers once the nodes are back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_covers_attempts_on_a_frozen_cluster() {
    let _x = harness::exclusive().await;
    let idempotent = Statement::new("SELECT key FROM system.local").with_idempotent(true);
    // The attempt timeout A: long next to a healthy answer here and now, and any A is
    // short next to a frozen node's silence. Every deadline below is a multiple of A.
    let a = {
        let probe = Session::builder()
            .contact_points(harness::contact_points())
            .local_dc("datacenter1")
            .build()
            .await
            .unwrap();
        all_pools_up(&probe).await;
        let stmt = idempotent.clone();
        let p = probe.clone();
        let a = attempt_timeout_from_healthy_latency("frozen cluster", 60, 3, move |_| {
            let (p, stmt) = (p.clone(), stmt.clone());
            async move { p.query(stmt, ()).await.map(|_| ()) }
        })
        .await;
        probe.close().await;
        a
    };
    let request_timeout = a * 5;
    let s = Session::builder()
        .contact_points(["127.0.0.1:9042".to_owned()])
        .local_dc("datacenter1")
        .attempt_timeout(a)
        .request_timeout(request_timeout)
        .build()
        .await
        .unwrap();
    all_pools_up(&s).await;
    // No await may outlive its deadline by more than this (a loaded machine wakes
    // timers late, but never this late): a hang fails the test instead of the job.
    let not_hung = |d: Duration| d + Duration::from_secs(10);
    let err = {
        let _a = faults::pause(1);
        let _b = faults::pause(2);
        let _c = faults::pause(3);
        let t0 = Instant::now();
        let err = tokio::time::timeout(not_hung(request_timeout), s.query(idempotent.clone(), ()))
            .await
            .expect("the request outlived its deadline")
            .unwrap_err();
        let took = t0.elapsed();
        eprintln!("every node frozen: {err} after {took:?}");
        assert!(
            took >= request_timeout,
            "gave up before the deadline: {took:?}"
        );
        err
    };
    match &err {
        // Each node tried, each attempt cut at A, and the plan run again while the
        // deadline (5 A) left time: an idempotent request does not give up early.
        Error::Timeout(t) => {
            assert!(t.attempts >= 4, "the plan ran again: {t:?}");
            assert!(t.maybe_executed);
        }
        other => panic!("expected a timeout after every host and a re-run, got {other:?}"),
    }
    // The statement's own deadline (2.5 A) cuts the third attempt: a timeout that says
    // how many attempts ran.
    let err = {
        let _a = faults::pause(1);
        let _b = faults::pause(2);
        let _c = faults::pause(3);
        let deadline = a * 5 / 2;
        tokio::time::timeout(
            not_hung(deadline),
            s.query(idempotent.clone().with_timeout(deadline), ()),
        )
        .await
        .expect("the request outlived its deadline")
        .unwrap_err()
    };
    match &err {
        Error::Timeout(t) => {
            assert!((2..=3).contains(&t.attempts), "{t:?}");
            assert!(t.maybe_executed);
            eprintln!("deadline across attempts: {err}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let non_idempotent = Statement::new("SELECT key FROM system.local");
    let err = {
        let _a = faults::pause(1);
        let _b = faults::pause(2);
        let _c = faults::pause(3);
        tokio::time::timeout(
            not_hung(request_timeout),
            s.query(non_idempotent.clone(), ()),
        )
        .await
        .expect("the request outlived its deadline")
        .unwrap_err()
    };
    match &err {
        Error::Timeout(t) => {
            assert_eq!(
                t.attempts, 1,
                "a written non-idempotent request stops: {t:?}"
            );
            assert!(t.maybe_executed);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Back: the orphaned stream ids are answered and the session works on. Each
    // request has a long deadline of its own: resumed JVMs are slow for a moment, and
    // an idempotent request keeps trying (attempts of A each) until one answers.
    for _ in 0..20 {
        s.query(idempotent.clone().with_timeout(Duration::from_secs(60)), ())
            .await
            .unwrap();
    }
    s.close().await;
}

/// First attempts as the execution core reported them: (host, started).
#[derive(Debug, Default)]
struct FirstAttempts(std::sync::Mutex<Vec<(std::net::SocketAddr, std::time::Instant)>>);

impl ringbolt::RequestObserver for FirstAttempts {
    fn on_attempt(&self, a: &ringbolt::AttemptRecord<'_>) {
        if a.attempt == 0 {
            self.0.lock().unwrap().push((a.host, a.started));
        }
    }
}

/// Slow-node avoidance: a frozen node (SIGSTOP: its connections stay open, nothing is
/// read from them) stops being offered first once it has had requests outstanding
/// without a byte read for half a second — long before heartbeats would notice — and
/// every idempotent write still succeeds (those caught on it move on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_node_stops_receiving_new_requests() {
    const BEFORE: usize = 300;
    /// Writes started after the grace period, while the node is still frozen.
    const AFTER_GRACE: usize = 300;
    // The driver's own detection (0.5 s without a byte while work is outstanding),
    // with room for a loaded machine to run its tasks late: first attempts started
    // this long after the freeze must avoid the frozen node.
    const GRACE: Duration = Duration::from_secs(2);
    let _x = harness::exclusive().await;
    let (plain, ks, attempt_timeout) = fault_test_setup("stall", "stall", 200, 16).await;
    let seen = Arc::new(FirstAttempts::default());
    let observer: Arc<dyn ringbolt::RequestObserver> = seen.clone();
    let s = Session::builder()
        .contact_points(harness::contact_points())
        .local_dc("datacenter1")
        .attempt_timeout(attempt_timeout)
        .request_timeout(attempt_timeout * 8)
        .request_observer(observer)
        .build()
        .await
        .unwrap();
    all_pools_up(&s).await;
    let insert = s
        .prepare(format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await
        .unwrap()
        .with_idempotent(true);
    let frozen: std::net::SocketAddr = "127.0.0.2:9042".parse().unwrap();

    let next_key = Arc::new(AtomicI32::new(0));
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(0_usize);
    let done_tx = Arc::new(done_tx);
    let mut tasks = JoinSet::new();
    for _ in 0..16 {
        let (s, insert, next_key, done_tx) =
            (s.clone(), insert.clone(), next_key.clone(), done_tx.clone());
        let local = Statement::new("SELECT key FROM system.local").with_idempotent(true);
        tasks.spawn(async move {
            let mut failed = Vec::new();
            loop {
                let k = next_key.fetch_add(1, Ordering::Relaxed);
                if k < 0 {
                    return failed;
                }
                // Token-aware writes (replicas first, the less busy of two leading) and
                // reads with no routing key (every host in round-robin order).
                let r = if k % 2 == 0 {
                    s.execute(&insert, (k, k)).await
                } else {
                    s.query(local.clone(), ()).await
                };
                match r {
                    Ok(_) => {}
                    Err(e) if harness::server_was_slow(&e) => {}
                    Err(e) => failed.push(format!("request {k}: {e}")),
                }
                done_tx.send_modify(|n| *n += 1);
            }
        });
    }
    done_rx.wait_for(|n| *n >= BEFORE).await.unwrap();
    let t_freeze = std::time::Instant::now();
    let fault = faults::pause(2);
    // The fault lasts past the grace period and then for AFTER_GRACE more writes.
    tokio::time::sleep(GRACE).await;
    let at_grace = *done_rx.borrow();
    done_rx
        .wait_for(|n| *n >= at_grace + AFTER_GRACE)
        .await
        .unwrap();
    // Plans made from here on may lead with node 2 again: it is resumed.
    let t_resume = std::time::Instant::now();
    let held = t_resume - t_freeze;
    drop(fault);
    // Stop the writers (a negative key means: done).
    next_key.store(i32::MIN, Ordering::Relaxed);
    let mut failed = Vec::new();
    while let Some(r) = tasks.join_next().await {
        failed.extend(r.unwrap());
    }

    let firsts = seen.0.lock().unwrap().clone();
    let before: Vec<_> = firsts.iter().filter(|(_, t)| *t < t_freeze).collect();
    let after: Vec<_> = firsts
        .iter()
        .filter(|(_, t)| *t >= t_freeze + GRACE && *t < t_resume)
        .collect();
    let share = |v: &[&(std::net::SocketAddr, std::time::Instant)]| {
        v.iter().filter(|(h, _)| *h == frozen).count()
    };
    eprintln!(
        "stall: node 2 led {}/{} plans before the freeze, {}/{} from {GRACE:?} after it until \
         it was resumed (freeze held {held:?}); {} idempotent requests failed",
        share(&before),
        before.len(),
        share(&after),
        after.len(),
        failed.len()
    );
    let leaks: Vec<Duration> = after
        .iter()
        .filter(|(h, _)| *h == frozen)
        .map(|(_, t)| t.duration_since(t_freeze))
        .collect();
    assert!(failed.is_empty(), "idempotent requests failed: {failed:?}");
    assert!(
        share(&before) > 0,
        "node 2 took no requests even before the freeze"
    );
    assert!(
        !after.is_empty(),
        "no request started {GRACE:?} after the freeze: nothing to prove (held {held:?})"
    );
    assert_eq!(
        share(&after),
        0,
        "the frozen node still led plans {GRACE:?} after the freeze, at {leaks:?} after it"
    );
    s.close().await;
    plain
        .query(format!("DROP KEYSPACE {ks}"), ())
        .await
        .unwrap();
    plain.close().await;
}
