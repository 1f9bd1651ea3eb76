//! The one execution core: every query, execute, batch, prepare and page goes
//! through `run`: query plan -> attempt -> classify -> retry policy -> next host or
//! done, all under one deadline, recording every attempt for `NoHostAvailable`.
//! Timeouts live here and nowhere else.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use super::job::{Job, Payload};
use super::SessionInner;
use crate::cluster::QueryPlan;
use crate::connection::{CallError, CallOptions, Connection, Reply};
use crate::error::{
    Attempt, AttemptError, ConnectionError, Error, NoHostAvailable, RequestTimeout, ServerError,
    ServerErrorKind,
};
use crate::protocol::request::{Prepare, Request};
use crate::protocol::response::{Response, ResponseEnvelope, ResultBody};
use crate::session::limiter::{Permit, Refused};
use crate::session::observe::{AttemptOutcome, Recorder};
use crate::session::retry::{RetryCause, RetryDecision, RetryRequest};
use crate::statement::{BatchEntry, PreparedStatement, ResultMetadata};
use crate::Consistency;

/// Retries of one request, whatever the policy says (guards against a policy loop).
const MAX_RETRIES: u32 = 16;
/// Pause before the plan is run again when every host of it failed and the policy
/// still wants to move on: the first re-run waits this long, each later one twice
/// as long, up to [`PLAN_RERUN_BACKOFF_MAX`] (always cut at the request deadline).
const PLAN_RERUN_BACKOFF: Duration = Duration::from_millis(20);
/// The longest pause between two runs of a plan.
const PLAN_RERUN_BACKOFF_MAX: Duration = Duration::from_millis(500);

/// A successful answer.
pub(crate) struct Outcome {
    pub(crate) envelope: ResponseEnvelope,
    pub(crate) result: ResultBody,
    pub(crate) host: SocketAddr,
    /// Result metadata used to read skipped-metadata rows (EXECUTE).
    pub(crate) metadata: Option<Arc<ResultMetadata>>,
}

enum Step {
    Done(Box<Outcome>),
    Failed { error: AttemptError, written: bool },
}

impl SessionInner {
    /// Runs `job` to completion: success, a final error, or `NoHostAvailable`;
    /// recorded (metrics, spans, observer) by `observe::Recorder`.
    pub(crate) async fn run(&self, job: &Job<'_>) -> Result<Outcome, Error> {
        let mut rec = Recorder::start(self, job);
        let span = rec.span().clone();
        let result = self.run_plan(job, &mut rec).instrument(span).await;
        rec.finish(&result);
        result
    }

