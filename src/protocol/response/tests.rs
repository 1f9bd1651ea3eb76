//! Round trips of every response and every error code on v3, v4 and v5, the envelope,
//! hostile lengths and counts, and the encoder's consistency checks.

use std::net::IpAddr;

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::types::ColumnType;
use crate::protocol::Consistency;
use ProtocolVersion::{V3, V4, V5};

const VERSIONS: [ProtocolVersion; 3] = [V3, V4, V5];

fn col(ks: &str, table: &str, name: &str, typ: ColumnType) -> ColumnSpec {
    ColumnSpec {
        keyspace: ks.into(),
        table: table.into(),
        name: name.into(),
        typ,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn failures(v: ProtocolVersion) -> Failures {
    if v.is_v5() {
        Failures::Reasons(vec![(ip("127.0.0.1"), 0), (ip("2001:db8::7"), 0x0005)])
    } else {
        Failures::Count(2)
    }
}

/// One value of every error kind, shaped for `v`.
fn all_error_kinds(v: ProtocolVersion) -> Vec<ErrorKind> {
    use ErrorKind as K;
    let cl = Consistency::LocalQuorum;
    let mut kinds = vec![
        K::ServerError,
        K::ProtocolError,
        K::BadCredentials,
        K::Unavailable {
            consistency: Consistency::All,
            required: 3,
            alive: 2,
        },
        K::Overloaded,
        K::IsBootstrapping,
        K::TruncateError,
        K::ReadTimeout {
            consistency: cl,
            received: 1,
            block_for: 2,
            data_present: true,
        },
        K::ReadFailure {
            consistency: cl,
            received: 0,
            block_for: 2,
            failures: failures(v),
            data_present: false,
        },
        K::FunctionFailure {
            keyspace: "ks".into(),
            function: "f".into(),
            arg_types: vec![],
        },
        K::WriteFailure {
            consistency: cl,
            received: 0,
            block_for: 1,
            failures: failures(v),
            write_type: WriteType::UnloggedBatch,
        },
        K::CdcWriteFailure,
        K::CasWriteUnknown {
            consistency: Consistency::LocalSerial,
            received: 0,
            block_for: 2,
        },
        K::SyntaxError,
        K::Unauthorized,
        K::Invalid,
        K::ConfigError,
        K::AlreadyExists {
            keyspace: "ks".into(),
            table: "t".into(),
        },
        K::Unprepared {
            id: Bytes::from_static(&[9; 16]),
        },
        K::Unknown {
            code: 0x0F00,
            extra: Bytes::from_static(b"\x01\x02raw"),
        },
    ];
    for wt in [
        WriteType::Simple,
        WriteType::Batch,
        WriteType::UnloggedBatch,
        WriteType::Counter,
        WriteType::BatchLog,
        WriteType::Cas,
        WriteType::View,
        WriteType::Cdc,
        WriteType::Other("FUTURE_WRITE".into()),
    ] {
        kinds.push(K::WriteTimeout {
            consistency: Consistency::Two,
            received: 1,
            block_for: 2,
            write_type: wt,
            contentions: None,
        });
    }
    if v.is_v5() {
        kinds.push(K::WriteTimeout {
            consistency: Consistency::Serial,
            received: 0,
            block_for: 1,
            write_type: WriteType::Cas,
            contentions: Some(7),
        });
    }
    kinds
}

fn rows_metadata(v: ProtocolVersion) -> Vec<RowsMetadata> {
    let cols = vec![
        col("ks", "t", "a", ColumnType::Int),
        col(
            "ks",
            "t",
            "b",
            ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Blob)),
        ),
    ];
    let mixed = vec![
        col("ks", "t", "a", ColumnType::Int),
        col(
            "ks",
            "u",
            "b",
            ColumnType::Tuple(vec![ColumnType::Uuid, ColumnType::Duration]),
        ),
    ];
    let mut out = vec![
        RowsMetadata::new(cols.clone()),
        RowsMetadata::new(mixed),
        RowsMetadata::new(cols.clone()).with_paging_state(Some(Bytes::from_static(b"page"))),
        RowsMetadata::no_metadata(2),
        RowsMetadata::no_metadata(2).with_paging_state(Some(Bytes::new())),
        // Cassandra keeps the Global_tables_spec bit when it skips metadata.
        RowsMetadata {
            flags: 0x05,
            ..RowsMetadata::no_metadata(2)
        },
    ];
    if v.is_v5() {
        out.push(RowsMetadata::new(cols).with_new_metadata_id(Some(Bytes::from_static(b"id"))));
    }
    out
}

