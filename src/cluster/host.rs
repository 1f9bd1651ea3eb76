//! The description of one Cassandra node (id, address, DC, rack, tokens, version), the
//! address-translation hook, and building a host from a `system.local`/`system.peers(_v2)`
//! row the topology layer has already decoded. No I/O, no health state (see `view.rs`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::partitioner::Token;

/// A node's `host_id` (a UUID), stable across address changes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub [u8; 16]);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostId({self})")
    }
}

/// One node as the driver knows it; shared as `Arc<Host>` and immutable. A topology change
/// yields a new `Host` value rather than mutating this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub(crate) id: HostId,
    pub(crate) address: SocketAddr,
    pub(crate) datacenter: String,
    pub(crate) rack: String,
    pub(crate) tokens: Vec<Token>,
    pub(crate) release_version: String,
}

impl Host {
    /// The node's `host_id`.
    pub fn id(&self) -> HostId {
        self.id
    }

    /// The native-transport address the driver connects to (already translated).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The node's data center.
    pub fn datacenter(&self) -> &str {
        &self.datacenter
    }

    /// The node's rack.
    pub fn rack(&self) -> &str {
        &self.rack
    }

    /// The tokens the node owns on the ring.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The node's Cassandra version string, e.g. `5.0.2`.
    pub fn release_version(&self) -> &str {
        &self.release_version
    }
}

/// Rewrites the address a node advertises into the one this client must dial (NAT,
/// private/public IPs, proxies). Applied once, when a host is built from a peers row.
pub trait AddressTranslator: Send + Sync + fmt::Debug {
    /// The address to connect to for a node that advertises `addr`.
    fn translate(&self, addr: SocketAddr) -> SocketAddr;
}

/// The default translator: connects to the advertised address.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityTranslator;

impl AddressTranslator for IdentityTranslator {
    fn translate(&self, addr: SocketAddr) -> SocketAddr {
        addr
    }
}

/// The columns of one `system.local` / `system.peers` / `system.peers_v2` row that matter
/// here, already decoded by the topology layer. Column names per table:
/// `rpc_address` = `rpc_address` (local, peers) or `native_address` (peers_v2);
/// `native_port` = `native_port` (peers_v2; absent elsewhere); `peer` = `peer` (peers,
/// peers_v2) or `broadcast_address` (local).
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerRow<'a> {
    pub(crate) host_id: Option<[u8; 16]>,
    pub(crate) rpc_address: Option<IpAddr>,
    pub(crate) native_port: Option<u16>,
    pub(crate) peer: Option<IpAddr>,
    pub(crate) datacenter: Option<&'a str>,
    pub(crate) rack: Option<&'a str>,
    pub(crate) tokens: &'a [&'a str],
    pub(crate) release_version: Option<&'a str>,
}

/// Why a peers row cannot become a host; the topology layer logs it and skips the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum HostRowError {
    /// The row has no `host_id` (a node still joining, or a stale row).
    #[error("peers row has no host_id")]
    MissingHostId,
    /// Neither a native-transport address nor a peer address is usable.
    #[error("peers row for {0} has no usable address")]
    MissingAddress(HostId),
    /// A `tokens` entry is not a Murmur3 token.
    #[error("peers row for {host}: token {token:?} is not a 64-bit integer")]
    InvalidToken {
        /// The row's host.
        host: HostId,
        /// The offending text.
        token: String,
    },
}

