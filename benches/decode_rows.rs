//! Micro-benchmark: decode a RESULT Rows body of 5,000 rows x 5 columns (bigint, text,
//! double, timestamp, blob) — the frame body as it arrives — into typed rows, and
//! report MB/s of body bytes. Two figures: metadata + row walk (zero-copy `&str` and
//! `&[u8]`), owned rows (`String`, `Vec<u8>`), and the response decode alone (metadata
//! plus the bounds walk over every cell). Run: `cargo bench --bench decode_rows`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ringbolt::protocol::response::{ColumnSpec, Response, ResultBody, Rows, RowsMetadata};
use ringbolt::protocol::types::ColumnType;
use ringbolt::protocol::wire;
use ringbolt::protocol::{Opcode, ProtocolVersion};
use ringbolt::{CqlTimestamp, RowSet};

const ROWS: usize = 5_000;

fn body() -> Bytes {
    let col = |n: &str, t| ColumnSpec {
        keyspace: "bench".into(),
        table: "t".into(),
        name: n.into(),
        typ: t,
    };
    let meta = RowsMetadata::new(vec![
        col("id", ColumnType::Bigint),
        col("name", ColumnType::Varchar),
        col("score", ColumnType::Double),
        col("at", ColumnType::Timestamp),
        col("payload", ColumnType::Blob),
    ]);
    let mut content = BytesMut::new();
    for i in 0..ROWS as i64 {
        wire::write_bytes(&mut content, Some(&i.to_be_bytes())).unwrap();
        let name = format!("user-{i:08}-name");
        wire::write_bytes(&mut content, Some(name.as_bytes())).unwrap();
        wire::write_bytes(&mut content, Some(&(i as f64 * 0.5).to_be_bytes())).unwrap();
        wire::write_bytes(&mut content, Some(&(1_700_000_000_000 + i).to_be_bytes())).unwrap();
        wire::write_bytes(&mut content, Some(&[(i % 251) as u8; 48])).unwrap();
    }
    let rows = Rows {
        metadata: meta,
        rows_count: ROWS,
        rows_content: content.freeze(),
    };
    let mut out = BytesMut::new();
    Response::Result(ResultBody::Rows(rows))
        .encode_body(ProtocolVersion::V5, &mut out)
        .unwrap();
    out.freeze()
}

fn rows_of(body: &Bytes) -> Rows {
    match Response::decode(Opcode::Result, ProtocolVersion::V5, body) {
        Ok(Response::Result(ResultBody::Rows(rows))) => rows,
        other => panic!("not rows: {other:?}"),
    }
}

fn row_set(body: &Bytes) -> RowSet {
    let rows = rows_of(body);
    RowSet::new(
        rows.metadata.columns.into(),
        rows.rows_count,
        rows.rows_content,
    )
}

fn decode_borrowed(body: &Bytes) -> u64 {
    let set = row_set(body);
    let mut acc = 0u64;
    for row in set.rows::<(i64, &str, f64, CqlTimestamp, &[u8])>().unwrap() {
        let (id, name, score, at, payload) = row.unwrap();
        acc = acc
            .wrapping_add(id as u64)
            .wrapping_add(name.len() as u64)
            .wrapping_add(score as u64)
            .wrapping_add(at.0 as u64)
            .wrapping_add(payload.len() as u64);
    }
    acc
}

fn decode_owned(body: &Bytes) -> u64 {
    let set = row_set(body);
    let rows: Vec<(i64, String, f64, CqlTimestamp, Vec<u8>)> =
        set.rows().unwrap().collect::<Result<_, _>>().unwrap();
    rows.len() as u64
}

fn measure(name: &str, body: &Bytes, f: fn(&Bytes) -> u64) {
    // warm up, then take the best of several ~1 s runs
    for _ in 0..20 {
        black_box(f(black_box(body)));
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut n = 0u32;
        while t.elapsed() < Duration::from_millis(800) {
            black_box(f(black_box(body)));
            n += 1;
        }
        best = best.min(t.elapsed().as_secs_f64() / f64::from(n));
    }
    let mbs = body.len() as f64 / best / 1e6;
    println!(
        "{name:<42} {:>8.1} µs/result  {:>8.1} MB/s  {:>6.1} M rows/s",
        best * 1e6,
        mbs,
        ROWS as f64 / best / 1e6
    );
}

fn main() {
    let body = body();
    println!(
        "RESULT Rows body: {} rows x 5 columns (bigint, text, double, timestamp, blob), {} bytes",
        ROWS,
        body.len()
    );
    measure(
        "decode + typed rows, borrowed (&str, &[u8])",
        &body,
        decode_borrowed,
    );
    measure(
        "decode + typed rows, owned (String, Vec<u8>)",
        &body,
        decode_owned,
    );
    measure(
        "response decode only (metadata + row walk)",
        &body,
        decode_only,
    );
}

fn decode_only(body: &Bytes) -> u64 {
    rows_of(body).rows_count as u64
}
