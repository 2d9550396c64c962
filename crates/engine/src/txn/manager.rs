//! Transaction ids, the commit lock, the visible timestamp, and waiting for
//! other transactions to end.
//!
//! Invariants:
//! - `visible` only grows, and every version with `ts <= visible` is fully
//!   installed (all of its transaction's versions are).
//! - The commit lock is held only while installing one transaction's
//!   versions: never across a statement, never while waiting on I/O other
//!   than the journal append.
//! - Versions are pruned only below the horizon
//!   ([`crate::storage::horizon`]), which passes neither a pinned snapshot
//!   nor one a running command ([`TxnManager::reader`]) may read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::write::Txn;
use crate::clock::{Clock, Ts};
use crate::storage::horizon::{Horizon, ReaderGuard};

pub struct TxnManager {
    pub clock: Clock,
    next_id: AtomicU64,
    visible: AtomicU64,
    commit_lock: Mutex<()>,
    /// Snapshots pinned by open multi-document transactions: versions they
    /// can read are not pruned.
    pinned: Mutex<BTreeMap<Ts, usize>>,
    /// Below which versions are pruned; keeps unpinned readers (commands)
    /// safe too. Moved only by [`TxnManager::advance_horizon`].
    horizon: Horizon,
    /// History kept for snapshot reads, in seconds (mongod's
    /// `minSnapshotHistoryWindowInSeconds`).
    history_window_secs: AtomicU64,
    /// The window actually kept, in seconds, while history outgrows its
    /// memory bound ([`TxnManager::bound_history`]); `u64::MAX` when the
    /// whole configured window is kept.
    history_window_cut_secs: AtomicU64,
    /// Bumped whenever a transaction ends; read without a lock by every
    /// write outside a transaction.
    ended: AtomicU64,
    /// Transactions waiting in [`TxnManager::wait_for_end`]. An ending
    /// transaction takes `ended_lock` to wake them only when there are any.
    /// Waiters count themselves before reading `ended`, and enders bump
    /// `ended` before reading the count (both SeqCst), so one side always
    /// sees the other: no wakeup is lost.
    waiters: AtomicUsize,
    ended_lock: Mutex<()>,
    ended_signal: Condvar,
}

/// How a wait for another transaction ended.
#[derive(Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Some transaction ended since the generation was read: try again.
    Ended,
    TimedOut,
}

impl TxnManager {
    pub fn new(clock: Clock, history_window_secs: u64) -> TxnManager {
        TxnManager {
            clock,
            next_id: AtomicU64::new(1),
            visible: AtomicU64::new(0),
            commit_lock: Mutex::new(()),
            pinned: Mutex::new(BTreeMap::new()),
            horizon: Horizon::default(),
            history_window_secs: AtomicU64::new(history_window_secs),
            history_window_cut_secs: AtomicU64::new(u64::MAX),
            ended: AtomicU64::new(0),
            waiters: AtomicUsize::new(0),
            ended_lock: Mutex::new(()),
            ended_signal: Condvar::new(),
        }
    }

    pub fn visible(&self) -> Ts {
        Ts(self.visible.load(Ordering::Acquire))
    }

    /// Begins a transaction reading at the newest visible snapshot.
    pub fn begin(&self, multi: bool) -> Txn {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let snapshot = if multi {
            // Pin before reading `visible` so pruning cannot pass us.
            let mut pinned = self.pinned.lock();
            let snapshot = self.visible();
            *pinned.entry(snapshot).or_default() += 1;
            snapshot
        } else {
            self.visible()
        };
        Txn::new(id, snapshot, multi)
    }

    /// Begins a transaction reading at an explicit (older) snapshot.
    pub fn begin_at(&self, snapshot: Ts) -> Txn {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        *self.pinned.lock().entry(snapshot).or_default() += 1;
        Txn::new(id, snapshot, true)
    }

    /// The oldest timestamp snapshot reads may still ask for: the history
    /// window, and never below what the pruning horizon may pass meanwhile.
    pub fn history_floor(&self) -> Ts {
        self.window_floor().max(self.horizon.candidate())
    }

    /// The start of the history window, counted back from the cluster time
    /// or the wall clock, whichever is later (so an idle engine's window
    /// still moves on), and never above `visible` (a commit being installed
    /// there may still need what precedes it).
    fn window_floor(&self) -> Ts {
        let window = self.kept_window_secs() << 32;
        let wall = Ts(u64::from(self.clock.wall_seconds()) << 32);
        let now = self.clock.now().max(wall);
        let visible = self.visible();
        Ts(now.0.saturating_sub(window)).min(visible)
    }

    /// The history window kept now: the configured one, or less while
    /// history is over its memory bound.
    fn kept_window_secs(&self) -> u64 {
        let configured = self.history_window_secs.load(Ordering::Relaxed);
        configured.min(self.history_window_cut_secs.load(Ordering::Relaxed))
    }

    /// Keeps history within `bytes_max`, given that it holds `bytes` now:
    /// over the bound, the kept window halves (down to none); under half
    /// the bound, it doubles back towards the configured window. Snapshot
    /// reads before the kept window get SnapshotTooOld, as in mongod when
    /// the history they ask for is gone; transactions keep what they pin.
    /// Called once per collector round, so pruning (two horizon advances
    /// behind) lags each step: the window may overshoot down, then grows
    /// back.
    pub fn bound_history(&self, bytes: u64, bytes_max: u64) {
        let kept = self.kept_window_secs();
        let configured = self.history_window_secs.load(Ordering::Relaxed);
        let cut = if bytes > bytes_max {
            kept / 2
        } else if bytes < bytes_max / 2 {
            kept.saturating_mul(2).max(1)
        } else {
            kept
        };
        let cut = if cut >= configured { u64::MAX } else { cut };
        self.history_window_cut_secs.store(cut, Ordering::Relaxed);
    }

