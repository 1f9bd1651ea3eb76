//! Typed Rust values against the real Cassandra: `#[derive(SerializeRow, FromRow)]`
//! structs with a `#[derive(SerializeUserType, FromUserType)]` UDT over the every-type
//! table of `types.rs` (prepared by marker name, unprepared in declaration order),
//! counters, and the typed errors for a wrong Rust type bound or read.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ringbolt::{
    CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlUuid, CqlVarint,
    DeserializationErrorKind, Error, FromRow, FromUserType, SerializationErrorKind, SerializeRow,
    SerializeUserType, ServerErrorKind,
};

use crate::harness;
use crate::types::{create_schema, COLUMNS};

#[derive(Debug, Clone, PartialEq, SerializeUserType, FromUserType)]
struct SomeUdt {
    i: Option<i32>,
    t: Option<String>,
    d: Option<CqlDate>,
    tags: Option<Vec<String>>,
}

/// Every column of the table, as plain Rust types (field order = [`COLUMNS`] order).
#[derive(Debug, Clone, SerializeRow, FromRow)]
struct Everything {
    k: i32,
    c_ascii: String,
    c_bigint: i64,
    c_blob: Vec<u8>,
    c_boolean: bool,
    c_date: CqlDate,
    c_decimal: CqlDecimal,
    c_double: f64,
    c_duration: CqlDuration,
    c_float: f32,
    c_inet: IpAddr,
    c_int: i32,
    c_smallint: i16,
    c_text: String,
    c_time: CqlTime,
    c_timestamp: CqlTimestamp,
    c_timeuuid: CqlTimeuuid,
    c_tinyint: i8,
    c_uuid: CqlUuid,
    c_varint: CqlVarint,
    c_list: Vec<i32>,
    c_set: BTreeSet<String>,
    c_map: BTreeMap<String, i64>,
    c_frozen: Vec<Vec<u8>>,
    c_nested: BTreeMap<String, Vec<SomeUdt>>,
    c_tuple: Option<(Option<i32>, Option<String>)>,
    c_udt: Option<SomeUdt>,
    #[ringbolt(rename = "c_udt_nf")]
    non_frozen_udt: Option<SomeUdt>,
    c_vec: [f32; 3],
    c_vec_text: [String; 2],
    c_vec_small: [i16; 2],
    c_custom: Vec<u8>,
}

