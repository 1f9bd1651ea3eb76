//! The small closed sets metrics count by: retry/ignore reasons, server error codes (spec
//! v5 section 8), and fixed arrays of relaxed atomic counters indexed by them plus their
//! plain snapshot forms. Deciding *which* reason applies is the session layer's job.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why the retry policy retried (or ignored) a failed attempt. Used for both the retry and
/// the ignore counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryReason {
    /// The coordinator answered READ_TIMEOUT (0x1200).
    ReadTimeout,
    /// The coordinator answered WRITE_TIMEOUT (0x1100).
    WriteTimeout,
    /// The coordinator answered UNAVAILABLE (0x1000).
    Unavailable,
    /// The coordinator answered OVERLOADED (0x1001).
    Overloaded,
    /// The coordinator answered IS_BOOTSTRAPPING (0x1002).
    Bootstrapping,
    /// The connection closed or failed before a response arrived.
    ConnectionClosed,
    /// The per-attempt timeout fired before a response arrived.
    AttemptTimeout,
    /// Any other error the policy chose to retry or ignore.
    Other,
}

impl RetryReason {
    /// Number of reasons (the length of the counter arrays).
    pub(crate) const COUNT: usize = 8;
    /// Every reason, in counter order.
    pub const ALL: [RetryReason; Self::COUNT] = [
        RetryReason::ReadTimeout,
        RetryReason::WriteTimeout,
        RetryReason::Unavailable,
        RetryReason::Overloaded,
        RetryReason::Bootstrapping,
        RetryReason::ConnectionClosed,
        RetryReason::AttemptTimeout,
        RetryReason::Other,
    ];

    fn index(self) -> usize {
        self as usize
    }

    /// A stable snake_case name, used as the `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::ReadTimeout => "read_timeout",
            RetryReason::WriteTimeout => "write_timeout",
            RetryReason::Unavailable => "unavailable",
            RetryReason::Overloaded => "overloaded",
            RetryReason::Bootstrapping => "bootstrapping",
            RetryReason::ConnectionClosed => "connection_closed",
            RetryReason::AttemptTimeout => "attempt_timeout",
            RetryReason::Other => "other",
        }
    }

    /// The reason for a retry after ERROR `code` (spec v5 section 8). Connection failures
    /// and attempt timeouts have no code: use `ConnectionClosed` / `AttemptTimeout`.
    pub(crate) fn from_server_code(code: i32) -> Self {
        match code {
            0x1200 => RetryReason::ReadTimeout,
            0x1100 => RetryReason::WriteTimeout,
            0x1000 => RetryReason::Unavailable,
            0x1001 => RetryReason::Overloaded,
            0x1002 => RetryReason::Bootstrapping,
            _ => RetryReason::Other,
        }
    }

    /// The Java driver's coarser node-metric bucket (`retries.<x>` / `ignores.<x>`).
    pub(crate) fn java_category(self) -> JavaReason {
        match self {
            RetryReason::ReadTimeout => JavaReason::ReadTimeout,
            RetryReason::WriteTimeout => JavaReason::WriteTimeout,
            RetryReason::Unavailable => JavaReason::Unavailable,
            RetryReason::ConnectionClosed | RetryReason::AttemptTimeout => JavaReason::Aborted,
            RetryReason::Overloaded | RetryReason::Bootstrapping | RetryReason::Other => {
                JavaReason::Other
            }
        }
    }
}

/// The Java driver 4's retry/ignore categories, in its metric-path spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JavaReason {
    Aborted,
    ReadTimeout,
    WriteTimeout,
    Unavailable,
    Other,
}

impl JavaReason {
    pub(crate) const ALL: [JavaReason; 5] = [
        JavaReason::Aborted,
        JavaReason::ReadTimeout,
        JavaReason::WriteTimeout,
        JavaReason::Unavailable,
        JavaReason::Other,
    ];

    /// The path suffix with `-` turned into `_` (`retries.read-timeout` -> `read_timeout`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JavaReason::Aborted => "aborted",
            JavaReason::ReadTimeout => "read_timeout",
            JavaReason::WriteTimeout => "write_timeout",
            JavaReason::Unavailable => "unavailable",
            JavaReason::Other => "other",
        }
    }
}

/// Every ERROR code of spec v5 section 8, with a snake_case name for labels.
pub(crate) const SERVER_ERROR_CODES: [(i32, &str); 20] = [
    (0x0000, "server_error"),
    (0x000A, "protocol_error"),
    (0x0100, "bad_credentials"),
    (0x1000, "unavailable"),
    (0x1001, "overloaded"),
    (0x1002, "is_bootstrapping"),
    (0x1003, "truncate_error"),
    (0x1100, "write_timeout"),
    (0x1200, "read_timeout"),
    (0x1300, "read_failure"),
    (0x1400, "function_failure"),
    (0x1500, "write_failure"),
    (0x1600, "cdc_write_failure"),
    (0x1700, "cas_write_unknown"),
    (0x2000, "syntax_error"),
    (0x2100, "unauthorized"),
    (0x2200, "invalid"),
    (0x2300, "config_error"),
    (0x2400, "already_exists"),
    (0x2500, "unprepared"),
];

