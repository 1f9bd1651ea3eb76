//! `ColumnType`: the [option] type descriptions of result and prepared metadata
//! (spec v5 section 4.2.5.2), including Cassandra 5.0 vectors, which travel as the
//! custom type `org.apache.cassandra.db.marshal.VectorType(<elem>, <dim>)`.

use std::fmt;

use bytes::BytesMut;

use crate::protocol::wire::{self, check_count};
use crate::protocol::{DecodeError, EncodeError};

/// Deepest nesting of collection/tuple/UDT types accepted from the peer.
pub const MAX_TYPE_DEPTH: usize = 32;

/// The type of a column, bind marker, collection element or UDT field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum ColumnType {
    /// A custom type: the fully qualified class name (opaque bytes on the wire).
    Custom(String),
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Decimal,
    Double,
    Float,
    Int,
    Timestamp,
    Uuid,
    /// `text` and `varchar` are the same type.
    Varchar,
    Varint,
    Timeuuid,
    Inet,
    Date,
    Time,
    Smallint,
    Tinyint,
    Duration,
    List(Box<ColumnType>),
    Map(Box<ColumnType>, Box<ColumnType>),
    Set(Box<ColumnType>),
    Udt(UdtType),
    Tuple(Vec<ColumnType>),
    /// `vector<elem, dimension>` (Cassandra 5.0).
    Vector(Box<ColumnType>, u32),
}

/// A user-defined type description.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdtType {
    /// Keyspace of the type.
    pub keyspace: String,
    /// Type name.
    pub name: String,
    /// Field names and types, in declaration order.
    pub fields: Vec<(String, ColumnType)>,
}

const VECTOR_CLASS: &str = "org.apache.cassandra.db.marshal.VectorType";
const MARSHAL: &str = "org.apache.cassandra.db.marshal.";

impl ColumnType {
    /// Reads an \[option\] type description.
    pub fn read(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        Self::read_depth(buf, 0)
    }

