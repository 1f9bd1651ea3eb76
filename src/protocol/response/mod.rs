//! Response bodies (spec v5 section 4.2): the `Response` enum, the response envelope
//! (tracing id, warnings, custom payload; section 2.4.1.2 and section 4) and READY.
//! Every other response lives in its own file. Frame headers, segments and the
//! decoding of row values are not here.

mod auth_challenge;
mod auth_success;
mod authenticate;
mod error;
mod event;
mod result;
mod schema_change;
mod supported;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod tests;

use bytes::{Bytes, BytesMut};

use super::wire;
use super::{DecodeError, EncodeError, Opcode, ProtocolVersion};

pub use auth_challenge::AuthChallenge;
pub use auth_success::AuthSuccess;
pub use authenticate::Authenticate;
pub use error::{ErrorBody, ErrorKind, Failures, WriteType};
pub use event::{Event, StatusChangeType, TopologyChangeType};
pub use result::{
    rows_flags, ColumnSpec, Prepared, PreparedMetadata, ResultBody, Rows, RowsMetadata,
};
pub use schema_change::{SchemaChange, SchemaChangeTarget, SchemaChangeType};
pub use supported::{Supported, SupportedVersion};

/// Envelope flag bits that shape a response body (spec v5 section 2.4.1.2).
pub mod envelope_flags {
    /// The body starts with a `[uuid]` tracing id.
    pub const TRACING: u8 = 0x02;
    /// A `[bytes map]` custom payload follows the tracing id and warnings.
    pub const CUSTOM_PAYLOAD: u8 = 0x04;
    /// A `[string list]` of warnings follows the tracing id.
    pub const WARNING: u8 = 0x08;
}

/// What precedes the message proper in a response body, as announced by the
/// envelope flags: `[<tracing_id>][<warnings>][<custom_payload>]<message>` (section 4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseEnvelope {
    /// The tracing session id, present when the TRACING flag is set.
    pub tracing_id: Option<[u8; 16]>,
    /// Server warnings, present when the WARNING flag is set. An empty list is
    /// encoded without the flag (a flag with zero warnings does not round-trip).
    pub warnings: Vec<String>,
    /// The custom payload, present when the CUSTOM_PAYLOAD flag is set (order kept).
    pub custom_payload: Option<Vec<(String, Option<Bytes>)>>,
}

impl ResponseEnvelope {
    /// Reads the envelope fields that `flags` announce from the front of `body`,
    /// leaving the cursor at the start of the message. Other flag bits are ignored.
    pub fn decode(flags: u8, body: &mut &[u8]) -> Result<Self, DecodeError> {
        use envelope_flags::*;
        let tracing_id = if flags & TRACING != 0 {
            Some(wire::read_uuid(body)?)
        } else {
            None
        };
        let warnings = if flags & WARNING != 0 {
            wire::read_string_list(body)?
        } else {
            Vec::new()
        };
        let custom_payload = if flags & CUSTOM_PAYLOAD != 0 {
            Some(wire::read_bytes_map(body)?)
        } else {
            None
        };
        Ok(Self {
            tracing_id,
            warnings,
            custom_payload,
        })
    }

    /// The envelope flag bits this envelope needs.
    pub fn flags(&self) -> u8 {
        use envelope_flags::*;
        let mut f = 0;
        if self.tracing_id.is_some() {
            f |= TRACING;
        }
        if !self.warnings.is_empty() {
            f |= WARNING;
        }
        if self.custom_payload.is_some() {
            f |= CUSTOM_PAYLOAD;
        }
        f
    }

    /// Appends the envelope fields in spec order and returns the flag bits to set in
    /// the frame header (OR them with any other flags, e.g. compression).
    pub fn encode(&self, out: &mut BytesMut) -> Result<u8, EncodeError> {
        if let Some(id) = &self.tracing_id {
            wire::write_uuid(out, id);
        }
        if !self.warnings.is_empty() {
            wire::write_string_list(out, &self.warnings)?;
        }
        if let Some(p) = &self.custom_payload {
            wire::write_bytes_map(out, p)?;
        }
        Ok(self.flags())
    }
}

/// A server-to-client message body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// ERROR (section 4.2.1).
    Error(ErrorBody),
    /// READY (section 4.2.2): an empty body.
    Ready,
    /// AUTHENTICATE (section 4.2.3).
    Authenticate(Authenticate),
    /// SUPPORTED (section 4.2.4).
    Supported(Supported),
    /// RESULT (section 4.2.5).
    Result(ResultBody),
    /// EVENT (section 4.2.6).
    Event(Event),
    /// AUTH_CHALLENGE (section 4.2.7).
    AuthChallenge(AuthChallenge),
    /// AUTH_SUCCESS (section 4.2.8).
    AuthSuccess(AuthSuccess),
}

