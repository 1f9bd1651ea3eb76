//! Observability of the execution core: the per-request `Recorder` that `execute.rs`
//! calls once per request and once per attempt, which updates the metrics recorders,
//! the `tracing` spans (one per request, a child per attempt) and the user's
//! [`RequestObserver`]. It decides nothing about retries; it only reports them.
//!
//! Cost when nobody listens: the spans are disabled callsites (one relaxed load each, no
//! formatting), the observer is an `Option` check, and the metrics are the few relaxed
//! atomics documented in `crate::metrics`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant as StdInstant;

use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Span;

use super::job::{Job, Payload};
use super::SessionInner;
use crate::error::{AttemptError, Error};
use crate::metrics::{HostMetrics, RequestOutcome, RetryReason, SessionMetrics};
use crate::session::retry::RetryDecision;

/// What kind of request the execution core ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// An unprepared statement (QUERY), or one page of it.
    Query,
    /// A prepared statement (EXECUTE), or one page of it.
    Execute,
    /// A BATCH.
    Batch,
    /// A PREPARE.
    Prepare,
}

impl RequestKind {
    /// A stable lowercase name (`"query"`, `"execute"`, `"batch"`, `"prepare"`).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Query => "query",
            RequestKind::Execute => "execute",
            RequestKind::Batch => "batch",
            RequestKind::Prepare => "prepare",
        }
    }
}

/// How one attempt ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum AttemptOutcome<'a> {
    /// The host answered with a result.
    Success,
    /// The attempt failed; the retry policy was (or, at the deadline, was not) asked.
    Failed(&'a AttemptError),
    /// The attempt ended the request with an error no retry can help (for example a
    /// failed transparent re-prepare).
    Fatal(&'a Error),
}

/// One attempt of a request, as reported to a [`RequestObserver`].
#[derive(Debug)]
#[non_exhaustive]
pub struct AttemptRecord<'a> {
    /// The request this attempt belongs to (unique within the session).
    pub request_id: u64,
    /// The request's kind.
    pub kind: RequestKind,
    /// 0 for the first attempt, then 1, 2, ...
    pub attempt: u32,
    /// The host tried.
    pub host: SocketAddr,
    /// When the attempt started.
    pub started: StdInstant,
    /// When it ended.
    pub ended: StdInstant,
    /// How it ended.
    pub outcome: AttemptOutcome<'a>,
    /// Whether the request may have reached the host's socket.
    pub written: bool,
    /// The retry policy's decision after a failure; `None` after a success, a fatal
    /// error, or a failure past the request's deadline (no decision was asked for).
    pub retry: Option<RetryDecision>,
}

/// A whole request (every attempt), as reported to a [`RequestObserver`] at its end.
#[derive(Debug)]
#[non_exhaustive]
pub struct RequestRecord<'a> {
    /// The request's id (the one its attempts carried).
    pub request_id: u64,
    /// The request's kind.
    pub kind: RequestKind,
    /// When the request entered the execution core.
    pub started: StdInstant,
    /// When its caller got the result.
    pub ended: StdInstant,
    /// Attempts made (0 when it never reached a host, e.g. a queue timeout).
    pub attempts: u32,
    /// What the caller got.
    pub result: Result<(), &'a Error>,
}

/// Receives the history of every request: each attempt (host, start, end, outcome,
/// retry decision) and then the request's end. Set it with
/// [`SessionBuilder::request_observer`](crate::SessionBuilder::request_observer).
///
/// Called inline on the request's task: keep it short and non-blocking (push to a
/// channel or a lock-free buffer when there is real work to do). When no observer is
/// set, nothing of this is built.
pub trait RequestObserver: Send + Sync + fmt::Debug {
    /// One attempt ended.
    fn on_attempt(&self, attempt: &AttemptRecord<'_>) {
        let _ = attempt;
    }

    /// A request ended (after its last attempt).
    fn on_request(&self, request: &RequestRecord<'_>) {
        let _ = request;
    }
}

/// Session-wide observability state the execution core reads.
#[derive(Debug)]
pub(crate) struct Observability {
    pub(crate) metrics: Arc<SessionMetrics>,
    pub(crate) observer: Option<Arc<dyn RequestObserver>>,
    next_request_id: AtomicU64,
}

