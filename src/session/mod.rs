//! The session: the public API (query, prepare, execute, batch, use_keyspace,
//! close) as a cheap cloneable handle over `SessionInner`, which owns the cluster,
//! the prepared-statement cache and the request limiter. Every request is run by the
//! execution core in `execute.rs`; the builder lives in `builder.rs`.

mod builder;
pub(crate) mod execute;
mod hosts;
mod job;
mod limiter;
mod metrics;
pub(crate) mod observe;
mod paging;
mod query_trace;
mod result;
pub(crate) mod retry;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::OnceCell;
use tokio::time::Instant;

pub use builder::SessionBuilder;
pub(crate) mod builder_types {
    pub use super::builder::ProtocolVersionChoice;
}
#[cfg(feature = "unstable-protocol")]
#[doc(hidden)]
pub use observe::bench_support as observe_bench_support;
pub use observe::{AttemptOutcome, AttemptRecord, RequestKind, RequestObserver, RequestRecord};
pub use paging::{PageStream, PagedStatement, Progress, RowStream, StreamConfig};
pub use query_trace::{QueryTrace, TraceEvent};
pub use result::{PagingState, QueryResult};

use crate::cluster::{Cluster, LoadBalancingPolicy};
use crate::connection::CallOptions;
use crate::defaults;
use crate::error::{Error, ServerError};
use crate::protocol::request::SerializedValues;
use crate::protocol::response::{Response, ResultBody};
use crate::session::job::{Job, Payload};
use crate::session::retry::RetryPolicy;
use crate::statement::{
    Batch, BatchEntry, PreparedShared, PreparedStatement, ResultMetadata, Statement,
    StatementOptions,
};
use crate::{Consistency, SerializeRow};

/// Resolved session settings (see `defaults` for every default).
#[derive(Debug, Clone)]
pub(crate) struct SessionConfig {
    pub(crate) consistency: Consistency,
    pub(crate) serial_consistency: Consistency,
    pub(crate) request_timeout: Duration,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) close_deadline: Duration,
    pub(crate) page_size: i32,
    pub(crate) max_queued_requests: usize,
    pub(crate) load_balancing: Arc<dyn LoadBalancingPolicy>,
    pub(crate) retry: Arc<dyn RetryPolicy>,
    /// The session's metrics (also handed to the pools).
    pub(crate) metrics: Arc<crate::metrics::SessionMetrics>,
    pub(crate) observer: Option<Arc<dyn observe::RequestObserver>>,
}

pub(crate) struct SessionInner {
    pub(crate) cluster: Cluster,
    pub(crate) config: SessionConfig,
    /// The session keyspace (`USE`), read by every request without a lock.
    keyspace: ArcSwapOption<String>,
    prepared: Mutex<HashMap<(Option<String>, String), PreparedStatement>>,
    pub(crate) limiter: limiter::Limiter,
    pub(crate) observability: observe::Observability,
    closed: AtomicBool,
    /// Set by `close()` once the drain deadline passed and connections are being cut.
    torn_down: AtomicBool,
    close_done: OnceCell<()>,
}

impl std::fmt::Debug for SessionInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("hosts", &self.cluster.view().hosts().len())
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl SessionInner {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// True once `close()` started cutting connections: no attempt may start.
    pub(crate) fn is_torn_down(&self) -> bool {
        self.torn_down.load(Ordering::Acquire)
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        self.cluster.shutdown();
    }
}

