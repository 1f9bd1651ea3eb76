//! What the fake node answers, per request: response bodies precomputed at start (READY,
//! SUPPORTED, Void, the one-row SELECT result, the PREPARED answers of the bench
//! statements) so that serving a request is a header write plus a copy. Scan pages
//! are assembled per page from one pre-encoded row. Socket handling is in mod.rs.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use ringbolt::protocol::frame::{encode_frame, Direction, FrameFlags};
use ringbolt::protocol::request::{flags, Execute, Prepare, Query};
use ringbolt::protocol::response::{
    ColumnSpec, ErrorBody, ErrorKind, Prepared, PreparedMetadata, Response, ResultBody,
    RowsMetadata, Supported,
};
use ringbolt::protocol::{wire, DecodeError, EncodeError, Opcode, ProtocolVersion};
use ringbolt::ColumnType;

use super::system::SystemTables;
use crate::workload::{INSERT_KV, SCAN, SCAN_VALUE_LEN, SELECT_KV};

/// Prepared ids of the bench statements (16 bytes like Cassandra's MD5 ids).
const INSERT_ID: &[u8; 16] = b"bench-insert-kv!";
const SELECT_ID: &[u8; 16] = b"bench-select-kv!";
const SCAN_ID: &[u8; 16] = b"bench-scan-rows!";
/// v5 result metadata id (one for all statements: their metadata never changes).
const RESULT_METADATA_ID: &[u8; 16] = b"bench-result-md!";

/// Why a connection must end.
pub type FakeError = Box<dyn std::error::Error + Send + Sync>;

/// Precomputed answers for one protocol version.
struct PerVersion {
    supported: Bytes,
    void: Bytes,
    select_row: Bytes,
    select_row_no_metadata: Bytes,
    prepared_insert: Bytes,
    prepared_select: Bytes,
    prepared_scan: Bytes,
}

/// Everything the fake node answers with, shared by all connections (read-only).
pub struct Canned {
    v4: PerVersion,
    v5: PerVersion,
    system: SystemTables,
    scan_rows: u64,
    scan_row: Bytes,
}

fn bigint(ks_table: (&str, &str), name: &str) -> ColumnSpec {
    spec(ks_table, name, ColumnType::Bigint)
}

fn spec((ks, table): (&str, &str), name: &str, typ: ColumnType) -> ColumnSpec {
    ColumnSpec {
        keyspace: ks.to_owned(),
        table: table.to_owned(),
        name: name.to_owned(),
        typ,
    }
}

fn body(version: ProtocolVersion, r: &Response) -> Result<Bytes, EncodeError> {
    let mut out = BytesMut::new();
    r.encode_body(version, &mut out)?;
    Ok(out.freeze())
}

fn prepared(
    version: ProtocolVersion,
    id: &[u8],
    markers: Vec<ColumnSpec>,
    result: RowsMetadata,
) -> Result<Bytes, EncodeError> {
    let p = Prepared {
        id: Bytes::copy_from_slice(id),
        result_metadata_id: version
            .is_v5()
            .then(|| Bytes::from_static(RESULT_METADATA_ID)),
        metadata: PreparedMetadata::new(markers, vec![0]),
        result_metadata: result,
    };
    body(
        version,
        &Response::Result(ResultBody::Prepared(Box::new(p))),
    )
}

fn kv_columns() -> Vec<ColumnSpec> {
    let t = ("bench", "kv");
    vec![bigint(t, "k"), bigint(t, "a"), bigint(t, "b")]
}

fn scan_columns() -> Vec<ColumnSpec> {
    let t = ("bench", "scan");
    vec![
        spec(t, "p", ColumnType::Int),
        spec(t, "c", ColumnType::Int),
        spec(t, "v", ColumnType::Blob),
    ]
}

/// RESULT Rows body: kind, metadata, count, then `count` copies of `row`.
fn rows_body(
    version: ProtocolVersion,
    metadata: &RowsMetadata,
    row: &[u8],
    count: u64,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    wire::write_int(out, 2);
    metadata.encode(version, out)?;
    wire::write_int(out, wire::int_len(count as usize, "rows_count")?);
    out.reserve(row.len() * count as usize);
    for _ in 0..count {
        out.extend_from_slice(row);
    }
    Ok(())
}

