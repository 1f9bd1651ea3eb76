//! `DeserializeValue` for the Rust types the crate maps from CQL: integers, floats,
//! bool, borrowed and owned strings and blobs, IP addresses, the small value types,
//! `Option`, collections, maps, arrays (vectors), tuples and `CqlValue`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

use bytes::Bytes;

use super::{non_null, DeserializationError, DeserializeValue, FrameSlice};
use crate::protocol::types::decode as d;
use crate::protocol::{wire, DecodeError};
use crate::{
    ColumnType, Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid,
    CqlUuid, CqlValue, CqlVarint,
};

type Res<T> = Result<T, DeserializationError>;

macro_rules! scalar {
    ($t:ty, [$($pat:pat),+], |$b:ident| $body:expr) => {
        impl<'frame> DeserializeValue<'frame> for $t {
            #[inline]
            fn type_check(typ: &ColumnType) -> Res<()> {
                if matches!(typ, $($pat)|+) {
                    Ok(())
                } else {
                    Err(DeserializationError::mismatch::<Self>(typ))
                }
            }
            #[inline]
            fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
                let $b = non_null::<Self>(typ, v)?.as_slice();
                let r: Result<Self, DecodeError> = $body;
                r.map_err(|e| DeserializationError::decode::<Self>(typ, e))
            }
        }
    };
}

scalar!(i8, [ColumnType::Tinyint], |b| d::decode_i8(b));
scalar!(i16, [ColumnType::Smallint], |b| d::decode_i16(b));
scalar!(i32, [ColumnType::Int], |b| d::decode_i32(b));
scalar!(i64, [ColumnType::Bigint, ColumnType::Counter], |b| {
    d::decode_i64(b)
});
scalar!(Counter, [ColumnType::Counter, ColumnType::Bigint], |b| {
    d::decode_i64(b).map(Counter)
});
scalar!(f32, [ColumnType::Float], |b| d::decode_f32(b));
scalar!(f64, [ColumnType::Double], |b| d::decode_f64(b));
scalar!(bool, [ColumnType::Boolean], |b| d::decode_bool(b));
scalar!(IpAddr, [ColumnType::Inet], |b| d::decode_inet(b));
scalar!(CqlDate, [ColumnType::Date], |b| d::decode_date(b));
scalar!(CqlTime, [ColumnType::Time], |b| d::decode_time(b));
scalar!(CqlTimestamp, [ColumnType::Timestamp], |b| d::decode_i64(b)
    .map(CqlTimestamp));
scalar!(CqlDuration, [ColumnType::Duration], |b| d::decode_duration(
    b
));
scalar!(CqlVarint, [ColumnType::Varint], |b| d::decode_varint(b));
scalar!(CqlDecimal, [ColumnType::Decimal], |b| d::decode_decimal(b));
scalar!(CqlUuid, [ColumnType::Uuid, ColumnType::Timeuuid], |b| {
    d::decode_uuid(b).map(CqlUuid)
});
scalar!(CqlTimeuuid, [ColumnType::Timeuuid], |b| d::decode_uuid(b)
    .map(CqlTimeuuid));
scalar!(Vec<u8>, [ColumnType::Blob, ColumnType::Custom(_)], |b| Ok(
    b.to_vec()
));

fn check_text<T: ?Sized>(typ: &ColumnType) -> Res<()> {
    match typ {
        ColumnType::Varchar | ColumnType::Ascii => Ok(()),
        _ => Err(DeserializationError::mismatch::<T>(typ)),
    }
}

fn read_text<'f, T: ?Sized>(typ: &ColumnType, v: Option<FrameSlice<'f>>) -> Res<&'f str> {
    let b = non_null::<T>(typ, v)?.as_slice();
    let r = if matches!(typ, ColumnType::Ascii) {
        d::decode_ascii(b)
    } else {
        d::decode_text(b)
    };
    r.map_err(|e| DeserializationError::decode::<T>(typ, e))
}

impl<'frame> DeserializeValue<'frame> for &'frame str {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_text::<Self>(typ)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        read_text::<Self>(typ, v)
    }
}

impl<'frame> DeserializeValue<'frame> for String {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_text::<Self>(typ)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        read_text::<Self>(typ, v).map(str::to_owned)
    }
}

fn check_blob<T: ?Sized>(typ: &ColumnType) -> Res<()> {
    match typ {
        ColumnType::Blob | ColumnType::Custom(_) => Ok(()),
        _ => Err(DeserializationError::mismatch::<T>(typ)),
    }
}

impl<'frame> DeserializeValue<'frame> for &'frame [u8] {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_blob::<Self>(typ)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        Ok(non_null::<Self>(typ, v)?.as_slice())
    }
}

impl<'frame> DeserializeValue<'frame> for Bytes {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_blob::<Self>(typ)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        Ok(non_null::<Self>(typ, v)?.to_bytes())
    }
}

