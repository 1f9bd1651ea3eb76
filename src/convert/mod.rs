//! Optional conversions between CQL values and other crates' types, one file per cargo
//! feature (`uuid`, `chrono`, `time`, `num-bigint`, `bigdecimal`). Each maps a foreign
//! type onto one of the crate's small value types and reuses its encoding.

#[cfg(feature = "bigdecimal")]
mod bigdecimal;
#[cfg(feature = "chrono")]
mod chrono;
#[cfg(feature = "num-bigint")]
mod num_bigint;
#[cfg(feature = "time")]
mod time;
#[cfg(feature = "uuid")]
mod uuid;

/// Implements `SerializeValue` and `DeserializeValue` for a foreign type through one
/// of the crate's small types: `to` converts to it (`None` = out of range), `from`
/// converts back (`None` = out of range for the foreign type).
#[allow(unused_macros)]
macro_rules! via {
    ($t:ty, $small:ty, $natural:expr, to: |$v:ident| $to:expr, from: |$s:ident| $from:expr) => {
        impl $crate::SerializeValue for $t {
            fn natural_type(&self) -> Option<$crate::ColumnType> {
                Some($natural)
            }
            fn serialize(
                &self,
                typ: &$crate::ColumnType,
                out: &mut bytes::BytesMut,
            ) -> Result<$crate::Written, $crate::SerializationError> {
                let $v = self;
                let small: Option<$small> = $to;
                let Some(small) = small else {
                    let reason = $crate::SerializationErrorKind::OutOfRange;
                    return Err($crate::SerializationError::new::<Self>(typ, reason));
                };
                $crate::SerializeValue::serialize(&small, typ, out).map_err(|e| {
                    if e.rust_type() == std::any::type_name::<$small>() {
                        e.with_rust_type(std::any::type_name::<Self>())
                    } else {
                        e
                    }
                })
            }
        }

        impl<'frame> $crate::DeserializeValue<'frame> for $t {
            fn type_check(typ: &$crate::ColumnType) -> Result<(), $crate::DeserializationError> {
                <$small as $crate::DeserializeValue>::type_check(typ)
                    .map_err(|_| $crate::DeserializationError::mismatch::<Self>(typ))
            }
            fn deserialize(
                typ: &$crate::ColumnType,
                v: Option<$crate::FrameSlice<'frame>>,
            ) -> Result<Self, $crate::DeserializationError> {
                let $s = match <$small as $crate::DeserializeValue>::deserialize(typ, v) {
                    Ok(s) => s,
                    Err(e) => {
                        let kind = e.kind().clone();
                        return Err($crate::DeserializationError::new::<Self>(typ, kind));
                    }
                };
                let r: Option<Self> = $from;
                r.ok_or_else(|| {
                    let kind = $crate::DeserializationErrorKind::OutOfRange;
                    $crate::DeserializationError::new::<Self>(typ, kind)
                })
            }
        }
    };
}
#[allow(unused_imports)]
use via;
