//! `CqlValue`, the dynamic value of any CQL type, and the crate's small value types
//! (date, time, timestamp, duration, varint, decimal, counter, uuids). Encoding and
//! decoding live in `encode.rs` and `decode.rs`; type checking against a column lives
//! in the public `value` module.

use std::fmt;
use std::net::IpAddr;

use super::ColumnType;

/// A CQL `date`: days since -5877641-06-23, with 2^31 being 1970-01-01 (spec 5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CqlDate(pub u32);

impl CqlDate {
    /// The unix epoch, 1970-01-01.
    pub const EPOCH: CqlDate = CqlDate(1 << 31);

    /// Builds a date from a signed number of days since the unix epoch.
    pub fn from_days_since_epoch(days: i32) -> Self {
        Self((i64::from(days) + (1i64 << 31)) as u32)
    }

    /// The signed number of days since the unix epoch.
    pub fn days_since_epoch(self) -> i32 {
        (i64::from(self.0) - (1i64 << 31)) as i32
    }
}

/// A CQL `time`: nanoseconds since midnight, valid in `0..=86_399_999_999_999` (spec 5.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CqlTime(pub i64);

impl CqlTime {
    /// The largest valid value (23:59:59.999999999).
    pub const MAX_NANOS: i64 = 86_399_999_999_999;

    /// True when the value lies in the range the spec allows.
    pub fn is_valid(self) -> bool {
        (0..=Self::MAX_NANOS).contains(&self.0)
    }
}

/// A CQL `timestamp`: milliseconds since the unix epoch, negative before it (spec 5.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CqlTimestamp(pub i64);

/// A CQL `duration` (spec 5.8). All parts should share a sign; the server rejects a
/// duration mixing positive and negative parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CqlDuration {
    /// Months.
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Nanoseconds.
    pub nanoseconds: i64,
}

impl CqlDuration {
    /// True when no part is negative or no part is positive, as the spec requires.
    pub fn has_consistent_sign(&self) -> bool {
        let all_ge = self.months >= 0 && self.days >= 0 && self.nanoseconds >= 0;
        let all_le = self.months <= 0 && self.days <= 0 && self.nanoseconds <= 0;
        all_ge || all_le
    }
}

/// A CQL `counter` value (a 64-bit integer that can only be read or incremented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Counter(pub i64);

/// A CQL `uuid`: the 16 bytes of an RFC 4122 UUID, in wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CqlUuid(pub [u8; 16]);

/// A CQL `timeuuid`: the 16 bytes of a version 1 UUID, in wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CqlTimeuuid(pub [u8; 16]);

macro_rules! uuid_display {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for (i, b) in self.0.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    };
}
uuid_display!(CqlUuid);
uuid_display!(CqlTimeuuid);

/// A CQL `varint`: an arbitrary-precision integer as minimal big-endian two's
/// complement bytes (spec 5.24). Constructors normalize to the minimal encoding, so
/// equal numbers compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CqlVarint(Vec<u8>);

impl CqlVarint {
    /// Builds a varint from big-endian two's complement bytes, dropping redundant
    /// sign bytes. Empty input is zero.
    pub fn from_signed_bytes_be(bytes: &[u8]) -> Self {
        Self(minimal_varint(bytes).to_vec())
    }

    /// The minimal big-endian two's complement bytes (never empty; zero is `[0]`).
    pub fn as_signed_bytes_be(&self) -> &[u8] {
        &self.0
    }

    /// Consumes the varint, returning its minimal bytes.
    pub fn into_signed_bytes_be(self) -> Vec<u8> {
        self.0
    }

    /// The value as an `i128`, when it fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.0.len() > 16 {
            return None;
        }
        let fill = if self.0[0] & 0x80 != 0 { 0xFF } else { 0 };
        let mut buf = [fill; 16];
        buf[16 - self.0.len()..].copy_from_slice(&self.0);
        Some(i128::from_be_bytes(buf))
    }

    /// The value as an `i64`, when it fits.
    pub fn to_i64(&self) -> Option<i64> {
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }
}

