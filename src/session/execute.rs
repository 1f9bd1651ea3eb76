//! The one execution core: every query, execute, batch, prepare and page goes
//! through `run`: query plan -> attempt -> classify -> retry policy -> next host or
//! done, all under one deadline, recording every attempt for `NoHostAvailable`.
//! Timeouts live here and nowhere else.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::SessionInner;
use crate::cluster::{routing_token, RoutingInfo};
use crate::connection::{parse_response, Connection};
use crate::error::{
    Attempt, AttemptError, Error, NoHostAvailable, RequestTimeout, ServerError, ServerErrorKind,
};
use crate::protocol::request::{
    Batch as BatchRequest, BatchStatement, BatchStatementKind, BatchType, CommonOptions, Execute,
    Prepare, Query, QueryParameters, Request, SerializedValues, Values,
};
use crate::protocol::response::{Response, ResponseEnvelope, ResultBody};
use crate::session::retry::{RetryCause, RetryDecision, RetryRequest};
use crate::statement::{BatchEntry, BatchKind, PreparedStatement, ResultMetadata};
use crate::Consistency;

/// Retries of one request, whatever the policy says (guards against a policy loop).
const MAX_RETRIES: u32 = 16;

/// What to send.
pub(crate) enum Payload<'a> {
    Query {
        text: &'a str,
        values: SerializedValues,
    },
    Execute {
        prepared: &'a PreparedStatement,
        values: SerializedValues,
    },
    Batch {
        kind: BatchKind,
        entries: &'a [BatchEntry],
        values: Vec<SerializedValues>,
    },
    Prepare {
        text: &'a str,
    },
}

/// One request with every option resolved.
pub(crate) struct Job<'a> {
    pub(crate) payload: Payload<'a>,
    pub(crate) consistency: Consistency,
    pub(crate) serial_consistency: Option<Consistency>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) page_size: Option<i32>,
    pub(crate) paging_state: Option<Bytes>,
    pub(crate) idempotent: bool,
    pub(crate) tracing: bool,
    pub(crate) deadline: Instant,
    pub(crate) started: Instant,
    /// Keyspace used for token-aware routing.
    pub(crate) keyspace: Option<&'a str>,
}

/// A successful answer.
pub(crate) struct Outcome {
    pub(crate) envelope: ResponseEnvelope,
    pub(crate) result: ResultBody,
    pub(crate) host: SocketAddr,
    /// Result metadata used to read skipped-metadata rows (EXECUTE).
    pub(crate) metadata: Option<ResultMetadata>,
}

impl Job<'_> {
    fn is_lwt(&self) -> bool {
        match &self.payload {
            Payload::Execute { prepared, .. } => prepared.shared.is_lwt,
            _ => false,
        }
    }

    fn routing(&self) -> RoutingInfo<'_> {
        let mut r = RoutingInfo::new()
            .with_consistency(self.consistency)
            .with_lwt(self.is_lwt());
        let ks = match &self.payload {
            Payload::Execute { prepared, .. } => prepared.shared.keyspace.as_deref(),
            _ => None,
        }
        .or(self.keyspace);
        if let Some(ks) = ks {
            r = r.with_keyspace(ks);
        }
        if let Payload::Execute { prepared, values } = &self.payload {
            let pk = &prepared.shared.pk_indexes;
            if let Some(t) = routing_token(pk, |i| match values.iter().nth(i)? {
                crate::protocol::wire::RawValue::Bytes(b) => Some(b),
                _ => None,
            }) {
                r = r.with_token(t);
            }
        }
        r
    }

    fn params<'p>(
        &'p self,
        values: &'p SerializedValues,
        consistency: Consistency,
        skip_metadata: bool,
    ) -> QueryParameters<'p> {
        QueryParameters {
            consistency,
            values: (!values.is_empty()).then(|| Values::Positional(Cow::Borrowed(values))),
            skip_metadata,
            page_size: self.page_size,
            paging_state: self.paging_state.as_deref().map(Cow::Borrowed),
            options: CommonOptions {
                serial_consistency: self.serial_consistency,
                timestamp: self.timestamp,
                keyspace: None,
                now_in_seconds: None,
            },
        }
    }

    /// The request for one attempt (it borrows the job: nothing is copied).
    fn request<'p>(
        &'p self,
        consistency: Consistency,
        meta: &'p Option<ResultMetadata>,
    ) -> Request<'p> {
        match &self.payload {
            Payload::Query { text, values } => {
                Request::Query(Query::new(*text, self.params(values, consistency, false)))
            }
            Payload::Execute { prepared, values } => {
                let meta_id = meta.as_ref().and_then(|m| m.id.as_deref());
                // Skip metadata only when we hold it: the server then sends rows alone.
                let skip = meta.as_ref().is_some_and(|m| !m.columns.is_empty());
                Request::Execute(Execute::new(
                    Cow::Borrowed(&prepared.shared.id[..]),
                    meta_id.map(Cow::Borrowed),
                    self.params(values, consistency, skip),
                ))
            }
            Payload::Batch {
                kind,
                entries,
                values,
            } => {
                let batch_type = match kind {
                    BatchKind::Logged => BatchType::Logged,
                    BatchKind::Unlogged => BatchType::Unlogged,
                    BatchKind::Counter => BatchType::Counter,
                };
                let mut b = BatchRequest::new(batch_type, consistency);
                b.options = CommonOptions {
                    serial_consistency: self.serial_consistency,
                    timestamp: self.timestamp,
                    keyspace: None,
                    now_in_seconds: None,
                };
                b.statements = entries
                    .iter()
                    .zip(values)
                    .map(|(e, v)| BatchStatement {
                        kind: match e {
                            BatchEntry::Simple(s) => {
                                BatchStatementKind::Query(Cow::Borrowed(&s.text))
                            }
                            BatchEntry::Prepared(p) => {
                                BatchStatementKind::Prepared(Cow::Borrowed(&p.shared.id[..]))
                            }
                        },
                        values: Cow::Borrowed(v),
                    })
                    .collect();
                Request::Batch(b)
            }
            Payload::Prepare { text } => Request::Prepare(Prepare::new(*text)),
        }
    }
}

