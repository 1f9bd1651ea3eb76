//! The public error types: connection failures (cloneable, shared by every waiter of
//! a dead connection) and, as the session grows, the one `Error` users match on.
//! Classification helpers live beside the types they classify.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::protocol::DecodeError;

/// Why a connection failed or ended. Cloneable: when a connection dies, every request
/// in flight on it receives the same error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// TCP connect plus handshake did not finish in time.
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The node.
        addr: SocketAddr,
        /// The connect timeout that elapsed.
        timeout: std::time::Duration,
    },
    /// An I/O error on the socket.
    #[error("I/O error on connection to {addr}: {source}")]
    Io {
        /// The node.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: Arc<io::Error>,
    },
    /// The peer closed the connection.
    #[error("connection to {addr} closed by the peer")]
    ClosedByPeer {
        /// The node.
        addr: SocketAddr,
    },
    /// The peer sent bytes that are not a valid frame; the connection was closed.
    #[error("protocol violation on connection to {addr}: {source}")]
    Protocol {
        /// The node.
        addr: SocketAddr,
        /// What could not be decoded.
        #[source]
        source: DecodeError,
    },
    /// The peer answered on a stream id no request was waiting on.
    #[error("response on unexpected stream id {stream} from {addr}")]
    UnexpectedStream {
        /// The node.
        addr: SocketAddr,
        /// The stream id it used.
        stream: i16,
    },
    /// The peer sent a message that makes no sense at this point (e.g. during the handshake).
    #[error("unexpected {what} from {addr}")]
    UnexpectedMessage {
        /// The node.
        addr: SocketAddr,
        /// What arrived.
        what: &'static str,
    },
    /// No heartbeat answer arrived within the heartbeat timeout.
    #[error("heartbeat to {addr} timed out")]
    HeartbeatTimeout {
        /// The node.
        addr: SocketAddr,
    },
    /// The connection was retired because too many stream ids were orphaned.
    #[error("connection to {addr} recycled (too many orphaned stream ids)")]
    Recycled {
        /// The node.
        addr: SocketAddr,
    },
    /// Every stream id of the connection was in use.
    #[error("no free stream id on connection to {addr}")]
    StreamIdsExhausted {
        /// The node.
        addr: SocketAddr,
    },
    /// The node does not speak any protocol version we offered.
    #[error("{addr} does not support protocol v{version}: {message}")]
    UnsupportedVersion {
        /// The node.
        addr: SocketAddr,
        /// The version that was refused.
        version: u8,
        /// The server's message.
        message: String,
    },
    /// The node requires authentication and no authenticator was configured.
    #[error("{addr} requires authentication ({authenticator}) but no credentials were configured")]
    AuthRequired {
        /// The node.
        addr: SocketAddr,
        /// The server-side authenticator class.
        authenticator: String,
    },
    /// The node rejected our credentials.
    #[error("authentication to {addr} failed: {message}")]
    AuthFailed {
        /// The node.
        addr: SocketAddr,
        /// The server's message.
        message: String,
    },
    /// The handshake failed with a server error.
    #[error("handshake with {addr} failed: server error {code:#06x}: {message}")]
    HandshakeRejected {
        /// The node.
        addr: SocketAddr,
        /// The server error code.
        code: i32,
        /// The server's message.
        message: String,
    },
    /// The request frame handed to the connection was malformed (a driver bug).
    #[error("invalid request frame")]
    InvalidRequestFrame,
    /// The connection was closed by this driver.
    #[error("connection closed")]
    Closed,
}

impl ConnectionError {
    pub(crate) fn io(addr: SocketAddr, e: io::Error) -> Self {
        Self::Io {
            addr,
            source: Arc::new(e),
        }
    }

    /// True when the error is about the node rather than this request: another host
    /// (or a new connection) may well succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            Self::AuthFailed { .. } | Self::AuthRequired { .. } | Self::InvalidRequestFrame
        )
    }
}

/// A server error's code-specific fields (spec v5 section 8).
pub use crate::protocol::response::ErrorKind as ServerErrorKind;
/// The kind of write that timed out or failed.
pub use crate::protocol::response::WriteType;

/// An error answered by a Cassandra node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} answered error {code:#06x}: {message}")]
pub struct ServerError {
    /// The node that answered.
    pub host: SocketAddr,
    /// The error code (spec section 8).
    pub code: i32,
    /// The server's message.
    pub message: String,
    /// The code-specific fields.
    pub kind: ServerErrorKind,
}

