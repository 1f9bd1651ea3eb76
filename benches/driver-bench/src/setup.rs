//! Schema and data on the real cluster, through the scylla crate (it is the driver that
//! exists today): keyspace `bench` (SimpleStrategy, RF 1), `bench.kv` with the select
//! keys preloaded and `bench.scan` with one partition of `scan_rows` rows. Loads only
//! when the `bench.loaded` marker says the data is missing or of another size.

use futures::{stream, StreamExt, TryStreamExt};

use crate::drivers::scylla::connect_session;
use crate::drivers::BenchError;
use crate::workload::{INSERT_KV, SCAN_PARTITION, SCAN_VALUE_LEN, SELECT_KEYS};

const DDL: [&str; 4] = [
    "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE TABLE IF NOT EXISTS bench.kv (k bigint PRIMARY KEY, a bigint, b bigint)",
    "CREATE TABLE IF NOT EXISTS bench.scan (p int, c int, v blob, PRIMARY KEY (p, c))",
    "CREATE TABLE IF NOT EXISTS bench.loaded (name text PRIMARY KEY, n bigint)",
];

/// Creates the schema and loads the data if needed.
pub async fn prepare_real(contact: &str, scan_rows: u64) -> Result<(), BenchError> {
    let s = connect_session(contact).await?;
    for q in DDL {
        s.query_unpaged(q, ()).await?;
    }
    s.await_schema_agreement().await?;
    let loaded = |name: &'static str| {
        let s = &s;
        async move {
            let r = s
                .query_unpaged("SELECT n FROM bench.loaded WHERE name = ?", (name,))
                .await?
                .into_rows_result()?;
            Ok::<_, BenchError>(r.maybe_first_row::<(i64,)>()?.map(|(n,)| n))
        }
    };
    if loaded("kv").await? != Some(SELECT_KEYS as i64) {
        eprintln!("loading {SELECT_KEYS} rows into bench.kv");
        let ins = s.prepare(INSERT_KV).await?;
        stream::iter(0..SELECT_KEYS as i64)
            .map(|k| {
                let (s, ins) = (&s, &ins);
                async move { s.execute_unpaged(ins, (k, k, k)).await.map(|_| ()) }
            })
            .buffer_unordered(128)
            .try_collect::<()>()
            .await?;
        s.query_unpaged(
            "INSERT INTO bench.loaded (name, n) VALUES ('kv', ?)",
            (SELECT_KEYS as i64,),
        )
        .await?;
    }
    if loaded("scan").await? != Some(scan_rows as i64) {
        eprintln!("loading {scan_rows} rows into bench.scan");
        s.query_unpaged("TRUNCATE bench.scan", ()).await?;
        let ins = s
            .prepare("INSERT INTO bench.scan (p, c, v) VALUES (?, ?, ?)")
            .await?;
        let v = vec![0xAB_u8; SCAN_VALUE_LEN];
        stream::iter(0..scan_rows as i32)
            .map(|c| {
                let (s, ins, v) = (&s, &ins, &v);
                async move {
                    s.execute_unpaged(ins, (SCAN_PARTITION, c, v))
                        .await
                        .map(|_| ())
                }
            })
            .buffer_unordered(128)
            .try_collect::<()>()
            .await?;
        s.query_unpaged(
            "INSERT INTO bench.loaded (name, n) VALUES ('scan', ?)",
            (scan_rows as i64,),
        )
        .await?;
    }
    Ok(())
}
