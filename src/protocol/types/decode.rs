//! Decoding of serialized CQL values (spec sections 5 and 6) given their `ColumnType`:
//! per-type helpers used by typed row access, and `decode_value` into a `CqlValue`.
//! Every length is checked before allocating; bad input is a typed `DecodeError`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::value::{
    Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlUuid,
    CqlValue, CqlVarint,
};
use super::{ColumnType, MAX_TYPE_DEPTH};
use crate::protocol::wire::{self, check_count};
use crate::protocol::DecodeError;

type Result<T> = std::result::Result<T, DecodeError>;

/// Reads exactly `N` bytes: any other length is `InvalidLength` (or `Truncated`).
pub fn fixed<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N]> {
    if bytes.len() != N {
        return Err(DecodeError::InvalidLength {
            what,
            len: bytes.len() as i64,
        });
    }
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
}

/// `boolean`: one byte, non-zero is true (spec 5.4).
pub fn decode_bool(b: &[u8]) -> Result<bool> {
    Ok(fixed::<1>(b, "boolean value")?[0] != 0)
}

/// `tinyint`.
pub fn decode_i8(b: &[u8]) -> Result<i8> {
    Ok(i8::from_be_bytes(fixed(b, "tinyint value")?))
}

/// `smallint`.
pub fn decode_i16(b: &[u8]) -> Result<i16> {
    Ok(i16::from_be_bytes(fixed(b, "smallint value")?))
}

/// `int`.
pub fn decode_i32(b: &[u8]) -> Result<i32> {
    Ok(i32::from_be_bytes(fixed(b, "int value")?))
}

/// `bigint`, `counter`, `timestamp` (and `time` before its range check).
pub fn decode_i64(b: &[u8]) -> Result<i64> {
    Ok(i64::from_be_bytes(fixed(b, "64-bit value")?))
}

/// `float`.
pub fn decode_f32(b: &[u8]) -> Result<f32> {
    Ok(f32::from_be_bytes(fixed(b, "float value")?))
}

/// `double`.
pub fn decode_f64(b: &[u8]) -> Result<f64> {
    Ok(f64::from_be_bytes(fixed(b, "double value")?))
}

/// `uuid` / `timeuuid`.
pub fn decode_uuid(b: &[u8]) -> Result<[u8; 16]> {
    fixed(b, "uuid value")
}

/// `date` (spec 5.5).
pub fn decode_date(b: &[u8]) -> Result<CqlDate> {
    Ok(CqlDate(u32::from_be_bytes(fixed(b, "date value")?)))
}

/// `time`: nanoseconds since midnight, range-checked (spec 5.17).
pub fn decode_time(b: &[u8]) -> Result<CqlTime> {
    let t = CqlTime(i64::from_be_bytes(fixed(b, "time value")?));
    if !t.is_valid() {
        return Err(DecodeError::Malformed {
            what: "time value out of 0..86399999999999",
        });
    }
    Ok(t)
}

/// `text` / `varchar`: UTF-8, borrowed.
pub fn decode_text(b: &[u8]) -> Result<&str> {
    std::str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8 { what: "text value" })
}

/// `ascii`: bytes 0..=127 only (spec 5.1), borrowed.
pub fn decode_ascii(b: &[u8]) -> Result<&str> {
    if !b.is_ascii() {
        return Err(DecodeError::Malformed {
            what: "ascii value (byte above 127)",
        });
    }
    decode_text(b)
}

/// `inet`: 4 or 16 bytes (spec 5.10).
pub fn decode_inet(b: &[u8]) -> Result<IpAddr> {
    match b.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::from(fixed::<4>(b, "inet value")?))),
        16 => Ok(IpAddr::V6(Ipv6Addr::from(fixed::<16>(b, "inet value")?))),
        n => Err(DecodeError::InvalidLength {
            what: "inet value",
            len: n as i64,
        }),
    }
}

/// `varint`: at least one byte (spec 5.24); normalized to the minimal encoding.
pub fn decode_varint(b: &[u8]) -> Result<CqlVarint> {
    if b.is_empty() {
        return Err(DecodeError::InvalidLength {
            what: "varint value",
            len: 0,
        });
    }
    Ok(CqlVarint::from_signed_bytes_be(b))
}

