//! AUTHENTICATE (spec v5 section 4.2.3): the server names its authenticator class.
//! The SASL exchange itself (tokens, AUTH_RESPONSE) is not here.

use bytes::BytesMut;

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError};

/// The server requires authentication with this authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticate {
    /// Fully qualified IAuthenticator class name, e.g.
    /// `org.apache.cassandra.auth.PasswordAuthenticator`.
    pub authenticator: String,
}

impl Authenticate {
    pub(super) fn read(cur: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            authenticator: wire::read_string(cur)?,
        })
    }

    /// Appends the body.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_string(out, &self.authenticator)
    }
}
