//! `SerializeValue` for the Rust types the crate maps to CQL: integers, floats, bool,
//! strings, blobs, IP addresses, the crate's small value types, `Option`, unset,
//! collections, maps, arrays (vectors), tuples and `CqlValue`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    write_element, write_field, write_vector_element, MaybeUnset, SerializationError,
    SerializationErrorKind as Kind, SerializeValue, Unset, Written,
};
use crate::protocol::types::encode::{encode_decimal, encode_duration, encode_varint};
use crate::protocol::wire;
use crate::{
    ColumnType, Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid,
    CqlUuid, CqlValue, CqlVarint,
};

type Res = Result<Written, SerializationError>;

macro_rules! scalar {
    ($t:ty, $natural:expr, [$($pat:pat),+], |$s:ident, $typ:ident, $o:ident| $body:block) => {
        impl SerializeValue for $t {
            fn natural_type(&self) -> Option<ColumnType> {
                Some($natural)
            }
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
                if !matches!(typ, $($pat)|+) {
                    return Err(SerializationError::mismatch::<Self>(typ));
                }
                let ($s, $typ, $o) = (self, typ, out);
                $body
                #[allow(unreachable_code)]
                Ok(Written::Value)
            }
        }
    };
}

scalar!(
    i8,
    ColumnType::Tinyint,
    [ColumnType::Tinyint],
    |v, _t, o| { o.put_i8(*v) }
);
scalar!(
    i16,
    ColumnType::Smallint,
    [ColumnType::Smallint],
    |v, _t, o| { o.put_i16(*v) }
);
scalar!(i32, ColumnType::Int, [ColumnType::Int], |v, _t, o| {
    o.put_i32(*v)
});
scalar!(
    i64,
    ColumnType::Bigint,
    [ColumnType::Bigint, ColumnType::Counter],
    |v, _t, o| { o.put_i64(*v) }
);
scalar!(
    Counter,
    ColumnType::Counter,
    [ColumnType::Counter, ColumnType::Bigint],
    |v, _t, o| { o.put_i64(v.0) }
);
scalar!(f32, ColumnType::Float, [ColumnType::Float], |v, _t, o| {
    o.put_f32(*v)
});
scalar!(f64, ColumnType::Double, [ColumnType::Double], |v, _t, o| {
    o.put_f64(*v)
});
scalar!(
    bool,
    ColumnType::Boolean,
    [ColumnType::Boolean],
    |v, _t, o| { o.put_u8(u8::from(*v)) }
);
scalar!(CqlDate, ColumnType::Date, [ColumnType::Date], |v, _t, o| {
    o.put_u32(v.0)
});
scalar!(
    CqlTimestamp,
    ColumnType::Timestamp,
    [ColumnType::Timestamp],
    |v, _t, o| { o.put_i64(v.0) }
);
scalar!(CqlTime, ColumnType::Time, [ColumnType::Time], |v, t, o| {
    if !v.is_valid() {
        return Err(SerializationError::new::<Self>(t, Kind::OutOfRange));
    }
    o.put_i64(v.0)
});
scalar!(
    CqlDuration,
    ColumnType::Duration,
    [ColumnType::Duration],
    |v, t, o| {
        if !v.has_consistent_sign() {
            return Err(SerializationError::new::<Self>(t, Kind::MixedSignDuration));
        }
        encode_duration(o, v)
    }
);
scalar!(
    CqlVarint,
    ColumnType::Varint,
    [ColumnType::Varint],
    |v, _t, o| { encode_varint(o, v) }
);
scalar!(
    CqlDecimal,
    ColumnType::Decimal,
    [ColumnType::Decimal],
    |v, _t, o| { encode_decimal(o, v) }
);
scalar!(
    CqlUuid,
    ColumnType::Uuid,
    [ColumnType::Uuid, ColumnType::Timeuuid],
    |v, _t, o| { o.put_slice(&v.0) }
);
scalar!(
    CqlTimeuuid,
    ColumnType::Timeuuid,
    [ColumnType::Timeuuid, ColumnType::Uuid],
    |v, _t, o| { o.put_slice(&v.0) }
);
scalar!(IpAddr, ColumnType::Inet, [ColumnType::Inet], |v, _t, o| {
    match v {
        IpAddr::V4(a) => o.put_slice(&a.octets()),
        IpAddr::V6(a) => o.put_slice(&a.octets()),
    }
});
scalar!(
    str,
    ColumnType::Varchar,
    [ColumnType::Varchar, ColumnType::Ascii],
    |v, t, o| {
        if matches!(t, ColumnType::Ascii) && !v.is_ascii() {
            return Err(SerializationError::new::<Self>(t, Kind::NotAscii));
        }
        o.put_slice(v.as_bytes())
    }
);
scalar!(
    [u8],
    ColumnType::Blob,
    [ColumnType::Blob, ColumnType::Custom(_)],
    |v, _t, o| { o.put_slice(v) }
);

