//! The `<change_type><target><options>` triple shared by the Schema_change RESULT
//! (spec v5 section 4.2.5.5) and the SCHEMA_CHANGE event (section 4.2.6).
//! Refreshing schema metadata in reaction to it is the cluster layer's job.

use bytes::BytesMut;

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError};

/// What happened to a schema element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaChangeType {
    /// `CREATED`
    Created,
    /// `UPDATED`
    Updated,
    /// `DROPPED`
    Dropped,
}

impl SchemaChangeType {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::Dropped => "DROPPED",
        }
    }

    fn parse(s: &str) -> Result<Self, DecodeError> {
        Ok(match s {
            "CREATED" => Self::Created,
            "UPDATED" => Self::Updated,
            "DROPPED" => Self::Dropped,
            _ => {
                return Err(DecodeError::Malformed {
                    what: "schema change type",
                })
            }
        })
    }
}

/// Which schema element changed, with the options its target carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaChangeTarget {
    /// `KEYSPACE`: the keyspace name.
    Keyspace {
        /// Keyspace name.
        keyspace: String,
    },
    /// `TABLE` (index changes are reported as changes of their table).
    Table {
        /// Keyspace name.
        keyspace: String,
        /// Table name.
        table: String,
    },
    /// `TYPE`: a user-defined type.
    Type {
        /// Keyspace name.
        keyspace: String,
        /// Type name.
        name: String,
    },
    /// `FUNCTION`: a user-defined function (v4+).
    Function {
        /// Keyspace name.
        keyspace: String,
        /// Function name.
        name: String,
        /// One CQL type per argument.
        arg_types: Vec<String>,
    },
    /// `AGGREGATE`: a user-defined aggregate (v4+).
    Aggregate {
        /// Keyspace name.
        keyspace: String,
        /// Aggregate name.
        name: String,
        /// One CQL type per argument.
        arg_types: Vec<String>,
    },
}

impl SchemaChangeTarget {
    /// The wire string of the target.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Keyspace { .. } => "KEYSPACE",
            Self::Table { .. } => "TABLE",
            Self::Type { .. } => "TYPE",
            Self::Function { .. } => "FUNCTION",
            Self::Aggregate { .. } => "AGGREGATE",
        }
    }

    /// The keyspace every target names.
    pub fn keyspace(&self) -> &str {
        match self {
            Self::Keyspace { keyspace }
            | Self::Table { keyspace, .. }
            | Self::Type { keyspace, .. }
            | Self::Function { keyspace, .. }
            | Self::Aggregate { keyspace, .. } => keyspace,
        }
    }
}

/// A schema change: what happened to which element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaChange {
    /// Created, updated or dropped.
    pub change_type: SchemaChangeType,
    /// The element and its identifying options.
    pub target: SchemaChangeTarget,
}

impl SchemaChange {
    /// Reads `<change_type><target><options>`.
    pub(super) fn read(cur: &mut &[u8]) -> Result<Self, DecodeError> {
        let change_type = SchemaChangeType::parse(wire::read_str(cur)?)?;
        let target = match wire::read_str(cur)? {
            "KEYSPACE" => SchemaChangeTarget::Keyspace {
                keyspace: wire::read_string(cur)?,
            },
            "TABLE" => SchemaChangeTarget::Table {
                keyspace: wire::read_string(cur)?,
                table: wire::read_string(cur)?,
            },
            "TYPE" => SchemaChangeTarget::Type {
                keyspace: wire::read_string(cur)?,
                name: wire::read_string(cur)?,
            },
            t @ ("FUNCTION" | "AGGREGATE") => {
                let keyspace = wire::read_string(cur)?;
                let name = wire::read_string(cur)?;
                let arg_types = wire::read_string_list(cur)?;
                if t == "FUNCTION" {
                    SchemaChangeTarget::Function {
                        keyspace,
                        name,
                        arg_types,
                    }
                } else {
                    SchemaChangeTarget::Aggregate {
                        keyspace,
                        name,
                        arg_types,
                    }
                }
            }
            _ => {
                return Err(DecodeError::Malformed {
                    what: "schema change target",
                })
            }
        };
        Ok(Self {
            change_type,
            target,
        })
    }

    /// Appends `<change_type><target><options>`.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_string(out, self.change_type.as_str())?;
        wire::write_string(out, self.target.as_str())?;
        match &self.target {
            SchemaChangeTarget::Keyspace { keyspace } => wire::write_string(out, keyspace),
            SchemaChangeTarget::Table {
                keyspace,
                table: name,
            }
            | SchemaChangeTarget::Type { keyspace, name } => {
                wire::write_string(out, keyspace)?;
                wire::write_string(out, name)
            }
            SchemaChangeTarget::Function {
                keyspace,
                name,
                arg_types,
            }
            | SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                arg_types,
            } => {
                wire::write_string(out, keyspace)?;
                wire::write_string(out, name)?;
                wire::write_string_list(out, arg_types)
            }
        }
    }
}
