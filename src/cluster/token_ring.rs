//! The token ring: every owned token sorted, each mapped to the host that owns it, and
//! the primary-replica lookup (first token >= t, wrapping). Replica placement per
//! replication strategy lives in `replication.rs`; this file knows nothing of keyspaces.

use std::sync::Arc;

use super::host::Host;
use super::partitioner::Token;

/// Sorted `(token, owner)` pairs built from the hosts' token lists.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenRing {
    /// Sorted by token, one entry per distinct token; the `u32` indexes `owners`.
    entries: Vec<(Token, u32)>,
    /// The hosts that own at least one token, in the order they were given.
    owners: Vec<Arc<Host>>,
}

impl TokenRing {
    /// Builds the ring. If two hosts claim the same token (a replacement in progress),
    /// the host listed first keeps it, so callers should list the authoritative row first.
    pub(crate) fn new(hosts: &[Arc<Host>]) -> Self {
        let mut owners = Vec::new();
        let mut entries = Vec::new();
        for host in hosts.iter().filter(|h| !h.tokens.is_empty()) {
            let Ok(idx) = u32::try_from(owners.len()) else {
                break;
            };
            owners.push(Arc::clone(host));
            entries.extend(host.tokens.iter().map(|&t| (t, idx)));
        }
        // Stable sort keeps the first claimant of a duplicated token first.
        entries.sort_by_key(|&(t, _)| t);
        entries.dedup_by_key(|&mut (t, _)| t);
        TokenRing { entries, owners }
    }

    /// Number of distinct tokens on the ring.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no host owns a token (token-aware routing impossible).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The hosts owning at least one token.
    pub(crate) fn owners(&self) -> &[Arc<Host>] {
        &self.owners
    }

    /// Index of the ring entry owning `token`: the first entry whose token is >= `token`,
    /// wrapping to 0 past the largest (ranges are `(previous, token]`, as in Cassandra's
    /// `TokenMetadata.firstToken`).
    pub(crate) fn entry_index(&self, token: Token) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        let i = self.entries.partition_point(|&(t, _)| t < token);
        Some(if i == self.entries.len() { 0 } else { i })
    }

    /// The host whose token range contains `token` (its primary replica).
    pub(crate) fn primary(&self, token: Token) -> Option<&Arc<Host>> {
        self.entry_index(token).map(|i| self.owner_at(i))
    }

    /// Index (into `owners`) of the host owning ring entry `i` (`i < len()`).
    pub(crate) fn owner_index_at(&self, i: usize) -> usize {
        self.entries[i].1 as usize
    }

    /// The host owning ring entry `i` (`i < len()`).
    pub(crate) fn owner_at(&self, i: usize) -> &Arc<Host> {
        &self.owners[self.owner_index_at(i)]
    }

    /// Owner indexes of every ring entry, clockwise, starting at entry `start`.
    pub(crate) fn walk_from(&self, start: usize) -> impl Iterator<Item = usize> + '_ {
        let n = self.entries.len();
        (0..n).map(move |k| self.owner_index_at((start + k) % n))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cluster::host::tests::host;

    /// The local 3-node test cluster's fixed tokens.
    pub(crate) const T1: i64 = -9223372036854775808;
    pub(crate) const T2: i64 = -3074457345618258603;
    pub(crate) const T3: i64 = 3074457345618258602;

    fn three_nodes() -> TokenRing {
        TokenRing::new(&[
            host(1, "dc1", "r1", &[T1]),
            host(2, "dc1", "r1", &[T2]),
            host(3, "dc1", "r1", &[T3]),
        ])
    }

    fn primary_n(ring: &TokenRing, t: i64) -> u8 {
        ring.primary(Token::new(t)).unwrap().id().0[15]
    }

    #[test]
    fn primary_is_first_token_at_or_after_and_wraps() {
        let ring = three_nodes();
        assert_eq!(ring.len(), 3);
        assert_eq!(primary_n(&ring, T1), 1); // exactly on a token: that node
        assert_eq!(primary_n(&ring, T1 + 1), 2);
        assert_eq!(primary_n(&ring, T2), 2);
        assert_eq!(primary_n(&ring, 0), 3);
        assert_eq!(primary_n(&ring, T3), 3);
        assert_eq!(primary_n(&ring, T3 + 1), 1); // wrap-around
        assert_eq!(primary_n(&ring, i64::MAX), 1);
    }

    #[test]
    fn vnodes_sorted_across_hosts_and_hosts_without_tokens_ignored() {
        let ring = TokenRing::new(&[
            host(1, "dc1", "r1", &[100, -100]),
            host(2, "dc1", "r1", &[0, 200]),
            host(3, "dc1", "r1", &[]),
        ]);
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.owners().len(), 2);
        let order: Vec<u8> = ring
            .walk_from(0)
            .map(|i| ring.owners()[i].id().0[15])
            .collect();
        assert_eq!(order, vec![1, 2, 1, 2]); // -100, 0, 100, 200
        assert_eq!(primary_n(&ring, -5), 2);
        assert_eq!(primary_n(&ring, 150), 2);
        assert_eq!(primary_n(&ring, 201), 1);
    }

    #[test]
    fn duplicate_token_keeps_first_claimant_and_empty_ring_has_no_primary() {
        let ring = TokenRing::new(&[host(1, "dc1", "r1", &[5]), host(2, "dc1", "r1", &[5])]);
        assert_eq!(ring.len(), 1);
        assert_eq!(primary_n(&ring, 0), 1);
        let empty = TokenRing::new(&[host(3, "dc1", "r1", &[])]);
        assert!(empty.is_empty());
        assert!(empty.primary(Token::new(0)).is_none());
    }
}
