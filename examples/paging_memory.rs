//! Measures the memory a paging stream holds: streams a 1,000,000-row table (about
//! 100 bytes a row) with page size 5,000 and reports the peak RSS growth over the
//! baseline, per prefetch setting. Loads the table once (keyspace
//! `ringbolt_paging_mem`, reused when its marker says it is complete), then measures
//! in a fresh process so that the load's allocations do not hide the growth.
//!
//! Run: `cargo run --release --example paging_memory [-- --nodes 127.0.0.1:9042]`.
//! Holds the integration tests' fault lock shared, so no fault test runs meanwhile.

// File locking (1.89) keeps fault tests away; the library keeps its MSRV.
#![allow(clippy::incompatible_msrv)]

use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use ringbolt::{Batch, BatchKind, Consistency, Session, Statement, StreamConfig};

const KS: &str = "ringbolt_paging_mem";
const PARTITIONS: i32 = 1_000;
const ROWS_PER_PARTITION: i32 = 1_000;
const TOTAL: i64 = PARTITIONS as i64 * ROWS_PER_PARTITION as i64;
/// 4 (pk) + 4 (ck) + 92 (payload) bytes of values, plus 12 bytes of cell lengths.
const PAYLOAD_LEN: usize = 92;
const PER_BATCH: i32 = 40;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn payload(pk: i32, ck: i32) -> String {
    let mut s = format!("{pk:04}-{ck:04}-");
    while s.len() < PAYLOAD_LEN {
        s.push_str("0123456789abcdef");
    }
    s.truncate(PAYLOAD_LEN);
    s
}

async fn loaded(s: &Session) -> bool {
    let q = format!("SELECT rows FROM {KS}.meta WHERE k = 'loaded'");
    match s.query(q.as_str(), ()).await {
        Ok(r) => r.maybe_first_row::<(i64,)>().ok().flatten() == Some((TOTAL,)),
        Err(_) => false,
    }
}

async fn load(s: &Session) -> Result<(), ringbolt::Error> {
    s.query(format!("CREATE KEYSPACE IF NOT EXISTS {KS} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"), ()).await?;
    s.query(format!("CREATE TABLE IF NOT EXISTS {KS}.rows (pk int, ck int, payload text, PRIMARY KEY (pk, ck))"), ()).await?;
    s.query(
        format!("CREATE TABLE IF NOT EXISTS {KS}.meta (k text PRIMARY KEY, rows bigint)"),
        (),
    )
    .await?;
    let insert = s
        .prepare(format!(
            "INSERT INTO {KS}.rows (pk, ck, payload) VALUES (?, ?, ?)"
        ))
        .await?;
    let mut batch = Batch::new(BatchKind::Unlogged)
        .with_consistency(Consistency::One)
        .with_idempotent(true);
    for _ in 0..PER_BATCH {
        batch = batch.with_prepared(&insert);
    }
    let batch = &batch;
    let t0 = Instant::now();
    let chunks = (0..PARTITIONS).flat_map(|pk| {
        (0..ROWS_PER_PARTITION)
            .step_by(PER_BATCH as usize)
            .map(move |c| (pk, c))
    });
    futures_util::stream::iter(chunks)
        .map(|(pk, from)| async move {
            let values: Vec<(i32, i32, String)> = (from..from + PER_BATCH)
                .map(|ck| (pk, ck, payload(pk, ck)))
                .collect();
            // the shared dev cluster sees fault tests: retry a failed batch (upserts)
            let mut tries = 0;
            loop {
                match s.batch(batch, &values).await {
                    Ok(_) => return Ok(()),
                    Err(e) if tries < 5 => {
                        tries += 1;
                        eprintln!("batch failed ({e}); retrying");
                    }
                    Err(e) => return Err(e),
                }
            }
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await?;
    s.query(
        format!("INSERT INTO {KS}.meta (k, rows) VALUES ('loaded', ?)"),
        (TOTAL,),
    )
    .await?;
    eprintln!("loaded {TOTAL} rows in {:?}", t0.elapsed());
    Ok(())
}

/// Streams the whole table once; returns (rows, payload bytes, peak RSS growth).
async fn scan(s: &Session, prefetch: usize) -> Result<(u64, u64, u64), ringbolt::Error> {
    let select = Statement::new(format!("SELECT pk, ck, payload FROM {KS}.rows"))
        .with_consistency(Consistency::One)
        .with_idempotent(true);
    let base = rss_bytes();
    let mut peak = base;
    let config = StreamConfig::default().page_size(5_000).prefetch(prefetch);
    let mut rows = s
        .stream(select, (), config)
        .await?
        .rows::<(i32, i32, String)>();
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Some((_pk, _ck, p)) = rows.try_next().await? {
        n += 1;
        bytes += 8 + p.len() as u64;
        if n % 500 == 0 {
            peak = peak.max(rss_bytes());
        }
    }
    Ok((n, bytes, peak.max(rss_bytes()) - base))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let nodes = args
        .iter()
        .position(|a| a == "--nodes")
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:9042".into());
    let measure_only = args.iter().any(|a| a == "--measure");
    // the same advisory lock as tests/it/harness.rs: shared = no fault test meanwhile
    let _fault_lock = if measure_only {
        None
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::env::temp_dir().join("ringbolt-it-faults.lock"))?;
        f.lock_shared()?;
        Some(f)
    };
    let s = Session::builder()
        .contact_points(nodes.split(','))
        .request_timeout(std::time::Duration::from_secs(30))
        .build()
        .await?;
    if !measure_only {
        if !loaded(&s).await {
            load(&s).await?;
        }
        s.close().await;
        // each measurement in a fresh process: freed memory of the load (or of an
        // earlier scan) kept by the allocator would mask the growth
        println!("rows: {TOTAL} of ~100 bytes, page size 5000");
        for prefetch in ["1", "0", "4"] {
            let status = std::process::Command::new(std::env::current_exe()?)
                .args(["--measure", "--prefetch", prefetch, "--nodes", &nodes])
                .status()?;
            if !status.success() {
                std::process::exit(status.code().unwrap_or(1));
            }
        }
        return Ok(());
    }
    let prefetch: usize = args
        .iter()
        .position(|a| a == "--prefetch")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(ringbolt::defaults::PREFETCH_PAGES);
    {
        let t0 = Instant::now();
        let (n, bytes, growth) = scan(&s, prefetch).await?;
        println!(
            "prefetch {prefetch}: {n} rows ({:.1} MB of values) in {:.2?}, peak RSS growth {:.1} MB",
            bytes as f64 / 1e6,
            t0.elapsed(),
            growth as f64 / (1024.0 * 1024.0)
        );
        if n as i64 != TOTAL {
            println!(
                "  (expected {TOTAL} rows: the table is incomplete; drop keyspace {KS} to reload)"
            );
        }
    }
    s.close().await;
    Ok(())
}
