//! Fuzz target: any bytes as a response body (envelope flags, opcode and protocol
//! version taken from the first bytes) through the response decoders, and any rows
//! result through typed row access. Must never panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use ringbolt::protocol::response::{ResultBody, Response};
use ringbolt::protocol::{Opcode, ProtocolVersion};
use ringbolt::{CqlValue, RowSet};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let version = match data[0] % 3 {
        0 => ProtocolVersion::V3,
        1 => ProtocolVersion::V4,
        _ => ProtocolVersion::V5,
    };
    let Ok(opcode) = Opcode::from_u8(data[1] % 0x11) else {
        return;
    };
    let flags = data[2] & 0x0E;
    let body = Bytes::copy_from_slice(&data[3..]);
    if let Ok((_, Response::Result(ResultBody::Rows(rows)))) =
        Response::decode_with_envelope(flags, opcode, version, &body)
    {
        let set = RowSet::new(rows.metadata.columns.into(), rows.rows_count, rows.rows_content);
        for row in set.iter() {
            let Ok(row) = row else { break };
            for i in 0..row.len() {
                let _ = row.get::<CqlValue>(i);
            }
        }
    }
});
