//! The fake node: a CQL server on 127.0.0.1 answering canned frames (canned.rs) with
//! system tables (system.rs). It runs as a child process (`driver-bench fake-node`), so
//! its CPU never lands in the client's getrusage; `spawn` starts it and `serve` is
//! the child's main loop. v4 frames, and v5 segments after READY (no compression).

mod canned;
mod system;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use bytes::BytesMut;
use ringbolt::protocol::frame::{FrameDecoder, FrameHeader, HEADER_LEN};
use ringbolt::protocol::response::{ErrorBody, ErrorKind, Response};
use ringbolt::protocol::segment::{encode_frames_as_segments, FrameAssembler, SegmentDecoder};
use ringbolt::protocol::{frame, Opcode, ProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use canned::Canned;
pub use canned::FakeError;

/// A running fake node child process; killed when dropped.
pub struct FakeNode {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl FakeNode {
    /// Starts `<this binary> fake-node --port 0 --scan-rows N` and waits for its address.
    pub fn spawn(scan_rows: u64) -> Result<Self, FakeError> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args([
                "fake-node",
                "--port",
                "0",
                "--scan-rows",
                &scan_rows.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("fake node has no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("fake node said {line:?}"))?
            .parse()?;
        Ok(Self { child, addr })
    }

    /// The child's pid (for its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        // Our own child, by handle. Closing its stdin also makes it exit.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's main loop: listen on 127.0.0.1:`port`, print `listening <addr>`, serve
/// every connection on this (current-thread) runtime until stdin closes.
pub async fn serve(port: u16, scan_rows: u64) -> Result<(), FakeError> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    // Exit with the parent: it holds our stdin.
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        while matches!(std::io::stdin().read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    serve_on(listener, scan_rows).await
}

/// Serves every connection of `listener` (also used in-process by tests).
pub async fn serve_on(listener: TcpListener, scan_rows: u64) -> Result<(), FakeError> {
    let canned = Arc::new(Canned::new(listener.local_addr()?, scan_rows)?);
    loop {
        let (sock, _) = listener.accept().await?;
        sock.set_nodelay(true)?;
        let canned = canned.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(sock, &canned).await {
                eprintln!("fake node: connection ended: {e}");
            }
        });
    }
}

/// Reads whatever arrived, answers every whole request in it, writes all answers
/// with one write (v5: wrapped in segments once STARTUP has been answered).
async fn connection(sock: TcpStream, canned: &Canned) -> Result<(), FakeError> {
    let (mut rd, mut wr) = sock.into_split();
    let mut input = BytesMut::with_capacity(64 * 1024);
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut envelopes = BytesMut::new();
    let mut frames = FrameDecoder::default();
    let mut segments = SegmentDecoder::new(None);
    let mut assembler = FrameAssembler::new(frame::DEFAULT_MAX_BODY_LEN);
    let mut segmented = false;
    loop {
        if rd.read_buf(&mut input).await? == 0 {
            return Ok(());
        }
        loop {
            let f = if segmented {
                match assembler.next_frame() {
                    Some(f) => f,
                    None => match segments.decode(&mut input)? {
                        Some(s) => {
                            assembler.push(s)?;
                            continue;
                        }
                        None => break,
                    },
                }
            } else {
                if let Some(v) = unsupported_version(&input) {
                    refuse_version(&input, v, &mut out)?;
                    wr.write_all(&out).await?;
                    return Ok(());
                }
                match frames.decode(&mut input)? {
                    Some(f) => f,
                    None => break,
                }
            };
            let h = f.header;
            let target = if segmented { &mut envelopes } else { &mut out };
            if canned.handle(h.version, h.stream, h.opcode, &f.body, target)? {
                segmented = true;
            }
        }
        if !envelopes.is_empty() {
            encode_frames_as_segments(&mut out, &envelopes, None)?;
            envelopes.clear();
        }
        if !out.is_empty() {
            wr.write_all(&out).await?;
            out.clear();
        }
    }
}

/// The version byte of a request the node does not speak (it speaks v4 and v5).
fn unsupported_version(input: &[u8]) -> Option<u8> {
    let v = input.first()? & 0x7F;
    (!(4..=5).contains(&v)).then_some(v)
}

/// Answers a frame of an unsupported version with a v4 protocol error, as Cassandra
/// does, so a client can fall back (spec v5 section 8, error 0x000A).
fn refuse_version(input: &[u8], v: u8, out: &mut BytesMut) -> Result<(), FakeError> {
    let stream = if input.len() >= HEADER_LEN {
        i16::from_be_bytes([input[2], input[3]])
    } else {
        0
    };
    let e = ErrorBody::new(
        format!(
            "Invalid or unsupported protocol version ({v}); supported versions are (4/v4, 5/v5)"
        ),
        ErrorKind::ProtocolError,
    );
    let mut body = BytesMut::new();
    Response::Error(e).encode_body(ProtocolVersion::V4, &mut body)?;
    FrameHeader {
        version: ProtocolVersion::V4,
        direction: frame::Direction::Response,
        flags: frame::FrameFlags::empty(),
        stream,
        opcode: Opcode::Error,
        body_len: body.len() as u32,
    }
    .encode(out);
    out.extend_from_slice(&body);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::drivers::floor::Floor;
    use crate::drivers::scylla::ScyllaClient;
    use crate::drivers::Client;
    use crate::measure::{run_block, Budget};
    use crate::workload::Workload;

    const ROWS: u64 = 12_000;

    async fn node() -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_on(listener, ROWS));
        addr
    }

    async fn every_workload<C: Client>(c: &Arc<C>) {
        for w in Workload::ALL {
            let b = run_block(c, w, 3, Budget::Ops(6), None).await.unwrap();
            assert_eq!((b.ops, b.errors), (6, 0), "{w}");
            let rows = match w {
                Workload::Select => 6,
                Workload::Scan => 6 * ROWS,
                _ => 0,
            };
            assert_eq!(b.rows, rows, "{w}");
            assert_eq!(b.latency.len(), 6);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scylla_connects_and_runs_every_workload() {
        let addr = node().await;
        let c = ScyllaClient::connect(&addr.to_string(), 5000)
            .await
            .unwrap();
        every_workload(&c).await;
    }

    #[cfg(feature = "ringbolt-session")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ringbolt_v4_and_v5_run_every_workload() {
        let addr = node().await;
        for v5 in [false, true] {
            let c = crate::drivers::ringbolt::RingboltClient::connect(&addr.to_string(), v5, 5000)
                .await
                .unwrap();
            every_workload(&c).await;
        }
    }

    #[cfg(feature = "cdrs")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cdrs_connects_and_runs_every_workload() {
        let addr = node().await;
        let c = crate::drivers::cdrs::CdrsClient::connect(&addr.to_string(), 5000)
            .await
            .unwrap();
        assert!(c.knows_keyspace("bench"));
        every_workload(&c).await;
    }

    #[tokio::test]
    async fn floor_pipelines_every_workload() {
        let addr = node().await;
        let mut f = Floor::connect(addr, ROWS, 5000).await.unwrap();
        for w in Workload::ALL {
            let b = f.run_block(w, 4, Budget::Ops(9), None).await.unwrap();
            assert_eq!(b.ops, 9, "{w}");
            assert_eq!(b.latency.len(), 9);
        }
    }
}
