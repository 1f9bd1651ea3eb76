//! Round trips of every request on v3/v4/v5 over the flag combinations that matter,
//! plus hostile input: every strict prefix is `Truncated`, trailing bytes, bad flags,
//! hostile counts, encode-side validation, and a no-panic sweep over mutated bodies.

use std::borrow::Cow;

use bytes::BytesMut;

use super::*;
use crate::protocol::wire::RawValue;
use crate::protocol::Consistency;
use ProtocolVersion::{V3, V4, V5};

const VERSIONS: [ProtocolVersion; 3] = [V3, V4, V5];

fn encode(req: &Request<'_>, version: ProtocolVersion) -> Vec<u8> {
    let mut out = BytesMut::new();
    req.encode_body(version, &mut out).unwrap();
    out.to_vec()
}

/// Encodes, decodes, compares, re-encodes byte-equal, checks every strict prefix is
/// `Truncated` and one extra byte is `TrailingBytes`.
fn check(req: &Request<'_>, version: ProtocolVersion) -> Vec<u8> {
    let body = encode(req, version);
    let op = req.opcode();
    let back = Request::decode_body(op, version, &body).unwrap();
    assert_eq!(&back, req, "v{} {op:?}", version.as_u8());
    assert_eq!(encode(&back, version), body);
    for cut in 0..body.len() {
        match Request::decode_body(op, version, &body[..cut]) {
            Err(DecodeError::Truncated { .. }) => {}
            other => panic!(
                "v{} {op:?} prefix {cut}/{}: {other:?}",
                version.as_u8(),
                body.len()
            ),
        }
    }
    let mut long = body.clone();
    long.push(0);
    assert!(matches!(
        Request::decode_body(op, version, &long),
        Err(DecodeError::TrailingBytes { extra: 1, .. })
    ));
    body
}

fn positional() -> SerializedValues {
    let mut v = SerializedValues::new();
    v.push_bytes(&42i64.to_be_bytes()).unwrap();
    v.push_null().unwrap();
    v.push_bytes(b"").unwrap();
    v
}

fn positional_v4() -> SerializedValues {
    let mut v = positional();
    v.push_unset().unwrap();
    v
}

fn named(version: ProtocolVersion) -> NamedValues {
    let mut n = NamedValues::new();
    n.push_bytes("id", &7i32.to_be_bytes()).unwrap();
    n.push_null("name").unwrap();
    if version >= V4 {
        n.push_unset("age").unwrap();
    }
    n
}

/// Every combination of the query parameters a version allows.
fn param_combos(version: ProtocolVersion) -> Vec<QueryParameters<'static>> {
    let bits = if version.is_v5() { 7 } else { 5 };
    let mut out = Vec::new();
    for values in 0..4 {
        for mask in 0u32..(1 << bits) {
            let mut p = QueryParameters::new(Consistency::LocalQuorum);
            p.values = match values {
                0 => None,
                1 => Some(Values::Positional(Cow::Owned(if version >= V4 {
                    positional_v4()
                } else {
                    positional()
                }))),
                2 => Some(Values::Positional(Cow::Owned(SerializedValues::new()))),
                _ => Some(Values::Named(Cow::Owned(named(version)))),
            };
            p.skip_metadata = mask & 1 != 0;
            p.page_size = (mask & 2 != 0).then_some(5000);
            p.paging_state = (mask & 4 != 0).then(|| Cow::Owned(vec![1, 2, 3, 0xFF]));
            p.options.serial_consistency = (mask & 8 != 0).then_some(Consistency::LocalSerial);
            p.options.timestamp = (mask & 16 != 0).then_some(1_700_000_000_000_000);
            p.options.keyspace = (mask & 32 != 0).then(|| Cow::Owned("ks1".to_owned()));
            p.options.now_in_seconds = (mask & 64 != 0).then_some(1_700_000_000);
            out.push(p);
        }
    }
    out
}

