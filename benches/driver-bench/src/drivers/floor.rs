//! The floor: the least a client can do for the same work. One socket to the fake node,
//! protocol v4, requests encoded once up front (only the stream id is patched), up to
//! `concurrency` of them outstanding, replies parsed only as far as the frame header.
//! A scan sends the page requests of one scan back to back on its stream id.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use ringbolt::protocol::frame::{encode_frame, Direction, FrameDecoder, FrameFlags, HEADER_LEN};
use ringbolt::protocol::request::{
    Batch, BatchStatement, BatchStatementKind, BatchType, Execute, Prepare, QueryParameters,
    Request, SerializedValues, Startup, Values,
};
use ringbolt::protocol::response::{Response, ResultBody};
use ringbolt::protocol::{Opcode, ProtocolVersion};
use ringbolt::Consistency;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::BenchError;
use crate::measure::{histogram, BlockResult, Budget, Meter};
use crate::workload::{self, Workload, BATCH_SIZE, SCAN_PARTITION};

const V4: ProtocolVersion = ProtocolVersion::V4;

/// A connected floor client with every request pre-encoded.
pub struct Floor {
    sock: TcpStream,
    insert: Vec<Bytes>,
    select: Vec<Bytes>,
    scan: Vec<Bytes>,
    batch: Vec<Bytes>,
    scan_rows: u64,
}

fn frame(req: &Request<'_>) -> Result<Bytes, BenchError> {
    let mut out = BytesMut::new();
    encode_frame(
        &mut out,
        V4,
        Direction::Request,
        FrameFlags::empty(),
        0,
        req.opcode(),
        None,
        |o| req.encode_body(V4, o),
    )?;
    Ok(out.freeze())
}

fn values(vals: &[&[u8]]) -> Result<SerializedValues, BenchError> {
    let mut v = SerializedValues::new();
    for x in vals {
        v.push_bytes(x)?;
    }
    Ok(v)
}

fn params(v: SerializedValues) -> QueryParameters<'static> {
    QueryParameters {
        consistency: Consistency::One,
        values: Some(Values::Positional(std::borrow::Cow::Owned(v))),
        ..Default::default()
    }
}

/// Sends one request and reads its one reply (setup only).
async fn round_trip(sock: &mut TcpStream, req: &Request<'_>) -> Result<Response, BenchError> {
    sock.write_all(&frame(req)?).await?;
    let mut buf = BytesMut::with_capacity(4096);
    let mut dec = FrameDecoder::default();
    loop {
        if let Some(f) = dec.decode(&mut buf)? {
            return Ok(Response::decode(
                f.header.opcode,
                f.header.version,
                &f.body,
            )?);
        }
        if sock.read_buf(&mut buf).await? == 0 {
            return Err("fake node closed the floor connection".into());
        }
    }
}

async fn prepare(sock: &mut TcpStream, q: &str) -> Result<Bytes, BenchError> {
    match round_trip(sock, &Request::Prepare(Prepare::new(q))).await? {
        Response::Result(ResultBody::Prepared(p)) => Ok(p.id),
        other => Err(format!("PREPARE {q:?}: {other:?}").into()),
    }
}

impl Floor {
    /// Connects to the fake node at `addr`, prepares, and pre-encodes every request.
    pub async fn connect(
        addr: SocketAddr,
        scan_rows: u64,
        page_size: i32,
    ) -> Result<Self, BenchError> {
        let mut sock = TcpStream::connect(addr).await?;
        sock.set_nodelay(true)?;
        match round_trip(&mut sock, &Request::Startup(Startup::new("3.0.0"))).await? {
            Response::Ready => {}
            other => return Err(format!("STARTUP: {other:?}").into()),
        }
        let insert_id = prepare(&mut sock, workload::INSERT_KV).await?;
        let select_id = prepare(&mut sock, workload::SELECT_KV).await?;
        let scan_id = prepare(&mut sock, workload::SCAN).await?;
        let k = 1_i64.to_be_bytes();
        let insert = frame(&Request::Execute(Execute::new(
            &insert_id[..],
            None,
            params(values(&[&k, &k, &k])?),
        )))?;
        let select = frame(&Request::Execute(Execute::new(
            &select_id[..],
            None,
            params(values(&[&k])?),
        )))?;
        let children = (0..BATCH_SIZE)
            .map(|_| {
                Ok(BatchStatement {
                    kind: BatchStatementKind::Prepared(insert_id[..].into()),
                    values: std::borrow::Cow::Owned(values(&[&k, &k, &k])?),
                })
            })
            .collect::<Result<Vec<_>, BenchError>>()?;
        let batch = frame(&Request::Batch(Batch {
            batch_type: BatchType::Unlogged,
            statements: children,
            consistency: Consistency::One,
            options: Default::default(),
        }))?;
        let p = SCAN_PARTITION.to_be_bytes();
        let pages = scan_rows.div_ceil(page_size.max(1) as u64).max(1);
        let scan = (0..pages)
            .map(|i| {
                let state = (i > 0).then(|| (i * page_size as u64).to_be_bytes().to_vec());
                let params = QueryParameters {
                    page_size: Some(page_size),
                    paging_state: state.map(Into::into),
                    ..params(values(&[&p])?)
                };
                frame(&Request::Execute(Execute::new(&scan_id[..], None, params)))
            })
            .collect::<Result<Vec<_>, BenchError>>()?;
        Ok(Self {
            sock,
            insert: vec![insert],
            select: vec![select],
            scan,
            batch: vec![batch],
            scan_rows,
        })
    }

