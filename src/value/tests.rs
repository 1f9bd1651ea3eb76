//! Tests of binding Rust values: golden bytes, null/unset, type mismatches naming both
//! types and the marker, rows with and without metadata.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use bytes::BytesMut;

use super::*;
use crate::row::ColumnSpec;
use crate::{CqlDuration, CqlTime, CqlValue};

fn value_bytes<T: SerializeValue + ?Sized>(v: &T, typ: &ColumnType) -> Vec<u8> {
    let mut b = BytesMut::new();
    write_value(v, typ, &mut b).unwrap();
    b.to_vec()
}

fn err<T: SerializeValue + ?Sized>(v: &T, typ: &ColumnType) -> SerializationError {
    let mut b = BytesMut::from(&b"keep"[..]);
    let e = write_value(v, typ, &mut b).unwrap_err();
    assert_eq!(&b[..], b"keep", "output must be restored on error");
    e
}

#[test]
fn golden_values_with_prefix() {
    use ColumnType as T;
    assert_eq!(value_bytes(&1i32, &T::Int), [0, 0, 0, 4, 0, 0, 0, 1]);
    assert_eq!(value_bytes(&-1i8, &T::Tinyint), [0, 0, 0, 1, 0xFF]);
    assert_eq!(
        value_bytes(&7i64, &T::Counter),
        [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]
    );
    assert_eq!(value_bytes("ab", &T::Ascii), [0, 0, 0, 2, b'a', b'b']);
    assert_eq!(value_bytes(&String::new(), &T::Varchar), [0, 0, 0, 0]);
    assert_eq!(value_bytes(&vec![0xABu8], &T::Blob), [0, 0, 0, 1, 0xAB]);
    assert_eq!(value_bytes(&true, &T::Boolean), [0, 0, 0, 1, 1]);
    assert_eq!(
        value_bytes(&IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), &T::Inet),
        [0, 0, 0, 4, 10, 0, 0, 1]
    );
    assert_eq!(value_bytes(&None::<i32>, &T::Int), [0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(value_bytes(&Unset, &T::Int), [0xFF, 0xFF, 0xFF, 0xFE]);
    assert_eq!(
        value_bytes(&MaybeUnset::<i32>::Unset, &T::Int),
        [0xFF, 0xFF, 0xFF, 0xFE]
    );
    assert_eq!(
        value_bytes(&MaybeUnset::Set(2i16), &T::Smallint),
        [0, 0, 0, 2, 0, 2]
    );
    assert_eq!(
        value_bytes(&vec![1i32, 2], &T::List(Box::new(T::Int))),
        [0, 0, 0, 20, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2]
    );
    assert_eq!(
        value_bytes(&[1.0f32, 2.0, 3.0], &T::Vector(Box::new(T::Float), 3)),
        [0, 0, 0, 12, 0x3F, 0x80, 0, 0, 0x40, 0, 0, 0, 0x40, 0x40, 0, 0]
    );
    assert_eq!(
        value_bytes(&["a", "bc"], &T::Vector(Box::new(T::Varchar), 2)),
        [0, 0, 0, 5, 1, b'a', 2, b'b', b'c']
    );
    assert_eq!(
        value_bytes(&(5i32, None::<&str>), &T::Tuple(vec![T::Int, T::Varchar])),
        [0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 5, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    let mut m = BTreeMap::new();
    m.insert("k", 1i8);
    assert_eq!(
        value_bytes(&m, &T::Map(Box::new(T::Varchar), Box::new(T::Tinyint))),
        [0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 1, 1]
    );
}

#[test]
fn mismatches_name_both_types() {
    use ColumnType as T;
    let e = err(&1i32, &T::Bigint);
    assert_eq!(e.rust_type(), "i32");
    assert_eq!(e.cql_type().cloned(), Some(T::Bigint));
    assert_eq!(e.reason().clone(), SerializationErrorKind::TypeMismatch);
    let e = err(&String::from("x"), &T::Int);
    assert_eq!(e.rust_type(), "alloc::string::String");
    let msg = e.to_string();
    assert!(msg.contains("String") && msg.contains("int"), "{msg}");
    let e = err(&vec![1i32], &T::List(Box::new(T::Varchar)));
    assert_eq!(
        (e.rust_type(), e.cql_type().cloned()),
        ("i32", Some(T::Varchar))
    );
    assert_eq!(
        err(&(1i32,), &T::Tuple(vec![T::Int, T::Int]))
            .reason()
            .clone(),
        SerializationErrorKind::TupleLength {
            expected: 2,
            got: 1
        }
    );
    assert_eq!(
        err(&[1.0f32, 2.0], &T::Vector(Box::new(T::Float), 3))
            .reason()
            .clone(),
        SerializationErrorKind::VectorLength {
            expected: 3,
            got: 2
        }
    );
}

#[test]
fn invalid_values_are_rejected() {
    use ColumnType as T;
    assert_eq!(
        err("é", &T::Ascii).reason().clone(),
        SerializationErrorKind::NotAscii
    );
    assert_eq!(
        err(&CqlTime(-1), &T::Time).reason().clone(),
        SerializationErrorKind::OutOfRange
    );
    assert_eq!(
        err(&CqlTime(CqlTime::MAX_NANOS + 1), &T::Time)
            .reason()
            .clone(),
        SerializationErrorKind::OutOfRange
    );
    let d = CqlDuration {
        months: 1,
        days: -1,
        nanoseconds: 0,
    };
    assert_eq!(
        err(&d, &T::Duration).reason().clone(),
        SerializationErrorKind::MixedSignDuration
    );
    let list = T::List(Box::new(T::Int));
    assert_eq!(
        err(&vec![Some(1i32), None], &list).reason().clone(),
        SerializationErrorKind::NullElement
    );
    assert_eq!(
        err(&vec![MaybeUnset::<i32>::Unset], &list).reason().clone(),
        SerializationErrorKind::NestedUnset
    );
    assert_eq!(
        err(&(Unset,), &T::Tuple(vec![T::Int])).reason().clone(),
        SerializationErrorKind::NestedUnset
    );
    assert_eq!(
        err(&[None::<f32>], &T::Vector(Box::new(T::Float), 1))
            .reason()
            .clone(),
        SerializationErrorKind::NullElement
    );
    // CqlValue is checked against the column type too
    let e = err(&CqlValue::Text("x".into()), &T::Int);
    assert_eq!(e.rust_type(), std::any::type_name::<CqlValue>());
    let e = err(
        &CqlValue::List(vec![CqlValue::Int(1)]),
        &T::List(Box::new(T::Varchar)),
    );
    assert_eq!(e.cql_type().cloned(), Some(T::Varchar));
}

fn specs(types: &[(&str, ColumnType)]) -> Vec<ColumnSpec> {
    types
        .iter()
        .map(|(n, t)| ColumnSpec::new(*n, t.clone()))
        .collect()
}

#[test]
fn rows_with_markers_check_types_and_count() {
    use ColumnType as T;
    let m = specs(&[("id", T::Bigint), ("name", T::Varchar)]);
    let mut out = BytesMut::new();
    assert_eq!((42i64, "ada").serialize_row(Some(&m), &mut out).unwrap(), 2);
    assert_eq!(
        &out[..],
        [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 3, b'a', b'd', b'a']
    );

    let mut out = BytesMut::new();
    let e = (42i64, 7i32).serialize_row(Some(&m), &mut out).unwrap_err();
    assert!(out.is_empty(), "partial row must be rolled back");
    assert_eq!(
        e.column().cloned(),
        Some(ColumnRef {
            index: 1,
            name: Some("name".into())
        })
    );
    assert_eq!(
        (e.rust_type(), e.cql_type().cloned()),
        ("i32", Some(T::Varchar))
    );
    assert!(e.to_string().contains("\"name\""), "{e}");

    let e = (1i64,).serialize_row(Some(&m), &mut out).unwrap_err();
    assert_eq!(
        e.reason().clone(),
        SerializationErrorKind::ValueCount {
            expected: 2,
            got: 1
        }
    );
    assert!(().serialize_row(Some(&m), &mut out).is_err());
    assert_eq!(().serialize_row(None, &mut out).unwrap(), 0);
}

#[test]
fn rows_without_markers_use_natural_types() {
    let mut out = BytesMut::new();
    let dynamic: &[&dyn SerializeValue] = &[&1i32, &"x", &None::<i64>, &Unset, &[1.5f64, 2.0]];
    assert_eq!(dynamic.serialize_row(None, &mut out).unwrap(), 5);
    let mut expect = vec![
        0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, b'x', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    ];
    expect.extend([0, 0, 0, 16]);
    expect.extend(1.5f64.to_be_bytes());
    expect.extend(2.0f64.to_be_bytes());
    assert_eq!(&out[..], &expect[..]);
    assert_eq!(1i64.natural_type(), Some(ColumnType::Bigint));
    assert_eq!(None::<i64>.natural_type(), None);
    assert_eq!(
        vec!["a"].natural_type(),
        Some(ColumnType::List(Box::new(ColumnType::Varchar)))
    );
}