impl PerVersion {
    fn new(version: ProtocolVersion) -> Result<Self, EncodeError> {
        let supported = Supported {
            options: vec![
                ("CQL_VERSION".into(), vec!["3.4.7".into()]),
                ("COMPRESSION".into(), vec![]),
                (
                    "PROTOCOL_VERSIONS".into(),
                    vec!["3/v3".into(), "4/v4".into(), "5/v5".into()],
                ),
            ],
        };
        let mut row = BytesMut::new();
        for v in [1_i64, 2, 3] {
            wire::write_bytes(&mut row, Some(&v.to_be_bytes()))?;
        }
        let mut select_row = BytesMut::new();
        rows_body(
            version,
            &RowsMetadata::new(kv_columns()),
            &row,
            1,
            &mut select_row,
        )?;
        let mut select_row_no_metadata = BytesMut::new();
        rows_body(
            version,
            &RowsMetadata::no_metadata(3),
            &row,
            1,
            &mut select_row_no_metadata,
        )?;
        let t = ("bench", "kv");
        Ok(Self {
            supported: body(version, &Response::Supported(supported))?,
            void: body(version, &Response::Result(ResultBody::Void))?,
            select_row: select_row.freeze(),
            select_row_no_metadata: select_row_no_metadata.freeze(),
            prepared_insert: prepared(
                version,
                INSERT_ID,
                kv_columns(),
                RowsMetadata::no_metadata(0),
            )?,
            prepared_select: prepared(
                version,
                SELECT_ID,
                vec![bigint(t, "k")],
                RowsMetadata::new(kv_columns()),
            )?,
            prepared_scan: prepared(
                version,
                SCAN_ID,
                vec![spec(("bench", "scan"), "p", ColumnType::Int)],
                RowsMetadata::new(scan_columns()),
            )?,
        })
    }
}

/// Appends one response frame (v5: one envelope; the caller wraps it in segments).
fn respond(
    out: &mut BytesMut,
    version: ProtocolVersion,
    stream: i16,
    opcode: Opcode,
    body: &[u8],
) -> Result<(), EncodeError> {
    encode_frame(
        out,
        version,
        Direction::Response,
        FrameFlags::empty(),
        stream,
        opcode,
        None,
        |o| {
            o.extend_from_slice(body);
            Ok(())
        },
    )
}

fn respond_error(
    out: &mut BytesMut,
    version: ProtocolVersion,
    stream: i16,
    e: ErrorBody,
) -> Result<(), EncodeError> {
    let b = body(version, &Response::Error(e))?;
    respond(out, version, stream, Opcode::Error, &b)
}

/// What a QUERY or EXECUTE asked for, as far as the fake node cares.
struct Paging {
    skip_metadata: bool,
    page_size: Option<i32>,
    offset: u64,
}

/// The fast path of EXECUTE: the id and whether SKIP_METADATA is set, read straight
/// off the body (no allocation).
fn execute_head(version: ProtocolVersion, body: &[u8]) -> Result<(&[u8], bool), DecodeError> {
    let mut cur = body;
    let id = wire::read_short_bytes(&mut cur)?;
    if version.is_v5() {
        wire::read_short_bytes(&mut cur)?;
    }
    wire::read_short(&mut cur)?;
    let f = if version.is_v5() {
        wire::read_int(&mut cur)? as u32
    } else {
        u32::from(wire::read_byte(&mut cur)?)
    };
    Ok((id, f & flags::SKIP_METADATA != 0))
}

impl Canned {
    /// Answers for a node listening on `addr` whose scan partition has `scan_rows` rows.
    pub fn new(addr: SocketAddr, scan_rows: u64) -> Result<Self, EncodeError> {
        let mut row = BytesMut::new();
        wire::write_bytes(&mut row, Some(&0_i32.to_be_bytes()))?;
        wire::write_bytes(&mut row, Some(&7_i32.to_be_bytes()))?;
        wire::write_bytes(&mut row, Some(&[0xAB; SCAN_VALUE_LEN]))?;
        Ok(Self {
            v4: PerVersion::new(ProtocolVersion::V4)?,
            v5: PerVersion::new(ProtocolVersion::V5)?,
            system: SystemTables::new(addr),
            scan_rows,
            scan_row: row.freeze(),
        })
    }

