//! AUTH_CHALLENGE (spec v5 section 4.2.7): one SASL server challenge token.
//! What the token means belongs to the authenticator, not to this file.

use bytes::{Bytes, BytesMut};

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError};

/// A server authentication challenge; answer with AUTH_RESPONSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthChallenge {
    /// The challenge token; `None` when the server sent a null `[bytes]`.
    pub token: Option<Bytes>,
}

impl AuthChallenge {
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
