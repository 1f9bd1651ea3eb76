//! Tokens and the Murmur3 partitioner: Cassandra's variant of MurmurHash3 x64_128 and the
//! routing key built from a prepared statement's partition-key values.
//! It does not know about hosts or rings (see `token_ring.rs`) and performs no I/O.

use std::borrow::Cow;
use std::fmt;

/// A position on the Murmur3 token ring (`Murmur3Partitioner` tokens are signed 64-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(i64);

impl Token {
    /// The smallest token. Cassandra gives it to the empty key and never to a hashed key.
    pub const MIN: Token = Token(i64::MIN);

    /// Wraps a raw token value.
    pub const fn new(value: i64) -> Self {
        Token(value)
    }

    /// The raw token value, as `SELECT token(...)` prints it.
    pub const fn value(self) -> i64 {
        self.0
    }

    /// Parses the decimal text form used in `system.local.tokens` / `system.peers.tokens`.
    pub fn parse(text: &str) -> Option<Self> {
        text.trim().parse::<i64>().ok().map(Token)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The token Cassandra's `Murmur3Partitioner` assigns to a partition key's bytes.
///
/// Matches `Murmur3Partitioner.getToken`: an empty key maps to the minimum token; otherwise
/// it is the first 64 bits of `MurmurHash.hash3_x64_128(key, seed 0)`, where Cassandra's
/// port reads the 1..=15 tail bytes as *signed* Java bytes (sign-extended before shifting,
/// unlike the reference C++), and `i64::MIN` is normalized to `i64::MAX`.
///
/// ```
/// // `SELECT token(k) FROM t WHERE k = 1` for an `int` partition key `k`:
/// assert_eq!(ringbolt::murmur3_token(&1_i32.to_be_bytes()).value(), -4069959284402364209);
/// ```
pub fn murmur3_token(key: &[u8]) -> Token {
    if key.is_empty() {
        return Token::MIN;
    }
    Token(normalize(hash3_x64_128_h1(key)))
}

/// Cassandra reserves `i64::MIN` for the minimum token, so a hash equal to it moves to MAX.
fn normalize(h: i64) -> i64 {
    if h == i64::MIN {
        i64::MAX
    } else {
        h
    }
}

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

/// A tail byte as Java's `(long) byteBuffer.get(i)` sees it: sign-extended.
fn signed(b: u8) -> u64 {
    b as i8 as i64 as u64
}

/// First half (h1) of Cassandra's MurmurHash3 x64_128 with seed 0.
fn hash3_x64_128_h1(key: &[u8]) -> i64 {
    let (mut h1, mut h2) = (0u64, 0u64);
    let mut blocks = key.chunks_exact(16);
    for block in &mut blocks {
        let (lo, hi) = block.split_at(8);
        // Body blocks are read unsigned, little-endian (Cassandra's getBlock masks & 0xff).
        let k1 = u64::from_le_bytes(lo.try_into().unwrap_or([0; 8]));
        let k2 = u64::from_le_bytes(hi.try_into().unwrap_or([0; 8]));
        h1 ^= mix_k1(k1);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(k2);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate().skip(8) {
        k2 ^= signed(b) << ((i - 8) * 8);
    }
    if tail.len() > 8 {
        h2 ^= mix_k2(k2);
    }
    for (i, &b) in tail.iter().enumerate().take(8) {
        k1 ^= signed(b) << (i * 8);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(k1);
    }
    let len = key.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1.wrapping_add(h2) as i64
}

/// The partition key bytes Cassandra hashes for a statement, built from its bound values.
///
/// `pk_indexes` are the bind-marker positions of the partition key components, in
/// partition-key order (the PREPARED result's `pk_indexes`, spec v4 section 4.2.5.4);
/// `value(i)` returns the serialized value bound at position `i`, or `None` when it is
/// null, unset or missing. One component: its bytes as-is (borrowed). Several: Cassandra's
/// `CompositeType` layout, per component `[u16 big-endian length][bytes][0x00]`.
/// Returns `None` when there is no component, any component is absent, or a composite
/// component is longer than 65535 bytes (Cassandra rejects such keys).
pub(crate) fn routing_key<'v>(
    pk_indexes: &[u16],
    value: impl Fn(usize) -> Option<&'v [u8]>,
) -> Option<Cow<'v, [u8]>> {
    match pk_indexes {
        [] => None,
        [single] => value(usize::from(*single)).map(Cow::Borrowed),
        many => {
            let mut out = Vec::new();
            for &idx in many {
                let bytes = value(usize::from(idx))?;
                let len = u16::try_from(bytes.len()).ok()?;
                out.reserve(bytes.len() + 3);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(bytes);
                out.push(0);
            }
            Some(Cow::Owned(out))
        }
    }
}

/// The token of a statement's partition, or `None` when its routing key is unknown.
pub(crate) fn routing_token<'v>(
    pk_indexes: &[u16],
    value: impl Fn(usize) -> Option<&'v [u8]>,
) -> Option<Token> {
    routing_key(pk_indexes, value).map(|key| murmur3_token(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Computed with Cassandra 5.0.9's own classes (cassandra-all-5.0.9.jar):
    /// `Murmur3Partitioner.instance.getToken(ByteBuffer.wrap(key)).getTokenValue()`.
    /// Two keys per length 1..=17: ascending low bytes, and bytes >= 0x80 (sign-extension).
    const CASSANDRA_509: &[(&str, i64)] = &[
        ("00", 5048724184180415669),
        ("80", -5284281814142962636),
        ("ff", -4442228696663692417),
        ("7f", 5072634478945617755),
        ("0001", 8985795910368437836),
        ("8089", 6568662586751575619),
        ("000102", -5155881396135008578),
        ("808992", -1941725397882741972),
        ("00010203", -2178171369485783280),
        ("8089929b", -6329517412434933047),
        ("0001020304", 4750889501884760118),
        ("8089929ba4", -2438031253014739534),
        ("000102030405", 7392723365929485372),
        ("8089929ba4ad", 6024815711731930008),
        ("00010203040506", -4806350670375744152),
        ("8089929ba4adb6", 1519062319441258406),
        ("0001020304050607", 5163343703268274120),
        ("8089929ba4adb6bf", -6651240054380230971),
        ("000102030405060708", -309399207242814158),
        ("8089929ba4adb6bfc8", -4613318725319772758),
        ("00010203040506070809", -3473922481543650205),
        ("8089929ba4adb6bfc8d1", -5825970756459697218),
        ("000102030405060708090a", -4216689456396742776),
        ("8089929ba4adb6bfc8d1da", -3975494081226664818),
        ("000102030405060708090a0b", -5522072959351347766),
        ("8089929ba4adb6bfc8d1dae3", -7191175972890332352),
        ("000102030405060708090a0b0c", 5427640137651536322),
        ("8089929ba4adb6bfc8d1dae3ec", 8160231821477243470),
        ("000102030405060708090a0b0c0d", 6893097802861145444),
        ("8089929ba4adb6bfc8d1dae3ecf5", -6566988078197065647),
        ("000102030405060708090a0b0c0d0e", 5125964547706398185),
        ("8089929ba4adb6bfc8d1dae3ecf5fe", 6598806903563065996),
        ("000102030405060708090a0b0c0d0e0f", 4920504430128807728),
        ("8089929ba4adb6bfc8d1dae3ecf5fe87", -5408930881566843349),
        ("000102030405060708090a0b0c0d0e0f10", 6662781046685680142),
        ("8089929ba4adb6bfc8d1dae3ecf5fe8790", 2297522085108677306),
        // int 1 and bigint 1 as CQL serializes them.
        ("00000001", -4069959284402364209),
        ("0000000000000001", 6292367497774912474),
    ];

    #[test]
    fn matches_cassandra_for_every_tail_length() {
        for (key, token) in CASSANDRA_509 {
            assert_eq!(murmur3_token(&unhex(key)).value(), *token, "key {key}");
        }
    }

    /// Published by the DataStax drivers' test suites: python-driver
    /// `tests/unit/test_metadata.py` (`_verify_hash`) and ruby-driver
    /// `spec/cassandra/murmur3_spec.rb` ("inputs and result values from Cassandra").
    #[test]
    fn matches_datastax_driver_vectors() {
        let ff16 = [0xffu8; 16];
        let mut mixed = vec![0u8, 1, 2, 3];
        mixed.extend([0xff; 12]);
        let cases: Vec<(Vec<u8>, i64)> = vec![
            (b"123".to_vec(), -7468325962851647638),
            (b"\x00\xff\x10\xfa\x99".repeat(10), 5837342703291459765),
            (vec![0xfe; 8], -8927430733708461935),
            (vec![0x10; 8], 1446172840243228796),
            (b"9223372036854775807".to_vec(), 7162290910810015547),
            ((1u8..=16).collect(), -5563837382979743776),
            ((2u8..=17).collect(), -1513403162740402161),
            (vec![0; 16], 5457549051747178710),
            (ff16.to_vec(), -2824192546314762522),
            (vec![0xfe; 16], -833317529301936754),
            (mixed, 6463632673159404390),
            (vec![0xfe; 17], -1672437813826982685),
            (vec![0xfe; 4], 4566408979886474012),
            (vec![0, 0, 0, 0], -3485513579396041028),
            (vec![0, 1, 0x7f, 0x7f], 6573459401642635627),
            (vec![0, 0xff, 0xff, 0xff], 123573637386978882),
            (vec![0xff, 1, 2, 3], -2839127690952877842),
            (vec![0xe2, 0xe7], -8582699461035929883),
            (
                vec![0xe2, 0xe7, 0xe2, 0xe7, 0xe2, 0xe7, 0x01],
                2222373981930033306,
            ),
        ];
        for (key, token) in cases {
            assert_eq!(murmur3_token(&key).value(), token, "key {key:02x?}");
        }
    }

    /// gocql `internal/murmur/murmur_test.go` (TestMurmur3H1ForCassandra): tails of 8..=14
    /// bytes >= 0x80 after a full block.
    #[test]
    fn matches_gocql_high_byte_tails() {
        let mut prefix = b"prefix".to_vec();
        prefix.extend(0u8..=15);
        prefix.extend([0xc8, 0xc9]);
        let expected = [
            -5319761130493488577,
            -4593148434938707926,
            -575713103357290760,
            4290743753678124926,
            9164754117279683406,
            -107668053986278786,
            64887291506465003,
            6241282934480161521,
            5150183507841894143,
            5645797256444299552,
            -908235285856554578,
            -1785405279637408062,
            5343233714768265848,
            4936964276934412722,
            2294903531026336836,
        ];
        for (extra, token) in expected.iter().enumerate() {
            let mut key = prefix.clone();
            key.extend((0..extra as u8).map(|i| 0xca + i));
            assert_eq!(murmur3_token(&key).value(), *token, "extra {extra}");
        }
    }

    #[test]
    fn empty_key_is_min_and_min_hash_normalizes_to_max() {
        assert_eq!(murmur3_token(&[]), Token::MIN);
        assert_eq!(normalize(i64::MIN), i64::MAX);
        assert_eq!(normalize(-1), -1);
    }

    #[test]
    fn token_parse_and_display() {
        assert_eq!(
            Token::parse("-3074457345618258603"),
            Some(Token::new(-3074457345618258603))
        );
        assert_eq!(Token::parse(" 42 "), Some(Token::new(42)));
        assert_eq!(Token::parse("x"), None);
        assert_eq!(Token::parse("9223372036854775808"), None);
        assert_eq!(Token::new(-7).to_string(), "-7");
    }

    fn values<'a>(vals: &'a [Option<&'a [u8]>]) -> impl Fn(usize) -> Option<&'a [u8]> + 'a {
        move |i| vals.get(i).copied().flatten()
    }

    #[test]
    fn single_component_routing_key_borrows_the_value() {
        let vals: [Option<&[u8]>; 2] = [Some(b"xx"), Some(&[0, 0, 0, 1])];
        let key = routing_key(&[1], values(&vals)).unwrap();
        assert!(matches!(key, Cow::Borrowed(_)));
        assert_eq!(&*key, &[0, 0, 0, 1]);
        assert_eq!(
            routing_token(&[1], values(&vals)),
            Some(Token::new(-4069959284402364209))
        );
    }

    /// Composite layouts and tokens computed with Cassandra 5.0.9's
    /// `CompositeType.build(ByteBufferAccessor.instance, ...)` and `Murmur3Partitioner`.
    #[test]
    fn composite_routing_key_matches_cassandra() {
        let vals: [Option<&[u8]>; 3] = [Some(b"abc"), Some(&[0, 0, 0, 1]), Some(&[])];
        // Partition key (int, text) bound at positions 1 then 0.
        let key = routing_key(&[1, 0], values(&vals)).unwrap();
        assert_eq!(&*key, unhex("00040000000100000361626300").as_slice());
        assert_eq!(murmur3_token(&key).value(), 8771735466527499816);
        // An empty component still gets its length and end-of-component byte.
        let vals2: [Option<&[u8]>; 2] = [Some(&[]), Some(&[0xff])];
        let key = routing_key(&[0, 1], values(&vals2)).unwrap();
        assert_eq!(&*key, unhex("0000000001ff00").as_slice());
        assert_eq!(murmur3_token(&key).value(), 3041776680891558901);
    }

    #[test]
    fn routing_key_absent_when_a_component_is_missing() {
        let vals: [Option<&[u8]>; 2] = [Some(b"a"), None];
        assert!(routing_key(&[], values(&vals)).is_none());
        assert!(routing_key(&[1], values(&vals)).is_none());
        assert!(routing_key(&[0, 1], values(&vals)).is_none());
        assert!(routing_key(&[0, 7], values(&vals)).is_none());
        let big = vec![0u8; 65536];
        let vals: [Option<&[u8]>; 2] = [Some(&big), Some(b"a")];
        assert!(routing_key(&[0, 1], values(&vals)).is_none());
        assert!(routing_key(&[0], values(&vals)).is_some());
    }
}
