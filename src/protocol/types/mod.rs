//! CQL data types: the column type descriptions carried in metadata, the dynamic
//! `CqlValue`, and the encoding and decoding of every CQL value (spec sections 5, 6).
//! No I/O, and no Rust-type mapping (that lives in the public `value` and `row` modules).

mod column_type;
pub mod decode;
pub mod encode;
mod value;

#[cfg(test)]
mod tests;

pub use column_type::{ColumnType, UdtType, MAX_TYPE_DEPTH};
pub use value::{
    Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlUuid,
    CqlValue, CqlVarint,
};
