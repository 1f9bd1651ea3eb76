//! Fuzzes v5 reassembly behind valid checksums: the input is cut into chunks (one length
//! byte, one flag byte each), every chunk is wrapped by encode_segment, and the stream is
//! decoded by SegmentDecoder + FrameAssembler.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ringbolt::protocol::frame::Compression;
use ringbolt::protocol::segment::{encode_segment, FrameAssembler, SegmentDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let compression = (mode & 1 != 0).then_some(Compression::Lz4);
    let mut wire = BytesMut::new();
    while let [len, flag, tail @ ..] = rest {
        let n = (*len as usize).min(tail.len());
        encode_segment(&mut wire, &tail[..n], flag & 1 != 0, compression).unwrap();
        rest = &tail[n..];
    }
    let mut dec = SegmentDecoder::new(compression);
    let mut asm = FrameAssembler::new(1 << 16);
    while let Some(segment) = dec.decode(&mut wire).unwrap() {
        if asm.push(segment).is_err() {
            return;
        }
        while let Some(f) = asm.next_frame() {
            assert_eq!(f.header.body_len as usize, f.body.len());
        }
    }
    assert!(wire.is_empty());
});
