//! The one task that owns a connection's socket: it assigns stream ids, coalesces
//! queued frames into single writes, routes responses to their waiters, enforces
//! request deadlines (one timer for the connection, not one per request), delivers
//! events, sends heartbeats and, when it ends for any reason, answers every waiter.
//! It does not encode request bodies (callers do) nor decode response bodies.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, Encoder};

use super::streams::StreamMap;
use super::{Answer, Command, ConnectionConfig, RequestError, Shared};
use crate::codec::CqlCodec;
use crate::error::ConnectionError;
use crate::protocol::frame::{Frame, HEADER_LEN};
use crate::protocol::segment::MAX_SEGMENT_PAYLOAD;

/// Queue new requests instead of staging them while this many bytes wait to be written.
const WRITE_HIGH_WATER: usize = 1 << 20;
/// Requests taken from the channel per loop turn (the other branches get their turn).
const TAKE_PER_TURN: usize = 4096;
/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// Who waits for a reserved stream id's answer.
enum Waiter {
    Caller(oneshot::Sender<Answer>),
    /// The task's own OPTIONS heartbeat.
    Heartbeat,
    /// The caller was told its deadline passed; the id waits for the node (orphan).
    Abandoned,
}

/// What a reserved stream id is waiting for.
struct Pending {
    waiter: Waiter,
    /// Total bytes that must have reached the socket for this frame to be complete.
    end_offset: u64,
    sent_at: Instant,
    deadline: Option<Instant>,
}

impl Pending {
    /// True when nobody waits for the answer any more (the id is still reserved).
    fn is_orphan(&self) -> bool {
        match &self.waiter {
            Waiter::Caller(r) => r.is_closed(),
            Waiter::Heartbeat => false,
            Waiter::Abandoned => true,
        }
    }

    fn is_live(&self) -> bool {
        matches!(&self.waiter, Waiter::Caller(r) if !r.is_closed())
    }
}

pub(super) struct Task<IO> {
    pub(super) io: IO,
    /// Bytes the handshake read past its last answer (decoded before any read).
    pub(super) leftover: BytesMut,
    pub(super) core: Core,
}

/// Everything the loop needs besides the socket.
pub(super) struct Core {
    pub(super) codec: CqlCodec,
    pub(super) rx: mpsc::UnboundedReceiver<Command>,
    pub(super) events: Option<mpsc::Sender<Frame>>,
    pub(super) shared: Arc<Shared>,
    pub(super) config: ConnectionConfig,
    /// A ready-to-send OPTIONS frame (stream id patched at send time).
    pub(super) heartbeat_frame: BytesMut,
}

struct State {
    streams: StreamMap<Pending>,
    /// Frames accepted since the last hand-off to the codec (plain frames).
    staging: BytesMut,
    /// Stream id and end offset (in `staging`) of each staged frame.
    staged_ids: Vec<(i16, usize)>,
    /// Bytes ready for the socket (segments on v5).
    out: BytesMut,
    encoded_total: u64,
    flushed_total: u64,
    rbuf: BytesMut,
    last_read: Instant,
    heartbeat_sent: Option<Instant>,
    draining: bool,
    /// Requests taken from the channel that could not be staged yet (no free id, or
    /// the socket is congested), oldest first; at most `queue_len`.
    queued: VecDeque<Command>,
    /// No deadline of a waiting request is earlier (it may be earlier than all of them:
    /// the expiry sweep then finds nothing and recomputes it).
    next_deadline: Option<Instant>,
}

impl<IO> Task<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Runs until the socket fails, the peer misbehaves, every handle is gone, or the
    /// connection is recycled; then answers every waiter with the terminal error.
    pub(super) async fn run(self) {
        let Task {
            io,
            leftover,
            mut core,
        } = self;
        let mut rbuf = leftover;
        rbuf.reserve(READ_CHUNK);
        let mut st = State {
            streams: StreamMap::new(core.config.max_streams),
            staging: BytesMut::with_capacity(16 * 1024),
            staged_ids: Vec::new(),
            out: BytesMut::with_capacity(16 * 1024),
            encoded_total: 0,
            flushed_total: 0,
            rbuf,
            last_read: Instant::now(),
            heartbeat_sent: None,
            draining: false,
            queued: VecDeque::new(),
            next_deadline: None,
        };
        let (rd, wr) = tokio::io::split(io);
        let error = core.event_loop(rd, wr, &mut st).await;
        tracing::debug!(addr = %core.shared.addr, %error, "connection task ending");
        core.fail_all(&mut st, error);
    }
}

