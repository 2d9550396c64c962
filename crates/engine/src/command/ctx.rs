//! The statement context: which snapshot a command reads and how its writes
//! reach storage, inside or outside a multi-document transaction.
//!
//! Inside a transaction every write goes through the session's [`Txn`]; a
//! conflict is returned to the client as WriteConflict. Outside one, each
//! document write runs in its own short transaction that commits at once; a
//! conflict with an open transaction *waits* for it to end (bounded by
//! `maxTimeMS`) and then re-reads and re-decides, so such writes never fail
//! for that reason and never see uncommitted data.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use bson::{Document, doc};
use mql::Code;

use super::CommandError;
use crate::clock::Ts;
use crate::durable::Op;
use crate::engine::Outcome;
use crate::session::{RetryState, Session};
use crate::storage::catalog::Lookup;
use crate::storage::collection::Collection;
use crate::storage::key::Key;
use crate::storage::record::{Doc, Record, View};
use crate::txn::{DuplicateKey, Txn, WaitOutcome, WriteError, WriteKind};
use crate::{Engine, Wait};

/// What a write decided to do with one document.
#[derive(Debug, Clone)]
pub enum Change {
    Insert(Doc),
    Replace(Doc),
    Delete,
    /// Leave the document as it is (it no longer matches, or nothing changes).
    Keep,
}

pub struct Ctx<'a> {
    pub engine: &'a Engine,
    pub db: &'a str,
    pub deadline: Option<Instant>,
    /// The session's open multi-document transaction, if any.
    pub txn: Option<&'a mut Txn>,
    /// Retryable-write results of the session, for a retryable write.
    pub retry: Option<&'a mut RetryState>,
    /// The session's `lsid.id`, if the command names a session.
    pub session: Option<Vec<u8>>,
    pub txn_number: Option<i64>,
    /// An explicit read timestamp (`readConcern: {level: "snapshot"}`).
    pub read_at: Option<Ts>,
    /// Whether writes outside a transaction wait for the journal.
    pub wait: Wait,
    /// The command asked to skip document validation
    /// (`bypassDocumentValidation: true`).
    pub bypass_validation: bool,
    /// The session of a retryable write, whose statements journal their
    /// results (`Outcome::Retried`).
    pub owner: Option<&'a Session>,
    /// The retryable statement running now: its `stmtId` and what kind of
    /// write it is, set by the batch for the statement's one write.
    pub retry_stmt: Option<(i32, StmtKind)>,
}

/// What a retryable statement does, to tell its result from its one
/// write: an insert counts `n`, an update `n` and `nModified` or the
/// upserted `_id`, a delete `n`; a findAndModify's result is its reply.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Insert,
    Update,
    Delete,
    FindAndModify {
        /// `new`: the reply shows the document after the write.
        return_new: bool,
        /// `fields`: the reply's projection.
        fields: Option<Arc<Document>>,
    },
}

