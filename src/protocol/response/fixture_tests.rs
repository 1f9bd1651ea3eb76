//! Golden response fixtures (`protocol-fixtures/resp_*.bin`, listed in
//! MANIFEST.responses.md): decode, assert key fields, re-encode byte-equal; every strict
//! prefix is `Truncated`; every single-byte corruption is `Ok` or a typed error.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::types::ColumnType;
use crate::protocol::Consistency;
use ProtocolVersion::{V3, V4, V5};

struct Fixture {
    file: &'static str,
    version: ProtocolVersion,
    opcode: Opcode,
    /// Header flags announcing envelope fields.
    flags: u8,
    /// The message ends in a field the spec (or the server) may omit, so exactly one
    /// strict prefix is itself a complete message.
    optional_tail: bool,
    check: fn(&ResponseEnvelope, &Response),
}

const fn fx(
    file: &'static str,
    version: ProtocolVersion,
    opcode: Opcode,
    check: fn(&ResponseEnvelope, &Response),
) -> Fixture {
    Fixture {
        file,
        version,
        opcode,
        flags: 0,
        optional_tail: false,
        check,
    }
}

fn error(r: &Response) -> &ErrorBody {
    match r {
        Response::Error(e) => e,
        other => panic!("not an error: {other:?}"),
    }
}

fn result(r: &Response) -> &ResultBody {
    match r {
        Response::Result(b) => b,
        other => panic!("not a result: {other:?}"),
    }
}

fn rows(r: &Response) -> &Rows {
    match result(r) {
        ResultBody::Rows(rows) => rows,
        other => panic!("not rows: {other:?}"),
    }
}

