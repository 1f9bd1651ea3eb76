//! One request with every option resolved (`Job`, with its `Payload`) and what the
//! execution core derives from it: the protocol request of one attempt, the routing
//! info for the query plan and a frame size estimate. It runs nothing: `execute.rs`
//! runs a job, `observe.rs` describes it.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use tokio::time::Instant;

use crate::cluster::{routing_token, RoutingInfo};
use crate::protocol::request::{
    Batch as BatchRequest, BatchStatement, BatchStatementKind, BatchType, CommonOptions, Execute,
    Prepare, Query, QueryParameters, Request, SerializedValues, Values,
};
use crate::statement::{BatchEntry, BatchKind, PreparedStatement, ResultMetadata};
use crate::Consistency;

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

impl Job<'_> {
    /// A close upper estimate of the request frame's size (header, body, options).
    pub(super) fn frame_size_hint(&self) -> usize {
        const OVERHEAD: usize = 64;
        OVERHEAD
            + self.paging_state.as_ref().map_or(0, |p| p.len())
            + match &self.payload {
                Payload::Query { text, values } => text.len() + values.encoded_len(),
                Payload::Execute { prepared, values } => {
                    prepared.shared.id.len() + values.encoded_len() + 16
                }
                Payload::Batch {
                    entries, values, ..
                } => entries
                    .iter()
                    .zip(values)
                    .map(|(e, v)| {
                        let stmt = match e {
                            BatchEntry::Simple(s) => 4 + s.text.len(),
                            BatchEntry::Prepared(p) => 2 + p.shared.id.len(),
                        };
                        1 + stmt + v.encoded_len()
                    })
                    .sum(),
                Payload::Prepare { text } => text.len(),
            }
    }

    pub(super) fn is_lwt(&self) -> bool {
        match &self.payload {
            Payload::Execute { prepared, .. } => prepared.shared.is_lwt,
            _ => false,
        }
    }

    pub(super) fn routing(&self) -> RoutingInfo<'_> {
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

    pub(super) fn params<'p>(
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
    pub(super) fn request<'p>(
        &'p self,
        consistency: Consistency,
        meta: &'p Option<Arc<ResultMetadata>>,
        full_metadata: bool,
    ) -> Request<'p> {
        match &self.payload {
            Payload::Query { text, values } => {
                Request::Query(Query::new(*text, self.params(values, consistency, false)))
            }
            Payload::Execute { prepared, values } => {
                let meta_id = meta.as_ref().and_then(|m| m.id.as_deref());
                // Skip metadata only when we hold it: the server then sends rows alone.
                let skip = !full_metadata && meta.as_ref().is_some_and(|m| !m.columns.is_empty());
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
