//! The paging state machine: `PageStream` (pages as `QueryResult`s) and `RowStream<R>`
//! (owned typed rows). At most one page request is in flight and at most
//! `1 + prefetch` pages are held (the in-flight one counts). Fetching is injected as a
//! `Fetcher`, so this file knows nothing of sessions; `paging.rs` does the wiring.

use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_core::Stream;
use tokio::time::Instant;

use super::{Progress, ProgressHook};
use crate::error::{Error, RequestTimeout};
use crate::row::{DeserializeRow, RowSet};
use crate::session::{PagingState, QueryResult};

/// One page request, boxed so the stream can own it (and drop it, which cancels it).
pub(crate) type PageFuture = Pin<Box<dyn Future<Output = Result<QueryResult, Error>> + Send>>;

/// Starts a page request. Called from `poll_next`, never from a spawned task.
pub(crate) type Fetcher = Box<dyn FnMut(PageRequest) -> PageFuture + Send>;

/// What one page request needs beside the statement.
#[derive(Debug, Clone)]
pub(crate) struct PageRequest {
    pub(crate) paging_state: Option<PagingState>,
    pub(crate) page_size: i32,
    /// The page's own deadline from its start (`None`: the statement's timeout).
    pub(crate) page_timeout: Option<Duration>,
    /// The stream's overall deadline, which also bounds the page.
    pub(crate) overall: Option<Instant>,
}

/// A `StreamConfig` resolved against the statement and the session.
pub(crate) struct Plan {
    pub(crate) page_size: i32,
    pub(crate) prefetch: usize,
    pub(crate) page_timeout: Option<Duration>,
    pub(crate) deadline: Option<Instant>,
    pub(crate) started: Instant,
    pub(crate) max_pages: Option<u64>,
    pub(crate) max_rows: Option<u64>,
    pub(crate) progress: Option<ProgressHook>,
}

/// The waker the in-flight page is polled with: it records that the page has news
/// and wakes the consumer. Rows are then yielded without polling the page each time
/// (a poll of the request future per row costs more than decoding the row).
#[derive(Default)]
struct PageWake {
    woken: AtomicBool,
    consumer: Mutex<Option<Waker>>,
}

impl PageWake {
    /// Remembers the waker of the task that reads the stream.
    fn register(&self, waker: &Waker) {
        if let Ok(mut w) = self.consumer.lock() {
            match &mut *w {
                Some(old) if old.will_wake(waker) => {}
                slot => *slot = Some(waker.clone()),
            }
        }
    }
}

impl Wake for PageWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Ok(w) = self.consumer.lock() {
            if let Some(w) = &*w {
                w.wake_by_ref();
            }
        }
    }
}

/// A stream of result pages (`QueryResult`s), from [`Session::stream`].
///
/// Pages are fetched one at a time through the session's execution core (same
/// retries, deadlines and errors as any request). While the caller works on a page,
/// up to `prefetch` further pages are fetched ahead; the stream never holds more
/// than `1 + prefetch` pages, counting the one being received. A page that fails
/// after its retries is yielded as an error, after every page before it, and the
/// stream ends. Dropping the stream drops the in-flight request at once (its stream
/// id is left to the connection as an orphan): no task keeps running.
///
/// [`Session::stream`]: crate::Session::stream
pub struct PageStream {
    fetcher: Fetcher,
    plan: Plan,
    /// Pages received and not yet handed to the caller.
    ready: VecDeque<QueryResult>,
    inflight: Option<PageFuture>,
    wake: Arc<PageWake>,
    /// `wake` as a `Waker`, made once.
    waker: Waker,
    /// Where the next request starts.
    next_state: Option<PagingState>,
    /// The server announced more pages after the last one received.
    more: bool,
    fetched_pages: u64,
    fetched_rows: u64,
    handed_pages: u64,
    handed_rows: u64,
    /// Where the rows not yet yielded start.
    committed: Option<PagingState>,
    exhausted: bool,
    failed: Option<Error>,
    finished: bool,
}

impl std::fmt::Debug for PageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageStream")
            .field("pages_fetched", &self.fetched_pages)
            .field("pages_ready", &self.ready.len())
            .field("in_flight", &self.inflight.is_some())
            .field("finished", &self.finished)
            .finish()
    }
}

impl PageStream {
    pub(crate) fn new(fetcher: Fetcher, plan: Plan, start: Option<PagingState>) -> Self {
        let nothing = plan.max_pages == Some(0) || plan.max_rows == Some(0);
        let wake = Arc::new(PageWake::default());
        Self {
            fetcher,
            plan,
            ready: VecDeque::new(),
            inflight: None,
            waker: Waker::from(wake.clone()),
            wake,
            next_state: start.clone(),
            more: !nothing,
            fetched_pages: 0,
            fetched_rows: 0,
            handed_pages: 0,
            handed_rows: 0,
            committed: start,
            exhausted: nothing,
            failed: None,
            finished: false,
        }
    }

