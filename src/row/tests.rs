//! Tests of reading values and rows: Rust -> bytes -> Rust round trips at edge values,
//! typed and dynamic row access, errors naming the column and both types, and bad
//! bytes that must give typed errors, never a panic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::types::decode::decode_value;
use crate::value::{write_value, SerializeRow, SerializeValue};
use crate::{
    Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlUuid,
    CqlValue, CqlVarint,
};

/// Serializes `v` as `typ`, reads it back as `T` and as a `CqlValue`.
fn rt<T>(v: T, typ: ColumnType)
where
    T: SerializeValue + for<'a> DeserializeValue<'a> + PartialEq + Debug,
{
    let mut b = BytesMut::new();
    write_value(&v, &typ, &mut b).unwrap_or_else(|e| panic!("{e}"));
    let frame = b.freeze();
    let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    let body = (len >= 0).then(|| FrameSlice::new(&frame[4..], &frame));
    T::type_check(&typ).unwrap();
    let back = T::deserialize(&typ, body).unwrap_or_else(|e| panic!("{e}"));
    let mut again = BytesMut::new();
    write_value(&back, &typ, &mut again).unwrap();
    assert_eq!(again.freeze(), frame, "{typ}: {v:?} -> {back:?}");
    if format!("{v:?}") != "NaN" {
        assert_eq!(back, v);
    }
    if let Some(body) = body {
        let dynamic = decode_value(&typ, body.as_slice()).unwrap();
        let mut again = BytesMut::new();
        write_value(&dynamic, &typ, &mut again).unwrap();
        assert_eq!(&again[..], &frame[..], "{typ}: CqlValue {dynamic:?}");
    }
}

#[test]
fn scalars_round_trip_at_edges() {
    use ColumnType as T;
    for v in [i8::MIN, -1, 0, i8::MAX] {
        rt(v, T::Tinyint);
    }
    for v in [i16::MIN, i16::MAX] {
        rt(v, T::Smallint);
    }
    for v in [i32::MIN, 0, i32::MAX] {
        rt(v, T::Int);
    }
    for v in [i64::MIN, -1, i64::MAX] {
        rt(v, T::Bigint);
        rt(Counter(v), T::Counter);
        rt(CqlTimestamp(v), T::Timestamp);
    }
    for v in [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        f32::MIN_POSITIVE,
        f32::MAX,
    ] {
        rt(v, T::Float);
    }
    for v in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::MIN,
        5e-324,
    ] {
        rt(v, T::Double);
    }
    rt(true, T::Boolean);
    rt(false, T::Boolean);
    rt(String::new(), T::Varchar);
    rt("ünï".to_string(), T::Varchar);
    rt(String::from("plain"), T::Ascii);
    rt(Vec::<u8>::new(), T::Blob);
    rt(vec![0u8, 255], T::Blob);
    rt(Bytes::from_static(b"\x00\x01"), T::Blob);
    rt(IpAddr::V4(Ipv4Addr::UNSPECIFIED), T::Inet);
    rt(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        T::Inet,
    );
    rt(CqlDate(0), T::Date);
    rt(CqlDate(u32::MAX), T::Date);
    rt(CqlDate::from_days_since_epoch(-25_000), T::Date);
    rt(CqlTime(0), T::Time);
    rt(CqlTime(CqlTime::MAX_NANOS), T::Time);
    rt(
        CqlDuration {
            months: -1,
            days: -2,
            nanoseconds: i64::MIN,
        },
        T::Duration,
    );
    rt(
        CqlDuration {
            months: i32::MAX,
            days: 0,
            nanoseconds: 1,
        },
        T::Duration,
    );
    rt(CqlUuid([0xAB; 16]), T::Uuid);
    rt(CqlTimeuuid([0x11; 16]), T::Timeuuid);
    // 10^38 is the largest power of ten in an i128; 10^40 is covered by the protocol tests
    let pow10_38: i128 = 10i128.pow(38);
    for v in [
        0i128,
        -1,
        pow10_38,
        -pow10_38,
        i64::MAX as i128 + 1,
        i64::MIN as i128 - 1,
        i128::MIN,
    ] {
        rt(CqlVarint::from(v), T::Varint);
        rt(
            CqlDecimal {
                unscaled: CqlVarint::from(v),
                scale: -7,
            },
            T::Decimal,
        );
    }
    rt(None::<i32>, T::Int);
    rt(Some(3i32), T::Int);
}

