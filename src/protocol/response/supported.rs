//! SUPPORTED (spec v5 section 4.2.4): the STARTUP options a server accepts, as a
//! [string multimap] in wire order, with helpers for the well-known keys. Choosing
//! options from it (version, compression) is the handshake's job, not this file's.

use bytes::BytesMut;

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError};

/// The answer to OPTIONS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supported {
    /// Every option and its supported values, in wire order.
    pub options: Vec<(String, Vec<String>)>,
}

/// One entry of `PROTOCOL_VERSIONS`, e.g. `5/v5-beta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedVersion {
    /// The version number before the slash.
    pub version: u8,
    /// The description after the slash (e.g. `v5-beta`).
    pub description: String,
    /// True when the description contains "beta" (section 4.2.4).
    pub beta: bool,
}

impl Supported {
    pub(super) fn read(cur: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            options: wire::read_string_multimap(cur)?,
        })
    }

    /// Appends the body.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_string_multimap(out, &self.options)
    }

    /// The values of `key` (exact, case-sensitive match; first occurrence).
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// `CQL_VERSION` values (e.g. `3.4.7`); empty when absent.
    pub fn cql_versions(&self) -> &[String] {
        self.get("CQL_VERSION").unwrap_or_default()
    }

    /// `COMPRESSION` values (e.g. `lz4`, `snappy`); empty when absent.
    pub fn compression(&self) -> &[String] {
        self.get("COMPRESSION").unwrap_or_default()
    }

    /// Parsed `PROTOCOL_VERSIONS` entries; entries that do not parse as
    /// `<number>/<description>` are skipped.
    pub fn protocol_versions(&self) -> Vec<SupportedVersion> {
        self.get("PROTOCOL_VERSIONS")
            .unwrap_or_default()
            .iter()
            .filter_map(|s| {
                let (num, desc) = s.split_once('/')?;
                Some(SupportedVersion {
                    version: num.trim().parse().ok()?,
                    description: desc.to_owned(),
                    beta: desc.contains("beta"),
                })
            })
            .collect()
    }
}
