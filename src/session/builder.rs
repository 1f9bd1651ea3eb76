//! `SessionBuilder`: every setting of a session, each defaulting to the value in
//! `defaults.rs`. `build()` connects (under the connect timeout) and returns a
//! ready `Session`.

use std::sync::Arc;
use std::time::Duration;

use super::{Session, SessionConfig};
use crate::cluster::{
    AddressTranslator, ClusterConfig, DefaultPolicy, IdentityTranslator, LoadBalancingPolicy,
};
use crate::connection::{Authenticator, ConnectionConfig, PlainTextAuthenticator};
use crate::defaults;
use crate::error::{Error, SetupError};
use crate::metrics::SessionMetrics;
use crate::pool::PoolConfig;
use crate::protocol::frame::Compression;
use crate::protocol::ProtocolVersion;
use crate::session::observe::RequestObserver;
use crate::session::retry::{DefaultRetryPolicy, RetryPolicy};
use crate::Consistency;

/// Native protocol version choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProtocolVersionChoice {
    /// Negotiate: v5, then v4, then v3 (the default).
    #[default]
    Auto,
    /// Protocol v4 only.
    V4,
    /// Protocol v5 only.
    V5,
}

/// Configures and builds a [`Session`].
///
/// ```no_run
/// # async fn demo() -> Result<(), ringbolt::Error> {
/// use std::time::Duration;
/// use ringbolt::{Consistency, Session};
/// let session = Session::builder()
///     .contact_points(["127.0.0.1:9042", "127.0.0.2:9042"])
///     .local_dc("datacenter1")
///     .default_consistency(Consistency::LocalQuorum)
///     .request_timeout(Duration::from_secs(5))
///     .lz4(true)
///     .build()
///     .await?;
/// # let _ = session; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    contact_points: Vec<String>,
    port: u16,
    keyspace: Option<String>,
    authenticator: Option<Arc<dyn Authenticator>>,
    lz4: bool,
    version: ProtocolVersionChoice,
    connections_per_host: usize,
    local_dc: Option<String>,
    load_balancing: Option<Arc<dyn LoadBalancingPolicy>>,
    retry: Arc<dyn RetryPolicy>,
    translator: Arc<dyn AddressTranslator>,
    consistency: Consistency,
    serial_consistency: Consistency,
    page_size: i32,
    connect_timeout: Duration,
    request_timeout: Duration,
    attempt_timeout: Option<Duration>,
    close_deadline: Duration,
    heartbeat_interval: Option<Duration>,
    max_queued_requests: usize,
    observer: Option<Arc<dyn RequestObserver>>,
}

impl Default for SessionBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionBuilder {
    /// A builder with every default.
    pub fn new() -> Self {
        Self {
            contact_points: Vec::new(),
            port: defaults::PORT,
            keyspace: None,
            authenticator: None,
            lz4: false,
            version: ProtocolVersionChoice::Auto,
            connections_per_host: defaults::CONNECTIONS_PER_HOST,
            local_dc: None,
            load_balancing: None,
            retry: Arc::new(DefaultRetryPolicy),
            translator: Arc::new(IdentityTranslator),
            consistency: defaults::CONSISTENCY,
            serial_consistency: defaults::SERIAL_CONSISTENCY,
            page_size: defaults::PAGE_SIZE,
            connect_timeout: defaults::CONNECT_TIMEOUT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            attempt_timeout: defaults::ATTEMPT_TIMEOUT,
            close_deadline: defaults::CLOSE_DEADLINE,
            heartbeat_interval: Some(defaults::HEARTBEAT_INTERVAL),
            max_queued_requests: defaults::MAX_CONCURRENT_REQUESTS,
            observer: None,
        }
    }

    /// Receives the history of every request (each attempt and the end; see
    /// [`RequestObserver`]). Unset by default, which costs nothing.
    pub fn request_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Where to connect first: `host:port`, an IP, or a host name (resolved at start).
    pub fn contact_points<I, S>(mut self, points: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.contact_points
            .extend(points.into_iter().map(Into::into));
        self
    }

    /// Adds one contact point.
    pub fn contact_point(mut self, point: impl Into<String>) -> Self {
        self.contact_points.push(point.into());
        self
    }

    /// Port for contact points and peers given without one (default 9042).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Keyspace every connection `USE`s.
    pub fn keyspace(mut self, keyspace: impl Into<String>) -> Self {
        self.keyspace = Some(keyspace.into());
        self
    }

    /// PasswordAuthenticator credentials.
    pub fn credentials(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.authenticator = Some(Arc::new(PlainTextAuthenticator::new(username, password)));
        self
    }

