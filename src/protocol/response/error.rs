//! ERROR (spec v5 section 4.2.1 and section 8; v4 section 9): the code, the message
//! and the per-code extra fields, for v3, v4 and v5 layouts. Deciding what an error
//! means for retries (idempotence, next host) belongs to the session layer.

use std::net::IpAddr;

use bytes::{Bytes, BytesMut};

use crate::protocol::wire::{self, check_count};
use crate::protocol::Consistency;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// An ERROR response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// The raw error code; always equal to `kind.code()`.
    pub code: i32,
    /// The server's message.
    pub message: String,
    /// The code-specific fields.
    pub kind: ErrorKind,
}

/// The error code with its extra fields (spec v5 section 8).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 0x0000: a server-side bug.
    ServerError,
    /// 0x000A: the client violated the protocol.
    ProtocolError,
    /// 0x0100: authentication failed.
    BadCredentials,
    /// 0x1000: not enough replicas alive for the consistency level.
    Unavailable {
        /// The requested consistency level.
        consistency: Consistency,
        /// Replicas required.
        required: i32,
        /// Replicas known alive.
        alive: i32,
    },
    /// 0x1001: the coordinator is overloaded.
    Overloaded,
    /// 0x1002: the coordinator is bootstrapping.
    IsBootstrapping,
    /// 0x1003: a truncation failed.
    TruncateError,
    /// 0x1100: a write timed out.
    WriteTimeout {
        /// The requested consistency level.
        consistency: Consistency,
        /// Replicas that acknowledged.
        received: i32,
        /// Acknowledgements required.
        block_for: i32,
        /// What kind of write timed out.
        write_type: WriteType,
        /// v5, CAS writes only: Paxos contentions. Cassandra writes it only for its
        /// dedicated CAS-timeout exception, so a v5 CAS timeout may lack it; it is
        /// read when the body does not end after the write type.
        contentions: Option<u16>,
    },
    /// 0x1200: a read timed out.
    ReadTimeout {
        /// The requested consistency level.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers required.
        block_for: i32,
        /// Whether the replica asked for data answered (wire byte != 0).
        data_present: bool,
    },
    /// 0x1300: a read failed on some replicas (not a timeout).
    ReadFailure {
        /// The requested consistency level.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers required.
        block_for: i32,
        /// v3/v4: a count; v5: a reason per failed replica.
        failures: Failures,
        /// Whether the replica asked for data answered (wire byte != 0).
        data_present: bool,
    },
    /// 0x1400: a user-defined function failed.
    FunctionFailure {
        /// Keyspace of the function.
        keyspace: String,
        /// Function name.
        function: String,
        /// One CQL type per argument.
        arg_types: Vec<String>,
    },
    /// 0x1500: a write failed on some replicas (not a timeout).
    WriteFailure {
        /// The requested consistency level.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers required.
        block_for: i32,
        /// v3/v4: a count; v5: a reason per failed replica.
        failures: Failures,
        /// What kind of write failed.
        write_type: WriteType,
    },
    /// 0x1600: a write to a CDC-tracked table was rejected (no extra fields).
    CdcWriteFailure,
    /// 0x1700: a contended CAS write may or may not have been applied.
    CasWriteUnknown {
        /// The requested consistency level.
        consistency: Consistency,
        /// Replicas that acknowledged.
        received: i32,
        /// Acknowledgements required.
        block_for: i32,
    },
    /// 0x2000: the query has a syntax error.
    SyntaxError,
    /// 0x2100: the user lacks a permission.
    Unauthorized,
    /// 0x2200: the query is syntactically correct but invalid.
    Invalid,
    /// 0x2300: a configuration problem.
    ConfigError,
    /// 0x2400: the keyspace or table exists already.
    AlreadyExists {
        /// The keyspace (or the table's keyspace).
        keyspace: String,
        /// The table; empty when a keyspace already exists.
        table: String,
    },
    /// 0x2500: the prepared statement id is unknown on this node.
    Unprepared {
        /// The unknown id.
        id: Bytes,
    },
    /// A code this crate does not know; the message is kept and the bytes after it
    /// are kept raw (not an error, so new server codes do not break connections).
    Unknown {
        /// The code.
        code: i32,
        /// Everything after the message, uninterpreted.
        extra: Bytes,
    },
}

