//! The 9-byte frame header (v3/v4 frames, v5 envelopes: spec v4 s2, v5 s2.4), frame
//! flags, the body-length guard, the v3/v4 frame stream decoder and frame-level LZ4
//! (v3/v4 only, spec v4 s5). It does not own v5 segments (segment.rs) nor the message
//! bodies and the response envelope (tracing id, warnings, custom payload).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{wire, DecodeError, EncodeError, Opcode, ProtocolVersion};

/// Length of a frame (v5: envelope) header.
pub const HEADER_LEN: usize = 9;

/// Largest frame body the spec allows (spec v4 s2.5, v5 s2.4.1.5: 256MB); the decoder's
/// default limit and the encoder's hard limit.
pub const DEFAULT_MAX_BODY_LEN: usize = 256 * 1024 * 1024;

/// Direction bit of the version byte (spec v4 s2.1).
const RESPONSE_BIT: u8 = 0x80;

/// The flags byte of a frame header (spec v4 s2.2, v5 s2.4.1.2). Unknown bits are kept
/// as received ("currently unused and ignored").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FrameFlags(u8);

impl FrameFlags {
    /// The body is compressed (v3/v4 only; deprecated and ignored in v5).
    pub const COMPRESSION: Self = Self(0x01);
    /// Request: trace this request. Response: the body starts with a tracing id.
    pub const TRACING: Self = Self(0x02);
    /// A custom payload ([bytes map]) is present in the body.
    pub const CUSTOM_PAYLOAD: Self = Self(0x04);
    /// Response: the body contains warnings ([string list]).
    pub const WARNING: Self = Self(0x08);
    /// Request: the client opts in to a beta protocol version (v5 s2.4.1.2).
    pub const USE_BETA: Self = Self(0x10);

    /// No flag set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Flags from a raw byte (unknown bits kept).
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// The raw byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True when every flag of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: Self) {
        self.0 &= !other.0;
    }
}

impl std::ops::BitOr for FrameFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Which way a frame travels (the most significant bit of the version byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server.
    Request,
    /// Server to client (responses and events).
    Response,
}

/// A compression algorithm agreed in STARTUP ("COMPRESSION" option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// LZ4 block format. v3/v4: per frame body, prefixed by the big-endian uncompressed
    /// length (spec v4 s5). v5: per segment (spec v5 s2.2).
    Lz4,
}

impl Compression {
    /// The value of the STARTUP "COMPRESSION" option.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lz4 => "lz4",
        }
    }
}

/// A decoded 9-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Protocol version (low 7 bits of the first byte).
    pub version: ProtocolVersion,
    /// Request or response (high bit of the first byte).
    pub direction: Direction,
    /// Frame flags.
    pub flags: FrameFlags,
    /// Stream id; negative ids are server-initiated (events use -1).
    pub stream: i16,
    /// Message opcode.
    pub opcode: Opcode,
    /// Length of the body that follows the header.
    pub body_len: u32,
}

impl FrameHeader {
    /// Decodes the first [`HEADER_LEN`] bytes of `buf` (more bytes are ignored). The body
    /// length is not checked here; [`FrameDecoder`] checks it against its maximum.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut cur = wire::take(&mut &buf[..], HEADER_LEN, "frame header")?;
        let v = wire::read_byte(&mut cur)?;
        let direction = if v & RESPONSE_BIT != 0 {
            Direction::Response
        } else {
            Direction::Request
        };
        let version = ProtocolVersion::from_u8(v & !RESPONSE_BIT)?;
        let flags = FrameFlags::from_bits(wire::read_byte(&mut cur)?);
        let stream = wire::read_short(&mut cur)? as i16;
        let opcode = Opcode::from_u8(wire::read_byte(&mut cur)?)?;
        let body_len = wire::read_int(&mut cur)? as u32;
        Ok(Self {
            version,
            direction,
            flags,
            stream,
            opcode,
            body_len,
        })
    }

    /// Appends the 9 header bytes to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let dir = match self.direction {
            Direction::Request => 0,
            Direction::Response => RESPONSE_BIT,
        };
        out.reserve(HEADER_LEN);
        out.put_u8(self.version.as_u8() | dir);
        out.put_u8(self.flags.bits());
        out.put_i16(self.stream);
        out.put_u8(self.opcode as u8);
        out.put_u32(self.body_len);
    }
}

/// One decoded frame (v5: envelope).
///
/// `body` is never compressed: frame-level LZ4 (v3/v4) has been undone, the COMPRESSION
/// flag is cleared and `header.body_len` is the length of `body`. The body still starts
/// with the response envelope (tracing id, warnings, custom payload) that the response
/// module parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The header (see the type doc for COMPRESSION and body_len).
    pub header: FrameHeader,
    /// The (decompressed) body.
    pub body: Bytes,
}

/// Splits one frame at a time off a v3/v4 byte stream (and off a v5 stream before segment
/// framing starts, spec v5 s2.3.1). Sans-IO: the caller appends bytes, `decode` takes.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_body_len: usize,
    compression: Option<Compression>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BODY_LEN)
    }
}

impl FrameDecoder {
    /// A decoder rejecting bodies longer than `max_body_len` (wire or decompressed),
    /// without compression.
    pub fn new(max_body_len: usize) -> Self {
        Self {
            max_body_len,
            compression: None,
        }
    }

    /// The largest accepted body.
    pub fn max_body_len(&self) -> usize {
        self.max_body_len
    }

    /// The compression used for frames flagged COMPRESSION (v3/v4).
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// Sets the negotiated compression. On v3/v4 the server may compress its answer to
    /// STARTUP already (spec v4 s5), so set this when STARTUP is sent.
    pub fn set_compression(&mut self, compression: Option<Compression>) {
        self.compression = compression;
    }

