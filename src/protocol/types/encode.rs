//! Encoding of CQL values (spec sections 5 and 6): length-prefix helpers shared by the
//! typed serializers, and `encode_value` for a `CqlValue` in its natural shape. Type
//! compatibility with a target column is checked by the caller (the `value` module).

use bytes::{BufMut, BytesMut};

use super::value::{CqlDecimal, CqlDuration, CqlValue, CqlVarint};
use super::ColumnType;
use crate::protocol::wire;
use crate::protocol::EncodeError;

/// Writes a \[bytes\] value whose body `f` writes: reserves the 4-byte length, runs `f`,
/// then patches the length (failing if the body exceeds `i32::MAX` bytes).
pub fn write_prefixed<E: From<EncodeError>>(
    out: &mut BytesMut,
    f: impl FnOnce(&mut BytesMut) -> Result<(), E>,
) -> Result<(), E> {
    let at = out.len();
    out.put_i32(0);
    f(out)?;
    let len = wire::int_len(out.len() - at - 4, "[bytes] value")?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Writes one vector element: packed as is when the element type has a fixed size,
/// otherwise preceded by its length as an \[unsigned vint\] (Cassandra 5.0 `VectorType`).
pub fn write_vector_element<E: From<EncodeError>>(
    out: &mut BytesMut,
    elem: &ColumnType,
    f: impl FnOnce(&mut BytesMut) -> Result<(), E>,
) -> Result<(), E> {
    match elem.fixed_size() {
        Some(size) => {
            let at = out.len();
            f(out)?;
            if out.len() - at != size {
                return Err(EncodeError::Invalid {
                    what: "vector element has the wrong size for its fixed-size type",
                }
                .into());
            }
            Ok(())
        }
        None => {
            let mut tmp = BytesMut::new();
            f(&mut tmp)?;
            wire::write_unsigned_vint(out, tmp.len() as u64);
            out.put_slice(&tmp);
            Ok(())
        }
    }
}

/// Writes a collection's \[int\] element count.
pub fn write_count(out: &mut BytesMut, n: usize) -> Result<(), EncodeError> {
    wire::write_int(out, wire::int_len(n, "collection element count")?);
    Ok(())
}

/// `varint`: minimal two's complement bytes.
pub fn encode_varint(out: &mut BytesMut, v: &CqlVarint) {
    out.put_slice(v.as_signed_bytes_be());
}

/// `decimal`: \[int\] scale then varint.
pub fn encode_decimal(out: &mut BytesMut, v: &CqlDecimal) {
    out.put_i32(v.scale);
    encode_varint(out, &v.unscaled);
}

/// `duration`: three \[vint\]s.
pub fn encode_duration(out: &mut BytesMut, v: &CqlDuration) {
    wire::write_vint(out, v.months.into());
    wire::write_vint(out, v.days.into());
    wire::write_vint(out, v.nanoseconds);
}

/// Encodes a `CqlValue` (the body only, without its \[bytes\] length) in the shape its
/// variants imply. Vectors pack elements whose natural type has a fixed size.
pub fn encode_value(v: &CqlValue, out: &mut BytesMut) -> Result<(), EncodeError> {
    match v {
        CqlValue::Ascii(s) | CqlValue::Text(s) => out.put_slice(s.as_bytes()),
        CqlValue::Blob(b) | CqlValue::Custom(b) => out.put_slice(b),
        CqlValue::Bigint(i) => out.put_i64(*i),
        CqlValue::Counter(c) => out.put_i64(c.0),
        CqlValue::Timestamp(t) => out.put_i64(t.0),
        CqlValue::Time(t) => {
            if !t.is_valid() {
                return Err(EncodeError::Invalid {
                    what: "time value out of 0..86399999999999",
                });
            }
            out.put_i64(t.0)
        }
        CqlValue::Boolean(b) => out.put_u8(u8::from(*b)),
        CqlValue::Date(d) => out.put_u32(d.0),
        CqlValue::Decimal(d) => encode_decimal(out, d),
        CqlValue::Double(f) => out.put_f64(*f),
        CqlValue::Float(f) => out.put_f32(*f),
        CqlValue::Duration(d) => encode_duration(out, d),
        CqlValue::Empty => {}
        CqlValue::Inet(ip) => match ip {
            std::net::IpAddr::V4(a) => out.put_slice(&a.octets()),
            std::net::IpAddr::V6(a) => out.put_slice(&a.octets()),
        },
        CqlValue::Int(i) => out.put_i32(*i),
        CqlValue::Smallint(i) => out.put_i16(*i),
        CqlValue::Tinyint(i) => out.put_i8(*i),
        CqlValue::Uuid(u) => out.put_slice(&u.0),
        CqlValue::Timeuuid(u) => out.put_slice(&u.0),
        CqlValue::Varint(i) => encode_varint(out, i),
        CqlValue::List(items) | CqlValue::Set(items) => {
            write_count(out, items.len())?;
            for i in items {
                write_prefixed(out, |o| encode_value(i, o))?;
            }
        }
        CqlValue::Map(entries) => {
            write_count(out, entries.len())?;
            for (k, v) in entries {
                write_prefixed(out, |o| encode_value(k, o))?;
                write_prefixed(out, |o| encode_value(v, o))?;
            }
        }
        CqlValue::Tuple(items) => {
            for i in items {
                encode_field(out, i.as_ref())?;
            }
        }
        CqlValue::Udt { fields, .. } => {
            for (_, f) in fields {
                encode_field(out, f.as_ref())?;
            }
        }
        CqlValue::Vector(items) => {
            for i in items {
                write_vector_element(out, &i.natural_type(), |o| encode_value(i, o))?;
            }
        }
    }
    Ok(())
}

fn encode_field(out: &mut BytesMut, v: Option<&CqlValue>) -> Result<(), EncodeError> {
    match v {
        None => {
            wire::write_int(out, -1);
            Ok(())
        }
        Some(v) => write_prefixed(out, |o| encode_value(v, o)),
    }
}