/// Which replicas failed (Read_failure / Write_failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failures {
    /// v3/v4 `<numfailures>`.
    Count(i32),
    /// v5 `<reasonmap>`: each failed replica and its failure code, in wire order.
    Reasons(Vec<(IpAddr, u16)>),
}

impl Failures {
    /// The number of failed replicas.
    pub fn count(&self) -> usize {
        match self {
            Self::Count(n) => usize::try_from(*n).unwrap_or(0),
            Self::Reasons(r) => r.len(),
        }
    }
}

/// The `<writeType>` of a write timeout or failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteType {
    /// `SIMPLE`: a non-batched, non-counter write.
    Simple,
    /// `BATCH`: a logged batch; the batch log was written.
    Batch,
    /// `UNLOGGED_BATCH`
    UnloggedBatch,
    /// `COUNTER`
    Counter,
    /// `BATCH_LOG`: the batch log write itself timed out.
    BatchLog,
    /// `CAS`: a lightweight transaction.
    Cas,
    /// `VIEW`: materialized view lock.
    View,
    /// `CDC`: cdc space exceeded.
    Cdc,
    /// A value this crate does not know, kept verbatim.
    Other(String),
}

impl WriteType {
    /// Parses the wire string (unknown values become `Other`).
    pub fn parse(s: &str) -> Self {
        match s {
            "SIMPLE" => Self::Simple,
            "BATCH" => Self::Batch,
            "UNLOGGED_BATCH" => Self::UnloggedBatch,
            "COUNTER" => Self::Counter,
            "BATCH_LOG" => Self::BatchLog,
            "CAS" => Self::Cas,
            "VIEW" => Self::View,
            "CDC" => Self::Cdc,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Simple => "SIMPLE",
            Self::Batch => "BATCH",
            Self::UnloggedBatch => "UNLOGGED_BATCH",
            Self::Counter => "COUNTER",
            Self::BatchLog => "BATCH_LOG",
            Self::Cas => "CAS",
            Self::View => "VIEW",
            Self::Cdc => "CDC",
            Self::Other(s) => s,
        }
    }
}

impl ErrorKind {
    /// The wire code of this kind.
    pub fn code(&self) -> i32 {
        match self {
            Self::ServerError => 0x0000,
            Self::ProtocolError => 0x000A,
            Self::BadCredentials => 0x0100,
            Self::Unavailable { .. } => 0x1000,
            Self::Overloaded => 0x1001,
            Self::IsBootstrapping => 0x1002,
            Self::TruncateError => 0x1003,
            Self::WriteTimeout { .. } => 0x1100,
            Self::ReadTimeout { .. } => 0x1200,
            Self::ReadFailure { .. } => 0x1300,
            Self::FunctionFailure { .. } => 0x1400,
            Self::WriteFailure { .. } => 0x1500,
            Self::CdcWriteFailure => 0x1600,
            Self::CasWriteUnknown { .. } => 0x1700,
            Self::SyntaxError => 0x2000,
            Self::Unauthorized => 0x2100,
            Self::Invalid => 0x2200,
            Self::ConfigError => 0x2300,
            Self::AlreadyExists { .. } => 0x2400,
            Self::Unprepared { .. } => 0x2500,
            Self::Unknown { code, .. } => *code,
        }
    }
}