/// Forwards to another impl after a conversion (`String` to `str`, ...).
macro_rules! forward {
    ($t:ty, |$s:ident| $conv:expr) => {
        impl SerializeValue for $t {
            fn natural_type(&self) -> Option<ColumnType> {
                let $s = self;
                SerializeValue::natural_type($conv)
            }
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
                let $s = self;
                SerializeValue::serialize($conv, typ, out)
                    .map_err(|e| rename::<Self>(e, std::any::type_name_of_val($conv)))
            }
        }
    };
}

/// Reports the outer Rust type in place of the one an impl forwarded to.
fn rename<T: ?Sized>(e: SerializationError, inner: &'static str) -> SerializationError {
    if e.rust_type() == inner {
        e.with_rust_type(std::any::type_name::<T>())
    } else {
        e
    }
}

forward!(String, |s| s.as_str());
forward!(Vec<u8>, |s| s.as_slice());
forward!(Bytes, |s| s.as_ref());
forward!(BytesMut, |s| s.as_ref());

impl<T: SerializeValue + ?Sized> SerializeValue for &T {
    fn natural_type(&self) -> Option<ColumnType> {
        (**self).natural_type()
    }
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
        (**self).serialize(typ, out)
    }
}

impl<T: SerializeValue + ?Sized> SerializeValue for Box<T> {
    fn natural_type(&self) -> Option<ColumnType> {
        (**self).natural_type()
    }
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
        (**self).serialize(typ, out)
    }
}

impl<T: SerializeValue + ?Sized> SerializeValue for Arc<T> {
    fn natural_type(&self) -> Option<ColumnType> {
        (**self).natural_type()
    }
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
        (**self).serialize(typ, out)
    }
}

impl<T: SerializeValue> SerializeValue for Option<T> {
    fn natural_type(&self) -> Option<ColumnType> {
        self.as_ref().and_then(T::natural_type)
    }
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
        match self {
            Some(v) => v.serialize(typ, out),
            None => Ok(Written::Null),
        }
    }
}

impl SerializeValue for Unset {
    fn natural_type(&self) -> Option<ColumnType> {
        None
    }
    fn serialize(&self, _typ: &ColumnType, _out: &mut BytesMut) -> Res {
        Ok(Written::Unset)
    }
}

impl<T: SerializeValue> SerializeValue for MaybeUnset<T> {
    fn natural_type(&self) -> Option<ColumnType> {
        match self {
            Self::Set(v) => v.natural_type(),
            Self::Unset => None,
        }
    }
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
        match self {
            Self::Set(v) => v.serialize(typ, out),
            Self::Unset => Ok(Written::Unset),
        }
    }
}

fn first_type<'a, T: SerializeValue + 'a>(mut it: impl Iterator<Item = &'a T>) -> ColumnType {
    it.find_map(T::natural_type).unwrap_or(ColumnType::Blob)
}

/// Writes a list, set or vector from an exact-size iterator of elements.
fn serialize_seq<'a, S: ?Sized, T: SerializeValue + 'a>(
    items: impl ExactSizeIterator<Item = &'a T>,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Res {
    match typ {
        ColumnType::List(e) | ColumnType::Set(e) => {
            let n = wire::int_len(items.len(), "collection elements")
                .map_err(|err| SerializationError::new::<S>(typ, Kind::Encode(err)))?;
            out.put_i32(n);
            for i in items {
                write_element(i, e, out)?;
            }
        }
        ColumnType::Vector(e, dim) => {
            if items.len() != *dim as usize {
                let reason = Kind::VectorLength {
                    expected: *dim as usize,
                    got: items.len(),
                };
                return Err(SerializationError::new::<S>(typ, reason));
            }
            for i in items {
                write_vector_element(i, e, out)?;
            }
        }
        _ => return Err(SerializationError::mismatch::<S>(typ)),
    }
    Ok(Written::Value)
}

macro_rules! seq {
    ($t:ty, $natural:ident, [$($g:tt)*]) => {
        impl<$($g)*> SerializeValue for $t {
            fn natural_type(&self) -> Option<ColumnType> {
                Some(ColumnType::$natural(Box::new(first_type(self.iter()))))
            }
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
                serialize_seq::<Self, T>(self.iter(), typ, out)
            }
        }
    };
}

seq!(Vec<T>, List, [T: SerializeValue]);
seq!([T], List, [T: SerializeValue]);
seq!(HashSet<T, S>, Set, [T: SerializeValue, S]);
seq!(BTreeSet<T>, Set, [T: SerializeValue]);

impl<T: SerializeValue, const N: usize> SerializeValue for [T; N] {
    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Vector(
            Box::new(first_type(self.iter())),
            N as u32,
        ))
    }
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
        serialize_seq::<Self, T>(self.iter(), typ, out)
    }
}

fn serialize_map<'a, M: ?Sized, K: SerializeValue + 'a, V: SerializeValue + 'a>(
    entries: impl ExactSizeIterator<Item = (&'a K, &'a V)>,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Res {
    let ColumnType::Map(kt, vt) = typ else {
        return Err(SerializationError::mismatch::<M>(typ));
    };
    let n = wire::int_len(entries.len(), "map entries")
        .map_err(|err| SerializationError::new::<M>(typ, Kind::Encode(err)))?;
    out.put_i32(n);
    for (k, v) in entries {
        write_element(k, kt, out)?;
        write_element(v, vt, out)?;
    }
    Ok(Written::Value)
}

