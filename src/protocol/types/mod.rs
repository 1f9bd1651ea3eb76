//! CQL data types: the column type descriptions carried in metadata, and (in later
//! files) the encoding of every CQL value (spec section 5). No I/O.

mod column_type;

pub use column_type::{ColumnType, UdtType, MAX_TYPE_DEPTH};
