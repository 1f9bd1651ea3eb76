//! Typed errors of the protocol layer: what went wrong decoding or encoding bytes.
//! Every decoder returns these instead of panicking; none carries a free-form string.

/// Why bytes from the peer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before a complete item was read.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A length prefix exceeds a configured or protocol maximum.
    #[error("{what} length {len} exceeds the maximum of {max}")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// Claimed length.
        len: u64,
        /// Allowed maximum.
        max: u64,
    },
    /// A length prefix is negative where the spec does not allow it.
    #[error("invalid length {len} for {what}")]
    InvalidLength {
        /// What was being read.
        what: &'static str,
        /// The length read.
        len: i64,
    },
    /// A string is not valid UTF-8.
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 {
        /// What was being read.
        what: &'static str,
    },
    /// An enumerated field holds a value the spec does not define.
    #[error("unknown {what} value {value:#x}")]
    UnknownValue {
        /// Which field.
        what: &'static str,
        /// The value read.
        value: i64,
    },
    /// A field that must have a fixed shape does not (e.g. inet address length 7).
    #[error("malformed {what}")]
    Malformed {
        /// What was malformed.
        what: &'static str,
    },
    /// An unknown opcode byte.
    #[error("unknown opcode {0:#04x}")]
    UnknownOpcode(u8),
    /// A protocol version this crate does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// A header or payload checksum did not match (v5 segments).
    #[error("{what} checksum mismatch: expected {expected:#x}, computed {computed:#x}")]
    ChecksumMismatch {
        /// Which checksum.
        what: &'static str,
        /// Checksum carried on the wire.
        expected: u32,
        /// Checksum computed over the received bytes.
        computed: u32,
    },
    /// LZ4 data could not be decompressed.
    #[error("LZ4 decompression failed for {what}")]
    Decompression {
        /// What was being decompressed.
        what: &'static str,
    },
    /// Bytes were left over after a message body was fully decoded.
    #[error("{extra} unexpected trailing bytes after {what}")]
    TrailingBytes {
        /// Which message.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// The frame's direction bit or opcode does not fit where it was received.
    #[error("unexpected {what}")]
    Unexpected {
        /// What was unexpected.
        what: &'static str,
    },
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A field is longer than its length prefix can express.
    #[error("{what} is too long for the wire: {len} > {max}")]
    TooLong {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The maximum the prefix allows.
        max: usize,
    },
    /// The field or flag is not supported by the negotiated protocol version.
    #[error("{what} is not supported by protocol v{version}")]
    UnsupportedByVersion {
        /// What was asked for.
        what: &'static str,
        /// The negotiated version.
        version: u8,
    },
    /// Values of a message are inconsistent (e.g. named values mixed with positional).
    #[error("invalid message: {what}")]
    Invalid {
        /// What is wrong.
        what: &'static str,
    },
}
