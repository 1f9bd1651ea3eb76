//! v5 sending side: turns a buffer of whole envelopes (written by `encode_frame`) into
//! segments. Consecutive small envelopes share self-contained segments; an envelope
//! larger than one segment is split over non-self-contained segments of its own (spec v5
//! s1, s2.4). The segment wire format itself is segment.rs's.

use bytes::BytesMut;

use super::{encode_segment, MAX_SEGMENT_PAYLOAD};
use crate::protocol::frame::{Compression, HEADER_LEN};
use crate::protocol::EncodeError;

/// Packs envelopes into segments with the connection's segment compression.
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentWriter {
    compression: Option<Compression>,
}

impl SegmentWriter {
    /// A writer producing segments with `compression` (None: uncompressed format).
    pub fn new(compression: Option<Compression>) -> Self {
        Self { compression }
    }

    /// The segment compression in use.
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// Appends `frames` (zero or more whole envelopes, back to back) to `out` as segments.
    pub fn write(&self, frames: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
        encode_frames_as_segments(out, frames, self.compression)
    }
}

/// Appends `frames` (zero or more whole envelopes, back to back) to `out` as segments:
/// runs of envelopes that fit in [`MAX_SEGMENT_PAYLOAD`] go into one self-contained
/// segment each; a larger envelope is cut into non-self-contained segments carrying only
/// that envelope. Input that does not end on an envelope boundary is refused and `out`
/// is then left as it was.
pub fn encode_frames_as_segments(
    out: &mut BytesMut,
    frames: &[u8],
    compression: Option<Compression>,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = pack(out, frames, compression);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn pack(
    out: &mut BytesMut,
    frames: &[u8],
    compression: Option<Compression>,
) -> Result<(), EncodeError> {
    let mut run_start = 0;
    let mut pos = 0;
    while pos < frames.len() {
        let header = frames
            .get(pos..pos + HEADER_LEN)
            .ok_or(EncodeError::Invalid {
                what: "segment input ends inside an envelope header",
            })?;
        let body_len = u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
        let frame_len = HEADER_LEN.saturating_add(body_len as usize);
        let end = pos
            .checked_add(frame_len)
            .filter(|&end| end <= frames.len())
            .ok_or(EncodeError::Invalid {
                what: "segment input ends inside an envelope body",
            })?;
        if frame_len > MAX_SEGMENT_PAYLOAD {
            if run_start < pos {
                encode_segment(out, &frames[run_start..pos], true, compression)?;
            }
            for chunk in frames[pos..end].chunks(MAX_SEGMENT_PAYLOAD) {
                encode_segment(out, chunk, false, compression)?;
            }
            run_start = end;
        } else if end - run_start > MAX_SEGMENT_PAYLOAD {
            encode_segment(out, &frames[run_start..pos], true, compression)?;
            run_start = pos;
        }
        pos = end;
    }
    if run_start < frames.len() {
        encode_segment(out, &frames[run_start..], true, compression)?;
    }
    Ok(())
}
