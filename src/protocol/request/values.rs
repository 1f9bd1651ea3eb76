//! Bound-value containers of request bodies: `SerializedValues` (positional [value]s,
//! already length-prefixed, stored contiguously) and `NamedValues` (`<name><value>` pairs).
//! Owns their encode/decode and the v3 rule that a value is a [bytes]. Does not know
//! CQL types: callers serialize a value's bytes with `push_with`.

use bytes::{BufMut, BytesMut};

use crate::protocol::wire::{self, RawValue};
use crate::protocol::{DecodeError, EncodeError, ProtocolVersion};

/// Positional bound values: a \[short\] count plus that many \[value\]s, kept as the exact
/// wire bytes (each with its 4-byte length prefix) so encoding is one copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SerializedValues {
    count: u16,
    buf: BytesMut,
}

/// Named bound values: `<name [string]><value>` pairs kept as their exact wire bytes
/// (QUERY/EXECUTE flag 0x40, spec v4/v5 section 4.1.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedValues {
    count: u16,
    buf: BytesMut,
}

fn count_full(what: &'static str) -> EncodeError {
    EncodeError::TooLong {
        what,
        len: u16::MAX as usize + 1,
        max: u16::MAX as usize,
    }
}

/// Appends a [value] whose bytes `f` writes, patching the 4-byte length afterwards.
/// On any error the buffer is restored to its length before the call.
fn append_with<E, F>(buf: &mut BytesMut, f: F) -> Result<(), E>
where
    F: FnOnce(&mut BytesMut) -> Result<(), E>,
    E: From<EncodeError>,
{
    let start = buf.len();
    buf.put_i32(0);
    if let Err(e) = f(buf) {
        buf.truncate(start);
        return Err(e);
    }
    // The writer must only append; if it removed bytes the container is unusable.
    let Some(len) = buf.len().checked_sub(start + 4) else {
        buf.clear();
        return Err(EncodeError::Invalid {
            what: "value writer removed bytes it did not write",
        }
        .into());
    };
    match wire::int_len(len, "[value]") {
        Ok(n) => {
            buf[start..start + 4].copy_from_slice(&n.to_be_bytes());
            Ok(())
        }
        Err(e) => {
            buf.truncate(start);
            Err(e.into())
        }
    }
}

fn append_raw(buf: &mut BytesMut, v: RawValue<'_>) -> Result<(), EncodeError> {
    wire::write_value(buf, v)
}

/// Reads one bound value as the given version defines it: a [value] on v4+ (lengths
/// below -2 are an error), a [bytes] on v3 where every negative length is null
/// (spec v3 section 3 "[bytes]: ... If n<0 ... the value represented is `null`", and
/// v3 section 4.1.4, where values are [bytes]). Such lengths are stored as -1.
pub(crate) fn read_bound_value<'a>(
    buf: &mut &'a [u8],
    version: ProtocolVersion,
) -> Result<RawValue<'a>, DecodeError> {
    if version >= ProtocolVersion::V4 {
        return wire::read_value(buf);
    }
    Ok(match wire::read_bytes(buf)? {
        None => RawValue::Null,
        Some(b) => RawValue::Bytes(b),
    })
}

/// Iterates [value]s stored in a buffer that was validated when it was built.
fn next_value<'a>(rest: &mut &'a [u8]) -> Option<RawValue<'a>> {
    if rest.is_empty() {
        return None;
    }
    // The container only holds well-formed values, so this never fails; a failure
    // would end the iteration rather than panic.
    wire::read_value(rest).ok()
}

impl SerializedValues {
    /// An empty container.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the unused capacity after the values as a new, empty container sharing
    /// the same allocation (so several containers can fill one buffer in turn).
    pub fn split_spare(&mut self) -> Self {
        Self {
            count: 0,
            buf: self.buf.split_off(self.buf.len()),
        }
    }

    /// An empty container with room for `bytes` bytes of encoded values.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            count: 0,
            buf: BytesMut::with_capacity(bytes),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True when no value was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded values without the \[short\] count.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes this container takes on the wire, count included.
    pub fn encoded_len(&self) -> usize {
        2 + self.buf.len()
    }

    /// Removes every value, keeping the allocation for reuse.
    pub fn clear(&mut self) {
        self.count = 0;
        self.buf.clear();
    }

    fn check_room(&self) -> Result<(), EncodeError> {
        if self.count == u16::MAX {
            return Err(count_full("values count"));
        }
        Ok(())
    }

    /// Appends a null value (length -1).
    pub fn push_null(&mut self) -> Result<(), EncodeError> {
        self.push_raw(RawValue::Null)
    }