    /// Takes one whole frame off the front of `buf`. `Ok(None)`: more bytes are needed
    /// (and `buf` has room reserved for them). The body length is checked against the
    /// maximum as soon as the header is in, before anything is reserved.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, DecodeError> {
        if buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let mut header = FrameHeader::decode(buf)?;
        let body_len = header.body_len as usize;
        if body_len > self.max_body_len {
            return Err(DecodeError::TooLong {
                what: "frame body",
                len: u64::from(header.body_len),
                max: self.max_body_len as u64,
            });
        }
        let total = HEADER_LEN + body_len;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let mut frame = buf.split_to(total);
        frame.advance(HEADER_LEN);
        let mut body = frame.freeze();
        if header.flags.contains(FrameFlags::COMPRESSION) {
            // v5 s2.4: the envelope flag is deprecated and ignored; v3/v4: decompress.
            if !header.version.is_v5() {
                body = match self.compression {
                    Some(Compression::Lz4) => decompress_lz4_body(&body, self.max_body_len)?,
                    None => {
                        return Err(DecodeError::Unexpected {
                            what: "compressed frame while no compression was negotiated",
                        })
                    }
                };
            }
            header.flags.remove(FrameFlags::COMPRESSION);
            header.body_len = body.len() as u32;
        }
        Ok(Some(Frame { header, body }))
    }
}

/// Undoes v3/v4 frame-body LZ4: a big-endian \[int\] uncompressed length, then an LZ4 block
/// (spec v4 s5; Cassandra's transport `Compressor.LZ4Compressor` writes exactly that).
pub fn decompress_lz4_body(body: &[u8], max_len: usize) -> Result<Bytes, DecodeError> {
    let mut cur = body;
    let len = wire::read_int(&mut cur)?;
    if len < 0 {
        return Err(DecodeError::InvalidLength {
            what: "LZ4 uncompressed length",
            len: i64::from(len),
        });
    }
    let len = len as usize;
    // An LZ4 block expands at most ~255x: refuse to allocate for a claim no input of this
    // size can produce (DESIGN principle 2).
    let reachable = cur.len().saturating_mul(255).saturating_add(16);
    if len > max_len || len > reachable {
        return Err(DecodeError::TooLong {
            what: "LZ4 uncompressed length",
            len: len as u64,
            max: max_len.min(reachable) as u64,
        });
    }
    if len == 0 {
        return Ok(Bytes::new());
    }
    let mut out = vec![0u8; len];
    match lz4_flex::block::decompress_into(cur, &mut out) {
        Ok(n) if n == len => Ok(out.into()),
        _ => Err(DecodeError::Decompression { what: "frame body" }),
    }
}

/// Appends `input` LZ4-compressed (block format, no length prefix) to `out`; returns the
/// compressed length.
pub(crate) fn lz4_compress_append(input: &[u8], out: &mut BytesMut) -> Result<usize, EncodeError> {
    let start = out.len();
    out.resize(
        start + lz4_flex::block::get_maximum_output_size(input.len()),
        0,
    );
    match lz4_flex::block::compress_into(input, &mut out[start..]) {
        Ok(n) => {
            out.truncate(start + n);
            Ok(n)
        }
        Err(_) => {
            out.truncate(start);
            Err(EncodeError::Invalid {
                what: "LZ4 output buffer too small",
            })
        }
    }
}

/// Encodes one frame into `out`: the header, then the body written by `write_body`
/// straight into `out`, then the patched length. One frame, one buffer.
///
/// When `flags` contains COMPRESSION (v3/v4 only) the body is LZ4-compressed through a
/// scratch copy, per spec v4 s5; the flag needs `compression`, and STARTUP is never
/// compressed. On v5 the flag is refused: v5 compresses segments, never envelopes (spec v5
/// s2.4), and `compression` is ignored. On any error `out` is left as it was.
#[allow(clippy::too_many_arguments)]
pub fn encode_frame(
    out: &mut BytesMut,
    version: ProtocolVersion,
    direction: Direction,
    flags: FrameFlags,
    stream: i16,
    opcode: Opcode,
    compression: Option<Compression>,
    write_body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let compress = flags.contains(FrameFlags::COMPRESSION);
    if compress {
        if version.is_v5() {
            return Err(EncodeError::UnsupportedByVersion {
                what: "frame COMPRESSION flag (v5 compresses segments)",
                version: version.as_u8(),
            });
        }
        if compression.is_none() {
            return Err(EncodeError::Invalid {
                what: "COMPRESSION flag without a negotiated compression",
            });
        }
        if opcode == Opcode::Startup {
            return Err(EncodeError::Invalid {
                what: "STARTUP must not be compressed",
            });
        }
    }
    let start = out.len();
    FrameHeader {
        version,
        direction,
        flags,
        stream,
        opcode,
        body_len: 0,
    }
    .encode(out);
    let body_start = out.len();
    let result = write_body(out).and_then(|()| {
        if compress {
            let raw = out[body_start..].to_vec();
            out.truncate(body_start);
            out.put_i32(wire::int_len(raw.len(), "frame body")?);
            lz4_compress_append(&raw, out)?;
        }
        let len = out.len() - body_start;
        if len > DEFAULT_MAX_BODY_LEN {
            return Err(EncodeError::TooLong {
                what: "frame body",
                len,
                max: DEFAULT_MAX_BODY_LEN,
            });
        }
        Ok(len as u32)
    });
    match result {
        Ok(len) => {
            out[start + 5..start + HEADER_LEN].copy_from_slice(&len.to_be_bytes());
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests;
