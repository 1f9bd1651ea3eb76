//! The execution core's rules against the real cluster: each server error's typed
//! mapping and retry decision (a recording wrapper around the default policy shows
//! what the core asked and what was decided), transparent re-prepare after schema
//! changes on v4 and v5, and every per-statement option reaching the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ringbolt::{
    Consistency, DefaultRetryPolicy, Error, ProtocolVersionChoice, RetryCause, RetryDecision,
    RetryPolicy, RetryRequest, ServerErrorKind, Session, Statement,
};

use crate::harness;

/// What the core asked the policy: a short label of the cause and the decision.
#[derive(Debug, Default)]
pub struct Recording {
    decisions: Mutex<Vec<(String, bool, RetryDecision)>>,
}

impl Recording {
    /// A recording wrapper around the default policy.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Every (cause, idempotent, decision) so far, and forgets them.
    pub fn take(&self) -> Vec<(String, bool, RetryDecision)> {
        std::mem::take(&mut *self.decisions.lock().unwrap())
    }
}

impl RetryPolicy for Recording {
    fn decide(&self, r: &RetryRequest<'_>) -> RetryDecision {
        let d = DefaultRetryPolicy.decide(r);
        let cause = match r.cause {
            RetryCause::Server(kind) => format!("server:{kind:?}"),
            RetryCause::Connection { written } => format!("connection:written={written}"),
            RetryCause::AttemptTimeout => "attempt-timeout".to_owned(),
            other => format!("{other:?}"),
        };
        self.decisions
            .lock()
            .unwrap()
            .push((cause, r.idempotent, d));
        d
    }
}

