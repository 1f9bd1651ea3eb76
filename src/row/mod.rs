//! Reading result rows into Rust types: `DeserializeValue` (one value, type-checked
//! once per result, then decoded lazily, borrowing from the frame), `DeserializeRow`,
//! and `DeserializationError`. Result sets and rows are in `rows.rs`, per-type impls in
//! `impls.rs`; binding values is the `value` module's job.

mod impls;
mod rows;

#[cfg(test)]
mod tests;

use std::fmt;

use bytes::Bytes;

use crate::protocol::DecodeError;
use crate::value::ColumnRef;
use crate::ColumnType;

pub use impls::{no_trailing, read_field};
pub use rows::{ColumnIterator, RawColumn, Row, RowSet, TypedRows};

/// Metadata of one result column or bind marker (the protocol's own column spec).
pub use crate::protocol::response::ColumnSpec;

/// A serialized value borrowed from a response frame. When the frame's `Bytes` is
/// known, `to_bytes` shares it (no copy).
#[derive(Debug, Clone, Copy)]
pub struct FrameSlice<'frame> {
    mem: &'frame [u8],
    frame: Option<&'frame Bytes>,
}

impl<'frame> FrameSlice<'frame> {
    /// A slice of `frame`; `mem` must point into `frame` for `to_bytes` to share it.
    #[inline]
    pub fn new(mem: &'frame [u8], frame: &'frame Bytes) -> Self {
        Self {
            mem,
            frame: Some(frame),
        }
    }

    /// A slice not backed by a `Bytes` (`to_bytes` copies).
    pub fn from_slice(mem: &'frame [u8]) -> Self {
        Self { mem, frame: None }
    }

    /// The value's bytes.
    pub fn as_slice(&self) -> &'frame [u8] {
        self.mem
    }

    /// The value's bytes as `Bytes`, sharing the frame when possible.
    pub fn to_bytes(&self) -> Bytes {
        match self.frame {
            Some(f) if is_within(f, self.mem) => f.slice_ref(self.mem),
            _ => Bytes::copy_from_slice(self.mem),
        }
    }

    /// A sub-slice of this value (which must point into it) with the same backing.
    pub(crate) fn sub(&self, mem: &'frame [u8]) -> Self {
        Self {
            mem,
            frame: self.frame,
        }
    }
}

fn is_within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

/// A Rust type that can be read from a CQL value.
///
/// `type_check` runs once per result set, against each column's type;
/// `deserialize` then runs per value and may assume the check passed (it must still
/// never panic on malformed bytes). `None` is a null value. Users may implement it.
pub trait DeserializeValue<'frame>: Sized {
    /// Fails unless values of `typ` can be read as `Self`.
    fn type_check(typ: &ColumnType) -> Result<(), DeserializationError>;

    /// Reads a value of type `typ` (already type-checked); `None` is null.
    fn deserialize(
        typ: &ColumnType,
        v: Option<FrameSlice<'frame>>,
    ) -> Result<Self, DeserializationError>;
}

/// A Rust type that can be built from a whole row.
pub trait DeserializeRow<'frame>: Sized {
    /// Fails unless rows with these columns can be read as `Self` (once per result).
    fn type_check(columns: &[ColumnSpec]) -> Result<(), DeserializationError>;

    /// Reads one row from its columns (already type-checked). Columns left unread are
    /// skipped by the caller.
    fn deserialize(row: &mut ColumnIterator<'frame>) -> Result<Self, DeserializationError>;
}