    async fn run_plan(&self, job: &Job<'_>, rec: &mut Recorder<'_>) -> Result<Outcome, Error> {
        let _permit = self.admit(job.deadline, job.started).await?;
        // One lock-free read: the view and pools stay as they are for this request.
        let snapshot = self.cluster.snapshot();
        let routing = job.routing();
        let mut plan = self.config.load_balancing.plan(&routing, &snapshot.view);
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut retry_count = 0u32;
        let mut consistency = job.consistency;
        let mut host = plan.next().map(|h| h.address());
        // Later runs of the plan (see `rerun`), materialized only when needed.
        let mut rerun = Rerun::default();
        loop {
            let Some(addr) = host else {
                // Every host of the plan failed. While the policy still wants to move
                // on and the deadline leaves time, run the plan again after a short
                // backoff rather than giving up with time on the clock.
                match rerun.next_round(&attempts, job.deadline) {
                    Some(pause) => {
                        tokio::time::sleep_until(pause).await;
                        let hosts = self
                            .config
                            .load_balancing
                            .plan(&routing, &snapshot.view)
                            .map(|h| h.address());
                        rerun.start(hosts, &attempts);
                        host = rerun.next();
                        continue;
                    }
                    None => break,
                }
            };
            // Never send a request whose deadline has already passed.
            let t0 = Instant::now();
            if t0 >= job.deadline {
                return Err(timeout(job, &attempts));
            }
            if self.is_torn_down() {
                return Err(closed(&attempts));
            }
            let conn = match snapshot.pools.get(&addr).map(|p| p.pick().ok_or(p)) {
                Some(Ok(c)) => c,
                Some(Err(pool)) => {
                    let reason = pool.down_reason().unwrap_or_else(|| "connecting".into());
                    attempts.push(no_connection(addr, reason));
                    rec.no_connection(
                        addr,
                        pool.host_metrics(),
                        &attempts[attempts.len() - 1].error,
                    );
                    host = rerun.or_plan(&mut plan);
                    continue;
                }
                None => {
                    attempts.push(no_connection(addr, "host has no pool".into()));
                    rec.no_connection(addr, None, &attempts[attempts.len() - 1].error);
                    host = rerun.or_plan(&mut plan);
                    continue;
                }
            };
            let span = rec.attempt_start(addr, t0);
            let host_metrics = conn.host_metrics().map(|m| &**m);
            let step = self
                .attempt(job, &conn, consistency, t0)
                .instrument(span)
                .await;
            let (error, written) = match step {
                Ok(Step::Done(outcome)) => {
                    rec.attempt_end(host_metrics, AttemptOutcome::Success, true, None);
                    return Ok(*outcome);
                }
                Ok(Step::Failed { error, written }) => (error, written),
                Err(final_error) => {
                    let written = !matches!(final_error, Error::InvalidRequest(_));
                    rec.attempt_end(
                        host_metrics,
                        AttemptOutcome::Fatal(&final_error),
                        written,
                        None,
                    );
                    return Err(final_error);
                }
            };
            attempts.push(Attempt {
                host: addr,
                error,
                elapsed: t0.elapsed(),
                written,
            });
            // close() cut the connections: the request ends here, honestly.
            if self.is_torn_down() {
                let last = &attempts[attempts.len() - 1];
                rec.attempt_end(
                    host_metrics,
                    AttemptOutcome::Failed(&last.error),
                    written,
                    None,
                );
                return Err(closed(&attempts));
            }
            let last = &attempts[attempts.len() - 1];
            let cause = match &last.error {
                AttemptError::Server(e) => RetryCause::Server(&e.kind),
                AttemptError::Timeout(_) if written => RetryCause::AttemptTimeout,
                _ => RetryCause::Connection { written },
            };
            let decision = if retry_count >= MAX_RETRIES {
                RetryDecision::Fail
            } else {
                self.config.retry.decide(&RetryRequest {
                    cause,
                    idempotent: job.idempotent,
                    retry_count,
                    consistency,
                })
            };
            tracing::debug!(host = %addr, error = %last.error, written, ?decision, "attempt failed");
            rec.attempt_end(
                host_metrics,
                AttemptOutcome::Failed(&last.error),
                written,
                Some(decision),
            );
            retry_count += 1;
            let retry = match decision {
                RetryDecision::RetrySameHost(c) => {
                    consistency = c.unwrap_or(consistency);
                    Some(addr)
                }
                RetryDecision::RetryNextHost(c) => {
                    consistency = c.unwrap_or(consistency);
                    rerun.wanted = retry_count < MAX_RETRIES;
                    rerun.or_plan(&mut plan)
                }
                RetryDecision::Ignore => {
                    return Ok(Outcome {
                        envelope: ResponseEnvelope::default(),
                        result: ResultBody::Void,
                        host: addr,
                        metadata: None,
                    })
                }
                _ => return Err(final_error(job, attempts)),
            };
            // The overall deadline covers every retry: past it, say how far we got
            // (a final answer such as a syntax error was returned above regardless).
            if Instant::now() >= job.deadline {
                return Err(timeout(job, &attempts));
            }
            host = retry;
        }
        Err(Error::NoHostAvailable(NoHostAvailable { attempts }))
    }