#[test]
fn collections_round_trip() {
    use ColumnType as T;
    let list = |t| T::List(Box::new(t));
    rt(vec![1i32, -1], list(T::Int));
    rt(Vec::<String>::new(), list(T::Varchar));
    rt(vec![vec![1i64], vec![]], list(list(T::Bigint)));
    rt(HashSet::from([1i8]), T::Set(Box::new(T::Tinyint)));
    rt(BTreeSet::from([2i8, 1]), T::Set(Box::new(T::Tinyint)));
    rt(
        BTreeSet::from(["a".to_string()]),
        T::Set(Box::new(T::Varchar)),
    );
    rt(
        HashMap::from([(1i32, "x".to_string())]),
        T::Map(Box::new(T::Int), Box::new(T::Varchar)),
    );
    rt((1i32, "t".to_string()), T::Tuple(vec![T::Int, T::Varchar]));
    rt(
        (Some(1i32), None::<String>),
        T::Tuple(vec![T::Int, T::Varchar]),
    );
    rt(
        [1.5f32, -0.0, f32::INFINITY],
        T::Vector(Box::new(T::Float), 3),
    );
    rt(
        ["x".to_string(), String::new()],
        T::Vector(Box::new(T::Varchar), 2),
    );
    rt([1i16, -1], T::Vector(Box::new(T::Smallint), 2));
    rt(vec![1.0f64, 2.0], T::Vector(Box::new(T::Double), 2));
    // map<text, frozen<list<frozen<tuple<int, text>>>>>
    let t = T::Map(
        Box::new(T::Varchar),
        Box::new(list(T::Tuple(vec![T::Int, T::Varchar]))),
    );
    let v = BTreeMap::from([
        (
            "a".to_string(),
            vec![(1i32, "one".to_string()), (2, String::new())],
        ),
        (String::new(), vec![]),
    ]);
    rt(v, t);
}

#[test]
fn null_collections_read_as_empty() {
    let t = ColumnType::List(Box::new(ColumnType::Int));
    assert_eq!(
        Vec::<i32>::deserialize(&t, None).unwrap(),
        Vec::<i32>::new()
    );
    let m = ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::Int));
    assert!(HashMap::<i32, i32>::deserialize(&m, None)
        .unwrap()
        .is_empty());
    let e = i32::deserialize(&ColumnType::Int, None).unwrap_err();
    assert_eq!(e.kind().clone(), DeserializationErrorKind::UnexpectedNull);
}

#[test]
fn type_check_names_both_types() {
    use ColumnType as T;
    let e = <i32 as DeserializeValue>::type_check(&T::Varchar).unwrap_err();
    assert_eq!(
        (e.rust_type(), e.cql_type().cloned()),
        ("i32", Some(T::Varchar))
    );
    let e = <Vec<String> as DeserializeValue>::type_check(&T::List(Box::new(T::Int))).unwrap_err();
    assert_eq!(e.cql_type().cloned(), Some(T::Int));
    assert!(e.rust_type().contains("String"));
    let e =
        <[f32; 4] as DeserializeValue>::type_check(&T::Vector(Box::new(T::Float), 3)).unwrap_err();
    assert_eq!(e.kind().clone(), DeserializationErrorKind::TypeMismatch);
    assert!(<(i32, String) as DeserializeValue>::type_check(&T::Tuple(vec![T::Int])).is_err());
    assert!(
        <HashMap<String, i32> as DeserializeValue>::type_check(&T::Map(
            Box::new(T::Varchar),
            Box::new(T::Int)
        ))
        .is_ok()
    );
}

fn rowset(cols: &[(&str, ColumnType)], rows: &[&dyn SerializeRow]) -> RowSet {
    let specs: Vec<ColumnSpec> = cols
        .iter()
        .map(|(n, t)| ColumnSpec::new(*n, t.clone()))
        .collect();
    let mut b = BytesMut::new();
    for r in rows {
        r.serialize_row(Some(&specs), &mut b).unwrap();
    }
    RowSet::new(Arc::from(specs), rows.len(), b.freeze())
}

