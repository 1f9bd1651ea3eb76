//! `<query_parameters>` shared by QUERY and EXECUTE (spec v4/v5 section 4.1.4), the
//! per-version width of the flags field, and the option tail BATCH shares with them.
//! Does not own the value containers (values.rs) nor any request body.

use std::borrow::Cow;

use bytes::BytesMut;

use super::values::{NamedValues, SerializedValues};
use crate::protocol::wire;
use crate::protocol::Consistency;
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// Flag masks of `<query_parameters>` and BATCH (spec v5 section 4.1.4 and 4.1.7).
pub mod flags {
    /// 0x01: values follow.
    pub const VALUES: u32 = 0x01;
    /// 0x02: the result omits its metadata.
    pub const SKIP_METADATA: u32 = 0x02;
    /// 0x04: a page size follows.
    pub const PAGE_SIZE: u32 = 0x04;
    /// 0x08: a paging state follows.
    pub const PAGING_STATE: u32 = 0x08;
    /// 0x10: a serial consistency follows.
    pub const SERIAL_CONSISTENCY: u32 = 0x10;
    /// 0x20: a default timestamp follows.
    pub const DEFAULT_TIMESTAMP: u32 = 0x20;
    /// 0x40: each value is preceded by its name.
    pub const NAMES_FOR_VALUES: u32 = 0x40;
    /// 0x80: a keyspace follows (v5 only).
    pub const KEYSPACE: u32 = 0x80;
    /// 0x100: a "now in seconds" follows (v5 only).
    pub const NOW_IN_SECONDS: u32 = 0x100;

    /// Every flag QUERY/EXECUTE may carry on v3/v4.
    pub const ALL_V4: u32 = 0x7F;
    /// Every flag QUERY/EXECUTE may carry on v5.
    pub const ALL_V5: u32 = 0x1FF;
}

/// Writes a flags field: a [byte] on v3 and v4, an [int] on v5 (spec v4 section 4.1.4
/// "<flags> is a [byte]", v5 section 4.1.4 "<flags> is a [int]"; same for BATCH, 4.1.7).
/// Callers have already rejected bits above 0xFF on v3/v4.
pub(crate) fn write_flags(out: &mut BytesMut, version: ProtocolVersion, flags: u32) {
    if version.is_v5() {
        wire::write_int(out, flags as i32);
    } else {
        wire::write_byte(out, flags as u8);
    }
}

/// Reads a flags field of the width `version` uses.
pub(crate) fn read_flags(buf: &mut &[u8], version: ProtocolVersion) -> Result<u32, DecodeError> {
    if version.is_v5() {
        Ok(wire::read_int(buf)? as u32)
    } else {
        Ok(u32::from(wire::read_byte(buf)?))
    }
}

/// Rejects flag bits the version does not define.
pub(crate) fn check_known(flags: u32, known: u32, what: &'static str) -> Result<(), DecodeError> {
    if flags & !known != 0 {
        return Err(DecodeError::UnknownValue {
            what,
            value: i64::from(flags),
        });
    }
    Ok(())
}

/// Bound values of a QUERY or EXECUTE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values<'a> {
    /// Values bound by position (flag 0x01).
    Positional(Cow<'a, SerializedValues>),
    /// Values bound by marker name (flags 0x01 | 0x40).
    Named(Cow<'a, NamedValues>),
}

impl Values<'_> {
    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> Values<'static> {
        match self {
            Values::Positional(v) => Values::Positional(Cow::Owned(v.into_owned())),
            Values::Named(v) => Values::Named(Cow::Owned(v.into_owned())),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Values::Positional(v) => v.encoded_len(),
            Values::Named(v) => v.encoded_len(),
        }
    }
}

/// The options shared by BATCH with QUERY/EXECUTE, after the values: serial consistency,
/// default timestamp, and on v5 keyspace and now-in-seconds. Flags are derived from
/// which fields are `Some`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonOptions<'a> {
    /// Consistency of the Paxos phase of a conditional update (flag 0x10). Encoding
    /// rejects a level other than SERIAL / LOCAL_SERIAL; decoding accepts any (the
    /// server judges).
    pub serial_consistency: Option<Consistency>,
    /// Default timestamp in microseconds (flag 0x20). Encoding rejects `i64::MIN`
    /// (spec v3 section 4.1.4); other negative values are left to the server.
    pub timestamp: Option<i64>,
    /// Keyspace to run in (flag 0x80, v5 only).
    pub keyspace: Option<Cow<'a, str>>,
    /// The server's "now" for TTL and tombstones (flag 0x100, v5 only).
    pub now_in_seconds: Option<i32>,
}

