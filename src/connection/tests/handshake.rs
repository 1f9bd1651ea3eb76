//! Handshake tests: versions, fallback, LZ4, authentication, keyspace, deadlines.

use super::*;

#[tokio::test]
async fn handshake_v5_switches_to_segments_and_v4_stays_plain() {
    for version in [ProtocolVersion::V5, ProtocolVersion::V4] {
        let node = echo_node(FakeConfig::default());
        let (opened, _fake) = try_open(&node, version, &config()).await;
        let opened = opened.unwrap();
        let conn = opened.connection;
        assert_eq!(conn.version(), version);
        assert!(opened
            .supported
            .iter()
            .any(|(k, v)| k == "PROTOCOL_VERSIONS" && v.contains(&"5/v5".to_owned())));
        // The fake decodes segments after READY on v5: a wrongly framed request would
        // kill the connection instead of being echoed.
        assert_eq!(ask(&conn, "hello").await.unwrap(), "hello");
        assert_eq!(ask(&conn, "again").await.unwrap(), "again");
        let stats = node.stats();
        assert_eq!(stats.count(Opcode::Options), 1);
        assert_eq!(stats.count(Opcode::Startup), 1);
        assert_eq!(stats.count(Opcode::Query), 2);
    }
}

#[tokio::test]
async fn lz4_on_v4_and_v5_compresses_both_ways() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let node = echo_node(FakeConfig::default());
        let mut cfg = config();
        cfg.compression = Some(Compression::Lz4);
        let s = open(&node, version, &cfg).await;
        let big = "x".repeat(50_000);
        let sent_before = s.conn.shared().bytes_sent.load(Ordering::Relaxed);
        let received_before = s.conn.shared().bytes_received.load(Ordering::Relaxed);
        assert_eq!(ask(&s.conn, &big).await.unwrap(), big);
        let sent = s.conn.shared().bytes_sent.load(Ordering::Relaxed) - sent_before;
        let received = s.conn.shared().bytes_received.load(Ordering::Relaxed) - received_before;
        assert!(
            sent < 5_000,
            "{version:?}: request not compressed ({sent} bytes)"
        );
        assert!(
            received < 5_000,
            "{version:?}: response not compressed ({received})"
        );
    }
}

#[tokio::test]
async fn refused_v5_falls_back_to_v4_on_a_new_connection() {
    let node = echo_node(FakeConfig {
        refuse_v5: true,
        ..FakeConfig::default()
    });
    let connector = || {
        let (client, server) = tokio::io::duplex(1 << 16);
        let _fake = node.spawn(server);
        async move { Ok(client) }
    };
    let opened = Connection::open_with(addr(), &config(), false, connector)
        .await
        .unwrap();
    assert_eq!(opened.connection.version(), ProtocolVersion::V4);
    assert_eq!(node.stats().connections(), 2);
    assert_eq!(node.stats().count(Opcode::Options), 2, "v5 then v4");
    assert_eq!(
        ask(&opened.connection, "v4 works").await.unwrap(),
        "v4 works"
    );

    // Pinned to v5, the refusal is reported with the node's message.
    let (err, _fake) = try_open(&node, ProtocolVersion::V5, &config()).await;
    match err.unwrap_err() {
        ConnectionError::UnsupportedVersion {
            version, message, ..
        } => {
            assert_eq!(version, 5);
            assert!(
                message.contains("supported versions are (3/v3, 4/v4)"),
                "{message}"
            );
        }
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
}

fn auth_node() -> FakeNode {
    echo_node(FakeConfig {
        credentials: Some(("cassandra".into(), "secret".into())),
        ..FakeConfig::default()
    })
}

fn with_password(password: &str) -> ConnectionConfig {
    let mut cfg = config();
    cfg.authenticator = Some(Arc::new(PlainTextAuthenticator::new("cassandra", password)));
    cfg
}

#[tokio::test]
async fn password_auth_succeeds_on_v4_and_v5() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let node = auth_node();
        let s = open(&node, version, &with_password("secret")).await;
        assert_eq!(ask(&s.conn, "in").await.unwrap(), "in");
        assert_eq!(node.stats().count(Opcode::AuthResponse), 1);
    }
}

