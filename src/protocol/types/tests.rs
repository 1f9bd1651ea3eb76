//! Tests of CqlValue encoding and decoding: golden bytes from the spec, round trips at
//! edge values, and hostile input that must give typed errors, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;

use super::decode::decode_value;
use super::encode::encode_value;
use super::*;
use crate::protocol::DecodeError;

fn enc(v: &CqlValue) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_value(v, &mut b).unwrap();
    b.to_vec()
}

fn rt(t: &ColumnType, v: CqlValue) {
    let bytes = enc(&v);
    let back = decode_value(t, &bytes).unwrap_or_else(|e| panic!("{t}: {e}"));
    // compare encodings so NaN and -0.0 compare by bits
    assert_eq!(enc(&back), bytes, "{t}: {v:?} -> {back:?}");
    if !matches!(v, CqlValue::Float(_) | CqlValue::Double(_)) {
        assert_eq!(back, v);
    }
}

fn udt() -> UdtType {
    UdtType {
        keyspace: "ks".into(),
        name: "pt".into(),
        fields: vec![
            ("x".into(), ColumnType::Int),
            ("label".into(), ColumnType::Varchar),
        ],
    }
}

#[test]
fn golden_primitive_bytes() {
    let cases: Vec<(CqlValue, &[u8])> = vec![
        (CqlValue::Ascii("Az".into()), b"Az"),
        (
            CqlValue::Bigint(-2),
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE],
        ),
        (CqlValue::Blob(vec![0xCA, 0xFE]), &[0xCA, 0xFE]),
        (CqlValue::Boolean(true), &[1]),
        (CqlValue::Boolean(false), &[0]),
        (CqlValue::Counter(Counter(1)), &[0, 0, 0, 0, 0, 0, 0, 1]),
        (CqlValue::Date(CqlDate::EPOCH), &[0x80, 0, 0, 0]),
        (
            CqlValue::Date(CqlDate::from_days_since_epoch(-1)),
            &[0x7F, 0xFF, 0xFF, 0xFF],
        ),
        // 1.5 = 15 * 10^-1
        (
            CqlValue::Decimal(CqlDecimal {
                unscaled: CqlVarint::from(15i64),
                scale: 1,
            }),
            &[0, 0, 0, 1, 0x0F],
        ),
        (CqlValue::Double(1.0), &[0x3F, 0xF0, 0, 0, 0, 0, 0, 0]),
        // zig-zag vints: 1 -> 2, 2 -> 4, -3 -> 5
        (
            CqlValue::Duration(CqlDuration {
                months: 1,
                days: 2,
                nanoseconds: 3,
            }),
            &[2, 4, 6],
        ),
        (
            CqlValue::Duration(CqlDuration {
                months: 0,
                days: -1,
                nanoseconds: -3,
            }),
            &[0, 1, 5],
        ),
        (CqlValue::Float(1.0), &[0x3F, 0x80, 0, 0]),
        (
            CqlValue::Inet(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))),
            &[127, 0, 0, 1],
        ),
        (CqlValue::Int(1), &[0, 0, 0, 1]),
        (CqlValue::Smallint(-1), &[0xFF, 0xFF]),
        (CqlValue::Text("é".into()), &[0xC3, 0xA9]),
        (
            CqlValue::Time(CqlTime(CqlTime::MAX_NANOS)),
            &[0, 0, 0x4E, 0x94, 0x91, 0x4E, 0xFF, 0xFF],
        ),
        (
            CqlValue::Timestamp(CqlTimestamp(1000)),
            &[0, 0, 0, 0, 0, 0, 0x03, 0xE8],
        ),
        (CqlValue::Tinyint(-128), &[0x80]),
        (CqlValue::Uuid(CqlUuid([9; 16])), &[9; 16]),
        (CqlValue::Timeuuid(CqlTimeuuid([7; 16])), &[7; 16]),
    ];
    for (v, bytes) in cases {
        assert_eq!(enc(&v), bytes, "{v:?}");
        let t = v.natural_type();
        let back = decode_value(&t, bytes).unwrap();
        assert_eq!(enc(&back), bytes);
    }
}

