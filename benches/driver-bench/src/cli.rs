//! Command-line flags (hand-parsed: no extra dependency to compile). `driver-bench
//! --help` prints the usage below. Validation of values happens here; running is main.rs's.

use std::path::PathBuf;
use std::time::Duration;

use crate::drivers::Kind;
use crate::measure::Budget;
use crate::workload::Workload;

/// Usage text.
pub const USAGE: &str = "\
driver-bench [run] [flags]            measure drivers side by side
driver-bench fake-node --port N [--scan-rows N]   (internal) serve canned CQL

  --target real|fake           fake: a child-process fake node (default); real: --contact
  --contact HOST:PORT          real cluster contact point (default 127.0.0.1:9042)
  --workload LIST|all          insert,select,scan,batch (default all)
  --concurrency LIST           default 1,64,512
  --blocks N                   measured blocks per driver, interleaved (default 5)
  --ops-per-block N            default: insert/select 20000, batch 2000, scan max(4,concurrency)
  --duration-per-block SECS    instead of --ops-per-block
  --drivers LIST               ringbolt-v4,ringbolt-v5,scylla,cdrs,floor (default: all that
                               apply; cdrs needs a build with --features cdrs)
  --self-check                 the first driver against a second instance of itself
  --client-threads N           client tokio worker threads (default 2)
  --scan-rows N                rows in the scan partition (default 100000)
  --page-size N                scan page size (default 5000)
  --no-warmup                  skip the unrecorded warm-up block per driver and cell
  --out FILE                   also write the markdown report to FILE
";

/// Where the drivers connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The local Cassandra cluster.
    Real,
    /// The fake node child process.
    Fake,
}

/// Parsed flags of a run.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Target.
    pub target: Target,
    /// Real-cluster contact point.
    pub contact: String,
    /// Workloads in order.
    pub workloads: Vec<Workload>,
    /// Concurrency levels in order.
    pub concurrency: Vec<usize>,
    /// Blocks per driver per cell.
    pub blocks: usize,
    /// Explicit budget per block, else the workload default.
    pub budget: Option<Budget>,
    /// Drivers in order; empty means the default set.
    pub drivers: Vec<Kind>,
    /// Self-check mode.
    pub self_check: bool,
    /// Client runtime worker threads.
    pub client_threads: usize,
    /// Scan partition size.
    pub scan_rows: u64,
    /// Scan page size.
    pub page_size: i32,
    /// Warm-up blocks on.
    pub warmup: bool,
    /// Report file.
    pub out: Option<PathBuf>,
}

fn list<T>(v: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| f(s.trim()))
        .collect()
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag}: not a number: {v:?}"))
}

/// Parses the flags of a run (without the program name).
pub fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        target: Target::Fake,
        contact: "127.0.0.1:9042".into(),
        workloads: Workload::ALL.to_vec(),
        concurrency: vec![1, 64, 512],
        blocks: 5,
        budget: None,
        drivers: Vec::new(),
        self_check: false,
        client_threads: 2,
        scan_rows: 100_000,
        page_size: 5000,
        warmup: true,
        out: None,
    };
    let mut it = args.iter().map(String::as_str);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag {
            "run" => {}
            "--target" => {
                o.target = match val()? {
                    "real" => Target::Real,
                    "fake" => Target::Fake,
                    v => return Err(format!("--target: real or fake, not {v:?}")),
                }
            }
            "--contact" => o.contact = val()?.to_owned(),
            "--workload" | "--workloads" => {
                let v = val()?;
                o.workloads = if v == "all" {
                    Workload::ALL.to_vec()
                } else {
                    list(v, |s| s.parse())?
                };
            }
            "--concurrency" => o.concurrency = list(val()?, |s| num(flag, s))?,
            "--blocks" => o.blocks = num(flag, val()?)?,
            "--ops-per-block" => o.budget = Some(Budget::Ops(num(flag, val()?)?)),
            "--duration-per-block" => {
                o.budget = Some(Budget::Time(Duration::from_secs_f64(num(flag, val()?)?)))
            }
            "--drivers" => o.drivers = list(val()?, Kind::parse)?,
            "--self-check" => o.self_check = true,
            "--client-threads" => o.client_threads = num(flag, val()?)?,
            "--scan-rows" => o.scan_rows = num(flag, val()?)?,
            "--page-size" => o.page_size = num(flag, val()?)?,
            "--no-warmup" => o.warmup = false,
            "--out" => o.out = Some(val()?.into()),
            other => return Err(format!("unknown flag {other:?}\n\n{USAGE}")),
        }
    }
    if o.blocks == 0 || o.concurrency.contains(&0) || o.client_threads == 0 || o.page_size <= 0 {
        return Err("--blocks, --concurrency, --client-threads and --page-size must be > 0".into());
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_parse() {
        let o = parse(&args("--target real --workload insert,scan --concurrency 1,8 --blocks 3 --drivers scylla,floor --duration-per-block 0.5 --self-check")).unwrap();
        assert_eq!(o.target, Target::Real);
        assert_eq!(o.workloads, vec![Workload::Insert, Workload::Scan]);
        assert_eq!(o.concurrency, vec![1, 8]);
        assert_eq!(o.drivers, vec![Kind::Scylla, Kind::Floor]);
        assert!(matches!(o.budget, Some(Budget::Time(d)) if d == Duration::from_millis(500)));
        assert!(o.self_check);
        assert!(parse(&args("--blocks 0")).is_err());
        assert!(parse(&args("--drivers nope")).is_err());
        assert!(parse(&args("--concurrency")).is_err());
    }

    #[test]
    fn cdrs_needs_its_feature() {
        for name in ["cdrs", "cdrs-tokio"] {
            let r = parse(&args(&format!("--drivers scylla,{name}")));
            if cfg!(feature = "cdrs") {
                assert_eq!(r.unwrap().drivers, vec![Kind::Scylla, Kind::Cdrs]);
            } else {
                assert!(r.unwrap_err().contains("--features cdrs"));
            }
        }
    }
}
