//! A connection to one node: a cheap cloneable handle plus one task that owns the
//! socket. This file opens it (version negotiation, handshake, spawning the task) and
//! holds the state handle and task share; callers talk to the node through the one
//! typed call in `call.rs`. Handshake and auth live in `handshake.rs`; the socket loop
//! (stream ids, coalescing, deadlines, orphans) in `task.rs`.

// Parts are used only once the session drives them (same commit series).
#![allow(dead_code)]

mod auth;
mod call;
mod handshake;
mod streams;
mod task;
#[cfg(test)]
mod task_tests;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use auth::{AuthError, AuthSession, Authenticator, PlainTextAuthenticator};
pub(crate) use call::{CallError, CallOptions, Events, Reply};
pub(crate) use handshake::quote_identifier;
pub(crate) use streams::MAX_STREAMS;

use crate::codec::{CodecError, CqlCodec};
use crate::defaults;
use crate::error::ConnectionError;
use crate::metrics::HostMetrics;
use crate::protocol::frame::{self, Compression, Frame, FrameFlags};
use crate::protocol::request::Request;
use crate::protocol::ProtocolVersion;

/// Settings of one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionConfig {
    /// Protocol version to use; `None` negotiates (v5, then v4, then v3).
    pub(crate) version: Option<ProtocolVersion>,
    pub(crate) compression: Option<Compression>,
    pub(crate) connect_timeout: Duration,
    pub(crate) authenticator: Option<Arc<dyn Authenticator>>,
    /// Send an OPTIONS after this much read silence; `None` disables heartbeats.
    pub(crate) heartbeat_interval: Option<Duration>,
    pub(crate) heartbeat_timeout: Duration,
    /// A caller-abandoned stream id older than this counts as an old orphan.
    pub(crate) orphan_age: Duration,
    pub(crate) orphan_check_interval: Duration,
    /// More old orphans than this recycles the connection.
    pub(crate) max_orphans: usize,
    pub(crate) max_streams: usize,
    pub(crate) max_frame_len: usize,
    /// Requests the task holds while no stream id is free or the socket is congested;
    /// one more is refused at once with `StreamIdsExhausted`, never written.
    pub(crate) queue_len: usize,
    pub(crate) keyspace: Option<String>,
    pub(crate) tcp_nodelay: bool,
    /// The host's metrics recorder (bytes; read by the execution core per attempt).
    pub(crate) metrics: Option<Arc<HostMetrics>>,
}

/// The session's defaults ([`crate::defaults`]), so a connection opened outside a
/// session (tests, `unstable`) behaves like a pooled one.
impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            version: None,
            compression: None,
            connect_timeout: defaults::CONNECT_TIMEOUT,
            authenticator: None,
            heartbeat_interval: Some(defaults::HEARTBEAT_INTERVAL),
            heartbeat_timeout: defaults::HEARTBEAT_TIMEOUT,
            orphan_age: defaults::ORPHAN_AGE,
            orphan_check_interval: Duration::from_secs(1),
            max_orphans: defaults::MAX_ORPHANS,
            max_streams: MAX_STREAMS,
            max_frame_len: frame::DEFAULT_MAX_BODY_LEN,
            queue_len: 4096,
            keyspace: None,
            tcp_nodelay: true,
            metrics: None,
        }
    }
}

/// A request's failure on the connection, with whether its frame reached the socket.
#[derive(Debug, Clone)]
pub(in crate::connection) struct RequestError {
    pub(crate) error: ConnectionError,
    /// True when every byte of the request was written: the node may have executed it.
    pub(crate) written: bool,
}

/// How a submitted request ended, as the connection task reports it.
#[derive(Debug)]
pub(in crate::connection) enum Answer {
    /// The node's response.
    Frame(Frame),
    /// The connection failed the request.
    Failed(RequestError),
    /// The request's deadline passed first (`written`: as for `RequestError`). The
    /// stream id stays reserved until the node answers (an orphan).
    TimedOut { written: bool },
}

/// A request handed to the connection task.
pub(in crate::connection) struct Command {
    pub(crate) frame: BytesMut,
    pub(crate) reply: oneshot::Sender<Answer>,
    /// When the caller stops waiting; the task answers `TimedOut` then (one timer per
    /// connection instead of one per request).
    pub(crate) deadline: Option<Instant>,
}

