//! Paging streams: `StreamConfig`, `PagedStatement`, and the session methods
//! `stream` (a `futures_core::Stream` of pages or typed rows) and `fetch_page`
//! (manual paging). Each page is one job of the execution core (`execute.rs`); the
//! stream state machine (prefetch, limits, resume) lives in `paging/stream.rs`.

mod stream;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use stream::{Fetcher, PageFuture, PageRequest, Plan};
pub use stream::{PageStream, RowStream};

use super::job::Payload;
use super::{serialize, PagingState, QueryResult, Session};
use crate::defaults;
use crate::error::Error;
use crate::protocol::request::SerializedValues;
use crate::statement::{PreparedStatement, Statement, StatementOptions};
use crate::SerializeRow;

/// Where a stream is: reported to the progress hook each time a page is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Pages handed over so far (1 for the first page).
    pub page: u64,
    /// Rows in those pages.
    pub rows: u64,
}

pub(crate) type ProgressHook = Arc<dyn Fn(Progress) + Send + Sync>;

/// How a paging stream fetches: page size, prefetch, timeouts, limits, progress and
/// where to start. Every default is in [`defaults`] (`PAGE_SIZE`, `PREFETCH_PAGES`,
/// `STREAM_PAGE_TIMEOUT`, `STREAM_DEADLINE`, `STREAM_MAX_PAGES`, `STREAM_MAX_ROWS`).
///
/// ```
/// use std::time::Duration;
/// use ringbolt::StreamConfig;
/// let config = StreamConfig::default()
///     .page_size(5_000)
///     .prefetch(2)
///     .page_timeout(Duration::from_secs(5))
///     .deadline(Duration::from_secs(600))
///     .on_progress(|p| eprintln!("page {} ({} rows)", p.page, p.rows));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct StreamConfig {
    page_size: Option<i32>,
    prefetch: usize,
    page_timeout: Option<Duration>,
    deadline: Option<Duration>,
    max_pages: Option<u64>,
    max_rows: Option<u64>,
    progress: Option<ProgressHook>,
    resume_from: Option<PagingState>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            page_size: None,
            prefetch: defaults::PREFETCH_PAGES,
            page_timeout: defaults::STREAM_PAGE_TIMEOUT,
            deadline: defaults::STREAM_DEADLINE,
            max_pages: defaults::STREAM_MAX_PAGES,
            max_rows: defaults::STREAM_MAX_ROWS,
            progress: None,
            resume_from: None,
        }
    }
}

impl std::fmt::Debug for StreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamConfig")
            .field("page_size", &self.page_size)
            .field("prefetch", &self.prefetch)
            .field("page_timeout", &self.page_timeout)
            .field("deadline", &self.deadline)
            .field("max_pages", &self.max_pages)
            .field("max_rows", &self.max_rows)
            .field("progress", &self.progress.is_some())
            .field("resume_from", &self.resume_from)
            .finish()
    }
}

impl StreamConfig {
    /// Rows per page (at least 1). Default: the statement's page size, else the
    /// session's ([`defaults::PAGE_SIZE`]).
    pub fn page_size(mut self, rows: i32) -> Self {
        self.page_size = Some(rows);
        self
    }

    /// Pages fetched ahead of the reader; 0 fetches only on demand. The stream holds
    /// at most `1 + prefetch` pages. Default [`defaults::PREFETCH_PAGES`].
    pub fn prefetch(mut self, pages: usize) -> Self {
        self.prefetch = pages;
        self
    }

    /// Deadline of each page request, all its attempts and retries included.
    /// Default: the statement's timeout, else the session's request timeout.
    pub fn page_timeout(mut self, timeout: Duration) -> Self {
        self.page_timeout = Some(timeout);
        self
    }

    /// Deadline of the whole stream, from the call to `stream`: no page request
    /// runs past it (the stream yields [`Error::Timeout`] and ends). Default: none.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Stops cleanly after this many pages (the paging state still says where the
    /// rest starts). Default: no limit.
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// Stops cleanly after this many rows; the last request asks for no more rows
    /// than remain, so the paging state then points exactly past them. Default: no
    /// limit.
    pub fn max_rows(mut self, rows: u64) -> Self {
        self.max_rows = Some(rows);
        self
    }

    /// Called each time a page is handed over (pages form) or starts being read
    /// (rows form), with the page number and the rows so far. Runs inside
    /// `poll_next`: keep it short.
    pub fn on_progress(mut self, hook: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(hook));
        self
    }

    /// Starts at a paging state saved from an earlier stream (or page) of the same
    /// statement and values: the stream yields exactly the rows after it.
    pub fn resume_from(mut self, state: PagingState) -> Self {
        self.resume_from = Some(state);
        self
    }
}

/// A statement that can be paged: unprepared or prepared. Built implicitly from
/// `&str`, `String`, `Statement` and `PreparedStatement` (owned or borrowed).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum PagedStatement {
    /// An unprepared statement (QUERY per page).
    Unprepared(Statement),
    /// A prepared statement (EXECUTE per page).
    Prepared(PreparedStatement),
}

impl PagedStatement {
    fn options(&self) -> &StatementOptions {
        match self {
            Self::Unprepared(s) => &s.options,
            Self::Prepared(p) => &p.options,
        }
    }
}

impl From<Statement> for PagedStatement {
    fn from(s: Statement) -> Self {
        Self::Unprepared(s)
    }
}

impl From<&Statement> for PagedStatement {
    fn from(s: &Statement) -> Self {
        Self::Unprepared(s.clone())
    }
}