#[test]
fn startup_auth_options_register_round_trip() {
    for v in VERSIONS {
        check(&Request::Options, v);
        check(&Request::Startup(Startup::new("3.0.0")), v);
        check(
            &Request::Startup(
                Startup::new("3.0.0")
                    .with_compression("lz4")
                    .with_driver_name("ringbolt")
                    .with_driver_version("0.1.0")
                    .with_throw_on_overload(true),
            ),
            v,
        );
        check(&Request::Startup(Startup::default()), v);
        check(&Request::AuthResponse(AuthResponse::plain("u", "p")), v);
        check(&Request::AuthResponse(AuthResponse { token: None }), v);
        check(&Request::AuthResponse(AuthResponse::new(Vec::new())), v);
        check(&Request::Register(Register::default()), v);
        check(
            &Request::Register(Register::new([
                EventType::TopologyChange,
                EventType::StatusChange,
                EventType::SchemaChange,
            ])),
            v,
        );
    }
}

#[test]
fn query_round_trips_every_flag_combination() {
    let mut n = 0;
    for v in VERSIONS {
        for p in param_combos(v) {
            let body = check(
                &Request::Query(Query::new("SELECT * FROM t WHERE a = ?", p.clone())),
                v,
            );
            // The flags field sits after the [long string] and the [consistency].
            let at = 4 + 27 + 2;
            let wire_flags = if v.is_v5() {
                u32::from_be_bytes(body[at..at + 4].try_into().unwrap())
            } else {
                u32::from(body[at])
            };
            assert_eq!(wire_flags, p.flags(v).unwrap());
            n += 1;
        }
    }
    assert_eq!(n, 4 * (32 + 32 + 128));
}

#[test]
fn execute_round_trips_every_flag_combination() {
    for v in VERSIONS {
        for p in param_combos(v) {
            let meta = v.is_v5().then(|| Cow::Owned(vec![9u8; 16]));
            check(&Request::Execute(Execute::new(vec![0xAB; 16], meta, p)), v);
        }
    }
}

#[test]
fn execute_metadata_id_is_v5_only() {
    let meta: &[u8] = &[1, 2];
    let e = Execute::new(
        &[7u8][..],
        Some(Cow::Borrowed(meta)),
        QueryParameters::default(),
    );
    let req = Request::Execute(e.clone());
    // ignored on v4: the field does not exist there
    let v4 = encode(&req, V4);
    assert_eq!(v4, [0, 1, 7, 0, 6, 0]);
    match Request::decode_body(Opcode::Execute, V4, &v4).unwrap() {
        Request::Execute(d) => assert_eq!(d.result_metadata_id, None),
        other => panic!("{other:?}"),
    }
    assert_eq!(encode(&req, V5), [0, 1, 7, 0, 2, 1, 2, 0, 6, 0, 0, 0, 0]);
    // mandatory on v5; a failed encode leaves the buffer untouched
    let bad = Request::Execute(Execute::new(&[7u8][..], None, QueryParameters::default()));
    let mut out = BytesMut::from(&b"hdr"[..]);
    assert!(matches!(
        bad.encode_body(V5, &mut out),
        Err(EncodeError::Invalid { .. })
    ));
    assert_eq!(&out[..], b"hdr");
}

