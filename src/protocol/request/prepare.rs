//! PREPARE body: `<query [long string]>` on v3/v4; `<query><flags [int]>[<keyspace>]` on
//! v5 (spec v5 section 4.1.5). Does not own the PREPARED result.

use std::borrow::Cow;

use bytes::BytesMut;

use super::params::check_known;
use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// PREPARE flag 0x01: a keyspace follows (v5 only).
pub const PREPARE_WITH_KEYSPACE: u32 = 0x01;

/// A PREPARE request. Encoding borrows; decoding produces owned data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepare<'a> {
    /// The CQL text to prepare.
    pub query: Cow<'a, str>,
    /// Keyspace to prepare in (v5 only; encoding it on v3/v4 fails).
    pub keyspace: Option<Cow<'a, str>>,
}

impl<'a> Prepare<'a> {
    /// A PREPARE of `query` in the connection's keyspace.
    pub fn new(query: impl Into<Cow<'a, str>>) -> Self {
        Self {
            query: query.into(),
            keyspace: None,
        }
    }

    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> Prepare<'static> {
        Prepare {
            query: Cow::Owned(self.query.into_owned()),
            keyspace: self.keyspace.map(|k| Cow::Owned(k.into_owned())),
        }
    }

    /// Writes the body. The v5 flags \[int\] is always written on v5, even when zero.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if !version.is_v5() {
            if self.keyspace.is_some() {
                return Err(EncodeError::UnsupportedByVersion {
                    what: "PREPARE keyspace",
                    version: version.as_u8(),
                });
            }
            return wire::write_long_string(out, &self.query);
        }
        wire::write_long_string(out, &self.query)?;
        match &self.keyspace {
            None => wire::write_int(out, 0),
            Some(ks) => {
                wire::write_int(out, PREPARE_WITH_KEYSPACE as i32);
                wire::write_string(out, ks)?;
            }
        }
        Ok(())
    }

    /// Reads the body from the cursor; unknown v5 flag bits are an error.
    pub fn decode(
        version: ProtocolVersion,
        buf: &mut &[u8],
    ) -> Result<Prepare<'static>, DecodeError> {
        let query = Cow::Owned(wire::read_long_str(buf)?.to_owned());
        if !version.is_v5() {
            return Ok(Prepare {
                query,
                keyspace: None,
            });
        }
        let flags = wire::read_int(buf)? as u32;
        check_known(flags, PREPARE_WITH_KEYSPACE, "PREPARE flags")?;
        let keyspace = if flags & PREPARE_WITH_KEYSPACE != 0 {
            Some(Cow::Owned(wire::read_string(buf)?))
        } else {
            None
        };
        Ok(Prepare { query, keyspace })
    }
}
