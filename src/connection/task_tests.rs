//! The connection task against a scripted peer over an in-memory pipe: a caller that
//! gives up orphans its stream id, which is not handed out again until the node's
//! late answer arrives; that late answer reaches nobody else. No sockets, no sleeps.

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::{Answer, Connection, ConnectionConfig};
use crate::error::ConnectionError;
use crate::protocol::frame::{encode_frame, Direction, Frame, FrameDecoder, FrameFlags};
use crate::protocol::request::Request;
use crate::protocol::response::{Response, Supported};
use crate::protocol::{Opcode, ProtocolVersion};

const V4: ProtocolVersion = ProtocolVersion::V4;

/// The node's side of the pipe.
struct Peer {
    io: DuplexStream,
    buf: BytesMut,
    dec: FrameDecoder,
}

impl Peer {
    async fn next_request(&mut self) -> Frame {
        loop {
            if let Some(f) = self.dec.decode(&mut self.buf).unwrap() {
                return f;
            }
            let n = self.io.read_buf(&mut self.buf).await.unwrap();
            assert!(n > 0, "client closed the pipe");
        }
    }

    async fn answer(&mut self, stream: i16, response: &Response) {
        let mut out = BytesMut::new();
        encode_frame(
            &mut out,
            V4,
            Direction::Response,
            FrameFlags::empty(),
            stream,
            response.opcode(),
            None,
            |b| response.encode_body(V4, b),
        )
        .unwrap();
        self.io.write_all(&out).await.unwrap();
    }
}

fn supported() -> Response {
    Response::Supported(Supported {
        options: vec![("CQL_VERSION".into(), vec!["3.4.7".into()])],
    })
}

/// A handshaken connection and the peer driving the other end.
async fn connected() -> (Connection, Peer) {
    connected_with(ConnectionConfig::default()).await
}

async fn connected_with(config: ConnectionConfig) -> (Connection, Peer) {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let mut peer = Peer {
        io: server,
        buf: BytesMut::new(),
        dec: FrameDecoder::default(),
    };
    let config = ConnectionConfig {
        heartbeat_interval: None,
        ..config
    };
    let addr = "127.0.0.1:9042".parse().unwrap();
    let open = Connection::open_on(client, addr, V4, &config, false);
    let script = async {
        let options = peer.next_request().await;
        assert_eq!(options.header.opcode, Opcode::Options);
        peer.answer(options.header.stream, &supported()).await;
        let startup = peer.next_request().await;
        assert_eq!(startup.header.opcode, Opcode::Startup);
        peer.answer(startup.header.stream, &Response::Ready).await;
    };
    let (opened, ()) = tokio::join!(open, script);
    (opened.unwrap().connection, peer)
}

fn options_frame(conn: &Connection) -> BytesMut {
    conn.encode(&Request::Options, &super::CallOptions::default())
        .unwrap()
}

#[tokio::test]
async fn abandoned_stream_id_stays_reserved_until_its_late_answer() {
    let (conn, mut peer) = connected().await;

    // A: sent, then abandoned by its caller (a timeout dropping the future).
    let reply_a = conn.submit(options_frame(&conn), None).unwrap();
    let a = peer.next_request().await;
    drop(reply_a);
    let id_a = a.header.stream;

    // B: sent while A's answer is outstanding: it must get another id.
    let b_conn = conn.clone();
    let b = tokio::spawn(async move { b_conn.send_frame(options_frame(&b_conn)).await });
    let b_req = peer.next_request().await;
    assert_ne!(b_req.header.stream, id_a, "orphaned id reused early");
    assert_eq!(conn.in_flight(), 2, "the orphan still holds its id");

    // A's late answer goes nowhere (and does not break the connection); B gets its own.
    peer.answer(id_a, &supported()).await;
    peer.answer(b_req.header.stream, &Response::Ready).await;
    let b_frame = b.await.unwrap().unwrap();
    assert_eq!(b_frame.header.opcode, Opcode::Ready, "B got A's answer");
    assert!(conn.is_usable());

    // With A answered, its id is free again (lowest first).
    let c_conn = conn.clone();
    let c = tokio::spawn(async move { c_conn.send_frame(options_frame(&c_conn)).await });
    let c_req = peer.next_request().await;
    assert_eq!(
        c_req.header.stream, id_a,
        "the answered orphan's id is reusable"
    );
    peer.answer(c_req.header.stream, &supported()).await;
    assert_eq!(c.await.unwrap().unwrap().header.opcode, Opcode::Supported);
    assert_eq!(conn.in_flight(), 0);
}

