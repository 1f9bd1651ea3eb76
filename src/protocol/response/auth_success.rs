//! AUTH_SUCCESS (spec v5 section 4.2.8): the end of a successful SASL exchange.
//! What the final token means belongs to the authenticator, not to this file.

use bytes::{Bytes, BytesMut};

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError};

/// Authentication succeeded; the connection is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSuccess {
    /// Final information from the server; `None` when it sent a null `[bytes]`.
    pub token: Option<Bytes>,
}

impl AuthSuccess {
    pub(super) fn read(body: &Bytes, cur: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            token: super::read_bytes_in(body, cur)?,
        })
    }

    /// Appends the body.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_bytes(out, self.token.as_deref())
    }
}
