//! A collection: records keyed by `_id` in a concurrent ordered map, plus its
//! secondary indexes.
//!
//! Invariants:
//! - `records` only grows while the collection lives; a deleted document is a
//!   tombstone version, so a reader at an older snapshot still finds it.
//! - The `_id` index is `records` itself; `indexes` holds the others.
//! - A collection created inside a transaction is *pending* until that
//!   transaction commits: invisible to every other reader and writer.

use std::sync::Arc;

use bson::{Bson, Document};
use crossbeam_skiplist::SkipMap;
use parking_lot::{Mutex, RwLock};

use super::index::{Index, IndexSpec};
use super::key::Key;
use super::record::{Record, TxnId};

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
    /// Options given to `create` (capped, validator, ...), echoed by `listCollections`.
    pub options: Document,
    records: SkipMap<Key, Arc<Record>>,
    indexes: RwLock<Vec<Arc<Index>>>,
    visibility: Mutex<Visibility>,
}

impl Collection {
    pub fn new(db: &str, name: &str, options: Document, visibility: Visibility) -> Collection {
        Collection {
            db: db.to_owned(),
            name: name.to_owned(),
            uuid: bson::Uuid::new(),
            options,
            records: SkipMap::new(),
            indexes: RwLock::new(Vec::new()),
            visibility: Mutex::new(visibility),
        }
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
        self.records.get(key).map(|entry| entry.value().clone())
    }

    /// The record for `key`, created empty (no versions, no intent) if absent.
    pub fn record_or_insert(&self, key: Key) -> Arc<Record> {
        self.records
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
        self.records
            .range((lower, std::ops::Bound::Unbounded))
            .map(|entry| (entry.key().clone(), entry.value().clone()))
    }

    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// The secondary indexes (not `_id_`).
    pub fn indexes(&self) -> Vec<Arc<Index>> {
        self.indexes.read().clone()
    }

    pub fn index(&self, name: &str) -> Option<Arc<Index>> {
        self.indexes
            .read()
            .iter()
            .find(|i| i.spec.name == name)
            .cloned()
    }

    /// Every index definition, `_id_` first, as `listIndexes` reports them.
    pub fn index_specs(&self) -> Vec<IndexSpec> {
        let mut specs = vec![IndexSpec::id_index()];
        specs.extend(self.indexes.read().iter().map(|i| i.spec.clone()));
        specs
    }

    /// Runs `build` with the index list locked for writing, so that no writer
    /// is between setting an intent and adding its index entries.
    pub fn with_indexes_mut<T>(&self, build: impl FnOnce(&mut Vec<Arc<Index>>) -> T) -> T {
        build(&mut self.indexes.write())
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
