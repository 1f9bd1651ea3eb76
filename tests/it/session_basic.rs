//! Session basics against the real cluster: query, prepare/execute round trips, batch,
//! typed server errors, LWT `[applied]`, close.

use ringbolt::{Batch, BatchKind, Error, ServerErrorKind};

use crate::harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_round_trip_and_batch() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "basic", 3).await;
    s.query(
        format!("CREATE TABLE {ks}.kv (k bigint PRIMARY KEY, v text)"),
        (),
    )
    .await
    .unwrap();
    let insert = s
        .prepare(format!("INSERT INTO {ks}.kv (k, v) VALUES (?, ?)"))
        .await
        .unwrap();
    for k in 0..20_i64 {
        s.execute(&insert, (k, format!("v{k}"))).await.unwrap();
    }
    let batch = Batch::new(BatchKind::Unlogged)
        .with_prepared(&insert)
        .with_prepared(&insert);
    s.batch(&batch, &[(100_i64, "a"), (101_i64, "b")])
        .await
        .unwrap();
    let select = s
        .prepare(format!("SELECT v FROM {ks}.kv WHERE k = ?"))
        .await
        .unwrap();
    for k in [0_i64, 7, 19, 100, 101] {
        let (v,): (String,) = s.execute(&select, (k,)).await.unwrap().first_row().unwrap();
        let want = match k {
            100 => "a".to_string(),
            101 => "b".to_string(),
            k => format!("v{k}"),
        };
        assert_eq!(v, want);
    }
    let none: Option<(String,)> = s
        .execute(&select, (555_i64,))
        .await
        .unwrap()
        .maybe_first_row()
        .unwrap();
    assert!(none.is_none());
    // A wrong Rust type fails before anything is sent, naming the marker.
    let err = s.execute(&select, ("not a bigint",)).await.unwrap_err();
    assert!(matches!(err, Error::Serialization(_)), "{err:?}");
    assert!(err.to_string().contains('k'), "{err}");
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_typed() {
    let s = harness::session().await;
    let err = s.query("SELEC nonsense", ()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Server(e) if e.kind == ServerErrorKind::SyntaxError),
        "{err:?}"
    );
    assert_eq!(err.server_code(), Some(0x2000));
    assert!(!err.is_retryable());
    let err = s
        .query("SELECT * FROM system.no_such_table", ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server(e) if e.kind == ServerErrorKind::Invalid),
        "{err:?}"
    );
    let ks = harness::keyspace(&s, "errors", 1).await;
    let err = s
        .query(
            format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            (),
        )
        .await
        .unwrap_err();
    match &err {
        Error::Server(e) => match &e.kind {
            ServerErrorKind::AlreadyExists { keyspace, table } => {
                assert_eq!(keyspace, &ks);
                assert!(table.is_empty());
            }
            other => panic!("expected AlreadyExists, got {other:?}"),
        },
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lwt_reports_applied() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "lwt", 1).await;
    s.query(
        format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"),
        (),
    )
    .await
    .unwrap();
    let first = s
        .query(
            format!("INSERT INTO {ks}.t (k, v) VALUES (1, 1) IF NOT EXISTS"),
            (),
        )
        .await
        .unwrap();
    assert!(first.applied().unwrap());
    let second = s
        .query(
            format!("INSERT INTO {ks}.t (k, v) VALUES (1, 2) IF NOT EXISTS"),
            (),
        )
        .await
        .unwrap();
    assert!(!second.applied().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_session_refuses_requests() {
    let s = harness::session().await;
    s.close().await;
    s.close().await;
    let err = s
        .query("SELECT key FROM system.local", ())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Closed), "{err:?}");
}
