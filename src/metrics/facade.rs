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
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use ::metrics::{
        Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder,
        SharedString, Unit,
    };

    use super::*;
    use crate::metrics::recorder::{RequestOutcome, SessionMetrics};
    use crate::metrics::RetryReason;

    /// Series key ("name{k=v,...}") -> ("counter" | "gauge", last value).
    type Seen = Arc<Mutex<BTreeMap<String, (&'static str, f64)>>>;

    struct Cell(Seen, String, &'static str);

    impl CounterFn for Cell {
        fn increment(&self, _: u64) {
            panic!("publishing must set absolute values");
        }
        fn absolute(&self, v: u64) {
            self.0
                .lock()
                .unwrap()
                .insert(self.1.clone(), (self.2, v as f64));
        }
    }

    impl GaugeFn for Cell {
        fn increment(&self, _: f64) {
            panic!("publishing must set gauges");
        }
        fn decrement(&self, _: f64) {
            panic!("publishing must set gauges");
        }
        fn set(&self, v: f64) {
            self.0.lock().unwrap().insert(self.1.clone(), (self.2, v));
        }
    }

    struct Capture(Seen);

    fn series(key: &Key) -> String {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        format!("{}{{{}}}", key.name(), labels.join(","))
    }

    impl Recorder for Capture {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(Cell(self.0.clone(), series(key), "counter")))
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(Arc::new(Cell(self.0.clone(), series(key), "gauge")))
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            panic!("publishing registers no histogram");
        }
    }

    #[test]
    fn publishes_every_exported_sample_under_the_same_name() {
        let m = SessionMetrics::new();
        m.request_started();
        m.request_finished(std::time::Duration::from_millis(2), RequestOutcome::Success);
        m.server_error(0x1200);
        let h = m.host("127.0.0.1:9042".parse().unwrap(), Some("dc1"));
        h.set_open_connections(3);
        h.retry(RetryReason::ReadTimeout);
        let snap = m.snapshot();

        let seen: Seen = Arc::default();
        ::metrics::with_local_recorder(&Capture(seen.clone()), || publish_to_metrics_facade(&snap));
        let seen = seen.lock().unwrap();
        let text = snap.to_prometheus();
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(seen.len(), samples, "one facade series per exported sample");
        let get = |k: &str| *seen.get(k).unwrap_or_else(|| panic!("{k} not published"));
        assert_eq!(
            get("ringbolt_session_cql_requests_seconds_count{}"),
            ("counter", 1.0)
        );
        assert_eq!(
            get("ringbolt_session_errors_server_total{code=0x1200,error=read_timeout}"),
            ("counter", 1.0)
        );
        assert_eq!(
            get("ringbolt_nodes_pool_open_connections{node=127.0.0.1:9042}"),
            ("gauge", 3.0)
        );
        assert_eq!(
            get("ringbolt_nodes_retries_read_timeout_total{node=127.0.0.1:9042}"),
            ("counter", 1.0)
        );
        let (kind, p50) = get("ringbolt_session_cql_requests_seconds{quantile=0.5}");
        assert_eq!(kind, "gauge");
        assert!((p50 - 0.002).abs() / 0.002 <= 1.0 / 32.0);
    }

    #[test]
    fn publishing_without_a_recorder_is_a_no_op() {
        publish_to_metrics_facade(&MetricsSnapshot::default());
    }
}
