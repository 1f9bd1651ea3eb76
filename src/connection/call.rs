//! The one typed call between the layers above and a connection: encode a request, hand
//! it to the connection task with its deadline, await the answer and decode it (in the
//! caller's task, off the connection task's loop). Also the decoded server events.
//! Nothing above `connection/` sees a frame or a frame buffer; the socket loop is in
//! `task.rs`.

use bytes::BytesMut;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Answer, Command, Connection, RequestError};
use crate::error::ConnectionError;
use crate::protocol::frame::{self, Compression, Direction, Frame, FrameFlags};
use crate::protocol::request::Request;
use crate::protocol::response::{Event, Response, ResponseEnvelope};
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// How to send one request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallOptions {
    /// When the caller stops waiting: the connection task answers `TimedOut` then (one
    /// timer per connection, none per request). `None` waits while the connection lives.
    pub(crate) deadline: Option<Instant>,
    /// Ask the node to trace the request.
    pub(crate) tracing: bool,
    /// A close upper estimate of the encoded request's size in bytes (0: unknown), so
    /// that its buffer is allocated once.
    pub(crate) size_hint: usize,
}

impl CallOptions {
    /// Answered by `deadline`, no tracing, no size hint (control-plane requests).
    pub(crate) fn by(deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..Self::default()
        }
    }
}

/// A node's decoded answer to one call.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Tracing id, warnings and custom payload.
    pub(crate) envelope: ResponseEnvelope,
    pub(crate) response: Response,
    /// The stream id the request travelled on (spans and logs).
    pub(crate) stream: i16,
}

/// Why a call got no decoded answer. `written` says whether every byte of the request
/// reached the socket: a request never written may always go to another node.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CallError {
    /// The request could not be encoded; nothing was sent.
    #[error("the request could not be encoded: {0}")]
    Encode(EncodeError),
    /// The deadline passed first. A written request keeps its stream id until the node
    /// answers (an orphan), so a late answer never reaches another request.
    #[error("no answer before the deadline")]
    TimedOut { written: bool },
    /// The connection failed (or refused) the request.
    #[error("{error}")]
    Connection {
        error: ConnectionError,
        written: bool,
    },
    /// The node answered with bytes that do not decode (the request was written).
    #[error("undecodable response: {0}")]
    Decode(DecodeError),
}

impl CallError {
    /// True when the node may have received (and run) the request.
    pub(crate) fn written(&self) -> bool {
        match self {
            Self::Encode(_) => false,
            Self::TimedOut { written } | Self::Connection { written, .. } => *written,
            Self::Decode(_) => true,
        }
    }
}

impl From<RequestError> for CallError {
    fn from(e: RequestError) -> Self {
        Self::Connection {
            error: e.error,
            written: e.written,
        }
    }
}

impl Connection {
    /// Sends `request` and returns the node's decoded answer: the one way the layers
    /// above talk to a node. The request is queued without waiting (the task refuses
    /// it, unwritten, when its queue is full); the task enforces `options.deadline`.
    ///
    /// Cancel safety: dropping the future is safe. A request already written keeps its
    /// stream id reserved until the node answers, so no late answer reaches another
    /// request; one not yet written is never written.
    pub(crate) async fn call(
        &self,
        request: &Request<'_>,
        options: CallOptions,
    ) -> Result<Reply, CallError> {
        let frame = self.encode(request, &options).map_err(CallError::Encode)?;
        let rx = self.submit(frame, options.deadline)?;
        match self.answer(rx).await {
            Answer::Frame(frame) => match decode_response(&frame) {
                Ok((envelope, response)) => Ok(Reply {
                    envelope,
                    response,
                    stream: frame.header.stream,
                }),
                Err(e) => Err(CallError::Decode(e)),
            },
            Answer::Failed(e) => Err(e.into()),
            Answer::TimedOut { written } => Err(CallError::TimedOut { written }),
        }
    }

    /// Encodes `request` into a fresh frame buffer (stream id 0: the task assigns it).
    pub(super) fn encode(
        &self,
        request: &Request<'_>,
        options: &CallOptions,
    ) -> Result<BytesMut, EncodeError> {
        let mut buf = BytesMut::with_capacity(options.size_hint);
        let mut flags = FrameFlags::empty();
        if options.tracing {
            flags.insert(FrameFlags::TRACING);
        }
        encode_request_with(
            &mut buf,
            self.version,
            self.frame_compression,
            flags,
            request,
        )?;
        Ok(buf)
    }