/// `decimal`: \[int\] scale then a varint (spec 5.6).
pub fn decode_decimal(mut b: &[u8]) -> Result<CqlDecimal> {
    let scale = wire::read_int(&mut b)?;
    Ok(CqlDecimal {
        unscaled: decode_varint(b)?,
        scale,
    })
}

/// `duration`: three \[vint\]s; months and days must fit 32 bits (spec 5.8).
pub fn decode_duration(mut b: &[u8]) -> Result<CqlDuration> {
    let narrow = |v: i64| {
        i32::try_from(v).map_err(|_| DecodeError::Malformed {
            what: "duration months/days beyond 32 bits",
        })
    };
    let months = narrow(wire::read_vint(&mut b)?)?;
    let days = narrow(wire::read_vint(&mut b)?)?;
    let nanoseconds = wire::read_vint(&mut b)?;
    no_trailing(b, "duration value")?;
    Ok(CqlDuration {
        months,
        days,
        nanoseconds,
    })
}

/// Fails with `TrailingBytes` unless the cursor is exhausted.
pub fn no_trailing(rest: &[u8], what: &'static str) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::TrailingBytes {
            what,
            extra: rest.len(),
        })
    }
}

/// Reads a collection's \[int\] element count, rejecting negative counts and counts
/// that cannot fit in the remaining bytes (`min_item` bytes per element at least).
pub fn read_count(buf: &mut &[u8], min_item: usize, what: &'static str) -> Result<usize> {
    let n = wire::read_int(buf)?;
    let n = usize::try_from(n).map_err(|_| DecodeError::InvalidLength {
        what,
        len: n.into(),
    })?;
    check_count(buf, n, min_item, what)
}

/// Reads one collection element: \[bytes\] that must not be null (spec 5.12-5.14).
pub fn read_element<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    wire::read_bytes(buf)?.ok_or(DecodeError::Malformed {
        what: "null collection element",
    })
}

/// The serialized size of an element inside a vector when the element type has a
/// fixed length (Cassandra `VectorType`: fixed-length elements are packed without any
/// length; all others carry an \[unsigned vint\] length).
pub fn vector_element_size(elem: &ColumnType) -> Option<usize> {
    elem.fixed_size()
}

/// Splits a vector value into its `dim` element slices.
pub fn split_vector<'a>(elem: &ColumnType, dim: usize, mut b: &'a [u8]) -> Result<Vec<&'a [u8]>> {
    match vector_element_size(elem) {
        Some(size) => {
            let need = size.saturating_mul(dim);
            if b.len() != need {
                return Err(DecodeError::InvalidLength {
                    what: "vector value",
                    len: b.len() as i64,
                });
            }
            Ok(if size == 0 {
                vec![&b[..0]; dim]
            } else {
                b.chunks_exact(size).collect()
            })
        }
        None => {
            let n = check_count(b, dim, 1, "vector elements")?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let len = wire::read_unsigned_vint(&mut b)?;
                let len = usize::try_from(len).map_err(|_| DecodeError::TooLong {
                    what: "vector element",
                    len,
                    max: usize::MAX as u64,
                })?;
                out.push(wire::take(&mut b, len, "vector element")?);
            }
            no_trailing(b, "vector value")?;
            Ok(out)
        }
    }
}

/// Decodes one non-null value of type `typ` into a `CqlValue`.
pub fn decode_value(typ: &ColumnType, bytes: &[u8]) -> Result<CqlValue> {
    decode_depth(typ, bytes, 0)
}

/// Whether a zero-length value of `typ` reads as `CqlValue::Empty`. Strings, blobs and
/// custom types have a real zero-length value; collections and vectors never have
/// one (Cassandra rejects it). A zero-length tuple or UDT (Cassandra accepts it) is
/// `Empty` too, not a value with every field null: that one has different bytes
/// (each field -1), and the Java and Python drivers do not read it as such either.
fn is_emptiable(typ: &ColumnType) -> bool {
    !matches!(
        typ,
        ColumnType::Ascii
            | ColumnType::Varchar
            | ColumnType::Blob
            | ColumnType::Custom(_)
            | ColumnType::List(_)
            | ColumnType::Set(_)
            | ColumnType::Map(..)
            | ColumnType::Vector(..)
    )
}