impl Observability {
    pub(crate) fn new(
        metrics: Arc<SessionMetrics>,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> Self {
        Self {
            metrics,
            observer,
            next_request_id: AtomicU64::new(0),
        }
    }
}

fn kind_of(job: &Job<'_>) -> RequestKind {
    match job.payload {
        Payload::Query { .. } => RequestKind::Query,
        Payload::Execute { .. } => RequestKind::Execute,
        Payload::Batch { .. } => RequestKind::Batch,
        Payload::Prepare { .. } => RequestKind::Prepare,
    }
}

/// The attempt in progress.
struct Current {
    host: SocketAddr,
    started: Instant,
    span: Span,
}

/// Per-request recording state, owned by `SessionInner::run`.
pub(crate) struct Recorder<'s> {
    obs: &'s Observability,
    kind: RequestKind,
    request_id: u64,
    started: Instant,
    attempts: u32,
    span: Span,
    current: Option<Current>,
    /// When the last attempt ended: `finish` reuses it rather than read the clock again
    /// (the request ends right after its last attempt; clock reads dominate the cost).
    last_end: Option<Instant>,
    /// Set by `finish`; a recorder dropped without it belongs to a cancelled request.
    done: bool,
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        if !self.done {
            // The caller dropped the request future: it ends here, as a failure, so
            // that in-flight (started - finished) does not drift.
            let elapsed = Instant::now().saturating_duration_since(self.started);
            self.obs
                .metrics
                .request_finished(elapsed, RequestOutcome::Failure);
            if !self.span.is_disabled() {
                self.span.record("outcome", "cancelled");
            }
        }
    }
}

impl<'s> Recorder<'s> {
    /// A request entered the core.
    pub(crate) fn start(inner: &'s SessionInner, job: &Job<'_>) -> Self {
        Self::begin(
            &inner.observability,
            kind_of(job),
            job.keyspace,
            job.consistency,
            job.idempotent,
            job.started,
        )
    }

    fn begin(
        obs: &'s Observability,
        kind: RequestKind,
        keyspace: Option<&str>,
        consistency: crate::Consistency,
        idempotent: bool,
        started: Instant,
    ) -> Self {
        obs.metrics.request_started();
        let request_id = match obs.observer {
            Some(_) => obs.next_request_id.fetch_add(1, Ordering::Relaxed),
            None => 0,
        };
        let span = tracing::debug_span!(
            "request",
            kind = kind.as_str(),
            keyspace,
            consistency = ?consistency,
            idempotent,
            attempts = Empty,
            outcome = Empty,
            elapsed_us = Empty,
        );
        Recorder {
            obs,
            kind,
            request_id,
            started,
            attempts: 0,
            span,
            current: None,
            last_end: None,
            done: false,
        }
    }

    /// The request's span (the core runs inside it).
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// An attempt on `host` begins (at `started`); returns the span to run it in.
    pub(crate) fn attempt_start(&mut self, host: SocketAddr, started: Instant) -> Span {
        let span = tracing::debug_span!(
            parent: &self.span,
            "attempt",
            host = %host,
            attempt = self.attempts,
            stream = Empty,
            outcome = Empty,
            elapsed_us = Empty,
            retry = Empty,
        );
        self.current = Some(Current {
            host,
            started,
            span: span.clone(),
        });
        span
    }

    /// The attempt begun last ended with `outcome`; `retry` is the policy's decision;
    /// `host` is the attempted host's recorder (borrowed: no shared refcount touched).
    pub(crate) fn attempt_end(
        &mut self,
        host: Option<&HostMetrics>,
        outcome: AttemptOutcome<'_>,
        written: bool,
        retry: Option<RetryDecision>,
    ) {
        let Some(cur) = self.current.take() else {
            return;
        };
        let now = Instant::now();
        self.last_end = Some(now);
        let elapsed = now.saturating_duration_since(cur.started);
        let m = &self.obs.metrics;
        let reason = match &outcome {
            AttemptOutcome::Success => {
                if let Some(h) = host {
                    h.response(elapsed);
                }
                None
            }
            AttemptOutcome::Failed(e) => Some(record_failure(m, host, e, elapsed, written)),
            AttemptOutcome::Fatal(e) => {
                if let (Error::Server(se), Some(h)) = (e, host) {
                    h.response(elapsed);
                    h.server_error(se.code);
                }
                if let Some(code) = e.server_code() {
                    m.server_error(code);
                }
                None
            }
        };
        if let (Some(reason), Some(decision)) = (reason, retry) {
            match decision {
                RetryDecision::RetrySameHost(_) | RetryDecision::RetryNextHost(_) => {
                    m.retry(reason);
                    if let Some(h) = host {
                        h.retry(reason);
                    }
                }
                RetryDecision::Ignore => {
                    m.ignore(reason);
                    if let Some(h) = host {
                        h.ignore(reason);
                    }
                }
                _ => {}
            }
        }
        if !cur.span.is_disabled() {
            cur.span.record("elapsed_us", elapsed.as_micros() as u64);
            cur.span.record("outcome", outcome_name(&outcome));
            if let Some(d) = retry {
                cur.span.record("retry", tracing::field::debug(d));
            }
        }
        if let Some(o) = &self.obs.observer {
            o.on_attempt(&AttemptRecord {
                request_id: self.request_id,
                kind: self.kind,
                attempt: self.attempts,
                host: cur.host,
                started: cur.started.into_std(),
                ended: now.into_std(),
                outcome,
                written,
                retry,
            });
        }
        self.attempts += 1;
    }