fn cells(n: usize) -> Bytes {
    let mut b = BytesMut::new();
    for i in 0..n {
        match i % 3 {
            0 => wire::write_bytes(&mut b, None).unwrap(),
            1 => wire::write_bytes(&mut b, Some(b"")).unwrap(),
            _ => wire::write_bytes(&mut b, Some(&[i as u8; 3])).unwrap(),
        }
    }
    b.freeze()
}

fn all_responses(v: ProtocolVersion) -> Vec<Response> {
    let mut out: Vec<Response> = all_error_kinds(v)
        .into_iter()
        .map(|k| Response::Error(ErrorBody::new("msg é", k)))
        .collect();
    out.push(Response::Ready);
    out.push(Response::Authenticate(Authenticate {
        authenticator: "com.example.Auth".into(),
    }));
    out.push(Response::Supported(Supported {
        options: vec![
            (
                "PROTOCOL_VERSIONS".into(),
                vec!["4/v4".into(), "5/v5".into()],
            ),
            ("CQL_VERSION".into(), vec!["3.4.5".into()]),
            ("EMPTY".into(), vec![]),
        ],
    }));
    out.push(Response::Supported(Supported::default()));
    for token in [None, Some(Bytes::new()), Some(Bytes::from_static(b"tok"))] {
        out.push(Response::AuthChallenge(AuthChallenge {
            token: token.clone(),
        }));
        out.push(Response::AuthSuccess(AuthSuccess { token }));
    }
    out.push(Response::Result(ResultBody::Void));
    out.push(Response::Result(ResultBody::SetKeyspace("ks".into())));
    for m in rows_metadata(v) {
        for rows_count in [0, 1, 3] {
            let rows_content = cells(rows_count * m.columns_count);
            out.push(Response::Result(ResultBody::Rows(Rows {
                metadata: m.clone(),
                rows_count,
                rows_content,
            })));
        }
    }
    let binds = vec![
        col("ks", "t", "k1", ColumnType::Bigint),
        col("ks", "t", "k2", ColumnType::Varchar),
        col("ks", "t", "v", ColumnType::Set(Box::new(ColumnType::Inet))),
    ];
    let pk = if v >= V4 { vec![1, 0] } else { vec![] };
    for metadata in [
        PreparedMetadata::new(binds.clone(), pk.clone()),
        PreparedMetadata::new(vec![], vec![]),
        PreparedMetadata::new(
            vec![
                col("a", "b", "x", ColumnType::Int),
                col("c", "d", "y", ColumnType::Int),
            ],
            pk.clone(),
        ),
    ] {
        for result_metadata in rows_metadata(v) {
            out.push(Response::Result(ResultBody::Prepared(Box::new(Prepared {
                id: Bytes::from_static(&[0xAB; 16]),
                result_metadata_id: v.is_v5().then(|| Bytes::from_static(&[0xCD; 16])),
                metadata: metadata.clone(),
                result_metadata,
            }))));
        }
    }
    let targets = [
        SchemaChangeTarget::Keyspace {
            keyspace: "ks".into(),
        },
        SchemaChangeTarget::Table {
            keyspace: "ks".into(),
            table: "t".into(),
        },
        SchemaChangeTarget::Type {
            keyspace: "ks".into(),
            name: "ty".into(),
        },
        SchemaChangeTarget::Function {
            keyspace: "ks".into(),
            name: "f".into(),
            arg_types: vec!["int".into(), "frozen<list<text>>".into()],
        },
        SchemaChangeTarget::Aggregate {
            keyspace: "ks".into(),
            name: "agg".into(),
            arg_types: vec![],
        },
    ];
    for change_type in [
        SchemaChangeType::Created,
        SchemaChangeType::Updated,
        SchemaChangeType::Dropped,
    ] {
        for target in targets.clone() {
            let sc = SchemaChange {
                change_type,
                target,
            };
            out.push(Response::Result(ResultBody::SchemaChange(sc.clone())));
            out.push(Response::Event(Event::SchemaChange(sc)));
        }
    }
    for (change, addr) in [
        (TopologyChangeType::NewNode, "10.1.2.3:9042"),
        (TopologyChangeType::RemovedNode, "[::1]:19042"),
        (TopologyChangeType::MovedNode, "10.1.2.4:9042"),
    ] {
        out.push(Response::Event(Event::TopologyChange {
            change,
            addr: addr.parse().unwrap(),
        }));
    }
    for change in [StatusChangeType::Up, StatusChangeType::Down] {
        out.push(Response::Event(Event::StatusChange {
            change,
            addr: "192.168.0.1:9042".parse().unwrap(),
        }));
    }
    out
}

