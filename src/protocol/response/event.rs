//! EVENT (spec v5 section 4.2.6): topology, status and schema change pushes.
//! Registering for events and reacting to them belong to the connection and cluster
//! layers, not here.

use std::net::SocketAddr;

use bytes::BytesMut;

use super::SchemaChange;
use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError};

/// A TOPOLOGY_CHANGE kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::enum_variant_names)] // spec names
pub enum TopologyChangeType {
    /// `NEW_NODE`
    NewNode,
    /// `REMOVED_NODE`
    RemovedNode,
    /// `MOVED_NODE`: documented only in the v3 spec; accepted on every version
    /// because servers still know the value.
    MovedNode,
}

/// A STATUS_CHANGE kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusChangeType {
    /// `UP`
    Up,
    /// `DOWN`
    Down,
}

/// A server-pushed event (always on stream id -1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::enum_variant_names)] // spec names
pub enum Event {
    /// A node joined, left or moved. Nodes may not accept connections yet when
    /// NEW_NODE arrives (section 4.2.6 advises waiting a little).
    TopologyChange {
        /// What happened.
        change: TopologyChangeType,
        /// The node's native-transport address.
        addr: SocketAddr,
    },
    /// A node went up or down.
    StatusChange {
        /// What happened.
        change: StatusChangeType,
        /// The node's native-transport address.
        addr: SocketAddr,
    },
    /// A schema element changed.
    SchemaChange(SchemaChange),
}

impl Event {
    /// The event type string (as used in REGISTER).
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::TopologyChange { .. } => "TOPOLOGY_CHANGE",
            Self::StatusChange { .. } => "STATUS_CHANGE",
            Self::SchemaChange(_) => "SCHEMA_CHANGE",
        }
    }

    pub(super) fn read(cur: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(match wire::read_str(cur)? {
            "TOPOLOGY_CHANGE" => {
                let change = match wire::read_str(cur)? {
                    "NEW_NODE" => TopologyChangeType::NewNode,
                    "REMOVED_NODE" => TopologyChangeType::RemovedNode,
                    "MOVED_NODE" => TopologyChangeType::MovedNode,
                    _ => {
                        return Err(DecodeError::Malformed {
                            what: "topology change type",
                        })
                    }
                };
                Self::TopologyChange {
                    change,
                    addr: wire::read_inet(cur)?,
                }
            }
            "STATUS_CHANGE" => {
                let change = match wire::read_str(cur)? {
                    "UP" => StatusChangeType::Up,
                    "DOWN" => StatusChangeType::Down,
                    _ => {
                        return Err(DecodeError::Malformed {
                            what: "status change type",
                        })
                    }
                };
                Self::StatusChange {
                    change,
                    addr: wire::read_inet(cur)?,
                }
            }
            "SCHEMA_CHANGE" => Self::SchemaChange(SchemaChange::read(cur)?),
            _ => return Err(DecodeError::Malformed { what: "event type" }),
        })
    }

    /// Appends the body.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_string(out, self.event_type())?;
        match self {
            Self::TopologyChange { change, addr } => {
                let s = match change {
                    TopologyChangeType::NewNode => "NEW_NODE",
                    TopologyChangeType::RemovedNode => "REMOVED_NODE",
                    TopologyChangeType::MovedNode => "MOVED_NODE",
                };
                wire::write_string(out, s)?;
                wire::write_inet(out, addr);
            }
            Self::StatusChange { change, addr } => {
                let s = match change {
                    StatusChangeType::Up => "UP",
                    StatusChangeType::Down => "DOWN",
                };
                wire::write_string(out, s)?;
                wire::write_inet(out, addr);
            }
            Self::SchemaChange(sc) => sc.encode(out)?,
        }
        Ok(())
    }
}
