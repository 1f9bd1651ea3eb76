//! Observability against the real cluster: exact metric counts after a known workload
//! (requests, a provoked client timeout, a provoked server error), a Prometheus export
//! the reference parser accepts, request/attempt spans seen by a test subscriber, the
//! request observer, a server-side query trace, and host state through a node restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringbolt::{
    AttemptOutcome, AttemptRecord, Error, MetricsSnapshot, RequestKind, RequestObserver,
    RequestRecord, RetryDecision, Statement,
};

use crate::{faults, harness};

/// Waits (bounded, polling) until every node has an open pool connection: the session
/// is usable once one has, and a plan meeting a still-connecting pool records an unsent
/// attempt, which would blur exact counts.
pub(crate) async fn all_connected(s: &ringbolt::Session) {
    let n = harness::nodes().len() as u64;
    let t0 = std::time::Instant::now();
    poll(Duration::from_secs(30), || {
        (s.metrics().connected_nodes == n).then_some(())
    })
    .await
    .expect("every node connected within 30 s");
    eprintln!("all pools connected after {:?}", t0.elapsed());
}

fn host_responses(s: &MetricsSnapshot) -> u64 {
    s.hosts.iter().map(|h| h.latency.count).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_exact_after_a_known_workload() {
    let s = harness::session().await;
    all_connected(&s).await;
    let ks = harness::keyspace(&s, "obs_counts", 3).await;
    s.query(
        format!("CREATE TABLE {ks}.kv (k int PRIMARY KEY, v int)"),
        (),
    )
    .await
    .unwrap();
    let insert = s
        .prepare(format!("INSERT INTO {ks}.kv (k, v) VALUES (?, ?)"))
        .await
        .unwrap();
    let before = s.metrics();
    const N: u64 = 40;
    for k in 0..N as i32 {
        s.execute(&insert, (k, k)).await.unwrap();
    }
    let after = s.metrics();
    assert_eq!(after.requests.count - before.requests.count, N);
    assert_eq!(after.requests_failed, before.requests_failed);
    assert_eq!(after.requests_in_flight, 0);
    assert_eq!(host_responses(&after) - host_responses(&before), N);
    assert_eq!(after.retries.total(), before.retries.total());
    assert!(after.bytes_sent > before.bytes_sent);
    assert!(after.bytes_received > before.bytes_received);
    assert!(after.prepared_statements >= 1);
    assert_eq!(after.connected_nodes, harness::nodes().len() as u64);
    for h in &after.hosts {
        assert_eq!(h.state.as_deref(), Some("up"), "{h:?}");
        assert_eq!(h.datacenter.as_deref(), Some("datacenter1"));
        assert!(h.rack.is_some() && h.release_version.is_some(), "{h:?}");
        assert!(h.state_since.is_some() && h.down_reason.is_none());
        assert!(h.open_connections >= 1 && h.available_streams > 0, "{h:?}");
    }

    // A client timeout: a deadline that has passed before any answer can come.
    let before = s.metrics();
    let err = s
        .query(
            Statement::new(format!("SELECT * FROM {ks}.kv")).with_timeout(Duration::from_nanos(1)),
            (),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    let after = s.metrics();
    assert_eq!(after.client_timeouts - before.client_timeouts, 1);
    assert_eq!(after.requests.count - before.requests.count, 1);
    assert_eq!(after.requests_failed - before.requests_failed, 1);
    // The deadline passed before any attempt could start: nothing was sent.
    let aborted = |m: &MetricsSnapshot| m.hosts.iter().map(|h| h.errors.aborted).sum::<u64>();
    assert_eq!(aborted(&after) - aborted(&before), 0);

    // A server error: counted under its code, once, on the session and on its host.
    let before = s.metrics();
    let err = s.query("SELEC nonsense", ()).await.unwrap_err();
    assert_eq!(err.server_code(), Some(0x2000), "{err:?}");
    let after = s.metrics();
    assert_eq!(
        after.server_errors.get(0x2000) - before.server_errors.get(0x2000),
        1
    );
    assert_eq!(
        after.server_errors.total() - before.server_errors.total(),
        1
    );
    assert_eq!(after.requests_failed - before.requests_failed, 1);
    let others = |m: &MetricsSnapshot| m.hosts.iter().map(|h| h.errors.others).sum::<u64>();
    assert_eq!(others(&after) - others(&before), 1);
    assert_eq!(after.client_timeouts, before.client_timeouts);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_export_passes_the_reference_parser() {
    let s = harness::session().await;
    s.query("SELECT release_version FROM system.local", ())
        .await
        .unwrap();
    let _ = s.query("SELEC nonsense", ()).await;
    let text = s.metrics_prometheus();
    assert!(text.contains("ringbolt_session_cql_requests_seconds_count"));
    assert!(text.contains("ringbolt_nodes_info{"), "{text}");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-prometheus.py");
    // scripts/test points RINGBOLT_PYTHON at a venv that has prometheus_client.
    let python = std::env::var("RINGBOLT_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = std::process::Command::new(&python)
        .arg(&script)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} (scripts/check-prometheus.py): {e}"));
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "check-prometheus.py rejected the export (exit {:?}; 2 = pip install prometheus-client): {}{}\n{text}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    s.close().await;
}

/// One observed attempt: kind, index, host, outcome text, retry decision.
type Seen = (
    RequestKind,
    u32,
    std::net::SocketAddr,
    String,
    Option<RetryDecision>,
);

#[derive(Debug, Default)]
struct History {
    attempts: Mutex<Vec<Seen>>,
    requests: Mutex<Vec<(u64, RequestKind, u32, bool)>>,
}

impl RequestObserver for History {
    fn on_attempt(&self, a: &AttemptRecord<'_>) {
        assert!(a.ended >= a.started);
        let outcome = match a.outcome {
            AttemptOutcome::Success => "success".to_string(),
            AttemptOutcome::Failed(e) => format!("failed: {e}"),
            AttemptOutcome::Fatal(e) => format!("fatal: {e}"),
            _ => "other".to_string(),
        };
        self.attempts
            .lock()
            .unwrap()
            .push((a.kind, a.attempt, a.host, outcome, a.retry));
    }

    fn on_request(&self, r: &RequestRecord<'_>) {
        assert!(r.ended >= r.started);
        self.requests
            .lock()
            .unwrap()
            .push((r.request_id, r.kind, r.attempts, r.result.is_ok()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_observer_sees_every_attempt_and_the_end() {
    let history = Arc::new(History::default());
    let h: Arc<dyn RequestObserver> = history.clone();
    let s = harness::session_with(move |b| b.request_observer(h)).await;
    all_connected(&s).await;
    s.query("SELECT release_version FROM system.local", ())
        .await
        .unwrap();
    let _ = s.query("SELEC nonsense", ()).await.unwrap_err();
    let p = s.prepare("SELECT key FROM system.local").await.unwrap();
    s.execute(&p, ()).await.unwrap();
    let attempts = history.attempts.lock().unwrap().clone();
    let requests = history.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 4, "{requests:?}");
    let kinds: Vec<RequestKind> = requests.iter().map(|r| r.1).collect();
    assert_eq!(
        kinds,
        [
            RequestKind::Query,
            RequestKind::Query,
            RequestKind::Prepare,
            RequestKind::Execute
        ]
    );
    assert_eq!(
        requests.iter().map(|r| r.3).collect::<Vec<_>>(),
        [true, false, true, true]
    );
    assert!(requests.windows(2).all(|w| w[0].0 < w[1].0), "ids grow");
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    assert_eq!(attempts[0].3, "success");
    assert!(attempts[1].3.starts_with("failed: "), "{:?}", attempts[1]);
    assert_eq!(attempts[1].4, Some(RetryDecision::Fail));
    assert!(attempts.iter().all(|a| a.1 == 0));
    assert!(attempts.iter().all(|a| harness::nodes().contains(&a.2)));
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traced_query_returns_its_events() {
    let s = harness::session().await;
    let rs = s
        .query(
            Statement::new("SELECT release_version FROM system.local").with_tracing(true),
            (),
        )
        .await
        .unwrap();
    let id = rs
        .tracing_id()
        .expect("a traced request returns a tracing id");
    let trace = s.query_trace(id).await.unwrap();
    assert_eq!(trace.id.0, id);
    assert!(trace.duration > Duration::ZERO, "{trace:?}");
    assert!(!trace.request.is_empty(), "{trace:?}");
    let coord = trace.coordinator.expect("coordinator recorded");
    assert_eq!(coord, rs.coordinator().ip());
    assert!(trace.started_at > std::time::SystemTime::UNIX_EPOCH);
    assert!(!trace.events.is_empty(), "{trace:?}");
    assert!(trace.events.iter().all(|e| !e.activity.is_empty()));
    assert!(
        trace.events.iter().any(|e| e.source == Some(coord)),
        "{trace:?}"
    );
    s.close().await;
}

/// Stops node 3 and starts it again: its pool's state goes down (with a reason) and
/// back up, as `Session::metrics` reports it. Polls with short intervals (bounded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_state_follows_a_node_restart() {
    let _x = harness::exclusive().await;
    let s = ringbolt::Session::builder()
        .contact_points(harness::contact_points())
        .local_dc("datacenter1")
        .build()
        .await
        .unwrap();
    all_connected(&s).await;
    let node = harness::nodes()[2];
    let state = |s: &ringbolt::Session| {
        s.metrics()
            .hosts
            .into_iter()
            .find(|h| h.address == node)
            .expect("node 3 in the snapshot")
    };
    assert_eq!(state(&s).state.as_deref(), Some("up"));
    let t0 = std::time::Instant::now();
    let fault = faults::kill(3);
    let down = poll(Duration::from_secs(60), || {
        let h = state(&s);
        (h.state.as_deref() == Some("down")).then_some(h)
    })
    .await
    .expect("node 3 reported down within 60 s");
    eprintln!("down after {:?}: {:?}", t0.elapsed(), down.down_reason);
    assert!(down.down_reason.is_some() && down.open_connections == 0);
    let t1 = std::time::Instant::now();
    drop(fault); // restarts the node and waits for CQL
    let up = poll(Duration::from_secs(90), || {
        let h = state(&s);
        (h.state.as_deref() == Some("up")).then_some(h)
    })
    .await
    .expect("node 3 reported up within 90 s of its restart");
    eprintln!("up after {:?}", t1.elapsed());
    assert!(up.down_reason.is_none() && up.state_since > down.state_since);
    s.close().await;
}

pub(crate) async fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
