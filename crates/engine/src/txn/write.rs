//! One transaction's reads, writes, commit installation and rollback.
//!
//! State machine: `Open` -> (`install` | `roll_back`) -> `Finished`. Only the
//! [`super::TxnManager`] moves a transaction out of `Open`, and a finished
//! transaction is never used again (asserted).

use std::collections::HashSet;
use std::sync::Arc;

use bson::{Bson, Document, doc};
use mql::Error;

use crate::clock::Ts;
use crate::storage::collection::Collection;
use crate::storage::index::Index;
use crate::storage::key::{IndexKey, Key};
use crate::storage::record::{Doc, Record, TxnId, View};

/// What a write does to its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// The `_id` must not exist (visibly) yet.
    Insert,
    /// The document exists at the snapshot and is replaced.
    Update,
    /// The document exists at the snapshot and is removed.
    Delete,
}

/// Up to this many written records, a write looks for its record by a
/// linear scan: cheaper than hashing for the small transactions most are.
const WRITES_SCANNED_MAX: usize = 16;

/// Which unique key a write collided on.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateKey {
    pub index: String,
    pub key_pattern: Document,
    pub key_value: Document,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteError {
    /// Another transaction holds the record or key (`holder`), or it changed
    /// after this transaction's snapshot (`holder: None`).
    Conflict { holder: Option<TxnId> },
    /// E11000.
    DuplicateKey(Box<DuplicateKey>),
    /// The document cannot be indexed (e.g. parallel arrays).
    Invalid(Error),
}

struct Written {
    coll: Arc<Collection>,
    key: Key,
    record: Arc<Record>,
}

struct AddedEntry {
    coll: Arc<Collection>,
    index: Arc<Index>,
    key: IndexKey,
    id: Key,
}

pub struct Txn {
    id: TxnId,
    snapshot: Ts,
    multi: bool,
    finished: bool,
    writes: Vec<Written>,
    /// Identities (addresses) of the records in `writes`, for deduplication;
    /// filled only once `writes` outgrows [`WRITES_SCANNED_MAX`].
    written_records: HashSet<usize>,
    added_entries: Vec<AddedEntry>,
    created: Vec<Arc<Collection>>,
    /// Bytes of writes so far, as the command layer measures them for
    /// `transactionSizeLimitBytes`.
    write_bytes: u64,
}

impl Txn {
    pub(super) fn new(id: TxnId, snapshot: Ts, multi: bool) -> Txn {
        Txn {
            id,
            snapshot,
            multi,
            finished: false,
            writes: Vec::new(),
            written_records: HashSet::new(),
            added_entries: Vec::new(),
            created: Vec::new(),
            write_bytes: 0,
        }
    }

    pub fn id(&self) -> TxnId {
        self.id
    }

    pub fn snapshot(&self) -> Ts {
        self.snapshot
    }

    pub fn is_multi(&self) -> bool {
        self.multi
    }

    pub fn view(&self) -> View {
        View {
            snapshot: self.snapshot,
            txn: Some(self.id),
        }
    }

    pub fn is_read_only(&self) -> bool {
        self.writes.is_empty() && self.created.is_empty()
    }

    /// Adds `bytes` to the size of this transaction's writes; returns the total.
    pub fn add_write_bytes(&mut self, bytes: u64) -> u64 {
        self.write_bytes = self.write_bytes.saturating_add(bytes);
        self.write_bytes
    }

    /// Records that this transaction created `coll` (pending until commit).
    pub fn note_created(&mut self, coll: Arc<Collection>) {
        self.created.push(coll);
    }

    /// The final state of every record this transaction wrote, for the
    /// journal: `(collection, _id, document or None for a delete)`.
    pub fn final_writes(&self) -> Vec<(Arc<Collection>, Key, Option<Doc>)> {
        self.writes
            .iter()
            .map(|w| {
                let state = w.record.lock();
                let intent = state
                    .intent()
                    .expect("an open transaction keeps its intents");
                assert_eq!(intent.txn, self.id);
                (w.coll.clone(), w.key.clone(), intent.doc.clone())
            })
            .collect()
    }