impl From<&str> for PagedStatement {
    fn from(s: &str) -> Self {
        Self::Unprepared(s.into())
    }
}

impl From<String> for PagedStatement {
    fn from(s: String) -> Self {
        Self::Unprepared(s.into())
    }
}

impl From<PreparedStatement> for PagedStatement {
    fn from(p: PreparedStatement) -> Self {
        Self::Prepared(p)
    }
}

impl From<&PreparedStatement> for PagedStatement {
    fn from(p: &PreparedStatement) -> Self {
        Self::Prepared(p.clone())
    }
}

/// Everything a page request repeats: owned, shared by the stream's requests.
struct Source {
    session: Session,
    statement: PagedStatement,
    values: SerializedValues,
    keyspace: Option<Arc<String>>,
}

/// One page through the execution core. The same paging state goes to every attempt
/// and retry of the page, so a retried page neither repeats nor skips rows.
async fn fetch(src: Arc<Source>, req: PageRequest) -> Result<QueryResult, Error> {
    let (payload, options) = match &src.statement {
        PagedStatement::Unprepared(s) => (
            Payload::Query {
                text: &s.text,
                values: src.values.clone(),
            },
            &s.options,
        ),
        PagedStatement::Prepared(p) => (
            Payload::Execute {
                prepared: p,
                values: src.values.clone(),
            },
            &p.options,
        ),
    };
    let mut job = src.session.job(
        payload,
        options,
        src.keyspace.as_deref().map(String::as_str),
    );
    job.page_size = Some(req.page_size);
    job.paging_state = req.paging_state.map(|p| p.0);
    if let Some(t) = req.page_timeout {
        job.deadline = job.started + t;
    }
    if let Some(d) = req.overall {
        job.deadline = job.deadline.min(d);
    }
    Ok(QueryResult::from_outcome(src.session.run(&job).await?))
}

impl Session {
    fn source(
        &self,
        statement: PagedStatement,
        values: impl SerializeRow,
    ) -> Result<Arc<Source>, Error> {
        let values = match &statement {
            PagedStatement::Prepared(p) => serialize(&values, Some(&p.shared.bind_markers))?,
            PagedStatement::Unprepared(_) => serialize(&values, None)?,
        };
        Ok(Arc::new(Source {
            session: self.clone(),
            statement,
            values,
            keyspace: self.keyspace(),
        }))
    }

    /// Streams the result of a statement page by page. Returns once the first page
    /// has arrived (so errors such as a bad query surface here); iterate pages with
    /// the returned [`PageStream`], or typed rows with [`PageStream::rows`]:
    ///
    /// ```no_run
    /// # async fn demo(session: ringbolt::Session) -> Result<(), ringbolt::Error> {
    /// use futures_util::TryStreamExt;
    /// use ringbolt::StreamConfig;
    /// let config = StreamConfig::default().page_size(5_000);
    /// let mut rows = session
    ///     .stream("SELECT id, name FROM ks.users", (), config)
    ///     .await?
    ///     .rows::<(i64, String)>();
    /// while let Some((id, name)) = rows.try_next().await? {
    ///     println!("{id} {name}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Every page is one request of the execution core, with the statement's
    /// options (consistency, idempotence: mark reads idempotent so that a page may
    /// be retried after a timeout). See [`StreamConfig`] for prefetch, timeouts,
    /// limits and resuming.
    pub async fn stream(
        &self,
        statement: impl Into<PagedStatement>,
        values: impl SerializeRow,
        config: StreamConfig,
    ) -> Result<PageStream, Error> {
        let started = Instant::now();
        let statement = statement.into();
        let page_size = config
            .page_size
            .or(statement.options().page_size)
            .unwrap_or(self.inner.config.page_size);
        if page_size < 1 {
            return Err(Error::InvalidRequest(format!(
                "a stream's page size must be at least 1 row (got {page_size})"
            )));
        }
        let src = self.source(statement, values)?;
        let fetcher: Fetcher =
            Box::new(move |req| -> PageFuture { Box::pin(fetch(src.clone(), req)) });
        let plan = Plan {
            page_size,
            prefetch: config.prefetch,
            page_timeout: config.page_timeout,
            deadline: config.deadline.map(|d| started + d),
            started,
            max_pages: config.max_pages,
            max_rows: config.max_rows,
            progress: config.progress,
        };
        let mut stream = PageStream::new(fetcher, plan, config.resume_from);
        stream.first_page().await?;
        Ok(stream)
    }

    /// Manual paging: fetches one page of a statement starting at `paging_state`
    /// (`None`: the first page), with the statement's page size, and returns it with
    /// the state of the next page (`None` after the last page).
    pub async fn fetch_page(
        &self,
        statement: impl Into<PagedStatement>,
        values: impl SerializeRow,
        paging_state: Option<PagingState>,
    ) -> Result<(QueryResult, Option<PagingState>), Error> {
        let statement = statement.into();
        let page_size = statement
            .options()
            .page_size
            .unwrap_or(self.inner.config.page_size);
        let src = self.source(statement, values)?;
        let page = fetch(
            src,
            PageRequest {
                paging_state,
                page_size,
                page_timeout: None,
                overall: None,
            },
        )
        .await?;
        let next = page.paging_state().cloned();
        Ok((page, next))
    }

    /// Requests sent on the session's current pool connections (heartbeats and the
    /// control connection excluded). For tests; not a stable API.
    #[doc(hidden)]
    pub fn requests_sent(&self) -> u64 {
        self.inner
            .cluster
            .pools()
            .iter()
            .flat_map(|p| p.connections())
            .map(|c| c.requests_sent())
            .sum()
    }
}