/// True when `frame` is exactly one frame: a header whose length field matches the
/// bytes that follow it.
fn is_one_whole_frame(frame: &[u8]) -> bool {
    match frame.get(..HEADER_LEN) {
        Some(h) => {
            let body_len = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) as usize;
            frame.len() - HEADER_LEN == body_len
        }
        None => false,
    }
}

impl Core {
    async fn event_loop<R, W>(&mut self, mut rd: R, mut wr: W, st: &mut State) -> ConnectionError
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let tick_every = self
            .config
            .heartbeat_interval
            .unwrap_or(Duration::from_secs(30))
            .min(Duration::from_secs(1).max(self.config.orphan_check_interval))
            // `interval` panics on a zero period (e.g. a configured zero heartbeat).
            .max(Duration::from_millis(1));
        let mut tick = tokio::time::interval(tick_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Fires at `st.next_deadline`; re-armed only when that moves, so with one
        // timeout for every request it is reset about once per timeout period.
        let expiry = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(expiry);
        let mut armed: Option<Instant> = None;
        let mut rx_open = true;
        if !st.rbuf.is_empty() {
            if let Err(e) = self.handle_input(st) {
                return e;
            }
        }
        loop {
            if !st.queued.is_empty() {
                if let Err(e) = self.promote(st) {
                    return e;
                }
            }
            if st.next_deadline != armed {
                if let Some(d) = st.next_deadline {
                    expiry.as_mut().reset(d);
                }
                armed = st.next_deadline;
            }
            if st.draining && self.live_waiters(st) == 0 {
                return ConnectionError::Recycled {
                    addr: self.shared.addr,
                };
            }
            // Every handle is gone: nobody can read a late answer, so only requests
            // whose caller still waits keep the connection open.
            if !rx_open && st.out.is_empty() && self.live_waiters(st) == 0 {
                return ConnectionError::Closed;
            }
            tokio::select! {
                biased;
                _ = self.shared.close_now.cancelled() => return ConnectionError::Closed,
                read = rd.read_buf(&mut st.rbuf) => {
                    match read {
                        Ok(0) => return ConnectionError::ClosedByPeer { addr: self.shared.addr },
                        Ok(n) => {
                            self.shared.bytes_received.fetch_add(n as u64, Ordering::Relaxed);
                            if let Some(m) = &self.shared.metrics {
                                m.bytes_received(n as u64);
                            }
                            st.last_read = Instant::now();
                            if let Err(e) = self.handle_input(st) {
                                return e;
                            }
                            if st.rbuf.capacity() - st.rbuf.len() < 1024 {
                                st.rbuf.reserve(READ_CHUNK);
                            }
                        }
                        Err(e) => return ConnectionError::io(self.shared.addr, e),
                    }
                }
                written = wr.write_buf(&mut st.out), if !st.out.is_empty() => {
                    match written {
                        Ok(0) => return ConnectionError::ClosedByPeer { addr: self.shared.addr },
                        Ok(n) => {
                            st.flushed_total += n as u64;
                            self.shared.bytes_sent.fetch_add(n as u64, Ordering::Relaxed);
                            if let Some(m) = &self.shared.metrics {
                                m.bytes_sent(n as u64);
                            }
                            if st.out.is_empty() {
                                if let Err(e) = wr.flush().await {
                                    return ConnectionError::io(self.shared.addr, e);
                                }
                            }
                        }
                        Err(e) => return ConnectionError::io(self.shared.addr, e),
                    }
                }
                cmd = self.rx.recv(), if rx_open => {
                    match cmd {
                        Some(cmd) => {
                            let now = Instant::now();
                            self.take(st, cmd, now);
                            // Write coalescing: take whatever else is already queued.
                            for _ in 1..TAKE_PER_TURN {
                                match self.rx.try_recv() {
                                    Ok(cmd) => self.take(st, cmd, now),
                                    Err(_) => break,
                                }
                            }
                            if let Err(e) = self.stage_out(st) {
                                return e;
                            }
                        }
                        None => rx_open = false,
                    }
                }
                () = &mut expiry, if armed.is_some() => {
                    self.expire(st, Instant::now());
                }
                _ = tick.tick() => {
                    if let Some(e) = self.on_tick(st) {
                        return e;
                    }
                }
            }
            self.publish(st);
        }
    }

