//! Sans-IO CQL native protocol (v3, v4, v5): bytes in, typed messages out, and back.
//! This module owns wire primitives, frame headers, v5 segments, every request and
//! response body and CQL type encoding. It never performs I/O and must not depend on
//! any async runtime (a unit test enforces this).

mod consistency;
pub mod error;
pub mod frame;
pub mod request;
pub mod response;
pub mod segment;
pub mod types;
pub mod wire;

#[cfg(test)]
mod fixture_tests;

pub use consistency::Consistency;
pub use error::{DecodeError, EncodeError};

/// A native protocol version this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// Protocol v3 (Cassandra 2.1+), decode/encode only; kept for fallback.
    V3 = 3,
    /// Protocol v4 (Cassandra 2.2+).
    V4 = 4,
    /// Protocol v5 (Cassandra 4.0+): segment framing after the handshake.
    V5 = 5,
}

impl ProtocolVersion {
    /// The version number carried in the low 7 bits of the first header byte.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Parses a version number (direction bit already removed).
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        match v {
            3 => Ok(Self::V3),
            4 => Ok(Self::V4),
            5 => Ok(Self::V5),
            other => Err(DecodeError::UnsupportedVersion(other)),
        }
    }

    /// True for v5 and later (segment framing, v5 body layouts).
    pub fn is_v5(self) -> bool {
        self >= Self::V5
    }
}

/// Message opcodes (spec v5 section 2.4.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Opcode {
    Error = 0x00,
    Startup = 0x01,
    Ready = 0x02,
    Authenticate = 0x03,
    Options = 0x05,
    Supported = 0x06,
    Query = 0x07,
    Result = 0x08,
    Prepare = 0x09,
    Execute = 0x0A,
    Register = 0x0B,
    Event = 0x0C,
    Batch = 0x0D,
    AuthChallenge = 0x0E,
    AuthResponse = 0x0F,
    AuthSuccess = 0x10,
}

impl Opcode {
    /// Parses an opcode byte.
    pub fn from_u8(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            0x00 => Self::Error,
            0x01 => Self::Startup,
            0x02 => Self::Ready,
            0x03 => Self::Authenticate,
            0x05 => Self::Options,
            0x06 => Self::Supported,
            0x07 => Self::Query,
            0x08 => Self::Result,
            0x09 => Self::Prepare,
            0x0A => Self::Execute,
            0x0B => Self::Register,
            0x0C => Self::Event,
            0x0D => Self::Batch,
            0x0E => Self::AuthChallenge,
            0x0F => Self::AuthResponse,
            0x10 => Self::AuthSuccess,
            other => return Err(DecodeError::UnknownOpcode(other)),
        })
    }

    /// The message name as the spec writes it (e.g. `AUTH_CHALLENGE`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::Startup => "STARTUP",
            Self::Ready => "READY",
            Self::Authenticate => "AUTHENTICATE",
            Self::Options => "OPTIONS",
            Self::Supported => "SUPPORTED",
            Self::Query => "QUERY",
            Self::Result => "RESULT",
            Self::Prepare => "PREPARE",
            Self::Execute => "EXECUTE",
            Self::Register => "REGISTER",
            Self::Event => "EVENT",
            Self::Batch => "BATCH",
            Self::AuthChallenge => "AUTH_CHALLENGE",
            Self::AuthResponse => "AUTH_RESPONSE",
            Self::AuthSuccess => "AUTH_SUCCESS",
        }
    }

    /// True for opcodes a client sends.
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Self::Startup
                | Self::Options
                | Self::Query
                | Self::Prepare
                | Self::Execute
                | Self::Register
                | Self::Batch
                | Self::AuthResponse
        )
    }
}

#[cfg(test)]
mod sans_io_test {
    /// The protocol layer must stay free of any async runtime (DESIGN.md, principle 1)
    /// and of the rest of the crate (it is the bottom layer).
    #[test]
    fn protocol_module_stays_sans_io() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protocol");
        let mut stack = vec![root];
        let mut checked = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let needle = ["to", "kio"].concat();
                    let bad = text
                        .lines()
                        .filter(|l| l.contains(&needle))
                        .collect::<Vec<_>>();
                    assert!(
                        bad.is_empty(),
                        "{} names the async runtime: {bad:?}",
                        path.display()
                    );
                    // Nothing from the crate outside the protocol folder either.
                    let outside = text
                        .lines()
                        .filter(|l| l.contains("crate::") && !l.contains("crate::protocol"))
                        .collect::<Vec<_>>();
                    assert!(
                        outside.is_empty(),
                        "{} imports from outside the protocol: {outside:?}",
                        path.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 5,
            "expected to scan the protocol sources, scanned {checked}"
        );
    }
}