fn prepared(r: &Response) -> &Prepared {
    match result(r) {
        ResultBody::Prepared(p) => p,
        other => panic!("not prepared: {other:?}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn fixtures() -> Vec<Fixture> {
    vec![
        fx("resp_ready_v4.bin", V4, Opcode::Ready, |_, r| {
            assert_eq!(r, &Response::Ready)
        }),
        fx(
            "resp_authenticate_v4.bin",
            V4,
            Opcode::Authenticate,
            |_, r| {
                let Response::Authenticate(a) = r else {
                    panic!()
                };
                assert_eq!(
                    a.authenticator,
                    "org.apache.cassandra.auth.PasswordAuthenticator"
                );
            },
        ),
        fx("resp_supported_v5.bin", V5, Opcode::Supported, |_, r| {
            let Response::Supported(s) = r else { panic!() };
            assert_eq!(s.cql_versions(), ["3.4.7"]);
            assert_eq!(s.compression(), ["snappy", "lz4"]);
            let v = s.protocol_versions();
            assert_eq!(
                v.iter().map(|v| v.version).collect::<Vec<_>>(),
                [3, 4, 5, 6]
            );
            assert!(v[3].beta && !v[2].beta);
            assert_eq!(s.options[2].0, "PROTOCOL_VERSIONS");
        }),
        fx(
            "resp_auth_challenge_v4.bin",
            V4,
            Opcode::AuthChallenge,
            |_, r| {
                let Response::AuthChallenge(a) = r else {
                    panic!()
                };
                assert_eq!(a.token.as_deref(), Some(&b"\x00salt\x01\x02"[..]));
            },
        ),
        fx(
            "resp_auth_success_null_v4.bin",
            V4,
            Opcode::AuthSuccess,
            |_, r| {
                assert_eq!(r, &Response::AuthSuccess(AuthSuccess { token: None }));
            },
        ),
        fx("resp_error_server_v4.bin", V4, Opcode::Error, |_, r| {
            let e = error(r);
            assert_eq!((e.code, &e.kind), (0, &ErrorKind::ServerError));
            assert_eq!(e.message, "java.lang.NullPointerException");
        }),
        fx(
            "resp_error_unavailable_v4.bin",
            V4,
            Opcode::Error,
            |_, r| {
                let e = error(r);
                assert_eq!(
                    e.kind,
                    ErrorKind::Unavailable {
                        consistency: Consistency::Quorum,
                        required: 2,
                        alive: 1
                    }
                );
            },
        ),
        fx(
            "resp_error_write_timeout_v4.bin",
            V4,
            Opcode::Error,
            |_, r| {
                let ErrorKind::WriteTimeout {
                    consistency,
                    received,
                    block_for,
                    write_type,
                    contentions,
                } = &error(r).kind
                else {
                    panic!()
                };
                assert_eq!(*consistency, Consistency::LocalQuorum);
                assert_eq!((*received, *block_for), (1, 2));
                assert_eq!((write_type, contentions), (&WriteType::BatchLog, &None));
            },
        ),
        Fixture {
            optional_tail: true,
            ..fx(
                "resp_error_write_timeout_cas_v5.bin",
                V5,
                Opcode::Error,
                |_, r| {
                    let ErrorKind::WriteTimeout {
                        write_type,
                        contentions,
                        consistency,
                        ..
                    } = &error(r).kind
                    else {
                        panic!()
                    };
                    assert_eq!((write_type, *contentions), (&WriteType::Cas, Some(3)));
                    assert_eq!(*consistency, Consistency::Serial);
                },
            )
        },
        fx(
            "resp_error_read_timeout_v4.bin",
            V4,
            Opcode::Error,
            |_, r| {
                assert_eq!(
                    error(r).kind,
                    ErrorKind::ReadTimeout {
                        consistency: Consistency::One,
                        received: 0,
                        block_for: 1,
                        data_present: false
                    }
                );
            },
        ),
        fx(
            "resp_error_read_failure_v4.bin",
            V4,
            Opcode::Error,
            |_, r| {
                let ErrorKind::ReadFailure {
                    failures,
                    data_present,
                    ..
                } = &error(r).kind
                else {
                    panic!()
                };
                assert_eq!((failures, *data_present), (&Failures::Count(1), true));
            },
        ),
        fx(
            "resp_error_read_failure_v5.bin",
            V5,
            Opcode::Error,
            |_, r| {
                let ErrorKind::ReadFailure {
                    failures,
                    data_present,
                    block_for,
                    ..
                } = &error(r).kind
                else {
                    panic!()
                };
                assert_eq!(
                    failures,
                    &Failures::Reasons(vec![(ip("127.0.0.2"), 1), (ip("::1"), 6)])
                );
                assert_eq!((*data_present, *block_for, failures.count()), (false, 3, 2));
            },
        ),
        fx(
            "resp_error_write_failure_v4.bin",
            V4,
            Opcode::Error,
            |_, r| {
                let ErrorKind::WriteFailure {
                    failures,
                    write_type,
                    ..
                } = &error(r).kind
                else {
                    panic!()
                };
                assert_eq!(
                    (failures, write_type),
                    (&Failures::Count(1), &WriteType::Counter)
                );
            },
        ),
        fx(
            "resp_error_write_failure_v5.bin",
            V5,
            Opcode::Error,
            |_, r| {
                let ErrorKind::WriteFailure {
                    failures,
                    write_type,
                    consistency,
                    ..
                } = &error(r).kind
                else {
                    panic!()
                };
                assert_eq!(failures, &Failures::Reasons(vec![(ip("10.0.0.7"), 0)]));
                assert_eq!(
                    (write_type, *consistency),
                    (&WriteType::View, Consistency::LocalOne)
                );
            },
        ),
        fx(
            "resp_error_function_failure_v4.bin",
            V4,
            Opcode::Error,
            |_, r| {
                assert_eq!(
                    error(r).kind,
                    ErrorKind::FunctionFailure {
                        keyspace: "ks".into(),
                        function: "f".into(),
                        arg_types: vec!["int".into(), "text".into()]
                    }
                );
            },
        ),
        fx(
            "resp_error_cas_write_unknown_v5.bin",
            V5,
            Opcode::Error,
            |_, r| {
                assert_eq!(
                    error(r).kind,
                    ErrorKind::CasWriteUnknown {
                        consistency: Consistency::Serial,
                        received: 1,
                        block_for: 2
                    }
                );
            },
        ),
        fx(
            "resp_error_already_exists_v4.bin",
            V4,
            Opcode::Error,
            |_, r| {
                assert_eq!(
                    error(r).kind,
                    ErrorKind::AlreadyExists {
                        keyspace: "ks".into(),
                        table: String::new()
                    }
                );
            },
        ),
        fx("resp_error_unprepared_v5.bin", V5, Opcode::Error, |_, r| {
            let ErrorKind::Unprepared { id } = &error(r).kind else {
                panic!()
            };
            assert_eq!(&id[..], &(0u8..16).collect::<Vec<_>>()[..]);
        }),
        fx("resp_error_syntax_v5.bin", V5, Opcode::Error, |_, r| {
            let e = error(r);
            assert_eq!((e.code, &e.kind), (0x2000, &ErrorKind::SyntaxError));
            assert!(e.message.contains("SELEC"));
        }),
        fx(
            "resp_error_unknown_code_v5.bin",
            V5,
            Opcode::Error,
            |_, r| {
                let e = error(r);
                assert_eq!(e.code, 0x7777);
                assert_eq!(
                    e.kind,
                    ErrorKind::Unknown {
                        code: 0x7777,
                        extra: Bytes::new()
                    }
                );
                assert_eq!(e.message, "a code from the future");
            },
        ),
        fx("resp_result_void_v4.bin", V4, Opcode::Result, |_, r| {
            assert_eq!(result(r), &ResultBody::Void);
        }),
        fx(
            "resp_result_set_keyspace_v4.bin",
            V4,
            Opcode::Result,
            |_, r| {
                assert_eq!(result(r), &ResultBody::SetKeyspace("ks1".into()));
            },
        ),
        fx("resp_result_rows_v4.bin", V4, Opcode::Result, |_, r| {
            let rows = rows(r);
            let m = &rows.metadata;
            assert_eq!(m.global_table_spec, Some(("ks".into(), "users".into())));
            assert_eq!(m.columns_count, 3);
            let names: Vec<_> = m.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["id", "name", "tags"]);
            assert_eq!(
                m.columns[2].typ,
                ColumnType::List(Box::new(ColumnType::Varchar))
            );
            assert!(m
                .columns
                .iter()
                .all(|c| c.keyspace == "ks" && c.table == "users"));
            assert!(!m.has_more_pages() && m.paging_state.is_none());
            assert_eq!(rows.rows_count, 2);
            // 6 cells: 4+4, 4+3, 4+9 | 4+4, 4, 4
            assert_eq!(rows.rows_content.len(), 8 + 7 + 13 + 8 + 4 + 4);
            assert_eq!(&rows.rows_content[..8], &[0, 0, 0, 4, 0, 0, 0, 1]);
        }),
        fx(
            "resp_result_rows_paged_no_metadata_v4.bin",
            V4,
            Opcode::Result,
            |_, r| {
                let rows = rows(r);
                let m = &rows.metadata;
                assert_eq!(m.flags, 0x07);
                assert!(m.is_no_metadata() && m.has_more_pages());
                assert_eq!((m.columns_count, m.columns.len()), (2, 0));
                assert_eq!(m.global_table_spec, None);
                assert_eq!(
                    m.paging_state.as_deref(),
                    Some(&b"\x00\x04\x00\x00\x00\x2a\xf0"[..])
                );
                assert_eq!(rows.rows_count, 1);
            },
        ),
        fx(
            "resp_result_rows_metadata_changed_v5.bin",
            V5,
            Opcode::Result,
            |_, r| {
                let m = &rows(r).metadata;
                assert_eq!(
                    m.new_metadata_id.as_deref(),
                    Some(&[0xAA, 0xBB, 0xCC, 0xDD][..])
                );
                assert_eq!(m.columns[0].typ, ColumnType::Bigint);
                assert_eq!(m.columns[0].table, "t");
            },
        ),
        fx(
            "resp_result_rows_column_specs_v4.bin",
            V4,
            Opcode::Result,
            |_, r| {
                let rows = rows(r);
                let m = &rows.metadata;
                assert_eq!(m.global_table_spec, None);
                assert_eq!(
                    (m.columns[0].keyspace.as_str(), m.columns[0].table.as_str()),
                    ("ks", "a")
                );
                assert_eq!(
                    (m.columns[1].keyspace.as_str(), m.columns[1].table.as_str()),
                    ("ks2", "b")
                );
                let ColumnType::Udt(u) = &m.columns[1].typ else {
                    panic!()
                };
                assert_eq!(u.name, "address");
                assert_eq!(u.fields[1], ("zip".to_string(), ColumnType::Int));
                assert_eq!((rows.rows_count, rows.rows_content.len()), (0, 0));
            },
        ),
        fx("resp_result_prepared_v3.bin", V3, Opcode::Result, |_, r| {
            let p = prepared(r);
            assert_eq!(&p.id[..], &[0xDE, 0xAD, 0xBE, 0xEF]);
            assert!(p.result_metadata_id.is_none() && p.metadata.pk_indexes.is_empty());
            assert_eq!(p.metadata.columns[0].typ, ColumnType::Uuid);
            assert!(p.result_metadata.is_no_metadata());
        }),
        fx("resp_result_prepared_v4.bin", V4, Opcode::Result, |_, r| {
            let p = prepared(r);
            assert_eq!(p.id.len(), 16);
            assert_eq!(p.result_metadata_id, None);
            assert_eq!(p.metadata.pk_indexes, [0]);
            assert!(p.metadata.has_global_table_spec());
            assert_eq!(p.metadata.columns[1].name, "name");
            assert_eq!(p.result_metadata.columns[0].typ, ColumnType::Varchar);
        }),
        fx("resp_result_prepared_v5.bin", V5, Opcode::Result, |_, r| {
            let p = prepared(r);
            assert_eq!(
                p.result_metadata_id.as_deref(),
                Some(&[1, 2, 3, 4, 5, 6, 7, 8][..])
            );
            assert_eq!(p.metadata.columns_count, 2);
            assert_eq!(p.result_metadata, RowsMetadata::no_metadata(0));
        }),
        fx(
            "resp_result_schema_change_table_v4.bin",
            V4,
            Opcode::Result,
            |_, r| {
                let ResultBody::SchemaChange(sc) = result(r) else {
                    panic!()
                };
                assert_eq!(sc.change_type, SchemaChangeType::Created);
                assert_eq!(
                    sc.target,
                    SchemaChangeTarget::Table {
                        keyspace: "ks".into(),
                        table: "users".into()
                    }
                );
            },
        ),
        fx(
            "resp_result_schema_change_function_v5.bin",
            V5,
            Opcode::Result,
            |_, r| {
                let ResultBody::SchemaChange(sc) = result(r) else {
                    panic!()
                };
                assert_eq!(sc.change_type, SchemaChangeType::Dropped);
                let SchemaChangeTarget::Function {
                    name, arg_types, ..
                } = &sc.target
                else {
                    panic!()
                };
                assert_eq!((name.as_str(), arg_types.len()), ("plus", 2));
            },
        ),
        fx(
            "resp_event_topology_new_node_v4.bin",
            V4,
            Opcode::Event,
            |_, r| {
                let addr: SocketAddr = "127.0.0.3:9042".parse().unwrap();
                assert_eq!(
                    r,
                    &Response::Event(Event::TopologyChange {
                        change: TopologyChangeType::NewNode,
                        addr
                    })
                );
            },
        ),
        fx(
            "resp_event_status_down_v5.bin",
            V5,
            Opcode::Event,
            |_, r| {
                let addr: SocketAddr = "[fe80::1]:9042".parse().unwrap();
                assert_eq!(
                    r,
                    &Response::Event(Event::StatusChange {
                        change: StatusChangeType::Down,
                        addr
                    })
                );
            },
        ),
        fx(
            "resp_event_schema_change_aggregate_v4.bin",
            V4,
            Opcode::Event,
            |_, r| {
                let Response::Event(Event::SchemaChange(sc)) = r else {
                    panic!()
                };
                assert_eq!(sc.change_type, SchemaChangeType::Updated);
                assert_eq!(
                    sc.target,
                    SchemaChangeTarget::Aggregate {
                        keyspace: "ks".into(),
                        name: "avg".into(),
                        arg_types: vec!["double".into()]
                    }
                );
            },
        ),
        fx(
            "resp_event_schema_change_keyspace_v5.bin",
            V5,
            Opcode::Event,
            |_, r| {
                let Response::Event(Event::SchemaChange(sc)) = r else {
                    panic!()
                };
                assert_eq!(
                    sc.target,
                    SchemaChangeTarget::Keyspace {
                        keyspace: "ks9".into()
                    }
                );
                assert_eq!(sc.target.keyspace(), "ks9");
            },
        ),
        Fixture {
            flags: 0x0E,
            ..fx(
                "resp_env_tracing_warning_payload_void_v4.bin",
                V4,
                Opcode::Result,
                |e, r| {
                    assert_eq!(e.tracing_id, Some(std::array::from_fn(|i| 0xA0 + i as u8)));
                    assert_eq!(e.warnings, ["Aggregation query used without partition key"]);
                    assert_eq!(
                        e.custom_payload,
                        Some(vec![
                            ("k1".into(), Some(Bytes::from_static(b"v1"))),
                            ("k2".into(), None)
                        ])
                    );
                    assert_eq!(result(r), &ResultBody::Void);
                },
            )
        },
    ]
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("protocol-fixtures")
}

fn decode(f: &Fixture, b: &Bytes) -> Result<(ResponseEnvelope, Response), DecodeError> {
    Response::decode_with_envelope(f.flags, f.opcode, f.version, b)
}

/// Encodes envelope and body; returns the envelope flags and the bytes.
fn encode(f: &Fixture, env: &ResponseEnvelope, r: &Response) -> Result<(u8, Vec<u8>), EncodeError> {
    let mut out = BytesMut::new();
    let flags = env.encode(&mut out)?;
    r.encode_body(f.version, &mut out)?;
    Ok((flags, out.to_vec()))
}

fn load(f: &Fixture) -> Bytes {
    let p = dir().join(f.file);
    Bytes::from(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

#[test]
fn every_fixture_is_listed_checked_and_in_the_manifest() {
    let fx = fixtures();
    let manifest = std::fs::read_to_string(dir().join("MANIFEST.responses.md")).unwrap();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("resp_") && n.ends_with(".bin"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = fx.iter().map(|f| f.file.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    for f in &fx {
        let line = manifest
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", f.file)))
            .unwrap_or_else(|| panic!("{} missing from the manifest", f.file));
        assert!(
            line.contains(&format!("| v{} |", f.version.as_u8())),
            "{line}"
        );
        assert!(line.contains(&format!("{:#04X}", f.opcode as u8)), "{line}");
        assert!(line.contains("hand-built from spec"), "{line}");
    }
    assert!(fx.len() >= 20);
}

#[test]
fn fixtures_decode_check_and_reencode_byte_equal() {
    for f in fixtures() {
        let b = load(&f);
        let (env, r) = decode(&f, &b).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        (f.check)(&env, &r);
        assert_eq!(r.opcode(), f.opcode);
        assert_eq!(
            encode(&f, &env, &r).unwrap(),
            (f.flags, b.to_vec()),
            "{}",
            f.file
        );
    }
}

#[test]
fn fixture_prefixes_are_truncated_errors() {
    let mut tolerated = 0;
    for f in fixtures() {
        let b = load(&f);
        let (_, full) = decode(&f, &b).unwrap();
        for n in 0..b.len() {
            let p = b.slice(..n);
            match decode(&f, &p) {
                Err(DecodeError::Truncated { .. }) => {}
                Ok((env, r)) if f.optional_tail => {
                    // Only a complete shorter message is acceptable, never a misread.
                    assert_ne!(r, full);
                    assert_eq!(
                        encode(&f, &env, &r).unwrap().1,
                        &p[..],
                        "{} prefix {n}",
                        f.file
                    );
                    tolerated += 1;
                }
                other => panic!("{} prefix {n}/{}: {other:?}", f.file, b.len()),
            }
        }
    }
    assert_eq!(tolerated, 1, "only the v5 CAS timeout without contentions");
}

#[test]
fn fixture_single_byte_corruption_never_panics() {
    let mut outcomes = (0, 0);
    for f in fixtures() {
        let b = load(&f);
        for i in 0..b.len() {
            for v in [0x00, 0xFF, 0x80, 0x7F, b[i] ^ 0x01] {
                let mut c = b.to_vec();
                c[i] = v;
                match decode(&f, &Bytes::from(c)) {
                    Ok((env, r)) => {
                        // re-encoding a decoded message may fail (typed), never panic
                        let _ = encode(&f, &env, &r);
                        outcomes.0 += 1;
                    }
                    Err(_) => outcomes.1 += 1,
                }
            }
        }
    }
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
}