    /// One attempt on one connection (with a transparent re-prepare when the node
    /// forgot the statement, and one resend with full metadata when the cached result
    /// metadata turns out stale). `Err` is final: no retry can help.
    async fn attempt(
        &self,
        job: &Job<'_>,
        conn: &Connection,
        consistency: Consistency,
        t0: Instant,
    ) -> Result<Step, Error> {
        let attempt_deadline = match self.config.attempt_timeout {
            Some(t) => job.deadline.min(t0 + t),
            None => job.deadline,
        };
        let mut reprepared = false;
        let mut full_metadata = false;
        loop {
            let meta = match &job.payload {
                Payload::Execute { prepared, .. } => Some(prepared.result_metadata()),
                _ => None,
            };
            let request = job.request(consistency, &meta, full_metadata);
            // The connection task enforces the deadline (no timer per request): it
            // answers `TimedOut`, saying whether the frame reached the socket, and
            // keeps a written request's stream id until the node answers.
            let options = CallOptions {
                deadline: Some(attempt_deadline),
                tracing: job.tracing,
                size_hint: job.frame_size_hint(),
            };
            let Reply {
                envelope,
                response,
                stream,
            } = match conn.call(&request, options).await {
                Ok(reply) => reply,
                Err(CallError::Encode(e)) => return Err(Error::InvalidRequest(e.to_string())),
                Err(e) => {
                    let written = e.written();
                    return Ok(Step::Failed {
                        error: attempt_error(e, attempt_deadline.saturating_duration_since(t0)),
                        written,
                    });
                }
            };
            drop(request);
            tracing::Span::current().record("stream", stream);
            let host = conn.addr();
            for w in &envelope.warnings {
                tracing::warn!(host = %host, warning = %w, "server warning");
            }
            match response {
                Response::Result(result) => {
                    if !full_metadata && stale_metadata(job, &result, meta.as_deref()) {
                        // Rows came without metadata and with another column count
                        // than ours (v4 has no metadata id to tell us): reading them
                        // with our columns would misplace values. Reading again is
                        // safe (a statement returning rows without an [applied]
                        // column is a SELECT), this time asking for the metadata.
                        full_metadata = true;
                        continue;
                    }
                    let metadata = self.absorb_metadata(job, &result, meta);
                    return Ok(Step::Done(Box::new(Outcome {
                        envelope,
                        result,
                        host,
                        metadata,
                    })));
                }
                Response::Error(body) => {
                    let err = Box::new(ServerError::from_body(host, body));
                    if let (ServerErrorKind::Unprepared { .. }, false) = (&err.kind, reprepared) {
                        if let Some(prepared) = unprepared_statement(job, &err) {
                            reprepared = true;
                            // UNPREPARED: the node did not execute the request, so a
                            // failed re-prepare leaves it unwritten for the policy.
                            match self.reprepare(conn, prepared, attempt_deadline).await {
                                Ok(()) => continue,
                                Err(RepreparedFailed::Final(e)) => return Err(e),
                                Err(RepreparedFailed::Attempt(error)) => {
                                    return Ok(Step::Failed {
                                        error,
                                        written: false,
                                    })
                                }
                            }
                        }
                    }
                    return Ok(Step::Failed {
                        error: AttemptError::Server(err),
                        written: true,
                    });
                }
                other => {
                    return Err(Error::Protocol {
                        host,
                        reason: format!("unexpected {:?} response", other.opcode()),
                    })
                }
            }
        }
    }

    /// Remembers result metadata the node sent with an EXECUTE's rows when it is
    /// new to us: v5 METADATA_CHANGED (with its new id), or full metadata we asked for
    /// after finding ours stale.
    fn absorb_metadata(
        &self,
        job: &Job<'_>,
        result: &ResultBody,
        meta: Option<Arc<ResultMetadata>>,
    ) -> Option<Arc<ResultMetadata>> {
        let Payload::Execute { prepared, .. } = &job.payload else {
            return None;
        };
        if let ResultBody::Rows(rows) = result {
            let changed = rows.metadata.new_metadata_id.is_some()
                || (!rows.metadata.columns.is_empty()
                    && meta
                        .as_ref()
                        .is_some_and(|m| m.columns[..] != rows.metadata.columns[..]));
            if changed {
                let id = rows
                    .metadata
                    .new_metadata_id
                    .clone()
                    .or_else(|| meta.as_ref().and_then(|m| m.id.clone()));
                let m = Arc::new(ResultMetadata::from_rows(id, &rows.metadata));
                prepared.update_result_metadata(m.clone());
                return Some(m);
            }
        }
        meta
    }

