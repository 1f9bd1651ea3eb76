//! EXECUTE body: `<id [short bytes]>[<result_metadata_id [short bytes]>]<query_parameters>`;
//! the result metadata id exists on v5 only (spec v5 section 4.1.6, v4 section 4.1.6).

use std::borrow::Cow;

use bytes::BytesMut;

use super::params::QueryParameters;
use crate::protocol::wire;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// An EXECUTE request. Encoding borrows the id, values and options, so the hot path
/// allocates nothing beyond the output buffer; decoding produces owned data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execute<'a> {
    /// The prepared statement id from the PREPARED result.
    pub id: Cow<'a, [u8]>,
    /// The result metadata id from the PREPARED result (or a later METADATA_CHANGED
    /// rows result). Mandatory on v5 (encoding `None` fails); ignored on v3/v4, where
    /// the field does not exist, so a statement prepared on v5 runs on v4 too.
    pub result_metadata_id: Option<Cow<'a, [u8]>>,
    /// Consistency, values, paging and the other options.
    pub params: QueryParameters<'a>,
}

impl<'a> Execute<'a> {
    /// An EXECUTE of `id` with the given parameters.
    pub fn new(
        id: impl Into<Cow<'a, [u8]>>,
        result_metadata_id: Option<Cow<'a, [u8]>>,
        params: QueryParameters<'a>,
    ) -> Self {
        Self {
            id: id.into(),
            result_metadata_id,
            params,
        }
    }

    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> Execute<'static> {
        Execute {
            id: Cow::Owned(self.id.into_owned()),
            result_metadata_id: self.result_metadata_id.map(|m| Cow::Owned(m.into_owned())),
            params: self.params.into_owned(),
        }
    }

    /// Writes the body.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let meta = self
            .result_metadata_id
            .as_deref()
            .filter(|_| version.is_v5());
        if version.is_v5() && meta.is_none() {
            return Err(EncodeError::Invalid {
                what: "EXECUTE on v5 needs a result metadata id",
            });
        }
        out.reserve(
            2 + self.id.len() + meta.map_or(0, |m| 2 + m.len()) + self.params.encoded_len_hint(),
        );
        wire::write_short_bytes(out, &self.id)?;
        if let Some(meta) = meta {
            wire::write_short_bytes(out, meta)?;
        }
        self.params.encode(version, out)
    }

    /// Reads the body from the cursor.
    pub fn decode(
        version: ProtocolVersion,
        buf: &mut &[u8],
    ) -> Result<Execute<'static>, DecodeError> {
        let id = Cow::Owned(wire::read_short_bytes(buf)?.to_vec());
        let result_metadata_id = if version.is_v5() {
            Some(Cow::Owned(wire::read_short_bytes(buf)?.to_vec()))
        } else {
            None
        };
        let params = QueryParameters::decode(version, buf)?;
        Ok(Execute {
            id,
            result_metadata_id,
            params,
        })
    }
}