impl ServerError {
    pub(crate) fn from_body(host: SocketAddr, body: crate::protocol::response::ErrorBody) -> Self {
        Self {
            host,
            code: body.code,
            message: body.message,
            kind: body.kind,
        }
    }

    /// True when the node may have applied the request before failing: timeouts and
    /// failures of writes (and unknown CAS outcomes). Request errors (syntax, invalid,
    /// unauthorized ...) and refusals (unavailable, overloaded, bootstrapping) mean it
    /// was not applied.
    pub fn maybe_executed(&self) -> bool {
        matches!(
            self.kind,
            ServerErrorKind::WriteTimeout { .. }
                | ServerErrorKind::WriteFailure { .. }
                | ServerErrorKind::CasWriteUnknown { .. }
                | ServerErrorKind::CdcWriteFailure
                | ServerErrorKind::ServerError
                | ServerErrorKind::FunctionFailure { .. }
                // A code this crate does not know: nothing proves it was not applied.
                | ServerErrorKind::Unknown { .. }
        )
    }
}

/// What went wrong on one attempt of a request.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptError {
    /// The host had no open connection.
    #[error("no open connection ({reason})")]
    NoConnection {
        /// Why, as far as the pool knows.
        reason: String,
    },
    /// The connection failed.
    #[error(transparent)]
    Connection(ConnectionError),
    /// The node answered with an error.
    #[error(transparent)]
    Server(Box<ServerError>),
    /// No answer within the per-attempt timeout.
    #[error("no answer within the attempt timeout of {0:?}")]
    Timeout(std::time::Duration),
    /// The answer could not be decoded.
    #[error("undecodable response: {0}")]
    Protocol(DecodeError),
}

/// One attempt of a request: where it went, what happened, how long it took, and
/// whether the request reached the node.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The node tried.
    pub host: SocketAddr,
    /// What went wrong there.
    pub error: AttemptError,
    /// Time spent on this attempt.
    pub elapsed: std::time::Duration,
    /// True when the request was completely written to the node's socket (so the
    /// node may have executed it).
    pub written: bool,
}

impl Attempt {
    /// True when this attempt may have executed the request: it was written, and
    /// the node did not answer with an error proving it was not applied (unavailable,
    /// overloaded, syntax ... are refusals; see [`ServerError::maybe_executed`]).
    pub fn maybe_executed(&self) -> bool {
        self.written
            && match &self.error {
                AttemptError::Server(e) => e.maybe_executed(),
                AttemptError::NoConnection { .. } => false,
                _ => true,
            }
    }
}

/// No host could answer the request. Lists every attempt, not just the last.
#[derive(Debug, Clone, Default)]
pub struct NoHostAvailable {
    pub(crate) attempts: Vec<Attempt>,
}

impl NoHostAvailable {
    /// Every attempt, in order.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The one answer for the whole request: true when some attempt may have
    /// executed it (see [`Attempt::maybe_executed`]).
    pub fn maybe_executed(&self) -> bool {
        self.attempts.iter().any(Attempt::maybe_executed)
    }
}

impl std::fmt::Display for NoHostAvailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.attempts.is_empty() {
            return f.write_str("no host available: the query plan was empty (no host up)");
        }
        write!(
            f,
            "no host available after {} attempt(s):",
            self.attempts.len()
        )?;
        for a in &self.attempts {
            write!(
                f,
                " [{} after {:?}, {}: {}]",
                a.host,
                a.elapsed,
                if a.written { "written" } else { "not written" },
                a.error
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for NoHostAvailable {}

/// Why a session could not be built.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The builder was given no contact point.
    #[error("no contact points given")]
    NoContactPoints,
    /// No contact point could be used; one entry per name or address tried, in order.
    #[error("no contact point could be used ({})", DisplayList(.0))]
    ContactPoints(Vec<ContactPointFailure>),
    /// Connecting to the cluster took longer than this.
    #[error("connecting to the cluster took longer than {0:?}")]
    Timeout(std::time::Duration),
}

impl SetupError {
    /// Every contact point's failure (empty unless `ContactPoints`).
    pub fn failures(&self) -> &[ContactPointFailure] {
        match self {
            Self::ContactPoints(f) => f,
            _ => &[],
        }
    }

    /// The connection errors among the failures (handshake and authentication
    /// failures included), in order.
    pub fn connection_errors(&self) -> impl Iterator<Item = &ConnectionError> {
        self.failures().iter().filter_map(|f| match &f.error {
            ContactPointError::Connection(e) => Some(e),
            _ => None,
        })
    }
}

struct DisplayList<'a>(&'a [ContactPointFailure]);

