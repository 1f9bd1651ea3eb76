//! Turns blocks into figures: per driver the median of each block figure, and against
//! the baseline driver the median and spread (min..max) of the per-block ratios, where
//! block i of a driver is paired with block i of the baseline (they ran interleaved).
//! Also the CPU per op over the floor. Output is a markdown table.

use std::fmt::Write as _;

use crate::measure::BlockResult;

/// All blocks of one driver for one (workload, concurrency) cell.
pub struct Series {
    /// Driver label as shown (e.g. `scylla`, `scylla#2`).
    pub label: String,
    /// True for the raw-socket floor.
    pub is_floor: bool,
    /// Measured blocks, in run order.
    pub blocks: Vec<BlockResult>,
}

/// Median of a non-empty list (mean of the middle two for even lengths); NaN if empty.
pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median and (min, max) of per-block ratios `f(a_i) / f(b_i)`.
pub fn ratio(
    a: &[BlockResult],
    b: &[BlockResult],
    f: impl Fn(&BlockResult) -> f64,
) -> (f64, f64, f64) {
    let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| f(x) / f(y)).collect();
    let min = r.iter().copied().fold(f64::INFINITY, f64::min);
    let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(&r), min, max)
}

fn med(s: &Series, f: impl Fn(&BlockResult) -> f64) -> f64 {
    median(&s.blocks.iter().map(f).collect::<Vec<_>>())
}

fn fmt_ratio((m, lo, hi): (f64, f64, f64)) -> String {
    if m.is_finite() {
        format!("{m:.3} [{lo:.3}–{hi:.3}]")
    } else {
        "–".into()
    }
}

/// The markdown table of one cell. The baseline is the first non-floor series.
pub fn table(series: &[Series]) -> String {
    let base = series.iter().find(|s| !s.is_floor);
    let floor = series.iter().find(|s| s.is_floor);
    let mut out = String::new();
    let errors: u64 = series
        .iter()
        .flat_map(|s| &s.blocks)
        .map(|b| b.errors)
        .sum();
    if errors > 0 {
        let _ = writeln!(
            out,
            "{errors} operations failed in this cell (not counted in ops; see stderr).\n"
        );
    }
    out.push_str("| driver | ops/s | p50 µs | p99 µs | client CPU µs/op | allocs/op | bytes/op | fake-node CPU µs/op | CPU µs/op over floor | ops/s ÷ base | CPU/op ÷ base |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for s in series {
        let server = med(s, |b| b.server_us_per_op().unwrap_or(f64::NAN));
        let over_floor = match floor {
            Some(f) if !s.is_floor => {
                let d: Vec<f64> = s
                    .blocks
                    .iter()
                    .zip(&f.blocks)
                    .map(|(x, y)| x.cpu_us_per_op() - y.cpu_us_per_op())
                    .collect();
                format!("{:.2}", median(&d))
            }
            _ => "–".into(),
        };
        let (r_ops, r_cpu) = match base {
            Some(b) if !std::ptr::eq(b, s) => (
                fmt_ratio(ratio(&s.blocks, &b.blocks, BlockResult::ops_per_sec)),
                fmt_ratio(ratio(&s.blocks, &b.blocks, BlockResult::cpu_us_per_op)),
            ),
            Some(_) => ("base".into(), "base".into()),
            None => ("–".into(), "–".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.1} | {:.1} | {:.2} | {:.1} | {:.0} | {} | {} | {} | {} |",
            s.label,
            med(s, BlockResult::ops_per_sec),
            med(s, |b| b.latency_us(0.5)),
            med(s, |b| b.latency_us(0.99)),
            med(s, BlockResult::cpu_us_per_op),
            med(s, BlockResult::allocs_per_op),
            med(s, BlockResult::bytes_per_op),
            if server.is_finite() {
                format!("{server:.2}")
            } else {
                "–".into()
            },
            over_floor,
            r_ops,
            r_cpu,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_nan() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(median(&[f64::NAN, 5.0]), 5.0);
    }
}
