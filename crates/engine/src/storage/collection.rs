//! A collection: records keyed by `_id` in a concurrent ordered map, plus its
//! secondary indexes.
//!
//! Invariants:
//! - A deleted document stays in `records` as a tombstone version while a
//!   reader at an older snapshot may still find it. Once the tombstone is at
//!   or below the pruning horizon and no intent is set, the garbage collector
//!   unlinks the record ([`Collection::unlink_dead`]); a record is unlinked
//!   only under its own lock, after being marked removed, so a writer
//!   holding a stale `Arc<Record>` sees the mark and looks the `_id` up
//!   again ([`Collection::install`] and `Txn::write` do).
//! - At most one live (not removed) record per `_id` is in `records`.
//! - The `_id` index is `records` itself; `indexes` holds the others.
//! - A collection created inside a transaction is *pending* until that
//!   transaction commits: invisible to every other reader and writer.
//! - A collection's name never changes. `renameCollection` registers a new
//!   `Collection` under the new name that shares the old one's [`Contents`]
//!   (documents, indexes, options), and points the old one at it
//!   ([`Collection::successor`]): a writer still holding the old handle
//!   writes into the same records, and its commit is journaled under the
//!   name the collection has at commit time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use bson::{Bson, Document};
use crossbeam_skiplist::SkipMap;
use parking_lot::{Mutex, RwLock};

use super::index::{Index, IndexSpec};
use super::key::{IndexKey, Key};
use super::record::{Doc, Pruned, Record, TxnId};
use super::sweep::Sweep;
use crate::clock::Ts;

/// What [`Collection::unlink_dead`] did to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlink {
    /// Versions dropped.
    pub pruned: usize,
    /// Whether the record was dead and left the collection.
    pub unlinked: bool,
    /// Nothing more to reclaim here until it changes: unlinked, or one
    /// live version and no intent.
    pub settled: bool,
}

/// Why an index could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// A document cannot be indexed (e.g. parallel arrays).
    Invalid(mql::Error),
    /// Two documents share this key in a unique index.
    Duplicate(IndexKey),
}

/// Who can see a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Committed,
    /// Created by this transaction, which has not committed yet.
    Pending(TxnId),
}

pub struct Collection {
    pub db: String,
    pub name: String,
    /// The `uuid` `listCollections` reports.
    pub uuid: bson::Uuid,
    /// Shared with every name the collection is renamed to.
    contents: Arc<Contents>,
    visibility: Mutex<Visibility>,
    /// The collection this one was renamed to; set once, under the commit
    /// lock, when it leaves the catalog.
    successor: Mutex<Option<Arc<Collection>>>,
}

/// What a collection holds, whatever its name.
struct Contents {
    /// Options given to `create` (capped, validator, ...), echoed by
    /// `listCollections`; replaced whole by `collMod`, so a writer takes a
    /// snapshot without copying.
    options: RwLock<Arc<Document>>,
    records: SkipMap<Key, Arc<Record>>,
    /// Replaced whole on change, so every write takes a snapshot of the
    /// list without copying it.
    indexes: RwLock<Arc<[Arc<Index>]>>,
    /// The garbage collector's sweep of `records`.
    sweep: Mutex<Sweep<Key>>,
    /// Changes that may leave garbage, counted once visible (see
    /// [`super::sweep`]).
    changes: AtomicU64,
    /// The footprint of every version kept only as history (superseded,
    /// not yet pruned), for the engine's bound on history memory.
    history_bytes: AtomicI64,
}

impl Collection {
    pub fn new(db: &str, name: &str, options: Document, visibility: Visibility) -> Collection {
        Collection {
            db: db.to_owned(),
            name: name.to_owned(),
            uuid: bson::Uuid::new(),
            contents: Arc::new(Contents {
                options: RwLock::new(Arc::new(options)),
                records: SkipMap::new(),
                indexes: RwLock::new(Arc::new([])),
                sweep: Mutex::new(Sweep::default()),
                changes: AtomicU64::new(0),
                history_bytes: AtomicI64::new(0),
            }),
            visibility: Mutex::new(visibility),
            successor: Mutex::new(None),
        }
    }

    /// The same collection under a new name, committed. A rename within a
    /// database keeps the `uuid`; across databases mongod copies into a
    /// new collection, so the `uuid` is new.
    pub fn renamed(&self, db: &str, name: &str) -> Collection {
        Collection {
            db: db.to_owned(),
            name: name.to_owned(),
            uuid: if db == self.db {
                self.uuid
            } else {
                bson::Uuid::new()
            },
            contents: self.contents.clone(),
            visibility: Mutex::new(Visibility::Committed),
            successor: Mutex::new(None),
        }
    }