    /// True when a new request may be staged now (a free id, the socket not congested).
    fn can_stage(st: &State) -> bool {
        st.streams.available() > 0
            && st.staging.len() < WRITE_HIGH_WATER
            && st.out.len() < WRITE_HIGH_WATER
    }

    /// A request from the channel: refused (recycling, deadline already passed, queue
    /// full), staged, or queued behind earlier ones. Never written twice, never lost.
    fn take(&mut self, st: &mut State, cmd: Command, now: Instant) {
        if st.draining {
            self.refuse(
                cmd,
                ConnectionError::Recycled {
                    addr: self.shared.addr,
                },
            );
            return;
        }
        if let Some(d) = cmd.deadline {
            if d <= now {
                let _ = cmd.reply.send(Answer::TimedOut { written: false });
                return;
            }
            st.next_deadline = Some(st.next_deadline.map_or(d, |n| n.min(d)));
        }
        if st.queued.is_empty() && Self::can_stage(st) {
            self.accept(st, cmd, now);
        } else if st.queued.len() < self.config.queue_len {
            st.queued.push_back(cmd);
        } else {
            let addr = self.shared.addr;
            self.refuse(cmd, ConnectionError::StreamIdsExhausted { addr });
        }
    }

    /// Fails a request that was never written (recycling connection, full queue): the
    /// caller may safely send it elsewhere.
    fn refuse(&self, cmd: Command, error: ConnectionError) {
        let _ = cmd.reply.send(Answer::Failed(RequestError {
            error,
            written: false,
        }));
    }

    /// Stages queued requests while there is room (oldest first).
    fn promote(&mut self, st: &mut State) -> Result<(), ConnectionError> {
        if !Self::can_stage(st) && !st.draining {
            return Ok(());
        }
        let now = Instant::now();
        while Self::can_stage(st) || st.draining {
            let Some(cmd) = st.queued.pop_front() else {
                break;
            };
            if st.draining {
                self.refuse(
                    cmd,
                    ConnectionError::Recycled {
                        addr: self.shared.addr,
                    },
                );
            } else if cmd.deadline.is_some_and(|d| d <= now) {
                let _ = cmd.reply.send(Answer::TimedOut { written: false });
            } else {
                self.accept(st, cmd, now);
            }
        }
        self.stage_out(st)
    }

    /// Answers `TimedOut` to every waiter whose deadline passed (written ones keep
    /// their id as orphans until the node answers) and finds the next deadline.
    fn expire(&mut self, st: &mut State, now: Instant) {
        let flushed = st.flushed_total;
        let mut next: Option<Instant> = None;
        let mut earliest = |d: Instant| next = Some(next.map_or(d, |n: Instant| n.min(d)));
        for p in st.streams.values_mut() {
            let (Some(d), Waiter::Caller(_)) = (p.deadline, &p.waiter) else {
                continue;
            };
            if d > now {
                earliest(d);
            } else if let Waiter::Caller(reply) =
                std::mem::replace(&mut p.waiter, Waiter::Abandoned)
            {
                let _ = reply.send(Answer::TimedOut {
                    written: p.end_offset <= flushed,
                });
            }
        }
        let mut kept = VecDeque::with_capacity(st.queued.len());
        for cmd in st.queued.drain(..) {
            match cmd.deadline {
                Some(d) if d <= now => {
                    let _ = cmd.reply.send(Answer::TimedOut { written: false });
                }
                d => {
                    if let Some(d) = d {
                        earliest(d);
                    }
                    kept.push_back(cmd);
                }
            }
        }
        st.queued = kept;
        st.next_deadline = next;
    }