fn sample(k: i32, low: bool) -> Everything {
    fn choose<T>(low: bool, a: T, b: T) -> T {
        if low {
            a
        } else {
            b
        }
    }
    macro_rules! pick {
        ($a:expr, $b:expr) => {
            choose(low, $a, $b)
        };
    }
    let udt = SomeUdt {
        i: Some(pick!(i32::MIN, i32::MAX)),
        t: Some(pick!("", "𝄞 text").into()),
        d: Some(CqlDate::from_days_since_epoch(pick!(-719_162, 2_932_896))),
        tags: pick!(None, Some(vec!["a".into(), "".into()])),
    };
    Everything {
        k,
        c_ascii: pick!("", "~ascii\u{7f}").into(),
        c_bigint: pick!(i64::MIN, i64::MAX),
        c_blob: pick!(vec![], vec![0, 0xFF]),
        c_boolean: !low,
        c_date: CqlDate(pick!(0, u32::MAX)),
        c_decimal: CqlDecimal {
            unscaled: CqlVarint::from(pick!(i128::MIN, i128::MAX)),
            scale: pick!(i32::MIN, i32::MAX),
        },
        c_double: pick!(f64::MIN_POSITIVE, f64::NAN),
        c_duration: CqlDuration {
            months: pick!(-1, 1),
            days: pick!(-2, 0),
            nanoseconds: pick!(i64::MIN, i64::MAX),
        },
        c_float: pick!(-0.0, f32::NAN),
        c_inet: pick!("10.0.0.1", "fe80::1").parse().unwrap(),
        c_int: pick!(i32::MIN, i32::MAX),
        c_smallint: pick!(i16::MIN, i16::MAX),
        c_text: pick!("", "ünï\u{0}").into(),
        c_time: CqlTime(pick!(0, CqlTime::MAX_NANOS)),
        c_timestamp: CqlTimestamp(pick!(-62_135_596_800_000, 253_402_300_799_999)),
        c_timeuuid: CqlTimeuuid([0x11, 0, 0, 0, 0, 0, 0x11, 0xEF, 0x80, 0, 0, 0, 0, 0, 0, 1]),
        c_tinyint: pick!(i8::MIN, i8::MAX),
        c_uuid: CqlUuid([pick!(0, 0xAB); 16]),
        c_varint: CqlVarint::from(pick!(i128::MIN, i128::MAX)),
        c_list: pick!(vec![1], vec![3, 2, 1]),
        c_set: ["b", "a"].into_iter().map(String::from).collect(),
        c_map: [("x".to_string(), pick!(-1, 1))].into(),
        c_frozen: pick!(vec![], vec![vec![], vec![1]]),
        c_nested: [("n".to_string(), vec![udt.clone(), udt.clone()])].into(),
        c_tuple: pick!(None, Some((Some(5), None))),
        c_udt: Some(udt.clone()),
        non_frozen_udt: pick!(None, Some(udt)),
        c_vec: [pick!(f32::MIN, f32::MAX), 0.5, -0.0],
        c_vec_text: ["".into(), "two".into()],
        c_vec_small: [pick!(i16::MIN, i16::MAX), 0],
        c_custom: vec![pick!(0, 0xFF); 16],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derived_structs_and_udts_round_trip() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "typed", 1).await;
    create_schema(&s, &ks, &["typed"]).await;
    let cols: Vec<&str> = COLUMNS.iter().map(|(c, _)| *c).collect();
    let marks = vec!["?"; cols.len() + 1].join(", ");
    let insert = format!(
        "INSERT INTO {ks}.typed (k, {}) VALUES ({marks})",
        cols.join(", ")
    );
    // prepared: bound by marker name, from a statement whose markers are in another
    // order than the struct's fields
    let mut reversed = cols.clone();
    reversed.reverse();
    let insert_reversed = format!(
        "INSERT INTO {ks}.typed ({}, k) VALUES ({marks})",
        reversed.join(", ")
    );
    let prepared = s.prepare(insert_reversed.as_str()).await.unwrap();
    let rows = [sample(1, true), sample(2, false)];
    for r in &rows {
        s.execute(&prepared, r).await.unwrap();
    }
    // unprepared: declaration order, natural types
    let unprepared = [sample(101, true), sample(102, false)];
    for r in &unprepared {
        s.query(insert.as_str(), r).await.unwrap();
    }
    let select = s
        .prepare(format!("SELECT * FROM {ks}.typed WHERE k = ?"))
        .await
        .unwrap();
    for want in rows.iter().chain(&unprepared) {
        let got: Everything = s
            .execute(&select, (want.k,))
            .await
            .unwrap()
            .first_row()
            .unwrap();
        // Debug compares NaN and -0.0 as written (PartialEq would not)
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "row {}", want.k);
    }
    // a UDT value on its own: bound to a marker of the UDT type, read as the struct
    let udt = SomeUdt {
        i: None,
        t: Some("alone".into()),
        d: None,
        tags: Some(vec![]),
    };
    let set_udt = s
        .prepare(format!("UPDATE {ks}.typed SET c_udt = ? WHERE k = ?"))
        .await
        .unwrap();
    s.execute(&set_udt, (&udt, 1)).await.unwrap();
    let (back,): (Option<SomeUdt>,) = s
        .query(format!("SELECT c_udt FROM {ks}.typed WHERE k = 1"), ())
        .await
        .unwrap()
        .first_row()
        .unwrap();
    // an empty frozen<list> field keeps being an empty list, not null
    assert_eq!(back, Some(udt));
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_increment_and_read() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "counter", 1).await;
    s.query(
        format!("CREATE TABLE {ks}.c (k int PRIMARY KEY, n counter)"),
        (),
    )
    .await
    .unwrap();
    let add = s
        .prepare(format!("UPDATE {ks}.c SET n = n + ? WHERE k = ?"))
        .await
        .unwrap();
    s.execute(&add, (i64::MAX, 1)).await.unwrap();
    s.execute(&add, (ringbolt::Counter(-1), 1)).await.unwrap();
    s.query(
        format!("UPDATE {ks}.c SET n = n + ? WHERE k = ?"),
        (-5_i64, 2),
    )
    .await
    .unwrap();
    // counters wrap around like Java longs
    s.execute(&add, (i64::MAX, 2)).await.unwrap();
    let rs = s
        .query(format!("SELECT k, n FROM {ks}.c"), ())
        .await
        .unwrap();
    let mut got: Vec<(i32, ringbolt::Counter)> =
        rs.rows_typed().unwrap().map(Result::unwrap).collect();
    got.sort();
    assert_eq!(
        got,
        [
            (1, ringbolt::Counter(i64::MAX - 1)),
            (2, ringbolt::Counter(i64::MAX - 5))
        ]
    );
    let (n,): (i64,) = s
        .query(format!("SELECT n FROM {ks}.c WHERE k = 1"), ())
        .await
        .unwrap()
        .first_row()
        .unwrap();
    assert_eq!(n, i64::MAX - 1);
    s.close().await;
}

