//! ringbolt: an async, pure-Rust driver for Apache Cassandra's CQL native protocol.
//!
//! Work in progress: the protocol layer comes first.

#![cfg_attr(not(feature = "unstable-protocol"), allow(dead_code, unreachable_pub))]

// Lets derive-generated code, which names `::ringbolt`, compile inside this crate.
extern crate self as ringbolt;

/// Invokes `$m!(n; A 0, B 1, ...)` for every tuple arity from 1 to 16: the one list the
/// tuple impls of values and rows (both directions) share.
macro_rules! for_each_tuple {
    ($m:ident) => {
        $m!(1; A 0);
        $m!(2; A 0, B 1);
        $m!(3; A 0, B 1, C 2);
        $m!(4; A 0, B 1, C 2, D 3);
        $m!(5; A 0, B 1, C 2, D 3, E 4);
        $m!(6; A 0, B 1, C 2, D 3, E 4, F 5);
        $m!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
        $m!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
        $m!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
        $m!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
        $m!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
        $m!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
        $m!(13; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
        $m!(14; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
        $m!(15; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
        $m!(16; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
    };
}
pub(crate) use for_each_tuple;

mod cluster;
#[cfg(feature = "unstable-protocol")]
pub mod codec;
#[cfg(not(feature = "unstable-protocol"))]
#[allow(unused_imports)]
mod codec;
mod connection;
mod convert;
pub mod defaults;
mod error;
#[cfg(feature = "unstable-protocol")]
pub mod fake_node;
#[cfg(all(test, not(feature = "unstable-protocol")))]
mod fake_node;
mod metrics;
mod pool;
#[cfg(feature = "unstable-protocol")]
pub mod protocol;
#[cfg(not(feature = "unstable-protocol"))]
#[allow(unused_imports)]
mod protocol;
mod session;
mod statement;
#[cfg(feature = "unstable-protocol")]
#[doc(hidden)]
pub mod unstable;

#[cfg(feature = "unstable-protocol")]
#[doc(hidden)]
pub use crate::metrics::bench_support;
#[cfg(feature = "metrics")]
pub use crate::metrics::publish_to_metrics_facade;
pub use crate::metrics::{
    Bucket, HistogramSnapshot, HostErrorCounts, HostMetricsSnapshot, MetricsSnapshot, ReasonCounts,
    RetryReason, ServerErrorCounts,
};
#[cfg(feature = "unstable-protocol")]
#[doc(hidden)]
pub use crate::session::observe_bench_support;
pub use cluster::{
    murmur3_token, AddressTranslator, ClusterView, DefaultPolicy, DefaultPolicyBuilder, Host,
    HostDistance, HostEvent, HostFilter, HostId, HostInfo, IdentityTranslator, LoadBalancingPolicy,
    QueryPlan, RoutingInfo, Token,
};
pub use connection::{AuthError, AuthSession, Authenticator, PlainTextAuthenticator};
pub use error::{Attempt, AttemptError, Error, NoHostAvailable, RequestTimeout, ServerError};
pub use error::{ConnectionError, ServerErrorKind, WriteType};
pub use error::{ContactPointError, ContactPointFailure, SetupError};
pub use pool::HostState;
pub use protocol::Consistency;
pub use session::builder_types::ProtocolVersionChoice;
pub use session::retry::{
    DefaultRetryPolicy, FallthroughRetryPolicy, RetryCause, RetryDecision, RetryPolicy,
    RetryRequest,
};
pub use session::{
    AttemptOutcome, AttemptRecord, QueryTrace, RequestKind, RequestObserver, RequestRecord,
    TraceEvent,
};
pub use session::{
    PageStream, PagedStatement, PagingState, Progress, QueryResult, RowStream, Session,
    SessionBuilder, StreamConfig,
};
pub use statement::{Batch, BatchKind, PreparedStatement, Statement, StatementOptions};
mod row;
mod value;

#[cfg(test)]
mod derive_tests;

/// Derives for structs: `FromRow` / `SerializeRow` (rows, by column or bind-marker
/// name) and `FromUserType` / `SerializeUserType` (UDT values, by field name). Field
/// attribute: `#[ringbolt(rename = "cql_name")]`. The generated code names this crate
/// `::ringbolt`, so depend on it under that name (no renaming in Cargo.toml).
pub use ringbolt_macros::{FromRow, FromUserType, SerializeRow, SerializeUserType};

pub use protocol::types::{
    ColumnType, Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid,
    CqlUuid, CqlValue, CqlVarint, UdtType,
};
pub use row::{
    ColumnIterator, ColumnSpec, DeserializationError, DeserializationErrorKind, DeserializeRow,
    DeserializeValue, FrameSlice, RawColumn, Row, RowSet, TypedRows,
};
pub use value::{
    write_value, ColumnRef, MaybeUnset, SerializationError, SerializationErrorKind, SerializeRow,
    SerializeValue, Unset, Written,
};

/// Support for derive-generated code. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::row::{no_trailing, read_field};
    pub use crate::value::{write_field, write_null, write_row_value};
    pub use bytes::BytesMut;
}