/// The raw bytes of any value, of any type (for custom decoding).
impl<'frame> DeserializeValue<'frame> for FrameSlice<'frame> {
    #[inline]
    fn type_check(_typ: &ColumnType) -> Res<()> {
        Ok(())
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        non_null::<Self>(typ, v)
    }
}

impl<'frame, T: DeserializeValue<'frame>> DeserializeValue<'frame> for Option<T> {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        T::type_check(typ)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        v.map(|v| T::deserialize(typ, Some(v))).transpose()
    }
}

impl<'frame> DeserializeValue<'frame> for CqlValue {
    #[inline]
    fn type_check(_typ: &ColumnType) -> Res<()> {
        Ok(())
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        let b = non_null::<Self>(typ, v)?.as_slice();
        d::decode_value(typ, b).map_err(|e| DeserializationError::decode::<Self>(typ, e))
    }
}

/// Iterates over the elements of a list or set value: yields each element's bytes.
fn for_each_element<'f, T: ?Sized>(
    typ: &ColumnType,
    v: FrameSlice<'f>,
    per_entry: usize,
    mut f: impl FnMut(usize, &mut &'f [u8]) -> Res<()>,
) -> Res<()> {
    let mut buf = v.as_slice();
    let n = d::read_count(&mut buf, 4 * per_entry, "collection elements")
        .map_err(|e| DeserializationError::decode::<T>(typ, e))?;
    for _ in 0..n {
        f(n, &mut buf)?;
    }
    d::no_trailing(buf, "collection value").map_err(|e| DeserializationError::decode::<T>(typ, e))
}

fn element<'f, T: ?Sized>(
    typ: &ColumnType,
    v: FrameSlice<'f>,
    buf: &mut &'f [u8],
) -> Res<FrameSlice<'f>> {
    let b = d::read_element(buf).map_err(|e| DeserializationError::decode::<T>(typ, e))?;
    Ok(v.sub(b))
}

/// Element type of a list, set or vector.
fn seq_elem(typ: &ColumnType) -> Option<&ColumnType> {
    match typ {
        ColumnType::List(e) | ColumnType::Set(e) | ColumnType::Vector(e, _) => Some(e),
        _ => None,
    }
}

/// Reads the elements of a list, set or vector into `push`. Null reads as empty
/// (Cassandra stores an empty collection as null).
fn read_seq<'f, S: ?Sized, T: DeserializeValue<'f>>(
    typ: &ColumnType,
    v: Option<FrameSlice<'f>>,
    mut push: impl FnMut(usize, T),
) -> Res<()> {
    let Some(v) = v else { return Ok(()) };
    let Some(e) = seq_elem(typ) else {
        return Err(DeserializationError::mismatch::<S>(typ));
    };
    if let ColumnType::Vector(_, dim) = typ {
        let parts = d::split_vector(e, *dim as usize, v.as_slice())
            .map_err(|err| DeserializationError::decode::<S>(typ, err))?;
        let n = parts.len();
        for p in parts {
            push(n, T::deserialize(e, Some(v.sub(p)))?);
        }
        return Ok(());
    }
    for_each_element::<S>(typ, v, 1, |n, buf| {
        let el = element::<S>(typ, v, buf)?;
        push(n, T::deserialize(e, Some(el))?);
        Ok(())
    })
}

fn check_seq<'f, S: ?Sized, T: DeserializeValue<'f>>(typ: &ColumnType, vector_ok: bool) -> Res<()> {
    match typ {
        ColumnType::List(e) | ColumnType::Set(e) => T::type_check(e),
        ColumnType::Vector(e, _) if vector_ok => T::type_check(e),
        _ => Err(DeserializationError::mismatch::<S>(typ)),
    }
}

impl<'frame, T: DeserializeValue<'frame>> DeserializeValue<'frame> for Vec<T> {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_seq::<Self, T>(typ, true)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        let mut out = Vec::new();
        read_seq::<Self, T>(typ, v, |n, x| {
            if out.is_empty() {
                out.reserve_exact(n);
            }
            out.push(x)
        })?;
        Ok(out)
    }
}

impl<'frame, T: DeserializeValue<'frame> + Eq + Hash, S: BuildHasher + Default>
    DeserializeValue<'frame> for HashSet<T, S>
{
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_seq::<Self, T>(typ, false)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        let mut out = HashSet::default();
        read_seq::<Self, T>(typ, v, |_, x| {
            out.insert(x);
        })?;
        Ok(out)
    }
}

impl<'frame, T: DeserializeValue<'frame> + Ord> DeserializeValue<'frame> for BTreeSet<T> {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_seq::<Self, T>(typ, false)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        let mut out = BTreeSet::new();
        read_seq::<Self, T>(typ, v, |_, x| {
            out.insert(x);
        })?;
        Ok(out)
    }
}