    /// A host of the plan had no usable connection: an attempt that was never sent.
    pub(crate) fn no_connection(
        &mut self,
        host: SocketAddr,
        metrics: Option<&Arc<HostMetrics>>,
        error: &AttemptError,
    ) {
        let _span = self.attempt_start(host, Instant::now());
        self.attempt_end(
            metrics.map(|m| &**m),
            AttemptOutcome::Failed(error),
            false,
            None,
        );
    }

    /// The request ended; its caller gets `result`.
    pub(crate) fn finish<T>(mut self, result: &Result<T, Error>) {
        self.done = true;
        if let Some(cur) = self.current.take() {
            // An attempt future ended without a report (cannot happen today): close it.
            drop(cur);
        }
        let now = self.last_end.take().unwrap_or_else(Instant::now);
        let elapsed = now.saturating_duration_since(self.started);
        let m = &self.obs.metrics;
        let outcome = match result {
            Ok(_) => RequestOutcome::Success,
            Err(e) => {
                match e {
                    Error::Timeout(_) => m.client_timeout(),
                    Error::NoHostAvailable(_) => m.no_host_available(),
                    _ => {}
                }
                RequestOutcome::Failure
            }
        };
        m.request_finished(elapsed, outcome);
        if !self.span.is_disabled() {
            self.span.record("attempts", self.attempts);
            self.span.record("elapsed_us", elapsed.as_micros() as u64);
            self.span.record(
                "outcome",
                match result {
                    Ok(_) => "success",
                    Err(e) => error_name(e),
                },
            );
        }
        if let Some(o) = &self.obs.observer {
            o.on_request(&RequestRecord {
                request_id: self.request_id,
                kind: self.kind,
                started: self.started.into_std(),
                ended: now.into_std(),
                attempts: self.attempts,
                result: result.as_ref().map(|_| ()),
            });
        }
    }
}

/// Counts a failed attempt; returns the retry reason it would be retried for.
fn record_failure(
    m: &SessionMetrics,
    host: Option<&HostMetrics>,
    e: &AttemptError,
    elapsed: std::time::Duration,
    written: bool,
) -> RetryReason {
    match e {
        AttemptError::Server(se) => {
            m.server_error(se.code);
            if let Some(h) = host {
                h.response(elapsed);
                h.server_error(se.code);
            }
            RetryReason::from_server_code(se.code)
        }
        AttemptError::Connection(_) => {
            m.connection_error();
            if let Some(h) = host {
                if written {
                    h.aborted();
                } else {
                    h.unsent();
                }
            }
            RetryReason::ConnectionClosed
        }
        AttemptError::Timeout(_) => {
            if let Some(h) = host {
                h.aborted();
            }
            RetryReason::AttemptTimeout
        }
        AttemptError::NoConnection { .. } => {
            if let Some(h) = host {
                h.unsent();
            }
            RetryReason::ConnectionClosed
        }
        // A response that could not be decoded: written, answered, unusable.
        _ => {
            if let Some(h) = host {
                h.aborted();
            }
            RetryReason::Other
        }
    }
}

