//! ringbolt's demo, run by `scripts/demo`: connects to the Cassandra on 127.0.0.1:9042
//! (override with RINGBOLT_DEMO_NODE), creates a keyspace and a table, writes and reads
//! rows with prepared statements, runs a batch and a lightweight transaction, shows a
//! typed server error, and prints what it did.

use std::time::{Duration, Instant};

use ringbolt::{Batch, BatchKind, Consistency, Error, FromRow, Session, Statement};

#[derive(Debug, FromRow)]
struct User {
    id: i64,
    name: String,
    visits: Option<i32>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let node = std::env::var("RINGBOLT_DEMO_NODE").unwrap_or_else(|_| "127.0.0.1:9042".into());
    let t0 = Instant::now();
    let session = Session::builder()
        .contact_points([node.as_str()])
        .local_dc("datacenter1")
        .request_timeout(Duration::from_secs(20))
        .build()
        .await?;
    let version = session
        .query("SELECT release_version FROM system.local", ())
        .await?;
    let (release,): (String,) = version.first_row()?;
    println!(
        "connected to Cassandra {release} at {node} in {:?}",
        t0.elapsed()
    );

    session
        .query(
            "CREATE KEYSPACE IF NOT EXISTS ringbolt_demo WITH replication = \
             {'class': 'SimpleStrategy', 'replication_factor': 1}",
            (),
        )
        .await?;
    session
        .query(
            "CREATE TABLE IF NOT EXISTS ringbolt_demo.users \
             (id bigint PRIMARY KEY, name text, visits int)",
            (),
        )
        .await?;
    println!("keyspace ringbolt_demo and table users are ready");

    let insert = session
        .prepare("INSERT INTO ringbolt_demo.users (id, name, visits) VALUES (?, ?, ?)")
        .await?;
    for (id, name) in [(1_i64, "ada"), (2, "grace"), (3, "edsger")] {
        session
            .execute(&insert, (id, name, Some(id as i32 * 10)))
            .await?;
    }
    println!("inserted 3 users with a prepared statement");

    let select = session
        .prepare(Statement::new(
            "SELECT id, name, visits FROM ringbolt_demo.users WHERE id = ?",
        ))
        .await?
        .with_consistency(Consistency::One)
        .with_idempotent(true);
    let user: Option<User> = session
        .execute(&select, (2_i64,))
        .await?
        .maybe_first_row()?;
    println!("read back: {user:?}");

    let batch = Batch::new(BatchKind::Logged)
        .with_prepared(&insert)
        .with_statement("UPDATE ringbolt_demo.users SET visits = ? WHERE id = ?");
    session
        .batch(
            &batch,
            &[
                (4_i64, "barbara", Some(1_i32)).into_row(),
                (99_i32, 1_i64).into_row(),
            ],
        )
        .await?;
    let all = session
        .query("SELECT id, name, visits FROM ringbolt_demo.users", ())
        .await?;
    let mut users: Vec<User> = all.rows_typed::<User>()?.collect::<Result<_, _>>()?;
    users.sort_by_key(|u| u.id);
    println!("after a logged batch, {} users:", users.len());
    for u in &users {
        println!("  {:>2} {:<8} visits={:?}", u.id, u.name, u.visits);
    }

    let lwt = session
        .query(
            "INSERT INTO ringbolt_demo.users (id, name) VALUES (1, 'impostor') IF NOT EXISTS",
            (),
        )
        .await?;
    println!(
        "lightweight transaction on an existing id applied: {}",
        lwt.applied()?
    );

    match session
        .query("SELECT * FROM ringbolt_demo.no_such_table", ())
        .await
    {
        Err(Error::Server(e)) => println!(
            "a bad query fails with a typed server error: code {:#06x}, {:?}: {}",
            e.code, e.kind, e.message
        ),
        other => println!("unexpected outcome for a bad query: {other:?}"),
    }

    print_metrics(&session.metrics());
    session.close().await;
    println!("session closed; total {:?}", t0.elapsed());
    Ok(())
}

/// A short summary of `Session::metrics()`.
fn print_metrics(m: &ringbolt::MetricsSnapshot) {
    let r = &m.requests;
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "metrics: {} requests ({} failed, {} client timeouts, {} server errors, {} retries), \
         latency ms p50 {:.2} p95 {:.2} p99 {:.2} p999 {:.2} max {:.2}",
        r.count,
        m.requests_failed,
        m.client_timeouts,
        m.server_errors.total(),
        m.retries.total(),
        ms(r.quantile(0.5)),
        ms(r.quantile(0.95)),
        ms(r.quantile(0.99)),
        ms(r.quantile(0.999)),
        ms(r.max_micros),
    );
    println!(
        "         {} bytes sent, {} received, {} prepared statements, {} connected nodes",
        m.bytes_sent, m.bytes_received, m.prepared_statements, m.connected_nodes
    );
    for (code, name, n) in m.server_errors.iter().filter(|e| e.2 > 0) {
        println!("         server error {code:#06x} {name}: {n}");
    }
    for h in &m.hosts {
        println!(
            "  {} dc={} rack={} v{} {}: {} conns, {} in flight, {} responses (p99 {:.2} ms), {} errors",
            h.address,
            h.datacenter.as_deref().unwrap_or("?"),
            h.rack.as_deref().unwrap_or("?"),
            h.release_version.as_deref().unwrap_or("?"),
            h.state.as_deref().unwrap_or("?"),
            h.open_connections,
            h.in_flight,
            h.latency.count,
            ms(h.latency.quantile(0.99)),
            h.errors.request_errors(),
        );
    }
}

/// Batches take one value row per statement; rows of different shapes are boxed.
trait IntoRow {
    fn into_row(self) -> Box<dyn ringbolt::SerializeRow + Send + Sync>;
}

impl<T: ringbolt::SerializeRow + Send + Sync + 'static> IntoRow for T {
    fn into_row(self) -> Box<dyn ringbolt::SerializeRow + Send + Sync> {
        Box::new(self)
    }
}
