//! Rows results (spec v5 section 4.2.5.2): `RowsMetadata`, `ColumnSpec` and `Rows`,
//! whose cells stay an undecoded zero-copy slice of the frame body. Typed, lazy
//! decoding of the cell values is the row decoder's job, not this file's.

use bytes::{Bytes, BytesMut};

use crate::protocol::response::{read_bytes_in, read_count, read_short_bytes_in};
use crate::protocol::types::ColumnType;
use crate::protocol::wire::{self, check_count};
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// Flag bits of rows metadata `<flags>` (section 4.2.5.2).
pub mod rows_flags {
    /// One `<global_table_spec>` instead of a keyspace/table per column.
    pub const GLOBAL_TABLES_SPEC: i32 = 0x0001;
    /// More pages follow; `<paging_state>` is present.
    pub const HAS_MORE_PAGES: i32 = 0x0002;
    /// No column specs (the client asked to skip metadata).
    pub const NO_METADATA: i32 = 0x0004;
    /// v5: the result metadata changed; `<new_metadata_id>` is present.
    pub const METADATA_CHANGED: i32 = 0x0008;
}
use rows_flags::*;

/// One column of a result (or one bind marker of a prepared statement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Keyspace (copied from the global table spec when there is one).
    pub keyspace: String,
    /// Table (copied from the global table spec when there is one).
    pub table: String,
    /// Column name, alias or bind marker name.
    pub name: String,
    /// The CQL type.
    pub typ: ColumnType,
}

impl ColumnSpec {
    /// A spec with empty keyspace and table (handy in tests and for bind markers).
    pub fn new(name: impl Into<String>, typ: ColumnType) -> Self {
        Self {
            keyspace: String::new(),
            table: String::new(),
            name: name.into(),
            typ,
        }
    }
}

/// Rows metadata: `<flags><columns_count>[<paging_state>][<new_metadata_id>]
/// [<global_table_spec>?<col_spec_1>...<col_spec_n>]`.
///
/// `flags` is kept raw (unknown bits survive a round trip); encoding checks that the
/// fields agree with it. Use the constructors and `with_*` methods to keep them in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsMetadata {
    /// The raw `<flags>` (see [`rows_flags`]).
    pub flags: i32,
    /// Number of columns of every row (also when `NO_METADATA` omits the specs).
    pub columns_count: usize,
    /// The paging state, present exactly when `HAS_MORE_PAGES` is set.
    pub paging_state: Option<Bytes>,
    /// v5: the new result metadata id, present exactly when `METADATA_CHANGED` is set.
    pub new_metadata_id: Option<Bytes>,
    /// The keyspace and table shared by every column, when `GLOBAL_TABLES_SPEC` is set
    /// (and `NO_METADATA` is not: with `NO_METADATA` that bit is carried but no spec).
    pub global_table_spec: Option<(String, String)>,
    /// The column specs; empty when `NO_METADATA` is set.
    pub columns: Vec<ColumnSpec>,
}

impl RowsMetadata {
    /// Full metadata for `columns`; uses a global table spec when all columns share
    /// one keyspace and table (as Cassandra does).
    pub fn new(columns: Vec<ColumnSpec>) -> Self {
        let global = columns.first().and_then(|first| {
            columns
                .iter()
                .all(|c| c.keyspace == first.keyspace && c.table == first.table)
                .then(|| (first.keyspace.clone(), first.table.clone()))
        });
        Self {
            flags: if global.is_some() {
                GLOBAL_TABLES_SPEC
            } else {
                0
            },
            columns_count: columns.len(),
            paging_state: None,
            new_metadata_id: None,
            global_table_spec: global,
            columns,
        }
    }

    /// Metadata without column specs (the `NO_METADATA` flag).
    pub fn no_metadata(columns_count: usize) -> Self {
        Self {
            flags: NO_METADATA,
            columns_count,
            paging_state: None,
            new_metadata_id: None,
            global_table_spec: None,
            columns: Vec::new(),
        }
    }

    /// Sets or clears the paging state and the `HAS_MORE_PAGES` flag.
    pub fn with_paging_state(mut self, state: Option<Bytes>) -> Self {
        self.flags = set_bit(self.flags, HAS_MORE_PAGES, state.is_some());
        self.paging_state = state;
        self
    }

