//! Tests of the connection task: out-of-order answers, byte-split frames, cancel,
//! stream-id exhaustion, failure propagation, heartbeats, events, orphans, coalescing.

use super::*;

#[tokio::test]
async fn out_of_order_responses_reach_their_own_callers() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let node = echo_node(FakeConfig {
            reverse_batch: 1000,
            ..FakeConfig::default()
        });
        let s = open(&node, version, &config()).await;
        let tasks: Vec<_> = (0..1000)
            .map(|i| spawn_ask(&s.conn, &format!("marker-{i}")))
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap().unwrap(), format!("marker-{i}"));
        }
        assert_eq!(s.conn.in_flight(), 0);
    }
}

#[tokio::test]
async fn frames_split_into_single_bytes_are_reassembled() {
    for (version, compression) in [
        (ProtocolVersion::V4, None),
        (ProtocolVersion::V5, None),
        (ProtocolVersion::V5, Some(Compression::Lz4)),
    ] {
        let node = echo_node(FakeConfig {
            one_byte_writes: true,
            ..FakeConfig::default()
        });
        let mut cfg = config();
        cfg.compression = compression;
        let mut s = open(&node, version, &cfg).await;
        let tasks: Vec<_> = (0..5)
            .map(|i| spawn_ask(&s.conn, &format!("q{i}")))
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap().unwrap(), format!("q{i}"));
        }
        let addr = addr();
        s.fake.event(Event::StatusChange {
            change: StatusChangeType::Up,
            addr,
        });
        let event = s.events.as_mut().unwrap().recv().await.unwrap();
        assert!(matches!(event, Ok(Event::StatusChange { .. })), "{event:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn cancelled_request_keeps_its_id_until_the_late_answer() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let node = recording(log.clone());
    let s = open(&node, ProtocolVersion::V5, &config()).await;
    let held = spawn_ask(&s.conn, "hold-1");
    until("held request seen", || log.lock().unwrap().len() == 1).await;
    held.abort();
    assert!(held.await.unwrap_err().is_cancelled());
    let held_id = stream_of(&log, "hold-1");
    assert_eq!(s.conn.in_flight(), 1, "the abandoned id stays reserved");

    assert_eq!(ask(&s.conn, "other").await.unwrap(), "other");
    assert_ne!(
        stream_of(&log, "other"),
        held_id,
        "id not reused while orphaned"
    );

    // The late answer is swallowed; it frees the id and does not break anything.
    s.fake.reply(held_id, marker("late"));
    let conn = s.conn.clone();
    until("orphan released", move || conn.in_flight() == 0).await;
    assert_eq!(ask(&s.conn, "after").await.unwrap(), "after");
    assert_eq!(stream_of(&log, "after"), held_id, "id reused once answered");
    assert!(s.conn.broken().is_none());
}

#[tokio::test]
async fn request_beyond_32768_in_flight_waits_for_a_free_id() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let node = recording(log.clone());
    let s = open(&node, ProtocolVersion::V5, &config()).await;
    let tasks: Vec<_> = (0..MAX_STREAMS)
        .map(|i| spawn_ask(&s.conn, &format!("hold-{i}")))
        .collect();
    until("all ids used", || log.lock().unwrap().len() == MAX_STREAMS).await;
    assert_eq!(s.conn.in_flight(), MAX_STREAMS);
    let extra = spawn_ask(&s.conn, "hold-extra");
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }
    assert!(
        !extra.is_finished(),
        "the extra request waits, it does not fail"
    );
    assert_eq!(log.lock().unwrap().len(), MAX_STREAMS, "and is not written");

    s.fake.reply(stream_of(&log, "hold-7"), marker("hold-7"));
    until("extra written", || {
        log.lock().unwrap().len() == MAX_STREAMS + 1
    })
    .await;
    let extra_id = stream_of(&log, "hold-extra");
    assert_eq!(extra_id, stream_of(&log, "hold-7"), "it got the freed id");
    s.fake.reply(extra_id, marker("hold-extra"));
    assert_eq!(extra.await.unwrap().unwrap(), "hold-extra");
    s.conn.close();
    let mut answered = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            answered += 1;
        }
    }
    assert_eq!(answered, 1);
}

#[tokio::test(start_paused = true)]
async fn peer_close_fails_every_waiter_at_once() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let node = recording(log.clone());
    let mut cfg = config();
    cfg.max_streams = 3;
    let s = open(&node, ProtocolVersion::V4, &cfg).await;
    let written: Vec<_> = (0..3)
        .map(|i| spawn_ask(&s.conn, &format!("hold-{i}")))
        .collect();
    until("3 written", || log.lock().unwrap().len() == 3).await;
    let queued = spawn_ask(&s.conn, "hold-queued");
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    let start = Instant::now();
    s.fake.close();
    for t in written {
        let e = t.await.unwrap().unwrap_err();
        assert!(
            matches!(e.error, ConnectionError::ClosedByPeer { .. }),
            "{e:?}"
        );
        assert!(e.written);
    }
    let e = queued.await.unwrap().unwrap_err();
    assert!(matches!(e.error, ConnectionError::ClosedByPeer { .. }));
    assert!(!e.written, "a queued request was never written");
    assert_eq!(Instant::now(), start, "no timeout was involved");
    assert!(!s.conn.is_usable());
    let e = ask(&s.conn, "later").await.unwrap_err();
    assert!(matches!(e.error, ConnectionError::ClosedByPeer { .. }) && !e.written);
}