fn outcome_name(o: &AttemptOutcome<'_>) -> &'static str {
    match o {
        AttemptOutcome::Success => "success",
        AttemptOutcome::Failed(AttemptError::Server(_)) => "server_error",
        AttemptOutcome::Failed(AttemptError::Connection(_)) => "connection_error",
        AttemptOutcome::Failed(AttemptError::Timeout(_)) => "timeout",
        AttemptOutcome::Failed(AttemptError::NoConnection { .. }) => "no_connection",
        AttemptOutcome::Failed(_) => "protocol_error",
        AttemptOutcome::Fatal(e) => error_name(e),
    }
}

fn error_name(e: &Error) -> &'static str {
    match e {
        Error::Server(_) => "server_error",
        Error::NoHostAvailable(_) => "no_host_available",
        Error::Timeout(_) => "timeout",
        Error::Connection { .. } => "connection_error",
        Error::Backpressure(_) => "backpressure",
        Error::Closed => "closed",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::error::ServerError;
    use crate::protocol::response::{ErrorBody, ErrorKind};

    #[derive(Debug, Default)]
    struct Seen(Mutex<Vec<String>>);

    impl RequestObserver for Seen {
        fn on_attempt(&self, a: &AttemptRecord<'_>) {
            self.0.lock().unwrap().push(format!(
                "{} attempt {} {} {:?} written={}",
                a.request_id,
                a.attempt,
                outcome_name(&a.outcome),
                a.retry,
                a.written
            ));
        }
        fn on_request(&self, r: &RequestRecord<'_>) {
            self.0.lock().unwrap().push(format!(
                "{} end {:?} attempts={} ok={}",
                r.request_id,
                r.kind,
                r.attempts,
                r.result.is_ok()
            ));
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn server_error(code: i32) -> AttemptError {
        // The recorder reads the code only; the kind is irrelevant here.
        let body = ErrorBody {
            code,
            message: String::new(),
            kind: ErrorKind::ServerError,
        };
        AttemptError::Server(Box::new(ServerError::from_body(
            addr("10.0.0.1:9042"),
            body,
        )))
    }

    fn begin(obs: &Observability) -> Recorder<'_> {
        Recorder::begin(
            obs,
            RequestKind::Query,
            None,
            crate::Consistency::One,
            true,
            Instant::now(),
        )
    }

    #[test]
    fn attempts_and_requests_are_counted_once_with_their_reasons() {
        let metrics = Arc::new(SessionMetrics::new());
        let seen = Arc::new(Seen::default());
        let obs = Observability::new(metrics.clone(), Some(seen.clone()));
        let a = addr("10.0.0.1:9042");
        let b = addr("10.0.0.2:9042");
        let (ha, hb) = (metrics.host(a, None), metrics.host(b, None));

        // Request 0: READ_TIMEOUT on a, retried on b, success.
        let mut rec = begin(&obs);
        let _ = rec.attempt_start(a, Instant::now());
        let e = server_error(0x1200);
        let retry = RetryDecision::RetryNextHost(None);
        rec.attempt_end(Some(&*ha), AttemptOutcome::Failed(&e), true, Some(retry));
        let _ = rec.attempt_start(b, Instant::now());
        rec.attempt_end(Some(&*hb), AttemptOutcome::Success, true, None);
        rec.finish::<()>(&Ok(()));

        // Request 1: no connection on a, a connection lost after writing on b, then the
        // deadline: a client timeout.
        let mut rec = begin(&obs);
        let nc = AttemptError::NoConnection {
            reason: "down".into(),
        };
        rec.no_connection(a, Some(&ha), &nc);
        let _ = rec.attempt_start(b, Instant::now());
        let lost = AttemptError::Connection(crate::error::ConnectionError::Closed);
        rec.attempt_end(Some(&*hb), AttemptOutcome::Failed(&lost), true, None);
        let timeout = Error::Timeout(crate::error::RequestTimeout {
            elapsed: std::time::Duration::from_secs(1),
            attempts: 2,
            maybe_executed: true,
        });
        rec.finish::<()>(&Err(timeout));

        let s = metrics.snapshot();
        assert_eq!((s.requests.count, s.requests_failed), (2, 1));
        assert_eq!((s.client_timeouts, s.no_host_available), (1, 0));
        assert_eq!(s.server_errors.get(0x1200), 1);
        assert_eq!(s.server_errors.total(), 1);
        assert_eq!(s.connection_errors, 1);
        assert_eq!(s.retries.get(RetryReason::ReadTimeout), 1);
        assert_eq!((s.retries.total(), s.ignores.total()), (1, 0));
        let (sa, sb) = (&s.hosts[0], &s.hosts[1]);
        assert_eq!((sa.latency.count, sa.errors.read_timeouts), (1, 1));
        assert_eq!(sa.retries.get(RetryReason::ReadTimeout), 1);
        assert_eq!((sa.errors.unsent, sa.errors.aborted), (1, 0));
        assert_eq!((sb.latency.count, sb.errors.aborted), (1, 1));
        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                "0 attempt 0 server_error Some(RetryNextHost(None)) written=true",
                "0 attempt 1 success None written=true",
                "0 end Query attempts=2 ok=true",
                "1 attempt 0 no_connection None written=false",
                "1 attempt 1 connection_error None written=true",
                "1 end Query attempts=2 ok=false",
            ]
        );
    }

    #[test]
    fn a_cancelled_request_still_finishes() {
        let metrics = Arc::new(SessionMetrics::new());
        let obs = Observability::new(metrics.clone(), None);
        let mut rec = begin(&obs);
        let _ = rec.attempt_start(addr("10.0.0.1:9042"), Instant::now());
        drop(rec);
        let s = metrics.snapshot();
        assert_eq!((s.requests.count, s.requests_failed), (1, 1));
        assert_eq!(s.requests_in_flight, 0);
    }

    #[test]
    fn ignores_count_by_reason_and_no_observer_costs_no_request_id() {
        let metrics = Arc::new(SessionMetrics::new());
        let obs = Observability::new(metrics.clone(), None);
        let a = addr("10.0.0.1:9042");
        let ha = metrics.host(a, None);
        for _ in 0..2 {
            let mut rec = begin(&obs);
            assert_eq!(rec.request_id, 0);
            let _ = rec.attempt_start(a, Instant::now());
            let e = server_error(0x1100);
            rec.attempt_end(
                Some(&*ha),
                AttemptOutcome::Failed(&e),
                true,
                Some(RetryDecision::Ignore),
            );
            rec.finish::<()>(&Ok(()));
        }
        let s = metrics.snapshot();
        assert_eq!(s.ignores.get(RetryReason::WriteTimeout), 2);
        assert_eq!(s.hosts[0].ignores.get(RetryReason::WriteTimeout), 2);
        assert_eq!((s.requests.count, s.requests_failed), (2, 0));
        assert_eq!(obs.next_request_id.load(Ordering::Relaxed), 0);
    }
}