#[tokio::test]
async fn wrong_password_fails_once_with_the_server_message() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let node = auth_node();
        let (r, _fake) = try_open(&node, version, &with_password("wrong")).await;
        match r.unwrap_err() {
            ConnectionError::AuthFailed { message, .. } => {
                assert!(message.contains("password are incorrect"), "{message}")
            }
            other => panic!("expected AuthFailed, got {other:?}"),
        }
        assert_eq!(node.stats().count(Opcode::AuthResponse), 1, "no retry loop");
        // Without credentials the node's authenticator is named.
        let (r, _fake) = try_open(&node, version, &config()).await;
        assert!(matches!(
            r.unwrap_err(),
            ConnectionError::AuthRequired { authenticator, .. }
                if authenticator.ends_with("PasswordAuthenticator")
        ));
    }
}

#[tokio::test(start_paused = true)]
async fn silent_handshake_times_out() {
    let node = echo_node(FakeConfig {
        silent_handshake: true,
        ..FakeConfig::default()
    });
    let mut cfg = config();
    cfg.connect_timeout = Duration::from_secs(5);
    let start = Instant::now();
    let (r, _fake) = try_open(&node, ProtocolVersion::V5, &cfg).await;
    assert!(matches!(
        r.unwrap_err(),
        ConnectionError::ConnectTimeout { timeout, .. } if timeout == Duration::from_secs(5)
    ));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    let connector = || {
        let (client, server) = tokio::io::duplex(1 << 16);
        let _fake = node.spawn(server);
        async move { Ok(client) }
    };
    let r = Connection::open_with(addr(), &cfg, false, connector).await;
    assert!(matches!(
        r.unwrap_err(),
        ConnectionError::ConnectTimeout { .. }
    ));
    assert_eq!(node.stats().count(Opcode::Startup), 0);
}

/// Bytes that arrive together with the last handshake answer are not lost.
#[tokio::test]
async fn bytes_read_with_the_last_handshake_answer_reach_the_task() {
    use crate::protocol::frame::FrameDecoder;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn response(stream: i16, r: &Response, out: &mut BytesMut) {
        let v = ProtocolVersion::V4;
        frame::encode_frame(
            out,
            v,
            Direction::Response,
            FrameFlags::empty(),
            stream,
            r.opcode(),
            None,
            |b| r.encode_body(v, b),
        )
        .unwrap();
    }
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let node = tokio::spawn(async move {
        let mut decoder = FrameDecoder::default();
        let mut rbuf = BytesMut::new();
        for answer in [supported(true), Response::Ready] {
            let request = loop {
                if let Some(f) = decoder.decode(&mut rbuf).unwrap() {
                    break f;
                }
                assert!(server.read_buf(&mut rbuf).await.unwrap() > 0);
            };
            let mut out = BytesMut::new();
            response(request.header.stream, &answer, &mut out);
            if answer == Response::Ready {
                // An event in the same write as READY.
                let event = Event::StatusChange {
                    change: StatusChangeType::Up,
                    addr: addr(),
                };
                response(-1, &Response::Event(event), &mut out);
            }
            server.write_all(&out).await.unwrap();
        }
        server
    });
    let mut opened = Connection::open_on(client, addr(), ProtocolVersion::V4, &config(), true)
        .await
        .unwrap();
    let event = opened.events.as_mut().unwrap().recv().await.unwrap();
    assert!(event.is_ok(), "{event:?}");
    assert!(opened.connection.broken().is_none());
    drop(node);
}

#[tokio::test]
async fn handshake_switches_keyspace_with_a_quoted_use() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let node = recording(log.clone());
    let mut cfg = config();
    cfg.keyspace = Some("MyKs".into());
    let s = open(&node, ProtocolVersion::V5, &cfg).await;
    assert_eq!(log.lock().unwrap()[0].1, "USE \"MyKs\"");
    assert_eq!(ask(&s.conn, "next").await.unwrap(), "next");
}

/// The real TCP path: `Connection::open` against `serve_tcp`, falling back to v4.
#[tokio::test]
async fn open_over_tcp_against_serve_tcp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap();
    let node = echo_node(FakeConfig {
        refuse_v5: true,
        ..FakeConfig::default()
    });
    let server = tokio::spawn(crate::fake_node::serve_tcp(listener, node.clone()));
    let opened = Connection::open(local, &config(), false).await.unwrap();
    assert_eq!(opened.connection.version(), ProtocolVersion::V4);
    assert_eq!(ask(&opened.connection, "tcp").await.unwrap(), "tcp");
    assert_eq!(node.stats().connections(), 2);
    server.abort();
}