macro_rules! map {
    ($t:ty, [$($g:tt)*]) => {
        impl<$($g)*> SerializeValue for $t {
            fn natural_type(&self) -> Option<ColumnType> {
                let k = first_type(self.keys());
                let v = first_type(self.values());
                Some(ColumnType::Map(Box::new(k), Box::new(v)))
            }
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
                serialize_map::<Self, K, V>(self.iter(), typ, out)
            }
        }
    };
}

map!(HashMap<K, V, S>, [K: SerializeValue, V: SerializeValue, S]);
map!(BTreeMap<K, V>, [K: SerializeValue, V: SerializeValue]);

macro_rules! tuple {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t: SerializeValue),+> SerializeValue for ($($t,)+) {
            fn natural_type(&self) -> Option<ColumnType> {
                Some(ColumnType::Tuple(vec![
                    $(self.$i.natural_type().unwrap_or(ColumnType::Blob)),+
                ]))
            }
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
                let ColumnType::Tuple(types) = typ else {
                    return Err(SerializationError::mismatch::<Self>(typ));
                };
                if types.len() != $n {
                    let reason = Kind::TupleLength { expected: types.len(), got: $n };
                    return Err(SerializationError::new::<Self>(typ, reason));
                }
                $(write_field(&self.$i, &types[$i], out)?;)+
                Ok(Written::Value)
            }
        }
    };
}

crate::for_each_tuple!(tuple);

impl SerializeValue for CqlValue {
    fn natural_type(&self) -> Option<ColumnType> {
        Some(CqlValue::natural_type(self))
    }

    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Res {
        use ColumnType as T;
        let r = match (self, typ) {
            (CqlValue::Ascii(s) | CqlValue::Text(s), _) => s.as_str().serialize(typ, out),
            (CqlValue::Blob(b) | CqlValue::Custom(b), _) => b.as_slice().serialize(typ, out),
            (CqlValue::Bigint(v), _) => v.serialize(typ, out),
            (CqlValue::Boolean(v), _) => v.serialize(typ, out),
            (CqlValue::Counter(v), _) => v.serialize(typ, out),
            (CqlValue::Date(v), _) => v.serialize(typ, out),
            (CqlValue::Decimal(v), _) => v.serialize(typ, out),
            (CqlValue::Double(v), _) => v.serialize(typ, out),
            (CqlValue::Duration(v), _) => v.serialize(typ, out),
            (CqlValue::Float(v), _) => v.serialize(typ, out),
            (CqlValue::Inet(v), _) => v.serialize(typ, out),
            (CqlValue::Int(v), _) => v.serialize(typ, out),
            (CqlValue::Smallint(v), _) => v.serialize(typ, out),
            (CqlValue::Time(v), _) => v.serialize(typ, out),
            (CqlValue::Timestamp(v), _) => v.serialize(typ, out),
            (CqlValue::Timeuuid(v), _) => v.serialize(typ, out),
            (CqlValue::Tinyint(v), _) => v.serialize(typ, out),
            (CqlValue::Uuid(v), _) => v.serialize(typ, out),
            (CqlValue::Varint(v), _) => v.serialize(typ, out),
            (CqlValue::Empty, t) if !matches!(t, T::Vector(..)) => Ok(Written::Value),
            (CqlValue::List(v) | CqlValue::Set(v) | CqlValue::Vector(v), _) => {
                serialize_seq::<Self, CqlValue>(v.iter(), typ, out)
            }
            (CqlValue::Map(entries), _) => {
                serialize_map::<Self, _, _>(entries.iter().map(|(k, v)| (k, v)), typ, out)
            }
            (CqlValue::Tuple(items), T::Tuple(types)) if items.len() <= types.len() => {
                for (i, t) in items.iter().zip(types) {
                    write_field(i, t, out)?;
                }
                Ok(Written::Value)
            }
            (CqlValue::Udt { fields, .. }, T::Udt(u)) => {
                // fields are written in the type's order, by name; absent ones as null
                for (name, t) in &u.fields {
                    let v = fields
                        .iter()
                        .find(|(n, _)| n == name)
                        .and_then(|(_, v)| v.as_ref());
                    write_field(&v, t, out)?;
                }
                if let Some((n, _)) = fields
                    .iter()
                    .find(|(n, _)| !u.fields.iter().any(|(f, _)| f == n))
                {
                    let reason = Kind::UnknownUdtField { field: n.clone() };
                    return Err(SerializationError::new::<Self>(typ, reason));
                }
                Ok(Written::Value)
            }
            _ => Err(SerializationError::mismatch::<Self>(typ)),
        };
        r.map_err(|e| {
            // report the dynamic type as the Rust type at the top level
            if e.cql_type() == Some(typ) {
                e.with_rust_type(std::any::type_name::<Self>())
            } else {
                e
            }
        })
    }
}