    /// Prepares `prepared` again on `conn` and adopts the node's current result
    /// metadata (the table may have changed: that is often why it forgot).
    async fn reprepare(
        &self,
        conn: &Connection,
        prepared: &PreparedStatement,
        deadline: Instant,
    ) -> Result<(), RepreparedFailed> {
        let host = conn.addr();
        let t0 = Instant::now();
        let req = Request::Prepare(Prepare::new(&*prepared.shared.text));
        let reply = conn.call(&req, CallOptions::by(deadline)).await;
        match reply.map(|r| r.response) {
            Ok(Response::Result(ResultBody::Prepared(p))) => {
                if p.id != prepared.shared.id {
                    // The id is a digest of the text and keyspace: a different one
                    // means we would execute something else than the caller prepared.
                    return Err(RepreparedFailed::Final(Error::Protocol {
                        host,
                        reason: "re-prepare returned another statement id".into(),
                    }));
                }
                prepared.update_result_metadata(Arc::new(ResultMetadata::from_rows(
                    p.result_metadata_id.clone(),
                    &p.result_metadata,
                )));
                Ok(())
            }
            Ok(Response::Error(e)) => Err(RepreparedFailed::Final(Error::Server(Box::new(
                ServerError::from_body(host, e),
            )))),
            Ok(other) => Err(RepreparedFailed::Final(Error::Protocol {
                host,
                reason: format!("unexpected {:?} answer to PREPARE", other.opcode()),
            })),
            Err(CallError::Encode(e)) => Err(RepreparedFailed::Final(Error::InvalidRequest(
                e.to_string(),
            ))),
            Err(e) => Err(RepreparedFailed::Attempt(attempt_error(
                e,
                deadline.saturating_duration_since(t0),
            ))),
        }
    }

    /// Waits for a slot in the session's request limiter (bounded queue; the wait
    /// counts toward the request's deadline).
    async fn admit(&self, deadline: Instant, started: Instant) -> Result<Permit<'_>, Error> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if let Some(p) = self.limiter.try_acquire() {
            return Ok(p);
        }
        let max_waiting = self.config.max_queued_requests;
        match tokio::time::timeout_at(deadline, self.limiter.acquire(max_waiting)).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(Refused::Full(waiting))) => Err(Error::Backpressure(waiting)),
            Ok(Err(Refused::Closed)) => Err(Error::Closed),
            Err(_) => Err(Error::Timeout(RequestTimeout {
                elapsed: started.elapsed(),
                attempts: 0,
                maybe_executed: false,
            })),
        }
    }
}

/// Later runs of a query plan: when every host of the plan failed and the retry
/// policy still wanted to move on, an idempotent (or never written) request runs the
/// plan again after a short backoff, for as long as its deadline allows, instead of
/// failing with `NoHostAvailable` while time remains. The first run stays lazy and
/// allocation-free; only a re-run collects its hosts.
#[derive(Default)]
struct Rerun {
    /// The policy's last decision was to move on, under the retry cap.
    wanted: bool,
    /// Runs of the plan so far beyond the first.
    rounds: u32,
    /// `attempts.len()` when the current run started.
    round_start: usize,
    /// The current re-run's hosts, next one last.
    hosts: Vec<SocketAddr>,
}

impl Rerun {
    /// The next host: from the first run's lazy plan, else from the current re-run.
    fn or_plan(&mut self, plan: &mut QueryPlan<'_>) -> Option<SocketAddr> {
        if self.rounds == 0 {
            plan.next().map(|h| h.address())
        } else {
            self.hosts.pop()
        }
    }

    fn next(&mut self) -> Option<SocketAddr> {
        self.hosts.pop()
    }

    /// When the next run of the plan may start, or `None` to give up: the policy did
    /// not ask to move on, the last run reached no host at all (every pool down: no
    /// point hammering), or the backoff would end past the deadline.
    fn next_round(&self, attempts: &[Attempt], deadline: Instant) -> Option<Instant> {
        let reached_a_host = attempts[self.round_start.min(attempts.len())..]
            .iter()
            .any(|a| !matches!(a.error, AttemptError::NoConnection { .. }));
        if !self.wanted || !reached_a_host {
            return None;
        }
        let pause = PLAN_RERUN_BACKOFF
            .saturating_mul(1 << self.rounds.min(8))
            .min(PLAN_RERUN_BACKOFF_MAX);
        let at = Instant::now() + pause;
        (at < deadline).then_some(at)
    }