#[test]
fn typed_and_dynamic_rows() {
    use ColumnType as T;
    let rs = rowset(
        &[
            ("id", T::Bigint),
            ("name", T::Varchar),
            ("tags", T::Set(Box::new(T::Varchar))),
        ],
        &[
            &(1i64, "ada", vec!["x"]),
            &(2i64, None::<&str>, Vec::<&str>::new()),
        ],
    );
    let rows: Vec<(i64, Option<&str>, Vec<&str>)> =
        rs.rows().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows, vec![(1, Some("ada"), vec!["x"]), (2, None, vec![])]);
    // borrowed strings point into the frame
    let (_, name, _): (i64, Option<&str>, Vec<&str>) = rs.first_row().unwrap();
    assert!(name.is_some());
    // dynamic access
    let row = rs.iter().next().unwrap().unwrap();
    assert_eq!(row.get::<i64>(0).unwrap(), 1);
    assert_eq!(row.get_by_name::<String>("name").unwrap(), "ada");
    assert_eq!(
        row.get::<CqlValue>(2).unwrap(),
        CqlValue::Set(vec![CqlValue::Text("x".into())])
    );
    let e = row.get::<i32>(1).unwrap_err();
    assert_eq!(
        e.column().cloned(),
        Some(crate::value::ColumnRef {
            index: 1,
            name: Some("name".into())
        })
    );
    assert_eq!(
        (e.rust_type(), e.cql_type().cloned()),
        ("i32", Some(T::Varchar))
    );
    let msg = e.to_string();
    assert!(
        msg.contains("\"name\"") && msg.contains("i32") && msg.contains("text"),
        "{msg}"
    );
    assert!(matches!(
        row.get_by_name::<i32>("nope").unwrap_err().kind().clone(),
        DeserializationErrorKind::NoSuchColumn { .. }
    ));
    assert!(matches!(
        row.get::<i32>(9).unwrap_err().kind().clone(),
        DeserializationErrorKind::NoSuchIndex { .. }
    ));
    // a null in a non-Option column names the column
    let mut it = rs.rows::<(i64, &str, Vec<&str>)>().unwrap();
    assert!(it.next().unwrap().is_ok());
    let e = it.next().unwrap().unwrap_err();
    assert_eq!(e.kind().clone(), DeserializationErrorKind::UnexpectedNull);
    assert_eq!(e.column().cloned().unwrap().index, 1);
    // wrong row types fail the type check once, naming the column
    let e = rs.rows::<(i64, i32, Vec<&str>)>().err().unwrap();
    assert_eq!(e.column().cloned().unwrap().name.as_deref(), Some("name"));
    let e = rs.rows::<(i64, String)>().err().unwrap();
    assert_eq!(
        e.kind().clone(),
        DeserializationErrorKind::ColumnCount {
            expected: 2,
            got: 3
        }
    );
    assert_eq!(
        rs.single_row::<Row>().unwrap_err().kind().clone(),
        DeserializationErrorKind::TooManyRows { count: 2 }
    );
}

#[test]
fn bytes_are_zero_copy_slices_of_the_frame() {
    let rs = rowset(&[("b", ColumnType::Blob)], &[&(vec![1u8, 2, 3],)]);
    let (b,): (Bytes,) = rs.first_row().unwrap();
    assert_eq!(&b[..], [1, 2, 3]);
    let (s,): (&[u8],) = rs.first_row().unwrap();
    assert_eq!(s.as_ptr(), b.as_ptr(), "Bytes must share the frame buffer");
}

#[test]
fn malformed_rows_give_typed_errors() {
    use ColumnType as T;
    let specs: Arc<[ColumnSpec]> = Arc::from(vec![
        ColumnSpec::new("a", T::Int),
        ColumnSpec::new("b", T::Varchar),
    ]);
    // row count that the bytes cannot hold
    let rs = RowSet::new(specs.clone(), 1 << 30, Bytes::from_static(&[0, 0, 0, 0]));
    assert!(rs.rows::<Row>().is_err());
    // int of 5 bytes, text with invalid UTF-8, truncated cell
    for content in [
        &[0, 0, 0, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0][..],
        &[0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0xFF],
        &[0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 9, b'a', 0, 0, 0],
    ] {
        let rs = RowSet::new(specs.clone(), 1, Bytes::copy_from_slice(content));
        let mut it = rs.rows::<(i32, String)>().unwrap();
        let e = it.next().unwrap().unwrap_err();
        assert!(
            matches!(e.kind().clone(), DeserializationErrorKind::Decode(_)),
            "{e}"
        );
        assert!(e.column().is_some(), "{e}");
        assert!(it.next().is_none(), "iteration stops after a malformed row");
    }
}

