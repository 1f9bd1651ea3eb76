//! Seeded random-mutation test of every decoder of the framing layer (FrameDecoder,
//! SegmentDecoder, FrameAssembler, v3/v4 LZ4 bodies): valid inputs are mutated
//! deterministically and fed in random chunks; any result is fine, a panic is not.

use bytes::BytesMut;

use super::*;
use crate::protocol::frame::{encode_frame, Direction, FrameDecoder, FrameFlags};
use crate::protocol::{Opcode, ProtocolVersion};

/// xorshift64: small, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const MAX_BODY: usize = 256 * 1024;
const INTERESTING: [u32; 8] = [0, 1, 0x7F, 0x80, 0xFFFF, 0x1_FFFF, 0x7FFF_FFFF, 0xFFFF_FFFF];

#[derive(Default, Debug)]
struct Stats {
    inputs: usize,
    frames: usize,
    segments: usize,
    errors: usize,
}

fn frame(
    version: ProtocolVersion,
    flags: FrameFlags,
    stream: i16,
    body: &[u8],
    c: Option<Compression>,
) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(
        &mut out,
        version,
        Direction::Response,
        flags,
        stream,
        Opcode::Result,
        c,
        |b| {
            b.extend_from_slice(body);
            Ok(())
        },
    )
    .unwrap();
    out.to_vec()
}

/// Valid v3/v4 frame streams (and their decoder's compression).
fn frame_seeds() -> Vec<(Vec<u8>, Option<Compression>)> {
    let text = b"rows rows rows rows rows rows rows rows".repeat(8);
    let lz4 = Some(Compression::Lz4);
    let mut two = frame(ProtocolVersion::V4, FrameFlags::WARNING, 1, b"abc", None);
    two.extend(frame(
        ProtocolVersion::V4,
        FrameFlags::empty(),
        -1,
        &[],
        None,
    ));
    vec![
        (
            frame(ProtocolVersion::V4, FrameFlags::empty(), 0, &[], None),
            None,
        ),
        (
            frame(ProtocolVersion::V4, FrameFlags::TRACING, 5, &text, None),
            None,
        ),
        (
            frame(ProtocolVersion::V3, FrameFlags::COMPRESSION, 6, &text, lz4),
            lz4,
        ),
        (
            frame(
                ProtocolVersion::V4,
                FrameFlags::COMPRESSION | FrameFlags::WARNING,
                7,
                &text,
                lz4,
            ),
            lz4,
        ),
        (
            frame(
                ProtocolVersion::V5,
                FrameFlags::empty(),
                8,
                b"unframed v5",
                None,
            ),
            lz4,
        ),
        (two, None),
    ]
}

/// Valid v5 segment streams (and their compression).
fn segment_seeds(big: bool) -> Vec<(Vec<u8>, Option<Compression>)> {
    let mut frames = Vec::new();
    for stream in 0..4 {
        frames.extend(frame(
            ProtocolVersion::V5,
            FrameFlags::empty(),
            stream,
            &[stream as u8; 40],
            None,
        ));
    }
    let mut seeds = Vec::new();
    for c in [None, Some(Compression::Lz4)] {
        let mut out = BytesMut::new();
        encode_frames_as_segments(&mut out, &frames, c).unwrap();
        seeds.push((out.to_vec(), c));
        if big {
            let body: Vec<u8> = (0..MAX_SEGMENT_PAYLOAD + 500)
                .map(|i| (i % 251) as u8)
                .collect();
            let mut out = BytesMut::new();
            let large = frame(ProtocolVersion::V5, FrameFlags::empty(), 9, &body, None);
            encode_frames_as_segments(&mut out, &large, c).unwrap();
            seeds.push((out.to_vec(), c));
        }
    }
    seeds
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next() as u8;
            }
            2 if len >= 4 => {
                // An interesting length, big- or little-endian, anywhere.
                let i = rng.below(len - 3);
                let x = INTERESTING[rng.below(INTERESTING.len())];
                let b = if rng.below(2) == 0 {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                };
                v[i..i + 4].copy_from_slice(&b);
            }
            3 => v.truncate(rng.below(len + 1)),
            4 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let extra = rng.bytes(n);
                v.splice(i..i, extra);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let j = i + rng.below(len - i + 1);
                v.drain(i..j);
            }
            6 if len > 0 => {
                let i = rng.below(len);
                let j = i + rng.below((len - i).min(64) + 1);
                let dup = v[i..j].to_vec();
                v.extend(dup);
            }
            _ => {
                let n = rng.below(8);
                v.extend(rng.bytes(n));
            }
        }
    }
    v
}