impl ErrorBody {
    /// Builds an error body; `code` is taken from `kind`.
    pub fn new(message: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            code: kind.code(),
            message: message.into(),
            kind,
        }
    }

    pub(super) fn read(
        version: ProtocolVersion,
        body: &Bytes,
        cur: &mut &[u8],
    ) -> Result<Self, DecodeError> {
        let code = wire::read_int(cur)?;
        let message = wire::read_string(cur)?;
        let kind = read_kind(code, version, body, cur)?;
        Ok(Self {
            code,
            message,
            kind,
        })
    }

    /// Appends the body for `version`. Fails when `code` disagrees with `kind`, or a
    /// field does not exist in `version` (failure counts vs reason maps, contentions).
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self.code != self.kind.code() {
            return Err(EncodeError::Invalid {
                what: "error code does not match its kind",
            });
        }
        if let ErrorKind::Unknown { code, .. } = &self.kind {
            // A known code would decode as its typed kind, not round-trip as Unknown.
            let probe = read_kind(*code, version, &Bytes::new(), &mut &[][..]);
            if !matches!(probe, Ok(ErrorKind::Unknown { .. })) {
                return Err(EncodeError::Invalid {
                    what: "Unknown error kind with a known code",
                });
            }
        }
        wire::write_int(out, self.code);
        wire::write_string(out, &self.message)?;
        write_kind(&self.kind, version, out)
    }
}

fn read_kind(
    code: i32,
    version: ProtocolVersion,
    body: &Bytes,
    cur: &mut &[u8],
) -> Result<ErrorKind, DecodeError> {
    use ErrorKind as K;
    Ok(match code {
        0x0000 => K::ServerError,
        0x000A => K::ProtocolError,
        0x0100 => K::BadCredentials,
        0x1000 => K::Unavailable {
            consistency: wire::read_consistency(cur)?,
            required: wire::read_int(cur)?,
            alive: wire::read_int(cur)?,
        },
        0x1001 => K::Overloaded,
        0x1002 => K::IsBootstrapping,
        0x1003 => K::TruncateError,
        0x1100 => {
            let consistency = wire::read_consistency(cur)?;
            let received = wire::read_int(cur)?;
            let block_for = wire::read_int(cur)?;
            let write_type = WriteType::parse(wire::read_str(cur)?);
            // v5 section 8: <contentions> only for CAS. Cassandra's encoder writes it
            // only for its CAS-timeout exception class (a plain timeout with write type
            // CAS carries none), so it is read only when the body goes on.
            let contentions = if version.is_v5() && write_type == WriteType::Cas && !cur.is_empty()
            {
                Some(wire::read_short(cur)?)
            } else {
                None
            };
            K::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            }
        }
        0x1200 => K::ReadTimeout {
            consistency: wire::read_consistency(cur)?,
            received: wire::read_int(cur)?,
            block_for: wire::read_int(cur)?,
            data_present: wire::read_byte(cur)? != 0,
        },
        0x1300 => K::ReadFailure {
            consistency: wire::read_consistency(cur)?,
            received: wire::read_int(cur)?,
            block_for: wire::read_int(cur)?,
            failures: read_failures(version, cur)?,
            data_present: wire::read_byte(cur)? != 0,
        },
        0x1400 => K::FunctionFailure {
            keyspace: wire::read_string(cur)?,
            function: wire::read_string(cur)?,
            arg_types: wire::read_string_list(cur)?,
        },
        0x1500 => K::WriteFailure {
            consistency: wire::read_consistency(cur)?,
            received: wire::read_int(cur)?,
            block_for: wire::read_int(cur)?,
            failures: read_failures(version, cur)?,
            write_type: WriteType::parse(wire::read_str(cur)?),
        },
        0x1600 => K::CdcWriteFailure,
        0x1700 => K::CasWriteUnknown {
            consistency: wire::read_consistency(cur)?,
            received: wire::read_int(cur)?,
            block_for: wire::read_int(cur)?,
        },
        0x2000 => K::SyntaxError,
        0x2100 => K::Unauthorized,
        0x2200 => K::Invalid,
        0x2300 => K::ConfigError,
        0x2400 => K::AlreadyExists {
            keyspace: wire::read_string(cur)?,
            table: wire::read_string(cur)?,
        },
        0x2500 => K::Unprepared {
            id: super::read_short_bytes_in(body, cur)?,
        },
        code => {
            let extra = super::slice_of(body, cur);
            *cur = &[];
            K::Unknown { code, extra }
        }
    })
}

