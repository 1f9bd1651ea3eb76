//! The session under load and at its end: 10,000 concurrent requests from 1,000
//! tasks sharing one cheap handle; 100 concurrent close() calls while 1,000 requests
//! are in flight; dropping the last handle. Teardown is checked from the outside: no
//! socket to port 9042 left in /proc/self/fd and no task alive on a dedicated runtime.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ringbolt::{ConnectionError, Error, Session, Statement};
use tokio::task::JoinSet;

use crate::harness;

/// Inodes of this process's TCP sockets whose remote port is 9042 (0x2352).
fn sockets_to_9042() -> HashSet<u64> {
    let mut remote = HashSet::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && cols[2].ends_with(":2352") {
                if let Ok(inode) = cols[9].parse::<u64>() {
                    remote.insert(inode);
                }
            }
        }
    }
    let mut ours = HashSet::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let link = link.to_string_lossy().into_owned();
        if let Some(inode) = link
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<u64>().ok())
        {
            if remote.contains(&inode) && inode != 0 {
                ours.insert(inode);
            }
        }
    }
    ours
}

/// Polls (bounded, 10 ms steps) until the runtime has `tasks` alive tasks and no
/// socket to 9042 exists beyond `before`; returns how long that took.
async fn await_teardown(before: &HashSet<u64>, tasks: usize) -> Duration {
    let t0 = Instant::now();
    let metrics = tokio::runtime::Handle::current().metrics();
    loop {
        let left: Vec<_> = sockets_to_9042().difference(before).copied().collect();
        let alive = metrics.num_alive_tasks();
        if left.is_empty() && alive <= tasks {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "after close: {} socket(s) to 9042 and {alive} task(s) still alive",
            left.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A runtime of our own, so that `num_alive_tasks` counts only this test's tasks.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn build(
    configure: impl FnOnce(ringbolt::SessionBuilder) -> ringbolt::SessionBuilder,
) -> Session {
    configure(
        Session::builder()
            .contact_points(harness::contact_points())
            .local_dc("datacenter1"),
    )
    .build()
    .await
    .unwrap()
}

/// True for the answers a request may get when the session closes under it.
fn closed_answer(r: &Result<ringbolt::QueryResult, Error>) -> bool {
    match r {
        Ok(_) | Err(Error::Closed) => true,
        // Cut after the close deadline once written: it may have run, and says so.
        Err(Error::Connection {
            error: ConnectionError::Closed,
            written: true,
        }) => true,
        Err(_) => false,
    }
}

#[test]
fn concurrent_close_with_requests_in_flight_leaves_nothing() {
    for close_deadline in [None, Some(Duration::ZERO)] {
        runtime().block_on(async {
            let _x = harness::exclusive().await;
            let before = sockets_to_9042();
            let s = build(|b| match close_deadline {
                Some(d) => b.close_deadline(d),
                None => b,
            })
            .await;
            let mut requests = JoinSet::new();
            for i in 0..1_000 {
                let s = s.clone();
                let q = if i % 2 == 0 {
                    "SELECT * FROM system_schema.tables"
                } else {
                    "SELECT * FROM system.local"
                };
                requests.spawn(async move { s.query(Statement::new(q), ()).await });
            }
            tokio::task::yield_now().await;
            let mut closers = JoinSet::new();
            for _ in 0..100 {
                let s = s.clone();
                closers.spawn(async move { s.close().await });
            }
            drop(s);
            let (mut ok, mut closed, mut cut) = (0, 0, 0);
            let all = async {
                while let Some(r) = requests.join_next().await {
                    let r = r.unwrap();
                    assert!(closed_answer(&r), "{close_deadline:?}: {r:?}");
                    match r {
                        Ok(_) => ok += 1,
                        Err(Error::Closed) => closed += 1,
                        Err(_) => cut += 1,
                    }
                }
                while let Some(r) = closers.join_next().await {
                    r.unwrap();
                }
            };
            tokio::time::timeout(Duration::from_secs(60), all)
                .await
                .expect("a request or a close() hung");
            let took = await_teardown(&before, 0).await;
            eprintln!(
                "close under load (close deadline {close_deadline:?}): {ok} ok, {closed} Closed, \
                 {cut} cut after being written; sockets and tasks gone {took:?} after the last close() returned"
            );
            assert_eq!(ok + closed + cut, 1_000);
            if close_deadline.is_none() {
                assert_eq!(cut, 0, "with time to drain, nothing is cut");
            }
        });
    }
}

#[test]
fn dropping_the_last_handle_tears_everything_down() {
    runtime().block_on(async {
        let _x = harness::exclusive().await;
        let before = sockets_to_9042();
        let s = build(|b| b.connections_per_host(2)).await;
        let clones: Vec<Session> = (0..100).map(|_| s.clone()).collect();
        for c in &clones {
            c.query("SELECT key FROM system.local", ()).await.unwrap();
        }
        assert!(
            sockets_to_9042().difference(&before).count() >= 4,
            "control connection plus pools"
        );
        drop(clones);
        s.query("SELECT key FROM system.local", ()).await.unwrap();
        drop(s);
        let took = await_teardown(&before, 0).await;
        eprintln!("drop of the last handle: sockets and tasks gone after {took:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_from_a_thousand_tasks() {
    // What is proved is that every one of 10,000 concurrent requests completes with its
    // own answer, not how fast a loaded node serves them: a deadline far above the
    // server's own timeouts (2 s write, 5 s read) lets the server answer each.
    let s = harness::session_with(|b| b.request_timeout(Duration::from_secs(60))).await;
    let ks = harness::keyspace(&s, "load", 3).await;
    s.query(
        format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"),
        (),
    )
    .await
    .unwrap();
    let insert = s
        .prepare(format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await
        .unwrap();
    let select = s
        .prepare(format!("SELECT v FROM {ks}.t WHERE k = ?"))
        .await
        .unwrap();
    let session: Session = s.session.clone();
    let t0 = Instant::now();
    let mut tasks = JoinSet::new();
    for t in 0..1_000_i32 {
        let s = session.clone();
        let insert = insert.clone();
        tasks.spawn(async move {
            let writes = (0..10).map(|i| {
                let k = t * 10 + i;
                let (s, insert) = (&s, &insert);
                async move { s.execute(insert, (k, k)).await }
            });
            // A server-side timeout is the cluster's own answer under load (RF 3 on a
            // loaded 2-core machine), not the driver's: set aside, written again below.
            let mut slow = Vec::new();
            for (i, r) in (0..10).zip(futures_util::future::join_all(writes).await) {
                match r {
                    Ok(_) => {}
                    Err(e) if harness::server_was_slow(&e) => slow.push(t * 10 + i),
                    Err(e) => panic!("write of {}: {e}", t * 10 + i),
                }
            }
            slow
        });
    }
    let mut slow_writes = Vec::new();
    while let Some(r) = tasks.join_next().await {
        slow_writes.extend(r.unwrap());
    }
    let writes = t0.elapsed();
    for &k in &slow_writes {
        harness::until_not_slow("write again", || session.execute(&insert, (k, k))).await;
    }
    let t1 = Instant::now();
    let mut tasks = JoinSet::new();
    for t in 0..1_000_i32 {
        let s = session.clone();
        let select = select.clone();
        tasks.spawn(async move {
            let reads = (0..10).map(|i| {
                let k = t * 10 + i;
                let (s, select) = (&s, &select);
                async move { (k, s.execute(select, (k,)).await) }
            });
            let mut slow = Vec::new();
            for (k, r) in futures_util::future::join_all(reads).await {
                match r {
                    Ok(r) => {
                        let (v,): (i32,) = r.first_row().unwrap();
                        assert_eq!(v, k);
                    }
                    Err(e) if harness::server_was_slow(&e) => slow.push(k),
                    Err(e) => panic!("read of {k}: {e}"),
                }
            }
            slow
        });
    }
    let mut slow_reads = Vec::new();
    while let Some(r) = tasks.join_next().await {
        slow_reads.extend(r.unwrap());
    }
    let reads = t1.elapsed();
    // Every row the burst could not read is there, with its own value.
    for &k in &slow_reads {
        let r = harness::until_not_slow("read again", || session.execute(&select, (k,))).await;
        let (v,): (i32,) = r.first_row().unwrap();
        assert_eq!(v, k);
    }
    eprintln!(
        "10,000 concurrent requests from 1,000 tasks: writes {writes:?} ({:.0} req/s), reads {reads:?} ({:.0} req/s); \
         server timeouts set aside and redone: {} writes, {} reads",
        10_000.0 / writes.as_secs_f64(),
        10_000.0 / reads.as_secs_f64(),
        slow_writes.len(),
        slow_reads.len()
    );
    s.close().await;
}