impl Host {
    /// Builds a host from a topology row. The address is the row's native-transport
    /// address, or its `peer` address when that is missing or the wildcard (a node with
    /// `rpc_address: 0.0.0.0`), on `native_port` or `default_port`, then translated.
    pub(crate) fn from_row(
        row: &PeerRow<'_>,
        default_port: u16,
        translator: &dyn AddressTranslator,
    ) -> Result<Host, HostRowError> {
        let id = HostId(row.host_id.ok_or(HostRowError::MissingHostId)?);
        let ip = row
            .rpc_address
            .filter(|ip| !ip.is_unspecified())
            .or(row.peer.filter(|ip| !ip.is_unspecified()))
            .ok_or(HostRowError::MissingAddress(id))?;
        let advertised = SocketAddr::new(ip, row.native_port.unwrap_or(default_port));
        let tokens = row
            .tokens
            .iter()
            .map(|t| {
                Token::parse(t).ok_or_else(|| HostRowError::InvalidToken {
                    host: id,
                    token: (*t).to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Host {
            id,
            address: translator.translate(advertised),
            datacenter: row.datacenter.unwrap_or_default().to_owned(),
            rack: row.rack.unwrap_or_default().to_owned(),
            tokens,
            release_version: row.release_version.unwrap_or_default().to_owned(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    /// A host for tests: id byte `n`, address 127.0.0.n:9042.
    pub(crate) fn host(n: u8, dc: &str, rack: &str, tokens: &[i64]) -> Arc<Host> {
        let mut id = [0u8; 16];
        id[15] = n;
        Arc::new(Host {
            id: HostId(id),
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)), 9042),
            datacenter: dc.to_owned(),
            rack: rack.to_owned(),
            tokens: tokens.iter().copied().map(Token::new).collect(),
            release_version: "5.0.0".to_owned(),
        })
    }

    #[derive(Debug)]
    struct Nat;
    impl AddressTranslator for Nat {
        fn translate(&self, addr: SocketAddr) -> SocketAddr {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), addr.port() + 1)
        }
    }

    fn row<'a>(tokens: &'a [&'a str]) -> PeerRow<'a> {
        PeerRow {
            host_id: Some([0xab; 16]),
            rpc_address: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
            native_port: None,
            peer: Some(IpAddr::V4(Ipv4Addr::new(10, 1, 0, 2))),
            datacenter: Some("dc1"),
            rack: Some("r1"),
            tokens,
            release_version: Some("4.1.3"),
        }
    }

    #[test]
    fn host_id_formats_as_uuid() {
        let id = HostId([
            0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17,
            0x40, 0x00,
        ]);
        assert_eq!(id.to_string(), "123e4567-e89b-12d3-a456-426614174000");
    }

    #[test]
    fn from_row_uses_native_address_default_port_and_parses_tokens() {
        let r = row(&["-9223372036854775808", "3074457345618258602"]);
        let h = Host::from_row(&r, 9042, &IdentityTranslator).unwrap();
        assert_eq!(h.address(), "10.0.0.2:9042".parse().unwrap());
        assert_eq!(h.datacenter(), "dc1");
        assert_eq!(h.rack(), "r1");
        assert_eq!(h.release_version(), "4.1.3");
        assert_eq!(
            h.tokens(),
            &[Token::MIN, Token::new(3074457345618258602)][..]
        );
        assert_eq!(h.id(), HostId([0xab; 16]));
    }

    #[test]
    fn from_row_falls_back_to_peer_for_wildcard_and_applies_port_and_translator() {
        let mut r = row(&[]);
        r.rpc_address = Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        r.native_port = Some(19042);
        let h = Host::from_row(&r, 9042, &IdentityTranslator).unwrap();
        assert_eq!(h.address(), "10.1.0.2:19042".parse().unwrap());
        let h = Host::from_row(&r, 9042, &Nat).unwrap();
        assert_eq!(h.address(), "203.0.113.7:19043".parse().unwrap());
    }

    #[test]
    fn from_row_rejects_incomplete_rows() {
        let mut r = row(&[]);
        r.host_id = None;
        assert_eq!(
            Host::from_row(&r, 9042, &IdentityTranslator),
            Err(HostRowError::MissingHostId)
        );
        let mut r = row(&[]);
        r.rpc_address = None;
        r.peer = None;
        assert_eq!(
            Host::from_row(&r, 9042, &IdentityTranslator),
            Err(HostRowError::MissingAddress(HostId([0xab; 16])))
        );
        let r = row(&["12", "twelve"]);
        assert!(matches!(
            Host::from_row(&r, 9042, &IdentityTranslator),
            Err(HostRowError::InvalidToken { token, .. }) if token == "twelve"
        ));
    }
}
