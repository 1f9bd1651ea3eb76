//! The `cdrs-tokio` crate (9.x) driving the four workloads: one session, protocol v4, no
//! compression, one connection per host (pool size 1 local and remote), consistency ONE,
//! topology-aware (token-aware) load balancing, statements prepared once. Its pager
//! cannot bind values to a prepared statement, so the scan pages by hand.
//! Compiled only with the `cdrs` feature.

use std::sync::Arc;

use cdrs_tokio::cluster::connection_pool::ConnectionPoolConfigBuilder;
use cdrs_tokio::cluster::session::{Session, SessionBuilder, TcpSessionBuilder};
use cdrs_tokio::cluster::{NodeTcpConfigBuilder, TcpConnectionManager};
use cdrs_tokio::consistency::Consistency;
use cdrs_tokio::frame::message_batch::BatchType;
use cdrs_tokio::frame::message_result::RowsMetadataFlags;
use cdrs_tokio::frame::Version;
use cdrs_tokio::load_balancing::TopologyAwareLoadBalancingStrategy;
use cdrs_tokio::query::{BatchQueryBuilder, PreparedQuery, QueryValues};
use cdrs_tokio::statement::StatementParamsBuilder;
use cdrs_tokio::transport::TransportTcp;
use cdrs_tokio::types::blob::Blob;
use cdrs_tokio::types::rows::Row;
use cdrs_tokio::types::value::Value;
use cdrs_tokio::types::IntoRustByIndex;

use super::{BenchError, Client};
use crate::workload::{self, Workload, BATCH_SIZE, SCAN_PARTITION};

type Lb = TopologyAwareLoadBalancingStrategy<TransportTcp, TcpConnectionManager>;
type CdrsSession = Session<TransportTcp, TcpConnectionManager, Lb>;

/// A connected cdrs-tokio session with the bench statements prepared.
pub struct CdrsClient {
    session: CdrsSession,
    insert: PreparedQuery,
    select: PreparedQuery,
    scan: PreparedQuery,
    page_size: i32,
}

impl CdrsClient {
    /// Connects through `contact` ("host:port") and prepares the statements.
    pub async fn connect(contact: &str, page_size: i32) -> Result<Arc<Self>, BenchError> {
        let node = NodeTcpConfigBuilder::new()
            .with_contact_point(contact.into())
            .with_version(Version::V4)
            .build()
            .await?;
        // One connection per node, whatever the node's distance (the default is 1 and 1
        // as well; said here so a change of default cannot change the benchmark).
        let pool = ConnectionPoolConfigBuilder::new()
            .with_local_size(1)
            .with_remote_size(1)
            .build();
        let session = TcpSessionBuilder::new(Lb::new(None, false), node)
            .with_connection_pool_config(pool)
            .with_tcp_nodelay(true)
            .build()
            .await?;
        let insert = session.prepare(workload::INSERT_KV).await?;
        let select = session.prepare(workload::SELECT_KV).await?;
        let scan = session.prepare(workload::SCAN).await?;
        Ok(Arc::new(Self {
            session,
            insert,
            select,
            scan,
            page_size,
        }))
    }

    /// Whether the session's topology metadata holds `keyspace` (token-aware routing
    /// needs it; the fake node answers the `toJson(replication)` query for it).
    #[cfg(test)]
    pub fn knows_keyspace(&self, keyspace: &str) -> bool {
        self.session.cluster_metadata().keyspace(keyspace).is_some()
    }

    async fn execute(
        &self,
        q: &PreparedQuery,
        values: Vec<Value>,
    ) -> Result<cdrs_tokio::frame::message_response::ResponseBody, BenchError> {
        let params = StatementParamsBuilder::new()
            .with_consistency(Consistency::One)
            .with_values(QueryValues::SimpleValues(values))
            .build();
        Ok(self
            .session
            .exec_with_params(q, &params)
            .await?
            .response_body()?)
    }
}

fn bigints<const N: usize>(v: [i64; N]) -> Vec<Value> {
    v.into_iter().map(Value::from).collect()
}

fn scan_row(row: &Row) -> Result<(), BenchError> {
    let _p: i32 = row.get_r_by_index(0)?;
    let c: i32 = row.get_r_by_index(1)?;
    let v: Blob = row.get_r_by_index(2)?;
    std::hint::black_box((c, v.into_vec().len()));
    Ok(())
}

impl Client for CdrsClient {
    async fn op(&self, w: Workload, i: u64) -> Result<u64, BenchError> {
        match w {
            Workload::Insert => {
                let k = workload::key(i);
                self.execute(&self.insert, bigints([k, k, k])).await?;
                Ok(0)
            }
            Workload::Select => {
                let k = workload::select_key(i);
                let rows = self
                    .execute(&self.select, bigints([k]))
                    .await?
                    .into_rows()
                    .ok_or("select: not a Rows result")?;
                let [row] = &rows[..] else {
                    return Err(format!("select: {} rows, not 1", rows.len()).into());
                };
                let _k: i64 = row.get_r_by_index(0)?;
                let a: i64 = row.get_r_by_index(1)?;
                let _b: i64 = row.get_r_by_index(2)?;
                std::hint::black_box(a);
                Ok(1)
            }
            Workload::Scan => {
                let values = QueryValues::SimpleValues(vec![Value::from(SCAN_PARTITION)]);
                let mut state = None;
                let mut n = 0;
                loop {
                    let mut params = StatementParamsBuilder::new()
                        .with_consistency(Consistency::One)
                        .with_values(values.clone())
                        .with_page_size(self.page_size);
                    if let Some(s) = state.take() {
                        params = params.with_paging_state(s);
                    }
                    let body = self
                        .session
                        .exec_with_params(&self.scan, &params.build())
                        .await?
                        .response_body()?;
                    let md = body.as_rows_metadata().ok_or("scan: not a Rows result")?;
                    if md.flags.contains(RowsMetadataFlags::HAS_MORE_PAGES) {
                        state = md.paging_state.clone();
                    }
                    let rows = body.into_rows().ok_or("scan: not a Rows result")?;
                    for row in &rows {
                        scan_row(row)?;
                    }
                    n += rows.len() as u64;
                    if state.is_none() {
                        return Ok(n);
                    }
                }
            }
            Workload::Batch => {
                let base = workload::key(i) * BATCH_SIZE as i64;
                let mut b = BatchQueryBuilder::new()
                    .with_batch_type(BatchType::Unlogged)
                    .with_consistency(Consistency::One);
                for j in 0..BATCH_SIZE as i64 {
                    b = b.add_query_prepared(
                        &self.insert,
                        QueryValues::SimpleValues(bigints([base + j, base, base])),
                    );
                }
                self.session.batch(b.build()?).await?;
                Ok(0)
            }
        }
    }
}
