//! Wire primitives of spec section 3 (\[int\], \[string\], [bytes], \[value\], vints, maps ...).
//! Readers are cursor functions over `&mut &[u8]` that return a typed error on short or
//! hostile input; writers append to a `BytesMut`. Nothing here allocates from an
//! unchecked length: every length is checked against the remaining input first.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use super::{DecodeError, EncodeError};
use crate::protocol::Consistency;

/// Result of a wire read.
pub type Result<T> = std::result::Result<T, DecodeError>;

/// Splits `n` bytes off the front of the cursor.
#[inline]
pub fn take<'a>(buf: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8]> {
    if buf.len() < n {
        return Err(DecodeError::Truncated {
            what,
            need: n,
            have: buf.len(),
        });
    }
    let (head, tail) = buf.split_at(n);
    *buf = tail;
    Ok(head)
}

#[inline]
fn take_array<const N: usize>(buf: &mut &[u8], what: &'static str) -> Result<[u8; N]> {
    let s = take(buf, N, what)?;
    let mut out = [0u8; N];
    out.copy_from_slice(s);
    Ok(out)
}

/// Reads a \[byte\].
#[inline]
pub fn read_byte(buf: &mut &[u8]) -> Result<u8> {
    Ok(take_array::<1>(buf, "[byte]")?[0])
}

/// Reads a \[short\] (unsigned 16 bits).
#[inline]
pub fn read_short(buf: &mut &[u8]) -> Result<u16> {
    Ok(u16::from_be_bytes(take_array(buf, "[short]")?))
}

/// Reads an \[int\].
#[inline]
pub fn read_int(buf: &mut &[u8]) -> Result<i32> {
    Ok(i32::from_be_bytes(take_array(buf, "[int]")?))
}

/// Reads a \[long\].
#[inline]
pub fn read_long(buf: &mut &[u8]) -> Result<i64> {
    Ok(i64::from_be_bytes(take_array(buf, "[long]")?))
}

/// Reads a \[uuid\] as its 16 raw bytes.
#[inline]
pub fn read_uuid(buf: &mut &[u8]) -> Result<[u8; 16]> {
    take_array(buf, "[uuid]")
}

fn utf8<'a>(b: &'a [u8], what: &'static str) -> Result<&'a str> {
    std::str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8 { what })
}

/// Reads a \[string\], borrowing from the input.
#[inline]
pub fn read_str<'a>(buf: &mut &'a [u8]) -> Result<&'a str> {
    let n = read_short(buf)? as usize;
    utf8(take(buf, n, "[string]")?, "[string]")
}

/// Reads a \[string\] into an owned `String`.
pub fn read_string(buf: &mut &[u8]) -> Result<String> {
    read_str(buf).map(str::to_owned)
}

/// Reads a [long string], borrowing from the input.
pub fn read_long_str<'a>(buf: &mut &'a [u8]) -> Result<&'a str> {
    let n = read_int(buf)?;
    let n = usize::try_from(n).map_err(|_| DecodeError::InvalidLength {
        what: "[long string]",
        len: n.into(),
    })?;
    utf8(take(buf, n, "[long string]")?, "[long string]")
}

/// Checks a count of items of at least `min_item` bytes each against the remaining
/// input, so that a hostile count fails before anything is allocated.
#[inline]
pub fn check_count(buf: &[u8], count: usize, min_item: usize, what: &'static str) -> Result<usize> {
    let need = count.saturating_mul(min_item.max(1));
    if need > buf.len() {
        return Err(DecodeError::Truncated {
            what,
            need,
            have: buf.len(),
        });
    }
    Ok(count)
}

/// Reads a [string list].
pub fn read_string_list(buf: &mut &[u8]) -> Result<Vec<String>> {
    let n = check_count(buf, read_short(buf)? as usize, 2, "[string list]")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(read_string(buf)?);
    }
    Ok(out)
}

/// Reads [bytes]: `None` is null (negative length).
#[inline]
pub fn read_bytes<'a>(buf: &mut &'a [u8]) -> Result<Option<&'a [u8]>> {
    let n = read_int(buf)?;
    if n < 0 {
        return Ok(None);
    }
    take(buf, n as usize, "[bytes]").map(Some)
}

/// A \[value\]: bytes, null or not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawValue<'a> {
    /// Length -1.
    Null,
    /// Length -2: leaves the column unchanged.
    NotSet,
    /// A serialized value.
    Bytes(&'a [u8]),
}

