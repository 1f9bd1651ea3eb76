//! Unit tests of the paging state machine against a scripted in-memory "server":
//! rows 0..n of one bigint column, paging state = the next row index.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::time::Instant;

use super::*;
use crate::protocol::response::{ResponseEnvelope, ResultBody, Rows, RowsMetadata};
use crate::session::execute::Outcome;
use crate::{ColumnSpec, ColumnType};

fn page(from: u64, to: u64, total: u64) -> QueryResult {
    let mut content = BytesMut::new();
    for v in from..to {
        content.put_i32(8);
        content.put_i64(v as i64);
    }
    let state = (to < total).then(|| Bytes::copy_from_slice(&to.to_be_bytes()));
    let metadata =
        RowsMetadata::new(vec![ColumnSpec::new("v", ColumnType::Bigint)]).with_paging_state(state);
    QueryResult::from_outcome(Outcome {
        envelope: ResponseEnvelope::default(),
        result: ResultBody::Rows(Rows {
            metadata,
            rows_count: (to - from) as usize,
            rows_content: content.freeze(),
        }),
        host: "127.0.0.1:9042".parse().unwrap(),
        metadata: None,
    })
}

fn start_of(state: &Option<PagingState>) -> u64 {
    state.as_ref().map_or(0, |s| {
        u64::from_be_bytes(s.as_bytes().try_into().expect("8-byte test state"))
    })
}

/// A scripted server: `total` rows; the page starting at `fail_at` fails once per
/// entry in `failures`; every request is logged.
#[derive(Clone, Default)]
struct Server {
    total: u64,
    log: Arc<Mutex<Vec<PageRequest>>>,
    fail_at: Option<u64>,
    /// Futures alive (started and not yet dropped or finished).
    alive: Arc<AtomicUsize>,
    /// Requests for pages starting at or after this row never complete.
    hang_from: Option<u64>,
    /// Each page takes this long (a timer wakes the stream).
    delay: Option<Duration>,
}

