//! The connection layer against the real Cassandra: 10,000 concurrent requests on ONE
//! connection (v4 and v5, LZ4 on and off), each answered with its own row; LZ4 really
//! on the wire; SCHEMA_CHANGE events after DDL on a raw registered connection.
//! Authentication lives in `auth.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringbolt::protocol::request::{EventType, Register, Request};
use ringbolt::protocol::response::{Event, Response, SchemaChangeTarget, SchemaChangeType};
use ringbolt::protocol::ProtocolVersion;
use ringbolt::unstable::{pooled_connections, RawConnection, RawConnectionConfig};
use ringbolt::{DefaultPolicy, ProtocolVersionChoice};

use crate::harness;

/// Requests sent at once on the one connection.
const CONCURRENT: i64 = 10_000;

fn choice(v: ProtocolVersion) -> ProtocolVersionChoice {
    match v {
        ProtocolVersion::V4 => ProtocolVersionChoice::V4,
        _ => ProtocolVersionChoice::V5,
    }
}

/// A session whose every request goes to `node` over one pooled connection.
async fn one_connection_session(
    node: SocketAddr,
    version: ProtocolVersion,
    lz4: bool,
) -> harness::TestSession {
    let policy = DefaultPolicy::builder()
        .local_dc("datacenter1")
        .host_filter(move |h| h.address() == node)
        .build();
    harness::session_with(|b| {
        b.connections_per_host(1)
            .load_balancing(Arc::new(policy))
            .protocol_version(choice(version))
            .lz4(lz4)
            .heartbeat_interval(None)
            .request_timeout(Duration::from_secs(60))
    })
    .await
}

/// Waits (bounded, polling) until the pool of `node` has its connection: `build`
/// returns once SOME pool is connected, and this session uses only `node`'s.
async fn wait_for_pool(s: &ringbolt::Session, node: SocketAddr) {
    let started = Instant::now();
    while !pooled_connections(s).iter().any(|c| c.addr() == node) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the pool of {node} did not connect"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "pool of {node} connected {:?} after build",
        started.elapsed()
    );
}

/// The one pooled connection to `node`, checked to speak `version`.
fn the_connection(
    s: &ringbolt::Session,
    node: SocketAddr,
    version: ProtocolVersion,
) -> RawConnection {
    let conns: Vec<_> = pooled_connections(s)
        .into_iter()
        .filter(|c| c.addr() == node)
        .collect();
    assert_eq!(conns.len(), 1, "expected one pooled connection to {node}");
    assert_eq!(conns[0].version(), version, "negotiated version");
    conns.into_iter().next().unwrap()
}

fn value_of(k: i64) -> String {
    format!("row-{k}-{}", k.wrapping_mul(2_654_435_761) % 1_000_003)
}