    /// The collection this one was renamed to, if it was.
    pub fn successor(&self) -> Option<Arc<Collection>> {
        self.successor.lock().clone()
    }

    /// Records the rename of this collection to `next`.
    pub fn set_successor(&self, next: Arc<Collection>) {
        *self.successor.lock() = Some(next);
    }

    /// The collection's current options.
    pub fn options(&self) -> Arc<Document> {
        self.contents.options.read().clone()
    }

    /// Replaces the options (`collMod`, or its replay in recovery).
    pub fn set_options(&self, options: Document) {
        *self.contents.options.write() = Arc::new(options);
    }

    pub fn namespace(&self) -> String {
        format!("{}.{}", self.db, self.name)
    }

    pub fn visibility(&self) -> Visibility {
        *self.visibility.lock()
    }

    pub fn is_visible_to(&self, txn: Option<TxnId>) -> bool {
        match self.visibility() {
            Visibility::Committed => true,
            Visibility::Pending(owner) => Some(owner) == txn,
        }
    }

    /// The creating transaction committed.
    pub fn publish(&self, txn: TxnId) {
        let mut visibility = self.visibility.lock();
        assert_eq!(
            *visibility,
            Visibility::Pending(txn),
            "publish by a non-creator"
        );
        *visibility = Visibility::Committed;
    }

    pub fn record(&self, key: &Key) -> Option<Arc<Record>> {
        self.contents
            .records
            .get(key)
            .map(|entry| entry.value().clone())
    }

    /// The record for `key`, created empty (no versions, no intent) if absent.
    pub fn record_or_insert(&self, key: Key) -> Arc<Record> {
        // Not a change for the collector (`note_change`): the writer that
        // creates a record places its intent at once (or finds another
        // writer's), and an intent's commit or abort is counted.
        self.contents
            .records
            .get_or_insert_with(key, || Arc::new(Record::default()))
            .value()
            .clone()
    }

