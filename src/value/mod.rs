//! Binding Rust values to statements: the `SerializeValue` trait (one value, checked
//! against its target `ColumnType`), null and unset, and `SerializationError`.
//! Rows of values are in `serialize_row.rs`, per-type impls in `impls.rs`; reading
//! values back is the `row` module's job.

mod impls;
mod serialize_row;

#[cfg(test)]
mod tests;

use std::fmt;

use bytes::{BufMut, BytesMut};

use crate::protocol::EncodeError;
use crate::ColumnType;

#[doc(hidden)]
pub use serialize_row::write_row_value;

pub use serialize_row::SerializeRow;

/// What `SerializeValue::serialize` wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Value bytes were written; the caller prefixes their length.
    Value,
    /// Nothing was written: the value is null (the caller writes length -1).
    Null,
    /// Nothing was written: the value is not set, leaving the column unchanged (the
    /// caller writes length -2; protocol v4+, top-level bind values only).
    Unset,
}

/// A Rust value that can be bound to a CQL value of a given type.
///
/// Users may implement it for their own types (it is not sealed). An implementation
/// must check that `typ` is a type it can represent, failing with
/// [`SerializationError::mismatch`] otherwise, and then append the value's bytes
/// (spec section 5, without the 4-byte length) to `out`. It may write nothing and
/// return `Written::Null` or `Written::Unset`. When it fails, anything it wrote is
/// discarded by the caller.
pub trait SerializeValue {
    /// The CQL type this value binds as when the statement has no metadata
    /// (unprepared queries). `None` when the value has no type of its own (null,
    /// unset): any type will do.
    fn natural_type(&self) -> Option<ColumnType>;

    /// Checks compatibility with `typ`, then writes the value's bytes into `out`.
    fn serialize(
        &self,
        typ: &ColumnType,
        out: &mut BytesMut,
    ) -> Result<Written, SerializationError>;
}

/// A value that leaves its column unchanged (protocol v4+): binds as "not set".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unset;

/// Either a value or "not set".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaybeUnset<T> {
    /// Leave the column unchanged.
    Unset,
    /// Bind this value.
    Set(T),
}

/// Which bind marker or column an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    /// Zero-based position.
    pub index: usize,
    /// The marker or column name, when known.
    pub name: Option<String>,
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "#{} \"{}\"", self.index, n),
            None => write!(f, "#{}", self.index),
        }
    }
}

/// Why a Rust value could not be bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerializationErrorKind {
    /// The Rust type cannot represent the CQL type.
    #[error("type mismatch")]
    TypeMismatch,
    /// A string bound to an `ascii` value holds a byte above 127.
    #[error("string is not ASCII")]
    NotAscii,
    /// A value lies outside the range its CQL type allows (e.g. `time`).
    #[error("value out of range for the CQL type")]
    OutOfRange,
    /// A `duration` mixes positive and negative parts (spec 5.8).
    #[error("duration parts have mixed signs")]
    MixedSignDuration,
    /// A collection or vector element is null.
    #[error("null element in a collection or vector")]
    NullElement,
    /// `Unset` was used inside a collection, tuple or UDT, where it has no meaning.
    #[error("unset is only allowed as a top-level bind value")]
    NestedUnset,
    /// A vector value has the wrong number of elements.
    #[error("vector needs {expected} elements, got {got}")]
    VectorLength {
        /// Dimension of the vector type.
        expected: usize,
        /// Elements provided.
        got: usize,
    },
    /// A tuple value has the wrong number of components.
    #[error("tuple needs {expected} components, got {got}")]
    TupleLength {
        /// Components of the tuple type.
        expected: usize,
        /// Components provided.
        got: usize,
    },
    /// The statement has a different number of bind markers than values were given.
    #[error("statement has {expected} bind markers, {got} values were given")]
    ValueCount {
        /// Bind markers of the statement.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A bind marker has no value with its name.
    #[error("no value for bind marker \"{name}\"")]
    MissingNamedValue {
        /// The marker name.
        name: String,
    },
    /// A named value matches no bind marker.
    #[error("no bind marker named \"{name}\"")]
    UnknownName {
        /// The value's name.
        name: String,
    },
    /// A field of a user-defined type value is not a field of the UDT.
    #[error("the UDT has no field \"{field}\"")]
    UnknownUdtField {
        /// The Rust-side field name.
        field: String,
    },
    /// The value is too large for the wire.
    #[error(transparent)]
    Encode(EncodeError),
}

/// A value could not be bound: names the marker (when known), the Rust type, the CQL
/// type and the reason. Boxed, so results stay small.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SerializationError(Box<SerializationErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct SerializationErrorInner {
    column: Option<ColumnRef>,
    rust_type: &'static str,
    cql_type: Option<ColumnType>,
    reason: SerializationErrorKind,
}