    /// Fetches the first page (so that `Session::stream(..).await` reports errors
    /// such as a syntax error right away).
    pub(crate) async fn first_page(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| {
            self.drive(cx, 0);
            // ready once a page (or a failure) is in, not waiting for the prefetch
            while self.ready.is_empty() && self.inflight.is_some() {
                self.wake.register(cx.waker());
                if !self.wake.woken.load(Ordering::Acquire) {
                    return Poll::Pending;
                }
                self.drive(cx, 0);
            }
            Poll::Ready(())
        })
        .await;
        match self.failed.take_if(|_| self.ready.is_empty()) {
            Some(e) => {
                self.finished = true;
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Typed rows instead of pages: each item is one row decoded as `R` (an owned
    /// type such as a tuple or a `#[derive(FromRow)]` struct). The column types are
    /// checked once per page.
    pub fn rows<R>(self) -> RowStream<R>
    where
        R: for<'a> DeserializeRow<'a>,
    {
        RowStream {
            pages: self,
            current: None,
            yielded: 0,
            _r: PhantomData,
        }
    }

    /// Where the rows not yet yielded start: after each page is handed over (pages
    /// form) or fully read (rows form), the paging state that follows it. Pass it to
    /// [`StreamConfig::resume_from`](super::StreamConfig::resume_from) to continue in
    /// a new stream. Before the first page it is the state the stream started from;
    /// `None` then means "from the beginning". Once every page was yielded it is
    /// `None` and [`PageStream::is_exhausted`] is true.
    pub fn paging_state(&self) -> Option<&PagingState> {
        self.committed.as_ref()
    }

    /// True once the last page of the result was yielded (nothing left to resume).
    pub fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// Pages handed to the caller so far.
    pub fn pages_yielded(&self) -> u64 {
        self.handed_pages
    }

    fn limit_reached(&self) -> bool {
        self.plan.max_pages.is_some_and(|m| self.fetched_pages >= m)
            || self.plan.max_rows.is_some_and(|m| self.fetched_rows >= m)
    }

    fn can_fetch(&self) -> bool {
        self.more
            && self.inflight.is_none()
            && self.failed.is_none()
            && !self.finished
            && !self.limit_reached()
    }

    /// Polls the in-flight page and starts the next one while the pages held
    /// (`ready` plus `held_outside`, the rows form's current page) leave room for it
    /// under `1 + prefetch`. Failures are parked in `failed`, to be yielded in order.
    fn drive(&mut self, cx: &mut Context<'_>, held_outside: usize) {
        loop {
            if let Some(f) = self.inflight.as_mut() {
                if !self.wake.woken.swap(false, Ordering::AcqRel) {
                    return; // nothing new since the last poll
                }
                self.wake.register(cx.waker());
                match f.as_mut().poll(&mut Context::from_waker(&self.waker)) {
                    Poll::Pending => return,
                    Poll::Ready(Ok(page)) => {
                        self.inflight = None;
                        self.accept(page);
                    }
                    Poll::Ready(Err(e)) => {
                        self.inflight = None;
                        self.failed = Some(e);
                        return;
                    }
                }
            }
            // a new request is one more page held: held + 1 <= 1 + prefetch
            if !self.can_fetch() || self.ready.len() + held_outside > self.plan.prefetch {
                return;
            }
            match self.start() {
                Ok(f) => {
                    self.inflight = Some(f);
                    // polled at once (loop): that sends the request
                    self.wake.woken.store(true, Ordering::Release);
                }
                Err(e) => {
                    self.failed = Some(e);
                    return;
                }
            }
        }
    }

    fn start(&mut self) -> Result<PageFuture, Error> {
        if let Some(d) = self.plan.deadline {
            if Instant::now() >= d {
                return Err(Error::Timeout(RequestTimeout {
                    elapsed: self.plan.started.elapsed(),
                    attempts: 0,
                    maybe_executed: false,
                }));
            }
        }
        let mut page_size = self.plan.page_size;
        if let Some(max) = self.plan.max_rows {
            // never ask for rows past the limit, so the last page ends exactly there
            let left = max.saturating_sub(self.fetched_rows).max(1);
            page_size = page_size.min(i32::try_from(left).unwrap_or(i32::MAX));
        }
        Ok((self.fetcher)(PageRequest {
            paging_state: self.next_state.clone(),
            page_size,
            page_timeout: self.plan.page_timeout,
            overall: self.plan.deadline,
        }))
    }

    fn accept(&mut self, page: QueryResult) {
        self.fetched_pages += 1;
        self.fetched_rows += page.rows_count() as u64;
        self.next_state = page.paging_state().cloned();
        self.more = self.next_state.is_some();
        self.ready.push_back(page);
    }

    /// The next page in order, an error in its place, or the end.
    fn next_page(
        &mut self,
        cx: &mut Context<'_>,
        held_outside: usize,
    ) -> Poll<Option<Result<QueryResult, Error>>> {
        if self.finished {
            return Poll::Ready(None);
        }
        self.drive(cx, held_outside);
        while self.ready.is_empty() && self.failed.is_none() && self.inflight.is_some() {
            // about to wait: make sure the page wakes this task, then look once more
            // (it may have woken an older waker in between)
            self.wake.register(cx.waker());
            if !self.wake.woken.load(Ordering::Acquire) {
                return Poll::Pending;
            }
            self.drive(cx, held_outside);
        }
        if let Some(page) = self.ready.pop_front() {
            self.handed_pages += 1;
            self.handed_rows += page.rows_count() as u64;
            if let Some(hook) = &self.plan.progress {
                hook(Progress {
                    page: self.handed_pages,
                    rows: self.handed_rows,
                });
            }
            return Poll::Ready(Some(Ok(page)));
        }
        if let Some(e) = self.failed.take() {
            self.finish();
            return Poll::Ready(Some(Err(e)));
        }
        self.finish();
        Poll::Ready(None)
    }

    /// Records that every row of a page up to `next` was yielded.
    fn commit(&mut self, next: Option<PagingState>) {
        self.exhausted = next.is_none();
        self.committed = next;
    }

    fn finish(&mut self) {
        self.finished = true;
        self.inflight = None;
        self.ready.clear();
    }
}

impl Stream for PageStream {
    type Item = Result<QueryResult, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = std::task::ready!(this.next_page(cx, 0));
        if let Some(Ok(page)) = &item {
            this.commit(page.paging_state().cloned());
        }
        Poll::Ready(item)
    }
}

/// The page whose rows a `RowStream` is reading.
struct Current {
    rows: RowSet,
    offset: usize,
    left: usize,
    next: Option<PagingState>,
}

/// A stream of typed rows, from [`PageStream::rows`]. Holds at most `1 + prefetch`
/// pages (the one being read counts); decoding is lazy, one row per item.
pub struct RowStream<R> {
    pages: PageStream,
    current: Option<Current>,
    yielded: u64,
    _r: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for RowStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("pages", &self.pages)
            .field("rows_yielded", &self.yielded)
            .finish()
    }
}

impl<R> RowStream<R> {
    /// Where the rows not yet yielded start, updated each time the last row of a
    /// page is yielded. Resuming from it is exact at a page boundary; in the middle
    /// of a page the rows of that page already yielded come again (see
    /// [`RowStream::rows_into_page`]). See [`PageStream::paging_state`].
    pub fn paging_state(&self) -> Option<&PagingState> {
        self.pages.paging_state()
    }

