//! The two checksums of v5 segment framing (spec v5 sections 2.1 and 2.2): CRC24 over the
//! 3- or 5-byte segment header and CRC32 over the segment payload. Only the arithmetic
//! lives here; where the checksums sit on the wire is segment.rs's business.
//!
//! Verified facts (read-only check of Apache Cassandra's `org.apache.cassandra.net.Crc`):
//! - CRC24: initial value 0x875060, polynomial 0x1974F0B (also stated in spec v5 s2.1),
//!   MSB-first shift register, no reflection, no final xor; bytes are fed in wire order
//!   (the header is little-endian, so least significant byte first).
//! - CRC32: the standard IEEE CRC32 (java.util.zip.CRC32), but Cassandra first feeds the
//!   four bytes 0xFA 0x2D 0x55 0xCA (`Crc.initialBytes`) before the payload. The spec text
//!   does not mention this seed; without it every payload checksum mismatches.

/// CRC24 initial register value (spec v5 s2.1).
const CRC24_INIT: u32 = 0x0087_5060;
/// CRC24 polynomial, including the x^24 term (spec v5 s2.1).
const CRC24_POLY: u32 = 0x0197_4F0B;
/// Bytes Cassandra feeds into the CRC32 before the payload (Crc.java `initialBytes`).
const CRC32_SEED_BYTES: [u8; 4] = [0xFA, 0x2D, 0x55, 0xCA];

/// Bitwise CRC24 with a given register start and polynomial. The header is at most 5
/// bytes, so a table would not pay for itself.
fn crc24_with(init: u32, poly: u32, bytes: &[u8]) -> u32 {
    let mut crc = init;
    for &b in bytes {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= poly;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// CRC24 of a segment header's length/flag bytes (3 uncompressed, 5 LZ4), as Cassandra
/// computes it.
pub(crate) fn crc24(header: &[u8]) -> u32 {
    crc24_with(CRC24_INIT, CRC24_POLY, header)
}

/// CRC32 of a segment payload, seeded the way Cassandra seeds it.
pub(crate) fn crc32(payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&CRC32_SEED_BYTES);
    h.update(payload);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shift-register routine is the one of RFC 4880 s6.1 (OpenPGP CRC24) with other
    /// constants; with the OpenPGP constants it must give that CRC's published check
    /// value for "123456789", which validates the algorithm independently of Cassandra.
    #[test]
    fn crc24_routine_matches_openpgp_check_value() {
        assert_eq!(
            crc24_with(0x00B7_04CE, 0x0186_4CFB, b"123456789"),
            0x0021_CF02
        );
    }

    #[test]
    fn crc24_of_empty_input_is_the_initial_value() {
        assert_eq!(crc24(&[]), CRC24_INIT);
    }

    #[test]
    fn crc24_detects_every_single_bit_flip_of_a_header() {
        let header = [0x4A, 0x12, 0x02, 0x00, 0x00];
        let base = crc24(&header);
        assert!(base <= 0x00FF_FFFF);
        for byte in 0..header.len() {
            for bit in 0..8 {
                let mut h = header;
                h[byte] ^= 1 << bit;
                assert_ne!(crc24(&h), base, "flip of byte {byte} bit {bit} undetected");
            }
        }
    }

    /// The standard CRC32 check value, then the seed: feeding the seed bytes first is the
    /// same as the CRC of seed ++ payload.
    #[test]
    fn crc32_is_ieee_crc32_of_seed_then_payload() {
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        let mut joined = CRC32_SEED_BYTES.to_vec();
        joined.extend_from_slice(b"123456789");
        assert_eq!(crc32(b"123456789"), crc32fast::hash(&joined));
        assert_ne!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