#[tokio::test]
async fn answer_on_unknown_stream_is_fatal_for_all_waiters() {
    let node = FakeNode::new(FakeConfig::default(), |request, stream| match request {
        Request::Query(q) if q.query == "bad" => Action::ReplyOnStream(1234, marker("bad")),
        Request::Query(_) => Action::NoReply,
        _ => echo(request, stream),
    });
    let s = open(&node, ProtocolVersion::V5, &config()).await;
    let pending = spawn_ask(&s.conn, "pending");
    until("pending written", || node.stats().count(Opcode::Query) == 1).await;
    let bad = ask(&s.conn, "bad").await.unwrap_err();
    let pending = pending.await.unwrap().unwrap_err();
    for e in [bad, pending] {
        assert!(
            matches!(
                e.error,
                ConnectionError::UnexpectedStream { stream: 1234, .. }
            ),
            "{e:?}"
        );
        assert!(e.written);
    }
    assert!(matches!(
        s.conn.broken(),
        Some(ConnectionError::UnexpectedStream { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn idle_connection_sends_heartbeats() {
    let node = echo_node(FakeConfig::default());
    let s = open(&node, ProtocolVersion::V5, &config()).await;
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert_eq!(
        node.stats().count(Opcode::Options),
        1,
        "only the handshake's"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(node.stats().count(Opcode::Options), 2, "one heartbeat");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(node.stats().count(Opcode::Options) >= 3);
    assert!(s.conn.is_usable());
    assert_eq!(ask(&s.conn, "alive").await.unwrap(), "alive");
}

#[tokio::test(start_paused = true)]
async fn unanswered_heartbeat_fails_waiters() {
    let node = FakeNode::new(FakeConfig::default(), |_, _| Action::NoReply);
    let s = open(&node, ProtocolVersion::V4, &config()).await;
    let start = Instant::now();
    let e = ask(&s.conn, "never").await.unwrap_err();
    assert!(
        matches!(e.error, ConnectionError::HeartbeatTimeout { .. }),
        "{e:?}"
    );
    assert!(e.written);
    let took = start.elapsed();
    // 30 s of silence, then 10 s without an answer (checked on a 1 s tick).
    assert!(
        took >= Duration::from_secs(40) && took <= Duration::from_secs(42),
        "{took:?}"
    );
    assert_eq!(node.stats().count(Opcode::Options), 2);
}

#[tokio::test]
async fn events_arrive_on_the_events_channel() {
    let node = FakeNode::new(FakeConfig::default(), |request, stream| match request {
        Request::Register(_) => Action::All(vec![
            Action::Reply(Response::Ready),
            Action::SendEvent(Event::StatusChange {
                change: StatusChangeType::Down,
                addr: "10.0.0.9:9042".parse().unwrap(),
            }),
        ]),
        _ => echo(request, stream),
    });
    let mut s = open(&node, ProtocolVersion::V5, &config()).await;
    let register = Request::Register(crate::protocol::request::Register {
        events: vec![crate::protocol::request::EventType::StatusChange],
    });
    let ready = s
        .conn
        .call(&register, CallOptions::default())
        .await
        .unwrap();
    assert_eq!(ready.response, Response::Ready);
    match s.events.as_mut().unwrap().recv().await.unwrap() {
        Ok(Event::StatusChange { change, addr }) => {
            assert_eq!(change, StatusChangeType::Down);
            assert_eq!(addr, "10.0.0.9:9042".parse().unwrap());
        }
        other => panic!("expected an event, got {other:?}"),
    }
    assert_eq!(s.conn.in_flight(), 0);
}

#[tokio::test]
async fn queued_requests_leave_in_few_writes() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let node = echo_node(FakeConfig::default());
        let s = open(&node, version, &config()).await;
        let writes_before = s.writes.load(Ordering::SeqCst);
        let reads_before = node.stats().reads();
        let tasks: Vec<_> = (0..100)
            .map(|i| spawn_ask(&s.conn, &format!("c{i}")))
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap().unwrap(), format!("c{i}"));
        }
        let writes = s.writes.load(Ordering::SeqCst) - writes_before;
        let reads = node.stats().reads() - reads_before;
        assert!(
            writes <= 3,
            "{version:?}: 100 requests took {writes} writes"
        );
        assert!(reads <= 3, "{version:?}: the fake needed {reads} reads");
    }
}
#[tokio::test(start_paused = true)]
async fn written_flag_is_exact_per_frame_on_v4() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let node = recording(log.clone());
    let s = open(&node, ProtocolVersion::V4, &config()).await;
    let frame_len = frame_len(&s.conn, &query("hold-0"));
    // The socket takes two and a half frames of the coalesced write, then stalls.
    s.budget
        .store(2 * frame_len + frame_len / 2, Ordering::SeqCst);
    let tasks: Vec<_> = (0..5)
        .map(|i| spawn_ask(&s.conn, &format!("hold-{i}")))
        .collect();
    until("two frames arrived", || log.lock().unwrap().len() == 2).await;
    s.fake.close();
    let written: Vec<bool> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap_err().written)
        .collect();
    assert_eq!(written, [true, true, false, false, false]);
}

