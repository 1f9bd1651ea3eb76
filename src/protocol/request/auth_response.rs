//! AUTH_RESPONSE body: one [bytes] SASL token, possibly null (spec v5 section 4.1.2).
//! Does not build tokens (the authenticator does).

use bytes::{Bytes, BytesMut};

use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// An AUTH_RESPONSE request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AuthResponse {
    /// The SASL token; `None` is a null [bytes].
    pub token: Option<Bytes>,
}

// The token usually holds a password: never print it.
impl std::fmt::Debug for AuthResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthResponse")
            .field("token_len", &self.token.as_ref().map(Bytes::len))
            .finish()
    }
}

impl AuthResponse {
    /// A response carrying `token`.
    pub fn new(token: impl Into<Bytes>) -> Self {
        Self {
            token: Some(token.into()),
        }
    }

    /// The PLAIN SASL token `\0user\0password` used by PasswordAuthenticator.
    pub fn plain(username: &str, password: &str) -> Self {
        let mut t = Vec::with_capacity(2 + username.len() + password.len());
        t.push(0);
        t.extend_from_slice(username.as_bytes());
        t.push(0);
        t.extend_from_slice(password.as_bytes());
        Self::new(t)
    }

    /// Writes the body.
    pub fn encode(&self, _version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        wire::write_bytes(out, self.token.as_deref())
    }

    /// Reads the body from the cursor.
    pub fn decode(_version: ProtocolVersion, buf: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            token: wire::read_bytes(buf)?.map(Bytes::copy_from_slice),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_token_layout_and_debug_hides_it() {
        let a = AuthResponse::plain("cassandra", "secret");
        assert_eq!(a.token.as_deref(), Some(&b"\0cassandra\0secret"[..]));
        assert!(!format!("{a:?}").contains("secret"));
    }
}
