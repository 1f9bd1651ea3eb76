//! Slow-node detection for one host: "requests are outstanding and not one byte has
//! been read from the node for a while" — a frozen JVM, a GC pause, a dead network path
//! that has not reset. Plans put such a host last, long before heartbeats notice. Owns
//! the lock-free detector only; the pool feeds it, the load-balancing policy reads it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a host must have requests outstanding with nothing read before it counts as
/// stalled. A healthy node under load answers many times a second; a node silent this
/// long with work queued is frozen or cut off. (The cost of a false alarm is small: the
/// host moves to the back of plans until it reads again.)
pub(crate) const STALL_AFTER: Duration = Duration::from_millis(500);

/// A lock-free detector: every check samples (outstanding requests, bytes read so far);
/// the host is stalled once every sample for [`STALL_AFTER`] saw work outstanding and
/// the byte count unchanged.
#[derive(Debug, Default)]
pub(crate) struct StallDetector {
    /// Bytes read as of the last sample.
    last_bytes: AtomicU64,
    /// When the current suspicion started (nanos since `base()` + 1), or 0: none.
    suspect_since: AtomicU64,
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn nanos(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(base()).as_nanos()).unwrap_or(u64::MAX)
}

impl StallDetector {
    /// One sample: `outstanding` requests on the host's connections, `bytes_read` from
    /// them so far, at `now` (only read when the host looks idle-but-busy). `Some(how
    /// long it has been silent)` when the host is stalled, else `None`.
    pub(crate) fn check(
        &self,
        outstanding: usize,
        bytes_read: u64,
        now: impl Fn() -> Instant,
    ) -> Option<Duration> {
        if outstanding == 0 {
            self.suspect_since.store(0, Relaxed);
            return None;
        }
        if self.last_bytes.swap(bytes_read, Relaxed) != bytes_read {
            // Progress since the last sample: healthy, and any suspicion ends.
            self.suspect_since.store(0, Relaxed);
            return None;
        }
        let now = nanos(now()).saturating_add(1);
        match self.suspect_since.load(Relaxed) {
            0 => {
                // First sample without progress: start the clock (another sampler may
                // have started it a moment ago; either start is good enough).
                let _ = self
                    .suspect_since
                    .compare_exchange(0, now, Relaxed, Relaxed);
                None
            }
            since => {
                let silent = Duration::from_nanos(now.saturating_sub(since));
                (silent >= STALL_AFTER).then_some(silent)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_only_after_the_whole_window_without_progress() {
        let d = StallDetector::default();
        let t0 = Instant::now();
        let at = |ms: u64| move || t0 + Duration::from_millis(ms);
        // Idle: never stalled, however long nothing is read.
        assert!(d.check(0, 0, at(0)).is_none());
        assert!(d.check(0, 0, at(10_000)).is_none());
        // Work outstanding, nothing read: suspicion starts, stalled after STALL_AFTER.
        assert!(d.check(3, 0, at(10_000)).is_none());
        assert!(d.check(3, 0, at(10_400)).is_none());
        assert!(d
            .check(3, 0, at(10_000 + STALL_AFTER.as_millis() as u64))
            .is_some());
        assert!(d.check(5, 0, at(20_000)).is_some());
        // One byte read: healthy at once, and the clock starts over.
        assert!(d.check(5, 1, at(20_001)).is_none());
        assert!(d.check(5, 1, at(20_002)).is_none());
        assert!(d.check(5, 1, at(20_400)).is_none());
        assert!(d
            .check(5, 1, at(20_002 + STALL_AFTER.as_millis() as u64))
            .is_some());
        // Nothing outstanding any more (answers came, or the orphans were answered).
        assert!(d.check(0, 1, at(30_000)).is_none());
        assert!(
            d.check(1, 1, at(30_001)).is_none(),
            "a new suspicion starts from zero"
        );
    }

    #[test]
    fn a_busy_host_that_reads_is_never_stalled() {
        let d = StallDetector::default();
        let t0 = Instant::now();
        for i in 0..1_000u64 {
            assert!(d
                .check(100, i, || t0 + Duration::from_millis(i * 10))
                .is_none());
        }
    }
}
