//! ringbolt: an async, pure-Rust driver for Apache Cassandra's CQL native protocol.
//!
//! Work in progress: the protocol layer comes first.

#![cfg_attr(not(feature = "unstable-protocol"), allow(dead_code, unreachable_pub))]

mod cluster;
#[cfg(feature = "unstable-protocol")]
pub mod codec;
#[cfg(not(feature = "unstable-protocol"))]
#[allow(unused_imports)]
mod codec;
mod connection;
mod consistency;
mod error;
mod pool;
#[cfg(feature = "unstable-protocol")]
pub mod protocol;
#[cfg(not(feature = "unstable-protocol"))]
#[allow(unused_imports)]
mod protocol;
mod session;

pub use cluster::{
    murmur3_token, AddressTranslator, ClusterView, DefaultPolicy, DefaultPolicyBuilder, Host,
    HostDistance, HostFilter, HostId, IdentityTranslator, LoadBalancingPolicy, QueryPlan,
    RoutingInfo, Token,
};
pub use connection::{AuthError, AuthSession, Authenticator, PlainTextAuthenticator};
pub use consistency::Consistency;
pub use error::{ConnectionError, ServerErrorKind, WriteType};
pub use pool::HostState;
pub use session::defaults;
pub use session::retry::{
    DefaultRetryPolicy, FallthroughRetryPolicy, RetryCause, RetryDecision, RetryPolicy,
    RetryRequest,
};
