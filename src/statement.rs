//! Statements users execute: unprepared `Statement`s, `PreparedStatement`s (cheap to
//! clone, sharing the server's metadata) and `Batch`es, with their per-statement
//! options. Leaf types: no I/O here; the session executes them.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;

use crate::protocol::response::RowsMetadata;
use crate::{ColumnSpec, Consistency};

/// Per-statement options; `None` fields take the session's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementOptions {
    /// Consistency level.
    pub consistency: Option<Consistency>,
    /// Serial consistency for lightweight transactions.
    pub serial_consistency: Option<Consistency>,
    /// Client-side write timestamp in microseconds since the epoch.
    pub timestamp: Option<i64>,
    /// Overall deadline of the request (all attempts and retries).
    pub timeout: Option<Duration>,
    /// Whether the statement may be applied twice without harm. Only idempotent
    /// statements are retried after they were written to a node. Default: false.
    pub idempotent: bool,
    /// Ask the server to trace the request.
    pub tracing: bool,
    /// Rows per page.
    pub page_size: Option<i32>,
}

macro_rules! option_setters {
    () => {
        /// Sets the consistency level.
        pub fn with_consistency(mut self, c: Consistency) -> Self {
            self.options.consistency = Some(c);
            self
        }

        /// Sets the serial consistency (lightweight transactions).
        pub fn with_serial_consistency(mut self, c: Consistency) -> Self {
            self.options.serial_consistency = Some(c);
            self
        }

        /// Sets the write timestamp (microseconds since the epoch).
        pub fn with_timestamp(mut self, micros: i64) -> Self {
            self.options.timestamp = Some(micros);
            self
        }

        /// Sets the overall request timeout.
        pub fn with_timeout(mut self, timeout: Duration) -> Self {
            self.options.timeout = Some(timeout);
            self
        }

        /// Marks the statement idempotent (safe to retry after it was written).
        pub fn with_idempotent(mut self, idempotent: bool) -> Self {
            self.options.idempotent = idempotent;
            self
        }

        /// Turns server-side tracing on or off.
        pub fn with_tracing(mut self, tracing: bool) -> Self {
            self.options.tracing = tracing;
            self
        }

        /// Sets the page size in rows.
        pub fn with_page_size(mut self, rows: i32) -> Self {
            self.options.page_size = Some(rows);
            self
        }

        /// The statement's options.
        pub fn options(&self) -> &StatementOptions {
            &self.options
        }
    };
}

/// An unprepared CQL statement with its options.
///
/// ```
/// use ringbolt::{Consistency, Statement};
/// let s = Statement::new("SELECT * FROM ks.t WHERE k = ?")
///     .with_consistency(Consistency::One)
///     .with_idempotent(true);
/// assert!(s.options().idempotent);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub(crate) text: Arc<str>,
    pub(crate) options: StatementOptions,
}

impl Statement {
    /// A statement with default options.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        Self {
            text: text.into(),
            options: StatementOptions::default(),
        }
    }

    /// The CQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    option_setters!();
}

impl From<&str> for Statement {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Statement {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

/// What a PREPARE returned, shared by every clone of a prepared statement.
#[derive(Debug)]
pub(crate) struct PreparedShared {
    pub(crate) text: Arc<str>,
    pub(crate) keyspace: Option<String>,
    pub(crate) id: Bytes,
    pub(crate) bind_markers: Arc<[ColumnSpec]>,
    pub(crate) pk_indexes: Vec<u16>,
    /// Result metadata and (v5) its id; replaced when the server reports a change.
    /// Read by every execution without a lock; replaced when the node's changes.
    pub(crate) result: ArcSwap<ResultMetadata>,
    pub(crate) is_lwt: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ResultMetadata {
    pub(crate) id: Option<Bytes>,
    pub(crate) columns: Arc<[ColumnSpec]>,
}

impl ResultMetadata {
    pub(crate) fn from_rows(id: Option<Bytes>, m: &RowsMetadata) -> Self {
        Self {
            id,
            columns: m.columns.clone().into(),
        }
    }
}

/// A prepared statement: cheap to clone, executed with `Session::execute`.
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    pub(crate) shared: Arc<PreparedShared>,
    pub(crate) options: StatementOptions,
}

impl PreparedStatement {
    /// The CQL text it was prepared from.
    pub fn text(&self) -> &str {
        &self.shared.text
    }

    /// The server-side statement id.
    pub fn id(&self) -> &[u8] {
        &self.shared.id
    }

    /// The bind markers, in order.
    pub fn bind_markers(&self) -> &[ColumnSpec] {
        &self.shared.bind_markers
    }

    /// Indexes of the bind markers that form the partition key.
    pub fn partition_key_indexes(&self) -> &[u16] {
        &self.shared.pk_indexes
    }

    /// The columns an execution returns (as last reported by the server).
    pub fn result_columns(&self) -> Arc<[ColumnSpec]> {
        self.shared.result.load().columns.clone()
    }

    pub(crate) fn result_metadata(&self) -> Arc<ResultMetadata> {
        self.shared.result.load_full()
    }

    pub(crate) fn update_result_metadata(&self, m: Arc<ResultMetadata>) {
        self.shared.result.store(m);
    }

    option_setters!();
}

/// The kind of a batch (spec v5 section 4.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BatchKind {
    /// Atomic through the batch log.
    #[default]
    Logged,
    /// No batch log: faster, not atomic (may be partly applied on failure).
    Unlogged,
    /// Counter updates only.
    Counter,
}

/// One statement of a batch.
#[derive(Debug, Clone)]
pub(crate) enum BatchEntry {
    Simple(Statement),
    Prepared(PreparedStatement),
}

/// A batch of simple and prepared statements, executed with `Session::batch`.
///
/// ```
/// use ringbolt::{Batch, BatchKind};
/// let b = Batch::new(BatchKind::Unlogged)
///     .with_statement("INSERT INTO ks.t (k) VALUES (1)")
///     .with_statement("INSERT INTO ks.t (k) VALUES (?)");
/// assert_eq!(b.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Batch {
    pub(crate) kind: BatchKind,
    pub(crate) entries: Vec<BatchEntry>,
    pub(crate) options: StatementOptions,
}

impl Batch {
    /// An empty batch.
    pub fn new(kind: BatchKind) -> Self {
        Self {
            kind,
            entries: Vec::new(),
            options: StatementOptions::default(),
        }
    }

    /// Appends an unprepared statement.
    pub fn with_statement(mut self, s: impl Into<Statement>) -> Self {
        self.entries.push(BatchEntry::Simple(s.into()));
        self
    }

    /// Appends a prepared statement.
    pub fn with_prepared(mut self, p: &PreparedStatement) -> Self {
        self.entries.push(BatchEntry::Prepared(p.clone()));
        self
    }

    /// Appends an unprepared statement (in place).
    pub fn push_statement(&mut self, s: impl Into<Statement>) {
        self.entries.push(BatchEntry::Simple(s.into()));
    }

    /// Appends a prepared statement (in place).
    pub fn push_prepared(&mut self, p: &PreparedStatement) {
        self.entries.push(BatchEntry::Prepared(p.clone()));
    }

    /// Number of statements.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The batch kind.
    pub fn kind(&self) -> BatchKind {
        self.kind
    }

    option_setters!();
}