fn server_kind(err: &Error) -> &ServerErrorKind {
    match err {
        Error::Server(e) => &e.kind,
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_errors_are_typed_and_returned_at_once() {
    let rec = Recording::new();
    let s = harness::session_with(|b| b.retry_policy(rec.clone())).await;
    let ks = harness::keyspace(&s, "rules", 1).await;
    s.query(
        format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"),
        (),
    )
    .await
    .unwrap();
    rec.take();

    // Idempotent or not, a request error is never retried.
    for idempotent in [false, true] {
        let err = s
            .query(
                Statement::new("SELEC nonsense").with_idempotent(idempotent),
                (),
            )
            .await
            .unwrap_err();
        assert_eq!(server_kind(&err), &ServerErrorKind::SyntaxError);
        assert_eq!(err.server_code(), Some(0x2000));
        assert!(!err.is_retryable() && !err.maybe_executed());
        let d = rec.take();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].2, RetryDecision::Fail);

        let err = s
            .query(
                Statement::new(format!("SELECT nope FROM {ks}.t")).with_idempotent(idempotent),
                (),
            )
            .await
            .unwrap_err();
        assert_eq!(server_kind(&err), &ServerErrorKind::Invalid);
        assert_eq!(err.server_code(), Some(0x2200));
        assert_eq!(rec.take().len(), 1);

        let err = s
            .query(
                Statement::new(format!("CREATE TABLE {ks}.t (k int PRIMARY KEY)"))
                    .with_idempotent(idempotent),
                (),
            )
            .await
            .unwrap_err();
        match server_kind(&err) {
            ServerErrorKind::AlreadyExists { keyspace, table } => {
                assert_eq!(keyspace, &ks);
                assert_eq!(table, "t");
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        assert_eq!(err.server_code(), Some(0x2400));
        assert_eq!(rec.take().len(), 1);
    }
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_moves_to_the_next_host_once() {
    let rec = Recording::new();
    let s = harness::session_with(|b| b.retry_policy(rec.clone())).await;
    let ks = harness::keyspace(&s, "unavail", 1).await;
    s.query(
        format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"),
        (),
    )
    .await
    .unwrap();
    rec.take();
    // RF 1 cannot satisfy THREE: every coordinator answers Unavailable.
    let stmt = Statement::new(format!("SELECT v FROM {ks}.t WHERE k = 1"))
        .with_consistency(Consistency::Three);
    let err = s.query(stmt, ()).await.unwrap_err();
    match server_kind(&err) {
        ServerErrorKind::Unavailable {
            consistency,
            required,
            alive,
        } => {
            assert_eq!(*consistency, Consistency::Three);
            assert_eq!((*required, *alive), (3, 1));
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_retryable() && !err.maybe_executed());
    let d: Vec<_> = rec.take().into_iter().map(|(_, _, d)| d).collect();
    assert_eq!(
        d,
        [RetryDecision::RetryNextHost(None), RetryDecision::Fail],
        "Unavailable: next host once, then give up"
    );
    // The consistency option really reaches the server: ONE works.
    let stmt = Statement::new(format!("SELECT v FROM {ks}.t WHERE k = 1"))
        .with_consistency(Consistency::One);
    s.query(stmt, ()).await.unwrap();
    s.close().await;
}

/// A role without permissions on the auth node gets Unauthorized, not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_on_the_auth_node() {
    let _guard = harness::shared().await;
    let node = harness::auth_node().to_string();
    let (user, pass) = harness::AUTH_CREDENTIALS;
    let admin = Session::builder()
        .contact_points([node.clone()])
        .credentials(user, pass)
        .build()
        .await
        .unwrap();
    let n = std::process::id();
    let ks = format!("it_unauth_{n}");
    let role = format!("it_noperm_{n}");
    admin
        .query(
            format!("CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            (),
        )
        .await
        .unwrap();
    admin
        .query(
            format!("CREATE TABLE IF NOT EXISTS {ks}.t (k int PRIMARY KEY)"),
            (),
        )
        .await
        .unwrap();
    admin
        .query(
            format!("CREATE ROLE IF NOT EXISTS {role} WITH PASSWORD = 'pw' AND LOGIN = true"),
            (),
        )
        .await
        .unwrap();
    let rec = Recording::new();
    let weak = Session::builder()
        .contact_points([node])
        .credentials(role.clone(), "pw")
        .retry_policy(rec.clone())
        .build()
        .await
        .unwrap();
    for idempotent in [false, true] {
        let err = weak
            .query(
                Statement::new(format!("SELECT k FROM {ks}.t")).with_idempotent(idempotent),
                (),
            )
            .await
            .unwrap_err();
        assert_eq!(server_kind(&err), &ServerErrorKind::Unauthorized, "{err}");
        assert_eq!(err.server_code(), Some(0x2100));
        assert!(!err.is_retryable());
        let d = rec.take();
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].2, RetryDecision::Fail);
    }
    weak.close().await;
    admin.query(format!("DROP ROLE {role}"), ()).await.unwrap();
    admin
        .query(format!("DROP KEYSPACE {ks}"), ())
        .await
        .unwrap();
    admin.close().await;
}

async fn reprepare_after_schema_changes(version: ProtocolVersionChoice) {
    let s = harness::session_with(|b| b.protocol_version(version)).await;
    let ks = harness::keyspace(&s, "reprep", 3).await;
    s.query(
        format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, a int)"),
        (),
    )
    .await
    .unwrap();
    s.query(format!("INSERT INTO {ks}.t (k, a) VALUES (1, 10)"), ())
        .await
        .unwrap();
    let select = s
        .prepare(format!("SELECT * FROM {ks}.t WHERE k = ?"))
        .await
        .unwrap();
    let rs = s.execute(&select, (1_i32,)).await.unwrap();
    assert_eq!(rs.columns().len(), 2);
    let (k, a): (i32, i32) = rs.first_row().unwrap();
    assert_eq!((k, a), (1, 10));

    // A new column: the node drops the statement (UNPREPARED), the driver prepares it
    // again, and the rows carry the new column with the right metadata.
    s.query(format!("ALTER TABLE {ks}.t ADD b text"), ())
        .await
        .unwrap();
    s.query(
        format!("INSERT INTO {ks}.t (k, a, b) VALUES (1, 11, 'x')"),
        (),
    )
    .await
    .unwrap();
    for _ in 0..6 {
        // Several executions so that every node (token-aware or not) is visited.
        let rs = s.execute(&select, (1_i32,)).await.unwrap();
        let names: Vec<_> = rs.columns().iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["k", "a", "b"], "{version:?}");
        let (k, a, b): (i32, i32, Option<String>) = rs.first_row().unwrap();
        assert_eq!((k, a, b.as_deref()), (1, 11, Some("x")), "{version:?}");
    }
    assert_eq!(select.result_columns().len(), 3);

    // The table dropped and created again: same text, statement re-prepared transparently.
    let insert = s
        .prepare(format!("INSERT INTO {ks}.t (k, a) VALUES (?, ?)"))
        .await
        .unwrap();
    s.execute(&insert, (2_i32, 20_i32)).await.unwrap();
    s.query(format!("DROP TABLE {ks}.t"), ()).await.unwrap();
    s.query(
        format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, a int)"),
        (),
    )
    .await
    .unwrap();
    for k in 3..9_i32 {
        s.execute(&insert, (k, k * 10)).await.unwrap();
    }
    let rs = s.execute(&select, (5_i32,)).await.unwrap();
    let names: Vec<_> = rs.columns().iter().map(|c| c.name.clone()).collect();
    assert_eq!(names, ["k", "a"], "{version:?}");
    let (k, a): (i32, i32) = rs.first_row().unwrap();
    assert_eq!((k, a), (5, 50));
    // TRUNCATE keeps prepared statements usable.
    s.query(format!("TRUNCATE {ks}.t"), ()).await.unwrap();
    s.execute(&insert, (1_i32, 1_i32)).await.unwrap();
    assert_eq!(s.execute(&select, (1_i32,)).await.unwrap().rows_count(), 1);
    s.close().await;
}