    /// Starts a re-run over `hosts` (a fresh plan): hosts this request failed on
    /// least often first; ties in plan order rotated by the round, so that the host
    /// every token-aware plan puts first does not lead every run.
    fn start(&mut self, hosts: impl Iterator<Item = SocketAddr>, attempts: &[Attempt]) {
        self.rounds += 1;
        self.round_start = attempts.len();
        self.wanted = false;
        let mut hosts: Vec<SocketAddr> = hosts.collect();
        if !hosts.is_empty() {
            let n = hosts.len();
            hosts.rotate_left(self.rounds as usize % n);
        }
        hosts.sort_by_key(|h| {
            attempts
                .iter()
                .filter(|a| a.host == *h && !matches!(a.error, AttemptError::NoConnection { .. }))
                .count()
        });
        hosts.reverse();
        self.hosts = hosts;
    }
}

fn no_connection(host: SocketAddr, reason: String) -> Attempt {
    Attempt {
        host,
        error: AttemptError::NoConnection { reason },
        elapsed: Duration::ZERO,
        written: false,
    }
}

enum RepreparedFailed {
    /// No retry can help (the statement is now invalid, a protocol violation).
    Final(Error),
    /// The attempt failed; the policy may move on.
    Attempt(AttemptError),
}

/// A failed call as one attempt's error (`waited`: how long a timed-out call waited).
/// An encoding failure is not an attempt error: callers make it final first.
fn attempt_error(e: CallError, waited: Duration) -> AttemptError {
    match e {
        CallError::TimedOut { .. } => AttemptError::Timeout(waited),
        CallError::Connection { error, .. } => AttemptError::Connection(error),
        CallError::Decode(e) => AttemptError::Protocol(e),
        CallError::Encode(_) => AttemptError::Connection(ConnectionError::InvalidRequestFrame),
    }
}

fn timeout(job: &Job<'_>, attempts: &[Attempt]) -> Error {
    Error::Timeout(RequestTimeout {
        elapsed: job.started.elapsed(),
        attempts: attempts.len(),
        maybe_executed: attempts.iter().any(Attempt::maybe_executed),
    })
}

/// The answer of a request cut by `close()`: `Closed`, unless an attempt was
/// written, in which case the caller must learn that it may have run.
fn closed(attempts: &[Attempt]) -> Error {
    match attempts.iter().rev().find(|a| a.maybe_executed()) {
        Some(a) => Error::Connection {
            error: match &a.error {
                AttemptError::Connection(e) => e.clone(),
                _ => crate::error::ConnectionError::Closed,
            },
            written: true,
        },
        None => Error::Closed,
    }
}

/// The error of the last attempt, as the caller sees it when the policy gives up.
fn final_error(job: &Job<'_>, mut attempts: Vec<Attempt>) -> Error {
    let Some(last) = attempts.pop() else {
        return Error::NoHostAvailable(NoHostAvailable { attempts });
    };
    match last.error {
        AttemptError::Server(e) => Error::Server(e),
        AttemptError::Connection(error) => Error::Connection {
            error,
            written: last.written,
        },
        AttemptError::Timeout(_) => {
            attempts.push(last);
            timeout(job, &attempts)
        }
        AttemptError::Protocol(e) => Error::Protocol {
            host: last.host,
            reason: e.to_string(),
        },
        error @ AttemptError::NoConnection { .. } => {
            attempts.push(Attempt { error, ..last });
            Error::NoHostAvailable(NoHostAvailable { attempts })
        }
    }
}

/// True when an EXECUTE sent without result metadata got rows whose column count
/// differs from the metadata we hold.
fn stale_metadata(job: &Job<'_>, result: &ResultBody, meta: Option<&ResultMetadata>) -> bool {
    let (Payload::Execute { prepared, .. }, ResultBody::Rows(rows), Some(meta)) =
        (&job.payload, result, meta)
    else {
        return false;
    };
    !prepared.shared.is_lwt
        && rows.metadata.columns.is_empty()
        && rows.metadata.new_metadata_id.is_none()
        && rows.metadata.columns_count != meta.columns.len()
}