    pub fn created_collections(&self) -> &[Arc<Collection>] {
        &self.created
    }

    /// Writes one record: sets this transaction's intent, then adds index
    /// entries, checking unique keys. `found` is the record of `key` if the
    /// caller has just looked it up, which saves looking it up again.
    pub fn write(
        &mut self,
        coll: &Arc<Collection>,
        kind: WriteKind,
        key: &Key,
        mut found: Option<Arc<Record>>,
        new: Option<Doc>,
    ) -> Result<(), WriteError> {
        assert!(!self.finished, "write through a finished transaction");
        // A record the garbage collector unlinked after the lookup takes no
        // intent: look the `_id` up again.
        let (record, old) = loop {
            let record = match (found.take(), kind) {
                (Some(record), _) => record,
                (None, WriteKind::Insert) => coll.record_or_insert(key.clone()),
                (None, WriteKind::Update | WriteKind::Delete) => match coll.record(key) {
                    Some(record) => record,
                    None => return Err(WriteError::Conflict { holder: None }),
                },
            };
            let mut state = record.lock();
            if state.is_removed() {
                continue;
            }
            match state.intent() {
                Some(intent) if intent.txn != self.id => {
                    return Err(WriteError::Conflict {
                        holder: Some(intent.txn),
                    });
                }
                Some(_) => {}
                None => {
                    if state.newest().is_some_and(|v| v.ts > self.snapshot) {
                        return Err(WriteError::Conflict { holder: None });
                    }
                }
            }
            if kind == WriteKind::Insert && state.read(&self.view()).is_some() {
                return Err(WriteError::DuplicateKey(Box::new(DuplicateKey {
                    index: "_id_".to_owned(),
                    key_pattern: doc! {"_id": 1},
                    key_value: doc! {"_id": key.0.clone()},
                })));
            }
            // What this write replaces, as this transaction sees it.
            let old = match kind {
                WriteKind::Update => state.read(&self.view()),
                WriteKind::Insert | WriteKind::Delete => None,
            };
            state.set_intent(self.id, new.clone());
            drop(state);
            break (record, old);
        };
        if self.first_write_of(&record) {
            self.writes.push(Written {
                coll: coll.clone(),
                key: key.clone(),
                record,
            });
        }
        if let Some(doc) = &new {
            self.add_index_entries(coll, key, doc, old.as_deref())?;
        }
        Ok(())
    }

    /// Whether this transaction has not written `record` before.
    fn first_write_of(&mut self, record: &Arc<Record>) -> bool {
        if self.writes.len() < WRITES_SCANNED_MAX {
            return !self.writes.iter().any(|w| Arc::ptr_eq(&w.record, record));
        }
        if self.written_records.is_empty() {
            let known = self.writes.iter().map(|w| Arc::as_ptr(&w.record) as usize);
            self.written_records.extend(known);
        }
        self.written_records.insert(Arc::as_ptr(record) as usize)
    }