/// A session with a Cassandra cluster: a cheap `Clone + Send + Sync` handle that any
/// number of tasks can share. Build one with [`Session::builder`].
///
/// ```no_run
/// # async fn demo() -> Result<(), ringbolt::Error> {
/// use ringbolt::Session;
/// let session = Session::builder().contact_points(["127.0.0.1:9042"]).build().await?;
/// let rs = session.query("SELECT release_version FROM system.local", ()).await?;
/// let (version,): (String,) = rs.first_row()?;
/// println!("Cassandra {version}");
/// session.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl Session {
    /// A builder with every default (see [`defaults`]).
    pub fn builder() -> SessionBuilder {
        SessionBuilder::new()
    }

    pub(crate) fn from_parts(
        cluster: Cluster,
        config: SessionConfig,
        keyspace: Option<String>,
    ) -> Self {
        let permits = defaults::MAX_CONCURRENT_REQUESTS;
        let observability =
            observe::Observability::new(config.metrics.clone(), config.observer.clone());
        Self {
            inner: Arc::new(SessionInner {
                observability,
                cluster,
                config,
                keyspace: ArcSwapOption::from(keyspace.map(Arc::new)),
                prepared: Mutex::new(HashMap::new()),
                limiter: limiter::Limiter::new(permits),
                closed: AtomicBool::new(false),
                torn_down: AtomicBool::new(false),
                close_done: OnceCell::new(),
            }),
        }
    }

    fn keyspace(&self) -> Option<Arc<String>> {
        self.inner.keyspace.load_full()
    }

    fn job<'a>(
        &self,
        payload: Payload<'a>,
        o: &StatementOptions,
        keyspace: Option<&'a str>,
    ) -> Job<'a> {
        let c = &self.inner.config;
        let started = Instant::now();
        Job {
            payload,
            consistency: o.consistency.unwrap_or(c.consistency),
            serial_consistency: Some(o.serial_consistency.unwrap_or(c.serial_consistency)),
            timestamp: o.timestamp,
            page_size: Some(o.page_size.unwrap_or(c.page_size)),
            paging_state: None,
            idempotent: o.idempotent,
            tracing: o.tracing,
            deadline: started + o.timeout.unwrap_or(c.request_timeout),
            started,
            keyspace,
        }
    }

    /// Runs an unprepared statement with values (`()` for none).
    pub async fn query(
        &self,
        statement: impl Into<Statement>,
        values: impl SerializeRow,
    ) -> Result<QueryResult, Error> {
        let statement = statement.into();
        let values = serialize(&values, None)?;
        let ks = self.keyspace();
        let job = self.job(
            Payload::Query {
                text: &statement.text,
                values,
            },
            &statement.options,
            ks.as_deref().map(String::as_str),
        );
        let outcome = self.run(&job).await?;
        if let ResultBody::SetKeyspace(ks) = &outcome.result {
            self.remember_keyspace(ks);
        }
        Ok(QueryResult::from_outcome(outcome))
    }

    /// Runs one page of a statement starting at `paging_state` (or the first page).
    pub async fn query_page(
        &self,
        statement: impl Into<Statement>,
        values: impl SerializeRow,
        paging_state: Option<PagingState>,
    ) -> Result<QueryResult, Error> {
        let statement = statement.into();
        let values = serialize(&values, None)?;
        let ks = self.keyspace();
        let mut job = self.job(
            Payload::Query {
                text: &statement.text,
                values,
            },
            &statement.options,
            ks.as_deref().map(String::as_str),
        );
        job.paging_state = paging_state.map(|p| p.0);
        Ok(QueryResult::from_outcome(self.run(&job).await?))
    }

    /// Prepares a statement (cached per query text and keyspace).
    pub async fn prepare(
        &self,
        statement: impl Into<Statement>,
    ) -> Result<PreparedStatement, Error> {
        let statement = statement.into();
        let ks = self.keyspace();
        let key = (ks.as_deref().cloned(), statement.text.to_string());
        if let Some(p) = self
            .inner
            .prepared
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(PreparedStatement {
                shared: p.shared,
                options: statement.options,
            });
        }
        let mut opts = statement.options.clone();
        opts.idempotent = true; // PREPARE is always safe to repeat
        let job = self.job(
            Payload::Prepare {
                text: &statement.text,
            },
            &opts,
            ks.as_deref().map(String::as_str),
        );
        let outcome = self.inner.run(&job).await?;
        let ResultBody::Prepared(p) = outcome.result else {
            return Err(Error::Protocol {
                host: outcome.host,
                reason: "PREPARE answered without a Prepared result".into(),
            });
        };
        let keyspace = p
            .metadata
            .columns
            .first()
            .map(|c| c.keyspace.clone())
            .or_else(|| {
                p.metadata
                    .global_table_spec
                    .as_ref()
                    .map(|(k, _)| k.clone())
            })
            .or_else(|| ks.as_deref().cloned());
        let is_lwt = is_lwt_text(&statement.text);
        let shared = Arc::new(PreparedShared {
            text: statement.text.clone(),
            keyspace,
            id: p.id.clone(),
            bind_markers: p.metadata.columns.clone().into(),
            pk_indexes: p.metadata.pk_indexes.clone(),
            result: ArcSwap::from_pointee(ResultMetadata::from_rows(
                p.result_metadata_id.clone(),
                &p.result_metadata,
            )),
            is_lwt,
        });
        let prepared = PreparedStatement {
            shared,
            options: statement.options,
        };
        if let Ok(mut m) = self.inner.prepared.lock() {
            if m.len() >= defaults::PREPARED_CACHE_SIZE {
                m.clear();
            }
            m.insert(key, prepared.clone());
            self.inner
                .observability
                .metrics
                .prepared_cached(m.len() as u64);
        }
        Ok(prepared)
    }

    /// Executes a prepared statement. Values are type-checked against the bind
    /// markers before anything is sent.
    pub async fn execute(
        &self,
        prepared: &PreparedStatement,
        values: impl SerializeRow,
    ) -> Result<QueryResult, Error> {
        self.execute_page(prepared, values, None).await
    }

    /// Executes one page of a prepared statement from `paging_state`.
    pub async fn execute_page(
        &self,
        prepared: &PreparedStatement,
        values: impl SerializeRow,
        paging_state: Option<PagingState>,
    ) -> Result<QueryResult, Error> {
        let values = serialize(&values, Some(&prepared.shared.bind_markers))?;
        let ks = self.keyspace();
        let mut job = self.job(
            Payload::Execute { prepared, values },
            &prepared.options,
            ks.as_deref().map(String::as_str),
        );
        job.paging_state = paging_state.map(|p| p.0);
        Ok(QueryResult::from_outcome(self.run(&job).await?))
    }

    /// Runs a batch; `values` holds one row of values per statement, in order.
    pub async fn batch<V: SerializeRow>(
        &self,
        batch: &Batch,
        values: &[V],
    ) -> Result<QueryResult, Error> {
        if values.len() != batch.entries.len() {
            return Err(Error::InvalidRequest(format!(
                "batch has {} statements but {} value rows",
                batch.entries.len(),
                values.len()
            )));
        }
        // Every child's values go into one allocation, split into per-child buffers.
        let mut serialized = Vec::with_capacity(values.len());
        let mut spare = SerializedValues::with_capacity(values.len() * 64);
        for (entry, v) in batch.entries.iter().zip(values) {
            let markers = match entry {
                BatchEntry::Prepared(p) => Some(&p.shared.bind_markers[..]),
                BatchEntry::Simple(_) => None,
            };
            let mut child = spare;
            serialize_into(v, markers, &mut child)?;
            spare = child.split_spare();
            serialized.push(child);
        }
        let ks = self.keyspace();
        let mut job = self.job(
            Payload::Batch {
                kind: batch.kind,
                entries: &batch.entries,
                values: serialized,
            },
            &batch.options,
            ks.as_deref().map(String::as_str),
        );
        job.page_size = None;
        Ok(QueryResult::from_outcome(self.run(&job).await?))
    }

    /// Switches every connection to `keyspace` (`USE`), and new connections too.
    pub async fn use_keyspace(&self, keyspace: &str) -> Result<(), Error> {
        let text = format!("USE {}", crate::connection::quote_identifier(keyspace));
        // One round through the core validates the keyspace and reports errors typed.
        self.query(text.as_str(), ()).await?;
        for pool in self.inner.cluster.pools() {
            pool.set_keyspace(Some(keyspace.to_owned()));
            for conn in pool.connections() {
                let q = crate::protocol::request::Query::new(
                    text.as_str(),
                    crate::protocol::request::QueryParameters::new(Consistency::One),
                );
                let req = crate::protocol::request::Request::Query(q);
                // Bounded like any request: a frozen node must not hang the switch.
                let deadline = Instant::now() + self.inner.config.request_timeout;
                let failed = match conn.call(&req, CallOptions::by(deadline)).await {
                    Ok(reply) => match reply.response {
                        Response::Result(_) => continue,
                        other => format!("answered {:?}", other.opcode()),
                    },
                    Err(e) => e.to_string(),
                };
                // A connection left on another keyspace would run later statements
                // in the wrong place: it goes, and the pool opens a new one (on it).
                tracing::warn!(host = %conn.addr(), error = %failed, "USE on connection failed; closing it");
                conn.close();
            }
        }
        Ok(())
    }

    /// Runs a job; after DDL, waits for schema agreement so the next statement on any
    /// node sees the change.
    async fn run(&self, job: &Job<'_>) -> Result<execute::Outcome, Error> {
        let outcome = self.inner.run(job).await?;
        if matches!(outcome.result, ResultBody::SchemaChange(_)) {
            // The wait is part of the request: its deadline bounds it too.
            let left = job.deadline.saturating_duration_since(Instant::now());
            self.inner
                .cluster
                .await_schema_agreement(outcome.host, defaults::SCHEMA_AGREEMENT_TIMEOUT.min(left))
                .await;
        }
        Ok(outcome)
    }

    fn remember_keyspace(&self, ks: &str) {
        self.inner.keyspace.store(Some(Arc::new(ks.to_owned())));
        for pool in self.inner.cluster.pools() {
            pool.set_keyspace(Some(ks.to_owned()));
        }
    }

    /// Closes the session: new requests fail with [`Error::Closed`], in-flight ones
    /// may finish until the close deadline, then every connection and background task
    /// ends. Idempotent and safe to call from many tasks at once; all return when
    /// the work is done.
    pub async fn close(&self) {
        let inner = &self.inner;
        inner
            .close_done
            .get_or_init(|| async {
                inner.closed.store(true, Ordering::Release);
                let deadline = Instant::now() + inner.config.close_deadline;
                // Nothing in flight or waiting any more, or the deadline.
                let _ = tokio::time::timeout_at(deadline, inner.limiter.drained()).await;
                inner.limiter.close();
                inner.torn_down.store(true, Ordering::Release);
                // Every connection, usable or retiring, and the control connection.
                let mut conns: Vec<_> = inner
                    .cluster
                    .pools()
                    .iter()
                    .flat_map(|p| p.all_connections())
                    .collect();
                conns.extend(inner.cluster.control());
                inner.cluster.shutdown();
                for c in &conns {
                    c.close();
                }
                // The tasks end at once on close(); the bound only guards a stuck task.
                for c in &conns {
                    let _ = tokio::time::timeout(Duration::from_secs(1), c.closed()).await;
                }
            })
            .await;
    }

    /// True once `close` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    pub(crate) fn inner(&self) -> &Arc<SessionInner> {
        &self.inner
    }
}

