//! v5 segment framing (spec v5 s2.1-2.2; the spec calls segments "frames" and frames
//! "envelopes"): the 6-byte (uncompressed) or 8-byte (LZ4) header with its CRC24, the
//! payload and its CRC32 trailer, and the segment stream decoder. Packing envelopes into
//! segments lives in segment/pack.rs, reassembling them in segment/assemble.rs; the
//! envelope header itself is frame.rs's.

mod assemble;
mod crc;
#[cfg(test)]
mod mutation_tests;
mod pack;
#[cfg(test)]
mod tests;

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub use self::assemble::FrameAssembler;
pub use self::pack::{encode_frames_as_segments, SegmentWriter};
use super::frame::{lz4_compress_append, Compression};
use super::{DecodeError, EncodeError};

/// Largest segment payload: a 17-bit length (spec v5 s2.1/2.2: 128 KiB - 1).
pub const MAX_SEGMENT_PAYLOAD: usize = 128 * 1024 - 1;
/// Header length of an uncompressed segment (spec v5 s2.1).
pub const UNCOMPRESSED_HEADER_LEN: usize = 6;
/// Header length of an LZ4 segment (spec v5 s2.2).
pub const LZ4_HEADER_LEN: usize = 8;
/// Length of the CRC32 trailer after the payload.
pub const TRAILER_LEN: usize = 4;

const LEN_MASK: u64 = 0x1_FFFF;

/// One decoded segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// True: the payload holds one or more whole envelopes. False: it holds part of one
    /// large envelope split over consecutive segments (spec v5 s1).
    pub self_contained: bool,
    /// The payload, decompressed if it arrived LZ4-compressed.
    pub payload: Bytes,
}

/// Writes `bytes` as `n` little-endian bytes (all v5 framing integers are little-endian).
fn put_le(out: &mut BytesMut, v: u64, n: usize) {
    out.put_slice(&v.to_le_bytes()[..n]);
}

fn read_le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

/// Appends one segment carrying `payload` to `out`. With LZ4 the payload is compressed,
/// or stored as-is (uncompressed length 0, spec v5 s2.2) when compression would not shrink
/// it, as Cassandra's `FrameEncoderLZ4` does. On error `out` is left as it was.
///
/// Spec subtlety: s2.3.2 says an uncompressed payload is signalled by a *compressed*
/// length of 0, contradicting s2.2; Cassandra (`FrameDecoderLZ4`/`FrameEncoderLZ4`) uses
/// an *uncompressed* length of 0, and so do we, in both directions.
pub fn encode_segment(
    out: &mut BytesMut,
    payload: &[u8],
    self_contained: bool,
    compression: Option<Compression>,
) -> Result<(), EncodeError> {
    if payload.len() > MAX_SEGMENT_PAYLOAD {
        return Err(EncodeError::TooLong {
            what: "segment payload",
            len: payload.len(),
            max: MAX_SEGMENT_PAYLOAD,
        });
    }
    let start = out.len();
    match compression {
        None => {
            // 17-bit length, self-contained flag at bit 17, 6 padding bits (spec v5 s2.1).
            let header = payload.len() as u64 | (u64::from(self_contained) << 17);
            out.reserve(UNCOMPRESSED_HEADER_LEN + payload.len() + TRAILER_LEN);
            put_le(out, header, 3);
            put_le(out, u64::from(crc::crc24(&out[start..start + 3])), 3);
            out.put_slice(payload);
        }
        Some(Compression::Lz4) => {
            out.put_bytes(0, LZ4_HEADER_LEN);
            let n = lz4_compress_append(payload, out).inspect_err(|_| out.truncate(start))?;
            let (compressed_len, uncompressed_len) = if n >= payload.len() {
                out.truncate(start + LZ4_HEADER_LEN);
                out.put_slice(payload);
                (payload.len(), 0)
            } else {
                (n, payload.len())
            };
            // 17-bit compressed length, 17-bit uncompressed length, self-contained flag at
            // bit 34, 5 padding bits, then the CRC24 of those 5 bytes (spec v5 s2.2).
            let header = compressed_len as u64
                | ((uncompressed_len as u64) << 17)
                | (u64::from(self_contained) << 34);
            let header5 = &header.to_le_bytes()[..5];
            out[start..start + 5].copy_from_slice(header5);
            let crc = crc::crc24(header5).to_le_bytes();
            out[start + 5..start + LZ4_HEADER_LEN].copy_from_slice(&crc[..3]);
        }
    }
    let header_len = header_len(compression);
    let crc = crc::crc32(&out[start + header_len..]);
    put_le(out, u64::from(crc), TRAILER_LEN);
    Ok(())
}

fn header_len(compression: Option<Compression>) -> usize {
    match compression {
        None => UNCOMPRESSED_HEADER_LEN,
        Some(Compression::Lz4) => LZ4_HEADER_LEN,
    }
}

/// Splits one segment at a time off a v5 byte stream, checking both CRCs and undoing
/// LZ4. Sans-IO: the caller appends bytes, `decode` takes.
#[derive(Debug, Clone, Default)]
pub struct SegmentDecoder {
    compression: Option<Compression>,
}

impl SegmentDecoder {
    /// A decoder for the header format of `compression` (None: 6-byte headers).
    pub fn new(compression: Option<Compression>) -> Self {
        Self { compression }
    }

    /// The compression this decoder expects.
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// Takes one whole segment off the front of `buf`. `Ok(None)`: more bytes are needed.
    /// The header CRC24 is checked as soon as the header is in; a corrupt header or
    /// payload is [`DecodeError::ChecksumMismatch`] (the stream cannot be resynchronised:
    /// the connection must be closed).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Segment>, DecodeError> {
        let header_len = header_len(self.compression);
        if buf.len() < header_len {
            return Ok(None);
        }
        let covered = header_len - 3;
        let header = read_le(&buf[..covered]);
        let expected = read_le(&buf[covered..header_len]) as u32;
        let computed = crc::crc24(&buf[..covered]);
        if expected != computed {
            return Err(DecodeError::ChecksumMismatch {
                what: "segment header",
                expected,
                computed,
            });
        }
        let (wire_len, uncompressed_len, self_contained) = match self.compression {
            None => ((header & LEN_MASK) as usize, 0, header & (1 << 17) != 0),
            Some(Compression::Lz4) => (
                (header & LEN_MASK) as usize,
                ((header >> 17) & LEN_MASK) as usize,
                header & (1 << 34) != 0,
            ),
        };
        let total = header_len + wire_len + TRAILER_LEN;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let mut segment = buf.split_to(total);
        let body_end = header_len + wire_len;
        let expected = read_le(&segment[body_end..]) as u32;
        let computed = crc::crc32(&segment[header_len..body_end]);
        if expected != computed {
            return Err(DecodeError::ChecksumMismatch {
                what: "segment payload",
                expected,
                computed,
            });
        }
        let payload = if uncompressed_len == 0 {
            segment.truncate(body_end);
            segment.advance(header_len);
            segment.freeze()
        } else {
            // Bounded by the 17-bit field: at most 128 KiB.
            let mut out = vec![0u8; uncompressed_len];
            match lz4_flex::block::decompress_into(&segment[header_len..body_end], &mut out) {
                Ok(n) if n == uncompressed_len => Bytes::from(out),
                _ => {
                    return Err(DecodeError::Decompression {
                        what: "segment payload",
                    })
                }
            }
        };
        Ok(Some(Segment {
            self_contained,
            payload,
        }))
    }
}