/// State the task publishes for handles, pools and metrics.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) old_orphans: AtomicUsize,
    /// Every stream id whose caller gave up, whatever its age (updated each tick).
    pub(crate) orphans: AtomicUsize,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    /// Requests handed to the task by `submit` (heartbeats not included).
    pub(crate) requests_sent: AtomicU64,
    pub(crate) recycling: AtomicBool,
    pub(crate) metrics: Option<Arc<HostMetrics>>,
    broken: OnceLock<ConnectionError>,
    /// Cancelled by the task when it has ended.
    closed: CancellationToken,
    /// Cancelled by a handle to end the task now.
    close_now: CancellationToken,
}

impl Shared {
    fn new(addr: SocketAddr, metrics: Option<Arc<HostMetrics>>) -> Self {
        Self {
            addr,
            in_flight: AtomicUsize::new(0),
            old_orphans: AtomicUsize::new(0),
            orphans: AtomicUsize::new(0),
            metrics,
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            requests_sent: AtomicU64::new(0),
            recycling: AtomicBool::new(false),
            broken: OnceLock::new(),
            closed: CancellationToken::new(),
            close_now: CancellationToken::new(),
        }
    }

    pub(crate) fn set_broken(&self, e: ConnectionError) {
        let _ = self.broken.set(e);
        self.closed.cancel();
    }
}

/// A handle to one open connection. Cloning is cheap; the socket closes when the
/// last handle is dropped and nothing is in flight.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    tx: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    version: ProtocolVersion,
    /// Frame-body compression (v3/v4 only; v5 compresses segments inside the task).
    frame_compression: Option<Compression>,
}

/// What a successful open returns beside the handle.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) connection: Connection,
    /// Server events (only when an events channel was asked for).
    pub(crate) events: Option<Events>,
    /// The SUPPORTED options of the node.
    pub(crate) supported: Vec<(String, Vec<String>)>,
}