fn serialize<V: SerializeRow + ?Sized>(
    values: &V,
    markers: Option<&Arc<[crate::ColumnSpec]>>,
) -> Result<SerializedValues, Error> {
    serialize_markers(values, markers.map(|m| &m[..]))
}

fn serialize_markers<V: SerializeRow + ?Sized>(
    values: &V,
    markers: Option<&[crate::ColumnSpec]>,
) -> Result<SerializedValues, Error> {
    // One allocation for typical rows (a handful of scalars); larger rows grow once or
    // twice. Starting empty made every row reallocate per value.
    let mut out = if values.is_empty() {
        SerializedValues::new()
    } else {
        SerializedValues::with_capacity(128)
    };
    serialize_into(values, markers, &mut out)?;
    Ok(out)
}

/// Appends one row of values to `out`, checked against `markers` when given.
fn serialize_into<V: SerializeRow + ?Sized>(
    values: &V,
    markers: Option<&[crate::ColumnSpec]>,
    out: &mut SerializedValues,
) -> Result<(), Error> {
    let r: Result<(), ValuesError> = out.extend_with(|buf| Ok(values.serialize_row(markers, buf)?));
    match r {
        Ok(()) => Ok(()),
        Err(ValuesError::Serialize(e)) => Err(Error::Serialization(e)),
        Err(ValuesError::Encode(e)) => Err(Error::InvalidRequest(e.to_string())),
    }
}

enum ValuesError {
    Serialize(crate::SerializationError),
    Encode(crate::protocol::EncodeError),
}

impl From<crate::SerializationError> for ValuesError {
    fn from(e: crate::SerializationError) -> Self {
        Self::Serialize(e)
    }
}

impl From<crate::protocol::EncodeError> for ValuesError {
    fn from(e: crate::protocol::EncodeError) -> Self {
        Self::Encode(e)
    }
}

/// A conditional statement (`IF ...`) runs Paxos: its replicas are tried in ring
/// order so that contending coordinators agree.
fn is_lwt_text(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    upper.contains(" IF ") || upper.ends_with(" IF NOT EXISTS") || upper.ends_with(" IF EXISTS")
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync + Clone>() {}
    is::<Session>();
    let _ = ServerError::maybe_executed;
}