impl<'frame, T: DeserializeValue<'frame>, const N: usize> DeserializeValue<'frame> for [T; N] {
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        match typ {
            ColumnType::Vector(e, dim) if *dim as usize == N => T::type_check(e),
            ColumnType::List(e) | ColumnType::Set(e) => T::type_check(e),
            _ => Err(DeserializationError::mismatch::<Self>(typ)),
        }
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        let v = non_null::<Self>(typ, v)?;
        let mut items = Vec::with_capacity(N);
        read_seq::<Self, T>(typ, Some(v), |_, x| items.push(x))?;
        <[T; N]>::try_from(items).map_err(|items| {
            let e = DecodeError::InvalidLength {
                what: "fixed-size array from a collection",
                len: items.len() as i64,
            };
            DeserializationError::decode::<Self>(typ, e)
        })
    }
}

/// Reads the entries of a map value into `push`; null reads as empty.
fn read_map<'f, M: ?Sized, K: DeserializeValue<'f>, V: DeserializeValue<'f>>(
    typ: &ColumnType,
    v: Option<FrameSlice<'f>>,
    mut push: impl FnMut(K, V),
) -> Res<()> {
    let Some(v) = v else { return Ok(()) };
    let ColumnType::Map(kt, vt) = typ else {
        return Err(DeserializationError::mismatch::<M>(typ));
    };
    for_each_element::<M>(typ, v, 2, |_, buf| {
        let k = K::deserialize(kt, Some(element::<M>(typ, v, buf)?))?;
        let val = V::deserialize(vt, Some(element::<M>(typ, v, buf)?))?;
        push(k, val);
        Ok(())
    })
}

fn check_map<'f, M: ?Sized, K: DeserializeValue<'f>, V: DeserializeValue<'f>>(
    typ: &ColumnType,
) -> Res<()> {
    match typ {
        ColumnType::Map(k, v) => {
            K::type_check(k)?;
            V::type_check(v)
        }
        _ => Err(DeserializationError::mismatch::<M>(typ)),
    }
}

impl<'frame, K, V, S> DeserializeValue<'frame> for HashMap<K, V, S>
where
    K: DeserializeValue<'frame> + Eq + Hash,
    V: DeserializeValue<'frame>,
    S: BuildHasher + Default,
{
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_map::<Self, K, V>(typ)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        let mut out = HashMap::default();
        read_map::<Self, K, V>(typ, v, |k, v| {
            out.insert(k, v);
        })?;
        Ok(out)
    }
}

impl<'frame, K: DeserializeValue<'frame> + Ord, V: DeserializeValue<'frame>>
    DeserializeValue<'frame> for BTreeMap<K, V>
{
    #[inline]
    fn type_check(typ: &ColumnType) -> Res<()> {
        check_map::<Self, K, V>(typ)
    }
    #[inline]
    fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
        let mut out = BTreeMap::new();
        read_map::<Self, K, V>(typ, v, |k, v| {
            out.insert(k, v);
        })?;
        Ok(out)
    }
}

/// Reads the next tuple component or UDT field: `None` when null or missing (a
/// trailing field may be absent, spec section 6). Used by derived UDT impls.
#[doc(hidden)]
pub fn read_field<'f, T: ?Sized>(
    typ: &ColumnType,
    v: FrameSlice<'f>,
    buf: &mut &'f [u8],
) -> Res<Option<FrameSlice<'f>>> {
    if buf.is_empty() {
        return Ok(None);
    }
    let b = wire::read_bytes(buf).map_err(|e| DeserializationError::decode::<T>(typ, e))?;
    Ok(b.map(|b| v.sub(b)))
}

/// Fails unless a tuple or UDT value was fully consumed. Used by derived impls.
#[doc(hidden)]
pub fn no_trailing<T: ?Sized>(typ: &ColumnType, rest: &[u8]) -> Res<()> {
    d::no_trailing(rest, "UDT value").map_err(|e| DeserializationError::decode::<T>(typ, e))
}

macro_rules! tuple {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<'frame, $($t: DeserializeValue<'frame>),+> DeserializeValue<'frame> for ($($t,)+) {
            #[inline]
            fn type_check(typ: &ColumnType) -> Res<()> {
                match typ {
                    ColumnType::Tuple(ts) if ts.len() == $n => {
                        $($t::type_check(&ts[$i])?;)+
                        Ok(())
                    }
                    _ => Err(DeserializationError::mismatch::<Self>(typ)),
                }
            }
            #[inline]
            fn deserialize(typ: &ColumnType, v: Option<FrameSlice<'frame>>) -> Res<Self> {
                let v = non_null::<Self>(typ, v)?;
                let ColumnType::Tuple(ts) = typ else {
                    return Err(DeserializationError::mismatch::<Self>(typ));
                };
                if ts.len() != $n {
                    return Err(DeserializationError::mismatch::<Self>(typ));
                }
                let mut buf = v.as_slice();
                let r = ($($t::deserialize(&ts[$i], read_field::<Self>(typ, v, &mut buf)?)?,)+);
                d::no_trailing(buf, "tuple value")
                    .map_err(|e| DeserializationError::decode::<Self>(typ, e))?;
                Ok(r)
            }
        }
    };
}

crate::for_each_tuple!(tuple);
