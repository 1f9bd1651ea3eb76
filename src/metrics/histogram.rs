//! The lock-free latency histogram (log-linear buckets over microseconds, striped across
//! a few cache-line-aligned shards) and its plain snapshot with quantile estimates.
//! Knows nothing of sessions, hosts or export formats.
//!
//! Buckets: values below 32 µs get one bucket each; above, every power of two is split
//! into [`SUB_BUCKETS`] equal sub-buckets. A quantile is reported as the midpoint of its
//! bucket, so the relative error is at most `1 / (2 * SUB_BUCKETS)` = 3.125 %.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::striped::{default_stripes, thread_slot};

/// Linear sub-buckets per power of two (2^4). Bounds the relative error to 1/32.
const SUB_BITS: u32 = 4;
/// Linear sub-buckets per power of two.
pub(crate) const SUB_BUCKETS: u64 = 1 << SUB_BITS;
/// Largest value with its own bucket range: 2^32 µs ≈ 71.6 minutes. Larger values land in
/// the last bucket (the exact maximum is still tracked separately).
const MAX_TRACKED_MICROS: u64 = (1 << 32) - 1;
/// Recorded values saturate here (2^40 µs ≈ 12.7 days), so a stray `Duration::MAX`
/// cannot wrap the sum: 2^24 such values fit in it.
const MAX_RECORDED_MICROS: u64 = 1 << 40;
// The tracked range covers an hour with room to spare.
const _: () = assert!(MAX_TRACKED_MICROS > 3_600_000_000);
/// Number of buckets: index of [`MAX_TRACKED_MICROS`] plus one.
const BUCKETS: usize = bucket_index(MAX_TRACKED_MICROS) + 1;

/// The bucket a value (µs) falls into.
const fn bucket_index(v: u64) -> usize {
    let v = if v > MAX_TRACKED_MICROS {
        MAX_TRACKED_MICROS
    } else {
        v
    };
    if v < 2 * SUB_BUCKETS {
        return v as usize;
    }
    // v >= 32: exponent e >= 1, mantissa m in [16, 32), index = 16 * e + m.
    let msb = 63 - v.leading_zeros();
    let e = msb - SUB_BITS;
    let m = v >> e;
    (SUB_BUCKETS * e as u64 + m) as usize
}

/// The value range `[lower, upper)` (µs) covered by bucket `i`.
const fn bucket_bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < 2 * SUB_BUCKETS {
        return (i, i + 1);
    }
    let e = i / SUB_BUCKETS - 1;
    let m = SUB_BUCKETS + i % SUB_BUCKETS;
    (m << e, (m + 1) << e)
}

/// One stripe: its own buckets, sum and max, aligned so two stripes never share a line.
#[repr(align(128))]
struct Shard {
    buckets: [AtomicU64; BUCKETS],
    sum: AtomicU64,
    max: AtomicU64,
}

impl Shard {
    fn new() -> Self {
        Shard {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }
}

/// A lock-free latency histogram in microseconds. Recording is two relaxed `fetch_add`s
/// and one relaxed load (plus a `fetch_max` only when a new maximum is seen); no lock,
/// no allocation. The count is the sum of the buckets, so it is exact under concurrency.
pub(crate) struct Histogram {
    shards: Box<[Shard]>,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self::with_shards(default_stripes())
    }
}

impl Histogram {
    /// A histogram with `shards` stripes (at least one). Each stripe is ~3.8 KiB.
    pub(crate) fn with_shards(shards: usize) -> Self {
        let shards = (0..shards.max(1)).map(|_| Shard::new()).collect();
        Histogram { shards }
    }

    /// Records one duration, truncated to whole microseconds (saturating at 2^40 µs).
    #[inline]
    pub(crate) fn record(&self, d: Duration) {
        self.record_micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one value in microseconds (saturating at 2^40 µs).
    #[inline]
    pub(crate) fn record_micros(&self, micros: u64) {
        let micros = micros.min(MAX_RECORDED_MICROS);
        let shard = &self.shards[thread_slot() % self.shards.len()];
        shard.buckets[bucket_index(micros)].fetch_add(1, Relaxed);
        shard.sum.fetch_add(micros, Relaxed);
        if micros > shard.max.load(Relaxed) {
            shard.max.fetch_max(micros, Relaxed);
        }
    }

    /// A consistent-enough copy: each counter is read once; values recorded while the
    /// snapshot runs may be partly included (count and buckets always agree).
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut counts = [0u64; BUCKETS];
        let mut sum = 0u64;
        let mut max = 0u64;
        for shard in self.shards.iter() {
            for (acc, b) in counts.iter_mut().zip(shard.buckets.iter()) {
                *acc += b.load(Relaxed);
            }
            sum = sum.wrapping_add(shard.sum.load(Relaxed));
            max = max.max(shard.max.load(Relaxed));
        }
        let buckets = counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(i, &c)| (i as u16, c))
            .collect();
        HistogramSnapshot::from_parts(buckets, sum, max)
    }
}