    /// Runs one block: operations pipelined on the one socket, `concurrency` at a time.
    pub async fn run_block(
        &mut self,
        w: Workload,
        concurrency: usize,
        budget: Budget,
        server_pid: Option<u32>,
    ) -> Result<BlockResult, BenchError> {
        let pages: &[Bytes] = match w {
            Workload::Insert => &self.insert,
            Workload::Select => &self.select,
            Workload::Scan => &self.scan,
            Workload::Batch => &self.batch,
        };
        let rows_per_op = match w {
            Workload::Select => 1,
            Workload::Scan => self.scan_rows,
            _ => 0,
        };
        let conc = concurrency.min(i16::MAX as usize);
        let mut free: Vec<i16> = (0..conc as i16).rev().collect();
        let mut page = vec![0usize; conc];
        let mut started = vec![Instant::now(); conc];
        let mut wbuf = BytesMut::with_capacity(pages[0].len() * conc + 64);
        let mut rbuf = BytesMut::with_capacity(1 << 20);
        let mut hist = histogram()?;
        let meter = Meter::start(server_pid);
        let deadline = match budget {
            Budget::Time(d) => Some(Instant::now() + d),
            Budget::Ops(_) => None,
        };
        let (mut issued, mut done) = (0u64, 0u64);
        let push = |wbuf: &mut BytesMut, req: &Bytes, id: i16| {
            let at = wbuf.len();
            wbuf.extend_from_slice(req);
            wbuf[at + 2..at + 4].copy_from_slice(&id.to_be_bytes());
        };
        loop {
            while let Some(&id) = free.last() {
                let more = match budget {
                    Budget::Ops(max) => issued < max,
                    Budget::Time(_) => deadline.is_some_and(|d| Instant::now() < d),
                };
                if !more {
                    break;
                }
                free.pop();
                push(&mut wbuf, &pages[0], id);
                page[id as usize] = 0;
                started[id as usize] = Instant::now();
                issued += 1;
            }
            if !wbuf.is_empty() {
                self.sock.write_all(&wbuf).await?;
                wbuf.clear();
            }
            if done == issued {
                break;
            }
            if rbuf.capacity() - rbuf.len() < 64 * 1024 {
                rbuf.reserve(64 * 1024);
            }
            if self.sock.read_buf(&mut rbuf).await? == 0 {
                return Err("fake node closed the floor connection".into());
            }
            while rbuf.len() >= HEADER_LEN {
                let len = u32::from_be_bytes([rbuf[5], rbuf[6], rbuf[7], rbuf[8]]) as usize;
                if rbuf.len() < HEADER_LEN + len {
                    break;
                }
                let id = i16::from_be_bytes([rbuf[2], rbuf[3]]);
                if rbuf[4] != Opcode::Result as u8 || id < 0 || id as usize >= conc {
                    return Err(
                        format!("floor: unexpected reply opcode {} stream {id}", rbuf[4]).into(),
                    );
                }
                rbuf.advance(HEADER_LEN + len);
                let slot = id as usize;
                page[slot] += 1;
                if let Some(next) = pages.get(page[slot]) {
                    push(&mut wbuf, next, id);
                } else {
                    hist.saturating_record(started[slot].elapsed().as_nanos() as u64);
                    done += 1;
                    free.push(id);
                }
            }
        }
        meter.finish(done, done * rows_per_op, || Ok(hist))
    }
}
