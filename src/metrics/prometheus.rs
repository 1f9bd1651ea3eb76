//! Prometheus text exposition (format 0.0.4) of a [`MetricsSnapshot`]: names, HELP/TYPE
//! lines, label escaping, float formatting. Reads a snapshot only; never records.
//! The name mapping from the Java driver is documented in the `metrics` module doc.

use std::fmt::{Display, Write as _};

use super::histogram::HistogramSnapshot;
use super::kinds::{JavaReason, RetryReason};
use super::snapshot::{HostMetricsSnapshot, MetricsSnapshot};

/// The quantiles exported for every latency summary.
const QUANTILES: [(&str, f64); 4] = [
    ("0.5", 0.5),
    ("0.95", 0.95),
    ("0.99", 0.99),
    ("0.999", 0.999),
];

/// A sample value: a plain count, or a microsecond total to be shown in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    /// A count or gauge value.
    Count(u64),
    /// Microseconds, exported as seconds.
    Micros(u64),
}

impl Value {
    /// The value in the exported unit (seconds for times).
    #[cfg(feature = "metrics")]
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Value::Count(n) => n as f64,
            Value::Micros(us) => us as f64 / 1e6,
        }
    }
}

impl Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Value::Count(n) => write!(f, "{n}"),
            Value::Micros(us) => Seconds(us).fmt(f),
        }
    }
}

/// Where the family/sample stream goes: the text writer here, the `metrics` facade in
/// `facade.rs`. Families arrive one at a time, each followed by all of its samples.
pub(crate) trait Sink {
    /// A new family; `kind` is `counter`, `gauge` or `summary`.
    fn family(&mut self, name: &str, kind: &'static str, help: &str);
    /// One sample of the current family.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value);
}

/// Appends the text exposition.
struct TextSink {
    out: String,
}

impl Sink for TextSink {
    fn family(&mut self, name: &str, kind: &'static str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Family helpers over any sink.
struct Writer<'a, S: Sink> {
    sink: &'a mut S,
}

impl<S: Sink> Writer<'_, S> {
    fn family(&mut self, name: &str, kind: &'static str, help: &str) {
        self.sink.family(name, kind, help);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.sink.sample(name, labels, value);
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "counter", help);
        self.sample(name, &[], Value::Count(value));
    }

    fn gauge(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "gauge", help);
        self.sample(name, &[], Value::Count(value));
    }

    /// A summary's quantile, `_sum` and `_count` samples (in seconds) for one label set.
    fn summary_samples(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let mut with_q: Vec<(&str, &str)> = labels.to_vec();
        with_q.push(("quantile", ""));
        for (label, q) in QUANTILES {
            if let Some(last) = with_q.last_mut() {
                last.1 = label;
            }
            self.sample(name, &with_q, Value::Micros(h.quantile(q)));
        }
        self.sample(&format!("{name}_sum"), labels, Value::Micros(h.sum_micros));
        self.sample(&format!("{name}_count"), labels, Value::Count(h.count));
    }
}

/// A microsecond count printed as seconds (Rust's float `Display` never uses exponents).
struct Seconds(u64);

impl Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_float(self.0 as f64 / 1e6, f)
    }
}

/// Prometheus float syntax: `+Inf`, `-Inf`, `NaN`, otherwise Rust's decimal form.
fn fmt_float(v: f64, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    if v.is_nan() {
        f.write_str("NaN")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" })
    } else {
        write!(f, "{v}")
    }
}

/// Label values escape `\`, `"` and newline (exposition format 0.0.4).
fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// HELP text escapes `\` and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A per-host number: exported name suffix, type, help, getter.
type NodeMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&HostMetricsSnapshot) -> u64,
);

