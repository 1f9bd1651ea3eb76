//! The refill task of one host pool: keeps the configured number of connections
//! open, one connection attempt at a time, waiting a capped exponential backoff with
//! jitter after each failure, and records Up/Down. It does not pick connections.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::{select_all, FutureExt};

use super::{HostState, PoolShared};
use crate::connection::Connection;
use crate::error::ConnectionError;

/// Capped exponential backoff with jitter: the n-th delay is uniform in
/// `[d/2, d]` where `d = min(max, base * 2^n)`, so a fleet of clients does not
/// reconnect in lockstep after a node restart.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration, seed: u64) -> Self {
        Self {
            base,
            max: max.max(base),
            attempt: 0,
            rng: seed | 1,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(20));
        let cap = exp.min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let frac = (r >> 11) as f64 / (1u64 << 53) as f64;
        cap.mul_f64(0.5 + 0.5 * frac)
    }
}

fn seed_for(shared: &PoolShared) -> u64 {
    let t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9);
    let port = u64::from(shared.addr.port());
    let ip = match shared.addr.ip() {
        std::net::IpAddr::V4(a) => u64::from(u32::from(a)),
        std::net::IpAddr::V6(a) => (u128::from(a) as u64) ^ ((u128::from(a) >> 64) as u64),
    };
    t ^ (ip << 16) ^ port
}

fn set_state(shared: &PoolShared, state: HostState) {
    let mut changed = false;
    if let Ok(mut h) = shared.health.lock() {
        // A new reason while down is not a new state: listeners hear of Down once.
        let same = match (&h.state, &state) {
            (HostState::Down { .. }, HostState::Down { .. }) => true,
            (a, b) => a == b,
        };
        if !same {
            match &state {
                HostState::Up => tracing::info!(addr = %shared.addr, "host up"),
                HostState::Down { reason } => {
                    tracing::warn!(addr = %shared.addr, %reason, "host down")
                }
                _ => {}
            }
            h.since = SystemTime::now();
            changed = true;
        }
        h.state = state.clone();
        let down = matches!(state, HostState::Down { .. });
        shared
            .down
            .store(down, std::sync::atomic::Ordering::Release);
    }
    if changed {
        if let Some(listener) = &shared.listener.0 {
            listener(shared.addr, &state);
        }
    }
    shared.changed.notify_waiters();
}

/// Drops dead connections; returns how many usable ones remain.
fn prune(shared: &PoolShared) -> usize {
    match shared.conns.write() {
        Ok(mut conns) => {
            conns.retain(Connection::is_usable);
            shared.publish(&conns);
            conns.len()
        }
        Err(_) => 0,
    }
}

pub(super) async fn run(shared: Arc<PoolShared>) {
    let cfg = &shared.config;
    let mut backoff = Backoff::new(cfg.reconnect_base, cfg.reconnect_max, seed_for(&shared));
    let target = cfg.connections_per_host.max(1);
    loop {
        if shared.shutdown.is_cancelled() {
            return;
        }
        let have = prune(&shared);
        if have < target {
            let mut conn_cfg = cfg.connection.clone();
            conn_cfg.keyspace = shared.keyspace.lock().ok().and_then(|k| k.clone());
            conn_cfg.metrics = shared.metrics.clone();
            let attempt = Connection::open(shared.addr, &conn_cfg, false);
            let result = tokio::select! {
                _ = shared.shutdown.cancelled() => return,
                r = attempt => r,
            };
            match result {
                Ok(opened) => {
                    tracing::debug!(addr = %shared.addr, version = ?opened.connection.version(), "connection opened");
                    if let Ok(mut conns) = shared.conns.write() {
                        // Checked under the lock `shutdown` clears: a connection opened
                        // while the pool was shutting down is closed, never kept.
                        if shared.shutdown.is_cancelled() {
                            opened.connection.close();
                            return;
                        }
                        conns.push(opened.connection);
                        shared.publish(&conns);
                    }
                    backoff.reset();
                    set_state(&shared, HostState::Up);
                    continue;
                }
                Err(e) => {
                    tracing::debug!(addr = %shared.addr, error = %e, "connection attempt failed");
                    if let Some(m) = &shared.metrics {
                        match e {
                            ConnectionError::AuthFailed { .. }
                            | ConnectionError::AuthRequired { .. } => m.auth_error(),
                            _ => m.connection_init_error(),
                        }
                    }
                    if prune(&shared) == 0 {
                        set_state(
                            &shared,
                            HostState::Down {
                                reason: e.to_string(),
                            },
                        );
                    }
                    let delay = backoff.next_delay();
                    // Requests finding no connection do not shorten the backoff: a
                    // down host is probed, not hammered. An explicit probe does.
                    tokio::select! {
                        _ = shared.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {}
                        _ = shared.probe.notified() => backoff.reset(),
                    }
                    continue;
                }
            }
        }
        // Full: sleep until a connection dies, someone asks, or shutdown.
        let tokens: Vec<_> = shared
            .conns
            .read()
            .map(|c| c.iter().map(|c| c.closed_token()).collect())
            .unwrap_or_default();
        let any_closed = async {
            if tokens.is_empty() {
                std::future::pending::<()>().await;
            } else {
                select_all(tokens.iter().map(|t| t.cancelled().boxed())).await;
            }
        };
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = any_closed => {}
            _ = shared.wake.notified() => {}
            _ = shared.probe.notified() => backoff.reset(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10), 42);
        let mut prev_cap = Duration::ZERO;
        for n in 0..30u32 {
            let d = b.next_delay();
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << n.min(20))
                .min(Duration::from_secs(10));
            assert!(
                d <= cap && d >= cap / 2,
                "attempt {n}: {d:?} not in [{:?}, {cap:?}]",
                cap / 2
            );
            assert!(cap >= prev_cap);
            prev_cap = cap;
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn different_seeds_spread_out() {
        let a: Vec<_> = {
            let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 1);
            (0..5).map(|_| b.next_delay()).collect()
        };
        let c: Vec<_> = {
            let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 2);
            (0..5).map(|_| b.next_delay()).collect()
        };
        assert_ne!(a, c);
    }
}
