//! The drivers under test behind one small trait, and their names on the command line.
//! Each driver file owns its session setup and the four workload operations; the
//! block runner (measure.rs) owns concurrency, timing and counting.

#[cfg(feature = "cdrs")]
pub mod cdrs;
pub mod floor;
#[cfg(feature = "ringbolt-session")]
pub mod ringbolt;
pub mod scylla;

use std::future::Future;

use crate::workload::Workload;

/// Any error of the benchmark.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// A connected driver that runs one operation at a time per call; the runner calls it
/// from `concurrency` tasks at once.
pub trait Client: Send + Sync + 'static {
    /// Runs operation number `i` of workload `w`; returns the rows it read.
    fn op(&self, w: Workload, i: u64) -> impl Future<Output = Result<u64, BenchError>> + Send;
}

/// Which driver (and protocol version) a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ringbolt on protocol v4.
    RingboltV4,
    /// ringbolt on protocol v5.
    RingboltV5,
    /// The `scylla` crate (protocol v4).
    Scylla,
    /// The `cdrs-tokio` crate (protocol v4); needs the `cdrs` feature to connect.
    Cdrs,
    /// Pre-encoded v4 frames over one pipelined socket; fake node only.
    Floor,
}

impl Kind {
    /// Parses a `--drivers` entry.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "ringbolt-v4" => Self::RingboltV4,
            "ringbolt-v5" => Self::RingboltV5,
            "scylla" => Self::Scylla,
            "floor" => Self::Floor,
            "cdrs" | "cdrs-tokio" if cfg!(feature = "cdrs") => Self::Cdrs,
            "cdrs" | "cdrs-tokio" => {
                return Err(
                    "cdrs-tokio is not compiled in: build with `--features cdrs` (see the bench README)"
                        .into(),
                )
            }
            other => return Err(format!("unknown driver {other:?}")),
        })
    }

    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::RingboltV4 => "ringbolt-v4",
            Self::RingboltV5 => "ringbolt-v5",
            Self::Scylla => "scylla",
            Self::Cdrs => "cdrs",
            Self::Floor => "floor",
        }
    }
}
