//! `Session::query_trace`: reads the server-side trace of a request sent with
//! tracing on (`with_tracing(true)`, id from `QueryResult::tracing_id`) from
//! `system_traces.sessions` and `system_traces.events` into typed structs, waiting
//! (bounded) until the coordinator has written the session's duration. It does not
//! turn tracing on; the statement's flag does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::statement::Statement;
use crate::{Consistency, CqlTimestamp, CqlUuid, PagingState, Row, Session};

/// Reads of `system_traces.sessions` before giving up on an incomplete trace.
const TRACE_READS: u32 = 10;
/// The wait before the second read; it doubles up to `TRACE_MAX_WAIT` (total ~1.5 s).
const TRACE_FIRST_WAIT: Duration = Duration::from_millis(10);
const TRACE_MAX_WAIT: Duration = Duration::from_millis(300);
/// Event rows read per page.
const EVENTS_PAGE: i32 = 1_000;
/// Pages of events read at most (a trace with more events is cut short).
const MAX_EVENT_PAGES: usize = 100;

/// A server-side query trace (`system_traces.sessions` plus its events).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct QueryTrace {
    /// The tracing id (`session_id`).
    pub id: CqlUuid,
    /// The node that coordinated the request.
    pub coordinator: Option<IpAddr>,
    /// The coordinator's port, when the server records it (Cassandra 4+).
    pub coordinator_port: Option<u16>,
    /// The client address the coordinator saw.
    pub client: Option<IpAddr>,
    /// The command (`QUERY`, `EXECUTE`, ...), when recorded.
    pub command: Option<String>,
    /// Server-side duration of the request.
    pub duration: Duration,
    /// The request's description (e.g. `Execute CQL3 query`).
    pub request: String,
    /// When the coordinator started the request.
    pub started_at: SystemTime,
    /// Request parameters the coordinator recorded (query text, consistency, ...).
    pub parameters: HashMap<String, String>,
    /// Every event, in the order the server stored them (time order).
    pub events: Vec<TraceEvent>,
}

/// One step of a [`QueryTrace`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TraceEvent {
    /// The event id (a timeuuid).
    pub event_id: CqlUuid,
    /// What happened.
    pub activity: String,
    /// The node where it happened.
    pub source: Option<IpAddr>,
    /// That node's port, when recorded (Cassandra 4+).
    pub source_port: Option<u16>,
    /// Time since the request reached that node.
    pub source_elapsed: Duration,
    /// The server thread that logged it.
    pub thread: String,
}