#[test]
fn prepare_round_trips() {
    for v in VERSIONS {
        check(&Request::Prepare(Prepare::new("SELECT 1")), v);
    }
    let mut p = Prepare::new("SELECT 1");
    p.keyspace = Some("ks".into());
    check(&Request::Prepare(p.clone()), V5);
    for v in [V3, V4] {
        assert!(matches!(
            Request::Prepare(p.clone()).encode_body(v, &mut BytesMut::new()),
            Err(EncodeError::UnsupportedByVersion { .. })
        ));
    }
    // v5 writes the flags [int] even when zero
    assert_eq!(
        encode(&Request::Prepare(Prepare::new("")), V5),
        [0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        encode(&Request::Prepare(Prepare::new("")), V4),
        [0, 0, 0, 0]
    );
    // unknown PREPARE flag bits
    assert!(matches!(
        Request::decode_body(Opcode::Prepare, V5, &[0, 0, 0, 0, 0, 0, 0, 2]),
        Err(DecodeError::UnknownValue { .. })
    ));
}

fn sample_batch(version: ProtocolVersion, mask: u32, ty: BatchType) -> Batch<'static> {
    let mut b = Batch::new(ty, Consistency::Quorum);
    b.statements.push(BatchStatement {
        kind: BatchStatementKind::Query("INSERT INTO t (a) VALUES (?)".into()),
        values: Cow::Owned(positional()),
    });
    b.statements.push(BatchStatement {
        kind: BatchStatementKind::Prepared(Cow::Owned(vec![1, 2, 3])),
        values: Cow::Owned(if version >= V4 {
            positional_v4()
        } else {
            positional()
        }),
    });
    b.statements.push(BatchStatement {
        kind: BatchStatementKind::Query("".into()),
        values: Cow::Owned(SerializedValues::new()),
    });
    b.options.serial_consistency = (mask & 1 != 0).then_some(Consistency::Serial);
    b.options.timestamp = (mask & 2 != 0).then_some(-5);
    b.options.keyspace = (mask & 4 != 0).then(|| "ks".into());
    b.options.now_in_seconds = (mask & 8 != 0).then_some(12);
    b
}

#[test]
fn batch_round_trips() {
    for v in VERSIONS {
        let masks = if v.is_v5() { 16 } else { 4 };
        for mask in 0..masks {
            for ty in [BatchType::Logged, BatchType::Unlogged, BatchType::Counter] {
                check(&Request::Batch(sample_batch(v, mask, ty)), v);
            }
        }
        check(
            &Request::Batch(Batch::new(BatchType::Unlogged, Consistency::One)),
            v,
        );
    }
}

#[test]
fn v5_only_options_fail_on_v3_v4() {
    for v in [V3, V4] {
        let mut p = QueryParameters::default();
        p.options.keyspace = Some("ks".into());
        let q = Request::Query(Query::new("x", p));
        assert!(matches!(
            q.encode_body(v, &mut BytesMut::new()),
            Err(EncodeError::UnsupportedByVersion { .. })
        ));
        let mut p = QueryParameters::default();
        p.options.now_in_seconds = Some(1);
        assert!(Request::Query(Query::new("x", p))
            .encode_body(v, &mut BytesMut::new())
            .is_err());
        assert!(Request::Batch(sample_batch(v, 4, BatchType::Logged))
            .encode_body(v, &mut BytesMut::new())
            .is_err());
    }
}

