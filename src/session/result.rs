//! `QueryResult`: what a query, execute or batch returns — rows (typed access through
//! `RowSet`), the paging state, the coordinator, tracing id and warnings, and the
//! `[applied]` flag of lightweight transactions.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::protocol::response::ResultBody;
use crate::row::{
    DeserializationError, DeserializationErrorKind, DeserializeRow, RowSet, TypedRows,
};
use crate::session::execute::{arc_columns, Outcome};
use crate::ColumnSpec;

/// Opaque position in a paged result; pass it back to resume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PagingState(pub(crate) Bytes);

impl PagingState {
    /// The raw bytes (to store across processes).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Rebuilds a paging state from bytes returned by [`PagingState::as_bytes`].
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }
}

/// The answer to a query, execute or batch.
#[derive(Debug, Clone)]
pub struct QueryResult {
    rows: Option<RowSet>,
    paging_state: Option<PagingState>,
    coordinator: SocketAddr,
    tracing_id: Option<[u8; 16]>,
    warnings: Vec<String>,
    keyspace_set: Option<String>,
}

impl QueryResult {
    pub(crate) fn from_outcome(o: Outcome) -> Self {
        let (rows, paging_state, keyspace_set) = match o.result {
            ResultBody::Rows(rows) => {
                let columns = arc_columns(o.metadata.as_deref(), &rows);
                let paging = rows.metadata.paging_state.clone().map(PagingState);
                (
                    Some(RowSet::new(columns, rows.rows_count, rows.rows_content)),
                    paging,
                    None,
                )
            }
            ResultBody::SetKeyspace(ks) => (None, None, Some(ks)),
            _ => (None, None, None),
        };
        Self {
            rows,
            paging_state,
            coordinator: o.host,
            tracing_id: o.envelope.tracing_id,
            warnings: o.envelope.warnings,
            keyspace_set,
        }
    }

    /// The rows, when the statement returns rows (SELECT, LWT).
    pub fn rows(&self) -> Option<&RowSet> {
        self.rows.as_ref()
    }

    /// Takes the rows out.
    pub fn into_rows(self) -> Option<RowSet> {
        self.rows
    }

    /// Number of rows in this page (0 when the statement returns none).
    pub fn rows_count(&self) -> usize {
        self.rows.as_ref().map_or(0, RowSet::rows_count)
    }

    /// The result columns (empty when the statement returns no rows).
    pub fn columns(&self) -> &[ColumnSpec] {
        self.rows.as_ref().map_or(&[], RowSet::columns)
    }

    /// Typed iteration over the rows; type-checks the columns once.
    pub fn rows_typed<'a, R: DeserializeRow<'a>>(
        &'a self,
    ) -> Result<TypedRows<'a, R>, DeserializationError> {
        match &self.rows {
            Some(r) => r.rows::<R>(),
            None => Err(no_rows::<R>()),
        }
    }

    /// The first row, or `None` when there is none (or the statement returns no rows).
    pub fn maybe_first_row<'a, R: DeserializeRow<'a>>(
        &'a self,
    ) -> Result<Option<R>, DeserializationError> {
        match &self.rows {
            Some(r) => r.maybe_first_row(),
            None => Ok(None),
        }
    }

    /// The first row; an error when there is none.
    pub fn first_row<'a, R: DeserializeRow<'a>>(&'a self) -> Result<R, DeserializationError> {
        match &self.rows {
            Some(r) => r.first_row(),
            None => Err(no_rows::<R>()),
        }
    }

    /// For a lightweight transaction (`IF ...`): whether it was applied.
    pub fn applied(&self) -> Result<bool, DeserializationError> {
        let rows = self.rows.as_ref().ok_or_else(no_rows::<bool>)?;
        let row = rows.iter().next().ok_or_else(no_rows::<bool>)??;
        row.get_by_name::<bool>("[applied]")
    }

    /// Where the next page starts, when there are more pages.
    pub fn paging_state(&self) -> Option<&PagingState> {
        self.paging_state.as_ref()
    }

    /// The node that coordinated the request.
    pub fn coordinator(&self) -> SocketAddr {
        self.coordinator
    }

    /// The tracing session id, when tracing was on.
    pub fn tracing_id(&self) -> Option<[u8; 16]> {
        self.tracing_id
    }

    /// Warnings the server attached.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The keyspace set by a `USE` statement.
    pub fn keyspace_set(&self) -> Option<&str> {
        self.keyspace_set.as_deref()
    }
}

fn no_rows<T: ?Sized>() -> DeserializationError {
    DeserializationError::row::<T>(DeserializationErrorKind::NoRows)
}