/// Why a value or row could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeserializationErrorKind {
    /// The Rust type cannot represent the CQL type.
    #[error("type mismatch")]
    TypeMismatch,
    /// The value is valid CQL but outside what the Rust type can represent (e.g. a
    /// `date` beyond `chrono::NaiveDate`'s range).
    #[error("value out of range for the Rust type")]
    OutOfRange,
    /// The value is null but the Rust type is not an `Option`.
    #[error("unexpected null (use Option<T>)")]
    UnexpectedNull,
    /// The bytes are malformed for the CQL type.
    #[error(transparent)]
    Decode(DecodeError),
    /// A tuple row has a different number of columns than the result.
    #[error("result has {got} columns, the Rust type reads {expected}")]
    ColumnCount {
        /// Columns the Rust type reads.
        expected: usize,
        /// Columns in the result.
        got: usize,
    },
    /// No result column has this name.
    #[error("no column named \"{name}\"")]
    NoSuchColumn {
        /// The name asked for.
        name: String,
    },
    /// No column with this index.
    #[error("no column with index {index} (row has {count})")]
    NoSuchIndex {
        /// The index asked for.
        index: usize,
        /// Columns in the row.
        count: usize,
    },
    /// A struct field has no matching UDT field.
    #[error("the UDT has no field \"{field}\"")]
    NoSuchUdtField {
        /// The field name looked for.
        field: String,
    },
    /// The result has no rows where one was required.
    #[error("the result has no rows")]
    NoRows,
    /// The result has more than one row where exactly one was required.
    #[error("the result has {count} rows, expected one")]
    TooManyRows {
        /// Rows in the result.
        count: usize,
    },
}

/// A value or row could not be read: names the column (index and name, when known),
/// the Rust type, the CQL type and the reason. Boxed, so results stay small.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DeserializationError(Box<DeserializationErrorInner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct DeserializationErrorInner {
    column: Option<ColumnRef>,
    rust_type: &'static str,
    cql_type: Option<ColumnType>,
    kind: DeserializationErrorKind,
}

impl fmt::Display for DeserializationErrorInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot read ")?;
        if let Some(c) = &self.column {
            write!(f, "column {c} ")?;
        }
        if let Some(t) = &self.cql_type {
            write!(f, "of CQL type {t} ")?;
        }
        write!(f, "as {}: {}", self.rust_type, self.kind)
    }
}

impl DeserializationError {
    /// An error about reading a value of type `typ` as Rust type `T`.
    pub fn new<T: ?Sized>(typ: &ColumnType, kind: DeserializationErrorKind) -> Self {
        Self(Box::new(DeserializationErrorInner {
            column: None,
            rust_type: std::any::type_name::<T>(),
            cql_type: Some(typ.clone()),
            kind,
        }))
    }

    /// `T` cannot represent `typ`.
    pub fn mismatch<T: ?Sized>(typ: &ColumnType) -> Self {
        Self::new::<T>(typ, DeserializationErrorKind::TypeMismatch)
    }

    /// Malformed bytes for `typ`.
    pub fn decode<T: ?Sized>(typ: &ColumnType, e: DecodeError) -> Self {
        Self::new::<T>(typ, DeserializationErrorKind::Decode(e))
    }

    /// An error about a row as a whole.
    pub fn row<T: ?Sized>(kind: DeserializationErrorKind) -> Self {
        Self(Box::new(DeserializationErrorInner {
            column: None,
            rust_type: std::any::type_name::<T>(),
            cql_type: None,
            kind,
        }))
    }

    /// Sets the column the error is about, unless already set.
    pub fn at_column(mut self, index: usize, name: &str) -> Self {
        if self.0.column.is_none() {
            self.0.column = Some(ColumnRef {
                index,
                name: Some(name.to_owned()),
            });
        }
        self
    }

    /// The column, when the error is about one.
    pub fn column(&self) -> Option<&ColumnRef> {
        self.0.column.as_ref()
    }

    /// The Rust type being read (`std::any::type_name`).
    pub fn rust_type(&self) -> &'static str {
        self.0.rust_type
    }

    /// The CQL type being read, when one applies.
    pub fn cql_type(&self) -> Option<&ColumnType> {
        self.0.cql_type.as_ref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &DeserializationErrorKind {
        &self.0.kind
    }
}

/// Reads a non-null value: null is `UnexpectedNull`.
pub(crate) fn non_null<'f, T: ?Sized>(
    typ: &ColumnType,
    v: Option<FrameSlice<'f>>,
) -> Result<FrameSlice<'f>, DeserializationError> {
    v.ok_or_else(|| DeserializationError::new::<T>(typ, DeserializationErrorKind::UnexpectedNull))
}
