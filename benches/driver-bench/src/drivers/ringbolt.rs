//! ringbolt driving the four workloads through its Session API, on protocol v4 or v5:
//! one connection per host (its default), consistency ONE, statements prepared once.
//! The scan is a paging stream (`Session::stream(..).rows()`, default prefetch of one
//! page), the counterpart of scylla's `execute_iter(..).rows_stream()`.
//! Compiled only with the `ringbolt-session` feature (on by default).

use std::sync::Arc;

use futures::TryStreamExt;
use ringbolt::{
    Batch, BatchKind, Consistency, PreparedStatement, ProtocolVersionChoice, Session, StreamConfig,
};

use super::{BenchError, Client};
use crate::workload::{self, Workload, BATCH_SIZE, SCAN_PARTITION};

/// A connected ringbolt session with the bench statements prepared.
pub struct RingboltClient {
    session: Session,
    insert: PreparedStatement,
    select: PreparedStatement,
    scan: PreparedStatement,
    batch: Batch,
}

impl RingboltClient {
    /// Connects through `contact` ("host:port") on v5 (`v5`) or v4 and prepares.
    pub async fn connect(contact: &str, v5: bool, page_size: i32) -> Result<Arc<Self>, BenchError> {
        let version = if v5 {
            ProtocolVersionChoice::V5
        } else {
            ProtocolVersionChoice::V4
        };
        let session = Session::builder()
            .contact_points([contact])
            .protocol_version(version)
            .default_consistency(Consistency::One)
            .page_size(page_size)
            .build()
            .await?;
        let insert = session.prepare(workload::INSERT_KV).await?;
        let select = session.prepare(workload::SELECT_KV).await?;
        let scan = session.prepare(workload::SCAN).await?;
        let mut batch = Batch::new(BatchKind::Unlogged);
        for _ in 0..BATCH_SIZE {
            batch.push_prepared(&insert);
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

impl Client for RingboltClient {
    async fn op(&self, w: Workload, i: u64) -> Result<u64, BenchError> {
        match w {
            Workload::Insert => {
                let k = workload::key(i);
                self.session.execute(&self.insert, (k, k, k)).await?;
                Ok(0)
            }
            Workload::Select => {
                let r = self
                    .session
                    .execute(&self.select, (workload::select_key(i),))
                    .await?;
                let (_k, a, _b) = r.first_row::<(i64, i64, i64)>()?;
                std::hint::black_box(a);
                Ok(1)
            }
            Workload::Scan => {
                // page size: the session's (set from --page-size)
                let mut rows = self
                    .session
                    .stream(&self.scan, (SCAN_PARTITION,), StreamConfig::default())
                    .await?
                    .rows::<(i32, i32, Vec<u8>)>();
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
