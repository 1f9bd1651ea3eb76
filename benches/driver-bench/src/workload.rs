//! The four workloads of issue 9 and the CQL they run: statement texts, table layout,
//! row shapes and default block sizes. Shared by every driver, the fake node and the
//! real-cluster setup so all of them agree on the same bytes.

use std::fmt;
use std::str::FromStr;

/// `bench.kv (k bigint PRIMARY KEY, a bigint, b bigint)`.
pub const INSERT_KV: &str = "INSERT INTO bench.kv (k, a, b) VALUES (?, ?, ?)";
/// One row by key.
pub const SELECT_KV: &str = "SELECT k, a, b FROM bench.kv WHERE k = ?";
/// The paged scan: one partition of `bench.scan (p int, c int, v blob, PRIMARY KEY (p, c))`.
pub const SCAN: &str = "SELECT p, c, v FROM bench.scan WHERE p = ?";
/// The partition the scan reads.
pub const SCAN_PARTITION: i32 = 0;
/// Bytes in `v` of a scan row: with p, c and the three [bytes] lengths a row is 108 bytes.
pub const SCAN_VALUE_LEN: usize = 88;
/// Keys preloaded in `bench.kv` on the real cluster; selects read `i % SELECT_KEYS`.
pub const SELECT_KEYS: u64 = 10_000;
/// Statements per batch.
pub const BATCH_SIZE: usize = 16;

/// One kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    /// Prepared INSERT of three bigints.
    Insert,
    /// Prepared SELECT of one row by key.
    Select,
    /// Paged scan of the whole scan partition (one op = the whole scan).
    Scan,
    /// Unlogged batch of 16 prepared inserts (one op = one batch).
    Batch,
}

impl Workload {
    /// All workloads in report order.
    pub const ALL: [Workload; 4] = [Self::Insert, Self::Select, Self::Scan, Self::Batch];

    /// Default operations per block when neither `--ops-per-block` nor
    /// `--duration-per-block` is given.
    pub fn default_ops(self, concurrency: usize) -> u64 {
        match self {
            Self::Insert | Self::Select => 20_000,
            Self::Batch => 2_000,
            // One scan per task: a scan is 100,000 rows.
            Self::Scan => concurrency.max(4) as u64,
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Insert => "insert",
            Self::Select => "select",
            Self::Scan => "scan",
            Self::Batch => "batch",
        })
    }
}

impl FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "insert" => Self::Insert,
            "select" => Self::Select,
            "scan" => Self::Scan,
            "batch" => Self::Batch,
            other => return Err(format!("unknown workload {other:?}")),
        })
    }
}

/// The key an operation writes or reads.
pub fn key(i: u64) -> i64 {
    i as i64
}

/// The key a select reads (always a preloaded one).
pub fn select_key(i: u64) -> i64 {
    (i % SELECT_KEYS) as i64
}
