//! One document's versions and its single write intent.
//!
//! State machine of a record's intent slot:
//! - `None` -> `Some(intent of T)`: transaction T writes the record. Only
//!   allowed when no other transaction holds the slot (first writer wins).
//! - `Some(T)` -> `Some(T)`: T writes the record again.
//! - `Some(T)` -> `None` with a new version appended: T commits at `ts`.
//! - `Some(T)` -> `None` with no version: T aborts.
//!
//! Invariants, checked by assertions: versions are in strictly increasing
//! commit order; only the owner of an intent clears or replaces it; a version
//! is appended only by the intent's owner.
//!
//! A record is *dead* at a horizon when it has no intent and no reader at or
//! after the horizon can see a document in it: no versions at all (an insert
//! that aborted or lost a race), or a newest version that is a tombstone
//! committed at or below the horizon. The garbage collector marks a dead
//! record *removed*, under its lock, just before unlinking it from its
//! collection; a removed record takes no intent and no version again, so a
//! writer that found it before the unlink must look its `_id` up afresh.

use std::collections::VecDeque;
use std::sync::Arc;

use bson::Document;
use parking_lot::{Mutex, MutexGuard};

use crate::clock::Ts;

/// A transaction's identity in intent slots; unique for the engine's life.
pub type TxnId = u64;

/// A document, shared between versions, readers and cursors.
pub type Doc = Arc<Document>;

/// What a reader may see: versions committed at or below `snapshot`, plus the
/// intents of `txn`.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub snapshot: Ts,
    pub txn: Option<TxnId>,
}

#[derive(Clone, Debug)]
pub struct Version {
    pub ts: Ts,
    /// `None` is a deletion (tombstone).
    pub doc: Option<Doc>,
    /// The document's size in memory (0 for a tombstone): what keeping
    /// this version as history costs, with [`VERSION_OVERHEAD_BYTES`].
    pub bytes: u32,
}

/// What a version costs beyond its document: its slot and the `Arc`.
pub const VERSION_OVERHEAD_BYTES: u64 = 48;

impl Version {
    /// What keeping this version costs in memory, roughly.
    pub fn footprint(&self) -> u64 {
        VERSION_OVERHEAD_BYTES + u64::from(self.bytes)
    }
}

/// Versions dropped from a record, and their footprint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub versions: usize,
    pub bytes: u64,
}

#[derive(Clone, Debug)]
pub struct Intent {
    pub txn: TxnId,
    /// `None` deletes the document.
    pub doc: Option<Doc>,
    bytes: u32,
}

/// A document's size in memory as a version records it (saturating).
fn size_of(doc: Option<&Doc>) -> u32 {
    doc.map_or(0, |doc| {
        u32::try_from(super::size::in_memory_size(doc)).unwrap_or(u32::MAX)
    })
}

#[derive(Debug, Default)]
pub struct RecordState {
    /// Committed versions, oldest first.
    /// A deque: pruning drops from the front, and a hot document's history
    /// (hundreds of thousands of versions in the snapshot window) must not
    /// shift on every prune.
    versions: VecDeque<Version>,
    intent: Option<Intent>,
    /// Unlinked from its collection by the garbage collector (terminal).
    removed: bool,
}

#[derive(Debug, Default)]
pub struct Record {
    state: Mutex<RecordState>,
}

impl Record {
    pub fn lock(&self) -> MutexGuard<'_, RecordState> {
        self.state.lock()
    }

    /// The document `view` sees, if any.
    pub fn read(&self, view: &View) -> Option<Doc> {
        self.state.lock().read(view)
    }
}

impl RecordState {
    pub fn read(&self, view: &View) -> Option<Doc> {
        if let (Some(intent), Some(txn)) = (&self.intent, view.txn)
            && intent.txn == txn
        {
            return intent.doc.clone();
        }
        self.visible_at(view.snapshot)
    }

    /// The newest version committed at or below `snapshot`.
    pub fn visible_at(&self, snapshot: Ts) -> Option<Doc> {
        let newer = self.versions.partition_point(|v| v.ts <= snapshot);
        newer
            .checked_sub(1)
            .and_then(|i| self.versions.get(i))
            .and_then(|v| v.doc.clone())
    }

    pub fn newest(&self) -> Option<&Version> {
        self.versions.back()
    }

    pub fn newest_doc(&self) -> Option<Doc> {
        self.versions.back().and_then(|v| v.doc.clone())
    }

    pub fn intent(&self) -> Option<&Intent> {
        self.intent.as_ref()
    }

    pub fn versions(&self) -> &VecDeque<Version> {
        &self.versions
    }

    /// Places or replaces `txn`'s intent; the caller has checked that no other
    /// transaction holds the slot.
    pub fn set_intent(&mut self, txn: TxnId, doc: Option<Doc>) {
        assert!(!self.removed, "intent on a removed record");
        if let Some(held) = &self.intent {
            assert_eq!(held.txn, txn, "intent slot held by another transaction");
        }
        let bytes = size_of(doc.as_ref());
        self.intent = Some(Intent { txn, doc, bytes });
    }

