//! Tests of the Prometheus export: a strict, self-contained validator of text format
//! 0.0.4 (names, labels and escapes, floats, TYPE-before-samples, contiguous families,
//! suffix rules, no duplicate series) run over real snapshots, plus exact-value checks.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::*;
use crate::metrics::recorder::{RequestOutcome, SessionMetrics};
use crate::metrics::snapshot::HostMetricsSnapshot;

/// One parsed sample.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    /// The family (last TYPE name) the sample belongs to; set by `validate`.
    family: String,
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, k: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        && !s.starts_with("__")
}

fn parse_float(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ if s.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => s
            .parse::<f64>()
            .map_err(|e| format!("bad float {s:?}: {e}")),
        _ => Err(format!("bad float {s:?}")),
    }
}

/// Parses `name{k="v",...} value [timestamp]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("sample without value")?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let eq = rest.find('=').ok_or("label without =")?;
            let key = &rest[..eq];
            if !is_label_name(key) {
                return Err(format!("bad label name {key:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("label value not quoted")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next().ok_or("unterminated label value")? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        c => return Err(format!("bad escape \\{c}")),
                    },
                    (_, '\n') => return Err("raw newline in label".into()),
                    (_, c) => value.push(c),
                }
            };
            if labels.iter().any(|(k, _)| k == key) {
                return Err(format!("duplicate label {key}"));
            }
            labels.push((key.to_owned(), value));
            rest = &rest[end + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else if !rest.starts_with('}') {
                return Err(format!("junk after label value: {rest:?}"));
            }
        }
    }
    let rest = rest.strip_prefix(' ').ok_or("no space before value")?;
    let mut parts = rest.split(' ');
    let value = parse_float(parts.next().ok_or("no value")?)?;
    if let Some(ts) = parts.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if parts.next().is_some() {
        return Err("junk after timestamp".into());
    }
    Ok(Sample {
        family: String::new(),
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Validates a whole exposition; returns (family name -> type, samples).
fn validate(text: &str) -> Result<(HashMap<String, String>, Vec<Sample>), String> {
    if !text.ends_with('\n') {
        return Err("exposition must end with a newline".into());
    }
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut closed: HashSet<String> = HashSet::new();
    let mut current: Option<(String, String)> = None;
    let mut series: HashSet<String> = HashSet::new();
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let err = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        if let Some(c) = line.strip_prefix('#') {
            let mut f = c.splitn(4, ' ');
            let (_, kw, name) = (f.next(), f.next(), f.next());
            match (kw, name) {
                (Some("HELP"), Some(name)) => {
                    if !is_metric_name(name) || !helps.insert(name.to_owned()) {
                        return Err(err("bad or repeated HELP".into()));
                    }
                    let help = f.next().unwrap_or("");
                    let mut it = help.chars();
                    while let Some(ch) = it.next() {
                        if ch == '\\' && !matches!(it.next(), Some('\\' | 'n')) {
                            return Err(err("bad escape in HELP".into()));
                        }
                    }
                }
                (Some("TYPE"), Some(name)) => {
                    let kind = f.next().ok_or_else(|| err("TYPE without type".into()))?;
                    if !["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind) {
                        return Err(err(format!("unknown type {kind}")));
                    }
                    if !is_metric_name(name) || types.contains_key(name) {
                        return Err(err("bad or repeated TYPE".into()));
                    }
                    if let Some((prev, _)) = current.take() {
                        closed.insert(prev);
                    }
                    types.insert(name.to_owned(), kind.to_owned());
                    current = Some((name.to_owned(), kind.to_owned()));
                }
                _ => {} // a plain comment
            }
            continue;
        }
        let mut s = parse_sample(line).map_err(err)?;
        let (family, kind) = current
            .as_ref()
            .ok_or_else(|| err("sample before any TYPE".into()))?;
        let suffix = s.name.strip_prefix(family.as_str());
        let ok = match (kind.as_str(), suffix) {
            ("summary", Some("")) => {
                let q = s
                    .label("quantile")
                    .ok_or_else(|| err("no quantile".into()))?;
                matches!(parse_float(q), Ok(q) if (0.0..=1.0).contains(&q))
            }
            ("summary" | "histogram", Some("_sum" | "_count")) => {
                s.label("quantile").is_none() && s.label("le").is_none()
            }
            ("histogram", Some("_bucket")) => s.label("le").is_some(),
            ("counter" | "gauge" | "untyped", Some("")) => true,
            _ => false,
        };
        if !ok {
            return Err(err(format!(
                "sample does not fit its {kind} family {family}"
            )));
        }
        if closed.contains(&s.name) || types.get(&s.name).is_some_and(|_| &s.name != family) {
            return Err(err("family is not contiguous".into()));
        }
        if kind == "counter" && (s.value.is_nan() || s.value < 0.0) {
            return Err(err("negative or NaN counter".into()));
        }
        let mut key_labels = s.labels.clone();
        key_labels.sort();
        if !series.insert(format!("{}{key_labels:?}", s.name)) {
            return Err(err("duplicate series".into()));
        }
        s.family = family.clone();
        samples.push(s);
    }
    Ok((types, samples))
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> &'a Sample {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

/// A session with two hosts and a bit of everything, one of them with a nasty DC name.
fn busy_snapshot() -> MetricsSnapshot {
    let m = SessionMetrics::new();
    for i in 1..=1000u64 {
        m.request_started();
        m.request_finished(Duration::from_micros(i * 100), RequestOutcome::Success);
    }
    m.client_timeout();
    m.server_error(0x1000);
    m.server_error(0x2500);
    m.server_error(0x4242);
    m.retry(RetryReason::ReadTimeout);
    m.ignore(RetryReason::Other);
    m.prepared_cached(12);
    let a = m.host("127.0.0.1:9042".parse().unwrap(), Some("dc\"1\"\\\nx"));
    let b = m.host("[::1]:9042".parse().unwrap(), None);
    a.set_open_connections(2);
    a.response(Duration::from_millis(3));
    a.server_error(0x1200);
    a.retry(RetryReason::ConnectionClosed);
    a.retry(RetryReason::AttemptTimeout);
    a.ignore(RetryReason::Unavailable);
    a.bytes_sent(1_000);
    b.unsent();
    m.snapshot()
}

#[test]
fn busy_exposition_is_valid_and_has_the_right_values() {
    let text = busy_snapshot().to_prometheus();
    let (types, samples) = validate(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(types["ringbolt_session_cql_requests_seconds"], "summary");
    assert_eq!(types["ringbolt_nodes_pool_orphaned_streams"], "gauge");
    assert_eq!(
        types["ringbolt_nodes_errors_request_unsent_total"],
        "counter"
    );

    let count = find(&samples, "ringbolt_session_cql_requests_seconds_count", &[]);
    assert_eq!(count.value, 1000.0);
    let sum = find(&samples, "ringbolt_session_cql_requests_seconds_sum", &[]);
    assert!((sum.value - 50.05).abs() < 1e-9, "{}", sum.value);
    let p99 = find(
        &samples,
        "ringbolt_session_cql_requests_seconds",
        &[("quantile", "0.99")],
    );
    assert!(
        (p99.value - 0.099).abs() / 0.099 <= 1.0 / 32.0,
        "{}",
        p99.value
    );
    let max = find(&samples, "ringbolt_session_cql_requests_seconds_max", &[]);
    assert_eq!(max.value, 0.1);
    let unavailable = find(
        &samples,
        "ringbolt_session_errors_server_total",
        &[("code", "0x1000")],
    );
    assert_eq!(
        (unavailable.label("error"), unavailable.value),
        (Some("unavailable"), 1.0)
    );
    let other = find(
        &samples,
        "ringbolt_session_errors_server_total",
        &[("code", "other")],
    );
    assert_eq!(other.value, 1.0);
    let retries = find(
        &samples,
        "ringbolt_session_retries_total",
        &[("reason", "read_timeout")],
    );
    assert_eq!(retries.value, 1.0);
    assert_eq!(
        find(&samples, "ringbolt_session_cql_client_timeouts_total", &[]).value,
        1.0
    );
    assert_eq!(
        find(&samples, "ringbolt_session_cql_prepared_cache_size", &[]).value,
        12.0
    );
    assert_eq!(
        find(&samples, "ringbolt_session_connected_nodes", &[]).value,
        1.0
    );
    assert_eq!(
        find(&samples, "ringbolt_session_bytes_sent_total", &[]).value,
        1000.0
    );

    // Label escaping round-trips through the strict parser.
    let info = find(
        &samples,
        "ringbolt_nodes_info",
        &[("node", "127.0.0.1:9042")],
    );
    assert_eq!(info.label("dc"), Some("dc\"1\"\\\nx"));
    let node = [("node", "127.0.0.1:9042")];
    let v6 = [("node", "[::1]:9042")];
    assert_eq!(
        find(&samples, "ringbolt_nodes_pool_open_connections", &node).value,
        2.0
    );
    assert_eq!(
        find(
            &samples,
            "ringbolt_nodes_errors_request_read_timeouts_total",
            &node
        )
        .value,
        1.0
    );
    assert_eq!(
        find(&samples, "ringbolt_nodes_errors_request_unsent_total", &v6).value,
        1.0
    );
    assert_eq!(
        find(&samples, "ringbolt_nodes_retries_total", &node).value,
        2.0
    );
    assert_eq!(
        find(&samples, "ringbolt_nodes_retries_aborted_total", &node).value,
        2.0
    );
    assert_eq!(
        find(&samples, "ringbolt_nodes_ignores_unavailable_total", &node).value,
        1.0
    );
    assert_eq!(
        find(&samples, "ringbolt_nodes_cql_messages_seconds_count", &node).value,
        1.0
    );
    let p50 = find(
        &samples,
        "ringbolt_nodes_cql_messages_seconds",
        &[node[0], ("quantile", "0.5")],
    );
    assert!((p50.value - 0.003).abs() / 0.003 <= 1.0 / 32.0);
    // Every node family has one sample per host (summaries: 4 quantiles + sum + count).
    for (family, kind) in types
        .iter()
        .filter(|(f, _)| f.starts_with("ringbolt_nodes_"))
    {
        let n = samples.iter().filter(|s| &s.family == family).count();
        let want = if kind == "summary" { 12 } else { 2 };
        assert_eq!(n, want, "{family}");
    }
}

#[test]
fn empty_snapshot_is_valid_and_has_no_node_families() {
    let text = MetricsSnapshot::default().to_prometheus();
    let (types, samples) = validate(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(types.keys().all(|k| k.starts_with("ringbolt_session_")));
    let p50 = find(
        &samples,
        "ringbolt_session_cql_requests_seconds",
        &[("quantile", "0.5")],
    );
    assert_eq!(p50.value, 0.0);
    let mut snap = MetricsSnapshot::default();
    snap.hosts
        .push(HostMetricsSnapshot::empty("10.0.0.1:9042".parse().unwrap()));
    let text = snap.to_prometheus();
    validate(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

#[test]
fn float_and_escape_helpers() {
    struct F(f64);
    impl Display for F {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            fmt_float(self.0, f)
        }
    }
    assert_eq!(F(f64::INFINITY).to_string(), "+Inf");
    assert_eq!(F(f64::NEG_INFINITY).to_string(), "-Inf");
    assert_eq!(F(f64::NAN).to_string(), "NaN");
    assert_eq!(F(1e-7).to_string(), "0.0000001");
    assert_eq!(Seconds(1_500_000).to_string(), "1.5");
    assert_eq!(Seconds(1).to_string(), "0.000001");
    assert_eq!(
        Seconds(u64::MAX).to_string().parse::<f64>().unwrap(),
        u64::MAX as f64 / 1e6
    );
    assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    assert_eq!(escape_help("x\\y\nz \"q\""), "x\\\\y\\nz \"q\"");
}

#[test]
fn validator_rejects_what_prometheus_rejects() {
    let ok = "# TYPE a counter\na{x=\"1\"} 1\n";
    assert!(validate(ok).is_ok());
    for bad in [
        "a 1\n",                                                           // no TYPE
        "# TYPE a counter\na 1",                                           // no final newline
        "# TYPE a counter\na 1\na 2\n",                                    // duplicate series
        "# TYPE a counter\n# TYPE a gauge\na 1\n",                         // repeated TYPE
        "# TYPE a counter\nb 1\n",                                         // sample outside family
        "# TYPE 1a counter\n1a 1\n",                                       // bad name
        "# TYPE a counter\na{x=\"\\t\"} 1\n",                              // bad escape
        "# TYPE a counter\na{x=\"1} 1\n",                                  // unterminated
        "# TYPE a counter\na{__x=\"1\"} 1\n",                              // reserved label
        "# TYPE a counter\na{x=\"1\",x=\"2\"} 1\n",                        // duplicate label
        "# TYPE a counter\na one\n",                                       // bad value
        "# TYPE a counter\na -1\n",                                        // negative counter
        "# TYPE a summary\na 1\n", // summary without quantile
        "# TYPE a summary\na{quantile=\"2\"} 1\n", // quantile out of range
        "# TYPE a histogram\na_bucket 1\n", // bucket without le
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE c gauge\na 2\n", // not contiguous
        "# TYPE a gauge\na 1\n\n", // empty line
        "# TYPE a wat\na 1\n",     // unknown type
    ] {
        assert!(validate(bad).is_err(), "accepted {bad:?}");
    }
    assert!(validate("# TYPE a gauge\na +Inf\n# TYPE b gauge\nb NaN 123\n").is_ok());
}

/// `RINGBOLT_PROMETHEUS_DUMP=path cargo test` writes the busy exposition to `path`, for
/// `scripts/check-prometheus.py`; without the variable this test only renders it.
#[test]
fn dump_for_external_check() {
    let text = busy_snapshot().to_prometheus();
    if let Some(path) = std::env::var_os("RINGBOLT_PROMETHEUS_DUMP") {
        std::fs::write(path, &text).unwrap();
    }
    assert!(text.starts_with("# HELP ringbolt_session_cql_requests_seconds "));
}