impl Response {
    /// The opcode this response travels under.
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Error(_) => Opcode::Error,
            Self::Ready => Opcode::Ready,
            Self::Authenticate(_) => Opcode::Authenticate,
            Self::Supported(_) => Opcode::Supported,
            Self::Result(_) => Opcode::Result,
            Self::Event(_) => Opcode::Event,
            Self::AuthChallenge(_) => Opcode::AuthChallenge,
            Self::AuthSuccess(_) => Opcode::AuthSuccess,
        }
    }

    /// Decodes a message body that starts after the envelope (see
    /// [`Response::decode_with_envelope`]). Byte fields (paging state, row contents,
    /// prepared ids, tokens) are zero-copy slices of `body`.
    ///
    /// Strict: bytes left after the message are a `TrailingBytes` error. Spec section
    /// 4.2 asks clients to tolerate (and discard) extra data at the end of a response
    /// body for future evolution; callers that want that use [`Response::decode_lenient`].
    pub fn decode(
        opcode: Opcode,
        version: ProtocolVersion,
        body: &Bytes,
    ) -> Result<Self, DecodeError> {
        let (resp, extra) = Self::decode_lenient(opcode, version, body)?;
        if extra != 0 {
            return Err(DecodeError::TrailingBytes {
                what: body_name(opcode),
                extra,
            });
        }
        Ok(resp)
    }

    /// Like [`Response::decode`] but ignores bytes after the message (spec section 4.2),
    /// returning how many were ignored.
    pub fn decode_lenient(
        opcode: Opcode,
        version: ProtocolVersion,
        body: &Bytes,
    ) -> Result<(Self, usize), DecodeError> {
        let mut cur: &[u8] = body;
        let cur = &mut cur;
        let resp = match opcode {
            Opcode::Error => Self::Error(ErrorBody::read(version, body, cur)?),
            Opcode::Ready => Self::Ready,
            Opcode::Authenticate => Self::Authenticate(Authenticate::read(cur)?),
            Opcode::Supported => Self::Supported(Supported::read(cur)?),
            Opcode::Result => Self::Result(ResultBody::read(version, body, cur)?),
            Opcode::Event => Self::Event(Event::read(cur)?),
            Opcode::AuthChallenge => Self::AuthChallenge(AuthChallenge::read(body, cur)?),
            Opcode::AuthSuccess => Self::AuthSuccess(AuthSuccess::read(body, cur)?),
            _ => {
                return Err(DecodeError::Unexpected {
                    what: "request opcode in a response",
                })
            }
        };
        Ok((resp, cur.len()))
    }

    /// Decodes the envelope fields announced by `flags` (header flag bits) and then the
    /// message, strictly. The message's byte fields are slices of `body`.
    pub fn decode_with_envelope(
        flags: u8,
        opcode: Opcode,
        version: ProtocolVersion,
        body: &Bytes,
    ) -> Result<(ResponseEnvelope, Self), DecodeError> {
        let mut cur: &[u8] = body;
        let env = ResponseEnvelope::decode(flags, &mut cur)?;
        let rest = body.slice(body.len() - cur.len()..);
        Ok((env, Self::decode(opcode, version, &rest)?))
    }

    /// Appends the message body (without envelope) for `version`.
    pub fn encode_body(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        match self {
            Self::Error(e) => e.encode(version, out),
            Self::Ready => Ok(()),
            Self::Authenticate(a) => a.encode(out),
            Self::Supported(s) => s.encode(out),
            Self::Result(r) => r.encode(version, out),
            Self::Event(e) => e.encode(out),
            Self::AuthChallenge(a) => a.encode(out),
            Self::AuthSuccess(a) => a.encode(out),
        }
    }
}

fn body_name(opcode: Opcode) -> &'static str {
    opcode.name()
}

/// A zero-copy `Bytes` for `part`, a sub-slice of `body` obtained by reading a cursor
/// over it. Falls back to a copy (never panics) if `part` is not inside `body`.
fn slice_of(body: &Bytes, part: &[u8]) -> Bytes {
    let base = body.as_ptr() as usize;
    let start = (part.as_ptr() as usize).wrapping_sub(base);
    match start.checked_add(part.len()) {
        Some(end) if start <= body.len() && end <= body.len() => body.slice(start..end),
        _ => Bytes::copy_from_slice(part),
    }
}

/// Reads `[bytes]` as a zero-copy slice of `body` (`None` is null).
fn read_bytes_in(body: &Bytes, cur: &mut &[u8]) -> Result<Option<Bytes>, DecodeError> {
    Ok(wire::read_bytes(cur)?.map(|b| slice_of(body, b)))
}

/// Reads `[short bytes]` as a zero-copy slice of `body`.
fn read_short_bytes_in(body: &Bytes, cur: &mut &[u8]) -> Result<Bytes, DecodeError> {
    Ok(slice_of(body, wire::read_short_bytes(cur)?))
}

/// Reads an `[int]` that the spec uses as a count or length and must not be negative.
fn read_count(cur: &mut &[u8], what: &'static str) -> Result<usize, DecodeError> {
    let n = wire::read_int(cur)?;
    usize::try_from(n).map_err(|_| DecodeError::InvalidLength {
        what,
        len: n.into(),
    })
}
