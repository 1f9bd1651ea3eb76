//! Captures golden fixtures from a real Cassandra into `protocol-fixtures/captured/`:
//! the exact bytes a node sends (whole v4 frames; whole v5 segments after the
//! handshake), for v4 and v5, LZ4 on and off, plus the auth exchange on the auth node.
//! Run: `cargo run --example capture_fixtures --features unstable-protocol` with the
//! local cluster up (scripts/cassandra up --nodes 3 --auth-node). Not part of the
//! driver: a tool that speaks the protocol step by step and records what comes back.

use std::path::PathBuf;

use bytes::BytesMut;
use ringbolt::protocol::frame::{encode_frame, Compression, Direction, FrameFlags};
use ringbolt::protocol::request::{
    AuthResponse, EventType, Prepare, Query, QueryParameters, Register, Request, Startup,
};
use ringbolt::protocol::segment::encode_frames_as_segments;
use ringbolt::protocol::ProtocolVersion;
use ringbolt::Consistency;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Capture {
    stream: TcpStream,
    version: ProtocolVersion,
    compression: Option<Compression>,
    /// True once v5 segment framing is on.
    segments: bool,
    rbuf: BytesMut,
    next_stream: i16,
    dir: PathBuf,
    manifest: Vec<String>,
    tag: String,
}

impl Capture {
    async fn connect(addr: &str, version: ProtocolVersion, lz4: bool, dir: PathBuf) -> Res<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let tag = format!("v{}{}", version.as_u8(), if lz4 { "_lz4" } else { "" });
        Ok(Self {
            stream,
            version,
            compression: lz4.then_some(Compression::Lz4),
            segments: false,
            rbuf: BytesMut::new(),
            next_stream: 1,
            dir,
            manifest: Vec::new(),
            tag,
        })
    }

    async fn send(&mut self, req: &Request<'_>) -> Res<()> {
        let mut frame = BytesMut::new();
        let v4_lz4 = !self.version.is_v5()
            && self.compression.is_some()
            && !matches!(req, Request::Startup(_) | Request::Options);
        let mut flags = FrameFlags::empty();
        if v4_lz4 && self.segments {
            flags.insert(FrameFlags::COMPRESSION);
        }
        let stream = self.next_stream;
        self.next_stream += 1;
        let version = self.version;
        encode_frame(
            &mut frame,
            version,
            Direction::Request,
            flags,
            stream,
            req.opcode(),
            self.compression,
            |b| req.encode_body(version, b),
        )?;
        let out = if self.segments && self.version.is_v5() {
            let mut out = BytesMut::new();
            encode_frames_as_segments(&mut out, &frame, self.compression)?;
            out
        } else {
            frame
        };
        self.stream.write_all(&out).await?;
        Ok(())
    }

    /// Length of the next whole unit (frame, or v5 segment) in the buffer, if complete.
    fn unit_len(&self) -> Option<usize> {
        let b = &self.rbuf;
        if self.segments && self.version.is_v5() {
            let lz4 = self.compression.is_some();
            let header = if lz4 { 8 } else { 6 };
            if b.len() < header {
                return None;
            }
            let word = u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16;
            let payload = (word & 0x1FFFF) as usize;
            let total = header + payload + 4;
            (b.len() >= total).then_some(total)
        } else {
            if b.len() < 9 {
                return None;
            }
            let len = u32::from_be_bytes([b[5], b[6], b[7], b[8]]) as usize;
            (b.len() >= 9 + len).then_some(9 + len)
        }
    }

    async fn recv(&mut self, name: &str, what: &str) -> Res<Vec<u8>> {
        loop {
            if let Some(n) = self.unit_len() {
                let unit = self.rbuf.split_to(n).to_vec();
                let kind = if self.segments && self.version.is_v5() {
                    "segment"
                } else {
                    "frame"
                };
                let file = format!("cap_{}_{name}.{kind}.bin", self.tag);
                std::fs::write(self.dir.join(&file), &unit)?;
                let lz4 = if self.compression.is_some() && self.segments {
                    ", LZ4"
                } else {
                    ""
                };
                self.manifest.push(format!(
                    "- captured/{file} | v{} | {what} | response | captured from Cassandra 5.0 ({kind}{lz4})",
                    self.version.as_u8()
                ));
                return Ok(unit);
            }
            let n = self.stream.read_buf(&mut self.rbuf).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
        }
    }

    /// Like `recv`, but the unit may have come packed in the previous segment.
    async fn recv_maybe(&mut self, name: &str, what: &str) -> Res<()> {
        let wait = std::time::Duration::from_secs(3);
        match tokio::time::timeout(wait, self.recv(name, what)).await {
            Ok(r) => r.map(|_| ()),
            Err(_) => Ok(()),
        }
    }

    async fn handshake(&mut self, credentials: bool) -> Res<()> {
        self.send(&Request::Options).await?;
        self.recv("supported", "SUPPORTED (0x06)").await?;
        let mut startup = Startup::new("3.0.0");
        if let Some(c) = self.compression {
            startup.set("COMPRESSION", c.as_str());
        }
        self.send(&Request::Startup(startup)).await?;
        if credentials {
            self.recv("authenticate", "AUTHENTICATE (0x03)").await?;
            self.segments = true;
            let token = AuthResponse::plain("cassandra", "cassandra");
            self.send(&Request::AuthResponse(token)).await?;
            self.recv("auth_success", "AUTH_SUCCESS (0x10)").await?;
        } else {
            self.recv("ready", "READY (0x02)").await?;
            self.segments = true;
        }
        Ok(())
    }
}