fn enc(r: &Response, v: ProtocolVersion) -> Bytes {
    let mut b = BytesMut::new();
    r.encode_body(v, &mut b)
        .unwrap_or_else(|e| panic!("{v:?} {r:?}: {e}"));
    b.freeze()
}

#[test]
fn every_response_round_trips_byte_equal_on_v3_v4_v5() {
    let mut n = 0;
    for v in VERSIONS {
        for r in all_responses(v) {
            let bytes = enc(&r, v);
            let back = Response::decode(r.opcode(), v, &bytes)
                .unwrap_or_else(|e| panic!("{v:?} {r:?}: {e}"));
            assert_eq!(back, r, "{v:?}");
            assert_eq!(enc(&back, v), bytes, "{v:?} {r:?}");
            n += 1;
        }
    }
    assert!(n > 300, "{n}");
}

#[test]
fn every_error_code_is_covered() {
    let codes: Vec<i32> = all_error_kinds(V5).iter().map(ErrorKind::code).collect();
    for code in [
        0x0000, 0x000A, 0x0100, 0x1000, 0x1001, 0x1002, 0x1003, 0x1100, 0x1200, 0x1300, 0x1400,
        0x1500, 0x1600, 0x1700, 0x2000, 0x2100, 0x2200, 0x2300, 0x2400, 0x2500,
    ] {
        assert!(codes.contains(&code), "{code:#x}");
    }
}

#[test]
fn v4_and_v5_layouts_differ_where_the_spec_says() {
    // Read_failure: v4 <numfailures>, v5 <reasonmap>
    let v4 = enc(
        &Response::Error(ErrorBody::new("", all_error_kinds(V4)[8].clone())),
        V4,
    );
    let v5 = enc(
        &Response::Error(ErrorBody::new("", all_error_kinds(V5)[8].clone())),
        V5,
    );
    // head: code 4 + message 2 + cl 2 + received 4 + blockfor 4 = 16
    assert_eq!(&v4[16..], &[0, 0, 0, 2, 0]);
    assert_eq!(&v5[16..20], &[0, 0, 0, 2]);
    assert_eq!(&v5[20..27], &[4, 127, 0, 0, 1, 0, 0]);
    assert_eq!(v5.len(), 16 + 4 + 7 + 19 + 1);
    // Each version refuses the other's shape.
    let mut out = BytesMut::new();
    let wrong = ErrorBody::new("", all_error_kinds(V4)[8].clone());
    assert!(matches!(
        wrong.encode(V5, &mut out),
        Err(EncodeError::UnsupportedByVersion { .. })
    ));
    let wrong = ErrorBody::new("", all_error_kinds(V5)[8].clone());
    assert!(matches!(
        wrong.encode(V4, &mut out),
        Err(EncodeError::UnsupportedByVersion { .. })
    ));
    // The same bytes read differently on v4 and v5.
    assert!(Response::decode(Opcode::Error, V4, &v5).is_err());
}