#[test]
fn encode_validation() {
    let mut p = QueryParameters::default();
    p.options.serial_consistency = Some(Consistency::One);
    let mut out = BytesMut::new();
    assert!(matches!(
        Request::Query(Query::new("x", p)).encode_body(V4, &mut out),
        Err(EncodeError::Invalid { .. })
    ));
    assert!(out.is_empty());
    let mut p = QueryParameters::default();
    p.options.timestamp = Some(i64::MIN);
    assert!(Request::Query(Query::new("x", p))
        .encode_body(V4, &mut out)
        .is_err());
    // unset values do not exist on v3
    let p = QueryParameters {
        values: Some(Values::Positional(Cow::Owned(positional_v4()))),
        ..QueryParameters::default()
    };
    assert!(matches!(
        Request::Query(Query::new("x", p)).encode_body(V3, &mut out),
        Err(EncodeError::UnsupportedByVersion { version: 3, .. })
    ));
    let mut b = Batch::new(BatchType::Logged, Consistency::One);
    for _ in 0..=u16::MAX as usize {
        b.statements.push(BatchStatement {
            kind: BatchStatementKind::Prepared(Cow::Borrowed(&[])),
            values: Cow::Owned(SerializedValues::new()),
        });
    }
    assert!(matches!(
        Request::Batch(b).encode_body(V4, &mut out),
        Err(EncodeError::TooLong { .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn borrowed_values_encode_like_owned() {
    let vals = positional_v4();
    let id = [5u8; 16];
    let ks = String::from("ks");
    let mut p = QueryParameters::new(Consistency::One);
    p.values = Some(Values::Positional(Cow::Borrowed(&vals)));
    p.options.keyspace = Some(Cow::Borrowed(&ks));
    let borrowed = Request::Execute(Execute::new(&id[..], Some(Cow::Borrowed(&id[..4])), p));
    let owned = borrowed.clone().into_owned();
    assert_eq!(encode(&borrowed, V5), encode(&owned, V5));
    check(&borrowed, V5);
}

#[test]
fn hostile_bodies_fail_fast() {
    // QUERY "" ONE flags=VALUES, 65535 values claimed, 2 bytes left
    let body = [0, 0, 0, 0, 0, 1, 0x01, 0xFF, 0xFF, 0, 0];
    assert!(matches!(
        Request::decode_body(Opcode::Query, V4, &body),
        Err(DecodeError::Truncated { need: 262_140, .. })
    ));
    // same with names (flag 0x41) on v5
    let body = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0x41, 0xFF, 0xFF, 0, 0];
    assert!(matches!(
        Request::decode_body(Opcode::Query, V5, &body),
        Err(DecodeError::Truncated { .. })
    ));
    // a value length of -3
    let body = [0, 0, 0, 0, 0, 1, 0x01, 0, 1, 0xFF, 0xFF, 0xFF, 0xFD];
    assert!(matches!(
        Request::decode_body(Opcode::Query, V4, &body),
        Err(DecodeError::InvalidLength { len: -3, .. })
    ));
    // a negative [long string] length
    assert!(matches!(
        Request::decode_body(Opcode::Query, V4, &[0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0]),
        Err(DecodeError::InvalidLength { .. })
    ));
    // BATCH claiming 65535 children
    assert!(matches!(
        Request::decode_body(Opcode::Batch, V4, &[0, 0xFF, 0xFF, 0, 0, 0, 0]),
        Err(DecodeError::Truncated { .. })
    ));
    // REGISTER claiming 65535 names
    assert!(matches!(
        Request::decode_body(Opcode::Register, V4, &[0xFF, 0xFF, 0, 0]),
        Err(DecodeError::Truncated { .. })
    ));
    // unknown REGISTER event name
    assert!(matches!(
        Request::decode_body(Opcode::Register, V4, &[0, 1, 0, 1, b'X']),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn unknown_flags_and_kinds_are_rejected() {
    // v4 QUERY flags 0x80 (keyspace does not exist on v4)
    assert!(matches!(
        Request::decode_body(Opcode::Query, V4, &[0, 0, 0, 0, 0, 1, 0x80, 0, 1, b'k']),
        Err(DecodeError::UnknownValue {
            what: "query flags",
            ..
        })
    ));
    // v5 QUERY flags 0x200
    assert!(matches!(
        Request::decode_body(Opcode::Query, V5, &[0, 0, 0, 0, 0, 1, 0, 0, 2, 0]),
        Err(DecodeError::UnknownValue { .. })
    ));
    // BATCH: low 4 flag bits must be 0; 0x40 (names) is not supported
    for f in [0x01u8, 0x04, 0x40] {
        assert!(matches!(
            Request::decode_body(Opcode::Batch, V4, &[0, 0, 0, 0, 1, f]),
            Err(DecodeError::UnknownValue {
                what: "batch flags",
                ..
            })
        ));
    }
    // BATCH v4 with the v5-only keyspace flag
    assert!(Request::decode_body(Opcode::Batch, V4, &[0, 0, 0, 0, 1, 0x80, 0, 0]).is_err());
    // BATCH type 3, child kind 2
    assert!(matches!(
        Request::decode_body(Opcode::Batch, V4, &[3, 0, 0, 0, 1, 0]),
        Err(DecodeError::UnknownValue {
            what: "batch type",
            ..
        })
    ));
    assert!(matches!(
        Request::decode_body(Opcode::Batch, V4, &[0, 0, 1, 2, 0, 0, 0, 0, 0, 1, 0]),
        Err(DecodeError::UnknownValue {
            what: "batch statement kind",
            ..
        })
    ));
    // unknown consistency
    assert!(matches!(
        Request::decode_body(Opcode::Query, V4, &[0, 0, 0, 0, 0, 0x0B, 0]),
        Err(DecodeError::UnknownValue { .. })
    ));
}

#[test]
fn response_opcodes_and_options_trailing_bytes() {
    assert!(matches!(
        Request::decode_body(Opcode::Result, V4, &[]),
        Err(DecodeError::Unexpected { .. })
    ));
    assert!(matches!(
        Request::decode_body(Opcode::Options, V4, &[0]),
        Err(DecodeError::TrailingBytes {
            what: "OPTIONS",
            extra: 1
        })
    ));
}

#[test]
fn v3_and_quirks_of_decoding() {
    // 0x40 without 0x01 is ignored: no values are read (spec 4.1.4)
    match Request::decode_body(Opcode::Query, V4, &[0, 0, 0, 0, 0, 1, 0x40]).unwrap() {
        Request::Query(q) => assert_eq!(q.params.values, None),
        other => panic!("{other:?}"),
    }
    // a null paging state decodes as "no paging state"
    match Request::decode_body(
        Opcode::Query,
        V4,
        &[0, 0, 0, 0, 0, 1, 0x08, 0xFF, 0xFF, 0xFF, 0xFF],
    )
    .unwrap()
    {
        Request::Query(q) => assert_eq!(q.params.paging_state, None),
        other => panic!("{other:?}"),
    }
    // v3: a value length of -2 is null (v3 values are [bytes])
    match Request::decode_body(
        Opcode::Query,
        V3,
        &[0, 0, 0, 0, 0, 1, 1, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE],
    )
    .unwrap()
    {
        Request::Query(q) => match q.params.values {
            Some(Values::Positional(v)) => {
                assert_eq!(v.iter().collect::<Vec<_>>(), [RawValue::Null])
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

/// Deterministic xorshift, so the sweep needs no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_and_random_bodies_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let ops = [
        Opcode::Startup,
        Opcode::AuthResponse,
        Opcode::Options,
        Opcode::Query,
        Opcode::Prepare,
        Opcode::Execute,
        Opcode::Batch,
        Opcode::Register,
    ];
    for v in VERSIONS {
        let mut seeds: Vec<(Opcode, Vec<u8>)> = Vec::new();
        for p in param_combos(v).into_iter().step_by(7) {
            let q = Request::Query(Query::new("SELECT ?", p.clone()));
            seeds.push((q.opcode(), encode(&q, v)));
            let meta = v.is_v5().then(|| Cow::Owned(vec![3u8; 4]));
            let e = Request::Execute(Execute::new(vec![1u8; 4], meta, p));
            seeds.push((e.opcode(), encode(&e, v)));
        }
        let b = Request::Batch(sample_batch(
            v,
            if v.is_v5() { 15 } else { 3 },
            BatchType::Logged,
        ));
        seeds.push((b.opcode(), encode(&b, v)));
        for (op, body) in &seeds {
            for _ in 0..40 {
                let mut m = body.clone();
                let i = (rng.next() as usize) % m.len();
                m[i] = rng.next() as u8;
                let _ = Request::decode_body(*op, v, &m);
            }
        }
        for _ in 0..2000 {
            let len = (rng.next() % 40) as usize;
            let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let op = ops[(rng.next() as usize) % ops.len()];
            let _ = Request::decode_body(op, v, &body);
        }
    }
}
