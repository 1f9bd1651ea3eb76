//! Paging streams against the real cluster: a 100,000-row partition and a
//! multi-partition table, typed rows and pages, resume from a saved state (prepared
//! and unprepared), manual paging, drop mid-stream (request count on the
//! connections), 100 streams at once, and with faults: the per-page timeout, the
//! overall deadline, and a page retried on another node without duplicates or gaps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use ringbolt::{
    Batch, BatchKind, Consistency, Error, PagingState, Session, Statement, StreamConfig,
};
use tokio::sync::OnceCell;

use crate::{faults, harness};

/// Rows in the big partition (pk = 0 of `big`).
const BIG_ROWS: i32 = 100_000;
/// Partitions and rows per partition of `multi`.
const MULTI_PARTITIONS: i32 = 200;
const MULTI_ROWS: i32 = 50;

fn value(pk: i32, ck: i32) -> String {
    format!("value-{pk}-{ck:06}")
}

/// Inserts rows `(pk, ck, value(pk, ck))` for ck in `0..rows` of each partition, in
/// unlogged single-partition batches, 16 at a time, at consistency ALL (so that a
/// read at ONE on any replica sees every row).
async fn load(s: &Session, table: &str, partitions: std::ops::Range<i32>, rows: i32) {
    let insert = &s
        .prepare(
            Statement::new(format!("INSERT INTO {table} (pk, ck, v) VALUES (?, ?, ?)"))
                .with_consistency(Consistency::All),
        )
        .await
        .unwrap();
    const PER_BATCH: i32 = 100;
    let mut batch = Batch::new(BatchKind::Unlogged).with_consistency(Consistency::All);
    for _ in 0..PER_BATCH {
        batch = batch.with_prepared(insert);
    }
    let batch = &batch;
    let chunks =
        partitions.flat_map(|pk| (0..rows).step_by(PER_BATCH as usize).map(move |c| (pk, c)));
    futures_util::stream::iter(chunks)
        .map(|(pk, from)| async move {
            let to = (from + PER_BATCH).min(rows);
            let values: Vec<(i32, i32, String)> =
                (from..to).map(|ck| (pk, ck, value(pk, ck))).collect();
            if values.len() == PER_BATCH as usize {
                s.batch(batch, &values).await.unwrap();
            } else {
                for v in values {
                    s.execute(insert, v).await.unwrap();
                }
            }
        })
        .buffer_unordered(16)
        .collect::<()>()
        .await;
}

/// The keyspace holding `big` (one 100,000-row partition) and `multi`
/// (200 partitions of 50 rows), created and loaded once per test run.
async fn tables(s: &Session) -> &'static str {
    static KS: OnceCell<String> = OnceCell::const_new();
    KS.get_or_init(|| async {
        let ks = harness::keyspace(s, "paging", 3).await;
        for t in ["big", "multi"] {
            s.query(
                format!("CREATE TABLE {ks}.{t} (pk int, ck int, v text, PRIMARY KEY (pk, ck))"),
                (),
            )
            .await
            .unwrap();
        }
        let t0 = Instant::now();
        load(s, &format!("{ks}.big"), 0..1, BIG_ROWS).await;
        load(s, &format!("{ks}.multi"), 0..MULTI_PARTITIONS, MULTI_ROWS).await;
        eprintln!("paging: loaded the test tables in {:?}", t0.elapsed());
        ks
    })
    .await
}