fn query(text: &str) -> Request<'_> {
    Request::Query(Query::new(text, QueryParameters::new(Consistency::One)))
}

#[tokio::main]
async fn main() -> Res<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("protocol-fixtures/captured");
    std::fs::create_dir_all(&root)?;
    let node = std::env::var("RINGBOLT_CAPTURE_NODE").unwrap_or_else(|_| "127.0.0.1:9042".into());
    let auth =
        std::env::var("RINGBOLT_CAPTURE_AUTH_NODE").unwrap_or_else(|_| "127.0.0.4:9042".into());
    let mut manifest = Vec::new();
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        for lz4 in [false, true] {
            let mut c = Capture::connect(&node, version, lz4, root.clone()).await?;
            c.handshake(false).await?;
            c.send(&query(
                "SELECT key, cluster_name, data_center, rack, tokens FROM system.local",
            ))
            .await?;
            c.recv("rows_local", "RESULT Rows (0x08)").await?;
            c.send(&query("SELEC nonsense")).await?;
            c.recv("error_syntax", "ERROR SyntaxError (0x00)").await?;
            c.send(&query("SELECT * FROM system.no_such_table")).await?;
            c.recv("error_invalid", "ERROR Invalid (0x00)").await?;
            let prep = Request::Prepare(Prepare::new(
                "SELECT peer, data_center, tokens FROM system.peers WHERE peer = ?",
            ));
            c.send(&prep).await?;
            c.recv("prepared", "RESULT Prepared (0x08)").await?;
            c.send(&Request::Register(Register::new(vec![
                EventType::SchemaChange,
            ])))
            .await?;
            c.recv("ready_register", "READY (0x02)").await?;
            let ks = format!("capture_{}_{}", c.tag, std::process::id());
            let create = format!(
                "CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            );
            c.send(&query(&create)).await?;
            // The schema change result and the event arrive in either order.
            c.recv(
                "schema_change_a",
                "RESULT SchemaChange (0x08) or EVENT (0x0C)",
            )
            .await?;
            c.recv_maybe(
                "schema_change_b",
                "RESULT SchemaChange (0x08) or EVENT (0x0C)",
            )
            .await?;
            c.send(&query(&format!("USE {ks}"))).await?;
            c.recv("set_keyspace", "RESULT SetKeyspace (0x08)").await?;
            c.send(&query(&format!("DROP KEYSPACE {ks}"))).await?;
            c.recv("drop_a", "RESULT SchemaChange (0x08) or EVENT (0x0C)")
                .await?;
            c.recv_maybe("drop_b", "RESULT SchemaChange (0x08) or EVENT (0x0C)")
                .await?;
            manifest.append(&mut c.manifest);

            let mut a = Capture::connect(&auth, version, lz4, root.clone()).await?;
            a.tag = format!("{}_auth", a.tag);
            a.handshake(true).await?;
            manifest.append(&mut a.manifest);
        }
    }
    let mut text = String::from(
        "# captured fixtures\n\nBytes exactly as Cassandra 5.0.9 sent them, recorded by\n\
         `cargo run --example capture_fixtures --features unstable-protocol`. One line per file:\n\
         file | protocol version | opcode | direction | source.\n\n",
    );
    for line in &manifest {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(root.join("MANIFEST.md"), text)?;
    println!(
        "captured {} fixtures into {}",
        manifest.len(),
        root.display()
    );
    Ok(())
}