/// One non-empty bucket of a [`HistogramSnapshot`]: values in `[lower_micros, upper_micros)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Inclusive lower bound, in microseconds.
    pub lower_micros: u64,
    /// Exclusive upper bound, in microseconds.
    pub upper_micros: u64,
    /// Number of recorded values in the bucket.
    pub count: u64,
}

/// A point-in-time copy of a latency histogram. All times are in microseconds; the
/// percentiles are estimates within 3.125 % of the exact order statistic, and never above
/// `max_micros`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// Number of recorded values.
    pub count: u64,
    /// Sum of all recorded values.
    pub sum_micros: u64,
    /// Largest recorded value (exact up to 2^40 µs, where recording saturates); 0 when
    /// empty.
    pub max_micros: u64,
    /// Arithmetic mean (exact, from the sum); 0.0 when empty.
    pub mean_micros: f64,
    /// Median estimate.
    pub p50_micros: u64,
    /// 95th percentile estimate.
    pub p95_micros: u64,
    /// 99th percentile estimate.
    pub p99_micros: u64,
    /// 99.9th percentile estimate.
    pub p999_micros: u64,
    /// Non-empty buckets as (bucket index, count), ascending.
    buckets: Vec<(u16, u64)>,
}

impl HistogramSnapshot {
    fn from_parts(buckets: Vec<(u16, u64)>, sum_micros: u64, max_micros: u64) -> Self {
        let count = buckets.iter().map(|&(_, c)| c).sum::<u64>();
        let mut s = HistogramSnapshot {
            count,
            sum_micros,
            max_micros,
            mean_micros: if count == 0 {
                0.0
            } else {
                sum_micros as f64 / count as f64
            },
            buckets,
            ..Default::default()
        };
        s.p50_micros = s.quantile(0.5);
        s.p95_micros = s.quantile(0.95);
        s.p99_micros = s.quantile(0.99);
        s.p999_micros = s.quantile(0.999);
        s
    }