    fn read_depth(buf: &mut &[u8], depth: usize) -> Result<Self, DecodeError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(DecodeError::TooLong {
                what: "type nesting",
                len: depth as u64,
                max: MAX_TYPE_DEPTH as u64,
            });
        }
        let id = wire::read_short(buf)?;
        let d = depth + 1;
        Ok(match id {
            0x0000 => {
                let class = wire::read_str(buf)?;
                match parse_custom_class(class, 0) {
                    Some(t) => t,
                    None => Self::Custom(class.to_owned()),
                }
            }
            0x0001 => Self::Ascii,
            0x0002 => Self::Bigint,
            0x0003 => Self::Blob,
            0x0004 => Self::Boolean,
            0x0005 => Self::Counter,
            0x0006 => Self::Decimal,
            0x0007 => Self::Double,
            0x0008 => Self::Float,
            0x0009 => Self::Int,
            // 0x000A was `text` in protocol v1/v2; servers never send it in v3+,
            // but it is harmless to accept.
            0x000A | 0x000D => Self::Varchar,
            0x000B => Self::Timestamp,
            0x000C => Self::Uuid,
            0x000E => Self::Varint,
            0x000F => Self::Timeuuid,
            0x0010 => Self::Inet,
            0x0011 => Self::Date,
            0x0012 => Self::Time,
            0x0013 => Self::Smallint,
            0x0014 => Self::Tinyint,
            0x0015 => Self::Duration,
            0x0020 => Self::List(Box::new(Self::read_depth(buf, d)?)),
            0x0021 => {
                let k = Self::read_depth(buf, d)?;
                let v = Self::read_depth(buf, d)?;
                Self::Map(Box::new(k), Box::new(v))
            }
            0x0022 => Self::Set(Box::new(Self::read_depth(buf, d)?)),
            0x0030 => {
                let keyspace = wire::read_string(buf)?;
                let name = wire::read_string(buf)?;
                let n = check_count(buf, wire::read_short(buf)? as usize, 4, "UDT fields")?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    let fname = wire::read_string(buf)?;
                    fields.push((fname, Self::read_depth(buf, d)?));
                }
                Self::Udt(UdtType {
                    keyspace,
                    name,
                    fields,
                })
            }
            0x0031 => {
                let n = check_count(buf, wire::read_short(buf)? as usize, 2, "tuple types")?;
                let mut types = Vec::with_capacity(n);
                for _ in 0..n {
                    types.push(Self::read_depth(buf, d)?);
                }
                Self::Tuple(types)
            }
            other => {
                return Err(DecodeError::UnknownValue {
                    what: "column type id",
                    value: other.into(),
                })
            }
        })
    }

    /// Writes the \[option\] type description.
    pub fn write(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let id: u16 = match self {
            Self::Custom(class) => {
                wire::write_short(out, 0);
                return wire::write_string(out, class);
            }
            Self::Vector(..) => {
                wire::write_short(out, 0);
                return wire::write_string(out, &self.class_name());
            }
            Self::Ascii => 0x01,
            Self::Bigint => 0x02,
            Self::Blob => 0x03,
            Self::Boolean => 0x04,
            Self::Counter => 0x05,
            Self::Decimal => 0x06,
            Self::Double => 0x07,
            Self::Float => 0x08,
            Self::Int => 0x09,
            Self::Timestamp => 0x0B,
            Self::Uuid => 0x0C,
            Self::Varchar => 0x0D,
            Self::Varint => 0x0E,
            Self::Timeuuid => 0x0F,
            Self::Inet => 0x10,
            Self::Date => 0x11,
            Self::Time => 0x12,
            Self::Smallint => 0x13,
            Self::Tinyint => 0x14,
            Self::Duration => 0x15,
            Self::List(e) => {
                wire::write_short(out, 0x20);
                return e.write(out);
            }
            Self::Map(k, v) => {
                wire::write_short(out, 0x21);
                k.write(out)?;
                return v.write(out);
            }
            Self::Set(e) => {
                wire::write_short(out, 0x22);
                return e.write(out);
            }
            Self::Udt(u) => {
                wire::write_short(out, 0x30);
                wire::write_string(out, &u.keyspace)?;
                wire::write_string(out, &u.name)?;
                wire::write_short(out, wire::short_len(u.fields.len(), "UDT fields")?);
                for (name, t) in &u.fields {
                    wire::write_string(out, name)?;
                    t.write(out)?;
                }
                return Ok(());
            }
            Self::Tuple(ts) => {
                wire::write_short(out, 0x31);
                wire::write_short(out, wire::short_len(ts.len(), "tuple types")?);
                for t in ts {
                    t.write(out)?;
                }
                return Ok(());
            }
        };
        wire::write_short(out, id);
        Ok(())
    }

    /// The fixed serialized size of values of this type as Cassandra declares it
    /// (`AbstractType.valueLengthIfFixed`), used by vectors: fixed-size elements are
    /// packed without length prefixes. Cassandra does not declare `tinyint`, `smallint`,
    /// `date`, `time` or `counter` fixed-length, so inside a vector they carry an
    /// \[unsigned vint\] length like variable-size types do.
    pub fn fixed_size(&self) -> Option<usize> {
        match self {
            Self::Boolean => Some(1),
            Self::Int | Self::Float => Some(4),
            Self::Bigint | Self::Double | Self::Timestamp => Some(8),
            Self::Uuid | Self::Timeuuid => Some(16),
            Self::Vector(e, n) => e.fixed_size().map(|s| s.saturating_mul(*n as usize)),
            _ => None,
        }
    }

    /// The Cassandra marshal class name (used for custom/vector type strings).
    pub fn class_name(&self) -> String {
        let simple = |s: &str| format!("{MARSHAL}{s}");
        match self {
            Self::Custom(c) => c.clone(),
            Self::Ascii => simple("AsciiType"),
            Self::Bigint => simple("LongType"),
            Self::Blob => simple("BytesType"),
            Self::Boolean => simple("BooleanType"),
            Self::Counter => simple("CounterColumnType"),
            Self::Decimal => simple("DecimalType"),
            Self::Double => simple("DoubleType"),
            Self::Float => simple("FloatType"),
            Self::Int => simple("Int32Type"),
            Self::Timestamp => simple("TimestampType"),
            Self::Uuid => simple("UUIDType"),
            Self::Varchar => simple("UTF8Type"),
            Self::Varint => simple("IntegerType"),
            Self::Timeuuid => simple("TimeUUIDType"),
            Self::Inet => simple("InetAddressType"),
            Self::Date => simple("SimpleDateType"),
            Self::Time => simple("TimeType"),
            Self::Smallint => simple("ShortType"),
            Self::Tinyint => simple("ByteType"),
            Self::Duration => simple("DurationType"),
            Self::List(e) => format!("{MARSHAL}ListType({})", e.class_name()),
            Self::Set(e) => format!("{MARSHAL}SetType({})", e.class_name()),
            Self::Map(k, v) => format!("{MARSHAL}MapType({},{})", k.class_name(), v.class_name()),
            Self::Tuple(ts) => {
                let inner: Vec<String> = ts.iter().map(Self::class_name).collect();
                format!("{MARSHAL}TupleType({})", inner.join(","))
            }
            Self::Udt(u) => {
                // UserType(ks,hexname,hexfield:type,...) as Cassandra prints it
                let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
                let mut s = format!("{MARSHAL}UserType({},{}", u.keyspace, hex(&u.name));
                for (n, t) in &u.fields {
                    s.push_str(&format!(",{}:{}", hex(n), t.class_name()));
                }
                s.push(')');
                s
            }
            // Cassandra writes " , " around the comma (TypeParser.stringifyVectorParameters).
            Self::Vector(e, n) => format!("{VECTOR_CLASS}({} , {n})", e.class_name()),
        }
    }
}

