//! Fuzzes the v5 SegmentDecoder + FrameAssembler over arbitrary bytes (mostly stopped by
//! the CRCs; see frame_assembler for garbage behind valid CRCs).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ringbolt::protocol::frame::Compression;
use ringbolt::protocol::segment::{FrameAssembler, SegmentDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut dec = SegmentDecoder::new((mode & 1 != 0).then_some(Compression::Lz4));
    let mut asm = FrameAssembler::new(1 << 20);
    let mut buf = BytesMut::from(rest);
    while let Ok(Some(segment)) = dec.decode(&mut buf) {
        if asm.push(segment).is_err() {
            return;
        }
        while let Some(f) = asm.next_frame() {
            assert_eq!(f.header.body_len as usize, f.body.len());
        }
    }
});
