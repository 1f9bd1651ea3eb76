//! tokio-util `Decoder`/`Encoder` adapter over the sans-IO framing layer: frames out of
//! the socket, already-encoded frame buffers into it, v5 segments once switched on. It
//! only delegates; all framing logic lives in protocol::frame and protocol::segment.

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::protocol::frame::{Compression, Frame, FrameDecoder};
use crate::protocol::segment::{FrameAssembler, SegmentDecoder, SegmentWriter};
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// Why the codec failed; every variant is connection-fatal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The peer sent bytes that do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Frames handed to the encoder could not be framed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The socket failed, or closed in the middle of a frame.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug)]
struct V5Framing {
    segments: SegmentDecoder,
    assembler: FrameAssembler,
    writer: SegmentWriter,
}

/// Frames in, frames out. Starts unframed (v3/v4, and v5 before the handshake ends).
#[derive(Debug)]
pub struct CqlCodec {
    version: ProtocolVersion,
    frames: FrameDecoder,
    v5: Option<V5Framing>,
}

impl CqlCodec {
    /// A codec for `version`, refusing frame bodies above `max_body_len`.
    pub fn new(version: ProtocolVersion, max_body_len: usize) -> Self {
        Self {
            version,
            frames: FrameDecoder::new(max_body_len),
            v5: None,
        }
    }

    /// The protocol version of the connection.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// v3/v4 frame-level LZ4 on or off for decoding. Set it when STARTUP with COMPRESSION
    /// is sent: the server may already compress its answer (spec v4 s5). Outgoing frames
    /// carry their own COMPRESSION flag (see `encode_frame`).
    pub fn set_frame_compression(&mut self, compression: Option<Compression>) {
        self.frames.set_compression(compression);
    }

    /// Switches both directions to v5 segment framing with `compression` (the STARTUP
    /// COMPRESSION option). Call it right after decoding the READY or AUTHENTICATE that
    /// answers STARTUP, before decoding anything else or writing the next request (spec
    /// v5 s2.3.1). Bytes already buffered are then decoded as segments.
    pub fn enable_v5_framing(
        &mut self,
        compression: Option<Compression>,
    ) -> Result<(), EncodeError> {
        if !self.version.is_v5() {
            return Err(EncodeError::UnsupportedByVersion {
                what: "segment framing",
                version: self.version.as_u8(),
            });
        }
        self.v5 = Some(V5Framing {
            segments: SegmentDecoder::new(compression),
            assembler: FrameAssembler::new(self.frames.max_body_len()),
            writer: SegmentWriter::new(compression),
        });
        Ok(())
    }

    /// True once v5 segment framing is on.
    pub fn is_v5_framing(&self) -> bool {
        self.v5.is_some()
    }
}

impl Decoder for CqlCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        let Some(v5) = &mut self.v5 else {
            return Ok(self.frames.decode(src)?);
        };
        loop {
            if let Some(frame) = v5.assembler.next_frame() {
                return Ok(Some(frame));
            }
            match v5.segments.decode(src)? {
                Some(segment) => v5.assembler.push(segment)?,
                None => return Ok(None),
            }
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        let idle = self.v5.as_ref().is_none_or(|v5| v5.assembler.is_idle());
        if src.is_empty() && idle {
            Ok(None)
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed inside a frame",
            )
            .into())
        }
    }
}

/// Takes one or more whole frames written by `encode_frame` (any byte container) and
/// writes them out, wrapped into segments once v5 framing is on.
impl<B: AsRef<[u8]>> Encoder<B> for CqlCodec {
    type Error = CodecError;

    fn encode(&mut self, frames: B, dst: &mut BytesMut) -> Result<(), CodecError> {
        match &self.v5 {
            Some(v5) => v5.writer.write(frames.as_ref(), dst)?,
            None => dst.extend_from_slice(frames.as_ref()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
