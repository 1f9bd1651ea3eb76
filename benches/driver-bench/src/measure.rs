//! One measured block: `concurrency` tasks run operations until the block's budget
//! (ops or time) is spent, while the meter snapshots client CPU (getrusage), the
//! allocation counters and the fake node's CPU around the block. Per-op latencies go
//! into per-task histograms allocated before the block starts.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;

use crate::drivers::{BenchError, Client};
use crate::sys;
use crate::workload::Workload;

/// How long a block runs.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// Exactly this many operations.
    Ops(u64),
    /// Operations start until this much time has passed.
    Time(Duration),
}

/// The figures of one block.
#[derive(Debug, Clone)]
pub struct BlockResult {
    /// Operations completed.
    pub ops: u64,
    /// Rows read (a sanity check that reads really read).
    pub rows: u64,
    /// Operations that failed (not counted in `ops`; the first error is printed).
    pub errors: u64,
    /// Wall time of the block.
    pub wall: Duration,
    /// Client CPU (user + system) during the block.
    pub cpu: Duration,
    /// Allocations during the block.
    pub allocs: u64,
    /// Bytes allocated during the block.
    pub bytes: u64,
    /// The fake node's CPU during the block, when it runs.
    pub server_cpu: Option<Duration>,
    /// Per-operation latency, nanoseconds.
    pub latency: Histogram<u64>,
}

impl BlockResult {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64().max(1e-9)
    }
    /// Client CPU microseconds per operation.
    pub fn cpu_us_per_op(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }
    /// Server CPU microseconds per operation.
    pub fn server_us_per_op(&self) -> Option<f64> {
        self.server_cpu
            .map(|c| c.as_secs_f64() * 1e6 / self.ops.max(1) as f64)
    }
    /// Allocations per operation.
    pub fn allocs_per_op(&self) -> f64 {
        self.allocs as f64 / self.ops.max(1) as f64
    }
    /// Bytes allocated per operation.
    pub fn bytes_per_op(&self) -> f64 {
        self.bytes as f64 / self.ops.max(1) as f64
    }
    /// Latency quantile in microseconds.
    pub fn latency_us(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1e3
    }
}

/// A new latency histogram (1 ns .. 1 h, 3 significant digits).
pub fn histogram() -> Result<Histogram<u64>, BenchError> {
    Ok(Histogram::new_with_bounds(1, 3_600_000_000_000, 3)?)
}

/// Snapshots taken when a block starts.
pub struct Meter {
    start: Instant,
    cpu: Duration,
    alloc: sys::AllocSnapshot,
    server_pid: Option<u32>,
    server_cpu: Option<Duration>,
}

impl Meter {
    /// Starts measuring now.
    pub fn start(server_pid: Option<u32>) -> Self {
        let server_cpu = server_pid.and_then(sys::child_cpu);
        let alloc = sys::alloc_snapshot();
        let cpu = sys::process_cpu();
        Self {
            start: Instant::now(),
            cpu,
            alloc,
            server_pid,
            server_cpu,
        }
    }

    /// Ends the block; `latency` is built after the final snapshots, so its own
    /// allocations are not counted.
    pub fn finish(
        self,
        ops: u64,
        rows: u64,
        latency: impl FnOnce() -> Result<Histogram<u64>, BenchError>,
    ) -> Result<BlockResult, BenchError> {
        let wall = self.start.elapsed();
        let cpu = sys::process_cpu().saturating_sub(self.cpu);
        let alloc = sys::alloc_snapshot();
        let server_cpu = match (self.server_pid.and_then(sys::child_cpu), self.server_cpu) {
            (Some(end), Some(start)) => Some(end.saturating_sub(start)),
            _ => None,
        };
        Ok(BlockResult {
            ops,
            rows,
            errors: 0,
            wall,
            cpu,
            allocs: alloc.allocs - self.alloc.allocs,
            bytes: alloc.bytes - self.alloc.bytes,
            server_cpu,
            latency: latency()?,
        })
    }
}

/// What one task of a block did.
struct Done {
    hist: Histogram<u64>,
    ops: u64,
    rows: u64,
    errors: u64,
    first_error: Option<BenchError>,
}

/// Runs one block of `w` on `client` with `concurrency` tasks. Failed operations are
/// counted and skipped; the block fails only when nothing succeeded.
pub async fn run_block<C: Client>(
    client: &Arc<C>,
    w: Workload,
    concurrency: usize,
    budget: Budget,
    server_pid: Option<u32>,
) -> Result<BlockResult, BenchError> {
    let next = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let deadline = Arc::new(OnceLock::<Instant>::new());
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, next, ready, gate, deadline) = (
            client.clone(),
            next.clone(),
            ready.clone(),
            gate.clone(),
            deadline.clone(),
        );
        let mut hist = histogram()?;
        tasks.push(tokio::spawn(async move {
            ready.fetch_add(1, Relaxed);
            gate.acquire().await?.forget();
            let deadline = deadline.get().copied();
            let (mut ops, mut rows, mut errors) = (0u64, 0u64, 0u64);
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Relaxed);
                if let Budget::Ops(max) = budget {
                    if i >= max {
                        break;
                    }
                }
                let t0 = Instant::now();
                let r = client.op(w, i).await;
                let t1 = Instant::now();
                match r {
                    Ok(n) => {
                        rows += n;
                        hist.saturating_record((t1 - t0).as_nanos() as u64);
                        ops += 1;
                    }
                    // A shared cluster has hiccups: count them, go on, show them.
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
                if deadline.is_some_and(|d| t1 >= d) {
                    break;
                }
            }
            Ok::<_, BenchError>(Done {
                hist,
                ops,
                rows,
                errors,
                first_error,
            })
        }));
    }
    while ready.load(Relaxed) < concurrency {
        tokio::task::yield_now().await;
    }
    let meter = Meter::start(server_pid);
    if let Budget::Time(d) = budget {
        let _ = deadline.set(Instant::now() + d);
    }
    gate.add_permits(concurrency);
    let mut results = Vec::with_capacity(concurrency);
    for t in tasks {
        results.push(t.await??);
    }
    let (ops, rows, errors) = results.iter().fold((0, 0, 0), |(o, r, e), d| {
        (o + d.ops, r + d.rows, e + d.errors)
    });
    let mut block = meter.finish(ops, rows, || {
        let mut latency = histogram()?;
        for d in &results {
            latency.add(&d.hist)?;
        }
        Ok(latency)
    })?;
    block.errors = errors;
    if let Some(e) = results.iter_mut().find_map(|d| d.first_error.take()) {
        if ops == 0 {
            return Err(e);
        }
        eprintln!(
            "  {errors} of {} operations failed; first error: {e}",
            ops + errors
        );
    }
    Ok(block)
}
