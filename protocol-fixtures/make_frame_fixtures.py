#!/usr/bin/env python3
"""Builds the frame/segment golden fixtures by hand from the spec, independently of the
Rust code: headers per spec v4 s2 / v5 s2.4, segment headers per spec v5 s2.1/2.2,
CRC32 = zlib.crc32 (IEEE) over Cassandra's seed bytes FA 2D 55 CA then the payload,
CRC24 = init 0x875060, poly 0x1974F0B (spec v5 s2.1), and a hand-assembled LZ4 block.
Run from the repository root: python3 protocol-fixtures/make_frame_fixtures.py"""
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent


def crc24(data: bytes) -> int:
    crc = 0x875060
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1974F0B
    return crc & 0xFFFFFF


def crc32(payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(bytes([0xFA, 0x2D, 0x55, 0xCA])))


def frame(version: int, response: bool, flags: int, stream: int, opcode: int, body: bytes) -> bytes:
    return struct.pack(">BBhBI", version | (0x80 if response else 0), flags, stream, opcode, len(body)) + body


def segment(payload: bytes, self_contained: bool) -> bytes:
    h = len(payload) | (1 << 17 if self_contained else 0)
    h3 = h.to_bytes(3, "little")
    return h3 + crc24(h3).to_bytes(3, "little") + payload + crc32(payload).to_bytes(4, "little")


def segment_lz4(compressed: bytes, uncompressed_len: int, self_contained: bool) -> bytes:
    h = len(compressed) | (uncompressed_len << 17) | (1 << 34 if self_contained else 0)
    h5 = h.to_bytes(5, "little")
    return h5 + crc24(h5).to_bytes(3, "little") + compressed + crc32(compressed).to_bytes(4, "little")


def string_map(pairs) -> bytes:
    out = struct.pack(">H", len(pairs))
    for k, v in pairs:
        out += struct.pack(">H", len(k)) + k.encode() + struct.pack(">H", len(v)) + v.encode()
    return out


OPTIONS, STARTUP, READY = 0x05, 0x01, 0x02
files = {
    "v4_req_options.bin": frame(4, False, 0, 0, OPTIONS, b""),
    "v4_req_startup.bin": frame(4, False, 0, 1, STARTUP, string_map([("CQL_VERSION", "3.0.0")])),
    "v4_resp_ready.bin": frame(4, True, 0, 1, READY, b""),
    "v5_req_options_unframed.bin": frame(5, False, 0, 0, OPTIONS, b""),
    "v5_segment_uncompressed_options.bin": segment(frame(5, False, 0, 0, OPTIONS, b""), True),
}
# Three identical OPTIONS envelopes (27 bytes) in one self-contained LZ4 segment.
# LZ4 block: 9 literals + match(offset 9, length 13), then 5 final literals.
env = frame(5, False, 0, 0, OPTIONS, b"")
plain = env * 3
block = bytes([0x99]) + env + struct.pack("<H", 9) + bytes([0x50]) + plain[-5:]
files["v5_segment_lz4.bin"] = segment_lz4(block, len(plain), True)
# LZ4 mode, payload stored as-is (uncompressed length 0, spec v5 s2.2).
files["v5_segment_lz4_stored_options.bin"] = segment_lz4(env, 0, True)

for name, data in files.items():
    (OUT / name).write_bytes(data)
    print(name, data.hex())
