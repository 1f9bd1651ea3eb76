//! Request bodies of spec section 4.1 (v3, v4, v5): one file per request, the shared
//! query parameters (params.rs) and bound-value containers (values.rs), and the
//! `Request` enum that dispatches on the opcode. Writes and reads bodies only; the
//! frame header and v5 segments are frame.rs / segment.rs.
//!
//! Borrowing: QUERY, PREPARE, EXECUTE and BATCH take a lifetime and hold `Cow`s, so a
//! caller encodes from borrowed text, ids and values without copying; every decoder
//! returns owned data (`'static`).

mod auth_response;
mod batch;
mod execute;
mod options;
mod params;
mod prepare;
mod query;
mod register;
mod startup;
mod values;

#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod round_trip_tests;

use bytes::BytesMut;

pub use auth_response::AuthResponse;
pub use batch::{Batch, BatchStatement, BatchStatementKind, BatchType};
pub use execute::Execute;
pub use options::Options;
pub use params::{flags, CommonOptions, QueryParameters, Values};
pub use prepare::{Prepare, PREPARE_WITH_KEYSPACE};
pub use query::Query;
pub use register::{EventType, Register};
pub use startup::{
    Startup, COMPRESSION, CQL_VERSION, DRIVER_NAME, DRIVER_VERSION, NO_COMPACT, THROW_ON_OVERLOAD,
};
pub use values::{NamedValues, SerializedValues};

use super::{DecodeError, EncodeError, Opcode, ProtocolVersion};

/// Any request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// STARTUP (0x01).
    Startup(Startup),
    /// AUTH_RESPONSE (0x0F).
    AuthResponse(AuthResponse),
    /// OPTIONS (0x05), empty body.
    Options,
    /// QUERY (0x07).
    Query(Query<'a>),
    /// PREPARE (0x09).
    Prepare(Prepare<'a>),
    /// EXECUTE (0x0A).
    Execute(Execute<'a>),
    /// BATCH (0x0D).
    Batch(Batch<'a>),
    /// REGISTER (0x0B).
    Register(Register),
}

impl Request<'_> {
    /// The opcode that goes in the frame header.
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Startup(_) => Opcode::Startup,
            Self::AuthResponse(_) => Opcode::AuthResponse,
            Self::Options => Opcode::Options,
            Self::Query(_) => Opcode::Query,
            Self::Prepare(_) => Opcode::Prepare,
            Self::Execute(_) => Opcode::Execute,
            Self::Batch(_) => Opcode::Batch,
            Self::Register(_) => Opcode::Register,
        }
    }

    /// Appends the body (only the body: framing is `frame::encode_frame`'s job). On
    /// error `out` is left as it was before the call.
    pub fn encode_body(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        let r = match self {
            Self::Startup(m) => m.encode(version, out),
            Self::AuthResponse(m) => m.encode(version, out),
            Self::Options => Options.encode(version, out),
            Self::Query(m) => m.encode(version, out),
            Self::Prepare(m) => m.encode(version, out),
            Self::Execute(m) => m.encode(version, out),
            Self::Batch(m) => m.encode(version, out),
            Self::Register(m) => m.encode(version, out),
        };
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> Request<'static> {
        match self {
            Self::Startup(m) => Request::Startup(m),
            Self::AuthResponse(m) => Request::AuthResponse(m),
            Self::Options => Request::Options,
            Self::Query(m) => Request::Query(m.into_owned()),
            Self::Prepare(m) => Request::Prepare(m.into_owned()),
            Self::Execute(m) => Request::Execute(m.into_owned()),
            Self::Batch(m) => Request::Batch(m.into_owned()),
            Self::Register(m) => Request::Register(m),
        }
    }
}

impl Request<'static> {
    /// Decodes a whole body. A response opcode is `DecodeError::Unexpected`; bytes
    /// left after the body are `DecodeError::TrailingBytes`.
    pub fn decode_body(
        opcode: Opcode,
        version: ProtocolVersion,
        body: &[u8],
    ) -> Result<Request<'static>, DecodeError> {
        let mut buf = body;
        let b = &mut buf;
        let (req, what) = match opcode {
            Opcode::Startup => (Request::Startup(Startup::decode(version, b)?), "STARTUP"),
            Opcode::AuthResponse => (
                Request::AuthResponse(AuthResponse::decode(version, b)?),
                "AUTH_RESPONSE",
            ),
            Opcode::Options => {
                Options::decode(version, b)?;
                (Request::Options, "OPTIONS")
            }
            Opcode::Query => (Request::Query(Query::decode(version, b)?), "QUERY"),
            Opcode::Prepare => (Request::Prepare(Prepare::decode(version, b)?), "PREPARE"),
            Opcode::Execute => (Request::Execute(Execute::decode(version, b)?), "EXECUTE"),
            Opcode::Batch => (Request::Batch(Batch::decode(version, b)?), "BATCH"),
            Opcode::Register => (Request::Register(Register::decode(version, b)?), "REGISTER"),
            Opcode::Error
            | Opcode::Ready
            | Opcode::Authenticate
            | Opcode::Supported
            | Opcode::Result
            | Opcode::Event
            | Opcode::AuthChallenge
            | Opcode::AuthSuccess => {
                return Err(DecodeError::Unexpected {
                    what: "response opcode where a request was expected",
                })
            }
        };
        if !buf.is_empty() {
            return Err(DecodeError::TrailingBytes {
                what,
                extra: buf.len(),
            });
        }
        Ok(req)
    }
}