impl Default for CqlVarint {
    fn default() -> Self {
        Self(vec![0])
    }
}

impl From<i128> for CqlVarint {
    fn from(v: i128) -> Self {
        Self::from_signed_bytes_be(&v.to_be_bytes())
    }
}

impl From<i64> for CqlVarint {
    fn from(v: i64) -> Self {
        Self::from_signed_bytes_be(&v.to_be_bytes())
    }
}

impl From<i32> for CqlVarint {
    fn from(v: i32) -> Self {
        Self::from_signed_bytes_be(&v.to_be_bytes())
    }
}

/// Strips redundant leading sign bytes; returns `[0]` for empty input.
pub(crate) fn minimal_varint(bytes: &[u8]) -> &[u8] {
    if bytes.is_empty() {
        return &[0];
    }
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (b, next) = (bytes[start], bytes[start + 1]);
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    &bytes[start..]
}

/// A CQL `decimal`: `unscaled * 10^(-scale)` (spec 5.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CqlDecimal {
    /// The unscaled integer.
    pub unscaled: CqlVarint,
    /// The power of ten to divide by.
    pub scale: i32,
}

/// Any CQL value, for shapes not known at compile time. Null is expressed outside the
/// enum (`Option<CqlValue>`); tuple and UDT fields may be null individually.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum CqlValue {
    Ascii(String),
    Bigint(i64),
    Blob(Vec<u8>),
    Boolean(bool),
    Counter(Counter),
    Date(CqlDate),
    Decimal(CqlDecimal),
    Double(f64),
    Duration(CqlDuration),
    /// A zero-length value of a type that is not a string, blob or collection
    /// ("empty" values, spec section 5, kept for legacy compatibility).
    Empty,
    Float(f32),
    Inet(IpAddr),
    Int(i32),
    Smallint(i16),
    Text(String),
    Time(CqlTime),
    Timestamp(CqlTimestamp),
    Timeuuid(CqlTimeuuid),
    Tinyint(i8),
    Uuid(CqlUuid),
    Varint(CqlVarint),
    List(Vec<CqlValue>),
    Set(Vec<CqlValue>),
    /// Entries in wire order.
    Map(Vec<(CqlValue, CqlValue)>),
    /// Components in order; a component may be null.
    Tuple(Vec<Option<CqlValue>>),
    /// A user-defined type value; fields in declaration order, each possibly null.
    Udt {
        /// Keyspace of the type.
        keyspace: String,
        /// Type name.
        name: String,
        /// Field names and values.
        fields: Vec<(String, Option<CqlValue>)>,
    },
    /// A Cassandra 5.0 vector; its elements are never null.
    Vector(Vec<CqlValue>),
    /// The opaque bytes of a custom type.
    Custom(Vec<u8>),
}