    /// Sets or clears the v5 new metadata id and the `METADATA_CHANGED` flag.
    pub fn with_new_metadata_id(mut self, id: Option<Bytes>) -> Self {
        self.flags = set_bit(self.flags, METADATA_CHANGED, id.is_some());
        self.new_metadata_id = id;
        self
    }

    /// True when more pages follow.
    pub fn has_more_pages(&self) -> bool {
        self.flags & HAS_MORE_PAGES != 0
    }

    /// True when the column specs were omitted.
    pub fn is_no_metadata(&self) -> bool {
        self.flags & NO_METADATA != 0
    }

    pub(in crate::protocol::response) fn read(
        version: ProtocolVersion,
        body: &Bytes,
        cur: &mut &[u8],
    ) -> Result<Self, DecodeError> {
        let flags = wire::read_int(cur)?;
        let columns_count = read_count(cur, "rows metadata columns_count")?;
        let paging_state = if flags & HAS_MORE_PAGES != 0 {
            Some(read_bytes_in(body, cur)?.ok_or(DecodeError::Malformed {
                what: "null paging state",
            })?)
        } else {
            None
        };
        // Metadata_changed exists from v5 on; in older versions the bit is not defined
        // and carries nothing.
        let new_metadata_id = if version.is_v5() && flags & METADATA_CHANGED != 0 {
            Some(read_short_bytes_in(body, cur)?)
        } else {
            None
        };
        let (global_table_spec, columns) = if flags & NO_METADATA != 0 {
            (None, Vec::new())
        } else {
            let global = read_global_spec(flags, cur)?;
            let cols = read_columns(cur, columns_count, global.as_ref())?;
            (global, cols)
        };
        Ok(Self {
            flags,
            columns_count,
            paging_state,
            new_metadata_id,
            global_table_spec,
            columns,
        })
    }

    /// Appends the metadata for `version`; fails when fields and flags disagree.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self.paging_state.is_some() != (self.flags & HAS_MORE_PAGES != 0) {
            return Err(invalid("paging_state disagrees with HAS_MORE_PAGES"));
        }
        if version.is_v5() {
            if self.new_metadata_id.is_some() != (self.flags & METADATA_CHANGED != 0) {
                return Err(invalid("new_metadata_id disagrees with METADATA_CHANGED"));
            }
        } else if self.new_metadata_id.is_some() {
            return Err(EncodeError::UnsupportedByVersion {
                what: "new_metadata_id",
                version: version.as_u8(),
            });
        }
        let no_metadata = self.flags & NO_METADATA != 0;
        if no_metadata && (self.global_table_spec.is_some() || !self.columns.is_empty()) {
            return Err(invalid("NO_METADATA with column specs"));
        }
        if !no_metadata && self.columns.len() != self.columns_count {
            return Err(invalid("columns_count disagrees with the column specs"));
        }
        wire::write_int(out, self.flags);
        wire::write_int(out, wire::int_len(self.columns_count, "columns_count")?);
        if let Some(p) = &self.paging_state {
            wire::write_bytes(out, Some(p))?;
        }
        if let Some(id) = &self.new_metadata_id {
            wire::write_short_bytes(out, id)?;
        }
        if !no_metadata {
            write_global_spec(self.flags, self.global_table_spec.as_ref(), out)?;
            write_columns(&self.columns, self.global_table_spec.as_ref(), out)?;
        }
        Ok(())
    }
}

/// A page of rows: metadata plus `rows_count * columns_count` `[bytes]` cells, kept as
/// an undecoded slice of the frame body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    /// The metadata.
    pub metadata: RowsMetadata,
    /// Number of rows in `rows_content`.
    pub rows_count: usize,
    /// Exactly `rows_count * metadata.columns_count` well-formed `[bytes]` cells (checked
    /// on decode), row by row; a zero-copy slice of the frame body.
    pub rows_content: Bytes,
}

impl Rows {
    pub(super) fn read(
        version: ProtocolVersion,
        body: &Bytes,
        cur: &mut &[u8],
    ) -> Result<Self, DecodeError> {
        let metadata = RowsMetadata::read(version, body, cur)?;
        let rows_count = read_count(cur, "rows_count")?;
        let start = *cur;
        walk_cells(cur, rows_count, metadata.columns_count)?;
        let content = &start[..start.len() - cur.len()];
        Ok(Self {
            metadata,
            rows_count,
            rows_content: super::super::slice_of(body, content),
        })
    }

