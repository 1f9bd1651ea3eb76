//! Result sets: `RowSet` (column specs + the rows' undecoded bytes), lazy typed
//! iteration (`rows::<R>()` type-checks once, decodes row by row), the dynamic `Row`
//! with `get` / `get_by_name`, and `DeserializeRow` for tuples and `Row`.

use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;

use super::{
    ColumnSpec, DeserializationError, DeserializationErrorKind as Kind, DeserializeRow,
    DeserializeValue, FrameSlice,
};
use crate::protocol::wire;

/// The rows of one result page: column metadata plus the rows' bytes, decoded lazily.
#[derive(Debug, Clone)]
pub struct RowSet {
    columns: Arc<[ColumnSpec]>,
    rows_count: usize,
    content: Bytes,
}

impl RowSet {
    /// Wraps the parts of a RESULT Rows body: the column specs, the row count and the
    /// bytes holding `rows_count` rows of `columns.len()` \[bytes\] values each.
    pub fn new(columns: Arc<[ColumnSpec]>, rows_count: usize, content: Bytes) -> Self {
        Self {
            columns,
            rows_count,
            content,
        }
    }

    /// The result columns.
    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    /// Number of rows the server announced.
    pub fn rows_count(&self) -> usize {
        self.rows_count
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows_count == 0
    }

    /// Typed rows: checks the column types against `R` once, then decodes each row
    /// as the iterator advances.
    pub fn rows<'a, R: DeserializeRow<'a>>(
        &'a self,
    ) -> Result<TypedRows<'a, R>, DeserializationError> {
        R::type_check(&self.columns)?;
        // every row holds at least a 4-byte length per column: a row count the bytes
        // cannot hold is rejected up front
        let min_row = 4 * self.columns.len();
        wire::check_count(&self.content, self.rows_count, min_row, "rows")
            .map_err(|e| DeserializationError::row::<R>(Kind::Decode(e)))?;
        Ok(TypedRows {
            columns: &self.columns,
            frame: &self.content,
            buf: &self.content,
            left: self.rows_count,
            _r: PhantomData,
        })
    }

    /// Type-checks `R` against the columns and the row count against the bytes, once
    /// per page, before [`RowSet::row_at`] reads rows one by one (paging streams).
    pub(crate) fn check<'a, R: DeserializeRow<'a>>(&'a self) -> Result<(), DeserializationError> {
        self.rows::<R>().map(drop)
    }

    /// Reads the row starting at byte `offset` of the content (rows already checked
    /// with [`RowSet::check`]) and returns it with the offset of the next row. The
    /// caller counts rows: at most `rows_count` reads.
    pub(crate) fn row_at<'a, R: DeserializeRow<'a>>(
        &'a self,
        offset: usize,
    ) -> (Result<R, DeserializationError>, usize) {
        let buf = self.content.get(offset..).unwrap_or_default();
        let mut one = TypedRows::<R> {
            columns: &self.columns,
            frame: &self.content,
            buf,
            left: 1,
            _r: PhantomData,
        };
        match one.next() {
            Some(r) => (r, self.content.len() - one.buf.len()),
            None => (
                Err(DeserializationError::row::<R>(Kind::NoRows)),
                self.content.len(),
            ),
        }
    }

    /// Dynamic rows (no type check; each `Row::get` checks its column).
    pub fn iter(&self) -> TypedRows<'_, Row<'_>> {
        TypedRows {
            columns: &self.columns,
            frame: &self.content,
            buf: &self.content,
            left: self.rows_count,
            _r: PhantomData,
        }
    }

    /// The first row, if any.
    pub fn maybe_first_row<'a, R: DeserializeRow<'a>>(
        &'a self,
    ) -> Result<Option<R>, DeserializationError> {
        self.rows::<R>()?.next().transpose()
    }

    /// The first row; an error when there is none.
    pub fn first_row<'a, R: DeserializeRow<'a>>(&'a self) -> Result<R, DeserializationError> {
        self.maybe_first_row()?
            .ok_or_else(|| DeserializationError::row::<R>(Kind::NoRows))
    }

    /// The only row; an error when there are none or several.
    pub fn single_row<'a, R: DeserializeRow<'a>>(&'a self) -> Result<R, DeserializationError> {
        if self.rows_count > 1 {
            let kind = Kind::TooManyRows {
                count: self.rows_count,
            };
            return Err(DeserializationError::row::<R>(kind));
        }
        self.first_row()
    }
}

/// Iterator over the rows of a `RowSet`, decoding each as `R`. After a malformed row
/// it yields that error and then ends.
pub struct TypedRows<'a, R> {
    columns: &'a [ColumnSpec],
    frame: &'a Bytes,
    buf: &'a [u8],
    left: usize,
    _r: PhantomData<fn() -> R>,
}

