//! Fuzzes the v3/v4 FrameDecoder (header, length guard, LZ4 bodies) over arbitrary bytes,
//! fed in two pieces. Run: `cargo +nightly fuzz run frame_decoder` from the repo root.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ringbolt::protocol::frame::{Compression, FrameDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut dec = FrameDecoder::new(if mode & 1 == 0 { 1 << 16 } else { 1 << 20 });
    dec.set_compression((mode & 2 != 0).then_some(Compression::Lz4));
    let split = (mode as usize >> 2).min(rest.len());
    let mut buf = BytesMut::new();
    for piece in [&rest[..split], &rest[split..]] {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            match dec.decode(&mut buf) {
                Ok(Some(f)) => assert_eq!(f.header.body_len as usize, f.body.len()),
                Ok(None) => {
                    assert_eq!(buf.len(), before);
                    break;
                }
                Err(_) => return,
            }
        }
    }
});