fn serialization_reason(e: &Error) -> SerializationErrorKind {
    match e {
        Error::Serialization(e) => e.reason().clone(),
        other => panic!("expected a serialization error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_rust_types_give_typed_errors() {
    let s = harness::session().await;
    let ks = harness::keyspace(&s, "typeerr", 1).await;
    create_schema(&s, &ks, &["t"]).await;
    let insert = |cols: &str| {
        let n = cols.split(',').count();
        format!(
            "INSERT INTO {ks}.t (k, {cols}) VALUES (?{})",
            ", ?".repeat(n)
        )
    };
    // bound to a prepared marker: caught before anything is sent, naming the marker
    let p = s.prepare(insert("c_int, c_text")).await.unwrap();
    let e = s.execute(&p, (1, "not an int", "x")).await.unwrap_err();
    assert_eq!(
        serialization_reason(&e),
        SerializationErrorKind::TypeMismatch
    );
    assert!(e.to_string().contains("c_int"), "{e}");
    let e = s.execute(&p, (1, 2_i64, "x")).await.unwrap_err();
    assert_eq!(
        serialization_reason(&e),
        SerializationErrorKind::TypeMismatch
    );
    let e = s.execute(&p, (1, 2)).await.unwrap_err();
    assert!(
        matches!(
            serialization_reason(&e),
            SerializationErrorKind::ValueCount {
                expected: 3,
                got: 2
            }
        ),
        "{e}"
    );
    // values the CQL type cannot hold
    let p = s.prepare(insert("c_time")).await.unwrap();
    let e = s.execute(&p, (1, CqlTime(-1))).await.unwrap_err();
    assert_eq!(serialization_reason(&e), SerializationErrorKind::OutOfRange);
    let p = s.prepare(insert("c_duration")).await.unwrap();
    let mixed = CqlDuration {
        months: 1,
        days: -1,
        nanoseconds: 0,
    };
    let e = s.execute(&p, (1, mixed)).await.unwrap_err();
    assert_eq!(
        serialization_reason(&e),
        SerializationErrorKind::MixedSignDuration
    );
    let p = s.prepare(insert("c_ascii")).await.unwrap();
    let e = s.execute(&p, (1, "é")).await.unwrap_err();
    assert_eq!(serialization_reason(&e), SerializationErrorKind::NotAscii);
    let p = s.prepare(insert("c_vec")).await.unwrap();
    let e = s.execute(&p, (1, vec![1.0_f32, 2.0])).await.unwrap_err();
    assert!(
        matches!(
            serialization_reason(&e),
            SerializationErrorKind::VectorLength {
                expected: 3,
                got: 2
            }
        ),
        "{e}"
    );
    let p = s.prepare(insert("c_list")).await.unwrap();
    let e = s.execute(&p, (1, vec![Some(1), None])).await.unwrap_err();
    assert_eq!(
        serialization_reason(&e),
        SerializationErrorKind::NullElement
    );
    // an unprepared value has no marker type to check against: the server refuses
    // the bytes (a 3-byte text is no int)
    let e = s.query(insert("c_int"), (1, "abc")).await.unwrap_err();
    assert!(
        matches!(&e, Error::Server(se) if se.kind == ServerErrorKind::Invalid),
        "{e:?}"
    );

    // reading: the type check runs once per result and names the column
    s.query(insert("c_int, c_text"), (1, 7, "seven"))
        .await
        .unwrap();
    s.query(format!("INSERT INTO {ks}.t (k) VALUES (2)"), ())
        .await
        .unwrap();
    let r = s
        .query(
            format!("SELECT k, c_int, c_text FROM {ks}.t WHERE k = 1"),
            (),
        )
        .await
        .unwrap();
    let e = r.first_row::<(i32, String, String)>().unwrap_err();
    assert_eq!(e.kind(), &DeserializationErrorKind::TypeMismatch);
    assert_eq!(e.column().map(|c| c.index), Some(1), "{e}");
    assert!(e.to_string().contains("c_int"), "{e}");
    let e = r.first_row::<(i32, i64, String)>().unwrap_err();
    assert_eq!(e.kind(), &DeserializationErrorKind::TypeMismatch);
    let e = r.first_row::<(i32, i32)>().unwrap_err();
    assert!(
        matches!(e.kind(), DeserializationErrorKind::ColumnCount { .. }),
        "{e}"
    );
    let r = s
        .query(format!("SELECT k, c_int FROM {ks}.t WHERE k = 2"), ())
        .await
        .unwrap();
    let e = r.first_row::<(i32, i32)>().unwrap_err();
    assert_eq!(e.kind(), &DeserializationErrorKind::UnexpectedNull);
    assert!(e.to_string().contains("c_int"), "{e}");
    let (k, v): (i32, Option<i32>) = r.first_row().unwrap();
    assert_eq!((k, v), (2, None));
    s.close().await;
}