    /// Clears `txn`'s intent without a new version (abort).
    pub fn clear_intent(&mut self, txn: TxnId) {
        let held = self.intent.take();
        let held = held.expect("abort of a record with no intent");
        assert_eq!(held.txn, txn, "abort by a transaction that holds no intent");
    }

    /// Turns `txn`'s intent into the version committed at `ts`, dropping
    /// versions nobody can read any more (older than `horizon`, except the
    /// newest of those). Returns how the record's history footprint changed:
    /// the version it superseded joins the history, pruned ones leave it.
    pub fn commit_intent(&mut self, txn: TxnId, ts: Ts, horizon: Ts) -> i64 {
        let held = self
            .intent
            .take()
            .expect("commit of a record with no intent");
        assert_eq!(
            held.txn, txn,
            "commit by a transaction that holds no intent"
        );
        if let Some(newest) = self.versions.back() {
            assert!(newest.ts < ts, "versions must be committed in order");
        }
        let superseded = self.versions.back().map_or(0, Version::footprint);
        self.versions.push_back(Version {
            ts,
            doc: held.doc,
            bytes: held.bytes,
        });
        let pruned = self.prune(horizon);
        footprint_delta(superseded, pruned.bytes)
    }

    /// Installs a recovered version: it replaces all history (recovery
    /// keeps no snapshot history), and no intent is involved.
    pub fn install(&mut self, ts: Ts, doc: Option<Doc>) {
        assert!(self.intent.is_none(), "install over an open intent");
        assert!(!self.removed, "install into a removed record");
        if let Some(newest) = self.versions.back() {
            assert!(newest.ts < ts, "versions must be installed in order");
        }
        // What it replaces is its newest version, never history.
        assert!(self.versions.len() <= 1, "install over a record's history");
        self.versions.clear();
        let bytes = size_of(doc.as_ref());
        self.versions.push_back(Version { ts, doc, bytes });
    }

    /// Drops the versions no reader at or after `horizon` can see; returns
    /// how many, and their footprint (never the newest version's: only
    /// history is pruned).
    pub fn prune(&mut self, horizon: Ts) -> Pruned {
        // Keep the newest version at or below the horizon: a reader at the
        // horizon still needs it. Everything older is unreachable.
        // Versions are in commit order, so a binary search finds it: a hot
        // document with a long history costs O(log n) per commit, not O(n).
        let newer = self.versions.partition_point(|v| v.ts <= horizon);
        let dropped = newer.saturating_sub(1);
        let bytes = self.versions.drain(..dropped).map(|v| v.footprint()).sum();
        Pruned {
            versions: dropped,
            bytes,
        }
    }

    /// Whether no reader at or after `horizon` and no writer can find a
    /// document here (see the module doc).
    pub fn is_dead(&self, horizon: Ts) -> bool {
        self.intent.is_none()
            && self
                .versions
                .back()
                .is_none_or(|v| v.doc.is_none() && v.ts <= horizon)
    }

    /// Marks a dead record as unlinked; the caller unlinks it while it
    /// still holds the lock.
    pub fn mark_removed(&mut self, horizon: Ts) {
        assert!(self.is_dead(horizon), "removal of a live record");
        self.removed = true;
    }

    /// Whether nothing here can become garbage until it changes: one live
    /// version, no intent.
    pub fn is_settled(&self) -> bool {
        self.intent.is_none() && self.versions.len() == 1 && self.versions[0].doc.is_some()
    }

    pub fn is_removed(&self) -> bool {
        self.removed
    }

    /// Every document a reader at or after `horizon`, or the intent's
    /// owner, may see here, oldest first (`rev` for newest first).
    pub fn reachable_docs(&self, horizon: Ts) -> impl DoubleEndedIterator<Item = &Doc> {
        let oldest = self
            .versions
            .partition_point(|v| v.ts <= horizon)
            .saturating_sub(1);
        let versions = self.versions.iter().skip(oldest);
        let versions = versions.filter_map(|v| v.doc.as_ref());
        versions.chain(self.intent.as_ref().and_then(|i| i.doc.as_ref()))
    }
}

