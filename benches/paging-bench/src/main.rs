//! Paged scan benchmark: the same 100,000-row table (about 100 bytes a row) read
//! with page size 5,000 by ringbolt's `Session::stream(..).rows()` and by the scylla
//! crate's `execute_iter(..).rows_stream()`, alternating runs in one process, both
//! decoding rows to `(i32, i32, String)`. Prints rows per second (median) and the
//! ratio. Loads the table once (keyspace `ringbolt_paging_bench`) and reuses it.
//!
//! Run: `cargo run --release` (nodes: `--nodes 127.0.0.1:9042,...`, rounds: `--rounds N`,
//! ringbolt's prefetch: `--prefetch N`, default 1; `--v5`: ringbolt on protocol v5,
//! default v4 like scylla).

use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};

const KS: &str = "ringbolt_paging_bench";
const PARTITIONS: i32 = 100;
const ROWS_PER_PARTITION: i32 = 1_000;
const TOTAL: u64 = PARTITIONS as u64 * ROWS_PER_PARTITION as u64;
const PAGE_SIZE: i32 = 5_000;
const PER_BATCH: i32 = 40;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn payload(pk: i32, ck: i32) -> String {
    let mut s = format!("{pk:04}-{ck:04}-");
    while s.len() < 92 {
        s.push_str("0123456789abcdef");
    }
    s.truncate(92);
    s
}

async fn ensure_table(s: &ringbolt::Session) -> Res<()> {
    let marker = format!("SELECT rows FROM {KS}.meta WHERE k = 'loaded'");
    if let Ok(r) = s.query(marker.as_str(), ()).await {
        if r.maybe_first_row::<(i64,)>()? == Some((TOTAL as i64,)) {
            return Ok(());
        }
    }
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
    let mut batch = ringbolt::Batch::new(ringbolt::BatchKind::Unlogged).with_idempotent(true);
    for _ in 0..PER_BATCH {
        batch = batch.with_prepared(&insert);
    }
    let batch = &batch;
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
            s.batch(batch, &values).await.map(drop)
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await?;
    s.query(
        format!("INSERT INTO {KS}.meta (k, rows) VALUES ('loaded', ?)"),
        (TOTAL as i64,),
    )
    .await?;
    Ok(())
}

async fn scan_ringbolt(
    s: &ringbolt::Session,
    select: &ringbolt::PreparedStatement,
    prefetch: usize,
) -> Res<(u64, Duration)> {
    let t0 = Instant::now();
    let config = ringbolt::StreamConfig::default()
        .page_size(PAGE_SIZE)
        .prefetch(prefetch);
    let mut rows = s
        .stream(select, (), config)
        .await?
        .rows::<(i32, i32, String)>();
    let mut n = 0u64;
    while let Some((_pk, _ck, p)) = rows.try_next().await? {
        n += u64::from(!p.is_empty());
    }
    Ok((n, t0.elapsed()))
}

async fn scan_scylla(
    s: &scylla::client::session::Session,
    select: &scylla::statement::prepared::PreparedStatement,
) -> Res<(u64, Duration)> {
    let t0 = Instant::now();
    let mut rows = s
        .execute_iter(select.clone(), ())
        .await?
        .rows_stream::<(i32, i32, String)>()?;
    let mut n = 0u64;
    while let Some((_pk, _ck, p)) = rows.try_next().await? {
        n += u64::from(!p.is_empty());
    }
    Ok((n, t0.elapsed()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    // the integration tests' fault lock, shared: no fault test runs during the bench
    let fault_lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("ringbolt-it-faults.lock"))?;
    fault_lock.lock_shared()?;
    let nodes = arg("--nodes").unwrap_or_else(|| "127.0.0.1:9042".into());
    let rounds: usize = arg("--rounds").and_then(|r| r.parse().ok()).unwrap_or(7);
    let prefetch: usize = arg("--prefetch")
        .and_then(|r| r.parse().ok())
        .unwrap_or(ringbolt::defaults::PREFETCH_PAGES);
    // scylla speaks v4; `--v5` lets ringbolt negotiate v5 (segment framing)
    let version = if args.iter().any(|a| a == "--v5") {
        ringbolt::ProtocolVersionChoice::Auto
    } else {
        ringbolt::ProtocolVersionChoice::V4
    };
    let rb = ringbolt::Session::builder()
        .contact_points(nodes.split(','))
        .protocol_version(version)
        .build()
        .await?;
    ensure_table(&rb).await?;
    let sc = scylla::client::session_builder::SessionBuilder::new()
        .known_nodes(nodes.split(','))
        .build()
        .await?;
    let text = format!("SELECT pk, ck, payload FROM {KS}.rows");
    let rb_select = rb.prepare(text.as_str()).await?;
    let mut sc_select = sc.prepare(text.as_str()).await?;
    sc_select.set_page_size(PAGE_SIZE);
    // warm-up (prepared on every node, caches hot), then alternate
    scan_ringbolt(&rb, &rb_select, prefetch).await?;
    scan_scylla(&sc, &sc_select).await?;
    let (mut r_rates, mut s_rates) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (rn, rt) = scan_ringbolt(&rb, &rb_select, prefetch).await?;
        let (sn, st) = scan_scylla(&sc, &sc_select).await?;
        assert_eq!((rn, sn), (TOTAL, TOTAL), "both scans see every row");
        let (r, s) = (rn as f64 / rt.as_secs_f64(), sn as f64 / st.as_secs_f64());
        println!("round {round}: ringbolt {r:>10.0} rows/s   scylla {s:>10.0} rows/s");
        r_rates.push(r);
        s_rates.push(s);
    }
    let (r, s) = (median(r_rates), median(s_rates));
    println!(
        "paged scan, {TOTAL} rows, page size {PAGE_SIZE}, median of {rounds}: ringbolt (prefetch {prefetch}, {version:?}) {r:.0} rows/s, scylla {s:.0} rows/s, ratio ringbolt/scylla {:.2}",
        r / s
    );
    rb.close().await;
    Ok(())
}