    /// Appends metadata, rows count and the cells; fails when `rows_content` does not
    /// hold exactly `rows_count * columns_count` `[bytes]`.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let mut cur: &[u8] = &self.rows_content;
        let ok = walk_cells(&mut cur, self.rows_count, self.metadata.columns_count).is_ok();
        if !ok || !cur.is_empty() {
            return Err(invalid(
                "rows_content does not hold rows_count * columns_count cells",
            ));
        }
        self.metadata.encode(version, out)?;
        wire::write_int(out, wire::int_len(self.rows_count, "rows_count")?);
        out.extend_from_slice(&self.rows_content);
        Ok(())
    }
}

/// Checks and skips `rows * cols` `[bytes]` cells, failing before the walk when the
/// remaining input cannot hold that many (each cell is at least its 4-byte length).
fn walk_cells(cur: &mut &[u8], rows: usize, cols: usize) -> Result<(), DecodeError> {
    if rows > 0 && cols == 0 {
        // Nothing bounds such a count by the input size; no server sends it.
        return Err(DecodeError::Malformed {
            what: "rows without columns",
        });
    }
    let cells = check_count(cur, rows.saturating_mul(cols), 4, "rows_content")?;
    for _ in 0..cells {
        wire::read_bytes(cur)?;
    }
    Ok(())
}

fn set_bit(flags: i32, bit: i32, on: bool) -> i32 {
    if on {
        flags | bit
    } else {
        flags & !bit
    }
}

fn invalid(what: &'static str) -> EncodeError {
    EncodeError::Invalid { what }
}

/// Reads `<global_table_spec>` when `GLOBAL_TABLES_SPEC` is set in `flags`.
pub(super) fn read_global_spec(
    flags: i32,
    cur: &mut &[u8],
) -> Result<Option<(String, String)>, DecodeError> {
    if flags & GLOBAL_TABLES_SPEC == 0 {
        return Ok(None);
    }
    Ok(Some((wire::read_string(cur)?, wire::read_string(cur)?)))
}

/// Writes `<global_table_spec>`; it must be present exactly when the flag is set.
pub(super) fn write_global_spec(
    flags: i32,
    global: Option<&(String, String)>,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    match (global, flags & GLOBAL_TABLES_SPEC != 0) {
        (Some((ks, table)), true) => {
            wire::write_string(out, ks)?;
            wire::write_string(out, table)
        }
        (None, false) => Ok(()),
        _ => Err(invalid(
            "global_table_spec disagrees with GLOBAL_TABLES_SPEC",
        )),
    }
}

/// Reads `count` column specs `(<ksname><tablename>)?<name><type>`.
pub(super) fn read_columns(
    cur: &mut &[u8],
    count: usize,
    global: Option<&(String, String)>,
) -> Result<Vec<ColumnSpec>, DecodeError> {
    // smallest spec: name [string] + type [short] (+ two [string] without a global spec)
    let min = if global.is_some() { 4 } else { 8 };
    let n = check_count(cur, count, min, "column specs")?;
    let mut cols = Vec::with_capacity(n);
    for _ in 0..n {
        let (keyspace, table) = match global {
            Some((ks, t)) => (ks.clone(), t.clone()),
            None => (wire::read_string(cur)?, wire::read_string(cur)?),
        };
        let name = wire::read_string(cur)?;
        let typ = ColumnType::read(cur)?;
        cols.push(ColumnSpec {
            keyspace,
            table,
            name,
            typ,
        });
    }
    Ok(cols)
}

/// Writes column specs; with a global spec every column must carry its names.
pub(super) fn write_columns(
    cols: &[ColumnSpec],
    global: Option<&(String, String)>,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    for c in cols {
        match global {
            Some((ks, t)) => {
                if &c.keyspace != ks || &c.table != t {
                    return Err(invalid("column keyspace/table differ from the global spec"));
                }
            }
            None => {
                wire::write_string(out, &c.keyspace)?;
                wire::write_string(out, &c.table)?;
            }
        }
        wire::write_string(out, &c.name)?;
        c.typ.write(out)?;
    }
    Ok(())
}