async fn ten_thousand_on_one_connection(version: ProtocolVersion, lz4: bool) {
    let node = harness::nodes()[0];
    let s = one_connection_session(node, version, lz4).await;
    wait_for_pool(&s, node).await;
    let conn = the_connection(&s, node, version);
    let ks = harness::keyspace(&s, "conn10k", 1).await;
    s.query(
        format!("CREATE TABLE {ks}.t (k bigint PRIMARY KEY, v text)"),
        (),
    )
    .await
    .unwrap();
    let insert = s
        .prepare(format!("INSERT INTO {ks}.t (k, v) VALUES (?, ?)"))
        .await
        .unwrap();
    let select = s
        .prepare(format!("SELECT k, v FROM {ks}.t WHERE k = ?"))
        .await
        .unwrap();

    // Writes, all at once on the one connection. Each gets exactly one answer: done,
    // or the node's own "too slow" (a server-side write timeout: 10,000 writes queued
    // on a cold node of a loaded 2-core machine), which is a legitimate answer here;
    // those are written again afterwards, one at a time, so that every row exists.
    let mut set = tokio::task::JoinSet::new();
    for k in 0..CONCURRENT {
        let (s, insert) = (s.session.clone(), insert.clone());
        set.spawn(async move { (k, s.execute(&insert, (k, value_of(k))).await.map(|_| ())) });
    }
    let mut slow_writes = Vec::new();
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            (_, Ok(())) => {}
            (k, Err(e)) if harness::server_was_slow(&e) => slow_writes.push(k),
            (k, Err(e)) => panic!("write of key {k}: {e}"),
        }
    }
    for &k in &slow_writes {
        harness::until_not_slow("write again", || s.execute(&insert, (k, value_of(k)))).await;
    }

    // Reads, all at once; each must get the row of its own key.
    let others: Vec<(SocketAddr, u64)> = pooled_connections(&s)
        .iter()
        .filter(|c| c.addr() != node)
        .map(|c| (c.addr(), c.bytes_sent()))
        .collect();
    let sent_before = conn.bytes_sent();
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for k in 0..CONCURRENT {
        let (s, select) = (s.session.clone(), select.clone());
        set.spawn(async move {
            let r = match s.execute(&select, (k,)).await {
                Ok(r) => r,
                // The node's own read timeout: answered, but with no row to check.
                Err(e) if harness::server_was_slow(&e) => return (k, None),
                Err(e) => panic!("read of key {k}: {e}"),
            };
            assert_eq!(r.coordinator(), node);
            let row: (i64, String) = r.first_row().unwrap();
            (k, Some(row))
        });
    }
    let (mut answered, mut slow_reads) = (0, Vec::new());
    while let Some(r) = set.join_next().await {
        answered += 1;
        match r.unwrap() {
            (k, Some((got_k, got_v))) => {
                assert_eq!(got_k, k, "SELECT for key {k} got the row of key {got_k}");
                assert_eq!(got_v, value_of(k));
            }
            (k, None) => slow_reads.push(k),
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(answered, CONCURRENT);
    // The reads the node timed out, again one at a time: each finds its own row.
    for &k in &slow_reads {
        let r = harness::until_not_slow("read again", || s.execute(&select, (k,))).await;
        assert_eq!(r.coordinator(), node);
        let (got_k, got_v): (i64, String) = r.first_row().unwrap();
        assert_eq!((got_k, got_v), (k, value_of(k)));
    }
    // Every request went over the one connection: uncompressed, it carried at least
    // a minimal EXECUTE frame per request (v5 LZ4 packs ~13 bytes per request, as the
    // coalesced frames of a segment compress together); other hosts' carried nothing.
    let sent = conn.bytes_sent() - sent_before;
    let min_per_request = if lz4 { 4 } else { 30 };
    assert!(
        sent >= CONCURRENT as u64 * min_per_request,
        "only {sent} bytes sent"
    );
    for (addr, before) in others {
        if let Some(c) = pooled_connections(&s).iter().find(|c| c.addr() == addr) {
            assert_eq!(c.bytes_sent(), before, "{addr} was used");
        }
    }
    assert_eq!(the_connection(&s, node, version).addr(), node);
    println!(
        "{version:?} lz4={lz4}: {CONCURRENT} concurrent SELECTs on one connection in {elapsed:?} \
         ({:.0} req/s, debug build); server timeouts set aside and redone: {} writes, {} reads",
        CONCURRENT as f64 / elapsed.as_secs_f64(),
        slow_writes.len(),
        slow_reads.len()
    );

    // LZ4 is really on (or off) on the wire: a 64 KiB run of one letter.
    let big = "x".repeat(64 * 1024);
    harness::until_not_slow("big write", || s.execute(&insert, (-1_i64, big.as_str()))).await;
    let received_before = conn.bytes_received();
    let (_, v): (i64, String) =
        harness::until_not_slow("big read", || s.execute(&select, (-1_i64,)))
            .await
            .first_row()
            .unwrap();
    assert_eq!(v, big);
    let received = conn.bytes_received() - received_before;
    if lz4 {
        assert!(
            received < 16 * 1024,
            "LZ4 on, yet {received} bytes received"
        );
    } else {
        assert!(
            received > 64 * 1024,
            "LZ4 off, yet only {received} bytes received"
        );
    }
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_v4() {
    ten_thousand_on_one_connection(ProtocolVersion::V4, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_v4_lz4() {
    ten_thousand_on_one_connection(ProtocolVersion::V4, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_v5() {
    ten_thousand_on_one_connection(ProtocolVersion::V5, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_v5_lz4() {
    ten_thousand_on_one_connection(ProtocolVersion::V5, true).await;
}

/// Waits (bounded) for the SCHEMA_CHANGE event `want`, skipping other events (other
/// tests change the shared cluster's schema too).
async fn expect_schema_event(
    events: &mut ringbolt::unstable::RawEvents,
    change: SchemaChangeType,
    want: &SchemaChangeTarget,
) {
    let wait = async {
        loop {
            let event = events.recv().await.expect("events channel closed").unwrap();
            let Event::SchemaChange(c) = event else {
                panic!("not a schema change: {event:?}");
            };
            if c.change_type == change && &c.target == want {
                return;
            }
        }
    };
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("no {change:?} {want:?} event within 30 s"));
    println!("{change:?} {want:?} event after {:?}", started.elapsed());
}

async fn events_after_schema_change(version: ProtocolVersion, lz4: bool) {
    let s = harness::session().await;
    let node = harness::nodes()[0];
    let config = RawConnectionConfig {
        version: Some(version),
        lz4,
        ..RawConnectionConfig::default()
    };
    let opened = RawConnection::open(node, &config, true).await.unwrap();
    let conn = opened.connection;
    assert_eq!(conn.version(), version);
    let mut events = opened.events.unwrap();
    let register = Request::Register(Register::new([EventType::SchemaChange]));
    let reply = conn.call(&register).await.unwrap();
    assert!(matches!(reply, Response::Ready), "{reply:?}");

    let ks = harness::keyspace(&s, "events", 1).await;
    expect_schema_event(
        &mut events,
        SchemaChangeType::Created,
        &SchemaChangeTarget::Keyspace {
            keyspace: ks.clone(),
        },
    )
    .await;
    s.query(format!("CREATE TABLE {ks}.t (k int PRIMARY KEY)"), ())
        .await
        .unwrap();
    let table = SchemaChangeTarget::Table {
        keyspace: ks.clone(),
        table: "t".into(),
    };
    expect_schema_event(&mut events, SchemaChangeType::Created, &table).await;
    s.query(format!("ALTER TABLE {ks}.t ADD v text"), ())
        .await
        .unwrap();
    expect_schema_event(&mut events, SchemaChangeType::Updated, &table).await;
    s.query(format!("DROP TABLE {ks}.t"), ()).await.unwrap();
    expect_schema_event(&mut events, SchemaChangeType::Dropped, &table).await;
    // The connection still serves requests after pushing events.
    let reply = conn.call(&Request::Options).await.unwrap();
    assert!(matches!(reply, Response::Supported(_)), "{reply:?}");
    conn.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_events_v4() {
    events_after_schema_change(ProtocolVersion::V4, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_events_v5_lz4() {
    events_after_schema_change(ProtocolVersion::V5, true).await;
}