impl std::fmt::Display for DisplayList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, failure) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{failure}")?;
        }
        Ok(())
    }
}

/// One contact point that could not be used, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{contact_point}: {error}")]
pub struct ContactPointFailure {
    /// The contact point as given (a name that did not resolve) or the address tried.
    pub contact_point: String,
    /// What went wrong there.
    pub error: ContactPointError,
}

/// What went wrong with one contact point.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ContactPointError {
    /// The name did not resolve to an address.
    #[error("cannot resolve: {0}")]
    Resolve(Arc<io::Error>),
    /// Connecting or the handshake failed (authentication included:
    /// [`ConnectionError::AuthFailed`] carries the server's message).
    #[error(transparent)]
    Connection(ConnectionError),
    /// The node answered a topology query (`system.local`, `system.peers_v2` ...)
    /// with something the driver could not use.
    #[error("`{query}` answered with {what}")]
    Topology {
        /// The query.
        query: &'static str,
        /// What came back.
        what: String,
    },
}

/// The request's deadline passed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("request timed out after {elapsed:?} ({attempts} attempt(s); {}", if *.maybe_executed { "it may have been executed)" } else { "it was not executed)" })]
pub struct RequestTimeout {
    /// Time from the call to the deadline.
    pub elapsed: std::time::Duration,
    /// Attempts that ran (every host tried, including the one cut by the deadline).
    pub attempts: usize,
    /// True when some attempt may have executed the request (it was written and
    /// not refused).
    pub maybe_executed: bool,
}