    pub fn history_window_secs(&self) -> u64 {
        self.history_window_secs.load(Ordering::Relaxed)
    }

    pub fn set_history_window_secs(&self, secs: u64) {
        self.history_window_secs.store(secs, Ordering::Relaxed);
    }

    /// Registers a reader that takes no pin (a command outside a
    /// transaction) until the guard drops: the horizon does not pass the
    /// snapshots it reads. Call it before reading `visible` for a snapshot.
    pub fn reader(&self) -> ReaderGuard<'_> {
        self.horizon.enter()
    }

    /// Below this, only the newest version of a record is kept.
    fn horizon(&self) -> Ts {
        self.horizon.safe()
    }

    /// Moves the pruning horizon towards the history floor and the oldest
    /// pinned snapshot, as far as registered readers allow; returns it.
    pub fn advance_horizon(&self) -> Ts {
        let oldest_pin = || self.pinned.lock().keys().next().copied();
        self.horizon.advance(
            || {
                let floor = self.window_floor();
                oldest_pin().map_or(floor, |pin| floor.min(pin))
            },
            oldest_pin,
        )
    }

    /// Commits `txn`, returning its commit timestamp (or the visible
    /// timestamp for a transaction that wrote nothing).
    ///
    /// `journal` runs under the commit lock with the chosen timestamp, before
    /// any version is installed: it appends the commit record so that log
    /// order is commit order. If it fails, the transaction is aborted.
    pub fn commit<E>(
        &self,
        mut txn: Txn,
        journal: impl FnOnce(&Txn, Ts) -> Result<(), E>,
    ) -> Result<Ts, E> {
        if txn.is_read_only() {
            let ts = self.visible();
            self.finish(&mut txn);
            return Ok(ts);
        }
        let horizon = self.horizon();
        let guard = self.commit_lock.lock();
        let ts = self.clock.tick();
        if let Err(error) = journal(&txn, ts) {
            drop(guard);
            self.abort(txn);
            return Err(error);
        }
        txn.install(ts, horizon);
        assert!(
            ts.0 > self.visible.load(Ordering::Acquire),
            "commit timestamps go forward"
        );
        self.visible.store(ts.0, Ordering::Release);
        drop(guard);
        self.finish(&mut txn);
        Ok(ts)
    }

    /// Aborts `txn`: its intents and the index entries only they backed go.
    pub fn abort(&self, mut txn: Txn) {
        txn.roll_back();
        self.finish(&mut txn);
    }

    fn finish(&self, txn: &mut Txn) {
        if txn.is_multi() {
            let mut pinned = self.pinned.lock();
            let snapshot = txn.snapshot();
            let count = pinned
                .get_mut(&snapshot)
                .expect("multi-document transaction pinned its snapshot");
            *count -= 1;
            if *count == 0 {
                pinned.remove(&snapshot);
            }
        }
        txn.mark_finished();
        if txn.is_read_only() {
            // Held no intents: nobody can be waiting for it.
            return;
        }
        self.ended.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.ended_lock.lock();
            self.ended_signal.notify_all();
        }
    }

    /// The current end-of-transaction generation; read it before trying a
    /// write that may conflict, and pass it to [`TxnManager::wait_for_end`].
    pub fn end_generation(&self) -> u64 {
        self.ended.load(Ordering::SeqCst)
    }

    /// Waits until some transaction ends after `generation` was read, or the
    /// deadline passes.
    pub fn wait_for_end(&self, generation: u64, deadline: Option<Instant>) -> WaitOutcome {
        let mut guard = self.ended_lock.lock();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let ended = || self.ended.load(Ordering::SeqCst) != generation;
        let mut outcome = WaitOutcome::Ended;
        while !ended() {
            match deadline {
                Some(deadline) => {
                    let timed_out = self
                        .ended_signal
                        .wait_until(&mut guard, deadline)
                        .timed_out();
                    if timed_out && !ended() {
                        outcome = WaitOutcome::TimedOut;
                        break;
                    }
                }
                None => self.ended_signal.wait(&mut guard),
            }
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    /// Runs `f` under the commit lock with a fresh timestamp, which becomes
    /// visible when `f` returns: catalog changes and their journal records
    /// are ordered with commits this way.
    pub fn with_commit_lock<T>(&self, f: impl FnOnce(Ts) -> T) -> T {
        let _guard = self.commit_lock.lock();
        let ts = self.clock.tick();
        let out = f(ts);
        self.visible.fetch_max(ts.0, Ordering::AcqRel);
        out
    }

    /// Reads state that must not move while commits are installed (the
    /// visible timestamp together with the journal's last record).
    pub fn quiesced<T>(&self, f: impl FnOnce(Ts) -> T) -> T {
        let _guard = self.commit_lock.lock();
        f(self.visible())
    }

    /// Makes `ts` visible: waits out commits in flight (they hold the commit
    /// lock), then moves the clock and the visible timestamp to at least `ts`.
    /// Later commits get higher timestamps, so nothing at or below `ts` is
    /// still to come. Used for `afterClusterTime`.
    pub fn make_visible(&self, ts: Ts) {
        if self.visible() >= ts {
            return;
        }
        let _guard = self.commit_lock.lock();
        self.clock.advance(ts);
        self.visible.fetch_max(ts.0, Ordering::AcqRel);
    }

    /// Sets the clock and the visible timestamp when the engine opens (after
    /// recovery, if any).
    pub fn recover_to(&self, ts: Ts) {
        self.clock.advance(ts);
        self.visible.fetch_max(ts.0, Ordering::AcqRel);
    }
}
