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

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use super::collection::Collection;
use super::index::{Entry, Index, IndexSpec};
use super::key::{IndexKey, Key};
use super::record::{Doc, RecordState};
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
    /// Collections not swept at all: unchanged since a whole pass found
    /// nothing to reclaim (see [`super::sweep`]); also counted completed.
    pub collections_skipped: u64,
}

impl GcStats {
    fn add(&mut self, other: GcStats) {
        self.records_removed += other.records_removed;
        self.versions_pruned += other.versions_pruned;
        self.index_entries_removed += other.index_entries_removed;
        self.collections_completed += other.collections_completed;
        self.collections_skipped += other.collections_skipped;
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
    let changes = coll.changes();
    let indexes = coll.indexes();
    if coll.with_sweep(|sweep| sweep.is_clean(changes))
        && indexes
            .iter()
            .all(|index| index.with_sweep(|sweep| sweep.is_clean(changes)))
    {
        // Nothing changed since a whole pass found it all settled.
        stats.collections_skipped = 1;
        stats.collections_completed = 1;
        return stats;
    }
    let mut completed = sweep_records(coll, horizon, &mut stats);
    for index in indexes.iter() {
        completed &= sweep_index(coll, index, horizon, &mut stats);
    }
    stats.collections_completed = u64::from(completed);
    stats
}

/// Sweeps the next batch of records; returns whether it reached the end.
fn sweep_records(coll: &Collection, horizon: Ts, stats: &mut GcStats) -> bool {
    coll.with_sweep(|sweep| {
        sweep.begin_batch(coll.changes(), true);
        let mut visited = 0;
        for (key, record) in coll.records_from(sweep.cursor.as_ref()) {
            let unlink = coll.unlink_dead(&key, &record, horizon);
            stats.versions_pruned += unlink.pruned as u64;
            stats.records_removed += u64::from(unlink.unlinked);
            if !unlink.settled {
                sweep.unsettled();
            }
            sweep.cursor = Some(key);
            visited += 1;
            if visited == GC_RECORDS_PER_ROUND_MAX {
                return false;
            }
        }
        sweep.cursor = None;
        sweep.end_pass(coll.changes());
        true
    })
}

/// Sweeps the next batch of `index`'s entries; returns whether it reached
/// the end.
fn sweep_index(coll: &Collection, index: &Index, horizon: Ts, stats: &mut GcStats) -> bool {
    // An index pass proves the entries clean only while every record holds
    // one settled version: then an entry is backed by it or removed.
    let records_clean = coll.with_sweep(|sweep| sweep.is_clean(coll.changes()));
    index.with_sweep(|sweep| {
        sweep.begin_batch(coll.changes(), records_clean);
        let batch = index.entries_after(sweep.cursor.as_ref(), GC_INDEX_ENTRIES_PER_ROUND_MAX);
        let done = batch.len() < GC_INDEX_ENTRIES_PER_ROUND_MAX;
        sweep.cursor = if done { None } else { batch.last().cloned() };
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
        if !suspects.is_empty() {
            sweep.unsettled();
        }
        if done {
            sweep.end_pass(coll.changes());
        }
        done
    })
}

/// Which index keys records' reachable versions and intents generate,
/// learnt lazily, newest document first, and remembered for the batch.
///
/// The newest version backs nearly every entry, so a check usually computes
/// one document's keys however long the record's history is: a hot
/// document rewritten for minutes keeps hundreds of thousands of versions
/// in the snapshot window, and computing them all on every round held its
/// lock (and a core) for as long. Versions whose indexed fields equal the
/// previous one's are skipped without computing keys. What a record's
/// documents were found to generate is kept per `_id`, so a multikey
/// document's many entries cost its keys once.
struct Reachable<'a> {
    coll: &'a Collection,
    index: &'a Index,
    horizon: Ts,
    walked: BTreeMap<Key, Walked>,
}

/// What one record's documents were found to generate so far.
#[derive(Default)]
struct Walked {
    keys: BTreeSet<IndexKey>,
    /// The documents whose keys are in `keys`, by address (held by `docs`,
    /// so no address is reused while the batch runs).
    seen: HashSet<*const bson::Document>,
    docs: Vec<Doc>,
    /// Some document's keys cannot be computed: it was never indexed by a
    /// successful write, and every entry of the record is kept rather than
    /// guessed about.
    unknown: bool,
}

impl<'a> Reachable<'a> {
    fn new(coll: &'a Collection, index: &'a Index, horizon: Ts) -> Reachable<'a> {
        Reachable {
            coll,
            index,
            horizon,
            walked: BTreeMap::new(),
        }
    }

    /// Whether a version of `entry`'s record reachable at or after the
    /// horizon, or its intent, generates `entry`'s key.
    fn backs(&mut self, (key, id): &Entry) -> bool {
        if let Some(walked) = self.walked.get(id)
            && (walked.unknown || walked.keys.contains(key))
        {
            return true;
        }
        let spec = &self.index.spec;
        loop {
            let Some(record) = self.coll.record(id) else {
                return false;
            };
            let state = record.lock();
            // Unlinked since the lookup: a record inserted under the same
            // `_id` afterwards is the one to ask.
            if state.is_removed() {
                continue;
            }
            let walked = match self.walked.get_mut(id) {
                Some(walked) => walked,
                None => {
                    // The usual record, asked about once: nothing is worth
                    // remembering.
                    if let Some(backed) = settled_single_key(spec, &state, key) {
                        return backed;
                    }
                    self.walked.entry(id.clone()).or_default()
                }
            };
            let docs = spec.docs_with_new_keys(state.reachable_docs(self.horizon).rev());
            for doc in docs {
                if !walked.seen.insert(Arc::as_ptr(doc)) {
                    continue;
                }
                let Ok(keys) = spec.keys(doc) else {
                    walked.unknown = true;
                    return true;
                };
                walked.docs.push(doc.clone());
                walked.keys.extend(keys);
                if walked.keys.contains(key) {
                    return true;
                }
            }
            return false;
        }
    }
}

/// Whether the record generates `key`, answered for a settled record (one
/// live version, no intent) whose version generates at most one key here;
/// `None` for any other record.
fn settled_single_key(spec: &IndexSpec, state: &RecordState, key: &IndexKey) -> Option<bool> {
    if !state.is_settled() {
        return None;
    }
    let doc = state.newest().and_then(|v| v.doc.as_deref())?;
    match spec.keys(doc).ok()?.as_slice() {
        [] => Some(false),
        [only] => Some(only == key),
        _ => None,
    }
}
