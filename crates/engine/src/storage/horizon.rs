//! The pruning horizon: the oldest snapshot any reader may still use, and
//! the only timestamp below which versions are dropped (at commit and by the
//! garbage collector).
//!
//! A reader outside a transaction takes no pin: it reads `visible` when it
//! needs a snapshot. To keep such unpinned readers cheap (two atomic adds per
//! command), the horizon is published with a grace period, as in epoch-based
//! reclamation:
//! - a command registers in the current *epoch* for its whole run
//!   ([`Horizon::enter`]); every snapshot it reads is at least the history
//!   floor when it registered;
//! - [`Horizon::advance`] computes a *candidate* (the history floor capped by
//!   the oldest pinned transaction) and opens a new epoch; the candidate
//!   becomes the *safe* horizon only at a later advance, once every reader
//!   registered before that epoch opened has left, and then capped again by
//!   the pins that exist at that moment (a reader of the old epoch may have
//!   pinned an older snapshot for a transaction that outlives the command).
//!
//! Invariants:
//! - `safe` and `candidate` only grow; `safe <= candidate`.
//! - No reader registered in an epoch older than the one `candidate` opened
//!   is still running when `candidate` is promoted, so every snapshot still
//!   in use is `>= safe`.
//! - Only one thread advances at a time (`advancing`); readers never block.
//!
//! It knows nothing of clocks or transactions: the caller computes the
//! candidate and the oldest pin.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::clock::Ts;

#[derive(Default)]
pub struct Horizon {
    /// Opened anew by each [`Horizon::advance`] that promotes.
    epoch: AtomicU64,
    /// Readers running, by the parity of the epoch they registered in: at
    /// most two epochs have readers (an advance waits for the older one).
    readers: [AtomicU64; 2],
    /// Computed when `epoch` was opened; safe once the previous epoch drains.
    candidate: AtomicU64,
    /// Versions older than the newest one at or below this are unreachable.
    safe: AtomicU64,
    advancing: Mutex<()>,
}

/// A registered reader; leaves its epoch when dropped.
pub struct ReaderGuard<'a> {
    readers: &'a AtomicU64,
}

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        self.readers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Horizon {
    /// Registers a reader for as long as the guard lives. Every snapshot it
    /// reads afterwards must be at least the history floor at this moment.
    pub fn enter(&self) -> ReaderGuard<'_> {
        loop {
            let epoch = self.epoch.load(Ordering::SeqCst);
            let readers = &self.readers[parity(epoch)];
            readers.fetch_add(1, Ordering::SeqCst);
            // An advance that opened a newer epoch meanwhile may already
            // have found this counter empty: register again under it.
            if self.epoch.load(Ordering::SeqCst) == epoch {
                return ReaderGuard { readers };
            }
            readers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The horizon versions may be pruned to.
    pub fn safe(&self) -> Ts {
        Ts(self.safe.load(Ordering::Acquire))
    }

    /// The newest candidate: a snapshot read older than this is refused,
    /// since it may be pruned before the read ends.
    pub fn candidate(&self) -> Ts {
        Ts(self.candidate.load(Ordering::SeqCst))
    }

    /// Promotes the pending candidate if every reader that might predate it
    /// has left, and then opens a new epoch with `next()` as the candidate.
    /// Returns the safe horizon. `oldest_pin` names the oldest snapshot an
    /// open transaction holds.
    pub fn advance(
        &self,
        next: impl FnOnce() -> Ts,
        oldest_pin: impl FnOnce() -> Option<Ts>,
    ) -> Ts {
        let _advancing = self.advancing.lock();
        let epoch = self.epoch.load(Ordering::SeqCst);
        let previous = &self.readers[parity(epoch.wrapping_add(1))];
        if previous.load(Ordering::SeqCst) != 0 {
            return self.safe();
        }
        let candidate = self.candidate();
        let promoted = oldest_pin().map_or(candidate, |pin| candidate.min(pin));
        self.safe.fetch_max(promoted.0, Ordering::AcqRel);
        // Published before the epoch opens, so every reader of the new epoch
        // checks snapshot reads against it.
        let next = next().max(candidate);
        self.candidate.store(next.0, Ordering::SeqCst);
        self.epoch.store(epoch.wrapping_add(1), Ordering::SeqCst);
        self.safe()
    }
}

fn parity(epoch: u64) -> usize {
    (epoch & 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_candidate_becomes_safe_only_after_the_readers_before_it_leave() {
        let horizon = Horizon::default();
        let reader = horizon.enter();
        assert_eq!(horizon.advance(|| Ts(10), || None), Ts(0));
        assert_eq!(horizon.candidate(), Ts(10));
        // The reader predates the candidate 10: it may read below it.
        assert_eq!(horizon.advance(|| Ts(20), || None), Ts(0));
        assert_eq!(horizon.advance(|| Ts(30), || None), Ts(0));
        drop(reader);
        assert_eq!(horizon.advance(|| Ts(40), || None), Ts(10));
        assert_eq!(horizon.advance(|| Ts(50), || None), Ts(40));
    }

    #[test]
    fn a_promotion_is_capped_by_the_oldest_pin_and_never_goes_back() {
        let horizon = Horizon::default();
        horizon.advance(|| Ts(10), || None);
        assert_eq!(horizon.advance(|| Ts(20), || Some(Ts(5))), Ts(5));
        assert_eq!(horizon.advance(|| Ts(15), || None), Ts(20));
        assert_eq!(horizon.candidate(), Ts(20), "candidates never go back");
        assert_eq!(horizon.advance(|| Ts(30), || Some(Ts(1))), Ts(20));
    }

    #[test]
    fn a_reader_of_the_new_epoch_does_not_hold_back_the_old_candidate() {
        let horizon = Horizon::default();
        horizon.advance(|| Ts(10), || None);
        let _late = horizon.enter();
        assert_eq!(horizon.advance(|| Ts(20), || None), Ts(10));
        assert_eq!(horizon.advance(|| Ts(30), || None), Ts(10));
    }
}
