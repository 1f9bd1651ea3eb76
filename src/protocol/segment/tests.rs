//! Unit tests of v5 segments: round trips, packing, reassembly, CRC and length checks,
//! golden segments.

use bytes::{Bytes, BytesMut};

use super::*;
use crate::protocol::frame::{
    encode_frame, Direction, Frame, FrameFlags, DEFAULT_MAX_BODY_LEN, HEADER_LEN,
};
use crate::protocol::{Opcode, ProtocolVersion};

const MODES: [Option<Compression>; 2] = [None, Some(Compression::Lz4)];

fn envelope(stream: i16, opcode: Opcode, body: &[u8]) -> BytesMut {
    let mut out = BytesMut::new();
    encode_frame(
        &mut out,
        ProtocolVersion::V5,
        Direction::Request,
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

fn decode_all(wire: &[u8], compression: Option<Compression>) -> (Vec<Segment>, Vec<Frame>) {
    let mut dec = SegmentDecoder::new(compression);
    let mut asm = FrameAssembler::new(DEFAULT_MAX_BODY_LEN);
    let mut buf = BytesMut::from(wire);
    let (mut segments, mut frames) = (Vec::new(), Vec::new());
    while let Some(s) = dec.decode(&mut buf).unwrap() {
        segments.push(s.clone());
        asm.push(s).unwrap();
        while let Some(f) = asm.next_frame() {
            frames.push(f);
        }
    }
    assert!(buf.is_empty(), "left over: {}", buf.len());
    assert!(asm.is_idle());
    (segments, frames)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("protocol-fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

/// Deterministic pseudo-random bytes (incompressible enough for LZ4).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn uncompressed_segment_round_trip_and_layout() {
    let payload = b"0123456789";
    for self_contained in [true, false] {
        let mut out = BytesMut::new();
        encode_segment(&mut out, payload, self_contained, None).unwrap();
        assert_eq!(
            out.len(),
            UNCOMPRESSED_HEADER_LEN + payload.len() + TRAILER_LEN
        );
        assert_eq!(out[0], 10, "little-endian length");
        assert_eq!(out[2] & 0x02 != 0, self_contained, "flag is bit 17");
        let seg = SegmentDecoder::new(None).decode(&mut out).unwrap().unwrap();
        assert_eq!(seg.self_contained, self_contained);
        assert_eq!(&seg.payload[..], payload);
        assert!(out.is_empty());
    }
}

#[test]
fn lz4_segment_round_trips_compressed_and_stored() {
    let compressible = b"INSERT INTO ks.t (a, b) VALUES (?, ?)".repeat(100);
    let incompressible = noise(1000, 7);
    for (payload, expect_compressed) in [
        (&compressible[..], true),
        (&incompressible[..], false),
        (&[][..], false),
    ] {
        let mut out = BytesMut::new();
        encode_segment(&mut out, payload, true, Some(Compression::Lz4)).unwrap();
        let header = read_le(&out[..5]);
        let uncompressed_len = ((header >> 17) & LEN_MASK) as usize;
        assert_eq!(
            uncompressed_len,
            if expect_compressed { payload.len() } else { 0 }
        );
        assert!(header & (1 << 34) != 0, "self-contained is bit 34");
        if expect_compressed {
            assert!(out.len() < payload.len() / 4);
        }
        let seg = SegmentDecoder::new(Some(Compression::Lz4))
            .decode(&mut out)
            .unwrap()
            .unwrap();
        assert!(seg.self_contained);
        assert_eq!(&seg.payload[..], payload);
    }
}

#[test]
fn every_strict_prefix_of_a_segment_needs_more_bytes() {
    for mode in MODES {
        let mut wire = BytesMut::new();
        encode_segment(&mut wire, b"some payload bytes", true, mode).unwrap();
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(
                SegmentDecoder::new(mode).decode(&mut buf),
                Ok(None),
                "{mode:?} prefix {cut}"
            );
            assert_eq!(buf.len(), cut);
        }
    }
}

#[test]
fn payload_longer_than_128k_minus_1_is_refused() {
    for mode in MODES {
        let mut out = BytesMut::from(&b"keep"[..]);
        let big = vec![0u8; MAX_SEGMENT_PAYLOAD + 1];
        assert_eq!(
            encode_segment(&mut out, &big, true, mode),
            Err(EncodeError::TooLong {
                what: "segment payload",
                len: MAX_SEGMENT_PAYLOAD + 1,
                max: MAX_SEGMENT_PAYLOAD
            })
        );
        assert_eq!(&out[..], b"keep");
        let max = noise(MAX_SEGMENT_PAYLOAD, 3);
        let mut out = BytesMut::new();
        encode_segment(&mut out, &max, false, mode).unwrap();
        let seg = SegmentDecoder::new(mode).decode(&mut out).unwrap().unwrap();
        assert_eq!(seg.payload.len(), MAX_SEGMENT_PAYLOAD);
    }
}

#[test]
fn header_and_payload_corruption_are_detected() {
    for mode in MODES {
        let mut wire = BytesMut::new();
        encode_segment(&mut wire, &b"abcdefgh".repeat(20), true, mode).unwrap();
        let header_len = if mode.is_some() {
            LZ4_HEADER_LEN
        } else {
            UNCOMPRESSED_HEADER_LEN
        };
        for i in 0..wire.len() {
            let mut bad = wire.clone();
            bad[i] ^= 0x10;
            let what = if i < header_len {
                "segment header"
            } else {
                "segment payload"
            };
            match SegmentDecoder::new(mode).decode(&mut bad) {
                Err(DecodeError::ChecksumMismatch { what: w, .. }) => {
                    assert_eq!(w, what, "byte {i}")
                }
                // A header flip may also make the claimed length longer than the input;
                // the CRC24 still catches it first.
                other => panic!("{mode:?} byte {i}: {other:?}"),
            }
        }
    }
}

#[test]
fn corrupt_lz4_block_with_valid_crc_is_a_decompression_error() {
    // Hand-built segment: uncompressed length 100, "compressed" bytes are garbage.
    let garbage = [0xF0u8, 1, 2, 3];
    let header = garbage.len() as u64 | (100 << 17) | (1 << 34);
    let mut wire = BytesMut::new();
    put_le(&mut wire, header, 5);
    let crc = crc::crc24(&wire[..5]);
    put_le(&mut wire, u64::from(crc), 3);
    wire.extend_from_slice(&garbage);
    put_le(&mut wire, u64::from(crc::crc32(&garbage)), 4);
    assert_eq!(
        SegmentDecoder::new(Some(Compression::Lz4)).decode(&mut wire),
        Err(DecodeError::Decompression {
            what: "segment payload"
        })
    );
}

#[test]
fn several_frames_share_one_self_contained_segment() {
    for mode in MODES {
        let mut frames = BytesMut::new();
        for stream in 0..5 {
            frames.extend_from_slice(&envelope(stream, Opcode::Query, &[stream as u8; 30]));
        }
        let mut wire = BytesMut::new();
        SegmentWriter::new(mode).write(&frames, &mut wire).unwrap();
        let (segments, decoded) = decode_all(&wire, mode);
        assert_eq!(segments.len(), 1);
        assert!(segments[0].self_contained);
        assert_eq!(decoded.len(), 5);
        for (i, f) in decoded.iter().enumerate() {
            assert_eq!(f.header.stream, i as i16);
            assert_eq!(&f.body[..], &[i as u8; 30]);
        }
    }
}

#[test]
fn a_300_kb_frame_is_split_and_reassembled_between_small_ones() {
    for mode in MODES {
        let big_body = noise(300 * 1024, 11);
        let mut frames = envelope(1, Opcode::Query, b"before");
        frames.extend_from_slice(&envelope(2, Opcode::Execute, &big_body));
        frames.extend_from_slice(&envelope(3, Opcode::Options, b""));
        let mut wire = BytesMut::new();
        encode_frames_as_segments(&mut wire, &frames, mode).unwrap();
        let (segments, decoded) = decode_all(&wire, mode);
        let flags: Vec<bool> = segments.iter().map(|s| s.self_contained).collect();
        assert_eq!(flags, [true, false, false, false, true], "{mode:?}");
        assert!(segments[1..4]
            .iter()
            .all(|s| s.payload.len() <= MAX_SEGMENT_PAYLOAD));
        assert_eq!(decoded.len(), 3);
        assert_eq!(&decoded[0].body[..], b"before");
        assert_eq!(decoded[1].header.stream, 2);
        assert_eq!(decoded[1].header.body_len as usize, big_body.len());
        assert_eq!(&decoded[1].body[..], &big_body[..]);
        assert_eq!(decoded[2].header.opcode, Opcode::Options);
    }
}

#[test]
fn packing_starts_a_new_segment_when_the_next_frame_does_not_fit() {
    let body = vec![7u8; 50_000];
    let mut frames = BytesMut::new();
    for stream in 0..3 {
        frames.extend_from_slice(&envelope(stream, Opcode::Query, &body));
    }
    let mut wire = BytesMut::new();
    encode_frames_as_segments(&mut wire, &frames, None).unwrap();
    let (segments, decoded) = decode_all(&wire, None);
    let sizes: Vec<usize> = segments.iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, [2 * 50_009, 50_009]);
    assert!(segments.iter().all(|s| s.self_contained));
    assert_eq!(decoded.len(), 3);
}

#[test]
fn partial_input_is_refused_by_the_writer() {
    let frame = envelope(0, Opcode::Query, b"body");
    for cut in [3, HEADER_LEN + 2] {
        let mut out = BytesMut::from(&b"x"[..]);
        let r = encode_frames_as_segments(&mut out, &frame[..cut], None);
        assert!(matches!(r, Err(EncodeError::Invalid { .. })), "cut {cut}");
        assert_eq!(&out[..], b"x");
    }
    let mut out = BytesMut::new();
    encode_frames_as_segments(&mut out, &[], None).unwrap();
    assert!(out.is_empty());
}

fn segment(payload: &[u8], self_contained: bool) -> Segment {
    Segment {
        self_contained,
        payload: Bytes::copy_from_slice(payload),
    }
}

#[test]
fn assembler_refuses_malformed_segment_sequences() {
    let frame = envelope(4, Opcode::Query, &[1; 100]);
    // Self-contained segment holding half an envelope.
    let mut asm = FrameAssembler::new(1 << 20);
    assert!(matches!(
        asm.push(segment(&frame[..50], true)),
        Err(DecodeError::Truncated { .. })
    ));
    // Self-contained segment in the middle of a multi-segment envelope.
    let mut asm = FrameAssembler::new(1 << 20);
    asm.push(segment(&frame[..50], false)).unwrap();
    assert!(asm.next_frame().is_none() && !asm.is_idle());
    assert!(matches!(
        asm.push(segment(b"", true)),
        Err(DecodeError::Unexpected { .. })
    ));
    // Multi-segment envelope overrunning its length.
    let mut asm = FrameAssembler::new(1 << 20);
    asm.push(segment(&frame[..50], false)).unwrap();
    let mut rest = frame[50..].to_vec();
    rest.extend_from_slice(b"junk");
    assert_eq!(
        asm.push(segment(&rest, false)),
        Err(DecodeError::TrailingBytes {
            what: "multi-segment envelope",
            extra: 4
        })
    );
    // Body above the maximum: refused as soon as the header is in.
    let mut asm = FrameAssembler::new(99);
    assert!(matches!(
        asm.push(segment(&frame[..HEADER_LEN], false)),
        Err(DecodeError::TooLong { .. })
    ));
    let mut asm = FrameAssembler::new(99);
    assert!(matches!(
        asm.push(segment(&frame, true)),
        Err(DecodeError::TooLong { .. })
    ));
}

#[test]
fn assembler_accepts_a_header_split_across_segments() {
    let frame = envelope(9, Opcode::Prepare, b"SELECT 1");
    let mut asm = FrameAssembler::new(1 << 20);
    for chunk in frame.chunks(4) {
        assert!(asm.next_frame().is_none());
        asm.push(segment(chunk, false)).unwrap();
    }
    let f = asm.next_frame().unwrap();
    assert_eq!((f.header.stream, &f.body[..]), (9, &b"SELECT 1"[..]));
    assert!(asm.is_idle());
}

#[test]
fn golden_segments_decode_and_re_encode() {
    let options = envelope(0, Opcode::Options, b"");
    for (name, mode, frames, byte_equal) in [
        ("v5_segment_uncompressed_options.bin", None, 1, true),
        (
            "v5_segment_lz4_stored_options.bin",
            Some(Compression::Lz4),
            1,
            true,
        ),
        ("v5_segment_lz4.bin", Some(Compression::Lz4), 3, false),
    ] {
        let wire = fixture(name);
        for cut in 0..wire.len() {
            assert_eq!(
                SegmentDecoder::new(mode).decode(&mut BytesMut::from(&wire[..cut])),
                Ok(None),
                "{name} {cut}"
            );
        }
        let (segments, decoded) = decode_all(&wire, mode);
        assert_eq!(segments.len(), 1);
        assert_eq!(decoded.len(), frames, "{name}");
        for f in &decoded {
            assert_eq!(f.header.version, ProtocolVersion::V5);
            assert_eq!(f.header.direction, Direction::Request);
            assert_eq!(f.header.opcode, Opcode::Options);
            assert!(f.body.is_empty());
        }
        assert_eq!(&segments[0].payload[..], &options.repeat(frames)[..]);
        if byte_equal {
            let mut again = BytesMut::new();
            encode_frames_as_segments(&mut again, &segments[0].payload, mode).unwrap();
            assert_eq!(&again[..], &wire[..], "{name}");
        }
    }
}