    /// Appends an unset value (length -2, v4+; encoding it on v3 fails).
    pub fn push_unset(&mut self) -> Result<(), EncodeError> {
        self.push_raw(RawValue::NotSet)
    }

    /// Appends a value from its serialized bytes.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.push_raw(RawValue::Bytes(bytes))
    }

    /// Appends a \[value\] as-is.
    pub fn push_raw(&mut self, v: RawValue<'_>) -> Result<(), EncodeError> {
        self.check_room()?;
        append_raw(&mut self.buf, v)?;
        self.count += 1;
        Ok(())
    }

    /// Appends a value whose bytes `f` writes straight into the buffer (no intermediate
    /// allocation); the length prefix is patched afterwards. `f` must only append. On
    /// error nothing is added.
    pub fn push_with<E, F>(&mut self, f: F) -> Result<(), E>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), E>,
        E: From<EncodeError>,
    {
        self.check_room()?;
        append_with(&mut self.buf, f).inspect_err(|_| {
            if self.buf.is_empty() {
                self.count = 0;
            }
        })?;
        self.count += 1;
        Ok(())
    }

    /// Appends several whole \[value\]s (each with its length prefix) that `f` writes
    /// straight into the buffer, returning how many it wrote. On error nothing is added.
    pub fn extend_with<E, F>(&mut self, f: F) -> Result<(), E>
    where
        F: FnOnce(&mut BytesMut) -> Result<usize, E>,
        E: From<EncodeError>,
    {
        let mark = self.buf.len();
        let written = f(&mut self.buf).inspect_err(|_| self.buf.truncate(mark))?;
        let total = usize::from(self.count) + written;
        match u16::try_from(total) {
            Ok(n) => {
                self.count = n;
                Ok(())
            }
            Err(_) => {
                self.buf.truncate(mark);
                Err(count_full("values count").into())
            }
        }
    }

    /// The values, in order.
    pub fn iter(&self) -> impl Iterator<Item = RawValue<'_>> + '_ {
        let mut rest: &[u8] = &self.buf;
        std::iter::from_fn(move || next_value(&mut rest))
    }

    /// True when some value is unset (length -2).
    fn has_unset(&self) -> bool {
        self.iter().any(|v| v == RawValue::NotSet)
    }

    /// Writes `<n><value_1>...<value_n>`. On v3 an unset value is an error (v3 values
    /// are [bytes], which have no "not set"; spec v3 section 4.1.4).
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if version < ProtocolVersion::V4 && self.has_unset() {
            return Err(EncodeError::UnsupportedByVersion {
                what: "unset value",
                version: version.as_u8(),
            });
        }
        wire::write_short(out, self.count);
        out.put_slice(&self.buf);
        Ok(())
    }

    /// Reads `<n><value_1>...<value_n>`. A hostile count fails before anything is
    /// allocated; the copy is one allocation of exactly the bytes read.
    pub fn decode(version: ProtocolVersion, buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let n = wire::read_short(buf)?;
        wire::check_count(buf, usize::from(n), 4, "values")?;
        let start = *buf;
        let mut normalize = false;
        for _ in 0..n {
            normalize |=
                version < ProtocolVersion::V4 && matches!(peek_len(buf), Some(l) if l < -1);
            read_bound_value(buf, version)?;
        }
        let raw = &start[..start.len() - buf.len()];
        if !normalize {
            return Ok(Self {
                count: n,
                buf: BytesMut::from(raw),
            });
        }
        let mut out = Self::with_capacity(raw.len());
        let mut c = raw;
        for _ in 0..n {
            out.push_raw(read_bound_value(&mut c, version)?)
                .map_err(|_| DecodeError::Malformed { what: "values" })?;
        }
        Ok(out)
    }
}

/// The [int] length at the front of `buf`, if there are 4 bytes.
fn peek_len(buf: &[u8]) -> Option<i32> {
    let mut c = buf;
    wire::read_int(&mut c).ok()
}

impl NamedValues {
    /// An empty container.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// True when no value was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes this container takes on the wire, count included.
    pub fn encoded_len(&self) -> usize {
        2 + self.buf.len()
    }

    /// Removes every value, keeping the allocation for reuse.
    pub fn clear(&mut self) {
        self.count = 0;
        self.buf.clear();
    }

    fn begin(&mut self, name: &str) -> Result<usize, EncodeError> {
        if self.count == u16::MAX {
            return Err(count_full("named values count"));
        }
        let start = self.buf.len();
        wire::write_string(&mut self.buf, name)?;
        Ok(start)
    }

