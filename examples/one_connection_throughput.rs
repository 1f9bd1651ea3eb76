//! How many requests ONE connection carries per second against a real Cassandra, for
//! protocol v4 and v5 with LZ4 off and on: a prepared single-row SELECT by key, kept
//! `CONCURRENCY` deep, through the public Session (one pooled connection, one host)
//! and through a raw connection (no session layer). A figure, not a test:
//! `cargo run --release --example one_connection_throughput`.
//! Env: RINGBOLT_BENCH_NODE (127.0.0.1:9042), REQUESTS (50000), CONCURRENCY (1024).
//! Error answers (read timeouts of a loaded node) are counted, not fatal; a wrong row is.

// File locking (1.89) is used here only, as in the test harness; the library keeps its MSRV.
#![allow(clippy::incompatible_msrv)]

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbolt::protocol::request::{
    Execute, Prepare, QueryParameters, Request, SerializedValues, Values,
};
use ringbolt::protocol::response::{Response, ResultBody};
use ringbolt::protocol::ProtocolVersion;
use ringbolt::unstable::{pooled_connections, RawConnection, RawConnectionConfig};
use ringbolt::{Consistency, DefaultPolicy, ProtocolVersionChoice, Session};

const KEYSPACE: &str = "ringbolt_bench_conn";
const ROWS: i64 = 1_000;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn value_of(k: i64) -> String {
    format!("value-{k}")
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let node: SocketAddr = std::env::var("RINGBOLT_BENCH_NODE")
        .unwrap_or_else(|_| "127.0.0.1:9042".into())
        .parse()?;
    let requests = env_num("REQUESTS", 50_000);
    let concurrency = env_num("CONCURRENCY", 1_024).max(1);
    // Held shared like every integration test: no fault test (which takes it
    // exclusively to kill or pause nodes) runs on the shared cluster meanwhile.
    let _no_faults = tokio::task::spawn_blocking(|| {
        let path = std::env::temp_dir().join("ringbolt-it-faults.lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        f.lock_shared()?;
        Ok::<_, std::io::Error>(f)
    })
    .await??;
    setup(node).await?;
    println!(
        "{requests} prepared single-row SELECTs, {concurrency} in flight, one connection to {node}"
    );
    println!(
        "{:<12} {:>14} {:>8} {:>14} {:>8}",
        "config", "session req/s", "errors", "raw req/s", "errors"
    );
    for (version, lz4) in [
        (ProtocolVersion::V4, false),
        (ProtocolVersion::V4, true),
        (ProtocolVersion::V5, false),
        (ProtocolVersion::V5, true),
    ] {
        let session = session_rate(node, version, lz4, requests, concurrency).await?;
        let raw = raw_rate(node, version, lz4, requests, concurrency).await?;
        let name = format!("{version:?} lz4={}", if lz4 { "on" } else { "off" });
        println!(
            "{name:<12} {:>14.0} {:>8} {:>14.0} {:>8}",
            session.per_second, session.server_errors, raw.per_second, raw.server_errors
        );
    }
    Ok(())
}

/// Every request of a session to `node` only (the schema is created and read there
/// too, so a slow schema agreement on a loaded cluster cannot get in the way).
fn only(node: SocketAddr) -> Arc<DefaultPolicy> {
    Arc::new(
        DefaultPolicy::builder()
            .local_dc("datacenter1")
            .host_filter(move |h| h.address() == node)
            .build(),
    )
}

/// Waits (bounded) until `node`'s pool has its connection: `build` returns once SOME
/// pool is connected, and these sessions send only to `node`.
async fn wait_for_pool(s: &Session, node: SocketAddr) -> Result<(), BoxError> {
    let started = Instant::now();
    while !pooled_connections(s).iter().any(|c| c.addr() == node) {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!("the pool of {node} did not connect").into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

async fn setup(node: SocketAddr) -> Result<(), BoxError> {
    let s = Session::builder()
        .contact_points([node.to_string()])
        .local_dc("datacenter1")
        .load_balancing(only(node))
        .request_timeout(Duration::from_secs(60))
        .build()
        .await?;
    wait_for_pool(&s, node).await?;
    s.query(
        format!(
            "CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = \
             {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ),
        (),
    )
    .await?;
    s.query(
        format!("CREATE TABLE IF NOT EXISTS {KEYSPACE}.t (k bigint PRIMARY KEY, v text)"),
        (),
    )
    .await?;
    let insert = s
        .prepare(format!("INSERT INTO {KEYSPACE}.t (k, v) VALUES (?, ?)"))
        .await?;
    for k in 0..ROWS {
        s.execute(&insert, (k, value_of(k))).await?;
    }
    s.close().await;
    Ok(())
}

/// What one request got: its own row, or an error answer from the node (counted,
/// not fatal: a loaded node times out reads). A wrong row is fatal.
enum Answer {
    Row,
    ServerError,
}

/// Rate and error answers of one run.
struct Rate {
    per_second: f64,
    server_errors: usize,
}

/// Runs `requests` calls of `one(i)` with `concurrency` workers.
async fn run<F, Fut>(requests: usize, concurrency: usize, one: F) -> Result<Rate, BoxError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Answer, BoxError>> + Send,
{
    let one = Arc::new(one);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let one = one.clone();
        set.spawn(async move {
            let (mut i, mut errors) = (w, 0);
            while i < requests {
                if let Answer::ServerError = one(i).await? {
                    errors += 1;
                }
                i += concurrency;
            }
            Ok::<usize, BoxError>(errors)
        });
    }
    let mut server_errors = 0;
    while let Some(r) = set.join_next().await {
        server_errors += r??;
    }
    Ok(Rate {
        per_second: requests as f64 / started.elapsed().as_secs_f64(),
        server_errors,
    })
}

async fn session_rate(
    node: SocketAddr,
    version: ProtocolVersion,
    lz4: bool,
    requests: usize,
    concurrency: usize,
) -> Result<Rate, BoxError> {
    let s = Session::builder()
        .contact_points([node.to_string()])
        .local_dc("datacenter1")
        .connections_per_host(1)
        .load_balancing(only(node))
        .protocol_version(match version {
            ProtocolVersion::V4 => ProtocolVersionChoice::V4,
            _ => ProtocolVersionChoice::V5,
        })
        .lz4(lz4)
        .request_timeout(Duration::from_secs(60))
        .build()
        .await?;
    wait_for_pool(&s, node).await?;
    let select = s
        .prepare(format!("SELECT v FROM {KEYSPACE}.t WHERE k = ?"))
        .await?;
    let conns: Vec<_> = pooled_connections(&s)
        .into_iter()
        .filter(|c| c.addr() == node)
        .collect();
    if conns.len() != 1 || conns[0].version() != version {
        return Err(format!("expected one {version:?} connection to {node}").into());
    }
    let one = {
        let s = s.clone();
        move |i: usize| {
            let (s, select) = (s.clone(), select.clone());
            async move {
                let k = (i as i64) % ROWS;
                let result = match s.execute(&select, (k,)).await {
                    Ok(r) => r,
                    Err(ringbolt::Error::Server(_) | ringbolt::Error::Timeout(_)) => {
                        return Ok(Answer::ServerError)
                    }
                    Err(e) => return Err(e.into()),
                };
                let (v,): (String,) = result.first_row()?;
                if v != value_of(k) {
                    return Err(format!("key {k} got {v:?}").into());
                }
                Ok(Answer::Row)
            }
        }
    };
    let _warmup = run(requests / 10, concurrency, one.clone()).await?;
    let rate = run(requests, concurrency, one).await?;
    s.close().await;
    Ok(rate)
}

async fn raw_rate(
    node: SocketAddr,
    version: ProtocolVersion,
    lz4: bool,
    requests: usize,
    concurrency: usize,
) -> Result<Rate, BoxError> {
    let config = RawConnectionConfig {
        version: Some(version),
        lz4,
        ..RawConnectionConfig::default()
    };
    let conn = RawConnection::open(node, &config, false).await?.connection;
    let text = format!("SELECT v FROM {KEYSPACE}.t WHERE k = ?");
    let prepared = match conn.call(&Request::Prepare(Prepare::new(text))).await? {
        Response::Result(ResultBody::Prepared(p)) => p,
        other => return Err(format!("PREPARE answered {other:?}").into()),
    };
    let (id, meta) = (prepared.id, prepared.result_metadata_id);
    let one = {
        let conn = conn.clone();
        move |i: usize| {
            let (conn, id, meta) = (conn.clone(), id.clone(), meta.clone());
            async move {
                let k = (i as i64) % ROWS;
                let mut values = SerializedValues::new();
                values.push_bytes(&k.to_be_bytes())?;
                let mut params = QueryParameters::new(Consistency::One);
                params.values = Some(Values::Positional(Cow::Owned(values)));
                let execute = Execute::new(&id[..], meta.as_deref().map(Cow::Borrowed), params);
                match conn.call(&Request::Execute(execute)).await? {
                    Response::Result(ResultBody::Rows(rows)) if rows.rows_count == 1 => {
                        Ok(Answer::Row)
                    }
                    Response::Error(_) => Ok(Answer::ServerError),
                    other => Err(format!("EXECUTE answered {other:?}").into()),
                }
            }
        }
    };
    let _warmup = run(requests / 10, concurrency, one.clone()).await?;
    let rate = run(requests, concurrency, one).await?;
    conn.close();
    Ok(rate)
}
