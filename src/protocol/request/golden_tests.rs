//! Golden request bodies, hand-computed from the spec (section 4.1) and stored in
//! `protocol-fixtures/req_*.bin` (body only, no frame header): each test checks the file
//! equals the hand-written bytes, encodes the typed request to exactly those bytes,
//! decodes them back to the same request, and that every strict prefix is `Truncated`.

use std::borrow::Cow;

use bytes::BytesMut;

use super::*;
use crate::protocol::Consistency;
use ProtocolVersion::{V3, V4, V5};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("protocol-fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn golden(name: &str, expected: &[u8], req: &Request<'_>, versions: &[ProtocolVersion]) {
    assert_eq!(
        fixture(name),
        expected,
        "{name} differs from the hand-computed bytes"
    );
    for &v in versions {
        let mut out = BytesMut::new();
        req.encode_body(v, &mut out).unwrap();
        assert_eq!(&out[..], expected, "{name} encode v{}", v.as_u8());
        let back = Request::decode_body(req.opcode(), v, expected).unwrap();
        assert_eq!(&back, req, "{name} decode v{}", v.as_u8());
        for cut in 0..expected.len() {
            assert!(
                matches!(
                    Request::decode_body(req.opcode(), v, &expected[..cut]),
                    Err(DecodeError::Truncated { .. })
                ),
                "{name} prefix {cut}"
            );
        }
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn options_is_empty() {
    golden("req_options.bin", &[], &Request::Options, &[V3, V4, V5]);
}

#[test]
fn startup_cql_version() {
    let expected = cat(&[
        &[0x00, 0x01],  // [string map] n = 1
        &[0x00, 0x0B],  // [string] length 11
        b"CQL_VERSION", //
        &[0x00, 0x05],  // [string] length 5
        b"3.0.0",       //
    ]);
    golden(
        "req_startup.bin",
        &expected,
        &Request::Startup(Startup::new("3.0.0")),
        &[V3, V4, V5],
    );
}

#[test]
fn auth_response_plain() {
    let expected = cat(&[
        &[0x00, 0x00, 0x00, 0x14], // [bytes] length 20
        b"\0cassandra\0cassandra",
    ]);
    golden(
        "req_auth_response_plain.bin",
        &expected,
        &Request::AuthResponse(AuthResponse::plain("cassandra", "cassandra")),
        &[V3, V4, V5],
    );
}

fn select_local() -> Request<'static> {
    Request::Query(Query::new(
        "SELECT * FROM system.local",
        QueryParameters::new(Consistency::One),
    ))
}

#[test]
fn query_v4_flags_are_a_byte() {
    let expected = cat(&[
        &[0x00, 0x00, 0x00, 0x1A], // [long string] length 26
        b"SELECT * FROM system.local",
        &[0x00, 0x01], // consistency ONE
        &[0x00],       // flags [byte] (v4 4.1.4)
    ]);
    golden("req_query_v4.bin", &expected, &select_local(), &[V3, V4]);
}

#[test]
fn query_v5_flags_are_an_int() {
    let expected = cat(&[
        &[0x00, 0x00, 0x00, 0x1A],
        b"SELECT * FROM system.local",
        &[0x00, 0x01],             // consistency ONE
        &[0x00, 0x00, 0x00, 0x00], // flags [int] (v5 4.1.4)
    ]);
    golden("req_query_v5.bin", &expected, &select_local(), &[V5]);
}

#[test]
fn prepare_v5_with_keyspace() {
    let expected = cat(&[
        &[0x00, 0x00, 0x00, 0x20], // [long string] length 32
        b"SELECT * FROM users WHERE id = ?",
        &[0x00, 0x00, 0x00, 0x01], // flags [int]: 0x01 with keyspace (v5 4.1.5)
        &[0x00, 0x02],
        b"ks",
    ]);
    let req = Request::Prepare(Prepare {
        query: "SELECT * FROM users WHERE id = ?".into(),
        keyspace: Some("ks".into()),
    });
    golden("req_prepare_ks_v5.bin", &expected, &req, &[V5]);
}

#[test]
fn execute_v5_with_result_metadata_id() {
    let expected = cat(&[
        &[0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF], // id [short bytes]
        &[0x00, 0x04, 0x01, 0x02, 0x03, 0x04], // result_metadata_id [short bytes] (v5 4.1.6)
        &[0x00, 0x06],                         // LOCAL_QUORUM
        &[0x00, 0x00, 0x00, 0x05],             // flags [int]: values | page size
        &[0x00, 0x01],                         // n = 1
        &[0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x2A], // bigint 42
        &[0x00, 0x00, 0x13, 0x88],             // page size 5000
    ]);
    let mut values = SerializedValues::new();
    values.push_bytes(&42i64.to_be_bytes()).unwrap();
    let mut params = QueryParameters::new(Consistency::LocalQuorum);
    params.values = Some(Values::Positional(Cow::Owned(values)));
    params.page_size = Some(5000);
    let meta: &[u8] = &[1, 2, 3, 4];
    let req = Request::Execute(Execute::new(
        &[0xDE, 0xAD, 0xBE, 0xEF][..],
        Some(Cow::Borrowed(meta)),
        params,
    ));
    golden("req_execute_v5.bin", &expected, &req, &[V5]);
}

fn two_child_batch() -> Request<'static> {
    let mut values = SerializedValues::new();
    values.push_bytes(&2i32.to_be_bytes()).unwrap();
    let mut b = Batch::new(BatchType::Logged, Consistency::Quorum);
    b.statements.push(BatchStatement {
        kind: BatchStatementKind::Query("INSERT INTO ks.t (id) VALUES (1)".into()),
        values: Cow::Owned(SerializedValues::new()),
    });
    b.statements.push(BatchStatement {
        kind: BatchStatementKind::Prepared(Cow::Owned(vec![0xDE, 0xAD, 0xBE, 0xEF])),
        values: Cow::Owned(values),
    });
    Request::Batch(b)
}

fn batch_children() -> Vec<u8> {
    cat(&[
        &[0x00],       // type: logged
        &[0x00, 0x02], // n = 2
        &[0x00],       // kind 0: query string
        &[0x00, 0x00, 0x00, 0x20],
        b"INSERT INTO ks.t (id) VALUES (1)",
        &[0x00, 0x00], // no values
        &[0x01],       // kind 1: prepared id
        &[0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF],
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02], // one int value 2
        &[0x00, 0x04],                                                 // QUORUM
    ])
}

#[test]
fn batch_simple_and_prepared_v4() {
    let expected = cat(&[&batch_children(), &[0x00]]); // flags [byte] (v4 4.1.7)
    golden("req_batch_v4.bin", &expected, &two_child_batch(), &[V3, V4]);
}

#[test]
fn batch_simple_and_prepared_v5() {
    let expected = cat(&[&batch_children(), &[0x00, 0x00, 0x00, 0x00]]); // flags [int]
    golden("req_batch_v5.bin", &expected, &two_child_batch(), &[V5]);
}

#[test]
fn register_all_events() {
    let expected = cat(&[
        &[0x00, 0x03],
        &[0x00, 0x0F],
        b"TOPOLOGY_CHANGE",
        &[0x00, 0x0D],
        b"STATUS_CHANGE",
        &[0x00, 0x0D],
        b"SCHEMA_CHANGE",
    ]);
    let req = Request::Register(Register::new([
        EventType::TopologyChange,
        EventType::StatusChange,
        EventType::SchemaChange,
    ]));
    golden("req_register.bin", &expected, &req, &[V3, V4, V5]);
}