#[test]
fn v5_cas_timeout_without_contentions_is_accepted() {
    let kind = ErrorKind::WriteTimeout {
        consistency: Consistency::Serial,
        received: 0,
        block_for: 1,
        write_type: WriteType::Cas,
        contentions: None,
    };
    let b = enc(&Response::Error(ErrorBody::new("t", kind.clone())), V5);
    let r = Response::decode(Opcode::Error, V5, &b).unwrap();
    assert_eq!(r, Response::Error(ErrorBody::new("t", kind)));
    // contentions on v4 or on a non-CAS write do not exist
    let bad = ErrorBody::new(
        "t",
        ErrorKind::WriteTimeout {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            write_type: WriteType::Cas,
            contentions: Some(1),
        },
    );
    assert!(bad.encode(V4, &mut BytesMut::new()).is_err());
}

#[test]
fn unknown_error_code_keeps_message_and_raw_tail() {
    let mut b = BytesMut::new();
    wire::write_int(&mut b, 0xF000);
    wire::write_string(&mut b, "rate limit").unwrap();
    b.extend_from_slice(&[1, 0]);
    let b = b.freeze();
    let Response::Error(e) = Response::decode(Opcode::Error, V4, &b).unwrap() else {
        panic!()
    };
    assert_eq!((e.code, e.message.as_str()), (0xF000, "rate limit"));
    assert_eq!(
        e.kind,
        ErrorKind::Unknown {
            code: 0xF000,
            extra: Bytes::from_static(&[1, 0])
        }
    );
    assert_eq!(enc(&Response::Error(e), V4), b);
}

#[test]
fn error_code_must_match_kind_on_encode() {
    let mut e = ErrorBody::new("x", ErrorKind::Invalid);
    e.code = 0x2000;
    assert!(matches!(
        e.encode(V4, &mut BytesMut::new()),
        Err(EncodeError::Invalid { .. })
    ));
    let e = ErrorBody::new(
        "x",
        ErrorKind::Unknown {
            code: 0x1000,
            extra: Bytes::new(),
        },
    );
    assert!(matches!(
        e.encode(V4, &mut BytesMut::new()),
        Err(EncodeError::Invalid { .. })
    ));
}

#[test]
fn envelope_round_trip_and_order() {
    let env = ResponseEnvelope {
        tracing_id: Some([1; 16]),
        warnings: vec!["w1".into(), "w2".into()],
        custom_payload: Some(vec![
            ("k".into(), Some(Bytes::from_static(b"v"))),
            ("n".into(), None),
        ]),
    };
    let mut b = BytesMut::new();
    let flags = env.encode(&mut b).unwrap();
    assert_eq!(flags, 0x0E);
    assert_eq!(&b[..16], &[1; 16]);
    assert_eq!(&b[16..18], &[0, 2]); // warnings come before the payload
    Response::Ready.encode_body(V4, &mut b).unwrap();
    let body = b.freeze();
    let (back, r) = Response::decode_with_envelope(flags, Opcode::Ready, V4, &body).unwrap();
    assert_eq!((back, r), (env, Response::Ready));
    for (flags, env) in [
        (
            0x02,
            ResponseEnvelope {
                tracing_id: Some([2; 16]),
                ..Default::default()
            },
        ),
        (
            0x08,
            ResponseEnvelope {
                warnings: vec!["only".into()],
                ..Default::default()
            },
        ),
        (
            0x04,
            ResponseEnvelope {
                custom_payload: Some(vec![]),
                ..Default::default()
            },
        ),
        (0x00, ResponseEnvelope::default()),
    ] {
        let mut b = BytesMut::new();
        assert_eq!(env.encode(&mut b).unwrap(), flags);
        let mut cur = &b[..];
        assert_eq!(
            ResponseEnvelope::decode(flags | 0x01, &mut cur).unwrap(),
            env
        );
        assert!(cur.is_empty());
    }
}

#[test]
fn rows_content_is_a_zero_copy_slice_of_the_body() {
    let r = Response::Result(ResultBody::Rows(Rows {
        metadata: RowsMetadata::no_metadata(2),
        rows_count: 2,
        rows_content: cells(4),
    }));
    let body = enc(&r, V4);
    let Response::Result(ResultBody::Rows(rows)) =
        Response::decode(Opcode::Result, V4, &body).unwrap()
    else {
        panic!()
    };
    let start = rows.rows_content.as_ptr() as usize - body.as_ptr() as usize;
    assert_eq!(start + rows.rows_content.len(), body.len());
    assert_eq!(&body[start..], &rows.rows_content[..]);
}

