//! Tests of the derive macros (`FromRow`, `SerializeRow`, `FromUserType`,
//! `SerializeUserType`) used from inside the crate, as users would use them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::BytesMut;

use crate::{
    ColumnSpec, ColumnType, CqlValue, DeserializationErrorKind, DeserializeValue, FrameSlice,
    FromRow, FromUserType, RowSet, SerializationErrorKind, SerializeRow, SerializeUserType,
    SerializeValue, UdtType,
};

#[derive(Debug, PartialEq, FromRow, SerializeRow)]
struct User {
    id: i64,
    #[ringbolt(rename = "display_name")]
    name: String,
    email: Option<String>,
}

#[derive(Debug, PartialEq, FromRow)]
struct Borrowed<'a> {
    display_name: &'a str,
}

#[derive(Debug, Clone, PartialEq, FromUserType, SerializeUserType)]
struct Address {
    street: String,
    zip: Option<i32>,
}

fn udt_type() -> ColumnType {
    ColumnType::Udt(UdtType {
        keyspace: "ks".into(),
        name: "address".into(),
        fields: vec![
            ("street".into(), ColumnType::Varchar),
            ("zip".into(), ColumnType::Int),
        ],
    })
}

fn spec(name: &str, typ: ColumnType) -> ColumnSpec {
    ColumnSpec::new(name, typ)
}

#[test]
fn struct_rows_bind_by_name_and_read_by_name() {
    // markers in another order than the struct's fields
    let markers = vec![
        spec("email", ColumnType::Varchar),
        spec("id", ColumnType::Bigint),
        spec("display_name", ColumnType::Varchar),
    ];
    let user = User {
        id: 7,
        name: "ada".into(),
        email: None,
    };
    let mut out = BytesMut::new();
    assert_eq!(user.serialize_row(Some(&markers), &mut out).unwrap(), 3);
    let rs = RowSet::new(Arc::from(markers), 1, out.freeze());
    let back: User = rs.single_row().unwrap();
    assert_eq!(back, user);
    let b: Borrowed<'_> = rs.first_row().unwrap();
    assert_eq!(b.display_name, "ada");
}

#[test]
fn struct_row_errors_name_fields_and_columns() {
    let mut out = BytesMut::new();
    let user = User {
        id: 1,
        name: "x".into(),
        email: None,
    };
    // a marker the struct has no field for
    let markers = vec![
        spec("id", ColumnType::Bigint),
        spec("display_name", ColumnType::Varchar),
        spec("email", ColumnType::Varchar),
        spec("age", ColumnType::Int),
    ];
    let e = user.serialize_row(Some(&markers), &mut out).unwrap_err();
    assert_eq!(
        *e.reason(),
        SerializationErrorKind::MissingNamedValue { name: "age".into() }
    );
    assert!(out.is_empty());
    // a field with no marker
    let e = user
        .serialize_row(Some(&markers[..2]), &mut out)
        .unwrap_err();
    assert_eq!(
        *e.reason(),
        SerializationErrorKind::UnknownName {
            name: "email".into()
        }
    );
    // a wrongly typed marker names the marker and both types
    let markers = vec![
        spec("id", ColumnType::Int),
        spec("display_name", ColumnType::Varchar),
        spec("email", ColumnType::Varchar),
    ];
    let e = user.serialize_row(Some(&markers), &mut out).unwrap_err();
    assert_eq!(e.column().unwrap().name.as_deref(), Some("id"));
    assert_eq!(
        (e.rust_type(), e.cql_type()),
        ("i64", Some(&ColumnType::Int))
    );
    // without metadata: declaration order, natural types
    assert_eq!(user.serialize_row(None, &mut out).unwrap(), 3);
    assert_eq!(&out[..13], [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0]);

    // reading: a missing column and a wrong type fail the type check
    let rs = RowSet::new(
        Arc::from(vec![spec("id", ColumnType::Bigint)]),
        0,
        bytes::Bytes::new(),
    );
    let e = rs.rows::<User>().err().unwrap();
    assert_eq!(
        *e.kind(),
        DeserializationErrorKind::NoSuchColumn {
            name: "display_name".into()
        }
    );
    let cols = vec![
        spec("id", ColumnType::Bigint),
        spec("display_name", ColumnType::Int),
        spec("email", ColumnType::Varchar),
    ];
    let rs = RowSet::new(Arc::from(cols), 0, bytes::Bytes::new());
    let e = rs.rows::<User>().err().unwrap();
    assert_eq!(e.column().unwrap().index, 1);
    assert!(e.rust_type().contains("String"));
}