impl<'a, R: DeserializeRow<'a>> Iterator for TypedRows<'a, R> {
    type Item = Result<R, DeserializationError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut cols = ColumnIterator {
            specs: self.columns,
            frame: self.frame,
            buf: self.buf,
            next: 0,
        };
        let r = R::deserialize(&mut cols).and_then(|row| {
            // skip the columns the row type did not read
            for c in cols.by_ref() {
                c?;
            }
            Ok(row)
        });
        match r {
            Ok(row) => {
                self.buf = cols.buf;
                Some(Ok(row))
            }
            Err(e) => {
                self.left = 0;
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

/// One column value of a row being read.
#[derive(Debug, Clone, Copy)]
pub struct RawColumn<'frame> {
    /// Position in the row.
    pub index: usize,
    /// The column's metadata.
    pub spec: &'frame ColumnSpec,
    /// Its bytes; `None` is null.
    pub value: Option<FrameSlice<'frame>>,
}

impl<'frame> RawColumn<'frame> {
    /// Reads the value as `T` (type-checked by the caller); errors name the column.
    #[inline]
    pub fn deserialize<T: DeserializeValue<'frame>>(&self) -> Result<T, DeserializationError> {
        T::deserialize(&self.spec.typ, self.value)
            .map_err(|e| e.at_column(self.index, &self.spec.name))
    }
}

/// The columns of one row, read one by one from the frame.
pub struct ColumnIterator<'frame> {
    specs: &'frame [ColumnSpec],
    frame: &'frame Bytes,
    buf: &'frame [u8],
    next: usize,
}

impl<'frame> ColumnIterator<'frame> {
    /// The specs of all columns of the row.
    pub fn specs(&self) -> &'frame [ColumnSpec] {
        self.specs
    }

    /// Columns not yet read.
    pub fn remaining(&self) -> usize {
        self.specs.len() - self.next
    }
}

impl<'frame> Iterator for ColumnIterator<'frame> {
    type Item = Result<RawColumn<'frame>, DeserializationError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let spec = self.specs.get(self.next)?;
        let index = self.next;
        self.next += 1;
        Some(match wire::read_bytes(&mut self.buf) {
            Ok(v) => Ok(RawColumn {
                index,
                spec,
                value: v.map(|m| FrameSlice::new(m, self.frame)),
            }),
            Err(e) => {
                self.next = self.specs.len();
                Err(DeserializationError::decode::<[u8]>(&spec.typ, e).at_column(index, &spec.name))
            }
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

/// A row read without a static type: values are read per column on demand.
#[derive(Debug, Clone)]
pub struct Row<'frame> {
    specs: &'frame [ColumnSpec],
    cells: Vec<Option<FrameSlice<'frame>>>,
}

impl<'frame> Row<'frame> {
    /// The columns of the row.
    pub fn columns(&self) -> &'frame [ColumnSpec] {
        self.specs
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Reads column `index` as `T`, checking its type first.
    pub fn get<T: DeserializeValue<'frame>>(
        &self,
        index: usize,
    ) -> Result<T, DeserializationError> {
        let Some(spec) = self.specs.get(index) else {
            let kind = Kind::NoSuchIndex {
                index,
                count: self.specs.len(),
            };
            return Err(DeserializationError::row::<T>(kind));
        };
        let value = self.cells.get(index).copied().flatten();
        T::type_check(&spec.typ)
            .and_then(|()| T::deserialize(&spec.typ, value))
            .map_err(|e| e.at_column(index, &spec.name))
    }

    /// Reads the column named `name` as `T` (the first one, if names repeat).
    pub fn get_by_name<T: DeserializeValue<'frame>>(
        &self,
        name: &str,
    ) -> Result<T, DeserializationError> {
        match self.specs.iter().position(|s| s.name == name) {
            Some(i) => self.get(i),
            None => Err(DeserializationError::row::<T>(Kind::NoSuchColumn {
                name: name.into(),
            })),
        }
    }
}

impl<'frame> DeserializeRow<'frame> for Row<'frame> {
    fn type_check(_columns: &[ColumnSpec]) -> Result<(), DeserializationError> {
        Ok(())
    }

    fn deserialize(row: &mut ColumnIterator<'frame>) -> Result<Self, DeserializationError> {
        let specs = row.specs();
        let mut cells = Vec::with_capacity(row.remaining());
        for c in row {
            cells.push(c?.value);
        }
        Ok(Row { specs, cells })
    }
}

#[inline]
fn next_column<'f, R>(row: &mut ColumnIterator<'f>) -> Result<RawColumn<'f>, DeserializationError> {
    match row.next() {
        Some(c) => c,
        None => Err(DeserializationError::row::<R>(Kind::ColumnCount {
            expected: row.next + 1,
            got: row.specs.len(),
        })),
    }
}

macro_rules! row_tuple {
    ($n:expr; $($t:ident $i:tt),+) => {
        impl<'frame, $($t: DeserializeValue<'frame>),+> DeserializeRow<'frame> for ($($t,)+) {
            fn type_check(columns: &[ColumnSpec]) -> Result<(), DeserializationError> {
                if columns.len() != $n {
                    let kind = Kind::ColumnCount { expected: $n, got: columns.len() };
                    return Err(DeserializationError::row::<Self>(kind));
                }
                $($t::type_check(&columns[$i].typ).map_err(|e| e.at_column($i, &columns[$i].name))?;)+
                Ok(())
            }

            fn deserialize(row: &mut ColumnIterator<'frame>) -> Result<Self, DeserializationError> {
                Ok(($(next_column::<Self>(row)?.deserialize::<$t>()?,)+))
            }
        }
    };
}

crate::for_each_tuple!(row_tuple);