impl Ctx<'_> {
    /// The same statement context, for a command that also touches another
    /// database (`$merge`, `bulkWrite`): same transaction, session and view.
    pub fn on_db<'b>(&'b mut self, db: &'b str) -> Ctx<'b> {
        Ctx {
            engine: self.engine,
            db,
            deadline: self.deadline,
            txn: self.txn.as_deref_mut(),
            retry: self.retry.as_deref_mut(),
            session: self.session.clone(),
            txn_number: self.txn_number,
            read_at: self.read_at,
            wait: self.wait,
            bypass_validation: self.bypass_validation,
            owner: self.owner,
            retry_stmt: self.retry_stmt.clone(),
        }
    }

    /// The view this statement reads at.
    pub fn view(&self) -> View {
        match &self.txn {
            Some(txn) => txn.view(),
            None => View {
                snapshot: self.read_at.unwrap_or_else(|| self.engine.txns().visible()),
                txn: None,
            },
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    fn txn_id(&self) -> Option<u64> {
        self.txn.as_ref().map(|t| t.id())
    }

    /// The collection `name` of this database, if it exists for this reader.
    pub fn collection(&self, name: &str) -> Option<Arc<Collection>> {
        self.engine.catalog().get(self.db, name, self.txn_id())
    }

    /// The collection `name` for a write that does not create it: `None` if
    /// missing, an error if it is a view.
    pub fn writable(&self, name: &str) -> Result<Option<Arc<Collection>>, CommandError> {
        let coll = self.collection(name);
        if let Some(coll) = &coll {
            super::view::refuse(coll)?;
        }
        Ok(coll)
    }

    /// The collection `name`, created implicitly if missing; an error if it
    /// is a view.
    pub fn collection_for_write(&mut self, name: &str) -> Result<Arc<Collection>, CommandError> {
        validate_collection_name(self.db, name)?;
        loop {
            let generation = self.engine.txns().end_generation();
            match self
                .engine
                .catalog()
                .get_or_create(self.db, name, no_options(), self.txn_id())
            {
                Lookup::Found(coll) => {
                    super::view::refuse(&coll)?;
                    return Ok(coll);
                }
                Lookup::Created(coll) => {
                    match self.txn.as_deref_mut() {
                        Some(txn) => txn.note_created(coll.clone()),
                        None => self
                            .engine
                            .catalog_change(|_| Ok(journal_create(self.engine, &coll)))?,
                    }
                    return Ok(coll);
                }
                Lookup::PendingElsewhere if self.txn.is_some() => return Err(write_conflict()),
                Lookup::PendingElsewhere => self.wait_for_other_txn(generation)?,
            }
        }
    }

    /// Reads, decides and writes one document. Outside a transaction this
    /// may run `decide` more than once, each time on the newest committed
    /// state, until the write applies without conflict.
    ///
    /// Every document a write stores passes here, so this is where the
    /// collection's validator is checked (see [`super::validation`]).
    pub fn modify(
        &mut self,
        coll: &Arc<Collection>,
        key: &Key,
        decide: impl FnMut(Option<&Doc>) -> Result<Change, CommandError>,
    ) -> Result<Change, CommandError> {
        self.write(coll, key, Reads::Current, decide)
    }

    /// Inserts `doc` under `key`, as [`Ctx::modify`] deciding
    /// [`Change::Insert`] would; an existing `_id` fails the same way. An
    /// insert decides on nothing, so the record is not read first.
    pub fn insert(
        &mut self,
        coll: &Arc<Collection>,
        key: &Key,
        doc: &Doc,
    ) -> Result<(), CommandError> {
        self.write(coll, key, Reads::Nothing, |_| {
            Ok(Change::Insert(doc.clone()))
        })?;
        Ok(())
    }

    /// [`Ctx::modify`], reading the current document for `decide` or not.
    fn write(
        &mut self,
        coll: &Arc<Collection>,
        key: &Key,
        reads: Reads,
        mut decide: impl FnMut(Option<&Doc>) -> Result<Change, CommandError>,
    ) -> Result<Change, CommandError> {
        let bypass = self.bypass_validation;
        let lookup = || match reads {
            Reads::Current => coll.record(key),
            Reads::Nothing => None,
        };
        if let Some(txn) = self.txn.as_deref_mut() {
            let record = lookup();
            let current = record.as_ref().and_then(|r| r.read(&txn.view()));
            let change = decide(current.as_ref())?;
            validate(bypass, coll, current.as_ref(), &change)?;
            super::gate::charge_write(self.engine, txn, key, &change)?;
            apply(txn, coll, key, record, &change).map_err(|e| write_error(coll, e))?;
            return Ok(change);
        }
        loop {
            let generation = self.engine.txns().end_generation();
            let mut txn = self.engine.txns().begin(false);
            let record = lookup();
            let current = record.as_ref().and_then(|r| r.read(&txn.view()));
            let decided = decide(current.as_ref()).and_then(|change| {
                validate(bypass, coll, current.as_ref(), &change).map(|()| change)
            });
            let change = match decided {
                Ok(change) => change,
                Err(error) => {
                    self.engine.abort_txn(txn);
                    return Err(error);
                }
            };
            match apply(&mut txn, coll, key, record, &change) {
                Ok(()) => {
                    let stmt = self.retry_stmt.take();
                    let outcome = self.retry_outcome(stmt, key, current.as_ref(), &change);
                    self.engine.commit_txn(txn, self.wait, outcome)?;
                    return Ok(change);
                }
                Err(WriteError::Conflict { holder: Some(_) }) => {
                    self.engine.abort_txn(txn);
                    self.wait_for_other_txn(generation)?;
                }
                Err(WriteError::Conflict { holder: None }) => {
                    // A commit landed after our snapshot: read again.
                    self.engine.abort_txn(txn);
                    std::thread::yield_now();
                }
                Err(error) => {
                    self.engine.abort_txn(txn);
                    return Err(write_error(coll, error));
                }
            }
        }
    }

    /// The result a retry of the running retryable statement `stmt` must
    /// get, told from its one write (`current` replaced by `change`), to
    /// journal with it; `None` outside a retryable statement (the caller
    /// takes `stmt` once: a statement writes once).
    fn retry_outcome(
        &self,
        stmt: Option<(i32, StmtKind)>,
        key: &Key,
        current: Option<&Doc>,
        change: &Change,
    ) -> Option<Outcome<'_>> {
        if !self.engine.is_durable() {
            // Nothing to journal it in: the session's memory is the record.
            return None;
        }
        // `owner` is set for retryable writes only.
        let (owner, session, number) = (self.owner?, self.session.as_deref()?, self.txn_number?);
        let (stmt_id, kind) = stmt?;
        Some(Outcome::Retried {
            key: session,
            session: owner,
            number,
            stmt_id,
            result: super::write::result_of_write(kind, key, current, change)?,
        })
    }

    fn wait_for_other_txn(&self, generation: u64) -> Result<(), CommandError> {
        match self.engine.txns().wait_for_end(generation, self.deadline) {
            WaitOutcome::Ended => Ok(()),
            WaitOutcome::TimedOut => Err(CommandError::new(
                Code::MAX_TIME_MS_EXPIRED,
                "operation exceeded time limit",
            )),
        }
    }

    /// Fails with MaxTimeMSExpired once the deadline has passed.
    pub fn check_deadline(&self) -> Result<(), CommandError> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(CommandError::new(
                Code::MAX_TIME_MS_EXPIRED,
                "operation exceeded time limit",
            )),
            _ => Ok(()),
        }
    }
}