fn decode_depth(typ: &ColumnType, b: &[u8], depth: usize) -> Result<CqlValue> {
    if depth > MAX_TYPE_DEPTH {
        return Err(DecodeError::TooLong {
            what: "value nesting",
            len: depth as u64,
            max: MAX_TYPE_DEPTH as u64,
        });
    }
    if b.is_empty() && is_emptiable(typ) {
        return Ok(CqlValue::Empty);
    }
    let d = depth + 1;
    Ok(match typ {
        ColumnType::Custom(_) => CqlValue::Custom(b.to_vec()),
        ColumnType::Ascii => CqlValue::Ascii(decode_ascii(b)?.to_owned()),
        ColumnType::Varchar => CqlValue::Text(decode_text(b)?.to_owned()),
        ColumnType::Blob => CqlValue::Blob(b.to_vec()),
        ColumnType::Bigint => CqlValue::Bigint(decode_i64(b)?),
        ColumnType::Counter => CqlValue::Counter(Counter(decode_i64(b)?)),
        ColumnType::Timestamp => CqlValue::Timestamp(CqlTimestamp(decode_i64(b)?)),
        ColumnType::Boolean => CqlValue::Boolean(decode_bool(b)?),
        ColumnType::Decimal => CqlValue::Decimal(decode_decimal(b)?),
        ColumnType::Double => CqlValue::Double(decode_f64(b)?),
        ColumnType::Float => CqlValue::Float(decode_f32(b)?),
        ColumnType::Int => CqlValue::Int(decode_i32(b)?),
        ColumnType::Smallint => CqlValue::Smallint(decode_i16(b)?),
        ColumnType::Tinyint => CqlValue::Tinyint(decode_i8(b)?),
        ColumnType::Uuid => CqlValue::Uuid(CqlUuid(decode_uuid(b)?)),
        ColumnType::Timeuuid => CqlValue::Timeuuid(CqlTimeuuid(decode_uuid(b)?)),
        ColumnType::Varint => CqlValue::Varint(decode_varint(b)?),
        ColumnType::Inet => CqlValue::Inet(decode_inet(b)?),
        ColumnType::Date => CqlValue::Date(decode_date(b)?),
        ColumnType::Time => CqlValue::Time(decode_time(b)?),
        ColumnType::Duration => CqlValue::Duration(decode_duration(b)?),
        ColumnType::List(e) | ColumnType::Set(e) => {
            let mut buf = b;
            let n = read_count(&mut buf, 4, "collection elements")?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(decode_depth(e, read_element(&mut buf)?, d)?);
            }
            no_trailing(buf, "collection value")?;
            if matches!(typ, ColumnType::List(_)) {
                CqlValue::List(items)
            } else {
                CqlValue::Set(items)
            }
        }
        ColumnType::Map(kt, vt) => {
            let mut buf = b;
            let n = read_count(&mut buf, 8, "map entries")?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let k = decode_depth(kt, read_element(&mut buf)?, d)?;
                let v = decode_depth(vt, read_element(&mut buf)?, d)?;
                items.push((k, v));
            }
            no_trailing(buf, "map value")?;
            CqlValue::Map(items)
        }
        ColumnType::Tuple(types) => {
            let mut buf = b;
            let mut items = Vec::with_capacity(types.len());
            for t in types {
                items.push(read_field(&mut buf, t, d)?);
            }
            no_trailing(buf, "tuple value")?;
            CqlValue::Tuple(items)
        }
        ColumnType::Udt(u) => {
            let mut buf = b;
            let mut fields = Vec::with_capacity(u.fields.len());
            for (name, t) in &u.fields {
                fields.push((name.clone(), read_field(&mut buf, t, d)?));
            }
            no_trailing(buf, "UDT value")?;
            CqlValue::Udt {
                keyspace: u.keyspace.clone(),
                name: u.name.clone(),
                fields,
            }
        }
        ColumnType::Vector(e, dim) => {
            let parts = split_vector(e, *dim as usize, b)?;
            let mut items = Vec::with_capacity(parts.len());
            for p in parts {
                items.push(decode_depth(e, p, d)?);
            }
            CqlValue::Vector(items)
        }
    })
}

/// Reads a tuple component or UDT field: \[bytes\], null allowed, and a missing trailing
/// field (input exhausted) reads as null (spec section 6).
fn read_field(buf: &mut &[u8], t: &ColumnType, depth: usize) -> Result<Option<CqlValue>> {
    if buf.is_empty() {
        return Ok(None);
    }
    match wire::read_bytes(buf)? {
        None => Ok(None),
        Some(v) => decode_depth(t, v, depth).map(Some),
    }
}
