//! Connection tests over `tokio::io::duplex` against the scripted fake node: shared
//! helpers here, handshake tests in `handshake.rs`, the multiplexing task (ids,
//! cancellation, failures, heartbeats, orphans, coalescing) in `task.rs`.

mod handshake;
mod task;

use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;
use std::task::{Context, Poll};

use tokio::io::{DuplexStream, ReadBuf};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::*;
use crate::fake_node::{supported, Action, FakeConfig, FakeConnection, FakeNode};
use crate::protocol::frame::Direction;
use crate::protocol::request::{Query, QueryParameters};
use crate::protocol::response::{Event, Response, ResultBody, StatusChangeType};
use crate::protocol::Opcode;

fn addr() -> SocketAddr {
    "127.0.0.1:9042".parse().unwrap()
}

fn query(text: &str) -> Request<'static> {
    Request::Query(Query::new(text.to_owned(), QueryParameters::default()))
}

fn marker(text: &str) -> Response {
    Response::Result(ResultBody::SetKeyspace(text.to_owned()))
}

/// Answers QUERY with its own text (as a SetKeyspace result), OPTIONS with SUPPORTED.
fn echo(request: &Request<'static>, _stream: i16) -> Action {
    match request {
        Request::Query(q) => Action::Reply(marker(&q.query)),
        Request::Options => Action::Reply(supported(true)),
        _ => Action::Reply(Response::Result(ResultBody::Void)),
    }
}

/// The text a response carries back (see [`echo`]).
fn text_of(response: Response) -> String {
    match response {
        Response::Result(ResultBody::SetKeyspace(k)) => k,
        other => panic!("unexpected response {other:?}"),
    }
}

/// Sends `text` through the typed call (no deadline); a connection failure comes back
/// with its `written` flag.
async fn ask(conn: &Connection, text: &str) -> Result<String, RequestError> {
    match conn.call(&query(text), CallOptions::default()).await {
        Ok(reply) => Ok(text_of(reply.response)),
        Err(CallError::Connection { error, written }) => Err(RequestError { error, written }),
        Err(other) => panic!("unexpected call error {other}"),
    }
}

/// The encoded length of `request` (what the task will write for it).
fn frame_len(conn: &Connection, request: &Request<'_>) -> usize {
    conn.encode(request, &CallOptions::default()).unwrap().len()
}

fn spawn_ask(conn: &Connection, text: &str) -> JoinHandle<Result<String, RequestError>> {
    let (conn, text) = (conn.clone(), text.to_owned());
    tokio::spawn(async move { ask(&conn, &text).await })
}

/// Yields until `cond` holds (bounded, so a broken test fails instead of hanging).
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..100_000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition never held: {what}");
}

fn config() -> ConnectionConfig {
    ConnectionConfig::default()
}

/// A client-side stream wrapper that counts writes and can stall after a byte budget.
struct Probe {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
    budget: Arc<AtomicUsize>,
}

impl AsyncRead for Probe {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Probe {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let budget = self.budget.load(Ordering::SeqCst);
        if budget == 0 {
            return Poll::Pending; // a stalled socket: never writable again
        }
        let n = buf.len().min(budget);
        let r = Pin::new(&mut self.inner).poll_write(cx, &buf[..n]);
        if let Poll::Ready(Ok(n)) = r {
            self.writes.fetch_add(1, Ordering::SeqCst);
            if budget != usize::MAX {
                self.budget.fetch_sub(n, Ordering::SeqCst);
            }
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct Setup {
    conn: Connection,
    events: Option<Events>,
    fake: FakeConnection,
    writes: Arc<AtomicUsize>,
    budget: Arc<AtomicUsize>,
}

async fn try_open(
    node: &FakeNode,
    version: ProtocolVersion,
    config: &ConnectionConfig,
) -> (Result<Opened, ConnectionError>, FakeConnection) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let fake = node.spawn(server);
    (
        Connection::open_on(client, addr(), version, config, true).await,
        fake,
    )
}

async fn open(node: &FakeNode, version: ProtocolVersion, config: &ConnectionConfig) -> Setup {
    let (client, server) = tokio::io::duplex(1 << 20);
    let fake = node.spawn(server);
    let writes = Arc::new(AtomicUsize::new(0));
    let budget = Arc::new(AtomicUsize::new(usize::MAX));
    let probe = Probe {
        inner: client,
        writes: writes.clone(),
        budget: budget.clone(),
    };
    let opened = Connection::open_on(probe, addr(), version, config, true)
        .await
        .unwrap();
    Setup {
        conn: opened.connection,
        events: opened.events,
        fake,
        writes,
        budget,
    }
}

fn echo_node(config: FakeConfig) -> FakeNode {
    FakeNode::new(config, echo)
}

/// Records every post-handshake QUERY (stream, text) and never answers "hold*".
fn recording(log: Arc<Mutex<Vec<(i16, String)>>>) -> FakeNode {
    FakeNode::new(FakeConfig::default(), move |request, stream| {
        if let Request::Query(q) = request {
            log.lock().unwrap().push((stream, q.query.to_string()));
            if q.query.starts_with("hold") {
                return Action::NoReply;
            }
        }
        echo(request, stream)
    })
}

fn stream_of(log: &Mutex<Vec<(i16, String)>>, text: &str) -> i16 {
    let log = log.lock().unwrap();
    log.iter().rev().find(|(_, t)| t == text).unwrap().0
}
