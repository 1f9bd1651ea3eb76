//! OPTIONS body: empty (spec v5 section 4.1.3). The SUPPORTED answer lives in response/.

use bytes::BytesMut;

use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// An OPTIONS request; its body is empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options;

impl Options {
    /// Writes the (empty) body.
    pub fn encode(
        &self,
        _version: ProtocolVersion,
        _out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        Ok(())
    }

    /// Reads the (empty) body; leftover bytes are the caller's business.
    pub fn decode(_version: ProtocolVersion, _buf: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self)
    }
}