/// Reads a \[value\]; lengths below -2 are an error (spec section 3).
pub fn read_value<'a>(buf: &mut &'a [u8]) -> Result<RawValue<'a>> {
    let n = read_int(buf)?;
    match n {
        -1 => Ok(RawValue::Null),
        -2 => Ok(RawValue::NotSet),
        n if n < -2 => Err(DecodeError::InvalidLength {
            what: "[value]",
            len: n.into(),
        }),
        n => take(buf, n as usize, "[value]").map(RawValue::Bytes),
    }
}

/// Reads [short bytes].
pub fn read_short_bytes<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    let n = read_short(buf)? as usize;
    take(buf, n, "[short bytes]")
}

/// Reads an [unsigned vint] (spec section 3): at most 9 bytes.
pub fn read_unsigned_vint(buf: &mut &[u8]) -> Result<u64> {
    let first = read_byte(buf)?;
    let extra = first.leading_ones() as usize;
    if extra == 0 {
        return Ok(u64::from(first));
    }
    let rest = take(buf, extra, "[unsigned vint]")?;
    // With 8 extra bytes the first byte carries no value bits.
    let mut v: u64 = if extra >= 8 {
        0
    } else {
        u64::from(first & (0xFF >> extra))
    };
    for b in rest {
        v = (v << 8) | u64::from(*b);
    }
    Ok(v)
}

/// Reads a \[vint\] (zig-zag encoded).
pub fn read_vint(buf: &mut &[u8]) -> Result<i64> {
    let n = read_unsigned_vint(buf)?;
    Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
}

/// Reads an \[inetaddr\] (address without port).
pub fn read_inetaddr(buf: &mut &[u8]) -> Result<IpAddr> {
    let n = read_byte(buf)?;
    match n {
        4 => Ok(IpAddr::V4(Ipv4Addr::from(take_array::<4>(
            buf,
            "[inetaddr]",
        )?))),
        16 => Ok(IpAddr::V6(Ipv6Addr::from(take_array::<16>(
            buf,
            "[inetaddr]",
        )?))),
        _ => Err(DecodeError::Malformed {
            what: "[inetaddr] size",
        }),
    }
}

/// Reads an \[inet\] (address and port).
pub fn read_inet(buf: &mut &[u8]) -> Result<SocketAddr> {
    let ip = read_inetaddr(buf)?;
    let port = read_int(buf)?;
    let port = u16::try_from(port).map_err(|_| DecodeError::UnknownValue {
        what: "[inet] port",
        value: port.into(),
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// Reads a \[consistency\].
pub fn read_consistency(buf: &mut &[u8]) -> Result<Consistency> {
    let v = read_short(buf)?;
    Consistency::from_u16(v).ok_or(DecodeError::UnknownValue {
        what: "[consistency]",
        value: v.into(),
    })
}

/// Reads a [string map].
pub fn read_string_map(buf: &mut &[u8]) -> Result<HashMap<String, String>> {
    let n = check_count(buf, read_short(buf)? as usize, 4, "[string map]")?;
    let mut out = HashMap::with_capacity(n);
    for _ in 0..n {
        let k = read_string(buf)?;
        let v = read_string(buf)?;
        out.insert(k, v);
    }
    Ok(out)
}

/// Reads a [string map] keeping the wire order (for byte-exact re-encoding).
pub fn read_string_pairs(buf: &mut &[u8]) -> Result<Vec<(String, String)>> {
    let n = check_count(buf, read_short(buf)? as usize, 4, "[string map]")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = read_string(buf)?;
        let v = read_string(buf)?;
        out.push((k, v));
    }
    Ok(out)
}

/// Reads a [string multimap] keeping the wire order.
pub fn read_string_multimap(buf: &mut &[u8]) -> Result<Vec<(String, Vec<String>)>> {
    let n = check_count(buf, read_short(buf)? as usize, 4, "[string multimap]")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = read_string(buf)?;
        let v = read_string_list(buf)?;
        out.push((k, v));
    }
    Ok(out)
}

/// Reads a [bytes map] keeping the wire order; values may be null.
pub fn read_bytes_map(buf: &mut &[u8]) -> Result<Vec<(String, Option<Bytes>)>> {
    let n = check_count(buf, read_short(buf)? as usize, 6, "[bytes map]")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = read_string(buf)?;
        let v = read_bytes(buf)?.map(Bytes::copy_from_slice);
        out.push((k, v));
    }
    Ok(out)
}

// ---------------------------------------------------------------- writers

