//! STARTUP body: a [string map] of options (spec v5 section 4.1.1), kept in insertion
//! order so re-encoding is byte-exact. Does not decide which options to send.

use bytes::BytesMut;

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// Key of the mandatory CQL version option (value "3.0.0").
pub const CQL_VERSION: &str = "CQL_VERSION";
/// Key of the frame compression option ("lz4"; v3/v4 also "snappy").
pub const COMPRESSION: &str = "COMPRESSION";
/// Key of the free-form driver name shown by `nodetool clientstats`.
pub const DRIVER_NAME: &str = "DRIVER_NAME";
/// Key of the free-form driver version shown by `nodetool clientstats`.
pub const DRIVER_VERSION: &str = "DRIVER_VERSION";
/// Key asking for an Overloaded error instead of backpressure (v4+, value "1").
pub const THROW_ON_OVERLOAD: &str = "THROW_ON_OVERLOAD";
/// Key of the Thrift/compact compatibility mode.
pub const NO_COMPACT: &str = "NO_COMPACT";

/// A STARTUP request: ordered option pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Startup {
    /// The options in wire order; keys are unique when built through `set`.
    pub options: Vec<(String, String)>,
}

impl Startup {
    /// A STARTUP with `CQL_VERSION` = `cql_version` (the only valid value is "3.0.0").
    pub fn new(cql_version: &str) -> Self {
        Self {
            options: vec![(CQL_VERSION.to_owned(), cql_version.to_owned())],
        }
    }

    /// Sets an option, replacing an earlier value of the same key in place.
    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        match self.options.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => value.clone_into(v),
            None => self.options.push((key.to_owned(), value.to_owned())),
        }
        self
    }

    /// The value of an option.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `COMPRESSION`.
    pub fn with_compression(mut self, algorithm: &str) -> Self {
        self.set(COMPRESSION, algorithm);
        self
    }

    /// Sets `DRIVER_NAME`.
    pub fn with_driver_name(mut self, name: &str) -> Self {
        self.set(DRIVER_NAME, name);
        self
    }

    /// Sets `DRIVER_VERSION`.
    pub fn with_driver_version(mut self, version: &str) -> Self {
        self.set(DRIVER_VERSION, version);
        self
    }

    /// Sets `THROW_ON_OVERLOAD` to "1" (true) or "0".
    pub fn with_throw_on_overload(mut self, on: bool) -> Self {
        self.set(THROW_ON_OVERLOAD, if on { "1" } else { "0" });
        self
    }

    /// `CQL_VERSION`, if present.
    pub fn cql_version(&self) -> Option<&str> {
        self.get(CQL_VERSION)
    }

    /// `COMPRESSION`, if present.
    pub fn compression(&self) -> Option<&str> {
        self.get(COMPRESSION)
    }

    /// `DRIVER_NAME`, if present.
    pub fn driver_name(&self) -> Option<&str> {
        self.get(DRIVER_NAME)
    }

    /// `DRIVER_VERSION`, if present.
    pub fn driver_version(&self) -> Option<&str> {
        self.get(DRIVER_VERSION)
    }

    /// True when `THROW_ON_OVERLOAD` is "1" (spec v5 4.1.1: any other value is false).
    pub fn throw_on_overload(&self) -> bool {
        self.get(THROW_ON_OVERLOAD) == Some("1")
    }

    /// Writes the body (same layout on every version).
    pub fn encode(&self, _version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_string_pairs(out, &self.options)
    }

    /// Reads the body from the cursor, keeping the wire order.
    pub fn decode(_version: ProtocolVersion, buf: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            options: wire::read_string_pairs(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_set_in_place_and_read_back() {
        let mut s = Startup::new("3.0.0")
            .with_compression("lz4")
            .with_driver_name("ringbolt")
            .with_driver_version("0.1.0")
            .with_throw_on_overload(true);
        assert_eq!(s.cql_version(), Some("3.0.0"));
        assert_eq!(s.compression(), Some("lz4"));
        assert_eq!(s.driver_name(), Some("ringbolt"));
        assert_eq!(s.driver_version(), Some("0.1.0"));
        assert!(s.throw_on_overload());
        s.set(COMPRESSION, "snappy");
        assert_eq!(s.options.len(), 5);
        assert_eq!(s.options[1], (COMPRESSION.to_owned(), "snappy".to_owned()));
        assert!(!Startup::new("3.0.0")
            .with_throw_on_overload(false)
            .throw_on_overload());
        assert_eq!(Startup::default().cql_version(), None);
    }
}
