//! v5 receiving side: turns segment payloads back into frames (envelopes). A
//! self-contained payload holds one or more whole envelopes; non-self-contained payloads
//! are accumulated until their one envelope is complete (spec v5 s1, s2.4). Checksums and
//! decompression happen earlier, in segment.rs.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::Segment;
use crate::protocol::frame::{Frame, FrameFlags, FrameHeader, HEADER_LEN};
use crate::protocol::DecodeError;

/// Reassembles frames from segments. Feed segments in arrival order with
/// [`push`](Self::push), take frames with [`next_frame`](Self::next_frame).
#[derive(Debug, Clone)]
pub struct FrameAssembler {
    max_body_len: usize,
    /// Bytes of a multi-segment envelope received so far.
    partial: BytesMut,
    /// Full length (header + body) of that envelope once its header is in.
    partial_len: Option<usize>,
    ready: VecDeque<Frame>,
}

impl FrameAssembler {
    /// An assembler refusing envelope bodies longer than `max_body_len`.
    pub fn new(max_body_len: usize) -> Self {
        Self {
            max_body_len,
            partial: BytesMut::new(),
            partial_len: None,
            ready: VecDeque::new(),
        }
    }

    /// The next complete frame, in arrival order.
    pub fn next_frame(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }

    /// True when no envelope is half-received.
    pub fn is_idle(&self) -> bool {
        self.partial.is_empty()
    }

    /// Adds one segment. Errors are connection-fatal: a self-contained segment that does
    /// not hold whole envelopes, one arriving in the middle of a multi-segment envelope, a
    /// multi-segment envelope overrunning its length, a body above the maximum.
    pub fn push(&mut self, segment: Segment) -> Result<(), DecodeError> {
        if segment.self_contained {
            if !self.is_idle() {
                return Err(DecodeError::Unexpected {
                    what: "self-contained segment inside a multi-segment envelope",
                });
            }
            self.push_contained(segment.payload)
        } else {
            self.push_part(&segment.payload)
        }
    }

    fn check_header(&self, bytes: &[u8]) -> Result<(FrameHeader, usize), DecodeError> {
        let header = FrameHeader::decode(bytes)?;
        let body_len = header.body_len as usize;
        if body_len > self.max_body_len {
            return Err(DecodeError::TooLong {
                what: "envelope body",
                len: u64::from(header.body_len),
                max: self.max_body_len as u64,
            });
        }
        Ok((header, HEADER_LEN + body_len))
    }

    fn push_contained(&mut self, mut payload: Bytes) -> Result<(), DecodeError> {
        while !payload.is_empty() {
            let (header, len) = self.check_header(&payload)?;
            if payload.len() < len {
                return Err(DecodeError::Truncated {
                    what: "envelope in a self-contained segment",
                    need: len,
                    have: payload.len(),
                });
            }
            let envelope = payload.split_to(len);
            self.emit(header, envelope.slice(HEADER_LEN..));
        }
        Ok(())
    }

    fn push_part(&mut self, payload: &[u8]) -> Result<(), DecodeError> {
        self.partial.extend_from_slice(payload);
        if self.partial_len.is_none() && self.partial.len() >= HEADER_LEN {
            let (_, len) = self.check_header(&self.partial)?;
            self.partial.reserve(len.saturating_sub(self.partial.len()));
            self.partial_len = Some(len);
        }
        let Some(len) = self.partial_len else {
            return Ok(());
        };
        if self.partial.len() > len {
            return Err(DecodeError::TrailingBytes {
                what: "multi-segment envelope",
                extra: self.partial.len() - len,
            });
        }
        if self.partial.len() == len {
            let envelope = std::mem::take(&mut self.partial).freeze();
            self.partial_len = None;
            let header = FrameHeader::decode(&envelope)?;
            self.emit(header, envelope.slice(HEADER_LEN..));
        }
        Ok(())
    }

    fn emit(&mut self, mut header: FrameHeader, body: Bytes) {
        // v5 s2.4: the envelope COMPRESSION flag is deprecated and ignored.
        header.flags.remove(FrameFlags::COMPRESSION);
        self.ready.push_back(Frame { header, body });
    }
}