/// Counter slot for a code: its position in [`SERVER_ERROR_CODES`], or the "other" slot.
fn code_slot(code: i32) -> usize {
    match code {
        0x0000 => 0,
        0x000A => 1,
        0x0100 => 2,
        0x1000 => 3,
        0x1001 => 4,
        0x1002 => 5,
        0x1003 => 6,
        0x1100 => 7,
        0x1200 => 8,
        0x1300 => 9,
        0x1400 => 10,
        0x1500 => 11,
        0x1600 => 12,
        0x1700 => 13,
        0x2000 => 14,
        0x2100 => 15,
        0x2200 => 16,
        0x2300 => 17,
        0x2400 => 18,
        0x2500 => 19,
        _ => SERVER_ERROR_CODES.len(),
    }
}

/// Relaxed counters per retry reason.
#[derive(Debug, Default)]
pub(crate) struct ReasonCounters([AtomicU64; RetryReason::COUNT]);

impl ReasonCounters {
    #[inline]
    pub(crate) fn incr(&self, r: RetryReason) {
        self.0[r.index()].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ReasonCounts {
        ReasonCounts(std::array::from_fn(|i| self.0[i].load(Relaxed)))
    }
}

/// Counts per [`RetryReason`] (a snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReasonCounts([u64; RetryReason::COUNT]);

impl ReasonCounts {
    /// The count for one reason.
    pub fn get(&self, r: RetryReason) -> u64 {
        self.0[r.index()]
    }

    /// The sum over all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Every reason with its count, in [`RetryReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (RetryReason, u64)> + '_ {
        RetryReason::ALL.into_iter().map(|r| (r, self.get(r)))
    }

    /// The sum over the reasons that fall in a Java driver category.
    pub(crate) fn java(&self, cat: JavaReason) -> u64 {
        self.iter()
            .filter(|(r, _)| r.java_category() == cat)
            .map(|(_, c)| c)
            .sum()
    }
}

/// Number of server-error slots: every known code plus "other".
const CODE_SLOTS: usize = SERVER_ERROR_CODES.len() + 1;

/// Relaxed counters per server error code, plus one for unknown codes.
#[derive(Debug, Default)]
pub(crate) struct ErrorCodeCounters([AtomicU64; CODE_SLOTS]);

impl ErrorCodeCounters {
    #[inline]
    pub(crate) fn incr(&self, code: i32) {
        self.0[code_slot(code)].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ServerErrorCounts {
        ServerErrorCounts(std::array::from_fn(|i| self.0[i].load(Relaxed)))
    }
}

/// Counts of ERROR responses per code (a snapshot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerErrorCounts([u64; CODE_SLOTS]);

impl ServerErrorCounts {
    /// The count for a code; for a code the spec does not define, the count of all
    /// undefined codes (see [`other`](Self::other)).
    pub fn get(&self, code: i32) -> u64 {
        self.0[code_slot(code)]
    }

    /// Responses whose code the spec does not define.
    pub fn other(&self) -> u64 {
        self.0[SERVER_ERROR_CODES.len()]
    }

    /// All error responses.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Every defined code with its snake_case name and count, in code order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &'static str, u64)> + '_ {
        SERVER_ERROR_CODES
            .iter()
            .zip(self.0.iter())
            .map(|(&(code, name), &n)| (code, name, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_slot() {
        for (i, &(code, _)) in SERVER_ERROR_CODES.iter().enumerate() {
            assert_eq!(code_slot(code), i);
        }
        assert_eq!(code_slot(0x0001), SERVER_ERROR_CODES.len());
        assert_eq!(code_slot(-1), SERVER_ERROR_CODES.len());
        let c = ErrorCodeCounters::default();
        c.incr(0x1000);
        c.incr(0x1000);
        c.incr(0x2500);
        c.incr(0x7777);
        let s = c.snapshot();
        assert_eq!(
            (s.get(0x1000), s.get(0x2500), s.other(), s.total()),
            (2, 1, 1, 4)
        );
        assert_eq!(s.iter().count(), 20);
        assert_eq!(s.iter().map(|(_, _, n)| n).sum::<u64>(), 3);
    }

    #[test]
    fn reasons_are_indexed_in_order_and_map_to_java_categories() {
        for (i, r) in RetryReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let c = ReasonCounters::default();
        for r in RetryReason::ALL {
            c.incr(r);
        }
        c.incr(RetryReason::AttemptTimeout);
        let s = c.snapshot();
        assert_eq!(s.total(), 9);
        assert_eq!(s.java(JavaReason::Aborted), 3);
        assert_eq!(s.java(JavaReason::Other), 3);
        assert_eq!(s.java(JavaReason::ReadTimeout), 1);
        let java_sum: u64 = JavaReason::ALL.iter().map(|&j| s.java(j)).sum();
        assert_eq!(java_sum, s.total());
        assert_eq!(
            RetryReason::from_server_code(0x1200),
            RetryReason::ReadTimeout
        );
        assert_eq!(
            RetryReason::from_server_code(0x1100),
            RetryReason::WriteTimeout
        );
        assert_eq!(
            RetryReason::from_server_code(0x1000),
            RetryReason::Unavailable
        );
        assert_eq!(
            RetryReason::from_server_code(0x1001),
            RetryReason::Overloaded
        );
        assert_eq!(
            RetryReason::from_server_code(0x1002),
            RetryReason::Bootstrapping
        );
        assert_eq!(RetryReason::from_server_code(0x0000), RetryReason::Other);
    }
}
