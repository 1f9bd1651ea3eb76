//! What observability costs per request: (1) the execution core's exact recording path
//! (metrics, request + attempt spans, stream-id record) in ns per request, without a
//! subscriber and with an enabled do-nothing subscriber; (2) the client's whole CPU per
//! request against a real Cassandra (process user + system time / requests), without
//! and with that subscriber; the ratio (1)/(2) is the share observability takes.
//! Run: `cargo bench --bench observe_overhead` (plain `fn main`). Nodes: env
//! `RINGBOLT_BENCH_NODES` (default 127.0.0.1-3:9042); part (2) is skipped, saying so,
//! when none answers.

#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ringbolt::observe_bench_support::Recording;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const RECORD_OPS: u64 = 2_000_000;
const REQUESTS: u64 = 40_000;
const CONCURRENCY: u64 = 32;

/// A subscriber that enables everything and keeps nothing: the cost of building spans
/// and events and recording fields, without any formatting or I/O of a real one.
struct Enabled(AtomicU64);

impl Subscriber for Enabled {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        black_box(attrs);
        Id::from_u64(self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        black_box(values);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        black_box(event);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn recording_ns() -> f64 {
    let r = Recording::new();
    for _ in 0..10_000 {
        r.request();
    }
    // On-CPU time of this thread: a loaded machine's preemptions do not count.
    let t = Instant::now();
    let cpu0 = thread_cpu_ns();
    for _ in 0..RECORD_OPS {
        r.request();
    }
    let ns = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / RECORD_OPS as f64,
        _ => t.elapsed().as_nanos() as f64 / RECORD_OPS as f64,
    };
    assert!(r.count() >= RECORD_OPS);
    ns
}

/// This thread's on-CPU time in ns (first field of /proc/thread-self/schedstat).
fn thread_cpu_ns() -> Option<u128> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Process CPU time (user + system, all threads) in ns, from /proc/self/stat.
fn process_cpu_ns() -> Option<u128> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u128 = f.get(11)?.parse::<u128>().ok()? + f.get(12)?.parse::<u128>().ok()?;
    Some(ticks * 10_000_000) // USER_HZ = 100 on Linux
}

async fn client_cpu_per_request(session: &ringbolt::Session) -> Option<(f64, f64)> {
    let p = session
        .prepare("SELECT release_version FROM system.local WHERE key = 'local'")
        .await
        .ok()?;
    let run = |n: u64| {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..CONCURRENCY {
            let s = session.clone();
            let p = p.clone();
            set.spawn(async move {
                for _ in 0..n / CONCURRENCY {
                    s.execute(&p, ()).await.expect("bench request");
                }
            });
        }
        async move { while set.join_next().await.is_some() {} }
    };
    run(2_000).await; // warm-up
    let cpu0 = process_cpu_ns()?;
    let t = Instant::now();
    run(REQUESTS).await;
    let wall = t.elapsed();
    let cpu = process_cpu_ns()? - cpu0;
    Some((
        cpu as f64 / REQUESTS as f64,
        REQUESTS as f64 / wall.as_secs_f64(),
    ))
}

fn main() {
    let plain = recording_ns();
    let with_sub = tracing::subscriber::with_default(Enabled(AtomicU64::new(0)), recording_ns);
    println!("recording path per request (metrics + spans + observer check), thread CPU:");
    println!("  no subscriber:                {plain:>8.1} ns");
    println!("  enabled do-nothing subscriber:{with_sub:>8.1} ns");

    let nodes = std::env::var("RINGBOLT_BENCH_NODES")
        .unwrap_or_else(|_| "127.0.0.1:9042,127.0.0.2:9042,127.0.0.3:9042".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let session = match ringbolt::Session::builder()
            .contact_points(nodes.split(','))
            .build()
            .await
        {
            Ok(s) => s,
            Err(e) => {
                println!("client CPU per request: skipped, no node answers ({e})");
                return;
            }
        };
        let Some((cpu, rate)) = client_cpu_per_request(&session).await else {
            println!("client CPU per request: skipped (no /proc/self/stat or a failed prepare)");
            return;
        };
        println!(
            "client CPU per request, {REQUESTS} prepared SELECTs, {CONCURRENCY} concurrent ({rate:.0} req/s):"
        );
        println!("  no subscriber:                {:>8.0} ns", cpu);
        println!(
            "  => observability share without a subscriber: {:.2} % of client CPU",
            100.0 * plain / cpu
        );
        // The same with the subscriber installed for every thread of the runtime.
        let _ = tracing::subscriber::set_global_default(Enabled(AtomicU64::new(0)));
        tracing::callsite::rebuild_interest_cache();
        if let Some((cpu_sub, _)) = client_cpu_per_request(&session).await {
            println!("  enabled do-nothing subscriber:{:>8.0} ns", cpu_sub);
            println!(
                "  => with that subscriber: recording {:.2} % of client CPU; measured delta {:+.0} ns",
                100.0 * with_sub / cpu_sub,
                cpu_sub - cpu
            );
        }
        let m = session.metrics();
        println!(
            "  session metrics: {} requests, p50 {} us, p99 {} us",
            m.requests.count,
            m.requests.quantile(0.5),
            m.requests.quantile(0.99)
        );
        session.close().await;
    });
}