const NODE_GAUGES_AND_COUNTERS: &[NodeMetric] = &[
    (
        "pool_open_connections",
        "gauge",
        "Open connections to the node.",
        |h| h.open_connections,
    ),
    (
        "pool_in_flight",
        "gauge",
        "Requests written to the node and not yet answered.",
        |h| h.in_flight,
    ),
    (
        "pool_available_streams",
        "gauge",
        "Free stream ids over the node's connections.",
        |h| h.available_streams,
    ),
    (
        "pool_orphaned_streams",
        "gauge",
        "Stream ids held by abandoned requests awaiting a late response.",
        |h| h.orphaned_streams,
    ),
    (
        "bytes_sent_total",
        "counter",
        "Bytes written to the node.",
        |h| h.bytes_sent,
    ),
    (
        "bytes_received_total",
        "counter",
        "Bytes read from the node.",
        |h| h.bytes_received,
    ),
    (
        "errors_request_unsent_total",
        "counter",
        "Attempts that never reached the node's socket.",
        |h| h.errors.unsent,
    ),
    (
        "errors_request_aborted_total",
        "counter",
        "Attempts written to the node but never answered (connection closed, attempt timeout).",
        |h| h.errors.aborted,
    ),
    (
        "errors_request_write_timeouts_total",
        "counter",
        "WRITE_TIMEOUT responses from the node.",
        |h| h.errors.write_timeouts,
    ),
    (
        "errors_request_read_timeouts_total",
        "counter",
        "READ_TIMEOUT responses from the node.",
        |h| h.errors.read_timeouts,
    ),
    (
        "errors_request_unavailables_total",
        "counter",
        "UNAVAILABLE responses from the node.",
        |h| h.errors.unavailables,
    ),
    (
        "errors_request_others_total",
        "counter",
        "Other ERROR responses from the node.",
        |h| h.errors.others,
    ),
    (
        "errors_connection_init_total",
        "counter",
        "Failed connection attempts to the node (not authentication).",
        |h| h.errors.connection_init,
    ),
    (
        "errors_connection_auth_total",
        "counter",
        "Failed authentications with the node.",
        |h| h.errors.connection_auth,
    ),
];

impl MetricsSnapshot {
    /// The snapshot in Prometheus text exposition format 0.0.4 (content type
    /// `text/plain; version=0.0.4`).
    ///
    /// Names are the Java driver 4 metric paths (given as `[java: ...]` on each field)
    /// in Prometheus form: `ringbolt_session_<path>` for session metrics and
    /// `ringbolt_nodes_<path>{node="ip:port"}` for node metrics, with `.` and `-` turned
    /// into `_` and counters ending in `_total` (`cql-client-timeouts` →
    /// `ringbolt_session_cql_client_timeouts_total`, `pool.orphaned-streams` →
    /// `ringbolt_nodes_pool_orphaned_streams`). Latencies (`cql-requests`,
    /// `cql-messages`) are summaries in seconds with quantiles 0.5, 0.95, 0.99 and 0.999
    /// over the session's lifetime, plus a `_seconds_max` gauge. Metrics the Java driver
    /// lacks are `ringbolt_session_errors_server_total{code,error}`,
    /// `..._errors_connection_total`, `..._errors_no_host_available_total`,
    /// `..._retries_total{reason}`, `..._ignores_total{reason}`,
    /// `..._cql_requests_in_flight`, `..._cql_requests_failed_total` and
    /// `ringbolt_nodes_info{node,dc,state}`. Node families are omitted when no host is known.
    pub fn to_prometheus(&self) -> String {
        let mut sink = TextSink {
            out: String::with_capacity(4096 + 3072 * self.hosts.len()),
        };
        self.emit(&mut sink);
        sink.out
    }

    /// Streams every family and sample of the export into `sink`.
    pub(crate) fn emit<S: Sink>(&self, sink: &mut S) {
        let mut w = Writer { sink };
        self.write_session(&mut w);
        if !self.hosts.is_empty() {
            self.write_nodes(&mut w);
        }
    }