impl CqlValue {
    /// The CQL type this value has on its own (used when binding without metadata).
    /// Collections take their element type from the first element (`blob` when empty);
    /// `Empty` reports `blob`.
    pub fn natural_type(&self) -> ColumnType {
        let first = |v: &[CqlValue]| v.first().map_or(ColumnType::Blob, CqlValue::natural_type);
        match self {
            Self::Ascii(_) => ColumnType::Ascii,
            Self::Bigint(_) => ColumnType::Bigint,
            Self::Blob(_) | Self::Empty => ColumnType::Blob,
            Self::Boolean(_) => ColumnType::Boolean,
            Self::Counter(_) => ColumnType::Counter,
            Self::Date(_) => ColumnType::Date,
            Self::Decimal(_) => ColumnType::Decimal,
            Self::Double(_) => ColumnType::Double,
            Self::Duration(_) => ColumnType::Duration,
            Self::Float(_) => ColumnType::Float,
            Self::Inet(_) => ColumnType::Inet,
            Self::Int(_) => ColumnType::Int,
            Self::Smallint(_) => ColumnType::Smallint,
            Self::Text(_) => ColumnType::Varchar,
            Self::Time(_) => ColumnType::Time,
            Self::Timestamp(_) => ColumnType::Timestamp,
            Self::Timeuuid(_) => ColumnType::Timeuuid,
            Self::Tinyint(_) => ColumnType::Tinyint,
            Self::Uuid(_) => ColumnType::Uuid,
            Self::Varint(_) => ColumnType::Varint,
            Self::List(v) => ColumnType::List(Box::new(first(v))),
            Self::Set(v) => ColumnType::Set(Box::new(first(v))),
            Self::Map(entries) => {
                let (k, v) = entries
                    .first()
                    .map_or((ColumnType::Blob, ColumnType::Blob), |(k, v)| {
                        (k.natural_type(), v.natural_type())
                    });
                ColumnType::Map(Box::new(k), Box::new(v))
            }
            Self::Tuple(items) => ColumnType::Tuple(
                items
                    .iter()
                    .map(|i| i.as_ref().map_or(ColumnType::Blob, CqlValue::natural_type))
                    .collect(),
            ),
            Self::Udt {
                keyspace,
                name,
                fields,
            } => ColumnType::Udt(super::UdtType {
                keyspace: keyspace.clone(),
                name: name.clone(),
                fields: fields
                    .iter()
                    .map(|(n, v)| {
                        let t = v.as_ref().map_or(ColumnType::Blob, CqlValue::natural_type);
                        (n.clone(), t)
                    })
                    .collect(),
            }),
            Self::Vector(v) => ColumnType::Vector(Box::new(first(v)), v.len() as u32),
            Self::Custom(_) => ColumnType::Custom(String::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_normalizes_to_minimal_bytes() {
        assert_eq!(
            CqlVarint::from_signed_bytes_be(&[]).as_signed_bytes_be(),
            &[0]
        );
        assert_eq!(
            CqlVarint::from_signed_bytes_be(&[0, 0, 0x7F]).as_signed_bytes_be(),
            &[0x7F]
        );
        assert_eq!(
            CqlVarint::from_signed_bytes_be(&[0, 0, 0x80]).as_signed_bytes_be(),
            &[0, 0x80]
        );
        assert_eq!(
            CqlVarint::from_signed_bytes_be(&[0xFF, 0xFF, 0x7F]).as_signed_bytes_be(),
            &[0xFF, 0x7F]
        );
        assert_eq!(
            CqlVarint::from_signed_bytes_be(&[0xFF, 0xFF]).as_signed_bytes_be(),
            &[0xFF]
        );
        for v in [
            0i128,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            i64::MAX as i128 + 1,
            i128::MIN,
            i128::MAX,
        ] {
            assert_eq!(CqlVarint::from(v).to_i128(), Some(v));
        }
        assert_eq!(CqlVarint::from(i64::MIN).to_i64(), Some(i64::MIN));
        assert_eq!(CqlVarint::from(i64::MAX as i128 + 1).to_i64(), None);
        assert_eq!(CqlVarint::from(128i64).as_signed_bytes_be(), &[0, 0x80]);
    }

    #[test]
    fn date_epoch_arithmetic() {
        assert_eq!(CqlDate::from_days_since_epoch(0), CqlDate::EPOCH);
        assert_eq!(CqlDate::from_days_since_epoch(-1).0, (1 << 31) - 1);
        assert_eq!(CqlDate(0).days_since_epoch(), i32::MIN);
        assert_eq!(CqlDate(u32::MAX).days_since_epoch(), i32::MAX);
    }

    #[test]
    fn uuid_display_and_duration_sign() {
        let u = CqlUuid([0x12; 16]);
        assert_eq!(u.to_string(), "12121212-1212-1212-1212-121212121212");
        assert!(CqlDuration {
            months: -1,
            days: 0,
            nanoseconds: -5
        }
        .has_consistent_sign());
        assert!(!CqlDuration {
            months: 1,
            days: -1,
            nanoseconds: 0
        }
        .has_consistent_sign());
    }
}
