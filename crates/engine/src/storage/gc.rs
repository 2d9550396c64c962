//! The garbage collector: reclaims what no reader at or after the pruning
//! horizon (see [`super::horizon`]) and no open intent can reach.
//!
//! One round visits every collection and, from where the previous round
//! stopped, a bounded batch of its records and of each secondary index's
//! entries:
//! - each record visited loses the versions older than the newest one at or
//!   below the horizon, and is unlinked if it is dead (a tombstone at or
//!   below the horizon, or no version at all, and no intent);
//! - each index entry visited that no reachable version or intent of its
//!   record generates is removed, re-checked under the index's write lock.
//!
//! It takes no global lock: each record and each index is locked on its own,
//! briefly, in the documented order (index entries, then record). The race
//! arguments live with the primitives it calls: [`Collection::unlink_dead`]
//! and [`Index::remove_unbacked`].
//!
//! It does not reclaim dropped collections (their memory goes with the last
//! `Arc`), nor shrink the maps' own capacity.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::collection::Collection;
use super::index::{Entry, Index};
use super::key::{IndexKey, Key};
use crate::clock::Ts;

/// Records one round visits per collection: bounds the round's time and the
/// writers it slows, while a 250 ms cadence still sweeps 16k records a second.
pub const GC_RECORDS_PER_ROUND_MAX: usize = 4_096;
/// Index entries one round visits per index, for the same reason.
pub const GC_INDEX_ENTRIES_PER_ROUND_MAX: usize = 4_096;
/// Suspect entries removed under one hold of an index's write lock: readers
/// and writers of the index wait at most this many record checks.
const GC_ENTRIES_PER_LOCK_MAX: usize = 256;

/// What garbage collection reclaimed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcStats {
    /// Records unlinked: dead tombstones and never-committed inserts.
    pub records_removed: u64,
    /// Old versions dropped from records that stay.
    pub versions_pruned: u64,
    /// Secondary index entries no reachable version generated.
    pub index_entries_removed: u64,
    /// Collections whose records and indexes were all swept to their end
    /// in this round (the next round starts them over).
    pub collections_completed: u64,
}

impl GcStats {
    fn add(&mut self, other: GcStats) {
        self.records_removed += other.records_removed;
        self.versions_pruned += other.versions_pruned;
        self.index_entries_removed += other.index_entries_removed;
        self.collections_completed += other.collections_completed;
    }
}

/// What one collection holds in memory, for tests and diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageCounts {
    /// Records in the primary map: live documents and tombstones.
    pub records: usize,
    /// Committed versions over all records (tombstones included).
    pub versions: usize,
    /// Entries of each secondary index, by index name.
    pub index_entries: Vec<(String, usize)>,
}

/// Runs one bounded round over `collections` at `horizon`.
pub fn collect(collections: &[Arc<Collection>], horizon: Ts) -> GcStats {
    let mut stats = GcStats::default();
    for coll in collections {
        stats.add(sweep_collection(coll, horizon));
    }
    stats
}

/// Counts what `coll` holds. Locks each record in turn: diagnostics only.
pub fn counts(coll: &Collection) -> StorageCounts {
    let versions = coll
        .records_from(None)
        .map(|(_, record)| record.lock().versions().len())
        .sum();
    StorageCounts {
        records: coll.record_count(),
        versions,
        index_entries: coll
            .indexes()
            .iter()
            .map(|index| (index.spec.name.clone(), index.entry_count()))
            .collect(),
    }
}

fn sweep_collection(coll: &Collection, horizon: Ts) -> GcStats {
    let mut stats = GcStats::default();
    let mut completed = sweep_records(coll, horizon, &mut stats);
    for index in coll.indexes().iter() {
        completed &= sweep_index(coll, index, horizon, &mut stats);
    }
    stats.collections_completed = u64::from(completed);
    stats
}

/// Sweeps the next batch of records; returns whether it reached the end.
fn sweep_records(coll: &Collection, horizon: Ts, stats: &mut GcStats) -> bool {
    coll.with_gc_cursor(|cursor| {
        let mut visited = 0;
        for (key, record) in coll.records_from(cursor.as_ref()) {
            let (pruned, unlinked) = coll.unlink_dead(&key, &record, horizon);
            stats.versions_pruned += pruned as u64;
            stats.records_removed += u64::from(unlinked);
            *cursor = Some(key);
            visited += 1;
            if visited == GC_RECORDS_PER_ROUND_MAX {
                return false;
            }
        }
        *cursor = None;
        true
    })
}

/// Sweeps the next batch of `index`'s entries; returns whether it reached
/// the end.
fn sweep_index(coll: &Collection, index: &Index, horizon: Ts, stats: &mut GcStats) -> bool {
    index.with_gc_cursor(|cursor| {
        let batch = index.entries_after(cursor.as_ref(), GC_INDEX_ENTRIES_PER_ROUND_MAX);
        let done = batch.len() < GC_INDEX_ENTRIES_PER_ROUND_MAX;
        *cursor = if done { None } else { batch.last().cloned() };
        // A first pass without the index lock finds the suspects; only they
        // are checked again under it.
        let mut reachable = Reachable::new(coll, index, horizon);
        let suspects: Vec<Entry> = batch
            .into_iter()
            .filter(|entry| !reachable.backs(entry))
            .collect();
        for chunk in suspects.chunks(GC_ENTRIES_PER_LOCK_MAX) {
            // Fresh for each hold of the lock: what an earlier look found
            // may have changed since.
            let mut reachable = Reachable::new(coll, index, horizon);
            let removed = index.remove_unbacked(chunk, |entry| reachable.backs(entry));
            stats.index_entries_removed += removed as u64;
        }
        done
    })
}

/// The index keys that records' reachable versions and intents generate,
/// computed once per record: a multikey document has many entries, and each
/// would otherwise recompute all of its keys.
struct Reachable<'a> {
    coll: &'a Collection,
    index: &'a Index,
    horizon: Ts,
    /// Sorted keys by `_id`; `None` when some document's keys cannot be
    /// computed, so every entry of the record is kept.
    keys: BTreeMap<Key, Option<Vec<IndexKey>>>,
}

impl<'a> Reachable<'a> {
    fn new(coll: &'a Collection, index: &'a Index, horizon: Ts) -> Reachable<'a> {
        Reachable {
            coll,
            index,
            horizon,
            keys: BTreeMap::new(),
        }
    }

    /// Whether a version of `entry`'s record reachable at or after the
    /// horizon, or its intent, generates `entry`'s key.
    fn backs(&mut self, (key, id): &Entry) -> bool {
        if !self.keys.contains_key(id) {
            let keys = self.compute(id);
            self.keys.insert(id.clone(), keys);
        }
        match self.keys.get(id) {
            Some(Some(keys)) => keys.binary_search(key).is_ok(),
            // A document whose keys cannot be computed was never indexed by
            // a successful write; keep the entry rather than guess.
            Some(None) | None => true,
        }
    }

    fn compute(&self, id: &Key) -> Option<Vec<IndexKey>> {
        loop {
            let Some(record) = self.coll.record(id) else {
                return Some(Vec::new());
            };
            let state = record.lock();
            // Unlinked since the lookup: a record inserted under the same
            // `_id` afterwards is the one to ask.
            if state.is_removed() {
                continue;
            }
            let mut keys = Vec::new();
            for doc in state.reachable_docs(self.horizon) {
                keys.extend(self.index.spec.keys(doc).ok()?);
            }
            keys.sort();
            return Some(keys);
        }
    }
}
