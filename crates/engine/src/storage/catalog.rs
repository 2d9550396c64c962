//! The catalog: databases and their collections.
//!
//! Invariant: the catalog lock is held only to look up, insert or remove an
//! `Arc<Collection>`; never across a read or write of documents.
//!
//! A rename ([`Catalog::rename`]) swaps one entry for another under one
//! write lock, so no reader ever sees both names or neither.

use std::collections::BTreeMap;
use std::sync::Arc;

use bson::Document;
use parking_lot::RwLock;

use super::collection::{Collection, Visibility};
use super::record::TxnId;

#[derive(Default)]
pub struct Catalog {
    dbs: RwLock<BTreeMap<String, BTreeMap<String, Arc<Collection>>>>,
}

/// Why [`Catalog::rename`] did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameError {
    /// The source was dropped or renamed since the caller found it.
    SourceGone,
    /// The target exists and the caller did not ask to replace it.
    TargetExists,
    /// The target is being created by a still open transaction.
    TargetPending,
}

/// What [`Catalog::get_or_create`] found.
pub enum Lookup {
    Found(Arc<Collection>),
    Created(Arc<Collection>),
    /// Being created by another, still open, transaction.
    PendingElsewhere,
}

impl Catalog {
    /// The collection, if `txn` may see it.
    pub fn get(&self, db: &str, name: &str, txn: Option<TxnId>) -> Option<Arc<Collection>> {
        let dbs = self.dbs.read();
        let coll = dbs.get(db)?.get(name)?;
        coll.is_visible_to(txn).then(|| coll.clone())
    }

    /// The collection, created (pending on `creator` if given) when missing.
    pub fn get_or_create(
        &self,
        db: &str,
        name: &str,
        options: Document,
        creator: Option<TxnId>,
    ) -> Lookup {
        if let Some(found) = self.lookup_existing(db, name, creator) {
            return found;
        }
        let mut dbs = self.dbs.write();
        let colls = dbs.entry(db.to_owned()).or_default();
        if let Some(existing) = colls.get(name) {
            return classify(existing, creator);
        }
        let visibility = match creator {
            Some(txn) => Visibility::Pending(txn),
            None => Visibility::Committed,
        };
        let coll = Arc::new(Collection::new(db, name, options, visibility));
        colls.insert(name.to_owned(), coll.clone());
        Lookup::Created(coll)
    }

    fn lookup_existing(&self, db: &str, name: &str, creator: Option<TxnId>) -> Option<Lookup> {
        let dbs = self.dbs.read();
        let existing = dbs.get(db)?.get(name)?;
        Some(classify(existing, creator))
    }

    /// Removes a collection; returns it if it was there and visible to `txn`.
    pub fn remove(&self, db: &str, name: &str) -> Option<Arc<Collection>> {
        let mut dbs = self.dbs.write();
        let colls = dbs.get_mut(db)?;
        let removed = colls.remove(name);
        if colls.is_empty() {
            dbs.remove(db);
        }
        removed
    }

    /// Removes `coll` if it is still the one registered under its name (an
    /// aborted creation).
    pub fn remove_exact(&self, coll: &Arc<Collection>) {
        let mut dbs = self.dbs.write();
        if let Some(colls) = dbs.get_mut(&coll.db) {
            if colls.get(&coll.name).is_some_and(|c| Arc::ptr_eq(c, coll)) {
                colls.remove(&coll.name);
            }
            if colls.is_empty() {
                dbs.remove(&coll.db);
            }
        }
    }

    /// What `coll` is now: itself while registered, or the collection it
    /// was renamed to (following every later rename); `None` once dropped.
    /// Commits use it to journal a write under the collection's current
    /// name.
    pub fn current(&self, coll: &Arc<Collection>, txn: Option<TxnId>) -> Option<Arc<Collection>> {
        let mut candidate = coll.clone();
        loop {
            let registered = self.get(&candidate.db, &candidate.name, txn);
            if registered.is_some_and(|c| Arc::ptr_eq(&c, &candidate)) {
                return Some(candidate);
            }
            candidate = candidate.successor()?;
        }
    }

    /// Moves `from` to `to_db.to_name` in one step: the old name disappears
    /// as the new one appears, replacing an existing target only when
    /// `replace` is set; returns the target it replaced. The old handle
    /// learns its successor, so writers still holding it land in the
    /// renamed collection.
    pub fn rename(
        &self,
        from: &Arc<Collection>,
        to_db: &str,
        to_name: &str,
        replace: bool,
    ) -> Result<Option<Arc<Collection>>, RenameError> {
        let mut dbs = self.dbs.write();
        let registered = dbs
            .get(&from.db)
            .and_then(|colls| colls.get(&from.name))
            .is_some_and(|c| Arc::ptr_eq(c, from));
        if !registered {
            return Err(RenameError::SourceGone);
        }
        if let Some(target) = dbs.get(to_db).and_then(|colls| colls.get(to_name)) {
            if target.visibility() != Visibility::Committed {
                return Err(RenameError::TargetPending);
            }
            if !replace {
                return Err(RenameError::TargetExists);
            }
        }
        if let Some(colls) = dbs.get_mut(&from.db) {
            colls.remove(&from.name);
            if colls.is_empty() {
                dbs.remove(&from.db);
            }
        }
        let renamed = Arc::new(from.renamed(to_db, to_name));
        let replaced = dbs
            .entry(to_db.to_owned())
            .or_default()
            .insert(to_name.to_owned(), renamed.clone());
        from.set_successor(renamed);
        Ok(replaced)
    }

    pub fn drop_database(&self, db: &str) -> Vec<Arc<Collection>> {
        self.dbs
            .write()
            .remove(db)
            .map(|c| c.into_values().collect())
            .unwrap_or_default()
    }

    pub fn database_names(&self) -> Vec<String> {
        self.dbs.read().keys().cloned().collect()
    }

    /// Collections of `db` visible to `txn`, in name order.
    pub fn collections(&self, db: &str, txn: Option<TxnId>) -> Vec<Arc<Collection>> {
        let dbs = self.dbs.read();
        dbs.get(db)
            .map(|colls| {
                colls
                    .values()
                    .filter(|c| c.is_visible_to(txn))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every collection of every database.
    pub fn all(&self) -> Vec<Arc<Collection>> {
        self.dbs
            .read()
            .values()
            .flat_map(|c| c.values().cloned())
            .collect()
    }
}

fn classify(existing: &Arc<Collection>, creator: Option<TxnId>) -> Lookup {
    match existing.visibility() {
        Visibility::Committed => Lookup::Found(existing.clone()),
        Visibility::Pending(owner) if Some(owner) == creator => Lookup::Found(existing.clone()),
        Visibility::Pending(_) => Lookup::PendingElsewhere,
    }
}