    /// A custom SASL authenticator.
    pub fn authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(authenticator);
        self
    }

    /// LZ4 compression (frame bodies on v4, segments on v5).
    pub fn lz4(mut self, on: bool) -> Self {
        self.lz4 = on;
        self
    }

    /// Protocol version (default: negotiate).
    pub fn protocol_version(mut self, version: ProtocolVersionChoice) -> Self {
        self.version = version;
        self
    }

    /// Connections per host (default 1: one connection multiplexes 32,768 requests).
    pub fn connections_per_host(mut self, n: usize) -> Self {
        self.connections_per_host = n.max(1);
        self
    }

    /// The local data center for the default load-balancing policy.
    pub fn local_dc(mut self, dc: impl Into<String>) -> Self {
        self.local_dc = Some(dc.into());
        self
    }

    /// A load-balancing policy (replaces the default token- and DC-aware one).
    pub fn load_balancing(mut self, policy: Arc<dyn LoadBalancingPolicy>) -> Self {
        self.load_balancing = Some(policy);
        self
    }

    /// A retry policy (default [`DefaultRetryPolicy`]).
    pub fn retry_policy(mut self, policy: Arc<dyn RetryPolicy>) -> Self {
        self.retry = policy;
        self
    }

    /// Translates addresses the cluster advertises (NAT, Kubernetes).
    pub fn address_translator(mut self, translator: Arc<dyn AddressTranslator>) -> Self {
        self.translator = translator;
        self
    }

    /// Default consistency.
    pub fn default_consistency(mut self, c: Consistency) -> Self {
        self.consistency = c;
        self
    }

    /// Default serial consistency.
    pub fn default_serial_consistency(mut self, c: Consistency) -> Self {
        self.serial_consistency = c;
        self
    }

    /// Default page size in rows.
    pub fn page_size(mut self, rows: i32) -> Self {
        self.page_size = rows;
        self
    }

    /// TCP connect plus handshake timeout, per connection.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Overall deadline of a request, covering every attempt and the queue.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Per-attempt timeout after which the next host is tried (idempotent
    /// statements only). Default: none.
    pub fn attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = Some(t);
        self
    }

    /// How long `close()` lets in-flight requests finish.
    pub fn close_deadline(mut self, t: Duration) -> Self {
        self.close_deadline = t;
        self
    }

    /// Heartbeat interval on idle connections (`None` disables heartbeats).
    pub fn heartbeat_interval(mut self, t: Option<Duration>) -> Self {
        self.heartbeat_interval = t;
        self
    }

    /// Requests allowed to wait for a slot once the session runs its maximum number
    /// of concurrent requests; more fail at once with `Error::Backpressure`.
    pub fn max_queued_requests(mut self, n: usize) -> Self {
        self.max_queued_requests = n;
        self
    }

    /// Connects: opens a control connection to a contact point, discovers the
    /// cluster and starts a connection pool per host.
    pub async fn build(self) -> Result<Session, Error> {
        if self.contact_points.is_empty() {
            return Err(Error::Setup(SetupError::NoContactPoints));
        }
        let connection = ConnectionConfig {
            version: match self.version {
                ProtocolVersionChoice::Auto => None,
                ProtocolVersionChoice::V4 => Some(ProtocolVersion::V4),
                ProtocolVersionChoice::V5 => Some(ProtocolVersion::V5),
            },
            compression: self.lz4.then_some(Compression::Lz4),
            connect_timeout: self.connect_timeout,
            authenticator: self.authenticator.clone(),
            heartbeat_interval: self.heartbeat_interval,
            keyspace: self.keyspace.clone(),
            ..ConnectionConfig::default()
        };
        let metrics = Arc::new(SessionMetrics::new());
        let pool = PoolConfig {
            metrics: Some(metrics.clone()),
            connection,
            connections_per_host: self.connections_per_host,
            ..PoolConfig::default()
        };
        let load_balancing = match self.load_balancing {
            Some(p) => p,
            None => {
                let mut b = DefaultPolicy::builder();
                if let Some(dc) = &self.local_dc {
                    b = b.local_dc(dc.clone());
                }
                Arc::new(b.build())
            }
        };
        let cluster_config = ClusterConfig {
            contact_points: self.contact_points.clone(),
            default_port: self.port,
            pool,
            translator: self.translator.clone(),
            policy: load_balancing.clone(),
        };
        let connect = crate::cluster::Cluster::connect(cluster_config);
        let cluster =
            match tokio::time::timeout(self.connect_timeout.saturating_mul(2), connect).await {
                Ok(Ok(c)) => c,
                Ok(Err(failures)) => return Err(Error::Setup(SetupError::ContactPoints(failures))),
                Err(_) => {
                    return Err(Error::Setup(SetupError::Timeout(
                        self.connect_timeout.saturating_mul(2),
                    )))
                }
            };
        let config = SessionConfig {
            consistency: self.consistency,
            serial_consistency: self.serial_consistency,
            request_timeout: self.request_timeout,
            attempt_timeout: self.attempt_timeout,
            close_deadline: self.close_deadline,
            page_size: self.page_size,
            max_queued_requests: self.max_queued_requests,
            load_balancing,
            retry: self.retry,
            metrics,
            observer: self.observer,
        };
        let session = Session::from_parts(cluster, config, self.keyspace);
        // Wait (bounded) until some pool has a connection, so the first request does
        // not race the pools' first connection attempts.
        let pools = session.inner().cluster.pools();
        let wait = async {
            let mut set = tokio::task::JoinSet::new();
            for p in pools {
                let t = self.connect_timeout;
                set.spawn(async move { p.wait_connected(t).await.is_some() });
            }
            while let Some(r) = set.join_next().await {
                if matches!(r, Ok(true)) {
                    return;
                }
            }
        };
        wait.await;
        Ok(session)
    }
}