    /// Records in `_id` order starting after `after` (exclusive), if given.
    pub fn records_from(
        &self,
        after: Option<&Key>,
    ) -> impl Iterator<Item = (Key, Arc<Record>)> + '_ {
        let lower = match after {
            Some(key) => std::ops::Bound::Excluded(key.clone()),
            None => std::ops::Bound::Unbounded,
        };
        self.contents
            .records
            .range((lower, std::ops::Bound::Unbounded))
            .map(|entry| (entry.key().clone(), entry.value().clone()))
    }

    /// The secondary indexes (not `_id_`).
    pub fn indexes(&self) -> Arc<[Arc<Index>]> {
        self.contents.indexes.read().clone()
    }

    pub fn index(&self, name: &str) -> Option<Arc<Index>> {
        self.contents
            .indexes
            .read()
            .iter()
            .find(|i| i.spec.name == name)
            .cloned()
    }

    /// Every index definition, `_id_` first, as `listIndexes` reports them.
    pub fn index_specs(&self) -> Vec<IndexSpec> {
        let mut specs = vec![IndexSpec::id_index()];
        specs.extend(self.contents.indexes.read().iter().map(|i| i.spec.clone()));
        specs
    }

    /// Builds `spec` over every version and intent of every record and adds
    /// it. Runs with the index list locked, so no writer is between its
    /// intent and its index entries. For a unique index, fails with the
    /// first key two current documents share.
    pub fn add_index(&self, spec: IndexSpec) -> Result<(), BuildError> {
        let mut indexes = self.contents.indexes.write();
        let index = Arc::new(Index::new(spec));
        let mut newest_keys: Vec<(IndexKey, Key)> = Vec::new();
        for (id, record) in self.records_from(None) {
            let state = record.lock();
            let docs = state.versions().iter().filter_map(|v| v.doc.clone());
            for doc in docs.chain(state.intent().and_then(|i| i.doc.clone())) {
                for key in index.spec.keys(&doc).map_err(BuildError::Invalid)? {
                    index.insert(key, id.clone());
                }
            }
            if let Some(doc) = state.newest_doc() {
                let keys = index.spec.keys(&doc).map_err(BuildError::Invalid)?;
                newest_keys.extend(keys.into_iter().map(|k| (k, id.clone())));
            }
        }
        if index.spec.unique {
            newest_keys.sort();
            for pair in newest_keys.windows(2) {
                if pair[0].0 == pair[1].0 && pair[0].1 != pair[1].1 {
                    return Err(BuildError::Duplicate(pair[0].0.clone()));
                }
            }
        }
        *indexes = indexes.iter().cloned().chain([index]).collect();
        drop(indexes);
        self.note_change();
        Ok(())
    }

    /// Installs `doc` as committed at `ts` with its index entries, outside
    /// any transaction: recovery, and collections built whole (`$out`).
    pub fn install(&self, ts: crate::clock::Ts, doc: Doc) -> Result<(), mql::Error> {
        let key = Collection::key_of(&doc);
        let mut keys = Vec::new();
        for index in self.indexes().iter() {
            keys.push((index.clone(), index.spec.keys(&doc)?));
        }
        loop {
            let record = self.record_or_insert(key.clone());
            let mut state = record.lock();
            // Unlinked by the garbage collector after we found it.
            if !state.is_removed() {
                state.install(ts, Some(doc));
                break;
            }
        }
        for (index, index_keys) in keys {
            for index_key in index_keys {
                index.insert(index_key, key.clone());
            }
        }
        self.note_change();
        Ok(())
    }

    /// Records a change in the footprint of this collection's history (see
    /// [`crate::storage::record::RecordState::commit_intent`]).
    pub fn add_history_bytes(&self, delta: i64) {
        self.contents
            .history_bytes
            .fetch_add(delta, Ordering::Relaxed);
    }

    /// The footprint of the versions this collection keeps only as history.
    pub fn history_bytes(&self) -> u64 {
        u64::try_from(self.contents.history_bytes.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Unlinks `record` (found under `key`) if it is dead at `horizon`,
    /// after pruning what no reader can see.
    ///
    /// The check, the mark and the unlink all happen under the record's
    /// lock: a writer that set an intent first keeps the record, and one
    /// that locks it afterwards sees it removed.
    pub fn unlink_dead(&self, key: &Key, record: &Arc<Record>, horizon: Ts) -> Unlink {
        let mut state = record.lock();
        if state.is_removed() {
            return Unlink {
                pruned: 0,
                unlinked: false,
                settled: true,
            };
        }
        let Pruned {
            versions: pruned,
            bytes,
        } = state.prune(horizon);
        self.add_history_bytes(-i64::try_from(bytes).unwrap_or(i64::MAX));
        let kept = |settled| Unlink {
            pruned,
            unlinked: false,
            settled,
        };
        if !state.is_dead(horizon) {
            return kept(state.is_settled());
        }
        // Only `get_or_insert_with` adds records, and never while a live
        // record holds the key: the entry found is this record's.
        let Some(entry) = self.contents.records.get(key) else {
            return kept(false);
        };
        if !Arc::ptr_eq(entry.value(), record) {
            return kept(false);
        }
        state.mark_removed(horizon);
        let unlinked = entry.remove();
        assert!(
            unlinked,
            "a live record's entry is removed only by its collector"
        );
        Unlink {
            pruned,
            unlinked: true,
            settled: true,
        }
    }

    /// Runs `f` on the garbage collector's sweep of `records`. Two
    /// collectors (the reaper and an explicit round) take turns.
    pub fn with_sweep<T>(&self, f: impl FnOnce(&mut Sweep<Key>) -> T) -> T {
        f(&mut self.contents.sweep.lock())
    }

    /// Counts a change that may leave garbage (a commit, an abort, an
    /// installed version, an index build); call it once it is visible.
    pub fn note_change(&self) {
        self.contents.changes.fetch_add(1, Ordering::Release);
    }

    /// How many changes that may leave garbage the collection has seen.
    pub fn changes(&self) -> u64 {
        self.contents.changes.load(Ordering::Acquire)
    }

    /// How many records (live documents and tombstones) the collection holds.
    pub fn record_count(&self) -> usize {
        self.contents.records.len()
    }

    /// Removes the named secondary indexes.
    pub fn drop_indexes(&self, names: &[String]) {
        let mut indexes = self.contents.indexes.write();
        *indexes = indexes
            .iter()
            .filter(|i| !names.contains(&i.spec.name))
            .cloned()
            .collect();
    }

    /// The `_id` of a document, as a key (`null` if it has none).
    pub fn key_of(doc: &Document) -> Key {
        Key(doc.get("_id").cloned().unwrap_or(Bson::Null))
    }
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Collection({}.{})", self.db, self.name)
    }
}