    /// Appends a null value bound to `name`.
    pub fn push_null(&mut self, name: &str) -> Result<(), EncodeError> {
        self.push_raw(name, RawValue::Null)
    }

    /// Appends an unset value bound to `name` (v4+).
    pub fn push_unset(&mut self, name: &str) -> Result<(), EncodeError> {
        self.push_raw(name, RawValue::NotSet)
    }

    /// Appends serialized bytes bound to `name`.
    pub fn push_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), EncodeError> {
        self.push_raw(name, RawValue::Bytes(bytes))
    }

    /// Appends a \[value\] bound to `name` as-is.
    pub fn push_raw(&mut self, name: &str, v: RawValue<'_>) -> Result<(), EncodeError> {
        let start = self.begin(name)?;
        if let Err(e) = append_raw(&mut self.buf, v) {
            self.buf.truncate(start);
            return Err(e);
        }
        self.count += 1;
        Ok(())
    }

    /// Appends a value bound to `name` whose bytes `f` writes straight into the buffer;
    /// see [`SerializedValues::push_with`].
    pub fn push_with<E, F>(&mut self, name: &str, f: F) -> Result<(), E>
    where
        F: FnOnce(&mut BytesMut) -> Result<(), E>,
        E: From<EncodeError>,
    {
        let start = self.begin(name)?;
        if let Err(e) = append_with(&mut self.buf, f) {
            if self.buf.is_empty() {
                self.count = 0;
            } else {
                self.buf.truncate(start);
            }
            return Err(e);
        }
        self.count += 1;
        Ok(())
    }

    /// The `(name, value)` pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, RawValue<'_>)> + '_ {
        let mut rest: &[u8] = &self.buf;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let name = wire::read_str(&mut rest).ok()?;
            Some((name, next_value(&mut rest)?))
        })
    }

    /// Writes `<n><name_1><value_1>...`; unset values fail on v3.
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if version < ProtocolVersion::V4 && self.iter().any(|(_, v)| v == RawValue::NotSet) {
            return Err(EncodeError::UnsupportedByVersion {
                what: "unset value",
                version: version.as_u8(),
            });
        }
        wire::write_short(out, self.count);
        out.put_slice(&self.buf);
        Ok(())
    }

    /// Reads `<n><name_1><value_1>...`; a hostile count fails before allocating.
    pub fn decode(version: ProtocolVersion, buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let n = wire::read_short(buf)?;
        // smallest pair: empty [string] (2) + null [value] (4)
        wire::check_count(buf, usize::from(n), 6, "named values")?;
        let mut out = Self::new();
        let start = *buf;
        let mut normalize = false;
        for _ in 0..n {
            wire::read_str(buf)?;
            normalize |=
                version < ProtocolVersion::V4 && matches!(peek_len(buf), Some(l) if l < -1);
            read_bound_value(buf, version)?;
        }
        let raw = &start[..start.len() - buf.len()];
        if !normalize {
            out.count = n;
            out.buf = BytesMut::from(raw);
            return Ok(out);
        }
        let mut c = raw;
        for _ in 0..n {
            let name = wire::read_str(&mut c)?;
            let v = read_bound_value(&mut c, version)?;
            out.push_raw(name, v).map_err(|_| DecodeError::Malformed {
                what: "named values",
            })?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProtocolVersion::{V3, V4, V5};

    fn enc_pos(v: &SerializedValues, version: ProtocolVersion) -> Vec<u8> {
        let mut out = BytesMut::new();
        v.encode(version, &mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn positional_push_and_wire_layout() {
        let mut v = SerializedValues::new();
        v.push_bytes(b"ab").unwrap();
        v.push_null().unwrap();
        v.push_unset().unwrap();
        v.push_with(|b| {
            b.put_i32(7);
            Ok::<(), EncodeError>(())
        })
        .unwrap();
        assert_eq!(v.len(), 4);
        let wire = enc_pos(&v, V4);
        assert_eq!(
            wire,
            [
                &[0, 4][..],
                &[0, 0, 0, 2, b'a', b'b'],
                &[0xFF; 4],
                &[0xFF, 0xFF, 0xFF, 0xFE],
                &[0, 0, 0, 4, 0, 0, 0, 7]
            ]
            .concat()
        );
        assert_eq!(v.encoded_len(), wire.len());
        let items: Vec<_> = v.iter().collect();
        assert_eq!(
            items,
            [
                RawValue::Bytes(b"ab"),
                RawValue::Null,
                RawValue::NotSet,
                RawValue::Bytes(&[0, 0, 0, 7])
            ]
        );
        for version in [V4, V5] {
            let back = SerializedValues::decode(version, &mut &wire[..]).unwrap();
            assert_eq!(back, v);
        }
    }

    #[test]
    fn push_with_error_leaves_container_unchanged() {
        #[derive(Debug, PartialEq)]
        enum MyErr {
            Bad,
            Enc(EncodeError),
        }
        impl From<EncodeError> for MyErr {
            fn from(e: EncodeError) -> Self {
                MyErr::Enc(e)
            }
        }
        let mut v = SerializedValues::new();
        v.push_bytes(b"x").unwrap();
        let before = v.clone();
        let r = v.push_with(|b| {
            b.put_slice(b"partial");
            Err(MyErr::Bad)
        });
        assert_eq!(r, Err(MyErr::Bad));
        assert_eq!(v, before);
        // A writer that removes bytes it did not write is caught, not a panic.
        let r: Result<(), EncodeError> = v.push_with(|b| {
            b.clear();
            Ok(())
        });
        assert!(matches!(r, Err(EncodeError::Invalid { .. })));
        assert!(v.is_empty());
        assert_eq!(v.iter().count(), 0);
    }

    #[test]
    fn count_is_capped_at_u16_max() {
        let mut v = SerializedValues::new();
        for _ in 0..u16::MAX {
            v.push_null().unwrap();
        }
        assert!(matches!(v.push_null(), Err(EncodeError::TooLong { .. })));
        assert!(matches!(
            v.push_with(|_| Ok::<(), EncodeError>(())),
            Err(EncodeError::TooLong { .. })
        ));
        assert_eq!(v.len(), 65535);
    }

    #[test]
    fn unset_is_v4_plus() {
        let mut v = SerializedValues::new();
        v.push_unset().unwrap();
        let mut out = BytesMut::new();
        assert!(matches!(
            v.encode(V3, &mut out),
            Err(EncodeError::UnsupportedByVersion { version: 3, .. })
        ));
        let mut n = NamedValues::new();
        n.push_unset("a").unwrap();
        assert!(n.encode(V3, &mut out).is_err());
        assert!(n.encode(V4, &mut out).is_ok());
    }

    #[test]
    fn hostile_counts_and_lengths() {
        // 65535 values claimed in a 6-byte body
        let body = [0xFF, 0xFF, 0, 0, 0, 1];
        assert!(matches!(
            SerializedValues::decode(V4, &mut &body[..]),
            Err(DecodeError::Truncated { need: 262_140, .. })
        ));
        assert!(matches!(
            NamedValues::decode(V5, &mut &body[..]),
            Err(DecodeError::Truncated { .. })
        ));
        // a value length of -3 is an error on v4/v5
        let body = [0, 1, 0xFF, 0xFF, 0xFF, 0xFD];
        for version in [V4, V5] {
            assert!(matches!(
                SerializedValues::decode(version, &mut &body[..]),
                Err(DecodeError::InvalidLength { len: -3, .. })
            ));
        }
        // ... but null on v3, where a value is a [bytes]
        let v = SerializedValues::decode(V3, &mut &body[..]).unwrap();
        assert_eq!(v.iter().collect::<Vec<_>>(), [RawValue::Null]);
        assert_eq!(enc_pos(&v, V3), [0, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        // -2 on v3 is null too
        let body = [0, 1, 0xFF, 0xFF, 0xFF, 0xFE];
        let v = SerializedValues::decode(V3, &mut &body[..]).unwrap();
        assert_eq!(v.iter().collect::<Vec<_>>(), [RawValue::Null]);
    }

    #[test]
    fn named_round_trip_and_v3_normalization() {
        let mut n = NamedValues::new();
        n.push_bytes("id", &[0, 0, 0, 1]).unwrap();
        n.push_null("name").unwrap();
        n.push_with("x", |b| {
            b.put_u8(9);
            Ok::<(), EncodeError>(())
        })
        .unwrap();
        let mut out = BytesMut::new();
        n.encode(V5, &mut out).unwrap();
        assert_eq!(out.len(), n.encoded_len());
        let back = NamedValues::decode(V5, &mut &out[..]).unwrap();
        assert_eq!(back, n);
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            [
                ("id", RawValue::Bytes(&[0, 0, 0, 1])),
                ("name", RawValue::Null),
                ("x", RawValue::Bytes(&[9]))
            ]
        );
        let body = [0, 1, 0, 1, b'k', 0xFF, 0xFF, 0xFF, 0xF0];
        let v = NamedValues::decode(V3, &mut &body[..]).unwrap();
        assert_eq!(v.iter().collect::<Vec<_>>(), [("k", RawValue::Null)]);
        assert!(NamedValues::decode(V4, &mut &body[..]).is_err());
    }
}