#[tokio::test(start_paused = true)]
async fn written_flag_follows_whole_segments_on_v5() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let node = recording(log.clone());
    let s = open(&node, ProtocolVersion::V5, &config()).await;
    // Two 50 kB frames fit one segment payload (128 KiB - 1), a third does not.
    let text = |i: usize| format!("hold-{i}-{}", "x".repeat(50_000));
    let frame_len = frame_len(&s.conn, &query(&text(0)));
    let segment_len = 6 + 2 * frame_len + 4;
    s.budget.store(segment_len + 100, Ordering::SeqCst);
    let tasks: Vec<_> = (0..5).map(|i| spawn_ask(&s.conn, &text(i))).collect();
    until("first segment arrived", || log.lock().unwrap().len() == 2).await;
    s.fake.close();
    let written: Vec<bool> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap_err().written)
        .collect();
    assert_eq!(written, [true, true, false, false, false]);
}
#[tokio::test(start_paused = true)]
async fn too_many_orphans_recycle_the_connection() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let node = recording(log.clone());
    let mut cfg = config();
    cfg.max_orphans = 2;
    cfg.orphan_age = Duration::from_secs(1);
    cfg.orphan_check_interval = Duration::from_secs(1);
    let s = open(&node, ProtocolVersion::V5, &cfg).await;
    let live = spawn_ask(&s.conn, "hold-live");
    let orphans: Vec<_> = (0..3)
        .map(|i| spawn_ask(&s.conn, &format!("hold-{i}")))
        .collect();
    until("all written", || log.lock().unwrap().len() == 4).await;
    for t in orphans {
        t.abort();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.conn.old_orphans(), 3);
    assert!(!s.conn.is_usable(), "recycling");
    assert!(s.conn.broken().is_none(), "still serving its live request");

    // A request arriving now is refused at once, never written.
    let e = ask(&s.conn, "late-comer").await.unwrap_err();
    assert!(
        matches!(e.error, ConnectionError::Recycled { .. }) && !e.written,
        "{e:?}"
    );
    assert_eq!(log.lock().unwrap().len(), 4);

    s.fake.reply(stream_of(&log, "hold-live"), marker("live"));
    assert_eq!(live.await.unwrap().unwrap(), "live");
    s.conn.closed().await;
    assert!(matches!(
        s.conn.broken(),
        Some(ConnectionError::Recycled { .. })
    ));
}

#[tokio::test]
async fn zero_heartbeat_interval_does_not_kill_the_task() {
    let node = echo_node(FakeConfig::default());
    let mut cfg = config();
    cfg.heartbeat_interval = Some(Duration::ZERO);
    let s = open(&node, ProtocolVersion::V4, &cfg).await;
    assert_eq!(ask(&s.conn, "still here").await.unwrap(), "still here");
    assert!(s.conn.broken().is_none());
}

#[tokio::test(start_paused = true)]
async fn delayed_answers_arrive_after_their_delay() {
    let node = FakeNode::new(FakeConfig::default(), |request, stream| match request {
        Request::Query(q) => Action::ReplyAfter(Duration::from_secs(5), marker(&q.query)),
        _ => echo(request, stream),
    });
    let s = open(&node, ProtocolVersion::V4, &config()).await;
    let start = Instant::now();
    let (a, b) = tokio::join!(ask(&s.conn, "a"), ask(&s.conn, "b"));
    assert_eq!((a.unwrap(), b.unwrap()), ("a".into(), "b".into()));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test]
async fn malformed_frame_fails_alone() {
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let node = echo_node(FakeConfig::default());
        let s = open(&node, version, &config()).await;
        let good = s
            .conn
            .encode(&query("ok"), &CallOptions::default())
            .unwrap();
        let mut short_body = good.clone();
        short_body.truncate(good.len() - 1);
        for bad in [BytesMut::from(&[0u8; 5][..]), short_body] {
            let e = s.conn.send_frame(bad).await.unwrap_err();
            assert!(matches!(e.error, ConnectionError::InvalidRequestFrame) && !e.written);
        }
        assert_eq!(ask(&s.conn, "ok").await.unwrap(), "ok");
        assert!(s.conn.is_usable());
    }
}