impl Session {
    /// Fetches the trace of a request sent with tracing on, waiting (at most ~1.5 s
    /// over 10 reads at consistency ONE) until the coordinator has completed it.
    /// Fails with [`Error::TraceUnavailable`] when it is still incomplete then.
    ///
    /// ```no_run
    /// # async fn demo(session: &ringbolt::Session) -> Result<(), ringbolt::Error> {
    /// use ringbolt::Statement;
    /// let rs = session
    ///     .query(Statement::new("SELECT * FROM system.local").with_tracing(true), ())
    ///     .await?;
    /// if let Some(id) = rs.tracing_id() {
    ///     let trace = session.query_trace(id).await?;
    ///     for e in &trace.events {
    ///         println!("{:>8?} {:?} {}", e.source_elapsed, e.source, e.activity);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query_trace(&self, tracing_id: [u8; 16]) -> Result<QueryTrace, Error> {
        let id = CqlUuid(tracing_id);
        let mut wait = TRACE_FIRST_WAIT;
        for read in 1..=TRACE_READS {
            if let Some(mut trace) = self.trace_session(id).await? {
                trace.events = self.trace_events(id).await?;
                return Ok(trace);
            }
            if read < TRACE_READS {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(TRACE_MAX_WAIT);
            }
        }
        Err(Error::TraceUnavailable {
            id,
            attempts: TRACE_READS,
        })
    }

    /// The session row, or `None` while it is missing or has no duration yet.
    async fn trace_session(&self, id: CqlUuid) -> Result<Option<QueryTrace>, Error> {
        let st = Statement::new("SELECT * FROM system_traces.sessions WHERE session_id = ?")
            .with_consistency(Consistency::One)
            .with_idempotent(true);
        let rs = self.query(st, (id,)).await?;
        let Some(rows) = rs.rows() else {
            return Ok(None);
        };
        let Some(row) = rows.iter().next() else {
            return Ok(None);
        };
        let row = row?;
        let Some(duration) = opt::<i32>(&row, "duration")? else {
            return Ok(None);
        };
        let parameters: Option<HashMap<String, String>> = opt(&row, "parameters")?;
        Ok(Some(QueryTrace {
            id,
            coordinator: opt(&row, "coordinator")?,
            coordinator_port: port(&row, "coordinator_port")?,
            client: opt(&row, "client")?,
            command: opt(&row, "command")?,
            duration: micros(duration),
            request: opt::<String>(&row, "request")?.unwrap_or_default(),
            started_at: opt::<CqlTimestamp>(&row, "started_at")?
                .map_or(SystemTime::UNIX_EPOCH, to_system_time),
            parameters: parameters.unwrap_or_default(),
            events: Vec::new(),
        }))
    }

    async fn trace_events(&self, id: CqlUuid) -> Result<Vec<TraceEvent>, Error> {
        let st = Statement::new("SELECT * FROM system_traces.events WHERE session_id = ?")
            .with_consistency(Consistency::One)
            .with_idempotent(true)
            .with_page_size(EVENTS_PAGE);
        let mut events = Vec::new();
        let mut paging: Option<PagingState> = None;
        for _ in 0..MAX_EVENT_PAGES {
            let rs = self.query_page(st.clone(), (id,), paging.take()).await?;
            if let Some(rows) = rs.rows() {
                for row in rows.iter() {
                    let row = row?;
                    events.push(TraceEvent {
                        event_id: opt(&row, "event_id")?.unwrap_or_default(),
                        activity: opt::<String>(&row, "activity")?.unwrap_or_default(),
                        source: opt(&row, "source")?,
                        source_port: port(&row, "source_port")?,
                        source_elapsed: opt::<i32>(&row, "source_elapsed")?
                            .map_or(Duration::ZERO, micros),
                        thread: opt::<String>(&row, "thread")?.unwrap_or_default(),
                    });
                }
            }
            match rs.paging_state() {
                Some(p) => paging = Some(p.clone()),
                None => break,
            }
        }
        Ok(events)
    }
}

/// A nullable column that may also be absent from older servers' tables.
fn opt<'f, T: crate::DeserializeValue<'f>>(row: &Row<'f>, name: &str) -> Result<Option<T>, Error> {
    if !row.columns().iter().any(|c| c.name == name) {
        return Ok(None);
    }
    Ok(row.get_by_name::<Option<T>>(name)?)
}

fn port(row: &Row<'_>, name: &str) -> Result<Option<u16>, Error> {
    Ok(opt::<i32>(row, name)?.and_then(|p| u16::try_from(p).ok()))
}

fn micros(v: i32) -> Duration {
    Duration::from_micros(u64::try_from(v).unwrap_or(0))
}

fn to_system_time(t: CqlTimestamp) -> SystemTime {
    let ms = t.0.unsigned_abs();
    if t.0 >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_micros_convert() {
        assert_eq!(
            to_system_time(CqlTimestamp(1_500)),
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_500)
        );
        assert_eq!(
            to_system_time(CqlTimestamp(-1_000)),
            SystemTime::UNIX_EPOCH - Duration::from_secs(1)
        );
        assert_eq!(micros(-5), Duration::ZERO);
        assert_eq!(micros(1_234), Duration::from_micros(1_234));
    }
}
