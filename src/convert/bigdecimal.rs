//! `bigdecimal::BigDecimal` as CQL `decimal` (feature `bigdecimal`). A scale beyond
//! 32 bits has no CQL form and fails to bind.

use bigdecimal::num_bigint::BigInt;
use bigdecimal::BigDecimal;

use super::via;
use crate::{ColumnType, CqlDecimal, CqlVarint};

via!(BigDecimal, CqlDecimal, ColumnType::Decimal,
to: |v| {
    let (unscaled, scale) = v.as_bigint_and_exponent();
    i32::try_from(scale).ok().map(|scale| CqlDecimal {
        unscaled: CqlVarint::from_signed_bytes_be(&unscaled.to_signed_bytes_be()),
        scale,
    })
},
from: |s| Some(BigDecimal::new(
    BigInt::from_signed_bytes_be(s.unscaled.as_signed_bytes_be()),
    i64::from(s.scale),
)));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::FrameSlice;
    use crate::{DeserializeValue, SerializeValue};

    #[test]
    fn decimals_round_trip() {
        for s in [
            "0",
            "1.5",
            "-0.001",
            "1e40",
            "-1e-40",
            "123456789012345678901234567890.123456789",
        ] {
            let v: BigDecimal = s.parse().unwrap();
            let mut b = bytes::BytesMut::new();
            v.serialize(&ColumnType::Decimal, &mut b).unwrap();
            let back =
                BigDecimal::deserialize(&ColumnType::Decimal, Some(FrameSlice::from_slice(&b)))
                    .unwrap();
            assert_eq!(back, v);
        }
        let mut b = bytes::BytesMut::new();
        "1.5"
            .parse::<BigDecimal>()
            .unwrap()
            .serialize(&ColumnType::Decimal, &mut b)
            .unwrap();
        assert_eq!(&b[..], [0, 0, 0, 1, 0x0F]);
        let huge_scale = BigDecimal::new(BigInt::from(1), i64::from(i32::MAX) + 1);
        assert!(huge_scale
            .serialize(&ColumnType::Decimal, &mut bytes::BytesMut::new())
            .is_err());
    }
}