fn check_big_rows(rows: &[(i32, String)], from: i32) {
    assert_eq!(rows.len(), (BIG_ROWS - from) as usize);
    for (i, (ck, v)) in rows.iter().enumerate() {
        let want = from + i as i32;
        assert_eq!(*ck, want, "row {i}");
        assert_eq!(*v, value(0, want));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_partition_streams_every_row_in_order() {
    let s = harness::session().await;
    let ks = tables(&s).await;
    let select = s
        .prepare(format!("SELECT ck, v FROM {ks}.big WHERE pk = ?"))
        .await
        .unwrap();
    let pages = Arc::new(AtomicU64::new(0));
    let seen = pages.clone();
    let config = StreamConfig::default()
        .page_size(5_000)
        .on_progress(move |p| seen.store(p.page, Ordering::Relaxed));
    let before = s.requests_sent();
    let mut stream = s.stream(&select, (0_i32,), config).await.unwrap().rows();
    let mut rows: Vec<(i32, String)> = Vec::new();
    while let Some(row) = stream.try_next().await.unwrap() {
        rows.push(row);
    }
    check_big_rows(&rows, 0);
    assert!(stream.is_exhausted());
    let pages = pages.load(Ordering::Relaxed);
    // 20 full pages, plus possibly an empty last one when the server could not
    // tell that the 20th was the end
    assert!((20..=21).contains(&pages), "{pages} pages");
    // one request per page, plus at most two per node for a transparent re-prepare
    // (a statement is prepared on one node; another answers UNPREPARED once)
    let sent = s.requests_sent() - before;
    assert!(
        (pages..=pages + 6).contains(&sent),
        "{sent} requests for {pages} pages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_partition_scan_yields_every_row_once() {
    let s = harness::session().await;
    let ks = tables(&s).await;
    // unprepared, pages form, small pages crossing partition boundaries
    let mut pages = s
        .stream(
            format!("SELECT pk, ck, v FROM {ks}.multi"),
            (),
            StreamConfig::default().page_size(333).prefetch(2),
        )
        .await
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        assert!(page.rows_count() <= 333);
        for row in page.rows_typed::<(i32, i32, String)>().unwrap() {
            let (pk, ck, v) = row.unwrap();
            assert_eq!(v, value(pk, ck));
            assert!(seen.insert((pk, ck)), "duplicate row {pk}/{ck}");
            count += 1;
        }
    }
    assert_eq!(count, MULTI_PARTITIONS * MULTI_ROWS);
    assert!(pages.is_exhausted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_from_a_saved_state_prepared_and_unprepared() {
    let s = harness::session().await;
    let ks = tables(&s).await;
    let text = format!("SELECT ck, v FROM {ks}.big WHERE pk = ?");
    let prepared = s.prepare(text.as_str()).await.unwrap();
    let statements: [ringbolt::PagedStatement; 2] =
        [Statement::new(text.as_str()).into(), prepared.into()];
    for statement in statements {
        // read exactly three pages of rows, save the state as bytes
        let config = StreamConfig::default().page_size(1_000);
        let mut rows = s
            .stream(statement.clone(), (0_i32,), config.clone())
            .await
            .unwrap()
            .rows::<(i32, String)>();
        let mut got = Vec::new();
        for _ in 0..3_000 {
            got.push(rows.try_next().await.unwrap().unwrap());
        }
        assert_eq!(rows.rows_into_page(), 0);
        let saved = rows.paging_state().unwrap().as_bytes().to_vec();
        drop(rows);
        let resumed = config.resume_from(PagingState::from_bytes(saved));
        let rest: Vec<(i32, String)> = s
            .stream(statement.clone(), (0_i32,), resumed)
            .await
            .unwrap()
            .rows::<(i32, String)>()
            .try_collect()
            .await
            .unwrap();
        got.extend(rest);
        check_big_rows(&got, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_rows_stops_exactly_and_resumes_after_it() {
    let s = harness::session().await;
    let ks = tables(&s).await;
    let select = s
        .prepare(format!("SELECT ck, v FROM {ks}.big WHERE pk = ?"))
        .await
        .unwrap();
    let config = StreamConfig::default().page_size(1_000).max_rows(2_500);
    let mut rows = s.stream(&select, (0_i32,), config).await.unwrap().rows();
    let mut got: Vec<(i32, String)> = Vec::new();
    while let Some(r) = rows.try_next().await.unwrap() {
        got.push(r);
    }
    assert_eq!(got.len(), 2_500);
    let state = rows.paging_state().cloned().unwrap();
    let config = StreamConfig::default()
        .page_size(1_000)
        .max_pages(2)
        .resume_from(state);
    let mut pages = s.stream(&select, (0_i32,), config).await.unwrap();
    let mut n = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        for r in page.rows_typed::<(i32, String)>().unwrap() {
            got.push(r.unwrap());
        }
        n += 1;
    }
    assert_eq!(n, 2);
    assert_eq!(got.len(), 4_500);
    for (i, (ck, _)) in got.iter().enumerate() {
        assert_eq!(*ck, i as i32);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_paging_matches_the_stream() {
    let s = harness::session().await;
    let ks = tables(&s).await;
    let select = Statement::new(format!("SELECT pk, ck FROM {ks}.multi")).with_page_size(777);
    let mut state = None;
    let mut manual = Vec::new();
    loop {
        let (page, next) = s.fetch_page(&select, (), state).await.unwrap();
        for r in page.rows_typed::<(i32, i32)>().unwrap() {
            manual.push(r.unwrap());
        }
        match next {
            Some(n) => state = Some(n),
            None => break,
        }
    }
    let streamed: Vec<(i32, i32)> = s
        .stream(&select, (), StreamConfig::default())
        .await
        .unwrap()
        .rows::<(i32, i32)>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(manual.len(), (MULTI_PARTITIONS * MULTI_ROWS) as usize);
    assert_eq!(manual, streamed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_sends_no_further_page_request() {
    let s = harness::session().await;
    let ks = tables(&s).await;
    let select = s
        .prepare(format!("SELECT ck, v FROM {ks}.big WHERE pk = ?"))
        .await
        .unwrap();
    let before = s.requests_sent();
    let mut rows = s
        .stream(&select, (0_i32,), StreamConfig::default().page_size(5_000))
        .await
        .unwrap()
        .rows::<(i32, String)>();
    for _ in 0..7_000 {
        rows.try_next().await.unwrap().unwrap();
    }
    drop(rows);
    // page 1 read, page 2 being read, page 3 prefetched (possibly still in flight);
    // re-prepares on other nodes may add requests
    let at_drop = s.requests_sent() - before;
    assert!(at_drop >= 3, "{at_drop}");
    // Nothing runs in the background: only our own three queries follow.
    for _ in 0..3 {
        s.query("SELECT release_version FROM system.local", ())
            .await
            .unwrap();
    }
    assert_eq!(s.requests_sent() - before, at_drop + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_streams_at_once() {
    let s = harness::session().await;
    let ks = tables(&s).await;
    let select = s
        .prepare(format!("SELECT pk, ck, v FROM {ks}.multi WHERE pk = ?"))
        .await
        .unwrap();
    let streams = (0..100_i32).map(|pk| {
        let (s, select) = (s.session.clone(), select.clone());
        tokio::spawn(async move {
            let config = StreamConfig::default().page_size(7);
            let rows: Vec<(i32, i32, String)> = s
                .stream(&select, (pk,), config)
                .await
                .unwrap()
                .rows::<(i32, i32, String)>()
                .try_collect()
                .await
                .unwrap();
            (pk, rows)
        })
    });
    let results = futures_util::future::join_all(streams).await;
    for r in results {
        let (pk, rows) = r.unwrap();
        assert_eq!(rows.len(), MULTI_ROWS as usize, "partition {pk}");
        for (i, (p, ck, v)) in rows.into_iter().enumerate() {
            assert_eq!((p, ck), (pk, i as i32));
            assert_eq!(v, value(pk, ck));
        }
    }
}

/// Node number of a coordinator on the local cluster (127.0.0.N).
fn node_of(addr: std::net::SocketAddr) -> u8 {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.octets()[3],
        other => panic!("unexpected node address {other}"),
    }
}

/// A fresh RF=1 table with one 50-row partition, for the timeout tests.
async fn small_table(s: &Session) -> String {
    let ks = harness::keyspace(s, "pagingto", 1).await;
    let table = format!("{ks}.t");
    s.query(
        format!("CREATE TABLE {table} (pk int, ck int, v text, PRIMARY KEY (pk, ck))"),
        (),
    )
    .await
    .unwrap();
    load(s, &table, 0..1, 50).await;
    table
}

/// Reads page 1 of the small table, freezes every node, and returns what the next
/// page gives (then whether the stream ended).
async fn next_page_with_replica_paused(
    config: StreamConfig,
) -> (Option<Result<usize, Error>>, bool) {
    let s = harness::session().await;
    let table = small_table(&s).await;
    drop(s);
    let _excl = harness::exclusive().await;
    let s = Session::builder()
        .contact_points(harness::contact_points())
        .local_dc("datacenter1")
        .build()
        .await
        .unwrap();
    let select = s
        .prepare(format!("SELECT ck, v FROM {table} WHERE pk = ?"))
        .await
        .unwrap();
    let mut pages = s
        .stream(&select, (0_i32,), config.page_size(10).prefetch(0))
        .await
        .unwrap();
    assert_eq!(pages.try_next().await.unwrap().unwrap().rows_count(), 10);
    let t0 = Instant::now();
    let next = {
        let _paused: Vec<_> = harness::nodes()
            .into_iter()
            .map(|a| faults::pause(node_of(a)))
            .collect();
        pages.next().await.map(|r| r.map(|p| p.rows_count()))
    };
    eprintln!(
        "paging: the page with its replica paused ended after {:?}",
        t0.elapsed()
    );
    let ended = pages.next().await.is_none();
    s.close().await;
    (next, ended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_page_timeout_fails_the_page_and_ends_the_stream() {
    let config = StreamConfig::default().page_timeout(Duration::from_secs(1));
    let (next, ended) = next_page_with_replica_paused(config).await;
    assert!(matches!(next, Some(Err(Error::Timeout(_)))), "{next:?}");
    assert!(ended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overall_deadline_fails_the_stream() {
    // the pages' own deadline (12 s) is far away; the stream's comes first
    let config = StreamConfig::default().deadline(Duration::from_secs(2));
    let (next, ended) = next_page_with_replica_paused(config).await;
    assert!(matches!(next, Some(Err(Error::Timeout(_)))), "{next:?}");
    assert!(ended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_retried_on_another_node_neither_repeats_nor_skips_rows() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "pagingretry", 3).await;
    let table = format!("{ks}.t");
    s.query(
        format!("CREATE TABLE {table} (pk int, ck int, v text, PRIMARY KEY (pk, ck))"),
        (),
    )
    .await
    .unwrap();
    load(&s, &table, 0..1, 6_000).await;
    drop(s);
    let _excl = harness::exclusive().await;
    // Long enough for a loaded machine's healthy nodes (500 ms timed all three out on a
    // 2-core box with two busy loops), short enough to retry well inside the deadline.
    let s = Session::builder()
        .contact_points(harness::contact_points())
        .local_dc("datacenter1")
        .attempt_timeout(Duration::from_secs(2))
        .build()
        .await
        .unwrap();
    // `build` returns once one pool has a connection: the retry needs the others too.
    let t0 = Instant::now();
    while !s.hosts().iter().all(|h| h.state == ringbolt::HostState::Up) {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "hosts not all up: {:?}",
            s.hosts()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let select = s
        .prepare(
            Statement::new(format!("SELECT ck, v FROM {table} WHERE pk = ?"))
                .with_idempotent(true)
                .with_consistency(Consistency::One),
        )
        .await
        .unwrap();
    let config = StreamConfig::default().page_size(100).prefetch(0);
    let mut pages = s.stream(&select, (0_i32,), config).await.unwrap();
    let mut got: Vec<(i32, String)> = Vec::new();
    let mut take = |page: ringbolt::QueryResult| {
        for r in page.rows_typed::<(i32, String)>().unwrap() {
            got.push(r.unwrap());
        }
        page.coordinator()
    };
    let first = take(pages.try_next().await.unwrap().unwrap());
    let mut retried = 0;
    {
        let _paused = faults::pause(node_of(first));
        // read pages until one was retried (its first attempt went to the frozen node)
        for _ in 0..30 {
            let before = s.requests_sent();
            let Some(page) = pages.try_next().await.unwrap() else {
                break;
            };
            assert_ne!(take(page), first);
            if s.requests_sent() - before > 1 {
                retried += 1;
                break;
            }
        }
    }
    while let Some(page) = pages.try_next().await.unwrap() {
        take(page);
    }
    assert!(
        retried > 0,
        "no page went to the paused node first in 30 pages"
    );
    assert_eq!(got.len(), 6_000);
    for (i, (ck, v)) in got.iter().enumerate() {
        assert_eq!(*ck, i as i32);
        assert_eq!(*v, value(0, *ck));
    }
    s.close().await;
}