/// `added - removed` as a signed change.
fn footprint_delta(added: u64, removed: u64) -> i64 {
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    signed(added) - signed(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn version_doc(n: i32) -> Option<Doc> {
        Some(Arc::new(doc! {"_id": 1, "n": n}))
    }

    #[test]
    fn readers_see_the_newest_version_at_their_snapshot_and_their_own_intent() {
        let mut state = RecordState::default();
        state.install(Ts(10), version_doc(1));
        state.set_intent(7, version_doc(2));
        state.commit_intent(7, Ts(20), Ts(0));
        state.set_intent(8, None);

        let at = |snapshot, txn| {
            state.read(&View {
                snapshot: Ts(snapshot),
                txn,
            })
        };
        assert_eq!(at(5, None), None);
        assert_eq!(at(15, None), version_doc(1));
        assert_eq!(at(25, None), version_doc(2));
        assert_eq!(
            at(25, Some(8)),
            None,
            "own deletion is visible to the deleter"
        );
        assert_eq!(
            at(15, Some(9)),
            version_doc(1),
            "others' intents are invisible"
        );
    }

    #[test]
    fn pruning_keeps_the_newest_version_readable_at_the_horizon() {
        let mut state = RecordState::default();
        for (i, ts) in [10, 20, 30, 40].into_iter().enumerate() {
            state.set_intent(1, version_doc(i as i32));
            state.commit_intent(1, Ts(ts), Ts(25));
        }
        let kept: Vec<u64> = state.versions().iter().map(|v| v.ts.0).collect();
        assert_eq!(kept, vec![20, 30, 40]);
    }

    #[test]
    fn history_footprint_changes_sum_to_what_is_kept_as_history() {
        let mut state = RecordState::default();
        let mut history: i64 = 0;
        for (i, (ts, horizon)) in [(10, 0), (20, 0), (30, 15), (40, 15), (50, 45)]
            .into_iter()
            .enumerate()
        {
            let doc = (i != 3).then(|| Arc::new(doc! {"_id": 1, "pad": "x".repeat(i * 10)}));
            state.set_intent(1, doc);
            history += state.commit_intent(1, Ts(ts), Ts(horizon));
            let kept = state.versions();
            let expected: u64 = kept
                .iter()
                .take(kept.len() - 1)
                .map(Version::footprint)
                .sum();
            assert_eq!(history, expected as i64, "after the commit at {ts}");
        }
        let pruned = state.prune(Ts(100));
        history -= pruned.bytes as i64;
        assert_eq!((state.versions().len(), history), (1, 0));
    }

    /// A record built from `(ts, n)` versions (`n < 0` is a tombstone) and
    /// an optional intent of transaction 9.
    fn record_of(versions: &[(u64, i32)], intent: Option<i32>) -> RecordState {
        let mut state = RecordState::default();
        for &(ts, n) in versions {
            state.set_intent(1, if n >= 0 { version_doc(n) } else { None });
            state.commit_intent(1, Ts(ts), Ts(0));
        }
        if let Some(n) = intent {
            state.set_intent(9, if n >= 0 { version_doc(n) } else { None });
        }
        state
    }

    #[test]
    fn a_record_is_dead_once_its_tombstone_is_at_or_below_the_horizon() {
        let check = |versions: &[(u64, i32)], intent: Option<i32>, horizon: u64, dead: bool| {
            let state = record_of(versions, intent);
            assert_eq!(
                state.is_dead(Ts(horizon)),
                dead,
                "{versions:?} intent {intent:?} at {horizon}"
            );
        };
        check(&[], None, 0, true);
        check(&[], Some(1), 100, false);
        check(&[(10, 1)], None, 100, false);
        check(&[(10, 1), (20, -1)], None, 20, true);
        check(&[(10, 1), (20, -1)], None, 19, false);
        check(&[(10, 1), (20, -1)], Some(2), 100, false);
        check(&[(10, 1), (20, -1)], Some(-1), 100, false);
    }

    #[test]
    fn reachable_documents_start_at_the_newest_version_at_or_below_the_horizon() {
        let check = |horizon: u64, expected: &[i32]| {
            let state = record_of(&[(10, 1), (20, 2), (30, -1), (40, 4)], Some(5));
            let found: Vec<i32> = state
                .reachable_docs(Ts(horizon))
                .filter_map(|d| d.get_i32("n").ok())
                .collect();
            assert_eq!(found, expected, "at {horizon}");
        };
        check(5, &[1, 2, 4, 5]);
        check(10, &[1, 2, 4, 5]);
        check(25, &[2, 4, 5]);
        check(30, &[4, 5]);
        check(45, &[4, 5]);
    }

    #[test]
    #[should_panic(expected = "removal of a live record")]
    fn a_live_record_cannot_be_marked_removed() {
        record_of(&[(10, 1)], None).mark_removed(Ts(100));
    }

    #[test]
    #[should_panic(expected = "intent on a removed record")]
    fn a_removed_record_takes_no_intent() {
        let mut state = record_of(&[(10, -1)], None);
        state.mark_removed(Ts(10));
        state.set_intent(2, version_doc(1));
    }

    #[test]
    #[should_panic(expected = "held by another transaction")]
    fn a_second_writer_cannot_take_a_held_intent_slot() {
        let mut state = RecordState::default();
        state.set_intent(1, None);
        state.set_intent(2, None);
    }
}