/// For every typed Rust type: a value one byte short and one byte long fails with a
/// Decode error, never a panic.
#[test]
fn truncated_and_oversized_values_for_every_type() {
    use ColumnType as T;
    fn check<T: for<'a> DeserializeValue<'a> + Debug>(typ: ColumnType, good: &[u8]) {
        assert!(
            T::deserialize(&typ, Some(FrameSlice::from_slice(good))).is_ok(),
            "{typ}"
        );
        let short = &good[..good.len() - 1];
        let mut long = good.to_vec();
        long.push(0);
        for bad in [short, &long[..]] {
            match T::deserialize(&typ, Some(FrameSlice::from_slice(bad))) {
                Err(e) => assert!(
                    matches!(e.kind().clone(), DeserializationErrorKind::Decode(_)),
                    "{typ}: {e}"
                ),
                Ok(v) => panic!("{typ}: accepted {bad:?} as {v:?}"),
            }
        }
    }
    check::<i8>(T::Tinyint, &[1]);
    check::<i16>(T::Smallint, &[0, 1]);
    check::<i32>(T::Int, &[0, 0, 0, 1]);
    check::<i64>(T::Bigint, &[0; 8]);
    check::<Counter>(T::Counter, &[0; 8]);
    check::<f32>(T::Float, &[0; 4]);
    check::<f64>(T::Double, &[0; 8]);
    check::<bool>(T::Boolean, &[1]);
    check::<CqlDate>(T::Date, &[0x80, 0, 0, 0]);
    check::<CqlTime>(T::Time, &[0; 8]);
    check::<CqlTimestamp>(T::Timestamp, &[0; 8]);
    check::<CqlUuid>(T::Uuid, &[0; 16]);
    check::<CqlTimeuuid>(T::Timeuuid, &[0; 16]);
    check::<IpAddr>(T::Inet, &[1, 2, 3, 4]);
    check::<CqlDuration>(T::Duration, &[2, 4, 6]);
    check::<Vec<i32>>(
        T::List(Box::new(T::Int)),
        &[0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1],
    );
    check::<HashSet<i32>>(
        T::Set(Box::new(T::Int)),
        &[0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1],
    );
    check::<BTreeMap<i8, i8>>(
        T::Map(Box::new(T::Tinyint), Box::new(T::Tinyint)),
        &[0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 2],
    );
    check::<(i32,)>(T::Tuple(vec![T::Int]), &[0, 0, 0, 4, 0, 0, 0, 1]);
    check::<[f32; 2]>(T::Vector(Box::new(T::Float), 2), &[0; 8]);
    check::<[String; 2]>(T::Vector(Box::new(T::Varchar), 2), &[1, b'a', 1, b'b']);
    check::<CqlValue>(T::Int, &[0, 0, 0, 1]);
    // varint/decimal have no fixed size: empty and short forms
    assert!(CqlVarint::deserialize(&T::Varint, Some(FrameSlice::from_slice(&[]))).is_err());
    assert!(
        CqlDecimal::deserialize(&T::Decimal, Some(FrameSlice::from_slice(&[0, 0, 0]))).is_err()
    );
    assert!(String::deserialize(&T::Ascii, Some(FrameSlice::from_slice(&[0x80]))).is_err());
    // a huge element count fails at once
    let e = Vec::<i32>::deserialize(
        &T::List(Box::new(T::Int)),
        Some(FrameSlice::from_slice(&[0x7F, 0xFF, 0xFF, 0xFF])),
    )
    .unwrap_err();
    assert!(matches!(
        e.kind().clone(),
        DeserializationErrorKind::Decode(crate::protocol::DecodeError::Truncated { .. })
    ));
}

