//! `SerializeRow`: all bind values of one statement, written as consecutive \[value\]s
//! in bind-marker order. Impls for `()`, tuples up to 16, slices and vectors of values
//! (e.g. `&[&dyn SerializeValue]`); structs get it from `#[derive(SerializeRow)]`.

use bytes::BytesMut;

use super::{write_value, SerializationError, SerializationErrorKind, SerializeValue};
use crate::protocol::response::ColumnSpec;
use crate::ColumnType;

/// The values bound to one statement.
///
/// With `markers` (a prepared statement's bind-marker metadata) values are written in
/// marker order and each is checked against its marker's type; positional rows must
/// have exactly as many values as markers, named rows (derived structs) match markers
/// by name. Without `markers` (an unprepared query) values are written in the row's
/// own order, each with its natural CQL type.
pub trait SerializeRow {
    /// Appends the row's values to `out`, each as a \[value\] (4-byte length then
    /// bytes, or -1 null / -2 unset), and returns how many were written. On error,
    /// `out` is left as it was.
    fn serialize_row(
        &self,
        markers: Option<&[ColumnSpec]>,
        out: &mut BytesMut,
    ) -> Result<usize, SerializationError>;

    /// True when the row has no values.
    fn is_empty(&self) -> bool;
}

/// Writes one value of a row: against the marker's type when there is one, otherwise
/// with its natural type. Errors name the marker. Used by derived impls too.
#[doc(hidden)]
pub fn write_row_value<T: SerializeValue + ?Sized>(
    v: &T,
    index: usize,
    marker: Option<&ColumnSpec>,
    out: &mut BytesMut,
) -> Result<(), SerializationError> {
    let r = match marker {
        Some(m) => write_value(v, &m.typ, out),
        None => {
            let typ = v.natural_type().unwrap_or(ColumnType::Blob);
            write_value(v, &typ, out)
        }
    };
    r.map_err(|e| e.at_column(index, marker.map(|m| m.name.as_str())))
}

fn check_count<R: ?Sized>(
    markers: Option<&[ColumnSpec]>,
    got: usize,
) -> Result<(), SerializationError> {
    match markers {
        Some(m) if m.len() != got => Err(SerializationError::row::<R>(
            SerializationErrorKind::ValueCount {
                expected: m.len(),
                got,
            },
        )),
        _ => Ok(()),
    }
}

/// Runs `f`, restoring `out` to its length before the call if `f` fails.
fn atomic(
    out: &mut BytesMut,
    f: impl FnOnce(&mut BytesMut) -> Result<usize, SerializationError>,
) -> Result<usize, SerializationError> {
    let at = out.len();
    let r = f(out);
    if r.is_err() {
        out.truncate(at);
    }
    r
}

impl SerializeRow for () {
    fn serialize_row(
        &self,
        markers: Option<&[ColumnSpec]>,
        _out: &mut BytesMut,
    ) -> Result<usize, SerializationError> {
        check_count::<Self>(markers, 0)?;
        Ok(0)
    }
    fn is_empty(&self) -> bool {
        true
    }
}

impl<T: SerializeValue> SerializeRow for [T] {
    fn serialize_row(
        &self,
        markers: Option<&[ColumnSpec]>,
        out: &mut BytesMut,
    ) -> Result<usize, SerializationError> {
        check_count::<Self>(markers, self.len())?;
        atomic(out, |out| {
            for (i, v) in self.iter().enumerate() {
                write_row_value(v, i, markers.map(|m| &m[i]), out)?;
            }
            Ok(self.len())
        })
    }
    fn is_empty(&self) -> bool {
        self.is_empty()
    }
}

impl<T: SerializeValue> SerializeRow for Vec<T> {
    fn serialize_row(
        &self,
        markers: Option<&[ColumnSpec]>,
        out: &mut BytesMut,
    ) -> Result<usize, SerializationError> {
        self.as_slice().serialize_row(markers, out)
    }
    fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl<R: SerializeRow + ?Sized> SerializeRow for &R {
    fn serialize_row(
        &self,
        markers: Option<&[ColumnSpec]>,
        out: &mut BytesMut,
    ) -> Result<usize, SerializationError> {
        (**self).serialize_row(markers, out)
    }
    fn is_empty(&self) -> bool {
        (**self).is_empty()
    }
}

impl<R: SerializeRow + ?Sized> SerializeRow for Box<R> {
    fn serialize_row(
        &self,
        markers: Option<&[ColumnSpec]>,
        out: &mut BytesMut,
    ) -> Result<usize, SerializationError> {
        (**self).serialize_row(markers, out)
    }
    fn is_empty(&self) -> bool {
        (**self).is_empty()
    }
}

macro_rules! row_tuple {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<$($t: SerializeValue),+> SerializeRow for ($($t,)+) {
            fn serialize_row(
                &self,
                markers: Option<&[ColumnSpec]>,
                out: &mut BytesMut,
            ) -> Result<usize, SerializationError> {
                check_count::<Self>(markers, $n)?;
                atomic(out, |out| {
                    $(write_row_value(&self.$i, $i, markers.map(|m| &m[$i]), out)?;)+
                    Ok($n)
                })
            }
            fn is_empty(&self) -> bool {
                false
            }
        }
    };
}

crate::for_each_tuple!(row_tuple);