impl fmt::Display for SerializationErrorInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot bind ")?;
        f.write_str(self.rust_type)?;
        if let Some(c) = &self.column {
            write!(f, " to bind marker {c}")?;
        }
        if let Some(t) = &self.cql_type {
            write!(f, " as CQL type {t}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl SerializationError {
    /// An error about binding a value of Rust type `T` as `typ`.
    pub fn new<T: ?Sized>(typ: &ColumnType, reason: SerializationErrorKind) -> Self {
        Self(Box::new(SerializationErrorInner {
            column: None,
            rust_type: std::any::type_name::<T>(),
            cql_type: Some(typ.clone()),
            reason,
        }))
    }

    /// The Rust type `T` cannot represent `typ`.
    pub fn mismatch<T: ?Sized>(typ: &ColumnType) -> Self {
        Self::new::<T>(typ, SerializationErrorKind::TypeMismatch)
    }

    /// An error about the row as a whole (no single CQL type applies).
    pub fn row<T: ?Sized>(reason: SerializationErrorKind) -> Self {
        Self(Box::new(SerializationErrorInner {
            column: None,
            rust_type: std::any::type_name::<T>(),
            cql_type: None,
            reason,
        }))
    }

    /// Sets the bind marker the error is about, unless already set.
    pub fn at_column(mut self, index: usize, name: Option<&str>) -> Self {
        if self.0.column.is_none() {
            self.0.column = Some(ColumnRef {
                index,
                name: name.map(str::to_owned),
            });
        }
        self
    }

    /// Replaces the reported Rust type (for wrappers that forward to another impl).
    pub fn with_rust_type(mut self, rust_type: &'static str) -> Self {
        self.0.rust_type = rust_type;
        self
    }

    /// The bind marker, when the error happened while binding a row.
    pub fn column(&self) -> Option<&ColumnRef> {
        self.0.column.as_ref()
    }

    /// The Rust type being bound (`std::any::type_name`).
    pub fn rust_type(&self) -> &'static str {
        self.0.rust_type
    }

    /// The CQL type it was bound to, when one applies.
    pub fn cql_type(&self) -> Option<&ColumnType> {
        self.0.cql_type.as_ref()
    }

    /// What went wrong.
    pub fn reason(&self) -> &SerializationErrorKind {
        &self.0.reason
    }
}

/// Writes `v` as a \[value\]: its 4-byte length then its bytes, or -1 (null) / -2
/// (unset). On error `out` is left as it was.
pub fn write_value<T: SerializeValue + ?Sized>(
    v: &T,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializationError> {
    let at = out.len();
    out.put_i32(0);
    let written = match v.serialize(typ, out) {
        Ok(w) => w,
        Err(e) => {
            out.truncate(at);
            return Err(e);
        }
    };
    let len: i32 = match written {
        Written::Null => -1,
        Written::Unset => -2,
        Written::Value => match crate::protocol::wire::int_len(out.len() - at - 4, "[value]") {
            Ok(l) => l,
            Err(e) => {
                out.truncate(at);
                return Err(SerializationError::new::<T>(
                    typ,
                    SerializationErrorKind::Encode(e),
                ));
            }
        },
    };
    if len < 0 {
        out.truncate(at + 4);
    }
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Writes a collection element or vector-free nested value as \[bytes\]: null and
/// unset are errors.
pub(crate) fn write_element<T: SerializeValue + ?Sized>(
    v: &T,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializationError> {
    let at = out.len();
    write_value(v, typ, out)?;
    let len = i32::from_be_bytes([out[at], out[at + 1], out[at + 2], out[at + 3]]);
    if len < 0 {
        out.truncate(at);
        let reason = if len == -1 {
            SerializationErrorKind::NullElement
        } else {
            SerializationErrorKind::NestedUnset
        };
        return Err(SerializationError::new::<T>(typ, reason));
    }
    Ok(())
}

/// Writes a tuple component or UDT field as \[bytes\]: null allowed, unset is an error.
#[doc(hidden)]
pub fn write_field<T: SerializeValue + ?Sized>(
    v: &T,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializationError> {
    let at = out.len();
    write_value(v, typ, out)?;
    if out[at..at + 4] == (-2i32).to_be_bytes() {
        out.truncate(at);
        return Err(SerializationError::new::<T>(
            typ,
            SerializationErrorKind::NestedUnset,
        ));
    }
    Ok(())
}

/// Writes a null \[bytes\] (a UDT field the Rust struct does not have).
#[doc(hidden)]
pub fn write_null(out: &mut BytesMut) {
    out.put_i32(-1);
}

/// Writes one vector element: packed when the element type has a fixed size, else
/// preceded by an \[unsigned vint\] length (Cassandra 5.0 `VectorType`).
pub(crate) fn write_vector_element<T: SerializeValue + ?Sized>(
    v: &T,
    elem: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializationError> {
    let mut tmp = BytesMut::new();
    match v.serialize(elem, &mut tmp)? {
        Written::Value => {}
        Written::Null => {
            return Err(SerializationError::new::<T>(
                elem,
                SerializationErrorKind::NullElement,
            ))
        }
        Written::Unset => {
            return Err(SerializationError::new::<T>(
                elem,
                SerializationErrorKind::NestedUnset,
            ))
        }
    }
    match elem.fixed_size() {
        Some(size) if tmp.len() != size => Err(SerializationError::new::<T>(
            elem,
            SerializationErrorKind::Encode(EncodeError::Invalid {
                what: "vector element has the wrong size for its fixed-size type",
            }),
        )),
        Some(_) => {
            out.put_slice(&tmp);
            Ok(())
        }
        None => {
            crate::protocol::wire::write_unsigned_vint(out, tmp.len() as u64);
            out.put_slice(&tmp);
            Ok(())
        }
    }
}