/// Hooks for `benches/observe_overhead.rs`: the exact recording path of one request
/// with one successful attempt, without the network. Not part of the API.
#[cfg(feature = "unstable-protocol")]
#[doc(hidden)]
pub mod bench_support {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use tokio::time::Instant;

    use super::{AttemptOutcome, Observability, Recorder, RequestKind};
    use crate::metrics::{HostMetrics, SessionMetrics};

    /// A session's observability state with one host.
    pub struct Recording {
        obs: Observability,
        host: SocketAddr,
        host_metrics: Arc<HostMetrics>,
    }

    impl Default for Recording {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Recording {
        /// Fresh metrics, no observer.
        pub fn new() -> Self {
            let metrics = Arc::new(SessionMetrics::new());
            let host = SocketAddr::from(([127, 0, 0, 1], 9042));
            let host_metrics = metrics.host(host, None);
            Recording {
                obs: Observability::new(metrics, None),
                host,
                host_metrics,
            }
        }

        /// What the execution core records for a request whose first attempt succeeds:
        /// request start (metrics + span), attempt span entered for one poll, the stream
        /// id recorded on the current span, attempt end, request end.
        #[inline(never)]
        pub fn request(&self) {
            let mut rec = Recorder::begin(
                &self.obs,
                RequestKind::Execute,
                Some("ks"),
                crate::Consistency::LocalQuorum,
                true,
                Instant::now(),
            );
            let req_span = rec.span().clone();
            req_span.in_scope(|| {
                let span = rec.attempt_start(self.host, Instant::now());
                span.in_scope(|| {
                    tracing::Span::current().record("stream", 7_i16);
                });
                rec.attempt_end(
                    Some(&*self.host_metrics),
                    AttemptOutcome::Success,
                    true,
                    None,
                );
            });
            rec.finish::<()>(&Ok(()));
        }

        /// Finished requests recorded so far.
        pub fn count(&self) -> u64 {
            self.obs.metrics.snapshot().requests.count
        }
    }
}
