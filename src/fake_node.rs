//! A scripted fake CQL node for tests and benchmarks. It speaks the server side of the
//! handshake (OPTIONS, STARTUP, PasswordAuthenticator, the v5 segment switch) over any
//! byte stream with the protocol module, then answers every other request through a
//! user script. It parses no CQL and keeps no data: it is not a Cassandra emulator.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::codec::{Decoder, Encoder};

use crate::codec::CqlCodec;
use crate::protocol::frame::{
    encode_frame, Compression, Direction, Frame, FrameFlags, DEFAULT_MAX_BODY_LEN,
};
use crate::protocol::request::{Request, Startup};
use crate::protocol::response::{
    AuthSuccess, Authenticate, ErrorBody, ErrorKind, Event, Response, Supported,
};
use crate::protocol::{Opcode, ProtocolVersion};

/// The authenticator class the fake announces when it has credentials.
pub const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";

/// What the fake does with one request (the script's answer).
#[derive(Debug, Clone)]
pub enum Action {
    /// Answer on the request's stream.
    Reply(Response),
    /// Answer on the request's stream after a delay (tokio time: pausable in tests).
    ReplyAfter(Duration, Response),
    /// Answer on another stream id (a misbehaving node).
    ReplyOnStream(i16, Response),
    /// Never answer.
    NoReply,
    /// Push an event on stream -1 (not an answer: combine with `All` to also reply).
    SendEvent(Event),
    /// Close the connection without answering.
    CloseConnection,
    /// Several actions, in order.
    All(Vec<Action>),
}

/// Knobs of a fake node. `Default` is a well-behaved node without authentication.
#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    /// Require PasswordAuthenticator with these (username, password).
    pub credentials: Option<(String, String)>,
    /// Behave like a node whose newest protocol is v4: any v5 frame is answered with a
    /// ProtocolError in a v4 frame on stream 0, then the connection is closed, as
    /// Cassandra does for a version it does not know (`ProtocolVersion.decode`).
    pub refuse_v5: bool,
    /// Never answer OPTIONS or STARTUP (they are still counted).
    pub silent_handshake: bool,
    /// Write every outgoing byte separately (1-byte writes, yielding in between).
    pub one_byte_writes: bool,
    /// Above 1: hold script replies until this many are collected, then send them in
    /// reverse order (in one write).
    pub reverse_batch: usize,
}

/// Counters a test can observe while the fake runs (shared by all its connections).
#[derive(Debug, Default)]
pub struct FakeStats {
    requests: [AtomicU64; 17],
    reads: AtomicU64,
    connections: AtomicU64,
}

impl FakeStats {
    /// Requests received with `opcode` (handshake ones included).
    pub fn count(&self, opcode: Opcode) -> u64 {
        self.requests[opcode as usize].load(Ordering::Relaxed)
    }

    /// Requests received in total.
    pub fn total(&self) -> u64 {
        self.requests
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Successful socket reads (a measure of how many writes the client made).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Connections served so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

type Script = dyn Fn(&Request<'static>, i16) -> Action + Send + Sync;

/// A fake node: configuration, script and counters. Cloning shares all three.
#[derive(Clone)]
pub struct FakeNode {
    config: Arc<FakeConfig>,
    script: Arc<Script>,
    stats: Arc<FakeStats>,
}

impl std::fmt::Debug for FakeNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNode")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Commands for a running fake connection.
#[derive(Debug)]
enum Control {
    Reply(i16, Response),
    Close,
}

/// A fake connection running on its own task, with a handle to act on it.
#[derive(Debug)]
pub struct FakeConnection {
    tx: mpsc::UnboundedSender<Control>,
    task: JoinHandle<io::Result<()>>,
}

impl FakeConnection {
    /// Sends `response` on `stream` now (e.g. to answer a request the script held).
    pub fn reply(&self, stream: i16, response: Response) {
        let _ = self.tx.send(Control::Reply(stream, response));
    }

    /// Pushes an event on stream -1.
    pub fn event(&self, event: Event) {
        self.reply(-1, Response::Event(event));
    }

    /// Closes the connection (the client sees end-of-stream).
    pub fn close(&self) {
        let _ = self.tx.send(Control::Close);
    }

    /// Waits until the connection has ended; the error, if the fake failed.
    pub async fn finished(self) -> io::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
    }
}

impl FakeNode {
    /// A fake node answering requests after the handshake with `script(request, stream)`.
    pub fn new(
        config: FakeConfig,
        script: impl Fn(&Request<'static>, i16) -> Action + Send + Sync + 'static,
    ) -> Self {
        Self {
            config: Arc::new(config),
            script: Arc::new(script),
            stats: Arc::new(FakeStats::default()),
        }
    }

    /// The node's counters.
    pub fn stats(&self) -> &FakeStats {
        &self.stats
    }

    /// Serves one connection on a new task and returns a handle to it.
    pub fn spawn<IO>(&self, io: IO) -> FakeConnection
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let node = self.clone();
        let ctl = tx.clone();
        let task = tokio::spawn(async move { node.run(io, ctl, rx).await });
        FakeConnection { tx, task }
    }

    /// Serves one connection until the peer or the script closes it.
    pub async fn serve<IO>(&self, io: IO) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        self.run(io, tx, rx).await
    }

    async fn run<IO>(
        &self,
        io: IO,
        ctl: mpsc::UnboundedSender<Control>,
        mut rx: mpsc::UnboundedReceiver<Control>,
    ) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let (mut rd, wr) = tokio::io::split(io);
        let mut conn = Conn {
            node: self.clone(),
            wr,
            ctl,
            version: None,
            compression: None,
            dec: CqlCodec::new(ProtocolVersion::V4, DEFAULT_MAX_BODY_LEN),
            enc: CqlCodec::new(ProtocolVersion::V4, DEFAULT_MAX_BODY_LEN),
            phase: Phase::Handshake,
            held: Vec::new(),
        };
        let mut rbuf = BytesMut::with_capacity(64 * 1024);
        loop {
            tokio::select! {
                read = rd.read_buf(&mut rbuf) => {
                    if read? == 0 {
                        return Ok(());
                    }
                    self.stats.reads.fetch_add(1, Ordering::Relaxed);
                    loop {
                        let frame = match conn.dec.decode(&mut rbuf) {
                            Ok(Some(frame)) => frame,
                            Ok(None) => break,
                            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                        };
                        if conn.on_frame(frame).await? == Flow::Close {
                            return Ok(());
                        }
                    }
                }
                Some(control) = rx.recv() => match control {
                    Control::Reply(stream, response) => conn.write(&[(stream, response)]).await?,
                    Control::Close => return Ok(()),
                },
            }
        }
    }
}