    fn per(&self, version: ProtocolVersion) -> &PerVersion {
        if version.is_v5() {
            &self.v5
        } else {
            &self.v4
        }
    }

    /// Handles one request frame, appending its response to `out`. Returns true when
    /// this was a v5 STARTUP: segment framing starts after the READY just written.
    pub fn handle(
        &self,
        version: ProtocolVersion,
        stream: i16,
        opcode: Opcode,
        req: &[u8],
        out: &mut BytesMut,
    ) -> Result<bool, FakeError> {
        let per = self.per(version);
        match opcode {
            Opcode::Execute => {
                let (id, skip_metadata) = execute_head(version, req)?;
                let b: &[u8] = match id {
                    i if i == INSERT_ID => &per.void,
                    i if i == SELECT_ID && skip_metadata => &per.select_row_no_metadata,
                    i if i == SELECT_ID => &per.select_row,
                    i if i == SCAN_ID => {
                        let e = Execute::decode(version, &mut &req[..])?;
                        let p = Paging {
                            skip_metadata: e.params.skip_metadata,
                            page_size: e.params.page_size,
                            offset: offset(e.params.paging_state.as_deref()),
                        };
                        self.scan_page(version, stream, &p, out)?;
                        return Ok(false);
                    }
                    _ => &per.void,
                };
                respond(out, version, stream, Opcode::Result, b)?;
            }
            Opcode::Batch => respond(out, version, stream, Opcode::Result, &per.void)?,
            Opcode::Options => respond(out, version, stream, Opcode::Supported, &per.supported)?,
            Opcode::Startup => {
                respond(out, version, stream, Opcode::Ready, &[])?;
                return Ok(version.is_v5());
            }
            Opcode::Register => respond(out, version, stream, Opcode::Ready, &[])?,
            Opcode::Prepare => {
                let p = Prepare::decode(version, &mut &req[..])?;
                let b = match normalize(&p.query).as_str() {
                    q if q == normalize(INSERT_KV) => per.prepared_insert.clone(),
                    q if q == normalize(SELECT_KV) => per.prepared_select.clone(),
                    q if q == normalize(SCAN) => per.prepared_scan.clone(),
                    _ => {
                        let e = ErrorBody::new(
                            format!(
                                "the fake node only prepares the bench statements, not {:?}",
                                p.query
                            ),
                            ErrorKind::Invalid,
                        );
                        respond_error(out, version, stream, e)?;
                        return Ok(false);
                    }
                };
                respond(out, version, stream, Opcode::Result, &b)?;
            }
            Opcode::Query => {
                let q = Query::decode(version, &mut &req[..])?;
                self.query(version, stream, &q, out)?;
            }
            _ => {
                let e = ErrorBody::new(format!("unexpected {opcode:?}"), ErrorKind::ProtocolError);
                respond_error(out, version, stream, e)?;
            }
        }
        Ok(false)
    }

    fn query(
        &self,
        version: ProtocolVersion,
        stream: i16,
        q: &Query<'_>,
        out: &mut BytesMut,
    ) -> Result<(), FakeError> {
        if let Some(answer) = self.system.select(&q.query) {
            return match answer {
                Ok(r) => {
                    let b = body(version, &Response::Result(r))?;
                    Ok(respond(out, version, stream, Opcode::Result, &b)?)
                }
                Err(e) => Ok(respond_error(out, version, stream, e)?),
            };
        }
        let text = normalize(&q.query);
        if text == normalize(SCAN) {
            let p = Paging {
                skip_metadata: false,
                page_size: q.params.page_size,
                offset: offset(q.params.paging_state.as_deref()),
            };
            return Ok(self.scan_page(version, stream, &p, out)?);
        }
        if let Some(ks) = text.strip_prefix("use ") {
            let r = Response::Result(ResultBody::SetKeyspace(ks.trim_matches('"').to_owned()));
            let b = body(version, &r)?;
            return Ok(respond(out, version, stream, Opcode::Result, &b)?);
        }
        // DDL, writes and anything else: success without rows.
        Ok(respond(
            out,
            version,
            stream,
            Opcode::Result,
            &self.per(version).void,
        )?)
    }