impl Connection {
    /// Connects over TCP (TCP_NODELAY), negotiates the protocol version, performs the
    /// handshake and spawns the connection task.
    pub(crate) async fn open(
        addr: SocketAddr,
        config: &ConnectionConfig,
        with_events: bool,
    ) -> Result<Opened, ConnectionError> {
        let nodelay = config.tcp_nodelay;
        Self::open_with(addr, config, with_events, move || async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(nodelay)?;
            Ok(stream)
        })
        .await
    }

    /// Like [`Connection::open`] over byte streams made by `connect` (one per protocol
    /// version tried): v5, then v4, then v3 unless the config pins a version, all within
    /// the connect timeout.
    pub(crate) async fn open_with<IO, F, Fut>(
        addr: SocketAddr,
        config: &ConnectionConfig,
        with_events: bool,
        mut connect: F,
    ) -> Result<Opened, ConnectionError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        F: FnMut() -> Fut,
        Fut: Future<Output = std::io::Result<IO>>,
    {
        let versions = match config.version {
            Some(v) => vec![v],
            None => vec![
                ProtocolVersion::V5,
                ProtocolVersion::V4,
                ProtocolVersion::V3,
            ],
        };
        let negotiate = async {
            let mut last = None;
            for version in versions {
                let io = connect().await.map_err(|e| ConnectionError::io(addr, e))?;
                match Self::open_on(io, addr, version, config, with_events).await {
                    Ok(opened) => return Ok(opened),
                    Err(e @ ConnectionError::UnsupportedVersion { .. }) => {
                        tracing::debug!(%addr, ?version, error = %e, "protocol version refused; trying an older one");
                        last = Some(e);
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(last.unwrap_or(ConnectionError::Closed))
        };
        tokio::time::timeout(config.connect_timeout, negotiate)
            .await
            .unwrap_or(Err(ConnectionError::ConnectTimeout {
                addr,
                timeout: config.connect_timeout,
            }))
    }

    /// Performs the handshake over any byte stream, within the connect timeout, and
    /// spawns the task (unit tests use an in-memory duplex pipe).
    pub(crate) async fn open_on<IO>(
        mut io: IO,
        addr: SocketAddr,
        version: ProtocolVersion,
        config: &ConnectionConfig,
        with_events: bool,
    ) -> Result<Opened, ConnectionError>
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut codec = CqlCodec::new(version, config.max_frame_len);
        // Every await has a deadline: a node that accepts the socket but never answers
        // the handshake must not hang the caller (open_on is also used on its own).
        let handshake = handshake::run(&mut io, &mut codec, addr, version, config);
        let done = tokio::time::timeout(config.connect_timeout, handshake)
            .await
            .map_err(|_| ConnectionError::ConnectTimeout {
                addr,
                timeout: config.connect_timeout,
            })??;
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = if with_events {
            let (t, r) = mpsc::channel(1024);
            (Some(t), Some(r))
        } else {
            (None, None)
        };
        let shared = Arc::new(Shared::new(addr, config.metrics.clone()));
        let frame_compression = if version.is_v5() {
            None
        } else {
            done.compression
        };
        let mut heartbeat_frame = BytesMut::new();
        call::encode_request_with(
            &mut heartbeat_frame,
            version,
            None,
            FrameFlags::empty(),
            &Request::Options,
        )
        .map_err(|_| ConnectionError::InvalidRequestFrame)?;
        let task = task::Task {
            io,
            leftover: done.leftover,
            core: task::Core {
                codec,
                rx,
                events: events_tx,
                shared: shared.clone(),
                config: config.clone(),
                heartbeat_frame,
            },
        };
        tokio::spawn(task.run());
        Ok(Opened {
            connection: Connection {
                tx,
                shared,
                version,
                frame_compression,
            },
            events: events_rx.map(Events),
            supported: done.supported,
        })
    }

    /// The negotiated protocol version.
    pub(crate) fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The node's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Requests currently holding a stream id (orphans included).
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Bytes read from the node so far (slow-node detection samples it).
    pub(crate) fn bytes_received(&self) -> u64 {
        self.shared.bytes_received.load(Ordering::Relaxed)
    }

    /// Requests handed to this connection by `call` (heartbeats excluded).
    pub(crate) fn requests_sent(&self) -> u64 {
        self.shared.requests_sent.load(Ordering::Relaxed)
    }

    /// Stream ids abandoned by their callers (any age) and still unanswered.
    pub(crate) fn orphans(&self) -> usize {
        self.shared.orphans.load(Ordering::Relaxed)
    }

    /// The host's metrics recorder, when the session keeps metrics for it.
    pub(crate) fn host_metrics(&self) -> Option<&Arc<HostMetrics>> {
        self.shared.metrics.as_ref()
    }

    /// Stream ids abandoned by their callers long ago and still unanswered.
    pub(crate) fn old_orphans(&self) -> usize {
        self.shared.old_orphans.load(Ordering::Relaxed)
    }

    /// The error that ended the connection, if it has ended.
    pub(crate) fn broken(&self) -> Option<&ConnectionError> {
        self.shared.broken.get()
    }

    /// False once the connection ended or started retiring.
    pub(crate) fn is_usable(&self) -> bool {
        self.shared.broken.get().is_none()
            && !self.shared.recycling.load(Ordering::Acquire)
            && !self.tx.is_closed()
    }

    /// A token cancelled once the connection task has ended.
    pub(crate) fn closed_token(&self) -> CancellationToken {
        self.shared.closed.clone()
    }

    /// Ends the connection now: every waiter gets a `Closed` error.
    pub(crate) fn close(&self) {
        self.shared.close_now.cancel();
    }

    /// Waits until the connection task has ended.
    pub(crate) async fn closed(&self) {
        self.shared.closed.cancelled().await;
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl ConnectionError {
    /// The codec's failure as the connection reports it (the error type itself knows
    /// nothing of the codec).
    pub(crate) fn from_codec(addr: SocketAddr, e: CodecError) -> Self {
        match e {
            CodecError::Decode(source) => Self::Protocol { addr, source },
            CodecError::Encode(_) => Self::InvalidRequestFrame,
            CodecError::Io(e) => Self::io(addr, e),
        }
    }
}

#[cfg(test)]
mod tests;