/// Another client re-prepared the statement after the table changed, so the nodes know
/// it again: our next EXECUTE carries stale result metadata. v5: the node says
/// METADATA_CHANGED and sends the new metadata; v4: rows arrive without metadata and
/// with another column count, and the driver asks again with metadata.
async fn metadata_changed_elsewhere(version: ProtocolVersionChoice) {
    let a = harness::session_with(|b| b.protocol_version(version)).await;
    let b = harness::session_with(|b| b.protocol_version(version)).await;
    let ks = harness::keyspace(&a, "metachg", 3).await;
    a.query(
        format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, a int)"),
        (),
    )
    .await
    .unwrap();
    a.query(format!("INSERT INTO {ks}.t (k, a) VALUES (1, 10)"), ())
        .await
        .unwrap();
    let text = format!("SELECT * FROM {ks}.t WHERE k = ?");
    let sel_a = a.prepare(text.as_str()).await.unwrap();
    let sel_b = b.prepare(text.as_str()).await.unwrap();
    assert_eq!(
        a.execute(&sel_a, (1_i32,)).await.unwrap().columns().len(),
        2
    );
    a.query(format!("ALTER TABLE {ks}.t ADD b text"), ())
        .await
        .unwrap();
    a.query(
        format!("INSERT INTO {ks}.t (k, a, b) VALUES (1, 11, 'y')"),
        (),
    )
    .await
    .unwrap();
    // B brings the statement back on every node.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let rs = b.execute(&sel_b, (1_i32,)).await.unwrap();
        assert_eq!(rs.columns().len(), 3);
        seen.insert(rs.coordinator());
        if seen.len() == harness::nodes().len() {
            break;
        }
    }
    assert_eq!(seen.len(), harness::nodes().len(), "B reached every node");
    for _ in 0..6 {
        let rs = a.execute(&sel_a, (1_i32,)).await.unwrap();
        let names: Vec<_> = rs.columns().iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["k", "a", "b"], "{version:?}");
        let (k, x, y): (i32, i32, Option<String>) = rs.first_row().unwrap();
        assert_eq!((k, x, y.as_deref()), (1, 11, Some("y")), "{version:?}");
    }
    assert_eq!(sel_a.result_columns().len(), 3);
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_changed_elsewhere_v5() {
    metadata_changed_elsewhere(ProtocolVersionChoice::V5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_changed_elsewhere_v4() {
    metadata_changed_elsewhere(ProtocolVersionChoice::V4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprepare_after_schema_change_v5() {
    reprepare_after_schema_changes(ProtocolVersionChoice::V5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reprepare_after_schema_change_v4() {
    reprepare_after_schema_changes(ProtocolVersionChoice::V4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_statement_options_reach_the_server() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "opts", 3).await;
    s.query(
        format!("CREATE TABLE {ks}.t (k int, c int, v int, PRIMARY KEY (k, c))"),
        (),
    )
    .await
    .unwrap();

    // Timestamp: WRITETIME() shows the client's value, on simple, prepared and batch.
    let ts = 1_234_567_890_123_456_i64;
    s.query(
        Statement::new(format!("INSERT INTO {ks}.t (k, c, v) VALUES (1, 1, 1)")).with_timestamp(ts),
        (),
    )
    .await
    .unwrap();
    let insert = s
        .prepare(format!("INSERT INTO {ks}.t (k, c, v) VALUES (?, ?, ?)"))
        .await
        .unwrap();
    s.execute(
        &insert.clone().with_timestamp(ts + 1),
        (1_i32, 2_i32, 2_i32),
    )
    .await
    .unwrap();
    let batch = ringbolt::Batch::new(ringbolt::BatchKind::Logged)
        .with_prepared(&insert)
        .with_timestamp(ts + 2);
    s.batch(&batch, &[(1_i32, 3_i32, 3_i32)]).await.unwrap();
    let wt = s
        .prepare(format!(
            "SELECT WRITETIME(v) FROM {ks}.t WHERE k = 1 AND c = ?"
        ))
        .await
        .unwrap();
    for (c, want) in [(1_i32, ts), (2, ts + 1), (3, ts + 2)] {
        let (got,): (i64,) = s.execute(&wt, (c,)).await.unwrap().first_row().unwrap();
        assert_eq!(got, want, "clustering {c}");
    }

    // Page size: 2 rows per page, resumed with the paging state.
    for c in 4..=7_i32 {
        s.execute(&insert, (1_i32, c, c)).await.unwrap();
    }
    let all = Statement::new(format!("SELECT c FROM {ks}.t WHERE k = 1")).with_page_size(2);
    let mut seen = Vec::new();
    let mut state = None;
    let mut pages = 0;
    loop {
        let page = s.query_page(all.clone(), (), state).await.unwrap();
        assert!(page.rows_count() <= 2);
        for row in page.rows_typed::<(i32,)>().unwrap() {
            seen.push(row.unwrap().0);
        }
        pages += 1;
        state = page.paging_state().cloned();
        if state.is_none() {
            break;
        }
    }
    assert_eq!(seen, (1..=7).collect::<Vec<_>>());
    assert!(pages >= 4, "{pages} pages");

    // Tracing: the server returns a tracing session id; without it, none.
    let traced = s
        .query(
            Statement::new(format!("SELECT c FROM {ks}.t WHERE k = 1")).with_tracing(true),
            (),
        )
        .await
        .unwrap();
    assert!(traced.tracing_id().is_some());
    let untraced = s.execute(&wt, (1_i32,)).await.unwrap();
    assert!(untraced.tracing_id().is_none());
    let traced = s
        .execute(&wt.clone().with_tracing(true), (1_i32,))
        .await
        .unwrap();
    assert!(traced.tracing_id().is_some());

    // Serial consistency: a non-serial level is refused before anything is sent;
    // both serial levels run the LWT.
    let lwt = Statement::new(format!(
        "INSERT INTO {ks}.t (k, c, v) VALUES (9, 9, 9) IF NOT EXISTS"
    ));
    let err = s
        .query(lwt.clone().with_serial_consistency(Consistency::Quorum), ())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    let again = s
        .query(
            Statement::new(format!(
                "INSERT INTO {ks}.t (k, c, v) VALUES (8, 8, 8) IF NOT EXISTS"
            ))
            .with_serial_consistency(Consistency::LocalSerial),
            (),
        )
        .await
        .unwrap();
    assert!(again.applied().unwrap());
    let ok = s
        .query(lwt.with_serial_consistency(Consistency::Serial), ())
        .await
        .unwrap();
    assert!(ok.applied().unwrap());

    // Consistency reaches the server: SERIAL is refused for a plain write.
    let err = s
        .query(
            Statement::new(format!("INSERT INTO {ks}.t (k, c, v) VALUES (7, 7, 7)"))
                .with_consistency(Consistency::Serial),
            (),
        )
        .await
        .unwrap_err();
    assert_eq!(server_kind(&err), &ServerErrorKind::Invalid, "{err}");

    // Timeout: a deadline too short for any answer ends in a typed timeout that says
    // how many attempts ran.
    let err = s
        .query(
            Statement::new(format!("SELECT c FROM {ks}.t WHERE k = 1"))
                .with_timeout(Duration::from_micros(1)),
            (),
        )
        .await
        .unwrap_err();
    match &err {
        Error::Timeout(t) => assert!(t.attempts <= 1, "{t:?}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The session works on after abandoning that request.
    s.execute(&wt, (1_i32,)).await.unwrap();
    s.close().await;
}