    /// One page of the scan starting at `p.offset`; the paging state is the next
    /// offset as 8 big-endian bytes.
    fn scan_page(
        &self,
        version: ProtocolVersion,
        stream: i16,
        p: &Paging,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = p.offset.min(self.scan_rows);
        let left = self.scan_rows - start;
        let n = match p.page_size {
            Some(s) if s > 0 => left.min(s as u64),
            _ => left,
        };
        let next = start + n;
        let paging_state =
            (next < self.scan_rows).then(|| Bytes::copy_from_slice(&next.to_be_bytes()));
        let md = if p.skip_metadata {
            RowsMetadata::no_metadata(3)
        } else {
            RowsMetadata::new(scan_columns())
        }
        .with_paging_state(paging_state);
        encode_frame(
            out,
            version,
            Direction::Response,
            FrameFlags::empty(),
            stream,
            Opcode::Result,
            None,
            |o| rows_body(version, &md, &self.scan_row, n, o),
        )
    }
}

fn offset(state: Option<&[u8]>) -> u64 {
    match state {
        Some(s) if s.len() == 8 => {
            let mut b = [0; 8];
            b.copy_from_slice(s);
            u64::from_be_bytes(b)
        }
        _ => 0,
    }
}

/// Lower case, single spaces: statement texts compare equal across drivers.
fn normalize(q: &str) -> String {
    q.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringbolt::protocol::request::QueryParameters;

    fn canned() -> Canned {
        Canned::new("127.0.0.1:9042".parse().unwrap(), 12_345).unwrap()
    }

    fn decode(out: &BytesMut) -> (Opcode, Response) {
        let mut buf = out.clone();
        let f = ringbolt::protocol::frame::FrameDecoder::default()
            .decode(&mut buf)
            .unwrap()
            .unwrap();
        assert!(buf.is_empty());
        let r = Response::decode(f.header.opcode, f.header.version, &f.body).unwrap();
        (f.header.opcode, r)
    }

    fn prepare(c: &Canned, v: ProtocolVersion, q: &str) -> Prepared {
        let mut req = BytesMut::new();
        Prepare::new(q).encode(v, &mut req).unwrap();
        let mut out = BytesMut::new();
        c.handle(v, 3, Opcode::Prepare, &req, &mut out).unwrap();
        match decode(&out).1 {
            Response::Result(ResultBody::Prepared(p)) => *p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn prepared_insert_has_three_bigints_and_pk_index_zero() {
        for v in [ProtocolVersion::V4, ProtocolVersion::V5] {
            let p = prepare(
                &canned(),
                v,
                "insert into bench.kv (k, a, b)  VALUES (?, ?, ?)",
            );
            assert_eq!(p.metadata.columns.len(), 3);
            assert!(p
                .metadata
                .columns
                .iter()
                .all(|c| c.typ == ColumnType::Bigint));
            assert_eq!(p.metadata.pk_indexes, vec![0]);
            assert_eq!(p.result_metadata_id.is_some(), v.is_v5());
        }
    }

    #[test]
    fn scan_pages_until_the_last_row() {
        let c = canned();
        for v in [ProtocolVersion::V4, ProtocolVersion::V5] {
            let p = prepare(&c, v, SCAN);
            let mut state: Option<Vec<u8>> = None;
            let mut total = 0;
            loop {
                let params = QueryParameters {
                    page_size: Some(5000),
                    paging_state: state.clone().map(Into::into),
                    ..Default::default()
                };
                let mut req = BytesMut::new();
                Execute::new(
                    &p.id[..],
                    p.result_metadata_id.as_deref().map(Into::into),
                    params,
                )
                .encode(v, &mut req)
                .unwrap();
                let mut out = BytesMut::new();
                c.handle(v, 9, Opcode::Execute, &req, &mut out).unwrap();
                let Response::Result(ResultBody::Rows(rows)) = decode(&out).1 else {
                    panic!()
                };
                total += rows.rows_count;
                match rows.metadata.paging_state {
                    Some(s) => state = Some(s.to_vec()),
                    None => break,
                }
            }
            assert_eq!(total, 12_345);
        }
    }

    #[test]
    fn v5_startup_switches_to_segments() {
        let c = canned();
        let mut out = BytesMut::new();
        assert!(c
            .handle(ProtocolVersion::V5, 0, Opcode::Startup, &[0, 0], &mut out)
            .unwrap());
        assert!(!c
            .handle(ProtocolVersion::V4, 0, Opcode::Startup, &[0, 0], &mut out)
            .unwrap());
    }
}
