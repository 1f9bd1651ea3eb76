//! Tests of the codec adapter: delegation in both modes and the v5 switch.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::*;
use crate::protocol::frame::{encode_frame, Direction, FrameFlags, DEFAULT_MAX_BODY_LEN};
use crate::protocol::segment::encode_frames_as_segments;
use crate::protocol::Opcode;

fn frame(
    version: ProtocolVersion,
    direction: Direction,
    stream: i16,
    opcode: Opcode,
    body: &[u8],
) -> BytesMut {
    let mut out = BytesMut::new();
    encode_frame(
        &mut out,
        version,
        direction,
        FrameFlags::empty(),
        stream,
        opcode,
        None,
        |b| {
            b.extend_from_slice(body);
            Ok(())
        },
    )
    .unwrap();
    out
}

#[test]
fn v4_frames_pass_through_unchanged() {
    let mut codec = CqlCodec::new(ProtocolVersion::V4, DEFAULT_MAX_BODY_LEN);
    let req = frame(
        ProtocolVersion::V4,
        Direction::Request,
        1,
        Opcode::Options,
        b"",
    );
    let mut wire = BytesMut::new();
    codec.encode(req.clone().freeze(), &mut wire).unwrap();
    assert_eq!(wire, req);
    let mut resp = frame(
        ProtocolVersion::V4,
        Direction::Response,
        1,
        Opcode::Supported,
        &[0, 0],
    );
    let f = codec.decode(&mut resp).unwrap().unwrap();
    assert_eq!((f.header.opcode, f.header.stream), (Opcode::Supported, 1));
    assert!(codec.enable_v5_framing(None).is_err(), "v4 has no segments");
}

#[test]
fn v5_switches_to_segments_right_after_ready() {
    for compression in [None, Some(Compression::Lz4)] {
        let mut client = CqlCodec::new(ProtocolVersion::V5, DEFAULT_MAX_BODY_LEN);
        // The server's READY (unframed) and its next answer (framed) arrive together.
        let mut wire = frame(
            ProtocolVersion::V5,
            Direction::Response,
            0,
            Opcode::Ready,
            b"",
        );
        let result = frame(
            ProtocolVersion::V5,
            Direction::Response,
            1,
            Opcode::Result,
            &[0, 0, 0, 1],
        );
        encode_frames_as_segments(&mut wire, &result, compression).unwrap();
        let ready = client.decode(&mut wire).unwrap().unwrap();
        assert_eq!(ready.header.opcode, Opcode::Ready);
        client.enable_v5_framing(compression).unwrap();
        assert!(client.is_v5_framing());
        let f = client.decode(&mut wire).unwrap().unwrap();
        assert_eq!(
            (f.header.opcode, &f.body[..]),
            (Opcode::Result, &[0, 0, 0, 1][..])
        );
        assert_eq!(client.decode_eof(&mut wire).unwrap(), None);

        // Outgoing: two queued frames become one self-contained segment.
        let mut queued = frame(
            ProtocolVersion::V5,
            Direction::Request,
            2,
            Opcode::Query,
            b"q1",
        );
        queued.extend_from_slice(&frame(
            ProtocolVersion::V5,
            Direction::Request,
            3,
            Opcode::Query,
            b"q2",
        ));
        let mut out = BytesMut::new();
        client
            .encode(Bytes::from(queued.to_vec()), &mut out)
            .unwrap();
        let mut server = CqlCodec::new(ProtocolVersion::V5, DEFAULT_MAX_BODY_LEN);
        server.enable_v5_framing(compression).unwrap();
        let streams: Vec<i16> = std::iter::from_fn(|| server.decode(&mut out).unwrap())
            .map(|f| f.header.stream)
            .collect();
        assert_eq!(streams, [2, 3]);
    }
}

#[test]
fn errors_are_typed_and_eof_inside_a_frame_is_an_error() {
    let mut codec = CqlCodec::new(ProtocolVersion::V4, 10);
    let mut big = frame(
        ProtocolVersion::V4,
        Direction::Response,
        0,
        Opcode::Result,
        &[0; 11],
    );
    assert!(matches!(
        codec.decode(&mut big),
        Err(CodecError::Decode(DecodeError::TooLong { .. }))
    ));
    let mut half = BytesMut::from(
        &frame(
            ProtocolVersion::V4,
            Direction::Response,
            0,
            Opcode::Ready,
            b"",
        )[..5],
    );
    assert!(matches!(
        codec.decode_eof(&mut half),
        Err(CodecError::Io(_))
    ));
    let mut codec = CqlCodec::new(ProtocolVersion::V5, DEFAULT_MAX_BODY_LEN);
    codec.enable_v5_framing(None).unwrap();
    let mut wire = BytesMut::new();
    encode_segment_bytes(&mut wire);
    wire[0] ^= 1;
    assert!(matches!(
        codec.decode(&mut wire),
        Err(CodecError::Decode(DecodeError::ChecksumMismatch {
            what: "segment header",
            ..
        }))
    ));
}

fn encode_segment_bytes(out: &mut BytesMut) {
    let f = frame(
        ProtocolVersion::V5,
        Direction::Response,
        0,
        Opcode::Ready,
        b"",
    );
    encode_frames_as_segments(out, &f, None).unwrap();
}
