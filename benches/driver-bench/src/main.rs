//! driver-bench: ringbolt, the scylla crate and a raw-socket floor measured side by
//! side in interleaved blocks (project issue 9), against a real cluster or a fake node
//! that runs as a child process. This file wires flags, targets and drivers together;
//! measuring is measure.rs, figures report.rs, the fake node fake/.

mod cli;
mod drivers;
mod fake;
mod measure;
mod report;
mod setup;
mod sys;
mod workload;

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use cli::{Opts, Target};
use drivers::floor::Floor;
use drivers::scylla::ScyllaClient;
use drivers::{BenchError, Kind};
use measure::{BlockResult, Budget};
use report::Series;
use workload::Workload;

#[global_allocator]
static ALLOC: sys::CountingAlloc = sys::CountingAlloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("fake-node") {
        fake_node_main(&args[1..])
    } else if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{}", cli::USAGE);
        Ok(())
    } else {
        match cli::parse(&args) {
            Ok(opts) => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(opts.client_threads)
                .enable_all()
                .build()
                .map_err(BenchError::from)
                .and_then(|rt| rt.block_on(run(opts, &args))),
            Err(e) => Err(e.into()),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("driver-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fake_node_main(args: &[String]) -> Result<(), BenchError> {
    let (mut port, mut scan_rows) = (0u16, 100_000u64);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => port = v.parse()?,
            "--scan-rows" => scan_rows = v.parse()?,
            other => return Err(format!("fake-node: unknown flag {other:?}").into()),
        }
    }
    // One thread: the node's CPU is its own process's, never the client's.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(fake::serve(port, scan_rows))
}

/// A connected driver instance.
enum Driver {
    Scylla(Arc<ScyllaClient>),
    Floor(Floor),
    #[cfg(feature = "ringbolt-session")]
    Ringbolt(Arc<drivers::ringbolt::RingboltClient>),
    #[cfg(feature = "cdrs")]
    Cdrs(Arc<drivers::cdrs::CdrsClient>),
}

impl Driver {
    async fn connect(kind: Kind, contact: &str, opts: &Opts) -> Result<Self, BenchError> {
        Ok(match kind {
            Kind::Scylla => Self::Scylla(ScyllaClient::connect(contact, opts.page_size).await?),
            Kind::Floor => {
                if opts.target != Target::Fake {
                    return Err("the floor talks to the fake node only (--target fake)".into());
                }
                Self::Floor(Floor::connect(contact.parse()?, opts.scan_rows, opts.page_size).await?)
            }
            #[cfg(feature = "ringbolt-session")]
            Kind::RingboltV4 | Kind::RingboltV5 => {
                let v5 = kind == Kind::RingboltV5;
                Self::Ringbolt(
                    drivers::ringbolt::RingboltClient::connect(contact, v5, opts.page_size).await?,
                )
            }
            #[cfg(not(feature = "ringbolt-session"))]
            Kind::RingboltV4 | Kind::RingboltV5 => {
                return Err("ringbolt needs the `ringbolt-session` feature (Session API)".into())
            }
            #[cfg(feature = "cdrs")]
            Kind::Cdrs => {
                Self::Cdrs(drivers::cdrs::CdrsClient::connect(contact, opts.page_size).await?)
            }
            #[cfg(not(feature = "cdrs"))]
            Kind::Cdrs => {
                return Err("cdrs-tokio needs the `cdrs` feature (--features cdrs)".into())
            }
        })
    }

    async fn block(
        &mut self,
        w: Workload,
        c: usize,
        b: Budget,
        pid: Option<u32>,
    ) -> Result<BlockResult, BenchError> {
        match self {
            Self::Scylla(d) => measure::run_block(d, w, c, b, pid).await,
            Self::Floor(d) => d.run_block(w, c, b, pid).await,
            #[cfg(feature = "ringbolt-session")]
            Self::Ringbolt(d) => measure::run_block(d, w, c, b, pid).await,
            #[cfg(feature = "cdrs")]
            Self::Cdrs(d) => measure::run_block(d, w, c, b, pid).await,
        }
    }
}

fn default_drivers(target: Target) -> Vec<Kind> {
    let mut v = Vec::new();
    if cfg!(feature = "ringbolt-session") {
        v.extend([Kind::RingboltV5, Kind::RingboltV4]);
    }
    v.push(Kind::Scylla);
    if cfg!(feature = "cdrs") {
        v.push(Kind::Cdrs);
    }
    if target == Target::Fake {
        v.push(Kind::Floor);
    }
    v
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu}, {cores} cores, Linux {}", kernel.trim())
}

fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "unknown date".into(), |s| s.trim().to_owned())
}

fn budget_text(b: Budget) -> String {
    match b {
        Budget::Ops(n) => format!("{n} ops"),
        Budget::Time(d) => format!("{:.1} s", d.as_secs_f64()),
    }
}

fn shorter(b: Budget) -> Budget {
    match b {
        Budget::Ops(n) => Budget::Ops((n / 5).max(1)),
        Budget::Time(d) => Budget::Time(d / 5),
    }
}

async fn run(opts: Opts, args: &[String]) -> Result<(), BenchError> {
    let fake = match opts.target {
        Target::Fake => Some(fake::FakeNode::spawn(opts.scan_rows)?),
        Target::Real => None,
    };
    let contact = fake
        .as_ref()
        .map_or_else(|| opts.contact.clone(), |f| f.addr.to_string());
    let pid = fake.as_ref().map(fake::FakeNode::pid);
    if opts.target == Target::Real {
        setup::prepare_real(&contact, opts.scan_rows).await?;
    }
    let mut kinds = if opts.drivers.is_empty() {
        default_drivers(opts.target)
    } else {
        opts.drivers.clone()
    };
    if opts.self_check {
        let first = *kinds.first().ok_or("no driver")?;
        kinds = vec![first, first];
    }
    let mut drivers = Vec::new();
    for (i, &k) in kinds.iter().enumerate() {
        let n = kinds[..i].iter().filter(|&&x| x == k).count();
        let label = if n == 0 {
            k.name().to_owned()
        } else {
            format!("{}#{}", k.name(), n + 1)
        };
        eprintln!("connecting {label} to {contact}");
        drivers.push((label, k, Driver::connect(k, &contact, &opts).await?));
    }

    let mut md = String::new();
    let _ = writeln!(
        md,
        "## driver-bench: {} target\n",
        if fake.is_some() {
            "fake-node"
        } else {
            "real Cassandra"
        }
    );
    let _ = writeln!(md, "- machine: {}", machine());
    let _ = writeln!(md, "- date: {}", now_utc());
    let _ = writeln!(md, "- command: `driver-bench {}`", args.join(" "));
    let _ = writeln!(md, "- target: {contact}; client runtime: tokio multi-thread, {} workers; blocks interleaved {} × per driver", opts.client_threads, opts.blocks);
    let _ = writeln!(
        md,
        "- drivers: {}",
        drivers
            .iter()
            .map(|d| d.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("{md}");

    for &w in &opts.workloads {
        for &c in &opts.concurrency {
            let budget = opts.budget.unwrap_or(Budget::Ops(w.default_ops(c)));
            if opts.warmup {
                for (label, _, d) in drivers.iter_mut() {
                    d.block(w, c, shorter(budget), pid)
                        .await
                        .map_err(|e| format!("{label} {w} c={c} warm-up: {e}"))?;
                }
            }
            let mut series: Vec<Series> = drivers
                .iter()
                .map(|(label, k, _)| Series {
                    label: label.clone(),
                    is_floor: *k == Kind::Floor,
                    blocks: Vec::new(),
                })
                .collect();
            for b in 0..opts.blocks {
                for (i, (label, _, d)) in drivers.iter_mut().enumerate() {
                    let r = d
                        .block(w, c, budget, pid)
                        .await
                        .map_err(|e| format!("{label} {w} c={c} block {b}: {e}"))?;
                    eprintln!(
                        "  {w} c={c} block {b} {label}: {:.0} ops/s, {:.2} µs CPU/op, {:.1} allocs/op, {} rows",
                        r.ops_per_sec(),
                        r.cpu_us_per_op(),
                        r.allocs_per_op(),
                        r.rows
                    );
                    series[i].blocks.push(r);
                }
            }
            let mut cell = String::new();
            let _ = writeln!(
                cell,
                "### {w}, concurrency {c} ({} blocks × {} per driver)\n",
                opts.blocks,
                budget_text(budget)
            );
            cell.push_str(&report::table(&series));
            println!("{cell}");
            md.push_str(&cell);
            md.push('\n');
        }
    }
    if let Some(path) = &opts.out {
        std::fs::write(path, &md)?;
    }
    Ok(())
}