/// Writes a \[byte\].
#[inline]
pub fn write_byte(out: &mut BytesMut, v: u8) {
    out.put_u8(v);
}

/// Writes a \[short\].
#[inline]
pub fn write_short(out: &mut BytesMut, v: u16) {
    out.put_u16(v);
}

/// Writes an \[int\].
#[inline]
pub fn write_int(out: &mut BytesMut, v: i32) {
    out.put_i32(v);
}

/// Writes a \[long\].
#[inline]
pub fn write_long(out: &mut BytesMut, v: i64) {
    out.put_i64(v);
}

/// Writes a \[uuid\].
#[inline]
pub fn write_uuid(out: &mut BytesMut, v: &[u8; 16]) {
    out.put_slice(v);
}

/// Converts a length to a \[short\] prefix.
pub fn short_len(len: usize, what: &'static str) -> std::result::Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| EncodeError::TooLong {
        what,
        len,
        max: u16::MAX as usize,
    })
}

/// Converts a length to an \[int\] prefix.
pub fn int_len(len: usize, what: &'static str) -> std::result::Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| EncodeError::TooLong {
        what,
        len,
        max: i32::MAX as usize,
    })
}

/// Writes a \[string\]; fails when longer than 65,535 bytes.
pub fn write_string(out: &mut BytesMut, s: &str) -> std::result::Result<(), EncodeError> {
    write_short(out, short_len(s.len(), "[string]")?);
    out.put_slice(s.as_bytes());
    Ok(())
}

/// Writes a [long string].
pub fn write_long_string(out: &mut BytesMut, s: &str) -> std::result::Result<(), EncodeError> {
    write_int(out, int_len(s.len(), "[long string]")?);
    out.put_slice(s.as_bytes());
    Ok(())
}

/// Writes a [string list].
pub fn write_string_list<S: AsRef<str>>(
    out: &mut BytesMut,
    items: &[S],
) -> std::result::Result<(), EncodeError> {
    write_short(out, short_len(items.len(), "[string list]")?);
    for s in items {
        write_string(out, s.as_ref())?;
    }
    Ok(())
}

/// Writes [bytes]; `None` is null.
pub fn write_bytes(out: &mut BytesMut, b: Option<&[u8]>) -> std::result::Result<(), EncodeError> {
    match b {
        None => write_int(out, -1),
        Some(b) => {
            write_int(out, int_len(b.len(), "[bytes]")?);
            out.put_slice(b);
        }
    }
    Ok(())
}

/// Writes a \[value\].
pub fn write_value(out: &mut BytesMut, v: RawValue<'_>) -> std::result::Result<(), EncodeError> {
    match v {
        RawValue::Null => write_int(out, -1),
        RawValue::NotSet => write_int(out, -2),
        RawValue::Bytes(b) => return write_bytes(out, Some(b)),
    }
    Ok(())
}

/// Writes [short bytes].
pub fn write_short_bytes(out: &mut BytesMut, b: &[u8]) -> std::result::Result<(), EncodeError> {
    write_short(out, short_len(b.len(), "[short bytes]")?);
    out.put_slice(b);
    Ok(())
}

/// Writes an [unsigned vint] in the shortest form.
pub fn write_unsigned_vint(out: &mut BytesMut, v: u64) {
    // Number of significant bits decides the number of extra bytes: each extra byte
    // adds 8 value bits and costs one bit of the first byte.
    let bits = 64 - v.leading_zeros() as usize;
    let extra = if bits <= 7 {
        0
    } else {
        // smallest e with bits <= 7 - e + 8 e = 7 + 7 e, capped at 8
        bits.saturating_sub(7).div_ceil(7).min(8)
    };
    if extra == 8 {
        out.put_u8(0xFF);
        out.put_u64(v);
        return;
    }
    let prefix: u8 = !(0xFFu8 >> extra);
    let first = prefix | ((v >> (8 * extra)) as u8);
    out.put_u8(first);
    for i in (0..extra).rev() {
        out.put_u8((v >> (8 * i)) as u8);
    }
}

/// Writes a \[vint\] (zig-zag encoded).
pub fn write_vint(out: &mut BytesMut, v: i64) {
    write_unsigned_vint(out, ((v >> 63) ^ (v << 1)) as u64);
}

/// Writes an \[inetaddr\].
pub fn write_inetaddr(out: &mut BytesMut, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            out.put_u8(4);
            out.put_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            out.put_u8(16);
            out.put_slice(&a.octets());
        }
    }
}

