//! QUERY body: `<query [long string]><query_parameters>` (spec v4/v5 section 4.1.4).
//! The parameters themselves live in params.rs.

use std::borrow::Cow;

use bytes::BytesMut;

use super::params::QueryParameters;
use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// A QUERY request: an unprepared CQL statement and its parameters. Encoding borrows;
/// decoding produces owned data (`Query<'static>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<'a> {
    /// The CQL text.
    pub query: Cow<'a, str>,
    /// Consistency, values, paging and the other options.
    pub params: QueryParameters<'a>,
}

impl<'a> Query<'a> {
    /// A query with the given text and parameters.
    pub fn new(query: impl Into<Cow<'a, str>>, params: QueryParameters<'a>) -> Self {
        Self {
            query: query.into(),
            params,
        }
    }

    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> Query<'static> {
        Query {
            query: Cow::Owned(self.query.into_owned()),
            params: self.params.into_owned(),
        }
    }

    /// Writes the body.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.reserve(4 + self.query.len() + self.params.encoded_len_hint());
        wire::write_long_string(out, &self.query)?;
        self.params.encode(version, out)
    }

    /// Reads the body from the cursor (trailing bytes are the caller's business).
    pub fn decode(
        version: ProtocolVersion,
        buf: &mut &[u8],
    ) -> Result<Query<'static>, DecodeError> {
        let query = wire::read_long_str(buf)?.to_owned();
        let params = QueryParameters::decode(version, buf)?;
        Ok(Query {
            query: Cow::Owned(query),
            params,
        })
    }
}
