//! Every default of the driver in one place. Each value is what a session uses when
//! the builder (or a statement, or a stream config) does not say otherwise. A leaf:
//! every layer (connection, pool, cluster, session) reads its defaults here.

use std::time::Duration;

use crate::Consistency;

/// TCP connect plus protocol handshake, per connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request deadline, covering queueing, every attempt and every retry. Above
/// Cassandra's server-side timeouts (`write_request_timeout` 2 s,
/// `read_request_timeout` 5 s, `range_request_timeout` 10 s), so that a server
/// timeout is reported as such rather than as a client timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(12);
/// Time `close()` lets in-flight requests finish before sockets are closed.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(30);
/// Per-attempt timeout: none, only the request deadline applies.
pub const ATTEMPT_TIMEOUT: Option<Duration> = None;
/// Consistency of reads and writes.
pub const CONSISTENCY: Consistency = Consistency::LocalQuorum;
/// Consistency of the Paxos phase of lightweight transactions.
pub const SERIAL_CONSISTENCY: Consistency = Consistency::LocalSerial;
/// Rows per page.
pub const PAGE_SIZE: i32 = 5_000;
/// Connections opened to each host.
pub const CONNECTIONS_PER_HOST: usize = 1;
/// Native transport port.
pub const PORT: u16 = 9042;
/// Idle time after which a connection sends a heartbeat (OPTIONS).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// Time a heartbeat may stay unanswered before the connection is closed.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);
/// First reconnection delay after a failed connection attempt.
pub const RECONNECT_BASE: Duration = Duration::from_millis(500);
/// Largest reconnection delay (the backoff doubles up to here, with jitter).
pub const RECONNECT_MAX: Duration = Duration::from_secs(30);
/// Requests a session lets run at once before new ones wait in its queue.
pub const MAX_CONCURRENT_REQUESTS: usize = 32_768;
/// Caller-abandoned stream ids older than this count as "old orphans".
pub const ORPHAN_AGE: Duration = Duration::from_secs(15);
/// A connection holding more old orphans than this is replaced.
pub const MAX_ORPHANS: usize = 1_024;
/// Pages a paging stream fetches ahead of the reader (0: only on demand). A stream
/// holds at most `1 + prefetch` pages.
pub const PREFETCH_PAGES: usize = 1;
/// Deadline of each page of a stream: none of its own, so a page gets the
/// statement's timeout, else `REQUEST_TIMEOUT`.
pub const STREAM_PAGE_TIMEOUT: Option<Duration> = None;
/// Deadline of a whole stream: none.
pub const STREAM_DEADLINE: Option<Duration> = None;
/// Pages a stream yields at most: no limit.
pub const STREAM_MAX_PAGES: Option<u64> = None;
/// Rows a stream yields at most: no limit.
pub const STREAM_MAX_ROWS: Option<u64> = None;
/// Delay that coalesces bursts of topology and schema events before a refresh.
pub const EVENT_DEBOUNCE: Duration = Duration::from_millis(500);
/// Prepared statements cached per session (by query text and keyspace).
pub const PREPARED_CACHE_SIZE: usize = 4_096;
/// Longest wait for every node to agree on the schema after a DDL statement.
pub const SCHEMA_AGREEMENT_TIMEOUT: Duration = Duration::from_secs(10);