fn result_body(parts: &[&[u8]]) -> Bytes {
    Bytes::from(parts.concat())
}

#[test]
fn hostile_rows_count_fails_at_once() {
    // kind Rows, flags No_metadata, 1 column, rows_count 2^31-1, 4 bytes of cells: 20 bytes
    let b = result_body(&[
        &2i32.to_be_bytes(),
        &4i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &i32::MAX.to_be_bytes(),
        &[0, 0, 0, 0],
    ]);
    assert_eq!(b.len(), 20);
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &b),
        Err(DecodeError::Truncated {
            what: "rows_content",
            ..
        })
    ));
    // 2^31 as an [int] is negative
    let b = result_body(&[
        &2i32.to_be_bytes(),
        &4i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &i32::MIN.to_be_bytes(),
    ]);
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &b),
        Err(DecodeError::InvalidLength { .. })
    ));
    // rows without columns cannot be bounded by the input: refused
    let b = result_body(&[
        &2i32.to_be_bytes(),
        &4i32.to_be_bytes(),
        &0i32.to_be_bytes(),
        &i32::MAX.to_be_bytes(),
    ]);
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &b),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn hostile_columns_count_fails_at_once() {
    for flags in [0i32, 1] {
        let b = result_body(&[
            &2i32.to_be_bytes(),
            &flags.to_be_bytes(),
            &i32::MAX.to_be_bytes(),
            &[0, 1, b'k', 0, 1, b't'],
        ]);
        assert!(matches!(
            Response::decode(Opcode::Result, V4, &b),
            Err(DecodeError::Truncated {
                what: "column specs",
                ..
            })
        ));
    }
    // prepared metadata: huge columns_count and huge pk_count
    let prep = |cols: i32, pks: i32| {
        result_body(&[
            &4i32.to_be_bytes(),
            &[0, 1, 7],
            &0i32.to_be_bytes(),
            &cols.to_be_bytes(),
            &pks.to_be_bytes(),
            &[0, 0],
        ])
    };
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &prep(1, i32::MAX)),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &prep(i32::MAX, 0)),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &prep(-1, 0)),
        Err(DecodeError::InvalidLength { .. })
    ));
    // pk index pointing past the bind markers
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &prep(0, 1)),
        Err(DecodeError::Malformed { .. })
    ));
    // v5 failure map claiming 2^31-1 endpoints
    let mut b = BytesMut::new();
    wire::write_int(&mut b, 0x1300);
    wire::write_string(&mut b, "").unwrap();
    wire::write_short(&mut b, 1);
    wire::write_int(&mut b, 0);
    wire::write_int(&mut b, 1);
    wire::write_int(&mut b, i32::MAX);
    assert!(matches!(
        Response::decode(Opcode::Error, V5, &b.freeze()),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn bytes_claiming_2gb_fail_at_once() {
    let huge = 0x7FFF_FFFFi32.to_be_bytes();
    let b = result_body(&[&huge, b"abc"]);
    assert!(matches!(
        Response::decode(Opcode::AuthChallenge, V4, &b),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        Response::decode(Opcode::AuthSuccess, V5, &b),
        Err(DecodeError::Truncated { .. })
    ));
    // a paging state claiming 2 GB
    let b = result_body(&[
        &2i32.to_be_bytes(),
        &6i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &huge,
        b"xx",
    ]);
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &b),
        Err(DecodeError::Truncated { .. })
    ));
    // a cell claiming 2 GB
    let b = result_body(&[
        &2i32.to_be_bytes(),
        &4i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &1i32.to_be_bytes(),
        &huge,
        b"x",
    ]);
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &b),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn trailing_bytes_are_rejected_unless_lenient() {
    let b = Bytes::from_static(&[0, 0, 0, 1, 0xEE]);
    assert_eq!(
        Response::decode(Opcode::Result, V4, &b),
        Err(DecodeError::TrailingBytes {
            what: "RESULT",
            extra: 1
        })
    );
    assert_eq!(
        Response::decode_lenient(Opcode::Result, V4, &b).unwrap(),
        (Response::Result(ResultBody::Void), 1)
    );
    assert!(Response::decode(Opcode::Ready, V4, &Bytes::from_static(b"x")).is_err());
}