#[test]
fn udt_round_trips_and_tolerates_missing_trailing_fields() {
    let t = udt_type();
    let a = Address {
        street: "Main".into(),
        zip: Some(12345),
    };
    let mut out = BytesMut::new();
    a.serialize(&t, &mut out).unwrap();
    <Address as DeserializeValue>::type_check(&t).unwrap();
    let back = Address::deserialize(&t, Some(FrameSlice::from_slice(&out))).unwrap();
    assert_eq!(back, a);
    // the same bytes read as a CqlValue
    let v = CqlValue::deserialize(&t, Some(FrameSlice::from_slice(&out))).unwrap();
    assert!(matches!(v, CqlValue::Udt { ref fields, .. } if fields.len() == 2));
    // only the first field present: zip reads as None
    let short = [0, 0, 0, 1, b'x'];
    let back = Address::deserialize(&t, Some(FrameSlice::from_slice(&short))).unwrap();
    assert_eq!(
        back,
        Address {
            street: "x".into(),
            zip: None
        }
    );
    // a UDT type lacking a struct field fails the type check, naming it
    let narrow = ColumnType::Udt(UdtType {
        keyspace: "ks".into(),
        name: "address".into(),
        fields: vec![("street".into(), ColumnType::Varchar)],
    });
    let e = <Address as DeserializeValue>::type_check(&narrow).unwrap_err();
    assert_eq!(
        *e.kind(),
        DeserializationErrorKind::NoSuchUdtField {
            field: "zip".into()
        }
    );
    let e = a.serialize(&narrow, &mut BytesMut::new()).unwrap_err();
    assert_eq!(
        *e.reason(),
        SerializationErrorKind::UnknownUdtField {
            field: "zip".into()
        }
    );
    // a wider UDT type: extra fields are written as null, read back ignored
    let wide = ColumnType::Udt(UdtType {
        keyspace: "ks".into(),
        name: "address".into(),
        fields: vec![
            ("zip".into(), ColumnType::Int),
            ("city".into(), ColumnType::Varchar),
            ("street".into(), ColumnType::Varchar),
        ],
    });
    let mut out = BytesMut::new();
    a.serialize(&wide, &mut out).unwrap();
    assert_eq!(&out[8..12], [0xFF; 4], "city is null");
    assert_eq!(
        Address::deserialize(&wide, Some(FrameSlice::from_slice(&out))).unwrap(),
        a
    );
    assert!(matches!(a.natural_type(), Some(ColumnType::Udt(u)) if u.fields.len() == 2));
}

#[test]
fn nested_map_of_lists_of_udts() {
    // map<text, frozen<list<frozen<address>>>>
    let t = ColumnType::Map(
        Box::new(ColumnType::Varchar),
        Box::new(ColumnType::List(Box::new(udt_type()))),
    );
    let v: BTreeMap<String, Vec<Address>> = BTreeMap::from([
        (
            "home".to_string(),
            vec![
                Address {
                    street: "a".into(),
                    zip: None,
                },
                Address {
                    street: "".into(),
                    zip: Some(-1),
                },
            ],
        ),
        ("none".to_string(), vec![]),
    ]);
    let mut out = BytesMut::new();
    v.serialize(&t, &mut out).unwrap();
    <BTreeMap<String, Vec<Address>> as DeserializeValue>::type_check(&t).unwrap();
    let back =
        BTreeMap::<String, Vec<Address>>::deserialize(&t, Some(FrameSlice::from_slice(&out)))
            .unwrap();
    assert_eq!(back, v);
    // and through CqlValue: decode then re-encode byte-equal
    let dynamic = CqlValue::deserialize(&t, Some(FrameSlice::from_slice(&out))).unwrap();
    let mut again = BytesMut::new();
    dynamic.serialize(&t, &mut again).unwrap();
    assert_eq!(again, out);
}

/// Field names equal to the generated code's locals must not shadow them.
#[derive(Debug, PartialEq, FromRow, SerializeRow)]
struct LocalsRow {
    row: i32,
    col: i32,
    columns: i32,
    r#type: i32,
}

#[derive(Debug, PartialEq, FromUserType, SerializeUserType)]
struct LocalsUdt {
    t: i32,
    v: i32,
    typ: i32,
    udt: i32,
    buf: i32,
    name: i32,
    cell: i32,
}

#[test]
fn fields_named_like_generated_locals() {
    let markers: Vec<ColumnSpec> = ["row", "col", "columns", "type"]
        .iter()
        .map(|n| spec(n, ColumnType::Int))
        .collect();
    let r = LocalsRow {
        row: 1,
        col: 2,
        columns: 3,
        r#type: 4,
    };
    let mut out = BytesMut::new();
    r.serialize_row(Some(&markers), &mut out).unwrap();
    let rs = RowSet::new(Arc::from(markers), 1, out.freeze());
    assert_eq!(rs.single_row::<LocalsRow>().unwrap(), r);

    let names = ["t", "v", "typ", "udt", "buf", "name", "cell"];
    let t = ColumnType::Udt(UdtType {
        keyspace: "ks".into(),
        name: "locals".into(),
        fields: names
            .iter()
            .map(|n| (n.to_string(), ColumnType::Int))
            .collect(),
    });
    let u = LocalsUdt {
        t: 1,
        v: 2,
        typ: 3,
        udt: 4,
        buf: 5,
        name: 6,
        cell: 7,
    };
    let mut out = BytesMut::new();
    u.serialize(&t, &mut out).unwrap();
    <LocalsUdt as DeserializeValue>::type_check(&t).unwrap();
    assert_eq!(
        LocalsUdt::deserialize(&t, Some(FrameSlice::from_slice(&out))).unwrap(),
        u
    );
}

#[test]
fn derived_udt_rejects_truncated_and_oversized_values() {
    let t = udt_type();
    let a = Address {
        street: "s".into(),
        zip: Some(1),
    };
    let mut out = BytesMut::new();
    a.serialize(&t, &mut out).unwrap();
    let short = &out[..out.len() - 1];
    let mut long = out.to_vec();
    long.push(0);
    for bad in [short, &long[..]] {
        let e = Address::deserialize(&t, Some(FrameSlice::from_slice(bad))).unwrap_err();
        assert!(
            matches!(e.kind(), DeserializationErrorKind::Decode(_)),
            "{bad:?}: {e}"
        );
    }
}