    /// The estimated `q`-quantile (`q` in `[0, 1]`, clamped): the midpoint of the bucket
    /// holding the value of rank `ceil(q * count)` (at least 1), capped at the maximum.
    /// 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for b in self.buckets() {
            seen += b.count;
            if seen >= rank {
                let mid = b.lower_micros + (b.upper_micros - 1 - b.lower_micros) / 2;
                // The maximum is exact; never report a quantile above it (but stay in
                // the bucket if a concurrent snapshot saw the bucket before the max).
                return mid.min(self.max_micros.max(b.lower_micros));
            }
        }
        self.max_micros
    }

    /// The non-empty buckets, ascending; usable for a Prometheus histogram export or for
    /// merging. Their counts add up to `count`.
    pub fn buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        self.buckets.iter().map(|&(i, count)| {
            let (lower_micros, upper_micros) = bucket_bounds(usize::from(i));
            Bucket {
                lower_micros,
                upper_micros,
                count,
            }
        })
    }

    /// What was recorded between `earlier` and `self` (two snapshots of the same
    /// histogram): counts and sum are differences, quantiles are recomputed over the
    /// interval. The maximum cannot be differenced; it is the largest bucket's upper
    /// bound seen in the interval, capped at `self.max_micros`.
    pub fn since(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        let mut old = earlier.buckets.iter().peekable();
        let mut buckets = Vec::new();
        for &(i, c) in &self.buckets {
            while old.next_if(|&&(j, _)| j < i).is_some() {}
            let before = old.next_if(|&&(j, _)| j == i).map_or(0, |&(_, c)| c);
            let d = c.saturating_sub(before);
            if d > 0 {
                buckets.push((i, d));
            }
        }
        let max = buckets.last().map_or(0, |&(i, _)| {
            (bucket_bounds(usize::from(i)).1 - 1).min(self.max_micros)
        });
        let sum = self.sum_micros.saturating_sub(earlier.sum_micros);
        HistogramSnapshot::from_parts(buckets, sum, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Exact quantile with the same rank rule as `HistogramSnapshot::quantile`.
    fn exact(sorted: &[u64], q: f64) -> u64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    fn check_distribution(values: Vec<u64>) {
        let h = Histogram::with_shards(3);
        for &v in &values {
            h.record_micros(v);
        }
        let mut sorted = values.clone();
        sorted.sort_unstable();
        let s = h.snapshot();
        assert_eq!(s.count, values.len() as u64);
        assert_eq!(s.sum_micros, values.iter().sum::<u64>());
        assert_eq!(s.max_micros, *sorted.last().unwrap());
        for q in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let want = exact(&sorted, q) as f64;
            let got = s.quantile(q) as f64;
            let err = (got - want).abs() / want.max(1.0);
            assert!(err <= 1.0 / 32.0, "q={q}: got {got}, exact {want}");
        }
        assert_eq!(s.p99_micros, s.quantile(0.99));
    }

    /// A small deterministic PRNG (xorshift64*), so the tests need no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn bucket_index_and_bounds_agree_everywhere() {
        let mut prev_upper = 0;
        for i in 0..BUCKETS {
            let (lo, hi) = bucket_bounds(i);
            assert_eq!(lo, prev_upper, "buckets are contiguous at {i}");
            assert!(hi > lo);
            assert_eq!(bucket_index(lo), i);
            assert_eq!(bucket_index(hi - 1), i);
            // Width relative to the lower bound never exceeds 1/16.
            if lo >= 2 * SUB_BUCKETS {
                assert!((hi - lo) * SUB_BUCKETS <= lo);
            }
            prev_upper = hi;
        }
        assert_eq!(prev_upper, MAX_TRACKED_MICROS + 1);
        assert_eq!(bucket_index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn uniform_distribution_quantiles() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        check_distribution((0..100_000).map(|_| 1 + r.next() % 50_000).collect());
    }

    #[test]
    fn log_normal_like_distribution_quantiles() {
        // exp of a sum of uniforms: heavy right tail from ~50 µs to seconds.
        let mut r = Rng(42);
        check_distribution(
            (0..100_000)
                .map(|_| {
                    let z: f64 = (0..6).map(|_| r.unit()).sum::<f64>() - 3.0;
                    (1_000.0 * (1.6 * z).exp()) as u64 + 1
                })
                .collect(),
        );
    }

    #[test]
    fn bimodal_and_exact_small_values() {
        let mut v: Vec<u64> = (0..1000).map(|i| i % 20).collect();
        v.extend((0..1000).map(|i| 2_000_000 + i * 1000));
        check_distribution(v);
        // Values below 32 µs are exact.
        let h = Histogram::with_shards(1);
        for _ in 0..10 {
            h.record_micros(7);
        }
        let s = h.snapshot();
        assert_eq!((s.p50_micros, s.p999_micros, s.max_micros), (7, 7, 7));
    }

    #[test]
    fn empty_and_huge_values() {
        let h = Histogram::default();
        let s = h.snapshot();
        assert_eq!(s, HistogramSnapshot::default());
        assert_eq!(s.quantile(0.5), 0);
        h.record(Duration::from_secs(10 * 3600));
        h.record(Duration::MAX);
        let s = h.snapshot();
        assert_eq!(s.count, 2);
        assert_eq!(s.max_micros, MAX_RECORDED_MICROS);
        assert_eq!(s.sum_micros, MAX_RECORDED_MICROS + 36_000_000_000);
        assert!(s.p50_micros >= 1 << 31);
        assert_eq!(s.buckets().count(), 1);
        assert_eq!(s.quantile(f64::NAN), s.quantile(0.0));
    }

    #[test]
    fn buckets_sum_to_count_and_since_differences() {
        let h = Histogram::with_shards(2);
        for v in [1, 5, 100, 100, 5000] {
            h.record_micros(v);
        }
        let a = h.snapshot();
        assert_eq!(a.buckets().map(|b| b.count).sum::<u64>(), a.count);
        for v in [100, 70_000, 70_001] {
            h.record_micros(v);
        }
        let b = h.snapshot();
        let d = b.since(&a);
        assert_eq!(d.count, 3);
        assert_eq!(d.sum_micros, 140_101);
        assert!(d.max_micros >= 70_001 && d.max_micros <= 70_001 + 70_001 / 16);
        assert!((d.p50_micros as f64 - 70_000.0).abs() / 70_000.0 <= 1.0 / 32.0);
        assert_eq!(b.since(&b).count, 0);
    }

    #[test]
    fn concurrent_recording_loses_nothing() {
        let h = Arc::new(Histogram::with_shards(4));
        let threads: Vec<_> = (0..6u64)
            .map(|t| {
                let h = Arc::clone(&h);
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        h.record_micros((i * 7 + t) % 10_000);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = h.snapshot();
        assert_eq!(s.count, 120_000);
        let want: u64 = (0..6u64)
            .map(|t| (0..20_000u64).map(|i| (i * 7 + t) % 10_000).sum::<u64>())
            .sum();
        assert_eq!(s.sum_micros, want);
        assert_eq!(s.max_micros, 9_999);
    }
}
