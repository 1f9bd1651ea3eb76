//! The `scylla` crate (latest 1.x) driving the four workloads: one session, one
//! connection per host (its default against Cassandra), consistency ONE, token-aware
//! default policy, statements prepared once. Protocol v4 (the only one it speaks).

use std::sync::Arc;

use futures::TryStreamExt;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;

use super::{BenchError, Client};
use crate::workload::{self, Workload, BATCH_SIZE, SCAN_PARTITION};

/// A connected scylla session with the bench statements prepared.
pub struct ScyllaClient {
    session: Session,
    insert: PreparedStatement,
    select: PreparedStatement,
    scan: PreparedStatement,
    batch: Batch,
}

impl ScyllaClient {
    /// Connects through `contact` ("host:port") and prepares the statements.
    pub async fn connect(contact: &str, page_size: i32) -> Result<Arc<Self>, BenchError> {
        let session = connect_session(contact).await?;
        let insert = session.prepare(workload::INSERT_KV).await?;
        let select = session.prepare(workload::SELECT_KV).await?;
        let mut scan = session.prepare(workload::SCAN).await?;
        scan.set_page_size(page_size);
        let mut batch = Batch::new(BatchType::Unlogged);
        for _ in 0..BATCH_SIZE {
            batch.append_statement(insert.clone());
        }
        Ok(Arc::new(Self {
            session,
            insert,
            select,
            scan,
            batch,
        }))
    }
}

/// A plain session with consistency ONE (also used to set up the real cluster).
pub async fn connect_session(contact: &str) -> Result<Session, BenchError> {
    let profile = ExecutionProfile::builder()
        .consistency(Consistency::One)
        .build()
        .into_handle();
    Ok(SessionBuilder::new()
        .known_node(contact)
        .default_execution_profile_handle(profile)
        .build()
        .await?)
}

impl Client for ScyllaClient {
    async fn op(&self, w: Workload, i: u64) -> Result<u64, BenchError> {
        match w {
            Workload::Insert => {
                let k = workload::key(i);
                self.session
                    .execute_unpaged(&self.insert, (k, k, k))
                    .await?;
                Ok(0)
            }
            Workload::Select => {
                let r = self
                    .session
                    .execute_unpaged(&self.select, (workload::select_key(i),))
                    .await?
                    .into_rows_result()?;
                let (_k, a, _b) = r.single_row::<(i64, i64, i64)>()?;
                std::hint::black_box(a);
                Ok(1)
            }
            Workload::Scan => {
                let mut rows = self
                    .session
                    .execute_iter(self.scan.clone(), (SCAN_PARTITION,))
                    .await?
                    .rows_stream::<(i32, i32, Vec<u8>)>()?;
                let mut n = 0;
                while let Some((_p, c, v)) = rows.try_next().await? {
                    std::hint::black_box((c, v.len()));
                    n += 1;
                }
                Ok(n)
            }
            Workload::Batch => {
                let base = workload::key(i) * BATCH_SIZE as i64;
                let values: [(i64, i64, i64); BATCH_SIZE] =
                    std::array::from_fn(|j| (base + j as i64, base, base));
                self.session.batch(&self.batch, &values[..]).await?;
                Ok(0)
            }
        }
    }
}