#[test]
fn golden_varint_table_from_spec() {
    // spec section 5.24
    let table: [(i64, &[u8]); 8] = [
        (0, &[0x00]),
        (1, &[0x01]),
        (127, &[0x7F]),
        (128, &[0x00, 0x80]),
        (129, &[0x00, 0x81]),
        (-1, &[0xFF]),
        (-128, &[0x80]),
        (-129, &[0xFF, 0x7F]),
    ];
    for (n, bytes) in table {
        assert_eq!(enc(&CqlValue::Varint(n.into())), bytes, "{n}");
        let back = decode_value(&ColumnType::Varint, bytes).unwrap();
        assert_eq!(back, CqlValue::Varint(n.into()));
    }
    // a non-minimal encoding from the peer decodes to the same (normalized) number
    let back = decode_value(&ColumnType::Varint, &[0, 0, 0x01]).unwrap();
    assert_eq!(back, CqlValue::Varint(1i64.into()));
}

#[test]
fn golden_collections_and_vectors() {
    let list = CqlValue::List(vec![CqlValue::Int(1), CqlValue::Int(2)]);
    assert_eq!(
        enc(&list),
        [0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2]
    );
    let map = CqlValue::Map(vec![(CqlValue::Text("a".into()), CqlValue::Boolean(true))]);
    assert_eq!(enc(&map), [0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 1, 1]);
    let tuple = CqlValue::Tuple(vec![Some(CqlValue::Int(7)), None]);
    assert_eq!(
        enc(&tuple),
        [0, 0, 0, 4, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    // vector<float, 3>: packed, no lengths
    let vf = CqlValue::Vector(vec![
        CqlValue::Float(1.0),
        CqlValue::Float(2.0),
        CqlValue::Float(3.0),
    ]);
    assert_eq!(
        enc(&vf),
        [0x3F, 0x80, 0, 0, 0x40, 0, 0, 0, 0x40, 0x40, 0, 0]
    );
    // vector<text, 2>: each element preceded by an [unsigned vint] length
    let vt = CqlValue::Vector(vec![
        CqlValue::Text("a".into()),
        CqlValue::Text("bc".into()),
    ]);
    assert_eq!(enc(&vt), [1, b'a', 2, b'b', b'c']);
    // vector<smallint, 2>: smallint is not fixed-length for Cassandra vectors
    let vs = CqlValue::Vector(vec![CqlValue::Smallint(1), CqlValue::Smallint(2)]);
    assert_eq!(enc(&vs), [2, 0, 1, 2, 0, 2]);
    let t = ColumnType::Vector(Box::new(ColumnType::Smallint), 2);
    assert_eq!(decode_value(&t, &[2, 0, 1, 2, 0, 2]).unwrap(), vs);
}

#[test]
fn edge_values_round_trip() {
    use ColumnType as T;
    let big = |s: &str| -> CqlVarint {
        // decimal string -> two's complement via i128 chunks is overkill; use bytes
        let neg = s.starts_with('-');
        let digits = s.trim_start_matches('-');
        let mut mag: Vec<u8> = vec![0];
        for d in digits.bytes() {
            let mut carry = u32::from(d - b'0');
            for b in mag.iter_mut().rev() {
                let x = u32::from(*b) * 10 + carry;
                *b = x as u8;
                carry = x >> 8;
            }
            while carry > 0 {
                mag.insert(0, carry as u8);
                carry >>= 8;
            }
        }
        mag.insert(0, 0);
        if neg {
            for b in mag.iter_mut() {
                *b = !*b;
            }
            for b in mag.iter_mut().rev() {
                let (v, o) = b.overflowing_add(1);
                *b = v;
                if !o {
                    break;
                }
            }
        }
        CqlVarint::from_signed_bytes_be(&mag)
    };
    let e40 = format!("1{}", "0".repeat(40));
    let cases: Vec<(T, CqlValue)> = vec![
        (T::Tinyint, CqlValue::Tinyint(i8::MIN)),
        (T::Tinyint, CqlValue::Tinyint(i8::MAX)),
        (T::Smallint, CqlValue::Smallint(i16::MIN)),
        (T::Smallint, CqlValue::Smallint(i16::MAX)),
        (T::Int, CqlValue::Int(i32::MIN)),
        (T::Int, CqlValue::Int(i32::MAX)),
        (T::Bigint, CqlValue::Bigint(i64::MIN)),
        (T::Bigint, CqlValue::Bigint(i64::MAX)),
        (T::Counter, CqlValue::Counter(Counter(i64::MIN))),
        (T::Float, CqlValue::Float(f32::NAN)),
        (T::Float, CqlValue::Float(f32::INFINITY)),
        (T::Float, CqlValue::Float(f32::NEG_INFINITY)),
        (T::Float, CqlValue::Float(-0.0)),
        (T::Double, CqlValue::Double(f64::NAN)),
        (T::Double, CqlValue::Double(f64::NEG_INFINITY)),
        (T::Double, CqlValue::Double(-0.0)),
        (T::Double, CqlValue::Double(f64::MIN_POSITIVE)),
        (T::Varchar, CqlValue::Text(String::new())),
        (T::Ascii, CqlValue::Ascii(String::new())),
        (T::Blob, CqlValue::Blob(vec![])),
        (T::Varint, CqlValue::Varint(big(&e40))),
        (T::Varint, CqlValue::Varint(big(&format!("-{e40}")))),
        (T::Varint, CqlValue::Varint(big("9223372036854775808"))),
        (T::Varint, CqlValue::Varint(big("-9223372036854775809"))),
        (T::Varint, CqlValue::Varint(i64::MIN.into())),
        (
            T::Decimal,
            CqlValue::Decimal(CqlDecimal {
                unscaled: big(&format!("-{e40}")),
                scale: i32::MIN,
            }),
        ),
        (
            T::Decimal,
            CqlValue::Decimal(CqlDecimal {
                unscaled: big(&e40),
                scale: i32::MAX,
            }),
        ),
        (T::Date, CqlValue::Date(CqlDate(0))),
        (T::Date, CqlValue::Date(CqlDate(u32::MAX))),
        (
            T::Date,
            CqlValue::Date(CqlDate::from_days_since_epoch(-719_162)),
        ),
        (T::Time, CqlValue::Time(CqlTime(0))),
        (T::Timestamp, CqlValue::Timestamp(CqlTimestamp(i64::MIN))),
        (
            T::Timestamp,
            CqlValue::Timestamp(CqlTimestamp(-62_135_596_800_000)),
        ),
        (
            T::Duration,
            CqlValue::Duration(CqlDuration {
                months: i32::MIN,
                days: i32::MIN,
                nanoseconds: i64::MIN,
            }),
        ),
        (
            T::Duration,
            CqlValue::Duration(CqlDuration {
                months: i32::MAX,
                days: i32::MAX,
                nanoseconds: i64::MAX,
            }),
        ),
        (T::Inet, CqlValue::Inet(IpAddr::V6(Ipv6Addr::LOCALHOST))),
        (T::Inet, CqlValue::Inet(IpAddr::V4(Ipv4Addr::BROADCAST))),
        (T::Custom("x.Y".into()), CqlValue::Custom(vec![1, 2, 3])),
        (T::Int, CqlValue::Empty),
        // a zero-length tuple / UDT is Empty, distinct from one with null fields
        (T::Tuple(vec![T::Int, T::Varchar]), CqlValue::Empty),
        (T::Tuple(vec![T::Int]), CqlValue::Tuple(vec![None])),
        (T::Udt(udt()), CqlValue::Empty),
        (T::List(Box::new(T::Int)), CqlValue::List(vec![])),
        (
            T::Set(Box::new(T::Varchar)),
            CqlValue::Set(vec![CqlValue::Text("".into())]),
        ),
        (
            T::Tuple(vec![T::Int, T::Varchar]),
            CqlValue::Tuple(vec![
                Some(CqlValue::Int(-1)),
                Some(CqlValue::Text("t".into())),
            ]),
        ),
        (
            T::Vector(Box::new(T::Float), 3),
            CqlValue::Vector(vec![
                CqlValue::Float(f32::MIN),
                CqlValue::Float(0.5),
                CqlValue::Float(f32::MAX),
            ]),
        ),
        (
            T::Vector(Box::new(T::Varchar), 2),
            CqlValue::Vector(vec![
                CqlValue::Text("x".repeat(300)),
                CqlValue::Text("".into()),
            ]),
        ),
    ];
    for (t, v) in cases {
        rt(&t, v);
    }
}

#[test]
fn nested_map_of_lists_of_udts_round_trips() {
    let u = udt();
    let t = ColumnType::Map(
        Box::new(ColumnType::Varchar),
        Box::new(ColumnType::List(Box::new(ColumnType::Udt(u.clone())))),
    );
    let pt = |x: i32, l: Option<&str>| CqlValue::Udt {
        keyspace: "ks".into(),
        name: "pt".into(),
        fields: vec![
            ("x".into(), Some(CqlValue::Int(x))),
            ("label".into(), l.map(|s| CqlValue::Text(s.into()))),
        ],
    };
    let v = CqlValue::Map(vec![
        (
            CqlValue::Text("a".into()),
            CqlValue::List(vec![pt(1, Some("one")), pt(2, None)]),
        ),
        (CqlValue::Text("".into()), CqlValue::List(vec![])),
    ]);
    rt(&t, v);
}

#[test]
fn udt_missing_trailing_fields_read_as_null() {
    // only field x present
    let bytes = [0, 0, 0, 4, 0, 0, 0, 5];
    let v = decode_value(&ColumnType::Udt(udt()), &bytes).unwrap();
    let CqlValue::Udt { fields, .. } = v else {
        panic!()
    };
    assert_eq!(fields[0].1, Some(CqlValue::Int(5)));
    assert_eq!(fields[1].1, None);
}

fn assert_err(t: &ColumnType, bytes: &[u8]) -> DecodeError {
    match decode_value(t, bytes) {
        Err(e) => e,
        Ok(v) => panic!("{t} accepted {bytes:?} as {v:?}"),
    }
}

#[test]
fn truncated_and_oversized_fixed_values_fail_typed() {
    use ColumnType as T;
    for (t, size) in [
        (T::Boolean, 1),
        (T::Tinyint, 1),
        (T::Smallint, 2),
        (T::Int, 4),
        (T::Float, 4),
        (T::Date, 4),
        (T::Bigint, 8),
        (T::Counter, 8),
        (T::Double, 8),
        (T::Timestamp, 8),
        (T::Time, 8),
        (T::Uuid, 16),
        (T::Timeuuid, 16),
    ] {
        if size > 1 {
            let e = assert_err(&t, &vec![0; size - 1]);
            assert!(matches!(e, DecodeError::InvalidLength { .. }), "{t}: {e}");
        }
        let e = assert_err(&t, &vec![0; size + 1]);
        assert!(matches!(e, DecodeError::InvalidLength { .. }), "{t}: {e}");
    }
    for n in [1, 3, 5, 15, 17] {
        assert_err(&ColumnType::Inet, &vec![1; n]);
    }
    assert_err(&ColumnType::Decimal, &[0, 0, 1]);
    assert_err(&ColumnType::Decimal, &[0, 0, 0, 1]); // scale but no varint
    assert_err(&ColumnType::Duration, &[2, 4]);
    assert_err(&ColumnType::Duration, &[2, 4, 6, 8]);
    assert_err(&ColumnType::Duration, &[0xFF]);
    // months beyond 32 bits: zig-zag 2^33 (= 2^32) in a 6-byte vint
    assert_err(&ColumnType::Duration, &[0xF8, 2, 0, 0, 0, 0, 0, 0]);
    assert_err(&ColumnType::Time, &(-1i64).to_be_bytes());
    assert_err(&ColumnType::Time, &(CqlTime::MAX_NANOS + 1).to_be_bytes());
}

#[test]
fn text_ascii_and_structure_errors() {
    use ColumnType as T;
    assert!(matches!(
        assert_err(&T::Varchar, &[0xFF]),
        DecodeError::InvalidUtf8 { .. }
    ));
    assert!(matches!(
        assert_err(&T::Ascii, &[b'a', 0x80]),
        DecodeError::Malformed { .. }
    ));
    let list = T::List(Box::new(T::Int));
    // count of 2^31-1 in a few bytes fails before allocating
    assert!(matches!(
        assert_err(&list, &[0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]),
        DecodeError::Truncated { .. }
    ));
    assert!(matches!(
        assert_err(&list, &[0xFF, 0xFF, 0xFF, 0xFF]),
        DecodeError::InvalidLength { .. }
    ));
    // null element
    assert!(matches!(
        assert_err(&list, &[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]),
        DecodeError::Malformed { .. }
    ));
    // element truncated, trailing bytes, wrong element length
    assert_err(&list, &[0, 0, 0, 1, 0, 0, 0, 4, 0, 0]);
    assert_err(&list, &[0, 0, 0, 0, 9]);
    assert_err(&list, &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0]);
    let map = T::Map(Box::new(T::Int), Box::new(T::Int));
    assert_err(&map, &[0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1]);
    assert_err(&T::Tuple(vec![T::Int]), &[0, 0, 0, 4, 0, 0, 0, 1, 0]);
    assert_err(&T::Udt(udt()), &[0, 0, 0, 9]);
    // vectors: wrong packed size, huge dimension, bad vint length, trailing
    let vf = T::Vector(Box::new(T::Float), 3);
    assert_err(&vf, &[0; 11]);
    assert_err(&vf, &[0; 13]);
    assert_err(&T::Vector(Box::new(T::Float), u32::MAX), &[0; 16]);
    let vt = T::Vector(Box::new(T::Varchar), 2);
    assert_err(&vt, &[1, b'a']);
    assert_err(&vt, &[1, b'a', 5, b'b']);
    assert_err(&vt, &[1, b'a', 1, b'b', 0]);
    assert_err(&T::Vector(Box::new(T::Varchar), u32::MAX), &[0; 16]);
    assert_err(
        &vt,
        &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
    );
}

#[test]
fn nesting_depth_is_bounded() {
    let mut t = ColumnType::Int;
    for _ in 0..(MAX_TYPE_DEPTH + 3) {
        t = ColumnType::List(Box::new(t));
    }
    let mut v = CqlValue::Int(1);
    for _ in 0..(MAX_TYPE_DEPTH + 3) {
        v = CqlValue::List(vec![v]);
    }
    let bytes = enc(&v);
    assert!(matches!(
        assert_err(&t, &bytes),
        DecodeError::TooLong { .. }
    ));
}

#[test]
fn every_prefix_of_a_complex_value_fails_cleanly() {
    let u = udt();
    let t = ColumnType::Map(
        Box::new(ColumnType::Varchar),
        Box::new(ColumnType::Tuple(vec![
            ColumnType::Udt(u),
            ColumnType::Vector(Box::new(ColumnType::Varchar), 2),
            ColumnType::Decimal,
            ColumnType::Duration,
        ])),
    );
    let v = CqlValue::Map(vec![(
        CqlValue::Text("k".into()),
        CqlValue::Tuple(vec![
            Some(CqlValue::Udt {
                keyspace: "ks".into(),
                name: "pt".into(),
                fields: vec![("x".into(), Some(CqlValue::Int(1))), ("label".into(), None)],
            }),
            Some(CqlValue::Vector(vec![
                CqlValue::Text("a".into()),
                CqlValue::Text("b".into()),
            ])),
            Some(CqlValue::Decimal(CqlDecimal {
                unscaled: 5i64.into(),
                scale: 2,
            })),
            Some(CqlValue::Duration(CqlDuration {
                months: 1,
                days: 1,
                nanoseconds: 1,
            })),
        ]),
    )]);
    let bytes = enc(&v);
    assert_eq!(decode_value(&t, &bytes).unwrap(), v);
    for n in 0..bytes.len() {
        // never a panic; most prefixes are errors (a few are valid shorter values
        // through the "missing trailing fields" rule, which is fine)
        let _ = decode_value(&t, &bytes[..n]);
    }
    // flipping any single byte never panics either
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0xFF;
        let _ = decode_value(&t, &b);
    }
}

#[test]
fn fixed_size_follows_cassandra_value_length() {
    use ColumnType as T;
    for t in [
        T::Boolean,
        T::Int,
        T::Float,
        T::Bigint,
        T::Double,
        T::Timestamp,
        T::Uuid,
        T::Timeuuid,
    ] {
        assert!(t.fixed_size().is_some(), "{t}");
    }
    for t in [
        T::Tinyint,
        T::Smallint,
        T::Date,
        T::Time,
        T::Counter,
        T::Varchar,
        T::Varint,
    ] {
        assert_eq!(t.fixed_size(), None, "{t}");
    }
}