    /// Reserves an id for `cmd` and stages its frame; a caller that already gave up is
    /// answered nothing and costs nothing (its request is never written).
    fn accept(&mut self, st: &mut State, mut cmd: Command, now: Instant) {
        if cmd.reply.is_closed() {
            return;
        }
        if !is_one_whole_frame(&cmd.frame) {
            // Writing it would desynchronise the stream (v4) or fail the segment
            // encoder (v5) and end the connection for every other caller.
            let _ = cmd.reply.send(Answer::Failed(RequestError {
                error: ConnectionError::InvalidRequestFrame,
                written: false,
            }));
            return;
        }
        let pending = Pending {
            waiter: Waiter::Caller(cmd.reply),
            end_offset: u64::MAX,
            sent_at: now,
            deadline: cmd.deadline,
        };
        match st.streams.insert(pending) {
            Ok(id) => {
                cmd.frame[2..4].copy_from_slice(&id.to_be_bytes());
                st.staging.extend_from_slice(&cmd.frame);
                st.staged_ids.push((id, st.staging.len()));
            }
            Err(pending) => {
                // Unreachable while `can_stage` gates on available ids, but never lose it.
                if let Waiter::Caller(reply) = pending.waiter {
                    let _ = reply.send(Answer::Failed(RequestError {
                        error: ConnectionError::StreamIdsExhausted {
                            addr: self.shared.addr,
                        },
                        written: false,
                    }));
                }
            }
        }
    }

    /// Hands staged frames to the codec and records, per stream id, how many bytes
    /// must be flushed before its request counts as written.
    ///
    /// The offset must be exact per request, never shared by a batch: a frame that
    /// fully left while a later one of the same write did not may have been executed,
    /// and must not be reported as "never written" (that makes it safe to retry
    /// elsewhere). On v3/v4 a frame is complete at its own last byte. On v5 the node
    /// sees a frame only once the whole segment carrying it has arrived (CRC32 trailer,
    /// spec v5 s2.1), so frames are grouped exactly as the segment packer would group
    /// them (greedily up to a full payload; a larger frame alone) and each group is
    /// encoded on its own, its frames completing at the end of its last segment.
    fn stage_out(&mut self, st: &mut State) -> Result<(), ConnectionError> {
        if st.staging.is_empty() {
            return Ok(());
        }
        let frames = st.staging.split().freeze();
        let mut ids = std::mem::take(&mut st.staged_ids);
        let v5 = self.codec.is_v5_framing();
        let (mut group_start, mut group_first) = (0, 0);
        for i in 0..ids.len() {
            let end = ids[i].1;
            let start = if i == 0 { 0 } else { ids[i - 1].1 };
            // Close the open group before frame i when i would not fit in its segment.
            if v5 && start > group_start && end - group_start > MAX_SEGMENT_PAYLOAD {
                self.encode_group(st, &frames[group_start..start], &ids[group_first..i])?;
                (group_start, group_first) = (start, i);
            }
            let alone_too_big = end - group_start > MAX_SEGMENT_PAYLOAD;
            if !v5 || alone_too_big || i + 1 == ids.len() {
                self.encode_group(st, &frames[group_start..end], &ids[group_first..=i])?;
                (group_start, group_first) = (end, i + 1);
            }
        }
        ids.clear();
        st.staged_ids = ids;
        Ok(())
    }

    /// Encodes one group of whole frames and marks where each of `ids` completes.
    fn encode_group(
        &mut self,
        st: &mut State,
        frames: &[u8],
        ids: &[(i16, usize)],
    ) -> Result<(), ConnectionError> {
        let before = st.out.len();
        self.codec
            .encode(frames, &mut st.out)
            .map_err(|e| ConnectionError::from_codec(self.shared.addr, e))?;
        st.encoded_total += (st.out.len() - before) as u64;
        for &(id, _) in ids {
            if let Some(p) = st.streams.get_mut(id) {
                p.end_offset = st.encoded_total;
            }
        }
        Ok(())
    }