/// v5: `<reasonmap>` = `[int]` n, then n × (<endpoint `[inetaddr]`><failurecode `[short]`>).
/// v3/v4: `<numfailures>` `[int]`.
fn read_failures(version: ProtocolVersion, cur: &mut &[u8]) -> Result<Failures, DecodeError> {
    if !version.is_v5() {
        return Ok(Failures::Count(wire::read_int(cur)?));
    }
    let n = super::read_count(cur, "failure reason map")?;
    // smallest entry: 1-byte size + 4-byte IPv4 + [short]
    let n = check_count(cur, n, 7, "failure reason map")?;
    let mut reasons = Vec::with_capacity(n);
    for _ in 0..n {
        let ip = wire::read_inetaddr(cur)?;
        reasons.push((ip, wire::read_short(cur)?));
    }
    Ok(Failures::Reasons(reasons))
}

fn write_failures(
    f: &Failures,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    match (f, version.is_v5()) {
        (Failures::Count(n), false) => wire::write_int(out, *n),
        (Failures::Reasons(r), true) => {
            wire::write_int(out, wire::int_len(r.len(), "failure reason map")?);
            for (ip, code) in r {
                wire::write_inetaddr(out, ip);
                wire::write_short(out, *code);
            }
        }
        (Failures::Count(_), true) => {
            return Err(EncodeError::UnsupportedByVersion {
                what: "failure count without reason map",
                version: version.as_u8(),
            })
        }
        (Failures::Reasons(_), false) => {
            return Err(EncodeError::UnsupportedByVersion {
                what: "failure reason map",
                version: version.as_u8(),
            })
        }
    }
    Ok(())
}

fn write_timeout_head(out: &mut BytesMut, cl: Consistency, received: i32, block_for: i32) {
    wire::write_consistency(out, cl);
    wire::write_int(out, received);
    wire::write_int(out, block_for);
}

fn write_kind(
    kind: &ErrorKind,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    use ErrorKind as K;
    match kind {
        K::Unavailable {
            consistency,
            required,
            alive,
        } => write_timeout_head(out, *consistency, *required, *alive),
        K::WriteTimeout {
            consistency,
            received,
            block_for,
            write_type,
            contentions,
        } => {
            write_timeout_head(out, *consistency, *received, *block_for);
            wire::write_string(out, write_type.as_str())?;
            if let Some(c) = contentions {
                if !version.is_v5() || *write_type != WriteType::Cas {
                    return Err(EncodeError::UnsupportedByVersion {
                        what: "write timeout contentions (v5 CAS only)",
                        version: version.as_u8(),
                    });
                }
                wire::write_short(out, *c);
            }
        }
        K::ReadTimeout {
            consistency,
            received,
            block_for,
            data_present,
        } => {
            write_timeout_head(out, *consistency, *received, *block_for);
            wire::write_byte(out, u8::from(*data_present));
        }
        K::ReadFailure {
            consistency,
            received,
            block_for,
            failures,
            data_present,
        } => {
            write_timeout_head(out, *consistency, *received, *block_for);
            write_failures(failures, version, out)?;
            wire::write_byte(out, u8::from(*data_present));
        }
        K::FunctionFailure {
            keyspace,
            function,
            arg_types,
        } => {
            wire::write_string(out, keyspace)?;
            wire::write_string(out, function)?;
            wire::write_string_list(out, arg_types)?;
        }
        K::WriteFailure {
            consistency,
            received,
            block_for,
            failures,
            write_type,
        } => {
            write_timeout_head(out, *consistency, *received, *block_for);
            write_failures(failures, version, out)?;
            wire::write_string(out, write_type.as_str())?;
        }
        K::CasWriteUnknown {
            consistency,
            received,
            block_for,
        } => write_timeout_head(out, *consistency, *received, *block_for),
        K::AlreadyExists { keyspace, table } => {
            wire::write_string(out, keyspace)?;
            wire::write_string(out, table)?;
        }
        K::Unprepared { id } => wire::write_short_bytes(out, id)?,
        K::Unknown { extra, .. } => out.extend_from_slice(extra),
        K::ServerError
        | K::ProtocolError
        | K::BadCredentials
        | K::Overloaded
        | K::IsBootstrapping
        | K::TruncateError
        | K::CdcWriteFailure
        | K::SyntaxError
        | K::Unauthorized
        | K::Invalid
        | K::ConfigError => {}
    }
    Ok(())
}
