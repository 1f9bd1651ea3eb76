//! Cost of recording one finished request (`request_started` + `request_finished`) in
//! the session metrics: nanoseconds per record on one thread and on two threads, for a
//! histogram with 1 shard (no striping) and with the default striping.
//! Run: `cargo bench --bench metrics_overhead` (plain `fn main`, no harness).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbolt::bench_support::Recorder;

const PER_THREAD: u64 = 5_000_000;

/// Nanoseconds per record with `threads` threads recording `PER_THREAD` values each.
fn run(shards: usize, threads: usize) -> f64 {
    let r = Arc::new(Recorder::new(shards));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let r = Arc::clone(&r);
            std::thread::spawn(move || {
                // Latencies spread over ~0.1-10 ms, as real requests would be.
                let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ t as u64;
                for _ in 0..PER_THREAD {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    r.request(black_box(Duration::from_micros(100 + x % 10_000)));
                }
            })
        })
        .collect();
    for h in handles {
        if let Err(panic) = h.join() {
            std::panic::resume_unwind(panic);
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(r.count(), PER_THREAD * threads as u64);
    // Per record, as seen by one recording thread (wall time / records per thread).
    elapsed.as_nanos() as f64 / PER_THREAD as f64
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("metrics_overhead: {cores} cores, {PER_THREAD} records per thread");
    for shards in [1, 4] {
        for threads in [1, 2] {
            // Best of 3 to shave off noise from other processes.
            let best = (0..3)
                .map(|_| run(shards, threads))
                .fold(f64::INFINITY, f64::min);
            println!("shards={shards} threads={threads}: {best:.1} ns/request (per thread)");
        }
    }
}
