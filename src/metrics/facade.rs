//! Feature `metrics`: publishes a [`MetricsSnapshot`] to the `metrics` facade crate under
//! the same names and labels as the Prometheus export. Owns no state; call it
//! periodically (e.g. every few seconds) with a fresh snapshot.

use super::prometheus::{Sink, Value};
use super::MetricsSnapshot;

/// Publishes every number of `snapshot` to the globally installed `metrics` recorder.
/// Counters are set with `Counter::absolute` (monotonic), gauges with `Gauge::set`; a
/// summary is published as gauges (one per `quantile` label, plus `_sum` in seconds) and
/// a counter (`_count`). Names match [`MetricsSnapshot::to_prometheus`] exactly.
pub fn publish_to_metrics_facade(snapshot: &MetricsSnapshot) {
    snapshot.emit(&mut FacadeSink { kind: "gauge" });
}

/// Remembers the current family's type; every sample goes straight to the facade.
struct FacadeSink {
    kind: &'static str,
}

impl Sink for FacadeSink {
    fn family(&mut self, _name: &str, kind: &'static str, _help: &str) {
        self.kind = kind;
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        let labels: Vec<::metrics::Label> = labels
            .iter()
            .map(|&(k, v)| ::metrics::Label::new(k.to_owned(), v.to_owned()))
            .collect();
        let name = name.to_owned();
        match (self.kind, value) {
            ("counter", Value::Count(n)) => ::metrics::counter!(name, labels).absolute(n),
            ("summary", Value::Count(n)) if name.ends_with("_count") => {
                ::metrics::counter!(name, labels).absolute(n)
            }
            (_, v) => ::metrics::gauge!(name, labels).set(v.as_f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_without_a_recorder_is_a_no_op() {
        // With no recorder installed the facade discards everything; this checks that
        // every name and label set is accepted by the macros and nothing panics.
        publish_to_metrics_facade(&MetricsSnapshot::default());
    }
}
