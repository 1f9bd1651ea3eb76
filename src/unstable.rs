//! A raw connection handle for integration tests, fake-node harnesses and benchmarks
//! (feature `unstable-protocol`, hidden from the docs, not covered by semver): open a
//! connection, send protocol requests and get decoded responses, read decoded events,
//! and peek at a session's pooled connections. Thin delegation over the connection's one
//! typed call; the connection layer itself stays crate-private.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::connection::{
    Authenticator, CallError, CallOptions, Connection, ConnectionConfig, Events,
};
use crate::error::ConnectionError;
use crate::protocol::frame::Compression;
use crate::protocol::request::Request;
use crate::protocol::response::{Event, Response};
use crate::protocol::{DecodeError, ProtocolVersion};
use crate::Session;

/// Settings of a raw connection (every other setting is the driver's default).
#[derive(Debug, Clone)]
pub struct RawConnectionConfig {
    /// Protocol version to use; `None` negotiates (v5, then v4, then v3).
    pub version: Option<ProtocolVersion>,
    /// Ask for LZ4 compression (used when the node offers it).
    pub lz4: bool,
    /// Credentials for nodes that require authentication.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// TCP connect plus handshake timeout.
    pub connect_timeout: Duration,
    /// Idle time before a heartbeat; `None` disables heartbeats.
    pub heartbeat_interval: Option<Duration>,
}

impl Default for RawConnectionConfig {
    fn default() -> Self {
        let d = ConnectionConfig::default();
        Self {
            version: d.version,
            lz4: false,
            authenticator: None,
            connect_timeout: d.connect_timeout,
            heartbeat_interval: d.heartbeat_interval,
        }
    }
}

/// A handle to one open connection (cheap to clone).
#[derive(Debug, Clone)]
pub struct RawConnection {
    inner: Connection,
}

/// What [`RawConnection::open`] returns.
#[derive(Debug)]
pub struct RawOpened {
    /// The connection.
    pub connection: RawConnection,
    /// Server events, when asked for (REGISTER first to receive any).
    pub events: Option<RawEvents>,
    /// The node's SUPPORTED options.
    pub supported: Vec<(String, Vec<String>)>,
}

impl RawConnection {
    /// Connects, performs the handshake (authentication included) and starts the
    /// connection task.
    pub async fn open(
        addr: SocketAddr,
        config: &RawConnectionConfig,
        with_events: bool,
    ) -> Result<RawOpened, ConnectionError> {
        let cfg = ConnectionConfig {
            version: config.version,
            compression: config.lz4.then_some(Compression::Lz4),
            connect_timeout: config.connect_timeout,
            authenticator: config.authenticator.clone(),
            heartbeat_interval: config.heartbeat_interval,
            ..ConnectionConfig::default()
        };
        let opened = Connection::open(addr, &cfg, with_events).await?;
        Ok(RawOpened {
            connection: RawConnection {
                inner: opened.connection,
            },
            events: opened.events.map(RawEvents),
            supported: opened.supported,
        })
    }

    /// Sends a request and waits (without a deadline) for its decoded response
    /// (envelope dropped). The error does not say whether the request was written.
    pub async fn call(&self, request: &Request<'_>) -> Result<Response, RawCallError> {
        match self.inner.call(request, CallOptions::default()).await {
            Ok(reply) => Ok(reply.response),
            Err(CallError::Decode(e)) => Err(RawCallError::Decode(e)),
            Err(CallError::Connection { error, .. }) => Err(RawCallError::Connection(error)),
            Err(CallError::Encode(_)) => Err(ConnectionError::InvalidRequestFrame.into()),
            // No deadline was given: the task never answers `TimedOut`.
            Err(CallError::TimedOut { .. }) => Err(ConnectionError::Closed.into()),
        }
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> ProtocolVersion {
        self.inner.version()
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr()
    }

    /// Requests holding a stream id right now (orphans included).
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight()
    }

    /// Bytes written to the socket so far (after compression, framing included).
    pub fn bytes_sent(&self) -> u64 {
        self.inner.shared().bytes_sent.load(Ordering::Relaxed)
    }

    /// Bytes read from the socket so far (before decompression).
    pub fn bytes_received(&self) -> u64 {
        self.inner.shared().bytes_received.load(Ordering::Relaxed)
    }

    /// Closes the connection now.
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A [`RawConnection::call`] failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RawCallError {
    /// The connection failed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The response could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// The server events of a [`RawConnection`] opened with events, decoded.
#[derive(Debug)]
pub struct RawEvents(Events);

impl RawEvents {
    /// The next event; `None` once the connection has ended. A frame that does not
    /// decode (or a non-EVENT message on the event stream) is an `Err`.
    pub async fn recv(&mut self) -> Option<Result<Event, DecodeError>> {
        self.0.recv().await
    }
}

/// Every open pooled connection of `session`, all hosts (the control connection
/// excluded).
pub fn pooled_connections(session: &Session) -> Vec<RawConnection> {
    session
        .inner()
        .cluster
        .pools()
        .iter()
        .flat_map(|p| p.connections())
        .map(|inner| RawConnection { inner })
        .collect()
}
