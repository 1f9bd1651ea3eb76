//! Cost of recording one request in the session metrics (`request_started` +
//! `request_finished`) and of a bare histogram `record`, in ns per operation, on one and
//! on two threads, without striping (1 stripe) and with the default 4 stripes.
//! Run: `cargo bench --bench metrics_overhead` (plain `fn main`, no harness).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbolt::bench_support::{Histogram, Recorder};

const PER_THREAD: u64 = 4_000_000;

/// Runs `op` `PER_THREAD` times on each of `threads` threads; returns wall-clock ns per
/// operation as one thread sees it (wall time / operations per thread).
fn run<T: Send + Sync + 'static>(target: Arc<T>, threads: usize, op: fn(&T, Duration)) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let target = Arc::clone(&target);
            std::thread::spawn(move || {
                // Latencies spread over 0.1-10 ms, as real requests would be.
                let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ t as u64;
                for _ in 0..PER_THREAD {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    op(&target, black_box(Duration::from_micros(100 + x % 10_000)));
                }
            })
        })
        .collect();
    for h in handles {
        if let Err(panic) = h.join() {
            std::panic::resume_unwind(panic);
        }
    }
    start.elapsed().as_nanos() as f64 / PER_THREAD as f64
}

/// Best of `n` runs (the machine is shared; the minimum is the least disturbed).
fn best(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..n).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("metrics_overhead: {cores} cores, {PER_THREAD} ops per thread, best of 5");
    for threads in [1, 2] {
        let base = best(5, || {
            run(Arc::new(()), threads, |_, d| {
                black_box(d);
            })
        });
        println!("threads={threads} loop baseline:                 {base:6.1} ns/op");
        for stripes in [1, 4] {
            let h = best(5, || {
                let h = Arc::new(Histogram::new(stripes));
                let ns = run(Arc::clone(&h), threads, |h, d| h.record(d));
                assert_eq!(h.count(), PER_THREAD * threads as u64);
                ns
            });
            let r = best(5, || {
                let r = Arc::new(Recorder::new(stripes));
                let ns = run(Arc::clone(&r), threads, |r, d| r.request(d));
                assert_eq!(r.count(), PER_THREAD * threads as u64);
                ns
            });
            println!(
                "threads={threads} stripes={stripes}: histogram.record {:6.1} ns/op, \
                 request started+finished {:6.1} ns/op (baseline subtracted)",
                h - base,
                r - base
            );
        }
    }
}