impl CommonOptions<'_> {
    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> CommonOptions<'static> {
        CommonOptions {
            serial_consistency: self.serial_consistency,
            timestamp: self.timestamp,
            keyspace: self.keyspace.map(|k| Cow::Owned(k.into_owned())),
            now_in_seconds: self.now_in_seconds,
        }
    }

    /// The flag bits these options set; fails for v5-only options on v3/v4 and for
    /// values the spec forbids.
    pub(crate) fn flags(&self, version: ProtocolVersion) -> Result<u32, EncodeError> {
        let mut f = 0;
        if let Some(sc) = self.serial_consistency {
            if !sc.is_serial() {
                return Err(EncodeError::Invalid {
                    what: "serial consistency must be SERIAL or LOCAL_SERIAL",
                });
            }
            f |= flags::SERIAL_CONSISTENCY;
        }
        if let Some(ts) = self.timestamp {
            if ts == i64::MIN {
                return Err(EncodeError::Invalid {
                    what: "default timestamp i64::MIN is forbidden",
                });
            }
            f |= flags::DEFAULT_TIMESTAMP;
        }
        let v5_only = |what| EncodeError::UnsupportedByVersion {
            what,
            version: version.as_u8(),
        };
        if self.keyspace.is_some() {
            if !version.is_v5() {
                return Err(v5_only("per-request keyspace"));
            }
            f |= flags::KEYSPACE;
        }
        if self.now_in_seconds.is_some() {
            if !version.is_v5() {
                return Err(v5_only("now_in_seconds"));
            }
            f |= flags::NOW_IN_SECONDS;
        }
        Ok(f)
    }

    /// Writes the fields that are set, in spec order (serial consistency, timestamp,
    /// keyspace, now_in_seconds). Call `flags` first: it validates.
    pub(crate) fn encode_fields(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        if let Some(sc) = self.serial_consistency {
            wire::write_consistency(out, sc);
        }
        if let Some(ts) = self.timestamp {
            wire::write_long(out, ts);
        }
        if let Some(ks) = &self.keyspace {
            wire::write_string(out, ks)?;
        }
        if let Some(now) = self.now_in_seconds {
            wire::write_int(out, now);
        }
        Ok(())
    }

    /// Reads the fields `flags` announces.
    pub(crate) fn decode_fields(
        flags: u32,
        buf: &mut &[u8],
    ) -> Result<CommonOptions<'static>, DecodeError> {
        let mut o = CommonOptions::default();
        if flags & flags::SERIAL_CONSISTENCY != 0 {
            o.serial_consistency = Some(wire::read_consistency(buf)?);
        }
        if flags & flags::DEFAULT_TIMESTAMP != 0 {
            o.timestamp = Some(wire::read_long(buf)?);
        }
        if flags & flags::KEYSPACE != 0 {
            o.keyspace = Some(Cow::Owned(wire::read_string(buf)?));
        }
        if flags & flags::NOW_IN_SECONDS != 0 {
            o.now_in_seconds = Some(wire::read_int(buf)?);
        }
        Ok(o)
    }

    fn encoded_len(&self) -> usize {
        self.serial_consistency.map_or(0, |_| 2)
            + self.timestamp.map_or(0, |_| 8)
            + self.keyspace.as_ref().map_or(0, |k| 2 + k.len())
            + self.now_in_seconds.map_or(0, |_| 4)
    }
}

/// `<query_parameters>` of QUERY and EXECUTE (spec v4/v5 section 4.1.4). The flags field
/// is not stored: it is derived from which fields are set, so it cannot disagree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryParameters<'a> {
    /// Consistency level of the operation.
    pub consistency: Consistency,
    /// Bound values (flag 0x01, and 0x40 when named); `None` sends no values section.
    pub values: Option<Values<'a>>,
    /// Ask for a result without metadata (flag 0x02).
    pub skip_metadata: bool,
    /// Rows per page (flag 0x04); the server treats `<= 0` as "no paging".
    pub page_size: Option<i32>,
    /// Where to resume paging (flag 0x08). A null paging state on the wire decodes as
    /// `None`.
    pub paging_state: Option<Cow<'a, [u8]>>,
    /// Serial consistency, timestamp and the v5-only keyspace and now_in_seconds.
    pub options: CommonOptions<'a>,
}

