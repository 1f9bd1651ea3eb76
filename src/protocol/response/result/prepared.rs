//! Prepared results (spec v5 section 4.2.5.4; v4 adds pk indexes, v5 adds the result
//! metadata id): `Prepared` and its bind-marker `PreparedMetadata`. Caching prepared
//! statements and re-preparing on Unprepared belong to the session layer.

use bytes::{Bytes, BytesMut};

use super::rows::{
    read_columns, read_global_spec, rows_flags, write_columns, write_global_spec, ColumnSpec,
    RowsMetadata,
};
use crate::protocol::response::{read_count, read_short_bytes_in};
use crate::protocol::wire::{self, check_count};
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// The answer to PREPARE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The statement id to EXECUTE with.
    pub id: Bytes,
    /// v5: the id of the result metadata (sent back in EXECUTE); `None` before v5.
    pub result_metadata_id: Option<Bytes>,
    /// The bind markers.
    pub metadata: PreparedMetadata,
    /// The columns an execution returns (often `NO_METADATA` with 0 columns for
    /// non-SELECT statements; never guaranteed to be filled).
    pub result_metadata: RowsMetadata,
}

/// Bind-marker metadata of a prepared statement:
/// `<flags><columns_count><pk_count>[<pk_index_i>...][<global_table_spec>?<col_spec_i>...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMetadata {
    /// The raw `<flags>`; only `GLOBAL_TABLES_SPEC` (0x0001) is defined.
    pub flags: i32,
    /// Number of bind markers; equals `columns.len()`.
    pub columns_count: usize,
    /// v4+: for each partition key column, the index of its bind marker (empty when
    /// some key column is not bound by a plain marker). Each index is checked to be
    /// below `columns_count` on decode. Always empty on v3.
    pub pk_indexes: Vec<u16>,
    /// The keyspace and table of every bind marker, when `GLOBAL_TABLES_SPEC` is set.
    pub global_table_spec: Option<(String, String)>,
    /// The bind markers.
    pub columns: Vec<ColumnSpec>,
}

impl PreparedMetadata {
    /// Metadata for `columns` with a global table spec when they all share one, and the
    /// given partition key indexes.
    pub fn new(columns: Vec<ColumnSpec>, pk_indexes: Vec<u16>) -> Self {
        let m = RowsMetadata::new(columns);
        Self {
            flags: m.flags,
            columns_count: m.columns_count,
            pk_indexes,
            global_table_spec: m.global_table_spec,
            columns: m.columns,
        }
    }

    fn read(version: ProtocolVersion, cur: &mut &[u8]) -> Result<Self, DecodeError> {
        let flags = wire::read_int(cur)?;
        let columns_count = read_count(cur, "prepared metadata columns_count")?;
        // v3 (its section 4.2.5.4) defines this metadata as rows metadata without
        // paging state: no pk indexes.
        let pk_indexes = if version >= ProtocolVersion::V4 {
            let n = read_count(cur, "pk_count")?;
            let n = check_count(cur, n, 2, "pk indexes")?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let i = wire::read_short(cur)?;
                if usize::from(i) >= columns_count {
                    return Err(DecodeError::Malformed {
                        what: "pk index beyond the bind markers",
                    });
                }
                v.push(i);
            }
            v
        } else {
            Vec::new()
        };
        let global_table_spec = read_global_spec(flags, cur)?;
        let columns = read_columns(cur, columns_count, global_table_spec.as_ref())?;
        Ok(Self {
            flags,
            columns_count,
            pk_indexes,
            global_table_spec,
            columns,
        })
    }

    /// Appends the metadata for `version`.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self.columns.len() != self.columns_count {
            return Err(EncodeError::Invalid {
                what: "columns_count disagrees with the bind markers",
            });
        }
        wire::write_int(out, self.flags);
        wire::write_int(out, wire::int_len(self.columns_count, "columns_count")?);
        if version >= ProtocolVersion::V4 {
            wire::write_int(out, wire::int_len(self.pk_indexes.len(), "pk_count")?);
            for i in &self.pk_indexes {
                wire::write_short(out, *i);
            }
        } else if !self.pk_indexes.is_empty() {
            return Err(EncodeError::UnsupportedByVersion {
                what: "pk indexes",
                version: version.as_u8(),
            });
        }
        write_global_spec(self.flags, self.global_table_spec.as_ref(), out)?;
        write_columns(&self.columns, self.global_table_spec.as_ref(), out)
    }

    /// True when one keyspace/table is given for all bind markers.
    pub fn has_global_table_spec(&self) -> bool {
        self.flags & rows_flags::GLOBAL_TABLES_SPEC != 0
    }
}

impl Prepared {
    pub(super) fn read(
        version: ProtocolVersion,
        body: &Bytes,
        cur: &mut &[u8],
    ) -> Result<Self, DecodeError> {
        let id = read_short_bytes_in(body, cur)?;
        let result_metadata_id = if version.is_v5() {
            Some(read_short_bytes_in(body, cur)?)
        } else {
            None
        };
        let metadata = PreparedMetadata::read(version, cur)?;
        let result_metadata = RowsMetadata::read(version, body, cur)?;
        Ok(Self {
            id,
            result_metadata_id,
            metadata,
            result_metadata,
        })
    }

    /// Appends the body (after the kind) for `version`; v5 requires a
    /// `result_metadata_id`, earlier versions forbid it.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_short_bytes(out, &self.id)?;
        match (&self.result_metadata_id, version.is_v5()) {
            (Some(id), true) => wire::write_short_bytes(out, id)?,
            (None, false) => {}
            (None, true) => {
                return Err(EncodeError::Invalid {
                    what: "v5 prepared result needs a result_metadata_id",
                })
            }
            (Some(_), false) => {
                return Err(EncodeError::UnsupportedByVersion {
                    what: "result_metadata_id",
                    version: version.as_u8(),
                })
            }
        }
        self.metadata.encode(version, out)?;
        self.result_metadata.encode(version, out)
    }
}
