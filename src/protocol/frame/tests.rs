//! Unit tests of frame.rs: header round trips, prefixes, length guard, v3/v4 LZ4.

use super::*;

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3,
    ProtocolVersion::V4,
    ProtocolVersion::V5,
];

fn encode(
    version: ProtocolVersion,
    direction: Direction,
    flags: FrameFlags,
    stream: i16,
    opcode: Opcode,
    compression: Option<Compression>,
    body: &[u8],
) -> BytesMut {
    let mut out = BytesMut::new();
    encode_frame(
        &mut out,
        version,
        direction,
        flags,
        stream,
        opcode,
        compression,
        |b| {
            b.extend_from_slice(body);
            Ok(())
        },
    )
    .unwrap();
    out
}

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("protocol-fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

#[test]
fn header_round_trips_every_version_and_direction() {
    for version in VERSIONS {
        for direction in [Direction::Request, Direction::Response] {
            for (stream, opcode, flags) in [
                (0, Opcode::Options, FrameFlags::empty()),
                (-1, Opcode::Event, FrameFlags::WARNING),
                (
                    32767,
                    Opcode::Query,
                    FrameFlags::TRACING | FrameFlags::CUSTOM_PAYLOAD,
                ),
                (
                    -32768,
                    Opcode::AuthSuccess,
                    FrameFlags::USE_BETA | FrameFlags::from_bits(0x40),
                ),
            ] {
                let h = FrameHeader {
                    version,
                    direction,
                    flags,
                    stream,
                    opcode,
                    body_len: 0x0102_0304,
                };
                let mut out = BytesMut::new();
                h.encode(&mut out);
                assert_eq!(out.len(), HEADER_LEN);
                assert_eq!(out[0] & 0x7F, version.as_u8());
                assert_eq!(out[0] & 0x80 != 0, direction == Direction::Response);
                assert_eq!(FrameHeader::decode(&out).unwrap(), h);
            }
        }
    }
}

#[test]
fn header_decodes_the_spec_example_bytes() {
    let h = FrameHeader::decode(&[0x84, 0x0A, 0xFF, 0xFF, 0x0C, 0, 0, 0x01, 0x00]).unwrap();
    assert_eq!(h.version, ProtocolVersion::V4);
    assert_eq!(h.direction, Direction::Response);
    assert!(h.flags.contains(FrameFlags::TRACING | FrameFlags::WARNING));
    assert!(!h.flags.contains(FrameFlags::COMPRESSION));
    assert_eq!(h.stream, -1);
    assert_eq!(h.opcode, Opcode::Event);
    assert_eq!(h.body_len, 256);
}

#[test]
fn header_errors_are_typed() {
    assert!(matches!(
        FrameHeader::decode(&[0x04, 0, 0, 0]),
        Err(DecodeError::Truncated {
            need: 9,
            have: 4,
            ..
        })
    ));
    let mut bytes = [0x02, 0, 0, 0, 0x05, 0, 0, 0, 0];
    assert_eq!(
        FrameHeader::decode(&bytes),
        Err(DecodeError::UnsupportedVersion(2))
    );
    bytes[0] = 0x86;
    assert_eq!(
        FrameHeader::decode(&bytes),
        Err(DecodeError::UnsupportedVersion(6))
    );
    bytes[0] = 0x04;
    bytes[4] = 0x04;
    assert_eq!(
        FrameHeader::decode(&bytes),
        Err(DecodeError::UnknownOpcode(4))
    );
}

#[test]
fn flags_helpers() {
    let mut f = FrameFlags::empty();
    assert!(!f.contains(FrameFlags::TRACING));
    f.insert(FrameFlags::TRACING);
    f.insert(FrameFlags::WARNING);
    assert!(f.contains(FrameFlags::TRACING) && f.contains(FrameFlags::WARNING));
    assert_eq!(f.bits(), 0x0A);
    f.remove(FrameFlags::TRACING);
    assert_eq!(f, FrameFlags::WARNING);
    assert!(f.contains(FrameFlags::empty()));
}

#[test]
fn frame_round_trips_through_encode_and_decode() {
    for version in VERSIONS {
        let bytes = encode(
            version,
            Direction::Response,
            FrameFlags::WARNING,
            7,
            Opcode::Result,
            None,
            b"hello body",
        );
        assert_eq!(bytes.len(), HEADER_LEN + 10);
        let mut buf = bytes.clone();
        let frame = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        assert!(buf.is_empty());
        assert_eq!(frame.header.version, version);
        assert_eq!(frame.header.stream, 7);
        assert_eq!(frame.header.body_len, 10);
        assert_eq!(&frame.body[..], b"hello body");
        let mut again = BytesMut::new();
        frame.header.encode(&mut again);
        again.extend_from_slice(&frame.body);
        assert_eq!(again, bytes);
    }
}

#[test]
fn every_strict_prefix_needs_more_bytes_and_two_frames_split_cleanly() {
    let mut two = encode(
        ProtocolVersion::V4,
        Direction::Response,
        FrameFlags::empty(),
        1,
        Opcode::Result,
        None,
        &[9; 40],
    );
    let second = encode(
        ProtocolVersion::V4,
        Direction::Response,
        FrameFlags::empty(),
        2,
        Opcode::Ready,
        None,
        &[],
    );
    two.extend_from_slice(&second);
    let first_len = HEADER_LEN + 40;
    for cut in 0..first_len {
        let mut buf = BytesMut::from(&two[..cut]);
        assert_eq!(
            FrameDecoder::default().decode(&mut buf),
            Ok(None),
            "prefix {cut}"
        );
        assert_eq!(buf.len(), cut, "a prefix must not be consumed");
    }
    let mut dec = FrameDecoder::default();
    let mut buf = two.clone();
    assert_eq!(dec.decode(&mut buf).unwrap().unwrap().header.stream, 1);
    assert_eq!(dec.decode(&mut buf).unwrap().unwrap().header.stream, 2);
    assert_eq!(dec.decode(&mut buf), Ok(None));
}

#[test]
fn body_longer_than_max_fails_on_the_header_alone() {
    let mut dec = FrameDecoder::new(1024);
    let mut buf = BytesMut::from(&[0x84, 0, 0, 1, 0x08, 0, 0, 0x04, 0x01][..]);
    assert_eq!(
        dec.decode(&mut buf),
        Err(DecodeError::TooLong {
            what: "frame body",
            len: 1025,
            max: 1024
        })
    );
    assert!(buf.capacity() < 1024, "nothing reserved for a refused body");
    // The spec limit applies by default, and a "negative" [int] is just huge.
    let mut buf = BytesMut::from(&[0x84, 0, 0, 1, 0x08, 0xFF, 0xFF, 0xFF, 0xFF][..]);
    assert!(matches!(
        FrameDecoder::default().decode(&mut buf),
        Err(DecodeError::TooLong { .. })
    ));
    // Exactly the maximum is fine (waits for the body).
    let mut buf = BytesMut::from(&[0x84, 0, 0, 1, 0x08, 0, 0, 0x04, 0x00][..]);
    assert_eq!(dec.decode(&mut buf), Ok(None));
}

#[test]
fn lz4_body_round_trips_on_v3_and_v4() {
    let body: Vec<u8> = b"SELECT * FROM ks.t WHERE k = ?; ".repeat(50);
    for version in [ProtocolVersion::V3, ProtocolVersion::V4] {
        let bytes = encode(
            version,
            Direction::Request,
            FrameFlags::COMPRESSION | FrameFlags::TRACING,
            3,
            Opcode::Query,
            Some(Compression::Lz4),
            &body,
        );
        let wire_len = u32::from_be_bytes(bytes[5..9].try_into().unwrap()) as usize;
        assert_eq!(wire_len, bytes.len() - HEADER_LEN);
        assert!(wire_len < body.len() / 4, "compressible body must shrink");
        assert_eq!(
            &bytes[9..13],
            &(body.len() as u32).to_be_bytes(),
            "BE uncompressed length prefix"
        );
        let mut dec = FrameDecoder::default();
        dec.set_compression(Some(Compression::Lz4));
        let mut buf = bytes.clone();
        let frame = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(&frame.body[..], &body[..]);
        assert_eq!(frame.header.body_len as usize, body.len());
        assert_eq!(
            frame.header.flags,
            FrameFlags::TRACING,
            "COMPRESSION cleared after decompression"
        );
    }
}

#[test]
fn empty_lz4_body_is_accepted() {
    // Cassandra compresses empty bodies too: length 0, then a 1-byte LZ4 block.
    let mut buf = BytesMut::from(&[0x84, 0x01, 0, 0, 0x02, 0, 0, 0, 5, 0, 0, 0, 0, 0][..]);
    let mut dec = FrameDecoder::default();
    dec.set_compression(Some(Compression::Lz4));
    let frame = dec.decode(&mut buf).unwrap().unwrap();
    assert!(frame.body.is_empty());
    let encoded = encode(
        ProtocolVersion::V4,
        Direction::Request,
        FrameFlags::COMPRESSION,
        0,
        Opcode::Options,
        Some(Compression::Lz4),
        &[],
    );
    let mut buf = encoded;
    assert!(dec.decode(&mut buf).unwrap().unwrap().body.is_empty());
}

#[test]
fn corrupt_lz4_body_gives_typed_errors() {
    let body: Vec<u8> = b"abcdefgh".repeat(64);
    let good = encode(
        ProtocolVersion::V4,
        Direction::Response,
        FrameFlags::COMPRESSION,
        1,
        Opcode::Result,
        Some(Compression::Lz4),
        &body,
    );
    let mut dec = FrameDecoder::default();
    dec.set_compression(Some(Compression::Lz4));

    // Claimed length one larger than what the block produces.
    let mut bad = good.clone();
    bad[12] += 1;
    assert_eq!(
        dec.decode(&mut bad),
        Err(DecodeError::Decompression { what: "frame body" })
    );

    // Garbage block.
    let mut bad = good.clone();
    for b in &mut bad[13..] {
        *b = 0xFF;
    }
    assert_eq!(
        dec.decode(&mut bad),
        Err(DecodeError::Decompression { what: "frame body" })
    );

    // A claim no block of this size can reach is refused before allocating.
    let mut bad = BytesMut::from(&[0x84, 0x01, 0, 0, 0x08, 0, 0, 0, 6, 0x01, 0, 0, 0, 0x10, 0][..]);
    assert!(matches!(
        dec.decode(&mut bad),
        Err(DecodeError::TooLong {
            what: "LZ4 uncompressed length",
            ..
        })
    ));

    // Shorter than the length prefix.
    let mut bad = BytesMut::from(&[0x84, 0x01, 0, 0, 0x08, 0, 0, 0, 2, 0, 0][..]);
    assert!(matches!(
        dec.decode(&mut bad),
        Err(DecodeError::Truncated { .. })
    ));

    // Compressed frame while nothing was negotiated.
    let mut bad = good.clone();
    assert!(matches!(
        FrameDecoder::default().decode(&mut bad),
        Err(DecodeError::Unexpected { .. })
    ));
}

#[test]
fn v5_envelope_compression_flag_is_ignored() {
    let mut buf = BytesMut::from(&[0x85, 0x03, 0, 0, 0x08, 0, 0, 0, 3, 1, 2, 3][..]);
    let mut dec = FrameDecoder::default();
    dec.set_compression(Some(Compression::Lz4));
    let frame = dec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(&frame.body[..], &[1, 2, 3]);
    assert_eq!(frame.header.flags, FrameFlags::TRACING);
}

#[test]
fn encode_frame_refusals_leave_the_buffer_untouched() {
    let mut out = BytesMut::from(&b"earlier frame"[..]);
    let body = |b: &mut BytesMut| {
        b.extend_from_slice(b"x");
        Ok(())
    };
    let r = encode_frame(
        &mut out,
        ProtocolVersion::V5,
        Direction::Request,
        FrameFlags::COMPRESSION,
        0,
        Opcode::Query,
        Some(Compression::Lz4),
        body,
    );
    assert!(matches!(
        r,
        Err(EncodeError::UnsupportedByVersion { version: 5, .. })
    ));
    let r = encode_frame(
        &mut out,
        ProtocolVersion::V4,
        Direction::Request,
        FrameFlags::COMPRESSION,
        0,
        Opcode::Query,
        None,
        body,
    );
    assert!(matches!(r, Err(EncodeError::Invalid { .. })));
    let r = encode_frame(
        &mut out,
        ProtocolVersion::V4,
        Direction::Request,
        FrameFlags::COMPRESSION,
        0,
        Opcode::Startup,
        Some(Compression::Lz4),
        body,
    );
    assert!(matches!(r, Err(EncodeError::Invalid { .. })));
    let r = encode_frame(
        &mut out,
        ProtocolVersion::V4,
        Direction::Request,
        FrameFlags::empty(),
        0,
        Opcode::Query,
        None,
        |b| {
            b.extend_from_slice(b"half a body");
            Err(EncodeError::Invalid { what: "test" })
        },
    );
    assert_eq!(r, Err(EncodeError::Invalid { what: "test" }));
    assert_eq!(&out[..], b"earlier frame");
    // v5 with compression passed but no flag: plain envelope.
    encode_frame(
        &mut out,
        ProtocolVersion::V5,
        Direction::Request,
        FrameFlags::empty(),
        0,
        Opcode::Options,
        Some(Compression::Lz4),
        |_| Ok(()),
    )
    .unwrap();
    assert_eq!(&out[13..], &[5, 0, 0, 0, 5, 0, 0, 0, 0]);
}

#[test]
fn golden_frames_decode_and_re_encode_byte_equal() {
    for (name, version, direction, stream, opcode, body_len) in [
        (
            "v4_req_options.bin",
            ProtocolVersion::V4,
            Direction::Request,
            0,
            Opcode::Options,
            0,
        ),
        (
            "v4_req_startup.bin",
            ProtocolVersion::V4,
            Direction::Request,
            1,
            Opcode::Startup,
            22,
        ),
        (
            "v4_resp_ready.bin",
            ProtocolVersion::V4,
            Direction::Response,
            1,
            Opcode::Ready,
            0,
        ),
        (
            "v5_req_options_unframed.bin",
            ProtocolVersion::V5,
            Direction::Request,
            0,
            Opcode::Options,
            0,
        ),
    ] {
        let bytes = fixture(name);
        for cut in 0..bytes.len() {
            assert_eq!(
                FrameDecoder::default().decode(&mut BytesMut::from(&bytes[..cut])),
                Ok(None),
                "{name} prefix {cut}"
            );
        }
        let frame = FrameDecoder::default()
            .decode(&mut BytesMut::from(&bytes[..]))
            .unwrap()
            .unwrap();
        let h = frame.header;
        assert_eq!(
            (h.version, h.direction, h.stream, h.opcode, h.body_len),
            (version, direction, stream, opcode, body_len),
            "{name}"
        );
        let again = encode(
            version,
            direction,
            h.flags,
            stream,
            opcode,
            None,
            &frame.body,
        );
        assert_eq!(&again[..], &bytes[..], "{name}");
    }
}