/// The one error type of the session API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node answered with an error that is not retried (syntax, invalid,
    /// unauthorized, already exists, a timeout the retry policy gave up on ...).
    #[error(transparent)]
    Server(Box<ServerError>),
    /// Every host of the query plan failed or none was available.
    #[error(transparent)]
    NoHostAvailable(NoHostAvailable),
    /// The request's deadline passed.
    #[error(transparent)]
    Timeout(RequestTimeout),
    /// A connection failed after the request was written, and the statement is not
    /// idempotent, so it was not retried.
    #[error("{error} (request written: {written})")]
    Connection {
        /// The failure.
        error: ConnectionError,
        /// Whether the request had been written (it may have executed).
        written: bool,
    },
    /// A value could not be bound (checked before anything is sent).
    #[error(transparent)]
    Serialization(#[from] crate::SerializationError),
    /// A result could not be read as the asked Rust type.
    #[error(transparent)]
    Deserialization(#[from] crate::DeserializationError),
    /// A node sent something the driver cannot decode or did not expect.
    #[error("protocol error from {host}: {reason}")]
    Protocol {
        /// The node.
        host: SocketAddr,
        /// What was wrong.
        reason: String,
    },
    /// The request is invalid before sending (e.g. too many values).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The session's request queue is full: back off and retry later.
    #[error("session request queue is full ({0} requests waiting)")]
    Backpressure(usize),
    /// The session is closed.
    #[error("session is closed")]
    Closed,
    /// The session could not be built: no contact point given, none usable (each
    /// one's typed failure is kept), or the connect deadline passed.
    #[error("session setup failed: {0}")]
    Setup(SetupError),
    /// A query trace was still missing or incomplete in `system_traces` after the
    /// bounded wait of `Session::query_trace` (tracing is written asynchronously).
    #[error("trace {id} not complete after {attempts} reads")]
    TraceUnavailable {
        /// The tracing id asked for.
        id: crate::CqlUuid,
        /// Reads of `system_traces.sessions` made.
        attempts: u32,
    },
}

impl Error {
    /// The server error code, when a node answered with an error.
    pub fn server_code(&self) -> Option<i32> {
        match self {
            Self::Server(e) => Some(e.code),
            _ => None,
        }
    }

    /// True when the request may have been executed by a node.
    pub fn maybe_executed(&self) -> bool {
        match self {
            Self::Server(e) => e.maybe_executed(),
            Self::NoHostAvailable(e) => e.maybe_executed(),
            Self::Timeout(t) => t.maybe_executed,
            Self::Connection { written, .. } => *written,
            _ => false,
        }
    }

    /// True when trying again later may succeed (timeouts, unavailable replicas, no
    /// host, overload, backpressure); false for errors in the request itself.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Server(e) => matches!(
                e.kind,
                ServerErrorKind::Unavailable { .. }
                    | ServerErrorKind::Overloaded
                    | ServerErrorKind::IsBootstrapping
                    | ServerErrorKind::ReadTimeout { .. }
                    | ServerErrorKind::WriteTimeout { .. }
                    | ServerErrorKind::TruncateError
            ),
            Self::NoHostAvailable(_)
            | Self::Timeout(_)
            | Self::Connection { .. }
            | Self::Backpressure(_) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Consistency;

    fn attempt(error: AttemptError, written: bool) -> Attempt {
        Attempt {
            host: "127.0.0.1:9042".parse().unwrap(),
            error,
            elapsed: std::time::Duration::from_millis(3),
            written,
        }
    }

    fn server(kind: ServerErrorKind) -> AttemptError {
        AttemptError::Server(Box::new(ServerError {
            host: "127.0.0.1:9042".parse().unwrap(),
            code: 0,
            message: String::new(),
            kind,
        }))
    }

    #[test]
    fn refusals_prove_nothing_ran_writes_and_silence_do_not() {
        let unavailable = ServerErrorKind::Unavailable {
            consistency: Consistency::All,
            required: 3,
            alive: 1,
        };
        let write_timeout = ServerErrorKind::WriteTimeout {
            consistency: Consistency::Quorum,
            received: 1,
            block_for: 2,
            write_type: WriteType::Simple,
            contentions: None,
        };
        let closed = AttemptError::Connection(ConnectionError::Closed);
        assert!(!attempt(server(unavailable.clone()), true).maybe_executed());
        assert!(!attempt(server(ServerErrorKind::Overloaded), true).maybe_executed());
        assert!(!attempt(server(ServerErrorKind::SyntaxError), true).maybe_executed());
        assert!(attempt(server(write_timeout), true).maybe_executed());
        assert!(attempt(closed.clone(), true).maybe_executed());
        assert!(!attempt(closed.clone(), false).maybe_executed());
        assert!(attempt(AttemptError::Timeout(Default::default()), true).maybe_executed());
        let unknown = ServerErrorKind::Unknown {
            code: 0x7777,
            extra: Default::default(),
        };
        assert!(attempt(server(unknown), true).maybe_executed());

        // One answer for the whole request: any attempt that may have run.
        let refused = NoHostAvailable {
            attempts: vec![
                attempt(server(unavailable.clone()), true),
                attempt(
                    AttemptError::NoConnection {
                        reason: "down".into(),
                    },
                    false,
                ),
                attempt(closed.clone(), false),
            ],
        };
        assert!(!refused.maybe_executed());
        assert!(!Error::NoHostAvailable(refused.clone()).maybe_executed());
        let mut cut = refused;
        cut.attempts.push(attempt(closed, true));
        assert!(Error::NoHostAvailable(cut.clone()).maybe_executed());
        let text = cut.to_string();
        assert!(
            text.contains("4 attempt(s)") && text.contains("not written"),
            "{text}"
        );
    }

    #[test]
    fn setup_error_keeps_every_contact_point_typed() {
        let addr: SocketAddr = "127.0.0.4:9042".parse().unwrap();
        let e = SetupError::ContactPoints(vec![
            ContactPointFailure {
                contact_point: "nowhere.invalid".into(),
                error: ContactPointError::Resolve(Arc::new(io::Error::other("no such host"))),
            },
            ContactPointFailure {
                contact_point: addr.to_string(),
                error: ContactPointError::Connection(ConnectionError::AuthFailed {
                    addr,
                    message: "bad password".into(),
                }),
            },
        ]);
        assert_eq!(e.failures().len(), 2);
        let conn: Vec<_> = e.connection_errors().collect();
        assert!(matches!(conn[..], [ConnectionError::AuthFailed { .. }]));
        let text = Error::Setup(e).to_string();
        assert!(
            text.contains("nowhere.invalid: cannot resolve: no such host"),
            "{text}"
        );
        assert!(
            text.contains("127.0.0.4:9042: authentication to 127.0.0.4:9042 failed: bad password"),
            "{text}"
        );
        assert!(SetupError::Timeout(std::time::Duration::from_secs(1))
            .failures()
            .is_empty());
    }
}