enum Step {
    Done(Box<Outcome>),
    Failed { error: AttemptError, written: bool },
}

impl SessionInner {
    /// Runs `job` to completion: success, a final error, or `NoHostAvailable`.
    pub(crate) async fn run(&self, job: &Job<'_>) -> Result<Outcome, Error> {
        let _permit = self.admit(job.deadline, job.started).await?;
        let view = self.cluster.view();
        let routing = job.routing();
        let mut plan = self.config.load_balancing.plan(&routing, &view);
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut retry_count = 0u32;
        let mut consistency = job.consistency;
        let mut host = plan.next().map(|h| h.address());
        while let Some(addr) = host {
            let conn = match self.cluster.pool(addr).map(|p| p.pick().ok_or(p)) {
                Some(Ok(c)) => c,
                Some(Err(pool)) => {
                    let reason = pool.down_reason().unwrap_or_else(|| "connecting".into());
                    attempts.push(no_connection(addr, reason));
                    host = plan.next().map(|h| h.address());
                    continue;
                }
                None => {
                    attempts.push(no_connection(addr, "host has no pool".into()));
                    host = plan.next().map(|h| h.address());
                    continue;
                }
            };
            let t0 = Instant::now();
            let step = self.attempt(job, &conn, consistency).await;
            let (error, written) = match step {
                Ok(Step::Done(outcome)) => return Ok(*outcome),
                Ok(Step::Failed { error, written }) => (error, written),
                Err(final_error) => return Err(final_error),
            };
            if Instant::now() >= job.deadline {
                attempts.push(Attempt {
                    host: addr,
                    error,
                    elapsed: t0.elapsed(),
                    written,
                });
                return Err(timeout(job, &attempts));
            }
            let cause = match &error {
                AttemptError::Server(e) => RetryCause::Server(&e.kind),
                AttemptError::Timeout(_) => RetryCause::AttemptTimeout,
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
            tracing::debug!(host = %addr, %error, written, ?decision, "attempt failed");
            retry_count += 1;
            attempts.push(Attempt {
                host: addr,
                error,
                elapsed: t0.elapsed(),
                written,
            });
            match decision {
                RetryDecision::RetrySameHost(c) => consistency = c.unwrap_or(consistency),
                RetryDecision::RetryNextHost(c) => {
                    consistency = c.unwrap_or(consistency);
                    host = plan.next().map(|h| h.address());
                }
                RetryDecision::Ignore => {
                    return Ok(Outcome {
                        envelope: ResponseEnvelope::default(),
                        result: ResultBody::Void,
                        host: addr,
                        metadata: None,
                    })
                }
                _ => return Err(final_error(attempts)),
            }
        }
        Err(Error::NoHostAvailable(NoHostAvailable { attempts }))
    }

    /// One attempt on one connection (with a transparent re-prepare when the node
    /// forgot the statement). `Err` is final: no retry can help.
    async fn attempt(
        &self,
        job: &Job<'_>,
        conn: &Connection,
        consistency: Consistency,
    ) -> Result<Step, Error> {
        let attempt_deadline = match self.config.attempt_timeout {
            Some(t) => job.deadline.min(Instant::now() + t),
            None => job.deadline,
        };
        let mut reprepared = false;
        loop {
            let meta = match &job.payload {
                Payload::Execute { prepared, .. } => Some(prepared.result_metadata()),
                _ => None,
            };
            let request = job.request(consistency, &meta);
            let frame = conn
                .encode(&request, job.tracing)
                .map_err(|e| Error::InvalidRequest(e.to_string()))?;
            drop(request);
            let sent = tokio::time::timeout_at(attempt_deadline, conn.send_frame(frame)).await;
            let frame = match sent {
                Err(_) => {
                    return Ok(Step::Failed {
                        error: AttemptError::Timeout(
                            attempt_deadline.saturating_duration_since(job.started),
                        ),
                        written: true,
                    })
                }
                Ok(Err(e)) => {
                    return Ok(Step::Failed {
                        error: AttemptError::Connection(e.error),
                        written: e.written,
                    })
                }
                Ok(Ok(frame)) => frame,
            };
            let host = conn.addr();
            let (envelope, response) = match parse_response(&frame) {
                Ok(r) => r,
                Err(e) => {
                    return Ok(Step::Failed {
                        error: AttemptError::Protocol(e),
                        written: true,
                    })
                }
            };
            for w in &envelope.warnings {
                tracing::warn!(host = %host, warning = %w, "server warning");
            }
            match response {
                Response::Result(result) => {
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
                        if let Some(text) = unprepared_text(job, &err) {
                            reprepared = true;
                            self.reprepare(conn, text, attempt_deadline).await?;
                            continue;
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

    /// v5 METADATA_CHANGED: remember the new result metadata for later executions.
    fn absorb_metadata(
        &self,
        job: &Job<'_>,
        result: &ResultBody,
        meta: Option<ResultMetadata>,
    ) -> Option<ResultMetadata> {
        let Payload::Execute { prepared, .. } = &job.payload else {
            return None;
        };
        if let ResultBody::Rows(rows) = result {
            if let Some(new_id) = &rows.metadata.new_metadata_id {
                let m = ResultMetadata::from_rows(Some(new_id.clone()), &rows.metadata);
                prepared.update_result_metadata(m.clone());
                return Some(m);
            }
        }
        meta
    }

    async fn reprepare(
        &self,
        conn: &Connection,
        text: &str,
        deadline: Instant,
    ) -> Result<(), Error> {
        let host = conn.addr();
        let req = Request::Prepare(Prepare::new(text));
        let sent = tokio::time::timeout_at(deadline, conn.send(&req)).await;
        let frame = match sent {
            Ok(Ok(f)) => f,
            Ok(Err(e)) => {
                return Err(Error::Connection {
                    error: e.error,
                    written: false,
                })
            }
            Err(_) => {
                return Err(Error::Timeout(RequestTimeout {
                    elapsed: deadline.elapsed(),
                    attempts: 1,
                    maybe_executed: false,
                }))
            }
        };
        match parse_response(&frame) {
            Ok((_, Response::Result(ResultBody::Prepared(_)))) => Ok(()),
            Ok((_, Response::Error(e))) => {
                Err(Error::Server(Box::new(ServerError::from_body(host, e))))
            }
            Ok((_, other)) => Err(Error::Protocol {
                host,
                reason: format!("unexpected {:?} answer to PREPARE", other.opcode()),
            }),
            Err(e) => Err(Error::Protocol {
                host,
                reason: e.to_string(),
            }),
        }
    }

    /// Waits for a slot in the session's request limiter (bounded queue; the wait
    /// counts toward the request's deadline).
    async fn admit(
        &self,
        deadline: Instant,
        started: Instant,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, Error> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if let Ok(p) = self.limiter.try_acquire() {
            return Ok(p);
        }
        let waiting = self
            .waiting
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let _guard = WaitGuard(&self.waiting);
        if waiting >= self.config.max_queued_requests {
            return Err(Error::Backpressure(waiting));
        }
        match tokio::time::timeout_at(deadline, self.limiter.acquire()).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(Error::Closed),
            Err(_) => Err(Error::Timeout(RequestTimeout {
                elapsed: started.elapsed(),
                attempts: 0,
                maybe_executed: false,
            })),
        }
    }
}

struct WaitGuard<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
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

fn timeout(job: &Job<'_>, attempts: &[Attempt]) -> Error {
    Error::Timeout(RequestTimeout {
        elapsed: job.started.elapsed(),
        attempts: attempts.len(),
        maybe_executed: attempts.iter().any(|a| a.written),
    })
}

/// The error of the last attempt, as the caller sees it when the policy gives up.
fn final_error(mut attempts: Vec<Attempt>) -> Error {
    let Some(last) = attempts.pop() else {
        return Error::NoHostAvailable(NoHostAvailable { attempts });
    };
    match last.error {
        AttemptError::Server(e) => Error::Server(e),
        AttemptError::Connection(error) => Error::Connection {
            error,
            written: last.written,
        },
        AttemptError::Timeout(_) => Error::Timeout(RequestTimeout {
            elapsed: last.elapsed,
            attempts: attempts.len() + 1,
            maybe_executed: true,
        }),
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

/// The text to re-prepare when a node answers UNPREPARED for our statement.
fn unprepared_text<'a>(job: &'a Job<'_>, err: &ServerError) -> Option<&'a str> {
    let ServerErrorKind::Unprepared { id } = &err.kind else {
        return None;
    };
    match &job.payload {
        Payload::Execute { prepared, .. } if prepared.shared.id == *id => {
            Some(&prepared.shared.text)
        }
        Payload::Batch { entries, .. } => entries.iter().find_map(|e| match e {
            BatchEntry::Prepared(p) if p.shared.id == *id => Some(&*p.shared.text),
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