#[test]
fn request_opcodes_and_unknown_values_are_typed_errors() {
    let empty = Bytes::new();
    assert!(matches!(
        Response::decode(Opcode::Query, V4, &empty),
        Err(DecodeError::Unexpected { .. })
    ));
    let b = Bytes::from_static(&[0, 0, 0, 9]);
    assert!(matches!(
        Response::decode(Opcode::Result, V4, &b),
        Err(DecodeError::UnknownValue { .. })
    ));
    let mut ev = BytesMut::new();
    wire::write_string(&mut ev, "STATUS_CHANGE").unwrap();
    wire::write_string(&mut ev, "SIDEWAYS").unwrap();
    assert!(matches!(
        Response::decode(Opcode::Event, V4, &ev.freeze()),
        Err(DecodeError::Malformed { .. })
    ));
    let mut ev = BytesMut::new();
    wire::write_string(&mut ev, "SCHEMA_CHANGE").unwrap();
    wire::write_string(&mut ev, "CREATED").unwrap();
    wire::write_string(&mut ev, "INDEX").unwrap();
    assert!(matches!(
        Response::decode(Opcode::Event, V4, &ev.freeze()),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn encoder_refuses_inconsistent_metadata() {
    let mut out = BytesMut::new();
    let mut m = RowsMetadata::new(vec![col("ks", "t", "a", ColumnType::Int)]);
    m.paging_state = Some(Bytes::new()); // flag not set
    assert!(m.encode(V4, &mut out).is_err());
    let m = RowsMetadata::new(vec![]).with_new_metadata_id(Some(Bytes::new()));
    assert!(matches!(
        m.encode(V4, &mut out),
        Err(EncodeError::UnsupportedByVersion { .. })
    ));
    let mut m = RowsMetadata::new(vec![col("ks", "t", "a", ColumnType::Int)]);
    m.columns_count = 2;
    assert!(m.encode(V4, &mut out).is_err());
    let mut m = RowsMetadata::new(vec![col("ks", "t", "a", ColumnType::Int)]);
    m.columns[0].table = "other".into(); // global spec would lose it
    assert!(m.encode(V4, &mut out).is_err());
    let rows = Rows {
        metadata: RowsMetadata::no_metadata(2),
        rows_count: 1,
        rows_content: cells(3),
    };
    assert!(rows.encode(V4, &mut out).is_err());
    let p = Prepared {
        id: Bytes::new(),
        result_metadata_id: None,
        metadata: PreparedMetadata::new(vec![], vec![]),
        result_metadata: RowsMetadata::no_metadata(0),
    };
    assert!(p.encode(V5, &mut out).is_err());
    let p = Prepared {
        result_metadata_id: Some(Bytes::new()),
        ..p
    };
    assert!(p.encode(V4, &mut out).is_err());
    let m = PreparedMetadata::new(vec![col("ks", "t", "a", ColumnType::Int)], vec![0]);
    assert!(matches!(
        m.encode(V3, &mut out),
        Err(EncodeError::UnsupportedByVersion { .. })
    ));
}

#[test]
fn supported_helpers() {
    let s = Supported {
        options: vec![
            (
                "PROTOCOL_VERSIONS".into(),
                vec!["3/v3".into(), "junk".into(), "5/v5-beta".into()],
            ),
            ("COMPRESSION".into(), vec![]),
        ],
    };
    let v = s.protocol_versions();
    assert_eq!(v.len(), 2);
    assert_eq!(
        (v[1].version, v[1].description.as_str(), v[1].beta),
        (5, "v5-beta", true)
    );
    assert!(s.cql_versions().is_empty() && s.compression().is_empty());
    assert!(s.get("compression").is_none()); // keys are case-sensitive
}