    /// Hands an encoded frame to the connection task, which answers `TimedOut` once
    /// `deadline` passes. Never waits: the task queues what it cannot write yet (up to
    /// `queue_len`, then refuses).
    pub(super) fn submit(
        &self,
        frame: BytesMut,
        deadline: Option<Instant>,
    ) -> Result<oneshot::Receiver<Answer>, RequestError> {
        let (reply, rx) = oneshot::channel();
        let cmd = Command {
            frame,
            reply,
            deadline,
        };
        if self.tx.send(cmd).is_err() {
            return Err(RequestError {
                error: self.terminal_error(),
                written: false,
            });
        }
        self.shared
            .requests_sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(rx)
    }

    /// Waits for the task's answer to a submitted frame. Dropping this future orphans
    /// the stream id (never reused before the node answers).
    pub(super) async fn answer(&self, rx: oneshot::Receiver<Answer>) -> Answer {
        match rx.await {
            Ok(answer) => answer,
            // The task always answers before dropping a sender; this is a task panic.
            Err(_) => Answer::Failed(RequestError {
                error: self.terminal_error(),
                written: true,
            }),
        }
    }

    fn terminal_error(&self) -> ConnectionError {
        self.shared
            .broken
            .get()
            .cloned()
            .unwrap_or(ConnectionError::Closed)
    }
}

#[cfg(test)]
impl Connection {
    /// Tests only: sends a raw frame without a deadline and returns the raw answer.
    pub(super) async fn send_frame(&self, frame: BytesMut) -> Result<Frame, RequestError> {
        let rx = self.submit(frame, None)?;
        match self.answer(rx).await {
            Answer::Frame(f) => Ok(f),
            Answer::Failed(e) => Err(e),
            Answer::TimedOut { written } => Err(RequestError {
                error: self.terminal_error(),
                written,
            }),
        }
    }
}

/// The server events of a connection opened with an events channel, decoded.
#[derive(Debug)]
pub(crate) struct Events(pub(super) mpsc::Receiver<Frame>);

impl Events {
    /// The next event; `None` once the connection has ended. A frame that does not
    /// decode, or a message other than EVENT on the event stream, is an `Err`; the
    /// events after it still come.
    pub(crate) async fn recv(&mut self) -> Option<Result<Event, DecodeError>> {
        let frame = self.0.recv().await?;
        Some(match decode_response(&frame) {
            Ok((_, Response::Event(event))) => Ok(event),
            Ok(_) => Err(DecodeError::Unexpected {
                what: "message other than EVENT on the event stream",
            }),
            Err(e) => Err(e),
        })
    }
}

/// Parses a response frame: envelope (tracing id, warnings, custom payload), then the
/// message. Trailing bytes after a known message are tolerated, as spec v5 section 4.2
/// asks of clients (newer servers may extend bodies).
pub(super) fn decode_response(frame: &Frame) -> Result<(ResponseEnvelope, Response), DecodeError> {
    let mut cur: &[u8] = &frame.body;
    let envelope = ResponseEnvelope::decode(frame.header.flags.bits(), &mut cur)?;
    let rest = frame.body.slice(frame.body.len() - cur.len()..);
    let (response, _ignored) =
        Response::decode_lenient(frame.header.opcode, frame.header.version, &rest)?;
    Ok((envelope, response))
}

/// Writes one request frame with extra `flags` (tracing); stream id 0, the task patches
/// it. Frame-body compression applies on v3/v4 only (`compression` is `None` on v5,
/// whose segments the task compresses).
pub(super) fn encode_request_with(
    out: &mut BytesMut,
    version: ProtocolVersion,
    compression: Option<Compression>,
    mut flags: FrameFlags,
    request: &Request<'_>,
) -> Result<(), EncodeError> {
    if compression.is_some() {
        flags.insert(FrameFlags::COMPRESSION);
    }
    frame::encode_frame(
        out,
        version,
        Direction::Request,
        flags,
        0,
        request.opcode(),
        compression,
        |body| request.encode_body(version, body),
    )
}