    /// Adds the entries `doc` generates. `old` is the version `doc`
    /// replaces, visible to this transaction: its entries are in the index
    /// (the superset invariant, see [`crate::storage::index`]), so where
    /// `doc` generates the same keys there is nothing to add. Unique indexes
    /// are still checked in full.
    fn add_index_entries(
        &mut self,
        coll: &Arc<Collection>,
        id: &Key,
        doc: &Document,
        old: Option<&Document>,
    ) -> Result<(), WriteError> {
        for index in coll.indexes().iter() {
            if !index.spec.unique && old.is_some_and(|old| index.spec.same_keys(old, doc)) {
                continue;
            }
            let keys = index.spec.keys(doc).map_err(WriteError::Invalid)?;
            for key in keys {
                if index.spec.unique {
                    self.check_unique(coll, index, &key, id)?;
                }
                // An entry already there is backed by a committed version
                // or by an earlier write of this transaction (only the
                // intent holder adds entries for `id`): nothing to undo.
                if let Some((key, id)) = index.add(key, id.clone()) {
                    self.added_entries.push(AddedEntry {
                        coll: coll.clone(),
                        index: index.clone(),
                        key,
                        id,
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks that no other record visibly holds `key` in the unique `index`.
    /// Called before the entry is inserted; the entry set's write lock makes
    /// check-and-insert of concurrent writers serial per index, and a writer
    /// that loses finds the winner's entry and intent.
    fn check_unique(
        &self,
        coll: &Collection,
        index: &Index,
        key: &IndexKey,
        id: &Key,
    ) -> Result<(), WriteError> {
        let others: Vec<Key> = index.with_entries_mut(|entries| {
            entries
                .range((key.clone(), Key(Bson::MinKey))..)
                .take_while(|(k, _)| k == key)
                .filter(|(_, other)| other != id)
                .map(|(_, other)| other.clone())
                .collect()
        });
        let holds = |doc: Option<&Doc>| -> bool {
            doc.is_some_and(|d| index.spec.keys(d).is_ok_and(|keys| keys.contains(key)))
        };
        for other in others {
            let Some(record) = coll.record(&other) else {
                continue;
            };
            let state = record.lock();
            let duplicate = match state.intent() {
                Some(intent) if intent.txn != self.id => {
                    if holds(intent.doc.as_ref()) || holds(state.newest_doc().as_ref()) {
                        return Err(WriteError::Conflict {
                            holder: Some(intent.txn),
                        });
                    }
                    false
                }
                Some(intent) => holds(intent.doc.as_ref()),
                None => {
                    let newest = state.newest();
                    if holds(newest.and_then(|v| v.doc.as_ref())) {
                        if newest.is_some_and(|v| v.ts > self.snapshot) {
                            return Err(WriteError::Conflict { holder: None });
                        }
                        true
                    } else {
                        false
                    }
                }
            };
            if duplicate {
                return Err(WriteError::DuplicateKey(Box::new(DuplicateKey {
                    index: index.spec.name.clone(),
                    key_pattern: index.spec.key.clone(),
                    key_value: index.spec.key_value(key),
                })));
            }
        }
        Ok(())
    }

    /// Turns every intent into a version at `ts` and publishes created
    /// collections. Called by the manager under the commit lock.
    pub(super) fn install(&mut self, ts: Ts, horizon: Ts) {
        assert!(!self.finished, "install of a finished transaction");
        for written in &self.writes {
            let history = written.record.lock().commit_intent(self.id, ts, horizon);
            written.coll.add_history_bytes(history);
            written.coll.note_change();
        }
        for coll in &self.created {
            coll.publish(self.id);
        }
    }

    /// Removes the index entries no committed version backs, then the
    /// intents. Entries go first, while the intents still keep other writers
    /// off these records. The caller removes [`Txn::created_collections`]
    /// from the catalog.
    pub(super) fn roll_back(&mut self) {
        assert!(!self.finished, "roll back of a finished transaction");
        for entry in self.added_entries.drain(..) {
            let Some(record) = entry.coll.record(&entry.id) else {
                continue;
            };
            // Newest first: a long history usually costs one version.
            let state = record.lock();
            let spec = &entry.index.spec;
            let committed = state.versions().iter().rev().filter_map(|v| v.doc.as_ref());
            let backed = spec
                .docs_with_new_keys(committed)
                .any(|doc| spec.keys(doc).is_ok_and(|keys| keys.contains(&entry.key)));
            drop(state);
            if !backed {
                entry.index.remove(&entry.key, &entry.id);
            }
        }
        for written in &self.writes {
            written.record.lock().clear_intent(self.id);
            written.coll.note_change();
        }
    }

    pub(super) fn mark_finished(&mut self) {
        assert!(!self.finished, "a transaction finishes once");
        self.finished = true;
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        // Every path ends a transaction through the manager; a transaction
        // dropped open would leave its intents blocking others forever.
        if !self.finished && !std::thread::panicking() {
            panic!("transaction {} dropped without commit or abort", self.id);
        }
    }
}