    fn write_session<S: Sink>(&self, w: &mut Writer<'_, S>) {
        const P: &str = "ringbolt_session_";
        let name = format!("{P}cql_requests_seconds");
        w.family(
            &name,
            "summary",
            "Latency of whole requests (all attempts), successes and failures.",
        );
        w.summary_samples(&name, &[], &self.requests);
        w.family(&format!("{name}_max"), "gauge", "Slowest request so far.");
        w.sample(
            &format!("{name}_max"),
            &[],
            Value::Micros(self.requests.max_micros),
        );
        w.gauge(
            &format!("{P}cql_requests_in_flight"),
            "Requests started and not yet finished.",
            self.requests_in_flight,
        );
        w.counter(
            &format!("{P}cql_requests_failed_total"),
            "Finished requests that returned an error.",
            self.requests_failed,
        );
        w.counter(
            &format!("{P}cql_client_timeouts_total"),
            "Requests that hit their overall deadline.",
            self.client_timeouts,
        );

        let name = format!("{P}errors_server_total");
        w.family(
            &name,
            "counter",
            "ERROR responses received, by protocol error code.",
        );
        for (code, error, n) in self.server_errors.iter() {
            let code = format!("0x{code:04X}");
            w.sample(&name, &[("code", &code), ("error", error)], Value::Count(n));
        }
        w.sample(
            &name,
            &[("code", "other"), ("error", "other")],
            Value::Count(self.server_errors.other()),
        );
        w.counter(
            &format!("{P}errors_connection_total"),
            "Attempts lost to a connection failure after being sent.",
            self.connection_errors,
        );
        w.counter(
            &format!("{P}errors_no_host_available_total"),
            "Requests that failed with NoHostAvailable.",
            self.no_host_available,
        );

        for (what, counts, help) in [
            (
                "retries",
                &self.retries,
                "Retry-policy decisions to retry, by reason.",
            ),
            (
                "ignores",
                &self.ignores,
                "Retry-policy decisions to ignore an error, by reason.",
            ),
        ] {
            let name = format!("{P}{what}_total");
            w.family(&name, "counter", help);
            for r in RetryReason::ALL {
                w.sample(
                    &name,
                    &[("reason", r.as_str())],
                    Value::Count(counts.get(r)),
                );
            }
        }

        w.counter(
            &format!("{P}bytes_sent_total"),
            "Bytes written to all sockets of the session.",
            self.bytes_sent,
        );
        w.counter(
            &format!("{P}bytes_received_total"),
            "Bytes read from all sockets of the session.",
            self.bytes_received,
        );
        w.gauge(
            &format!("{P}connected_nodes"),
            "Nodes with at least one open connection.",
            self.connected_nodes,
        );
        w.gauge(
            &format!("{P}cql_prepared_cache_size"),
            "Entries in the prepared-statement cache.",
            self.prepared_statements,
        );
    }

    fn write_nodes<S: Sink>(&self, w: &mut Writer<'_, S>) {
        const P: &str = "ringbolt_nodes_";
        let nodes: Vec<String> = self.hosts.iter().map(|h| h.address.to_string()).collect();
        let hosts = || self.hosts.iter().zip(nodes.iter().map(String::as_str));

        let name = format!("{P}info");
        w.family(
            &name,
            "gauge",
            "Always 1; labels carry the node's data center and pool state.",
        );
        for (h, node) in hosts() {
            let dc = h.datacenter.as_deref().unwrap_or("");
            let state = h.state.as_deref().unwrap_or("");
            w.sample(
                &name,
                &[("node", node), ("dc", dc), ("state", state)],
                Value::Count(1),
            );
        }

        for &(suffix, kind, help, get) in NODE_GAUGES_AND_COUNTERS {
            let name = format!("{P}{suffix}");
            w.family(&name, kind, help);
            for (h, node) in hosts() {
                w.sample(&name, &[("node", node)], Value::Count(get(h)));
            }
        }

        let name = format!("{P}cql_messages_seconds");
        w.family(
            &name,
            "summary",
            "Latency of responses from the node, one per attempt.",
        );
        for (h, node) in hosts() {
            w.summary_samples(&name, &[("node", node)], &h.latency);
        }
        w.family(
            &format!("{name}_max"),
            "gauge",
            "Slowest response from the node so far.",
        );
        for (h, node) in hosts() {
            w.sample(
                &format!("{name}_max"),
                &[("node", node)],
                Value::Micros(h.latency.max_micros),
            );
        }

        for what in ["retries", "ignores"] {
            let name = format!("{P}{what}_total");
            w.family(
                &name,
                "counter",
                &format!("All {what} after errors from the node."),
            );
            for (h, node) in hosts() {
                let c = if what == "retries" {
                    &h.retries
                } else {
                    &h.ignores
                };
                w.sample(&name, &[("node", node)], Value::Count(c.total()));
            }
            for cat in JavaReason::ALL {
                let name = format!("{P}{what}_{}_total", cat.as_str());
                let help = format!("{what} after {} errors from the node.", cat.as_str());
                w.family(&name, "counter", &help);
                for (h, node) in hosts() {
                    let c = if what == "retries" {
                        &h.retries
                    } else {
                        &h.ignores
                    };
                    w.sample(&name, &[("node", node)], Value::Count(c.java(cat)));
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