/// The SUPPORTED answer to OPTIONS: CQL 3.4.7, lz4, protocols 3/v3, 4/v4 and (when
/// `with_v5`) 5/v5. Scripts can answer post-handshake OPTIONS (heartbeats) with it.
pub fn supported(with_v5: bool) -> Response {
    let mut versions = vec!["3/v3".to_owned(), "4/v4".to_owned()];
    if with_v5 {
        versions.push("5/v5".to_owned());
    }
    Response::Supported(Supported {
        options: vec![
            ("CQL_VERSION".to_owned(), vec!["3.4.7".to_owned()]),
            ("COMPRESSION".to_owned(), vec!["lz4".to_owned()]),
            ("PROTOCOL_VERSIONS".to_owned(), versions),
        ],
    })
}

/// Accepts connections forever, serving each with `node` on its own task (for
/// benchmarks and multi-connection tests).
pub async fn serve_tcp(listener: TcpListener, node: FakeNode) -> io::Result<()> {
    loop {
        let (socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        let node = node.clone();
        tokio::spawn(async move { node.serve(socket).await });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Authenticating,
    Ready,
}

#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// The state of one served connection (the write half and both codecs).
struct Conn<W> {
    node: FakeNode,
    wr: W,
    ctl: mpsc::UnboundedSender<Control>,
    /// The version of the client's first frame.
    version: Option<ProtocolVersion>,
    compression: Option<Compression>,
    dec: CqlCodec,
    enc: CqlCodec,
    phase: Phase,
    /// Replies held for reverse-order sending.
    held: Vec<(i16, Response)>,
}

impl<W: AsyncWrite + Unpin> Conn<W> {
    async fn on_frame(&mut self, frame: Frame) -> io::Result<Flow> {
        let header = frame.header;
        self.node.stats.requests[header.opcode as usize].fetch_add(1, Ordering::Relaxed);
        let version = *self.version.get_or_insert(header.version);
        if header.version.is_v5() && self.node.config.refuse_v5 {
            // Cassandra answers a version it does not know in its own current version
            // (v4 here) on stream 0, then closes the connection.
            let message = "Invalid or unsupported protocol version (5); \
                           supported versions are (3/v3, 4/v4)";
            let refusal = error(message, ErrorKind::ProtocolError);
            self.write_as(ProtocolVersion::V4, &[(0, refusal)]).await?;
            return Ok(Flow::Close);
        }
        let stream = header.stream;
        let config = &self.node.config;
        match (self.phase, header.opcode) {
            (Phase::Ready, _) => {
                let action = match Request::decode_body(header.opcode, version, &frame.body) {
                    Ok(request) => (self.node.script)(&request, stream),
                    Err(e) => Action::Reply(error(e.to_string(), ErrorKind::ProtocolError)),
                };
                return self.act(action, stream).await;
            }
            _ if config.silent_handshake => {}
            (Phase::Handshake, Opcode::Options) => {
                let answer = supported(!config.refuse_v5);
                self.write(&[(stream, answer)]).await?;
            }
            (Phase::Handshake, Opcode::Startup) => {
                let startup = match Startup::decode(version, &mut &frame.body[..]) {
                    Ok(s) => s,
                    Err(e) => {
                        let e = error(e.to_string(), ErrorKind::ProtocolError);
                        self.write(&[(stream, e)]).await?;
                        return Ok(Flow::Continue);
                    }
                };
                self.compression =
                    (startup.compression() == Some("lz4")).then_some(Compression::Lz4);
                self.dec = CqlCodec::new(version, DEFAULT_MAX_BODY_LEN);
                self.enc = CqlCodec::new(version, DEFAULT_MAX_BODY_LEN);
                let answer = match config.credentials {
                    Some(_) => Response::Authenticate(Authenticate {
                        authenticator: PASSWORD_AUTHENTICATOR.to_owned(),
                    }),
                    None => Response::Ready,
                };
                self.phase = match config.credentials {
                    Some(_) => Phase::Authenticating,
                    None => Phase::Ready,
                };
                if version.is_v5() {
                    // Spec v5 s2.3.1: the answer to STARTUP is the last unframed frame.
                    self.dec
                        .enable_v5_framing(self.compression)
                        .map_err(invalid)?;
                    self.write(&[(stream, answer)]).await?;
                    self.enc
                        .enable_v5_framing(self.compression)
                        .map_err(invalid)?;
                } else {
                    self.dec.set_frame_compression(self.compression);
                    self.write(&[(stream, answer)]).await?;
                }
            }
            (Phase::Authenticating, Opcode::AuthResponse) => {
                let token = match Request::decode_body(header.opcode, version, &frame.body) {
                    Ok(Request::AuthResponse(a)) => a.token.unwrap_or_default(),
                    _ => Bytes::new(),
                };
                let answer = match &config.credentials {
                    Some((user, pass)) if token[..] == plain_token(user, pass)[..] => {
                        self.phase = Phase::Ready;
                        Response::AuthSuccess(AuthSuccess { token: None })
                    }
                    _ => error(
                        "Provided username and/or password are incorrect",
                        ErrorKind::BadCredentials,
                    ),
                };
                self.write(&[(stream, answer)]).await?;
            }
            (_, opcode) => {
                let message =
                    format!("Unexpected message {opcode:?}, expecting STARTUP or OPTIONS");
                let e = error(message, ErrorKind::ProtocolError);
                self.write(&[(stream, e)]).await?;
            }
        }
        Ok(Flow::Continue)
    }

    async fn act(&mut self, action: Action, stream: i16) -> io::Result<Flow> {
        let mut todo = vec![action];
        while let Some(action) = todo.pop() {
            match action {
                Action::Reply(response) => {
                    let batch = self.node.config.reverse_batch;
                    if batch > 1 {
                        self.held.push((stream, response));
                        if self.held.len() >= batch {
                            let mut held = std::mem::take(&mut self.held);
                            held.reverse();
                            self.write(&held).await?;
                        }
                    } else {
                        self.write(&[(stream, response)]).await?;
                    }
                }
                Action::ReplyAfter(delay, response) => {
                    let ctl = self.ctl.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = ctl.send(Control::Reply(stream, response));
                    });
                }
                Action::ReplyOnStream(other, response) => self.write(&[(other, response)]).await?,
                Action::NoReply => {}
                Action::SendEvent(event) => self.write(&[(-1, Response::Event(event))]).await?,
                Action::CloseConnection => return Ok(Flow::Close),
                Action::All(actions) => todo.extend(actions.into_iter().rev()),
            }
        }
        Ok(Flow::Continue)
    }

    async fn write(&mut self, responses: &[(i16, Response)]) -> io::Result<()> {
        let version = self.version.unwrap_or(ProtocolVersion::V4);
        self.write_as(version, responses).await
    }

    /// Encodes `responses` as frames (LZ4 bodies on v3/v4 once negotiated, segments on
    /// v5 once switched) and writes them at once.
    async fn write_as(
        &mut self,
        version: ProtocolVersion,
        responses: &[(i16, Response)],
    ) -> io::Result<()> {
        let compress = !version.is_v5() && self.compression.is_some();
        let mut frames = BytesMut::new();
        for (stream, response) in responses {
            let mut flags = FrameFlags::empty();
            if compress {
                flags.insert(FrameFlags::COMPRESSION);
            }
            let opcode = response.opcode();
            encode_frame(
                &mut frames,
                version,
                Direction::Response,
                flags,
                *stream,
                opcode,
                self.compression,
                |b| response.encode_body(version, b),
            )
            .map_err(invalid)?;
        }
        let mut out = BytesMut::new();
        self.enc.encode(frames, &mut out).map_err(invalid)?;
        if self.node.config.one_byte_writes {
            for byte in out.iter() {
                self.wr.write_all(&[*byte]).await?;
                self.wr.flush().await?;
                tokio::task::yield_now().await;
            }
        } else {
            self.wr.write_all(&out).await?;
            self.wr.flush().await?;
        }
        Ok(())
    }
}

fn error(message: impl Into<String>, kind: ErrorKind) -> Response {
    Response::Error(ErrorBody::new(message, kind))
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The SASL PLAIN token PasswordAuthenticator expects: `\0user\0password`.
fn plain_token(user: &str, pass: &str) -> Vec<u8> {
    let mut t = vec![0];
    t.extend_from_slice(user.as_bytes());
    t.push(0);
    t.extend_from_slice(pass.as_bytes());
    t
}