impl<'a> QueryParameters<'a> {
    /// Parameters with the given consistency and nothing else.
    pub fn new(consistency: Consistency) -> Self {
        Self {
            consistency,
            ..Self::default()
        }
    }

    /// Converts borrowed data into owned data.
    pub fn into_owned(self) -> QueryParameters<'static> {
        QueryParameters {
            consistency: self.consistency,
            values: self.values.map(Values::into_owned),
            skip_metadata: self.skip_metadata,
            page_size: self.page_size,
            paging_state: self.paging_state.map(|p| Cow::Owned(p.into_owned())),
            options: self.options.into_owned(),
        }
    }

    /// An upper bound of the encoded size, to reserve once.
    pub fn encoded_len_hint(&self) -> usize {
        2 + 4
            + self.values.as_ref().map_or(0, Values::encoded_len)
            + self.page_size.map_or(0, |_| 4)
            + self.paging_state.as_ref().map_or(0, |p| 4 + p.len())
            + self.options.encoded_len()
    }

    /// The flags field these parameters produce on `version`.
    pub fn flags(&self, version: ProtocolVersion) -> Result<u32, EncodeError> {
        let mut f = self.options.flags(version)?;
        match &self.values {
            None => {}
            Some(Values::Positional(_)) => f |= flags::VALUES,
            Some(Values::Named(_)) => f |= flags::VALUES | flags::NAMES_FOR_VALUES,
        }
        if self.skip_metadata {
            f |= flags::SKIP_METADATA;
        }
        if self.page_size.is_some() {
            f |= flags::PAGE_SIZE;
        }
        if self.paging_state.is_some() {
            f |= flags::PAGING_STATE;
        }
        Ok(f)
    }

    /// Writes `<consistency><flags>[values][page size][paging state][serial consistency]
    /// [timestamp][keyspace][now_in_seconds]`.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let f = self.flags(version)?;
        wire::write_consistency(out, self.consistency);
        write_flags(out, version, f);
        match &self.values {
            None => {}
            Some(Values::Positional(v)) => v.encode(version, out)?,
            Some(Values::Named(v)) => v.encode(version, out)?,
        }
        if let Some(n) = self.page_size {
            wire::write_int(out, n);
        }
        if let Some(p) = &self.paging_state {
            wire::write_bytes(out, Some(p))?;
        }
        self.options.encode_fields(out)
    }

    /// Reads `<query_parameters>`; unknown flag bits are an error.
    pub fn decode(
        version: ProtocolVersion,
        buf: &mut &[u8],
    ) -> Result<QueryParameters<'static>, DecodeError> {
        let consistency = wire::read_consistency(buf)?;
        let f = read_flags(buf, version)?;
        let known = if version.is_v5() {
            flags::ALL_V5
        } else {
            flags::ALL_V4
        };
        check_known(f, known, "query flags")?;
        // 0x40 without 0x01 is "ignored" (spec 4.1.4): no values are read.
        let values = if f & flags::VALUES == 0 {
            None
        } else if f & flags::NAMES_FOR_VALUES != 0 {
            Some(Values::Named(Cow::Owned(NamedValues::decode(
                version, buf,
            )?)))
        } else {
            Some(Values::Positional(Cow::Owned(SerializedValues::decode(
                version, buf,
            )?)))
        };
        let page_size = if f & flags::PAGE_SIZE != 0 {
            Some(wire::read_int(buf)?)
        } else {
            None
        };
        let paging_state = if f & flags::PAGING_STATE != 0 {
            wire::read_bytes(buf)?.map(|p| Cow::Owned(p.to_vec()))
        } else {
            None
        };
        let options = CommonOptions::decode_fields(f, buf)?;
        Ok(QueryParameters {
            consistency,
            values,
            skip_metadata: f & flags::SKIP_METADATA != 0,
            page_size,
            paging_state,
            options,
        })
    }
}