/// Item 7 of the values issue: a corrupt cell of any type, read through a result row,
/// is a `Decode` error that names the column (index and name), never a panic.
/// `short` / `long`: whether the value one byte short / one byte long is invalid for
/// the type (for varint, blob, text... every length is valid).
#[test]
fn corrupt_cells_of_every_type_name_the_column() {
    use ColumnType as T;
    let udt = T::Udt(crate::UdtType {
        keyspace: "ks".into(),
        name: "u".into(),
        fields: vec![("a".into(), T::Int), ("b".into(), T::Varchar)],
    });
    let cases: Vec<(T, Vec<u8>, bool, bool)> = vec![
        (T::Boolean, vec![1], false, true), // zero bytes is the "empty" value
        (T::Tinyint, vec![1], false, true),
        (T::Smallint, vec![0, 1], true, true),
        (T::Int, vec![0, 0, 0, 1], true, true),
        (T::Bigint, vec![0; 8], true, true),
        (T::Counter, vec![0; 8], true, true),
        (T::Float, vec![0; 4], true, true),
        (T::Double, vec![0; 8], true, true),
        (T::Date, vec![0x80, 0, 0, 0], true, true),
        (T::Time, vec![0; 8], true, true),
        (T::Timestamp, vec![0; 8], true, true),
        (T::Uuid, vec![0; 16], true, true),
        (T::Timeuuid, vec![0; 16], true, true),
        (T::Inet, vec![1, 2, 3, 4], true, true),
        (T::Decimal, vec![0, 0, 0, 1, 5], true, false),
        (T::Duration, vec![2, 4, 6], true, true),
        (T::Ascii, vec![b'a', 0x80], false, false), // not ASCII at all
        (T::Varchar, vec![0xE2, 0x9C, 0x93], true, false), // cut inside a char
        (
            T::List(Box::new(T::Int)),
            vec![0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1],
            true,
            true,
        ),
        (
            T::Set(Box::new(T::Int)),
            vec![0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1],
            true,
            true,
        ),
        (
            T::Map(Box::new(T::Tinyint), Box::new(T::Tinyint)),
            vec![0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 2],
            true,
            true,
        ),
        (
            T::Tuple(vec![T::Int]),
            vec![0, 0, 0, 4, 0, 0, 0, 1],
            true,
            true,
        ),
        (
            udt,
            vec![0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, b'x'],
            true,
            true,
        ),
        (T::Vector(Box::new(T::Float), 2), vec![0; 8], true, true),
        (
            T::Vector(Box::new(T::Varchar), 2),
            vec![1, b'a', 1, b'b'],
            true,
            true,
        ),
    ];
    for (typ, good, short, long) in cases {
        let mut bad = Vec::new();
        if typ == T::Ascii {
            bad.push(good.clone());
        } else {
            if short {
                bad.push(good[..good.len() - 1].to_vec());
            }
            if long {
                let mut l = good.clone();
                l.push(0);
                bad.push(l);
            }
            // the good value reads
            let rs = raw_rowset(&typ, &good);
            let (_, v): (i32, CqlValue) = rs.first_row().unwrap_or_else(|e| panic!("{e}"));
            assert_ne!(v, CqlValue::Empty, "{typ}");
        }
        for b in bad {
            let rs = raw_rowset(&typ, &b);
            let e = rs
                .first_row::<(i32, CqlValue)>()
                .expect_err(&format!("{typ} accepted {b:?}"));
            assert!(
                matches!(e.kind(), DeserializationErrorKind::Decode(_)),
                "{typ}: {e}"
            );
            let col = e
                .column()
                .unwrap_or_else(|| panic!("{typ}: no column in {e}"));
            assert_eq!(
                (col.index, col.name.as_deref()),
                (1, Some("corrupt")),
                "{e}"
            );
            assert!(e.to_string().contains("corrupt"), "{e}");
            // the dynamic row names it too
            let row = rs.iter().next().unwrap().unwrap();
            let e = row.get::<CqlValue>(1).unwrap_err();
            assert_eq!(e.column().map(|c| c.index), Some(1), "{typ}: {e}");
        }
    }
}

/// One row: `k int` = 1, then a column "corrupt" of `typ` holding exactly `cell`.
fn raw_rowset(typ: &ColumnType, cell: &[u8]) -> RowSet {
    let specs = vec![
        ColumnSpec::new("k", ColumnType::Int),
        ColumnSpec::new("corrupt", typ.clone()),
    ];
    let mut b = BytesMut::new();
    b.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 1]);
    b.extend_from_slice(&(cell.len() as i32).to_be_bytes());
    b.extend_from_slice(cell);
    RowSet::new(Arc::from(specs), 1, b.freeze())
}