#[tokio::test]
async fn a_caller_gone_before_the_write_costs_no_id_and_nothing_is_sent() {
    let (conn, mut peer) = connected().await;
    // Abandoned while still queued: the task skips it, the node never sees it.
    let queued = conn.submit(options_frame(&conn), None).unwrap();
    drop(queued);
    let next = conn.clone();
    let d = tokio::spawn(async move { next.send_frame(options_frame(&next)).await });
    let req = peer.next_request().await;
    peer.answer(req.header.stream, &Response::Ready).await;
    assert_eq!(d.await.unwrap().unwrap().header.opcode, Opcode::Ready);
    // Only one request reached the peer (the buffer holds nothing more).
    assert!(peer.dec.decode(&mut peer.buf).unwrap().is_none());
    assert_eq!(conn.in_flight(), 0);
}

#[tokio::test]
async fn connection_loss_tells_each_waiter_whether_it_was_written() {
    let (conn, mut peer) = connected().await;
    let w = conn.clone();
    let written = tokio::spawn(async move { w.send_frame(options_frame(&w)).await });
    let _ = peer.next_request().await;
    drop(peer);
    let err = written.await.unwrap().unwrap_err();
    assert!(err.written, "the request reached the pipe before it broke");
    // After the loss, a new request is refused before anything is written.
    let err = conn.send_frame(options_frame(&conn)).await.unwrap_err();
    assert!(!err.written);
}

fn within(ms: u64) -> Option<tokio::time::Instant> {
    Some(tokio::time::Instant::now() + std::time::Duration::from_millis(ms))
}

#[tokio::test(start_paused = true)]
async fn a_written_request_past_its_deadline_times_out_and_its_id_waits_for_the_answer() {
    let (conn, mut peer) = connected().await;
    let reply = conn.submit(options_frame(&conn), within(100)).unwrap();
    let req = peer.next_request().await;
    // The node is silent: the task answers at the deadline, saying it was written.
    match conn.answer(reply).await {
        Answer::TimedOut { written } => assert!(written),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(conn.in_flight(), 1, "the timed-out request keeps its id");
    // The late answer frees the id and breaks nothing.
    peer.answer(req.header.stream, &supported()).await;
    let next = conn.clone();
    let d = tokio::spawn(async move { next.send_frame(options_frame(&next)).await });
    let req2 = peer.next_request().await;
    assert_eq!(
        req2.header.stream, req.header.stream,
        "the orphan's id came back"
    );
    peer.answer(req2.header.stream, &Response::Ready).await;
    assert_eq!(d.await.unwrap().unwrap().header.opcode, Opcode::Ready);
    assert_eq!(conn.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_queued_request_past_its_deadline_is_never_written_and_a_full_queue_refuses() {
    let config = ConnectionConfig {
        max_streams: 1,
        queue_len: 1,
        ..ConnectionConfig::default()
    };
    let (conn, mut peer) = connected_with(config).await;
    // The only id is taken by a request the node does not answer yet.
    let first = conn.submit(options_frame(&conn), within(10_000)).unwrap();
    let first_req = peer.next_request().await;
    // The second waits in the task's queue, the third finds the queue full.
    let queued = conn.submit(options_frame(&conn), within(100)).unwrap();
    let refused = conn.submit(options_frame(&conn), within(10_000)).unwrap();
    match conn.answer(refused).await {
        Answer::Failed(e) => {
            assert!(!e.written);
            assert!(matches!(
                e.error,
                ConnectionError::StreamIdsExhausted { .. }
            ));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    match conn.answer(queued).await {
        Answer::TimedOut { written } => assert!(!written, "it never left the queue"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // A deadline already past is answered at once, and nothing is written either.
    let late = conn.submit(options_frame(&conn), within(0)).unwrap();
    assert!(matches!(
        conn.answer(late).await,
        Answer::TimedOut { written: false }
    ));
    peer.answer(first_req.header.stream, &Response::Ready).await;
    assert!(matches!(conn.answer(first).await, Answer::Frame(_)));
    // Nothing else ever reached the node.
    assert!(peer.dec.decode(&mut peer.buf).unwrap().is_none());
    assert_eq!(conn.in_flight(), 0);
}
