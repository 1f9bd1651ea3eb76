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
    pub(crate) fn from_codec(addr: SocketAddr, e: crate::codec::CodecError) -> Self {
        use crate::codec::CodecError;
        match e {
            CodecError::Decode(source) => Self::Protocol { addr, source },
            CodecError::Encode(_) => Self::InvalidRequestFrame,
            CodecError::Io(e) => Self::io(addr, e),
        }
    }

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