/// Feeds `input` in random chunks, decoding after each; an error ends the stream.
fn feed<T>(
    rng: &mut Rng,
    input: &[u8],
    stats: &mut Stats,
    mut decode: impl FnMut(&mut BytesMut, &mut Stats) -> Result<Option<T>, DecodeError>,
) {
    let mut buf = BytesMut::new();
    let mut pos = 0;
    while pos < input.len() {
        let n = 1 + rng.below(input.len() - pos);
        buf.extend_from_slice(&input[pos..pos + n]);
        pos += n;
        loop {
            let before = buf.len();
            match decode(&mut buf, stats) {
                Ok(Some(_)) => assert!(buf.len() < before, "progress without consuming"),
                Ok(None) => {
                    assert_eq!(buf.len(), before, "Ok(None) must not consume");
                    break;
                }
                Err(_) => {
                    stats.errors += 1;
                    return;
                }
            }
        }
    }
}

fn run_frames(rng: &mut Rng, input: &[u8], c: Option<Compression>, stats: &mut Stats) {
    let mut dec = FrameDecoder::new(MAX_BODY);
    dec.set_compression(c);
    stats.inputs += 1;
    feed(rng, input, stats, |buf, stats| {
        let r = dec.decode(buf)?;
        if let Some(f) = &r {
            assert_eq!(f.header.body_len as usize, f.body.len());
            assert!(f.body.len() <= MAX_BODY);
            stats.frames += 1;
        }
        Ok(r)
    });
}

fn run_segments(rng: &mut Rng, input: &[u8], c: Option<Compression>, stats: &mut Stats) {
    let mut dec = SegmentDecoder::new(c);
    let mut asm = FrameAssembler::new(MAX_BODY);
    stats.inputs += 1;
    feed(rng, input, stats, |buf, stats| {
        let r = dec.decode(buf)?;
        if let Some(s) = &r {
            assert!(s.payload.len() <= MAX_SEGMENT_PAYLOAD);
            stats.segments += 1;
            asm.push(s.clone())?;
            while let Some(f) = asm.next_frame() {
                assert_eq!(f.header.body_len as usize, f.body.len());
                stats.frames += 1;
            }
        }
        Ok(r)
    });
}

/// Mutated envelope streams wrapped in segments with valid checksums, so the assembler
/// and the LZ4 path see garbage that got past the CRCs.
fn valid_crc_garbage(rng: &mut Rng, frames: &[u8]) -> (Vec<u8>, Option<Compression>) {
    let mutated = mutate(rng, frames);
    let c = if rng.below(2) == 0 {
        None
    } else {
        Some(Compression::Lz4)
    };
    let mut out = BytesMut::new();
    let mut rest = &mutated[..];
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len());
        let (part, tail) = rest.split_at(n);
        if c.is_some() && rng.below(4) == 0 {
            // Hand-built LZ4 header: random uncompressed length over raw garbage.
            let ulen = rng.below(MAX_SEGMENT_PAYLOAD + 1) as u64;
            let header = part.len() as u64 | (ulen << 17) | ((rng.below(2) as u64) << 34);
            put_le(&mut out, header, 5);
            let at = out.len() - 5;
            let crc = crc::crc24(&out[at..]);
            put_le(&mut out, u64::from(crc), 3);
            out.extend_from_slice(part);
            put_le(&mut out, u64::from(crc::crc32(part)), 4);
        } else {
            encode_segment(&mut out, part, rng.below(3) != 0, c).unwrap();
        }
        rest = tail;
    }
    (out.to_vec(), c)
}

#[test]
fn seeded_mutations_never_panic() {
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let mut stats = Stats::default();
    let frames = frame_seeds();
    let segments = segment_seeds(false);
    let envelopes: Vec<u8> = (0..4)
        .flat_map(|s| {
            frame(
                ProtocolVersion::V5,
                FrameFlags::TRACING,
                s,
                b"payload",
                None,
            )
        })
        .collect();
    for i in 0..40_000 {
        let (seed, c) = &frames[i % frames.len()];
        let input = mutate(&mut rng, seed);
        run_frames(&mut rng, &input, *c, &mut stats);
        // The same bytes through the other compression setting.
        let other = if c.is_some() {
            None
        } else {
            Some(Compression::Lz4)
        };
        run_frames(&mut rng, &input, other, &mut stats);
    }
    for i in 0..40_000 {
        let (seed, c) = &segments[i % segments.len()];
        let input = mutate(&mut rng, seed);
        run_segments(&mut rng, &input, *c, &mut stats);
    }
    for _ in 0..25_000 {
        let (input, c) = valid_crc_garbage(&mut rng, &envelopes);
        run_segments(&mut rng, &input, c, &mut stats);
    }
    // A few mutations of a frame split over two segments (bigger, so fewer).
    let big = segment_seeds(true);
    for i in 0..200 {
        let (seed, c) = &big[i % big.len()];
        let input = mutate(&mut rng, seed);
        run_segments(&mut rng, &input, *c, &mut stats);
    }
    eprintln!("mutation stats: {stats:?}");
    assert!(stats.inputs >= 100_000);
    assert!(
        stats.frames > 10_000,
        "mutations should not all be fatal: {stats:?}"
    );
    assert!(
        stats.errors > 10_000,
        "mutations should often be caught: {stats:?}"
    );
}
