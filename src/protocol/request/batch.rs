//! BATCH body (spec v4/v5 section 4.1.7): `<type><n><query_1>...<query_n><consistency>
//! <flags>[<serial_consistency>][<timestamp>][<keyspace>][<now_in_seconds>]`, flags a
//! [byte] on v3/v4 and an [int] on v5. Children carry positional values only.

use std::borrow::Cow;

use bytes::BytesMut;

use super::params::{check_known, flags, read_flags, write_flags, CommonOptions};
use super::values::SerializedValues;
use crate::protocol::wire;
use crate::protocol::Consistency;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// The kind of batch (the `<type>` byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BatchType {
    /// 0: atomic through the batch log.
    #[default]
    Logged = 0,
    /// 1: no batch log.
    Unlogged = 1,
    /// 2: counter updates only.
    Counter = 2,
}

impl BatchType {
    /// Parses the `<type>` byte.
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        match v {
            0 => Ok(Self::Logged),
            1 => Ok(Self::Unlogged),
            2 => Ok(Self::Counter),
            other => Err(DecodeError::UnknownValue {
                what: "batch type",
                value: other.into(),
            }),
        }
    }
}

/// What a batch child runs: CQL text (kind 0) or a prepared id (kind 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatementKind<'a> {
    /// Kind 0: a [long string] query.
    Query(Cow<'a, str>),
    /// Kind 1: a [short bytes] prepared statement id.
    Prepared(Cow<'a, [u8]>),
}

/// One child of a batch with its positional values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatement<'a> {
    /// CQL text or prepared id.
    pub kind: BatchStatementKind<'a>,
    /// Bound values by position (possibly none).
    pub values: Cow<'a, SerializedValues>,
}

impl BatchStatement<'_> {
    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> BatchStatement<'static> {
        BatchStatement {
            kind: match self.kind {
                BatchStatementKind::Query(q) => {
                    BatchStatementKind::Query(Cow::Owned(q.into_owned()))
                }
                BatchStatementKind::Prepared(id) => {
                    BatchStatementKind::Prepared(Cow::Owned(id.into_owned()))
                }
            },
            values: Cow::Owned(self.values.into_owned()),
        }
    }

    fn encoded_len(&self) -> usize {
        1 + match &self.kind {
            BatchStatementKind::Query(q) => 4 + q.len(),
            BatchStatementKind::Prepared(id) => 2 + id.len(),
        } + self.values.encoded_len()
    }
}

/// A BATCH request. Named values (flag 0x40) are never produced and rejected when
/// decoding: spec 4.1.7 says the feature "does not work and should not be used"
/// (CASSANDRA-10246). Encoding borrows; decoding produces owned data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<'a> {
    /// Logged, unlogged or counter.
    pub batch_type: BatchType,
    /// The children, at most 65,535.
    pub statements: Vec<BatchStatement<'a>>,
    /// Consistency level of the batch.
    pub consistency: Consistency,
    /// Serial consistency, timestamp and the v5-only keyspace and now_in_seconds.
    pub options: CommonOptions<'a>,
}

/// BATCH flags a version may carry (the 4 low bits "must always be 0", 4.1.7).
fn known_batch_flags(version: ProtocolVersion) -> u32 {
    let base = flags::SERIAL_CONSISTENCY | flags::DEFAULT_TIMESTAMP;
    if version.is_v5() {
        base | flags::KEYSPACE | flags::NOW_IN_SECONDS
    } else {
        base
    }
}

impl<'a> Batch<'a> {
    /// An empty batch of the given type and consistency.
    pub fn new(batch_type: BatchType, consistency: Consistency) -> Self {
        Self {
            batch_type,
            statements: Vec::new(),
            consistency,
            options: CommonOptions::default(),
        }
    }

    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> Batch<'static> {
        Batch {
            batch_type: self.batch_type,
            statements: self
                .statements
                .into_iter()
                .map(BatchStatement::into_owned)
                .collect(),
            consistency: self.consistency,
            options: self.options.into_owned(),
        }
    }

    /// Writes the body.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let f = self.options.flags(version)?;
        let n = wire::short_len(self.statements.len(), "batch statements count")?;
        out.reserve(
            3 + self
                .statements
                .iter()
                .map(BatchStatement::encoded_len)
                .sum::<usize>()
                + 22,
        );
        wire::write_byte(out, self.batch_type as u8);
        wire::write_short(out, n);
        for s in &self.statements {
            match &s.kind {
                BatchStatementKind::Query(q) => {
                    wire::write_byte(out, 0);
                    wire::write_long_string(out, q)?;
                }
                BatchStatementKind::Prepared(id) => {
                    wire::write_byte(out, 1);
                    wire::write_short_bytes(out, id)?;
                }
            }
            s.values.encode(version, out)?;
        }
        wire::write_consistency(out, self.consistency);
        write_flags(out, version, f);
        self.options.encode_fields(out)
    }

    /// Reads the body from the cursor; a hostile child count fails before allocating.
    pub fn decode(
        version: ProtocolVersion,
        buf: &mut &[u8],
    ) -> Result<Batch<'static>, DecodeError> {
        let batch_type = BatchType::from_u8(wire::read_byte(buf)?)?;
        let n = wire::read_short(buf)?;
        // smallest child: kind (1) + empty [short bytes] (2) + value count (2)
        let n = wire::check_count(buf, usize::from(n), 5, "batch statements")?;
        let mut statements = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = match wire::read_byte(buf)? {
                0 => BatchStatementKind::Query(Cow::Owned(wire::read_long_str(buf)?.to_owned())),
                1 => {
                    BatchStatementKind::Prepared(Cow::Owned(wire::read_short_bytes(buf)?.to_vec()))
                }
                other => {
                    return Err(DecodeError::UnknownValue {
                        what: "batch statement kind",
                        value: other.into(),
                    })
                }
            };
            let values = Cow::Owned(SerializedValues::decode(version, buf)?);
            statements.push(BatchStatement { kind, values });
        }
        let consistency = wire::read_consistency(buf)?;
        let f = read_flags(buf, version)?;
        check_known(f, known_batch_flags(version), "batch flags")?;
        let options = CommonOptions::decode_fields(f, buf)?;
        Ok(Batch {
            batch_type,
            statements,
            consistency,
            options,
        })
    }
}