/// Whether a write reads the document it may replace before deciding.
#[derive(Clone, Copy)]
enum Reads {
    Current,
    /// The decision does not depend on it (an insert): no lookup. A record
    /// already under the key is still found, when the write places its
    /// intent.
    Nothing,
}

fn validate(
    bypass: bool,
    coll: &Collection,
    current: Option<&Doc>,
    change: &Change,
) -> Result<(), CommandError> {
    if bypass {
        return Ok(());
    }
    super::validation::check(coll, current, change)
}

/// Writes `change` to the record of `key`; `found` is that record as the
/// caller just read it, if it exists.
fn apply(
    txn: &mut Txn,
    coll: &Arc<Collection>,
    key: &Key,
    found: Option<Arc<Record>>,
    change: &Change,
) -> Result<(), WriteError> {
    let (kind, new) = match change {
        Change::Insert(doc) => (WriteKind::Insert, Some(doc.clone())),
        Change::Replace(doc) => (WriteKind::Update, Some(doc.clone())),
        Change::Delete => (WriteKind::Delete, None),
        Change::Keep => return Ok(()),
    };
    txn.write(coll, kind, key, found, new)
}

/// The options of a collection created implicitly: none. A copy of one
/// empty document, which costs less than seeding a new one's hasher on
/// every write that might create its collection.
fn no_options() -> Document {
    static EMPTY: LazyLock<Document> = LazyLock::new(Document::new);
    EMPTY.clone()
}

pub fn write_conflict() -> CommandError {
    CommandError::new(
        Code::WRITE_CONFLICT,
        "Write conflict during plan execution and yielding is disabled. :: Please retry your write operation or multi-document transaction.",
    )
}

/// The command error for a storage write error.
pub fn write_error(coll: &Collection, error: WriteError) -> CommandError {
    match error {
        WriteError::Conflict { .. } => write_conflict(),
        WriteError::DuplicateKey(duplicate) => {
            let DuplicateKey {
                index,
                key_pattern,
                key_value,
            } = *duplicate;
            let shown = key_value
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut error = CommandError::new(
                Code::DUPLICATE_KEY,
                format!(
                    "E11000 duplicate key error collection: {} index: {index} dup key: {{ {shown} }}",
                    coll.namespace()
                ),
            );
            error.extra = Box::new(doc! {"keyPattern": key_pattern, "keyValue": key_value});
            error
        }
        WriteError::Invalid(error) => error.into(),
    }
}

/// Collection names mongod accepts.
pub fn validate_collection_name(db: &str, name: &str) -> Result<(), CommandError> {
    let invalid = |why: &str| {
        CommandError::new(
            Code::INVALID_NAMESPACE,
            format!("Invalid collection name: {db}.{name}: {why}"),
        )
    };
    if name.is_empty() {
        return Err(invalid("collection name cannot be empty"));
    }
    if name.contains('$') {
        return Err(invalid("collection names cannot contain '$'"));
    }
    if name.contains('\0') {
        return Err(invalid("collection names cannot contain null characters"));
    }
    let user_store = db == "admin" && name == "system.users";
    if name.starts_with('.') || (name.starts_with("system.") && !user_store) {
        return Err(invalid(
            "collection names cannot start with '.' or 'system.'",
        ));
    }
    if db.len() + 1 + name.len() > 255 {
        return Err(invalid("fully qualified namespace is too long"));
    }
    Ok(())
}

/// The journal operations for a collection created outside a transaction,
/// run under the commit lock: the collection was registered before, so a
/// rename or drop may have come first. Journaled under its current name,
/// or not at all once dropped.
pub fn journal_create(engine: &Engine, coll: &Arc<Collection>) -> Vec<Op> {
    engine
        .catalog()
        .current(coll, None)
        .map(|current| create_op(&current))
        .into_iter()
        .collect()
}

/// The journal operation that recreates `coll` (options and indexes).
pub fn create_op(coll: &Collection) -> Op {
    Op::Create {
        db: coll.db.clone(),
        coll: coll.name.clone(),
        options: (*coll.options()).clone(),
        indexes: coll.indexes().iter().map(|i| i.spec.info.clone()).collect(),
    }
}
