//! Authentication (spec v4 section 4.2.3, AUTHENTICATE / AUTH_CHALLENGE / AUTH_SUCCESS):
//! the public `Authenticator` trait for SASL mechanisms and the PasswordAuthenticator
//! (SASL PLAIN) implementation. The message exchange itself lives in `handshake.rs`.

use std::fmt;

/// An authentication step failed on the client side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed: {message}")]
pub struct AuthError {
    /// What went wrong.
    pub message: String,
}

/// Creates one SASL exchange per new connection.
///
/// ```
/// use ringbolt::PlainTextAuthenticator;
/// let auth = PlainTextAuthenticator::new("cassandra", "cassandra");
/// # let _ = auth;
/// ```
pub trait Authenticator: Send + Sync + fmt::Debug + 'static {
    /// Starts an exchange with a server whose authenticator is `authenticator_class`
    /// (e.g. `org.apache.cassandra.auth.PasswordAuthenticator`).
    fn start_session(&self, authenticator_class: &str) -> Result<Box<dyn AuthSession>, AuthError>;
}

/// One SASL exchange on one connection.
pub trait AuthSession: Send {
    /// The token sent in the first AUTH_RESPONSE.
    fn initial_response(&mut self) -> Result<Vec<u8>, AuthError>;
    /// Answers an AUTH_CHALLENGE.
    fn evaluate_challenge(&mut self, challenge: Option<&[u8]>) -> Result<Vec<u8>, AuthError>;
    /// Sees the final AUTH_SUCCESS token; an error aborts the connection.
    fn success(&mut self, _token: Option<&[u8]>) -> Result<(), AuthError> {
        Ok(())
    }
}

/// Username and password for Cassandra's PasswordAuthenticator (SASL PLAIN).
#[derive(Clone)]
pub struct PlainTextAuthenticator {
    username: String,
    password: String,
}

impl PlainTextAuthenticator {
    /// Credentials for PasswordAuthenticator.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for PlainTextAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainTextAuthenticator")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

struct PlainSession {
    token: Vec<u8>,
}

impl Authenticator for PlainTextAuthenticator {
    fn start_session(&self, _class: &str) -> Result<Box<dyn AuthSession>, AuthError> {
        // SASL PLAIN (RFC 4616): authzid NUL authcid NUL passwd, with an empty authzid.
        let mut token = Vec::with_capacity(2 + self.username.len() + self.password.len());
        token.push(0);
        token.extend_from_slice(self.username.as_bytes());
        token.push(0);
        token.extend_from_slice(self.password.as_bytes());
        Ok(Box::new(PlainSession { token }))
    }
}

impl AuthSession for PlainSession {
    fn initial_response(&mut self) -> Result<Vec<u8>, AuthError> {
        Ok(self.token.clone())
    }

    fn evaluate_challenge(&mut self, _challenge: Option<&[u8]>) -> Result<Vec<u8>, AuthError> {
        Err(AuthError {
            message: "PasswordAuthenticator does not expect a challenge".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_token_layout_and_redacted_debug() {
        let a = PlainTextAuthenticator::new("cassandra", "secret");
        let mut s = a
            .start_session("org.apache.cassandra.auth.PasswordAuthenticator")
            .unwrap();
        assert_eq!(s.initial_response().unwrap(), b"\0cassandra\0secret");
        assert!(s.evaluate_challenge(None).is_err());
        assert!(!format!("{a:?}").contains("secret"));
    }
}
