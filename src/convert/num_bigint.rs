//! `num_bigint::BigInt` as CQL `varint` (feature `num-bigint`).

use num_bigint::BigInt;

use super::via;
use crate::{ColumnType, CqlVarint};

via!(BigInt, CqlVarint, ColumnType::Varint,
    to: |v| Some(CqlVarint::from_signed_bytes_be(&v.to_signed_bytes_be())),
    from: |s| Some(BigInt::from_signed_bytes_be(s.as_signed_bytes_be())));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::FrameSlice;
    use crate::{DeserializeValue, SerializeValue};

    #[test]
    fn huge_varints_round_trip() {
        for s in [
            "0",
            "-1",
            "128",
            "-129",
            "10000000000000000000000000000000000000000",
            "-10000000000000000000000000000000000000000",
        ] {
            let v: BigInt = s.parse().unwrap();
            let mut b = bytes::BytesMut::new();
            v.serialize(&ColumnType::Varint, &mut b).unwrap();
            let back =
                BigInt::deserialize(&ColumnType::Varint, Some(FrameSlice::from_slice(&b))).unwrap();
            assert_eq!(back, v);
        }
        let mut b = bytes::BytesMut::new();
        BigInt::from(-129)
            .serialize(&ColumnType::Varint, &mut b)
            .unwrap();
        assert_eq!(&b[..], [0xFF, 0x7F]);
    }
}