struct Alive(Arc<AtomicUsize>);
impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Server {
    fn new(total: u64) -> Self {
        Self {
            total,
            ..Self::default()
        }
    }

    fn fetcher(&self) -> Fetcher {
        let s = self.clone();
        Box::new(move |req: PageRequest| -> PageFuture {
            s.log.lock().unwrap().push(req.clone());
            s.alive.fetch_add(1, Ordering::SeqCst);
            let alive = Alive(s.alive.clone());
            let (total, fail_at, hang_from, delay) = (s.total, s.fail_at, s.hang_from, s.delay);
            Box::pin(async move {
                let _alive = alive;
                if let Some(d) = delay {
                    tokio::time::sleep(d).await;
                }
                let from = start_of(&req.paging_state);
                if hang_from.is_some_and(|h| from >= h) {
                    std::future::pending::<()>().await;
                }
                if Some(from) == fail_at {
                    return Err(Error::Closed);
                }
                let to = (from + req.page_size as u64).min(total);
                Ok(page(from, to, total))
            })
        })
    }

    fn requests(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

fn plan(page_size: i32, prefetch: usize) -> Plan {
    Plan {
        page_size,
        prefetch,
        page_timeout: None,
        deadline: None,
        started: Instant::now(),
        max_pages: None,
        max_rows: None,
        progress: None,
    }
}

async fn open(server: &Server, plan: Plan, start: Option<PagingState>) -> PageStream {
    let mut s = PageStream::new(server.fetcher(), plan, start);
    s.first_page().await.unwrap();
    s
}

async fn collect_rows(rows: &mut RowStream<(i64,)>) -> Vec<i64> {
    let mut out = Vec::new();
    while let Some(r) = rows.next().await {
        out.push(r.unwrap().0);
    }
    out
}

#[tokio::test]
async fn rows_in_order_across_pages() {
    let server = Server::new(23);
    let mut rows = open(&server, plan(5, 1), None).await.rows::<(i64,)>();
    assert_eq!(collect_rows(&mut rows).await, (0..23).collect::<Vec<_>>());
    assert_eq!(server.requests(), 5);
    assert!(rows.is_exhausted());
    assert_eq!(rows.paging_state(), None);
}

#[tokio::test]
async fn never_holds_more_than_one_plus_prefetch_pages() {
    for prefetch in [0, 1, 3] {
        let server = Server::new(100);
        let mut rows = open(&server, plan(4, prefetch), None)
            .await
            .rows::<(i64,)>();
        let mut n = 0u64;
        while let Some(r) = rows.next().await {
            r.unwrap();
            n += 1;
            // pages requested minus pages fully read = pages held (in flight included)
            let held = server.requests() as u64 - n / 4;
            assert!(
                held <= 1 + prefetch as u64,
                "prefetch {prefetch}: {held} held"
            );
        }
        assert_eq!(n, 100);
    }
}

#[tokio::test]
async fn prefetch_zero_fetches_only_on_demand() {
    let server = Server::new(10);
    let mut pages = open(&server, plan(5, 0), None).await;
    assert_eq!(server.requests(), 1);
    let p1 = pages.next().await.unwrap().unwrap();
    assert_eq!(p1.rows_count(), 5);
    assert_eq!(
        server.requests(),
        1,
        "nothing fetched before it is asked for"
    );
    let p2 = pages.next().await.unwrap().unwrap();
    assert_eq!(p2.rows_count(), 5);
    assert_eq!(server.requests(), 2);
    assert!(pages.next().await.is_none());
}

#[tokio::test]
async fn prefetch_one_fetches_ahead_of_the_reader() {
    let server = Server::new(15);
    let mut pages = open(&server, plan(5, 1), None).await;
    let _p1 = pages.next().await.unwrap().unwrap();
    assert_eq!(
        server.requests(),
        2,
        "page 2 requested while page 1 is read"
    );
}

#[tokio::test]
async fn drop_cancels_the_request_in_flight_and_fetches_nothing_more() {
    let server = Server {
        hang_from: Some(5),
        ..Server::new(100)
    };
    let mut pages = open(&server, plan(5, 1), None).await;
    let _p1 = pages.next().await.unwrap().unwrap();
    assert_eq!(server.alive.load(Ordering::SeqCst), 1, "page 2 in flight");
    let before = server.requests();
    drop(pages);
    assert_eq!(
        server.alive.load(Ordering::SeqCst),
        0,
        "in-flight page dropped"
    );
    assert_eq!(server.requests(), before);
}

#[tokio::test]
async fn error_comes_after_the_rows_before_it_then_the_stream_ends() {
    let server = Server {
        fail_at: Some(10),
        ..Server::new(30)
    };
    let mut rows = open(&server, plan(5, 1), None).await.rows::<(i64,)>();
    let mut got = Vec::new();
    let err = loop {
        match rows.next().await.unwrap() {
            Ok((v,)) => got.push(v),
            Err(e) => break e,
        }
    };
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert!(matches!(err, Error::Closed), "{err:?}");
    assert!(rows.next().await.is_none());
    // resumable from where it failed
    assert_eq!(start_of(&rows.paging_state().cloned()), 10);
}

#[tokio::test]
async fn resume_yields_exactly_the_rows_not_yet_yielded() {
    let server = Server::new(37);
    let mut rows = open(&server, plan(6, 1), None).await.rows::<(i64,)>();
    let mut first = Vec::new();
    for _ in 0..12 {
        first.push(rows.next().await.unwrap().unwrap().0);
    }
    assert_eq!(rows.rows_into_page(), 0);
    let state = rows.paging_state().cloned().unwrap();
    drop(rows);
    let mut rest = open(&server, plan(6, 1), Some(state))
        .await
        .rows::<(i64,)>();
    first.extend(collect_rows(&mut rest).await);
    assert_eq!(first, (0..37).collect::<Vec<_>>());
}

#[tokio::test]
async fn pages_form_commits_each_page_as_it_is_yielded() {
    let server = Server::new(12);
    let mut pages = open(&server, plan(5, 1), None).await;
    assert_eq!(pages.paging_state(), None);
    pages.next().await.unwrap().unwrap();
    assert_eq!(start_of(&pages.paging_state().cloned()), 5);
    assert!(!pages.is_exhausted());
    pages.next().await.unwrap().unwrap();
    pages.next().await.unwrap().unwrap();
    assert!(pages.is_exhausted());
    assert!(pages.next().await.is_none());
}

#[tokio::test]
async fn max_rows_asks_only_for_what_is_left() {
    let server = Server::new(100);
    let mut p = plan(5, 1);
    p.max_rows = Some(7);
    let mut rows = open(&server, p, None).await.rows::<(i64,)>();
    assert_eq!(collect_rows(&mut rows).await, (0..7).collect::<Vec<_>>());
    let sizes: Vec<i32> = server
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.page_size)
        .collect();
    assert_eq!(sizes, [5, 2]);
    assert_eq!(start_of(&rows.paging_state().cloned()), 7);
    assert!(!rows.is_exhausted());
}

#[tokio::test]
async fn max_pages_stops_cleanly() {
    let server = Server::new(100);
    let mut p = plan(5, 2);
    p.max_pages = Some(2);
    let pages: Vec<_> = open(&server, p, None).await.collect().await;
    assert_eq!(pages.len(), 2);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn progress_hook_sees_every_page() {
    let server = Server::new(12);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut p = plan(5, 1);
    let s = seen.clone();
    p.progress = Some(Arc::new(move |pr| {
        s.lock().unwrap().push((pr.page, pr.rows))
    }));
    let mut rows = open(&server, p, None).await.rows::<(i64,)>();
    collect_rows(&mut rows).await;
    assert_eq!(*seen.lock().unwrap(), [(1, 5), (2, 10), (3, 12)]);
}

#[tokio::test(start_paused = true)]
async fn overall_deadline_stops_the_next_page() {
    let server = Server::new(20);
    let mut p = plan(5, 0);
    p.deadline = Some(Instant::now() + Duration::from_secs(5));
    let mut pages = open(&server, p, None).await;
    pages.next().await.unwrap().unwrap();
    tokio::time::advance(Duration::from_secs(6)).await;
    let err = pages.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(pages.next().await.is_none());
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn page_requests_carry_the_timeouts() {
    let server = Server::new(10);
    let mut p = plan(5, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    p.deadline = Some(deadline);
    p.page_timeout = Some(Duration::from_secs(3));
    let _ = open(&server, p, None).await;
    let req = server.log.lock().unwrap()[0].clone();
    assert_eq!(req.page_timeout, Some(Duration::from_secs(3)));
    assert_eq!(req.overall, Some(deadline));
}

#[tokio::test]
async fn type_mismatch_is_an_error_item() {
    let server = Server::new(10);
    let mut rows = open(&server, plan(5, 1), None).await.rows::<(String,)>();
    let err = rows.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Deserialization(_)), "{err:?}");
    assert!(rows.next().await.is_none());
}

#[tokio::test]
async fn zero_limits_fetch_nothing() {
    let server = Server::new(10);
    let mut p = plan(5, 1);
    p.max_pages = Some(0);
    let mut pages = open(&server, p, None).await;
    assert!(pages.next().await.is_none());
    assert_eq!(server.requests(), 0);
}

#[tokio::test(start_paused = true)]
async fn pages_that_arrive_later_wake_the_reader() {
    for prefetch in [0, 1, 2] {
        let server = Server {
            delay: Some(Duration::from_millis(10)),
            ..Server::new(50)
        };
        let mut rows = open(&server, plan(7, prefetch), None)
            .await
            .rows::<(i64,)>();
        assert_eq!(collect_rows(&mut rows).await, (0..50).collect::<Vec<_>>());
        assert_eq!(server.requests(), 8);
    }
}

#[tokio::test(start_paused = true)]
async fn a_spawned_reader_is_woken_across_tasks() {
    let server = Server {
        delay: Some(Duration::from_millis(10)),
        ..Server::new(30)
    };
    let rows = open(&server, plan(4, 1), None).await.rows::<(i64,)>();
    let got = tokio::spawn(async move {
        let mut rows = rows;
        collect_rows(&mut rows).await
    })
    .await
    .unwrap();
    assert_eq!(got, (0..30).collect::<Vec<_>>());
}