/// The prepared statement to prepare again when a node answers UNPREPARED for it.
fn unprepared_statement<'a>(job: &'a Job<'_>, err: &ServerError) -> Option<&'a PreparedStatement> {
    let ServerErrorKind::Unprepared { id } = &err.kind else {
        return None;
    };
    match &job.payload {
        Payload::Execute { prepared, .. } if prepared.shared.id == *id => Some(prepared),
        Payload::Batch { entries, .. } => entries.iter().find_map(|e| match e {
            BatchEntry::Prepared(p) if p.shared.id == *id => Some(p),
            _ => None,
        }),
        _ => None,
    }
}

pub(crate) fn arc_columns(
    meta: Option<&ResultMetadata>,
    rows: &crate::protocol::response::Rows,
) -> Arc<[crate::ColumnSpec]> {
    if !rows.metadata.columns.is_empty() || rows.metadata.columns_count == 0 {
        return rows.metadata.columns.clone().into();
    }
    meta.map(|m| m.columns.clone())
        .unwrap_or_else(|| Arc::from(Vec::new()))
}

#[cfg(test)]
mod rerun_tests {
    use super::*;

    fn addr(i: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, i], 9042))
    }

    fn timed_out(i: u8) -> Attempt {
        Attempt {
            host: addr(i),
            error: AttemptError::Timeout(Duration::from_millis(300)),
            elapsed: Duration::from_millis(300),
            written: true,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_unless_the_policy_moved_on_and_a_host_was_reached() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut r = Rerun::default();
        // The policy said Fail (or never decided): no re-run.
        assert!(r.next_round(&[timed_out(1)], deadline).is_none());
        // Every pool down: nothing was reached, no re-run.
        r.wanted = true;
        let down = [no_connection(addr(1), "down".into())];
        assert!(r.next_round(&down, deadline).is_none());
        // A host was reached and the policy moved on: run again after the backoff.
        let at = r.next_round(&[timed_out(1)], deadline).unwrap();
        assert_eq!(at - Instant::now(), PLAN_RERUN_BACKOFF);
        // ...unless the backoff ends past the deadline.
        let soon = Instant::now() + Duration::from_millis(5);
        assert!(r.next_round(&[timed_out(1)], soon).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_up_to_its_cap_and_only_the_last_run_counts() {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut r = Rerun::default();
        let mut attempts = vec![timed_out(1), timed_out(2)];
        let mut pauses = Vec::new();
        for _ in 0..8 {
            r.wanted = true;
            let at = r.next_round(&attempts, deadline).unwrap();
            pauses.push((at - Instant::now()).as_millis());
            r.start([addr(1), addr(2)].into_iter(), &attempts);
            attempts.push(timed_out(1));
        }
        assert_eq!(pauses, [20, 40, 80, 160, 320, 500, 500, 500]);
        // A run that reached no host (every pool went down) ends the retries.
        r.wanted = true;
        let n = attempts.len();
        r.start([addr(1)].into_iter(), &attempts);
        attempts.truncate(n);
        attempts.push(no_connection(addr(1), "down".into()));
        assert!(r.next_round(&attempts, deadline).is_none());
    }

    #[test]
    fn rerun_puts_hosts_that_failed_less_first_and_rotates_ties() {
        let mut r = Rerun::default();
        let attempts = [timed_out(1), timed_out(1), timed_out(2), timed_out(3)];
        r.start([addr(1), addr(2), addr(3)].into_iter(), &attempts);
        // Round 1 rotates the plan by one: 2, 3, 1; host 1 failed twice: last anyway.
        assert_eq!(r.next(), Some(addr(2)));
        assert_eq!(r.next(), Some(addr(3)));
        assert_eq!(r.next(), Some(addr(1)));
        assert_eq!(r.next(), None);
        // Round 2 with equal failures: rotated by two.
        let attempts = [timed_out(1), timed_out(2), timed_out(3)];
        r.start([addr(1), addr(2), addr(3)].into_iter(), &attempts);
        assert_eq!(r.next(), Some(addr(3)));
        assert!(!r.wanted, "a new run starts without a decision");
    }
}
