//! REGISTER body: a [string list] of event types (spec v5 section 4.1.8), and the
//! `EventType` enum (event names of section 4.2.6). Does not decode EVENT bodies.

use bytes::BytesMut;

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// An event type a connection can register for.
#[allow(clippy::enum_variant_names)] // the names mirror the wire names
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// "TOPOLOGY_CHANGE": nodes added, removed or moved.
    TopologyChange,
    /// "STATUS_CHANGE": nodes up or down.
    StatusChange,
    /// "SCHEMA_CHANGE": keyspaces, tables, types, functions, aggregates changed.
    SchemaChange,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopologyChange => "TOPOLOGY_CHANGE",
            Self::StatusChange => "STATUS_CHANGE",
            Self::SchemaChange => "SCHEMA_CHANGE",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "TOPOLOGY_CHANGE" => Self::TopologyChange,
            "STATUS_CHANGE" => Self::StatusChange,
            "SCHEMA_CHANGE" => Self::SchemaChange,
            _ => return None,
        })
    }
}

/// A REGISTER request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Register {
    /// The event types, in wire order.
    pub events: Vec<EventType>,
}

impl Register {
    /// Registers for the given events.
    pub fn new(events: impl Into<Vec<EventType>>) -> Self {
        Self {
            events: events.into(),
        }
    }

    /// Writes the body.
    pub fn encode(&self, _version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let n = wire::short_len(self.events.len(), "[string list]")?;
        wire::write_short(out, n);
        for e in &self.events {
            wire::write_string(out, e.as_str())?;
        }
        Ok(())
    }

    /// Reads the body from the cursor; an unknown event name is an error.
    pub fn decode(_version: ProtocolVersion, buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let n = wire::read_short(buf)?;
        let n = wire::check_count(buf, usize::from(n), 2, "[string list]")?;
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            let name = wire::read_str(buf)?;
            events.push(EventType::parse(name).ok_or(DecodeError::Malformed {
                what: "REGISTER event type",
            })?);
        }
        Ok(Self { events })
    }
}
