//! The session's request limiter: at most `max` requests in flight, a bounded number
//! waiting for a slot, the rest refused. Lock-free when there is room (one atomic
//! count); a `Notify` is touched only when somebody waits or the session drains.
//! tokio's `Semaphore` took a mutex on every release, which showed as ~2.5% of the
//! client's CPU at concurrency 512 (benches/driver-bench). It does not time waits out:
//! the caller wraps `acquire` in its deadline.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use tokio::sync::Notify;

/// Why no slot was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `max_waiting` requests were already waiting (how many).
    Full(usize),
    /// The limiter was closed.
    Closed,
}

/// Counts requests in flight against a fixed maximum.
#[derive(Debug)]
pub(crate) struct Limiter {
    max: usize,
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
    closed: AtomicBool,
    /// A slot came free (told only when `waiting > 0`).
    freed: Notify,
    /// Nothing is in flight or waiting any more.
    idle: Notify,
}

/// One slot; given back on drop.
#[derive(Debug)]
pub(crate) struct Permit<'a>(&'a Limiter);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let l = self.0;
        let before = l.in_flight.fetch_sub(1, SeqCst);
        // SeqCst on both sides: a waiter that registered after our decrement sees the
        // free slot itself; one that registered before is woken here.
        if l.waiting.load(SeqCst) > 0 {
            l.freed.notify_one();
        } else if before == 1 {
            l.idle.notify_waiters();
        }
    }
}

/// Takes a waiter off the count, even when its wait is cancelled.
struct Waiting<'a>(&'a Limiter);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let l = self.0;
        if l.waiting.fetch_sub(1, SeqCst) == 1 && l.in_flight.load(SeqCst) == 0 {
            l.idle.notify_waiters();
        }
    }
}

impl Limiter {
    /// A limiter of `max` slots (at least one).
    pub(crate) fn new(max: usize) -> Self {
        Limiter {
            max: max.max(1),
            in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            freed: Notify::new(),
            idle: Notify::new(),
        }
    }

    /// A slot now, if one is free and the limiter is open.
    pub(crate) fn try_acquire(&self) -> Option<Permit<'_>> {
        let mut cur = self.in_flight.load(SeqCst);
        loop {
            if cur >= self.max || self.closed.load(SeqCst) {
                return None;
            }
            match self
                .in_flight
                .compare_exchange_weak(cur, cur + 1, SeqCst, SeqCst)
            {
                Ok(_) => return Some(Permit(self)),
                Err(now) => cur = now,
            }
        }
    }

    /// Waits for a slot, unless `max_waiting` requests already wait. Cancel-safe.
    pub(crate) async fn acquire(&self, max_waiting: usize) -> Result<Permit<'_>, Refused> {
        let before = self.waiting.fetch_add(1, SeqCst);
        let _waiting = Waiting(self);
        if before >= max_waiting {
            return Err(Refused::Full(before));
        }
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if self.closed.load(SeqCst) {
                return Err(Refused::Closed);
            }
            if let Some(p) = self.try_acquire() {
                return Ok(p);
            }
            // A wake-up that another request beat us to just loops; a cancelled
            // waiter's `notify_one` is passed on to the next waiter by `Notify`.
            freed.await;
        }
    }

    /// Returns once nothing is in flight and nobody waits.
    pub(crate) async fn drained(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight.load(SeqCst) == 0 && self.waiting.load(SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Refuses every later `acquire` and ends every wait with `Closed`.
    pub(crate) fn close(&self) {
        self.closed.store(true, SeqCst);
        self.freed.notify_waiters();
    }

    /// Requests in flight now.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.in_flight.load(SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn slots_are_counted_and_given_back() {
        let l = Limiter::new(2);
        let a = l.try_acquire();
        let b = l.try_acquire();
        assert!(a.is_some() && b.is_some());
        assert!(l.try_acquire().is_none());
        drop(a);
        assert_eq!(l.in_flight(), 1);
        assert!(l.try_acquire().is_some());
        assert_eq!(l.in_flight(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gets_the_freed_slot_and_the_queue_is_bounded() {
        let l = Arc::new(Limiter::new(1));
        let held = l.try_acquire();
        let w = {
            let l = l.clone();
            tokio::spawn(async move { l.acquire(1).await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        // One waits already: a second is refused with the count.
        assert_eq!(l.acquire(1).await.err(), Some(Refused::Full(1)));
        drop(held);
        assert_eq!(w.await.ok(), Some(Ok(())));
        assert_eq!(l.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_passes_its_wake_up_on() {
        let l = Arc::new(Limiter::new(1));
        let held = l.try_acquire();
        let first = {
            let l = l.clone();
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_millis(5), l.acquire(8))
                    .await
                    .is_ok()
            })
        };
        let second = {
            let l = l.clone();
            tokio::spawn(async move { l.acquire(8).await.map(drop).is_ok() })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        // The slot frees while both wait; whoever is woken, the other is not lost
        // even if the first gives up.
        drop(held);
        let (f, s) = (first.await.ok(), second.await.ok());
        assert_eq!(s, Some(true));
        assert!(f.is_some());
        assert_eq!(l.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn close_ends_waits_and_drained_waits_for_the_last_slot() {
        let l = Arc::new(Limiter::new(1));
        let held = l.try_acquire();
        let waiter = {
            let l = l.clone();
            tokio::spawn(async move { l.acquire(8).await.err() })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        let drained = {
            let l = l.clone();
            tokio::spawn(async move { l.drained().await })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(!drained.is_finished());
        l.close();
        assert_eq!(waiter.await.ok(), Some(Some(Refused::Closed)));
        assert!(!drained.is_finished());
        drop(held);
        assert!(drained.await.is_ok());
        assert!(l.try_acquire().is_none());
    }
}