/// Parses the subset of marshal class names that map onto native types, so that a
/// vector's element type (and vectors nested in custom strings) become typed.
fn parse_custom_class(class: &str, depth: usize) -> Option<ColumnType> {
    if depth > MAX_TYPE_DEPTH {
        return None;
    }
    let class = class.trim();
    let short = class.strip_prefix(MARSHAL).unwrap_or(class);
    let (name, args) = match short.find('(') {
        Some(i) if short.ends_with(')') => (&short[..i], Some(&short[i + 1..short.len() - 1])),
        Some(_) => return None,
        None => (short, None),
    };
    let d = depth + 1;
    let t = match (name, args) {
        ("VectorType", Some(args)) => {
            let parts = split_top_level(args);
            if parts.len() != 2 {
                return None;
            }
            let elem = parse_custom_class(parts[0], d)?;
            let dim: u32 = parts[1].trim().parse().ok()?;
            ColumnType::Vector(Box::new(elem), dim)
        }
        ("ListType", Some(a)) => ColumnType::List(Box::new(parse_custom_class(a, d)?)),
        ("SetType", Some(a)) => ColumnType::Set(Box::new(parse_custom_class(a, d)?)),
        ("MapType", Some(a)) => {
            let parts = split_top_level(a);
            if parts.len() != 2 {
                return None;
            }
            ColumnType::Map(
                Box::new(parse_custom_class(parts[0], d)?),
                Box::new(parse_custom_class(parts[1], d)?),
            )
        }
        ("FrozenType", Some(a)) => parse_custom_class(a, d)?,
        ("AsciiType", None) => ColumnType::Ascii,
        ("LongType", None) => ColumnType::Bigint,
        ("BytesType", None) => ColumnType::Blob,
        ("BooleanType", None) => ColumnType::Boolean,
        ("CounterColumnType", None) => ColumnType::Counter,
        ("DecimalType", None) => ColumnType::Decimal,
        ("DoubleType", None) => ColumnType::Double,
        ("FloatType", None) => ColumnType::Float,
        ("Int32Type", None) => ColumnType::Int,
        ("TimestampType", None) => ColumnType::Timestamp,
        ("UUIDType", None) => ColumnType::Uuid,
        ("UTF8Type", None) => ColumnType::Varchar,
        ("IntegerType", None) => ColumnType::Varint,
        ("TimeUUIDType", None) => ColumnType::Timeuuid,
        ("InetAddressType", None) => ColumnType::Inet,
        ("SimpleDateType", None) => ColumnType::Date,
        ("TimeType", None) => ColumnType::Time,
        ("ShortType", None) => ColumnType::Smallint,
        ("ByteType", None) => ColumnType::Tinyint,
        ("DurationType", None) => ColumnType::Duration,
        _ => return None,
    };
    // Only a vector or a duration at the top level turns a custom type into a typed
    // one; a bare custom "LongType" string stays custom to re-encode byte-exactly.
    // Protocol v4 has no duration type id (it is 0x0015 in v5 only), so Cassandra
    // describes a duration to v4 clients as the custom DurationType class.
    if depth == 0 && !matches!(t, ColumnType::Vector(..) | ColumnType::Duration) {
        return None;
    }
    Some(t)
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut level = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => level += 1,
            ')' => level -= 1,
            ',' if level == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Custom(c) => write!(f, "'{c}'"),
            Self::Ascii => f.write_str("ascii"),
            Self::Bigint => f.write_str("bigint"),
            Self::Blob => f.write_str("blob"),
            Self::Boolean => f.write_str("boolean"),
            Self::Counter => f.write_str("counter"),
            Self::Decimal => f.write_str("decimal"),
            Self::Double => f.write_str("double"),
            Self::Float => f.write_str("float"),
            Self::Int => f.write_str("int"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::Uuid => f.write_str("uuid"),
            Self::Varchar => f.write_str("text"),
            Self::Varint => f.write_str("varint"),
            Self::Timeuuid => f.write_str("timeuuid"),
            Self::Inet => f.write_str("inet"),
            Self::Date => f.write_str("date"),
            Self::Time => f.write_str("time"),
            Self::Smallint => f.write_str("smallint"),
            Self::Tinyint => f.write_str("tinyint"),
            Self::Duration => f.write_str("duration"),
            Self::List(e) => write!(f, "list<{e}>"),
            Self::Set(e) => write!(f, "set<{e}>"),
            Self::Map(k, v) => write!(f, "map<{k}, {v}>"),
            Self::Tuple(ts) => {
                f.write_str("tuple<")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            Self::Udt(u) => write!(f, "{}.{}", u.keyspace, u.name),
            Self::Vector(e, n) => write!(f, "vector<{e}, {n}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: &ColumnType) {
        let mut b = BytesMut::new();
        t.write(&mut b).unwrap();
        let mut c = &b[..];
        assert_eq!(&ColumnType::read(&mut c).unwrap(), t);
        assert!(c.is_empty());
    }

    #[test]
    fn nested_types_round_trip() {
        let udt = ColumnType::Udt(UdtType {
            keyspace: "ks".into(),
            name: "addr".into(),
            fields: vec![
                ("street".into(), ColumnType::Varchar),
                ("zip".into(), ColumnType::Int),
            ],
        });
        for t in [
            ColumnType::Bigint,
            ColumnType::Custom("com.example.Foo".into()),
            ColumnType::Map(
                Box::new(ColumnType::Varchar),
                Box::new(ColumnType::List(Box::new(udt.clone()))),
            ),
            ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar]),
            ColumnType::Vector(Box::new(ColumnType::Float), 3),
            ColumnType::Set(Box::new(ColumnType::Timeuuid)),
            udt,
        ] {
            round_trip(&t);
        }
    }

    #[test]
    fn vector_from_cassandra_class_string() {
        let mut b = BytesMut::new();
        wire::write_short(&mut b, 0);
        wire::write_string(
            &mut b,
            "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType , 3)",
        )
        .unwrap();
        let t = ColumnType::read(&mut &b[..]).unwrap();
        assert_eq!(t, ColumnType::Vector(Box::new(ColumnType::Float), 3));
        assert_eq!(t.fixed_size(), Some(12));
        assert_eq!(t.to_string(), "vector<float, 3>");
    }

    #[test]
    fn duration_from_cassandra_class_string_as_v4_sends_it() {
        // Cassandra 5 describes a duration column to a v4 client this way
        // (seen against the real server by tests/it/types.rs)
        let class = "org.apache.cassandra.db.marshal.DurationType";
        let mut b = BytesMut::new();
        wire::write_short(&mut b, 0);
        wire::write_string(&mut b, class).unwrap();
        assert_eq!(ColumnType::read(&mut &b[..]).unwrap(), ColumnType::Duration);
        // nested in a v4 collection too: list<duration> = 0x0020 then the custom option
        let mut b = BytesMut::new();
        wire::write_short(&mut b, 0x20);
        wire::write_short(&mut b, 0);
        wire::write_string(&mut b, class).unwrap();
        assert_eq!(
            ColumnType::read(&mut &b[..]).unwrap(),
            ColumnType::List(Box::new(ColumnType::Duration))
        );
        // other native classes stay custom at the top level
        let mut b = BytesMut::new();
        wire::write_short(&mut b, 0);
        wire::write_string(&mut b, "org.apache.cassandra.db.marshal.LongType").unwrap();
        assert!(matches!(
            ColumnType::read(&mut &b[..]).unwrap(),
            ColumnType::Custom(_)
        ));
    }

    #[test]
    fn hostile_nesting_and_counts() {
        // 1000 nested lists
        let mut b = BytesMut::new();
        for _ in 0..1000 {
            wire::write_short(&mut b, 0x20);
        }
        wire::write_short(&mut b, 0x09);
        assert!(matches!(
            ColumnType::read(&mut &b[..]),
            Err(DecodeError::TooLong { .. })
        ));
        // tuple claiming 65535 element types
        let bytes = [0x00, 0x31, 0xFF, 0xFF, 0x00, 0x09];
        assert!(matches!(
            ColumnType::read(&mut &bytes[..]),
            Err(DecodeError::Truncated { .. })
        ));
        // unknown id
        assert!(matches!(
            ColumnType::read(&mut &[0x00, 0x77][..]),
            Err(DecodeError::UnknownValue { .. })
        ));
    }
}
