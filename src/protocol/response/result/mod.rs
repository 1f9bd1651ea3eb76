//! RESULT (spec v5 section 4.2.5): the kind dispatch, Void and Set_keyspace. Rows
//! metadata lives in rows.rs, Prepared in prepared.rs, Schema_change in
//! ../schema_change.rs. Row values are not decoded here (see the row decoder).

mod prepared;
mod rows;

use bytes::{Bytes, BytesMut};

use super::SchemaChange;
use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

pub use prepared::{Prepared, PreparedMetadata};
pub use rows::{rows_flags, ColumnSpec, Rows, RowsMetadata};

/// A RESULT body, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultBody {
    /// 0x0001: success, nothing to say.
    Void,
    /// 0x0002: a page of rows.
    Rows(Rows),
    /// 0x0003: the keyspace a `USE` switched to.
    SetKeyspace(String),
    /// 0x0004: a prepared statement.
    Prepared(Box<Prepared>),
    /// 0x0005: a schema change caused by the query.
    SchemaChange(SchemaChange),
}

impl ResultBody {
    /// The wire `kind` of this result.
    pub fn kind(&self) -> i32 {
        match self {
            Self::Void => 1,
            Self::Rows(_) => 2,
            Self::SetKeyspace(_) => 3,
            Self::Prepared(_) => 4,
            Self::SchemaChange(_) => 5,
        }
    }

    pub(in crate::protocol::response) fn read(
        version: ProtocolVersion,
        body: &Bytes,
        cur: &mut &[u8],
    ) -> Result<Self, DecodeError> {
        let kind = wire::read_int(cur)?;
        Ok(match kind {
            1 => Self::Void,
            2 => Self::Rows(Rows::read(version, body, cur)?),
            3 => Self::SetKeyspace(wire::read_string(cur)?),
            4 => Self::Prepared(Box::new(Prepared::read(version, body, cur)?)),
            5 => Self::SchemaChange(SchemaChange::read(cur)?),
            other => {
                return Err(DecodeError::UnknownValue {
                    what: "result kind",
                    value: other.into(),
                })
            }
        })
    }

    /// Appends the body (kind first) for `version`.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_int(out, self.kind());
        match self {
            Self::Void => Ok(()),
            Self::Rows(r) => r.encode(version, out),
            Self::SetKeyspace(ks) => wire::write_string(out, ks),
            Self::Prepared(p) => p.encode(version, out),
            Self::SchemaChange(sc) => sc.encode(out),
        }
    }
}