    /// Rows already yielded from the page being read (0 at a page boundary).
    pub fn rows_into_page(&self) -> usize {
        self.current
            .as_ref()
            .map_or(0, |c| c.rows.rows_count() - c.left)
    }

    /// True once every row of the result was yielded.
    pub fn is_exhausted(&self) -> bool {
        self.pages.is_exhausted()
    }

    /// Rows yielded so far.
    pub fn rows_yielded(&self) -> u64 {
        self.yielded
    }

    fn end(&mut self) {
        self.current = None;
        self.pages.finish();
    }
}

impl<R: for<'a> DeserializeRow<'a>> Stream for RowStream<R> {
    type Item = Result<R, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.pages.plan.max_rows.is_some_and(|m| this.yielded >= m) {
                this.end();
                return Poll::Ready(None);
            }
            if let Some(cur) = this.current.as_mut() {
                if cur.left > 0 {
                    // keep the prefetch moving while rows are read
                    this.pages.drive(cx, 1);
                    let (row, offset) = cur.rows.row_at::<R>(cur.offset);
                    cur.offset = offset;
                    cur.left -= 1;
                    let row = match row {
                        Ok(row) => row,
                        Err(e) => {
                            this.end();
                            return Poll::Ready(Some(Err(Error::Deserialization(e))));
                        }
                    };
                    this.yielded += 1;
                    if cur.left == 0 {
                        let next = cur.next.take();
                        this.current = None;
                        this.pages.commit(next);
                    }
                    return Poll::Ready(Some(Ok(row)));
                }
                let next = cur.next.take();
                this.current = None;
                this.pages.commit(next);
            }
            let page = match std::task::ready!(this.pages.next_page(cx, 0)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(page)) => page,
            };
            let next = page.paging_state().cloned();
            match page.into_rows() {
                Some(rows) => {
                    if let Err(e) = rows.check::<R>() {
                        this.end();
                        return Poll::Ready(Some(Err(Error::Deserialization(e))));
                    }
                    this.current = Some(Current {
                        left: rows.rows_count(),
                        rows,
                        offset: 0,
                        next,
                    });
                }
                None => this.pages.commit(next),
            }
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