/// Writes an \[inet\].
pub fn write_inet(out: &mut BytesMut, addr: &SocketAddr) {
    write_inetaddr(out, &addr.ip());
    write_int(out, i32::from(addr.port()));
}

/// Writes a \[consistency\].
pub fn write_consistency(out: &mut BytesMut, c: Consistency) {
    write_short(out, c as u16);
}

/// Writes a [string map] from pairs (order preserved).
pub fn write_string_pairs<K: AsRef<str>, V: AsRef<str>>(
    out: &mut BytesMut,
    pairs: &[(K, V)],
) -> std::result::Result<(), EncodeError> {
    write_short(out, short_len(pairs.len(), "[string map]")?);
    for (k, v) in pairs {
        write_string(out, k.as_ref())?;
        write_string(out, v.as_ref())?;
    }
    Ok(())
}

/// Writes a [string multimap] (order preserved).
pub fn write_string_multimap(
    out: &mut BytesMut,
    pairs: &[(String, Vec<String>)],
) -> std::result::Result<(), EncodeError> {
    write_short(out, short_len(pairs.len(), "[string multimap]")?);
    for (k, v) in pairs {
        write_string(out, k)?;
        write_string_list(out, v)?;
    }
    Ok(())
}

/// Writes a [bytes map] (order preserved).
pub fn write_bytes_map(
    out: &mut BytesMut,
    pairs: &[(String, Option<Bytes>)],
) -> std::result::Result<(), EncodeError> {
    write_short(out, short_len(pairs.len(), "[bytes map]")?);
    for (k, v) in pairs {
        write_string(out, k)?;
        write_bytes(out, v.as_deref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut b = BytesMut::new();
        f(&mut b);
        b.to_vec()
    }

    #[test]
    fn fixed_width_round_trip() {
        let b = enc(|o| {
            write_byte(o, 0xAB);
            write_short(o, 0xBEEF);
            write_int(o, -5);
            write_long(o, i64::MIN);
            write_uuid(o, &[7; 16]);
        });
        let mut c = &b[..];
        assert_eq!(read_byte(&mut c).unwrap(), 0xAB);
        assert_eq!(read_short(&mut c).unwrap(), 0xBEEF);
        assert_eq!(read_int(&mut c).unwrap(), -5);
        assert_eq!(read_long(&mut c).unwrap(), i64::MIN);
        assert_eq!(read_uuid(&mut c).unwrap(), [7; 16]);
        assert!(c.is_empty());
    }

    #[test]
    fn truncated_is_typed() {
        let mut c: &[u8] = &[0, 0, 0];
        assert_eq!(
            read_int(&mut c),
            Err(DecodeError::Truncated {
                what: "[int]",
                need: 4,
                have: 3
            })
        );
        let mut c: &[u8] = &[0, 5, b'a'];
        assert!(matches!(
            read_str(&mut c),
            Err(DecodeError::Truncated {
                need: 5,
                have: 1,
                ..
            })
        ));
    }

    #[test]
    fn bytes_claiming_2gb_fails_without_allocating() {
        let mut c: &[u8] = &[0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3];
        assert!(matches!(
            read_bytes(&mut c),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn hostile_counts_fail_at_once() {
        // a [string list] claiming 65535 entries in 4 bytes
        let mut c: &[u8] = &[0xFF, 0xFF, 0, 1, b'a'];
        assert!(matches!(
            read_string_list(&mut c),
            Err(DecodeError::Truncated { .. })
        ));
        let mut c: &[u8] = &[0xFF, 0xFF, 0, 0];
        assert!(read_string_map(&mut c).is_err());
        let mut c: &[u8] = &[0xFF, 0xFF, 0, 0];
        assert!(read_bytes_map(&mut c).is_err());
    }

    #[test]
    fn value_null_unset_and_invalid() {
        let b = enc(|o| {
            write_value(o, RawValue::Null).unwrap();
            write_value(o, RawValue::NotSet).unwrap();
            write_value(o, RawValue::Bytes(b"xy")).unwrap();
            write_int(o, -3);
        });
        let mut c = &b[..];
        assert_eq!(read_value(&mut c).unwrap(), RawValue::Null);
        assert_eq!(read_value(&mut c).unwrap(), RawValue::NotSet);
        assert_eq!(read_value(&mut c).unwrap(), RawValue::Bytes(b"xy"));
        assert!(matches!(
            read_value(&mut c),
            Err(DecodeError::InvalidLength { len: -3, .. })
        ));
    }

    #[test]
    fn unsigned_vint_spec_example() {
        // spec: 256 000 is encoded on 3 bytes as [110]00011 11101000 00000000
        let b = enc(|o| write_unsigned_vint(o, 256_000));
        assert_eq!(b, vec![0b1100_0011, 0b1110_1000, 0]);
        assert_eq!(read_unsigned_vint(&mut &b[..]).unwrap(), 256_000);
    }

    #[test]
    fn vint_round_trip_edges() {
        let mut vals = vec![
            0i64,
            1,
            -1,
            63,
            -64,
            64,
            127,
            128,
            i32::MAX as i64,
            i64::MAX,
            i64::MIN,
        ];
        for shift in 0..63 {
            vals.push(1i64 << shift);
            vals.push(-(1i64 << shift));
            vals.push((1i64 << shift) - 1);
        }
        for v in vals {
            let b = enc(|o| write_vint(o, v));
            assert!(b.len() <= 9);
            let mut c = &b[..];
            assert_eq!(read_vint(&mut c).unwrap(), v, "value {v}");
            assert!(c.is_empty());
        }
        for v in [
            0u64,
            127,
            128,
            16383,
            16384,
            u64::MAX,
            u64::MAX >> 1,
            1 << 56,
            (1 << 56) - 1,
        ] {
            let b = enc(|o| write_unsigned_vint(o, v));
            assert_eq!(read_unsigned_vint(&mut &b[..]).unwrap(), v, "value {v}");
        }
        // zig-zag per spec: 0=0, -1=1, 1=2, -2=3
        assert_eq!(enc(|o| write_vint(o, -2)), vec![3]);
        assert_eq!(enc(|o| write_vint(o, 1)), vec![2]);
    }

    #[test]
    fn inet_round_trip_and_bad_size() {
        let a: SocketAddr = "[::1]:9042".parse().unwrap();
        let b4: SocketAddr = "127.0.0.3:9042".parse().unwrap();
        let b = enc(|o| {
            write_inet(o, &a);
            write_inet(o, &b4);
        });
        let mut c = &b[..];
        assert_eq!(read_inet(&mut c).unwrap(), a);
        assert_eq!(read_inet(&mut c).unwrap(), b4);
        let mut c: &[u8] = &[7, 1, 2, 3, 4, 5, 6, 7];
        assert!(matches!(
            read_inetaddr(&mut c),
            Err(DecodeError::Malformed { .. })
        ));
    }

    #[test]
    fn maps_round_trip_in_order() {
        let sm = vec![
            ("CQL_VERSION".to_string(), "3.0.0".to_string()),
            ("A".into(), "b".into()),
        ];
        let mm = vec![(
            "COMPRESSION".to_string(),
            vec!["lz4".to_string(), "snappy".into()],
        )];
        let bm = vec![
            ("k".to_string(), Some(Bytes::from_static(b"v"))),
            ("n".into(), None),
        ];
        let b = enc(|o| {
            write_string_pairs(o, &sm).unwrap();
            write_string_multimap(o, &mm).unwrap();
            write_bytes_map(o, &bm).unwrap();
            write_consistency(o, Consistency::LocalQuorum);
            write_long_string(o, "long").unwrap();
            write_short_bytes(o, b"sb").unwrap();
        });
        let mut c = &b[..];
        assert_eq!(read_string_pairs(&mut c).unwrap(), sm);
        assert_eq!(read_string_multimap(&mut c).unwrap(), mm);
        assert_eq!(read_bytes_map(&mut c).unwrap(), bm);
        assert_eq!(read_consistency(&mut c).unwrap(), Consistency::LocalQuorum);
        assert_eq!(read_long_str(&mut c).unwrap(), "long");
        assert_eq!(read_short_bytes(&mut c).unwrap(), b"sb");
        assert!(c.is_empty());
        let mut c: &[u8] = &[0, 0x0B];
        assert!(matches!(
            read_consistency(&mut c),
            Err(DecodeError::UnknownValue { .. })
        ));
    }

    #[test]
    fn string_too_long_to_encode() {
        let s = "x".repeat(70_000);
        assert!(matches!(
            write_string(&mut BytesMut::new(), &s),
            Err(EncodeError::TooLong { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_typed() {
        let mut c: &[u8] = &[0, 2, 0xFF, 0xFE];
        assert!(matches!(
            read_str(&mut c),
            Err(DecodeError::InvalidUtf8 { .. })
        ));
    }
}