    fn handle_input(&mut self, st: &mut State) -> Result<(), ConnectionError> {
        loop {
            let frame = match self.codec.decode(&mut st.rbuf) {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(()),
                Err(e) => return Err(ConnectionError::from_codec(self.shared.addr, e)),
            };
            let stream = frame.header.stream;
            if stream < 0 {
                self.deliver_event(frame);
                continue;
            }
            match st.streams.remove(stream) {
                Some(p) => match p.waiter {
                    Waiter::Caller(reply) => {
                        // A closed receiver is an orphan coming home: the id is free now.
                        let _ = reply.send(Answer::Frame(frame));
                    }
                    Waiter::Heartbeat => st.heartbeat_sent = None,
                    Waiter::Abandoned => {}
                },
                None => {
                    // Spec: responses carry the request's stream id. An id nobody waits
                    // for means we can no longer trust the pairing on this connection.
                    return Err(ConnectionError::UnexpectedStream {
                        addr: self.shared.addr,
                        stream,
                    });
                }
            }
        }
    }

    fn deliver_event(&mut self, frame: Frame) {
        if let Some(tx) = &self.events {
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(frame) {
                tracing::warn!(addr = %self.shared.addr, "event channel full; event dropped");
            }
        }
    }

    fn on_tick(&mut self, st: &mut State) -> Option<ConnectionError> {
        let now = Instant::now();
        if let Some(sent) = st.heartbeat_sent {
            if now.duration_since(sent) >= self.config.heartbeat_timeout {
                return Some(ConnectionError::HeartbeatTimeout {
                    addr: self.shared.addr,
                });
            }
        } else if let Some(interval) = self.config.heartbeat_interval {
            if now.duration_since(st.last_read) >= interval && !st.draining {
                let pending = Pending {
                    waiter: Waiter::Heartbeat,
                    end_offset: u64::MAX,
                    sent_at: now,
                    deadline: None,
                };
                if let Ok(id) = st.streams.insert(pending) {
                    let mut frame = self.heartbeat_frame.clone();
                    frame[2..4].copy_from_slice(&id.to_be_bytes());
                    st.staging.extend_from_slice(&frame);
                    st.staged_ids.push((id, st.staging.len()));
                    st.heartbeat_sent = Some(now);
                    if let Err(e) = self.stage_out(st) {
                        return Some(e);
                    }
                }
            }
        }
        // Orphans: ids whose caller gave up long ago and whose response never came.
        let old = self.config.orphan_age;
        let (mut all, mut orphans) = (0, 0);
        for (_, p) in st.streams.iter() {
            if p.is_orphan() {
                all += 1;
                if now.duration_since(p.sent_at) >= old {
                    orphans += 1;
                }
            }
        }
        self.shared.orphans.store(all, Ordering::Relaxed);
        self.shared.old_orphans.store(orphans, Ordering::Relaxed);
        if orphans > self.config.max_orphans && !st.draining {
            tracing::warn!(addr = %self.shared.addr, orphans, "too many orphaned stream ids; recycling connection");
            st.draining = true;
            self.shared.recycling.store(true, Ordering::Release);
            // Queued requests were never written: they go elsewhere now.
            if let Err(e) = self.promote(st) {
                return Some(e);
            }
        }
        None
    }

    fn live_waiters(&self, st: &State) -> usize {
        let queued = st.queued.iter().filter(|c| !c.reply.is_closed()).count();
        st.streams.iter().filter(|(_, p)| p.is_live()).count() + queued
    }

    /// In flight for the pool's least-busy choice: reserved ids plus queued requests.
    fn publish(&self, st: &State) {
        self.shared
            .in_flight
            .store(st.streams.in_use() + st.queued.len(), Ordering::Relaxed);
    }

    /// Every waiter gets the terminal error exactly once; queued requests that never
    /// reached the socket say so, so that callers may safely try another host.
    fn fail_all(&mut self, st: &mut State, error: ConnectionError) {
        self.shared.set_broken(error.clone());
        let flushed = st.flushed_total;
        for p in st.streams.drain() {
            if let Waiter::Caller(reply) = p.waiter {
                let _ = reply.send(Answer::Failed(RequestError {
                    error: error.clone(),
                    written: p.end_offset <= flushed,
                }));
            }
        }
        self.rx.close();
        let never_written = st
            .queued
            .drain(..)
            .chain(std::iter::from_fn(|| self.rx.try_recv().ok()));
        for cmd in never_written {
            let _ = cmd.reply.send(Answer::Failed(RequestError {
                error: error.clone(),
                written: false,
            }));
        }
        self.shared.in_flight.store(0, Ordering::Relaxed);
        self.shared.orphans.store(0, Ordering::Relaxed);
    }
}
